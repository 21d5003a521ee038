//! The interpreter: runs a [`RunbookFile`] as a [`Runbook`], one command at a time, without I/O.

use super::facts::Facts;
use super::file::{FinishOutcome, RunbookFile, Step, Verb};
use super::{Action, Command, Observation, Outcome, Query, Runbook};
use crate::trace::{Branch, EventKind};
use std::collections::BTreeMap;

/// The most steps the engine walks through without issuing a command; more means a guard loop in the file.
const MAX_SILENT_STEPS: usize = 1_000;

/// What the engine is waiting on.
#[derive(Clone, Debug)]
enum Pending {
    Start,
    Observed(Query),
    Acted(Action),
    Waited,
    /// Waiting between two polls of an `until` step.
    PollWait,
    /// Waiting before a retry that restarts at this step index.
    RetryWait(usize),
}

/// The diagnosis of a `confirm` step that does not name one, from the facts its guard tests: a guard that
/// tests only health confirms a planned change on a healthy cluster (as runbook files written before the field
/// existed do); anything else confirms a stuck leader.
fn infer_diagnosis(step: &Step) -> crate::trace::Diagnosis {
    let health_only = !step.when.is_empty()
        && step
            .when
            .iter()
            .all(|fact| matches!(fact.get_ref().as_str(), "health_200" | "health_sustained"));
    if health_only {
        crate::trace::Diagnosis::PlannedChange
    } else {
        crate::trace::Diagnosis::StuckLeader
    }
}

pub struct Engine {
    runbook: RunbookFile,
    pc: usize,
    facts: Facts,
    pending: Pending,
    retries_used: BTreeMap<usize, u32>,
    until_started_ms: Option<u64>,
    /// Mounts still to lazily unmount in the current `lazy_unmount` step.
    unmount_queue: Option<Vec<String>>,
    finished: bool,
    /// The step whose entry was last recorded, so a step that polls is recorded once per entry.
    entered: Option<usize>,
    /// Steps reached and branches taken, waiting for the driver to move them into the trace.
    events: Vec<EventKind>,
}

impl Engine {
    pub fn new(runbook: RunbookFile) -> Self {
        Self {
            runbook,
            pc: 0,
            facts: Facts::default(),
            pending: Pending::Start,
            retries_used: BTreeMap::new(),
            until_started_ms: None,
            unmount_queue: None,
            finished: false,
            entered: None,
            events: Vec::new(),
        }
    }

    fn step(&self) -> &Step {
        &self.runbook.steps[self.pc]
    }

    /// Leaves the current step for `id` (the next step when absent), recording the branch when it is one.
    fn goto(&mut self, id: &Option<toml::Spanned<String>>, branch: Option<Branch>) {
        let from = self.label();
        self.pc = match id {
            Some(id) => self
                .runbook
                .index_of(id.get_ref())
                .expect("validated when parsed"),
            None => self.pc + 1,
        };
        self.until_started_ms = None;
        self.entered = None;
        if let Some(branch) = branch {
            let to = self.label();
            self.events.push(EventKind::BranchTaken {
                step: from,
                branch,
                to,
            });
        }
    }

    fn holds(&self, fact: &str, now_ms: u64) -> bool {
        let (negated, name) = match fact.strip_prefix('!') {
            Some(name) => (true, name),
            None => (false, fact),
        };
        self.facts
            .holds(name, now_ms, self.runbook.params.sustained_health_ms)
            != negated
    }

    fn label(&self) -> String {
        self.runbook
            .steps
            .get(self.pc)
            .map(|step| step.id.get_ref().clone())
            .unwrap_or_else(|| "end".to_string())
    }

    fn finish(&mut self, outcome: Outcome) -> (String, Command) {
        self.finished = true;
        (self.label(), Command::Finish(outcome))
    }

    /// After the current step's command completed: decide where to go.
    fn after_command(&mut self, now_ms: u64) {
        let step = self.step().clone();
        if let Some(until) = &step.until {
            if self.holds(until.get_ref(), now_ms) {
                self.goto(&step.then, Some(Branch::UntilHeld));
            } else if now_ms
                >= self
                    .until_started_ms
                    .unwrap_or(now_ms)
                    .saturating_add(step.timeout_ms.unwrap_or(0))
            {
                self.goto(&step.on_timeout, Some(Branch::Timeout));
            } else {
                self.pending = Pending::PollWait;
            }
            return;
        }
        if matches!(step.verb.get_ref(), Verb::LazyUnmount | Verb::ForceUnmount)
            && self.unmount_queue.as_ref().is_some_and(|q| !q.is_empty())
        {
            return;
        }
        self.unmount_queue = None;
        let branch = step.then.is_some().then_some(Branch::Then);
        self.goto(&step.then, branch);
    }

