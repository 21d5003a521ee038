//! The kind backend: the Vault drill against a real Kubernetes cluster (kind), through the same kube-rs actuator
//! (`firedrill-kubeact`) the simulation uses.
//!
//! Safety first, in this order: the kubeconfig's context must be on an allowlist (default: names starting
//! `kind-`), else the run is refused before anything is contacted; then, without the explicit act flag, the
//! backend only prints its plan and contacts nothing. Acting checks that the cluster answers and fails loudly
//! when it does not. Deploying the topology (the StatefulSet of three OpenBao voters on the hang filesystem)
//! is the documented plan in `docs/kind.md`; it is not built yet, and the backend says so rather than pass.

mod context;
mod plan;

pub use context::{select_context, ContextAllowlist, ContextError};
pub use plan::{plan, PlanStep};

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
    #[error(
        "the cluster of context {context} answers (Kubernetes {version}), but deploying the drill's topology on \
         kind is not built yet (docs/kind.md has the plan); nothing was changed"
    )]
    DeployNotBuilt { context: String, version: String },
}

/// The outcome of a dry run: the context chosen and what acting would do.
pub struct DryRun {
    pub context: String,
    pub steps: Vec<PlanStep>,
}

/// Chooses the context (refusing one off the allowlist) and, without `act`, returns the plan: nothing is
/// contacted.
pub fn dry_run(scenario: &Scenario, options: &KindOptions) -> Result<DryRun, KindError> {
    let kubeconfig = context::read_kubeconfig(options.kubeconfig.as_deref())?;
    let allowlist = ContextAllowlist::with_extra(&options.extra_allowed);
    let context = select_context(&kubeconfig, options.context.as_deref(), &allowlist)?;
    Ok(DryRun {
        context,
        steps: plan(scenario),
    })
}

/// Acts on the cluster: checks that it answers (`GET /version`), failing loudly when it does not, then stops
/// before deploying, which is not built yet.
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
    let version = client
        .apiserver_version()
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    Err(KindError::DeployNotBuilt {
        context: dry.context,
        version: version.git_version,
    })
}
