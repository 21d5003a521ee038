//! `firedrill probe registry`: the integrity walk against a real registry, and the post-push verify step.

use super::super::{usage_error, EXIT_FAIL, EXIT_PASS, EXIT_USAGE};
use clap::{Args, ValueEnum};
use firedrill_probes::redact::{escape_terminal, Redactor};
use firedrill_probes::registry::{
    names, probe_registry, prometheus, Credentials, Report, Scope, WalkConfig,
};
use firedrill_probes::{Endpoint, TcpConnect};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The long help of `firedrill probe registry`.
pub const LONG_ABOUT: &str = "Walk a distribution registry through its API and report every object that cannot be reached: \
catalog → tags → manifest or index → index children → config → layers.\n\n\
Every manifest request accepts the OCI index, Docker manifest list, OCI manifest and Docker v2 manifest types, so \
an index is never mistaken for missing and a manifest list is never rewritten to its amd64 child. Each \
(repository, digest) is requested once per walk; blobs are checked by HEAD.\n\n\
A registry can answer 404 MANIFEST_UNKNOWN for an index child whose data is still on disk (its revision link is \
gone): checking for blob files misses that, this walk does not.\n\n\
Credentials come from FIREDRILL_REGISTRY_USERNAME and FIREDRILL_REGISTRY_PASSWORD (basic), or \
FIREDRILL_REGISTRY_TOKEN (bearer), or --auth-file. They are never printed.";

