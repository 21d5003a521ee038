//! `firedrill run <vault scenario> --backend docker`: the scenario's schedule on a real OpenBao cluster. The
//! seed's first leader is initialised first, the seed's fault is injected at its time on the voter it targets,
//! the probes run on the scenario's interval with its alert rule, and the runbook starts on the first stuck alert,
//! through [`DockerActuator`]. The trace holds the same events the simulation writes, stamped with wall time.

use super::actuator::DockerActuator;
use super::cluster::Cluster;
use super::lifecycle::{track_current, SharedCluster};
use super::ops::{external_health, log_watcher, monitor, probe_round, writer};
use super::readiness::readiness;
use super::world::{SharedWorld, World};
use firedrill_probes::vault::NodeState;
use firedrill_scenarios::checkers::STUCK_ALERT;
use firedrill_scenarios::runbook::{drive, Engine};
use firedrill_scenarios::scenario::FaultKind;
use firedrill_scenarios::trace::{AlertState, FaultName, PodPhaseName};
use firedrill_scenarios::{EventKind, Scenario, Schedule, Trace};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The alert for "no node answers 200 through vault-active", named as in seed 000 and the simulation.
pub const HA_UNAVAILABLE_ALERT: &str = "VaultHAStatusUnavailable";
const RUNBOOK_MAX_COMMANDS: usize = 10_000;
/// A write through the active node that takes longer than this is hung. Healthy writes take milliseconds, a slow
/// disk's seconds; OpenBao's own request limit is 90 s.
pub const CANARY_DEADLINE: Duration = Duration::from_secs(10);
/// The cluster forms in about 30 s here (DOMAIN.md §9); three minutes means something is wrong.
const FORMATION_TIMEOUT: Duration = Duration::from_secs(180);

/// How much of the scenario's real time a run spends. The full run takes the scenario's 30 minutes; `quick`
/// shortens only waits where nothing is observed: the idle time before the fault, the fault's length, the
/// sustained-health window and the tail after the runbook.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pace {
    pub quick: bool,
}

impl Pace {
    /// Quick: the fault starts 20 s into the run.
    pub const QUICK_ONSET_MS: u64 = 20_000;
    /// Quick: the fault lasts at most 4 minutes, which covers the runbook's diagnosis and first actions.
    pub const QUICK_FAULT_MS: u64 = 240_000;
    /// Quick: health must hold 60 s, not the runbook's 15 minutes.
    pub const QUICK_SUSTAINED_MS: u64 = 60_000;
    /// Quick: a run with no alert (the control) watches this long after the onset it would have had.
    pub const QUICK_CONTROL_MS: u64 = 120_000;
    /// Quick: the run ends this long after the runbook finishes.
    pub const QUICK_TAIL_MS: u64 = 20_000;
    /// Quick: no run lasts longer than this.
    pub const QUICK_LIMIT_MS: u64 = 540_000;

    /// The scenario as this pace runs it: shortened windows in the expectations and the runbook, so the same
    /// checkers judge what the run could show.
    pub fn adapt(self, scenario: &Scenario) -> Scenario {
        let mut scenario = scenario.clone();
        if self.quick {
            scenario.expect.sustained_health_ms = scenario
                .expect
                .sustained_health_ms
                .min(Self::QUICK_SUSTAINED_MS);
            if let Some(runbook) = scenario.runbook.as_mut() {
                runbook.params.sustained_health_ms = runbook
                    .params
                    .sustained_health_ms
                    .min(Self::QUICK_SUSTAINED_MS);
            }
            scenario.duration_ms = scenario.duration_ms.min(Self::QUICK_LIMIT_MS);
        }
        scenario
    }

    /// The schedule as this pace runs it: the same fault on the same target, earlier and shorter.
    pub fn adapt_schedule(self, schedule: &Schedule) -> Schedule {
        let mut schedule = schedule.clone();
        if self.quick {
            for fault in &mut schedule.faults {
                let length = fault
                    .heal_at_ms
                    .map(|heal| heal.saturating_sub(fault.at_ms));
                fault.at_ms = fault.at_ms.min(Self::QUICK_ONSET_MS);
                fault.heal_at_ms =
                    length.map(|length| fault.at_ms + length.min(Self::QUICK_FAULT_MS));
            }
        }
        schedule
    }
}

pub struct DockerVaultOutcome {
    pub trace: Trace,
    pub wall_ms: u64,
    /// What `bao version` said, e.g. `OpenBao v2.7.2 (9e0a0d3c…)`.
    pub version: String,
    /// The run was stopped by SIGINT or SIGTERM; everything was still removed.
    pub interrupted: bool,
    /// What could not be removed, if anything: a leak, which the caller must report as a failure.
    pub teardown_problems: Vec<String>,
}

