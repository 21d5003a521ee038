//! `firedrill check vault-storage-migration`: the migration runbook holds over 200 seeds; deleting the pod
//! before the claim's finalizer exits 1 naming pvc_finalizer_before_migration_delete.

use std::process::Command;

fn firedrill(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .env_remove("FIREDRILL_SEED")
        .env_remove("FIREDRILL_SEEDS")
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn the_migration_runbook_holds_on_200_seeds() {
    let (code, stdout) = firedrill(&[
        "check",
        "vault-storage-migration",
        "--seeds",
        "200",
        "--no-progress",
    ]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("PASS: every rule held on 200 seeds"),
        "{stdout}"
    );
}

#[test]
fn deleting_before_the_finalizer_is_caught_by_its_rule() {
    let (code, stdout) = firedrill(&[
        "check",
        "vault-storage-migration",
        "--runbook",
        "scenarios/runbooks/unsafe/delete-before-finalizer.toml",
        "--seeds",
        "50",
        "--no-progress",
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL: pvc_finalizer_before_migration_delete"),
        "{stdout}"
    );
    assert!(
        stdout.contains("firedrill run vault-storage-migration --seed"),
        "{stdout}"
    );
}
