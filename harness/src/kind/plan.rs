//! What the kind backend would do, step by step, printed by a dry run. The runbook's Kubernetes actions are
//! shown as the requests the kube-rs actuator sends, built by the same code that sends them.

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

/// The plan for a Vault scenario.
pub fn plan(scenario: &Scenario) -> Vec<PlanStep> {
    let voters = scenario.voter_names();
    let mut steps = vec![
        step(format!(
            "load the docker backend's OpenBao image into the cluster (kind load docker-image), and deploy \
             namespace {ns}: a privileged DaemonSet serving the hang filesystem with Bidirectional mount \
             propagation, and StatefulSet {sts} of {n} voters ({voters}) with their data on it",
            ns = firedrill_kubeact::NAMESPACE,
            sts = firedrill_kubeact::STATEFULSET,
            n = voters.len(),
            voters = voters.join(", "),
        )),
        step(format!(
            "inject the scenario's faults at the seed's times ({} planned)",
            scenario.faults.len()
        )),
        step("probe every voter and the vault-active Service as the simulation does, writing the same trace"),
    ];
    if let Some(runbook) = &scenario.runbook {
        steps.push(step(format!(
            "run runbook {} through the kube-rs actuator once the stuck-leader alert fires",
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
        "delete namespace vault and the hang filesystem, whatever the verdict",
    ));
    steps
}
