//! Raft's state and transitions, without I/O: terms, votes, log matching, commit by majority.

use super::rpc::Rpc;
use std::collections::{BTreeMap, BTreeSet};

/// What Raft keeps on the data volume and reads back on restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersistentState {
    pub term: u64,
    pub voted_for: Option<String>,
    /// The term of each entry; entry `i` (1-based) is `log[i - 1]`.
    pub log: Vec<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    Candidate,
    Leader,
}

impl Role {
    /// The role as the trace names it.
    pub fn name(self) -> firedrill_scenarios::trace::RaftRoleName {
        use firedrill_scenarios::trace::RaftRoleName;
        match self {
            Role::Follower => RaftRoleName::Follower,
            Role::Candidate => RaftRoleName::Candidate,
            Role::Leader => RaftRoleName::Leader,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// The fields of a RequestVote (or pre-vote) request, borrowed from the RPC.
pub struct VoteRequest<'a> {
    pub term: u64,
    pub candidate: &'a str,
    pub last_index: u64,
    pub last_term: u64,
    pub pre_vote: bool,
}

/// A peer's answer to a vote or pre-vote request.
#[derive(Clone, Copy, Debug)]
pub struct VoteAnswer {
    pub term: u64,
    pub granted: bool,
    pub pre_vote: bool,
}

/// What a counted vote changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteOutcome {
    Pending,
    /// A majority would vote for this node: start the real election.
    PreVoteWon,
    /// A majority voted for this node in the real election: it leads.
    Elected,
}

/// The fields of an AppendEntries request, borrowed from the RPC.
pub struct AppendRequest<'a> {
    pub term: u64,
    pub leader: &'a str,
    pub prev_index: u64,
    pub prev_term: u64,
    pub entries: &'a [u64],
    pub commit: u64,
}

pub struct RaftCore {
    pub me: String,
    pub peers: Vec<String>,
    pub persistent: PersistentState,
    pub commit: u64,
    pub role: Role,
    pub leader: Option<String>,
    pub last_contact_ms: u64,
    votes: BTreeSet<String>,
    /// A candidate first asks for pre-votes (hashicorp/raft's pre-vote): its term moves only once a majority
    /// would vote for it, so a node that cannot win never disturbs the others' term.
    pub pre_candidate: bool,
    pub match_index: BTreeMap<String, u64>,
    pub next_index: BTreeMap<String, u64>,
    /// The first log position changed since the last persist, so persisting copies only the new suffix.
    unpersisted_from: usize,
}

impl RaftCore {
    pub fn new(me: &str, peers: Vec<String>, persistent: PersistentState, now_ms: u64) -> Self {
        Self {
            me: me.to_string(),
            peers,
            persistent,
            commit: 0,
            role: Role::Follower,
            leader: None,
            last_contact_ms: now_ms,
            votes: BTreeSet::new(),
            pre_candidate: false,
            match_index: BTreeMap::new(),
            next_index: BTreeMap::new(),
            unpersisted_from: usize::MAX,
        }
    }

    /// Appends an entry of the current term, as a leader does for a client write.
    pub fn append_own(&mut self) {
        self.unpersisted_from = self.unpersisted_from.min(self.persistent.log.len());
        let term = self.persistent.term;
        self.persistent.log.push(term);
    }

    /// Writes what changed since the last persist into the volume's copy.
    pub fn persist_into(&mut self, volume: &mut PersistentState) {
        volume.term = self.persistent.term;
        volume.voted_for.clone_from(&self.persistent.voted_for);
        let from = self
            .unpersisted_from
            .min(volume.log.len())
            .min(self.persistent.log.len());
        volume.log.truncate(from);
        volume.log.extend_from_slice(&self.persistent.log[from..]);
        self.unpersisted_from = usize::MAX;
    }

    pub fn term(&self) -> u64 {
        self.persistent.term
    }

    pub fn last_index(&self) -> u64 {
        self.persistent.log.len() as u64
    }

    pub fn term_at(&self, index: u64) -> u64 {
        if index == 0 {
            0
        } else {
            self.persistent.log[(index - 1) as usize]
        }
    }

    fn quorum(&self) -> usize {
        let voters = self.peers.len() + 1;
        voters / 2 + 1
    }

