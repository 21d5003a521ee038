//! Running many seeds on several threads. A turmoil world never crosses threads, so each worker builds its own
//! simulations; only small results come back, so memory stays flat however many seeds run.

use indicatif::ProgressBar;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The most seeds one sweep or check runs per scenario. Each seed keeps a small result until the report is
/// printed, so the count bounds memory; a million runs already take hours.
pub const MAX_SEEDS: u64 = 1_000_000;
/// The most worker threads: far above any core count, and each one is a real thread with its own stack.
pub const MAX_JOBS: usize = 1024;

/// Parses `--seeds`: 1 to [`MAX_SEEDS`]. Zero seeds would give a vacuous pass.
pub fn parse_seeds(text: &str) -> Result<u64, String> {
    let seeds: u64 = text
        .parse()
        .map_err(|_| format!("expected a number of seeds from 1 to {MAX_SEEDS}"))?;
    if !(1..=MAX_SEEDS).contains(&seeds) {
        return Err(format!(
            "expected a number of seeds from 1 to {MAX_SEEDS}, found {seeds}"
        ));
    }
    Ok(seeds)
}

/// Parses `--jobs`: 1 to [`MAX_JOBS`].
pub fn parse_jobs(text: &str) -> Result<usize, String> {
    let jobs: usize = text
        .parse()
        .map_err(|_| format!("expected a number of jobs from 1 to {MAX_JOBS}"))?;
    if !(1..=MAX_JOBS).contains(&jobs) {
        return Err(format!(
            "expected a number of jobs from 1 to {MAX_JOBS}, found {jobs}"
        ));
    }
    Ok(jobs)
}

/// Fails when `start..start+count` does not fit in a u64: the last seed would wrap around to seed 0.
pub fn check_seed_range(start: u64, count: u64) -> Result<(), String> {
    match start.checked_add(count.saturating_sub(1)) {
        Some(_) => Ok(()),
        None => Err(format!(
            "--start {start} with --seeds {count} runs past the last seed {}",
            u64::MAX
        )),
    }
}

/// Runs `run(seed)` for seeds `start..start+count` on `jobs` threads and returns the results in seed order.
/// Once `stop` is set (SIGINT), workers start no new seed; the results are those of the seeds already done.
pub fn for_each_seed<T: Send>(
    start: u64,
    count: u64,
    jobs: usize,
    progress: &ProgressBar,
    run: impl Fn(u64) -> T + Sync,
) -> Vec<T> {
    let next = AtomicU64::new(0);
    // Not reserved by `count`: a hostile --seeds must not allocate before a single seed has run.
    let results = Mutex::new(Vec::new());
    // More workers than seeds would only start threads that find nothing to do.
    let jobs = jobs.clamp(1, usize::try_from(count).unwrap_or(usize::MAX).max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                if super::interrupt::requested() {
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                let Some(seed) = start.checked_add(index) else {
                    break;
                };
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
        .clamp(1, MAX_JOBS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_jobs_are_bounded() {
        assert_eq!(parse_seeds("1"), Ok(1));
        assert!(parse_seeds("0").is_err());
        assert!(parse_seeds("1000001").is_err());
        assert!(parse_seeds("18446744073709551615").is_err());
        assert_eq!(parse_jobs("4"), Ok(4));
        assert!(parse_jobs("0").is_err());
        assert!(parse_jobs("18446744073709551615").is_err());
    }

    #[test]
    fn a_seed_range_past_u64_max_is_refused() {
        assert!(check_seed_range(u64::MAX - 1, 2).is_ok());
        assert!(check_seed_range(u64::MAX - 1, 3).is_err());
        assert!(check_seed_range(0, MAX_SEEDS).is_ok());
    }

    #[test]
    fn jobs_beyond_the_seed_count_run_each_seed_once() {
        let results = for_each_seed(5, 2, MAX_JOBS, &ProgressBar::hidden(), |seed| seed);
        assert_eq!(results, [5, 6]);
    }
}
