//! Three OpenBao voters in containers on a network of their own, each with its raft directory on a hang
//! filesystem mounted on the host and bound in. Containers and the network carry the run's label, so whatever a
//! killed run left can be found and removed ([`sweep_leftovers`]).

use super::api;
use super::hang_mount::{fuse_available, hangfs_binary, HangMount};
use firedrill_probes::Endpoint;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::Command;

/// The label every container and network of a drill carries; its value is the run's id.
pub const RUN_LABEL: &str = "firedrill.vault-run";
/// The label holding the PID of the process that owns the run, so a sweep removes only dead runs' leftovers.
pub const OWNER_LABEL: &str = "firedrill.owner-pid";
/// The image `ci/openbao-image.sh` builds.
pub const DEFAULT_IMAGE: &str = "firedrill/openbao:2.7.2";
pub const IMAGE_ENV: &str = "FIREDRILL_OPENBAO_IMAGE";
/// A docker CLI call that takes longer than this is a Docker in trouble, reported as such.
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

/// One incarnation of a voter: a container on the voter's storage.
pub struct Incarnation {
    pub container: String,
    /// A short id the trace uses as the pod's uid.
    pub uid: String,
    pub host_pid: u32,
}

pub struct Voter {
    pub name: String,
    pub node: String,
    pub endpoint: Endpoint,
    pub current: Option<Incarnation>,
    /// The current incarnation's mount of the voter's storage.
    pub mount: Option<HangMount>,
    /// Earlier incarnations' mounts, kept until the teardown: a task of an old container may still wait in one.
    pub retired_mounts: Vec<HangMount>,
    data_dir: PathBuf,
    pub incarnations: u32,
}

impl Voter {
    /// Where the current incarnation's storage is mounted on the host.
    pub fn mountpoint(&self) -> PathBuf {
        self.mount
            .as_ref()
            .map(|mount| mount.mountpoint.clone())
            .unwrap_or_else(|| self.data_dir.join("raft-1"))
    }

    /// Every mount of this voter's storage, the current one first.
    pub fn mounts_mut(&mut self) -> impl Iterator<Item = &mut HangMount> {
        self.mount.iter_mut().chain(self.retired_mounts.iter_mut())
    }
}

pub struct Cluster {
    pub run_id: String,
    pub network: String,
    pub image: String,
    pub voters: Vec<Voter>,
    pub unseal_key: String,
    pub root_token: String,
    /// What `bao version` printed, e.g. `OpenBao v2.7.2 (9e0a0d3c…)`.
    pub version: String,
    hangfs: PathBuf,
    work_dir: Option<tempfile::TempDir>,
}

