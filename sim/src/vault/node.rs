//! The Vault voter program run by each pod's turmoil host: unseal, then Raft's main loop, the heartbeat and
//! replication tasks of a leader, the RPC server on 8201, and a standby's request forwarding.
//!
//! The gray failure lives in the split between these tasks, as in hashicorp/raft: the main loop (log writes,
//! votes, forwarded requests) can block on an fsync while the heartbeat tasks keep running, so followers keep
//! the blocked leader and never elect another.

use super::forwarding::ForwardingClient;
use super::raft::{AppendRequest, RaftCore, Role, VoteAnswer, VoteOutcome, VoteRequest};
use super::rpc::{read_frame, write_frame, CallError, PeerClient, Rpc};
use super::VaultView;
use crate::net::{TcpListener, TcpStream};
use crate::storage::{fsync, FsyncError};
use crate::world::SharedWorld;
use firedrill_scenarios::EventKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::spawn_local;

pub const CLUSTER_PORT: u16 = 8201;

/// Vault's raft `NetworkTransport` timeout (`physical/raft/raft.go`): how long a raft RPC waits for its answer.
const RAFT_TRANSPORT_TIMEOUT_MS: u64 = 10_000;
/// A standby's echo to the active node over the cluster port's gRPC, and its deadline: the period at which the
/// incident's standbys logged their errors.
const ECHO_INTERVAL_MS: u64 = 2_000;
/// How long after becoming active the periodic core task first takes the barrier's write lock and writes, and
/// then how often: measured on OpenBao 2.7.2, whose health stopped answering 5 minutes after the node became
/// active under a write hang (DOMAIN.md §9).
const BARRIER_TASK_INTERVAL_MS: u64 = 300_000;
/// How often Vault notices a signal.
const SIGNAL_POLL_MS: u64 = 500;
/// The kernel's accept queue of a listening socket: `net.core.somaxconn`, 4096 since Linux 5.4, which Go passes
/// to `listen`. A frozen process accepts nothing, so once this many handshakes have completed, new connects
/// time out instead.
pub const LISTEN_BACKLOG: usize = 4_096;

/// Raft timings derived from Vault's `performance_multiplier`, as Vault scales hashicorp/raft's defaults.
#[derive(Clone, Copy)]
struct Timing {
    election_timeout_ms: u64,
    heartbeat_interval_ms: u64,
    /// hashicorp/raft's LeaderLeaseTimeout, scaled like the others.
    leader_lease_ms: u64,
    rpc_deadline_ms: u64,
    forward_interval_ms: u64,
    write_interval_ms: u64,
}

enum Inbound {
    Rpc(Rpc, oneshot::Sender<Rpc>),
    VoteResult {
        from: String,
        election_term: u64,
        answer: Rpc,
    },
    AppendResult {
        from: String,
        answer: Rpc,
    },
}

pub(super) struct Node {
    pub world: SharedWorld,
    pub pod: String,
    pub uid: String,
    pub vault_reports_standby_no_active: bool,
    /// `hypotheses.hung_write_holds_core_lock`: every write holds Vault's core state lock while it waits.
    write_holds_core_lock: bool,
    /// `hypotheses.disk_stalled_leader_steps_down` (hashicorp/raft#683).
    steps_down_on_disk_stall: bool,
    /// The accept queue of each listener once nothing accepts.
    pub listen_backlog: usize,
    /// When the log write in progress started, if one is.
    write_started_ms: Cell<Option<u64>>,
    /// SIGTERM closed the API listener (8200): Vault stops its listeners first on shutdown.
    pub api_closed: Notify,
    raft: RefCell<RaftCore>,
    inbox: mpsc::UnboundedSender<Inbound>,
    timing: Timing,
    rng: RefCell<ChaCha8Rng>,
    replicate: Notify,
    published: Cell<(Role, u64)>,
}

impl Node {
    /// The process was killed in D state or has exited: nothing of it runs any more but the kernel's accept.
    pub fn is_frozen(&self) -> bool {
        self.world
            .borrow()
            .vaults
            .get(&self.pod)
            .is_none_or(|view| view.uid != self.uid || view.frozen)
    }

    pub fn view(&self) -> Option<VaultView> {
        self.world
            .borrow()
            .vaults
            .get(&self.pod)
            .filter(|view| view.uid == self.uid)
            .cloned()
    }

