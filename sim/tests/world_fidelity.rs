//! The world behaves as upstream does (issue 8): each test here failed on the model before the fix it names.

use firedrill_scenarios::scenario::FaultKind;
use firedrill_scenarios::trace::FaultName;
use firedrill_scenarios::{catalog, EventKind, Schedule, Trace};

fn jsonl(trace: &Trace) -> Vec<u8> {
    let mut bytes = Vec::new();
    trace.write_jsonl(&mut bytes).unwrap();
    bytes
}

fn injected_at_ms(trace: &Trace, fault: FaultName) -> Option<u64> {
    trace.iter().find_map(|event| match &event.kind {
        EventKind::FaultInjected { fault: name, .. } if *name == fault => Some(event.t_ms),
        _ => None,
    })
}

/// `vault-node-nfs-stuck` lists its hang (drawn at 120–360 s) before the corruption (at 120 s). Faults used to
/// start in list order, so the corruption waited for the hang.
#[test]
fn faults_fire_at_their_own_time_whatever_the_order_they_are_listed_in() {
    let scenario = catalog::load("vault-node-nfs-stuck").unwrap();
    let schedule = (0..50)
        .map(|seed| Schedule::draw(&scenario, seed))
        .find(|schedule| schedule.faults[0].at_ms > 200_000)
        .expect("some seed draws the hang late");
    assert_eq!(schedule.faults[0].kind, FaultKind::NfsHang);
    assert_eq!(schedule.faults[1].kind, FaultKind::NfsClientCorrupted);
    let trace = firedrill_sim::run_schedule(&scenario, &schedule).trace;
    let corrupted_at_ms = injected_at_ms(&trace, FaultName::NfsClientCorrupted).unwrap();
    let hung_at_ms = injected_at_ms(&trace, FaultName::NfsHang).unwrap();
    let tick_ms = scenario.sim.tick_ms;
    assert!(
        corrupted_at_ms <= schedule.faults[1].at_ms + tick_ms,
        "the corruption drawn at {} ms fired at {corrupted_at_ms} ms",
        schedule.faults[1].at_ms
    );
    assert!(hung_at_ms >= schedule.faults[0].at_ms);
}

/// A schedule printed by `check` (after shrinking, with its faults moved) and read back replays exactly.
#[test]
fn a_printed_schedule_replays_byte_for_byte_in_any_fault_order() {
    let scenario = catalog::load("vault-node-nfs-stuck").unwrap();
    let mut schedule = Schedule::draw(&scenario, 3);
    schedule.faults.reverse();
    let printed = serde_json::to_string(&schedule).unwrap();
    let read_back: Schedule = serde_json::from_str(&printed).unwrap();
    read_back.check_against(&scenario).unwrap();
    let first = firedrill_sim::run_schedule(&scenario, &schedule).trace;
    let replayed = firedrill_sim::run_schedule(&scenario, &read_back).trace;
    assert_eq!(jsonl(&first), jsonl(&replayed));
    let mut sorted = schedule.clone();
    sorted.faults.sort_by_key(|fault| fault.at_ms);
    let in_order = firedrill_sim::run_schedule(&scenario, &sorted).trace;
    for fault in [FaultName::NfsHang, FaultName::NfsClientCorrupted] {
        assert_eq!(
            injected_at_ms(&first, fault),
            injected_at_ms(&in_order, fault),
            "{fault:?} fired at another time when the schedule listed it elsewhere"
        );
    }
}

use firedrill_scenarios::scenario::Hypotheses;
use firedrill_scenarios::schedule::DrawnFault;
use firedrill_scenarios::trace::{Activity, NodeCondition, PodPhaseName, RaftRoleName, TaskState};
use firedrill_scenarios::Scenario;

