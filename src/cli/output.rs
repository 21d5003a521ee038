//! Output formats shared by the subcommands.

use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text for people.
    Text,
    /// One JSON object, for machines.
    Json,
}

/// The mark a readable verdict puts before a rule: what it concluded, at a glance.
pub fn rule_mark(status: firedrill_scenarios::checkers::RuleStatus) -> &'static str {
    use firedrill_scenarios::checkers::RuleStatus;
    match status {
        RuleStatus::Pass => "ok  ",
        RuleStatus::Fail => "FAIL",
        RuleStatus::NotExercised => "n/a ",
    }
}

/// Writes a trace as JSON Lines to `path`, as `--trace` asks.
pub fn write_trace(
    path: &std::path::Path,
    trace: &firedrill_scenarios::Trace,
) -> Result<(), String> {
    use std::io::Write;
    std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .and_then(|mut file| {
            trace.write_jsonl(&mut file)?;
            file.flush()
        })
        .map_err(|error| format!("cannot write trace {}: {error}", path.display()))
}
