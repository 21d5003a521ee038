//! `firedrill sweep`: many seeds in parallel, with a progress bar, failures with replay commands, and figures.

use super::output::Format;
use super::parallel::for_each_seed;
use super::{usage_error, EXIT_FAIL, EXIT_PASS};
use clap::Args;
use firedrill_scenarios::figures::Distribution;
use firedrill_scenarios::{catalog, verdict::Verdict, Drill};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::time::Instant;

#[derive(Args)]
pub struct SweepArgs {
    /// A catalog scenario name or a scenario file. Omit it with --all.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub scenario: Option<String>,
    /// Sweep every scenario in the catalog.
    #[arg(long)]
    pub all: bool,
    /// How many seeds per scenario, from 1 to 1,000,000.
    #[arg(long, env = "FIREDRILL_SEEDS", default_value_t = 100, value_parser = super::parallel::parse_seeds)]
    pub seeds: u64,
    /// The first seed; seeds run from START to START+SEEDS-1.
    #[arg(long, env = "FIREDRILL_SEED", default_value_t = 0)]
    pub start: u64,
    /// Parallel workers, from 1 to 1024; defaults to the number of cores.
    #[arg(long, value_parser = super::parallel::parse_jobs)]
    pub jobs: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Do not draw a progress bar (it is drawn only on a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub engine: super::engine::EngineArgs,
    #[command(flatten)]
    pub reports: crate::report::ReportArgs,
    /// Also write one self-contained HTML page to FILE plotting, per scenario, the distributions of the time to
    /// detect and to recover over the seeds.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

/// The figures of one scenario's sweep.
#[derive(Serialize)]
struct ScenarioSummary {
    scenario: String,
    seeds: u64,
    passed: u64,
    failed: u64,
    failures: Vec<Failure>,
    /// Rules that had nothing to judge on any seed of the sweep: they held vacuously, which proves nothing.
    never_exercised: Vec<&'static str>,
    detect_ms: Distribution,
    recover_ms: Distribution,
    simulated_ms_total: u64,
}

#[derive(Serialize)]
struct Failure {
    seed: u64,
    rules: Vec<&'static str>,
    replay: String,
}

#[derive(Serialize)]
struct SweepReport {
    start_seed: u64,
    seeds: u64,
    jobs: usize,
    wall_ms: u64,
    runs_per_second: f64,
    scenarios: Vec<ScenarioSummary>,
    verdict: &'static str,
}

pub fn execute(args: SweepArgs) -> u8 {
    if let Err(error) = super::parallel::check_seed_range(args.start, args.seeds) {
        return usage_error(error);
    }
    super::interrupt::install();
    let end = args.start.saturating_add(args.seeds);
    match args.format {
        Format::Text => println!("SEEDS={}..{}", args.start, end),
        Format::Json => eprintln!("SEEDS={}..{}", args.start, end),
    }
    let names: Vec<String> = if args.all {
        catalog::names().into_iter().map(String::from).collect()
    } else {
        vec![args
            .scenario
            .clone()
            .expect("clap requires a scenario without --all")]
    };
    let mut scenarios = Vec::new();
    for name in &names {
        match catalog::load_drill(name) {
            Ok(Drill::Vault(mut scenario)) => {
                if let Err(error) = args.engine.apply(&mut scenario) {
                    return usage_error(error);
                }
                scenarios.push((name.clone(), Drill::Vault(scenario)))
            }
            Ok(drill) => scenarios.push((name.clone(), drill)),
            Err(error) => return usage_error(error),
        }
    }
    let jobs = super::parallel::jobs(args.jobs);
    let total = args.seeds.saturating_mul(scenarios.len() as u64);
    let progress = if args.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs, {per_sec}, eta {eta} {msg}",
        )
        .expect("the template is valid"),
    );
    let started = Instant::now();
    let mut summaries = Vec::new();
    let mut results = Vec::new();
    let mut series = Vec::new();
    for (name, scenario) in &scenarios {
        progress.set_message(name.clone());
        let verdicts = sweep_one(scenario, args.start, args.seeds, jobs, &progress);
        results.push(scenario_result(name, scenario, args.start, &verdicts));
        series.push(latency_series(name, &verdicts));
        summaries.push(summarize(name, verdicts));
        if super::interrupt::requested() {
            break;
        }
    }
    progress.finish_and_clear();
    let wall_ms = started.elapsed().as_millis() as u64;
    let all_passed = summaries.iter().all(|summary| summary.failed == 0);
    let report = SweepReport {
        start_seed: args.start,
        seeds: args.seeds,
        jobs,
        wall_ms,
        runs_per_second: total as f64 * 1000.0 / wall_ms.max(1) as f64,
        scenarios: summaries,
        verdict: if all_passed { "pass" } else { "fail" },
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&report).expect("reports serialize")
        ),
        Format::Text => print_text(&report),
    }
    let judged = crate::report::Report {
        command: "sweep",
        scenarios: results,
        wall_ms,
    };
    if let Err(error) = args.reports.write(&judged) {
        return usage_error(error);
    }
    if let Some(path) = &args.html {
        let title = format!("firedrill sweep, seeds {}..{end}", args.start);
        let html = crate::report::timeline_html::render_sweep(&title, &series);
        if let Err(error) = crate::report::timeline_html::write(path, &html) {
            return usage_error(error);
        }
    }
    match args.format {
        Format::Text => println!("{}", judged.totals().line()),
        Format::Json => eprintln!("{}", judged.totals().line()),
    }
    if super::interrupt::requested() {
        return super::interrupt::sweep_summary(
            report
                .scenarios
                .iter()
                .map(|s| (s.seeds, s.failures.iter().map(|f| f.seed))),
            total,
        );
    }
    if all_passed {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

/// Runs one drill's seeds in parallel and judges each run.
fn sweep_one(
    drill: &Drill,
    start: u64,
    count: u64,
    jobs: usize,
    progress: &ProgressBar,
) -> Vec<Verdict> {
    for_each_seed(start, count, jobs, progress, |seed| match drill {
        Drill::Vault(scenario) => {
            let outcome = firedrill_sim::run(scenario, seed);
            Verdict::judge(scenario, seed, &outcome.trace, outcome.wall_ms)
        }
        Drill::Registry(scenario) => {
            let outcome = super::run_registry::run_sim(scenario, seed);
            drill.judge(seed, &outcome.trace, outcome.wall_ms)
        }
    })
}

/// Per-seed detection and recovery times from the fault's onset, for the sweep's distribution plots.
fn latency_series(name: &str, verdicts: &[Verdict]) -> crate::report::timeline_html::SweepSeries {
    let since_onset = |at: Option<u64>, onset: Option<u64>| {
        at.zip(onset).map(|(at, onset)| at.saturating_sub(onset))
    };
    crate::report::timeline_html::SweepSeries {
        scenario: name.to_string(),
        detect_ms: verdicts
            .iter()
            .filter_map(|v| since_onset(v.detected_at_ms, v.onset_ms))
            .collect(),
        recover_ms: verdicts
            .iter()
            .filter_map(|v| since_onset(v.recovered_at_ms, v.onset_ms))
            .collect(),
    }
}

/// One scenario's sweep as a report: each rule over the seeds, a failure with the seed's drawn schedule (a
/// Vault drill's; `check` shrinks it) and its replay line.
fn scenario_result(
    name: &str,
    drill: &Drill,
    start: u64,
    verdicts: &[Verdict],
) -> crate::report::ScenarioResult {
    let replay = |seed: u64| {
        vec![format!(
            "firedrill run {} --seed {seed}",
            super::shell::quote(name)
        )]
    };
    let schedule = |seed: u64| match drill {
        Drill::Vault(scenario) => Some(
            serde_json::to_string(&firedrill_scenarios::Schedule::draw(scenario, seed))
                .expect("schedules serialize"),
        ),
        Drill::Registry(_) => None,
    };
    crate::report::ScenarioResult {
        scenario: name.to_string(),
        runbook: match drill {
            Drill::Vault(scenario) => scenario
                .runbook
                .as_ref()
                .map(|runbook| runbook.name.clone()),
            Drill::Registry(_) => None,
        },
        seeds: start..start.saturating_add(verdicts.len() as u64),
        rules: crate::report::rules_of_verdicts(verdicts, replay, schedule),
        steps: Vec::new(),
        figures: crate::report::figures_of_verdicts(verdicts),
    }
}

fn summarize(name: &str, verdicts: Vec<Verdict>) -> ScenarioSummary {
    let since_onset = |at: Option<u64>, onset: Option<u64>| {
        at.zip(onset).map(|(at, onset)| at.saturating_sub(onset))
    };
    let failures: Vec<Failure> = verdicts
        .iter()
        .filter(|verdict| !verdict.passed())
        .map(|verdict| Failure {
            seed: verdict.seed,
            rules: verdict.failed_rules(),
            replay: format!(
                "firedrill run {} --seed {}",
                super::shell::quote(name),
                verdict.seed
            ),
        })
        .collect();
    let mut never_exercised: Vec<&'static str> = verdicts
        .first()
        .map(|verdict| verdict.checks.iter().map(|check| check.rule).collect())
        .unwrap_or_default();
    never_exercised.retain(|rule| {
        verdicts.iter().all(|verdict| {
            verdict
                .checks
                .iter()
                .all(|check| check.rule != *rule || !check.exercised())
        })
    });
    ScenarioSummary {
        scenario: name.to_string(),
        seeds: verdicts.len() as u64,
        never_exercised,
        passed: verdicts.iter().filter(|verdict| verdict.passed()).count() as u64,
        failed: failures.len() as u64,
        failures,
        detect_ms: Distribution::of(
            verdicts
                .iter()
                .filter_map(|v| since_onset(v.detected_at_ms, v.onset_ms))
                .collect(),
        ),
        recover_ms: Distribution::of(
            verdicts
                .iter()
                .filter_map(|v| since_onset(v.recovered_at_ms, v.onset_ms))
                .collect(),
        ),
        simulated_ms_total: verdicts.iter().map(|verdict| verdict.simulated_ms).sum(),
    }
}

fn print_text(report: &SweepReport) {
    for summary in &report.scenarios {
        let mark = if summary.failed == 0 { "PASS" } else { "FAIL" };
        println!(
            "{mark} {}: {}/{} seeds passed",
            summary.scenario, summary.passed, summary.seeds
        );
        println!("     time to detect:  {}", summary.detect_ms.text(" ms"));
        println!("     time to recover: {}", summary.recover_ms.text(" ms"));
        if !summary.never_exercised.is_empty() {
            println!(
                "     not exercised on any seed: {}",
                summary.never_exercised.join(", ")
            );
        }
        for failure in summary.failures.iter().take(20) {
            println!(
                "     seed {} broke {}: {}",
                failure.seed,
                failure.rules.join(", "),
                failure.replay
            );
        }
        if summary.failures.len() > 20 {
            println!(
                "     … and {} more failing seeds (use --format json for all)",
                summary.failures.len() - 20
            );
        }
    }
    let simulated_ms: u64 = report.scenarios.iter().map(|s| s.simulated_ms_total).sum();
    println!(
        "{} runs in {:.1} s on {} jobs ({:.0} runs/s, {:.0}x real time overall)",
        report.seeds * report.scenarios.len() as u64,
        report.wall_ms as f64 / 1000.0,
        report.jobs,
        report.runs_per_second,
        simulated_ms as f64 / report.wall_ms.max(1) as f64
    );
    println!(
        "{}",
        if report.verdict == "pass" {
            "PASS"
        } else {
            "FAIL"
        }
    );
}
