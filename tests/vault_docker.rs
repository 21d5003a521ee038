//! The Vault drills on real OpenBao 2.7.2 in Docker (feature `docker-tests`): the stuck-leader incident and its healthy
//! control, the sim-against-real differential of their observables, and no leak after an interrupted run. With
//! the feature on, a missing Docker, FUSE, image or hang filesystem fails these tests; they never skip.
#![cfg(feature = "docker-tests")]

use firedrill_scenarios::trace::{AlertState, PodPhaseName, RaftRoleName, TaskState};
use firedrill_scenarios::{EventKind, Trace};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn firedrill() -> Command {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
}

/// Runs a scenario (with its own runbook, or the named one) and returns (exit code, stdout, trace).
fn run(
    scenario: &str,
    runbook: Option<&str>,
    seed: u64,
    docker: bool,
) -> (Option<i32>, String, Trace) {
    let dir = tempfile::tempdir().unwrap();
    let trace_path = dir.path().join("trace.jsonl");
    let mut command = firedrill();
    command.args(["run", scenario, "--seed", &seed.to_string(), "--trace"]);
    command.arg(&trace_path);
    if let Some(runbook) = runbook {
        command.args(["--runbook", runbook]);
    }
    if docker {
        command.args(["--backend", "docker", "--quick"]);
    }
    let output = command.output().unwrap();
    // Kept beside the build for whoever reads a failure, and for the figures in benches/README.md.
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vault-docker-traces");
    let _ = std::fs::create_dir_all(&kept);
    let _ = std::fs::copy(
        &trace_path,
        kept.join(format!(
            "{scenario}-{}-seed{seed}-{}.jsonl",
            runbook.unwrap_or("default"),
            if docker { "docker" } else { "sim" }
        )),
    );
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    eprintln!("{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&trace_path)
        .unwrap_or_else(|error| panic!("no trace ({error}); stderr: {stderr}"));
    (
        output.status.code(),
        stdout,
        Trace::read_jsonl(&text).unwrap(),
    )
}

/// The observables the differential compares, each as text.
fn observables(trace: &Trace) -> BTreeMap<&'static str, String> {
    let mut onset = None;
    let mut target = String::new();
    let mut first_deletion = None;
    for event in trace.iter() {
        match &event.kind {
            EventKind::FaultInjected { target: t, .. } if onset.is_none() => {
                onset = Some(event.t_ms);
                target = t.clone();
            }
            EventKind::PodDeletionRequested { .. } if first_deletion.is_none() => {
                first_deletion = Some(event.t_ms)
            }
            _ => {}
        }
    }
    let mut map = BTreeMap::new();
    let Some(onset) = onset else {
        let alert = trace.iter().any(|event| {
            matches!(
                &event.kind,
                EventKind::Alert {
                    state: AlertState::Firing,
                    ..
                }
            )
        });
        map.insert("any_alert", alert.to_string());
        map.insert("destructive_actions", destructive(trace));
        return map;
    };
    let hang_end = first_deletion.unwrap_or(u64::MAX);
    let during = |t: u64| t >= onset && t < hang_end;
    let other_leader_during = trace.iter().any(|event| {
        during(event.t_ms)
            && matches!(&event.kind, EventKind::RaftRole { pod, role: RaftRoleName::Leader, .. } if *pod != target)
    });
    map.insert(
        "leader_kept_during_hang",
        (!other_leader_during).to_string(),
    );
    let other_leader_after = trace.iter().any(|event| {
        event.t_ms >= onset
            && matches!(&event.kind, EventKind::RaftRole { pod, role: RaftRoleName::Leader, .. } if *pod != target)
    });
    map.insert("leader_changes_after_hang", other_leader_after.to_string());
    let health_silent = trace.iter().any(|event| {
        during(event.t_ms)
            && matches!(&event.kind, EventKind::ProbeResult { probe, endpoint, state, .. }
                if probe == "vault_health" && *endpoint == target && state == "stuck")
    });
    map.insert("health_probe_sees_stuck_leader", health_silent.to_string());
    let external_breaks = trace.iter().any(|event| {
        during(event.t_ms) && matches!(&event.kind, EventKind::ExternalHealth { http_status } if *http_status != 200)
    });
    map.insert(
        "external_health_breaks_during_hang",
        external_breaks.to_string(),
    );
    let target_uids: Vec<String> = trace
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::PodPhase {
                pod,
                uid,
                phase: PodPhaseName::Running,
                ..
            } if *pod == target => Some(uid.clone()),
            _ => None,
        })
        .collect();
    let d_state = trace.iter().any(|event| {
        during(event.t_ms)
            && matches!(&event.kind, EventKind::ProcessState { pod_uid, state: TaskState::DiskSleep, .. }
                if target_uids.contains(pod_uid))
    });
    map.insert("stuck_leader_in_d_state", d_state.to_string());
    let alert = trace.iter().any(|event| {
        matches!(&event.kind, EventKind::Alert { name, state: AlertState::Firing, .. } if name == "VaultRaftLeaderStuck")
    });
    map.insert("stuck_alert_fires", alert.to_string());
    let confirmed = trace
        .iter()
        .any(|event| matches!(&event.kind, EventKind::DiagnosisConfirmed { .. }));
    map.insert("runbook_confirms_diagnosis", confirmed.to_string());
    let outcome = trace
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::RunbookFinished { outcome, .. } => Some(outcome.as_str().to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "none".into());
    map.insert("runbook_outcome", outcome);
    map.insert("destructive_actions", destructive(trace));
    let standby_grep = trace.iter().any(|event| {
        during(event.t_ms)
            && matches!(&event.kind, EventKind::PodLog { pod, message }
                if *pod != target && seed_grep(message))
    });
    map.insert("standbys_log_what_the_seed_greps", standby_grep.to_string());
    after_deletion(trace, &target, &mut map);
    map.insert("event_order", event_order(trace, &target));
    map
}

