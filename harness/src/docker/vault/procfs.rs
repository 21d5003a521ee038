//! `ps` from the host's `/proc`: a container's process as `ps -eo state` shows it (the thread-group leader) and
//! per thread as `ps -eLo` does. The image is FROM scratch, with no `ps` of its own; the host sees the same tasks.

use firedrill_scenarios::trace::TaskState;

/// What `/proc/PID/stat` says of one task: its state letter and its wait channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskView {
    pub tid: u32,
    pub state: char,
    pub wchan: String,
}

fn state_of(stat: &str) -> Option<char> {
    // The command name is in parentheses and may hold spaces; the state is the first field after it.
    let after = stat.rsplit_once(')')?.1;
    after.trim_start().chars().next()
}

/// The thread-group leader's state, or None once the process is gone.
pub fn process_state(pid: u32) -> Option<char> {
    state_of(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every thread of a process, by thread id.
pub fn threads(pid: u32) -> Vec<TaskView> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut threads: Vec<TaskView> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let tid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let wchan = std::fs::read_to_string(entry.path().join("wchan")).unwrap_or_default();
            Some(TaskView {
                tid,
                state: state_of(&stat)?,
                wchan,
            })
        })
        .collect();
    threads.sort_by_key(|thread| thread.tid);
    threads
}

/// The state that matters for the drill's rules: D when any thread is in uninterruptible sleep (the thread
/// that keeps the process, its mount and its sockets alive), else the leader's state; Exited once gone.
pub fn task_state(pid: u32) -> TaskState {
    let Some(leader) = process_state(pid) else {
        return TaskState::Exited;
    };
    if threads(pid).iter().any(|thread| thread.state == 'D') {
        return TaskState::DiskSleep;
    }
    letter_to_state(leader)
}

pub fn letter_to_state(letter: char) -> TaskState {
    match letter {
        'R' => TaskState::Running,
        'D' => TaskState::DiskSleep,
        'Z' => TaskState::Zombie,
        'X' => TaskState::Exited,
        _ => TaskState::Sleeping,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_the_command_name_even_with_spaces() {
        assert_eq!(state_of("42 (bao server) D 1 42"), Some('D'));
        assert_eq!(state_of("42 (a) b) Z 1"), Some('Z'));
    }

    #[test]
    fn this_process_is_seen_and_a_missing_one_has_exited() {
        assert!(process_state(std::process::id()).is_some());
        assert!(!threads(std::process::id()).is_empty());
        assert_eq!(task_state(u32::MAX - 1), TaskState::Exited);
    }
}
