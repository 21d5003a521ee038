//! The `firedrill` binary on registry drills: the simulated run passes and states its registry, and a malformed
//! registry scenario file is located and exits 2.

use std::process::Command;

fn firedrill(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .env_remove("FIREDRILL_SEED")
        .output()
        .expect("the binary runs")
}

#[test]
fn the_registry_drill_passes_in_simulation_and_states_its_registry() {
    let output = firedrill(&["run", "registry-orphan-index", "--seed", "1"]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for needle in [
        "SEED=1\n",
        "registry:  distribution 2.8.3",
        "RegistryManifestIntegrityFailure firing",
        "naive_scan_blind_to_orphans",
        "PASS",
    ] {
        assert!(stdout.contains(needle), "missing {needle}: {stdout}");
    }
}

#[test]
fn a_malformed_registry_file_is_located_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("firedrill-cli-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    let text = include_str!("../scenarios/catalog/registry-orphan-index.toml")
        .replace("mode = \"rmtree\"", "mode = \"shred\"");
    std::fs::write(&path, text).unwrap();
    let output = firedrill(&["run", path.to_str().unwrap(), "--seed", "1"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml:"), "{stderr}");
    assert!(stderr.contains("shred"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Vault drills run on real OpenBao with `--backend docker` (tests/vault_docker.rs); a build without the feature
/// (`--no-default-features`) cannot start that backend, which is bad input (exit 2) with the way to fix it.
#[cfg(not(feature = "docker"))]
#[test]
fn the_docker_backend_of_vault_drills_needs_the_docker_feature() {
    let output = firedrill(&["run", "vault-healthy", "--seed", "1", "--backend", "docker"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--features docker"), "{stderr}");
}

/// The docker backend is in the default build; without a reachable Docker at run time, a run is bad input (exit 2)
/// that says Docker is needed, for a registry drill and for a Vault drill alike.
#[cfg(feature = "docker")]
#[test]
fn the_docker_backend_without_a_reachable_docker_is_bad_input() {
    for scenario in ["registry-orphan-index", "vault-healthy"] {
        let output = Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .args(["run", scenario, "--seed", "1", "--backend", "docker"])
            .env("DOCKER_HOST", "unix:///nonexistent/firedrill-test.sock")
            .env_remove("FIREDRILL_SEED")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{scenario}: {stderr}");
        assert!(
            stderr.contains("--backend docker needs"),
            "{scenario}: {stderr}"
        );
    }
}
