//! The simulation's actuator: carries out runbook commands against the simulated cluster.

use crate::kube::{self, MountState, PodPhase};
use crate::ops;
use crate::world::SharedWorld;
use firedrill_scenarios::runbook::{
    Action, Actuator, MountInfo, Observation, PodInfo, ProcessInfo, Query,
};
use firedrill_scenarios::EventKind;
use std::time::Duration;

/// How many of a pod's latest log lines `kubectl describe pod` draws its events from: the kubelet's and the
/// scheduler's events, not the kubelet's journal.
const KUBELET_EVENTS_SCANNED: usize = 64;

pub struct SimActuator {
    world: SharedWorld,
    probe_timeout: Duration,
}

impl SimActuator {
    pub fn new(world: SharedWorld, probe_timeout: Duration) -> Self {
        Self {
            world,
            probe_timeout,
        }
    }
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
                    Query::PodEvents { pod } => Observation::Logs(
                        w.logs_tail(pod, KUBELET_EVENTS_SCANNED)
                            .into_iter()
                            .filter(|line| {
                                line.starts_with("kubelet: ")
                                    || line.starts_with("default-scheduler: ")
                            })
                            .collect(),
                    ),
                    Query::Pod { pod } => Observation::Pod(w.pods.get(pod).map(pod_info)),
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
                    Query::NodeStatus { node } => {
                        let now_ms = w.now_ms();
                        let vm = w.vms.get(node);
                        Observation::Node {
                            ready: vm.is_some_and(|vm| vm.api_ready()),
                            csi_registered: vm.is_some_and(|vm| vm.csi_registered(now_ms)),
                        }
                    }
                    Query::ActiveEndpoints => Observation::Endpoints(ops::active_endpoints(&w)),
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
                    Query::Pods => Observation::Pods(w.pods.values().map(pod_info).collect()),
                    Query::FiringAlerts => {
                        Observation::Alerts(w.firing_alerts.iter().cloned().collect())
                    }
                    Query::ProbeVoters | Query::ExternalHealth | Query::TestMount { .. } => {
                        unreachable!("handled above")
                    }
                }
            }
        }
    }

    async fn act(&mut self, action: &Action) -> Observation {
        let mut w = self.world.borrow_mut();
        let result = match action {
            Action::DeletePod { pod } => kube::delete_pod(&mut w, pod),
            Action::ForceDeletePod { pod } => kube::force_delete_pod(&mut w, pod),
            Action::EvictPod { pod } => kube::evict_pod(&mut w, pod),
            Action::LazyUnmount { node, mountpoint } => {
                kube::lazy_unmount(&mut w, node, mountpoint)
            }
            Action::ForceUnmount { node, mountpoint } => {
                kube::force_unmount(&mut w, node, mountpoint)
            }
            Action::VmReset { node } => crate::hypervisor::reset(&mut w, node),
            Action::VmStopStart { node } => crate::hypervisor::stop_start(&mut w, node),
            Action::FixBootOrder { node } => crate::hypervisor::fix_boot_order(&mut w, node),
            Action::DeletePvc { claim } => kube::delete_claim(&mut w, claim),
            Action::RemovePvcFinalizer { claim } => kube::remove_claim_finalizer(&mut w, claim),
            Action::SetFsGroupChangePolicy { policy } => {
                kube::set_fs_group_change_policy(&mut w, *policy)
            }
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

/// A pod as `kubectl get pod` shows it: a Ready pod is `Running` with its containers ready.
fn pod_info(pod: &kube::Pod) -> PodInfo {
    PodInfo {
        name: pod.name.clone(),
        uid: pod.uid.clone(),
        node: pod.node.clone(),
        phase: match pod.phase {
            PodPhase::Ready => "Running".to_string(),
            phase => phase.as_str().to_string(),
        },
        ready: pod.phase == PodPhase::Ready,
        storage: kube::storage_name(pod.storage).to_string(),
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
