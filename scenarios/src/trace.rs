//! The trace: every fault, probe result, alert, action and state change, stamped with simulated time.
//!
//! Every backend emits these events and every checker reads only these events. Serialized, a trace is JSON
//! Lines; field order is fixed by the type definitions, so one seed gives byte-identical files.

use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// One thing that happened, at `t_ms` since the start of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub t_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        scenario: String,
        seed: u64,
        backend: String,
    },
    /// What the seed decided: printed so a failing run can be understood without rerunning it.
    ScheduleDrawn {
        schedule: crate::schedule::Schedule,
    },
    FaultInjected {
        fault: String,
        target: String,
        detail: String,
    },
    FaultHealed {
        fault: String,
        target: String,
    },
    /// A voter changed Raft role or term.
    RaftRole {
        pod: String,
        role: String,
        term: u64,
    },
    /// A pod's log line; repeated identical lines are summarised, never flooded into the trace.
    PodLog {
        pod: String,
        message: String,
    },
    PodPhase {
        pod: String,
        uid: String,
        node: String,
        phase: String,
    },
    ProcessState {
        node: String,
        pod_uid: String,
        pid: u32,
        comm: String,
        state: String,
    },
    MountState {
        node: String,
        pod_uid: String,
        mountpoint: String,
        state: String,
    },
    NodeState {
        node: String,
        state: String,
    },
    ProbeResult {
        probe: String,
        endpoint: String,
        state: String,
        http_status: Option<u16>,
        latency_ms: u64,
    },
    /// The user-facing health through the `vault-active` service, recorded when it changes.
    ExternalHealth {
        http_status: u16,
    },
    Alert {
        name: String,
        state: AlertState,
        detail: String,
    },
    /// A runbook step: an observation or an action through the actuator, with what came of it.
    Action {
        step: String,
        action: String,
        target: String,
        destructive: bool,
        outcome: String,
    },
    RecoveryDeclared {
        detail: String,
    },
    RunbookFinished {
        outcome: String,
    },
    RunFinished {},
    /// What the seed decided for a registry drill: when each push, cleanup, GC and probe round happens.
    RegistryPlanDrawn {
        plan: crate::registry::RegistryPlan,
    },
    /// The registry a registry drill runs against, with the version it states itself.
    RegistryStarted {
        backend: String,
        version: String,
    },
    /// A push, cleanup or GC carried out on the registry, with what it did.
    RegistryOperation {
        operation: String,
        detail: String,
    },
    /// One scan of the registry: the integrity probe through the API, or the naive blob-presence scan on disk.
    /// `findings` name each broken object as `<kind> <repository>@<reference>`.
    RegistryScan {
        scanner: String,
        reported: u64,
        findings: Vec<String>,
        requests: u64,
        latency_ms: u64,
        error: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Resolved,
}

/// A run's events, in the order they happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub events: Vec<Event>,
}

impl Trace {
    pub fn push(&mut self, t_ms: u64, kind: EventKind) {
        // Time never runs backwards in a trace; checkers rely on it.
        if let Some(last) = self.events.last() {
            assert!(
                last.t_ms <= t_ms,
                "trace time ran backwards: {} then {t_ms}",
                last.t_ms
            );
        }
        self.events.push(Event { t_ms, kind });
    }

    /// Writes the trace as JSON Lines.
    pub fn write_jsonl(&self, mut out: impl Write) -> io::Result<()> {
        for event in &self.events {
            serde_json::to_writer(&mut out, event)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Reads a JSON Lines trace, as written by [`Trace::write_jsonl`].
    pub fn read_jsonl(text: &str) -> Result<Trace, serde_json::Error> {
        let events = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<Vec<Event>, _>>()?;
        Ok(Trace { events })
    }

    /// The time of the last event: the simulated length of the run.
    pub fn end_ms(&self) -> u64 {
        self.events.last().map(|event| event.t_ms).unwrap_or(0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_round_trips() {
        let mut trace = Trace::default();
        trace.push(0, EventKind::ExternalHealth { http_status: 200 });
        trace.push(
            5,
            EventKind::Alert {
                name: "A".into(),
                state: AlertState::Firing,
                detail: "d".into(),
            },
        );
        let mut bytes = Vec::new();
        trace.write_jsonl(&mut bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("{\"t_ms\":0,\"event\":\"external_health\""),
            "{text}"
        );
        assert_eq!(Trace::read_jsonl(&text).unwrap(), trace);
    }

    #[test]
    #[should_panic(expected = "ran backwards")]
    fn time_never_runs_backwards() {
        let mut trace = Trace::default();
        trace.push(10, EventKind::RunFinished {});
        trace.push(9, EventKind::RunFinished {});
    }
}
