//! Applies the drill's topology to a cluster (server-side apply, field manager `firedrill`), waits until the
//! hang filesystem serves every worker and the voters run, and tears it all down by deleting the namespace.
//!
//! Every call goes through a plain `kube::Client`, so a test hands in a client over a recording tower service
//! and sees the exact requests a cluster would get. Waits are bounded and poll at a fixed period: nothing here
//! retries a refused request, because a refusal from a real API server is a finding, not noise.

use super::topology::{Manifest, FIELD_MANAGER, HANGFS_DAEMONSET};
use kube::api::{DeleteParams, GetParams, ListParams, Patch, PatchParams};
use kube::core::Request;
use serde_json::Value;
use std::time::Duration;

/// How long the hang filesystem and the voters may take to start: images are loaded into kind beforehand
/// (`imagePullPolicy: Never`), so this is the kubelet's own start-up, not a pull.
pub const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How often a wait reads the cluster.
pub const POLL_PERIOD: Duration = Duration::from_secs(2);

/// A request the cluster refused or that did not reach it.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct DeployError {
    pub what: String,
    pub reason: String,
}

fn refused(what: impl Into<String>, error: kube::Error) -> DeployError {
    DeployError {
        what: what.into(),
        reason: match error {
            kube::Error::Api(status) => {
                format!("{} {} ({})", status.code, status.reason, status.message)
            }
            other => other.to_string(),
        },
    }
}

/// The server-side apply request of one object, built by kube's request builder; the dry run prints it.
pub fn apply_request(
    manifest: &Manifest,
) -> Result<http::Request<Vec<u8>>, kube::core::request::Error> {
    Request::new(manifest.collection.clone()).patch(
        &manifest.name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&manifest.body),
    )
}

/// Applies each object in order; stops at the first refusal.
pub async fn apply(client: &kube::Client, manifests: &[Manifest]) -> Result<(), DeployError> {
    for manifest in manifests {
        let what = format!("applying {} {}", manifest.kind, manifest.name);
        let request = apply_request(manifest).map_err(|error| DeployError {
            what: what.clone(),
            reason: error.to_string(),
        })?;
        client
            .request::<Value>(request)
            .await
            .map_err(|error| refused(what, error))?;
    }
    Ok(())
}

/// What a wait found when it gave up.
fn timed_out(what: &str, last: &str) -> DeployError {
    DeployError {
        what: format!("waiting for {what}"),
        reason: format!("not after {} s; last seen: {last}", START_TIMEOUT.as_secs()),
    }
}

/// Waits until the hang filesystem runs on every node it is scheduled to, and at least one.
pub async fn wait_for_hang_filesystem(
    client: &kube::Client,
    namespace: &str,
) -> Result<(), DeployError> {
    let path = format!("/apis/apps/v1/namespaces/{namespace}/daemonsets");
    let mut last = String::from("nothing yet");
    for _ in 0..polls() {
        let request = Request::new(path.clone())
            .get(HANGFS_DAEMONSET, &GetParams::default())
            .expect("a get request builds from a name");
        let daemonset: Value = client
            .request(request)
            .await
            .map_err(|error| refused("reading the hang filesystem's DaemonSet", error))?;
        let status = &daemonset["status"];
        let desired = status["desiredNumberScheduled"].as_u64().unwrap_or(0);
        let ready = status["numberReady"].as_u64().unwrap_or(0);
        if desired > 0 && ready == desired {
            return Ok(());
        }
        last = format!("{ready} of {desired} ready");
        tokio::time::sleep(POLL_PERIOD).await;
    }
    Err(timed_out("the hang filesystem", &last))
}

/// Waits until every voter's pod is Running (not Ready: a sealed OpenBao fails its readiness probe until the
/// drill initialises and unseals it).
pub async fn wait_for_voters(
    client: &kube::Client,
    namespace: &str,
    voters: usize,
) -> Result<(), DeployError> {
    let request = || {
        Request::new(format!("/api/v1/namespaces/{namespace}/pods"))
            .list(&ListParams::default().labels(firedrill_kubeact::VOTER_SELECTOR))
            .expect("a list request builds from a selector")
    };
    let mut last = String::from("nothing yet");
    for _ in 0..polls() {
        let pods: Value = client
            .request(request())
            .await
            .map_err(|error| refused("listing the voters' pods", error))?;
        let items = pods["items"].as_array().cloned().unwrap_or_default();
        let phase = |pod: &Value| {
            pod["status"]["phase"]
                .as_str()
                .unwrap_or("Unknown")
                .to_string()
        };
        if items.iter().filter(|pod| phase(pod) == "Running").count() == voters {
            return Ok(());
        }
        last = if items.is_empty() {
            "no pod".to_string()
        } else {
            items
                .iter()
                .map(|pod| {
                    format!(
                        "{}={}",
                        pod["metadata"]["name"].as_str().unwrap_or("?"),
                        phase(pod)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        tokio::time::sleep(POLL_PERIOD).await;
    }
    Err(timed_out("the voters", &last))
}

/// Deletes the namespace, and with it everything the drill applied; a namespace already gone is fine.
pub async fn teardown(client: &kube::Client, namespace: &str) -> Result<(), DeployError> {
    let request = Request::new("/api/v1/namespaces")
        .delete(namespace, &DeleteParams::foreground())
        .expect("a delete request builds from a name");
    match client.request::<Value>(request).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(refused(format!("deleting namespace {namespace}"), error)),
    }
}

fn polls() -> u32 {
    (START_TIMEOUT.as_millis() / POLL_PERIOD.as_millis()) as u32
}