/// The order in which the incident's milestones first happened until the runbook ends, e.g. `fault < alert <
/// confirmed < deleted`. The fault's end is left out: the quick pace ends it by design where the simulation heals
/// it on the seed's schedule.
fn event_order(trace: &Trace, target: &str) -> String {
    let mut old_uid: Option<String> = None;
    let mut milestones: Vec<&'static str> = Vec::new();
    let reach = |name: &'static str, milestones: &mut Vec<&'static str>| {
        if !milestones.contains(&name) {
            milestones.push(name);
        }
    };
    let mut started = false;
    for event in trace.iter() {
        match &event.kind {
            EventKind::FaultInjected { .. } => {
                started = true;
                reach("fault", &mut milestones);
            }
            _ if !started => {}
            EventKind::Alert {
                name,
                state: AlertState::Firing,
                ..
            } if name == "VaultRaftLeaderStuck" => reach("alert", &mut milestones),
            EventKind::DiagnosisConfirmed { .. } => reach("confirmed", &mut milestones),
            EventKind::PodDeletionRequested { pod, uid, .. } if pod == target => {
                old_uid.get_or_insert_with(|| uid.clone());
                reach("deleted", &mut milestones);
            }
            EventKind::ProcessState {
                pod_uid,
                pid,
                tid,
                state: TaskState::Zombie,
                ..
            } if Some(pod_uid) == old_uid.as_ref() && tid.is_none_or(|tid| tid == *pid) => {
                reach("killed", &mut milestones)
            }
            EventKind::RaftRole {
                pod,
                role: RaftRoleName::Leader,
                ..
            } if pod != target => reach("new leader", &mut milestones),
            EventKind::Action {
                action,
                destructive: true,
                ..
            } if action.as_str().ends_with("unmount") => reach("unmount", &mut milestones),
            EventKind::PodPhase {
                pod,
                uid,
                phase: PodPhaseName::Ready,
                ..
            } if pod == target && old_uid.as_ref().is_some_and(|old| old != uid) => {
                reach("replaced", &mut milestones)
            }
            EventKind::RecoveryDeclared { .. } => reach("recovered", &mut milestones),
            // The runbook's end closes the comparison: after it, the quick pace ends the run while the
            // simulation goes on to the scenario's end.
            EventKind::RunbookFinished { .. } => break,
            _ => {}
        }
    }
    milestones.join(" < ")
}

