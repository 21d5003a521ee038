//! The Vault drill's topology on a cluster as typed Kubernetes objects: what `--act-on-cluster` applies (by
//! server-side apply, in this order) and what a dry run lists, built by one function so the two cannot drift.
//!
//! The shape is vault-helm's (labels, hostname anti-affinity, `OnDelete` updates, the PodDisruptionBudget, the
//! `vault-active` Service with `publishNotReadyAddresses`, Kubernetes service registration), with two changes
//! the drill needs and says: each voter's raft directory is a hostPath on the node's hang filesystem instead of
//! a claim, and there is no preStop hook, because the docker backend's image is `FROM scratch` with `bao` alone
//! (no shell to run vault-helm's `sleep 5 && kill -SIGTERM`), so the kubelet sends SIGTERM at once.

use firedrill_scenarios::Scenario;
use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use serde_json::{json, Value};

/// The server-side apply field manager: the owner of every field the drill sets.
pub const FIELD_MANAGER: &str = "firedrill";
/// The hang filesystem's image (`ci/hangfs-image.sh`): `firedrill-hangfs` and `fusermount3`.
pub const DEFAULT_HANGFS_IMAGE: &str = "firedrill/hangfs:dev";
pub const HANGFS_IMAGE_ENV: &str = "FIREDRILL_HANGFS_IMAGE";
/// The docker backend's OpenBao image (`ci/openbao-image.sh`), loaded into kind with `kind load docker-image`.
pub const DEFAULT_OPENBAO_IMAGE: &str = "firedrill/openbao:2.7.2";
pub const OPENBAO_IMAGE_ENV: &str = "FIREDRILL_OPENBAO_IMAGE";
/// On every worker: the hang filesystem's backing directory, and where it mounts it.
pub const HANG_BACKING_DIR: &str = "/var/lib/firedrill/backing";
pub const HANG_MOUNT_DIR: &str = "/var/lib/firedrill/hang";
/// The DaemonSet serving the hang filesystem.
pub const HANGFS_DAEMONSET: &str = "firedrill-hangfs";
/// The headless Service that names each voter (`vault-0.vault-internal`), as vault-helm's.
pub const INTERNAL_SERVICE: &str = "vault-internal";

/// One object to apply: its kind and name, the URL path kube builds for it, and its body.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Manifest {
    pub kind: &'static str,
    pub name: String,
    /// The resource's URL path without the name (`/apis/apps/v1/namespaces/vault/statefulsets`).
    pub collection: String,
    pub body: Value,
}

/// The images the drill runs.
#[derive(Clone, Debug)]
pub struct Images {
    pub openbao: String,
    pub hangfs: String,
}

impl Images {
    /// `$FIREDRILL_OPENBAO_IMAGE` and `$FIREDRILL_HANGFS_IMAGE`, else the scripts' defaults.
    pub fn from_env() -> Images {
        Images {
            openbao: std::env::var(OPENBAO_IMAGE_ENV)
                .unwrap_or_else(|_| DEFAULT_OPENBAO_IMAGE.to_string()),
            hangfs: std::env::var(HANGFS_IMAGE_ENV)
                .unwrap_or_else(|_| DEFAULT_HANGFS_IMAGE.to_string()),
        }
    }
}

/// Builds a manifest from JSON, checked against the typed object so a misspelt field or a wrong type is a
/// test failure here rather than a 422 from a cluster. k8s-openapi ignores fields it does not know, so the
/// object must also come back from its type unchanged: a misspelt field would otherwise be dropped in silence.
fn manifest<K>(name: &str, body: Value) -> Manifest
where
    K: k8s_openapi::Resource
        + kube::Resource<DynamicType = ()>
        + serde::de::DeserializeOwned
        + serde::Serialize,
{
    let typed: K = serde_json::from_value(body.clone()).unwrap_or_else(|error| {
        panic!(
            "the {} manifest {name} does not match its type: {error}",
            <K as k8s_openapi::Resource>::KIND
        )
    });
    let typed_body = serde_json::to_value(&typed).expect("a typed object serializes");
    assert_eq!(
        typed_body,
        body,
        "the {} manifest {name} has a field its type does not know",
        <K as k8s_openapi::Resource>::KIND
    );
    Manifest {
        kind: <K as k8s_openapi::Resource>::KIND,
        name: name.to_string(),
        collection: <K as kube::Resource>::url_path(&(), typed.meta().namespace.as_deref()),
        body,
    }
}

fn metadata(name: &str, labels: Value) -> Value {
    json!({ "name": name, "namespace": firedrill_kubeact::NAMESPACE, "labels": labels })
}

/// The voters' API and cluster ports, as both Services expose them.
fn service_ports() -> Value {
    json!([{ "name": "http", "port": 8200 }, { "name": "https-internal", "port": 8201 }])
}

