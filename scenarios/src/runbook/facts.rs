//! What a runbook has learned so far, and the named facts its guards test.

use super::{Action, MountInfo, Observation, PodInfo, ProcessInfo, Query};
use crate::trace::Evidence;
use std::collections::BTreeMap;

/// The runbook's knowledge, built only from observations.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub stuck: Vec<String>,
    pub standby: Option<String>,
    pub leader: Option<String>,
    pub logs_msgpack: bool,
    /// The standby's log shows repeated lines the seed's own grep matches (`grep -iE 'msgpack|decode|rpc'`).
    pub logs_rpc_errors: bool,
    pub confirmed: bool,
    /// The pod the diagnosis named, as first seen.
    pub original_pod: Option<PodInfo>,
    /// The latest `get_pod` answer; `Some(None)` means the pod was absent.
    pub current_pod: Option<Option<PodInfo>>,
    pub mounts: Vec<MountInfo>,
    pub d_state: Vec<ProcessInfo>,
    pub health: Option<u16>,
    pub healthy_since_ms: Option<u64>,
    pub test_mount_hung: Option<bool>,
    /// The VM as last seen, and as seen before the last reset or cold boot.
    pub vm: Option<(u32, u32)>,
    pub vm_before_reboot: Option<(u32, u32)>,
    pub bootdisk_ok: Option<bool>,
    pub node_ready: bool,
    /// The latest kubelet event for the pod says its volume is still not set up because of the fsGroup walk.
    pub chown_loop: bool,
    /// The pods behind `vault-active`, as last listed.
    pub active_endpoints: Option<Vec<String>>,
    /// `list-peers` as last answered: each server and whether it leads.
    pub peers: Option<Vec<(String, bool)>>,
    /// Every vault pod as last listed.
    pub pods: Option<Vec<PodInfo>>,
    /// The firing `Vault*` alerts as last listed.
    pub alerts: Option<Vec<String>>,
    /// For each fact, the latest observation that bore on it: what a confirmation cites as its evidence.
    pub evidence: BTreeMap<&'static str, Evidence>,
}

/// The facts each kind of observation bears on.
fn facts_observed_by(query: &Query) -> &'static [&'static str] {
    match query {
        Query::ProbeVoters => &["one_voter_stuck"],
        Query::RaftLeader { .. } => &["stuck_is_leader"],
        Query::Logs { .. } => &["standby_logs_msgpack", "standby_logs_rpc_errors"],
        Query::Pod { .. } => &[
            "pod_terminating",
            "pod_replaced",
            "pod_running",
            "pod_ready_on_block_storage",
        ],
        Query::Processes { .. } => &[],
        Query::Mounts { .. } => &["mounts_present"],
        Query::DStateProcesses { .. } | Query::DStateThreads { .. } => &["no_d_state"],
        Query::ExternalHealth => &["health_200", "health_sustained"],
        Query::TestMount { .. } => &["test_mount_hung"],
        Query::VmStatus { .. } => &["vm_pid_changed", "vm_rebooted"],
        Query::BootOrder { .. } => &["bootdisk_ok"],
        Query::NodeStatus { .. } => &["node_ready"],
        Query::PodEvents { .. } => &["chown_loop"],
        Query::ActiveEndpoints => &["active_endpoint_stuck", "active_endpoints_single"],
        Query::RaftPeers { .. } => &["peers_have_leader"],
        Query::Pods => &["all_pods_ready"],
        Query::FiringAlerts => &["vault_alerts_quiet"],
    }
}

impl Facts {
    /// The diagnosed pod: the one the confirmation named, else the only stuck one.
    pub fn target_pod(&self) -> Option<String> {
        self.original_pod
            .as_ref()
            .map(|pod| pod.name.clone())
            .or_else(|| self.stuck.first().cloned())
    }

