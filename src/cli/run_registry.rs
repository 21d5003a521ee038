//! `firedrill run` for registry drills: the simulated registry by default, or a real one with `--backend docker`.

use super::output::Format;
use super::run::RunArgs;
use super::usage_error;
use clap::ValueEnum;
use firedrill_scenarios::registry::RegistryScenario;
use firedrill_scenarios::verdict::{format_ms, timeline, Verdict};
use firedrill_scenarios::{Drill, Trace};

/// Where a drill runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The deterministic turmoil simulation.
    Sim,
    /// Real software in containers: a registry, or three OpenBao voters (needs a running Docker).
    Docker,
    /// A Vault drill on a Kubernetes cluster (kind) through kube-rs: an allowlisted kubeconfig context only,
    /// and a dry run that prints the plan unless `--act-on-cluster` is given (needs the `kind` feature).
    Kind,
}

/// A trace and the wall time it took, from any backend.
pub struct RegistryOutcome {
    pub trace: Trace,
    pub wall_ms: u64,
}

/// Runs a registry scenario on the simulated registry.
pub fn run_sim(scenario: &RegistryScenario, seed: u64) -> RegistryOutcome {
    let outcome = firedrill_sim::registry::run::run(scenario, seed);
    RegistryOutcome {
        trace: outcome.trace,
        wall_ms: outcome.wall_ms,
    }
}

#[cfg(feature = "docker")]
fn run_docker(scenario: &RegistryScenario, seed: u64) -> Result<RegistryOutcome, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    let outcome = runtime
        .block_on(firedrill_harness::docker::drill::run(scenario, seed))
        .map_err(|error| error.to_string())?;
    Ok(RegistryOutcome {
        trace: outcome.trace,
        wall_ms: outcome.wall_ms,
    })
}

#[cfg(not(feature = "docker"))]
fn run_docker(_scenario: &RegistryScenario, _seed: u64) -> Result<RegistryOutcome, String> {
    Err(
        "this firedrill was built without the docker backend (--no-default-features); rebuild without that flag"
            .into(),
    )
}

pub fn execute(scenario: &RegistryScenario, seed: u64, args: &RunArgs) -> u8 {
    if args.runbook.is_some() || args.schedule.is_some() {
        return usage_error("--runbook and --schedule apply to Vault drills, not registry drills");
    }
    let outcome = match args.backend {
        Backend::Sim => run_sim(scenario, seed),
        Backend::Kind => {
            return usage_error(
                "--backend kind runs Vault drills; registry drills run on sim or docker",
            )
        }
        Backend::Docker => match run_docker(scenario, seed) {
            Ok(outcome) => outcome,
            Err(error) => return usage_error(error),
        },
    };
    if let Some(path) = &args.trace {
        if let Err(error) = super::output::write_trace(path, &outcome.trace) {
            return usage_error(error);
        }
    }
    let drill = Drill::Registry(scenario.clone());
    let verdict = drill.judge(seed, &outcome.trace, outcome.wall_ms);
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&verdict).expect("verdicts serialize")
        ),
        Format::Text => print_text(&verdict, &outcome.trace, args),
    }
    super::run::finish(args, &verdict, &outcome.trace)
}

fn print_text(verdict: &Verdict, trace: &Trace, args: &RunArgs) {
    println!(
        "{}  seed {}  {} simulated in {} ms wall",
        verdict.scenario,
        verdict.seed,
        format_ms(verdict.simulated_ms),
        verdict.wall_ms,
    );
    println!(
        "registry:  {}",
        verdict.registry_version.as_deref().unwrap_or("unknown")
    );
    println!();
    println!("timeline (simulated mm:ss.ms; scans listed when their result changes):");
    let mut last_scan: std::collections::BTreeMap<String, String> = Default::default();
    for (event, line) in trace.iter().zip(timeline_lines(trace)) {
        if let firedrill_scenarios::EventKind::RegistryScan {
            scanner, findings, ..
        } = &event.kind
        {
            let key = findings.join(",");
            if last_scan.get(scanner) == Some(&key) {
                continue;
            }
            last_scan.insert(scanner.clone(), key);
        }
        if let Some(line) = line {
            println!("  {line}");
        }
    }
    println!();
    let since_onset = |at: Option<u64>| match (at, verdict.onset_ms) {
        (Some(at), Some(onset)) => format!(
            "{} after the breakage ({} ms)",
            format_ms(at - onset),
            at - onset
        ),
        (Some(at), None) => format_ms(at),
        (None, _) => "never".to_string(),
    };
    println!(
        "broken:    {}",
        verdict.onset_ms.map_or("never".to_string(), format_ms)
    );
    println!("detected:  {}", since_onset(verdict.detected_at_ms));
    println!();
    for check in &verdict.checks {
        let mark = super::output::rule_mark(check.status);
        println!("  {mark} {:<36} {}", check.rule, check.detail);
    }
    println!();
    if verdict.passed() {
        println!("PASS");
    } else {
        println!(
            "FAIL: {}\nreplay: {}",
            verdict.failed_rules().join(", "),
            super::run::replay_line(args, verdict.seed)
        );
    }
}

/// One timeline line per event (None for events the timeline leaves out), so events and lines stay aligned.
fn timeline_lines(trace: &Trace) -> Vec<Option<String>> {
    trace
        .iter()
        .map(|event| {
            let single = Trace {
                events: vec![event.clone()],
            };
            timeline(&single).pop()
        })
        .collect()
}
