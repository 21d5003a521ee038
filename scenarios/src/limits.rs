//! The range of every number a scenario or runbook file accepts, checked at load and located as
//! `file:line:col`, so a hostile or mistyped value is a usage error instead of a hang, a panic or a run that
//! allocates without bound (issue 10).
//!
//! Ranges are checked on the spanned TOML document, not on the typed structs, because serde forgets where a
//! value came from; the typed structs are parsed first, so a value reaching this module already has its type.

use crate::parse_error::ParseError;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One simulated day and week; most durations are bounded by them.
pub const DAY_MS: u64 = 86_400_000;
pub const WEEK_MS: u64 = 7 * DAY_MS;
/// A registry drill runs in compressed time: 8 "days" of the catalog fit in 28.8 s of the clock, so its bound
/// is looser than a Vault drill's.
pub const REGISTRY_MAX_DURATION_MS: u64 = 30 * DAY_MS;

/// How many simulated steps (`duration_ms / tick_ms`) one Vault run may take: the catalog's longest takes 240,000;
/// this keeps the worst case to about a minute of CPU.
pub const MAX_SIM_STEPS: u64 = 2_000_000;
/// How many Raft writes one run may take (`duration_ms / write_interval_ms`): each is fsynced, replicated and kept
/// in every voter's log, so the count bounds memory.
pub const MAX_WRITES: u64 = 1_000_000;
/// How many times one periodic registry operation (cleanup, GC, probe round) may run: the plan holds them all.
pub const MAX_REGISTRY_ROUNDS: u64 = 10_000;

/// An inclusive range for the integer at a dotted key. A key inside an array of tables (`faults.at_ms`) is checked
/// in every element; a `{ min, max }` duration is checked at both ends.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub key: &'static str,
    pub min: u64,
    pub max: u64,
}

const fn limit(key: &'static str, min: u64, max: u64) -> Limit {
    Limit { key, min, max }
}

/// The numbers of a Vault scenario file.
pub const VAULT_SCENARIO: &[Limit] = &[
    limit("duration_ms", 1, WEEK_MS),
    limit("sim.tick_ms", 1, 60_000),
    limit("sim.min_latency_ms", 0, 60_000),
    limit("sim.max_latency_ms", 0, 60_000),
    // Vault scales Raft's 1 s election timeout by it; 0 would make every timeout zero.
    limit("topology.performance_multiplier", 1, 100),
    limit("topology.termination_grace_period_ms", 0, DAY_MS),
    limit("topology.write_interval_ms", 1, DAY_MS),
    limit("topology.unseal_ms", 0, DAY_MS),
    limit("topology.node_boot_ms", 0, DAY_MS),
    limit("topology.csi_register_ms", 0, DAY_MS),
    limit("topology.volume_file_count", 0, 1_000_000_000),
    limit("topology.chown_per_file_us", 0, 1_000_000),
    limit("topology.pod_attach_and_mount_timeout_ms", 1, DAY_MS),
    limit("topology.pdb_max_unavailable", 0, 7),
    limit("topology.walk_error_mean_interval_ms", 1, DAY_MS),
    limit("faults.at_ms", 0, WEEK_MS),
    limit("faults.heal_after_ms", 0, WEEK_MS),
    limit("faults.latency_ms", 0, DAY_MS),
    limit("probes.vault_health.interval_ms", 1, DAY_MS),
    limit("probes.vault_health.timeout_ms", 1, DAY_MS),
    // Zero rounds would alert before any probe saw a stuck node.
    limit("probes.vault_health.alert_after_rounds", 1, 1_000),
    limit("recovery.start_at_ms", 0, WEEK_MS),
    limit("expect.detected_within_ms", 0, WEEK_MS),
    limit("expect.recovered_within_ms", 0, WEEK_MS),
    limit("expect.voters_ready_at_end", 0, 7),
    limit("expect.sustained_health_ms", 0, WEEK_MS),
    limit("expect.liveness_budget_ms", 0, WEEK_MS),
];

