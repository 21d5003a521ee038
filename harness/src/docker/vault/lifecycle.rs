//! Pods as containers: start a voter's incarnation and make it Ready (unsealed, as auto-unseal would), and the two
//! deletions. A graceful delete is the chart's preStop SIGTERM, the grace, then SIGKILL, and the replacement starts
//! only once the old container is gone (a StatefulSet waits for the old pod). A force delete removes the pod from
//! the API at once: the kubelet still kills the old container (DOMAIN.md §8), and the replacement starts whatever
//! the old one's state.

use super::api;
use super::cluster::{docker, Cluster};
use super::procfs;
use super::world::{PodView, SharedWorld};
use firedrill_scenarios::trace::{MountStatus, PodPhaseName, TaskState};
use firedrill_scenarios::EventKind;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::Mutex;

pub type SharedCluster = Rc<Mutex<Cluster>>;

/// Tracks a voter's current container as a pod, Running, and unseals it in the background.
pub fn track_current(world: &SharedWorld, cluster: &Cluster, index: usize) -> Option<String> {
    let voter = &cluster.voters[index];
    let incarnation = voter.current.as_ref()?;
    let view = PodView {
        pod: voter.name.clone(),
        node: voter.node.clone(),
        uid: incarnation.uid.clone(),
        container: incarnation.container.clone(),
        host_pid: incarnation.host_pid,
        phase: PodPhaseName::ContainerCreating,
        last_task_state: None,
        d_threads: Default::default(),
        mountpoint: voter.mountpoint(),
        mount_state: None,
    };
    let uid = view.uid.clone();
    let mut w = world.borrow_mut();
    w.endpoints
        .insert(voter.name.clone(), voter.endpoint.clone());
    w.pods.push(view);
    w.set_phase(&uid, PodPhaseName::Running);
    w.set_mount(&uid, MountStatus::Mounted);
    Some(uid)
}

/// Unseals a new incarnation until it answers as an unsealed voter, then marks it Ready. Bounded.
pub async fn unseal_until_ready(
    world: SharedWorld,
    cluster: SharedCluster,
    pod: String,
    uid: String,
) {
    let (endpoint, key) = {
        let cluster = cluster.lock().await;
        let Some(index) = cluster.index_of(&pod) else {
            return;
        };
        (
            cluster.voters[index].endpoint.clone(),
            cluster.unseal_key.clone(),
        )
    };
    for _ in 0..120 {
        let _ = api::unseal(&endpoint, &key).await;
        if matches!(
            api::health(&endpoint, Duration::from_secs(3)).await,
            Ok(200 | 429 | 473)
        ) {
            world.borrow_mut().set_phase(&uid, PodPhaseName::Ready);
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Waits until a container's process is gone, polling `/proc` (never blocking on the process). Returns false if
/// it is still there after `within` (a task stuck in D keeps it).
pub async fn wait_gone(host_pid: u32, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if procfs::task_state(host_pid) == TaskState::Exited {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

/// Starts a replacement container for `pod` and tracks it.
pub async fn replace(
    world: &SharedWorld,
    cluster: &SharedCluster,
    pod: &str,
) -> Result<String, String> {
    let uid = {
        let mut guard = cluster.lock().await;
        let index = guard
            .index_of(pod)
            .ok_or_else(|| format!("no voter {pod}"))?;
        guard.start_incarnation(index).await?;
        track_current(world, &guard, index).ok_or("the new container has no process")?
    };
    tokio::task::spawn_local(unseal_until_ready(
        world.clone(),
        cluster.clone(),
        pod.to_string(),
        uid.clone(),
    ));
    Ok(uid)
}

/// `kubectl delete pod`: records the deletion, SIGTERM, the grace, SIGKILL, and the replacement once the old
/// container's process is gone. Returns at once; the rest happens in the background, as in a cluster.
pub async fn delete_gracefully(
    world: &SharedWorld,
    cluster: &SharedCluster,
    pod: &str,
    grace_ms: u64,
    run_limit: Duration,
) -> Result<(), String> {
    let view = world
        .borrow()
        .current_pod(pod)
        .cloned()
        .ok_or_else(|| format!("pod {pod} not found"))?;
    {
        let mut w = world.borrow_mut();
        w.record(EventKind::PodDeletionRequested {
            pod: pod.to_string(),
            uid: view.uid.clone(),
            node: view.node.clone(),
            grace_period_ms: grace_ms,
            force: false,
        });
        w.set_phase(&view.uid, PodPhaseName::Terminating);
    }
    docker(&["kill", "--signal", "SIGTERM", &view.container]).await?;
    let world = world.clone();
    let cluster = cluster.clone();
    let pod = pod.to_string();
    tokio::task::spawn_local(async move {
        if !wait_gone(view.host_pid, Duration::from_millis(grace_ms)).await {
            let _ = docker(&["kill", "--signal", "SIGKILL", &view.container]).await;
        }
        // The StatefulSet creates the replacement only when the old pod is gone; a task in D can keep it forever.
        if wait_gone(view.host_pid, run_limit).await {
            // A force delete meanwhile already removed this incarnation and started its one replacement.
            let still_current = world
                .borrow()
                .current_pod(&pod)
                .is_some_and(|current| current.uid == view.uid);
            if still_current {
                world
                    .borrow_mut()
                    .set_phase(&view.uid, PodPhaseName::Deleted);
                let _ = replace(&world, &cluster, &pod).await;
            }
        }
    });
    Ok(())
}

/// `kubectl delete pod --force --grace-period=0`: the pod leaves the API at once, the old container gets SIGKILL,
/// and the replacement starts now, on the same storage.
pub async fn delete_forcefully(
    world: &SharedWorld,
    cluster: &SharedCluster,
    pod: &str,
) -> Result<(), String> {
    let view = world
        .borrow()
        .current_pod(pod)
        .cloned()
        .ok_or_else(|| format!("pod {pod} not found"))?;
    {
        let mut w = world.borrow_mut();
        w.record(EventKind::PodDeletionRequested {
            pod: pod.to_string(),
            uid: view.uid.clone(),
            node: view.node.clone(),
            grace_period_ms: 0,
            force: true,
        });
        w.set_phase(&view.uid, PodPhaseName::Deleted);
    }
    // A container whose process cannot die is not waited for: kill may block in Docker, so it runs apart.
    let container = view.container.clone();
    tokio::task::spawn_local(async move {
        let _ = docker(&["kill", "--signal", "SIGKILL", &container]).await;
    });
    replace(world, cluster, pod).await.map(|_| ())
}