    /// Adopts a newer term and steps down. Returns whether the persistent state changed.
    pub fn observe_term(&mut self, term: u64) -> bool {
        if term <= self.persistent.term {
            return false;
        }
        self.persistent.term = term;
        self.persistent.voted_for = None;
        self.role = Role::Follower;
        self.pre_candidate = false;
        self.leader = None;
        true
    }

    /// The heartbeat fast path: contact and leadership only, never the log.
    pub fn on_heartbeat(&mut self, term: u64, leader: &str, now_ms: u64) -> Rpc {
        if term >= self.persistent.term {
            self.observe_term(term);
            if self.role != Role::Leader {
                self.role = Role::Follower;
                self.pre_candidate = false;
                self.leader = Some(leader.to_string());
                self.last_contact_ms = now_ms;
            }
        }
        Rpc::HeartbeatResponse {
            term: self.persistent.term,
        }
    }

    /// Handles AppendEntries. Returns the answer and whether it must be persisted (fsynced) before sending.
    pub fn on_append(&mut self, request: AppendRequest<'_>, now_ms: u64) -> (Rpc, bool) {
        let AppendRequest {
            term,
            leader,
            prev_index,
            prev_term,
            entries,
            commit,
        } = request;
        let mut persist = self.observe_term(term);
        let reject = |core: &Self, persist| {
            (
                Rpc::AppendResponse {
                    term: core.persistent.term,
                    success: false,
                    match_index: 0,
                },
                persist,
            )
        };
        if term < self.persistent.term {
            return reject(self, persist);
        }
        self.role = Role::Follower;
        self.pre_candidate = false;
        self.leader = Some(leader.to_string());
        self.last_contact_ms = now_ms;
        if prev_index > self.last_index() || self.term_at(prev_index) != prev_term {
            return reject(self, persist);
        }
        for (offset, entry_term) in entries.iter().enumerate() {
            let index = prev_index + 1 + offset as u64;
            if index <= self.last_index() {
                if self.term_at(index) == *entry_term {
                    continue;
                }
                self.persistent.log.truncate((index - 1) as usize);
            }
            self.unpersisted_from = self.unpersisted_from.min(self.persistent.log.len());
            self.persistent.log.push(*entry_term);
            persist = true;
        }
        let match_index = prev_index + entries.len() as u64;
        self.commit = self.commit.max(commit.min(match_index));
        (
            Rpc::AppendResponse {
                term: self.persistent.term,
                success: true,
                match_index,
            },
            persist,
        )
    }

    /// Handles RequestVote and its pre-vote. Returns the answer and whether it must be persisted before sending.
    ///
    /// As hashicorp/raft's `requestVote` and `requestPreVote`: a node that knows a leader other than the
    /// candidate rejects before looking at the term (leader stickiness, "rejecting vote request since we have a
    /// leader"), so a partitioned or restarted node cannot depose a leader that still heartbeats. A pre-vote
    /// changes nothing here: no term adopted, no vote recorded.
    pub fn on_vote_request(&mut self, request: VoteRequest<'_>) -> (Rpc, bool) {
        let VoteRequest {
            term,
            candidate,
            last_index,
            last_term,
            pre_vote,
        } = request;
        let reject = |core: &Self, persist| {
            (
                Rpc::VoteResponse {
                    term: core.persistent.term,
                    granted: false,
                    pre_vote,
                },
                persist,
            )
        };
        if self
            .leader
            .as_deref()
            .is_some_and(|leader| leader != candidate)
        {
            return reject(self, false);
        }
        let up_to_date =
            (last_term, last_index) >= (self.term_at(self.last_index()), self.last_index());
        if pre_vote {
            let granted = term >= self.persistent.term && up_to_date;
            return (
                Rpc::VoteResponse {
                    term: self.persistent.term,
                    granted,
                    pre_vote,
                },
                false,
            );
        }
        let mut persist = self.observe_term(term);
        let free = self
            .persistent
            .voted_for
            .as_deref()
            .is_none_or(|voted| voted == candidate);
        let granted =
            term == self.persistent.term && up_to_date && free && self.role != Role::Leader;
        if granted && self.persistent.voted_for.is_none() {
            self.persistent.voted_for = Some(candidate.to_string());
            persist = true;
        }
        if !granted {
            return reject(self, persist);
        }
        (
            Rpc::VoteResponse {
                term: self.persistent.term,
                granted,
                pre_vote,
            },
            persist,
        )
    }

