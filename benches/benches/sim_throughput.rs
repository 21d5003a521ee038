//! Simulator throughput: wall time of one 30-simulated-minute `vault-stuck-leader` run on one core, on the exact
//! engine and on the reference engine (turmoil 0.7 at a 1 ms tick, the same delivery resolution), measured in
//! the same run, and the ratio of simulated to wall time that the BRIEF's target (>= 10,000x) is stated in.
//!
//! `FIREDRILL_BENCH_REFERENCE_TICK_MS` changes the reference's tick (default 1 ms).

use criterion::{criterion_group, criterion_main, Criterion};
use firedrill_scenarios::scenario::SimEngine;
use std::time::{Duration, Instant};

fn reference_tick_ms() -> u64 {
    std::env::var("FIREDRILL_BENCH_REFERENCE_TICK_MS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1)
}

fn sim_throughput(c: &mut Criterion) {
    let mut exact = firedrill_benches::stuck_leader();
    exact.sim.engine = SimEngine::Exact;
    let mut reference = exact.clone();
    reference.sim.engine = SimEngine::Turmoil;
    reference.sim.tick_ms = reference_tick_ms();
    let reference_label = format!("turmoil-tick-{}ms", reference.sim.tick_ms);

    let mut group = c.benchmark_group("sim_throughput");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    let mut seed = 0u64;
    group.bench_function("vault-stuck-leader/30min/exact", |b| {
        b.iter(|| {
            // A new seed each iteration, so the figure covers the schedule's spread, not one lucky draw.
            seed += 1;
            firedrill_sim::run(&exact, seed)
        })
    });
    // The reference at a 1 ms tick takes seconds per run: criterion's minimum of ten samples is all it gets.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function(format!("vault-stuck-leader/30min/{reference_label}"), |b| {
        b.iter(|| {
            seed += 1;
            firedrill_sim::run(&reference, seed)
        })
    });
    group.finish();

    // Criterion reports time per run; the target is a ratio, so print it from a fixed batch of the same seeds
    // on both engines as well.
    let seeds = 1000..1010;
    for (label, scenario) in [("exact", &exact), (reference_label.as_str(), &reference)] {
        let started = Instant::now();
        let mut simulated_ms = 0;
        for seed in seeds.clone() {
            simulated_ms += firedrill_sim::run(scenario, seed).trace.end_ms();
        }
        let wall = started.elapsed();
        let runs = seeds.end - seeds.start;
        println!(
            "sim_throughput {label}: {runs} runs, {:.1} ms wall per run, simulated/wall = {:.0}x on one core",
            wall.as_secs_f64() * 1000.0 / runs as f64,
            simulated_ms as f64 / (wall.as_secs_f64() * 1000.0)
        );
    }
}

criterion_group!(benches, sim_throughput);
criterion_main!(benches);