/// The stuck-leader incident with a chosen runbook, the hang on vault-0 at 120 s, never healed, and every
/// contested belief set to what upstream does.
fn stuck_leader_with(runbook: &str) -> (Scenario, Schedule) {
    let mut scenario = catalog::load("vault-stuck-leader").unwrap();
    scenario.runbook = Some(catalog::load_runbook(runbook).unwrap());
    let mut schedule = Schedule::draw(&scenario, 11);
    schedule.leader = "vault-0".to_string();
    schedule.faults = vec![DrawnFault {
        kind: FaultKind::NfsHang,
        target: "leader".to_string(),
        at_ms: 120_000,
        heal_at_ms: None,
        latency_ms: None,
    }];
    schedule.hypotheses = Hypotheses {
        lazy_umount_releases_d_state: false,
        force_delete_corrupts_nfs_client: false,
        qm_reset_is_noop: false,
        ..schedule.hypotheses.clone()
    };
    schedule.stale_bootdisk_nodes.clear();
    (scenario, schedule)
}

fn first_action_ms(trace: &Trace, activity: Activity) -> Option<u64> {
    trace.iter().find_map(|event| match &event.kind {
        EventKind::Action { action, .. } if *action == activity => Some(event.t_ms),
        _ => None,
    })
}

fn first_leader_after(trace: &Trace, after_ms: u64, other_than: &str) -> Option<u64> {
    trace.iter().find_map(|event| match &event.kind {
        EventKind::RaftRole {
            pod,
            role: RaftRoleName::Leader,
            ..
        } if event.t_ms > after_ms && pod != other_than => Some(event.t_ms),
        _ => None,
    })
}

/// Item 1: the kubelet kills the containers of a pod removed from the API. Before, a force-deleted stuck leader
/// kept heartbeating until its node rebooted, and no other voter was elected.
#[test]
fn a_force_delete_still_kills_the_old_containers_and_the_cluster_elects() {
    let (scenario, schedule) = stuck_leader_with("unsafe/force-delete-first");
    let trace = firedrill_sim::run_schedule(&scenario, &schedule).trace;
    let forced_ms =
        first_action_ms(&trace, Activity::ForceDeletePod).expect("the runbook force-deletes");
    let elected_ms = first_leader_after(&trace, forced_ms, "vault-0")
        .expect("a new leader after the force delete");
    assert!(
        elected_ms - forced_ms <= 40_000,
        "the new leader came {} ms after the force delete",
        elected_ms - forced_ms
    );
    // The old incarnation's vault was killed: its leader thread is a zombie, its I/O thread still in D.
    let old_uid = trace
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::PodDeletionRequested {
                uid, force: true, ..
            } => Some(uid.clone()),
            _ => None,
        })
        .unwrap();
    let zombie = trace.iter().any(|event| {
        matches!(&event.kind, EventKind::ProcessState { pod_uid, comm, pid, tid, state: TaskState::Zombie, .. }
            if *pod_uid == old_uid && comm == "vault" && Some(*pid) == *tid)
    });
    assert!(zombie, "the force-deleted vault was never killed");
}

/// Item 5: after SIGKILL a vault whose I/O thread is blocked is a zombie leader with a D thread, and the
/// `sh -ec` PID 1 waits in do_wait (S), never a zombie.
#[test]
fn a_killed_vault_is_a_zombie_leader_with_a_blocked_thread_and_sh_waits() {
    let (scenario, schedule) = stuck_leader_with("vault-safe-restart");
    let trace = firedrill_sim::run_schedule(&scenario, &schedule).trace;
    let killed_uid = trace
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::ProcessState {
                pod_uid,
                comm,
                state: TaskState::Zombie,
                ..
            } if comm == "vault" => Some(pod_uid.clone()),
            _ => None,
        })
        .expect("the stuck vault was killed in D state");
    let blocked_thread = trace.iter().any(|event| {
        matches!(&event.kind, EventKind::ProcessState { pod_uid, comm, pid, tid: Some(tid), state: TaskState::DiskSleep, .. }
            if *pod_uid == killed_uid && comm == "vault" && tid != pid)
    });
    assert!(
        blocked_thread,
        "the D state belongs to a thread, not the leader"
    );
    let sh_zombie = trace.iter().any(|event| {
        matches!(&event.kind, EventKind::ProcessState { pod_uid, comm, state: TaskState::Zombie, .. }
            if *pod_uid == killed_uid && comm == "sh")
    });
    assert!(!sh_zombie, "sh is PID 1 in do_wait, not a zombie");
    // The safe runbook checks per thread, so it never force-deletes while the thread is blocked.
    assert_eq!(first_action_ms(&trace, Activity::ForceDeletePod), None);
}

