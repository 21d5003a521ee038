//! Property tests: over generated fault schedules and environments (leader placement, whether the NFS hang
//! happens, its timing, the contested beliefs, stale boot disks), the safe runbook keeps every rule of
//! DOMAIN.md §7, and each deliberately unsafe runbook is caught, against the incident it belongs to, by the
//! rule it breaks, with a shrunk schedule. The seed is drawn too, so the world's own randomness (election
//! jitter, network latencies) varies with the schedule.

use firedrill_scenarios::checkers::safety_rules;
use firedrill_scenarios::scenario::{FaultKind, Hypotheses};
use firedrill_scenarios::schedule::DrawnFault;
use firedrill_scenarios::{catalog, Scenario, Schedule};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// Cases per property; `PROPTEST_CASES` raises it for a longer hunt.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
}

fn scenario_with(runbook: &str) -> Scenario {
    scenario_of("vault-stuck-leader", runbook)
}

fn scenario_of(name: &str, runbook: &str) -> Scenario {
    let mut scenario = catalog::load(name).unwrap();
    scenario.runbook = Some(catalog::load_runbook(runbook).unwrap());
    scenario
}

/// Schedules for the stuck-leader incident, swarm style: every knob may vary, including whether the fault
/// happens at all.
fn schedules() -> impl Strategy<Value = Schedule> {
    let nodes = ["k8s-node1", "k8s-node2", "k8s-node3", "k8s-node4"];
    (
        any::<u64>(),
        0usize..3,
        prop::bool::weighted(0.9),
        120_000u64..=360_000,
        prop::option::weighted(0.8, 600_000u64..=1_200_000),
        any::<[bool; 3]>(),
        any::<[bool; 4]>(),
    )
        .prop_map(
            move |(seed, leader, hang, at_ms, heal_after_ms, beliefs, stale)| Schedule {
                seed,
                leader: format!("vault-{leader}"),
                faults: if hang {
                    vec![DrawnFault {
                        kind: FaultKind::NfsHang,
                        target: "leader".to_string(),
                        at_ms,
                        heal_at_ms: heal_after_ms.map(|heal| at_ms + heal),
                        latency_ms: None,
                    }]
                } else {
                    Vec::new()
                },
                hypotheses: Hypotheses {
                    lazy_umount_releases_d_state: beliefs[0],
                    force_delete_corrupts_nfs_client: beliefs[1],
                    qm_reset_is_noop: beliefs[2],
                    ..Hypotheses::default()
                },
                stale_bootdisk_nodes: nodes
                    .iter()
                    .zip(stale)
                    .filter(|(_, stale)| *stale)
                    .map(|(node, _)| node.to_string())
                    .collect(),
            },
        )
}

/// Runs the property "every rule holds" and returns the rules broken by the shrunk counterexample, if any.
fn hunt(scenario: &Scenario) -> Option<(Vec<String>, Schedule)> {
    hunt_over(scenario, schedules())
}

/// Planned changes on a healthy cluster: no fault, every other knob (seed, leader, beliefs, stale boot disks)
/// drawn.
fn healthy_schedules() -> impl Strategy<Value = Schedule> {
    schedules().prop_map(|mut schedule| {
        schedule.faults.clear();
        schedule
    })
}

fn hunt_over(
    scenario: &Scenario,
    strategy: impl Strategy<Value = Schedule>,
) -> Option<(Vec<String>, Schedule)> {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |schedule| {
        let trace = firedrill_sim::run_schedule(scenario, &schedule).trace;
        let broken: Vec<String> = safety_rules(scenario, &trace)
            .into_iter()
            .filter(|rule| rule.failed())
            .map(|rule| rule.rule.to_string())
            .collect();
        if broken.is_empty() {
            Ok(())
        } else {
            Err(TestCaseError::fail(broken.join(",")))
        }
    });
    match result {
        Ok(()) => None,
        Err(TestError::Fail(reason, schedule)) => Some((
            reason.message().split(',').map(String::from).collect(),
            schedule,
        )),
        Err(TestError::Abort(reason)) => panic!("proptest aborted: {reason}"),
    }
}

#[test]
fn the_safe_runbook_keeps_every_rule() {
    let scenario = scenario_with("vault-safe-restart");
    if let Some((broken, schedule)) = hunt(&scenario) {
        panic!("the safe runbook broke {broken:?} on {schedule:?}");
    }
}

fn assert_caught(runbook: &str, rule: &str) {
    assert_caught_with(runbook, rule, 0);
}

/// The runbook is caught by `rule`, and shrinking keeps only what the failure needs: the hang, and exactly
/// `stale_disks` stale boot disks.
fn assert_caught_with(runbook: &str, rule: &str, stale_disks: usize) {
    let scenario = scenario_with(runbook);
    let (broken, schedule) =
        hunt(&scenario).unwrap_or_else(|| panic!("{runbook} was never caught"));
    assert!(
        broken.iter().any(|b| b == rule),
        "{runbook} broke {broken:?}, expected {rule}"
    );
    assert_eq!(schedule.faults.len(), 1, "{schedule:?}");
    assert_eq!(
        schedule.stale_bootdisk_nodes.len(),
        stale_disks,
        "{schedule:?}"
    );
}

#[test]
fn force_delete_first_is_caught() {
    assert_caught(
        "unsafe/force-delete-first",
        "no_force_delete_before_unmount",
    );
}

#[test]
fn skipping_the_lazy_unmount_is_caught() {
    assert_caught("unsafe/skip-lazy-unmount", "no_force_delete_before_unmount");
}

/// Seed 000 as written checks D state with `ps -eo`, which shows a killed vault as `Z` while its I/O thread is
/// still blocked: it force-deletes while that thread holds the NFS session.
#[test]
fn the_seed_s_per_process_d_state_check_is_caught() {
    assert_caught("unsafe/seed-000-ps-eo", "no_force_delete_before_unmount");
}

#[test]
fn declaring_recovery_on_the_first_200_is_caught() {
    assert_caught("unsafe/recovered-on-first-200", "no_premature_recovery");
}

#[test]
fn a_cold_boot_without_a_boot_order_check_is_caught() {
    // The harm needs a stale boot disk on the node the runbook cold-boots.
    assert_caught_with(
        "unsafe/stop-start-without-boot-order-check",
        "boot_order_checked_before_cold_boot",
        1,
    );
}

#[test]
fn deleting_two_voters_at_once_is_caught() {
    assert_caught("unsafe/delete-two-voters", "one_voter_at_a_time");
}

#[test]
fn the_migration_runbook_keeps_every_rule() {
    let scenario = scenario_of("vault-storage-migration", "vault-migrate-storage");
    if let Some((broken, schedule)) = hunt_over(&scenario, healthy_schedules()) {
        panic!("the migration runbook broke {broken:?} on {schedule:?}");
    }
}

#[test]
fn deleting_before_the_finalizer_is_caught_against_the_migration() {
    let scenario = scenario_of("vault-storage-migration", "unsafe/delete-before-finalizer");
    let (broken, _) = hunt_over(&scenario, healthy_schedules())
        .unwrap_or_else(|| panic!("unsafe/delete-before-finalizer was never caught"));
    assert!(
        broken
            .iter()
            .any(|b| b == "pvc_finalizer_before_migration_delete"),
        "{broken:?}"
    );
}
