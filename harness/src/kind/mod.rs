//! The kind backend: the Vault drill against a real Kubernetes cluster (kind), through the same kube-rs actuator
//! (`firedrill-kubeact`) the simulation uses.
//!
//! Safety first, in this order: the kubeconfig's context must be on an allowlist (default: names starting
//! `kind-`), else the run is refused before anything is contacted; then, without the explicit act flag, the
//! backend only prints its plan and contacts nothing. Acting checks that the cluster answers and fails loudly
//! when it does not. Acting deploys the topology (`topology.rs`: the hang filesystem's DaemonSet, three
//! OpenBao voters as a StatefulSet on it, vault-helm's Services and budget) and waits for it to run; the drill
//! itself (initialise and unseal, the fault, the probes, the runbook through `KubeActuator`) is the documented
//! plan in `docs/kind.md`, not built yet, so an acting run tears the topology down and says so rather than pass.

mod context;
pub mod deploy;
mod plan;
pub mod topology;

pub use context::{select_context, ContextAllowlist, ContextError};
pub use deploy::DeployError;
pub use plan::{plan, PlanStep};
pub use topology::{topology, Images, Manifest};

use firedrill_scenarios::Scenario;
use std::path::PathBuf;

/// What the user asked of the kind backend.
#[derive(Clone, Debug, Default)]
pub struct KindOptions {
    /// The kubeconfig file; `None` reads `$KUBECONFIG` or `~/.kube/config`, as kubectl does.
    pub kubeconfig: Option<PathBuf>,
    /// The context to use; `None` takes the kubeconfig's current context.
    pub context: Option<String>,
    /// Contexts allowed besides the default `kind-*`: exact names, or prefixes ending in `*`.
    pub extra_allowed: Vec<String>,
    /// Act on the cluster; without it the backend prints its plan and changes nothing.
    pub act: bool,
}

/// Why the kind backend did not run the drill. Every variant is a refusal or a failure: none reads as a pass.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error("the cluster of context {context} did not answer: {reason}")]
    Unreachable { context: String, reason: String },
    #[error("deploying the drill on context {context} failed, {error}; the namespace was deleted{teardown}")]
    Deploy {
        context: String,
        error: DeployError,
        /// Empty, or why the teardown failed too.
        teardown: String,
    },
    #[error(
        "the topology ran on context {context} ({objects} objects applied, the hang filesystem and {voters} voters \
         running), but the drill on it (initialise and unseal, the fault, the probes, the runbook) is not built \
         yet (docs/kind.md has the plan); the namespace was deleted{teardown}, and no verdict is given"
    )]
    DrillNotBuilt {
        context: String,
        objects: usize,
        voters: usize,
        teardown: String,
    },
}

/// The outcome of a dry run: the context chosen, what acting would do, and the objects it would apply.
pub struct DryRun {
    pub context: String,
    pub steps: Vec<PlanStep>,
    pub manifests: Vec<Manifest>,
}

/// Chooses the context (refusing one off the allowlist) and, without `act`, returns the plan: nothing is
/// contacted.
pub fn dry_run(scenario: &Scenario, options: &KindOptions) -> Result<DryRun, KindError> {
    let kubeconfig = context::read_kubeconfig(options.kubeconfig.as_deref())?;
    let allowlist = ContextAllowlist::with_extra(&options.extra_allowed);
    let context = select_context(&kubeconfig, options.context.as_deref(), &allowlist)?;
    let manifests = topology(scenario, &Images::from_env());
    Ok(DryRun {
        context,
        steps: plan(scenario, &manifests),
        manifests,
    })
}

/// Acts on the cluster: checks that it answers (`GET /version`), failing loudly when it does not, then deploys
/// the topology ([`deploy_on`]).
pub async fn act(scenario: &Scenario, options: &KindOptions) -> Result<(), KindError> {
    let dry = dry_run(scenario, options)?;
    let kubeconfig = context::read_kubeconfig(options.kubeconfig.as_deref())?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions {
            context: Some(dry.context.clone()),
            ..Default::default()
        },
    )
    .await
    .map_err(|error| KindError::Unreachable {
        context: dry.context.clone(),
        reason: error.to_string(),
    })?;
    let unreachable = |reason: String| KindError::Unreachable {
        context: dry.context.clone(),
        reason,
    };
    let client = kube::Client::try_from(config).map_err(|error| unreachable(error.to_string()))?;
    client
        .apiserver_version()
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    deploy_on(
        &client,
        &dry.context,
        &dry.manifests,
        scenario.voter_names().len(),
    )
    .await
}

/// Applies the topology through `client`, waits for it to run, and deletes the namespace whatever happened.
/// Until the drill on it is built, the best outcome is [`KindError::DrillNotBuilt`]: never a pass.
pub async fn deploy_on(
    client: &kube::Client,
    context: &str,
    manifests: &[Manifest],
    voters: usize,
) -> Result<(), KindError> {
    let namespace = firedrill_kubeact::NAMESPACE;
    let deployed = async {
        deploy::apply(client, manifests).await?;
        deploy::wait_for_hang_filesystem(client, namespace).await?;
        deploy::wait_for_voters(client, namespace, voters).await
    }
    .await;
    let teardown = match deploy::teardown(client, namespace).await {
        Ok(()) => String::new(),
        Err(error) => format!(" (or tried to: {error})"),
    };
    match deployed {
        Err(error) => Err(KindError::Deploy {
            context: context.to_string(),
            error,
            teardown,
        }),
        Ok(()) => Err(KindError::DrillNotBuilt {
            context: context.to_string(),
            objects: manifests.len(),
            voters,
            teardown,
        }),
    }
}

