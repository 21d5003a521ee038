//! `firedrill check`: the safe runbook holds, each unsafe runbook fails with the rule it breaks and a replay
//! that reproduces it, malformed runbooks are located, and the audit reports the runbook's broken claims.

use std::process::Command;

fn firedrill(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .env_remove("FIREDRILL_SEED")
        .env_remove("FIREDRILL_SEEDS")
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_safe_runbook_holds_and_prints_figures() {
    let (code, stdout, _) = firedrill(&[
        "check",
        "vault-stuck-leader",
        "--seeds",
        "60",
        "--no-progress",
    ]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("SEEDS=0..60\n"), "{stdout}");
    for needle in [
        "PASS: every rule held on 60 seeds",
        "pass no_force_delete_before_unmount",
        "exercised on",
        "n/a  pvc_finalizer_before_migration_delete",
        "runbook steps",
        "2c-check-d-state",
        "never reached: ",
        "time to recover",
        "node reboots",
        "destructive actions",
    ] {
        assert!(stdout.contains(needle), "missing {needle}: {stdout}");
    }
}

#[test]
fn an_unsafe_runbook_fails_with_a_replayable_shrunk_counterexample() {
    let (code, stdout, _) = firedrill(&[
        "check",
        "vault-stuck-leader",
        "--seeds",
        "30",
        "--no-progress",
        "--format",
        "json",
        "--runbook",
        "unsafe/skip-lazy-unmount",
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let counterexample = &report["counterexample"];
    assert_eq!(counterexample["rule"], "no_force_delete_before_unmount");
    assert_eq!(
        counterexample["shrunk_schedule"]["faults"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The shrunk schedule replays to the same broken rule.
    let replay = counterexample["replay_shrunk"].as_str().unwrap();
    let schedule = serde_json::to_string(&counterexample["shrunk_schedule"]).unwrap();
    assert!(
        replay.contains("--runbook unsafe/skip-lazy-unmount"),
        "{replay}"
    );
    let seed = counterexample["seed"].to_string();
    let (code, stdout, _) = firedrill(&[
        "run",
        "vault-stuck-leader",
        "--seed",
        &seed,
        "--runbook",
        "unsafe/skip-lazy-unmount",
        "--schedule",
        &schedule,
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL no_force_delete_before_unmount"),
        "{stdout}"
    );
}

#[test]
fn a_malformed_runbook_is_located_and_exits_2() {
    let path =
        std::env::temp_dir().join(format!("firedrill-bad-runbook-{}.toml", std::process::id()));
    let text = include_str!("../scenarios/runbooks/vault-safe-restart.toml")
        .replace("do = \"lazy_unmount\"", "do = \"umount_everything\"");
    let line = text
        .lines()
        .position(|l| l.contains("umount_everything"))
        .unwrap()
        + 1;
    std::fs::write(&path, text).unwrap();
    let (code, _, stderr) = firedrill(&[
        "check",
        "vault-stuck-leader",
        "--seeds",
        "1",
        "--runbook",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    let expected = format!("{}:{line}:6: ", path.display());
    assert!(
        stderr.contains(&expected),
        "expected {expected} in {stderr}"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn the_audit_reports_the_claims_upstream_behaviour_breaks() {
    let (code, stdout, _) = firedrill(&[
        "check",
        "vault-stuck-leader",
        "--seeds",
        "10",
        "--no-progress",
        "--audit",
    ]);
    assert_eq!(code, Some(0), "{stdout}");
    for needle in [
        "BROKEN [2c-lazy-unmount]",
        "BROKEN [3-boot-order/3-stop-start]",
        "driven by hypotheses.lazy_umount_releases_d_state",
        "left D state after the lazy unmount in 0 of",
    ] {
        assert!(stdout.contains(needle), "missing {needle}: {stdout}");
    }
    // Each claim's control, under the runbook's own beliefs, must hold, or the measurement proves nothing.
    assert_eq!(stdout.matches("control (holds)").count(), 2, "{stdout}");
}

#[test]
fn a_rule_no_seed_exercised_fails_the_check() {
    // vault-healthy's runbook never acts; without its not_applicable list the action rules prove nothing.
    let text = include_str!("../scenarios/catalog/vault-healthy.toml");
    let cut = text.find("[expect.not_applicable]").unwrap();
    let path = std::env::temp_dir().join(format!(
        "firedrill-no-not-applicable-{}.toml",
        std::process::id()
    ));
    std::fs::write(&path, &text[..cut]).unwrap();
    let (code, stdout, _) = firedrill(&[
        "check",
        path.to_str().unwrap(),
        "--seeds",
        "4",
        "--no-progress",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("NOT EXERCISED: "), "{stdout}");
    assert!(
        stdout.contains("no_force_delete_before_unmount"),
        "{stdout}"
    );
}

#[test]
fn mutating_a_runbook_that_already_fails_is_refused() {
    // Mutants of a runbook that breaks a rule itself cannot be judged: every one would be "killed".
    let (code, _, stderr) = firedrill(&[
        "mutate",
        "vault-storage-migration",
        "--runbook",
        "unsafe/delete-before-finalizer",
        "--seeds",
        "3",
        "--no-progress",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("fails vault-storage-migration itself"),
        "{stderr}"
    );
}
