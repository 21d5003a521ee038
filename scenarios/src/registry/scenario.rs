//! The registry scenario file: images to push, the cleanup and GC schedules, the probes and the expectations.

use crate::duration::MillisSpec;
use crate::parse_error::ParseError;
use crate::scenario::SimConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;
use toml::Spanned;

/// One registry drill, selected in a scenario file by `kind = "registry"`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryScenario {
    /// Always "registry"; checked by the catalog before this type is parsed.
    pub kind: String,
    pub name: String,
    pub description: String,
    /// How long the drill runs, in compressed simulated time.
    pub duration_ms: u64,
    #[serde(default)]
    pub sim: SimConfig,
    pub registry: RegistrySpec,
    /// What CI pushed before the drill starts; pushed at time zero in file order.
    pub images: Vec<ImageSpec>,
    pub cleanup: CleanupSpec,
    pub gc: GcSpec,
    pub probes: RegistryProbes,
    pub expect: RegistryExpectations,
}

/// The registry as the scenario models it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    /// The distribution version the simulation models; the docker backend reports what it really ran.
    pub version: String,
}

/// One tag and what it names.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub repository: Spanned<String>,
    pub tag: Spanned<String>,
    pub format: ImageFormat,
    /// Platforms: the children of an index, or the one platform of an image.
    #[serde(default = "default_architectures")]
    pub architectures: Vec<String>,
    /// Layers shared by name: the same name gives the same blob, in any repository.
    #[serde(default)]
    pub shared_layers: Vec<String>,
    /// Whether the nightly cleanup removes this tag (it is "old").
    #[serde(default)]
    pub stale: bool,
}

impl ImageSpec {
    /// An image spec built in code (a property test's), with default architectures for its format.
    pub fn new(repository: &str, tag: &str, format: ImageFormat, shared_layers: &[&str]) -> Self {
        ImageSpec {
            repository: Spanned::new(0..0, repository.to_string()),
            tag: Spanned::new(0..0, tag.to_string()),
            format,
            architectures: if format.is_index() {
                default_architectures()
            } else {
                vec!["amd64".into()]
            },
            shared_layers: shared_layers.iter().map(|s| s.to_string()).collect(),
            stale: false,
        }
    }
}

