//! Record-and-compare of the simulated API server: the kube-rs actuator's requests for each verb, and the
//! answers the server gives, kept as a fixture (`fixtures/apiserver/exchanges.json`) and checked against the
//! Kubernetes API's documented behaviour: status codes, `Status` reasons, `deletionTimestamp` and
//! `deletionGracePeriodSeconds` on a graceful delete, a finalizer that holds a deleted claim, 409 on a stale
//! precondition, 422 on an invalid value, 429 on an eviction the disruption budget refuses.
//!
//! A change to what is sent or answered fails the comparison; `FIREDRILL_BLESS=1` rewrites the fixture, whose
//! diff is then reviewed. The same exchanges can be replayed against a real API server where one is reachable.

use bytes::Bytes;
use firedrill_kubeact::KubeActuator;
use firedrill_scenarios::runbook::Action;
use firedrill_scenarios::scenario::FsGroupChangePolicy;
use firedrill_scenarios::{catalog, Schedule};
use firedrill_sim::kube::client::ApiServerService;
use firedrill_sim::kube::{apiserver, PodPhase};
use firedrill_sim::world::{SharedWorld, World};
use http_body_util::{BodyExt, Full};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tower::BoxError;

/// Wraps the sim's transport and keeps each request and its answer, bodies read whole.
#[derive(Clone, Default)]
struct Recorder {
    inner: ApiServerService,
    exchanges: Arc<Mutex<Vec<Value>>>,
}

type Recorded = Pin<Box<dyn Future<Output = Result<http::Response<Full<Bytes>>, BoxError>> + Send>>;

impl tower::Service<http::Request<kube::client::Body>> for Recorder {
    type Response = http::Response<Full<Bytes>>;
    type Error = BoxError;
    type Future = Recorded;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<kube::client::Body>) -> Recorded {
        let mut inner = self.inner.clone();
        let exchanges = self.exchanges.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let sent = body.collect().await?.to_bytes();
            let request_json = json!({
                "method": parts.method.as_str(),
                "path": parts.uri.path_and_query().map_or("", |p| p.as_str()),
                "body": json_or_null(&sent),
            });
            let request = http::Request::from_parts(parts, kube::client::Body::from(sent.to_vec()));
            let response = tower::Service::call(&mut inner, request).await?;
            let (parts, body) = response.into_parts();
            let answered = body.collect().await?.to_bytes();
            exchanges.lock().unwrap().push(json!({
                "request": request_json,
                "response": { "code": parts.status.as_u16(), "body": json_or_null(&answered) },
            }));
            Ok(http::Response::from_parts(parts, Full::new(answered)))
        })
    }
}

fn json_or_null(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).expect("the actuator and the server speak JSON")
    }
}

/// Three Ready voters with their claims, no fault, the scheduler and kubelets stopped: only the API server acts.
fn world() -> SharedWorld {
    let scenario = catalog::load("vault-storage-migration").unwrap();
    let schedule = Schedule::draw(&scenario, 1);
    let mut world = World::new(&scenario, &schedule);
    firedrill_sim::kube::start_cluster(&mut world);
    for pod in world.pods.values_mut() {
        pod.phase = PodPhase::Ready;
    }
    Rc::new(RefCell::new(world))
}

