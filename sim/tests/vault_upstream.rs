//! Vault, raft and the chart as upstream behave (issue 8, items 6 to 9): the shutdown order on SIGTERM, the
//! `vault-active` endpoints, hashicorp/raft's elections, and which code path makes health stop answering.

use firedrill_scenarios::trace::{Activity, PodPhaseName, RaftRoleName, TaskState};
use firedrill_scenarios::{catalog, EventKind, Scenario, Schedule, Trace};

fn run(scenario: &Scenario, schedule: &Schedule) -> Trace {
    firedrill_sim::run_schedule(scenario, schedule).trace
}

fn stuck_leader() -> Scenario {
    catalog::load("vault-stuck-leader").unwrap()
}

/// The first time the runbook took `activity`, and its target.
fn first_action(trace: &Trace, activity: Activity) -> Option<(u64, String)> {
    trace.iter().find_map(|e| match &e.kind {
        EventKind::Action { action, target, .. } if *action == activity => {
            Some((e.t_ms, target.clone()))
        }
        _ => None,
    })
}

fn log_time(trace: &Trace, pod: &str, needle: &str) -> Option<u64> {
    trace.iter().find_map(|e| match &e.kind {
        EventKind::PodLog { pod: p, message } if p == pod && message.contains(needle) => {
            Some(e.t_ms)
        }
        _ => None,
    })
}

/// Leaders elected in `(from, to)`, other than `except`.
fn leaders_between(trace: &Trace, from: u64, to: u64, except: &str) -> Vec<(u64, String)> {
    trace
        .iter()
        .filter(|e| e.t_ms > from && e.t_ms < to)
        .filter_map(|e| match &e.kind {
            EventKind::RaftRole {
                pod,
                role: RaftRoleName::Leader,
                ..
            } if pod != except => Some((e.t_ms, pod.clone())),
            _ => None,
        })
        .collect()
}

/// Item 6. vault-helm's preStop hook signals Vault 5 s into the deletion; Vault then closes 8200 (refused, where
/// the old model kept accepting and never answering), while a core stuck in a write never exits, so heartbeats go
/// on and nobody is elected until SIGKILL at the 10 s grace.
#[test]
fn sigterm_closes_the_api_first_and_a_stuck_core_keeps_leading_until_sigkill() {
    let scenario = stuck_leader();
    for seed in [1, 7, 42] {
        let schedule = Schedule::draw(&scenario, seed);
        let trace = run(&scenario, &schedule);
        let (deleted_ms, pod) =
            first_action(&trace, Activity::DeletePod).expect("a graceful delete");
        let shutdown_ms =
            log_time(&trace, &pod, "core: shutdown triggered").expect("SIGTERM reached Vault");
        assert!(
            (deleted_ms + 5_000..deleted_ms + 6_500).contains(&shutdown_ms),
            "seed {seed}: SIGTERM at {shutdown_ms}, deletion at {deleted_ms}"
        );
        // 8200 refuses from then on: a voter probe started after the shutdown sees it unreachable, not stuck
        // (one started before it waits out its timeout and reports stuck).
        let probed_after = trace.iter().find_map(|e| match &e.kind {
            EventKind::ProbeResult {
                endpoint,
                state,
                latency_ms,
                ..
            } if *endpoint == pod
                && e.t_ms.saturating_sub(*latency_ms) > shutdown_ms
                && e.t_ms > shutdown_ms + 1_000
                && e.t_ms < deleted_ms + 10_000 =>
            {
                Some(state.clone())
            }
            _ => None,
        });
        if let Some(state) = probed_after {
            assert_eq!(state, "unreachable", "seed {seed}");
        }
        assert!(
            log_time(&trace, &pod, "shutting down").is_none(),
            "seed {seed}: a core stuck in a write cannot finish its shutdown"
        );
        assert_eq!(
            leaders_between(&trace, deleted_ms, deleted_ms + 10_000, &pod),
            vec![],
            "seed {seed}: heartbeats go on until SIGKILL"
        );
    }
}

