//! The gate every call passes: open, closed to mutating calls, or closed to every call; a closed gate parks the
//! call, with its reply, until it is released.

use std::sync::Mutex;

/// Which calls the filesystem lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every call goes through at once.
    Normal,
    /// Mutating calls (write, fsync, flush, create, rename, truncate and the like) wait; reads go through. This is
    /// the incident's shape: the leader's raft loop blocks on its write while its heartbeats go on.
    BlockMutating,
    /// Every call waits, reads included.
    BlockAll,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "normal" => Some(Mode::Normal),
            "block-mutating" => Some(Mode::BlockMutating),
            "block-all" => Some(Mode::BlockAll),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::BlockMutating => "block-mutating",
            Mode::BlockAll => "block-all",
        }
    }
}

/// A call that was held: the work (the real syscall and its reply) and the thread that made it.
struct Parked {
    work: Box<dyn FnOnce() + Send>,
    caller_tid: u32,
}

/// The mode and the calls parked under it.
pub struct Gate {
    state: Mutex<(Mode, Vec<Parked>)>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

impl Gate {
    pub fn new() -> Gate {
        Gate {
            state: Mutex::new((Mode::Normal, Vec::new())),
        }
    }

    /// Runs `work` now, or parks it when the mode holds calls of this kind. The session thread never blocks, so
    /// reads keep being served while writes wait.
    pub fn pass(&self, mutating: bool, caller_tid: u32, work: impl FnOnce() + Send + 'static) {
        let mut state = self
            .state
            .lock()
            .expect("the gate's lock is never poisoned");
        let held = match state.0 {
            Mode::Normal => false,
            Mode::BlockMutating => mutating,
            Mode::BlockAll => true,
        };
        if held {
            state.1.push(Parked {
                work: Box::new(work),
                caller_tid,
            });
        } else {
            drop(state);
            work();
        }
    }

    /// Sets the mode. Calls already parked stay parked until [`Gate::release`].
    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().expect("never poisoned").0 = mode;
    }

    /// Opens the gate and runs every parked call, oldest first. Returns how many ran.
    pub fn release(&self) -> usize {
        let parked = {
            let mut state = self.state.lock().expect("never poisoned");
            state.0 = Mode::Normal;
            std::mem::take(&mut state.1)
        };
        let count = parked.len();
        for call in parked {
            (call.work)();
        }
        count
    }

    /// The threads (host thread ids) waiting on a parked call.
    pub fn parked_callers(&self) -> Vec<u32> {
        let state = self.state.lock().expect("never poisoned");
        let mut tids: Vec<u32> = state.1.iter().map(|call| call.caller_tid).collect();
        tids.sort_unstable();
        tids.dedup();
        tids
    }

    pub fn mode(&self) -> Mode {
        self.state.lock().expect("never poisoned").0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn mutating_calls_wait_until_release_and_reads_do_not() {
        let gate = Gate::new();
        let done = Arc::new(AtomicUsize::new(0));
        gate.set_mode(Mode::BlockMutating);
        let counter = done.clone();
        gate.pass(true, 7, move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let counter = done.clone();
        gate.pass(false, 8, move || {
            counter.fetch_add(10, Ordering::SeqCst);
        });
        assert_eq!(
            done.load(Ordering::SeqCst),
            10,
            "the read ran, the write waits"
        );
        assert_eq!(gate.parked_callers(), vec![7]);
        assert_eq!(gate.release(), 1);
        assert_eq!(done.load(Ordering::SeqCst), 11);
        assert_eq!(gate.mode(), Mode::Normal);
    }

    #[test]
    fn block_all_holds_reads_too() {
        let gate = Gate::new();
        gate.set_mode(Mode::BlockAll);
        let done = Arc::new(AtomicUsize::new(0));
        let counter = done.clone();
        gate.pass(false, 1, move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(done.load(Ordering::SeqCst), 0);
        gate.release();
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
