//! The registry drill's driver: runs the plan on any [`RegistryWorld`] and writes the trace.
//!
//! The registry has no timers of its own, so nothing can happen between two planned operations; the driver jumps
//! the scenario clock from one to the next and advances it by what each operation took in the backend's own time
//! (simulated for `sim`, wall-clock for `docker`). Every backend therefore emits the same events for one plan.

use super::content::{self, PushStep, PushedImage};
use super::disk::{self, RegistryDisk};
use super::plan::{Operation, RegistryPlan};
use super::scenario::{CleanupMode, RegistryScenario};
use super::{naive_scan, oracle, CATALOG_ALERT, INTEGRITY_ALERT, INTEGRITY_SCANNER, NAIVE_SCANNER};
use crate::trace::{AlertState, EventKind, Trace};
use std::collections::BTreeMap;

/// A backend failure that ends the run: the world could not do what the plan asked.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {reason}")]
pub struct WorldError {
    pub operation: String,
    pub reason: String,
}

impl WorldError {
    pub fn new(operation: &str, reason: impl ToString) -> Self {
        Self {
            operation: operation.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// What one integrity probe round reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityRound {
    /// `<kind> <repository>@<reference>` per broken object, sorted.
    pub findings: Vec<String>,
    pub requests: u64,
    /// How long the walk took in the backend's time.
    pub latency_ms: u64,
    /// Why the walk could not list the registry, if it could not.
    pub error: Option<String>,
}

/// What the cleanup did for one stale tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanupOutcome {
    pub detail: String,
}

/// A registry the driver can act on: a simulated model or a real container.
#[allow(async_fn_in_trait)]
pub trait RegistryWorld {
    /// The backend's name, as in `run_started`.
    fn backend(&self) -> String;
    /// The registry's version, as the registry itself states it.
    fn version(&self) -> String;
    /// Carries out push steps in order.
    async fn push(&mut self, steps: &[PushStep]) -> Result<(), WorldError>;
    /// `rm -rf` of the tag's directory.
    async fn rmtree_tag(&mut self, repository: &str, tag: &str) -> Result<bool, WorldError>;
    /// HEAD of the tag with only the schema2 `Accept`, then DELETE of the digest answered.
    async fn api_delete_tag(
        &mut self,
        repository: &str,
        tag: &str,
    ) -> Result<CleanupOutcome, WorldError>;
    /// `registry garbage-collect [--delete-untagged]`.
    async fn garbage_collect(&mut self, delete_untagged: bool) -> Result<(), WorldError>;
    /// One walk of the real integrity probe.
    async fn integrity_probe(&mut self, concurrency: usize) -> Result<IntegrityRound, WorldError>;
    /// The storage tree, for the naive scan and the oracle.
    fn disk(&self) -> Box<dyn RegistryDisk + '_>;
}

/// Describes one API cleanup step the same way for every backend.
pub fn api_cleanup_outcome(
    repository: &str,
    tag: &str,
    head_status: u16,
    deleted_digest: Option<String>,
    delete_status: Option<u16>,
) -> CleanupOutcome {
    let detail = match (deleted_digest, delete_status) {
        (Some(digest), Some(status)) => format!(
            "HEAD {repository}:{tag} answered {head_status} {digest}; DELETE {repository}@{digest} answered {status}"
        ),
        _ => format!("HEAD {repository}:{tag} answered {head_status}; nothing deleted"),
    };
    CleanupOutcome { detail }
}

/// Runs the plan and returns the trace; a world failure ends the run early with the error.
pub async fn drive<W: RegistryWorld>(
    scenario: &RegistryScenario,
    plan: &RegistryPlan,
    world: &mut W,
) -> Result<Trace, (Trace, WorldError)> {
    let mut driver = Driver {
        scenario,
        trace: Trace::default(),
        clock_ms: 0,
        pushed: Vec::new(),
        breakage: BTreeMap::new(),
        failing_rounds: 0,
        alert_firing: false,
        catalog_alert_firing: false,
    };
    match driver.run(plan, world).await {
        Ok(()) => Ok(driver.trace),
        Err(error) => Err((driver.trace, error)),
    }
}

struct Driver<'a> {
    scenario: &'a RegistryScenario,
    trace: Trace,
    clock_ms: u64,
    pushed: Vec<PushedImage>,
    breakage: BTreeMap<String, crate::trace::FaultName>,
    failing_rounds: u32,
    alert_firing: bool,
    catalog_alert_firing: bool,
}