/// Item 2: the hang belongs to the node's NFS client. The replacement pod's mount on the same node goes through
/// the hung session, so its `mount.nfs` blocks in D; before, only a corrupted client hung new mounts.
#[test]
fn a_replacement_mount_through_the_hung_session_blocks() {
    let (scenario, schedule) = stuck_leader_with("unsafe/force-delete-first");
    let trace = firedrill_sim::run_schedule(&scenario, &schedule).trace;
    let replacement = trace
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::PodPhase {
                pod,
                uid,
                node,
                phase: PodPhaseName::ContainerCreating,
            } if pod == "vault-0" && event.t_ms > 120_000 => Some((uid.clone(), node.clone())),
            _ => None,
        })
        .next()
        .expect("the StatefulSet recreated vault-0");
    let blocked_mount = trace.iter().any(|event| {
        matches!(&event.kind, EventKind::ProcessState { pod_uid, comm, state: TaskState::DiskSleep, .. }
            if *pod_uid == replacement.0 && comm == "mount.nfs")
    });
    assert!(
        blocked_mount,
        "the replacement on {} mounted through the hung session",
        replacement.1
    );
}

/// Item 2: `umount -f` fails the blocked I/O with EIO, so the killed vault dies, the kubelet unmounts, and the
/// deletion completes without a force delete or a reboot.
#[test]
fn umount_force_frees_the_blocked_thread_and_the_deletion_completes() {
    let mut runbook = catalog::load_runbook("vault-safe-restart").unwrap();
    let text = catalog::RUNBOOKS
        .iter()
        .find(|(name, _)| *name == "vault-safe-restart")
        .unwrap()
        .1
        .replace("do = \"lazy_unmount\"", "do = \"force_unmount\"");
    runbook = firedrill_scenarios::runbook::RunbookFile::parse(
        std::path::Path::new("force-unmount.toml"),
        &text,
    )
    .unwrap_or_else(|error| panic!("{error}\n{}", runbook.name));
    let (mut scenario, schedule) = stuck_leader_with("vault-safe-restart");
    scenario.runbook = Some(runbook);
    let trace = firedrill_sim::run_schedule(&scenario, &schedule).trace;
    let unmounted_ms =
        first_action_ms(&trace, Activity::ForceUnmount).expect("the runbook ran umount -f");
    let deleted_ms = trace
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::PodPhase {
                pod,
                phase: PodPhaseName::Deleted,
                ..
            } if pod == "vault-0" => Some(event.t_ms),
            _ => None,
        })
        .expect("the graceful deletion completed");
    assert!(deleted_ms >= unmounted_ms && deleted_ms - unmounted_ms <= 5_000);
    assert_eq!(first_action_ms(&trace, Activity::ForceDeletePod), None);
    assert_eq!(first_action_ms(&trace, Activity::VmReset), None);
}

/// Item 3: nothing runs on a node whose VM failed to boot, and the node is marked NotReady after the grace.
/// Before, the kubelet started the pod there seconds after `boot_failed_ipxe`.
#[test]
fn no_pod_runs_on_a_node_whose_vm_failed_to_boot() {
    let mut scenario = catalog::load("vault-node-nfs-stuck").unwrap();
    scenario.runbook =
        Some(catalog::load_runbook("unsafe/stop-start-without-boot-order-check").unwrap());
    let mut schedule = Schedule::draw(&scenario, 5);
    schedule.hypotheses.qm_reset_is_noop = true;
    schedule.stale_bootdisk_nodes = scenario.topology.nodes.clone();
    let trace = firedrill_sim::run_schedule(&scenario, &schedule).trace;
    let (failed_ms, node) = trace
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::NodeState {
                node,
                state: NodeCondition::BootFailedIpxe,
            } => Some((event.t_ms, node.clone())),
            _ => None,
        })
        .expect("the cold boot met the stale disk");
    let up_again_ms = trace
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::NodeState {
                node: n,
                state: NodeCondition::Ready,
            } if *n == node && event.t_ms > failed_ms => Some(event.t_ms),
            _ => None,
        })
        .unwrap_or(u64::MAX);
    let ran_there = trace.iter().find(|event| {
        event.t_ms > failed_ms
            && event.t_ms < up_again_ms
            && matches!(&event.kind, EventKind::PodPhase { node: n, phase: PodPhaseName::Running | PodPhaseName::Ready, .. } if *n == node)
    });
    assert!(ran_there.is_none(), "{ran_there:?}");
    let not_ready = trace.iter().any(|event| {
        matches!(&event.kind, EventKind::NodeState { node: n, state: NodeCondition::NotReady } if *n == node)
    });
    assert!(not_ready, "{node} was never marked NotReady");
}

