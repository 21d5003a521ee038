//! Any text as a scenario file (Vault or registry): parsing and range checks never panic, and what loads can be
//! drawn from a seed without panicking either.
#![no_main]

use firedrill_scenarios::registry::plan::RegistryPlan;
use firedrill_scenarios::{Drill, Schedule};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Drill::parse(Path::new("fuzz.toml"), text) {
        Ok(Drill::Vault(scenario)) => {
            for seed in [0, 1, u64::MAX] {
                let _ = Schedule::draw(&scenario, seed);
                let _ = Schedule::draw_swarm(&scenario, seed);
            }
        }
        Ok(Drill::Registry(scenario)) => {
            // The plan holds every operation of the run: the range checks must keep it small.
            let plan = RegistryPlan::draw(&scenario, 1);
            assert!(
                plan.operations.len() <= 30_001,
                "{} operations",
                plan.operations.len()
            );
        }
        Err(error) => {
            // Every error is located.
            assert!(error.line >= 1 && error.column >= 1, "{error}");
        }
    }
});
