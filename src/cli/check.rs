//! `firedrill check`: run a runbook against an incident over many seeds and swarm environments, prove the
//! safety rules or shrink a counterexample, print figures, and optionally audit the runbook's claims.

use super::output::Format;
use super::parallel::for_each_seed;
use super::run::load_scenario;
use super::{usage_error, EXIT_FAIL, EXIT_PASS};
use clap::Args;
use firedrill_scenarios::checkers::{self, detected_at_ms, recovered_at_ms, safety_rules};
use firedrill_scenarios::figures::{self, Distribution};
use firedrill_scenarios::shrink::shrink;
use firedrill_scenarios::{audit, Scenario, Schedule, Trace};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

#[derive(Args)]
pub struct CheckArgs {
    /// A Vault scenario of the catalog or a scenario file.
    pub scenario: String,
    /// The runbook to check instead of the scenario's own: a catalog runbook or a runbook .toml file.
    #[arg(long, value_name = "RUNBOOK")]
    pub runbook: Option<String>,
    /// How many seeds. Each draws fault timings, leader placement and, with swarm testing, which faults happen,
    /// which contested beliefs hold and which nodes have a stale boot disk.
    /// From 1 to 1,000,000.
    #[arg(long, env = "FIREDRILL_SEEDS", default_value_t = 1000, value_parser = super::parallel::parse_seeds)]
    pub seeds: u64,
    /// The first seed; seeds run from START to START+SEEDS-1.
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    /// Parallel workers, from 1 to 1024; defaults to the number of cores.
    #[arg(long, value_parser = super::parallel::parse_jobs)]
    pub jobs: Option<usize>,
    /// Draw only timings and placement from each seed, keeping the scenario's faults and beliefs.
    #[arg(long)]
    pub no_swarm: bool,
    /// Also report which steps of the runbook stop doing what it says once the hypotheses follow upstream
    /// behaviour (lazy unmount, qm reset, the grace period).
    #[arg(long)]
    pub audit: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// One seed's result.
struct SeedResult {
    seed: u64,
    broken: Vec<&'static str>,
    detect_ms: Option<u64>,
    recover_ms: Option<u64>,
    reboots: u64,
    actions: u64,
}

#[derive(Serialize)]
struct Figures {
    detect_ms: Distribution,
    recover_ms: Distribution,
    node_reboots: Distribution,
    destructive_actions: Distribution,
}

#[derive(Serialize)]
struct Counterexample {
    seed: u64,
    rule: &'static str,
    detail: String,
    failing_seeds: u64,
    shrunk_schedule: Schedule,
    shrink_runs: usize,
    actions: Vec<String>,
    replay_seed: String,
    replay_shrunk: String,
}

#[derive(Serialize)]
struct Finding {
    step: &'static str,
    claim: &'static str,
    observed: String,
    holds: bool,
}

#[derive(Serialize)]
struct CheckReport {
    scenario: String,
    runbook: String,
    seeds: u64,
    swarm: bool,
    verdict: &'static str,
    rules: Vec<&'static str>,
    figures: Figures,
    counterexample: Option<Counterexample>,
    audit: Vec<Finding>,
}

pub fn execute(args: CheckArgs) -> u8 {
    if let Err(error) = super::parallel::check_seed_range(args.start, args.seeds) {
        return usage_error(error);
    }
    super::interrupt::install();
    let end = args.start.saturating_add(args.seeds);
    match args.format {
        Format::Text => println!("SEEDS={}..{end}", args.start),
        Format::Json => eprintln!("SEEDS={}..{end}", args.start),
    }
    let scenario = match load_scenario(&args.scenario, args.runbook.as_deref()) {
        Ok(scenario) => scenario,
        Err(error) => return usage_error(error),
    };
    let runbook_name = scenario
        .runbook
        .as_ref()
        .map(|runbook| runbook.name.clone())
        .unwrap_or_else(|| "none".to_string());
    let swarm = !args.no_swarm;
    let draw = |seed| {
        if swarm {
            Schedule::draw_swarm(&scenario, seed)
        } else {
            Schedule::draw(&scenario, seed)
        }
    };
    let jobs = super::parallel::jobs(args.jobs);
    let progress = if args.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.seeds)
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} seeds, {per_sec}, eta {eta}",
        )
        .expect("the template is valid"),
    );
    let results: Vec<SeedResult> = for_each_seed(args.start, args.seeds, jobs, &progress, |seed| {
        let outcome = firedrill_sim::run_schedule(&scenario, &draw(seed));
        judge_seed(&scenario, seed, &outcome.trace)
    });
    progress.finish_and_clear();
    if super::interrupt::requested() {
        // No shrinking or audit after an interrupt: both run many more simulations.
        return super::interrupt::sweep_summary(
            [(
                results.len() as u64,
                results
                    .iter()
                    .filter(|r| !r.broken.is_empty())
                    .map(|r| r.seed),
            )],
            args.seeds,
        );
    }

    let failing: Vec<&SeedResult> = results.iter().filter(|r| !r.broken.is_empty()).collect();
    let counterexample = failing.first().map(|first| {
        let rule = first.broken[0];
        let original = draw(first.seed);
        let (shrunk, shrink_runs) = shrink(&scenario, &original, |candidate| {
            let trace = firedrill_sim::run_schedule(&scenario, candidate).trace;
            safety_rules(&scenario, &trace)
                .iter()
                .any(|r| r.rule == rule && !r.passed)
        });
        let trace = firedrill_sim::run_schedule(&scenario, &shrunk).trace;
        let detail = safety_rules(&scenario, &trace)
            .into_iter()
            .find(|r| r.rule == rule)
            .map(|r| r.detail)
            .unwrap_or_default();
        let runbook_flag = args
            .runbook
            .as_ref()
            .map(|runbook| format!(" --runbook {}", super::shell::quote(runbook)))
            .unwrap_or_default();
        let swarm_flag = if swarm { " --swarm" } else { "" };
        Counterexample {
            seed: first.seed,
            rule,
            detail,
            failing_seeds: failing.len() as u64,
            shrink_runs,
            actions: action_lines(&trace),
            replay_seed: format!(
                "firedrill run {} --seed {}{swarm_flag}{runbook_flag}",
                super::shell::quote(&args.scenario),
                first.seed
            ),
            replay_shrunk: format!(
                "firedrill run {} --seed {}{runbook_flag} --schedule {}",
                super::shell::quote(&args.scenario),
                first.seed,
                super::shell::quote(&serde_json::to_string(&shrunk).expect("schedules serialize"))
            ),
            shrunk_schedule: shrunk,
        }
    });
    let report = CheckReport {
        scenario: scenario.name.clone(),
        runbook: runbook_name,
        seeds: args.seeds,
        swarm,
        verdict: if counterexample.is_none() {
            "pass"
        } else {
            "fail"
        },
        rules: safety_rules(&scenario, &Trace::default())
            .iter()
            .map(|r| r.rule)
            .collect(),
        figures: Figures {
            detect_ms: Distribution::of(results.iter().filter_map(|r| r.detect_ms).collect()),
            recover_ms: Distribution::of(results.iter().filter_map(|r| r.recover_ms).collect()),
            node_reboots: Distribution::of(results.iter().map(|r| r.reboots).collect()),
            destructive_actions: Distribution::of(results.iter().map(|r| r.actions).collect()),
        },
        counterexample,
        audit: if args.audit {
            run_audit(&scenario, args.start, args.seeds.min(200), jobs)
        } else {
            Vec::new()
        },
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&report).expect("reports serialize")
        ),
        Format::Text => print_text(&report),
    }
    if report.counterexample.is_none() {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

fn judge_seed(scenario: &Scenario, seed: u64, trace: &Trace) -> SeedResult {
    let onset = checkers::fault_onset_ms(trace);
    let since_onset = |at: Option<u64>| at.zip(onset).map(|(at, onset)| at - onset);
    SeedResult {
        seed,
        broken: safety_rules(scenario, trace)
            .into_iter()
            .filter(|r| !r.passed)
            .map(|r| r.rule)
            .collect(),
        detect_ms: since_onset(detected_at_ms(trace, onset)),
        recover_ms: since_onset(recovered_at_ms(trace, onset)),
        reboots: figures::node_reboots(trace),
        actions: figures::destructive_actions(trace),
    }
}

fn action_lines(trace: &Trace) -> Vec<String> {
    firedrill_scenarios::verdict::timeline(trace)
        .into_iter()
        .filter(|line| line.contains("action") || line.contains("fault") || line.contains("node "))
        .collect()
}

/// Seed 000 §3 (the node's NFS client is already stuck) is reached only when the node is broken, so the audit
/// also runs the runbook against that incident.
const NODE_STUCK_SCENARIO: &str = "vault-node-nfs-stuck";

fn run_audit(scenario: &Scenario, start: u64, seeds: u64, jobs: usize) -> Vec<Finding> {
    let mut scenarios = vec![scenario.clone()];
    if scenario.name != NODE_STUCK_SCENARIO {
        if let Ok(mut node_stuck) = firedrill_scenarios::catalog::load(NODE_STUCK_SCENARIO) {
            node_stuck.runbook = scenario.runbook.clone();
            scenarios.push(node_stuck);
        }
    }
    let hidden = ProgressBar::hidden();
    let mut traces = Vec::new();
    for mut upstream in scenarios {
        upstream.hypotheses.lazy_umount_releases_d_state = false;
        upstream.hypotheses.qm_reset_is_noop = false;
        traces.extend(for_each_seed(start, seeds, jobs, &hidden, |seed| {
            let trace = firedrill_sim::run(&upstream, seed).trace;
            (
                audit::lazy_unmount_released_d_state(&trace),
                audit::reset_then_cold_boot(&trace),
                audit::observed_grace_ms(&trace),
            )
        }));
    }
    let mut findings = Vec::new();
    let unmounts: Vec<bool> = traces
        .iter()
        .filter_map(|(released, _, _)| *released)
        .collect();
    if !unmounts.is_empty() {
        let released = unmounts.iter().filter(|r| **r).count();
        findings.push(Finding {
            step: "2c-lazy-unmount",
            claim: "umount -l lets the kernel release NFS session state, so the stuck task leaves D state",
            observed: format!(
                "with umount(8) semantics the stuck task left D state after the lazy unmount in {released} of {} runs; the runbook then waits and diagnoses the node",
                unmounts.len()
            ),
            holds: released == unmounts.len(),
        });
    }
    let resets: Vec<(bool, bool)> = traces.iter().filter_map(|(_, reset, _)| *reset).collect();
    if !resets.is_empty() {
        let needless = resets
            .iter()
            .filter(|(rebooted, cold)| *rebooted && *cold)
            .count();
        findings.push(Finding {
            step: "3-boot-order/3-stop-start",
            claim: "if qm reset leaves the QEMU PID unchanged, the VM did not reboot: use qm stop/start",
            observed: format!(
                "qm reset rebooted the guest inside the same QEMU process in {} of {} resets; the PID check still called for a cold boot in {needless}, a second reboot (check boot_id or uptime instead)",
                resets.iter().filter(|(rebooted, _)| *rebooted).count(),
                resets.len()
            ),
            holds: needless == 0,
        });
    }
    let graces: Vec<u64> = traces.iter().filter_map(|(_, _, grace)| *grace).collect();
    if let Some(grace_ms) = graces.first() {
        findings.push(Finding {
            step: "2a-graceful-delete",
            claim: "graceful delete with a 30 s grace, then wait 30 s",
            observed: format!(
                "the pod's terminationGracePeriodSeconds is {} s (vault-helm's default is 10 s): SIGKILL came {grace_ms} ms after the delete, so the 30 s wait assumes a grace the chart does not set",
                scenario.topology.termination_grace_period_ms / 1000
            ),
            holds: *grace_ms >= 30_000,
        });
    }
    if findings.is_empty() {
        findings.push(Finding {
            step: "-",
            claim: "-",
            observed: format!("no run of {} reached a contested step", scenario.name),
            holds: true,
        });
    }
    findings
}

fn print_text(report: &CheckReport) {
    println!(
        "check {} with runbook {}: {} seeds{}",
        report.scenario,
        report.runbook,
        report.seeds,
        if report.swarm {
            " (swarm: faults, beliefs and boot disks drawn per seed)"
        } else {
            ""
        }
    );
    println!("rules: {}", report.rules.join(", "));
    println!();
    println!("figures over seeds:");
    println!(
        "  time to detect:      {}",
        report.figures.detect_ms.text(" ms")
    );
    println!(
        "  time to recover:     {}",
        report.figures.recover_ms.text(" ms")
    );
    println!(
        "  node reboots:        {}",
        report.figures.node_reboots.text("")
    );
    println!(
        "  destructive actions: {}",
        report.figures.destructive_actions.text("")
    );
    println!();
    match &report.counterexample {
        None => println!("PASS: every rule holds on {} seeds", report.seeds),
        Some(counterexample) => {
            println!(
                "FAIL: {} broken on {} of {} seeds; first at seed {}",
                counterexample.rule,
                counterexample.failing_seeds,
                report.seeds,
                counterexample.seed
            );
            println!("  {}", counterexample.detail);
            println!(
                "  shrunk schedule ({} runs): {}",
                counterexample.shrink_runs,
                serde_json::to_string(&counterexample.shrunk_schedule)
                    .expect("schedules serialize")
            );
            println!("  what happened:");
            for line in &counterexample.actions {
                println!("    {line}");
            }
            println!("  replay the seed:     {}", counterexample.replay_seed);
            println!("  replay the shrunk:   {}", counterexample.replay_shrunk);
        }
    }
    if !report.audit.is_empty() {
        println!();
        println!("audit (hypotheses switched to upstream behaviour):");
        for finding in &report.audit {
            let mark = if finding.holds { "holds " } else { "BROKEN" };
            println!("  {mark} [{}] {}", finding.step, finding.claim);
            println!("         {}", finding.observed);
        }
    }
}
