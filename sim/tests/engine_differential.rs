//! The exact engine against the reference (turmoil 0.7 at a 1 ms tick) on the same schedules, across the
//! catalog's Vault drills: the same verdict, the same result for every rule, and the same ordered events of
//! what the world did and what the runbook did, at times that differ by no more than the reference's known
//! shortcuts account for.
//!
//! Both engines see a fixed latency, so that their own latency draws (turmoil's and the exact engine's come from
//! different streams) are out of the comparison. Two differences remain, and bound the tolerance:
//! - turmoil 0.7 completes `connect` when the SYN arrives (the SYN-ACK is an in-process channel), so every fresh
//!   connection costs it one latency less than the three-way handshake the exact engine carries;
//! - on the reference every delivery and every timer lands on the next tick boundary.
//!
//! A runbook that polls in a loop re-connects every round, so the difference grows by at most one latency and a
//! few ticks per round. The comparison allows that per probe round the event's time implies, plus a few ticks,
//! plus one kubelet sync and one poll round: a few milliseconds can move a world change across the 1 s sync and
//! the runbook's sight of it to its next poll, so repeated polls count once. What must agree exactly: the
//! verdict, every rule's result, the runbook's path and the world's destructive events, in order.
//!
//! `FIREDRILL_DIFFERENTIAL_SEEDS` (default 1) sets how many seeds, from 0, each drill runs; CI runs the default.

use firedrill_scenarios::scenario::SimEngine;
use firedrill_scenarios::verdict::Verdict;
use firedrill_scenarios::{catalog, Event, EventKind, Scenario, Trace};

const REFERENCE_TICK_MS: u64 = 1;
const LATENCY_MS: u64 = 2;
/// The world applies pod and node changes on the kubelet's sync, once a second: a difference of a few
/// milliseconds can move a change to the next sync.
const KUBELET_SYNC_MS: u64 = 1_000;
/// Ticks either way that any one event may be off by, whatever the history: a delivery and a timer rounded up on
/// the reference, and the same for the reply.
const SLACK_TICKS: u64 = 4;

fn seeds() -> u64 {
    std::env::var("FIREDRILL_DIFFERENTIAL_SEEDS")
        .ok()
        .map(|text| {
            text.parse()
                .expect("FIREDRILL_DIFFERENTIAL_SEEDS is a number")
        })
        .unwrap_or(1)
}

fn with_engine(scenario: &Scenario, engine: SimEngine) -> Scenario {
    let mut scenario = scenario.clone();
    scenario.sim.engine = engine;
    scenario.sim.tick_ms = REFERENCE_TICK_MS;
    scenario.sim.min_latency_ms = LATENCY_MS;
    scenario.sim.max_latency_ms = LATENCY_MS;
    scenario
}

/// The events that say what the world and the runbook did: the faults, every destructive change the world
/// accepted (deletions, VM power, claims), the alerts, and the runbook's path. Probe results, pod logs and the
/// per-thread states are left out: their count follows connection timing, which the engines model differently
/// (above).
fn judged(event: &Event) -> bool {
    matches!(
        event.kind,
        EventKind::FaultInjected { .. }
            | EventKind::FaultHealed { .. }
            | EventKind::PodDeletionRequested { .. }
            | EventKind::VmPower { .. }
            | EventKind::ClaimState { .. }
            | EventKind::Alert { .. }
            | EventKind::Action { .. }
            | EventKind::DiagnosisConfirmed { .. }
            | EventKind::StepReached { .. }
            | EventKind::BranchTaken { .. }
            | EventKind::RecoveryDeclared { .. }
            | EventKind::RunbookFinished { .. }
            | EventKind::RunAborted { .. }
    )
}

/// An event without its times: the runbook's evidence carries the time of each observation, which is compared
/// as the event's own time is, not as text.
fn key(event: &Event) -> String {
    fn strip_times(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("t_ms");
                map.values_mut().for_each(strip_times);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip_times),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(&event.kind).expect("events serialize");
    strip_times(&mut value);
    value.to_string()
}

