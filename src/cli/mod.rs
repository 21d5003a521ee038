//! Argument parsing and dispatch. Exit codes: 0 pass, 1 a rule failed or a probe found a problem, 2 bad input.

mod check;
mod docker_preflight;
mod engine;
mod interrupt;
mod list;
mod mutate;
mod output;
mod parallel;
mod probe;
mod report;
mod run;
mod run_registry;
mod run_vault_docker;
mod run_vault_kind;
mod shell;
mod sweep;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code when every rule held or the probed system is healthy.
pub const EXIT_PASS: u8 = 0;
/// Exit code when a rule failed, or a probe found the system unhealthy.
pub const EXIT_FAIL: u8 = 1;
/// Exit code for bad input: unknown scenario, malformed file, bad flags, unreachable target.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "firedrill",
    version,
    about = "Deterministic fire drills for infrastructure runbooks",
    long_about = "Deterministic fire drills for infrastructure runbooks.\n\n\
firedrill reproduces real incidents (a Vault Raft leader stuck on a hung NFS fsync, NFS hangs and force \
deletes, orphaned registry index children) in a deterministic simulation, runs the recovery runbook against \
them across many seeds, and judges every run from its trace. The same probes run against real systems.",
    after_help = "Examples:\n  \
firedrill list\n  \
firedrill run vault-stuck-leader --seed 7\n  \
firedrill run vault-stuck-leader --seed 7 --trace run.jsonl --format json\n  \
firedrill sweep --all --seeds 1000\n  \
firedrill check vault-stuck-leader --seeds 1000 --audit\n  \
firedrill check vault-stuck-leader --runbook unsafe/force-delete-first\n  \
firedrill mutate vault-stuck-leader\n  \
firedrill run vault-stuck-leader --seed 7 --junit drill.xml --summary \"$GITHUB_STEP_SUMMARY\" --html timeline.html\n  \
firedrill report run.jsonl -o timeline.html\n  \
firedrill probe vault --endpoint http://127.0.0.1:8200 --endpoint http://127.0.0.1:8202 --timeout 3s\n\n\
Exit codes: 0 pass, 1 fail (a rule broke, or the probed system is unhealthy), 2 bad input (including any \
scenario or runbook number outside its range, located as file:line:col), 130 sweep or check interrupted by \
SIGINT (the runs done and failing seeds so far are printed), 141 stdout closed (ends quietly)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the scenario catalog, one scenario per line, name first.
    List(list::ListArgs),
    /// Run one scenario with one seed and print its verdict.
    Run(run::RunArgs),
    /// Run many seeds of one scenario, or of the whole catalog, in parallel.
    Sweep(sweep::SweepArgs),
    /// Check a runbook against an incident over many seeds: every safety rule holds, or a shrunk
    /// counterexample with the command that replays it. Prints figures per runbook; --audit tests its claims.
    Check(check::CheckArgs),
    /// Mutation-test a runbook: run `check` on every small edit of it (a step dropped, steps swapped, a guard
    /// negated, a wait shortened, a delete made forceful…) and report which survive and which steps matter.
    Mutate(mutate::MutateArgs),
    /// Draw a trace (`run --trace FILE`) as one self-contained HTML timeline: lanes per pod and node, fault
    /// windows, probes, alerts, runbook steps and the rules' verdicts, a violation linked to its event.
    Report(report::ReportArgs),
    /// Run a probe against real endpoints.
    #[command(subcommand)]
    Probe(probe::ProbeCommand),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout with success; everything else is a usage error.
            let code = if error.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_PASS
            };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::List(args) => list::execute(args),
        Command::Run(args) => run::execute(args),
        Command::Sweep(args) => sweep::execute(args),
        Command::Check(args) => check::execute(args),
        Command::Mutate(args) => mutate::execute(args),
        Command::Report(args) => report::execute(args),
        Command::Probe(command) => probe::execute(command),
    };
    ExitCode::from(code)
}

/// Prints an input error and returns the usage exit code.
pub fn usage_error(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    EXIT_USAGE
}
