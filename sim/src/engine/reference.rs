//! The reference engine: turmoil 0.7, stepped by a fixed tick. Every host is polled every tick, and a delivery
//! or a timer lands on the next tick boundary, so both the cost and the resolution of a run follow the tick.

use super::{Driver, Hosts, Latency, Software};
use std::time::Duration;

/// Room for the handshakes that queue, unanswered, at a frozen process's full accept queue: turmoil panics past
/// this, where a kernel would drop the SYN.
pub const TCP_CAPACITY: usize = crate::vault::LISTEN_BACKLOG * 4;

struct TurmoilHosts<'a, 'b>(&'a mut turmoil::Sim<'b>);

impl Hosts for TurmoilHosts<'_, '_> {
    fn register(&mut self, name: &str, software: Software) {
        self.0.host(name, move || software());
    }

    fn crash(&mut self, name: &str) {
        self.0.crash(name);
    }

    fn bounce(&mut self, name: &str) {
        self.0.bounce(name);
    }

    fn link_without_latency(&mut self, a: &str, b: &str) {
        self.0.set_link_latency(a, b, Duration::ZERO);
    }
}

/// Runs the simulation for `duration_ms` on turmoil 0.7: `setup` adds the first hosts, then the driver runs
/// after every step.
pub fn run(
    seed: u64,
    tick_ms: u64,
    latency: Latency,
    duration_ms: u64,
    setup: impl FnOnce(&mut dyn Hosts),
    mut driver: impl Driver,
) {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_millis(duration_ms.saturating_add(60_000)))
        .tick_duration(Duration::from_millis(tick_ms))
        .min_message_latency(Duration::from_millis(latency.min_ms))
        .max_message_latency(Duration::from_millis(latency.max_ms))
        .rng_seed(seed)
        .tcp_capacity(TCP_CAPACITY)
        .build();
    setup(&mut TurmoilHosts(&mut sim));
    driver.on_step(&mut TurmoilHosts(&mut sim), 0);
    while (sim.elapsed().as_millis() as u64) < duration_ms {
        if let Err(error) = sim.step() {
            panic!("simulation failed: {error}");
        }
        let now_ms = sim.elapsed().as_millis() as u64;
        driver.on_step(&mut TurmoilHosts(&mut sim), now_ms);
    }
}