    fn update_view(&self, change: impl FnOnce(&mut VaultView)) {
        let mut world = self.world.borrow_mut();
        if let Some(view) = world
            .vaults
            .get_mut(&self.pod)
            .filter(|view| view.uid == self.uid)
        {
            let lock_before = view.core_lock_waiting;
            change(view);
            if view.core_lock_waiting != lock_before {
                world.vault_changed.notify_waiters();
            }
        }
    }

    fn now_ms(&self) -> u64 {
        self.world.borrow().now_ms()
    }

    /// Publishes Raft's role, term and leader to the view, and records role or term changes in the trace.
    fn publish(&self) {
        let (role, term, leader) = {
            let raft = self.raft.borrow();
            (raft.role, raft.term(), raft.leader.clone())
        };
        self.update_view(|view| {
            view.role = role.as_str();
            view.term = term;
            view.leader = leader;
        });
        self.sync_active_label();
        if self.published.get() != (role, term) {
            self.published.set((role, term));
            self.world.borrow_mut().record(EventKind::RaftRole {
                pod: self.pod.clone(),
                role: role.name(),
                term,
            });
        }
    }

    /// Vault's `service_registration "kubernetes"` labels the active pod `vault-active=true` and clears the
    /// label when it stops being active. Clearing goes through the core's step-down, which waits for the state
    /// lock that a blocked write holds, so a node stuck in a write keeps its label (and a frozen one never runs
    /// this at all).
    fn sync_active_label(&self) {
        let leading = self.raft.borrow().role == Role::Leader;
        let blocked = self.view().is_some_and(|view| view.blocked);
        let mut world = self.world.borrow_mut();
        if leading {
            world.vault_active_labels.insert(self.uid.clone());
        } else if !blocked {
            world.vault_active_labels.remove(&self.uid);
        }
    }

    /// Waits until no task holds Vault's core lock behind a write. A request waits for the write in progress to
    /// finish, not for a moment with no write at all, so a slow disk delays answers without starving them. A
    /// frozen process never answers.
    ///
    /// The waiter wakes when the lock's holder changes the view (`World::vault_changed`), as a goroutine blocked
    /// on a mutex wakes when it is released, rather than by polling, so a long hang costs nothing while it lasts.
    pub async fn wait_for_core_lock(&self) {
        let changed = self.world.borrow().vault_changed.clone();
        let mut holder = None;
        loop {
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let Some(view) = self.view().filter(|view| !view.frozen) else {
                return std::future::pending().await;
            };
            let first = *holder.get_or_insert(view.completed_fsyncs);
            if !(view.core_lock_waiting && view.blocked && view.completed_fsyncs == first) {
                return;
            }
            notified.await;
        }
    }

    /// Waits for the log write in progress, if any, to finish (or for ever, if the process freezes).
    async fn wait_for_write_in_progress(&self) {
        let changed = self.world.borrow().vault_changed.clone();
        let mut holder = None;
        loop {
            let notified = changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let Some(view) = self.view().filter(|view| !view.frozen) else {
                return std::future::pending().await;
            };
            let first = *holder.get_or_insert(view.completed_fsyncs);
            if !(view.blocked && view.completed_fsyncs == first) {
                return;
            }
            notified.await;
        }
    }

    /// The log write in progress has outlasted the leader lease.
    fn disk_stalled_past_lease(&self) -> bool {
        self.write_started_ms.get().is_some_and(|started_ms| {
            self.now_ms().saturating_sub(started_ms) >= self.timing.leader_lease_ms
        })
    }

    /// Logs a raft RPC that failed, as hashicorp/raft's net_transport reports it: a deadline that passed before
    /// the answer's first byte is msgpack's `[pos 0]` decode error.
    fn log_rpc_failure(&self, what: &str, peer: &str, error: &CallError) {
        let error = match error {
            CallError::Timeout => format!(
                "msgpack decode error [pos 0]: read tcp {}->{peer}:{CLUSTER_PORT}: i/o timeout",
                self.pod
            ),
            CallError::Io(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                format!(
                    "dial tcp {peer}:{CLUSTER_PORT}: {}",
                    super::rpc::go_net_error(error)
                )
            }
            CallError::Io(error) => format!(
                "read tcp {}->{peer}:{CLUSTER_PORT}: {}",
                self.pod,
                super::rpc::go_net_error(error)
            ),
        };
        self.log(&format!("raft: {what}: peer={peer} error=\"{error}\""));
    }