/// Runs each verb once, and the reads that show its effect, through the actuator and a plain kube::Api.
fn record() -> (Vec<Value>, SharedWorld) {
    let world = world();
    let mut sim = turmoil::Builder::new().rng_seed(1).build();
    let api_world = world.clone();
    sim.host(apiserver::APISERVER_HOST, move || {
        apiserver::main(api_world.clone())
    });
    let recorder = Recorder::default();
    let exchanges = recorder.exchanges.clone();
    sim.client("ops", async move {
        let client = kube::Client::new(recorder, firedrill_kubeact::NAMESPACE);
        let kube = KubeActuator::new(client.clone());
        let act = |action: Action| {
            let kube = kube.clone();
            async move { kube.act(&action).await.expect("a Kubernetes action") }
        };
        let pod = |name: &str| Action::DeletePod { pod: name.into() };
        kube.get_pod("vault-0").await?;
        act(pod("vault-0")).await?;
        kube.get_pod("vault-0").await?;
        let refused = act(Action::EvictPod { pod: "vault-1".into() }).await;
        assert!(refused.is_err());
        let stale = kube.get_pod("vault-2").await?.unwrap();
        let stale_version = stale.metadata.resource_version.unwrap();
        act(Action::ForceDeletePod { pod: "vault-2".into() }).await?;
        kube.get_pod("vault-2").await?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), firedrill_kubeact::NAMESPACE);
        let conflict = pods
            .delete(
                "vault-1",
                &DeleteParams {
                    preconditions: Some(Preconditions {
                        resource_version: Some(stale_version),
                        uid: None,
                    }),
                    ..DeleteParams::default()
                },
            )
            .await;
        assert!(conflict.is_err());
        act(Action::DeletePvc { claim: "data-vault-1".into() }).await?;
        kube.get_claim("data-vault-1").await?;
        act(Action::RemovePvcFinalizer { claim: "data-vault-1".into() }).await?;
        kube.get_claim("data-vault-1").await?;
        act(Action::SetFsGroupChangePolicy {
            policy: FsGroupChangePolicy::OnRootMismatch,
        })
        .await?;
        let statefulsets: Api<k8s_openapi::api::apps::v1::StatefulSet> =
            Api::namespaced(client.clone(), firedrill_kubeact::NAMESPACE);
        let invalid = statefulsets
            .patch(
                "vault",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({
                    "spec": { "template": { "spec": { "securityContext": { "fsGroupChangePolicy": "Sometimes" } } } }
                })),
            )
            .await;
        assert!(invalid.is_err());
        kube.list_voters().await?;
        kube.get_node("k8s-node1").await?;
        Ok(())
    });
    sim.run().expect("the exchanges complete");
    let recorded = exchanges.lock().unwrap().clone();
    (recorded, world)
}

fn exchange<'a>(exchanges: &'a [Value], method: &str, path: &str, nth: usize) -> &'a Value {
    exchanges
        .iter()
        .filter(|e| {
            e["request"]["method"] == method
                && e["request"]["path"].as_str().unwrap().starts_with(path)
        })
        .nth(nth)
        .unwrap_or_else(|| panic!("no exchange {nth} for {method} {path}"))
}

const POD_0: &str = "/api/v1/namespaces/vault/pods/vault-0";
const POD_1: &str = "/api/v1/namespaces/vault/pods/vault-1";
const POD_2: &str = "/api/v1/namespaces/vault/pods/vault-2";
const CLAIM_1: &str = "/api/v1/namespaces/vault/persistentvolumeclaims/data-vault-1";

#[test]
fn a_graceful_delete_sets_deletion_timestamp_and_grace_and_keeps_the_pod_terminating() {
    let (exchanges, world) = record();
    let deleted = exchange(&exchanges, "DELETE", POD_0, 0);
    assert_eq!(deleted["response"]["code"], 200);
    let meta = &deleted["response"]["body"]["metadata"];
    let grace_s = world.borrow().scenario.topology.termination_grace_period_ms / 1_000;
    assert_eq!(meta["deletionGracePeriodSeconds"], json!(grace_s));
    // deletionTimestamp is the time by which the pod should be gone: the request's time plus the grace.
    let created = meta["creationTimestamp"].as_str().unwrap();
    let deadline = meta["deletionTimestamp"].as_str().unwrap();
    assert!(deadline > created, "{deadline} after {created}");
    let after = exchange(&exchanges, "GET", POD_0, 1);
    assert_eq!(
        after["response"]["code"], 200,
        "a graceful delete keeps the object"
    );
    assert_eq!(
        after["response"]["body"]["metadata"]["deletionTimestamp"],
        json!(deadline)
    );
    assert_ne!(
        after["response"]["body"]["metadata"]["resourceVersion"],
        exchange(&exchanges, "GET", POD_0, 0)["response"]["body"]["metadata"]["resourceVersion"],
        "the object changed, so its resourceVersion did"
    );
    assert_eq!(world.borrow().pods["vault-0"].phase, PodPhase::Terminating);
}

#[test]
fn a_force_delete_sends_zero_grace_and_the_pod_is_gone_at_once() {
    let (exchanges, world) = record();
    let forced = exchange(&exchanges, "DELETE", POD_2, 0);
    assert_eq!(forced["request"]["body"]["gracePeriodSeconds"], 0);
    assert_eq!(forced["response"]["code"], 200);
    assert_eq!(
        forced["response"]["body"]["metadata"]["deletionGracePeriodSeconds"],
        0
    );
    let gone = exchange(&exchanges, "GET", POD_2, 1);
    assert_eq!(gone["response"]["code"], 404);
    assert_eq!(gone["response"]["body"]["kind"], "Status");
    assert_eq!(gone["response"]["body"]["reason"], "NotFound");
    assert_eq!(
        gone["response"]["body"]["message"],
        "pods \"vault-2\" not found"
    );
    assert!(!world.borrow().pods.contains_key("vault-2"));
}

