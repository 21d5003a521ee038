//! The runbook's verbs in the container world. Each maps to the nearest real operation:
//!
//! - `probe_voters`: the same probe round the ops loop runs (health per voter, and the write canary through the
//!   active one); `raft_leader`: `sys/leader` through the named voter; `logs`: `docker logs --tail`;
//! - `get_pod`: the tracked container (Terminating between the deletion and the process's end);
//! - `processes` and `d_state_threads`: the host's `/proc` for the voter's containers, per thread, as `ps -eLo`
//!   shows them; `d_state_processes`: thread-group leaders only, as `ps -eo` (a zombie leader shows Z there even
//!   while a thread of it waits in D);
//! - `mounts`: the host mount table; `lazy_unmount`: `umount -l` of the hang mount on the host; `force_unmount`:
//!   `umount -f`, whose `fuse_umount_begin` aborts the FUSE connection as NFS's fails pending requests;
//! - `external_health`: `sys/health` on the voter the others name leader (the `vault-active` service);
//!   `active_endpoints`: that voter while its pod exists (Vault's own `vault-active` label stays on a pod until
//!   the pod is gone);
//! - `list_peers`: `sys/storage/raft/configuration` through the named voter, with the drill's root token (what
//!   `bao operator raft list-peers` reads); `list_pods`: the voters' current containers; `firing_alerts`: the
//!   drill's own alert rule, the Alertmanager of this world;
//! - `delete_pod` and `force_delete_pod`: see `lifecycle.rs`.
//!
//! Verbs with no counterpart here (VMs, nodes, NFS test mounts, claims, eviction, the fsGroup policy) fail
//! with a reason, and the runbook's trace says so.

use super::api;
use super::lifecycle::{delete_forcefully, delete_gracefully, SharedCluster};
use super::ops::probe_round;
use super::procfs;
use super::world::{PodView, SharedWorld};
use firedrill_scenarios::runbook::{
    Action, Actuator, MountInfo, Observation, PodInfo, ProcessInfo, Query,
};
use firedrill_scenarios::trace::{MountStatus, PodPhaseName};
use firedrill_scenarios::EventKind;
use std::time::Duration;

pub struct DockerActuator {
    pub world: SharedWorld,
    pub cluster: SharedCluster,
    pub probe_timeout: Duration,
    pub canary_deadline: Duration,
    pub grace_ms: u64,
    pub run_limit: Duration,
}

/// A pod as `kubectl get pod` shows it: Terminating from the deletion until the process is gone.
fn pod_info(view: &PodView) -> PodInfo {
    PodInfo {
        name: view.pod.clone(),
        uid: view.uid.clone(),
        node: view.node.clone(),
        phase: match view.phase {
            PodPhaseName::Terminating => "Terminating",
            PodPhaseName::ContainerCreating => "ContainerCreating",
            _ => "Running",
        }
        .to_string(),
        ready: view.phase == PodPhaseName::Ready,
        storage: "nfs".into(),
    }
}

fn no_counterpart(verb: &str, why: &str) -> Observation {
    Observation::ActionFailed(format!(
        "{verb} has no real counterpart in the docker world: {why}"
    ))
}

impl DockerActuator {
    /// Processes of the matching pods from the host's `/proc`: the leader as `ps -eo` shows it, and with
    /// `per_thread` every thread in D as `ps -eLo` does. What the listing saw is recorded in the trace at once, so
    /// the ground truth the rules judge is never older than what the runbook acted on.
    fn processes_of(
        &self,
        pod_filter: impl Fn(&str, &str) -> bool,
        only_d: bool,
        per_thread: bool,
    ) -> Vec<ProcessInfo> {
        let views: Vec<PodView> = self
            .world
            .borrow()
            .pods
            .iter()
            .filter(|view| pod_filter(&view.node, &view.uid))
            .cloned()
            .collect();
        let mut listed = Vec::new();
        for view in views {
            let leader = procfs::process_state(view.host_pid);
            let threads = procfs::threads(view.host_pid);
            self.world
                .borrow_mut()
                .observe_tasks(&view.uid, leader, &threads);
            if let Some(state) = leader {
                if !only_d || state == 'D' {
                    listed.push(ProcessInfo {
                        pid: view.host_pid,
                        tid: per_thread.then_some(view.host_pid),
                        comm: "bao".into(),
                        state,
                        pod_uid: view.uid.clone(),
                    });
                }
            }
            listed.extend(
                threads
                    .into_iter()
                    // A thread is listed when it is in D: `ps -eLo` shows it, `ps -eo` would not.
                    .filter(|thread| {
                        per_thread && thread.tid != view.host_pid && thread.state == 'D'
                    })
                    .map(|thread| ProcessInfo {
                        pid: view.host_pid,
                        tid: Some(thread.tid),
                        comm: format!("bao/{}", thread.wchan),
                        state: thread.state,
                        pod_uid: view.uid.clone(),
                    }),
            );
        }
        listed
    }
}