    fn log(&self, message: &str) {
        self.world.borrow_mut().log(&self.pod, message);
    }

    /// hashicorp/raft's `randomTimeout(base)`: at least `base_ms`, less than twice it, from the node's seeded
    /// draw. Raft uses it for the election timeout and for the wait before each heartbeat round.
    fn random_timeout_ms(&self, base_ms: u64) -> u64 {
        self.rng.borrow_mut().random_range(base_ms..2 * base_ms)
    }

    /// Makes the in-memory Raft state durable. An I/O error is fatal to Vault, as a failed log write is.
    async fn persist(&self) -> Result<(), FsyncError> {
        self.write_started_ms.set(Some(self.now_ms()));
        if self.write_holds_core_lock {
            self.update_view(|view| view.core_lock_waiting = true);
        }
        let result = fsync(&self.world, &self.pod, &self.uid).await;
        self.write_started_ms.set(None);
        if self.write_holds_core_lock {
            self.update_view(|view| view.core_lock_waiting = false);
        }
        self.sync_active_label();
        match result {
            Ok(()) => {
                let mut world = self.world.borrow_mut();
                let volume = world.volumes.entry(self.pod.clone()).or_default();
                self.raft.borrow_mut().persist_into(volume);
                Ok(())
            }
            Err(FsyncError::Io) => {
                self.log("raft: failed to persist log: input/output error; shutting down");
                let mut world = self.world.borrow_mut();
                crate::kube::exit_container(&mut world, &self.uid);
                Err(FsyncError::Io)
            }
            Err(FsyncError::Killed) => Err(FsyncError::Killed),
        }
    }
}

/// The program of one Vault pod incarnation (the turmoil host named `uid`). It stops only by being crashed or
/// restarted by the driver.
pub async fn main(world: SharedWorld, pod: String, uid: String) -> crate::engine::HostResult {
    let running = world
        .borrow()
        .vaults
        .get(&pod)
        .is_some_and(|view| view.uid == uid);
    if !running {
        // No container runs for this incarnation (yet): nothing to do until the kubelet starts one.
        return std::future::pending().await;
    }
    let (timing, unseal_ms, peers, seed, designated_leader, persistent, standby_474, beliefs) = {
        let w = world.borrow();
        let topology = &w.scenario.topology;
        // Saturating, and at least 1: a schedule handed in directly skips the file's range check.
        let base_ms = topology
            .performance_multiplier
            .clamp(1, 1_000)
            .saturating_mul(1_000);
        let timing = Timing {
            election_timeout_ms: base_ms,
            heartbeat_interval_ms: base_ms / 10,
            leader_lease_ms: base_ms / 2,
            rpc_deadline_ms: RAFT_TRANSPORT_TIMEOUT_MS,
            forward_interval_ms: ECHO_INTERVAL_MS,
            write_interval_ms: topology.write_interval_ms,
        };
        let peers: Vec<String> = w
            .scenario
            .voter_names()
            .into_iter()
            .filter(|p| *p != pod)
            .collect();
        (
            timing,
            topology.unseal_ms,
            peers,
            w.schedule.component_seed(&uid),
            w.schedule.leader == pod,
            w.volumes.get(&pod).cloned().unwrap_or_default(),
            version_at_least(&topology.vault_version, 1, 19),
            (
                w.schedule.hypotheses.hung_write_holds_core_lock,
                w.schedule.hypotheses.disk_stalled_leader_steps_down,
            ),
        )
    };
    let (inbox, inbox_rx) = mpsc::unbounded_channel();
    let now_ms = world.borrow().now_ms();
    let first_boot = persistent.term == 0;
    let node = Rc::new(Node {
        world: world.clone(),
        pod: pod.clone(),
        uid,
        vault_reports_standby_no_active: standby_474,
        write_holds_core_lock: beliefs.0,
        steps_down_on_disk_stall: beliefs.1,
        listen_backlog: LISTEN_BACKLOG,
        write_started_ms: Cell::new(None),
        api_closed: Notify::new(),
        raft: RefCell::new(RaftCore::new(&pod, peers, persistent, now_ms)),
        inbox,
        timing,
        rng: RefCell::new(ChaCha8Rng::seed_from_u64(seed)),
        replicate: Notify::new(),
        published: Cell::new((Role::Follower, u64::MAX)),
    });
    spawn_local(super::health::serve(node.clone()));
    spawn_local(watch_for_sigterm(node.clone()));
    tokio::time::sleep(Duration::from_millis(unseal_ms)).await;
    if node.is_frozen() {
        return std::future::pending().await;
    }
    node.update_view(|view| view.sealed = false);
    node.log("core: vault is unsealed");
    // A sealed Vault has not set up raft: its election timer starts now, not when the process started.
    node.raft.borrow_mut().last_contact_ms = node.now_ms();
    node.publish();
    spawn_local(rpc_server(node.clone()));
    spawn_local(forward_loop(node.clone()));
    // The first election is steered to the seed's leader: it times out first, the others much later.
    let first_timeout_ms = match (first_boot, designated_leader) {
        (true, true) => 1_000,
        (true, false) => 2 * timing.election_timeout_ms,
        (false, _) => node.random_timeout_ms(node.timing.election_timeout_ms),
    };
    main_loop(node, inbox_rx, first_timeout_ms).await;
    std::future::pending().await
}