    /// The command for the current step, whose guard holds. `None` means the step had nothing to do.
    fn command_for(&mut self, now_ms: u64) -> Result<Option<Command>, Outcome> {
        let step = self.step().clone();
        let missing = |what: &str| {
            Outcome::Escalated(format!(
                "step {} has no {what} to act on",
                step.id.get_ref()
            ))
        };
        let pod = match step.target.as_deref() {
            None | Some("stuck") => self.facts.target_pod(),
            Some("standby") => self.facts.standby.clone(),
            Some(name) => Some(name.to_string()),
        };
        let node = self.facts.target_node();
        let verb = *step.verb.get_ref();
        let command = match verb {
            Verb::ProbeVoters => Command::Observe(Query::ProbeVoters),
            Verb::RaftLeader => Command::Observe(Query::RaftLeader {
                via: self
                    .facts
                    .standby
                    .clone()
                    .ok_or_else(|| missing("standby"))?,
            }),
            Verb::StandbyLogs => Command::Observe(Query::Logs {
                pod: self
                    .facts
                    .standby
                    .clone()
                    .ok_or_else(|| missing("standby"))?,
                tail: 40,
            }),
            Verb::GetPod => Command::Observe(Query::Pod {
                pod: pod.ok_or_else(|| missing("pod"))?,
            }),
            Verb::FindStuckProcesses | Verb::ListMounts => {
                let original = self
                    .facts
                    .original_pod
                    .clone()
                    .ok_or_else(|| missing("pod"))?;
                let (node, pod_uid) = (original.node, original.uid);
                Command::Observe(if verb == Verb::ListMounts {
                    Query::Mounts { node, pod_uid }
                } else {
                    Query::Processes { node, pod_uid }
                })
            }
            Verb::DStateProcesses => Command::Observe(Query::DStateProcesses {
                node: node.ok_or_else(|| missing("node"))?,
            }),
            Verb::DStateThreads => Command::Observe(Query::DStateThreads {
                node: node.ok_or_else(|| missing("node"))?,
            }),
            Verb::ExternalHealth => Command::Observe(Query::ExternalHealth),
            Verb::TestMount => Command::Observe(Query::TestMount {
                node: node.ok_or_else(|| missing("node"))?,
                nfsvers: step.nfsvers.clone().expect("validated"),
                timeout_ms: step.timeout_ms.expect("validated"),
            }),
            Verb::VmStatus => Command::Observe(Query::VmStatus {
                node: node.ok_or_else(|| missing("node"))?,
            }),
            Verb::CheckBootOrder => Command::Observe(Query::BootOrder {
                node: node.ok_or_else(|| missing("node"))?,
            }),
            Verb::NodeStatus => Command::Observe(Query::NodeStatus {
                node: node.ok_or_else(|| missing("node"))?,
            }),
            Verb::PodEvents => Command::Observe(Query::PodEvents {
                pod: pod.ok_or_else(|| missing("pod"))?,
            }),
            Verb::ActiveEndpoints => Command::Observe(Query::ActiveEndpoints),
            Verb::ListPeers => Command::Observe(Query::RaftPeers {
                via: self
                    .facts
                    .standby
                    .clone()
                    .ok_or_else(|| missing("standby"))?,
            }),
            Verb::ListPods => Command::Observe(Query::Pods),
            Verb::FiringAlerts => Command::Observe(Query::FiringAlerts),
            Verb::SetFsGroupChangePolicy => Command::Act(Action::SetFsGroupChangePolicy {
                policy: step.fs_group_change_policy.expect("validated"),
            }),
            Verb::DeletePvc => Command::Act(Action::DeletePvc {
                claim: format!("data-{}", pod.ok_or_else(|| missing("pod"))?),
            }),
            Verb::RemovePvcFinalizer => Command::Act(Action::RemovePvcFinalizer {
                claim: format!("data-{}", pod.ok_or_else(|| missing("pod"))?),
            }),
            Verb::DeletePod => Command::Act(Action::DeletePod {
                pod: pod.ok_or_else(|| missing("pod"))?,
            }),
            Verb::ForceDeletePod => Command::Act(Action::ForceDeletePod {
                pod: pod.ok_or_else(|| missing("pod"))?,
            }),
            Verb::EvictPod => Command::Act(Action::EvictPod {
                pod: pod.ok_or_else(|| missing("pod"))?,
            }),
            Verb::LazyUnmount | Verb::ForceUnmount => {
                let node = node.ok_or_else(|| missing("node"))?;
                let queue = self.unmount_queue.get_or_insert_with(|| {
                    self.facts
                        .mounts
                        .iter()
                        .map(|m| m.mountpoint.clone())
                        .collect()
                });
                match queue.pop() {
                    Some(mountpoint) if verb == Verb::LazyUnmount => {
                        Command::Act(Action::LazyUnmount { node, mountpoint })
                    }
                    Some(mountpoint) => Command::Act(Action::ForceUnmount { node, mountpoint }),
                    None => {
                        self.unmount_queue = None;
                        return Ok(None);
                    }
                }
            }
            Verb::VmReset => Command::Act(Action::VmReset {
                node: node.ok_or_else(|| missing("node"))?,
            }),
            Verb::VmStopStart => Command::Act(Action::VmStopStart {
                node: node.ok_or_else(|| missing("node"))?,
            }),
            Verb::FixBootOrder => Command::Act(Action::FixBootOrder {
                node: node.ok_or_else(|| missing("node"))?,
            }),
            Verb::Confirm => {
                self.facts.confirmed = true;
                // The confirmation carries the observations behind the facts its guard tested: none for a
                // bare `confirm`.
                let evidence = step
                    .when
                    .iter()
                    .filter_map(|fact| {
                        let name = fact.get_ref().trim_start_matches('!');
                        self.facts.evidence.get(name).cloned()
                    })
                    .collect();
                Command::Confirm {
                    diagnosis: step.diagnosis.unwrap_or_else(|| infer_diagnosis(&step)),
                    target: pod.ok_or_else(|| missing("pod"))?,
                    evidence,
                }
            }
            Verb::Wait => Command::Wait {
                duration_ms: step.duration_ms.expect("validated"),
            },
            Verb::Finish => {
                let why = step
                    .note
                    .clone()
                    .unwrap_or_else(|| step.id.get_ref().clone());
                return Err(match step.outcome.expect("validated") {
                    FinishOutcome::Recovered => Outcome::Recovered,
                    FinishOutcome::NotConfirmed => Outcome::NotConfirmed(why),
                    FinishOutcome::Escalated => Outcome::Escalated(why),
                    FinishOutcome::NotRecovered => Outcome::NotRecovered(why),
                });
            }
        };
        if step.until.is_some() && self.until_started_ms.is_none() {
            self.until_started_ms = Some(now_ms);
        }
        self.pending = match &command {
            Command::Observe(query) => Pending::Observed(query.clone()),
            Command::Act(action) => Pending::Acted(action.clone()),
            _ => Pending::Waited,
        };
        Ok(Some(command))
    }
}

