//! Prometheus text exposition with the seed CronJob's gauge names and `instance` label, so existing alerts
//! (`RegistryManifestIntegrityFailure`, `RegistryIntegrityProbeStale`, `RegistryCatalogInaccessible`) keep working.

use super::report::{Kind, Report};
use std::fmt::Write as _;

/// Renders the gauges. `report` is `None` when the walk could not list the registry: the catalog is then
/// reported inaccessible, so `RegistryCatalogInaccessible` fires, and the timestamp still advances, so the probe is
/// not mistaken for stale.
pub fn render(report: Option<&Report>, instance: &str, now_unix_seconds: u64) -> String {
    let instance = escape_label(instance);
    let mut text = String::new();
    let mut gauge = |name: &str, help: &str, value: u64| {
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        let _ = writeln!(text, "{name}{{instance=\"{instance}\"}} {value}");
    };
    let counts = report.cloned().unwrap_or_default();
    gauge(
        "registry_manifest_integrity_failures",
        "Objects the integrity walk could not reach (tags, indexes, manifests, configs, layers).",
        counts.broken.len() as u64,
    );
    gauge(
        "registry_manifest_integrity_catalog_accessible",
        "1 if the registry catalog could be listed, else 0.",
        u64::from(report.is_some_and(|report| report.catalog_accessible)),
    );
    gauge(
        "registry_manifest_integrity_repos_checked",
        "Repositories walked.",
        counts.repositories,
    );
    gauge(
        "registry_manifest_integrity_tags_checked",
        "Tags walked.",
        counts.tags,
    );
    gauge(
        "registry_manifest_integrity_indexes_checked",
        "OCI indexes and Docker manifest lists fetched.",
        counts.indexes,
    );
    gauge(
        "registry_manifest_integrity_manifests_checked",
        "Image manifests fetched.",
        counts.manifests,
    );
    gauge(
        "registry_manifest_integrity_blobs_checked",
        "Distinct configs and layers checked by HEAD.",
        counts.blobs,
    );
    gauge(
        "registry_manifest_integrity_requests",
        "HTTP requests sent by the last walk.",
        counts.requests,
    );
    gauge(
        "registry_manifest_integrity_last_run_timestamp",
        "Unix time in seconds at which the last walk ended.",
        now_unix_seconds,
    );
    let name = "registry_manifest_integrity_failures_by_kind";
    let _ = writeln!(text, "# HELP {name} Unreachable objects per kind.");
    let _ = writeln!(text, "# TYPE {name} gauge");
    for kind in Kind::ALL {
        let count = report.map_or(0, |report| report.broken_of_kind(kind));
        let _ = writeln!(
            text,
            "{name}{{instance=\"{instance}\",kind=\"{}\"}} {count}",
            kind.as_str()
        );
    }
    text
}

/// Escapes a label value as the exposition format requires.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::report::Broken;

    fn value(text: &str, series: &str) -> String {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(series)
                    .map(|rest| rest.trim().to_string())
            })
            .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
    }

    #[test]
    fn renders_the_seed_gauges_with_instance() {
        let report = Report {
            catalog_accessible: true,
            repositories: 3,
            tags: 5,
            indexes: 2,
            broken: vec![Broken {
                repository: "app".into(),
                reference: "sha256:x".into(),
                kind: Kind::Manifest,
                status: Some(404),
                parent: None,
                detail: String::new(),
            }],
            ..Report::default()
        };
        let text = render(Some(&report), "registry:5000", 1_700_000_000);
        let at = "{instance=\"registry:5000\"}";
        assert_eq!(
            value(&text, &format!("registry_manifest_integrity_failures{at}")),
            "1"
        );
        assert_eq!(
            value(
                &text,
                &format!("registry_manifest_integrity_catalog_accessible{at}")
            ),
            "1"
        );
        assert_eq!(
            value(
                &text,
                &format!("registry_manifest_integrity_repos_checked{at}")
            ),
            "3"
        );
        assert_eq!(
            value(
                &text,
                &format!("registry_manifest_integrity_tags_checked{at}")
            ),
            "5"
        );
        assert_eq!(
            value(
                &text,
                &format!("registry_manifest_integrity_indexes_checked{at}")
            ),
            "2"
        );
        assert_eq!(
            value(
                &text,
                &format!("registry_manifest_integrity_last_run_timestamp{at}")
            ),
            "1700000000"
        );
        let by_kind = "registry_manifest_integrity_failures_by_kind{instance=\"registry:5000\",kind=\"manifest\"}";
        assert_eq!(value(&text, by_kind), "1");
    }

    #[test]
    fn an_unlisted_registry_reads_as_inaccessible() {
        let text = render(None, "a\"b", 7);
        assert_eq!(
            value(
                &text,
                "registry_manifest_integrity_catalog_accessible{instance=\"a\\\"b\"}"
            ),
            "0"
        );
        assert_eq!(
            value(
                &text,
                "registry_manifest_integrity_last_run_timestamp{instance=\"a\\\"b\"}"
            ),
            "7"
        );
    }
}
