//! Issue 10, items 4, 5, 6 and 11: every hostile number a scenario or runbook file can hold is refused at load
//! with its `file:line:col`, instead of hanging, panicking or allocating without bound.

use firedrill_scenarios::catalog::{self, ENTRIES};
use firedrill_scenarios::runbook::RunbookFile;
use firedrill_scenarios::{Drill, ParseError};
use std::path::Path;

const MAX: &str = "18446744073709551615";

fn catalog_text(name: &str) -> &'static str {
    ENTRIES.iter().find(|(entry, _)| *entry == name).unwrap().1
}

/// Parses `name`'s catalog text with `from` replaced by `to` (which must occur), and returns the error.
fn error_with(name: &str, from: &str, to: &str) -> ParseError {
    let text = catalog_text(name);
    assert!(text.contains(from), "{name} has no {from:?}");
    let text = text.replacen(from, to, 1);
    match Drill::parse(Path::new("x.toml"), &text) {
        Ok(_) => panic!("{name} with {to:?} was accepted"),
        Err(error) => error,
    }
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

/// Asserts the error names `key` and points at the line where `to` was written.
fn assert_located(name: &str, from: &str, to: &str, key: &str) {
    let error = error_with(name, from, to);
    let text = catalog_text(name).replacen(from, to, 1);
    assert!(error.message.contains(key), "{error}");
    let written = to.lines().last().unwrap();
    assert_eq!(error.line, line_of(&text, written), "{error}");
    assert!(error.column > 1, "{error}");
}

#[test]
fn a_vault_duration_near_u64_max_is_refused() {
    assert_located(
        "vault-stuck-leader",
        "duration_ms = 1_800_000",
        &format!("duration_ms = {MAX}"),
        "duration_ms",
    );
}

#[test]
fn a_zero_duration_is_refused() {
    assert_located(
        "vault-stuck-leader",
        "duration_ms = 1_800_000",
        "duration_ms = 0",
        "duration_ms",
    );
    assert_located(
        "registry-healthy",
        "duration_ms = 28_800_000",
        "duration_ms = 0",
        "duration_ms",
    );
}

#[test]
fn a_registry_duration_of_u64_max_is_refused() {
    assert_located(
        "registry-healthy",
        "duration_ms = 28_800_000",
        &format!("duration_ms = {MAX}"),
        "duration_ms",
    );
}

#[test]
fn a_zero_write_interval_is_refused() {
    assert_located(
        "vault-stuck-leader",
        "write_interval_ms = 5_000",
        "write_interval_ms = 0",
        "write_interval_ms",
    );
    // A small but non-zero interval still implies millions of writes over the run.
    assert_located(
        "vault-stuck-leader",
        "write_interval_ms = 5_000",
        "write_interval_ms = 1",
        "writes",
    );
}

#[test]
fn a_one_ms_integrity_interval_is_refused() {
    assert_located(
        "registry-healthy",
        "interval_ms = 900_000",
        "interval_ms = 1",
        "probes.integrity.interval_ms",
    );
}

#[test]
fn a_tick_of_u64_max_is_refused() {
    assert_located(
        "vault-stuck-leader",
        "tick_ms = 500",
        &format!("tick_ms = {MAX}"),
        "tick_ms",
    );
}

#[test]
fn a_performance_multiplier_of_zero_is_refused() {
    assert_located(
        "vault-stuck-leader",
        "performance_multiplier = 5",
        "performance_multiplier = 0",
        "performance_multiplier",
    );
}

#[test]
fn a_registry_concurrency_of_u64_max_is_refused() {
    let error = error_with(
        "registry-healthy",
        "concurrency = 8",
        &format!("concurrency = {MAX}"),
    );
    assert!(error.column > 1, "{error}");
    assert_eq!(
        error.line,
        line_of(catalog_text("registry-healthy"), "concurrency = 8"),
        "{error}"
    );
}

#[test]
fn a_heal_after_of_u64_max_is_refused() {
    assert_located(
        "vault-stuck-leader",
        "heal_after_ms = { min = 600_000, max = 1_100_000 }",
        &format!("heal_after_ms = {{ min = 600_000, max = {MAX} }}"),
        "heal_after_ms",
    );
}

#[test]
fn a_node_boot_of_u64_max_is_refused() {
    assert_located(
        "vault-stuck-leader",
        "unseal_ms = 5_000",
        &format!("unseal_ms = 5_000\nnode_boot_ms = {MAX}"),
        "node_boot_ms",
    );
}

#[test]
fn zero_alert_rounds_are_refused() {
    assert_located(
        "vault-stuck-leader",
        "alert_after_rounds = 2",
        "alert_after_rounds = 0",
        "alert_after_rounds",
    );
}

#[test]
fn an_empty_node_list_points_at_the_key_not_at_1_1() {
    let error = error_with(
        "vault-stuck-leader",
        "nodes = [\"k8s-node1\", \"k8s-node2\", \"k8s-node3\", \"k8s-node4\"]",
        "nodes = []",
    );
    assert!(error.line > 1, "{error}");
}

const RUNBOOK: &str = r#"
name = "r"
description = "d"

[[steps]]
id = "a"
do = "external_health"
until = "health_200"
poll_ms = 1000
timeout_ms = 60000

[[steps]]
id = "b"
do = "finish"
outcome = "recovered"
"#;

#[test]
fn an_until_timeout_of_u64_max_is_refused() {
    let text = RUNBOOK.replace("timeout_ms = 60000", &format!("timeout_ms = {MAX}"));
    let error = RunbookFile::parse(Path::new("r.toml"), &text).unwrap_err();
    assert!(error.message.contains("timeout_ms"), "{error}");
    assert_eq!((error.line, error.column), (10, 14), "{error}");
    let text = RUNBOOK.replace("poll_ms = 1000", "poll_ms = 0");
    let error = RunbookFile::parse(Path::new("r.toml"), &text).unwrap_err();
    assert!(error.message.contains("poll_ms"), "{error}");
}

#[test]
fn a_100_000_step_runbook_validates_in_linear_time() {
    let mut text = String::from("name = \"r\"\ndescription = \"d\"\n");
    for index in 0..100_000 {
        text.push_str(&format!(
            "[[steps]]\nid = \"s{index}\"\ndo = \"probe_voters\"\nthen = \"s{}\"\n",
            (index + 1) % 100_000
        ));
    }
    let started = std::time::Instant::now();
    let runbook = RunbookFile::parse(Path::new("r.toml"), &text).unwrap();
    assert_eq!(runbook.steps.len(), 100_000);
    // Quadratic validation took about 30 s; linear takes well under a second in a release build.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "validation took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_catalog_still_loads_under_the_limits() {
    for (name, _) in ENTRIES {
        catalog::load_drill(name).unwrap_or_else(|error| panic!("{error}"));
    }
    for (name, _) in catalog::RUNBOOKS {
        catalog::load_runbook(name).unwrap_or_else(|error| panic!("{error}"));
    }
}