#[derive(Args)]
#[command(after_help = "Examples:\n  \
firedrill probe registry --url http://127.0.0.1:5000\n  \
firedrill probe registry --url https://registry.internal --ca-cert ca.pem --format prometheus\n  \
firedrill probe registry --url http://127.0.0.1:5000 --image team/app:v1.2.3   # after a push\n\n\
Exit codes: 0 nothing broken, 1 something is broken, 2 bad flags or the registry cannot be listed.")]
pub struct RegistryArgs {
    /// The registry's base URL, e.g. http://127.0.0.1:5000.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// Walk only this reference (REPO:TAG or REPO@DIGEST), e.g. right after pushing it. Fails on any non-200.
    #[arg(long, value_name = "REPO:TAG")]
    pub image: Option<String>,
    /// Requests in flight at once, each on its own keep-alive connection.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Deadline for connecting, and for each request's complete response.
    #[arg(long, default_value = "10s", value_parser = super::parse_duration)]
    pub timeout: Duration,
    /// Deadline for the whole walk, listings included, however slowly the registry pages its answers. Past it,
    /// the probe stops and exits 2. The default leaves room for a 100,000-tag registry of two-platform images:
    /// about 700,000 requests, some 12 minutes at 1,000 requests per second.
    #[arg(long, default_value = "1h", value_parser = super::parse_duration)]
    pub deadline: Duration,
    /// Memory the walk may hold, in MiB: a quarter for response bodies (at most that many 4 MiB manifests are
    /// fetched at once), the rest for the objects it tracks (tags pending, objects seen, objects queued), counted
    /// at 128 bytes each, above their measured cost (1,179,648 objects by default). A walk that reaches the bound
    /// reports the objects it did not walk as one broken entry (exit 1). The default, 192 MiB, fits a
    /// 100,000-tag registry of two-platform images (700,000 objects; the process peaks near 67 MB), and a
    /// hostile registry stops at the bound with the process near 104 MB.
    #[arg(long, default_value_t = 192, value_parser = clap::value_parser!(u64).range(16..=65_536))]
    pub memory_limit_mib: u64,
    /// A PEM CA bundle to trust in addition to the system roots, for https registries.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any TLS certificate. Never the default.
    #[arg(long)]
    pub insecure: bool,
    /// A file whose first line is USERNAME:PASSWORD or "bearer TOKEN". Overrides the environment.
    #[arg(long, value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = RegistryFormat::Text)]
    pub format: RegistryFormat,
    /// The `instance` label of the Prometheus gauges; defaults to the URL's host:port.
    #[arg(long)]
    pub instance: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RegistryFormat {
    /// A summary and one line per broken object.
    Text,
    /// One JSON object: counts, and `broken` as {repository, reference, kind, status, parent, detail}.
    Json,
    /// The seed CronJob's gauges (registry_manifest_integrity_*), labelled `instance`, plus a per-kind breakdown.
    Prometheus,
}

pub fn execute(args: RegistryArgs) -> u8 {
    let endpoint = match Endpoint::parse(&args.url) {
        Ok(endpoint) => endpoint,
        Err(error) => return usage_error(error),
    };
    let scope = match &args.image {
        None => Scope::Everything,
        Some(image) => match names::split_image_reference(image) {
            Some((repository, reference)) => Scope::Image {
                repository,
                reference,
            },
            None => {
                return usage_error(format!(
                    "--image {image:?}: expected REPO:TAG or REPO@DIGEST"
                ))
            }
        },
    };
    let credentials = match &args.auth_file {
        Some(path) => Credentials::from_file(path),
        None => Credentials::from_env(),
    };
    let credentials = match credentials {
        Ok(credentials) => credentials,
        Err(error) => return usage_error(error),
    };
    let redactor = Redactor::new(&credentials);
    let connector = if endpoint.https {
        match super::tls_settings(args.ca_cert.as_deref(), args.insecure) {
            Ok(tls) => TcpConnect::with_tls(tls),
            Err(error) => return usage_error(error),
        }
    } else {
        TcpConnect::plain()
    };
    let config = WalkConfig {
        scope,
        concurrency: usize::from(args.concurrency),
        request_timeout: args.timeout,
        deadline: args.deadline,
        memory_limit_bytes: usize::try_from(args.memory_limit_mib * 1024 * 1024)
            .unwrap_or(usize::MAX),
        credentials,
        ..WalkConfig::default()
    };
    // One thread is enough: the walk multiplexes its connections in one task, and the registry is the bottleneck.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let outcome = runtime.block_on(probe_registry(&connector, &endpoint, &config));
    let instance = args
        .instance
        .clone()
        .unwrap_or_else(|| endpoint.authority());
    let now_unix_seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    match outcome {
        Ok(mut report) => {
            // The walk redacts already; this second pass costs nothing and guards every future field.
            redactor.report(&mut report);
            print_report(&report, args.format, &instance, now_unix_seconds);
            if report.is_healthy() {
                EXIT_PASS
            } else {
                EXIT_FAIL
            }
        }
        Err(error) => {
            // The gauges are still printed, so RegistryCatalogInaccessible fires instead of the probe going stale.
            if args.format == RegistryFormat::Prometheus {
                print!("{}", prometheus::render(None, &instance, now_unix_seconds));
            }
            // Its reasons can quote the server; the same redaction and escaping as the report's applies.
            eprintln!(
                "error: {}",
                escape_terminal(&redactor.text(&error.to_string()))
            );
            EXIT_USAGE
        }
    }
}

fn print_report(report: &Report, format: RegistryFormat, instance: &str, now_unix_seconds: u64) {
    match format {
        RegistryFormat::Json => println!(
            "{}",
            serde_json::to_string(report).expect("reports serialize")
        ),
        RegistryFormat::Prometheus => print!(
            "{}",
            prometheus::render(Some(report), instance, now_unix_seconds)
        ),
        RegistryFormat::Text => {
            // Names and details come from the server: escaped, so they cannot drive the terminal.
            println!(
                "{}: {} repositories, {} tags, {} indexes, {} manifests, {} blobs; {} requests in {} ms",
                escape_terminal(&report.registry),
                report.repositories,
                report.tags,
                report.indexes,
                report.manifests,
                report.blobs,
                report.requests,
                report.duration_ms
            );
            for broken in &report.broken {
                let status = broken
                    .status
                    .map_or("-".to_string(), |status| status.to_string());
                let reference = if broken.reference.is_empty() {
                    "-"
                } else {
                    &broken.reference
                };
                let parent = broken.parent.as_deref().unwrap_or("-");
                println!(
                    "BROKEN {:<10} {}  {}  status {}  parent {}  ({})",
                    broken.kind.as_str(),
                    escape_terminal(&broken.repository),
                    escape_terminal(reference),
                    status,
                    escape_terminal(parent),
                    escape_terminal(&broken.detail)
                );
            }
            println!(
                "{}",
                if report.is_healthy() {
                    "OK: every object is reachable".to_string()
                } else {
                    format!("BROKEN: {} unreachable objects", report.broken.len())
                }
            );
        }
    }
}
