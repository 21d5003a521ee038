//! The REST paths the actuator uses, each answered from the world by the same function the runbook's actions
//! called before the API server existed (`kube::api`, `kube::claims`), so the world's behaviour and its
//! ground-truth events are the same whichever way an action arrives.

use super::objects::{time_at, ApiState};
use super::status::{self, Reply};
use crate::kube;
use crate::world::World;
use firedrill_kubeact::{ACTIVE_SERVICE, NAMESPACE, STATEFULSET};
use firedrill_scenarios::scenario::FsGroupChangePolicy;
use serde_json::{json, Value};

/// One request as the server reads it.
pub struct ApiRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
}

/// Answers one request. Never panics on a client's input: anything it does not serve is a 404 or 405 `Status`.
pub fn handle(world: &mut World, state: &mut ApiState, request: &ApiRequest<'_>) -> Reply {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let core_ns = ["api", "v1", "namespaces", NAMESPACE];
    let apps_ns = ["apis", "apps", "v1", "namespaces", NAMESPACE];
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(request.body) {
            Ok(body) => body,
            Err(error) => {
                return status::failure(
                    400,
                    "BadRequest",
                    &format!("invalid JSON: {error}"),
                    "",
                    "",
                )
            }
        }
    };
    match (request.method, segments.as_slice()) {
        ("GET", [a, b, c, d, "pods"]) if [*a, *b, *c, *d] == core_ns => list_pods(world, state),
        ("GET", [a, b, c, d, "pods", name]) if [*a, *b, *c, *d] == core_ns => {
            get_pod(world, state, name)
        }
        ("DELETE", [a, b, c, d, "pods", name]) if [*a, *b, *c, *d] == core_ns => {
            delete_pod(world, state, name, &body)
        }
        ("POST", [a, b, c, d, "pods", name, "eviction"]) if [*a, *b, *c, *d] == core_ns => {
            evict_pod(world, name)
        }
        ("GET", [a, b, c, d, "persistentvolumeclaims", name]) if [*a, *b, *c, *d] == core_ns => {
            get_claim(world, state, name)
        }
        ("DELETE", [a, b, c, d, "persistentvolumeclaims", name]) if [*a, *b, *c, *d] == core_ns => {
            delete_claim(world, state, name)
        }
        ("PATCH", [a, b, c, d, "persistentvolumeclaims", name]) if [*a, *b, *c, *d] == core_ns => {
            patch_claim(world, state, name, &body)
        }
        ("PATCH", [a, b, c, d, e, "statefulsets", name]) if [*a, *b, *c, *d, *e] == apps_ns => {
            patch_statefulset(world, name, &body)
        }
        ("GET", [a, b, c, d, "events"]) if [*a, *b, *c, *d] == core_ns => {
            list_events(world, request.query)
        }
        ("GET", [a, b, c, d, "endpoints", name]) if [*a, *b, *c, *d] == core_ns => {
            get_endpoints(world, name)
        }
        ("GET", ["api", "v1", "nodes", name]) => get_node(world, name),
        (method, _) if !matches!(method, "GET" | "POST" | "PUT" | "PATCH" | "DELETE") => {
            status::failure(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                "",
                "",
            )
        }
        _ => status::failure(
            404,
            "NotFound",
            "the server could not find the requested resource",
            "",
            "",
        ),
    }
}

fn object(value: &impl serde::Serialize) -> Reply {
    Reply::ok(serde_json::to_value(value).expect("API objects serialize"))
}

fn get_pod(world: &World, state: &mut ApiState, name: &str) -> Reply {
    match world.pods.get(name) {
        Some(pod) => object(&state.pod(world, pod)),
        None => status::not_found("pods", "", name),
    }
}

fn list_pods(world: &World, state: &mut ApiState) -> Reply {
    let items: Vec<Value> = world
        .pods
        .values()
        .map(|pod| serde_json::to_value(state.pod(world, pod)).expect("pods serialize"))
        .collect();
    Reply::ok(json!({
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {},
        "items": items,
    }))
}

/// The `preconditions` of DeleteOptions: a uid or resourceVersion that no longer matches is a 409.
fn precondition_failure(body: &Value, uid: &str, version: &str) -> Option<String> {
    let preconditions = body.get("preconditions")?;
    if let Some(wanted) = preconditions.get("uid").and_then(Value::as_str) {
        if wanted != uid {
            return Some(format!(
                "Precondition failed: UID in precondition: {wanted}, UID in object meta: {uid}"
            ));
        }
    }
    if let Some(wanted) = preconditions.get("resourceVersion").and_then(Value::as_str) {
        if wanted != version {
            return Some(format!(
                "Precondition failed: ResourceVersion in precondition: {wanted}, ResourceVersion in object meta: {version}"
            ));
        }
    }
    None
}