#[test]
fn an_eviction_past_the_disruption_budget_is_a_429_and_changes_nothing() {
    let (exchanges, _world) = record();
    let refused = exchange(&exchanges, "POST", &format!("{POD_1}/eviction"), 0);
    // kube 5 sends the Eviction without kind and apiVersion (the subresource implies them), naming the pod.
    assert_eq!(refused["request"]["body"]["metadata"]["name"], "vault-1");
    assert_eq!(refused["response"]["code"], 429);
    assert_eq!(refused["response"]["body"]["reason"], "TooManyRequests");
    assert_eq!(
        refused["response"]["body"]["details"]["causes"][0]["reason"],
        "DisruptionBudget"
    );
}

#[test]
fn a_stale_resource_version_precondition_is_a_409_conflict() {
    let (exchanges, world) = record();
    let conflict = exchange(&exchanges, "DELETE", POD_1, 0);
    assert_eq!(conflict["response"]["code"], 409);
    assert_eq!(conflict["response"]["body"]["reason"], "Conflict");
    assert!(
        world.borrow().pods["vault-1"].termination.is_none(),
        "a refused delete changes nothing"
    );
}

#[test]
fn the_pvc_protection_finalizer_holds_a_deleted_claim_until_it_is_patched_out() {
    let (exchanges, world) = record();
    let deleted = exchange(&exchanges, "DELETE", CLAIM_1, 0);
    assert_eq!(deleted["response"]["code"], 200);
    let meta = &deleted["response"]["body"]["metadata"];
    assert_eq!(meta["finalizers"], json!(["kubernetes.io/pvc-protection"]));
    assert!(meta["deletionTimestamp"].is_string());
    assert_eq!(
        exchange(&exchanges, "GET", CLAIM_1, 0)["response"]["code"],
        200,
        "held"
    );
    let patched = exchange(&exchanges, "PATCH", CLAIM_1, 0);
    assert_eq!(
        patched["request"]["body"],
        json!({ "metadata": { "finalizers": null } })
    );
    assert_eq!(patched["response"]["code"], 200);
    let gone = exchange(&exchanges, "GET", CLAIM_1, 1);
    assert_eq!(gone["response"]["code"], 404);
    assert!(!world.borrow().claims.contains_key("data-vault-1"));
}

#[test]
fn the_statefulset_patch_sets_the_policy_and_an_unsupported_value_is_a_422() {
    let (exchanges, world) = record();
    let path = "/apis/apps/v1/namespaces/vault/statefulsets/vault";
    let patched = exchange(&exchanges, "PATCH", path, 0);
    assert_eq!(patched["response"]["code"], 200);
    assert_eq!(
        patched["response"]["body"]["spec"]["template"]["spec"]["securityContext"]
            ["fsGroupChangePolicy"],
        "OnRootMismatch"
    );
    let invalid = exchange(&exchanges, "PATCH", path, 1);
    assert_eq!(invalid["response"]["code"], 422);
    assert_eq!(invalid["response"]["body"]["reason"], "Invalid");
    assert_eq!(
        world.borrow().fs_group_change_policy,
        FsGroupChangePolicy::OnRootMismatch,
        "the invalid patch changed nothing"
    );
}

#[test]
fn the_exchanges_match_the_recorded_fixture() {
    let (exchanges, _world) = record();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/apiserver/exchanges.json"
    );
    let recorded = serde_json::to_string_pretty(&exchanges).unwrap() + "\n";
    if std::env::var_os("FIREDRILL_BLESS").is_some() {
        std::fs::write(path, &recorded).unwrap();
    }
    let fixture =
        std::fs::read_to_string(path).expect("the fixture exists; FIREDRILL_BLESS=1 writes it");
    assert!(
        fixture == recorded,
        "the exchanges differ from {path}; review the change and rerun with FIREDRILL_BLESS=1"
    );
    // Recording twice gives the same bytes: the server is deterministic.
    let (again, _) = record();
    assert_eq!(exchanges, again);
}
