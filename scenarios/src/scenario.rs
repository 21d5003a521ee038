//! The scenario file: topology, faults, probes, recovery and expectations, as data.

use crate::duration::MillisSpec;
use crate::parse_error::ParseError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use toml::Spanned;

/// One drill: the world to build, what goes wrong and when, how it is watched, how it is repaired, and what
/// must be true of the resulting trace.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// How long the drill runs in simulated time.
    pub duration_ms: u64,
    #[serde(default)]
    pub sim: SimConfig,
    pub topology: Topology,
    #[serde(default)]
    pub hypotheses: Hypotheses,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    pub probes: Probes,
    pub recovery: Recovery,
    pub expect: Expectations,
    /// The runbook `recovery.runbook` names, resolved when the scenario is loaded (or replaced by `--runbook`).
    #[serde(skip)]
    pub runbook: Option<crate::runbook::RunbookFile>,
}

/// Knobs of the simulated network and clock.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Which engine runs the hosts: `exact` (event-driven, deliveries to the millisecond) or `turmoil` (the
    /// reference, stepped by `tick_ms`).
    #[serde(default)]
    pub engine: SimEngine,
    /// The reference engine's tick, which bounds both the cost and the time resolution of its runs. The exact
    /// engine has no tick and ignores it.
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
    #[serde(default = "default_min_latency_ms")]
    pub min_latency_ms: u64,
    #[serde(default = "default_max_latency_ms")]
    pub max_latency_ms: u64,
}

/// The engines a scenario can run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimEngine {
    /// Event-driven: time jumps to the next timer or delivery when every host is idle.
    #[default]
    Exact,
    /// turmoil 0.7, stepped by `tick_ms`: kept as the reference the exact engine is checked against.
    Turmoil,
}

fn default_tick_ms() -> u64 {
    100
}
fn default_min_latency_ms() -> u64 {
    1
}
fn default_max_latency_ms() -> u64 {
    10
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            engine: SimEngine::default(),
            tick_ms: default_tick_ms(),
            min_latency_ms: default_min_latency_ms(),
            max_latency_ms: default_max_latency_ms(),
        }
    }
}

