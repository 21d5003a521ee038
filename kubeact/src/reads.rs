//! What the runbook engine reads from the API's objects: a pod as `kubectl get pod` shows it, an event as
//! `kubectl describe pod` lists it.

use firedrill_scenarios::runbook::PodInfo;
use k8s_openapi::api::core::v1::{Event, Pod};

/// The annotation the simulated StatefulSet puts on a pod naming its claim's storage (`nfs` or `block`): the
/// claim's StorageClass, which `kubectl get pod` does not show, read as one field.
pub const STORAGE_ANNOTATION: &str = "firedrill.dev/storage";

/// A pod as `kubectl get pod` shows it: `Terminating` once it has a deletionTimestamp; `Running` when Ready;
/// otherwise the waiting container's reason (`ContainerCreating`) or the phase.
pub fn pod_info(pod: &Pod) -> PodInfo {
    let meta = &pod.metadata;
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|condition| condition.type_ == "Ready" && condition.status == "True")
        });
    let waiting_reason = status
        .and_then(|status| status.container_statuses.as_ref())
        .and_then(|statuses| statuses.first())
        .and_then(|container| container.state.as_ref())
        .and_then(|state| state.waiting.as_ref())
        .and_then(|waiting| waiting.reason.clone());
    let phase = if meta.deletion_timestamp.is_some() {
        "Terminating".to_string()
    } else if let Some(reason) = waiting_reason {
        reason
    } else {
        status
            .and_then(|status| status.phase.clone())
            .unwrap_or_else(|| "Unknown".to_string())
    };
    PodInfo {
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        node: pod
            .spec
            .as_ref()
            .and_then(|spec| spec.node_name.clone())
            .unwrap_or_default(),
        phase,
        ready,
        storage: meta
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(STORAGE_ANNOTATION).cloned())
            .unwrap_or_default(),
    }
}

/// An event as one line, `<component>: <message>`, the way the kubelet's and the scheduler's lines read.
pub fn event_line(event: &Event) -> String {
    let component = event
        .source
        .as_ref()
        .and_then(|source| source.component.clone())
        .or_else(|| event.reporting_component.clone())
        .unwrap_or_default();
    format!("{component}: {}", event.message.clone().unwrap_or_default())
}
