//! The ops side of the docker run: the probe round (the seed's health probe and the write canary), the alert
//! rule, the user-facing health, and the monitors that record the world's ground truth (task states from
//! `/proc`, who the voters say leads, the mount table).

use super::api;
use super::procfs;
use super::world::SharedWorld;
use firedrill_probes::vault::{probe_all, NodeState};
use firedrill_probes::vault_write::{write_canary, WriteOutcome};
use firedrill_probes::TcpConnect;
use firedrill_scenarios::trace::{MountStatus, TaskState};
use firedrill_scenarios::EventKind;
use std::collections::BTreeMap;
use std::time::Duration;

/// The probe names in the trace: the seed's `timeout 3 vault status` per voter, and the write canary.
pub const HEALTH_PROBE: &str = "vault_health";
pub const CANARY_PROBE: &str = "vault_write_canary";

/// One probe round: health of every voter, then one canary write through the active voter. A voter is stuck when
/// it accepts connections and says nothing (health), or when a write through it does not complete by the deadline
/// (the write hang of DOMAIN.md §9, where health can stay 200 for minutes).
pub async fn probe_round(
    world: &SharedWorld,
    timeout: Duration,
    canary_deadline: Duration,
) -> Vec<(String, NodeState)> {
    let (names, endpoints, token): (Vec<String>, Vec<_>, String) = {
        let w = world.borrow();
        (
            w.endpoints.keys().cloned().collect(),
            w.endpoints.values().cloned().collect(),
            w.token.clone(),
        )
    };
    let results = probe_all(&TcpConnect::plain(), &endpoints, timeout).await;
    let mut states: Vec<(String, NodeState)> = Vec::new();
    {
        let mut w = world.borrow_mut();
        for (name, result) in names.iter().zip(&results) {
            w.record(EventKind::ProbeResult {
                probe: HEALTH_PROBE.into(),
                endpoint: name.clone(),
                state: result.state.as_str().into(),
                http_status: result.http_status,
                latency_ms: result.latency_ms,
            });
            states.push((name.clone(), result.state));
        }
    }
    // The canary writes through the node that answers active, else through the one the voters name leader (a
    // stuck leader's health can go silent too), so the write path is measured either way.
    let named_leader = world.borrow().leader.clone();
    let canary_target = states
        .iter()
        .position(|(_, state)| *state == NodeState::Active)
        .or_else(|| {
            names
                .iter()
                .position(|name| Some(name) == named_leader.as_ref())
        });
    if let Some(index) = canary_target {
        let value = format!("t{}", world.borrow().now_ms());
        let (outcome, latency_ms) = write_canary(
            &TcpConnect::plain(),
            &endpoints[index],
            &token,
            &value,
            canary_deadline,
        )
        .await;
        world.borrow_mut().record(EventKind::ProbeResult {
            probe: CANARY_PROBE.into(),
            endpoint: names[index].clone(),
            state: outcome.as_str().into(),
            http_status: outcome.http_status(),
            latency_ms,
        });
        if outcome == WriteOutcome::Hung {
            states[index].1 = NodeState::Stuck;
        }
    }
    states
}

/// `curl …/v1/sys/health` through the `vault-active` service: the voter the others name leader; 503 with none,
/// 504 when it never answers, 502 when it refuses.
pub async fn external_health(world: &SharedWorld, timeout: Duration) -> u16 {
    let endpoint = {
        let w = world.borrow();
        w.leader
            .as_ref()
            .and_then(|leader| w.endpoints.get(leader).cloned())
    };
    let Some(endpoint) = endpoint else { return 503 };
    match api::health(&endpoint, timeout).await {
        Ok(status) => status,
        Err(error) if error.starts_with("no answer") => 504,
        Err(_) => 502,
    }
}