/// Vault's shutdown on SIGTERM (`command/server.go`): stop the API listeners first, so 8200 refuses connections;
/// then seal, which takes the core's state lock. The cluster port keeps accepting and the heartbeat tasks go on
/// meanwhile. A core whose write is stuck never gets the lock, so it never exits: only SIGKILL ends it.
async fn watch_for_sigterm(node: Rc<Node>) {
    loop {
        tokio::time::sleep(Duration::from_millis(SIGNAL_POLL_MS)).await;
        let Some(view) = node.view().filter(|view| !view.frozen) else {
            return;
        };
        if view.sigterm_received_ms.is_some() {
            break;
        }
    }
    node.log("core: shutdown triggered, stopping listeners");
    node.api_closed.notify_one();
    node.update_view(|view| view.core_lock_waiting = true);
    node.wait_for_write_in_progress().await;
    node.log("core: vault is sealed; shutting down");
    let mut world = node.world.borrow_mut();
    world.vault_active_labels.remove(&node.uid);
    crate::kube::exit_container(&mut world, &node.uid);
}

/// Raft's main loop: every log write, vote and forwarded request goes through here, and it blocks on fsync.
async fn main_loop(
    node: Rc<Node>,
    mut inbox: mpsc::UnboundedReceiver<Inbound>,
    first_timeout_ms: u64,
) {
    let mut election_timeout_ms = first_timeout_ms;
    let mut next_write_ms = 0;
    loop {
        if node.is_frozen() {
            return;
        }
        let now_ms = node.now_ms();
        let (role, last_contact_ms) = {
            let raft = node.raft.borrow();
            (raft.role, raft.last_contact_ms)
        };
        let wake_at_ms = match role {
            Role::Leader => next_write_ms,
            _ => last_contact_ms.saturating_add(election_timeout_ms),
        };
        let sleep = tokio::time::sleep(Duration::from_millis(wake_at_ms.saturating_sub(now_ms)));
        tokio::select! {
            message = inbox.recv() => {
                let Some(message) = message else { return };
                if handle(&node, message, &mut next_write_ms).await.is_err() {
                    return;
                }
            }
            _ = sleep => {
                let now_ms = node.now_ms();
                if role == Role::Leader {
                    // A client write (and its audit record): appended, fsynced, then replicated.
                    node.raft.borrow_mut().append_own();
                    if node.persist().await.is_err() {
                        return;
                    }
                    node.replicate.notify_waiters();
                    next_write_ms = now_ms.saturating_add(node.timing.write_interval_ms.max(1));
                } else if now_ms
                    >= node
                        .raft
                        .borrow()
                        .last_contact_ms
                        .saturating_add(election_timeout_ms)
                {
                    node.log("raft: heartbeat timeout reached, starting election");
                    let request = node.raft.borrow_mut().become_pre_candidate(now_ms);
                    node.publish();
                    request_votes(&node, request);
                    election_timeout_ms = node.random_timeout_ms(node.timing.election_timeout_ms);
                }
            }
        }
    }
}

