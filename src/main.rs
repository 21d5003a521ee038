//! The `firedrill` command line: list, run, sweep and probe.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
