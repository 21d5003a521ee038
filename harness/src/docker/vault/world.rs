//! What the docker run shares between its tasks: the trace, stamped with wall time since the run started, and
//! the live view of every voter (its current container, phase, mount), each change recorded as the ground-truth
//! event the simulation records for it.

use super::cluster::Cluster;
use super::procfs::{letter_to_state, TaskView};
use firedrill_probes::Endpoint;
use firedrill_scenarios::trace::{MountStatus, PodPhaseName, RaftRoleName, TaskState};
use firedrill_scenarios::{EventKind, Trace};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

/// One container of a voter, as the run tracks it until it is gone.
#[derive(Clone, Debug)]
pub struct PodView {
    pub pod: String,
    pub node: String,
    pub uid: String,
    pub container: String,
    pub host_pid: u32,
    pub phase: PodPhaseName,
    /// The thread-group leader's last recorded state (what `ps -eo state` prints for the process).
    pub last_task_state: Option<TaskState>,
    /// Threads other than the leader last recorded in D (what only `ps -eLo` shows).
    pub d_threads: BTreeSet<u32>,
    /// Where this incarnation's storage is mounted on the host (each incarnation mounts it afresh).
    pub mountpoint: PathBuf,
    /// The mount's last recorded state.
    pub mount_state: Option<MountStatus>,
}

pub struct World {
    started: Instant,
    pub trace: Trace,
    /// Every incarnation still tracked, current or on its way out.
    pub pods: Vec<PodView>,
    pub endpoints: BTreeMap<String, Endpoint>,
    pub roles: BTreeMap<String, RaftRoleName>,
    /// Leadership changes seen: the trace's `term` for the docker world (the API does not expose raft's term).
    pub leadership_epoch: u64,
    pub leader: Option<String>,
    pub token: String,
    pub last_external_health: Option<u16>,
    /// The active fault's target, while it lasts.
    pub fault_target: Option<String>,
    /// The alerts firing now, by name, as Alertmanager would list them.
    pub firing_alerts: BTreeSet<String>,
}

pub type SharedWorld = Rc<RefCell<World>>;

impl World {
    pub fn new(cluster: &Cluster) -> World {
        let mut world = World {
            started: Instant::now(),
            trace: Trace::default(),
            pods: Vec::new(),
            endpoints: BTreeMap::new(),
            roles: BTreeMap::new(),
            leadership_epoch: 0,
            leader: None,
            token: cluster.root_token.clone(),
            last_external_health: None,
            fault_target: None,
            firing_alerts: BTreeSet::new(),
        };
        for voter in &cluster.voters {
            world
                .endpoints
                .insert(voter.name.clone(), voter.endpoint.clone());
        }
        world
    }

    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn record(&mut self, kind: EventKind) {
        let now = self.now_ms().max(self.trace.end_ms());
        self.trace.push(now, kind);
    }

    pub fn record_external_health(&mut self, http_status: u16) {
        if self.last_external_health != Some(http_status) {
            self.last_external_health = Some(http_status);
            self.record(EventKind::ExternalHealth { http_status });
        }
    }

    pub fn set_phase(&mut self, uid: &str, phase: PodPhaseName) {
        let Some(index) = self.pods.iter().position(|pod| pod.uid == uid) else {
            return;
        };
        if self.pods[index].phase == phase {
            return;
        }
        self.pods[index].phase = phase;
        let pod = self.pods[index].clone();
        self.record(EventKind::PodPhase {
            pod: pod.pod,
            uid: pod.uid,
            node: pod.node,
            phase,
        });
    }

    /// Records a change of one incarnation's mount.
    pub fn set_mount(&mut self, uid: &str, state: MountStatus) {
        let Some(view) = self.pods.iter_mut().find(|view| view.uid == uid) else {
            return;
        };
        if view.mount_state == Some(state) {
            return;
        }
        view.mount_state = Some(state);
        let event = EventKind::MountState {
            node: view.node.clone(),
            pod_uid: view.uid.clone(),
            mountpoint: view.mountpoint.display().to_string(),
            state,
        };
        self.record(event);
    }

    /// Records a process's tasks as the simulation does, per thread: the leader's state (`tid == pid`) when it
    /// changes, and each other thread when it enters D or leaves it. `leader` is None once the process is gone.
    pub fn observe_tasks(&mut self, uid: &str, leader: Option<char>, threads: &[TaskView]) {
        let Some(index) = self.pods.iter().position(|pod| pod.uid == uid) else {
            return;
        };
        let pod = self.pods[index].clone();
        let leader_state = leader.map_or(TaskState::Exited, letter_to_state);
        let mut changes: Vec<(u32, TaskState)> = Vec::new();
        if pod.last_task_state != Some(leader_state) {
            changes.push((pod.host_pid, leader_state));
        }
        let now_in_d: BTreeSet<u32> = threads
            .iter()
            .filter(|thread| thread.tid != pod.host_pid && thread.state == 'D')
            .map(|thread| thread.tid)
            .collect();
        for tid in now_in_d.difference(&pod.d_threads) {
            changes.push((*tid, TaskState::DiskSleep));
        }
        for tid in pod.d_threads.difference(&now_in_d) {
            let state = threads
                .iter()
                .find(|thread| thread.tid == *tid)
                .map_or(TaskState::Exited, |thread| letter_to_state(thread.state));
            changes.push((*tid, state));
        }
        self.pods[index].last_task_state = Some(leader_state);
        self.pods[index].d_threads = now_in_d;
        for (tid, state) in changes {
            self.record(EventKind::ProcessState {
                node: pod.node.clone(),
                pod_uid: pod.uid.clone(),
                pid: pod.host_pid,
                tid: Some(tid),
                comm: "bao".into(),
                state,
            });
        }
    }

    /// The newest incarnation of a voter that the API still has (not Deleted).
    pub fn current_pod(&self, pod: &str) -> Option<&PodView> {
        self.pods
            .iter()
            .rev()
            .find(|view| view.pod == pod && view.phase != PodPhaseName::Deleted)
    }

    pub fn set_leader(&mut self, leader: Option<String>) {
        if leader == self.leader || leader.is_none() {
            return;
        }
        self.leadership_epoch += 1;
        self.leader = leader.clone();
        let names: Vec<String> = self.endpoints.keys().cloned().collect();
        for name in names {
            let role = if Some(&name) == leader.as_ref() {
                RaftRoleName::Leader
            } else {
                RaftRoleName::Follower
            };
            if self.roles.get(&name) != Some(&role) || role == RaftRoleName::Leader {
                self.roles.insert(name.clone(), role);
                let term = self.leadership_epoch;
                self.record(EventKind::RaftRole {
                    pod: name,
                    role,
                    term,
                });
            }
        }
    }
}