async fn handle(
    node: &Rc<Node>,
    message: Inbound,
    next_write_ms: &mut u64,
) -> Result<(), FsyncError> {
    let now_ms = node.now_ms();
    match message {
        Inbound::Rpc(rpc, reply) => {
            let (answer, persist) = match rpc {
                Rpc::AppendEntries {
                    term,
                    leader,
                    prev_index,
                    prev_term,
                    entries,
                    commit,
                } => node.raft.borrow_mut().on_append(
                    AppendRequest {
                        term,
                        leader: &leader,
                        prev_index,
                        prev_term,
                        entries: &entries,
                        commit,
                    },
                    now_ms,
                ),
                Rpc::RequestVote {
                    term,
                    candidate,
                    last_index,
                    last_term,
                    pre_vote,
                } => {
                    let (answer, persist) = node.raft.borrow_mut().on_vote_request(VoteRequest {
                        term,
                        candidate: &candidate,
                        last_index,
                        last_term,
                        pre_vote,
                    });
                    if matches!(
                        answer,
                        Rpc::VoteResponse {
                            granted: true,
                            pre_vote: false,
                            ..
                        }
                    ) {
                        node.raft.borrow_mut().last_contact_ms = now_ms;
                    }
                    (answer, persist)
                }
                _ => return Ok(()),
            };
            if persist {
                node.persist().await?;
            }
            node.publish();
            let _ = reply.send(answer);
        }
        Inbound::VoteResult {
            from,
            election_term,
            answer:
                Rpc::VoteResponse {
                    term,
                    granted,
                    pre_vote,
                },
        } => {
            let outcome = node.raft.borrow_mut().on_vote_response(
                &from,
                VoteAnswer {
                    term,
                    granted,
                    pre_vote,
                },
                election_term,
            );
            node.publish();
            if outcome == VoteOutcome::PreVoteWon {
                let request = node.raft.borrow_mut().become_candidate(now_ms);
                node.publish();
                node.persist().await?;
                request_votes(node, request);
                return Ok(());
            }
            if outcome == VoteOutcome::Elected {
                node.log(&format!(
                    "core: acquired lock, enabling active operation (term {election_term})"
                ));
                start_leading(node, election_term);
                *next_write_ms = now_ms;
            }
        }
        Inbound::AppendResult {
            from,
            answer:
                Rpc::AppendResponse {
                    term,
                    success,
                    match_index,
                },
        } => {
            node.raft
                .borrow_mut()
                .on_append_response(&from, term, success, match_index);
            node.publish();
        }
        Inbound::VoteResult { .. } | Inbound::AppendResult { .. } => {}
    }
    Ok(())
}

fn request_votes(node: &Rc<Node>, request: Rpc) {
    let Rpc::RequestVote { term, pre_vote, .. } = request else {
        unreachable!("become_candidate returns a RequestVote")
    };
    let what = if pre_vote {
        "requestPreVote"
    } else {
        "requestVote"
    };
    let peers = node.raft.borrow().peers.clone();
    for peer in peers {
        let node = node.clone();
        let request = request.clone();
        spawn_local(async move {
            let mut client = PeerClient::new(&node.world, &peer, CLUSTER_PORT);
            let deadline = Duration::from_millis(node.timing.rpc_deadline_ms);
            match client.call(&request, deadline).await {
                Ok(answer) => {
                    let _ = node.inbox.send(Inbound::VoteResult {
                        from: peer,
                        election_term: term,
                        answer,
                    });
                }
                Err(error) => {
                    node.log_rpc_failure(&format!("failed to make {what} RPC"), &peer, &error)
                }
            }
        });
    }
}

fn still_leading(node: &Node, term: u64) -> bool {
    let raft = node.raft.borrow();
    raft.role == Role::Leader && raft.term() == term
}

/// A new leader's own tasks: per peer, one replicator and one heartbeater, apart from the main loop.
fn start_leading(node: &Rc<Node>, term: u64) {
    let peers = node.raft.borrow().peers.clone();
    for peer in peers {
        spawn_local(replicate_to(node.clone(), peer.clone(), term));
        spawn_local(heartbeat_to(node.clone(), peer, term));
    }
    spawn_local(barrier_task(node.clone(), term));
}