fn voter_labels() -> Value {
    json!({
        "app.kubernetes.io/name": "vault",
        "app.kubernetes.io/instance": "vault",
        "component": "server",
    })
}

/// OpenBao's configuration, shared by the voters: each joins the others by their stable names, and registers
/// with Kubernetes so it sets its own `vault-active` label, as vault-helm's HA raft configuration does.
fn server_config(voters: &[String]) -> String {
    let joins: String = voters
        .iter()
        .map(|voter| {
            format!(
                "  retry_join {{\n    leader_api_addr = \"http://{voter}.{INTERNAL_SERVICE}:8200\"\n  }}\n"
            )
        })
        .collect();
    format!(
        "ui = false\ndisable_mlock = true\n\
         listener \"tcp\" {{\n  address = \"0.0.0.0:8200\"\n  cluster_address = \"0.0.0.0:8201\"\n  tls_disable = true\n}}\n\
         storage \"raft\" {{\n  path = \"/vault/data\"\n{joins}}}\n\
         service_registration \"kubernetes\" {{}}\n"
    )
}

/// Every object of the drill, in the order it is applied: the namespace and the voters' rights first, then the
/// hang filesystem (which must be mounted before a voter starts on it), then the Services, the budget and the
/// voters.
pub fn topology(scenario: &Scenario, images: &Images) -> Vec<Manifest> {
    let namespace = firedrill_kubeact::NAMESPACE;
    let voters = scenario.voter_names();
    let grace_seconds = scenario.topology.termination_grace_period_ms.div_ceil(1000);
    let fs_group_change_policy = scenario.topology.fs_group_change_policy.as_str();
    let hangfs_labels = json!({ "app.kubernetes.io/name": HANGFS_DAEMONSET });
    vec![
        manifest::<Namespace>(
            namespace,
            json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": namespace } }),
        ),
        manifest::<ServiceAccount>(
            "vault",
            json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata("vault", voter_labels()) }),
        ),
        // Kubernetes service registration patches the pod's own labels (vault-active, vault-sealed, …).
        manifest::<Role>(
            "vault-discovery-role",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": metadata("vault-discovery-role", voter_labels()),
                "rules": [{ "apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list", "update", "patch"] }],
            }),
        ),
        manifest::<RoleBinding>(
            "vault-discovery-rolebinding",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": metadata("vault-discovery-rolebinding", voter_labels()),
                "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "vault-discovery-role" },
                "subjects": [{ "kind": "ServiceAccount", "name": "vault", "namespace": namespace }],
            }),
        ),
        manifest::<ConfigMap>(
            "vault-config",
            json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": metadata("vault-config", voter_labels()),
                "data": { "config.hcl": server_config(&voters) },
            }),
        ),
        // The kind nodes get /dev/fuse through ci/kind/cluster.yaml's extraMounts. Bidirectional propagation
        // makes the FUSE mount the container makes visible on the node, where the voters' hostPath finds it.
        // stdin stays open (stdinOnce false): firedrill-hangfs releases every held call and unmounts at the
        // end of its stdin, and the harness attaches to send `hold` and `release`.
        manifest::<DaemonSet>(
            HANGFS_DAEMONSET,
            json!({
                "apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": metadata(HANGFS_DAEMONSET, hangfs_labels.clone()),
                "spec": {
                    "selector": { "matchLabels": hangfs_labels.clone() },
                    "template": {
                        "metadata": { "labels": hangfs_labels },
                        "spec": {
                            "containers": [{
                                "name": "hangfs",
                                "image": images.hangfs,
                                "imagePullPolicy": "Never",
                                "args": [HANG_BACKING_DIR, HANG_MOUNT_DIR],
                                "stdin": true,
                                "stdinOnce": false,
                                "securityContext": { "privileged": true },
                                "volumeMounts": [
                                    { "name": "fuse", "mountPath": "/dev/fuse" },
                                    { "name": "backing", "mountPath": HANG_BACKING_DIR },
                                    { "name": "hang", "mountPath": HANG_MOUNT_DIR, "mountPropagation": "Bidirectional" },
                                ],
                            }],
                            "volumes": [
                                { "name": "fuse", "hostPath": { "path": "/dev/fuse", "type": "CharDevice" } },
                                { "name": "backing", "hostPath": { "path": HANG_BACKING_DIR, "type": "DirectoryOrCreate" } },
                                { "name": "hang", "hostPath": { "path": HANG_MOUNT_DIR, "type": "DirectoryOrCreate" } },
                            ],
                        },
                    },
                },
            }),
        ),
        manifest::<Service>(
            INTERNAL_SERVICE,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": metadata(INTERNAL_SERVICE, voter_labels()),
                "spec": {
                    "clusterIP": "None",
                    "publishNotReadyAddresses": true,
                    "selector": voter_labels(),
                    "ports": service_ports(),
                },
            }),
        ),
        // The Service clients and the seed's health check use: its endpoints are the pods labelled active,
        // ready or not, Terminating or not, which is why health flaps while a stuck leader terminates.
        manifest::<Service>(
            firedrill_kubeact::ACTIVE_SERVICE,
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": metadata(firedrill_kubeact::ACTIVE_SERVICE, voter_labels()),
                "spec": {
                    "publishNotReadyAddresses": true,
                    "selector": { "app.kubernetes.io/name": "vault", "component": "server", "vault-active": "true" },
                    "ports": service_ports(),
                },
            }),
        ),
        manifest::<PodDisruptionBudget>(
            "vault",
            json!({
                "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": metadata("vault", voter_labels()),
                "spec": {
                    "maxUnavailable": scenario.topology.pdb_max_unavailable,
                    "selector": { "matchLabels": voter_labels() },
                },
            }),
        ),
        manifest::<StatefulSet>(
            firedrill_kubeact::STATEFULSET,
            json!({
                "apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": metadata(firedrill_kubeact::STATEFULSET, voter_labels()),
                "spec": {
                    "serviceName": INTERNAL_SERVICE,
                    "podManagementPolicy": "Parallel",
                    "replicas": voters.len(),
                    "updateStrategy": { "type": "OnDelete" },
                    "selector": { "matchLabels": voter_labels() },
                    "template": {
                        "metadata": { "labels": voter_labels() },
                        "spec": voter_pod_spec(images, grace_seconds, fs_group_change_policy),
                    },
                },
            }),
        ),
    ]
}

