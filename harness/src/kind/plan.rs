//! What the kind backend would do, step by step, printed by a dry run. The runbook's Kubernetes actions are
//! shown as the requests the kube-rs actuator sends, built by the same code that sends them.

use super::topology::{Manifest, FIELD_MANAGER};
use firedrill_scenarios::runbook::{Action, Verb};
use firedrill_scenarios::Scenario;
use serde::Serialize;

/// One step of the plan.
#[derive(Clone, Debug, Serialize)]
pub struct PlanStep {
    pub what: String,
    /// The API request, for a Kubernetes action of the runbook (`<pod>` stands for the pod it will target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

fn step(what: impl Into<String>) -> PlanStep {
    PlanStep {
        what: what.into(),
        request: None,
    }
}

/// The Kubernetes action a runbook verb sends, on a placeholder pod.
fn kube_action(verb: &Verb) -> Option<Action> {
    let pod = "POD".to_string();
    Some(match verb {
        Verb::DeletePod => Action::DeletePod { pod },
        Verb::ForceDeletePod => Action::ForceDeletePod { pod },
        Verb::EvictPod => Action::EvictPod { pod },
        Verb::DeletePvc => Action::DeletePvc {
            claim: format!("data-{pod}"),
        },
        Verb::RemovePvcFinalizer => Action::RemovePvcFinalizer {
            claim: format!("data-{pod}"),
        },
        Verb::SetFsGroupChangePolicy => Action::SetFsGroupChangePolicy {
            policy: firedrill_scenarios::scenario::FsGroupChangePolicy::OnRootMismatch,
        },
        _ => return None,
    })
}

/// The plan for a Vault scenario: the objects `manifests` holds, applied in order, then the drill. The steps after
/// the wait are not built yet (docs/kind.md), and say so.
pub fn plan(scenario: &Scenario, manifests: &[Manifest]) -> Vec<PlanStep> {
    let voters = scenario.voter_names();
    let mut steps = vec![step(
        "check that the cluster answers (GET /version); the images are loaded beforehand with kind load \
         docker-image (ci/kind/run.sh), so every pod has imagePullPolicy Never",
    )];
    steps.extend(manifests.iter().map(|manifest| {
        let call = firedrill_kubeact::ApiCall::of(
            &super::deploy::apply_request(manifest)
                .expect("kube builds an apply request from a name and a JSON body"),
        );
        // The body is the whole object, which `--format json` prints under `manifests`.
        PlanStep {
            what: format!(
                "server-side apply {} {} (field manager {FIELD_MANAGER})",
                manifest.kind, manifest.name
            ),
            request: Some(format!("{} {}", call.method, call.path)),
        }
    }));
    steps.extend([
        step(format!(
            "wait until the hang filesystem runs on every worker and the {n} voters ({voters}) run, at most {s} s",
            n = voters.len(),
            voters = voters.join(", "),
            s = super::deploy::START_TIMEOUT.as_secs(),
        )),
        step(format!(
            "not built yet (docs/kind.md): initialise and unseal the voters, inject the scenario's faults at the \
             seed's times ({} planned), probe every voter and the vault-active Service, writing the same trace",
            scenario.faults.len()
        )),
    ]);
    if let Some(runbook) = &scenario.runbook {
        steps.push(step(format!(
            "not built yet: run runbook {} through the kube-rs actuator once the stuck-leader alert fires",
            runbook.name
        )));
        for runbook_step in &runbook.steps {
            if let Some(action) = kube_action(runbook_step.verb.get_ref()) {
                let call =
                    firedrill_kubeact::plan(&action).expect("a Kubernetes action has a request");
                steps.push(PlanStep {
                    what: format!("runbook step {}", runbook_step.id.get_ref()),
                    request: Some(call.to_string()),
                });
            }
        }
    }
    steps.push(step(
        "delete namespace vault (the voters, the Services and the hang filesystem), whatever happened",
    ));
    steps
}