/// The cluster: Vault voters as StatefulSet pods spread over Kubernetes nodes, with their data volumes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Vault's version decides whether a standby that cannot reach the active node answers 474 (>= 1.19).
    pub vault_version: String,
    pub voters: Spanned<usize>,
    /// Kubernetes nodes. When the run starts voter `vault-i` runs on `nodes[i % nodes.len()]`; a pod created
    /// later goes where the scheduler puts it (`sim/src/kube/scheduler.rs`): a Ready node with no other voter
    /// on it (vault-helm's required pod anti-affinity on the hostname). The seed's cluster has four nodes, so
    /// one is free for a replacement pod.
    pub nodes: Vec<String>,
    /// vault-helm's PodDisruptionBudget: at most this many voters may be unavailable for the eviction API to
    /// take another one (`maxUnavailable`, 1 in the chart).
    #[serde(default = "default_pdb_max_unavailable")]
    pub pdb_max_unavailable: u64,
    pub storage: Storage,
    #[serde(default = "default_nfs_version")]
    pub nfs_version: String,
    /// Raft timing scale, as Vault's `performance_multiplier` (Vault's own default is 5).
    #[serde(default = "default_performance_multiplier")]
    pub performance_multiplier: u64,
    /// The pod's `terminationGracePeriodSeconds`, in ms. vault-helm's default is 10 s.
    #[serde(default = "default_termination_grace_period_ms")]
    pub termination_grace_period_ms: u64,
    /// Which voter wins the first election: a pod name, or "random" to draw it from the seed.
    #[serde(default = "default_leader")]
    pub leader: Spanned<String>,
    /// How often the active node takes a write (client requests and audit log), each one fsynced.
    #[serde(default = "default_write_interval_ms")]
    pub write_interval_ms: u64,
    /// Delay from process start to unsealed, as with auto-unseal.
    #[serde(default = "default_unseal_ms")]
    pub unseal_ms: u64,
    /// Nodes whose VM config names a boot disk that is not the OS disk (`bootdisk: scsi0` while the OS is on
    /// scsi1): hidden until the next cold boot, which then tries iPXE and fails.
    #[serde(default)]
    pub stale_bootdisk_nodes: Vec<String>,
    /// From a guest reboot to the node being Ready; the CSI driver registers some seconds later.
    #[serde(default = "default_node_boot_ms")]
    pub node_boot_ms: u64,
    #[serde(default = "default_csi_register_ms")]
    pub csi_register_ms: u64,
    /// Files on each data volume, which the kubelet's fsGroup walk visits one by one. The default, an empty
    /// volume, keeps the walk out of drills that do not study it.
    #[serde(default)]
    pub volume_file_count: u64,
    /// What the walk costs per file, in microseconds: a GETATTR and SETATTR round trip on NFS (slow with
    /// `retrans=3,timeo=30`), far less on block storage.
    #[serde(default = "default_chown_per_file_us")]
    pub chown_per_file_us: u64,
    /// A hypothesis about the NFS volumes: their metadata calls (lstat, readdir) fail now and then, at random with
    /// this mean interval: EIO from a `soft` mount whose RPC outlasted `timeo` × `retrans`, or ESTALE after the
    /// server re-exported. Each failure ends the kubelet's fsGroup walk with an error, and after the operation's
    /// back-off the walk starts over from the first file. This is the condition under which a real pod loops in
    /// its chown walk: the kubelet has no deadline that restarts a walk that is merely long (DOMAIN.md §8).
    /// Absent, the walk never fails (a hard mount retries until the server answers).
    #[serde(default)]
    pub walk_error_mean_interval_ms: Option<u64>,
    /// The StatefulSet's `securityContext.fsGroupChangePolicy` when the run starts.
    #[serde(default)]
    pub fs_group_change_policy: FsGroupChangePolicy,
    /// The kubelet's `podAttachAndMountTimeout` (2m3s in `WaitForAttachAndMount`): when a pod's volumes are not
    /// set up by then, the pod sync reports a FailedMount event and retries, while the mount operation, the
    /// fsGroup walk included, goes on. It is a retry point, not a deadline: the walk restarts only when it fails.
    #[serde(default = "default_pod_attach_and_mount_timeout_ms")]
    pub pod_attach_and_mount_timeout_ms: u64,
    /// The storage the StatefulSet's volumeClaimTemplate now names, when it differs from `storage`: a migration
    /// in progress. Claims that exist keep their storage; only a claim created anew gets this one.
    #[serde(default)]
    pub claim_template_storage: Option<Storage>,
    /// Seed 003's race (kubernetes#74374, #89910): the StatefulSet controller recreates a deleted pod before
    /// the pvc-protection controller releases its deleted claim. The scheduler then rejects the pod
    /// ("persistentvolumeclaim … is being deleted") and it waits Pending until the claim is gone and the
    /// controller creates it anew from the template; it never runs on the old claim. `false`: the claim goes
    /// first, and the pod is created with its new claim.
    #[serde(default = "yes")]
    pub statefulset_wins_pvc_race: bool,
}

/// The pod's `securityContext.fsGroupChangePolicy`, spelled as in Kubernetes.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum FsGroupChangePolicy {
    /// What an unset policy means, and vault-helm's default: the kubelet chowns every file of the volume at every
    /// mount.
    #[default]
    Always,
    /// The kubelet skips the walk when the volume root's owner and mode already match, as they do after the
    /// volume's first setup.
    OnRootMismatch,
}

impl FsGroupChangePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            FsGroupChangePolicy::Always => "Always",
            FsGroupChangePolicy::OnRootMismatch => "OnRootMismatch",
        }
    }
}

fn default_chown_per_file_us() -> u64 {
    100
}
fn default_pod_attach_and_mount_timeout_ms() -> u64 {
    123_000
}
fn default_pdb_max_unavailable() -> u64 {
    1
}

fn default_node_boot_ms() -> u64 {
    60_000
}
fn default_csi_register_ms() -> u64 {
    15_000
}