/// DELETE a pod. No `gracePeriodSeconds` takes the pod's own; 0 deletes the object at once (`--force`).
fn delete_pod(world: &mut World, state: &mut ApiState, name: &str, body: &Value) -> Reply {
    let Some(pod) = world.pods.get(name).cloned() else {
        return status::not_found("pods", "", name);
    };
    let version = state.version_of_pod(world, &pod);
    if let Some(why) = precondition_failure(body, &pod.uid, &version) {
        return status::conflict("pods", name, &why);
    }
    let grace_s = body.get("gracePeriodSeconds").and_then(Value::as_i64);
    match grace_s {
        Some(grace_s) if grace_s < 0 => status::invalid(
            "Pod",
            "pods",
            name,
            "gracePeriodSeconds",
            "must be greater than or equal to 0",
        ),
        Some(0) => {
            let mut gone = state.pod(world, &pod);
            if let Err(why) = kube::force_delete_pod(world, name) {
                return status::not_found("pods", "", &why);
            }
            // The object as it was at its deletion.
            gone.metadata.deletion_timestamp = Some(time_at(world.now_ms()));
            gone.metadata.deletion_grace_period_seconds = Some(0);
            object(&gone)
        }
        grace_s => {
            let result = match grace_s {
                Some(grace_s) => kube::delete_pod_with_grace(world, name, grace_s as u64 * 1_000),
                None => kube::delete_pod(world, name),
            };
            match result {
                Ok(()) => {
                    let pod = world
                        .pods
                        .get(name)
                        .cloned()
                        .expect("a graceful delete keeps the pod");
                    object(&state.pod(world, &pod))
                }
                Err(_) => status::not_found("pods", "", name),
            }
        }
    }
}

/// POST an Eviction: 201 when it goes, 429 when the PodDisruptionBudget refuses it.
fn evict_pod(world: &mut World, name: &str) -> Reply {
    if !world.pods.contains_key(name) {
        return status::not_found("pods", "", name);
    }
    match kube::evict_pod(world, name) {
        Ok(()) => status::success(201),
        Err(why) => {
            // The world's message is the API server's message followed by the budget's cause.
            let (message, cause) = why
                .split_once(". ")
                .map(|(message, cause)| (format!("{message}."), cause.to_string()))
                .unwrap_or((why.clone(), String::new()));
            status::failure_with_causes(
                429,
                "TooManyRequests",
                &message,
                "pods",
                name,
                vec![json!({ "reason": "DisruptionBudget", "message": cause })],
            )
        }
    }
}

fn get_claim(world: &World, state: &mut ApiState, name: &str) -> Reply {
    match world.claims.get(name) {
        Some(claim) => object(&state.claim(world, claim)),
        None => status::not_found("persistentvolumeclaims", "", name),
    }
}

/// DELETE a claim: with the pvc-protection finalizer it stays, Terminating, with a deletionTimestamp; without,
/// it goes.
fn delete_claim(world: &mut World, state: &mut ApiState, name: &str) -> Reply {
    let Some(before) = world.claims.get(name).cloned() else {
        return status::not_found("persistentvolumeclaims", "", name);
    };
    if !before.deleting {
        state
            .claim_deleted_ms
            .insert(name.to_string(), world.now_ms());
    }
    let mut last = state.claim(world, &before);
    if let Err(why) = kube::delete_claim(world, name) {
        return status::not_found("persistentvolumeclaims", "", &why);
    }
    match world.claims.get(name).cloned() {
        Some(claim) => object(&state.claim(world, &claim)),
        None => {
            state.claim_deleted_ms.remove(name);
            last.metadata.deletion_timestamp = Some(time_at(world.now_ms()));
            object(&last)
        }
    }
}

/// A merge patch of a claim. The simulated server serves the one the runbooks send, removing the finalizers;
/// any other change is refused with 422 rather than silently dropped.
fn patch_claim(world: &mut World, state: &mut ApiState, name: &str, body: &Value) -> Reply {
    let Some(claim) = world.claims.get(name).cloned() else {
        return status::not_found("persistentvolumeclaims", "", name);
    };
    let current = state.claim(world, &claim);
    let meta = body.get("metadata");
    if let Some(wanted) = meta
        .and_then(|meta| meta.get("resourceVersion"))
        .and_then(Value::as_str)
    {
        if Some(wanted) != current.metadata.resource_version.as_deref() {
            return status::conflict(
                "persistentvolumeclaims",
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            );
        }
    }
    let clears_finalizers =
        meta.and_then(|meta| meta.get("finalizers"))
            .is_some_and(|finalizers| {
                finalizers.is_null() || finalizers.as_array().is_some_and(|list| list.is_empty())
            });
    let other_keys = body
        .as_object()
        .is_some_and(|top| top.keys().any(|key| key != "metadata"))
        || meta.and_then(Value::as_object).is_some_and(|meta| {
            meta.keys()
                .any(|key| key != "finalizers" && key != "resourceVersion")
        });
    if !clears_finalizers || other_keys {
        return status::invalid(
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            name,
            "spec",
            "the simulated API server patches only metadata.finalizers of a claim, to null or []",
        );
    }
    if let Err(why) = kube::remove_claim_finalizer(world, name) {
        return status::not_found("persistentvolumeclaims", "", &why);
    }
    match world.claims.get(name).cloned() {
        Some(claim) => object(&state.claim(world, &claim)),
        None => {
            state.claim_deleted_ms.remove(name);
            let mut gone = current;
            gone.metadata.finalizers = None;
            object(&gone)
        }
    }
}

