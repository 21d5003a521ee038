//! The OpenBao HTTP API calls the drill makes: init, unseal, health, leader, raft configuration, writes. Every
//! call has a deadline, so a hung node is reported, never waited on forever.

use crate::docker::api::ApiClient;
use firedrill_probes::Endpoint;
use http::Method;
use serde_json::Value;
use std::time::Duration;

/// The answer to one call: a status and a JSON body, or why there was none.
pub type CallResult = Result<(u16, Value), String>;

/// One call, on a fresh connection so a call abandoned at its deadline leaves nothing behind.
pub async fn call(
    endpoint: &Endpoint,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    timeout: Duration,
) -> CallResult {
    let mut client = ApiClient::new(endpoint);
    let mut headers = vec![("content-type", "application/json")];
    if let Some(token) = token {
        headers.push(("x-vault-token", token));
    }
    let body = body
        .map(|body| body.to_string().into_bytes())
        .unwrap_or_default();
    match tokio::time::timeout(timeout, client.request(method, path, &headers, body)).await {
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        Ok(Err(error)) => Err(error.to_string()),
        Ok(Ok(response)) => {
            let json = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
            Ok((response.status, json))
        }
    }
}

/// `PUT sys/init` with one key share: returns (unseal key, root token).
pub async fn init(endpoint: &Endpoint) -> Result<(String, String), String> {
    let body = serde_json::json!({"secret_shares": 1, "secret_threshold": 1});
    let (status, json) = call(
        endpoint,
        Method::PUT,
        "/v1/sys/init",
        None,
        Some(body),
        Duration::from_secs(60),
    )
    .await?;
    let key = json["keys_base64"][0].as_str();
    let token = json["root_token"].as_str();
    match (status, key, token) {
        (200, Some(key), Some(token)) => Ok((key.to_string(), token.to_string())),
        _ => Err(format!("sys/init answered {status}: {json}")),
    }
}

pub async fn unseal(endpoint: &Endpoint, key: &str) -> CallResult {
    let body = serde_json::json!({ "key": key });
    call(
        endpoint,
        Method::PUT,
        "/v1/sys/unseal",
        None,
        Some(body),
        Duration::from_secs(10),
    )
    .await
}

/// The health status code alone.
pub async fn health(endpoint: &Endpoint, timeout: Duration) -> Result<u16, String> {
    call(endpoint, Method::GET, "/v1/sys/health", None, None, timeout)
        .await
        .map(|(status, _)| status)
}

/// Who this node says the leader is: the host part of `leader_address`, e.g. `vault-1`.
pub async fn leader(endpoint: &Endpoint, timeout: Duration) -> Result<Option<String>, String> {
    let (status, json) = call(endpoint, Method::GET, "/v1/sys/leader", None, None, timeout).await?;
    if status != 200 {
        return Err(format!("sys/leader answered {status}"));
    }
    let address = json["leader_address"].as_str().unwrap_or_default();
    let host = address
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split(':')
        .next()
        .unwrap_or_default();
    Ok((!host.is_empty()).then(|| host.to_string()))
}

/// The raft configuration as `operator raft list-peers` shows it: (node id, voter, leader).
pub async fn peers(
    endpoint: &Endpoint,
    token: &str,
    timeout: Duration,
) -> Result<Vec<(String, bool, bool)>, String> {
    let (status, json) = call(
        endpoint,
        Method::GET,
        "/v1/sys/storage/raft/configuration",
        Some(token),
        None,
        timeout,
    )
    .await?;
    if status != 200 {
        return Err(format!("raft configuration answered {status}: {json}"));
    }
    Ok(json["data"]["config"]["servers"]
        .as_array()
        .map(|servers| {
            servers
                .iter()
                .map(|server| {
                    (
                        server["node_id"].as_str().unwrap_or_default().to_string(),
                        server["voter"].as_bool().unwrap_or(false),
                        server["leader"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

/// One small KV write: the write path, through raft, with a deadline.
pub async fn write(endpoint: &Endpoint, token: &str, key: &str, timeout: Duration) -> CallResult {
    let body = serde_json::json!({ "value": key });
    call(
        endpoint,
        Method::PUT,
        &format!("/v1/secret/{key}"),
        Some(token),
        Some(body),
        timeout,
    )
    .await
}