fn default_nfs_version() -> String {
    "4.2".to_string()
}
fn default_performance_multiplier() -> u64 {
    5
}
fn default_termination_grace_period_ms() -> u64 {
    10_000
}
fn default_leader() -> Spanned<String> {
    Spanned::new(0..0, "random".to_string())
}
fn default_write_interval_ms() -> u64 {
    5_000
}
fn default_unseal_ms() -> u64 {
    5_000
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// A hard NFS mount: I/O to a hung server blocks forever, in D state.
    Nfs,
    /// Local block storage with real fsync semantics; it never hangs.
    Block,
}

/// Contested beliefs about how the real systems behave. Each is a switch, so a drill can show what each belief
/// implies (DOMAIN.md). The defaults are the beliefs written in the incident's runbook.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hypotheses {
    /// Runbook: `umount -l` lets the kernel release NFS session state, so blocked tasks leave D state.
    /// umount(8): it only detaches the mount; D-state tasks stay until the server answers or the node reboots.
    #[serde(default = "yes")]
    pub lazy_umount_releases_d_state: bool,
    /// Incident observation: force-deleting a pod whose NFS mount is hung corrupts the node's NFSv4.2 client,
    /// so later v4.2 mounts on that node hang until a reboot (v4.1 still works).
    #[serde(default = "yes")]
    pub force_delete_corrupts_nfs_client: bool,
    /// Incident belief: `qm reset` can be a no-op (same QEMU PID, no reboot). Upstream (qemu-server `vm_reset`,
    /// QMP `system_reset`): it reboots the guest inside the same QEMU process, so the PID never changes.
    #[serde(default = "yes")]
    pub qm_reset_is_noop: bool,
    /// Incident (health 503 at once, standbys erroring at once): the first write stuck on the disk holds Vault's
    /// core state lock, so `/v1/sys/health`, `vault status` and the standbys' echo hang with it. OpenBao 2.7.2
    /// measured (DOMAIN.md §9): only the write path hangs; health kept answering 200 until the active node's
    /// periodic core task took the barrier's write lock and blocked, 5 minutes after the node became active.
    #[serde(default = "yes")]
    pub hung_write_holds_core_lock: bool,
    /// hashicorp/raft#683 (a fix PR, not merged in the versions Vault ships): a leader whose log write stalls past
    /// its lease steps down. Upstream today (#503): the heartbeats go on and it keeps leading. The runbook
    /// believes the latter ("raft thinks the leader is alive").
    #[serde(default)]
    pub disk_stalled_leader_steps_down: bool,
}

fn yes() -> bool {
    true
}

impl Default for Hypotheses {
    fn default() -> Self {
        Self {
            lazy_umount_releases_d_state: true,
            force_delete_corrupts_nfs_client: true,
            qm_reset_is_noop: true,
            hung_write_holds_core_lock: true,
            disk_stalled_leader_steps_down: false,
        }
    }
}

/// One fault with its timing.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// A pod name (`vault-2`), or `leader` for whichever voter leads when the fault starts.
    pub target: Spanned<String>,
    /// Onset, from the start of the run.
    pub at_ms: MillisSpec,
    /// Time from onset to heal; absent means the fault never heals during the run.
    #[serde(default)]
    pub heal_after_ms: Option<MillisSpec>,
    /// For `slow_fsync`: how long each fsync takes while the fault holds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The NFS server stops answering the target's data-volume session: its next fsync blocks in D state.
    NfsHang,
    /// Every fsync of the target's volume takes `latency_ms`: slow, but answering.
    SlowFsync,
    /// The target's node already has a corrupted NFSv4.2 client (someone force-deleted before reading the
    /// runbook, seed 000 §3): new v4.2 mounts there hang until the node reboots.
    NfsClientCorrupted,
}

/// How the drill watches the cluster, as Prometheus or a CronJob would.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Probes {
    pub vault_health: VaultHealthProbe,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VaultHealthProbe {
    pub interval_ms: u64,
    /// The deadline for the first response byte; a node that accepted the connection but sent nothing is stuck.
    pub timeout_ms: u64,
    /// Consecutive stuck rounds before `VaultRaftLeaderStuck` fires, like a Prometheus rule's `for:`.
    #[serde(default = "default_alert_after_rounds")]
    pub alert_after_rounds: u32,
}