/// A merge patch of the StatefulSet's `securityContext.fsGroupChangePolicy`; an unknown policy is a 422 with
/// the API server's own wording.
fn patch_statefulset(world: &mut World, name: &str, body: &Value) -> Reply {
    if name != STATEFULSET {
        return status::not_found("statefulsets", ".apps", name);
    }
    let field = "spec.template.spec.securityContext.fsGroupChangePolicy";
    let Some(value) = body
        .pointer("/spec/template/spec/securityContext/fsGroupChangePolicy")
        .and_then(Value::as_str)
    else {
        return status::invalid(
            "StatefulSet.apps",
            "statefulsets",
            name,
            "spec",
            "the simulated API server patches only spec.template.spec.securityContext.fsGroupChangePolicy",
        );
    };
    let policy = match value {
        "Always" => FsGroupChangePolicy::Always,
        "OnRootMismatch" => FsGroupChangePolicy::OnRootMismatch,
        other => {
            return status::invalid(
                "StatefulSet.apps",
                "statefulsets",
                name,
                field,
                &format!(
                "Unsupported value: \"{other}\": supported values: \"Always\", \"OnRootMismatch\""
            ),
            )
        }
    };
    kube::set_fs_group_change_policy(world, policy).expect("setting the policy cannot fail");
    Reply::ok(statefulset_object(world))
}

fn statefulset_object(world: &World) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": STATEFULSET, "namespace": NAMESPACE },
        "spec": {
            "replicas": world.scenario.voter_names().len(),
            "serviceName": "vault-internal",
            "selector": { "matchLabels": { "app.kubernetes.io/name": "vault" } },
            "template": {
                "metadata": { "labels": { "app.kubernetes.io/name": "vault" } },
                "spec": {
                    "securityContext": { "fsGroupChangePolicy": world.fs_group_change_policy.as_str() },
                    "containers": [{ "name": "vault" }],
                },
            },
        },
    })
}

/// The pod an event list is filtered to, from `fieldSelector=involvedObject.name=<pod>`.
fn involved_pod(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let value = pair.strip_prefix("fieldSelector=")?;
        let decoded = value
            .replace("%3D", "=")
            .replace("%2C", ",")
            .replace("%2F", "/");
        decoded.split(',').find_map(|term| {
            term.strip_prefix("involvedObject.name=")
                .map(str::to_string)
        })
    })
}

/// How many of a pod's latest log lines the events are drawn from: the kubelet's and the scheduler's.
const EVENTS_SCANNED: usize = 64;

fn list_events(world: &World, query: &str) -> Reply {
    let Some(pod) = involved_pod(query) else {
        return status::failure(
            400,
            "BadRequest",
            "the simulated API server lists events only with fieldSelector=involvedObject.name=<pod>",
            "events",
            "",
        );
    };
    let items: Vec<Value> = world
        .logs_tail(&pod, EVENTS_SCANNED)
        .into_iter()
        .filter_map(|line| {
            let (component, message) = line.split_once(": ")?;
            matches!(component, "kubelet" | "default-scheduler").then(|| {
                json!({
                    "metadata": { "namespace": NAMESPACE },
                    "involvedObject": { "kind": "Pod", "name": pod, "namespace": NAMESPACE },
                    "source": { "component": component },
                    "message": message,
                })
            })
        })
        .collect();
    Reply::ok(json!({ "kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": items }))
}

fn get_endpoints(world: &World, name: &str) -> Reply {
    if name != ACTIVE_SERVICE {
        return status::not_found("endpoints", "", name);
    }
    let addresses: Vec<Value> = crate::ops::active_endpoints(world)
        .into_iter()
        .map(|pod| json!({ "ip": "", "targetRef": { "kind": "Pod", "name": pod, "namespace": NAMESPACE } }))
        .collect();
    let subsets = if addresses.is_empty() {
        json!([])
    } else {
        json!([{ "addresses": addresses }])
    };
    Reply::ok(json!({
        "kind": "Endpoints",
        "apiVersion": "v1",
        "metadata": { "name": name, "namespace": NAMESPACE },
        "subsets": subsets,
    }))
}

/// The annotation the kubelet sets on its node once a CSI driver has registered there.
pub const CSI_NODE_ID_ANNOTATION: &str = "csi.volume.kubernetes.io/nodeid";

fn get_node(world: &World, name: &str) -> Reply {
    if !world.nodes.contains_key(name) {
        return status::not_found("nodes", "", name);
    }
    let now_ms = world.now_ms();
    let vm = world.vms.get(name);
    let ready = vm.is_some_and(|vm| vm.api_ready());
    let mut metadata = json!({ "name": name });
    if vm.is_some_and(|vm| vm.csi_registered(now_ms)) {
        metadata["annotations"] =
            json!({ CSI_NODE_ID_ANNOTATION: format!("{{\"nfs.csi.k8s.io\":\"{name}\"}}") });
    }
    Reply::ok(json!({
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": metadata,
        "status": { "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "Unknown" } }] },
    }))
}