impl Driver<'_> {
    fn record(&mut self, kind: EventKind) {
        self.trace.push(self.clock_ms, kind);
    }

    async fn run<W: RegistryWorld>(
        &mut self,
        plan: &RegistryPlan,
        world: &mut W,
    ) -> Result<(), WorldError> {
        self.record(EventKind::RunStarted {
            schema_version: crate::trace::TRACE_SCHEMA_VERSION,
            scenario: self.scenario.name.clone(),
            seed: plan.seed,
            backend: world.backend(),
        });
        self.record(EventKind::RegistryPlanDrawn { plan: plan.clone() });
        self.record(EventKind::RegistryStarted {
            backend: world.backend(),
            version: world.version(),
        });
        for &(at_ms, operation) in &plan.operations {
            // An operation due while the previous one still ran starts when it is done.
            self.clock_ms = self.clock_ms.max(at_ms);
            match operation {
                Operation::Push => self.push(world).await?,
                Operation::Cleanup => self.cleanup(world).await?,
                Operation::GarbageCollect => self.garbage_collect(world).await?,
                Operation::ProbeRound => self.probe_round(world).await?,
            }
        }
        self.clock_ms = self.clock_ms.max(self.scenario.duration_ms);
        self.record(EventKind::RunFinished {});
        Ok(())
    }

    async fn push<W: RegistryWorld>(&mut self, world: &mut W) -> Result<(), WorldError> {
        let mut blobs = std::collections::BTreeSet::new();
        for image in &self.scenario.images {
            let (steps, pushed) = content::build(image);
            world.push(&steps).await?;
            for step in &steps {
                if let PushStep::Blob { digest, .. } = step {
                    blobs.insert(digest.clone());
                }
            }
            self.pushed.push(pushed);
        }
        let detail = format!(
            "{} tags ({} indexes), {} distinct blobs",
            self.pushed.len(),
            self.pushed.iter().filter(|p| p.format.is_index()).count(),
            blobs.len()
        );
        self.record(EventKind::RegistryOperation {
            operation: "push".into(),
            detail,
        });
        self.note_breakage(world, "push");
        Ok(())
    }

    async fn cleanup<W: RegistryWorld>(&mut self, world: &mut W) -> Result<(), WorldError> {
        let mode = self.scenario.cleanup.mode;
        let mut details = Vec::new();
        for (repository, tag) in self.scenario.stale_tags() {
            match mode {
                CleanupMode::Rmtree => {
                    if world.rmtree_tag(&repository, &tag).await? {
                        details.push(format!("rm -rf {repository}/_manifests/tags/{tag}"));
                    }
                }
                CleanupMode::Api => {
                    let outcome = world.api_delete_tag(&repository, &tag).await?;
                    details.push(outcome.detail);
                }
            }
        }
        let operation = match mode {
            CleanupMode::Rmtree => "cleanup-rmtree",
            CleanupMode::Api => "cleanup-api",
        };
        let detail = if details.is_empty() {
            "nothing to remove".to_string()
        } else {
            details.join("; ")
        };
        self.record(EventKind::RegistryOperation {
            operation: operation.into(),
            detail,
        });
        self.note_breakage(world, operation);
        Ok(())
    }

    async fn garbage_collect<W: RegistryWorld>(&mut self, world: &mut W) -> Result<(), WorldError> {
        let delete_untagged = self.scenario.gc.delete_untagged;
        let before = self.known_blobs_on_disk(&*world.disk());
        world.garbage_collect(delete_untagged).await?;
        let after = self.known_blobs_on_disk(&*world.disk());
        let operation = if delete_untagged {
            "garbage-collect --delete-untagged"
        } else {
            "garbage-collect"
        };
        self.record(EventKind::RegistryOperation {
            operation: operation.into(),
            detail: format!(
                "{} of {} pushed blobs swept",
                before.len() - after.len(),
                before.len()
            ),
        });
        self.note_breakage(world, operation);
        Ok(())
    }

    /// Pushed blobs and manifests whose data is on disk.
    fn known_blobs_on_disk(&self, disk: &dyn RegistryDisk) -> Vec<String> {
        let mut digests = std::collections::BTreeSet::new();
        for image in &self.pushed {
            digests.insert(image.digest.clone());
            for manifest in &image.manifests {
                digests.insert(manifest.digest.clone());
                digests.insert(manifest.config.clone());
                digests.extend(manifest.layers.iter().cloned());
            }
        }
        digests
            .into_iter()
            .filter(|digest| disk.is_file(&disk::blob_data(digest)))
            .collect()
    }

    /// Records, as faults, the breakage that the last operation caused, as the disk shows it.
    fn note_breakage<W: RegistryWorld>(&mut self, world: &W, operation: &str) {
        let now = oracle::breakage(&*world.disk(), &self.pushed);
        for (target, fault) in &now {
            if !self.breakage.contains_key(target) {
                self.record(EventKind::FaultInjected {
                    fault: *fault,
                    target: target.clone(),
                    detail: format!("by {operation}"),
                });
            }
        }
        for (target, fault) in &self.breakage.clone() {
            if !now.contains_key(target) {
                self.record(EventKind::FaultHealed {
                    fault: *fault,
                    target: target.clone(),
                    how: format!("by {operation}"),
                });
            }
        }
        self.breakage = now;
    }

    async fn probe_round<W: RegistryWorld>(&mut self, world: &mut W) -> Result<(), WorldError> {
        let probes = &self.scenario.probes;
        if probes.naive_scan {
            let findings = naive_scan::scan(&*world.disk());
            self.record(EventKind::RegistryScan {
                scanner: NAIVE_SCANNER.into(),
                reported: findings.len() as u64,
                findings,
                requests: 0,
                latency_ms: 0,
                error: None,
            });
        }
        let round = world.integrity_probe(probes.integrity.concurrency).await?;
        self.clock_ms = self.clock_ms.saturating_add(round.latency_ms);
        let failures = round.findings.len() as u64;
        let catalog_failed = round.error.is_some();
        self.record(EventKind::RegistryScan {
            scanner: INTEGRITY_SCANNER.into(),
            reported: failures,
            findings: round.findings.clone(),
            requests: round.requests,
            latency_ms: round.latency_ms,
            error: round.error.clone(),
        });
        if catalog_failed != self.catalog_alert_firing {
            self.catalog_alert_firing = catalog_failed;
            self.record(EventKind::Alert {
                name: CATALOG_ALERT.into(),
                state: if catalog_failed {
                    AlertState::Firing
                } else {
                    AlertState::Resolved
                },
                detail: round.error.clone().unwrap_or_default(),
            });
        }
        self.failing_rounds = if failures > 0 {
            self.failing_rounds + 1
        } else {
            0
        };
        let firing = self.failing_rounds >= probes.integrity.alert_after_rounds;
        if firing != self.alert_firing {
            self.alert_firing = firing;
            self.record(EventKind::Alert {
                name: INTEGRITY_ALERT.into(),
                state: if firing {
                    AlertState::Firing
                } else {
                    AlertState::Resolved
                },
                detail: format!("registry_manifest_integrity_failures = {failures}"),
            });
        }
        Ok(())
    }
}