/// What `grep -iE 'msgpack|decode|rpc'` matches.
fn seed_grep(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    ["msgpack", "decode", "rpc"]
        .iter()
        .any(|word| lower.contains(word))
}

/// The keys `after_deletion` fills.
const AFTER_DELETION: [&str; 7] = [
    "stuck_leader_exits_on_sigterm",
    "api_port_after_sigterm",
    "killed_leader_ps",
    "killed_leader_api_port",
    "new_leader_after_kill",
    "lazy_unmount_releases_the_task",
    "force_unmount_releases_the_task",
];

/// The observables of the stuck leader's deletion, when the runbook deleted it: whether SIGTERM ends it, what
/// `ps` shows once it is killed, what its API port does then, when a new leader is elected, and whether each
/// unmount releases the blocked task.
fn after_deletion(trace: &Trace, target: &str, map: &mut BTreeMap<&'static str, String>) {
    let Some((deleted_ms, old_uid, grace_ms)) = trace.iter().find_map(|event| match &event.kind {
        EventKind::PodDeletionRequested {
            pod,
            uid,
            grace_period_ms,
            ..
        } if pod == target => Some((event.t_ms, uid.clone(), *grace_period_ms)),
        _ => None,
    }) else {
        for key in AFTER_DELETION {
            map.insert(key, "no deletion".into());
        }
        return;
    };
    // The old incarnation's tasks: the thread-group leader is the task whose tid is its pid.
    let leader_states: Vec<(u64, TaskState)> = trace
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ProcessState {
                pod_uid,
                pid,
                tid,
                state,
                ..
            } if *pod_uid == old_uid && tid.is_none_or(|tid| tid == *pid) => {
                Some((event.t_ms, *state))
            }
            _ => None,
        })
        .collect();
    let ended_ms = leader_states
        .iter()
        .find(|(t, state)| {
            *t >= deleted_ms && matches!(state, TaskState::Zombie | TaskState::Exited)
        })
        .map(|(t, _)| *t);
    // SIGKILL comes at the end of the grace; a process that ended clearly before it obeyed SIGTERM.
    map.insert(
        "stuck_leader_exits_on_sigterm",
        ended_ms
            .is_some_and(|t| t + 1_000 < deleted_ms + grace_ms)
            .to_string(),
    );
    let zombie_ms = leader_states
        .iter()
        .find(|(t, state)| *t >= deleted_ms && *state == TaskState::Zombie)
        .map(|(t, _)| *t);
    // Threads of the old incarnation in D after the trace's first `upto` events (events, not milliseconds: a
    // release and the action after it can share a millisecond).
    let events: Vec<&firedrill_scenarios::trace::Event> = trace.iter().collect();
    let d_threads_open = |upto: usize| -> usize {
        let mut open: BTreeMap<u32, TaskState> = BTreeMap::new();
        for event in events.iter().take(upto) {
            if let EventKind::ProcessState {
                pod_uid,
                pid,
                tid: Some(tid),
                state,
                ..
            } = &event.kind
            {
                if *pod_uid == old_uid && tid != pid {
                    open.insert(*tid, *state);
                }
            }
        }
        open.values()
            .filter(|state| **state == TaskState::DiskSleep)
            .count()
    };
    let index_at = |t_ms: u64| events.iter().take_while(|event| event.t_ms <= t_ms).count();
    map.insert(
        "killed_leader_ps",
        match zombie_ms {
            Some(t) if d_threads_open(index_at(t)) > 0 => "leader Z, a thread in D".into(),
            Some(_) => "leader Z, no thread in D".into(),
            None if ended_ms.is_some() => "exited".into(),
            None => "not killed".into(),
        },
    );
    // What the health probe met on the killed leader's API port while it stayed a zombie.
    let zombie_end_ms = leader_states
        .iter()
        .find(|(t, state)| Some(*t) > zombie_ms && *state == TaskState::Exited)
        .map_or(u64::MAX, |(t, _)| *t);
    let mut port_states: Vec<String> = trace
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::ProbeResult {
                probe,
                endpoint,
                state,
                ..
            } if probe == "vault_health"
                && endpoint == target
                && zombie_ms.is_some_and(|z| event.t_ms > z)
                && event.t_ms < zombie_end_ms =>
            {
                Some(state.clone())
            }
            _ => None,
        })
        .collect();
    port_states.sort();
    port_states.dedup();
    map.insert(
        "killed_leader_api_port",
        if port_states.is_empty() {
            "not probed".into()
        } else {
            port_states.join(",")
        },
    );
    // What the health probe met on the API port between SIGTERM and SIGKILL (Vault closes its listeners first).
    let first_kill_ms = zombie_ms.or(ended_ms).unwrap_or(u64::MAX);
    let after_sigterm = trace.iter().find_map(|event| match &event.kind {
        EventKind::ProbeResult {
            probe,
            endpoint,
            state,
            ..
        } if probe == "vault_health"
            && endpoint == target
            && event.t_ms > deleted_ms
            && event.t_ms < first_kill_ms =>
        {
            Some(state.clone())
        }
        _ => None,
    });
    map.insert(
        "api_port_after_sigterm",
        after_sigterm.unwrap_or_else(|| "not probed before the kill".into()),
    );
    let new_leader_ms = trace
        .iter()
        .find(|event| {
            event.t_ms >= deleted_ms
                && matches!(&event.kind, EventKind::RaftRole { pod, role: RaftRoleName::Leader, .. } if pod != target)
        })
        .map(|event| event.t_ms);
    map.insert(
        "new_leader_after_kill",
        match (new_leader_ms, zombie_ms.or(ended_ms)) {
            (None, _) => "never".into(),
            (Some(_), None) => "without a kill".into(),
            (Some(elected), Some(killed)) if elected < killed => "before the kill".into(),
            (Some(elected), Some(killed)) if elected - killed <= 15_000 => "within 15 s".into(),
            (Some(elected), Some(killed)) if elected - killed <= 60_000 => "within 60 s".into(),
            (Some(_), Some(_)) => "after 60 s".into(),
        },
    );
    for (action_name, key) in [
        ("lazy_unmount", "lazy_unmount_releases_the_task"),
        ("force_unmount", "force_unmount_releases_the_task"),
    ] {
        let Some(at) = events.iter().position(|event| {
            matches!(&event.kind, EventKind::Action { action, destructive: true, .. }
                if action.as_str() == action_name)
        }) else {
            map.insert(key, "not tried".into());
            continue;
        };
        // Released: no thread of the old pod is left in D before the runbook's next destructive action or its
        // end, whichever comes first (a scheduled heal later releases everything and proves nothing).
        let next = events
            .iter()
            .enumerate()
            .skip(at + 1)
            .find(|(_, event)| {
                matches!(
                    &event.kind,
                    EventKind::Action {
                        destructive: true,
                        ..
                    } | EventKind::RunbookFinished { .. }
                )
            })
            .map_or(events.len(), |(index, _)| index);
        map.insert(
            key,
            if d_threads_open(at) == 0 {
                "no task in D".into()
            } else {
                (d_threads_open(next) == 0).to_string()
            },
        );
    }
}

