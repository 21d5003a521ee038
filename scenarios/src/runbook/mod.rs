//! The runbook engine: recovery as data, run by a pure state machine that speaks to the world only through an
//! actuator.
//!
//! A runbook never touches a cluster. The engine returns [`Command`]s; a backend's [`Actuator`] carries them
//! out and answers with [`Observation`]s. The same runbook therefore runs in the simulation and against real
//! systems.

mod actuator;
mod command;
mod engine;
mod facts;
mod file;
pub mod mutation;

pub use actuator::{drive, Actuator};
pub use command::{Action, Command, MountInfo, Observation, Outcome, PodInfo, ProcessInfo, Query};
pub use engine::Engine;
pub use file::{FinishOutcome, RunbookFile, RunbookParams, Step, Verb, FACTS};

/// A recovery procedure, stepped one command at a time.
pub trait Runbook {
    /// Given what the last command observed (or [`Observation::Done`] for an action or a wait), the label of
    /// the runbook step and the next command.
    fn next(&mut self, now_ms: u64, observation: Observation) -> (String, Command);

    /// Events the runbook itself produced since the last call (steps reached, branches taken), for coverage.
    fn drain_events(&mut self) -> Vec<crate::trace::EventKind> {
        Vec::new()
    }
}
