//! Simulator throughput: wall time of one 30-simulated-minute `vault-stuck-leader` run on one core, and the
//! ratio of simulated to wall time that the BRIEF's target (>= 10,000x) is stated in.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

fn sim_throughput(c: &mut Criterion) {
    let scenario = firedrill_benches::stuck_leader();
    let mut group = c.benchmark_group("sim_throughput");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    let mut seed = 0u64;
    group.bench_function("vault-stuck-leader/30min", |b| {
        b.iter(|| {
            // A new seed each iteration, so the figure covers the schedule's spread, not one lucky draw.
            seed += 1;
            firedrill_sim::run(&scenario, seed)
        })
    });
    group.finish();

    // Criterion reports time per run; the target is a ratio, so print it from a fixed batch as well.
    let runs = 20;
    let started = Instant::now();
    let mut simulated_ms = 0;
    for seed in 1000..1000 + runs {
        simulated_ms += firedrill_sim::run(&scenario, seed).trace.end_ms();
    }
    let wall = started.elapsed();
    println!(
        "sim_throughput: {runs} runs, {:.1} ms wall per run, simulated/wall = {:.0}x on one core",
        wall.as_secs_f64() * 1000.0 / runs as f64,
        simulated_ms as f64 / (wall.as_secs_f64() * 1000.0)
    );
}

criterion_group!(benches, sim_throughput);
criterion_main!(benches);