/// Runs one seed of a Vault scenario on real OpenBao. Must be called inside a `LocalSet`.
pub async fn run(scenario: &Scenario, seed: u64, pace: Pace) -> Result<DockerVaultOutcome, String> {
    let wall = Instant::now();
    for fault in &scenario.faults {
        if fault.kind != FaultKind::NfsHang {
            return Err(format!(
                "the docker backend injects write hangs (nfs_hang) only; {:?} has no real counterpart here",
                fault.kind
            ));
        }
    }
    let schedule = pace.adapt_schedule(&Schedule::draw(scenario, seed));
    let voter_names = scenario.voter_names();
    let first = voter_names
        .iter()
        .position(|name| *name == schedule.leader)
        .unwrap_or(0);
    let cluster = Cluster::start(&voter_names, &scenario.topology.nodes).await?;
    let cluster: SharedCluster = Rc::new(Mutex::new(cluster));
    let interrupted = Rc::new(Cell::new(false));
    let result = {
        let cluster = cluster.clone();
        let interrupted = interrupted.clone();
        async move {
            tokio::select! {
                result = drill(scenario, seed, &schedule, first, cluster, pace) => result,
                () = shutdown_signal() => {
                    interrupted.set(true);
                    Err("interrupted".to_string())
                }
            }
        }
        .await
    };
    let mut guard = cluster.lock().await;
    let teardown_problems = guard.teardown().await;
    let version = guard.version.clone();
    drop(guard);
    let wall_ms = wall.elapsed().as_millis() as u64;
    match result {
        Ok(trace) => Ok(DockerVaultOutcome {
            trace,
            wall_ms,
            version,
            interrupted: false,
            teardown_problems,
        }),
        Err(_) if interrupted.get() => Ok(DockerVaultOutcome {
            trace: Trace::default(),
            wall_ms,
            version,
            interrupted: true,
            teardown_problems,
        }),
        Err(error) if teardown_problems.is_empty() => Err(error),
        Err(error) => Err(format!(
            "{error}; and the teardown left: {}",
            teardown_problems.join("; ")
        )),
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}

async fn drill(
    scenario: &Scenario,
    seed: u64,
    schedule: &Schedule,
    first: usize,
    cluster: SharedCluster,
    pace: Pace,
) -> Result<Trace, String> {
    {
        let mut guard = cluster.lock().await;
        guard.form(first, FORMATION_TIMEOUT).await?;
        eprintln!(
            "docker: {} formed, {} voters, first leader {}",
            guard.version,
            guard.voters.len(),
            schedule.leader
        );
    }
    let world: SharedWorld = {
        let guard = cluster.lock().await;
        let world = Rc::new(std::cell::RefCell::new(World::new(&guard)));
        {
            let mut w = world.borrow_mut();
            w.record(EventKind::RunStarted {
                scenario: scenario.name.clone(),
                seed,
                backend: "docker".into(),
                schema_version: firedrill_scenarios::trace::TRACE_SCHEMA_VERSION,
            });
            w.record(EventKind::ScheduleDrawn {
                schedule: schedule.clone(),
            });
        }
        for index in 0..guard.voters.len() {
            let uid = track_current(&world, &guard, index).unwrap_or_default();
            let mut w = world.borrow_mut();
            w.set_phase(&uid, PodPhaseName::Ready);
            let voter = &guard.voters[index];
            w.record(EventKind::PodLog {
                pod: voter.name.clone(),
                message: format!("started {}", guard.version),
            });
        }
        world
    };
    world.borrow_mut().set_leader(Some(schedule.leader.clone()));
    let probe = &scenario.probes.vault_health;
    let probe_timeout = Duration::from_millis(probe.timeout_ms);
    let background = [
        tokio::task::spawn_local(monitor(world.clone())),
        tokio::task::spawn_local(writer(
            world.clone(),
            Duration::from_millis(scenario.topology.write_interval_ms.max(1_000)),
        )),
        tokio::task::spawn_local(faults(world.clone(), cluster.clone(), schedule.clone())),
        tokio::task::spawn_local(log_watcher(world.clone(), Duration::from_secs(5))),
        tokio::task::spawn_local(readiness(world.clone())),
    ];
    let runbook_finished: Rc<Cell<Option<u64>>> = Rc::new(Cell::new(None));
    let mut runbook_started = false;
    let mut stuck_rounds: BTreeMap<String, u32> = BTreeMap::new();
    let mut stuck_firing = false;
    let mut unhealthy_rounds = 0u32;
    let mut unavailable_firing = false;
    let limit_ms = scenario.duration_ms;
    let control_end_ms = schedule
        .faults
        .first()
        .map(|fault| fault.at_ms)
        .unwrap_or(Pace::QUICK_ONSET_MS)
        + Pace::QUICK_CONTROL_MS;
    loop {
        let round_started = tokio::time::Instant::now();
        let states = probe_round(&world, probe_timeout, CANARY_DEADLINE).await;
        for (pod, state) in &states {
            let rounds = stuck_rounds.entry(pod.clone()).or_insert(0);
            *rounds = if *state == NodeState::Stuck {
                *rounds + 1
            } else {
                0
            };
        }
        let stuck: Vec<String> = stuck_rounds
            .iter()
            .filter(|(_, rounds)| **rounds >= probe.alert_after_rounds)
            .map(|(pod, _)| pod.clone())
            .collect();
        if stuck.is_empty() == stuck_firing {
            stuck_firing = !stuck.is_empty();
            let detail = if stuck_firing {
                format!(
                    "{} stuck: its health accepts connections and sends nothing, or a write through it hangs",
                    stuck.join(", ")
                )
            } else {
                "every voter answers and writes complete".into()
            };
            record_alert(&world, STUCK_ALERT, stuck_firing, detail);
        }
        let external = external_health(&world, probe_timeout).await;
        world.borrow_mut().record_external_health(external);
        unhealthy_rounds = if external == 200 {
            0
        } else {
            unhealthy_rounds + 1
        };
        let unavailable = unhealthy_rounds >= probe.alert_after_rounds;
        if unavailable != unavailable_firing {
            unavailable_firing = unavailable;
            record_alert(
                &world,
                HA_UNAVAILABLE_ALERT,
                unavailable,
                format!("external health {external}"),
            );
        }
        if stuck_firing && !runbook_started {
            if let Some(runbook) = scenario.runbook.clone() {
                runbook_started = true;
                let mut actuator = DockerActuator {
                    world: world.clone(),
                    cluster: cluster.clone(),
                    probe_timeout,
                    canary_deadline: CANARY_DEADLINE,
                    grace_ms: scenario.topology.termination_grace_period_ms,
                    run_limit: Duration::from_millis(limit_ms),
                };
                let finished = runbook_finished.clone();
                let runbook_world = world.clone();
                tokio::task::spawn_local(async move {
                    drive(
                        &mut Engine::new(runbook),
                        &mut actuator,
                        RUNBOOK_MAX_COMMANDS,
                    )
                    .await;
                    finished.set(Some(runbook_world.borrow().now_ms()));
                });
            }
        }
        let now_ms = world.borrow().now_ms();
        let done = match runbook_finished.get() {
            Some(finished_ms) => !pace.quick || now_ms >= finished_ms + Pace::QUICK_TAIL_MS,
            None => pace.quick && !runbook_started && now_ms >= control_end_ms,
        };
        if done || now_ms >= limit_ms {
            break;
        }
        tokio::time::sleep(
            Duration::from_millis(probe.interval_ms).saturating_sub(round_started.elapsed()),
        )
        .await;
    }
    for task in background {
        task.abort();
    }
    // The drill's own end: faults still active are released by the teardown, and recorded as healed by it.
    let still = world.borrow().fault_target.clone();
    if let Some(target) = still {
        world.borrow_mut().record(EventKind::FaultHealed {
            fault: FaultName::NfsHang,
            target,
            how: "released at the end of the run".into(),
        });
    }
    world.borrow_mut().record(EventKind::RunFinished {});
    let trace = world.borrow().trace.clone();
    Ok(trace)
}

/// Injects each fault of the schedule at its time on its target (the leader of the moment, for `leader`), and
/// heals it at its time. While a write hang lasts, the threads waiting on it are sent SIGURG every second so they
/// show D, as on an NFS hard mount (see `firedrill-hangfs`).
async fn faults(world: SharedWorld, cluster: SharedCluster, schedule: Schedule) {
    for fault in &schedule.faults {
        let wait = fault.at_ms.saturating_sub(world.borrow().now_ms());
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let target = if fault.target == "leader" {
            world
                .borrow()
                .leader
                .clone()
                .unwrap_or_else(|| schedule.leader.clone())
        } else {
            fault.target.clone()
        };
        let answer = {
            let mut guard = cluster.lock().await;
            let Some(index) = guard.index_of(&target) else {
                continue;
            };
            match guard.voters[index].mount.as_mut() {
                Some(mount) => mount.command("block-mutating").await,
                None => Err("no hang mount".into()),
            }
        };
        {
            let mut w = world.borrow_mut();
            w.fault_target = Some(target.clone());
            w.record(EventKind::FaultInjected {
                fault: FaultName::NfsHang,
                target: target.clone(),
                detail: format!("write, fsync, flush, create, rename and truncate held on {target}'s raft directory ({})", answer.unwrap_or_else(|error| error)),
            });
        }
        let heal_at_ms = fault.heal_at_ms.unwrap_or(u64::MAX);
        while world.borrow().now_ms() < heal_at_ms {
            {
                let mut guard = cluster.lock().await;
                if let Some(index) = guard.index_of(&target) {
                    for mount in guard.voters[index].mounts_mut() {
                        let _ = mount.command("urge").await;
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let answer = {
            let mut guard = cluster.lock().await;
            let Some(index) = guard.index_of(&target) else {
                continue;
            };
            // The node's session heals: every mount of the voter's storage, old incarnations' included.
            let mut answers = Vec::new();
            for mount in guard.voters[index].mounts_mut() {
                answers.push(mount.command("release").await.unwrap_or_else(|error| error));
            }
            Ok::<String, String>(answers.join("; "))
        };
        let mut w = world.borrow_mut();
        w.fault_target = None;
        w.record(EventKind::FaultHealed {
            fault: FaultName::NfsHang,
            target,
            how: format!("scheduled ({})", answer.unwrap_or_else(|error| error)),
        });
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
