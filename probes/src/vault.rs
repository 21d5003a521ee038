//! The Vault probe: health per node from `/v1/sys/health`, and stuck-node classification.

use crate::endpoint::Endpoint;
use crate::http::{get_once, Exchange};
use crate::transport::Connect;
use serde::Serialize;
use std::time::Duration;

/// The health path. No query parameters, so Vault answers with its default codes (DOMAIN.md §1).
pub const HEALTH_PATH: &str = "/v1/sys/health";

/// Health bodies are small; anything larger is a hostile or confused server.
const HEALTH_BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What one node is, as seen from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Active,
    Standby,
    PerfStandby,
    DrSecondary,
    /// 474: a standby that cannot reach the active node (Vault >= 1.19).
    StandbyNoActive,
    Uninitialized,
    Sealed,
    Removed,
    /// Accepted the connection, then said nothing before the deadline.
    Stuck,
    /// Refused the connection, or did not accept it before the deadline.
    Unreachable,
    /// Anything else: an unknown status, a broken or partial response.
    Error,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Active => "active",
            NodeState::Standby => "standby",
            NodeState::PerfStandby => "perf_standby",
            NodeState::DrSecondary => "dr_secondary",
            NodeState::StandbyNoActive => "standby_no_active",
            NodeState::Uninitialized => "uninitialized",
            NodeState::Sealed => "sealed",
            NodeState::Removed => "removed",
            NodeState::Stuck => "stuck",
            NodeState::Unreachable => "unreachable",
            NodeState::Error => "error",
        }
    }

    /// Vault's documented status codes for `/v1/sys/health`.
    pub fn from_status(status: u16) -> NodeState {
        match status {
            200 => NodeState::Active,
            429 => NodeState::Standby,
            472 => NodeState::DrSecondary,
            473 => NodeState::PerfStandby,
            474 => NodeState::StandbyNoActive,
            501 => NodeState::Uninitialized,
            503 => NodeState::Sealed,
            530 => NodeState::Removed,
            _ => NodeState::Error,
        }
    }
}

/// One node's classification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointHealth {
    pub endpoint: String,
    pub state: NodeState,
    pub http_status: Option<u16>,
    pub latency_ms: u64,
    /// Why the node got its state, for humans.
    pub detail: String,
}

/// Classifies what one exchange showed.
pub fn classify(exchange: &Exchange) -> (NodeState, Option<u16>, String) {
    match exchange {
        Exchange::Answered { status, .. } => (
            NodeState::from_status(*status),
            Some(*status),
            format!("HTTP {status}"),
        ),
        Exchange::Refused(why) => (
            NodeState::Unreachable,
            None,
            format!("connect failed: {why}"),
        ),
        Exchange::ConnectTimeout => (NodeState::Unreachable, None, "connect timed out".into()),
        Exchange::Silent => (
            NodeState::Stuck,
            None,
            "connected, but no byte before the deadline".into(),
        ),
        Exchange::HandshakeSilent => (
            NodeState::Stuck,
            None,
            "TCP accepted, but no TLS handshake before the deadline".into(),
        ),
        Exchange::Incomplete { received_bytes } => (
            NodeState::Error,
            None,
            format!("answering, but only {received_bytes} bytes before the deadline"),
        ),
        Exchange::Failed(why) => (NodeState::Error, None, why.clone()),
    }
}

/// Probes one node.
pub async fn probe_node<C: Connect>(
    connector: &C,
    endpoint: &Endpoint,
    timeout: Duration,
) -> EndpointHealth {
    let (exchange, latency_ms) = get_once(
        connector,
        endpoint,
        HEALTH_PATH,
        timeout,
        HEALTH_BODY_LIMIT_BYTES,
    )
    .await;
    let (state, http_status, detail) = classify(&exchange);
    EndpointHealth {
        endpoint: endpoint.to_string(),
        state,
        http_status,
        latency_ms,
        detail,
    }
}

/// Probes every node concurrently, so the whole call takes about one timeout, not one per node.
pub async fn probe_all<C: Connect>(
    connector: &C,
    endpoints: &[Endpoint],
    timeout: Duration,
) -> Vec<EndpointHealth> {
    let probes = endpoints
        .iter()
        .map(|endpoint| probe_node(connector, endpoint, timeout));
    join_all(probes).await
}

/// Whether a cluster is healthy: exactly one active node and every other a standby or performance standby.
pub fn cluster_healthy(results: &[EndpointHealth]) -> bool {
    let active = results
        .iter()
        .filter(|r| r.state == NodeState::Active)
        .count();
    let others_ok = results.iter().all(|r| {
        matches!(
            r.state,
            NodeState::Active | NodeState::Standby | NodeState::PerfStandby
        )
    });
    active == 1 && others_ok
}

/// Polls futures together in the calling task, so neither `Send` nor a spawner is needed.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (future, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|output| output.expect("every future completed"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(state: NodeState) -> EndpointHealth {
        EndpointHealth {
            endpoint: String::new(),
            state,
            http_status: None,
            latency_ms: 0,
            detail: String::new(),
        }
    }

    #[test]
    fn status_codes_map_to_states() {
        let cases = [
            (200, "active"),
            (429, "standby"),
            (472, "dr_secondary"),
            (473, "perf_standby"),
            (474, "standby_no_active"),
            (501, "uninitialized"),
            (503, "sealed"),
            (530, "removed"),
            (500, "error"),
        ];
        for (status, state) in cases {
            assert_eq!(NodeState::from_status(status).as_str(), state, "{status}");
        }
    }

    #[test]
    fn silence_is_stuck_but_slowness_is_not() {
        assert_eq!(classify(&Exchange::Silent).0, NodeState::Stuck);
        assert_eq!(
            classify(&Exchange::Incomplete { received_bytes: 3 }).0,
            NodeState::Error
        );
        assert_eq!(
            classify(&Exchange::ConnectTimeout).0,
            NodeState::Unreachable
        );
    }

    #[test]
    fn healthy_cluster_needs_exactly_one_active() {
        use NodeState::*;
        assert!(cluster_healthy(&[
            health(Active),
            health(Standby),
            health(PerfStandby)
        ]));
        assert!(!cluster_healthy(&[
            health(Active),
            health(Active),
            health(Standby)
        ]));
        assert!(!cluster_healthy(&[health(Standby), health(Standby)]));
        assert!(!cluster_healthy(&[health(Active), health(Stuck)]));
    }
}