/// Every second: each tracked container's tasks from `/proc` (the leader, and every thread in D), the leader the reachable voters name
/// (by majority), and whether each hang mount is still in the mount table.
pub async fn monitor(world: SharedWorld) {
    loop {
        let pods: Vec<(String, u32)> = world
            .borrow()
            .pods
            .iter()
            .filter(|view| view.last_task_state != Some(TaskState::Exited))
            .map(|view| (view.uid.clone(), view.host_pid))
            .collect();
        for (uid, pid) in pods {
            let leader = procfs::process_state(pid);
            let threads = procfs::threads(pid);
            world.borrow_mut().observe_tasks(&uid, leader, &threads);
        }
        let endpoints: Vec<_> = world.borrow().endpoints.values().cloned().collect();
        let mut votes: BTreeMap<String, usize> = BTreeMap::new();
        for endpoint in &endpoints {
            if let Ok(Some(leader)) = api::leader(endpoint, Duration::from_millis(800)).await {
                *votes.entry(leader).or_default() += 1;
            }
        }
        if let Some((leader, count)) = votes.iter().max_by_key(|(_, count)| **count) {
            if *count * 2 > endpoints.len() {
                world.borrow_mut().set_leader(Some(leader.clone()));
            }
        }
        let mounted: Vec<(String, std::path::PathBuf)> = world
            .borrow()
            .pods
            .iter()
            .filter(|view| view.mount_state == Some(MountStatus::Mounted))
            .map(|view| (view.uid.clone(), view.mountpoint.clone()))
            .collect();
        for (uid, path) in mounted {
            if !super::hang_mount::mounted(&path) {
                world.borrow_mut().set_mount(&uid, MountStatus::Detached);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The clients' writes, every interval, through the leader, each with its own 60 s client timeout (as the
/// `bao` CLI's), so an idle cluster is not an idle disk: the incident needs a write to hang.
pub async fn writer(world: SharedWorld, interval: Duration) {
    let mut count = 0u64;
    loop {
        tokio::time::sleep(interval).await;
        count += 1;
        let target = {
            let w = world.borrow();
            w.leader
                .as_ref()
                .and_then(|leader| w.endpoints.get(leader).cloned())
                .map(|endpoint| (endpoint, w.token.clone()))
        };
        if let Some((endpoint, token)) = target {
            let key = format!("drill-{count}");
            tokio::task::spawn_local(async move {
                let _ = api::write(&endpoint, &token, &key, Duration::from_secs(60)).await;
            });
        }
    }
}

/// What the seed's grep looks for in a standby's log (`grep -iE 'msgpack|decode|rpc'`).
fn matches_seed_grep(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    ["msgpack", "decode", "rpc"]
        .iter()
        .any(|word| lower.contains(word))
}

/// Every few seconds, each current container's new log lines that the seed's grep would match, recorded as the
/// simulation records a pod's log (identical lines once per pod), so the standbys' logs are ground truth in both
/// worlds rather than only what a runbook happened to read.
pub async fn log_watcher(world: SharedWorld, interval: Duration) {
    let mut since = std::time::SystemTime::now();
    let mut seen: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    loop {
        tokio::time::sleep(interval).await;
        let now = std::time::SystemTime::now();
        let since_arg = since
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| format!("{}.{:09}", elapsed.as_secs(), elapsed.subsec_nanos()))
            .unwrap_or_default();
        since = now;
        let containers: Vec<(String, String)> = {
            let w = world.borrow();
            w.endpoints
                .keys()
                .filter_map(|pod| {
                    w.current_pod(pod)
                        .map(|view| (pod.clone(), view.container.clone()))
                })
                .collect()
        };
        for (pod, container) in containers {
            let output = tokio::process::Command::new("docker")
                .args(["logs", "--since", &since_arg, &container])
                .kill_on_drop(true)
                .output();
            let Ok(Ok(output)) = tokio::time::timeout(Duration::from_secs(10), output).await else {
                continue;
            };
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            for line in text.lines().filter(|line| matches_seed_grep(line)) {
                // The timestamp and level vary line to line; the message is what repeats.
                let message = line
                    .split_once(" [")
                    .map_or(line, |(_, rest)| rest)
                    .to_string();
                if seen.entry(pod.clone()).or_default().insert(message.clone()) {
                    world.borrow_mut().record(EventKind::PodLog {
                        pod: pod.clone(),
                        message,
                    });
                }
            }
        }
    }
}
