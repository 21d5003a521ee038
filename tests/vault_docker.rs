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

/// Runs a scenario and returns (exit code, stdout, trace).
fn run(scenario: &str, seed: u64, docker: bool) -> (Option<i32>, String, Trace) {
    let dir = tempfile::tempdir().unwrap();
    let trace_path = dir.path().join("trace.jsonl");
    let mut command = firedrill();
    command.args(["run", scenario, "--seed", &seed.to_string(), "--trace"]);
    command.arg(&trace_path);
    if docker {
        command.args(["--backend", "docker", "--quick"]);
    }
    let output = command.output().unwrap();
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
    map
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
    let listed = listed
        .get(scenario)
        .and_then(|value| value.as_table())
        .cloned()
        .unwrap_or_default();
    let sim = observables(sim);
    let docker = observables(docker);
    let mut unlisted = Vec::new();
    println!("differential for {scenario} (sim -> docker):");
    for (key, sim_value) in &sim {
        let docker_value = docker.get(key).cloned().unwrap_or_default();
        let same = *sim_value == docker_value;
        let entry = listed.get(*key).and_then(|value| value.as_table());
        println!(
            "  {:<36} {sim_value} -> {docker_value}  {}",
            key,
            match (same, entry) {
                (true, None) => "same".to_string(),
                (true, Some(_)) => "same now: the listed difference is stale".to_string(),
                (false, Some(entry)) => format!("kept: {}", entry["reason"].as_str().unwrap_or("")),
                (false, None) => "NEW DIFFERENCE".to_string(),
            }
        );
        if !same && entry.is_none() {
            unlisted.push(format!("{key}: {sim_value} -> {docker_value}"));
        }
    }
    assert!(
        unlisted.is_empty(),
        "differences between the simulation and real OpenBao that tests/vault_differences.toml does not list: {unlisted:?}"
    );
}

#[test]
fn stuck_leader_on_real_openbao() {
    let (_code, stdout, trace) = run("vault-stuck-leader", 7, true);
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
    let (_, _, sim) = run("vault-stuck-leader", 7, false);
    differential("vault-stuck-leader", &sim, &trace);
}

#[test]
fn healthy_control_on_real_openbao_raises_no_alert_and_takes_no_action() {
    let (code, stdout, trace) = run("vault-healthy", 7, true);
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
    let (_, _, sim) = run("vault-healthy", 7, false);
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
