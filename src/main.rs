//! The `firedrill` command line: list, run, sweep and probe.

mod cli;
mod report;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};

/// Exit code when stdout or stderr was closed under us (`firedrill list | head -1`): 128 + SIGPIPE, as a shell
/// reports a process that SIGPIPE ended, which is what a C tool would have been.
const EXIT_CLOSED_PIPE: u8 = 141;

/// Set by the panic hook when a print failed: 0 not, else the exit code to use.
static OUTPUT_FAILED: AtomicU8 = AtomicU8::new(0);

fn main() -> ExitCode {
    // `println!` panics when stdout is closed or full. The hook turns that one panic into a quiet exit (closed
    // pipe) or one error line (full disk) instead of a panic message and exit 101; every other panic is reported
    // as before.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if let Some(reason) = message
            .strip_prefix("failed printing to stdout: ")
            .or_else(|| message.strip_prefix("failed printing to stderr: "))
        {
            if reason.contains("Broken pipe") || reason.contains("os error 32") {
                OUTPUT_FAILED.store(EXIT_CLOSED_PIPE, Ordering::SeqCst);
            } else {
                OUTPUT_FAILED.store(cli::EXIT_USAGE, Ordering::SeqCst);
                // stderr may be the failing stream too; nothing more can be done then.
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "error: cannot write output: {reason}");
            }
            return;
        }
        default_hook(info);
    }));
    match std::panic::catch_unwind(cli::main) {
        Ok(code) => code,
        Err(payload) => match OUTPUT_FAILED.load(Ordering::SeqCst) {
            0 => std::panic::resume_unwind(payload),
            code => ExitCode::from(code),
        },
    }
}
