//! What an action sends: its HTTP method and path, built by kube's own request builder, so the trace and the
//! kind backend's dry-run plan name exactly the request the actuator sends.

use crate::{NAMESPACE, STATEFULSET};
use firedrill_scenarios::runbook::Action;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{DeleteParams, EvictParams, Patch, PatchParams};
use kube::core::Request;
use kube::Resource;
use serde::Serialize;

/// One request to the API server: `DELETE /api/v1/namespaces/vault/pods/vault-0`, with its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiCall {
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The JSON body, empty when there is none.
    pub body: String,
}

impl std::fmt::Display for ApiCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.body.is_empty() {
            write!(f, " {}", self.body)?;
        }
        Ok(())
    }
}

impl ApiCall {
    /// The method, path and body of a request kube's request builder made.
    pub fn of(request: &http::Request<Vec<u8>>) -> ApiCall {
        ApiCall {
            method: request.method().as_str().to_string(),
            path: request.uri().path_and_query().map_or_else(
                || request.uri().path().to_string(),
                |p| p.as_str().to_string(),
            ),
            body: String::from_utf8_lossy(request.body()).into_owned(),
        }
    }
}

fn namespaced<K: Resource<DynamicType = ()>>() -> Request {
    Request::new(K::url_path(&(), Some(NAMESPACE)))
}

/// The graceful delete: no grace in the options, so the pod's own `terminationGracePeriodSeconds` applies, as
/// with `kubectl delete pod`.
pub(crate) fn graceful_delete() -> DeleteParams {
    DeleteParams::default()
}

/// `kubectl delete pod --force --grace-period=0`.
pub(crate) fn force_delete() -> DeleteParams {
    DeleteParams::default().grace_period(0)
}

/// `kubectl patch pvc NAME -p '{"metadata":{"finalizers":null}}'`.
pub(crate) fn remove_finalizers_patch() -> serde_json::Value {
    serde_json::json!({ "metadata": { "finalizers": null } })
}

/// `kubectl patch statefulset vault` setting the pod template's `securityContext.fsGroupChangePolicy`.
pub(crate) fn fs_group_change_policy_patch(policy: &str) -> serde_json::Value {
    serde_json::json!({
        "spec": { "template": { "spec": { "securityContext": { "fsGroupChangePolicy": policy } } } }
    })
}

/// The request an action sends, or `None` for an action that is not a Kubernetes one (`umount`, `qm`).
pub fn plan(action: &Action) -> Option<ApiCall> {
    let request = match action {
        Action::DeletePod { pod } => namespaced::<Pod>().delete(pod, &graceful_delete()),
        Action::ForceDeletePod { pod } => namespaced::<Pod>().delete(pod, &force_delete()),
        Action::EvictPod { pod } => namespaced::<Pod>().evict(pod, &EvictParams::default()),
        Action::DeletePvc { claim } => {
            namespaced::<PersistentVolumeClaim>().delete(claim, &graceful_delete())
        }
        Action::RemovePvcFinalizer { claim } => namespaced::<PersistentVolumeClaim>().patch(
            claim,
            &PatchParams::default(),
            &Patch::Merge(remove_finalizers_patch()),
        ),
        Action::SetFsGroupChangePolicy { policy } => namespaced::<StatefulSet>().patch(
            STATEFULSET,
            &PatchParams::default(),
            &Patch::Merge(fs_group_change_policy_patch(policy.as_str())),
        ),
        Action::LazyUnmount { .. }
        | Action::ForceUnmount { .. }
        | Action::VmReset { .. }
        | Action::VmStopStart { .. }
        | Action::FixBootOrder { .. } => return None,
    }
    .expect("kube builds a request from a name and fixed options");
    Some(ApiCall::of(&request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_force_delete_sends_a_zero_grace_and_a_graceful_one_none() {
        let force = plan(&Action::ForceDeletePod {
            pod: "vault-0".into(),
        })
        .unwrap();
        assert_eq!(force.method, "DELETE");
        assert_eq!(force.path, "/api/v1/namespaces/vault/pods/vault-0?");
        assert!(
            force.body.contains("\"gracePeriodSeconds\":0"),
            "{}",
            force.body
        );
        let graceful = plan(&Action::DeletePod {
            pod: "vault-0".into(),
        })
        .unwrap();
        assert!(
            !graceful.body.contains("gracePeriodSeconds"),
            "{}",
            graceful.body
        );
    }

    #[test]
    fn an_unmount_is_not_a_kubernetes_request() {
        assert_eq!(
            plan(&Action::LazyUnmount {
                node: "k8s-1".into(),
                mountpoint: "/m".into()
            }),
            None
        );
    }
}
