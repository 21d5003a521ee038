//! The ops host: probes on a schedule (as Prometheus or a CronJob would), alert rules, and the runbook, which it
//! starts when the stuck-leader alert fires, or at the planned time of a planned change.

use crate::actuator::SimActuator;
use crate::connector::TurmoilConnect;
use crate::world::SharedWorld;
use firedrill_probes::http::{get_once, Exchange};
use firedrill_probes::vault::{probe_all, NodeState, HEALTH_PATH};
use firedrill_probes::Endpoint;
use firedrill_scenarios::checkers::STUCK_ALERT;
use firedrill_scenarios::runbook::{drive, Engine};
use firedrill_scenarios::trace::AlertState;
use firedrill_scenarios::EventKind;
use std::collections::BTreeMap;
use std::time::Duration;

/// The alert for "no node answers 200 through vault-active", named as in seed 000.
pub const HA_UNAVAILABLE_ALERT: &str = "VaultHAStatusUnavailable";
/// The most commands a runbook may issue in one run; a loop beyond it is a runbook bug.
const RUNBOOK_MAX_COMMANDS: usize = 10_000;

/// The API endpoint of every voter, by pod name.
pub fn voter_endpoints(world: &SharedWorld) -> Vec<(String, Endpoint)> {
    world
        .borrow()
        .scenario
        .voter_names()
        .into_iter()
        .map(|pod| {
            let endpoint = Endpoint {
                https: false,
                host: pod.clone(),
                port: crate::vault::API_PORT,
                base_path: String::new(),
            };
            (pod, endpoint)
        })
        .collect()
}

/// Probes every voter with the shared probe code and records each result.
pub async fn probe_voters(world: &SharedWorld, timeout: Duration) -> Vec<(String, NodeState)> {
    let voters = voter_endpoints(world);
    let endpoints: Vec<Endpoint> = voters
        .iter()
        .map(|(_, endpoint)| endpoint.clone())
        .collect();
    let results = probe_all(&TurmoilConnect::cluster(world.clone()), &endpoints, timeout).await;
    let mut w = world.borrow_mut();
    voters
        .into_iter()
        .zip(results)
        .map(|((pod, _), result)| {
            w.record(EventKind::ProbeResult {
                probe: "vault_health".to_string(),
                endpoint: pod.clone(),
                state: result.state.as_str().to_string(),
                http_status: result.http_status,
                latency_ms: result.latency_ms,
            });
            (pod, result.state)
        })
        .collect()
}

/// The `vault-active` Service's endpoints: every pod that carries the `vault-active=true` label, Ready or not,
/// Terminating or not, since vault-helm sets `publishNotReadyAddresses: true`. Vault sets and clears the label
/// itself; a pod stuck in a write or frozen keeps it, so it stays an endpoint until its API object is gone.
pub fn active_endpoints(world: &crate::world::World) -> Vec<String> {
    world
        .pods
        .values()
        .filter(|pod| world.vault_active_labels.contains(&pod.uid))
        .map(|pod| pod.name.clone())
        .collect()
}

/// `curl https://vault…/v1/sys/health` through the ingress and the `vault-active` Service. kube-proxy picks an
/// endpoint for each connection, so while an old active pod is still an endpoint the answer flaps between it and
/// the new one. With no endpoint the ingress answers 503; a backend that never answers becomes a 504.
pub async fn external_health(world: &SharedWorld, timeout: Duration) -> u16 {
    let active = {
        let mut w = world.borrow_mut();
        let endpoints = active_endpoints(&w);
        if endpoints.is_empty() {
            None
        } else {
            let index = rand::Rng::random_range(&mut w.kube_proxy_rng, 0..endpoints.len());
            Some(endpoints[index].clone())
        }
    };
    let Some(pod) = active else { return 503 };
    let endpoint = Endpoint {
        https: false,
        host: pod,
        port: crate::vault::API_PORT,
        base_path: String::new(),
    };
    let connect = TurmoilConnect::cluster(world.clone());
    match get_once(&connect, &endpoint, HEALTH_PATH, timeout, 64 * 1024)
        .await
        .0
    {
        Exchange::Answered { status, .. } => status,
        Exchange::Silent
        | Exchange::HandshakeSilent
        | Exchange::ConnectTimeout
        | Exchange::Incomplete { .. } => 504,
        Exchange::Refused(_) | Exchange::Failed(_) => 502,
    }
}

