//! SIGINT during `sweep` and `check`: the first Ctrl-C asks the workers to start no new seed, so the command can
//! print what it did and exit 130; a second one exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code after an interrupt, as a shell reports a process ended by SIGINT (128 + 2).
pub const EXIT_INTERRUPTED: u8 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Catches SIGINT from now on. Only the commands that can report partial work install it; the others keep the
/// default, which ends the process at once.
pub fn install() {
    let spawned = std::thread::Builder::new()
        .name("sigint".into())
        .spawn(|| {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                REQUESTED.store(true, Ordering::SeqCst);
                eprintln!(
                    "\ninterrupted: finishing the seeds in progress, then reporting (Ctrl-C again to quit now)"
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(EXIT_INTERRUPTED));
                }
            });
        });
    // Without the thread, Ctrl-C keeps its default effect; the command still works.
    drop(spawned);
}

/// Whether SIGINT arrived.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Prints to stderr (stdout may be a JSON report), after an interrupt, how many runs were done of how many, and the failing seeds found so far, then
/// returns [`EXIT_INTERRUPTED`]. `done` holds, per scenario, the seeds run and the failing ones.
pub fn sweep_summary<I: IntoIterator<Item = u64>>(
    done: impl IntoIterator<Item = (u64, I)>,
    total: u64,
) -> u8 {
    let mut runs = 0u64;
    let mut failing = Vec::new();
    for (seeds, failures) in done {
        runs = runs.saturating_add(seeds);
        failing.extend(failures);
    }
    eprintln!("INTERRUPTED after {runs} of {total} runs");
    if failing.is_empty() {
        eprintln!("no failing seed among them");
    } else {
        let shown: Vec<String> = failing.iter().take(50).map(u64::to_string).collect();
        eprintln!(
            "{} failing seeds so far: {}{}",
            failing.len(),
            shown.join(" "),
            if failing.len() > 50 { " …" } else { "" }
        );
    }
    EXIT_INTERRUPTED
}