/// The active node's periodic core task: it takes the barrier's write lock and writes. Its write goes through
/// raft, so while the log write in progress is stuck, it waits holding the lock, and with it every request that
/// needs the core (health, the standbys' echo). Under the incident's belief every write holds the lock already.
async fn barrier_task(node: Rc<Node>, term: u64) {
    if node.write_holds_core_lock {
        return;
    }
    loop {
        tokio::time::sleep(Duration::from_millis(BARRIER_TASK_INTERVAL_MS)).await;
        if node.is_frozen() || !still_leading(&node, term) {
            return;
        }
        node.update_view(|view| view.core_lock_waiting = true);
        node.wait_for_write_in_progress().await;
        node.update_view(|view| view.core_lock_waiting = false);
    }
}

async fn replicate_to(node: Rc<Node>, peer: String, term: u64) {
    let mut client = PeerClient::new(&node.world, &peer, CLUSTER_PORT);
    let deadline = Duration::from_millis(node.timing.rpc_deadline_ms);
    loop {
        if node.is_frozen() || !still_leading(&node, term) {
            return;
        }
        let request = {
            let raft = node.raft.borrow();
            let behind = raft.next_index.get(&peer).copied().unwrap_or(1) <= raft.last_index();
            behind.then(|| raft.append_for(&peer))
        };
        if let Some(request) = request {
            match client.call(&request, deadline).await {
                Ok(answer) => {
                    let _ = node.inbox.send(Inbound::AppendResult {
                        from: peer.clone(),
                        answer,
                    });
                    continue;
                }
                Err(error) => node.log_rpc_failure("failed to appendEntries to", &peer, &error),
            }
        }
        // Wait for new entries, or retry a lagging peer after a while.
        let _ = tokio::time::timeout(Duration::from_millis(1_000), node.replicate.notified()).await;
    }
}

async fn heartbeat_to(node: Rc<Node>, peer: String, term: u64) {
    let mut client = PeerClient::new(&node.world, &peer, CLUSTER_PORT);
    // A heartbeat waits as long as any RPC for its answer. A deadline of one interval would expire on ordinary
    // round trips and reconnect every time, which is neither what hashicorp/raft does nor cheap to simulate.
    let deadline = Duration::from_millis(node.timing.rpc_deadline_ms);
    let mut failures: u32 = 0;
    loop {
        // As hashicorp/raft's `heartbeat()`: each round first waits `randomTimeout(HeartbeatTimeout / 10)`, a
        // uniform draw from one to two intervals, and only then sends; the wait does not count the RPC's time.
        tokio::time::sleep(Duration::from_millis(
            node.random_timeout_ms(node.timing.heartbeat_interval_ms),
        ))
        .await;
        if node.is_frozen() || !still_leading(&node, term) {
            return;
        }
        let request = {
            let raft = node.raft.borrow();
            Rpc::Heartbeat {
                term,
                leader: raft.me.clone(),
                commit: raft.commit,
            }
        };
        if node.steps_down_on_disk_stall && node.disk_stalled_past_lease() {
            // hashicorp/raft#683: a leader whose log write has been stuck past its lease steps down, even though
            // its heartbeats could go on. The write itself stays stuck, so the node cannot vote or lead again
            // until the disk answers.
            let stepped_down = {
                let mut raft = node.raft.borrow_mut();
                let leading = raft.role == Role::Leader && raft.term() == term;
                if leading {
                    raft.role = Role::Follower;
                    raft.leader = None;
                }
                leading
            };
            if stepped_down {
                node.log("raft: log write stalled past the leader lease, stepping down");
                node.publish();
            }
            return;
        }
        // As hashicorp/raft's `heartbeat()`: the answer's term is not looked at; only the main loop's
        // replication steps down on a newer term. A failure backs off before the next round's wait.
        match client.call(&request, deadline).await {
            Ok(_) => failures = 0,
            Err(error) => {
                node.log_rpc_failure("failed to heartbeat to", &peer, &error);
                failures = failures.saturating_add(1);
                tokio::time::sleep(Duration::from_millis(heartbeat_backoff_ms(failures))).await;
            }
        }
    }
}

/// hashicorp/raft's `backoff(failureWait, failures, maxFailureScale)`: 10 ms for the first two failures in a row,
/// then doubling, up to 10 ms × 2^10 from the twelfth.
fn heartbeat_backoff_ms(failures: u32) -> u64 {
    const FAILURE_WAIT_MS: u64 = 10;
    const MAX_FAILURE_SCALE: u32 = 12;
    let power = failures.min(MAX_FAILURE_SCALE);
    FAILURE_WAIT_MS << power.saturating_sub(2)
}