/// The ops host's program: a probe round every interval, alert evaluation, and the runbook on the first alert.
pub async fn main(world: SharedWorld) -> crate::engine::HostResult {
    let (interval, timeout, alert_after_rounds, runbook, planned_start_ms) = {
        let w = world.borrow();
        let probe = &w.scenario.probes.vault_health;
        (
            Duration::from_millis(probe.interval_ms),
            Duration::from_millis(probe.timeout_ms),
            probe.alert_after_rounds,
            w.scenario.runbook.clone(),
            w.scenario.recovery.start_at_ms,
        )
    };
    let mut stuck_rounds: BTreeMap<String, u32> = BTreeMap::new();
    let mut unhealthy_rounds = 0u32;
    let mut stuck_firing = false;
    let mut unavailable_firing = false;
    let mut runbook_started = false;
    loop {
        let started = tokio::time::Instant::now();
        let states = probe_voters(&world, timeout).await;
        for (pod, state) in &states {
            let rounds = stuck_rounds.entry(pod.clone()).or_insert(0);
            *rounds = if *state == NodeState::Stuck {
                *rounds + 1
            } else {
                0
            };
        }
        let stuck: Vec<&String> = stuck_rounds
            .iter()
            .filter(|(_, rounds)| **rounds >= alert_after_rounds)
            .map(|(pod, _)| pod)
            .collect();
        let now_stuck = !stuck.is_empty();
        if now_stuck != stuck_firing {
            stuck_firing = now_stuck;
            let detail = if now_stuck {
                format!(
                    "{} accepts connections but sends nothing",
                    stuck
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                "every voter answers".to_string()
            };
            record_alert(&world, STUCK_ALERT, now_stuck, detail);
        }
        let external = external_health(&world, timeout).await;
        world.borrow_mut().record_external_health(external);
        unhealthy_rounds = if external == 200 {
            0
        } else {
            unhealthy_rounds + 1
        };
        let unavailable = unhealthy_rounds >= alert_after_rounds;
        if unavailable != unavailable_firing {
            unavailable_firing = unavailable;
            record_alert(
                &world,
                HA_UNAVAILABLE_ALERT,
                unavailable,
                format!("external health {external}"),
            );
        }
        let planned_start_reached =
            planned_start_ms.is_some_and(|start_ms| world.borrow().now_ms() >= start_ms);
        if (stuck_firing || planned_start_reached) && !runbook_started {
            if let Some(runbook) = runbook.clone() {
                runbook_started = true;
                let runbook_world = world.clone();
                let runbook_task = tokio::task::spawn_local(async move {
                    let mut actuator = SimActuator::new(runbook_world, timeout);
                    drive(
                        &mut Engine::new(runbook),
                        &mut actuator,
                        RUNBOOK_MAX_COMMANDS,
                    )
                    .await;
                });
                // A panic inside the runbook's task would otherwise end only that task, silently, and the run
                // would go on to be judged as if the runbook had simply stopped. It is a failure with its seed.
                let watcher_world = world.clone();
                tokio::task::spawn_local(async move {
                    if let Err(error) = runbook_task.await {
                        if error.is_panic() {
                            let panic = error.into_panic();
                            let reason = panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| {
                                    panic.downcast_ref::<&str>().map(|text| text.to_string())
                                })
                                .unwrap_or_else(|| "a panic with no message".to_string());
                            watcher_world.borrow_mut().record(EventKind::RunAborted {
                                reason: format!("the runbook panicked: {reason}"),
                            });
                        }
                    }
                });
            }
        }
        tokio::time::sleep(interval.saturating_sub(started.elapsed())).await;
    }
}

fn record_alert(world: &SharedWorld, name: &str, firing: bool, detail: String) {
    let mut w = world.borrow_mut();
    if firing {
        w.firing_alerts.insert(name.to_string());
    } else {
        w.firing_alerts.remove(name);
    }
    w.record(EventKind::Alert {
        name: name.to_string(),
        state: if firing {
            AlertState::Firing
        } else {
            AlertState::Resolved
        },
        detail,
    });
}
