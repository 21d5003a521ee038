//! Running many seeds on several threads. A turmoil world never crosses threads, so each worker builds its own
//! simulations; only small results come back, so memory stays flat however many seeds run.

use indicatif::ProgressBar;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Runs `run(seed)` for seeds `start..start+count` on `jobs` threads and returns the results in seed order.
pub fn for_each_seed<T: Send>(
    start: u64,
    count: u64,
    jobs: usize,
    progress: &ProgressBar,
    run: impl Fn(u64) -> T + Sync,
) -> Vec<T> {
    let next = AtomicU64::new(0);
    let results = Mutex::new(Vec::with_capacity(count as usize));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                let seed = start + index;
                let result = run(seed);
                results
                    .lock()
                    .expect("no worker panics holding the lock")
                    .push((seed, result));
                progress.inc(1);
            });
        }
    });
    let mut results = results.into_inner().expect("workers are done");
    results.sort_by_key(|(seed, _)| *seed);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Like [`for_each_seed`], but workers take no new seed once `stop` is true of any result: for a search that
/// needs only the first counterexample. Returns the results in seed order, up to wherever the workers stopped.
pub fn for_each_seed_until<T: Send>(
    start: u64,
    count: u64,
    jobs: usize,
    run: impl Fn(u64) -> T + Sync,
    stop: impl Fn(&T) -> bool + Sync,
) -> Vec<T> {
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let results = for_each_seed(start, count, jobs, &ProgressBar::hidden(), |seed| {
        if stopped.load(Ordering::Relaxed) {
            return None;
        }
        let result = run(seed);
        if stop(&result) {
            stopped.store(true, Ordering::Relaxed);
        }
        Some(result)
    });
    results.into_iter().flatten().collect()
}

/// The worker count: `--jobs`, else one per core.
pub fn jobs(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1)
}
