//! The world's Kubernetes model as API objects, with the metadata the API server keeps: timestamps from the
//! world's clock, `deletionTimestamp` and `deletionGracePeriodSeconds` on a graceful delete, finalizers, and a
//! `resourceVersion` that changes whenever the object does.

use crate::kube::{storage_name, Claim, Pod as ModelPod, PodPhase};
use crate::world::World;
use firedrill_kubeact::{NAMESPACE, PVC_PROTECTION_FINALIZER, STORAGE_ANNOTATION, VOTER_SELECTOR};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateWaiting, ContainerStatus, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimStatus, Pod, PodCondition, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use std::collections::BTreeMap;

/// The wall time the run's simulated clock starts at, so timestamps read as real ones; nothing depends on it.
const RUN_EPOCH_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// A simulated time as an API timestamp (RFC 3339, whole seconds as the API server writes them).
pub fn time_at(t_ms: u64) -> Time {
    let seconds = (RUN_EPOCH_MS + t_ms as i64) / 1_000;
    Time(Timestamp::from_second(seconds).expect("a run's times are in range"))
}

/// The API server's own bookkeeping beside the world: resource versions, and when each claim was deleted.
#[derive(Default)]
pub struct ApiState {
    /// The last resourceVersion handed out; every change to any object takes the next one, as etcd's revision.
    revision: u64,
    /// Per object (`pods/vault-0`), the content last served without its version, and that version.
    versions: BTreeMap<String, (String, u64)>,
    /// When each claim now Terminating was deleted.
    pub claim_deleted_ms: BTreeMap<String, u64>,
}

impl ApiState {
    /// Stamps an object's `resourceVersion`: unchanged content keeps its version, changed content takes the next
    /// revision. The world changes objects between requests (the kubelet, the controllers), so the version is
    /// taken when the object is read or written, which is when a client can see it.
    pub fn stamp(&mut self, key: &str, meta: &mut ObjectMeta, content: &impl serde::Serialize) {
        let serialized = serde_json::to_string(content).expect("API objects serialize");
        match self.versions.get(key) {
            Some((seen, version)) if *seen == serialized => {
                meta.resource_version = Some(version.to_string());
            }
            _ => {
                self.revision += 1;
                self.versions
                    .insert(key.to_string(), (serialized, self.revision));
                meta.resource_version = Some(self.revision.to_string());
            }
        }
    }

    /// The current resourceVersion of an object, stamping it first.
    pub fn version_of_pod(&mut self, world: &World, pod: &ModelPod) -> String {
        self.pod(world, pod)
            .metadata
            .resource_version
            .expect("stamped")
    }

    pub fn pod(&mut self, world: &World, pod: &ModelPod) -> Pod {
        let mut object = pod_object(world, pod);
        let content = object.clone();
        self.stamp(
            &format!("pods/{}", pod.name),
            &mut object.metadata,
            &content,
        );
        object
    }

    pub fn claim(&mut self, world: &World, claim: &Claim) -> PersistentVolumeClaim {
        let deleted_ms = self.claim_deleted_ms.get(&claim.name).copied();
        let mut object = claim_object(world, claim, deleted_ms);
        let content = object.clone();
        self.stamp(
            &format!("persistentvolumeclaims/{}", claim.name),
            &mut object.metadata,
            &content,
        );
        object
    }
}

fn voter_labels() -> BTreeMap<String, String> {
    let (key, value) = VOTER_SELECTOR
        .split_once('=')
        .expect("the selector is key=value");
    BTreeMap::from([(key.to_string(), value.to_string())])
}

/// A pod of the model as the API shows it.
pub fn pod_object(world: &World, pod: &ModelPod) -> Pod {
    let spec_grace_s = world.scenario.topology.termination_grace_period_ms / 1_000;
    // The API server sets deletionTimestamp to the time by which the pod should be gone: the request's time
    // plus its grace period.
    let (deletion_timestamp, deletion_grace_s) = match &pod.termination {
        Some(termination) => (
            Some(time_at(
                termination.requested_ms + termination.grace_period_ms,
            )),
            Some((termination.grace_period_ms / 1_000) as i64),
        ),
        None if pod.phase == PodPhase::Terminating => (Some(time_at(world.now_ms())), Some(0)),
        None => (None, None),
    };
    let ready = pod.phase == PodPhase::Ready;
    let phase = match pod.phase {
        PodPhase::Pending | PodPhase::ContainerCreating => "Pending",
        PodPhase::Running | PodPhase::Ready | PodPhase::Terminating => "Running",
    };
    let waiting = (pod.phase == PodPhase::ContainerCreating).then(|| ContainerStateWaiting {
        reason: Some("ContainerCreating".to_string()),
        message: None,
    });
    Pod {
        metadata: ObjectMeta {
            name: Some(pod.name.clone()),
            namespace: Some(NAMESPACE.to_string()),
            uid: Some(pod.uid.clone()),
            labels: Some(voter_labels()),
            annotations: Some(BTreeMap::from([(
                STORAGE_ANNOTATION.to_string(),
                storage_name(pod.storage).to_string(),
            )])),
            creation_timestamp: Some(time_at(pod.created_ms)),
            deletion_timestamp,
            deletion_grace_period_seconds: deletion_grace_s,
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: (!pod.node.is_empty()).then(|| pod.node.clone()),
            termination_grace_period_seconds: Some(spec_grace_s as i64),
            containers: vec![Container {
                name: "vault".to_string(),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            phase: Some(phase.to_string()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".to_string(),
                status: if ready { "True" } else { "False" }.to_string(),
                ..PodCondition::default()
            }]),
            container_statuses: Some(vec![ContainerStatus {
                name: "vault".to_string(),
                ready,
                state: Some(ContainerState {
                    waiting,
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

/// A claim of the model as the API shows it: the pvc-protection finalizer while it is protected, and a
/// deletionTimestamp once deleted (with a finalizer, deletion waits for it).
pub fn claim_object(
    world: &World,
    claim: &Claim,
    deleted_ms: Option<u64>,
) -> PersistentVolumeClaim {
    let _ = world;
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(claim.name.clone()),
            namespace: Some(NAMESPACE.to_string()),
            labels: Some(voter_labels()),
            finalizers: claim
                .protected
                .then(|| vec![PVC_PROTECTION_FINALIZER.to_string()]),
            deletion_timestamp: claim
                .deleting
                .then(|| time_at(deleted_ms.unwrap_or_default())),
            deletion_grace_period_seconds: claim.deleting.then_some(0),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            storage_class_name: Some(storage_name(claim.storage).to_string()),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: Some(PersistentVolumeClaimStatus {
            phase: Some("Bound".to_string()),
            ..PersistentVolumeClaimStatus::default()
        }),
    }
}