/// The voter's pod: vault-helm's server container on the docker backend's image, with the raft directory on
/// the node's hang filesystem, one subdirectory per pod.
fn voter_pod_spec(images: &Images, grace_seconds: u64, fs_group_change_policy: &str) -> Value {
    let field = |path: &str| json!({ "valueFrom": { "fieldRef": { "fieldPath": path } } });
    let env = |name: &str, value: Value| {
        let mut entry = value;
        entry["name"] = json!(name);
        entry
    };
    let spec = json!({
        "serviceAccountName": "vault",
        "terminationGracePeriodSeconds": grace_seconds,
        "securityContext": { "fsGroup": 1000, "fsGroupChangePolicy": fs_group_change_policy },
        "affinity": { "podAntiAffinity": { "requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": { "matchLabels": voter_labels() },
            "topologyKey": "kubernetes.io/hostname",
        }] } },
        "containers": [{
            "name": "vault",
            "image": images.openbao,
            "imagePullPolicy": "Never",
            "args": ["server", "-config=/vault/config/config.hcl"],
            // OpenBao reads the BAO_ names and still the VAULT_ ones; both are set so either release works.
            "env": [
                env("POD_NAME", field("metadata.name")),
                env("POD_IP", field("status.podIP")),
                env("BAO_K8S_POD_NAME", field("metadata.name")),
                env("BAO_K8S_NAMESPACE", field("metadata.namespace")),
                env("VAULT_K8S_POD_NAME", field("metadata.name")),
                env("VAULT_K8S_NAMESPACE", field("metadata.namespace")),
                env("BAO_ADDR", json!({ "value": "http://127.0.0.1:8200" })),
                env("VAULT_ADDR", json!({ "value": "http://127.0.0.1:8200" })),
                env("BAO_API_ADDR", json!({ "value": format!("http://$(POD_NAME).{INTERNAL_SERVICE}:8200") })),
                env("VAULT_API_ADDR", json!({ "value": format!("http://$(POD_NAME).{INTERNAL_SERVICE}:8200") })),
                env("BAO_CLUSTER_ADDR", json!({ "value": format!("http://$(POD_NAME).{INTERNAL_SERVICE}:8201") })),
                env("VAULT_CLUSTER_ADDR", json!({ "value": format!("http://$(POD_NAME).{INTERNAL_SERVICE}:8201") })),
            ],
            "ports": [
                { "name": "http", "containerPort": 8200 },
                { "name": "https-internal", "containerPort": 8201 },
            ],
            // The chart's readiness probe: `vault status` every 5 s, two failures to turn unready.
            "readinessProbe": {
                "exec": { "command": ["/bin/bao", "status"] },
                "periodSeconds": 5, "failureThreshold": 2, "timeoutSeconds": 3,
            },
            "volumeMounts": [
                { "name": "config", "mountPath": "/vault/config" },
                { "name": "data", "mountPath": "/vault/data", "subPathExpr": "$(POD_NAME)" },
            ],
        }],
        "volumes": [
            { "name": "config", "configMap": { "name": "vault-config" } },
            // The DaemonSet mounted the hang filesystem here before the voters were applied; a subPath mount
            // is resolved once, at container start, so propagation would not follow a later remount anyway.
            { "name": "data", "hostPath": { "path": HANG_MOUNT_DIR, "type": "Directory" } },
        ],
    });
    // Checked with the whole StatefulSet by `manifest`.
    spec
}

