//! The write-path canary: one small write through the active node, with a deadline. On a real write hang the
//! stuck leader keeps answering `/v1/sys/health` with 200 for minutes (DOMAIN.md §9), so health alone never sees
//! it; a write that does not complete does.
//!
//! The write goes to `cubbyhole/`, which every token has, is always mounted, and is stored through raft like any
//! secret, so the canary needs no setup and no policy beyond the default one.

use crate::endpoint::Endpoint;
use crate::http::HttpConnection;
use crate::transport::Connect;
use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;
use std::time::Duration;

/// Where the canary writes: the token's own cubbyhole.
pub const CANARY_PATH: &str = "/v1/cubbyhole/firedrill-canary";
/// Answers to a write are tiny.
const WRITE_BODY_LIMIT_BYTES: usize = 64 * 1024;

/// What one canary write showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum WriteOutcome {
    /// The write completed (2xx).
    Written { http_status: u16 },
    /// The node answered the write with an error: not a hang (a bad token, a sealed node, a standby with no
    /// active node).
    Refused { http_status: u16, detail: String },
    /// The request was sent and no answer came before the deadline: the write path is stuck.
    Hung,
    /// No connection: the node is down, not stuck.
    Unreachable { detail: String },
}

impl WriteOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            WriteOutcome::Written { .. } => "written",
            WriteOutcome::Refused { .. } => "refused",
            WriteOutcome::Hung => "hung",
            WriteOutcome::Unreachable { .. } => "unreachable",
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            WriteOutcome::Written { http_status } | WriteOutcome::Refused { http_status, .. } => {
                Some(*http_status)
            }
            _ => None,
        }
    }
}

/// Writes `value` to the canary path through `endpoint`, giving up at `deadline` (connection included).
/// Returns the outcome and the time it took.
pub async fn write_canary<C: Connect>(
    connector: &C,
    endpoint: &Endpoint,
    token: &str,
    value: &str,
    deadline: Duration,
) -> (WriteOutcome, u64) {
    let started = tokio::time::Instant::now();
    let tcp_connected = std::cell::Cell::new(false);
    let attempt = async {
        let mut connection =
            match HttpConnection::open_observed(connector, endpoint, &tcp_connected).await {
                Ok(connection) => connection,
                Err(error) => {
                    return WriteOutcome::Unreachable {
                        detail: error.to_string(),
                    }
                }
            };
        let Ok(token) = HeaderValue::from_str(token) else {
            return WriteOutcome::Refused {
                http_status: 0,
                detail: "the token holds characters a header cannot carry".into(),
            };
        };
        let headers = [
            (HeaderName::from_static("x-vault-token"), token),
            (
                HeaderName::from_static("content-type"),
                HeaderValue::from_static("application/json"),
            ),
        ];
        let body = serde_json::json!({ "value": value }).to_string();
        match connection
            .send_with_body(
                Method::PUT,
                CANARY_PATH,
                &headers,
                body.into(),
                WRITE_BODY_LIMIT_BYTES,
            )
            .await
        {
            Ok(response) if (200..300).contains(&response.status) => WriteOutcome::Written {
                http_status: response.status,
            },
            Ok(response) => WriteOutcome::Refused {
                http_status: response.status,
                detail: String::from_utf8_lossy(&response.body)
                    .chars()
                    .take(200)
                    .collect(),
            },
            Err(error) => WriteOutcome::Unreachable {
                detail: error.to_string(),
            },
        }
    };
    let outcome = match tokio::time::timeout(deadline, attempt).await {
        Ok(outcome) => outcome,
        // Only a node that accepted the connection can be stuck; one that never did is unreachable.
        Err(_) if tcp_connected.get() => WriteOutcome::Hung,
        Err(_) => WriteOutcome::Unreachable {
            detail: "connect timed out".into(),
        },
    };
    (outcome, started.elapsed().as_millis() as u64)
}
