//! Seed 000's safe restart sequence: confirm, graceful delete, find stuck processes, lazy unmount, check D
//! state, and only then force delete; then verify that health holds.

use super::{Action, Command, Observation, Outcome, PodInfo, Query, Runbook};
use serde::{Deserialize, Serialize};

/// The sequence's timings. Field names follow seed 000's wording; defaults are its values.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafeRestartParams {
    /// 2a: "Wait 30 seconds" after the graceful delete.
    pub graceful_wait_ms: u64,
    /// 2b: "If the pod is Terminating after 60s", measured from the delete.
    pub terminating_check_ms: u64,
    /// 0: how many times to re-check an unconfirmed diagnosis before giving up.
    pub confirm_attempts: u32,
    pub confirm_retry_ms: u64,
    /// 2c: how long to wait for D-state tasks to clear after the lazy unmount before escalating.
    pub d_state_wait_ms: u64,
    pub d_state_poll_ms: u64,
    /// 5: health must answer 200 without a break for this long before recovery is declared.
    pub sustained_health_ms: u64,
    pub verify_poll_ms: u64,
    /// 5: give up verifying after this long.
    pub verify_budget_ms: u64,
}

impl Default for SafeRestartParams {
    fn default() -> Self {
        Self {
            graceful_wait_ms: 30_000,
            terminating_check_ms: 60_000,
            confirm_attempts: 3,
            confirm_retry_ms: 15_000,
            d_state_wait_ms: 120_000,
            d_state_poll_ms: 10_000,
            sustained_health_ms: 900_000,
            verify_poll_ms: 15_000,
            verify_budget_ms: 1_500_000,
        }
    }
}

/// Where the sequence is. Each state names the command it is waiting on an answer for.
#[derive(Clone, Debug)]
enum Stage {
    Start,
    ProbedVoters {
        attempt: u32,
    },
    AskedLeader {
        attempt: u32,
        stuck: String,
        standby: String,
    },
    ReadLogs {
        attempt: u32,
        stuck: String,
    },
    RetryingConfirm {
        attempt: u32,
    },
    GotPodBeforeDelete {
        stuck: String,
    },
    Deleted {
        pod: PodInfo,
        deleted_at_ms: u64,
    },
    WaitedGrace {
        pod: PodInfo,
        deleted_at_ms: u64,
    },
    CheckedPod {
        pod: PodInfo,
    },
    ListedProcesses {
        pod: PodInfo,
    },
    ListedMounts {
        pod: PodInfo,
    },
    Unmounting {
        pod: PodInfo,
        remaining: Vec<String>,
    },
    CheckedDiskSleep {
        pod: PodInfo,
        since_ms: u64,
    },
    WaitingDiskSleep {
        pod: PodInfo,
        since_ms: u64,
    },
    RecheckedPod {
        pod: PodInfo,
    },
    ForceDeleted,
    Verifying {
        started_ms: u64,
        healthy_since_ms: Option<u64>,
    },
    VerifyWait {
        started_ms: u64,
        healthy_since_ms: Option<u64>,
    },
    Finished,
}

/// The runbook of seed 000, as a state machine.
pub struct SafeRestart {
    params: SafeRestartParams,
    state: Stage,
}

impl SafeRestart {
    pub fn new(params: SafeRestartParams) -> Self {
        Self {
            params,
            state: Stage::Start,
        }
    }

    fn retry_confirm(&mut self, attempt: u32, why: &str) -> (&'static str, Command) {
        if attempt + 1 >= self.params.confirm_attempts {
            self.state = Stage::Finished;
            return (
                "0-confirm",
                Command::Finish(Outcome::NotConfirmed(why.to_string())),
            );
        }
        self.state = Stage::RetryingConfirm {
            attempt: attempt + 1,
        };
        (
            "0-confirm",
            Command::Wait {
                duration_ms: self.params.confirm_retry_ms,
            },
        )
    }

    fn start_verify(&mut self, now_ms: u64) -> (&'static str, Command) {
        self.state = Stage::Verifying {
            started_ms: now_ms,
            healthy_since_ms: None,
        };
        ("5-verify", Command::Observe(Query::ExternalHealth))
    }
}