/// Item 6, the other half: a Vault whose core is free shuts down on SIGTERM and exits by itself, 5 s into its
/// deletion (the old model exited it the moment the deletion was accepted).
#[test]
fn a_free_core_shuts_down_on_sigterm_after_the_prestop_sleep() {
    let scenario = catalog::load("vault-storage-migration").unwrap();
    let schedule = Schedule::draw(&scenario, 3);
    let trace = run(&scenario, &schedule);
    let (deleted_ms, pod) = first_action(&trace, Activity::DeletePod).expect("a graceful delete");
    let exited_ms =
        log_time(&trace, &pod, "core: vault is sealed; shutting down").expect("Vault shut down");
    assert!(
        (deleted_ms + 5_000..deleted_ms + 6_500).contains(&exited_ms),
        "exit at {exited_ms}, deletion at {deleted_ms}"
    );
    let vault_exit = trace.iter().find(|e| {
        e.t_ms >= deleted_ms
            && matches!(&e.kind, EventKind::ProcessState { comm, state: TaskState::Exited, pod_uid, .. }
                if comm == "vault" && pod_uid.starts_with(&pod))
    });
    assert!(vault_exit.is_some_and(|e| e.t_ms >= deleted_ms + 5_000));
}

/// A schedule in which the stuck leader's old pod stays Terminating: the hang never heals and `umount -l`
/// releases nothing.
fn old_pod_stays(scenario: &Scenario, seed: u64) -> Schedule {
    let mut schedule = Schedule::draw(scenario, seed);
    schedule.faults[0].heal_at_ms = None;
    schedule.hypotheses.lazy_umount_releases_d_state = false;
    schedule.hypotheses.force_delete_corrupts_nfs_client = false;
    schedule
}

/// Item 7. The old active pod keeps its `vault-active` label and, Terminating and not ready, stays an endpoint
/// (`publishNotReadyAddresses`), so external health flaps between the new leader's 200 and the old pod's failure
/// until the old pod is gone. The old model asked only the Ready leader, and saw a steady 200.
#[test]
fn external_health_flaps_while_the_old_active_pod_is_an_endpoint() {
    let mut scenario = stuck_leader();
    // Without the runbook's reset, the old pod stays for the rest of the run.
    scenario.runbook = None;
    let schedule = old_pod_stays(&scenario, 1);
    let trace = run(&scenario, &schedule);
    let onset = schedule.faults[0].at_ms;
    let statuses: Vec<u16> = trace
        .iter()
        .filter(|e| e.t_ms > onset)
        .filter_map(|e| match &e.kind {
            EventKind::ExternalHealth { http_status } => Some(*http_status),
            _ => None,
        })
        .collect();
    // With no runbook the stuck pod stays the only endpoint: the ingress times out on it, never a 200.
    assert!(
        statuses.contains(&504) && !statuses.contains(&200),
        "{statuses:?}"
    );

    let scenario = stuck_leader();
    let trace = run(&scenario, &schedule);
    let (deleted_ms, pod) = first_action(&trace, Activity::DeletePod).unwrap();
    let new_leader_ms = leaders_between(&trace, deleted_ms, u64::MAX, &pod)[0].0;
    let reset_ms = first_action(&trace, Activity::VmReset).map_or(u64::MAX, |(t, _)| t);
    let flaps: Vec<u16> = trace
        .iter()
        .filter(|e| e.t_ms > new_leader_ms && e.t_ms < reset_ms)
        .filter_map(|e| match &e.kind {
            EventKind::ExternalHealth { http_status } => Some(*http_status),
            _ => None,
        })
        .collect();
    assert!(
        flaps.contains(&200) && flaps.iter().any(|s| *s != 200),
        "{flaps:?}"
    );
    // §0.3 saw the stuck pod as the Service's only endpoint.
    let endpoints = trace.iter().find_map(|e| match &e.kind {
        EventKind::Action {
            action: Activity::ActiveEndpoints,
            outcome,
            ..
        } => Some(outcome.clone()),
        _ => None,
    });
    assert_eq!(endpoints.as_deref(), Some(pod.as_str()));
}

/// Item 8, hashicorp/raft#683 as a hypothesis: a leader whose write stalls past its lease steps down, the others
/// elect a new leader before anyone acts, and their vote RPCs to the stuck node time out with msgpack's
/// `[pos 0]`. Upstream today (the default), no election happens before the runbook acts.
#[test]
fn a_disk_stalled_leader_steps_down_only_under_the_683_hypothesis() {
    let scenario = stuck_leader();
    for steps_down in [false, true] {
        let mut schedule = Schedule::draw(&scenario, 7);
        schedule.hypotheses.disk_stalled_leader_steps_down = steps_down;
        let trace = run(&scenario, &schedule);
        let onset = schedule.faults[0].at_ms;
        let stuck = schedule.leader.clone();
        let first_act = first_action(&trace, Activity::DeletePod).map_or(u64::MAX, |(t, _)| t);
        let elected = leaders_between(&trace, onset, first_act.min(onset + 60_000), &stuck);
        assert_eq!(
            !elected.is_empty(),
            steps_down,
            "683={steps_down}: {elected:?}"
        );
        let vote_timeouts = trace.iter().any(|e| {
            e.t_ms < first_act.min(onset + 60_000)
                && matches!(&e.kind, EventKind::PodLog { message, .. }
                    if message.contains("RPC: peer=") && message.contains("[pos 0]"))
        });
        assert_eq!(vote_timeouts, steps_down, "683={steps_down}");
    }
}