/// The numbers of a registry scenario file.
pub const REGISTRY_SCENARIO: &[Limit] = &[
    limit("duration_ms", 1, REGISTRY_MAX_DURATION_MS),
    limit("sim.tick_ms", 1, 60_000),
    limit("sim.min_latency_ms", 0, 60_000),
    limit("sim.max_latency_ms", 0, 60_000),
    limit("cleanup.interval_ms", 1, REGISTRY_MAX_DURATION_MS),
    limit("cleanup.first_at_ms", 0, REGISTRY_MAX_DURATION_MS),
    limit("gc.interval_ms", 1, REGISTRY_MAX_DURATION_MS),
    limit("gc.first_at_ms", 0, REGISTRY_MAX_DURATION_MS),
    limit("probes.integrity.interval_ms", 1, REGISTRY_MAX_DURATION_MS),
    limit("probes.integrity.first_at_ms", 0, REGISTRY_MAX_DURATION_MS),
    // The walk's in-flight requests; each may buffer a document, so the count bounds memory too.
    limit("probes.integrity.concurrency", 1, 64),
    limit("probes.integrity.alert_after_rounds", 1, 1_000),
    limit("expect.detected_within_ms", 0, REGISTRY_MAX_DURATION_MS),
];

/// The numbers of a runbook file.
pub const RUNBOOK: &[Limit] = &[
    limit("params.sustained_health_ms", 0, WEEK_MS),
    limit("steps.retries", 0, 1_000),
    limit("steps.retry_wait_ms", 0, DAY_MS),
    // A zero poll would observe again at the same instant, forever.
    limit("steps.poll_ms", 1, DAY_MS),
    limit("steps.timeout_ms", 0, WEEK_MS),
    limit("steps.duration_ms", 0, WEEK_MS),
];