fn default_architectures() -> Vec<String> {
    vec!["amd64".into(), "arm64".into()]
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ImageFormat {
    OciIndex,
    DockerList,
    OciImage,
    DockerImage,
}

impl ImageFormat {
    pub fn is_index(self) -> bool {
        matches!(self, ImageFormat::OciIndex | ImageFormat::DockerList)
    }

    pub fn is_docker(self) -> bool {
        matches!(self, ImageFormat::DockerList | ImageFormat::DockerImage)
    }
}

/// The seed's nightly cleanup of stale tags.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupSpec {
    pub mode: CleanupMode,
    /// A compressed day.
    pub interval_ms: u64,
    pub first_at_ms: MillisSpec,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CleanupMode {
    /// `rm -rf _manifests/tags/<tag>`: untags only.
    Rmtree,
    /// HEAD the tag with only the schema2 `Accept`, then DELETE the digest it answered.
    Api,
}

/// The weekly `registry garbage-collect`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GcSpec {
    /// A compressed week.
    pub interval_ms: u64,
    pub first_at_ms: MillisSpec,
    #[serde(default)]
    pub delete_untagged: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryProbes {
    pub integrity: IntegrityProbe,
    /// Run the seed's blob-presence scan on the same schedule, for comparison.
    #[serde(default)]
    pub naive_scan: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrityProbe {
    /// The CronJob's schedule: every 15 minutes in the seed.
    pub interval_ms: u64,
    /// The first round; later rounds follow every `interval_ms`.
    pub first_at_ms: MillisSpec,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Consecutive rounds with failures before the alert fires.
    #[serde(default = "default_alert_after_rounds")]
    pub alert_after_rounds: u32,
}

fn default_concurrency() -> usize {
    8
}
fn default_alert_after_rounds() -> u32 {
    1
}

/// What the trace must show; each is judged by its own checker.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryExpectations {
    /// The integrity alert fires within this long of the first breakage.
    #[serde(default)]
    pub detected_within_ms: Option<u64>,
    /// Every integrity round reports exactly the breakage the disk shows through the API.
    #[serde(default)]
    pub probe_exact: bool,
    /// At some round after the breakage, the naive scan reports 0 while the integrity probe reports more.
    #[serde(default)]
    pub naive_scan_blind: bool,
    /// A GC swept the config or own layer of an orphaned child: the image needs a rebuild.
    #[serde(default)]
    pub orphans_swept: bool,
    /// Nothing breaks, and the alert never fires (a control).
    #[serde(default)]
    pub no_breakage: bool,
}

impl RegistryScenario {
    /// Parses and validates a registry scenario file's text; `path` only locates errors.
    pub fn parse(path: &Path, source: &str) -> Result<RegistryScenario, ParseError> {
        let scenario: RegistryScenario =
            toml::from_str(source).map_err(|error| ParseError::from_toml(path, source, &error))?;
        crate::limits::check(path, source, crate::limits::REGISTRY_SCENARIO)?;
        scenario.validate(path, source)?;
        crate::limits::check_registry_ratios(path, source, &scenario)?;
        Ok(scenario)
    }

    fn validate(&self, path: &Path, source: &str) -> Result<(), ParseError> {
        let fail =
            |offset: usize, message: String| ParseError::at_offset(path, source, offset, message);
        if self.images.is_empty() {
            return Err(fail(
                crate::limits::offset_of(source, "images").unwrap_or(0),
                "expected at least one [[images]] entry".into(),
            ));
        }
        let expect = &self.expect;
        let judged = expect.detected_within_ms.is_some()
            || expect.probe_exact
            || expect.naive_scan_blind
            || expect.orphans_swept
            || expect.no_breakage;
        if !judged {
            // A drill with no rule could only print a vacuous PASS.
            let offset = source.find("[expect]").unwrap_or(0);
            return Err(fail(
                offset,
                "expected at least one rule in [expect] (detected_within_ms, probe_exact, naive_scan_blind, orphans_swept or no_breakage)".into(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for image in &self.images {
            let repository = image.repository.get_ref();
            if !valid_repository(repository) {
                return Err(fail(
                    image.repository.span().start,
                    format!("expected a repository name of lowercase [a-z0-9._-] components separated by '/', found \"{repository}\""),
                ));
            }
            let tag = image.tag.get_ref();
            if !valid_tag(tag) {
                return Err(fail(
                    image.tag.span().start,
                    format!(
                        "expected a tag of [A-Za-z0-9_.-], at most 128 characters, found \"{tag}\""
                    ),
                ));
            }
            if !seen.insert((repository.clone(), tag.clone())) {
                return Err(fail(
                    image.tag.span().start,
                    format!("expected each repository:tag once, found {repository}:{tag} again"),
                ));
            }
            if image.architectures.is_empty()
                || (!image.format.is_index() && image.architectures.len() != 1)
            {
                return Err(fail(
                    image.tag.span().start,
                    "expected one architecture for an image, at least one for an index".into(),
                ));
            }
        }
        let periods = [
            self.cleanup.interval_ms,
            self.gc.interval_ms,
            self.probes.integrity.interval_ms,
            self.sim.tick_ms,
        ];
        if periods.contains(&0) {
            return Err(fail(
                0,
                "expected cleanup, gc and probe intervals and sim.tick_ms above 0".into(),
            ));
        }
        if self.probes.integrity.concurrency == 0 || self.probes.integrity.alert_after_rounds == 0 {
            return Err(fail(
                0,
                "expected probes.integrity.concurrency and alert_after_rounds of at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The tags the cleanup removes, as (repository, tag), in file order.
    pub fn stale_tags(&self) -> Vec<(String, String)> {
        self.images
            .iter()
            .filter(|image| image.stale)
            .map(|image| {
                (
                    image.repository.get_ref().clone(),
                    image.tag.get_ref().clone(),
                )
            })
            .collect()
    }
}

fn valid_repository(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|component| {
            !component.is_empty()
                && component
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && component.as_bytes()[0].is_ascii_alphanumeric()
        })
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && tag.as_bytes()[0] != b'.'
        && tag.as_bytes()[0] != b'-'
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}
