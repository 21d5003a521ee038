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

/// Every second: each tracked container's task state from `/proc`, the leader the reachable voters name
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
            let state = procfs::task_state(pid);
            world.borrow_mut().set_task_state(&uid, state);
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
        let mounts: Vec<(String, std::path::PathBuf)> = world
            .borrow()
            .mountpoints
            .iter()
            .map(|(pod, path)| (pod.clone(), path.clone()))
            .collect();
        for (pod, path) in mounts {
            if !super::hang_mount::mounted(&path) {
                let mut w = world.borrow_mut();
                if w.mount_states.get(&pod) == Some(&MountStatus::Mounted) {
                    let (uid, node) = w
                        .current_pod(&pod)
                        .map(|view| (view.uid.clone(), view.node.clone()))
                        .unwrap_or_default();
                    w.set_mount(&pod, &uid, &node, MountStatus::Detached);
                }
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
