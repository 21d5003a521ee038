//! `firedrill probe vault`: health and stuck-node classification of real Vault nodes.

use super::super::output::Format;
use super::super::{usage_error, EXIT_FAIL, EXIT_PASS};
use clap::Args;
use firedrill_probes::redact::escape_terminal;
use firedrill_probes::vault::{cluster_healthy, probe_all, NodeState};
use firedrill_probes::vault_write::{write_canary, WriteOutcome};
use firedrill_probes::{Endpoint, TcpConnect};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct VaultArgs {
    /// A node's API address, e.g. http://127.0.0.1:8200. Repeat for every node.
    #[arg(long = "endpoint", value_name = "URL", required = true)]
    pub endpoints: Vec<String>,
    /// Deadline per node for connecting and for the first response byte. A node that accepts the connection
    /// but sends nothing by then is stuck; a slower node that has started answering is not.
    #[arg(long, default_value = "3s", value_parser = super::parse_duration)]
    pub timeout: Duration,
    /// A PEM CA bundle to trust in addition to the system roots, for https endpoints.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any TLS certificate. Never the default.
    #[arg(long)]
    pub insecure: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// A token for the write canary: one small write to the token's own cubbyhole through the active node. On a
    /// real write hang the stuck leader keeps answering health with 200 for minutes (DOMAIN.md §9); only a write
    /// shows it. Without a token only health is checked, and the report says so.
    #[arg(long, env = "VAULT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// How long the canary write may take before the active node is called stuck. A slow disk answers in
    /// seconds; OpenBao itself gives up on a request after 90 s.
    #[arg(long, default_value = "20s", value_parser = super::parse_duration)]
    pub write_deadline: Duration,
}

#[derive(Serialize)]
struct Report {
    healthy: bool,
    endpoints: Vec<firedrill_probes::vault::EndpointHealth>,
    /// The canary write through the active node, when a token was given and one node was active.
    write_canary: Option<Canary>,
}

#[derive(Serialize)]
struct Canary {
    endpoint: String,
    #[serde(flatten)]
    outcome: WriteOutcome,
    latency_ms: u64,
}

pub fn execute(args: VaultArgs) -> u8 {
    let mut endpoints = Vec::new();
    for url in &args.endpoints {
        match Endpoint::parse(url) {
            Ok(endpoint) => endpoints.push(endpoint),
            Err(error) => return usage_error(error),
        }
    }
    let connector = if endpoints.iter().any(|endpoint| endpoint.https) {
        match super::tls_settings(args.ca_cert.as_deref(), args.insecure) {
            Ok(tls) => TcpConnect::with_tls(tls),
            Err(error) => return usage_error(error),
        }
    } else {
        TcpConnect::plain()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    // BAO_TOKEN is OpenBao's name for VAULT_TOKEN; either works.
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var("BAO_TOKEN").ok())
        .filter(|token| !token.is_empty());
    let mut results = runtime.block_on(probe_all(&connector, &endpoints, args.timeout));
    let active: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, result)| result.state == NodeState::Active)
        .map(|(index, _)| index)
        .collect();
    let mut write_canary_report = None;
    if let (Some(token), [index]) = (token.as_deref(), active.as_slice()) {
        let value = format!("firedrill probe {}", std::process::id());
        let (outcome, latency_ms) = runtime.block_on(write_canary(
            &connector,
            &endpoints[*index],
            token,
            &value,
            args.write_deadline,
        ));
        if outcome == WriteOutcome::Hung {
            // It answers health, but its writes do not complete: the stuck leader of the incident.
            let result = &mut results[*index];
            result.state = NodeState::Stuck;
            result.detail = format!(
                "answers health ({}), but a write through it did not complete within {} s: its writes hang",
                result.detail,
                args.write_deadline.as_secs()
            );
        }
        write_canary_report = Some(Canary {
            endpoint: results[*index].endpoint.clone(),
            outcome,
            latency_ms,
        });
    }
    let report = Report {
        healthy: cluster_healthy(&results),
        endpoints: results,
        write_canary: write_canary_report,
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&report).expect("reports serialize")
        ),
        Format::Text => {
            for result in &report.endpoints {
                println!(
                    "{:<32} {:<18} {:>5} ms  {}",
                    escape_terminal(&result.endpoint),
                    result.state.as_str(),
                    result.latency_ms,
                    escape_terminal(&result.detail)
                );
            }
            match &report.write_canary {
                Some(canary) => println!(
                    "write canary via {}: {} in {} ms",
                    escape_terminal(&canary.endpoint),
                    canary.outcome.as_str(),
                    canary.latency_ms
                ),
                None if token.is_none() => println!(
                    "write canary: not run (no VAULT_TOKEN or BAO_TOKEN); a write hang answers health with 200"
                ),
                None => println!("write canary: not run (no single active node)"),
            }
            println!(
                "{}",
                if report.healthy {
                    "HEALTHY"
                } else {
                    "UNHEALTHY"
                }
            );
        }
    }
    if report.healthy {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}