impl Runbook for SafeRestart {
    fn next(&mut self, now_ms: u64, observation: Observation) -> (&'static str, Command) {
        let state = std::mem::replace(&mut self.state, Stage::Finished);
        match (state, observation) {
            (Stage::Start, _) => {
                self.state = Stage::ProbedVoters { attempt: 0 };
                ("0-confirm", Command::Observe(Query::ProbeVoters))
            }
            (Stage::RetryingConfirm { attempt }, _) => {
                self.state = Stage::ProbedVoters { attempt };
                ("0-confirm", Command::Observe(Query::ProbeVoters))
            }
            (Stage::ProbedVoters { attempt }, Observation::Voters(states)) => {
                let stuck: Vec<&String> = states
                    .iter()
                    .filter(|(_, state)| state == "stuck")
                    .map(|(pod, _)| pod)
                    .collect();
                let standby = states
                    .iter()
                    .find(|(_, state)| state == "standby" || state == "standby_no_active")
                    .map(|(pod, _)| pod.clone());
                match (stuck.as_slice(), standby) {
                    ([stuck], Some(standby)) => {
                        self.state = Stage::AskedLeader {
                            attempt,
                            stuck: (*stuck).clone(),
                            standby: standby.clone(),
                        };
                        (
                            "0-confirm",
                            Command::Observe(Query::RaftLeader { via: standby }),
                        )
                    }
                    ([], _) => self.retry_confirm(attempt, "no voter is stuck"),
                    ([_], None) => self.retry_confirm(attempt, "no standby answers"),
                    // Disrupting two voters at once would lose quorum: hand over instead.
                    _ => {
                        self.state = Stage::Finished;
                        (
                            "0-confirm",
                            Command::Finish(Outcome::Escalated(format!(
                                "{} voters stuck at once",
                                stuck.len()
                            ))),
                        )
                    }
                }
            }
            (
                Stage::AskedLeader {
                    attempt,
                    stuck,
                    standby,
                },
                Observation::Leader(leader),
            ) => {
                if leader.as_deref() != Some(stuck.as_str()) {
                    return self.retry_confirm(attempt, "the stuck voter is not the Raft leader");
                }
                self.state = Stage::ReadLogs { attempt, stuck };
                (
                    "0-confirm",
                    Command::Observe(Query::Logs {
                        pod: standby,
                        tail: 40,
                    }),
                )
            }
            (Stage::ReadLogs { attempt, stuck }, Observation::Logs(lines)) => {
                if !lines
                    .iter()
                    .any(|line| line.contains("msgpack decode error"))
                {
                    return self.retry_confirm(attempt, "standby logs show no msgpack errors");
                }
                self.state = Stage::GotPodBeforeDelete {
                    stuck: stuck.clone(),
                };
                ("1-identify", Command::Observe(Query::Pod { pod: stuck }))
            }
            (Stage::GotPodBeforeDelete { stuck }, Observation::Pod(Some(pod))) => {
                self.state = Stage::Deleted {
                    pod,
                    deleted_at_ms: now_ms,
                };
                (
                    "2a-graceful-delete",
                    Command::Act(Action::DeletePod { pod: stuck }),
                )
            }
            (Stage::Deleted { pod, deleted_at_ms }, _) => {
                self.state = Stage::WaitedGrace { pod, deleted_at_ms };
                (
                    "2a-graceful-delete",
                    Command::Wait {
                        duration_ms: self.params.graceful_wait_ms,
                    },
                )
            }
            (Stage::WaitedGrace { pod, deleted_at_ms }, Observation::Done) => {
                let check_at_ms = deleted_at_ms + self.params.terminating_check_ms;
                if now_ms < check_at_ms {
                    self.state = Stage::WaitedGrace { pod, deleted_at_ms };
                    return (
                        "2b-find-stuck",
                        Command::Wait {
                            duration_ms: check_at_ms - now_ms,
                        },
                    );
                }
                self.state = Stage::CheckedPod { pod: pod.clone() };
                (
                    "2b-find-stuck",
                    Command::Observe(Query::Pod { pod: pod.name }),
                )
            }
            (Stage::CheckedPod { pod }, Observation::Pod(current)) => {
                if !is_same_pod_terminating(&pod, current.as_ref()) {
                    // TERM then KILL worked and the StatefulSet recreated the pod: nothing is stuck.
                    return self.start_verify(now_ms);
                }
                self.state = Stage::ListedProcesses { pod: pod.clone() };
                (
                    "2b-find-stuck",
                    Command::Observe(Query::Processes {
                        node: pod.node,
                        pod_uid: pod.uid,
                    }),
                )
            }
            (Stage::ListedProcesses { pod }, Observation::Processes(_)) => {
                self.state = Stage::ListedMounts { pod: pod.clone() };
                (
                    "2c-lazy-unmount",
                    Command::Observe(Query::Mounts {
                        node: pod.node,
                        pod_uid: pod.uid,
                    }),
                )
            }
            (Stage::ListedMounts { pod }, Observation::Mounts(mounts)) => {
                let remaining = mounts.into_iter().map(|mount| mount.mountpoint).collect();
                self.state = Stage::Unmounting { pod, remaining };
                self.next(now_ms, Observation::Done)
            }
            (Stage::Unmounting { pod, mut remaining }, _) => {
                if let Some(mountpoint) = remaining.pop() {
                    let node = pod.node.clone();
                    self.state = Stage::Unmounting { pod, remaining };
                    return (
                        "2c-lazy-unmount",
                        Command::Act(Action::LazyUnmount { node, mountpoint }),
                    );
                }
                let node = pod.node.clone();
                self.state = Stage::CheckedDiskSleep {
                    pod,
                    since_ms: now_ms,
                };
                (
                    "2c-check-d-state",
                    Command::Observe(Query::DStateProcesses { node }),
                )
            }
            (Stage::CheckedDiskSleep { pod, since_ms }, Observation::Processes(d_state)) => {
                // The runbook's check is `ps -eo state,pid,comm | grep '^D'`: any D-state task on the node that
                // belongs to the pod, or any mount.nfs, means the NFS session is still held.
                let blocking = d_state
                    .iter()
                    .any(|process| process.pod_uid == pod.uid || process.comm == "mount.nfs");
                if !blocking {
                    self.state = Stage::RecheckedPod { pod: pod.clone() };
                    return (
                        "2d-force-delete",
                        Command::Observe(Query::Pod { pod: pod.name }),
                    );
                }
                if now_ms >= since_ms + self.params.d_state_wait_ms {
                    self.state = Stage::Finished;
                    return (
                        "2c-check-d-state",
                        Command::Finish(Outcome::Escalated(format!(
                            "D-state tasks on {} did not clear after the lazy unmount; the node needs a reboot",
                            pod.node
                        ))),
                    );
                }
                self.state = Stage::WaitingDiskSleep { pod, since_ms };
                (
                    "2c-check-d-state",
                    Command::Wait {
                        duration_ms: self.params.d_state_poll_ms,
                    },
                )
            }
            (Stage::WaitingDiskSleep { pod, since_ms }, _) => {
                let node = pod.node.clone();
                self.state = Stage::CheckedDiskSleep { pod, since_ms };
                (
                    "2c-check-d-state",
                    Command::Observe(Query::DStateProcesses { node }),
                )
            }
            (Stage::RecheckedPod { pod }, Observation::Pod(current)) => {
                if !is_same_pod_terminating(&pod, current.as_ref()) {
                    return self.start_verify(now_ms);
                }
                self.state = Stage::ForceDeleted;
                (
                    "2d-force-delete",
                    Command::Act(Action::ForceDeletePod { pod: pod.name }),
                )
            }
            (Stage::ForceDeleted, _) => self.start_verify(now_ms),
            (
                Stage::Verifying {
                    started_ms,
                    healthy_since_ms,
                },
                Observation::HttpStatus(status),
            ) => {
                let healthy_since_ms = if status == 200 {
                    Some(healthy_since_ms.unwrap_or(now_ms))
                } else {
                    None
                };
                if let Some(since) = healthy_since_ms {
                    if now_ms - since >= self.params.sustained_health_ms {
                        self.state = Stage::Finished;
                        return ("5-verify", Command::Finish(Outcome::Recovered));
                    }
                }
                if now_ms - started_ms >= self.params.verify_budget_ms {
                    self.state = Stage::Finished;
                    return (
                        "5-verify",
                        Command::Finish(Outcome::NotRecovered(format!(
                            "health did not hold 200 for {} ms within {} ms",
                            self.params.sustained_health_ms, self.params.verify_budget_ms
                        ))),
                    );
                }
                self.state = Stage::VerifyWait {
                    started_ms,
                    healthy_since_ms,
                };
                (
                    "5-verify",
                    Command::Wait {
                        duration_ms: self.params.verify_poll_ms,
                    },
                )
            }
            (
                Stage::VerifyWait {
                    started_ms,
                    healthy_since_ms,
                },
                _,
            ) => {
                self.state = Stage::Verifying {
                    started_ms,
                    healthy_since_ms,
                };
                ("5-verify", Command::Observe(Query::ExternalHealth))
            }
            (Stage::Finished, _) => panic!("runbook stepped after it finished"),
            (state, observation) => {
                panic!("runbook in state {state:?} got an unexpected answer {observation:?}")
            }
        }
    }
}

