//! The actuator boundary, and the loop that drives a runbook through it.

use super::{Command, Observation, Outcome, Query, Runbook};
use crate::trace::EventKind;

/// Carries out a runbook's commands in one world: the simulation, or a real cluster.
#[allow(async_fn_in_trait)]
pub trait Actuator {
    fn now_ms(&self) -> u64;
    async fn observe(&mut self, query: &Query) -> Observation;
    async fn act(&mut self, action: &super::Action) -> Observation;
    async fn wait(&mut self, duration_ms: u64);
    /// Records an event in the run's trace.
    fn record(&mut self, event: EventKind);
}

/// Runs a runbook to completion. Every command is bounded: `max_commands` stops a runbook that loops.
pub async fn drive(
    runbook: &mut impl Runbook,
    actuator: &mut impl Actuator,
    max_commands: usize,
) -> Outcome {
    let mut observation = Observation::Done;
    for _ in 0..max_commands {
        let now_ms = actuator.now_ms();
        let (step, command) = runbook.next(now_ms, observation);
        let step = step.as_str();
        observation = match command {
            Command::Finish(outcome) => {
                if outcome == Outcome::Recovered {
                    actuator.record(EventKind::RecoveryDeclared {
                        detail: format!("runbook step {step}"),
                    });
                }
                actuator.record(EventKind::RunbookFinished {
                    outcome: outcome.summary(),
                });
                return outcome;
            }
            Command::Record { action, target } => {
                actuator.record(EventKind::Action {
                    step: step.to_string(),
                    action,
                    target,
                    destructive: false,
                    outcome: "ok".to_string(),
                });
                Observation::Done
            }
            Command::Wait { duration_ms } => {
                actuator.wait(duration_ms).await;
                Observation::Done
            }
            Command::Observe(query) => {
                let observation = actuator.observe(&query).await;
                actuator.record(EventKind::Action {
                    step: step.to_string(),
                    action: query.name().to_string(),
                    target: query.target(),
                    destructive: false,
                    outcome: observation.summary(),
                });
                observation
            }
            Command::Act(action) => {
                let observation = actuator.act(&action).await;
                actuator.record(EventKind::Action {
                    step: step.to_string(),
                    action: action.name().to_string(),
                    target: action.target(),
                    destructive: true,
                    outcome: observation.summary(),
                });
                observation
            }
        };
    }
    let outcome = Outcome::Escalated(format!("runbook exceeded {max_commands} commands"));
    actuator.record(EventKind::RunbookFinished {
        outcome: outcome.summary(),
    });
    outcome
}
