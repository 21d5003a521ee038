//! Shrinking a failing schedule to a minimal one: fewer faults, default beliefs, no stale boot disks, earlier
//! and shorter faults, as long as the same rule still breaks.

use crate::scenario::Scenario;
use crate::schedule::Schedule;

/// The most candidate runs one shrink may spend; each is a whole simulation.
pub const MAX_SHRINK_RUNS: usize = 200;

/// Greedily simplifies `failing` while `still_fails` holds, trying one simplification at a time and keeping
/// each that still fails. Returns the smallest schedule found and how many candidates were run.
pub fn shrink(
    scenario: &Scenario,
    failing: &Schedule,
    mut still_fails: impl FnMut(&Schedule) -> bool,
) -> (Schedule, usize) {
    let mut best = failing.clone();
    let mut runs = 0;
    loop {
        let mut improved = false;
        for candidate in candidates(scenario, &best) {
            if runs >= MAX_SHRINK_RUNS {
                return (best, runs);
            }
            runs += 1;
            if still_fails(&candidate) {
                best = candidate;
                improved = true;
                break;
            }
        }
        if !improved {
            return (best, runs);
        }
    }
}

/// Simpler neighbours of a schedule, simplest first.
fn candidates(scenario: &Scenario, schedule: &Schedule) -> Vec<Schedule> {
    let mut out = Vec::new();
    for index in 0..schedule.faults.len() {
        let mut candidate = schedule.clone();
        candidate.faults.remove(index);
        out.push(candidate);
    }
    if schedule.hypotheses != scenario.hypotheses {
        let mut candidate = schedule.clone();
        candidate.hypotheses = scenario.hypotheses.clone();
        out.push(candidate);
    }
    for index in 0..schedule.stale_bootdisk_nodes.len() {
        let mut candidate = schedule.clone();
        candidate.stale_bootdisk_nodes.remove(index);
        out.push(candidate);
    }
    for (index, fault) in schedule.faults.iter().enumerate() {
        let spec = scenario
            .faults
            .iter()
            .find(|spec| spec.kind == fault.kind && spec.target.get_ref() == &fault.target);
        let earliest_ms = spec.map(|spec| match spec.at_ms {
            crate::duration::MillisSpec::Fixed(at) => at,
            crate::duration::MillisSpec::Range { min, .. } => min,
        });
        // Halve the distance to the earliest allowed onset, keeping the fault's length.
        if let Some(earliest_ms) = earliest_ms.filter(|earliest| *earliest < fault.at_ms) {
            let at_ms = earliest_ms + (fault.at_ms - earliest_ms) / 2;
            let mut candidate = schedule.clone();
            let shifted = &mut candidate.faults[index];
            shifted.heal_at_ms = shifted
                .heal_at_ms
                .map(|heal| heal - (shifted.at_ms - at_ms));
            shifted.at_ms = at_ms;
            out.push(candidate);
        }
        // A fault that never heals is the simplest of all.
        if fault.heal_at_ms.is_some() {
            let mut candidate = schedule.clone();
            candidate.faults[index].heal_at_ms = None;
            out.push(candidate);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    #[test]
    fn shrinks_to_the_fault_that_matters() {
        let scenario = catalog::load("vault-node-nfs-stuck").unwrap();
        let failing = Schedule::draw_swarm(&scenario, 3);
        // A toy property: "fails" whenever a fault starts after 130 s. The shrinker must drop everything else
        // and pull that onset as early as it can while it still fails.
        let (shrunk, runs) = shrink(&scenario, &failing, |s| {
            s.faults.iter().any(|f| f.at_ms > 130_000)
        });
        assert!(runs > 0 && runs <= MAX_SHRINK_RUNS);
        assert_eq!(shrunk.faults.len(), 1, "{shrunk:?}");
        assert!(
            shrunk.faults[0].at_ms > 130_000 && shrunk.faults[0].at_ms < 140_000,
            "{shrunk:?}"
        );
        assert_eq!(shrunk.faults[0].heal_at_ms, None);
        assert!(shrunk.stale_bootdisk_nodes.is_empty());
        assert_eq!(shrunk.hypotheses, scenario.hypotheses);
    }
}
