//! The simulation's actuator: carries out runbook commands against the simulated cluster.

use crate::kube::{self, MountState};
use crate::ops;
use crate::world::SharedWorld;
use firedrill_kubeact::{KubeActuator, KubeError};
use firedrill_scenarios::runbook::{Action, Actuator, MountInfo, Observation, ProcessInfo, Query};
use firedrill_scenarios::EventKind;
use std::time::Duration;

pub struct SimActuator {
    world: SharedWorld,
    probe_timeout: Duration,
    /// The Kubernetes verbs and reads go through kube-rs to the simulated API server.
    kube: KubeActuator,
}

impl SimActuator {
    /// Must be built inside a turmoil host: the kube client spawns its buffer's worker there.
    pub fn new(world: SharedWorld, probe_timeout: Duration) -> Self {
        Self {
            world,
            probe_timeout,
            kube: KubeActuator::new(kube::client::client()),
        }
    }
}

/// What a failed API call tells the runbook: the API server's message, as kubectl prints it.
fn api_failure(error: KubeError) -> Observation {
    Observation::ActionFailed(error.message())
}

impl Actuator for SimActuator {
    fn now_ms(&self) -> u64 {
        self.world.borrow().now_ms()
    }

    async fn observe(&mut self, query: &Query) -> Observation {
        match query {
            Query::ProbeVoters => {
                let states = ops::probe_voters(&self.world, self.probe_timeout).await;
                Observation::Voters(
                    states
                        .into_iter()
                        .map(|(pod, state)| (pod, state.as_str().to_string()))
                        .collect(),
                )
            }
            Query::ExternalHealth => {
                let status = ops::external_health(&self.world, self.probe_timeout).await;
                self.world.borrow_mut().record_external_health(status);
                Observation::HttpStatus(status)
            }
            Query::TestMount {
                node,
                nfsvers,
                timeout_ms,
            } => {
                let hung = crate::hypervisor::test_mount_hangs(&self.world.borrow(), node, nfsvers);
                // A hung mount costs the whole timeout; a working one answers at once.
                if hung {
                    crate::hypervisor::leave_test_mount_helper(&mut self.world.borrow_mut(), node);
                    tokio::time::sleep(Duration::from_millis(*timeout_ms)).await;
                }
                Observation::MountTest { hung }
            }
            // `kubectl describe pod`: the kubelet's and the scheduler's events, not the kubelet's journal.
            Query::PodEvents { pod } => match self.kube.pod_events(pod).await {
                Ok(events) => {
                    Observation::Logs(events.iter().map(firedrill_kubeact::event_line).collect())
                }
                Err(error) => api_failure(error),
            },
            Query::Pod { pod } => match self.kube.get_pod(pod).await {
                Ok(pod) => Observation::Pod(pod.as_ref().map(firedrill_kubeact::pod_info)),
                Err(error) => api_failure(error),
            },
            Query::Pods => match self.kube.list_voters().await {
                Ok(pods) => {
                    Observation::Pods(pods.iter().map(firedrill_kubeact::pod_info).collect())
                }
                Err(error) => api_failure(error),
            },
            Query::ActiveEndpoints => match self.kube.active_endpoints().await {
                Ok(endpoints) => Observation::Endpoints(endpoints),
                Err(error) => api_failure(error),
            },
            Query::NodeStatus { node } => match self.kube.get_node(node).await {
                Ok(node) => Observation::Node {
                    ready: node.as_ref().is_some_and(|node| {
                        node.status
                            .as_ref()
                            .and_then(|status| status.conditions.as_ref())
                            .is_some_and(|conditions| {
                                conditions.iter().any(|condition| {
                                    condition.type_ == "Ready" && condition.status == "True"
                                })
                            })
                    }),
                    csi_registered: node.as_ref().is_some_and(|node| {
                        node.metadata
                            .annotations
                            .as_ref()
                            .is_some_and(|annotations| {
                                annotations.contains_key(kube::apiserver::CSI_NODE_ID_ANNOTATION)
                            })
                    }),
                },
                Err(error) => api_failure(error),
            },
            _ => {
                let w = self.world.borrow();
                match query {
                    Query::RaftLeader { via } => Observation::Leader(
                        w.vaults
                            .get(via)
                            .filter(|view| view.is_answering())
                            .and_then(|view| view.leader.clone()),
                    ),
                    Query::Logs { pod, tail } => Observation::Logs(w.logs_tail(pod, *tail)),
                    // `ps auxf` lists processes: each shows its leader thread's state.
                    Query::Processes { node, pod_uid } => Observation::Processes(
                        w.processes
                            .iter()
                            .filter(|p| &p.node == node && &p.pod_uid == pod_uid && p.is_leader())
                            .map(|p| process_info(p, false))
                            .collect(),
                    ),
                    Query::Mounts { node, pod_uid } => Observation::Mounts(
                        w.mounts
                            .iter()
                            .filter(|m| {
                                &m.node == node
                                    && &m.pod_uid == pod_uid
                                    && m.state == MountState::Mounted
                            })
                            .map(|m| MountInfo {
                                mountpoint: m.mountpoint.clone(),
                                source: m.source.clone(),
                            })
                            .collect(),
                    ),
                    // `ps -eo state,pid,comm`: one line per process, its leader thread's state, so a killed
                    // process whose I/O thread is blocked shows `Z`, not `D`.
                    Query::DStateProcesses { node } => Observation::Processes(
                        w.processes
                            .iter()
                            .filter(|p| {
                                &p.node == node
                                    && p.is_leader()
                                    && p.state == kube::ProcessState::DiskSleep
                            })
                            .map(|p| process_info(p, false))
                            .collect(),
                    ),
                    // `ps -eLo state,pid,tid,comm`: one line per thread.
                    Query::DStateThreads { node } => Observation::Processes(
                        w.processes
                            .iter()
                            .filter(|p| &p.node == node && p.state == kube::ProcessState::DiskSleep)
                            .map(|p| process_info(p, true))
                            .collect(),
                    ),
                    Query::VmStatus { node } => match w.vms.get(node) {
                        Some(vm) => Observation::Vm {
                            qemu_pid: vm.qemu_pid,
                            boot_id: vm.boot_id,
                            running: vm.qemu_running(),
                        },
                        None => Observation::ActionFailed(format!("no VM for node {node}")),
                    },
                    Query::BootOrder { node } => match w.vms.get(node) {
                        Some(vm) => Observation::BootOrder {
                            ok: vm.bootdisk == vm.os_disk,
                            detail: format!("bootdisk: {} (OS disk {})", vm.bootdisk, vm.os_disk),
                        },
                        None => Observation::ActionFailed(format!("no VM for node {node}")),
                    },
                    // A standby answers from its own raft configuration, at once, even while the leader it
                    // names is stuck (OpenBao 2.7.2, DOMAIN.md §9); a pod that does not answer fails the command.
                    Query::RaftPeers { via } => {
                        match w.vaults.get(via).filter(|view| view.is_answering()) {
                            Some(view) => Observation::Peers(
                                w.scenario
                                    .voter_names()
                                    .into_iter()
                                    .map(|peer| {
                                        let leads = view.leader.as_deref() == Some(peer.as_str());
                                        (peer, leads)
                                    })
                                    .collect(),
                            ),
                            None => {
                                Observation::ActionFailed(format!("{via}: vault did not answer"))
                            }
                        }
                    }
                    Query::FiringAlerts => {
                        Observation::Alerts(w.firing_alerts.iter().cloned().collect())
                    }
                    Query::ProbeVoters
                    | Query::ExternalHealth
                    | Query::TestMount { .. }
                    | Query::PodEvents { .. }
                    | Query::Pod { .. }
                    | Query::Pods
                    | Query::ActiveEndpoints
                    | Query::NodeStatus { .. } => {
                        unreachable!("handled above")
                    }
                }
            }
        }
    }

