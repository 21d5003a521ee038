//! `firedrill mutate`: mutation testing of a runbook. Every mutant (a step dropped, steps swapped, a guard
//! dropped or negated, a branch retargeted, a wait shortened, an action made harsher) is checked as
//! `firedrill check` would; a mutant that still passes is a survivor. It tells which steps are load-bearing
//! and which survivors are either equivalent (listed with a reason) or gaps in the checks.

use super::check::{run_seed, SeedResult};
use super::output::Format;
use super::parallel::for_each_seed_until;
use super::run::load_scenario;
use super::{usage_error, EXIT_FAIL, EXIT_PASS};
use clap::Args;
use firedrill_scenarios::coverage::Coverage;
use firedrill_scenarios::runbook::mutation::{mutants, Mutant};
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
    /// Seeds each mutant runs at most (with swarm testing); a mutant stops at its first failing seed.
    #[arg(long, env = "FIREDRILL_SEEDS", default_value_t = 100)]
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
    /// `killed` or `survived`.
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

#[derive(Serialize)]
struct MutateReport {
    scenario: String,
    runbook: String,
    seeds_per_mutant: u64,
    mutants: usize,
    killed: usize,
    equivalent: usize,
    new_survivors: usize,
    /// Killed over non-equivalent mutants.
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
    let scenario = match load_scenario(&args.scenario, args.runbook.as_deref()) {
        Ok(scenario) => scenario,
        Err(error) => return usage_error(error),
    };
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
    let not_applicable: BTreeSet<String> = scenario
        .expect
        .not_applicable
        .keys()
        .map(|rule| rule.get_ref().clone())
        .collect();
    let mut results = Vec::new();
    for mutant in &all {
        progress.set_message(mutant.id.clone());
        let mut report = judge_mutant(&scenario, mutant, &args, jobs, &not_applicable);
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
            role: match &result.killed_by {
                Some(rule) if !rule.starts_with("not_exercised:") => "load_bearing",
                Some(_) => "coverage_only",
                None => "not_load_bearing",
            },
        })
        .collect();
    let killed = results.iter().filter(|r| r.status == "killed").count();
    let equivalent = results.iter().filter(|r| r.equivalent.is_some()).count();
    let new_survivors = results.len() - killed - equivalent;
    let report = MutateReport {
        scenario: scenario.name.clone(),
        runbook: runbook.name.clone(),
        seeds_per_mutant: args.seeds,
        mutants: results.len(),
        killed,
        equivalent,
        new_survivors,
        score: killed as f64 / (results.len() - equivalent).max(1) as f64,
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
    if report.new_survivors == 0 {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

/// Runs one mutant until a seed kills it, then, if none did, asks whether every rule was exercised.
fn judge_mutant(
    scenario: &Scenario,
    mutant: &Mutant,
    args: &MutateArgs,
    jobs: usize,
    not_applicable: &BTreeSet<String>,
) -> MutantReport {
    let mut variant = scenario.clone();
    variant.runbook = Some(mutant.runbook.clone());
    let results: Vec<SeedResult> = for_each_seed_until(
        args.start,
        args.seeds,
        jobs,
        |seed| run_seed(&variant, seed, true),
        |result| !result.failed.is_empty(),
    );
    let failing = results.iter().find(|r| !r.failed.is_empty());
    let (killed_by, seed) = match failing {
        Some(result) => (Some(result.failed[0].to_string()), Some(result.seed)),
        None => {
            let mut coverage = Coverage::default();
            for result in &results {
                coverage.add(&result.coverage);
            }
            let unexercised = coverage.unexercised(not_applicable);
            (
                unexercised
                    .first()
                    .map(|rule| format!("not_exercised:{rule}")),
                None,
            )
        }
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
        seeds_run: results.len() as u64,
        equivalent: None,
        diff: mutant.diff.clone(),
    }
}

fn print_text(report: &MutateReport) {
    println!(
        "mutate {} with runbook {}: {} mutants, up to {} seeds each (swarm)",
        report.scenario, report.runbook, report.mutants, report.seeds_per_mutant
    );
    println!();
    for result in &report.results {
        match (&result.killed_by, &result.equivalent) {
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
    println!();
    println!(
        "mutation score: {} of {} non-equivalent mutants killed ({:.1}%); {} equivalent; {} new survivors",
        report.killed,
        report.mutants - report.equivalent,
        report.score * 100.0,
        report.equivalent,
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
