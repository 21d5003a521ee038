//! `firedrill mutate`: mutation testing of a runbook. Every mutant (a step dropped, steps swapped, a guard
//! dropped or negated, a branch retargeted, a wait shortened, an action made harsher) is checked as
//! `firedrill check` would; a mutant that still passes is a survivor. It tells which steps are load-bearing
//! and which survivors are either equivalent (listed with a reason) or gaps in the checks.
//!
//! A mutant runs against the scenario given and every other catalog incident that uses the same runbook
//! (the safe restart serves the stuck leader, the stuck node and the chown loop), each where the unmutated
//! runbook itself passes. A mutant is killed by a broken rule, or by a rule the runbook exercised that the
//! mutant no longer does. A mutant that only touches steps the runbook never reached behaves exactly as the
//! runbook does: it is reported as unreached and left out of the score.

use super::check::{run_seed, SeedResult};
use super::output::Format;
use super::parallel::for_each_seed_until;
use super::run::load_scenario;
use super::{usage_error, EXIT_FAIL, EXIT_PASS};
use clap::Args;
use firedrill_scenarios::coverage::Coverage;
use firedrill_scenarios::runbook::mutation::{mutants, Mutant};
use firedrill_scenarios::runbook::RunbookFile;
use firedrill_scenarios::Scenario;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Args)]
#[command(
    after_help = "A mutant is killed when some seed breaks a rule, or when a rule that the scenario \
expects to be exercised never is. A survivor passes every rule: it is either equivalent to the runbook (then \
list it in scenarios/runbooks/equivalent-mutants.toml with a one-line reason) or a gap in the checks. Exit \
code 1 when a survivor is not listed.\n\nExamples:\n  \
firedrill mutate vault-stuck-leader\n  \
firedrill mutate vault-storage-migration --seeds 50 --format json\n  \
firedrill mutate vault-stuck-leader --runbook my-runbook.toml"
)]
pub struct MutateArgs {
    /// A Vault scenario of the catalog or a scenario file.
    pub scenario: String,
    /// The runbook to mutate instead of the scenario's own: a catalog runbook or a runbook .toml file.
    #[arg(long, value_name = "RUNBOOK")]
    pub runbook: Option<String>,
    /// Seeds each mutant runs at most per incident (with swarm testing); a mutant stops at its first failing
    /// seed. The equivalent-mutants list was made with the default: more seeds can only kill more mutants, but
    /// may reach steps that were unreached, so compare like with like.
    #[arg(long, env = "FIREDRILL_SEEDS", default_value_t = 30)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    /// Parallel workers; defaults to the number of cores.
    #[arg(long)]
    pub jobs: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub engine: super::engine::EngineArgs,
}

/// One accepted survivor.
#[derive(Deserialize)]
struct Equivalent {
    scenario: String,
    runbook: String,
    mutant: String,
    reason: String,
}

#[derive(Deserialize)]
struct EquivalentFile {
    #[serde(default)]
    equivalent: Vec<Equivalent>,
}

#[derive(Serialize)]
struct MutantReport {
    id: String,
    description: String,
    /// `killed`, `survived`, or `unreached` (it only touches steps the runbook never reached).
    status: &'static str,
    /// The rule that killed it (`not_exercised:<rule>` when a rule went unjudged), and on which seed.
    killed_by: Option<String>,
    seed: Option<u64>,
    seeds_run: u64,
    /// For a survivor: why it is accepted as equivalent, if it is.
    equivalent: Option<String>,
    diff: Vec<String>,
}

#[derive(Serialize)]
struct StepReport {
    step: String,
    /// `load_bearing` (dropping it breaks a rule), `coverage_only` (dropping it leaves a rule unjudged), or
    /// `not_load_bearing`.
    role: &'static str,
}

/// One incident the mutants run against.
#[derive(Serialize)]
struct Incident {
    scenario: String,
    /// Whether the unmutated runbook passes here; an incident where it fails cannot judge its mutants.
    used: bool,
    detail: String,
}

#[derive(Serialize)]
struct MutateReport {
    scenario: String,
    runbook: String,
    incidents: Vec<Incident>,
    seeds_per_mutant: u64,
    mutants: usize,
    unreached: usize,
    killed: usize,
    equivalent: usize,
    new_survivors: usize,
    /// Killed over reachable mutants: a listed survivor counts against the score, whatever its reason.
    score: f64,
    steps: Vec<StepReport>,
    results: Vec<MutantReport>,
}