fn destructive(trace: &Trace) -> String {
    let actions: Vec<&str> = trace
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Action {
                action,
                destructive: true,
                ..
            } => Some(action.as_str()),
            _ => None,
        })
        .collect();
    if actions.is_empty() {
        "none".into()
    } else {
        actions.join(",")
    }
}

/// Compares sim and docker observables; every difference must be listed for the scenario with a reason.
fn differential(scenario: &str, sim: &Trace, docker: &Trace) {
    let listed: toml::Table =
        toml::from_str(&std::fs::read_to_string("tests/vault_differences.toml").unwrap()).unwrap();
    // A table is named by the scenario, or by `scenario/runbook` for a run with another runbook; an entry of the
    // scenario's table holds for every runbook run on it, unless the runbook's table lists the key itself.
    let table = |name: &str| {
        listed
            .get(name)
            .and_then(|value| value.as_table())
            .cloned()
            .unwrap_or_default()
    };
    let own = table(scenario);
    let mut listed = table(scenario.split('/').next().unwrap_or(scenario));
    listed.extend(own.clone());
    let sim = observables(sim);
    let docker = observables(docker);
    let mut unlisted = Vec::new();
    println!("differential for {scenario} (sim -> docker):");
    for (key, sim_value) in &sim {
        let docker_value = docker.get(key).cloned().unwrap_or_default();
        let observed = format!("{sim_value} -> {docker_value}");
        // `values` is one `sim -> docker` text, or a list of them (the scenario's runbooks differ).
        let values_of = |entry: &toml::Table| -> Vec<String> {
            match &entry["values"] {
                toml::Value::Array(values) => values
                    .iter()
                    .filter_map(|value| value.as_str().map(str::to_string))
                    .collect(),
                value => value.as_str().map(str::to_string).into_iter().collect(),
            }
        };
        let verdict = if *sim_value == docker_value {
            // A difference this run's own table lists as always there, and which did not happen, is stale.
            match own.get(*key).and_then(|value| value.as_table()) {
                Some(entry) if !values_of(entry).iter().any(|v| v.ends_with(" (varies)")) => {
                    "same now: the listed difference is stale".to_string()
                }
                _ => "same".to_string(),
            }
        } else {
            // An entry excuses only the values it names: `sim -> docker`, or `sim -> docker (varies)` for an
            // observable real runs do not always agree on.
            match listed
                .get(*key)
                .and_then(|value| value.as_table())
                .filter(|entry| {
                    values_of(entry).iter().any(|values| {
                        *values == observed
                            || values.strip_suffix(" (varies)") == Some(observed.as_str())
                    })
                }) {
                Some(entry) => format!("kept: {}", entry["reason"].as_str().unwrap_or("")),
                None => {
                    unlisted.push(format!("{key}: {observed}"));
                    "NEW DIFFERENCE".to_string()
                }
            }
        };
        println!("  {key:<36} {observed}  {verdict}");
    }
    assert!(
        unlisted.is_empty(),
        "differences between the simulation and real OpenBao that tests/vault_differences.toml does not list: {unlisted:?}"
    );
}