impl DockerActuator {
    /// The incarnation whose hang mount is at `mountpoint` (the runbook names it as `list_mounts` showed it),
    /// or the fault target's current one when no path matches: its uid and the path.
    fn hang_mount_at(&self, mountpoint: &str) -> Option<(String, std::path::PathBuf)> {
        let w = self.world.borrow();
        w.pods
            .iter()
            .find(|view| view.mountpoint.display().to_string() == *mountpoint)
            .or_else(|| w.fault_target.as_ref().and_then(|pod| w.current_pod(pod)))
            .map(|view| (view.uid.clone(), view.mountpoint.clone()))
    }

    /// Records an unmount the moment it succeeded, so the trace is never behind what the runbook did next.
    fn record_mount(&self, uid: &str, state: MountStatus) {
        self.world.borrow_mut().set_mount(uid, state);
    }
}

impl Actuator for DockerActuator {
    fn now_ms(&self) -> u64 {
        self.world.borrow().now_ms()
    }

    async fn observe(&mut self, query: &Query) -> Observation {
        match query {
            Query::ProbeVoters => {
                let states =
                    probe_round(&self.world, self.probe_timeout, self.canary_deadline).await;
                Observation::Voters(
                    states
                        .into_iter()
                        .map(|(pod, state)| (pod, state.as_str().to_string()))
                        .collect(),
                )
            }
            Query::RaftLeader { via } => {
                let endpoint = self.world.borrow().endpoints.get(via).cloned();
                let Some(endpoint) = endpoint else {
                    return Observation::ActionFailed(format!("no voter {via}"));
                };
                match api::leader(&endpoint, self.probe_timeout).await {
                    Ok(leader) => Observation::Leader(leader),
                    Err(error) => Observation::ActionFailed(error),
                }
            }
            Query::Logs { pod, tail } => {
                let container = self
                    .world
                    .borrow()
                    .current_pod(pod)
                    .map(|view| view.container.clone());
                let Some(container) = container else {
                    return Observation::ActionFailed(format!("pod {pod} not found"));
                };
                let output = tokio::process::Command::new("docker")
                    .args(["logs", "--tail", &tail.to_string(), &container])
                    .kill_on_drop(true)
                    .output();
                match tokio::time::timeout(Duration::from_secs(30), output).await {
                    Ok(Ok(output)) => {
                        let text = format!(
                            "{}{}",
                            String::from_utf8_lossy(&output.stdout),
                            String::from_utf8_lossy(&output.stderr)
                        );
                        Observation::Logs(text.lines().map(str::to_string).collect())
                    }
                    Ok(Err(error)) => Observation::ActionFailed(error.to_string()),
                    Err(_) => {
                        Observation::ActionFailed("docker logs did not answer in 30 s".into())
                    }
                }
            }
            Query::Pod { pod } => {
                let w = self.world.borrow();
                Observation::Pod(w.current_pod(pod).map(pod_info))
            }
            Query::Processes { node, pod_uid } => Observation::Processes(self.processes_of(
                |n, uid| n == node && uid == pod_uid,
                false,
                true,
            )),
            Query::DStateProcesses { node } => {
                Observation::Processes(self.processes_of(|n, _| n == node, true, false))
            }
            Query::DStateThreads { node } => {
                Observation::Processes(self.processes_of(|n, _| n == node, true, true))
            }
            Query::ActiveEndpoints => {
                let w = self.world.borrow();
                Observation::Endpoints(
                    w.leader
                        .iter()
                        .filter(|leader| w.current_pod(leader).is_some())
                        .cloned()
                        .collect(),
                )
            }
            Query::Pods => {
                let w = self.world.borrow();
                Observation::Pods(
                    w.endpoints
                        .keys()
                        .filter_map(|name| w.current_pod(name).map(pod_info))
                        .collect(),
                )
            }
            Query::RaftPeers { via } => {
                let (endpoint, token) = {
                    let w = self.world.borrow();
                    (w.endpoints.get(via).cloned(), w.token.clone())
                };
                let Some(endpoint) = endpoint else {
                    return Observation::ActionFailed(format!("no voter {via}"));
                };
                match api::peers(&endpoint, &token, self.probe_timeout).await {
                    Ok(peers) => Observation::Peers(
                        peers
                            .into_iter()
                            .map(|(node_id, _voter, leader)| (node_id, leader))
                            .collect(),
                    ),
                    Err(error) => Observation::ActionFailed(error),
                }
            }
            Query::FiringAlerts => {
                Observation::Alerts(self.world.borrow().firing_alerts.iter().cloned().collect())
            }
            Query::Mounts { node, pod_uid } => {
                let w = self.world.borrow();
                let pod = w
                    .pods
                    .iter()
                    .find(|view| &view.uid == pod_uid && &view.node == node);
                let mounts = pod
                    .map(|view| &view.mountpoint)
                    .filter(|mountpoint| super::hang_mount::mounted(mountpoint))
                    .map(|mountpoint| {
                        vec![MountInfo {
                            mountpoint: mountpoint.display().to_string(),
                            source: "firedrill-hangfs".into(),
                        }]
                    })
                    .unwrap_or_default();
                Observation::Mounts(mounts)
            }
            Query::ExternalHealth => {
                let status = super::ops::external_health(&self.world, self.probe_timeout).await;
                // Recorded as ground truth at once: the rules judge the health the runbook saw, never older.
                self.world.borrow_mut().record_external_health(status);
                Observation::HttpStatus(status)
            }
            Query::TestMount { .. } => no_counterpart(
                "test_mount",
                "there is no NFS server; the raft directory is a FUSE mount",
            ),
            Query::VmStatus { .. } => no_counterpart(
                "vm_status",
                "containers run on this host, not in Proxmox VMs",
            ),
            Query::BootOrder { .. } => {
                no_counterpart("check_boot_order", "there is no VM boot configuration")
            }
            Query::NodeStatus { .. } => {
                no_counterpart("node_status", "there are no Kubernetes nodes")
            }
            Query::PodEvents { .. } => {
                no_counterpart("pod_events", "there is no kubelet, so no fsGroup walk")
            }
        }
    }

