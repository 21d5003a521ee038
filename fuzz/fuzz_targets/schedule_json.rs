//! Any bytes as a `--schedule` JSON: parsing and the check against its scenario never panic.
#![no_main]

use firedrill_scenarios::{catalog, Schedule};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(schedule) = serde_json::from_slice::<Schedule>(data) else {
        return;
    };
    let scenario = catalog::load("vault-stuck-leader").expect("the catalog loads");
    if schedule.check_against(&scenario).is_ok() {
        // What passes the check is in range: the onset and heal are at most two weeks out.
        for fault in &schedule.faults {
            assert!(fault.at_ms <= 7 * 86_400_000);
        }
    }
    let _ = schedule.first_onset_ms();
    let _ = schedule.component_seed("fuzz");
});
