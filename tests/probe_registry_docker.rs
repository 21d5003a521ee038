//! `firedrill probe registry` end to end: the binary against a real registry container, its exit codes and
//! outputs. Enabled by the `docker-tests` feature; with it on, an unreachable Docker fails the test.
#![cfg(feature = "docker-tests")]

use firedrill_harness::docker::{populate, RegistryContainer};
use std::process::Command;

fn firedrill(args: &[&str]) -> (u8, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .env_remove("FIREDRILL_REGISTRY_TOKEN")
        .env_remove("FIREDRILL_REGISTRY_USERNAME")
        .env_remove("FIREDRILL_REGISTRY_PASSWORD")
        .output()
        .expect("the firedrill binary runs");
    let code = output.status.code().expect("no signal") as u8;
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    (code, text(output.stdout), text(output.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_probes_a_real_registry() {
    let registry = RegistryContainer::start()
        .await
        .unwrap_or_else(|error| panic!("the docker feature is on, so Docker must work: {error}"));
    println!(
        "registry image {} runs {}",
        registry.image(),
        registry.version()
    );
    let fixture = populate(registry.endpoint(), 5, 4)
        .await
        .expect("pushing the fixture");
    let url = registry.url();

    let (code, stdout, stderr) =
        firedrill(&["probe", "registry", "--url", &url, "--format", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(report["repositories"], 5);
    assert_eq!(report["tags"].as_u64().unwrap() as usize, fixture.tags());
    assert_eq!(report["broken"], serde_json::json!([]));
    assert!(report["requests"].as_u64().unwrap() > 0);

    let (code, stdout, _) = firedrill(&[
        "probe",
        "registry",
        "--url",
        &url,
        "--image",
        "fixture/app-001:v1",
    ]);
    assert_eq!(code, 0, "{stdout}");

    let target = fixture.repository("fixture/app-001");
    registry
        .storage()
        .remove_revision_link(&target.name, &target.index_children[0].manifest)
        .unwrap();
    let registry = registry.restart().await.expect("restarting the registry");
    let url = registry.url();

    let (code, stdout, _) = firedrill(&["probe", "registry", "--url", &url, "--format", "json"]);
    assert_eq!(code, 1, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let broken = &report["broken"][0];
    assert_eq!(
        broken["reference"],
        target.index_children[0].manifest.as_str()
    );
    assert_eq!(
        (broken["kind"].as_str(), broken["status"].as_u64()),
        (Some("manifest"), Some(404))
    );
    assert_eq!(broken["parent"], target.index.as_str());

    // The post-push verify step fails on the broken image and on a tag that does not exist.
    let (code, stdout, _) = firedrill(&[
        "probe",
        "registry",
        "--url",
        &url,
        "--image",
        "fixture/app-001:v1",
    ]);
    assert_eq!(code, 1, "{stdout}");
    let (code, stdout, _) = firedrill(&[
        "probe",
        "registry",
        "--url",
        &url,
        "--image",
        "fixture/app-002:nope",
    ]);
    assert_eq!(code, 1, "{stdout}");

    let (code, stdout, _) = firedrill(&[
        "probe",
        "registry",
        "--url",
        &url,
        "--format",
        "prometheus",
        "--instance",
        "r1",
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("registry_manifest_integrity_failures{instance=\"r1\"} 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("registry_manifest_integrity_catalog_accessible{instance=\"r1\"} 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("registry_manifest_integrity_repos_checked{instance=\"r1\"} 5"),
        "{stdout}"
    );

    // A registry that cannot be reached is a connection error: exit 2, with the gauges saying so.
    drop(registry);
    let (code, stdout, stderr) = firedrill(&[
        "probe",
        "registry",
        "--url",
        &url,
        "--format",
        "prometheus",
        "--timeout",
        "2s",
    ]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stdout.contains("registry_manifest_integrity_catalog_accessible{instance="),
        "{stdout}"
    );
    assert!(stderr.contains("unreachable"), "{stderr}");
}
