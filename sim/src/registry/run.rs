//! A registry drill in turmoil: the registry host serves the model, the ops host runs the real integrity probe
//! (`firedrill_probes::registry`) over simulated TCP, and the scenarios' driver runs the plan. One seed, one trace.
//!
//! The registry has no timers, so between two planned operations nothing can happen. The turmoil world is therefore
//! stepped only while a probe round walks; the driver's clock jumps between operations and advances by each walk's
//! simulated duration. Cleanup and GC act on the model directly, as the CronJob and `garbage-collect` act on the
//! registry's disk. This keeps a run of days of compressed time to a few hundred ticks.

use super::disk_view::SimDisk;
use super::images::{upload_blob, Blob};
use super::manifest;
use super::server::{bind_and_serve, REGISTRY_PORT};
use super::{api, cleanup, GcOptions, Registry, RegistryConfig};
use crate::connector::TurmoilConnect;
use crate::SimOutcome;
use firedrill_probes::registry::{probe_registry, Report, WalkConfig};
use firedrill_probes::Endpoint;
use firedrill_scenarios::registry::driver::{self, CleanupOutcome, IntegrityRound, WorldError};
use firedrill_scenarios::registry::{
    finding, PushStep, RegistryDisk, RegistryPlan, RegistryScenario, RegistryWorld,
};
use std::cell::{Ref, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The turmoil names of the two hosts.
pub const REGISTRY_HOST: &str = "registry";
pub const OPS_HOST: &str = "ops";

/// The most ticks one probe round may take; a walk of the catalog's registries takes a few dozen.
const ROUND_TICK_LIMIT: u64 = 100_000;

/// Runs a registry scenario with a seed.
pub fn run(scenario: &RegistryScenario, seed: u64) -> SimOutcome {
    run_plan(scenario, &RegistryPlan::draw(scenario, seed))
}

/// Runs a concrete plan.
pub fn run_plan(scenario: &RegistryScenario, plan: &RegistryPlan) -> SimOutcome {
    // The one wall-clock reading, for the throughput figure; it never reaches the trace.
    #[allow(clippy::disallowed_methods)]
    let wall_started = std::time::Instant::now();
    let mut world = SimWorld::new(scenario, plan.seed);
    let trace = match block_on_ready(driver::drive(scenario, plan, &mut world)) {
        Ok(trace) => trace,
        // The model cannot fail the way a real backend can; a failure here is a broken invariant.
        Err((_, error)) => panic!("the simulated registry failed: {error}"),
    };
    SimOutcome {
        trace,
        wall_ms: wall_started.elapsed().as_millis() as u64,
        exact_stats: None,
    }
}

/// Polls a future that never waits: every [`SimWorld`] method completes synchronously.
fn block_on_ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a simulated registry operation waited outside turmoil"),
    }
}

/// A probe request from the driver and its answer, shared with the ops host.
#[derive(Default)]
struct RoundSlot {
    requested: Option<usize>,
    answer: Option<Result<Report, String>>,
}

struct SimWorld {
    registry: Rc<RefCell<Registry>>,
    sim: turmoil::Sim<'static>,
    slot: Rc<RefCell<RoundSlot>>,
    version: String,
}

impl SimWorld {
    fn new(scenario: &RegistryScenario, seed: u64) -> SimWorld {
        let registry = Rc::new(RefCell::new(Registry::new(RegistryConfig::default())));
        let slot = Rc::new(RefCell::new(RoundSlot::default()));
        let tick = Duration::from_millis(scenario.sim.tick_ms);
        let mut sim = turmoil::Builder::new()
            // Turmoil time passes only during walks, so the whole run's length bounds it generously.
            .simulation_duration(Duration::from_millis(scenario.duration_ms.max(60_000)))
            .tick_duration(tick)
            .min_message_latency(Duration::from_millis(scenario.sim.min_latency_ms))
            .max_message_latency(Duration::from_millis(scenario.sim.max_latency_ms))
            .rng_seed(seed)
            .build();
        let served = Rc::clone(&registry);
        sim.host(REGISTRY_HOST, move || {
            let registry = Rc::clone(&served);
            async move {
                bind_and_serve(REGISTRY_PORT, registry).await?;
                Ok(())
            }
        });
        let ops_slot = Rc::clone(&slot);
        sim.host(OPS_HOST, move || {
            let slot = Rc::clone(&ops_slot);
            async move {
                let endpoint = Endpoint::parse(&format!("http://{REGISTRY_HOST}:{REGISTRY_PORT}"))
                    .expect("the registry URL parses");
                loop {
                    let requested = slot.borrow_mut().requested.take();
                    let Some(concurrency) = requested else {
                        tokio::time::sleep(tick).await;
                        continue;
                    };
                    let config = WalkConfig {
                        concurrency,
                        ..WalkConfig::default()
                    };
                    let answer = probe_registry(&TurmoilConnect::default(), &endpoint, &config)
                        .await
                        .map_err(|error| error.to_string());
                    slot.borrow_mut().answer = Some(answer);
                }
            }
        });
        SimWorld {
            registry,
            sim,
            slot,
            version: format!(
                "distribution {} (firedrill model)",
                scenario.registry.version
            ),
        }
    }
}