/// Item 4: each pod incarnation is a host of its own. After a force delete, the old incarnation (a zombie whose
/// blocked thread holds its sockets) still accepts on 8201 at its own address while the pod's name resolves to
/// the replacement. Before, starting the replacement restarted the one host named after the pod, and the old
/// incarnation's listeners vanished with it.
#[test]
fn a_superseded_incarnation_with_a_blocked_thread_stays_on_the_network() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let (scenario, schedule) = stuck_leader_with("unsafe/force-delete-first");
    let seen: Rc<RefCell<Option<(String, String, bool)>>> = Rc::new(RefCell::new(None));
    let report = seen.clone();
    firedrill_sim::run_observed(&scenario, &schedule, move |hosts, world| {
        let software = move || {
            let world = world.clone();
            let report = report.clone();
            async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
                    // Wait until the replacement runs while the old incarnation is still killed in D state.
                    let state = {
                        let w = world.borrow();
                        let old = w.removed_pods.first().map(|pod| pod.uid.clone());
                        let replacement = w.pods.get("vault-0").map(|pod| pod.uid.clone());
                        let old_alive = old.as_ref().is_some_and(|uid| {
                            w.processes
                                .iter()
                                .any(|p| &p.pod_uid == uid && p.comm == "vault")
                        });
                        match (old, replacement) {
                            (Some(old), Some(new)) if old_alive && w.hosts.contains(&new) => {
                                Some((old, firedrill_sim::dns::resolve(&w, "vault-0")))
                            }
                            _ => None,
                        }
                    };
                    let Some((old, resolved)) = state else {
                        if world.borrow().now_ms() > 1_500_000 {
                            return Ok(());
                        }
                        continue;
                    };
                    let accepted = firedrill_sim::net::TcpStream::connect((old.as_str(), 8201))
                        .await
                        .is_ok();
                    *report.borrow_mut() = Some((old, resolved.unwrap_or_default(), accepted));
                    return Ok(());
                }
            }
        };
        hosts.register("observer", firedrill_sim::engine::software(software));
    });
    let (old, resolved, accepted) = seen
        .borrow()
        .clone()
        .expect("the replacement never ran beside a killed incarnation");
    assert!(accepted, "the old incarnation {old} refused on 8201");
    assert_ne!(
        resolved, old,
        "vault-0 still resolves to the old incarnation"
    );
}

/// Item 14: seed 003's regression as a scenario. The safe runbook sees the 200 regress inside its window and
/// does not declare recovery on it (the rule is exercised by a real failure mode); declaring on the first 200
/// is caught.
#[test]
fn the_premature_recovery_scenario_exercises_the_rule_both_ways() {
    use firedrill_scenarios::checkers::RuleStatus;
    let scenario = catalog::load("vault-premature-recovery").unwrap();
    let rule = |scenario: &Scenario, seed: u64| {
        let outcome = firedrill_sim::run(scenario, seed);
        let verdict =
            firedrill_scenarios::Verdict::judge(scenario, seed, &outcome.trace, outcome.wall_ms);
        verdict
            .checks
            .into_iter()
            .find(|check| check.rule == "no_premature_recovery")
            .unwrap()
    };
    let safe = rule(&scenario, 1);
    assert_eq!(safe.status, RuleStatus::Pass, "{}", safe.detail);
    assert!(safe.detail.contains("regressed"), "{}", safe.detail);
    let mut hasty = scenario.clone();
    hasty.runbook = Some(catalog::load_runbook("unsafe/recovered-on-first-200").unwrap());
    let caught = rule(&hasty, 1);
    assert_eq!(caught.status, RuleStatus::Fail, "{}", caught.detail);
}
