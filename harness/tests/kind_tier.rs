//! The kind tier: runs only with the `kind-tests` feature (`ci/kind/run.sh`), and then needs a reachable
//! cluster on an allowlisted context (`FIREDRILL_KIND_CONTEXT`, default `kind-firedrill`). Asked for without a
//! cluster, it fails; it never skips or passes silently.
#![cfg(feature = "kind-tests")]

use firedrill_harness::kind::{self, KindError, KindOptions};

fn options() -> KindOptions {
    KindOptions {
        kubeconfig: std::env::var_os("KUBECONFIG").map(Into::into),
        context: Some(
            std::env::var("FIREDRILL_KIND_CONTEXT")
                .unwrap_or_else(|_| "kind-firedrill".to_string()),
        ),
        extra_allowed: Vec::new(),
        act: true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_vault_stuck_leader_drill_passes_on_kind() {
    let scenario = firedrill_scenarios::catalog::load("vault-stuck-leader").unwrap();
    match kind::act(&scenario, &options()).await {
        Ok(()) => {}
        Err(error @ KindError::Unreachable { .. }) => {
            panic!("the kind tier was asked for and no cluster answers: {error}")
        }
        Err(error) => panic!("the kind tier failed: {error}"),
    }
}
