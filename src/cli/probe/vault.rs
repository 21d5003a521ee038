//! `firedrill probe vault`: health and stuck-node classification of real Vault nodes.

use super::super::output::Format;
use super::super::{usage_error, EXIT_FAIL, EXIT_PASS};
use clap::Args;
use firedrill_probes::redact::escape_terminal;
use firedrill_probes::vault::{cluster_healthy, probe_all};
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
}

#[derive(Serialize)]
struct Report {
    healthy: bool,
    endpoints: Vec<firedrill_probes::vault::EndpointHealth>,
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
    let results = runtime.block_on(probe_all(&connector, &endpoints, args.timeout));
    let report = Report {
        healthy: cluster_healthy(&results),
        endpoints: results,
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