    /// Starts a pre-election: asks for pre-votes for the next term without moving to it. The node forgets its
    /// leader, as hashicorp/raft's follower does when its heartbeat timer fires.
    pub fn become_pre_candidate(&mut self, now_ms: u64) -> Rpc {
        self.role = Role::Candidate;
        self.pre_candidate = true;
        self.leader = None;
        self.last_contact_ms = now_ms;
        self.votes = BTreeSet::from([self.me.clone()]);
        Rpc::RequestVote {
            term: self.persistent.term + 1,
            candidate: self.me.clone(),
            last_index: self.last_index(),
            last_term: self.term_at(self.last_index()),
            pre_vote: true,
        }
    }

    /// Starts an election: a new term and a vote for itself (both persisted before asking for votes).
    pub fn become_candidate(&mut self, now_ms: u64) -> Rpc {
        self.persistent.term += 1;
        self.persistent.voted_for = Some(self.me.clone());
        self.role = Role::Candidate;
        self.pre_candidate = false;
        self.leader = None;
        self.last_contact_ms = now_ms;
        self.votes = BTreeSet::from([self.me.clone()]);
        Rpc::RequestVote {
            term: self.persistent.term,
            candidate: self.me.clone(),
            last_index: self.last_index(),
            last_term: self.term_at(self.last_index()),
            pre_vote: false,
        }
    }

    /// Counts a vote or a pre-vote. `election_term` is the term the request asked for.
    pub fn on_vote_response(
        &mut self,
        from: &str,
        answer: VoteAnswer,
        election_term: u64,
    ) -> VoteOutcome {
        let VoteAnswer {
            term,
            granted,
            pre_vote,
        } = answer;
        if self.observe_term(term) || self.role != Role::Candidate || pre_vote != self.pre_candidate
        {
            return VoteOutcome::Pending;
        }
        let asked_term = if pre_vote {
            self.persistent.term + 1
        } else {
            self.persistent.term
        };
        if election_term != asked_term {
            return VoteOutcome::Pending;
        }
        if granted {
            self.votes.insert(from.to_string());
        }
        if self.votes.len() < self.quorum() {
            return VoteOutcome::Pending;
        }
        if pre_vote {
            return VoteOutcome::PreVoteWon;
        }
        self.role = Role::Leader;
        self.leader = Some(self.me.clone());
        for peer in &self.peers {
            self.next_index.insert(peer.clone(), self.last_index() + 1);
            self.match_index.insert(peer.clone(), 0);
        }
        VoteOutcome::Elected
    }

    /// The AppendEntries a leader sends a peer now.
    pub fn append_for(&self, peer: &str) -> Rpc {
        let next = self.next_index.get(peer).copied().unwrap_or(1).max(1);
        let prev_index = next - 1;
        Rpc::AppendEntries {
            term: self.persistent.term,
            leader: self.me.clone(),
            prev_index,
            prev_term: self.term_at(prev_index),
            entries: self.persistent.log[prev_index as usize..].to_vec(),
            commit: self.commit,
        }
    }

    /// Records a peer's answer and advances the commit index over a majority of entries from this term.
    pub fn on_append_response(&mut self, from: &str, term: u64, success: bool, match_index: u64) {
        if self.observe_term(term) || self.role != Role::Leader {
            return;
        }
        if success {
            let known = self.match_index.entry(from.to_string()).or_insert(0);
            *known = (*known).max(match_index);
            self.next_index.insert(from.to_string(), match_index + 1);
        } else {
            let next = self.next_index.entry(from.to_string()).or_insert(1);
            *next = (*next - 1).max(1);
        }
        let mut indexes: Vec<u64> = self.match_index.values().copied().collect();
        indexes.push(self.last_index());
        indexes.sort_unstable_by(|a, b| b.cmp(a));
        let majority_index = indexes[self.quorum() - 1];
        if majority_index > self.commit && self.term_at(majority_index) == self.persistent.term {
            self.commit = majority_index;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(me: &str) -> RaftCore {
        let peers = ["a", "b", "c"]
            .iter()
            .filter(|p| **p != me)
            .map(|p| p.to_string())
            .collect();
        RaftCore::new(me, peers, PersistentState::default(), 0)
    }

    fn vote<'a>(term: u64, candidate: &'a str, pre_vote: bool) -> VoteRequest<'a> {
        VoteRequest {
            term,
            candidate,
            last_index: 0,
            last_term: 0,
            pre_vote,
        }
    }