fn default_alert_after_rounds() -> u32 {
    2
}

/// The recovery to run when the stuck-leader alert fires.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// A runbook of the catalog (`vault-safe-restart`), a path to a runbook file, or `none` to watch only.
    pub runbook: Spanned<String>,
    /// Start the runbook at this time, for a planned change, instead of when the stuck-leader alert fires.
    #[serde(default)]
    pub start_at_ms: Option<u64>,
}

/// What the trace must show. Each expectation is judged by its own checker.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The stuck-leader alert fires within this long of the fault's onset.
    #[serde(default)]
    pub detected_within_ms: Option<u64>,
    /// External health is 200 again, and stays so, within this long of the fault's onset.
    #[serde(default)]
    pub recovered_within_ms: Option<u64>,
    /// The stuck-leader alert never fires (a control).
    #[serde(default)]
    pub no_stuck_alert: bool,
    /// The runbook takes no destructive action (a control).
    #[serde(default)]
    pub no_destructive_action: bool,
    /// This many voters are ready when the run ends.
    #[serde(default)]
    pub voters_ready_at_end: Option<usize>,
    /// Recovery may be declared only after external health held 200 this long (DOMAIN.md §7.4).
    #[serde(default = "default_sustained_health_ms")]
    pub sustained_health_ms: u64,
    /// Once every fault has healed, health is 200 within this long and stays so (liveness).
    #[serde(default = "default_liveness_budget_ms")]
    pub liveness_budget_ms: u64,
    /// How the runbook may finish when it runs; any other outcome fails liveness. A control whose runbook
    /// should decline to act lists `not_confirmed`.
    #[serde(default = "default_runbook_outcomes")]
    pub runbook_outcomes: Vec<crate::trace::RunbookOutcome>,
    /// Safety rules that this scenario cannot exercise, each with the reason. `firedrill check` fails a rule
    /// that no seed exercised unless it is listed here; a listed rule is still judged, and still fails.
    #[serde(default)]
    pub not_applicable: std::collections::BTreeMap<Spanned<String>, String>,
}

fn default_runbook_outcomes() -> Vec<crate::trace::RunbookOutcome> {
    vec![crate::trace::RunbookOutcome::Recovered]
}

fn default_sustained_health_ms() -> u64 {
    900_000
}
fn default_liveness_budget_ms() -> u64 {
    300_000
}

