//! `firedrill run <vault scenario> --backend kind`: refuses a kubeconfig context off the allowlist (exit 2),
//! prints the plan and changes nothing unless `--act-on-cluster` is given.

use super::output::Format;
use super::run::RunArgs;
use super::usage_error;
use clap::Args;
use firedrill_scenarios::Scenario;
use std::path::PathBuf;

/// The kind backend's options; they apply only with `--backend kind`.
#[derive(Args, Clone, Debug, Default)]
pub struct KindArgs {
    /// With `--backend kind`: the kubeconfig file (default: `$KUBECONFIG`, else `~/.kube/config`).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// With `--backend kind`: the kubeconfig context (default: its current context). It must be on the
    /// allowlist, else the run is refused with exit 2.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// With `--backend kind`: also allow this context, an exact name or a prefix ending in `*` (repeatable);
    /// contexts starting `kind-` are always allowed.
    #[arg(long, value_name = "NAME")]
    pub allow_context: Vec<String>,
    /// With `--backend kind`: act on the cluster. Without it the backend prints what it would do and changes
    /// nothing.
    #[arg(long)]
    pub act_on_cluster: bool,
}

#[cfg(feature = "kind")]
pub fn execute(scenario: &Scenario, args: &RunArgs) -> u8 {
    use firedrill_harness::kind;
    let options = kind::KindOptions {
        kubeconfig: args.kind.kubeconfig.clone(),
        context: args.kind.context.clone(),
        extra_allowed: args.kind.allow_context.clone(),
        act: args.kind.act_on_cluster,
    };
    let dry = match kind::dry_run(scenario, &options) {
        Ok(dry) => dry,
        Err(error) => return usage_error(error),
    };
    if !options.act {
        print_plan(&dry, args.format);
        return super::EXIT_PASS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return usage_error(format!("cannot start the async runtime: {error}")),
    };
    match runtime.block_on(kind::act(scenario, &options)) {
        Ok(()) => super::EXIT_PASS,
        Err(error) => usage_error(error),
    }
}

#[cfg(feature = "kind")]
fn print_plan(dry: &firedrill_harness::kind::DryRun, format: Format) {
    let context = &dry.context;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "dry_run": true,
                "context": context,
                "plan": dry.steps,
                "manifests": dry.manifests,
            })
        ),
        Format::Text => {
            println!(
                "dry run on context {context}: nothing is changed; --act-on-cluster would \
                 (--format json prints each object in full):"
            );
            for (index, step) in dry.steps.iter().enumerate() {
                match &step.request {
                    Some(request) => println!("  {}. {}: {request}", index + 1, step.what),
                    None => println!("  {}. {}", index + 1, step.what),
                }
            }
        }
    }
}

#[cfg(not(feature = "kind"))]
pub fn execute(_scenario: &Scenario, _args: &RunArgs) -> u8 {
    let _ = Format::Text;
    usage_error("this firedrill was built without the kind backend; rebuild with `--features kind`")
}