/// Runs the docker CLI with a deadline and returns its stdout.
pub async fn docker(args: &[&str]) -> Result<String, String> {
    let output = tokio::time::timeout(
        DOCKER_TIMEOUT,
        Command::new("docker")
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| format!("docker {} did not finish within 60 s", args.join(" ")))?
    .map_err(|error| format!("cannot run docker: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(format!(
            "docker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn config(name: &str, voters: &[String]) -> String {
    let joins: String = voters
        .iter()
        .filter(|other| other.as_str() != name)
        .map(|other| {
            format!("  retry_join {{\n    leader_api_addr = \"http://{other}:8200\"\n  }}\n")
        })
        .collect();
    format!(
        "ui = false\ndisable_mlock = true\napi_addr = \"http://{name}:8200\"\ncluster_addr = \"http://{name}:8201\"\n\
         listener \"tcp\" {{\n  address = \"0.0.0.0:8200\"\n  cluster_address = \"0.0.0.0:8201\"\n  tls_disable = true\n}}\n\
         storage \"raft\" {{\n  path = \"/vault/data\"\n  node_id = \"{name}\"\n{joins}}}\n"
    )
}

impl Cluster {
    /// Checks that the tier can run at all: Docker, FUSE, the image and the hang filesystem binary.
    pub async fn preflight() -> Result<(String, PathBuf), String> {
        docker(&["info", "--format", "{{.ServerVersion}}"])
            .await
            .map_err(|error| format!("Docker is not reachable: {error}"))?;
        fuse_available()?;
        let image = std::env::var(IMAGE_ENV).unwrap_or_else(|_| DEFAULT_IMAGE.to_string());
        docker(&["image", "inspect", "--format", "{{.Id}}", &image])
            .await
            .map_err(|_| {
                format!("the image {image} is missing; build it with ci/openbao-image.sh")
            })?;
        Ok((image, hangfs_binary()?))
    }

    /// Creates the network and the voters' storage, and starts every voter. `first` is initialised first and so
    /// becomes the first leader.
    pub async fn start(voter_names: &[String], nodes: &[String]) -> Result<Cluster, String> {
        let (image, hangfs) = Self::preflight().await?;
        sweep_leftovers().await;
        let run_id = format!("{}-{}", std::process::id(), unique_suffix());
        let owner = std::process::id().to_string();
        let network = format!("firedrill-{run_id}");
        let work_dir = tempfile::Builder::new()
            .prefix("firedrill-vault-")
            .tempdir()
            .map_err(|error| format!("cannot create the work directory: {error}"))?;
        let mut cluster = Cluster {
            run_id,
            network,
            image,
            voters: Vec::new(),
            unseal_key: String::new(),
            root_token: String::new(),
            version: String::new(),
            hangfs: hangfs.clone(),
            work_dir: Some(work_dir),
        };
        // Whatever was created before a failure is removed before the error is returned.
        if let Err(error) = cluster.populate(voter_names, nodes, &owner).await {
            let problems = cluster.teardown().await;
            return Err(if problems.is_empty() {
                error
            } else {
                format!("{error}; and the teardown left: {}", problems.join("; "))
            });
        }
        Ok(cluster)
    }

    /// Creates the network, each voter's storage and hang mount, and starts every voter.
    async fn populate(
        &mut self,
        voter_names: &[String],
        nodes: &[String],
        owner: &str,
    ) -> Result<(), String> {
        let cluster = self;
        let run_id = cluster.run_id.clone();
        let network = cluster.network.clone();
        let image = cluster.image.clone();
        docker(&[
            "network",
            "create",
            "--label",
            &format!("{RUN_LABEL}={run_id}"),
            "--label",
            &format!("{OWNER_LABEL}={owner}"),
            &network,
        ])
        .await?;
        cluster.version = docker(&[
            "run",
            "--rm",
            "--label",
            &format!("{RUN_LABEL}={run_id}"),
            &image,
            "version",
        ])
        .await?
        .lines()
        .next()
        .unwrap_or_default()
        .split(", committed")
        .next()
        .unwrap_or_default()
        .to_string();
        let root = cluster
            .work_dir
            .as_ref()
            .expect("set above")
            .path()
            .to_path_buf();
        for (index, name) in voter_names.iter().enumerate() {
            let data_dir = root.join(name);
            for dir in ["backing", "config"] {
                std::fs::create_dir_all(data_dir.join(dir)).map_err(|error| error.to_string())?;
            }
            std::fs::write(
                data_dir.join("config/config.hcl"),
                config(name, voter_names),
            )
            .map_err(|error| error.to_string())?;
            cluster.voters.push(Voter {
                name: name.clone(),
                node: nodes.get(index).cloned().unwrap_or_else(|| name.clone()),
                endpoint: Endpoint::parse("http://127.0.0.1:1").expect("a placeholder parses"),
                current: None,
                mount: None,
                retired_mounts: Vec::new(),
                data_dir,
                incarnations: 0,
            });
        }
        for index in 0..cluster.voters.len() {
            cluster.start_incarnation(index).await?;
        }
        Ok(())
    }

    /// Starts a new container for a voter, on its storage, with the voter's name as its network alias. Each
    /// incarnation gets its own mount of the storage, at its own path, as the kubelet mounts a pod's volume under
    /// the pod's uid: an old container's task still waiting in its mount (or a mount already lazily or forcibly
    /// unmounted) never stands in the new one's way. The mount is a new FUSE session, like a new NFS mount once
    /// the hung session has ended.
    pub async fn start_incarnation(&mut self, index: usize) -> Result<(), String> {
        let hangfs = self.hangfs.clone();
        let voter = &mut self.voters[index];
        voter.incarnations += 1;
        let mountpoint = voter.data_dir.join(format!("raft-{}", voter.incarnations));
        std::fs::create_dir_all(&mountpoint).map_err(|error| error.to_string())?;
        let mount = HangMount::mount(&hangfs, &voter.data_dir.join("backing"), &mountpoint).await?;
        if let Some(old) = voter.mount.replace(mount) {
            voter.retired_mounts.push(old);
        }
        let container = format!(
            "firedrill-{}-{}-{}",
            self.run_id, voter.name, voter.incarnations
        );
        let data = format!("{}:/vault/data", voter.mountpoint().display());
        let config = format!(
            "{}:/vault/config:ro",
            voter.data_dir.join("config").display()
        );
        let id = docker(&[
            "run",
            "-d",
            "--name",
            &container,
            "--hostname",
            &voter.name,
            "--network",
            &self.network,
            "--network-alias",
            &voter.name,
            "--label",
            &format!("{RUN_LABEL}={}", self.run_id),
            "--label",
            &format!("{OWNER_LABEL}={}", std::process::id()),
            "-v",
            &data,
            "-v",
            &config,
            "-e",
            "SKIP_SETCAP=1",
            &self.image,
        ])
        .await?;
        let pid: u32 = docker(&["inspect", "--format", "{{.State.Pid}}", &id])
            .await?
            .parse()
            .map_err(|error| format!("container pid: {error}"))?;
        let ip = docker(&[
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &id,
        ])
        .await?;
        voter.endpoint =
            Endpoint::parse(&format!("http://{ip}:8200")).map_err(|error| error.to_string())?;
        voter.current = Some(Incarnation {
            container,
            uid: id.chars().take(12).collect(),
            host_pid: pid,
        });
        Ok(())
    }

    /// Waits until a voter answers health at all (any status), bounded.
    pub async fn wait_listening(&self, index: usize, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if api::health(&self.voters[index].endpoint, Duration::from_secs(1))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(format!(
            "{} did not listen within {} s",
            self.voters[index].name,
            within.as_secs()
        ))
    }

    /// Initialises `first`, unseals it, enables a KV mount for writes, then unseals the others (which join by
    /// `retry_join`) and waits until all are voters.
    pub async fn form(&mut self, first: usize, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        for index in 0..self.voters.len() {
            self.wait_listening(index, within).await?;
        }
        let (key, token) = api::init(&self.voters[first].endpoint).await?;
        self.unseal_key = key;
        self.root_token = token;
        api::unseal(&self.voters[first].endpoint, &self.unseal_key).await?;
        while api::health(&self.voters[first].endpoint, Duration::from_secs(2)).await != Ok(200) {
            if Instant::now() > deadline {
                return Err(format!("{} did not become active", self.voters[first].name));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let leader = self.voters[first].endpoint.clone();
        // Autopilot promotes a new server after it has been stable this long (10 s by default); one second is
        // enough for a drill and saves start-up time.
        let _ = api::call(
            &leader,
            http::Method::POST,
            "/v1/sys/storage/raft/autopilot/configuration",
            Some(&self.root_token),
            Some(serde_json::json!({"server_stabilization_time": "1s"})),
            Duration::from_secs(10),
        )
        .await;
        let (status, body) = api::call(
            &leader,
            http::Method::POST,
            "/v1/sys/mounts/secret",
            Some(&self.root_token),
            Some(serde_json::json!({"type": "kv", "options": {"version": "1"}})),
            Duration::from_secs(10),
        )
        .await?;
        if status >= 300 {
            return Err(format!("enabling the KV mount answered {status}: {body}"));
        }
        for index in (0..self.voters.len()).filter(|index| *index != first) {
            // A joining node takes the unseal key once it has fetched the keyring; retry until it says unsealed.
            loop {
                if let Ok((200, json)) =
                    api::unseal(&self.voters[index].endpoint, &self.unseal_key).await
                {
                    if json["sealed"] == serde_json::Value::Bool(false) {
                        break;
                    }
                }
                if Instant::now() > deadline {
                    return Err(format!("{} did not unseal", self.voters[index].name));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        loop {
            let peers = api::peers(&leader, &self.root_token, Duration::from_secs(5))
                .await
                .unwrap_or_default();
            if peers.len() == self.voters.len() && peers.iter().all(|(_, voter, _)| *voter) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the cluster did not reach {} voters: {peers:?}",
                    self.voters.len()
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.voters.iter().position(|voter| voter.name == name)
    }

    /// Removes everything: held calls released first (so no container is stuck in a FUSE wait), then the
    /// containers, the hang filesystems, the network and the work directory. Every step is bounded.
    pub async fn teardown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        for voter in &mut self.voters {
            for mount in voter.mounts_mut() {
                let _ = mount.command("release").await;
            }
        }
        if let Err(error) = remove_labelled(&self.run_id).await {
            problems.push(error);
        }
        for voter in &mut self.voters {
            let mounts: Vec<HangMount> = voter
                .mount
                .take()
                .into_iter()
                .chain(voter.retired_mounts.drain(..))
                .collect();
            for mount in mounts {
                if let Err(error) = mount.close().await {
                    problems.push(error);
                }
            }
        }
        if let Err(error) = docker(&["network", "rm", &self.network]).await {
            problems.push(error);
        }
        if let Some(dir) = self.work_dir.take() {
            if let Err(error) = dir.close() {
                problems.push(format!("removing the work directory: {error}"));
            }
        }
        problems
    }
}

/// Force-removes every container with this run's label. A container whose process cannot die (a task in D) is
/// reported after the docker timeout, never waited on forever.
async fn remove_labelled(run_id: &str) -> Result<(), String> {
    let ids = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label={RUN_LABEL}={run_id}"),
    ])
    .await?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut args = vec!["rm", "-f", "-v"];
    args.extend(ids);
    docker(&args).await.map(|_| ())
}

/// Removes containers and networks left by drills whose owning process is gone (a run killed with SIGKILL).
pub async fn sweep_leftovers() {
    let listing = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label={RUN_LABEL}"),
        "--format",
        &format!("{{{{.ID}}}} {{{{.Label \"{OWNER_LABEL}\"}}}} {{{{.Label \"{RUN_LABEL}\"}}}}"),
    ])
    .await
    .unwrap_or_default();
    for line in listing.lines() {
        let mut fields = line.split_whitespace();
        let (Some(id), Some(owner)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !owner_alive(owner) {
            let _ = docker(&["rm", "-f", "-v", id]).await;
        }
    }
    let networks = docker(&[
        "network",
        "ls",
        "--filter",
        &format!("label={RUN_LABEL}"),
        "--format",
        &format!("{{{{.Name}}}} {{{{.Label \"{OWNER_LABEL}\"}}}}"),
    ])
    .await
    .unwrap_or_default();
    for line in networks.lines() {
        let mut fields = line.split_whitespace();
        let (Some(name), Some(owner)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !owner_alive(owner) {
            let _ = docker(&["network", "rm", name]).await;
        }
    }
}

fn owner_alive(pid: &str) -> bool {
    pid.parse::<u32>()
        .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    format!("{nanos:08x}")
}
