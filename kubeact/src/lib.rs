//! The Kubernetes actuator: every Kubernetes verb of the runbook engine, carried out through a plain
//! `kube::Client` with `k8s-openapi` types.
//!
//! The crate knows neither the simulation nor the real-world harness: the simulation hands it a client whose
//! transport is turmoil TCP to the simulated API server (`firedrill-sim`'s `kube::apiserver`), the kind backend
//! one built from the user's kubeconfig. Both therefore send the same requests, built by the same code.
//!
//! Nothing here retries, backs off or reads the clock: a request is sent once and its answer, or its typed
//! error, is handed back. That keeps the simulation deterministic and a real cluster's answers honest.

mod call;
mod error;
mod reads;
mod verbs;

pub use call::{plan, ApiCall};
pub use error::KubeError;
pub use reads::{event_line, pod_info, STORAGE_ANNOTATION};
pub use verbs::KubeActuator;

/// The namespace vault-helm installs into, and the names of its objects.
pub const NAMESPACE: &str = "vault";
/// The StatefulSet of the voters.
pub const STATEFULSET: &str = "vault";
/// The Service whose endpoints are the active node.
pub const ACTIVE_SERVICE: &str = "vault-active";
/// The label selector of the voters' pods.
pub const VOTER_SELECTOR: &str = "app.kubernetes.io/name=vault";
/// The finalizer that holds a claim while a pod uses it.
pub const PVC_PROTECTION_FINALIZER: &str = "kubernetes.io/pvc-protection";
