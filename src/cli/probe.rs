//! `firedrill probe`: the drills' probes, pointed at real systems.

mod registry;
mod vault;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum ProbeCommand {
    /// Classify Vault nodes from /v1/sys/health: active, standby, sealed, … or stuck (accepts TCP, says
    /// nothing) versus unreachable (refuses). All endpoints are probed at once, so the call takes about one
    /// timeout. Exit 0 only if exactly one node is active and every other is a standby.
    Vault(vault::VaultArgs),
    /// Walk a registry (catalog, tags, indexes, manifests, configs, layers) and report every unreachable object.
    /// Exit 0 if none, 1 if any, 2 if the registry cannot be listed.
    #[command(long_about = registry::LONG_ABOUT)]
    Registry(registry::RegistryArgs),
}

pub fn execute(command: ProbeCommand) -> u8 {
    match command {
        ProbeCommand::Vault(args) => vault::execute(args),
        ProbeCommand::Registry(args) => registry::execute(args),
    }
}

/// The longest `--timeout` or `--deadline` accepted.
const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Parses durations such as `3s`, `500ms` or `1m`: above zero (a zero deadline fails every call before it starts)
/// and at most a day.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|error| format!("{error} (expected e.g. 3s, 500ms, 1m)"))?;
    if duration.is_zero() || duration > MAX_DURATION {
        return Err(format!(
            "expected a duration above 0 and at most 24h, found {text}"
        ));
    }
    Ok(duration)
}

/// The TLS settings the flags ask for: verified by default, `--insecure` only when asked.
pub fn tls_settings(
    ca_cert: Option<&std::path::Path>,
    insecure: bool,
) -> Result<firedrill_probes::tls::TlsSettings, String> {
    if insecure {
        return Ok(firedrill_probes::tls::TlsSettings::insecure());
    }
    firedrill_probes::tls::TlsSettings::verified(ca_cert).map_err(|error| error.to_string())
}
