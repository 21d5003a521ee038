//! Runbooks written in the project's format the way an outsider would (`tests/runbooks/`): every unsafe one
//! must fail `firedrill check` by the rule that judges its harm, every safe variation must pass, and every slow
//! one keeps every rule but the one expectation it names. Each file names the incident it is checked against and,
//! when unsafe or slow, the rule expected to fail.

use std::path::Path;
use std::process::Command;

/// Seeds per runbook: enough for swarm testing to draw the stale boot disks and beliefs the harms need.
const SEEDS: &str = "30";

fn header(text: &str, prefix: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .map(|rest| rest.trim().trim_end_matches('.').to_string())
}

fn check(path: &Path) -> (Option<i32>, serde_json::Value) {
    let text = std::fs::read_to_string(path).unwrap();
    let scenario = header(&text, "# Checked against ").expect("each file names its incident");
    let output = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "check",
            &scenario,
            "--runbook",
            path.to_str().unwrap(),
            "--seeds",
            SEEDS,
            "--no-progress",
            "--format",
            "json",
        ])
        .env_remove("FIREDRILL_SEEDS")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{}: {e}: {stdout}", path.display()));
    (output.status.code(), report)
}

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no runbooks in {dir}");
    files
}

#[test]
fn every_unsafe_runbook_fails_by_the_rule_that_judges_its_harm() {
    for path in files("tests/runbooks/unsafe") {
        let text = std::fs::read_to_string(&path).unwrap();
        let rule = header(&text, "# Caught by: ").expect("each unsafe file names its rule");
        let (code, report) = check(&path);
        assert_eq!(code, Some(1), "{} passed: {report}", path.display());
        let failed = failed_rules(&report);
        assert!(
            failed.contains(&rule.as_str()),
            "{} broke {failed:?}, expected {rule}",
            path.display()
        );
    }
}

#[test]
fn every_safe_variation_passes() {
    for path in files("tests/runbooks/safe") {
        let (code, report) = check(&path);
        assert_eq!(code, Some(0), "{} failed: {report}", path.display());
        assert_eq!(report["verdict"], "pass");
    }
}

#[test]
fn every_slow_variation_misses_only_the_expectation_it_names() {
    for path in files("tests/runbooks/slow") {
        let text = std::fs::read_to_string(&path).unwrap();
        let rule = header(&text, "# Misses: ").expect("each slow file names what it misses");
        let (code, report) = check(&path);
        assert_eq!(code, Some(1), "{} passed: {report}", path.display());
        let failed = failed_rules(&report);
        assert_eq!(failed, vec![rule.as_str()], "{}", path.display());
    }
}

/// The rules a `check --format json` report failed.
fn failed_rules(report: &serde_json::Value) -> Vec<&str> {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "fail")
        .map(|r| r["rule"].as_str().unwrap())
        .collect()
}
