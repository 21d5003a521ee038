//! `firedrill run`: one scenario, one seed, a verdict and optionally the trace.

use super::output::Format;
use super::run_registry::Backend;
use super::{usage_error, EXIT_FAIL, EXIT_PASS};
use clap::Args;
use firedrill_scenarios::verdict::{format_ms, timeline, Verdict};
use firedrill_scenarios::{catalog, Drill};
use std::path::PathBuf;

#[derive(Args)]
pub struct RunArgs {
    /// A catalog scenario name (see `firedrill list`) or a path to a scenario .toml file.
    pub scenario: String,
    /// The seed. Every fault time and placement is drawn from it; the same seed gives the same trace, byte for
    /// byte. Without it, a fresh seed is chosen and printed first, so any run can be replayed.
    #[arg(long, env = "FIREDRILL_SEED")]
    pub seed: Option<u64>,
    /// Write the trace as JSON Lines to this file.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Output format. With json, `SEED=N` goes to stderr so stdout is a single JSON object.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Run this runbook instead of the scenario's: a catalog runbook (`vault-safe-restart`,
    /// `unsafe/force-delete-first`, …) or a path to a runbook .toml file.
    #[arg(long, value_name = "RUNBOOK")]
    pub runbook: Option<String>,
    /// Run this exact schedule instead of drawing one from the seed: a JSON schedule, inline or as a file path,
    /// as `firedrill check` prints for a shrunk counterexample.
    #[arg(long, value_name = "JSON|FILE")]
    pub schedule: Option<String>,
    /// Where the drill runs: `sim` (deterministic, the default), `docker` (real software in containers: a
    /// registry, or three OpenBao voters; needs a running Docker, else exit 2), or `kind` (a Vault drill on a
    /// Kubernetes cluster through kube-rs; dry run unless `--act-on-cluster`).
    #[arg(long, value_enum, default_value_t = Backend::Sim)]
    pub backend: Backend,
    #[command(flatten)]
    pub kind: super::run_vault_kind::KindArgs,
    /// Draw the seed's schedule as `firedrill check` does (swarm testing: faults, beliefs and stale boot disks
    /// drawn too), to replay a seed that check reported.
    #[arg(long, conflicts_with = "schedule")]
    pub swarm: bool,
    /// With `--backend docker` on a Vault drill: shorten the waits where nothing is observed (the fault starts
    /// 20 s in and lasts at most 4 minutes, health must hold 60 s, the run ends 20 s after the runbook), so a run
    /// takes minutes instead of the scenario's half hour. The windows the checkers judge are shortened with it.
    #[arg(long)]
    pub quick: bool,
    #[command(flatten)]
    pub engine: super::engine::EngineArgs,
    #[command(flatten)]
    pub reports: crate::report::ReportArgs,
    /// Also write the run's journal to FILE: one JSON document with the scenario, seed, schedule, backend and
    /// versions, `status` and `deviated`, every runbook activity with its start, end, status and output, the
    /// probe rounds, alerts, rule results and figures (schema: docs/journal.md).
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Also draw the run as one self-contained HTML timeline in FILE (as `firedrill report` does from a trace).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Loads the scenario and applies `--runbook`.
pub fn load_scenario(
    name: &str,
    runbook: Option<&str>,
) -> Result<firedrill_scenarios::Scenario, String> {
    let mut scenario = match catalog::load_drill(name).map_err(|error| error.to_string())? {
        firedrill_scenarios::Drill::Vault(scenario) => scenario,
        firedrill_scenarios::Drill::Registry(_) => {
            return Err(format!(
                "{name} is a registry drill; runbooks and `firedrill check` apply to Vault drills (use `firedrill run` or `sweep`)"
            ))
        }
    };
    if let Some(runbook) = runbook {
        scenario.runbook = Some(catalog::load_runbook(runbook).map_err(|error| error.to_string())?);
    }
    Ok(scenario)
}

/// Parses `--schedule`: inline JSON when it starts with `{`, else a file holding it.
fn load_schedule(text: &str) -> Result<firedrill_scenarios::Schedule, String> {
    let json = if text.trim_start().starts_with('{') {
        text.to_string()
    } else {
        std::fs::read_to_string(text)
            .map_err(|error| format!("cannot read schedule {text}: {error}"))?
    };
    serde_json::from_str(&json).map_err(|error| format!("invalid schedule: {error}"))
}

pub fn execute(args: RunArgs) -> u8 {
    // A schedule carries the seed it runs with (turmoil's network draws come from it), so that is the seed printed.
    let schedule = match args.schedule.as_deref().map(load_schedule).transpose() {
        Ok(schedule) => schedule,
        Err(error) => return usage_error(error),
    };
    if let (Some(schedule), Some(seed)) = (&schedule, args.seed) {
        if schedule.seed != seed {
            return usage_error(format!(
                "--seed {seed} differs from the schedule's seed {}; drop one of them",
                schedule.seed
            ));
        }
    }
    let seed = match &schedule {
        Some(schedule) => schedule.seed,
        None => args.seed.unwrap_or_else(fresh_seed),
    };
    // The seed comes first, before anything can fail, so every run can be replayed.
    match args.format {
        Format::Text => println!("SEED={seed}"),
        Format::Json => eprintln!("SEED={seed}"),
    }
    // A build without the backend says so in the backend itself; a build with it checks Docker first.
    if args.backend == Backend::Docker && cfg!(feature = "docker") {
        if let Err(error) = super::docker_preflight::check() {
            return usage_error(error);
        }
    }
    match catalog::load_drill(&args.scenario) {
        Ok(Drill::Registry(scenario)) => {
            return super::run_registry::execute(&scenario, seed, &args)
        }
        Ok(Drill::Vault(_)) if args.backend != Backend::Sim => {
            let scenario = match load_scenario(&args.scenario, args.runbook.as_deref()) {
                Ok(scenario) => scenario,
                Err(error) => return usage_error(error),
            };
            if args.backend == Backend::Kind {
                return super::run_vault_kind::execute(&scenario, &args);
            }
            return super::run_vault_docker::execute(&scenario, seed, &args);
        }
        Ok(Drill::Vault(_)) => {}
        Err(error) => return usage_error(error),
    }
    let mut scenario = match load_scenario(&args.scenario, args.runbook.as_deref()) {
        Ok(scenario) => scenario,
        Err(error) => return usage_error(error),
    };
    if let Err(error) = args.engine.apply(&mut scenario) {
        return usage_error(error);
    }
    let outcome = match &args.schedule {
        None if args.swarm => firedrill_sim::run_schedule(
            &scenario,
            &firedrill_scenarios::Schedule::draw_swarm(&scenario, seed),
        ),
        None => firedrill_sim::run(&scenario, seed),
        Some(_) => {
            let schedule = schedule.expect("parsed above");
            if let Err(error) = schedule.check_against(&scenario) {
                return usage_error(error);
            }
            firedrill_sim::run_schedule(&scenario, &schedule)
        }
    };
    if let Some(path) = &args.trace {
        if let Err(error) = super::output::write_trace(path, &outcome.trace) {
            return usage_error(error);
        }
    }
    let mut verdict = Verdict::judge(&scenario, seed, &outcome.trace, outcome.wall_ms);
    verdict.engine = Some(firedrill_sim::engine_kind(&scenario).label());
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&verdict).expect("verdicts serialize")
        ),
        Format::Text => print_text(&verdict, &outcome.trace, &args),
    }
    finish(&args, &verdict, &outcome.trace)
}