impl Runbook for Engine {
    fn next(&mut self, now_ms: u64, observation: Observation) -> (String, Command) {
        assert!(!self.finished, "runbook stepped after it finished");
        match std::mem::replace(&mut self.pending, Pending::Waited) {
            Pending::Start => {}
            Pending::Observed(query) => {
                let step = self.label();
                self.facts.observe(&step, &query, &observation, now_ms);
                self.after_command(now_ms);
            }
            Pending::Acted(action) => {
                self.facts.acted(&action);
                self.after_command(now_ms);
            }
            Pending::Waited => self.after_command(now_ms),
            Pending::PollWait => {}
            Pending::RetryWait(target) => {
                let from = self.label();
                self.pc = target;
                self.until_started_ms = None;
                self.entered = None;
                let to = self.label();
                self.events.push(EventKind::BranchTaken {
                    step: from,
                    branch: Branch::Retry,
                    to,
                });
            }
        }
        if matches!(self.pending, Pending::PollWait) {
            // The `until` fact did not hold yet: wait one poll, then observe again.
            let poll_ms = self.step().poll_ms.expect("validated");
            self.pending = Pending::PollWait;
            return (
                self.label(),
                Command::Wait {
                    duration_ms: poll_ms,
                },
            );
        }
        for _ in 0..MAX_SILENT_STEPS {
            if self.pc >= self.runbook.steps.len() {
                return self.finish(Outcome::Escalated(
                    "the runbook ran out of steps".to_string(),
                ));
            }
            if self.entered != Some(self.pc) {
                self.entered = Some(self.pc);
                self.events
                    .push(EventKind::StepReached { step: self.label() });
            }
            let step = self.step().clone();
            let guard_holds = step
                .when
                .iter()
                .all(|fact| self.holds(fact.get_ref(), now_ms));
            if !guard_holds {
                let used = self.retries_used.entry(self.pc).or_insert(0);
                if *used < step.retries {
                    *used += 1;
                    let target = match &step.retry_from {
                        Some(id) => self.runbook.index_of(id.get_ref()).expect("validated"),
                        None => self.pc,
                    };
                    self.pending = Pending::RetryWait(target);
                    return (
                        self.label(),
                        Command::Wait {
                            duration_ms: step.retry_wait_ms,
                        },
                    );
                }
                self.goto(&step.otherwise, Some(Branch::Otherwise));
                continue;
            }
            match self.command_for(now_ms) {
                Ok(Some(command)) => return (self.label(), command),
                Ok(None) => {
                    let branch = step.then.is_some().then_some(Branch::Then);
                    self.goto(&step.then, branch)
                }
                Err(outcome) => return self.finish(outcome),
            }
        }
        self.finish(Outcome::Escalated(format!(
            "more than {MAX_SILENT_STEPS} steps without a command: a loop of guards"
        )))
    }

    fn drain_events(&mut self) -> Vec<EventKind> {
        std::mem::take(&mut self.events)
    }
}
