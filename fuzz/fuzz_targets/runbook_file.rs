//! Any text as a runbook file: parsing never panics, and a runbook that loads can be stepped with any answers
//! without panicking.
#![no_main]

use firedrill_scenarios::runbook::{Command, Engine, Observation, Runbook, RunbookFile};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(runbook) = RunbookFile::parse(Path::new("fuzz.toml"), text) else {
        return;
    };
    let mut engine = Engine::new(runbook);
    let mut now_ms = 0u64;
    for answer in [
        Observation::Done,
        Observation::HttpStatus(503),
        Observation::Done,
        Observation::HttpStatus(200),
        Observation::Voters(Vec::new()),
        Observation::Done,
    ] {
        let (_, command) = engine.next(now_ms, answer);
        // A finished runbook is not stepped again: that is the engine's contract with its caller.
        if matches!(command, Command::Finish(_)) {
            return;
        }
        now_ms = now_ms.saturating_add(1_000);
    }
});
