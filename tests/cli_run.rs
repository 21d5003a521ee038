//! The `firedrill` binary's contract: seed first, verdicts, JSON fields, trace files, and exit codes.

use std::process::Command;

fn firedrill(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .env_remove("FIREDRILL_SEED")
        .output()
        .expect("the binary runs")
}

#[test]
fn run_prints_the_seed_first_and_passes() {
    let output = firedrill(&["run", "vault-stuck-leader", "--seed", "7"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("SEED=7\n"), "{stdout}");
    for needle in [
        "VaultRaftLeaderStuck firing",
        "delete_pod",
        "detected:",
        "recovered:",
        "PASS",
    ] {
        assert!(stdout.contains(needle), "missing {needle}: {stdout}");
    }
}

#[test]
fn the_seed_comes_from_the_environment_too() {
    let output = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["run", "vault-healthy"])
        .env("FIREDRILL_SEED", "11")
        .output()
        .unwrap();
    assert!(String::from_utf8(output.stdout)
        .unwrap()
        .starts_with("SEED=11\n"));
}

#[test]
fn json_output_has_the_documented_fields() {
    let output = firedrill(&[
        "run",
        "vault-stuck-leader",
        "--seed",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .starts_with("SEED=3"));
    let verdict: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON object");
    for field in [
        "scenario",
        "seed",
        "verdict",
        "simulated_ms",
        "wall_ms",
        "detected_at_ms",
        "recovered_at_ms",
        "actions",
    ] {
        assert!(verdict.get(field).is_some(), "missing {field}: {verdict}");
    }
    assert_eq!(verdict["verdict"], "pass");
    assert_eq!(verdict["seed"], 3);
    assert!(verdict["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == "delete_pod"));
}

#[test]
fn trace_files_are_identical_for_one_seed() {
    let dir = std::env::temp_dir().join(format!("firedrill-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let paths: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|n| dir.join(format!("{n}.jsonl")).display().to_string())
        .collect();
    for (path, seed) in paths.iter().zip(["7", "7", "8"]) {
        let output = firedrill(&["run", "vault-stuck-leader", "--seed", seed, "--trace", path]);
        assert_eq!(output.status.code(), Some(0));
    }
    let read = |i: usize| std::fs::read(&paths[i]).unwrap();
    assert_eq!(read(0), read(1));
    assert_ne!(read(0), read(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_malformed_scenario_is_located_and_exits_2() {
    let path = std::env::temp_dir().join(format!("firedrill-bad-{}.toml", std::process::id()));
    let text = include_str!("../scenarios/catalog/vault-stuck-leader.toml")
        .replace("voters = 3", "voters = \"three\"");
    std::fs::write(&path, text).unwrap();
    let output = firedrill(&["run", path.to_str().unwrap(), "--seed", "1"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let expected = format!("{}:14:10: ", path.display());
    assert!(
        stderr.contains(&expected),
        "expected {expected} in {stderr}"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(firedrill(&["run"]).status.code(), Some(2));
    assert_eq!(
        firedrill(&["run", "no-such-scenario", "--seed", "1"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        firedrill(&["run", "vault-healthy", "--seed", "minus-one"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        firedrill(&["probe", "vault", "--endpoint", "not a url"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn list_names_every_scenario_first() {
    let output = firedrill(&["list"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let names: Vec<&str> = stdout
        .lines()
        .map(|line| line.split('\t').next().unwrap())
        .collect();
    assert!(
        names.contains(&"vault-stuck-leader") && names.contains(&"vault-healthy"),
        "{stdout}"
    );
}

#[test]
fn sweep_passes_and_reports_figures() {
    let output = firedrill(&[
        "sweep",
        "--all",
        "--seeds",
        "10",
        "--no-progress",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["verdict"], "pass");
    let stuck = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scenario"] == "vault-stuck-leader")
        .unwrap();
    assert_eq!(stuck["passed"], 10);
    assert!(stuck["detect_ms"]["p50"].as_u64().unwrap() > 0);
}

#[test]
fn sweep_reports_failures_with_a_replay_command() {
    // A scenario whose expectation cannot hold: detection within 1 ms.
    let path = std::env::temp_dir().join(format!("firedrill-strict-{}.toml", std::process::id()));
    let text = include_str!("../scenarios/catalog/vault-stuck-leader.toml")
        .replace("detected_within_ms = 60_000", "detected_within_ms = 1");
    std::fs::write(&path, text).unwrap();
    let output = firedrill(&[
        "sweep",
        path.to_str().unwrap(),
        "--seeds",
        "3",
        "--no-progress",
    ]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("broke detected_within"), "{stdout}");
    assert!(stdout.contains("--seed 0"), "{stdout}");
    let _ = std::fs::remove_file(&path);
}
