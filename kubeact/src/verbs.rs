//! The verbs: each runbook action on Kubernetes, and each Kubernetes read, as one kube-rs call.

use crate::call::{
    force_delete, fs_group_change_policy_patch, graceful_delete, remove_finalizers_patch,
};
use crate::{KubeError, ACTIVE_SERVICE, NAMESPACE, STATEFULSET, VOTER_SELECTOR};
use firedrill_scenarios::runbook::Action;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Endpoints, Event, Node, PersistentVolumeClaim, Pod};
use kube::api::{Api, EvictParams, ListParams, Patch, PatchParams};
use kube::Client;

/// Carries out Kubernetes verbs through one client, in vault-helm's namespace.
#[derive(Clone)]
pub struct KubeActuator {
    client: Client,
}

impl KubeActuator {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), NAMESPACE)
    }

    fn claims(&self) -> Api<PersistentVolumeClaim> {
        Api::namespaced(self.client.clone(), NAMESPACE)
    }

    /// Carries out a Kubernetes action; `None` for one that is not (`umount`, `qm`), which the caller does by
    /// its own means.
    pub async fn act(&self, action: &Action) -> Option<Result<(), KubeError>> {
        Some(
            match action {
                Action::DeletePod { pod } => {
                    self.pods().delete(pod, &graceful_delete()).await.map(drop)
                }
                Action::ForceDeletePod { pod } => {
                    self.pods().delete(pod, &force_delete()).await.map(drop)
                }
                Action::EvictPod { pod } => self
                    .pods()
                    .evict(pod, &EvictParams::default())
                    .await
                    .map(drop),
                Action::DeletePvc { claim } => self
                    .claims()
                    .delete(claim, &graceful_delete())
                    .await
                    .map(drop),
                Action::RemovePvcFinalizer { claim } => self
                    .claims()
                    .patch(
                        claim,
                        &PatchParams::default(),
                        &Patch::Merge(remove_finalizers_patch()),
                    )
                    .await
                    .map(drop),
                Action::SetFsGroupChangePolicy { policy } => {
                    Api::<StatefulSet>::namespaced(self.client.clone(), NAMESPACE)
                        .patch(
                            STATEFULSET,
                            &PatchParams::default(),
                            &Patch::Merge(fs_group_change_policy_patch(policy.as_str())),
                        )
                        .await
                        .map(drop)
                }
                Action::LazyUnmount { .. }
                | Action::ForceUnmount { .. }
                | Action::VmReset { .. }
                | Action::VmStopStart { .. }
                | Action::FixBootOrder { .. } => return None,
            }
            .map_err(KubeError::from),
        )
    }

    /// `kubectl get pod NAME`: `None` when the API server answers 404.
    pub async fn get_pod(&self, name: &str) -> Result<Option<Pod>, KubeError> {
        Ok(self.pods().get_opt(name).await?)
    }

    /// `kubectl get pods -l app.kubernetes.io/name=vault`.
    pub async fn list_voters(&self) -> Result<Vec<Pod>, KubeError> {
        Ok(self
            .pods()
            .list(&ListParams::default().labels(VOTER_SELECTOR))
            .await?
            .items)
    }

    /// `kubectl describe pod`'s events: those whose involved object is the pod, oldest first.
    pub async fn pod_events(&self, pod: &str) -> Result<Vec<Event>, KubeError> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), NAMESPACE);
        let selector = format!("involvedObject.kind=Pod,involvedObject.name={pod}");
        Ok(events
            .list(&ListParams::default().fields(&selector))
            .await?
            .items)
    }

    /// The pods behind the `vault-active` Service, by name.
    pub async fn active_endpoints(&self) -> Result<Vec<String>, KubeError> {
        let endpoints: Api<Endpoints> = Api::namespaced(self.client.clone(), NAMESPACE);
        let Some(endpoints) = endpoints.get_opt(ACTIVE_SERVICE).await? else {
            return Ok(Vec::new());
        };
        Ok(endpoints
            .subsets
            .unwrap_or_default()
            .into_iter()
            .flat_map(|subset| subset.addresses.unwrap_or_default())
            .filter_map(|address| address.target_ref.and_then(|target| target.name))
            .collect())
    }

    /// `kubectl get node NAME`.
    pub async fn get_node(&self, name: &str) -> Result<Option<Node>, KubeError> {
        let nodes: Api<Node> = Api::all(self.client.clone());
        Ok(nodes.get_opt(name).await?)
    }

    /// `kubectl get pvc NAME`.
    pub async fn get_claim(&self, name: &str) -> Result<Option<PersistentVolumeClaim>, KubeError> {
        Ok(self.claims().get_opt(name).await?)
    }
}