    /// The node the diagnosed pod ran on.
    pub fn target_node(&self) -> Option<String> {
        self.original_pod.as_ref().map(|pod| pod.node.clone())
    }

    pub fn observe(&mut self, step: &str, query: &Query, observation: &Observation, now_ms: u64) {
        if !matches!(observation, Observation::ActionFailed(_)) {
            for fact in facts_observed_by(query) {
                self.evidence.insert(
                    fact,
                    Evidence {
                        fact: fact.to_string(),
                        step: step.to_string(),
                        activity: query.name(),
                        t_ms: now_ms,
                        observed: observation.summary(),
                    },
                );
            }
        }
        match (query, observation) {
            (Query::ProbeVoters, Observation::Voters(states)) => {
                self.stuck = states
                    .iter()
                    .filter(|(_, state)| state == "stuck")
                    .map(|(pod, _)| pod.clone())
                    .collect();
                self.standby = states
                    .iter()
                    .find(|(_, state)| state == "standby" || state == "standby_no_active")
                    .map(|(pod, _)| pod.clone());
            }
            (Query::RaftLeader { .. }, Observation::Leader(leader)) => self.leader = leader.clone(),
            (Query::Logs { .. }, Observation::Logs(lines)) => {
                self.logs_msgpack = lines
                    .iter()
                    .any(|line| line.contains("msgpack decode error"));
                self.logs_rpc_errors = lines
                    .iter()
                    .filter(|line| {
                        let line = line.to_ascii_lowercase();
                        ["msgpack", "decode", "rpc"]
                            .iter()
                            .any(|word| line.contains(word))
                    })
                    .count()
                    >= 2;
            }
            (Query::Pod { .. }, Observation::Pod(pod)) => {
                if self.original_pod.is_none() {
                    self.original_pod = pod.clone();
                }
                self.current_pod = Some(pod.clone());
            }
            (Query::Mounts { .. }, Observation::Mounts(mounts)) => self.mounts = mounts.clone(),
            (Query::PodEvents { .. }, Observation::Logs(events)) => {
                // The volume is still not set up because of the fsGroup walk: the pod sync's FailedMount retry
                // point (the walk goes on) or the walk's own SetUp failure (it starts over).
                self.chown_loop = events.last().is_some_and(|event| {
                    event.contains("fsGroup")
                        && (event.contains("timed out waiting for the condition")
                            || event.contains("MountVolume.SetUp failed"))
                });
            }
            (Query::ActiveEndpoints, Observation::Endpoints(pods)) => {
                self.active_endpoints = Some(pods.clone())
            }
            (Query::RaftPeers { .. }, Observation::Peers(peers)) => {
                self.peers = Some(peers.clone())
            }
            (Query::Pods, Observation::Pods(pods)) => self.pods = Some(pods.clone()),
            (Query::FiringAlerts, Observation::Alerts(alerts)) => {
                self.alerts = Some(
                    alerts
                        .iter()
                        .filter(|name| name.starts_with("Vault"))
                        .cloned()
                        .collect(),
                )
            }
            (
                Query::DStateProcesses { .. } | Query::DStateThreads { .. },
                Observation::Processes(processes),
            ) => {
                self.d_state = processes.clone();
            }
            (Query::ExternalHealth, Observation::HttpStatus(status)) => {
                self.health = Some(*status);
                self.healthy_since_ms = if *status == 200 {
                    Some(self.healthy_since_ms.unwrap_or(now_ms))
                } else {
                    None
                };
            }
            (Query::TestMount { .. }, Observation::MountTest { hung }) => {
                self.test_mount_hung = Some(*hung)
            }
            (
                Query::VmStatus { .. },
                Observation::Vm {
                    qemu_pid, boot_id, ..
                },
            ) => {
                self.vm = Some((*qemu_pid, *boot_id));
            }
            (Query::BootOrder { .. }, Observation::BootOrder { ok, .. }) => {
                self.bootdisk_ok = Some(*ok)
            }
            (
                Query::NodeStatus { .. },
                Observation::Node {
                    ready,
                    csi_registered,
                },
            ) => {
                self.node_ready = *ready && *csi_registered;
            }
            _ => {}
        }
    }