/// A standby's echo to the active node, over gRPC on the cluster port (not raft's msgpack): when it fails the
/// standby logs a gRPC status, every 2 s.
async fn forward_loop(node: Rc<Node>) {
    let mut client: Option<(String, ForwardingClient)> = None;
    let interval = Duration::from_millis(node.timing.forward_interval_ms);
    loop {
        tokio::time::sleep(interval).await;
        if node.is_frozen() {
            return;
        }
        let (role, leader) = {
            let raft = node.raft.borrow();
            (raft.role, raft.leader.clone())
        };
        let Some(leader) = leader.filter(|_| role == Role::Follower) else {
            continue;
        };
        if client.as_ref().is_none_or(|(to, _)| *to != leader) {
            client = Some((
                leader.clone(),
                ForwardingClient::new(&node.world, &leader, CLUSTER_PORT),
            ));
        }
        let (_, peer) = client.as_mut().expect("set above");
        let request = Rpc::Forward {
            from: node.pod.clone(),
        };
        match peer
            .call(
                &request,
                Duration::from_millis(node.timing.forward_interval_ms),
            )
            .await
        {
            Ok(_) => node.update_view(|view| view.active_unreachable = false),
            Err(error) => {
                node.log(&format!(
                    "forwarding: error sending echo request to active node: {}",
                    error.grpc_status()
                ));
                node.update_view(|view| view.active_unreachable = true);
            }
        }
    }
}

/// The cluster port. Its accept loop is the kernel's: it keeps completing handshakes even when every thread of
/// the process is stuck, which is why "port 8201 accepts TCP" proves nothing.
async fn rpc_server(node: Rc<Node>) {
    let listener = TcpListener::bind(("0.0.0.0", CLUSTER_PORT))
        .await
        .expect("the cluster port is free on the pod's host");
    let mut held = Vec::new();
    loop {
        if node.is_frozen() && held.len() >= node.listen_backlog {
            // The accept queue is full and nothing accepts: new handshakes never complete, connects time out.
            // The listener stays bound, so they are not refused either.
            return std::future::pending::<()>().await;
        }
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        if node.is_frozen() {
            held.push(stream);
            continue;
        }
        spawn_local(serve_rpc_connection(node.clone(), stream));
    }
}

async fn serve_rpc_connection(node: Rc<Node>, mut stream: TcpStream) {
    while let Ok(rpc) = read_frame(&mut stream).await {
        if node.is_frozen() {
            return std::future::pending().await;
        }
        let answer = match rpc {
            Rpc::Heartbeat { term, leader, .. } => {
                let now_ms = node.now_ms();
                let answer = node.raft.borrow_mut().on_heartbeat(term, &leader, now_ms);
                node.publish();
                answer
            }
            Rpc::Forward { .. } => {
                // The echo is answered by Vault's core, not raft's main loop: it waits only for the core lock.
                node.wait_for_core_lock().await;
                Rpc::ForwardResponse
            }
            other => {
                let (reply, answer) = oneshot::channel();
                if node.inbox.send(Inbound::Rpc(other, reply)).is_err() {
                    return;
                }
                // A blocked main loop never answers: the caller's deadline fires before the first byte.
                let Ok(answer) = answer.await else { return };
                answer
            }
        };
        if node.is_frozen() {
            return std::future::pending().await;
        }
        if write_frame(&mut stream, &answer).await.is_err() {
            return;
        }
    }
}

/// Compares a dotted version with `major.minor`.
fn version_at_least(version: &str, major: u64, minor: u64) -> bool {
    let mut parts = version
        .split('.')
        .map(|part| part.parse::<u64>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_numerically() {
        assert!(super::version_at_least("1.19.0", 1, 19));
        assert!(super::version_at_least("1.20", 1, 19));
        assert!(!super::version_at_least("1.15.6", 1, 19));
        assert!(!super::version_at_least("1.9.9", 1, 19));
    }

    #[test]
    fn heartbeat_backoff_doubles_from_the_third_failure_up_to_its_cap() {
        let waits_ms: Vec<u64> = [1, 2, 3, 4, 11, 12, 13, 1_000]
            .into_iter()
            .map(super::heartbeat_backoff_ms)
            .collect();
        assert_eq!(waits_ms, [10, 10, 20, 40, 5_120, 10_240, 10_240, 10_240]);
    }
}