#[cfg(test)]
mod tests {
    //! `deploy_on` against a recording tower service standing in for the API server: the exact requests a
    //! cluster would get, in order, and the teardown whatever happened.
    use super::*;
    use http_body_util::BodyExt;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    #[derive(Clone, Default)]
    struct RecordingServer {
        requests: Arc<Mutex<Vec<String>>>,
        /// A path prefix the server refuses with 403 Forbidden.
        refuse: Option<&'static str>,
    }

    fn answer(code: u16, body: serde_json::Value) -> http::Response<kube::client::Body> {
        http::Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(kube::client::Body::from(body.to_string().into_bytes()))
            .unwrap()
    }

    impl tower::Service<http::Request<kube::client::Body>> for RecordingServer {
        type Response = http::Response<kube::client::Body>;
        type Error = tower::BoxError;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<kube::client::Body>) -> Self::Future {
            let server = self.clone();
            Box::pin(async move {
                let method = request.method().to_string();
                let path = request.uri().path().to_string();
                let query = request.uri().query().unwrap_or("").to_string();
                let content_type = request
                    .headers()
                    .get("content-type")
                    .map(|value| value.to_str().unwrap().to_string())
                    .unwrap_or_default();
                let body = request.into_body().collect().await?.to_bytes();
                server
                    .requests
                    .lock()
                    .unwrap()
                    .push(format!("{method} {path}?{query} {content_type}"));
                if server.refuse.is_some_and(|prefix| path.starts_with(prefix)) {
                    return Ok(answer(
                        403,
                        serde_json::json!({ "kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "message": "forbidden by the test", "reason": "Forbidden", "code": 403 }),
                    ));
                }
                Ok(match method.as_str() {
                    "PATCH" => answer(200, serde_json::from_slice(&body)?),
                    "GET" if path.ends_with("/daemonsets/firedrill-hangfs") => answer(
                        200,
                        serde_json::json!({ "status": { "desiredNumberScheduled": 3, "numberReady": 3 } }),
                    ),
                    "GET" if path.ends_with("/pods") => answer(
                        200,
                        serde_json::json!({ "kind": "PodList", "items": (0..3).map(|index| serde_json::json!({
                            "metadata": { "name": format!("vault-{index}") }, "status": { "phase": "Running" },
                        })).collect::<Vec<_>>() }),
                    ),
                    "DELETE" => answer(200, serde_json::json!({ "kind": "Namespace" })),
                    _ => answer(
                        404,
                        serde_json::json!({ "kind": "Status", "code": 404, "reason": "NotFound" }),
                    ),
                })
            })
        }
    }

    fn manifests() -> Vec<Manifest> {
        topology::stuck_leader_topology()
    }

    #[tokio::test]
    async fn acting_applies_every_object_in_order_waits_then_deletes_the_namespace_and_never_passes(
    ) {
        let server = RecordingServer::default();
        let client = kube::Client::new(server.clone(), "vault");
        let manifests = manifests();
        let result = deploy_on(&client, "kind-x", &manifests, 3).await;
        assert!(
            matches!(result, Err(KindError::DrillNotBuilt { objects, voters: 3, ref teardown, .. })
                if objects == manifests.len() && teardown.is_empty()),
            "{result:?}"
        );
        let requests = server.requests.lock().unwrap().clone();
        let applied: Vec<&String> = requests.iter().filter(|r| r.starts_with("PATCH")).collect();
        assert_eq!(applied.len(), manifests.len(), "{requests:#?}");
        for (request, manifest) in applied.iter().zip(&manifests) {
            // kube orders the query itself; what matters is that each parameter is there.
            let (path_and_query, content_type) = request
                .strip_prefix("PATCH ")
                .and_then(|rest| rest.split_once(' '))
                .unwrap();
            let (path, query) = path_and_query.split_once('?').unwrap();
            assert_eq!(path, format!("{}/{}", manifest.collection, manifest.name));
            let mut parameters: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
            parameters.sort_unstable();
            assert_eq!(
                parameters,
                ["fieldManager=firedrill", "force=true"],
                "{request}"
            );
            assert_eq!(content_type, "application/apply-patch+yaml", "{request}");
        }
        assert!(requests[manifests.len()]
            .starts_with("GET /apis/apps/v1/namespaces/vault/daemonsets/firedrill-hangfs"));
        assert!(requests[manifests.len() + 1].starts_with("GET /api/v1/namespaces/vault/pods?"));
        assert!(
            requests[manifests.len() + 1]
                .contains("labelSelector=app.kubernetes.io%2Fname%3Dvault"),
            "{}",
            requests[manifests.len() + 1]
        );
        assert!(
            requests
                .last()
                .unwrap()
                .starts_with("DELETE /api/v1/namespaces/vault?"),
            "{requests:#?}"
        );
    }

    #[tokio::test]
    async fn a_refused_object_stops_the_deploy_and_the_namespace_is_still_deleted() {
        let server = RecordingServer {
            refuse: Some("/apis/apps/v1/namespaces/vault/daemonsets"),
            ..RecordingServer::default()
        };
        let client = kube::Client::new(server.clone(), "vault");
        let result = deploy_on(&client, "kind-x", &manifests(), 3).await;
        let message = result
            .as_ref()
            .map(|_| String::new())
            .unwrap_err()
            .to_string();
        assert!(
            matches!(result, Err(KindError::Deploy { .. })),
            "{result:?}"
        );
        assert!(
            message.contains("applying DaemonSet firedrill-hangfs: 403 Forbidden"),
            "{message}"
        );
        let requests = server.requests.lock().unwrap().clone();
        assert!(
            !requests
                .iter()
                .any(|request| request.contains("/statefulsets/")),
            "the voters were applied after a refusal: {requests:#?}"
        );
        assert!(requests
            .last()
            .unwrap()
            .starts_with("DELETE /api/v1/namespaces/vault?"));
    }
}
