//! `--engine` and `--tick-ms`: which simulation engine runs a Vault drill.

use clap::{Args, ValueEnum};
use firedrill_scenarios::scenario::SimEngine;
use firedrill_scenarios::Scenario;

/// The engines, as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// Event-driven (the default): time jumps to the next timer or packet delivery, deliveries to the
    /// millisecond; a run costs what happens in it.
    Exact,
    /// turmoil 0.7 stepped by a fixed tick (`--tick-ms`, else the scenario's `sim.tick_ms`): every host polled
    /// every tick, every delivery and timer rounded up to the tick. Kept as the reference the exact engine is
    /// checked against.
    Turmoil,
}

#[derive(Args, Clone, Debug, Default)]
pub struct EngineArgs {
    /// The simulation engine for Vault drills: `exact` (the scenario's default) or `turmoil`, the reference.
    /// Verdicts and times do not depend on it beyond the reference's tick.
    #[arg(long, value_enum, env = "FIREDRILL_ENGINE")]
    pub engine: Option<EngineChoice>,
    /// The reference engine's tick in milliseconds (1 to 60000); implies `--engine turmoil`. A coarse tick is
    /// faster and rounds every delivery and timer up to it.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub tick_ms: Option<u64>,
}

impl EngineArgs {
    /// Sets the scenario's engine as asked; an error when `--tick-ms` is given with `--engine exact`.
    pub fn apply(&self, scenario: &mut Scenario) -> Result<(), String> {
        match (self.engine, self.tick_ms) {
            (Some(EngineChoice::Exact), Some(_)) => {
                return Err(
                    "--tick-ms sets the turmoil engine's tick; the exact engine has none".into(),
                )
            }
            (Some(EngineChoice::Exact), None) => scenario.sim.engine = SimEngine::Exact,
            (Some(EngineChoice::Turmoil), _) | (None, Some(_)) => {
                scenario.sim.engine = SimEngine::Turmoil
            }
            (None, None) => {}
        }
        if let Some(tick_ms) = self.tick_ms {
            scenario.sim.tick_ms = tick_ms;
        }
        Ok(())
    }
}
