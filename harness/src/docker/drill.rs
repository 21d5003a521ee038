//! A registry drill on a real registry container: the same scenario file, plan, driver and trace events as the
//! simulation, with the real registry's API, its own `garbage-collect`, and the real integrity probe.

use super::api::ApiClient;
use super::container::{DockerError, RegistryContainer};
use super::fs_disk::FsDisk;
use super::pusher::Pusher;
use firedrill_probes::registry::{probe_registry, WalkConfig};
use firedrill_probes::TcpConnect;
use firedrill_scenarios::registry::content::DOCKER_MANIFEST;
use firedrill_scenarios::registry::driver::{
    self, api_cleanup_outcome, CleanupOutcome, IntegrityRound, WorldError,
};
use firedrill_scenarios::registry::{
    finding, PushStep, RegistryDisk, RegistryPlan, RegistryScenario, RegistryWorld,
};
use firedrill_scenarios::Trace;
use http::Method;
use std::time::Instant;

/// What a docker run produced.
pub struct DrillOutcome {
    pub trace: Trace,
    pub wall_ms: u64,
    /// The version the registry binary stated, and the image it ran from.
    pub version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error("the drill stopped: {0}")]
    World(WorldError),
}

/// Starts a fresh registry container, runs the seed's plan on it, and removes the container.
pub async fn run(scenario: &RegistryScenario, seed: u64) -> Result<DrillOutcome, DrillError> {
    let started = Instant::now();
    let container = RegistryContainer::start().await?;
    let version = format!("{} (image {})", container.version(), container.image());
    let mut world = DockerWorld {
        api: ApiClient::new(container.endpoint()),
        pusher: None,
        container,
        version: version.clone(),
    };
    let plan = RegistryPlan::draw(scenario, seed);
    let trace = driver::drive(scenario, &plan, &mut world)
        .await
        .map_err(|(_, error)| DrillError::World(error))?;
    Ok(DrillOutcome {
        trace,
        wall_ms: started.elapsed().as_millis() as u64,
        version,
    })
}

struct DockerWorld {
    container: RegistryContainer,
    api: ApiClient,
    pusher: Option<Pusher>,
    version: String,
}

impl RegistryWorld for DockerWorld {
    fn backend(&self) -> String {
        "docker".to_string()
    }

    fn version(&self) -> String {
        self.version.clone()
    }

    async fn push(&mut self, steps: &[PushStep]) -> Result<(), WorldError> {
        if self.pusher.is_none() {
            let pusher = Pusher::connect(self.container.endpoint())
                .await
                .map_err(|error| WorldError::new("push", error))?;
            self.pusher = Some(pusher);
        }
        let pusher = self.pusher.as_mut().expect("connected above");
        for step in steps {
            match step {
                PushStep::Blob {
                    repository,
                    content,
                    ..
                } => {
                    pusher
                        .push_blob(repository, content)
                        .await
                        .map_err(|error| WorldError::new("push blob", error))?;
                }
                PushStep::Manifest {
                    repository,
                    reference,
                    media_type,
                    content,
                    ..
                } => {
                    pusher
                        .push_manifest(repository, reference, media_type, content)
                        .await
                        .map_err(|error| WorldError::new("push manifest", error))?;
                }
            }
        }
        Ok(())
    }

    async fn rmtree_tag(&mut self, repository: &str, tag: &str) -> Result<bool, WorldError> {
        match self.container.storage().remove_tag_dir(repository, tag) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(WorldError::new("rmtree", error)),
        }
    }

    async fn api_delete_tag(
        &mut self,
        repository: &str,
        tag: &str,
    ) -> Result<CleanupOutcome, WorldError> {
        let head = self
            .api
            .request(
                Method::HEAD,
                &format!("/v2/{repository}/manifests/{tag}"),
                &[("Accept", DOCKER_MANIFEST)],
                Vec::new(),
            )
            .await
            .map_err(|error| WorldError::new("cleanup HEAD", error))?;
        let digest = (head.status == 200)
            .then(|| ApiClient::header(&head, "docker-content-digest").map(str::to_owned))
            .flatten();
        let mut delete_status = None;
        if let Some(digest) = &digest {
            let delete = self
                .api
                .request(
                    Method::DELETE,
                    &format!("/v2/{repository}/manifests/{digest}"),
                    &[],
                    Vec::new(),
                )
                .await
                .map_err(|error| WorldError::new("cleanup DELETE", error))?;
            delete_status = Some(delete.status);
        }
        Ok(api_cleanup_outcome(
            repository,
            tag,
            head.status,
            digest,
            delete_status,
        ))
    }

    async fn garbage_collect(&mut self, delete_untagged: bool) -> Result<(), WorldError> {
        self.container
            .garbage_collect(delete_untagged)
            .await
            .map(|_| ())
            .map_err(|error| WorldError::new("garbage-collect", error))
    }

    async fn integrity_probe(&mut self, concurrency: usize) -> Result<IntegrityRound, WorldError> {
        let config = WalkConfig {
            concurrency,
            ..WalkConfig::default()
        };
        let started = Instant::now();
        let report = probe_registry(&TcpConnect::plain(), self.container.endpoint(), &config).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        Ok(match report {
            Ok(report) => {
                let mut findings: Vec<String> = report
                    .broken
                    .iter()
                    .map(|broken| {
                        finding(broken.kind.as_str(), &broken.repository, &broken.reference)
                    })
                    .collect();
                findings.sort();
                findings.dedup();
                IntegrityRound {
                    findings,
                    requests: report.requests,
                    latency_ms,
                    error: None,
                }
            }
            Err(error) => IntegrityRound {
                latency_ms,
                error: Some(error.to_string()),
                ..IntegrityRound::default()
            },
        })
    }

    fn disk(&self) -> Box<dyn RegistryDisk + '_> {
        Box::new(FsDisk {
            root: self.container.storage().root().to_path_buf(),
        })
    }
}