impl RegistryWorld for SimWorld {
    fn backend(&self) -> String {
        "sim".to_string()
    }

    fn version(&self) -> String {
        self.version.clone()
    }

    async fn push(&mut self, steps: &[PushStep]) -> Result<(), WorldError> {
        let mut registry = self.registry.borrow_mut();
        for step in steps {
            match step {
                PushStep::Blob {
                    repository,
                    content,
                    ..
                } => {
                    // The media type does not reach the registry in an upload.
                    let blob = Blob::new(manifest::DOCKER_LAYER, content.clone());
                    upload_blob(&mut registry, repository, &blob)
                        .map_err(|error| WorldError::new("push blob", error))?;
                }
                PushStep::Manifest {
                    repository,
                    reference,
                    media_type,
                    content,
                    ..
                } => {
                    let response = api::handle(
                        &mut registry,
                        api::Request::put(format!("/v2/{repository}/manifests/{reference}"))
                            .with_header("Content-Type", media_type)
                            .with_body(content.clone()),
                    );
                    if response.status != 201 {
                        return Err(WorldError::new(
                            "push manifest",
                            format!("{} {:?}", response.status, response.error_codes()),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    async fn rmtree_tag(&mut self, repository: &str, tag: &str) -> Result<bool, WorldError> {
        let mut registry = self.registry.borrow_mut();
        Ok(!cleanup::rmtree_tags(&mut registry.storage, repository, &[tag]).is_empty())
    }

    async fn api_delete_tag(
        &mut self,
        repository: &str,
        tag: &str,
    ) -> Result<CleanupOutcome, WorldError> {
        let mut registry = self.registry.borrow_mut();
        let steps = cleanup::api_delete_tags(&mut registry, repository, &[tag]);
        let step = steps.first().expect("one tag gives one step");
        Ok(driver::api_cleanup_outcome(
            repository,
            tag,
            step.head_status,
            step.deleted_digest
                .as_ref()
                .map(|digest| digest.to_string()),
            step.delete_status,
        ))
    }

    async fn garbage_collect(&mut self, delete_untagged: bool) -> Result<(), WorldError> {
        self.registry
            .borrow_mut()
            .garbage_collect(GcOptions {
                dry_run: false,
                delete_untagged,
            })
            .map(|_| ())
            .map_err(|error| WorldError::new("garbage-collect", error))
    }

    async fn integrity_probe(&mut self, concurrency: usize) -> Result<IntegrityRound, WorldError> {
        {
            let mut slot = self.slot.borrow_mut();
            slot.requested = Some(concurrency);
            slot.answer = None;
        }
        let started = self.sim.elapsed();
        let mut ticks = 0;
        let answer = loop {
            if let Some(answer) = self.slot.borrow_mut().answer.take() {
                break answer;
            }
            assert!(
                ticks < ROUND_TICK_LIMIT,
                "a probe round took more than {ROUND_TICK_LIMIT} ticks"
            );
            if let Err(error) = self.sim.step() {
                panic!("simulation failed: {error}");
            }
            ticks += 1;
        };
        let latency_ms = (self.sim.elapsed() - started).as_millis() as u64;
        Ok(match answer {
            Ok(report) => IntegrityRound {
                findings: findings_of(&report),
                requests: report.requests,
                latency_ms,
                error: None,
            },
            Err(error) => IntegrityRound {
                latency_ms,
                error: Some(error),
                ..IntegrityRound::default()
            },
        })
    }

    fn disk(&self) -> Box<dyn RegistryDisk + '_> {
        Box::new(BorrowedDisk(self.registry.borrow()))
    }
}

/// The model's disk, borrowed between operations (never while a step holds the model).
struct BorrowedDisk<'a>(Ref<'a, Registry>);

impl RegistryDisk for BorrowedDisk<'_> {
    fn is_file(&self, path: &str) -> bool {
        SimDisk(&self.0.storage).is_file(path)
    }

    fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        SimDisk(&self.0.storage).read_file(path)
    }

    fn list_dir(&self, path: &str) -> Vec<(String, bool)> {
        SimDisk(&self.0.storage).list_dir(path)
    }
}

/// The probe's report as trace findings.
pub fn findings_of(report: &Report) -> Vec<String> {
    let mut findings: Vec<String> = report
        .broken
        .iter()
        .map(|broken| finding(broken.kind.as_str(), &broken.repository, &broken.reference))
        .collect();
    findings.sort();
    findings.dedup();
    findings
}
