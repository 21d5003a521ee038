//! A Vault voter: a small Raft over msgpack-framed RPCs on 8201, request forwarding, and `/v1/sys/health` on 8200.

mod forwarding;
mod health;
mod node;
mod raft;
mod rpc;

pub use health::API_PORT;
pub use node::{main, LISTEN_BACKLOG};
pub use raft::PersistentState;

/// The live view of one Vault process that `kubectl exec … vault status` and readiness see.
#[derive(Clone, Debug)]
pub struct VaultView {
    /// The pod incarnation this process belongs to.
    pub uid: String,
    pub role: &'static str,
    pub term: u64,
    pub leader: Option<String>,
    pub sealed: bool,
    /// The main loop is inside an fsync (slow or hung).
    pub blocked: bool,
    /// The fsync is in D state on a hung mount.
    pub disk_sleep: bool,
    /// SIGKILL arrived while in D state: every thread but the blocked one has stopped.
    pub frozen: bool,
    /// The last forwarded request to the active node timed out or failed.
    pub active_unreachable: bool,
    /// Fsyncs completed so far. A request waiting for the core lock waits for the fsync in progress to finish,
    /// not for a moment with no fsync at all, so a slow disk delays answers without starving them.
    pub completed_fsyncs: u64,
    /// A task holding (or waiting for) Vault's core state lock is waiting on a write: `/v1/sys/health`, the
    /// standbys' echo and `vault status` wait with it. Which task that is depends on the run's belief
    /// `hypotheses.hung_write_holds_core_lock`: every write at once (the incident), or only the active node's
    /// periodic barrier task (OpenBao 2.7.2, measured) and a shutdown.
    pub core_lock_waiting: bool,
    /// When the preStop hook's `kill -SIGTERM $(pidof vault)` reached the process (vault-helm: `sleep 5` first;
    /// PID 1 is `/bin/sh -ec`, which ignores SIGTERM).
    pub sigterm_received_ms: Option<u64>,
}

impl VaultView {
    pub fn starting(uid: &str) -> Self {
        Self {
            uid: uid.to_string(),
            role: "follower",
            term: 0,
            leader: None,
            sealed: true,
            blocked: false,
            disk_sleep: false,
            frozen: false,
            active_unreachable: false,
            completed_fsyncs: 0,
            core_lock_waiting: false,
            sigterm_received_ms: None,
        }
    }

    /// Whether `vault status` would answer: unsealed, not killed, and not waiting for the core lock behind a
    /// write that is stuck in the kernel. A slow write only delays the answer.
    pub fn is_answering(&self) -> bool {
        !(self.sealed || self.frozen || (self.core_lock_waiting && self.disk_sleep))
    }
}