    async fn act(&mut self, action: &Action) -> Observation {
        // The Kubernetes actions are HTTP requests from kube-rs to the simulated API server, which calls the
        // world's verbs; the rest are a node's or a hypervisor's commands, carried out here.
        if let Some(result) = self.kube.act(action).await {
            return match result {
                Ok(()) => Observation::Done,
                Err(error) => api_failure(error),
            };
        }
        let mut w = self.world.borrow_mut();
        let result = match action {
            Action::DeletePod { .. }
            | Action::ForceDeletePod { .. }
            | Action::EvictPod { .. }
            | Action::DeletePvc { .. }
            | Action::RemovePvcFinalizer { .. }
            | Action::SetFsGroupChangePolicy { .. } => {
                unreachable!("a Kubernetes action goes through the API server")
            }
            Action::LazyUnmount { node, mountpoint } => {
                kube::lazy_unmount(&mut w, node, mountpoint)
            }
            Action::ForceUnmount { node, mountpoint } => {
                kube::force_unmount(&mut w, node, mountpoint)
            }
            Action::VmReset { node } => crate::hypervisor::reset(&mut w, node),
            Action::VmStopStart { node } => crate::hypervisor::stop_start(&mut w, node),
            Action::FixBootOrder { node } => crate::hypervisor::fix_boot_order(&mut w, node),
        };
        match result {
            Ok(()) => Observation::Done,
            Err(why) => Observation::ActionFailed(why),
        }
    }

    async fn wait(&mut self, duration_ms: u64) {
        tokio::time::sleep(Duration::from_millis(duration_ms)).await;
    }

    fn record(&mut self, event: EventKind) {
        self.world.borrow_mut().record(event);
    }
}

fn process_info(process: &kube::Process, per_thread: bool) -> ProcessInfo {
    ProcessInfo {
        pid: process.pid,
        tid: per_thread.then_some(process.tid),
        comm: process.comm.clone(),
        state: process.state.letter(),
        pod_uid: process.pod_uid.clone(),
    }
}