    fn answer(rpc: Rpc) -> VoteAnswer {
        let Rpc::VoteResponse {
            term,
            granted,
            pre_vote,
        } = rpc
        else {
            unreachable!("a vote request is answered with a vote response")
        };
        VoteAnswer {
            term,
            granted,
            pre_vote,
        }
    }

    #[test]
    fn a_candidate_with_two_votes_of_three_leads() {
        let mut a = core("a");
        let mut b = core("b");
        let Rpc::RequestVote { term, .. } = a.become_pre_candidate(0) else {
            unreachable!()
        };
        let (pre, _) = b.on_vote_request(vote(term, "a", true));
        assert_eq!(b.term(), 0, "a pre-vote changes nothing on the voter");
        assert_eq!(
            a.on_vote_response("b", answer(pre), term),
            VoteOutcome::PreVoteWon
        );
        assert_eq!(a.term(), 0, "a pre-vote does not move the candidate's term");
        let Rpc::RequestVote { term, .. } = a.become_candidate(0) else {
            unreachable!()
        };
        let (granted, persist) = b.on_vote_request(vote(term, "a", false));
        assert!(persist);
        assert_eq!(
            a.on_vote_response("b", answer(granted), term),
            VoteOutcome::Elected
        );
        assert_eq!(a.role, Role::Leader);
    }

    #[test]
    fn a_follower_with_a_leader_rejects_votes_and_pre_votes() {
        // hashicorp/raft: "rejecting vote request since we have a leader". The old model granted both, so a
        // restarted node could depose a leader that still heartbeats.
        let mut c = core("c");
        c.on_heartbeat(1, "a", 0);
        for pre_vote in [true, false] {
            let (rpc, persist) = c.on_vote_request(vote(2, "b", pre_vote));
            assert!(matches!(rpc, Rpc::VoteResponse { granted: false, .. }));
            assert!(!persist);
        }
        assert_eq!(c.term(), 1, "the candidate's term is not adopted");
        assert_eq!(c.leader.as_deref(), Some("a"));
    }

    #[test]
    fn a_vote_is_given_once_per_term() {
        let mut c = core("c");
        assert!(matches!(
            c.on_vote_request(vote(1, "a", false)).0,
            Rpc::VoteResponse { granted: true, .. }
        ));
        assert!(matches!(
            c.on_vote_request(vote(1, "b", false)).0,
            Rpc::VoteResponse { granted: false, .. }
        ));
    }

    #[test]
    fn commit_needs_a_majority_of_the_current_term() {
        let mut a = core("a");
        a.become_candidate(0);
        let granted = VoteAnswer {
            term: 1,
            granted: true,
            pre_vote: false,
        };
        assert_eq!(a.on_vote_response("b", granted, 1), VoteOutcome::Elected);
        a.append_own();
        a.on_append_response("b", 1, true, 1);
        assert_eq!(a.commit, 1);
    }

    #[test]
    fn persisting_copies_exactly_the_log() {
        let mut a = core("a");
        let mut volume = PersistentState::default();
        a.become_candidate(0);
        a.append_own();
        a.append_own();
        a.persist_into(&mut volume);
        assert_eq!(volume, a.persistent);
        a.on_append(
            AppendRequest {
                term: 3,
                leader: "b",
                prev_index: 1,
                prev_term: 1,
                entries: &[3, 3, 3],
                commit: 0,
            },
            0,
        );
        a.persist_into(&mut volume);
        assert_eq!(volume, a.persistent);
        assert_eq!(volume.log, vec![1, 3, 3, 3]);
    }

    #[test]
    fn followers_truncate_conflicting_entries() {
        let mut b = core("b");
        b.persistent.log = vec![1, 1];
        let (answer, persist) = b.on_append(
            AppendRequest {
                term: 2,
                leader: "a",
                prev_index: 1,
                prev_term: 1,
                entries: &[2],
                commit: 0,
            },
            0,
        );
        assert!(persist);
        assert!(matches!(
            answer,
            Rpc::AppendResponse {
                success: true,
                match_index: 2,
                ..
            }
        ));
        assert_eq!(b.persistent.log, vec![1, 2]);
    }
}
