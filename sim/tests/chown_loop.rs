//! The kubelet's fsGroup chown loop (seeds 000 §4 and 003): with `Always` a walk longer than the volume-setup
//! deadline loops forever and the voter never comes back; the runbook's §4 step (OnRootMismatch, then delete the
//! looping pod) brings it back; the walk's cost follows the file count.

use firedrill_scenarios::runbook::RunbookFile;
use firedrill_scenarios::scenario::FsGroupChangePolicy;
use firedrill_scenarios::trace::PodPhaseName;
use firedrill_scenarios::{catalog, EventKind, Scenario, Trace, Verdict};
use std::path::Path;

const SEEDS: [u64; 3] = [1, 7, 42];

fn run(scenario: &Scenario, seed: u64) -> (Trace, Verdict) {
    let outcome = firedrill_sim::run(scenario, seed);
    let verdict = Verdict::judge(scenario, seed, &outcome.trace, outcome.wall_ms);
    (outcome.trace, verdict)
}

fn rule_passed(verdict: &Verdict, rule: &str) -> bool {
    verdict
        .checks
        .iter()
        .find(|check| check.rule == rule)
        .unwrap_or_else(|| panic!("no check named {rule}"))
        .status
        == firedrill_scenarios::checkers::RuleStatus::Pass
}

fn chown_loop_lines(trace: &Trace) -> usize {
    trace
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::PodLog { message, .. } if message.contains("fsGroup") && message.contains("context deadline exceeded")))
        .count()
}

fn policy_patched(trace: &Trace) -> bool {
    trace.iter().any(|e| {
        matches!(
            &e.kind,
            EventKind::Action {
                action: firedrill_scenarios::trace::Activity::SetFsGroupChangePolicy,
                ..
            }
        )
    })
}

/// When the last voter turned Ready for good, after the fault's onset.
fn all_voters_back_ms(trace: &Trace, onset_ms: u64) -> Option<u64> {
    let mut last_ready = None;
    let mut last_phase = std::collections::BTreeMap::new();
    for event in trace.iter() {
        if let EventKind::PodPhase { pod, phase, .. } = &event.kind {
            last_phase.insert(pod.clone(), *phase);
            if *phase == PodPhaseName::Ready && event.t_ms > onset_ms {
                last_ready = Some(event.t_ms);
            }
        }
    }
    let all_ready = last_phase
        .values()
        .all(|phase| *phase == PodPhaseName::Ready);
    last_ready.filter(|_| all_ready).map(|at| at - onset_ms)
}

/// The safe runbook with its §4 patch writing `Always` instead of `OnRootMismatch`: the step runs, changes nothing.
fn runbook_keeping_always() -> RunbookFile {
    let (_, source) = catalog::RUNBOOKS
        .iter()
        .find(|(name, _)| *name == "vault-safe-restart")
        .unwrap();
    let edited = source.replace(
        "fs_group_change_policy = \"OnRootMismatch\"",
        "fs_group_change_policy = \"Always\"",
    );
    assert_ne!(&edited, source, "the runbook must set OnRootMismatch in §4");
    RunbookFile::parse(Path::new("always.toml"), &edited).unwrap()
}

#[test]
fn the_safe_runbook_breaks_the_chown_loop_and_all_three_voters_return() {
    let scenario = catalog::load("vault-chown-loop").unwrap();
    for seed in SEEDS {
        let (trace, verdict) = run(&scenario, seed);
        assert!(verdict.passed(), "seed {seed}: {:?}", verdict.checks);
        assert!(
            chown_loop_lines(&trace) >= 1,
            "seed {seed}: the new pod never looped"
        );
        assert!(
            policy_patched(&trace),
            "seed {seed}: §4 never patched the policy"
        );
        let back_ms = all_voters_back_ms(&trace, verdict.onset_ms.unwrap());
        assert!(back_ms.is_some(), "seed {seed}: not every voter came back");
    }
}

#[test]
fn keeping_always_leaves_the_voter_looping_in_container_creating() {
    let mut scenario = catalog::load("vault-chown-loop").unwrap();
    scenario.runbook = Some(runbook_keeping_always());
    for seed in SEEDS {
        let (trace, verdict) = run(&scenario, seed);
        assert!(
            !rule_passed(&verdict, "voters_ready_at_end"),
            "seed {seed}: {:?}",
            verdict.checks
        );
        // The loop goes on to the end: one failed setup per deadline, every one of them in the trace.
        assert!(
            chown_loop_lines(&trace) >= 5,
            "seed {seed}: {} loop lines",
            chown_loop_lines(&trace)
        );
        assert_eq!(
            all_voters_back_ms(&trace, verdict.onset_ms.unwrap()),
            None,
            "seed {seed}"
        );
    }
}

#[test]
fn on_root_mismatch_from_the_start_needs_no_patch() {
    let mut scenario = catalog::load("vault-chown-loop").unwrap();
    scenario.topology.fs_group_change_policy = FsGroupChangePolicy::OnRootMismatch;
    for seed in SEEDS {
        let (trace, verdict) = run(&scenario, seed);
        assert!(verdict.passed(), "seed {seed}: {:?}", verdict.checks);
        assert_eq!(chown_loop_lines(&trace), 0, "seed {seed}");
        assert!(!policy_patched(&trace), "seed {seed}: no loop, so no patch");
    }
}

#[test]
fn the_walk_costs_the_file_count_and_only_a_walk_past_the_deadline_loops() {
    let mut scenario = catalog::load("vault-chown-loop").unwrap();
    // 100 000 files at 0.9 ms: a 90 s walk, inside the 120 s deadline.
    scenario.topology.volume_file_count = 100_000;
    let (trace, verdict) = run(&scenario, 7);
    assert!(verdict.passed(), "{:?}", verdict.checks);
    assert_eq!(chown_loop_lines(&trace), 0);
    assert!(!policy_patched(&trace));
    // The replacement pod spends the walk in ContainerCreating: from its mount to its container start.
    let replacement = trace
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::PodLog { message, .. }
                if message.contains("applying fsGroup ownership to") =>
            {
                Some(e.t_ms)
            }
            _ => None,
        })
        .expect("the replacement pod walks its volume");
    let started = trace
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::PodPhase {
                phase: PodPhaseName::Running,
                ..
            } if e.t_ms > replacement => Some(e.t_ms),
            _ => None,
        })
        .expect("the replacement pod starts");
    let walk_ms = started - replacement;
    assert!(
        (90_000..=92_000).contains(&walk_ms),
        "walk took {walk_ms} ms"
    );
}