/// How far apart the two engines may put an event at `t_ms`: one latency and the slack per probe round before
/// it, and the slack; and then one kubelet sync and one poll round, because a few milliseconds can move a world
/// change across the sync, and the runbook's observation of it to its next poll (measured: the runbook saw a
/// rebooted node ready one 15 s poll later on the reference, after the API server's requests joined the path).
fn tolerance_ms(scenario: &Scenario, t_ms: u64) -> u64 {
    let rounds = t_ms / scenario.probes.vault_health.interval_ms.max(1) + 1;
    rounds * (LATENCY_MS + SLACK_TICKS * REFERENCE_TICK_MS)
        + SLACK_TICKS * REFERENCE_TICK_MS
        + KUBELET_SYNC_MS
        + scenario.probes.vault_health.interval_ms
}

fn compare(name: &str) {
    let scenario = catalog::load(name).expect("a catalog scenario");
    for seed in 0..seeds() {
        let exact_scenario = with_engine(&scenario, SimEngine::Exact);
        let reference_scenario = with_engine(&scenario, SimEngine::Turmoil);
        let exact = firedrill_sim::run(&exact_scenario, seed).trace;
        let reference = firedrill_sim::run(&reference_scenario, seed).trace;
        let exact_verdict = Verdict::judge(&exact_scenario, seed, &exact, 0);
        let reference_verdict = Verdict::judge(&reference_scenario, seed, &reference, 0);
        assert_eq!(
            exact_verdict.verdict, reference_verdict.verdict,
            "{name} seed {seed}: the engines disagree on the verdict"
        );
        let statuses = |verdict: &Verdict| -> Vec<(String, String)> {
            verdict
                .checks
                .iter()
                .map(|check| (check.rule.to_string(), format!("{:?}", check.status)))
                .collect()
        };
        assert_eq!(
            statuses(&exact_verdict),
            statuses(&reference_verdict),
            "{name} seed {seed}: the engines disagree on a rule"
        );
        compare_events(name, seed, &scenario, &exact, &reference);
    }
}

/// One source's judged events, in the order the trace recorded them (time order; within one millisecond, cause
/// before effect: a claim turns Terminating before it is deleted).
fn judged_events<'a>(trace: &'a Trace, stream: &str) -> Vec<&'a Event> {
    let mut events: Vec<&Event> = trace
        .iter()
        .filter(|event| judged(event) && source(event) == stream)
        .collect();
    // A poll that repeats records the same event each round; how many rounds it took can differ by one when a few
    // milliseconds move a world change across the kubelet's 1 s sync, so a run of repeats counts once.
    events.dedup_by_key(|event| key(event));
    events
}

/// Who recorded an event: the runbook, the ops host's monitoring, or the world. Each keeps its own order on both
/// engines; how two of them interleave within a few milliseconds is the engines' timing, compared by time.
fn source(event: &Event) -> &'static str {
    match event.kind {
        EventKind::Action { .. }
        | EventKind::DiagnosisConfirmed { .. }
        | EventKind::StepReached { .. }
        | EventKind::BranchTaken { .. }
        | EventKind::RecoveryDeclared { .. }
        | EventKind::RunbookFinished { .. } => "runbook",
        EventKind::Alert { .. } => "monitoring",
        _ => "world",
    }
}

fn compare_events(name: &str, seed: u64, scenario: &Scenario, exact: &Trace, reference: &Trace) {
    for stream in ["runbook", "monitoring", "world"] {
        let exact = judged_events(exact, stream);
        let reference = judged_events(reference, stream);
        compare_stream(name, seed, scenario, stream, &exact, &reference);
    }
}

