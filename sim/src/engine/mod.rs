//! The engines that run the simulated hosts: `exact`, whose cost follows events, and turmoil 0.7 as the
//! `reference`, whose cost and time resolution follow its tick.
//!
//! Both run the same host software (the same `async fn`s, with sockets from [`crate::net`]) and call the same
//! driver: the world's own clockwork (faults, the kubelets, host starts and crashes), which tells the engine when
//! it next wants to run. Only the engine decides how time passes between two events:
//! - `exact` (issue 11) runs every host as a task on one current-thread tokio runtime with paused time, so the
//!   clock jumps to the next timer or packet delivery as soon as every host is idle; packets are turmoil-net's
//!   and each is delivered at its own drawn latency, to the millisecond (tokio's timer resolution).
//! - `reference` steps turmoil 0.7 by a fixed tick: every host is polled every tick, and a delivery or a timer
//!   lands on the next tick boundary. It is kept to check `exact` against (`tests/engine_differential.rs`).

pub mod exact;
mod fabric;
pub mod reference;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// What host software returns; an error ends that host's software, as a process exiting would.
pub type HostResult = Result<(), Box<dyn std::error::Error>>;

/// A host's software: called once when the host starts, and again on every restart.
pub type Software = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = HostResult>>>>;

/// Wraps an `async` constructor as [`Software`].
pub fn software<F, Fut>(start: F) -> Software
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = HostResult> + 'static,
{
    Rc::new(move || Box::pin(start()))
}

/// Which engine runs a simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// Event-driven: time jumps from one event to the next, deliveries to the millisecond.
    Exact,
    /// turmoil 0.7 stepped by a fixed tick of this many milliseconds.
    Reference { tick_ms: u64 },
}

impl EngineKind {
    /// The name the trace and the CLI use: `exact`, or `turmoil-tick-<ms>ms`.
    pub fn label(&self) -> String {
        match self {
            EngineKind::Exact => "exact".to_string(),
            EngineKind::Reference { tick_ms } => format!("turmoil-tick-{tick_ms}ms"),
        }
    }
}

/// The network's latency, drawn per message from the seed.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    pub min_ms: u64,
    pub max_ms: u64,
}

/// What the driver may do to hosts: the same verbs on either engine.
pub trait Hosts {
    /// Adds a host and starts its software.
    fn register(&mut self, name: &str, software: Software);
    /// Stops a host's software at once; its sockets close as a killed process's do.
    fn crash(&mut self, name: &str);
    /// Stops a host's software, if it runs, and starts it again.
    fn bounce(&mut self, name: &str);
    /// Messages between these two registered hosts (both ways) arrive at once, as on a link much faster than
    /// the network's latency.
    fn link_without_latency(&mut self, a: &str, b: &str);
}

/// The driver: called with the hosts and the simulated time in milliseconds, after hosts ran and at the times it
/// asked for. It returns the next time it wants to be called even if nothing happens before.
pub trait Driver {
    fn on_step(&mut self, hosts: &mut dyn Hosts, now_ms: u64) -> u64;
}

impl<F: FnMut(&mut dyn Hosts, u64) -> u64> Driver for F {
    fn on_step(&mut self, hosts: &mut dyn Hosts, now_ms: u64) -> u64 {
        self(hosts, now_ms)
    }
}

/// Simulated milliseconds since the start of the run, as the running engine tells it: on the exact engine
/// always, on the reference engine inside a host only (the driver knows its own step's time).
pub fn now_ms() -> Option<u64> {
    exact::now_ms().or_else(|| turmoil::sim_elapsed().map(|elapsed| elapsed.as_millis() as u64))
}