/// Writes the reports `run` was asked for, prints the plain `N passed, N failed` line (to stderr with
/// `--format json`, so stdout stays one JSON object) and returns the exit code.
pub(super) fn finish(args: &RunArgs, verdict: &Verdict, trace: &firedrill_scenarios::Trace) -> u8 {
    let report = report_of(args, verdict, trace);
    if let Err(error) = args.reports.write(&report) {
        return usage_error(error);
    }
    if let Some(path) = &args.journal {
        if let Err(error) = crate::report::journal::write(path, verdict, trace) {
            return usage_error(error);
        }
    }
    if let Some(path) = &args.html {
        let title = format!("{} seed {}", verdict.scenario, verdict.seed);
        let html = crate::report::timeline_html::render(&title, trace, Some(&verdict.checks));
        if let Err(error) = crate::report::timeline_html::write(path, &html) {
            return usage_error(error);
        }
    }
    match args.format {
        Format::Text => println!("{}", report.totals().line()),
        Format::Json => eprintln!("{}", report.totals().line()),
    }
    if verdict.passed() {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

/// One run as a report: each rule of the verdict, with the seed's schedule and replay line when it broke.
fn report_of(
    args: &RunArgs,
    verdict: &Verdict,
    trace: &firedrill_scenarios::Trace,
) -> crate::report::Report {
    let schedule = trace.iter().find_map(|event| match &event.kind {
        firedrill_scenarios::EventKind::ScheduleDrawn { schedule } => {
            Some(serde_json::to_string(schedule).expect("schedules serialize"))
        }
        _ => None,
    });
    let verdicts = std::slice::from_ref(verdict);
    crate::report::Report {
        command: "run",
        scenarios: vec![crate::report::ScenarioResult {
            scenario: verdict.scenario.clone(),
            runbook: args.runbook.clone(),
            seeds: verdict.seed..verdict.seed.saturating_add(1),
            rules: crate::report::rules_of_verdicts(
                verdicts,
                |seed| vec![replay_line(args, seed)],
                |_| schedule.clone(),
            ),
            steps: Vec::new(),
            figures: crate::report::figures_of_verdicts(verdicts),
        }],
        wall_ms: verdict.wall_ms,
    }
}

/// The command that replays this run's seed, with the flags that shaped it.
pub(super) fn replay_line(args: &RunArgs, seed: u64) -> String {
    let mut flags = args
        .runbook
        .as_ref()
        .map(|runbook| format!(" --runbook {}", super::shell::quote(runbook)))
        .unwrap_or_default();
    if args.swarm {
        flags.push_str(" --swarm");
    }
    if let Some(engine) = args.engine.engine {
        let name = format!("{engine:?}").to_lowercase();
        flags.push_str(&format!(" --engine {name}"));
    }
    if let Some(tick_ms) = args.engine.tick_ms {
        flags.push_str(&format!(" --tick-ms {tick_ms}"));
    }
    if let Some(schedule) = &args.schedule {
        flags.push_str(&format!(" --schedule {}", super::shell::quote(schedule)));
    }
    format!(
        "firedrill run {} --seed {seed}{flags}",
        super::shell::quote(&args.scenario)
    )
}

fn print_text(verdict: &Verdict, trace: &firedrill_scenarios::Trace, args: &RunArgs) {
    println!(
        "{}  seed {}  engine {}  {} simulated in {} ms wall ({:.0}x real time)",
        verdict.scenario,
        verdict.seed,
        verdict.engine.as_deref().unwrap_or("sim"),
        format_ms(verdict.simulated_ms),
        verdict.wall_ms,
        verdict.simulated_ms as f64 / verdict.wall_ms.max(1) as f64
    );
    println!();
    println!("timeline (simulated mm:ss.ms):");
    for line in timeline(trace) {
        println!("  {line}");
    }
    println!();
    print_outcome(verdict);
    println!();
    if verdict.passed() {
        println!("PASS");
    } else {
        println!(
            "FAIL: {}\nreplay: {}",
            verdict.failed_rules().join(", "),
            replay_line(args, verdict.seed)
        );
    }
}

/// A seed for a run that was given none. Only the CLI draws from the OS; the simulation never does.
pub fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    hasher.finish() % 1_000_000_000
}

/// Detection and recovery from the fault's onset, the actions, the runbook's outcome and every rule's result:
/// the readable verdict of a Vault drill, whichever backend ran it.
pub(super) fn print_outcome(verdict: &Verdict) {
    let since_onset = |at: Option<u64>| match (at, verdict.onset_ms) {
        (Some(at), Some(onset)) => format!(
            "{} after the fault ({} ms)",
            format_ms(at.saturating_sub(onset)),
            at.saturating_sub(onset)
        ),
        (Some(at), None) => format_ms(at),
        (None, _) => "never".to_string(),
    };
    println!("detected:  {}", since_onset(verdict.detected_at_ms));
    println!("recovered: {}", since_onset(verdict.recovered_at_ms));
    println!(
        "actions:   {}",
        if verdict.actions.is_empty() {
            "none".to_string()
        } else {
            verdict
                .actions
                .iter()
                .map(|action| format!("{} {}", action.action, action.target))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if let Some(outcome) = &verdict.runbook_outcome {
        println!("runbook:   {outcome}");
    }
    println!();
    for check in &verdict.checks {
        let mark = super::output::rule_mark(check.status);
        println!("  {mark} {:<32} {}", check.rule, check.detail);
    }
}