/// Checks every limit against `source`, which has already been parsed into its typed struct.
pub fn check(path: &Path, source: &str, limits: &[Limit]) -> Result<(), ParseError> {
    let Ok(document) = DeTable::parse(source) else {
        // The typed parse succeeded, so this cannot happen; the typed error is the better one anyway.
        return Ok(());
    };
    for limit in limits {
        let path_parts: Vec<&str> = limit.key.split('.').collect();
        let mut found = Vec::new();
        collect(document.get_ref(), &path_parts, &mut found);
        for (offset, value) in found {
            if value < i128::from(limit.min) || value > i128::from(limit.max) {
                return Err(ParseError::at_offset(
                    path,
                    source,
                    offset,
                    format!(
                        "expected {} between {} and {}, found {value}",
                        limit.key, limit.min, limit.max
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Fails unless `numerator / denominator` is at most `max`: how many steps, writes or rounds a run takes. The
/// error points at `located_at` (a dotted key), or at the file's start when the key is absent (a default).
#[allow(clippy::too_many_arguments)]
pub fn check_ratio(
    path: &Path,
    source: &str,
    located_at: &str,
    numerator: u64,
    denominator: u64,
    max: u64,
    what: &str,
) -> Result<(), ParseError> {
    let count = numerator / denominator.max(1);
    if count <= max {
        return Ok(());
    }
    Err(ParseError::at_offset(
        path,
        source,
        offset_of(source, located_at).unwrap_or(0),
        format!(
            "expected at most {max} {what} in a run, found {count} ({numerator} / {denominator})"
        ),
    ))
}

/// The counts a Vault scenario's numbers imply: simulated steps, Raft writes and probe rounds.
pub fn check_vault_ratios(
    path: &Path,
    source: &str,
    scenario: &crate::Scenario,
) -> Result<(), ParseError> {
    let duration_ms = scenario.duration_ms;
    check_ratio(
        path,
        source,
        "sim.tick_ms",
        duration_ms,
        scenario.sim.tick_ms,
        MAX_SIM_STEPS,
        "simulated steps (duration_ms / sim.tick_ms)",
    )?;
    check_ratio(
        path,
        source,
        "topology.write_interval_ms",
        duration_ms,
        scenario.topology.write_interval_ms,
        MAX_WRITES,
        "writes (duration_ms / topology.write_interval_ms)",
    )?;
    check_ratio(
        path,
        source,
        "probes.vault_health.interval_ms",
        duration_ms,
        scenario.probes.vault_health.interval_ms,
        MAX_SIM_STEPS,
        "probe rounds (duration_ms / probes.vault_health.interval_ms)",
    )
}

/// The counts a registry scenario's numbers imply: rounds of each periodic operation, which the plan holds.
pub fn check_registry_ratios(
    path: &Path,
    source: &str,
    scenario: &crate::registry::scenario::RegistryScenario,
) -> Result<(), ParseError> {
    let duration_ms = scenario.duration_ms;
    for (key, interval_ms) in [
        ("cleanup.interval_ms", scenario.cleanup.interval_ms),
        ("gc.interval_ms", scenario.gc.interval_ms),
        (
            "probes.integrity.interval_ms",
            scenario.probes.integrity.interval_ms,
        ),
    ] {
        check_ratio(
            path,
            source,
            key,
            duration_ms,
            interval_ms,
            MAX_REGISTRY_ROUNDS,
            &format!("rounds (duration_ms / {key})"),
        )?;
    }
    // The registry world steps turmoil only while a walk runs, so its tick bounds no loop of its own.
    Ok(())
}

/// The byte offset of the value at a dotted key (its first occurrence), if the file sets it.
pub fn offset_of(source: &str, key: &str) -> Option<usize> {
    let document = DeTable::parse(source).ok()?;
    let parts: Vec<&str> = key.split('.').collect();
    let mut spans = Vec::new();
    collect_spans(document.get_ref(), &parts, &mut spans);
    spans.into_iter().next()
}

fn collect(table: &DeTable<'_>, key: &[&str], found: &mut Vec<(usize, i128)>) {
    let mut spans = Vec::new();
    collect_values(table, key, &mut spans);
    for value in spans {
        push_integers(value, found);
    }
}

fn collect_spans(table: &DeTable<'_>, key: &[&str], spans: &mut Vec<usize>) {
    let mut values = Vec::new();
    collect_values(table, key, &mut values);
    spans.extend(values.into_iter().map(|value| value.span().start));
}

/// Every value at `key` below `table`, walking into arrays of tables.
fn collect_values<'a, 'i>(
    table: &'a DeTable<'i>,
    key: &[&str],
    out: &mut Vec<&'a Spanned<DeValue<'i>>>,
) {
    let Some((first, rest)) = key.split_first() else {
        return;
    };
    let Some(value) = table
        .iter()
        .find(|(name, _)| name.get_ref().as_ref() == *first)
        .map(|(_, value)| value)
    else {
        return;
    };
    if rest.is_empty() {
        out.push(value);
        return;
    }
    descend(value, rest, out);
}

fn descend<'a, 'i>(
    value: &'a Spanned<DeValue<'i>>,
    rest: &[&str],
    out: &mut Vec<&'a Spanned<DeValue<'i>>>,
) {
    match value.get_ref() {
        DeValue::Table(inner) => collect_values(inner, rest, out),
        DeValue::Array(items) => {
            for item in items.iter() {
                descend(item, rest, out);
            }
        }
        _ => {}
    }
}

/// An integer value, or both ends of a `{ min, max }` table, with where each is written.
fn push_integers(value: &Spanned<DeValue<'_>>, found: &mut Vec<(usize, i128)>) {
    match value.get_ref() {
        DeValue::Integer(integer) => {
            if let Ok(number) = i128::from_str_radix(integer.as_str(), integer.radix()) {
                found.push((value.span().start, number));
            }
        }
        DeValue::Table(table) => {
            for (name, inner) in table.iter() {
                if matches!(name.get_ref().as_ref(), "min" | "max") {
                    push_integers(inner, found);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &[Limit] = &[limit("a.b", 1, 10), limit("items.at_ms", 0, 100)];

    #[test]
    fn values_out_of_range_are_located() {
        let source = "[a]\nb = 11\n";
        let error = check(Path::new("f.toml"), source, LIMITS).unwrap_err();
        assert_eq!((error.line, error.column), (2, 5), "{error}");
        assert!(error.message.contains("a.b between 1 and 10"), "{error}");
        assert!(check(Path::new("f.toml"), "[a]\nb = 10\n", LIMITS).is_ok());
    }

    #[test]
    fn arrays_of_tables_and_ranges_are_checked_at_both_ends() {
        let ok = "[[items]]\nat_ms = 5\n[[items]]\nat_ms = { min = 0, max = 100 }\n";
        assert!(check(Path::new("f.toml"), ok, LIMITS).is_ok());
        let bad =
            "[[items]]\nat_ms = 5\n[[items]]\nat_ms = { min = 0, max = 18446744073709551615 }\n";
        let error = check(Path::new("f.toml"), bad, LIMITS).unwrap_err();
        assert_eq!(error.line, 4, "{error}");
        assert!(error.message.contains("18446744073709551615"), "{error}");
    }

    #[test]
    fn a_ratio_over_its_bound_points_at_its_key() {
        let source = "duration_ms = 100\n[sim]\ntick_ms = 1\n";
        let error = check_ratio(
            Path::new("f.toml"),
            source,
            "sim.tick_ms",
            100,
            1,
            10,
            "steps",
        )
        .unwrap_err();
        assert_eq!((error.line, error.column), (3, 11), "{error}");
        assert!(check_ratio(
            Path::new("f.toml"),
            source,
            "sim.tick_ms",
            100,
            10,
            10,
            "steps"
        )
        .is_ok());
    }
}