pub fn execute(args: MutateArgs) -> u8 {
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
    let Some(runbook) = scenario.runbook.clone() else {
        return usage_error(format!(
            "{} has no runbook to mutate; pass one with --runbook",
            scenario.name
        ));
    };
    let equivalents: EquivalentFile =
        match toml::from_str(firedrill_scenarios::catalog::EQUIVALENT_MUTANTS) {
            Ok(file) => file,
            Err(error) => return usage_error(format!("equivalent-mutants.toml: {error}")),
        };
    let jobs = super::parallel::jobs(args.jobs);
    let baselines = baselines(&scenario, &runbook, &args, jobs);
    let incidents: Vec<Incident> = baselines
        .iter()
        .map(|b| Incident {
            scenario: b.scenario.name.clone(),
            used: b.usable(),
            detail: match (&b.failure, b.coverage.steps.len()) {
                (Some(failure), _) => failure.clone(),
                (None, 0) => {
                    "the runbook never starts here, so no mutant can differ: left out".to_string()
                }
                (None, steps) => format!("the runbook passes; {steps} steps reached"),
            },
        })
        .collect();
    let used: Vec<&Baseline> = baselines.iter().filter(|b| b.usable()).collect();
    if used.is_empty() {
        return usage_error(format!(
            "runbook {} fails {} itself, so its mutants cannot be judged: {}",
            runbook.name,
            scenario.name,
            baselines[0].failure.clone().unwrap_or_default()
        ));
    }
    let reached: BTreeSet<&String> = used.iter().flat_map(|b| b.coverage.steps.keys()).collect();
    let all = mutants(&runbook);
    let progress = if args.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(all.len() as u64)
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} mutants, eta {eta} {msg}",
        )
        .expect("the template is valid"),
    );
    let mut results = Vec::new();
    for mutant in &all {
        progress.set_message(mutant.id.clone());
        let unreached = mutant.touches.iter().all(|step| !reached.contains(step));
        let mut report = if unreached {
            MutantReport {
                id: mutant.id.clone(),
                description: mutant.description.clone(),
                status: "unreached",
                killed_by: None,
                seed: None,
                seeds_run: 0,
                equivalent: None,
                diff: mutant.diff.clone(),
            }
        } else {
            judge_mutant(&used, mutant, &args, jobs)
        };
        if report.status == "survived" {
            report.equivalent = equivalents
                .equivalent
                .iter()
                .find(|e| {
                    e.scenario == scenario.name
                        && e.runbook == runbook.name
                        && e.mutant == mutant.id
                })
                .map(|e| e.reason.clone());
        }
        results.push(report);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let steps = all
        .iter()
        .zip(&results)
        .filter(|(mutant, _)| mutant.drops_step)
        .map(|(mutant, result)| StepReport {
            step: mutant.step.clone(),
            role: match (&result.killed_by, result.status) {
                (_, "unreached") => "unreached",
                (Some(rule), _) if !rule.starts_with("not_exercised:") => "load_bearing",
                (Some(_), _) => "coverage_only",
                (None, _) => "not_load_bearing",
            },
        })
        .collect();
    let killed = results.iter().filter(|r| r.status == "killed").count();
    let unreached = results.iter().filter(|r| r.status == "unreached").count();
    let equivalent = results.iter().filter(|r| r.equivalent.is_some()).count();
    let new_survivors = results.len() - killed - equivalent - unreached;
    let judged = results.len() - unreached;
    let report = MutateReport {
        scenario: scenario.name.clone(),
        runbook: runbook.name.clone(),
        incidents,
        seeds_per_mutant: args.seeds,
        mutants: results.len(),
        unreached,
        killed,
        equivalent,
        new_survivors,
        score: killed as f64 / judged.max(1) as f64,
        steps,
        results,
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&report).expect("reports serialize")
        ),
        Format::Text => print_text(&report),
    }
    // The plain closing line every judging command ends with: a mutant killed or listed as equivalent passed,
    // a new survivor failed, an unreached one was skipped.
    let totals = crate::report::Totals {
        passed: (report.killed + report.equivalent) as u64,
        failed: report.new_survivors as u64,
        skipped: report.unreached as u64,
    };
    match args.format {
        Format::Text => println!("{}", totals.line()),
        Format::Json => eprintln!("{}", totals.line()),
    }
    if report.new_survivors == 0 {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

/// The unmutated runbook on one incident: whether it passes, and what it covered.
struct Baseline {
    scenario: Scenario,
    failure: Option<String>,
    coverage: Coverage,
    /// Rules the runbook exercised on some seed here.
    exercised: BTreeSet<&'static str>,
}

impl Baseline {
    /// An incident can judge mutants when the runbook passes there and starts at all.
    fn usable(&self) -> bool {
        self.failure.is_none() && !self.coverage.steps.is_empty()
    }
}

/// The scenario given and every catalog Vault incident whose recovery is the same runbook, each run with the
/// unmutated runbook.
fn baselines(
    scenario: &Scenario,
    runbook: &RunbookFile,
    args: &MutateArgs,
    jobs: usize,
) -> Vec<Baseline> {
    let mut incidents = vec![scenario.clone()];
    for (name, _) in firedrill_scenarios::catalog::ENTRIES {
        if *name == scenario.name {
            continue;
        }
        if let Ok(mut other) = firedrill_scenarios::catalog::load(name) {
            if other.recovery.runbook.get_ref() == &runbook.name {
                other.runbook = Some(runbook.clone());
                // The other incidents run on the engine the command line chose, as the scenario does.
                other.sim.engine = scenario.sim.engine;
                if args.engine.tick_ms.is_some() {
                    other.sim.tick_ms = scenario.sim.tick_ms;
                }
                incidents.push(other);
            }
        }
    }
    incidents
        .into_iter()
        .map(|incident| {
            let results = super::parallel::for_each_seed(
                args.start,
                args.seeds,
                jobs,
                &ProgressBar::hidden(),
                |seed| run_seed(&incident, seed, true),
            );
            let mut coverage = Coverage::default();
            for result in &results {
                coverage.add(&result.coverage);
            }
            let failure = results.iter().find(|r| !r.failed.is_empty()).map(|r| {
                format!(
                    "the runbook itself breaks {} (seed {}): left out",
                    r.failed.join(", "),
                    r.seed
                )
            });
            let exercised = coverage
                .rules
                .iter()
                .filter(|(_, count)| count.exercised() > 0)
                .map(|(rule, _)| *rule)
                .collect();
            Baseline {
                scenario: incident,
                failure,
                coverage,
                exercised,
            }
        })
        .collect()
}

/// Runs one mutant on each incident until a seed kills it; if none does, asks whether it left a rule unjudged
/// that the runbook exercised.
fn judge_mutant(
    incidents: &[&Baseline],
    mutant: &Mutant,
    args: &MutateArgs,
    jobs: usize,
) -> MutantReport {
    let mut seeds_run = 0;
    let mut killed: Option<(String, Option<u64>)> = None;
    for baseline in incidents {
        let mut variant = baseline.scenario.clone();
        variant.runbook = Some(mutant.runbook.clone());
        let results: Vec<SeedResult> = for_each_seed_until(
            args.start,
            args.seeds,
            jobs,
            |seed| run_seed(&variant, seed, true),
            |result| !result.failed.is_empty(),
        );
        seeds_run += results.len() as u64;
        if let Some(result) = results.iter().find(|r| !r.failed.is_empty()) {
            killed = Some((
                format!("{} in {}", result.failed[0], variant.name),
                Some(result.seed),
            ));
            break;
        }
        let mut coverage = Coverage::default();
        for result in &results {
            coverage.add(&result.coverage);
        }
        let lost = baseline.exercised.iter().find(|rule| {
            coverage
                .rules
                .get(*rule)
                .is_none_or(|count| count.exercised() == 0)
        });
        if let Some(rule) = lost {
            killed = Some((format!("not_exercised:{rule} in {}", variant.name), None));
            break;
        }
    }
    let (killed_by, seed) = match killed {
        Some((rule, seed)) => (Some(rule), seed),
        None => (None, None),
    };
    MutantReport {
        id: mutant.id.clone(),
        description: mutant.description.clone(),
        status: if killed_by.is_some() {
            "killed"
        } else {
            "survived"
        },
        killed_by,
        seed,
        seeds_run,
        equivalent: None,
        diff: mutant.diff.clone(),
    }
}

fn print_text(report: &MutateReport) {
    println!(
        "mutate {} with runbook {}: {} mutants, up to {} seeds each per incident (swarm)",
        report.scenario, report.runbook, report.mutants, report.seeds_per_mutant
    );
    for incident in &report.incidents {
        println!("  incident {:<28} {}", incident.scenario, incident.detail);
    }
    println!();
    for result in &report.results {
        match (&result.killed_by, &result.equivalent) {
            _ if result.status == "unreached" => {
                println!(
                    "  unreached {:<36} touches only steps no incident reached",
                    result.id
                )
            }
            (Some(rule), _) => {
                let seed = result
                    .seed
                    .map(|seed| format!(" (seed {seed})"))
                    .unwrap_or_default();
                println!("  killed    {:<36} by {rule}{seed}", result.id);
            }
            (None, Some(reason)) => {
                println!("  equiv     {:<36} {reason}", result.id)
            }
            (None, None) => {
                println!(
                    "  SURVIVED  {:<36} {} ({} seeds)",
                    result.id, result.description, result.seeds_run
                );
                for line in &result.diff {
                    println!("              {line}");
                }
            }
        }
    }
    println!();
    let of_role = |role: &str| {
        report
            .steps
            .iter()
            .filter(|s| s.role == role)
            .map(|s| s.step.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "load-bearing steps (dropping one breaks a rule): {}",
        of_role("load_bearing")
    );
    println!(
        "coverage-only steps (dropping one leaves a rule unjudged): {}",
        of_role("coverage_only")
    );
    println!("not load-bearing: {}", of_role("not_load_bearing"));
    println!("never reached: {}", of_role("unreached"));
    println!();
    println!(
        "mutation score: {} of {} reachable mutants killed ({:.1}%); {} survivors listed in equivalent-mutants.toml; {} unreached; {} new survivors",
        report.killed,
        report.mutants - report.unreached,
        report.score * 100.0,
        report.equivalent,
        report.unreached,
        report.new_survivors
    );
    if report.new_survivors > 0 {
        println!(
            "FAIL: {} survivors are neither killed nor listed in scenarios/runbooks/equivalent-mutants.toml",
            report.new_survivors
        );
    } else {
        println!("PASS: every mutant was killed or is a listed equivalent");
    }
}
