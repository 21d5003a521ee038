//! Issue 10 at the CLI tier: hostile flags and scenario values exit 2 with a located error, a closed stdout
//! ends the command quietly, SIGINT during a sweep reports what was done, and replay lines are quoted.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn firedrill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .env_remove("FIREDRILL_SEED")
        .env_remove("FIREDRILL_SEEDS")
        .output()
        .expect("the binary runs")
}

fn assert_usage_error(args: &[&str], needle: &str) {
    let output = firedrill(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn hostile_seed_counts_exit_2() {
    for command in ["sweep", "check"] {
        for seeds in ["18446744073709551615", "1000000000", "0"] {
            assert_usage_error(
                &[command, "vault-healthy", "--seeds", seeds],
                "expected a number of seeds",
            );
        }
    }
}

#[test]
fn hostile_job_counts_exit_2() {
    for command in ["sweep", "check"] {
        for jobs in ["18446744073709551615", "0"] {
            assert_usage_error(
                &[command, "vault-healthy", "--seeds", "2", "--jobs", jobs],
                "expected a number of jobs",
            );
        }
    }
}

#[test]
fn a_seed_range_past_u64_max_exits_2_instead_of_running_seed_0() {
    for command in ["sweep", "check"] {
        assert_usage_error(
            &[
                command,
                "vault-healthy",
                "--start",
                "18446744073709551614",
                "--seeds",
                "3",
            ],
            "runs past the last seed",
        );
    }
}

fn write_scenario(name: &str, from: &str, to: &str) -> tempfile::TempPath {
    let text = firedrill_scenarios::catalog::ENTRIES
        .iter()
        .find(|(entry, _)| *entry == name)
        .unwrap()
        .1
        .replacen(from, to, 1);
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.into_temp_path()
}

#[test]
fn hostile_scenario_values_exit_2_located() {
    let cases = [
        (
            "vault-stuck-leader",
            "performance_multiplier = 5",
            "performance_multiplier = 0",
        ),
        (
            "vault-stuck-leader",
            "tick_ms = 500",
            "tick_ms = 18446744073709551615",
        ),
        (
            "vault-stuck-leader",
            "duration_ms = 1_800_000",
            "duration_ms = 18446744073709551000",
        ),
        (
            "registry-healthy",
            "concurrency = 8",
            "concurrency = 18446744073709551615",
        ),
        (
            "registry-healthy",
            "duration_ms = 28_800_000",
            "duration_ms = 18446744073709551615",
        ),
    ];
    for (name, from, to) in cases {
        let path = write_scenario(name, from, to);
        let path_text = path.to_str().unwrap();
        let output = firedrill(&["run", path_text, "--seed", "1"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{to}: {stderr}");
        // file:line:col, with a line past the first.
        let located = stderr
            .split(&format!("{path_text}:"))
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|line| line.parse::<usize>().ok());
        assert!(located.is_some_and(|line| line > 1), "{to}: {stderr}");
    }
}

#[test]
fn a_closed_stdout_exits_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["sweep", "vault-healthy", "--seeds", "3", "--no-progress"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closing the read end before the first line is written, as `| head -0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn a_schedule_is_checked_against_its_scenario_and_its_seed_is_printed() {
    let schedule = r#"{"seed":42,"leader":"vault-7","faults":[],"hypotheses":{"lazy_umount_releases_d_state":true,"force_delete_corrupts_nfs_client":true,"qm_reset_is_noop":true},"stale_bootdisk_nodes":[]}"#;
    assert_usage_error(&["run", "vault-healthy", "--schedule", schedule], "vault-7");
    let good = schedule.replace("vault-7", "vault-0");
    assert_usage_error(
        &["run", "vault-healthy", "--seed", "7", "--schedule", &good],
        "differs from the schedule's seed 42",
    );
    let output = firedrill(&["run", "vault-healthy", "--schedule", &good]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("SEED=42\n"), "{stdout}");
}

#[test]
fn an_unknown_runbook_is_called_a_runbook() {
    assert_usage_error(
        &[
            "check",
            "vault-stuck-leader",
            "--runbook",
            "no-such-runbook",
            "--seeds",
            "1",
        ],
        "unknown runbook \"no-such-runbook\"",
    );
}

#[test]
fn a_zero_probe_timeout_exits_2() {
    assert_usage_error(
        &[
            "probe",
            "vault",
            "--endpoint",
            "http://127.0.0.1:1",
            "--timeout",
            "0s",
        ],
        "above 0",
    );
}

#[test]
fn invalid_ports_exit_2() {
    for url in [
        "http://127.0.0.1:99999",
        "http://127.0.0.1:65536",
        "http://127.0.0.1:-1",
        "http://127.0.0.1:",
    ] {
        assert_usage_error(&["probe", "vault", "--endpoint", url], "port");
        assert_usage_error(&["probe", "registry", "--url", url], "port");
    }
}

#[test]
fn sigint_during_a_sweep_reports_the_seeds_done_and_exits_130() {
    let child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "sweep",
            "vault-stuck-leader",
            "--seeds",
            "100000",
            "--jobs",
            "1",
            "--no-progress",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("INTERRUPTED after"), "{stderr}");
    assert!(stderr.contains("of 100000 runs"), "{stderr}");
}

#[test]
fn sigint_during_a_check_exits_130() {
    let child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "check",
            "vault-stuck-leader",
            "--runbook",
            "unsafe/force-delete-first",
            "--seeds",
            "100000",
            "--jobs",
            "1",
            "--no-progress",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("INTERRUPTED after"), "{stderr}");
}

#[test]
fn a_full_disk_is_one_error_line_and_exit_2_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        panic!("/dev/full is needed to show a full disk");
    };
    let output = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .arg("list")
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: cannot write output"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
