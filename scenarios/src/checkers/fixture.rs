//! Test fixtures: short traces built event by event, so each checker's unit tests read like the incident.

use crate::trace::{
    Activity, ClaimPhase, Diagnosis, Event, EventKind, Evidence, MountStatus, NodeCondition,
    PodPhaseName, RunbookOutcome, TaskState, Trace, VmOperation,
};

/// A trace under construction; every helper appends one event at `t_ms`.
#[derive(Default)]
pub struct TraceBuilder {
    pub trace: Trace,
}

impl TraceBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, t_ms: u64, kind: EventKind) -> &mut Self {
        self.trace.events.push(Event { t_ms, kind });
        self
    }

    /// The three voters of the catalog, Ready, each on its own node, with a mounted volume and a running vault.
    pub fn healthy_cluster() -> Self {
        let mut builder = Self::new();
        for i in 0..3 {
            let pod = format!("vault-{i}");
            let node = format!("n{i}");
            builder
                .pod(0, &pod, &format!("u{i}"), &node, PodPhaseName::Ready)
                .mount(0, &node, &format!("u{i}"), "/data", MountStatus::Mounted)
                .task(
                    0,
                    &node,
                    100 + i,
                    &format!("u{i}"),
                    "vault",
                    TaskState::Running,
                );
        }
        builder.health(0, 200);
        builder
    }

    /// The healthy cluster with vault-2's voter stuck: its pod no longer Ready.
    pub fn leader_stuck() -> Self {
        let mut builder = Self::healthy_cluster();
        builder.pod(10, "vault-2", "u2", "n2", PodPhaseName::Running);
        builder
    }

    pub fn pod(
        &mut self,
        t: u64,
        pod: &str,
        uid: &str,
        node: &str,
        phase: PodPhaseName,
    ) -> &mut Self {
        self.push(
            t,
            EventKind::PodPhase {
                pod: pod.into(),
                uid: uid.into(),
                node: node.into(),
                phase,
            },
        )
    }

    pub fn task(
        &mut self,
        t: u64,
        node: &str,
        pid: u32,
        uid: &str,
        comm: &str,
        state: TaskState,
    ) -> &mut Self {
        self.push(
            t,
            EventKind::ProcessState {
                node: node.into(),
                pod_uid: uid.into(),
                pid,
                tid: None,
                comm: comm.into(),
                state,
            },
        )
    }

    pub fn mount(
        &mut self,
        t: u64,
        node: &str,
        uid: &str,
        mountpoint: &str,
        state: MountStatus,
    ) -> &mut Self {
        self.push(
            t,
            EventKind::MountState {
                node: node.into(),
                pod_uid: uid.into(),
                mountpoint: mountpoint.into(),
                state,
            },
        )
    }

    pub fn node(&mut self, t: u64, node: &str, state: NodeCondition) -> &mut Self {
        self.push(
            t,
            EventKind::NodeState {
                node: node.into(),
                state,
            },
        )
    }

    pub fn health(&mut self, t: u64, http_status: u16) -> &mut Self {
        self.push(t, EventKind::ExternalHealth { http_status })
    }

    /// A runbook action and the world's record of the deletion it caused.
    pub fn delete(&mut self, t: u64, pod: &str, uid: &str, node: &str, force: bool) -> &mut Self {
        let action = if force {
            Activity::ForceDeletePod
        } else {
            Activity::DeletePod
        };
        self.action(t, action, pod);
        self.push(
            t,
            EventKind::PodDeletionRequested {
                pod: pod.into(),
                uid: uid.into(),
                node: node.into(),
                grace_period_ms: if force { 0 } else { 10_000 },
                force,
            },
        )
    }

    pub fn action(&mut self, t: u64, action: Activity, target: &str) -> &mut Self {
        self.push(
            t,
            EventKind::Action {
                step: "s".into(),
                action,
                target: target.into(),
                destructive: !matches!(
                    action,
                    Activity::ProbeVoters
                        | Activity::RaftLeader
                        | Activity::Logs
                        | Activity::GetPod
                        | Activity::Processes
                        | Activity::Mounts
                        | Activity::DStateProcesses
                        | Activity::ExternalHealth
                        | Activity::TestMount
                        | Activity::VmStatus
                        | Activity::CheckBootOrder
                        | Activity::NodeStatus
                        | Activity::PodEvents
                        | Activity::ActiveEndpoints
                        | Activity::ListPeers
                        | Activity::ListPods
                        | Activity::FiringAlerts
                ),
                outcome: "ok".into(),
                ok: true,
            },
        )
    }

    pub fn vm(&mut self, t: u64, node: &str, operation: VmOperation, bootdisk: &str) -> &mut Self {
        self.push(
            t,
            EventKind::VmPower {
                node: node.into(),
                operation,
                bootdisk: bootdisk.into(),
                os_disk: "scsi1".into(),
            },
        )
    }

    pub fn claim(&mut self, t: u64, claim: &str, state: ClaimPhase, finalizer: bool) -> &mut Self {
        self.push(
            t,
            EventKind::ClaimState {
                claim: claim.into(),
                state,
                finalizer,
            },
        )
    }

    /// A confirmation citing the given facts as evidence (none for a bare `confirm`).
    pub fn confirm(
        &mut self,
        t: u64,
        diagnosis: Diagnosis,
        target: &str,
        facts: &[&str],
    ) -> &mut Self {
        let evidence = facts
            .iter()
            .map(|fact| Evidence {
                fact: fact.to_string(),
                step: "0-probe".into(),
                activity: Activity::ProbeVoters,
                t_ms: t,
                observed: format!("{target}=stuck"),
            })
            .collect();
        self.push(
            t,
            EventKind::DiagnosisConfirmed {
                step: "0-confirm".into(),
                diagnosis,
                target: target.into(),
                evidence,
            },
        )
    }

    pub fn finished(&mut self, t: u64, outcome: RunbookOutcome) -> &mut Self {
        self.push(
            t,
            EventKind::RunbookFinished {
                outcome,
                detail: String::new(),
            },
        )
    }

    pub fn build(&self) -> Trace {
        let mut trace = self.trace.clone();
        trace.events.sort_by_key(|event| event.t_ms);
        trace
    }
}
