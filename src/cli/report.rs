//! `firedrill report`: a trace (JSON Lines, as `--trace` writes it) drawn as one self-contained HTML timeline.

use super::{usage_error, EXIT_PASS};
use clap::Args;
use firedrill_scenarios::{catalog, Event, EventKind, Trace};
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
firedrill run vault-stuck-leader --seed 7 --trace t.jsonl && firedrill report t.jsonl -o timeline.html\n  \
firedrill report t.jsonl -o timeline.html --scenario my-scenario.toml\n\n\
The page needs no network: CSS, SVG and script are inline. It has one lane per pod and per node (pod phase, Raft \
role, tasks in D state, mounts, node state), the fault windows shaded, probe results, alerts, external health, \
the runbook's observations and actions, and the rules' verdicts judged from the trace, each violation a link to \
the event that broke it.")]
pub struct ReportArgs {
    /// The trace, as JSON Lines (`firedrill run --trace FILE`).
    pub trace: PathBuf,
    /// Where to write the HTML page.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The scenario to judge the trace against: a catalog name or a scenario file. Defaults to the name the
    /// trace's `run_started` records; without a known scenario the page has no verdict.
    #[arg(long)]
    pub scenario: Option<String>,
}

/// Reads a JSON Lines trace, locating a malformed line as `file:line:col`.
pub fn read_trace(path: &std::path::Path) -> Result<Trace, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read trace {}: {error}", path.display()))?;
    let mut events = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(line).map_err(|error| {
            format!(
                "{}:{}:{}: not a trace event: {error}",
                path.display(),
                number + 1,
                error.column()
            )
        })?;
        if let Some(last) = events.last() {
            let last: &Event = last;
            if event.t_ms < last.t_ms {
                return Err(format!(
                    "{}:{}:1: time runs backwards ({} ms after {} ms)",
                    path.display(),
                    number + 1,
                    event.t_ms,
                    last.t_ms
                ));
            }
        }
        events.push(event);
    }
    if events.is_empty() {
        return Err(format!("{}: the trace has no events", path.display()));
    }
    Ok(Trace { events })
}

pub fn execute(args: ReportArgs) -> u8 {
    let trace = match read_trace(&args.trace) {
        Ok(trace) => trace,
        Err(error) => return usage_error(error),
    };
    let started = trace.iter().find_map(|event| match &event.kind {
        EventKind::RunStarted { scenario, seed, .. } => Some((scenario.clone(), *seed)),
        _ => None,
    });
    let (recorded, seed) = started.unwrap_or_default();
    let name = args.scenario.clone().unwrap_or_else(|| recorded.clone());
    let checks = match catalog::load_drill(&name) {
        Ok(drill) => Some(drill.judge(seed, &trace, 0).checks),
        Err(error) if args.scenario.is_some() => return usage_error(error),
        Err(_) => {
            eprintln!("note: scenario {name:?} is not in the catalog; the page has no verdict (pass --scenario FILE)");
            None
        }
    };
    let title = format!("{recorded} seed {seed}");
    let html = crate::report::timeline_html::render(&title, &trace, checks.as_deref());
    if let Err(error) = crate::report::timeline_html::write(&args.output, &html) {
        return usage_error(error);
    }
    println!("wrote {}", args.output.display());
    EXIT_PASS
}
