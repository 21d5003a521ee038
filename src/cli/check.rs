//! `firedrill check`: run a runbook against an incident over many seeds and swarm environments, judge every
//! safety rule and the scenario's expectations, report per-rule and per-step coverage, shrink a
//! counterexample, print figures, and optionally audit the runbook's claims.

use super::output::Format;
use super::parallel::for_each_seed;
use super::run::load_scenario;
use super::{usage_error, EXIT_FAIL, EXIT_PASS};
use clap::Args;
use firedrill_scenarios::checkers::{self, check_all, detected_at_ms, recovered_at_ms};
use firedrill_scenarios::coverage::{Coverage, RuleCount, RunCoverage, StepCoverage};
use firedrill_scenarios::figures::{self, Distribution};
use firedrill_scenarios::shrink::shrink;
use firedrill_scenarios::{audit, Scenario, Schedule, Trace};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Args)]
#[command(
    after_help = "A rule passes only where it had something to judge: each rule reports on how many seeds \
it was exercised. A rule that no seed exercised fails the check (NOT EXERCISED) unless the scenario lists it \
under [expect.not_applicable]. The scenario's own expectations (detection, recovery, the runbook's outcome) \
are judged as well as the safety rules.\n\nExamples:\n  \
firedrill check vault-stuck-leader --seeds 1000\n  \
firedrill check vault-stuck-leader --runbook unsafe/force-delete-first\n  \
firedrill check vault-storage-migration --runbook my-migration.toml --format json\n  \
firedrill check vault-stuck-leader --audit"
)]
pub struct CheckArgs {
    /// A Vault scenario of the catalog or a scenario file.
    pub scenario: String,
    /// The runbook to check instead of the scenario's own: a catalog runbook or a runbook .toml file.
    #[arg(long, value_name = "RUNBOOK")]
    pub runbook: Option<String>,
    #[command(flatten)]
    pub engine: super::engine::EngineArgs,
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
    /// Also measure whether the runbook's contested claims hold once the hypotheses follow upstream behaviour
    /// (lazy unmount, qm reset), each against a control run under the runbook's own beliefs.
    #[arg(long)]
    pub audit: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub reports: crate::report::ReportArgs,
    /// Also draw the first failing seed (the first seed when none fails) as one self-contained HTML timeline in
    /// FILE: lanes per pod and node, fault windows, probes, alerts, runbook steps, and the violation linked to
    /// the event that broke the rule.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

/// One seed's result.
pub struct SeedResult {
    pub seed: u64,
    pub failed: Vec<&'static str>,
    pub coverage: RunCoverage,
    detect_ms: Option<u64>,
    recover_ms: Option<u64>,
    reboots: u64,
    actions: u64,
}

/// The schedule a seed gives, with or without swarm testing.
pub fn draw(scenario: &Scenario, seed: u64, swarm: bool) -> Schedule {
    if swarm {
        Schedule::draw_swarm(scenario, seed)
    } else {
        Schedule::draw(scenario, seed)
    }
}

/// Runs one seed in the simulation and judges it against every rule that applies.
pub fn run_seed(scenario: &Scenario, seed: u64, swarm: bool) -> SeedResult {
    let outcome = firedrill_sim::run_schedule(scenario, &draw(scenario, seed, swarm));
    judge_seed(scenario, seed, &outcome.trace)
}

fn judge_seed(scenario: &Scenario, seed: u64, trace: &Trace) -> SeedResult {
    let checks = check_all(scenario, trace);
    let onset = checkers::fault_onset_ms(trace);
    let since_onset = |at: Option<u64>| at.zip(onset).map(|(at, onset)| at.saturating_sub(onset));
    SeedResult {
        seed,
        failed: checks
            .iter()
            .filter(|r| r.failed())
            .map(|r| r.rule)
            .collect(),
        coverage: RunCoverage::of(trace, &checks),
        detect_ms: since_onset(detected_at_ms(trace, onset)),
        recover_ms: since_onset(recovered_at_ms(trace, onset)),
        reboots: figures::node_reboots(trace),
        actions: figures::destructive_actions(trace),
    }
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
struct RuleReport {
    rule: &'static str,
    /// `pass`, `fail`, or `not_exercised` when no seed gave the rule anything to judge.
    verdict: &'static str,
    #[serde(flatten)]
    count: RuleCount,
    /// Why the scenario declares the rule not applicable, if it does.
    not_applicable: Option<String>,
}

#[derive(Serialize)]
pub struct Finding {
    step: &'static str,
    claim: &'static str,
    /// The switch whose upstream value drives the measurement.
    hypothesis: &'static str,
    /// Measured under upstream behaviour.
    observed: String,
    holds: bool,
    /// The same measurement under the runbook's own beliefs, which must hold for the finding to mean anything.
    control: String,
    control_holds: bool,
}

#[derive(Serialize)]
struct CheckReport {
    scenario: String,
    runbook: String,
    seeds: u64,
    swarm: bool,
    /// `pass`, `fail` (a rule broke on some seed), or `not_exercised` (a rule was never judged).
    verdict: &'static str,
    rules: Vec<RuleReport>,
    runbook_coverage: Vec<StepCoverage>,
    steps_never_reached: Vec<String>,
    figures: Figures,
    counterexample: Option<Counterexample>,
    audit: Vec<Finding>,
}

pub fn execute(args: CheckArgs) -> u8 {
    if let Err(error) = super::parallel::check_seed_range(args.start, args.seeds) {
        return usage_error(error);
    }
    super::interrupt::install();
    let started = std::time::Instant::now();
    let end = args.start.saturating_add(args.seeds);
    match args.format {
        Format::Text => println!("SEEDS={}..{end}", args.start),
        Format::Json => eprintln!("SEEDS={}..{end}", args.start),
    }
    let mut scenario = match load_scenario(&args.scenario, args.runbook.as_deref()) {
        Ok(scenario) => scenario,
        Err(error) => return usage_error(error),
    };
    if let Err(error) = args.engine.apply(&mut scenario) {
        return usage_error(error);
    }
    let runbook_name = scenario
        .runbook
        .as_ref()
        .map(|runbook| runbook.name.clone())
        .unwrap_or_else(|| "none".to_string());
    let swarm = !args.no_swarm;
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
        run_seed(&scenario, seed, swarm)
    });
    progress.finish_and_clear();
    if super::interrupt::requested() {
        // No shrinking or audit after an interrupt: both run many more simulations.
        return super::interrupt::sweep_summary(
            [(
                results.len() as u64,
                results
                    .iter()
                    .filter(|r| !r.failed.is_empty())
                    .map(|r| r.seed),
            )],
            args.seeds,
        );
    }