    pub fn acted(&mut self, action: &Action) {
        // An action can disturb health, so a sustained window counts only from observations made after it.
        self.healthy_since_ms = None;
        if matches!(action, Action::VmReset { .. } | Action::VmStopStart { .. }) {
            self.vm_before_reboot = self.vm;
        }
    }

    /// Whether a named fact holds now. Names are validated when the runbook is parsed.
    pub fn holds(&self, name: &str, now_ms: u64, sustained_health_ms: u64) -> bool {
        let pod_is = |predicate: &dyn Fn(&PodInfo, &PodInfo) -> bool| match (
            &self.original_pod,
            &self.current_pod,
        ) {
            (Some(original), Some(Some(current))) => predicate(original, current),
            _ => false,
        };
        match name {
            "one_voter_stuck" => self.stuck.len() == 1,
            "stuck_is_leader" => {
                self.leader.is_some() && self.leader.as_ref() == self.stuck.first()
            }
            "standby_logs_msgpack" => self.logs_msgpack,
            "standby_logs_rpc_errors" => self.logs_rpc_errors,
            "active_endpoint_stuck" => self
                .active_endpoints
                .as_ref()
                .is_some_and(|pods| self.stuck.first().is_some_and(|stuck| pods.contains(stuck))),
            "active_endpoints_single" => self
                .active_endpoints
                .as_ref()
                .is_some_and(|pods| pods.len() == 1),
            "peers_have_leader" => self.peers.as_ref().is_some_and(|peers| {
                !peers.is_empty() && peers.iter().filter(|(_, leader)| *leader).count() == 1
            }),
            "all_pods_ready" => self.pods.as_ref().is_some_and(|pods| {
                !pods.is_empty() && pods.iter().all(|pod| pod.ready && pod.phase == "Running")
            }),
            "vault_alerts_quiet" => self.alerts.as_ref().is_some_and(|alerts| alerts.is_empty()),
            "confirmed" => self.confirmed,
            "pod_terminating" => pod_is(&|original, current| {
                original.uid == current.uid && current.phase == "Terminating"
            }),
            "pod_replaced" => {
                matches!(self.current_pod, Some(None))
                    || pod_is(&|original, current| original.uid != current.uid)
            }
            "pod_running" => pod_is(&|original, current| {
                original.uid != current.uid && current.phase == "Running"
            }),
            "mounts_present" => !self.mounts.is_empty(),
            "no_d_state" => {
                let uid = self.original_pod.as_ref().map(|pod| pod.uid.as_str());
                !self.d_state.iter().any(|process| {
                    Some(process.pod_uid.as_str()) == uid || process.comm == "mount.nfs"
                })
            }
            "health_200" => self.health == Some(200),
            "health_sustained" => self
                .healthy_since_ms
                .is_some_and(|since| now_ms.saturating_sub(since) >= sustained_health_ms),
            "test_mount_hung" => self.test_mount_hung == Some(true),
            "vm_pid_changed" => {
                matches!((self.vm, self.vm_before_reboot), (Some(now), Some(before)) if now.0 != before.0)
            }
            "vm_rebooted" => {
                matches!((self.vm, self.vm_before_reboot), (Some(now), Some(before)) if now.1 != before.1)
            }
            "bootdisk_ok" => self.bootdisk_ok == Some(true),
            "node_ready" => self.node_ready,
            "chown_loop" => self.chown_loop,
            "pod_ready_on_block_storage" => matches!(
                &self.current_pod,
                Some(Some(pod)) if pod.ready && pod.storage == "block"
            ),
            other => panic!("unknown fact {other}: runbooks are validated when parsed"),
        }
    }
}
