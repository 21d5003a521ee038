//! Bounded concurrency without a spawner: at most N futures in flight, all polled in the calling task.
//!
//! The walk must run on turmoil's single-threaded simulation as well as on real sockets, and its futures borrow
//! the walk's state, so they are neither `Send` nor `'static`. Polling them together in one task sidesteps both.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Runs the futures with at most `concurrency` in flight and returns their outputs in the input order.
/// The iterator is consumed lazily, so futures are created only when a slot frees up.
pub async fn run_bounded<F: Future>(
    futures: impl IntoIterator<Item = F>,
    concurrency: usize,
) -> Vec<F::Output> {
    assert!(concurrency > 0, "concurrency must be at least 1");
    let mut pending = futures.into_iter().enumerate();
    // Grown as slots fill, never reserved by the count: a hostile `concurrency` must not allocate up front.
    let mut in_flight: Vec<(usize, Pin<Box<F>>)> = Vec::new();
    let mut outputs: Vec<Option<F::Output>> = Vec::new();
    std::future::poll_fn(|cx| loop {
        while in_flight.len() < concurrency {
            let Some((index, future)) = pending.next() else {
                break;
            };
            if outputs.len() <= index {
                outputs.resize_with(index + 1, || None);
            }
            in_flight.push((index, Box::pin(future)));
        }
        if in_flight.is_empty() {
            return Poll::Ready(());
        }
        let before = in_flight.len();
        let mut position = 0;
        while position < in_flight.len() {
            let (index, future) = &mut in_flight[position];
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                outputs[*index] = Some(output);
                in_flight.swap_remove(position);
            } else {
                position += 1;
            }
        }
        // Nothing finished: every future has registered the waker, so sleep until one is woken.
        if in_flight.len() == before {
            return Poll::Pending;
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|output| output.expect("every future ran to completion"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn keeps_order_and_never_exceeds_the_bound() {
        let running = Cell::new(0usize);
        let peak = Cell::new(0usize);
        let futures = (0..20u64).map(|value| {
            let running = &running;
            let peak = &peak;
            async move {
                running.set(running.get() + 1);
                peak.set(peak.get().max(running.get()));
                // Later items finish sooner, so completion order differs from input order.
                tokio::time::sleep(Duration::from_millis(100 - value)).await;
                running.set(running.get() - 1);
                value * 2
            }
        });
        let outputs = run_bounded(futures, 4).await;
        assert_eq!(outputs, (0..20).map(|value| value * 2).collect::<Vec<_>>());
        assert_eq!(peak.get(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn runs_concurrently_not_sequentially() {
        let started = tokio::time::Instant::now();
        let futures = (0..8).map(|_| tokio::time::sleep(Duration::from_secs(1)));
        run_bounded(futures, 8).await;
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
        assert!(run_bounded(std::iter::empty::<std::future::Ready<()>>(), 3)
            .await
            .is_empty());
    }
}
