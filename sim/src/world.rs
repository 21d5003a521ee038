//! The shared state of one simulated run: the Kubernetes objects, node processes and mounts, volumes, the live
//! view of each Vault process, pod logs, and the trace.
//!
//! Turmoil runs every host on one thread, so the world is shared as `Rc<RefCell<World>>`. A borrow is never
//! held across an `.await`.

use crate::kube::{Mount, Node, Pod, Process};
use firedrill_scenarios::{EventKind, Scenario, Schedule, Trace};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

pub type SharedWorld = Rc<RefCell<World>>;

/// The most log lines kept per pod; older lines are dropped, as `kubectl logs --tail` would show.
const LOG_LINES_KEPT: usize = 64;

pub struct World {
    pub scenario: Scenario,
    pub schedule: Schedule,
    /// Simulated time of the driver's last step; hosts read their own time from the engine.
    pub driver_now_ms: u64,
    trace: Trace,
    /// Events of the step in progress, sorted by time when the step ends (hosts run one after another within a
    /// step, so their events arrive out of order).
    pending_events: Vec<firedrill_scenarios::Event>,
    pub nodes: BTreeMap<String, Node>,
    pub pods: BTreeMap<String, Pod>,
    /// Pod incarnations the API server no longer has (force-deleted) whose node's kubelet is still killing and
    /// tearing them down (`HandlePodRemoves`).
    pub removed_pods: Vec<Pod>,
    pub processes: Vec<Process>,
    pub mounts: Vec<Mount>,
    pub volumes: BTreeMap<String, crate::vault::PersistentState>,
    pub vaults: BTreeMap<String, crate::vault::VaultView>,
    pub vms: BTreeMap<String, crate::hypervisor::Vm>,
    /// The StatefulSet's PersistentVolumeClaims, by name.
    pub claims: BTreeMap<String, crate::kube::Claim>,
    /// The last external health status recorded, so every poller records only changes.
    last_external_health: Option<u16>,
    logs: BTreeMap<String, VecDeque<String>>,
    /// The StatefulSet pod template's `fsGroupChangePolicy`: pods created from now on get it.
    pub fs_group_change_policy: firedrill_scenarios::scenario::FsGroupChangePolicy,
    /// The readiness probe of each pod incarnation, by uid.
    pub readiness: BTreeMap<String, crate::kube::ReadinessProbe>,
    /// Pod incarnations (uids) that carry the `vault-active=true` label, which Vault sets and clears itself.
    pub vault_active_labels: std::collections::BTreeSet<String>,
    /// kube-proxy's choice of endpoint for each connection to a Service, drawn from the seed.
    pub kube_proxy_rng: rand_chacha::ChaCha8Rng,
    /// The alerts firing now, as Alertmanager's API lists them.
    pub firing_alerts: std::collections::BTreeSet<String>,
    /// Host software to stop or (re)start, carried out by the driver between steps.
    pub host_ops: Vec<HostOp>,
    /// Signalled whenever a Vault process's view changes (its core lock, its write in progress), so a request
    /// waiting on the lock wakes when it is released instead of polling.
    pub vault_changed: Rc<tokio::sync::Notify>,
    /// The turmoil hosts registered so far (pod incarnations, by uid): what the cluster's DNS can answer.
    pub hosts: std::collections::BTreeSet<String>,
    next_pid: u32,
    next_uid: u32,
}

/// What the driver does to turmoil hosts between steps. Hosts are pod incarnations, named by uid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostOp {
    /// A new pod incarnation got its address: a host running `vault::main` for it.
    Register {
        host: String,
        pod: String,
    },
    Crash(String),
    Start(String),
}

impl World {
    pub fn new(scenario: &Scenario, schedule: &Schedule) -> World {
        World {
            scenario: scenario.clone(),
            schedule: schedule.clone(),
            driver_now_ms: 0,
            trace: Trace::default(),
            pending_events: Vec::new(),
            nodes: BTreeMap::new(),
            pods: BTreeMap::new(),
            removed_pods: Vec::new(),
            processes: Vec::new(),
            mounts: Vec::new(),
            volumes: BTreeMap::new(),
            vaults: BTreeMap::new(),
            vms: BTreeMap::new(),
            claims: BTreeMap::new(),
            last_external_health: None,
            logs: BTreeMap::new(),
            fs_group_change_policy: scenario.topology.fs_group_change_policy,
            readiness: BTreeMap::new(),
            vault_active_labels: std::collections::BTreeSet::new(),
            kube_proxy_rng: rand::SeedableRng::seed_from_u64(schedule.component_seed("kube-proxy")),
            firing_alerts: std::collections::BTreeSet::new(),
            host_ops: Vec::new(),
            vault_changed: Rc::new(tokio::sync::Notify::new()),
            hosts: std::collections::BTreeSet::new(),
            next_pid: 4000,
            next_uid: 1,
        }
    }

    /// Simulated milliseconds since the start of the run: the host's own clock inside a host, else the driver's.
    pub fn now_ms(&self) -> u64 {
        crate::engine::now_ms().unwrap_or(self.driver_now_ms)
    }

    pub fn record(&mut self, kind: EventKind) {
        let t_ms = self.now_ms();
        self.pending_events
            .push(firedrill_scenarios::Event { t_ms, kind });
    }

    /// Moves the step's events into the trace in time order. A stable sort keeps same-time events in the order
    /// they were recorded, which is itself deterministic.
    pub fn flush_events(&mut self) {
        self.pending_events.sort_by_key(|event| event.t_ms);
        for event in self.pending_events.drain(..) {
            self.trace.push(event.t_ms, event.kind);
        }
    }

    pub fn into_trace(mut self) -> Trace {
        self.flush_events();
        self.trace
    }

    /// Records the user-facing health when it changed since any poller last saw it.
    pub fn record_external_health(&mut self, http_status: u16) {
        if self.last_external_health != Some(http_status) {
            self.last_external_health = Some(http_status);
            self.record(EventKind::ExternalHealth { http_status });
        }
    }

    pub fn allocate_pid(&mut self) -> u32 {
        self.next_pid += 1;
        self.next_pid
    }

    pub fn allocate_uid(&mut self, pod: &str) -> String {
        self.next_uid += 1;
        format!("{pod}-uid{:04}", self.next_uid)
    }

    /// Appends a log line for a pod. A line identical to the previous one is kept in the log (the runbook
    /// greps it) but recorded in the trace only once, so a 2 s error loop cannot flood the trace.
    pub fn log(&mut self, pod: &str, message: &str) {
        let lines = self.logs.entry(pod.to_string()).or_default();
        let repeated = lines.back().is_some_and(|last| last == message);
        lines.push_back(message.to_string());
        while lines.len() > LOG_LINES_KEPT {
            lines.pop_front();
        }
        if !repeated {
            self.record(EventKind::PodLog {
                pod: pod.to_string(),
                message: message.to_string(),
            });
        }
    }

    pub fn logs_tail(&self, pod: &str, tail: usize) -> Vec<String> {
        self.logs
            .get(pod)
            .map(|lines| lines.iter().rev().take(tail).rev().cloned().collect())
            .unwrap_or_default()
    }
}