impl Scenario {
    /// Parses and validates a scenario file's text; `path` is only used to locate errors.
    pub fn parse(path: &Path, source: &str) -> Result<Scenario, ParseError> {
        let mut scenario: Scenario =
            toml::from_str(source).map_err(|error| ParseError::from_toml(path, source, &error))?;
        crate::limits::check(path, source, crate::limits::VAULT_SCENARIO)?;
        scenario.validate(path, source)?;
        scenario.runbook =
            crate::catalog::resolve_runbook(path, source, &scenario.recovery.runbook)?;
        Ok(scenario)
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ParseError> {
        let source = crate::parse_error::read_source(path)?;
        Self::parse(path, &source)
    }

    /// Pod names of the voters, `vault-0` upward.
    pub fn voter_names(&self) -> Vec<String> {
        (0..*self.topology.voters.get_ref())
            .map(|i| format!("vault-{i}"))
            .collect()
    }

    fn validate(&self, path: &Path, source: &str) -> Result<(), ParseError> {
        let fail =
            |offset: usize, message: String| ParseError::at_offset(path, source, offset, message);
        let voters = *self.topology.voters.get_ref();
        if !(1..=7).contains(&voters) {
            return Err(fail(
                self.topology.voters.span().start,
                format!("expected between 1 and 7 voters, found {voters}"),
            ));
        }
        let at = |key: &str| crate::limits::offset_of(source, key).unwrap_or(0);
        if self.topology.nodes.is_empty() {
            return Err(fail(
                at("topology.nodes"),
                "expected at least one node in topology.nodes".into(),
            ));
        }
        let names = self.voter_names();
        let leader = &self.topology.leader;
        if leader.get_ref() != "random" && !names.contains(leader.get_ref()) {
            return Err(fail(
                leader.span().start,
                format!(
                    "expected \"random\" or one of {}, found \"{}\"",
                    names.join(", "),
                    leader.get_ref()
                ),
            ));
        }
        for fault in &self.faults {
            let target = fault.target.get_ref();
            if target != "leader" && !names.contains(target) {
                return Err(fail(
                    fault.target.span().start,
                    format!(
                        "expected \"leader\" or one of {}, found \"{}\"",
                        names.join(", "),
                        target
                    ),
                ));
            }
            if fault.kind == FaultKind::SlowFsync && fault.latency_ms.is_none() {
                return Err(fail(
                    fault.target.span().start,
                    "expected latency_ms for a slow_fsync fault".into(),
                ));
            }
        }
        for node in &self.topology.stale_bootdisk_nodes {
            if !self.topology.nodes.contains(node) {
                return Err(fail(at("topology.stale_bootdisk_nodes"), format!("expected stale_bootdisk_nodes to name nodes of topology.nodes, found \"{node}\"")));
            }
        }
        for rule in self.expect.not_applicable.keys() {
            if !crate::checkers::SAFETY_RULES.contains(&rule.get_ref().as_str()) {
                return Err(fail(
                    rule.span().start,
                    format!(
                        "expected a safety rule ({}), found \"{}\"",
                        crate::checkers::SAFETY_RULES.join(", "),
                        rule.get_ref()
                    ),
                ));
            }
        }
        if self.expect.runbook_outcomes.is_empty() {
            return Err(fail(
                0,
                "expected at least one outcome in expect.runbook_outcomes".into(),
            ));
        }
        if self.sim.tick_ms == 0 || self.sim.min_latency_ms > self.sim.max_latency_ms {
            return Err(fail(
                at("sim"),
                "expected sim.tick_ms > 0 and sim.min_latency_ms <= sim.max_latency_ms".into(),
            ));
        }
        crate::limits::check_vault_ratios(path, source, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "x"
description = "d"
duration_ms = 60000

[topology]
vault_version = "1.15.6"
voters = 3
nodes = ["n1"]
storage = "nfs"

[probes.vault_health]
interval_ms = 15000
timeout_ms = 3000

[recovery]
runbook = "none"

[expect]
"#;

    #[test]
    fn minimal_scenario_parses() {
        let scenario = Scenario::parse(Path::new("x.toml"), MINIMAL).unwrap();
        assert_eq!(scenario.voter_names(), ["vault-0", "vault-1", "vault-2"]);
        assert_eq!(scenario.topology.termination_grace_period_ms, 10_000);
    }

    #[test]
    fn wrong_type_is_located() {
        let text = MINIMAL.replace("voters = 3", "voters = \"three\"");
        let error = Scenario::parse(Path::new("x.toml"), &text).unwrap_err();
        assert_eq!((error.line, error.column), (8, 10), "{error}");
        assert!(error.to_string().starts_with("x.toml:8:10: "), "{error}");
    }

    #[test]
    fn unknown_fault_target_is_located() {
        let text = format!(
            "{MINIMAL}\n[[faults]]\nkind = \"nfs_hang\"\ntarget = \"vault-9\"\nat_ms = 1000\n"
        );
        let error = Scenario::parse(Path::new("x.toml"), &text).unwrap_err();
        assert!(error.message.contains("vault-9"), "{error}");
        assert_eq!(error.column, 10, "{error}");
    }

    #[test]
    fn inverted_range_is_rejected() {
        let text = format!(
            "{MINIMAL}\n[[faults]]\nkind = \"nfs_hang\"\ntarget = \"leader\"\nat_ms = {{ min = 5, max = 1 }}\n"
        );
        let error = Scenario::parse(Path::new("x.toml"), &text).unwrap_err();
        assert!(error.message.contains("min <= max"), "{error}");
    }
}
