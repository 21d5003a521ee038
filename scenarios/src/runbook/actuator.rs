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
                record_engine_events(runbook, actuator);
                actuator.record(EventKind::RunbookFinished {
                    outcome: outcome.kind(),
                    detail: outcome.detail(),
                });
                return outcome;
            }
            Command::Confirm {
                diagnosis,
                target,
                evidence,
            } => {
                record_engine_events(runbook, actuator);
                actuator.record(EventKind::DiagnosisConfirmed {
                    step: step.to_string(),
                    diagnosis,
                    target,
                    evidence,
                });
                Observation::Done
            }
            Command::Wait { duration_ms } => {
                record_engine_events(runbook, actuator);
                actuator.wait(duration_ms).await;
                Observation::Done
            }
            Command::Observe(query) => {
                record_engine_events(runbook, actuator);
                let observation = actuator.observe(&query).await;
                actuator.record(EventKind::Action {
                    step: step.to_string(),
                    action: query.name(),
                    target: query.target(),
                    destructive: false,
                    outcome: observation.summary(),
                    ok: !matches!(observation, Observation::ActionFailed(_)),
                });
                observation
            }
            Command::Act(action) => {
                record_engine_events(runbook, actuator);
                // The runbook's record of the action comes first; the world's own record of what it did follows.
                actuator.record(EventKind::Action {
                    step: step.to_string(),
                    action: action.name(),
                    target: action.target(),
                    destructive: true,
                    outcome: "requested".to_string(),
                    ok: true,
                });
                let observation = actuator.act(&action).await;
                if let Observation::ActionFailed(why) = &observation {
                    actuator.record(EventKind::Action {
                        step: step.to_string(),
                        action: action.name(),
                        target: action.target(),
                        destructive: false,
                        outcome: format!("failed: {why}"),
                        ok: false,
                    });
                }
                observation
            }
        };
    }
    let outcome = Outcome::Escalated(format!("runbook exceeded {max_commands} commands"));
    record_engine_events(runbook, actuator);
    actuator.record(EventKind::RunbookFinished {
        outcome: outcome.kind(),
        detail: outcome.detail(),
    });
    outcome
}

/// Moves the engine's own events (steps reached, branches taken) into the trace.
fn record_engine_events(runbook: &mut impl Runbook, actuator: &mut impl Actuator) {
    for event in runbook.drain_events() {
        actuator.record(event);
    }
}