/// The topology of `vault-stuck-leader` on the scripts' default images, for the tests.
#[cfg(test)]
pub(super) fn stuck_leader_topology() -> Vec<Manifest> {
    let scenario = firedrill_scenarios::catalog::load("vault-stuck-leader").unwrap();
    topology(
        &scenario,
        &Images {
            openbao: DEFAULT_OPENBAO_IMAGE.into(),
            hangfs: DEFAULT_HANGFS_IMAGE.into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects() -> Vec<Manifest> {
        stuck_leader_topology()
    }

    fn find<'a>(objects: &'a [Manifest], kind: &str, name: &str) -> &'a Value {
        &objects
            .iter()
            .find(|object| object.kind == kind && object.name == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
            .body
    }

    #[test]
    fn the_hang_filesystem_is_applied_before_the_voters_and_the_namespace_first() {
        let objects = objects();
        let order: Vec<&str> = objects.iter().map(|object| object.kind).collect();
        assert_eq!(order.first(), Some(&"Namespace"));
        let daemonset = order.iter().position(|kind| *kind == "DaemonSet").unwrap();
        let statefulset = order
            .iter()
            .position(|kind| *kind == "StatefulSet")
            .unwrap();
        assert!(daemonset < statefulset, "{order:?}");
        assert_eq!(
            objects[statefulset].collection,
            "/apis/apps/v1/namespaces/vault/statefulsets"
        );
        assert_eq!(objects[0].collection, "/api/v1/namespaces");
    }

    #[test]
    fn the_voters_are_vault_helms_shape_on_the_hang_mount() {
        let objects = objects();
        let statefulset = find(&objects, "StatefulSet", "vault");
        assert_eq!(statefulset["spec"]["replicas"], 3);
        assert_eq!(statefulset["spec"]["updateStrategy"]["type"], "OnDelete");
        let pod = &statefulset["spec"]["template"]["spec"];
        assert_eq!(pod["terminationGracePeriodSeconds"], 10);
        let anti = &pod["affinity"]["podAntiAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"][0];
        assert_eq!(anti["topologyKey"], "kubernetes.io/hostname");
        let data = &pod["volumes"][1];
        assert_eq!(data["hostPath"]["path"], HANG_MOUNT_DIR);
        let mount = &pod["containers"][0]["volumeMounts"][1];
        assert_eq!(mount["mountPath"], "/vault/data");
        assert_eq!(mount["subPathExpr"], "$(POD_NAME)");
        assert_eq!(pod["containers"][0]["image"], "firedrill/openbao:2.7.2");
        let config = find(&objects, "ConfigMap", "vault-config")["data"]["config.hcl"]
            .as_str()
            .unwrap()
            .to_string();
        for voter in ["vault-0", "vault-1", "vault-2"] {
            assert!(
                config.contains(&format!("http://{voter}.vault-internal:8200")),
                "{config}"
            );
        }
        assert!(
            config.contains("service_registration \"kubernetes\""),
            "{config}"
        );
    }

    #[test]
    fn the_hang_filesystem_propagates_its_mount_to_the_node_and_keeps_its_stdin() {
        let objects = objects();
        let daemonset = find(&objects, "DaemonSet", HANGFS_DAEMONSET);
        let container = &daemonset["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["securityContext"]["privileged"], true);
        assert_eq!(container["stdin"], true);
        assert_eq!(
            container["volumeMounts"][2]["mountPropagation"],
            "Bidirectional"
        );
        assert_eq!(container["volumeMounts"][2]["mountPath"], HANG_MOUNT_DIR);
    }

    #[test]
    fn the_active_service_publishes_terminating_and_unready_pods_and_the_budget_allows_one() {
        let objects = objects();
        let active = find(&objects, "Service", "vault-active");
        assert_eq!(active["spec"]["publishNotReadyAddresses"], true);
        assert_eq!(active["spec"]["selector"]["vault-active"], "true");
        let budget = find(&objects, "PodDisruptionBudget", "vault");
        assert_eq!(budget["spec"]["maxUnavailable"], 1);
    }

    #[test]
    #[should_panic(expected = "has a field its type does not know")]
    fn a_misspelt_field_is_refused_rather_than_dropped() {
        manifest::<Service>(
            "broken",
            json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "broken" },
                "spec": { "publishNotReadyAdresses": true } }),
        );
    }

    #[test]
    #[should_panic(expected = "does not match its type")]
    fn a_manifest_that_does_not_match_its_type_is_refused() {
        manifest::<Service>(
            "broken",
            json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "broken" }, "spec": { "ports": "8200" } }),
        );
    }
}
