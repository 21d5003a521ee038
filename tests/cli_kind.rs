//! `--backend kind` without a cluster: a context off the allowlist is refused (exit 2) before anything is
//! contacted; an allowed one without `--act-on-cluster` prints the plan and contacts nothing; with it, a cluster
//! that does not answer fails loudly (exit 2), never a pass. The kubeconfig is a temporary file whose server is
//! a loopback port.

use std::process::{Command, Output};

fn firedrill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("FIREDRILL_OPENBAO_IMAGE")
        .env_remove("FIREDRILL_HANGFS_IMAGE")
        .output()
        .expect("firedrill runs")
}

/// A kubeconfig with contexts `prod` and `kind-x`, both pointing at `server`.
fn kubeconfig(dir: &tempfile::TempDir, server: &str) -> String {
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: prod\n\
             clusters:\n- name: c\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\n\
             users:\n- name: u\n  user:\n    token: t\n\
             contexts:\n- name: prod\n  context: {{cluster: c, user: u}}\n\
             - name: kind-x\n  context: {{cluster: c, user: u}}\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[cfg(feature = "kind")]
mod with_the_backend {
    use super::*;
    use std::net::TcpListener;

    /// A loopback listener that no one should connect to during the run.
    fn untouched_server() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let server = format!("https://{}", listener.local_addr().unwrap());
        (listener, server)
    }

    fn assert_not_contacted(listener: &TcpListener) {
        match listener.accept() {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok((_, peer)) => panic!("the run connected to the cluster from {peer}"),
            Err(error) => panic!("accept failed: {error}"),
        }
    }

    #[test]
    fn a_context_off_the_allowlist_is_refused_with_exit_2_and_nothing_contacted() {
        let dir = tempfile::tempdir().unwrap();
        let (listener, server) = untouched_server();
        let config = kubeconfig(&dir, &server);
        for context in [vec!["--context", "prod"], vec![]] {
            let mut args = vec![
                "run",
                "vault-stuck-leader",
                "--seed",
                "1",
                "--backend",
                "kind",
                "--kubeconfig",
                &config,
                "--act-on-cluster",
            ];
            args.extend(context);
            let output = firedrill(&args);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{stderr}");
            assert!(stderr.contains("refusing context prod"), "{stderr}");
        }
        assert_not_contacted(&listener);
    }

    #[test]
    fn an_allowed_context_without_the_act_flag_prints_the_plan_and_contacts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (listener, server) = untouched_server();
        let config = kubeconfig(&dir, &server);
        let output = firedrill(&[
            "run",
            "vault-stuck-leader",
            "--seed",
            "1",
            "--backend",
            "kind",
            "--kubeconfig",
            &config,
            "--context",
            "kind-x",
        ]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{stdout}");
        assert!(
            stdout.contains("dry run on context kind-x: nothing is changed"),
            "{stdout}"
        );
        assert!(
            stdout.contains("DELETE /api/v1/namespaces/vault/pods/POD"),
            "{stdout}"
        );
        let apply = stdout
            .lines()
            .find(|line| line.contains("server-side apply StatefulSet vault"))
            .unwrap_or_else(|| panic!("no apply of the StatefulSet in the plan: {stdout}"));
        assert!(
            apply.contains("PATCH /apis/apps/v1/namespaces/vault/statefulsets/vault?")
                && apply.contains("fieldManager=firedrill")
                && apply.contains("force=true"),
            "{apply}"
        );
        assert!(stdout.contains("not built yet"), "{stdout}");
        assert_not_contacted(&listener);
    }

    #[test]
    fn an_extra_allowed_context_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let (_listener, server) = untouched_server();
        let config = kubeconfig(&dir, &server);
        let output = firedrill(&[
            "run",
            "vault-stuck-leader",
            "--seed",
            "1",
            "--backend",
            "kind",
            "--kubeconfig",
            &config,
            "--allow-context",
            "prod",
            "--format",
            "json",
        ]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{stdout}");
        let plan: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(plan["context"], "prod");
        assert_eq!(plan["dry_run"], true);
        // The objects it would apply, in full: the voters on the image the docker backend runs.
        let statefulset = plan["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|manifest| manifest["kind"] == "StatefulSet")
            .expect("the plan holds the StatefulSet");
        assert_eq!(
            statefulset["body"]["spec"]["template"]["spec"]["containers"][0]["image"],
            "firedrill/openbao:2.7.2"
        );
    }

    #[test]
    fn acting_on_a_cluster_that_does_not_answer_fails_loudly() {
        let dir = tempfile::tempdir().unwrap();
        let config = kubeconfig(&dir, "https://127.0.0.1:1");
        let output = firedrill(&[
            "run",
            "vault-stuck-leader",
            "--seed",
            "1",
            "--backend",
            "kind",
            "--kubeconfig",
            &config,
            "--context",
            "kind-x",
            "--act-on-cluster",
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("did not answer"), "{stderr}");
    }
}

#[cfg(not(feature = "kind"))]
#[test]
fn a_build_without_the_kind_feature_says_so_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&dir, "https://127.0.0.1:1");
    let output = firedrill(&[
        "run",
        "vault-stuck-leader",
        "--seed",
        "1",
        "--backend",
        "kind",
        "--kubeconfig",
        &config,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("without the kind backend"), "{stderr}");
}