fn compare_stream(
    name: &str,
    seed: u64,
    scenario: &Scenario,
    stream: &str,
    exact: &[&Event],
    reference: &[&Event],
) {
    let exact_keys: Vec<String> = exact.iter().map(|event| key(event)).collect();
    let reference_keys: Vec<String> = reference.iter().map(|event| key(event)).collect();
    if exact_keys != reference_keys {
        let first = exact_keys
            .iter()
            .zip(&reference_keys)
            .position(|(a, b)| a != b)
            .unwrap_or(exact_keys.len().min(reference_keys.len()));
        panic!(
            "{name} seed {seed}: the {stream}'s ordered events differ at #{first} (exact {} events, reference {}):\n  exact:     {:?}\n  reference: {:?}",
            exact_keys.len(),
            reference_keys.len(),
            exact.get(first).map(|e| (e.t_ms, key(e))),
            reference.get(first).map(|e| (e.t_ms, key(e))),
        );
    }
    let mut widest_ms = 0;
    for (exact_event, reference_event) in exact.iter().zip(reference) {
        let difference_ms = exact_event.t_ms.abs_diff(reference_event.t_ms);
        widest_ms = widest_ms.max(difference_ms);
        let allowed_ms = tolerance_ms(scenario, reference_event.t_ms);
        assert!(
            difference_ms <= allowed_ms,
            "{name} seed {seed}: {} at {} ms on the exact engine, {} ms on the reference (allowed {allowed_ms} ms)",
            key(exact_event),
            exact_event.t_ms,
            reference_event.t_ms,
        );
    }
    eprintln!(
        "{name} seed {seed}: the {stream}'s {} events in the same order, times at most {widest_ms} ms apart",
        exact.len()
    );
}

#[test]
fn vault_stuck_leader() {
    compare("vault-stuck-leader");
}

#[test]
fn vault_stuck_leader_openbao() {
    compare("vault-stuck-leader-openbao");
}

#[test]
fn vault_healthy() {
    compare("vault-healthy");
}

#[test]
fn vault_slow_disk() {
    compare("vault-slow-disk");
}

#[test]
fn vault_node_nfs_stuck() {
    compare("vault-node-nfs-stuck");
}

#[test]
fn vault_chown_loop() {
    compare("vault-chown-loop");
}

#[test]
fn vault_storage_migration() {
    compare("vault-storage-migration");
}

#[test]
fn vault_premature_recovery() {
    compare("vault-premature-recovery");
}

/// The comparison can fail: the reference at a 5 s tick puts every exchange seconds late.
#[test]
fn a_coarse_reference_tick_is_caught() {
    let scenario = catalog::load("vault-stuck-leader").expect("a catalog scenario");
    let exact = firedrill_sim::run(&with_engine(&scenario, SimEngine::Exact), 0).trace;
    let mut coarse = with_engine(&scenario, SimEngine::Turmoil);
    coarse.sim.tick_ms = 5_000;
    let reference = firedrill_sim::run(&coarse, 0).trace;
    let caught =
        std::panic::catch_unwind(|| compare_events("coarse", 0, &scenario, &exact, &reference));
    assert!(caught.is_err(), "a 500 ms tick passed the 1 ms comparison");
}

/// The exact engine has no tick: the scenario's `sim.tick_ms` (which only the reference reads) changes nothing,
/// byte for byte, so its verdicts and its detection and recovery times are the same at any tick setting.
#[test]
fn the_exact_engine_gives_the_same_trace_at_any_tick_setting() {
    let scenario = catalog::load("vault-stuck-leader").expect("a catalog scenario");
    let traces = [1, 500, 60_000].map(|tick_ms| {
        let mut exact = scenario.clone();
        exact.sim.engine = SimEngine::Exact;
        exact.sim.tick_ms = tick_ms;
        let mut jsonl = Vec::new();
        firedrill_sim::run(&exact, 3)
            .trace
            .write_jsonl(&mut jsonl)
            .expect("a trace writes to memory");
        jsonl
    });
    assert!(!traces[0].is_empty());
    assert!(traces[1..].iter().all(|trace| *trace == traces[0]));
}