#[test]
fn stuck_leader_on_real_openbao() {
    let (_code, stdout, trace) = run("vault-stuck-leader", None, 7, true);
    assert!(stdout.contains("OpenBao v2.7.2"), "{stdout}");
    let observed = observables(&trace);
    assert_eq!(observed["leader_kept_during_hang"], "true", "{observed:?}");
    assert_eq!(observed["stuck_alert_fires"], "true", "{observed:?}");
    assert_eq!(observed["stuck_leader_in_d_state"], "true", "{observed:?}");
    // The runbook ran: its observations are in the trace.
    assert!(trace
        .iter()
        .any(|event| matches!(&event.kind, EventKind::Action { step, .. } if step == "0-probe")));
    // The canary caught the hang, with a latency from the real cluster.
    assert!(trace.iter().any(|event| matches!(&event.kind,
        EventKind::ProbeResult { probe, state, .. } if probe == "vault_write_canary" && state == "hung")));
    let (_, _, sim) = run("vault-stuck-leader", None, 7, false);
    differential("vault-stuck-leader", &sim, &trace);
}

/// The same incident with a runbook that confirms on the probes (the write canary included), so the real verbs
/// run: graceful delete, `umount -f`, and the replacement. Their effects on real OpenBao are the differential's
/// second half.
#[test]
fn canary_runbook_with_umount_f_recovers_real_openbao() {
    let runbook = Some("vault-canary-restart");
    let (code, stdout, trace) = run("vault-stuck-leader", runbook, 7, true);
    assert!(stdout.contains("OpenBao v2.7.2"), "{stdout}");
    let observed = observables(&trace);
    assert_eq!(
        observed["runbook_confirms_diagnosis"], "true",
        "{observed:?}"
    );
    assert_eq!(
        observed["killed_leader_ps"], "leader Z, a thread in D",
        "{observed:?}"
    );
    // The real kernel's answer to the lever that works: the blocked task fails, the zombie is reaped.
    assert_eq!(
        observed["force_unmount_releases_the_task"], "true",
        "{observed:?}"
    );
    assert_eq!(observed["runbook_outcome"], "recovered", "{observed:?}");
    assert_eq!(code, Some(0), "{stdout}");
    let (_, _, sim) = run("vault-stuck-leader", runbook, 7, false);
    differential("vault-stuck-leader/vault-canary-restart", &sim, &trace);
}

