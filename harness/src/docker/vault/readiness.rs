//! The readiness probe of vault-helm's chart, run by the drill as the kubelet would: `vault status` (which reads
//! `sys/seal-status`) every 5 s with a 3 s timeout; two consecutive failures turn a pod NotReady (Running), one
//! success makes it Ready. The simulation runs the same probe (`sim/src/kube/readiness.rs`), so a pod's phase
//! means the same in both worlds.

use super::api;
use super::world::SharedWorld;
use firedrill_scenarios::trace::PodPhaseName;
use http::Method;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// `readinessProbe.periodSeconds` in vault-helm.
const PERIOD: Duration = Duration::from_secs(5);
/// `readinessProbe.timeoutSeconds` in vault-helm.
const TIMEOUT: Duration = Duration::from_secs(3);
/// `readinessProbe.failureThreshold` in vault-helm.
const FAILURE_THRESHOLD: u32 = 2;

/// `vault status` succeeds when the node answers its seal status in time and is unsealed.
async fn vault_status(endpoint: &firedrill_probes::Endpoint) -> bool {
    matches!(
        api::call(endpoint, Method::GET, "/v1/sys/seal-status", None, None, TIMEOUT).await,
        Ok((200, json)) if json["sealed"] == serde_json::Value::Bool(false)
    )
}

/// Probes every running incarnation each period, each probe on its own so a hung node delays no other.
pub async fn readiness(world: SharedWorld) {
    let failures: Rc<RefCell<BTreeMap<String, u32>>> = Rc::default();
    loop {
        tokio::time::sleep(PERIOD).await;
        let targets: Vec<(String, firedrill_probes::Endpoint)> = {
            let w = world.borrow();
            w.endpoints
                .iter()
                .filter_map(|(pod, endpoint)| {
                    w.current_pod(pod)
                        .filter(|view| {
                            matches!(view.phase, PodPhaseName::Running | PodPhaseName::Ready)
                        })
                        .map(|view| (view.uid.clone(), endpoint.clone()))
                })
                .collect()
        };
        for (uid, endpoint) in targets {
            let world = world.clone();
            let failures = failures.clone();
            tokio::task::spawn_local(async move {
                let ready = vault_status(&endpoint).await;
                let mut failures = failures.borrow_mut();
                let count = failures.entry(uid.clone()).or_insert(0);
                *count = if ready { 0 } else { *count + 1 };
                let mut w = world.borrow_mut();
                // A pod deleted meanwhile keeps the phase its deletion gave it.
                let running = w.pods.iter().any(|view| {
                    view.uid == uid
                        && matches!(view.phase, PodPhaseName::Running | PodPhaseName::Ready)
                });
                if !running {
                    return;
                }
                if ready {
                    w.set_phase(&uid, PodPhaseName::Ready);
                } else if *count >= FAILURE_THRESHOLD {
                    w.set_phase(&uid, PodPhaseName::Running);
                }
            });
        }
    }
}