    async fn act(&mut self, action: &Action) -> Observation {
        let result = match action {
            Action::DeletePod { pod } => {
                delete_gracefully(
                    &self.world,
                    &self.cluster,
                    pod,
                    self.grace_ms,
                    self.run_limit,
                )
                .await
            }
            Action::ForceDeletePod { pod } => {
                delete_forcefully(&self.world, &self.cluster, pod).await
            }
            Action::LazyUnmount { mountpoint, .. } => match self.hang_mount_at(mountpoint) {
                None => Err(format!("no hang mount at {mountpoint}")),
                Some((uid, path)) => {
                    let status = tokio::process::Command::new("umount")
                        .arg("-l")
                        .arg(&path)
                        .status()
                        .await;
                    match status {
                        Ok(status) if status.success() => {
                            self.record_mount(&uid, MountStatus::Detached);
                            Ok(())
                        }
                        Ok(status) => Err(format!("umount -l {} exited {status}", path.display())),
                        Err(error) => Err(format!("umount -l: {error}")),
                    }
                }
            },
            Action::EvictPod { .. } => {
                return no_counterpart(action.name().as_str(), "there is no eviction API")
            }
            Action::ForceUnmount { mountpoint, .. } => {
                // On a FUSE mount `umount -f` calls `fuse_umount_begin`, which aborts the connection: the held
                // calls fail, as MNT_FORCE fails an NFS mount's pending requests (DOMAIN.md §9).
                match self.hang_mount_at(mountpoint) {
                    None => Err(format!("no hang mount at {mountpoint}")),
                    Some((uid, path)) => {
                        match tokio::process::Command::new("umount")
                            .arg("-f")
                            .arg(&path)
                            .status()
                            .await
                        {
                            Ok(status) if status.success() => {
                                self.record_mount(&uid, MountStatus::Unmounted);
                                Ok(())
                            }
                            Ok(status) => {
                                Err(format!("umount -f {} exited {status}", path.display()))
                            }
                            Err(error) => Err(format!("umount -f: {error}")),
                        }
                    }
                }
            }
            Action::VmReset { .. } | Action::VmStopStart { .. } | Action::FixBootOrder { .. } => {
                return no_counterpart(
                    action.name().as_str(),
                    "containers run on this host, not in Proxmox VMs",
                )
            }
            Action::DeletePvc { .. } | Action::RemovePvcFinalizer { .. } => {
                return no_counterpart(
                    action.name().as_str(),
                    "the storage is a host directory, not a claim",
                )
            }
            Action::SetFsGroupChangePolicy { .. } => {
                return no_counterpart(action.name().as_str(), "there is no StatefulSet or kubelet")
            }
        };
        match result {
            Ok(()) => Observation::Done,
            Err(error) => Observation::ActionFailed(error),
        }
    }

    async fn wait(&mut self, duration_ms: u64) {
        tokio::time::sleep(Duration::from_millis(duration_ms)).await;
    }

    fn record(&mut self, event: EventKind) {
        self.world.borrow_mut().record(event);
    }
}
