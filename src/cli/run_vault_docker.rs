//! `firedrill run <vault scenario> --backend docker`: the scenario on a real OpenBao cluster in containers, judged
//! by the same checkers as the simulation.

use super::output::Format;
use super::run::RunArgs;
use super::{usage_error, EXIT_FAIL, EXIT_PASS};
use firedrill_scenarios::verdict::{format_ms, timeline, Verdict};
use firedrill_scenarios::Scenario;

/// Exit code of a run stopped by SIGINT or SIGTERM (everything it started was still removed).
const EXIT_INTERRUPTED: u8 = 130;

#[cfg(feature = "docker")]
fn run_docker(
    scenario: &Scenario,
    seed: u64,
    quick: bool,
) -> Result<
    (
        Scenario,
        firedrill_harness::docker::vault::DockerVaultOutcome,
    ),
    String,
> {
    use firedrill_harness::docker::vault::{run, Pace};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    let pace = Pace { quick };
    let adapted = pace.adapt(scenario);
    let local = tokio::task::LocalSet::new();
    let outcome = local.block_on(&runtime, run(&adapted, seed, pace))?;
    Ok((adapted, outcome))
}

#[cfg(not(feature = "docker"))]
fn run_docker(
    _scenario: &Scenario,
    _seed: u64,
    _quick: bool,
) -> Result<(Scenario, NoOutcome), String> {
    Err(
        "this firedrill was built without the docker backend (`--no-default-features`); rebuild with the default features"
            .into(),
    )
}

#[cfg(not(feature = "docker"))]
struct NoOutcome {
    trace: firedrill_scenarios::Trace,
    wall_ms: u64,
    version: String,
    interrupted: bool,
    teardown_problems: Vec<String>,
}

pub fn execute(scenario: &Scenario, seed: u64, args: &RunArgs) -> u8 {
    if args.schedule.is_some() || args.swarm {
        return usage_error("--schedule and --swarm apply to the simulation; the docker backend draws the seed's schedule");
    }
    let (scenario, outcome) = match run_docker(scenario, seed, args.quick) {
        Ok(result) => result,
        // A backend that cannot start (no Docker, FUSE or image, or a build without the feature) is exit 2, as
        // for the registry drills.
        Err(error) => return usage_error(error),
    };
    if !outcome.teardown_problems.is_empty() {
        eprintln!(
            "error: the run left things behind: {}",
            outcome.teardown_problems.join("; ")
        );
    }
    if outcome.interrupted {
        eprintln!("interrupted: every container, network, mount and hang filesystem of the run was removed");
        return EXIT_INTERRUPTED;
    }
    if let Some(path) = &args.trace {
        if let Err(error) = super::output::write_trace(path, &outcome.trace) {
            return usage_error(error);
        }
    }
    let verdict = Verdict::judge(&scenario, seed, &outcome.trace, outcome.wall_ms);
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&verdict).expect("verdicts serialize")
        ),
        Format::Text => {
            println!(
                "{}  seed {}  on {} (docker, {}), {} of real time",
                verdict.scenario,
                verdict.seed,
                outcome.version,
                if args.quick {
                    "quick pace"
                } else {
                    "full pace"
                },
                format_ms(outcome.wall_ms)
            );
            println!();
            println!("timeline (wall mm:ss.ms since the cluster formed):");
            for line in timeline(&outcome.trace) {
                println!("  {line}");
            }
            println!();
            super::run::print_outcome(&verdict);
            println!();
            println!("{}", if verdict.passed() { "PASS" } else { "FAIL" });
        }
    }
    // The same report files as a simulated run (--junit, --summary, --journal, --html), and the plain last line.
    let code = super::run::finish(args, &verdict, &outcome.trace);
    if code == EXIT_PASS && !outcome.teardown_problems.is_empty() {
        EXIT_FAIL
    } else {
        code
    }
}