    let mut coverage = Coverage::default();
    for result in &results {
        coverage.add(&result.coverage);
    }
    let not_applicable: BTreeSet<String> = scenario
        .expect
        .not_applicable
        .keys()
        .map(|rule| rule.get_ref().clone())
        .collect();
    let unexercised = coverage.unexercised(&not_applicable);
    let rules: Vec<RuleReport> = coverage
        .rules
        .iter()
        .map(|(rule, count)| RuleReport {
            rule,
            verdict: if count.fail > 0 {
                "fail"
            } else if count.exercised() == 0 {
                "not_exercised"
            } else {
                "pass"
            },
            count: count.clone(),
            not_applicable: scenario
                .expect
                .not_applicable
                .iter()
                .find(|(name, _)| name.get_ref() == rule)
                .map(|(_, why)| why.clone()),
        })
        .collect();
    let (runbook_coverage, steps_never_reached) = match &scenario.runbook {
        Some(runbook) => {
            let steps = coverage.steps_of(runbook);
            let never = steps
                .iter()
                .filter(|step| step.reached == 0)
                .map(|step| step.step.clone())
                .collect();
            (steps, never)
        }
        None => (Vec::new(), Vec::new()),
    };

    let failing: Vec<&SeedResult> = results.iter().filter(|r| !r.failed.is_empty()).collect();
    let counterexample = failing
        .first()
        .map(|first| counterexample(&scenario, &args, swarm, first, failing.len() as u64));
    let verdict = if counterexample.is_some() {
        "fail"
    } else if !unexercised.is_empty() {
        "not_exercised"
    } else {
        "pass"
    };
    let report = CheckReport {
        scenario: scenario.name.clone(),
        runbook: runbook_name,
        seeds: args.seeds,
        swarm,
        verdict,
        rules,
        runbook_coverage,
        steps_never_reached,
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
    if let Some(path) = &args.html {
        let seed = failing.first().map_or(args.start, |first| first.seed);
        let trace = firedrill_sim::run_schedule(&scenario, &draw(&scenario, seed, swarm)).trace;
        let checks = check_all(&scenario, &trace);
        let title = format!(
            "check {} with runbook {}: seed {seed}",
            scenario.name, report.runbook
        );
        let html = crate::report::timeline_html::render(&title, &trace, Some(&checks));
        if let Err(error) = crate::report::timeline_html::write(path, &html) {
            return usage_error(error);
        }
    }
    let mut judged = judged_report(&scenario, &args, swarm, &report, &results);
    judged.wall_ms = started.elapsed().as_millis() as u64;
    if let Err(error) = args.reports.write(&judged) {
        return usage_error(error);
    }
    match args.format {
        Format::Text => println!("{}", judged.totals().line()),
        Format::Json => eprintln!("{}", judged.totals().line()),
    }
    if report.verdict == "pass" {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

/// The check as a report for JUnit and the step summary. The counterexample's rule carries its shrunk schedule;
/// every other broken rule is judged again on its own first failing seed for its detail, and a rule no seed
/// exercised on the first seed for why (one run each, so no seed's details are kept while the check runs).
fn judged_report(
    scenario: &Scenario,
    args: &CheckArgs,
    swarm: bool,
    report: &CheckReport,
    results: &[SeedResult],
) -> crate::report::Report {
    let judge = |seed: u64| {
        let schedule = draw(scenario, seed, swarm);
        let trace = firedrill_sim::run_schedule(scenario, &schedule).trace;
        (schedule, check_all(scenario, &trace))
    };
    // The first seed's checks, run once and only if some rule needs its reason for having nothing to judge.
    let first_seed = std::cell::OnceCell::new();
    let rules = report
        .rules
        .iter()
        .map(|rule| {
            let first_failure = match &report.counterexample {
                Some(counterexample) if counterexample.rule == rule.rule => {
                    Some(crate::report::RuleFailure {
                        seed: counterexample.seed,
                        detail: counterexample.detail.clone(),
                        schedule: Some(
                            serde_json::to_string(&counterexample.shrunk_schedule)
                                .expect("schedules serialize"),
                        ),
                        shrunk: true,
                        replay: vec![
                            counterexample.replay_seed.clone(),
                            counterexample.replay_shrunk.clone(),
                        ],
                    })
                }
                _ => results
                    .iter()
                    .filter(|result| result.failed.contains(&rule.rule))
                    .min_by_key(|result| result.seed)
                    .map(|result| {
                        let (schedule, checks) = judge(result.seed);
                        crate::report::RuleFailure {
                            seed: result.seed,
                            detail: checks
                                .into_iter()
                                .find(|check| check.rule == rule.rule)
                                .map(|check| check.detail)
                                .unwrap_or_default(),
                            schedule: Some(
                                serde_json::to_string(&schedule).expect("schedules serialize"),
                            ),
                            shrunk: false,
                            replay: vec![seed_replay(args, swarm, result.seed)],
                        }
                    }),
            };
            let not_exercised_why = (rule.count.exercised() == 0)
                .then(|| {
                    first_seed
                        .get_or_init(|| judge(args.start).1)
                        .iter()
                        .find(|check| check.rule == rule.rule)
                        .map(|check| check.detail.clone())
                })
                .flatten();
            crate::report::RuleResult {
                rule: rule.rule.to_string(),
                pass_seeds: rule.count.pass,
                fail_seeds: rule.count.fail,
                not_exercised_seeds: rule.count.not_exercised,
                not_exercised_why,
                not_applicable: rule.not_applicable.clone(),
                unexercised_fails: true,
                first_failure,
            }
        })
        .collect();
    let figures = &report.figures;
    let figure = |name, unit, distribution: &Distribution| crate::report::Figure {
        name,
        unit,
        distribution: distribution.clone(),
    };
    crate::report::Report {
        command: "check",
        scenarios: vec![crate::report::ScenarioResult {
            scenario: report.scenario.clone(),
            runbook: Some(report.runbook.clone()),
            seeds: args.start..args.start.saturating_add(args.seeds),
            rules,
            steps: report
                .runbook_coverage
                .iter()
                .map(|step| crate::report::StepResult {
                    step: step.step.clone(),
                    reached_seeds: step.reached,
                    branches: step
                        .branches
                        .iter()
                        .map(|(branch, seeds)| format!("{} {seeds}", branch_name(branch)))
                        .collect(),
                })
                .collect(),
            figures: vec![
                figure("time to detect", " ms", &figures.detect_ms),
                figure("time to recover", " ms", &figures.recover_ms),
                figure("node reboots", "", &figures.node_reboots),
                figure("destructive actions", "", &figures.destructive_actions),
            ],
        }],
        wall_ms: 0,
    }
}

/// A branch as the trace names it (`timeout`, `otherwise`, …).
fn branch_name(branch: &firedrill_scenarios::trace::Branch) -> String {
    serde_json::to_value(branch)
        .expect("branches serialize")
        .as_str()
        .unwrap_or("?")
        .to_string()
}

/// The command that replays one seed of this check.
fn seed_replay(args: &CheckArgs, swarm: bool, seed: u64) -> String {
    let runbook_flag = args
        .runbook
        .as_ref()
        .map(|runbook| format!(" --runbook {}", super::shell::quote(runbook)))
        .unwrap_or_default();
    let swarm_flag = if swarm { " --swarm" } else { "" };
    format!(
        "firedrill run {} --seed {seed}{swarm_flag}{runbook_flag}",
        super::shell::quote(&args.scenario)
    )
}

/// Shrinks the first failing seed's schedule while the same rule breaks, and builds the replay lines.
fn counterexample(
    scenario: &Scenario,
    args: &CheckArgs,
    swarm: bool,
    first: &SeedResult,
    failing_seeds: u64,
) -> Counterexample {
    let rule = first.failed[0];
    let original = draw(scenario, first.seed, swarm);
    let (shrunk, shrink_runs) = shrink(scenario, &original, |candidate| {
        let trace = firedrill_sim::run_schedule(scenario, candidate).trace;
        check_all(scenario, &trace)
            .iter()
            .any(|r| r.rule == rule && r.failed())
    });
    let trace = firedrill_sim::run_schedule(scenario, &shrunk).trace;
    let detail = check_all(scenario, &trace)
        .into_iter()
        .find(|r| r.rule == rule)
        .map(|r| r.detail)
        .unwrap_or_default();
    let runbook_flag = args
        .runbook
        .as_ref()
        .map(|runbook| format!(" --runbook {}", super::shell::quote(runbook)))
        .unwrap_or_default();
    Counterexample {
        seed: first.seed,
        rule,
        detail,
        failing_seeds,
        shrink_runs,
        actions: action_lines(&trace),
        replay_seed: seed_replay(args, swarm, first.seed),
        replay_shrunk: format!(
            "firedrill run {} --seed {}{runbook_flag} --schedule {}",
            super::shell::quote(&args.scenario),
            first.seed,
            super::shell::quote(&serde_json::to_string(&shrunk).expect("schedules serialize"))
        ),
        shrunk_schedule: shrunk,
    }
}

fn action_lines(trace: &Trace) -> Vec<String> {
    firedrill_scenarios::verdict::timeline(trace)
        .into_iter()
        .filter(|line| {
            [
                "action", "fault", "node ", "api ", "vm ", "confirm", "aborted",
            ]
            .iter()
            .any(|kind| line.contains(kind))
        })
        .collect()
}

/// Seed 000 §3 (the node's NFS client is already stuck) is reached only when the node is broken, so the audit
/// also runs the runbook against that incident.
const NODE_STUCK_SCENARIO: &str = "vault-node-nfs-stuck";

/// The audit's measurements of one run.
#[derive(Default)]
struct AuditRun {
    lazy_unmount: Option<audit::LazyUnmountOutcome>,
    reset: Option<audit::ResetOutcome>,
}

/// Runs the scenario (and the node-stuck incident) with the contested hypotheses set by `upstream`.
fn audit_runs(
    scenario: &Scenario,
    upstream: bool,
    start: u64,
    seeds: u64,
    jobs: usize,
) -> Vec<AuditRun> {
    let mut scenarios = vec![scenario.clone()];
    if scenario.name != NODE_STUCK_SCENARIO {
        if let Ok(mut node_stuck) = firedrill_scenarios::catalog::load(NODE_STUCK_SCENARIO) {
            node_stuck.runbook = scenario.runbook.clone();
            scenarios.push(node_stuck);
        }
    }
    let hidden = ProgressBar::hidden();
    let mut runs = Vec::new();
    for mut variant in scenarios {
        // The runbook's beliefs are the catalog's defaults; upstream is what DOMAIN.md's sources say.
        variant.hypotheses.lazy_umount_releases_d_state = !upstream;
        variant.hypotheses.qm_reset_is_noop = !upstream;
        runs.extend(for_each_seed(start, seeds, jobs, &hidden, |seed| {
            let trace = firedrill_sim::run(&variant, seed).trace;
            AuditRun {
                lazy_unmount: audit::lazy_unmount(&trace),
                reset: audit::reset(&trace),
            }
        }));
    }
    runs
}

/// The lazy-unmount claim over some runs: (holds, what was measured).
fn lazy_unmount_measure(runs: &[AuditRun]) -> Option<(bool, String)> {
    let outcomes: Vec<_> = runs.iter().filter_map(|run| run.lazy_unmount).collect();
    if outcomes.is_empty() {
        return None;
    }
    let released = outcomes.iter().filter(|o| o.released).count();
    let timed_out = outcomes.iter().filter(|o| o.wait_timed_out).count();
    Some((
        released == outcomes.len(),
        format!(
            "a task blocked in D left D state after the lazy unmount in {released} of {} runs; the runbook's D-state wait timed out in {timed_out}",
            outcomes.len()
        ),
    ))
}

/// The qm-reset claim over some runs: (holds, what was measured).
fn reset_measure(runs: &[AuditRun]) -> Option<(bool, String)> {
    let outcomes: Vec<_> = runs.iter().filter_map(|run| run.reset).collect();
    if outcomes.is_empty() {
        return None;
    }
    let rebooted = outcomes.iter().filter(|o| o.guest_rebooted).count();
    let needless = outcomes
        .iter()
        .filter(|o| o.guest_rebooted && o.cold_boot_followed)
        .count();
    Some((
        needless == 0,
        format!(
            "{} resets; the guest rebooted after {rebooted} (that count is the hypothesis itself); the runbook then cold-booted an already rebooted guest in {needless}",
            outcomes.len()
        ),
    ))
}

fn run_audit(scenario: &Scenario, start: u64, seeds: u64, jobs: usize) -> Vec<Finding> {
    let upstream = audit_runs(scenario, true, start, seeds, jobs);
    let control = audit_runs(scenario, false, start, seeds, jobs);
    let mut findings = Vec::new();
    let never = || "no run reached the step".to_string();
    if let Some((holds, observed)) = lazy_unmount_measure(&upstream) {
        let (control_holds, control_text) =
            lazy_unmount_measure(&control).unwrap_or((false, never()));
        findings.push(Finding {
            step: "2c-lazy-unmount",
            claim: "umount -l lets the kernel release NFS session state, so the stuck task leaves D state",
            hypothesis: "hypotheses.lazy_umount_releases_d_state: false (umount(8): it only detaches) against true (the runbook)",
            observed,
            holds,
            control: control_text,
            control_holds,
        });
    }
    if let Some((holds, observed)) = reset_measure(&upstream) {
        let (control_holds, control_text) = reset_measure(&control).unwrap_or((false, never()));
        findings.push(Finding {
            step: "3-boot-order/3-stop-start",
            claim: "if qm reset leaves the QEMU PID unchanged, the VM did not reboot: use qm stop/start",
            hypothesis: "hypotheses.qm_reset_is_noop: false (qemu-server vm_reset is QMP system_reset) against true (the runbook)",
            observed,
            holds,
            control: control_text,
            control_holds,
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
    println!();
    println!("rules:");
    for rule in &report.rules {
        let (mark, text) = match rule.verdict {
            "fail" => (
                "FAIL",
                format!(
                    "broken on {} of {} seeds (exercised on {})",
                    rule.count.fail,
                    report.seeds,
                    rule.count.exercised()
                ),
            ),
            "not_exercised" => match &rule.not_applicable {
                Some(why) => ("n/a ", format!("never exercised; not applicable: {why}")),
                None => ("NOT EXERCISED", "on no seed".to_string()),
            },
            _ => (
                "pass",
                format!(
                    "exercised on {} of {} seeds",
                    rule.count.exercised(),
                    report.seeds
                ),
            ),
        };
        println!("  {mark:<4} {:<40} {text}", rule.rule);
    }
    if !report.runbook_coverage.is_empty() {
        println!();
        println!("runbook steps (seeds that reached each step; branches taken):");
        for step in &report.runbook_coverage {
            let branches: Vec<String> = step
                .branches
                .iter()
                .map(|(branch, seeds)| format!("{} {seeds}", branch_name(branch)))
                .collect();
            println!(
                "  {:<24} {:>6}  {}",
                step.step,
                step.reached,
                branches.join(", ")
            );
        }
        if !report.steps_never_reached.is_empty() {
            println!("  never reached: {}", report.steps_never_reached.join(", "));
        }
    }
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
    match (&report.counterexample, report.verdict) {
        (None, "pass") => println!(
            "PASS: every rule held on {} seeds, each exercised or declared not applicable",
            report.seeds
        ),
        (None, _) => {
            let never: Vec<&str> = report
                .rules
                .iter()
                .filter(|r| r.verdict == "not_exercised" && r.not_applicable.is_none())
                .map(|r| r.rule)
                .collect();
            println!(
                "NOT EXERCISED: {} never had anything to judge on {} seeds; a pass would prove nothing (declare it under [expect.not_applicable] with a reason if it cannot apply)",
                never.join(", "),
                report.seeds
            );
        }
        (Some(counterexample), _) => {
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
        println!("audit (measured with the hypotheses switched to upstream behaviour; control under the runbook's beliefs):");
        for finding in &report.audit {
            let mark = if finding.holds { "holds " } else { "BROKEN" };
            println!("  {mark} [{}] {}", finding.step, finding.claim);
            println!("         driven by {}", finding.hypothesis);
            println!("         upstream: {}", finding.observed);
            println!(
                "         control ({}): {}",
                if finding.control_holds {
                    "holds"
                } else {
                    "BROKEN: the measurement itself is suspect"
                },
                finding.control
            );
        }
    }
    let failed = report.rules.iter().filter(|r| r.verdict == "fail").count();
    let passed = report.rules.iter().filter(|r| r.verdict == "pass").count();
    let not_applicable = report
        .rules
        .iter()
        .filter(|r| r.verdict == "not_exercised" && r.not_applicable.is_some())
        .count();
    let unexercised = report.rules.len() - failed - passed - not_applicable;
    println!();
    println!(
        "rules: {passed} held, {failed} broken, {unexercised} not exercised, {not_applicable} not applicable"
    );
}