/// The seed's `umount -l` on real software: the runbook acts (it confirms on the probes), and the lazy unmount
/// leaves the killed leader's thread in D.
#[test]
fn canary_runbook_with_umount_l_leaves_the_task_in_d_on_real_openbao() {
    let runbook = Some("vault-canary-restart-umount-l");
    let (_code, stdout, trace) = run("vault-stuck-leader", runbook, 7, true);
    assert!(stdout.contains("OpenBao v2.7.2"), "{stdout}");
    let observed = observables(&trace);
    assert_eq!(
        observed["lazy_unmount_releases_the_task"], "false",
        "{observed:?}"
    );
    let (_, _, sim) = run("vault-stuck-leader", runbook, 7, false);
    differential(
        "vault-stuck-leader/vault-canary-restart-umount-l",
        &sim,
        &trace,
    );
}

#[test]
fn healthy_control_on_real_openbao_raises_no_alert_and_takes_no_action() {
    let (code, stdout, trace) = run("vault-healthy", None, 7, true);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("OpenBao v2.7.2"), "{stdout}");
    assert!(
        !trace
            .iter()
            .any(|event| matches!(&event.kind, EventKind::Alert { .. })),
        "{stdout}"
    );
    assert!(
        !trace
            .iter()
            .any(|event| matches!(&event.kind, EventKind::Action { .. })),
        "{stdout}"
    );
    // The canary wrote through the leader every round.
    assert!(trace.iter().any(|event| matches!(&event.kind,
        EventKind::ProbeResult { probe, state, .. } if probe == "vault_write_canary" && state == "written")));
    let (_, _, sim) = run("vault-healthy", None, 7, false);
    differential("vault-healthy", &sim, &trace);
}

fn leftovers() -> Vec<String> {
    let mut found = Vec::new();
    let listings: [&[&str]; 2] = [
        &["ps", "-aq", "--filter", "label=firedrill.vault-run"],
        &[
            "network",
            "ls",
            "-q",
            "--filter",
            "label=firedrill.vault-run",
        ],
    ];
    for args in listings {
        let output = Command::new("docker").args(args).output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if !text.is_empty() {
            found.push(format!("docker {}: {text}", args[0]));
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    found.extend(
        mounts
            .lines()
            .filter(|line| line.contains("firedrill-hangfs"))
            .map(str::to_string),
    );
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) {
            if comm.trim() == "firedrill-hangf" {
                found.push(format!(
                    "hang filesystem process {}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

#[test]
fn an_interrupted_run_leaves_no_container_network_mount_or_process() {
    let mut child = firedrill()
        .args([
            "run",
            "vault-stuck-leader",
            "--seed",
            "3",
            "--backend",
            "docker",
            "--quick",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the cluster has formed and the drill is under way (the fault is held from 20 s on).
    let stderr = child.stderr.take().unwrap();
    // The reader keeps draining stderr to the end: a closed pipe would end the run with 141 instead.
    let (formed_sender, formed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            eprintln!("{line}");
            if line.contains("formed") {
                let _ = formed_sender.send(());
            }
        }
    });
    formed
        .recv_timeout(Duration::from_secs(300))
        .expect("the cluster never formed");
    std::thread::sleep(Duration::from_secs(30));
    assert!(
        !leftovers().is_empty(),
        "the run should have containers and mounts while it runs"
    );
    // SIGINT to the run we started, by its PID.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the interrupted run did not exit within 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(code, Some(130));
    let left = leftovers();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(Path::new("/dev/fuse").exists());
}