/// Item 9. Under OpenBao's measured behaviour, the stuck leader answers health 200 until its periodic core task
/// blocks, up to 5 minutes after it became active; under the incident's belief it stops at the first stuck write.
/// The old model knew only the latter.
#[test]
fn when_health_stops_answering_depends_on_which_path_blocks() {
    let scenario = stuck_leader();
    for holds_core_lock in [true, false] {
        let mut schedule = Schedule::draw(&scenario, 7);
        schedule.hypotheses.hung_write_holds_core_lock = holds_core_lock;
        let trace = run(&scenario, &schedule);
        let onset = schedule.faults[0].at_ms;
        let leader = schedule.leader.clone();
        let stuck_from = trace
            .iter()
            .find(|e| {
                e.t_ms > onset
                    && matches!(&e.kind, EventKind::ProbeResult { endpoint, state, .. } if *endpoint == leader && state == "stuck")
            })
            .map(|e| e.t_ms)
            .expect("the leader is seen stuck");
        let answered_200_after_onset = trace.iter().any(|e| {
            e.t_ms > onset + 10_000
                && e.t_ms < stuck_from
                && matches!(&e.kind, EventKind::ProbeResult { endpoint, http_status: Some(200), .. } if *endpoint == leader)
        });
        assert_eq!(
            answered_200_after_onset, !holds_core_lock,
            "holds_core_lock={holds_core_lock}"
        );
        if holds_core_lock {
            assert!(stuck_from < onset + 25_000);
        } else {
            // The periodic task runs every 5 minutes from the node's activation (a few seconds into the run).
            let became_active = trace
                .iter()
                .find(|e| matches!(&e.kind, EventKind::RaftRole { pod, role: RaftRoleName::Leader, .. } if *pod == leader))
                .unwrap()
                .t_ms;
            let next_task = became_active + (onset - became_active).div_ceil(300_000) * 300_000;
            assert!(
                stuck_from >= next_task,
                "stuck from {stuck_from}, task at {next_task}"
            );
        }
    }
}

/// Item 9, readiness as the chart probes it: two failed `vault status` probes, 5 s apart, before NotReady. The
/// old model flipped readiness at the kubelet's next 1 s sync.
#[test]
fn readiness_fails_after_two_probes() {
    let scenario = stuck_leader();
    let schedule = Schedule::draw(&scenario, 7);
    let trace = run(&scenario, &schedule);
    let leader = schedule.leader.clone();
    let in_d = trace
        .iter()
        .find(|e| matches!(&e.kind, EventKind::ProcessState { pod_uid, comm, state: TaskState::DiskSleep, .. } if comm == "vault" && pod_uid.starts_with(&leader)))
        .unwrap()
        .t_ms;
    let not_ready = trace
        .iter()
        .find(|e| {
            e.t_ms >= in_d
                && matches!(&e.kind, EventKind::PodPhase { pod, phase: PodPhaseName::Running, .. } if *pod == leader)
        })
        .unwrap()
        .t_ms;
    assert!(
        (in_d + 5_000..=in_d + 11_000).contains(&not_ready),
        "D at {in_d}, NotReady at {not_ready}"
    );
}

/// Item 8: a sealed Vault has not set up raft, so its election timer starts at unseal. Before, the timer ran
/// from the process's start, and the seed's leader stood for election the moment it was unsealed.
#[test]
fn the_first_election_waits_a_timeout_after_unseal() {
    let mut scenario = catalog::load("vault-healthy").unwrap();
    scenario.topology.unseal_ms = 20_000;
    let schedule = Schedule::draw(&scenario, 3);
    let trace = run(&scenario, &schedule);
    let unsealed_ms = log_time(&trace, &schedule.leader, "core: vault is unsealed")
        .expect("the seed's leader unsealed");
    let first_candidate_ms = trace
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::RaftRole {
                role: RaftRoleName::Candidate,
                ..
            } => Some(e.t_ms),
            _ => None,
        })
        .expect("an election happened");
    // The seed's leader times out first, one second after its timer starts.
    assert!(
        first_candidate_ms >= unsealed_ms + 1_000,
        "a candidate at {first_candidate_ms} ms, unsealed at {unsealed_ms} ms"
    );
}