/// Whether the pod observed now is still the original pod, terminating. A missing pod or a new UID means the
/// deletion completed.
fn is_same_pod_terminating(original: &PodInfo, current: Option<&PodInfo>) -> bool {
    current.is_some_and(|pod| pod.uid == original.uid && pod.phase == "Terminating")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(phase: &str) -> PodInfo {
        PodInfo {
            name: "vault-2".into(),
            uid: "uid-1".into(),
            node: "n3".into(),
            phase: phase.into(),
        }
    }

    fn voters(stuck: &str) -> Observation {
        Observation::Voters(
            ["vault-0", "vault-1", "vault-2"]
                .iter()
                .map(|pod| {
                    let state = if *pod == stuck { "stuck" } else { "standby" };
                    (pod.to_string(), state.to_string())
                })
                .collect(),
        )
    }

    #[test]
    fn does_nothing_destructive_when_no_voter_is_stuck() {
        let mut runbook = SafeRestart::new(SafeRestartParams::default());
        let mut observation = Observation::Done;
        for _ in 0..20 {
            let (_, command) = runbook.next(0, observation);
            match command {
                Command::Observe(Query::ProbeVoters) => observation = voters("none"),
                Command::Wait { .. } => observation = Observation::Done,
                Command::Finish(outcome) => {
                    assert!(matches!(outcome, Outcome::NotConfirmed(_)), "{outcome:?}");
                    return;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("runbook never finished");
    }

    #[test]
    fn force_deletes_only_after_unmount_and_clear_d_state() {
        let mut runbook = SafeRestart::new(SafeRestartParams::default());
        let mut now_ms = 0;
        let mut observation = Observation::Done;
        let mut actions = Vec::new();
        for _ in 0..200 {
            let (_, command) = runbook.next(now_ms, observation);
            observation = match command {
                Command::Observe(Query::ProbeVoters) => voters("vault-2"),
                Command::Observe(Query::RaftLeader { .. }) => {
                    Observation::Leader(Some("vault-2".into()))
                }
                Command::Observe(Query::Logs { .. }) => {
                    Observation::Logs(vec!["msgpack decode error [pos 0]: i/o timeout".into()])
                }
                Command::Observe(Query::Pod { .. }) => Observation::Pod(Some(pod("Terminating"))),
                Command::Observe(Query::Processes { .. }) => Observation::Processes(vec![]),
                Command::Observe(Query::Mounts { .. }) => {
                    Observation::Mounts(vec![super::super::MountInfo {
                        mountpoint: "/var/lib/kubelet/pods/uid-1/volumes/data".into(),
                        source: "nfs:/srv/nfs".into(),
                    }])
                }
                Command::Observe(Query::DStateProcesses { .. }) => Observation::Processes(vec![]),
                Command::Observe(Query::ExternalHealth) => Observation::HttpStatus(200),
                Command::Observe(other) => panic!("unexpected {other:?}"),
                Command::Act(action) => {
                    actions.push(action.name());
                    Observation::Done
                }
                Command::Wait { duration_ms } => {
                    now_ms += duration_ms;
                    Observation::Done
                }
                Command::Finish(outcome) => {
                    assert_eq!(outcome, Outcome::Recovered);
                    assert_eq!(actions, ["delete_pod", "lazy_unmount", "force_delete_pod"]);
                    return;
                }
            };
        }
        panic!("runbook never finished");
    }
}
