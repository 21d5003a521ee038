//! The walk's result: what was checked, and every object that could not be reached.

use serde::Serialize;

/// What kind of object is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A repository whose tag list could not be read (other than "no tags", which is legitimate).
    Repository,
    /// A tag that does not resolve to a manifest.
    Tag,
    /// An OCI index or Docker manifest list.
    Index,
    /// An image manifest.
    Manifest,
    Config,
    Layer,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Repository,
        Kind::Tag,
        Kind::Index,
        Kind::Manifest,
        Kind::Config,
        Kind::Layer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Repository => "repository",
            Kind::Tag => "tag",
            Kind::Index => "index",
            Kind::Manifest => "manifest",
            Kind::Config => "config",
            Kind::Layer => "layer",
        }
    }
}

/// One unreachable object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Broken {
    pub repository: String,
    /// The digest of the unreachable object, or the tag when the tag itself does not resolve.
    pub reference: String,
    pub kind: Kind,
    /// The HTTP status, or null when no response came (timeout, reset, oversized body).
    pub status: Option<u16>,
    /// What referred to the object: the index or manifest digest, or the tag for a tag's own manifest.
    pub parent: Option<String>,
    /// Why, for humans: the registry's error code or what the probe refused.
    pub detail: String,
}

/// The outcome of one walk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The registry, as `scheme://host:port`.
    pub registry: String,
    pub catalog_accessible: bool,
    pub repositories: u64,
    pub tags: u64,
    /// Image manifests checked (indexes are counted apart).
    pub manifests: u64,
    pub indexes: u64,
    /// Distinct (repository, digest) blobs checked: configs and layers.
    pub blobs: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    pub duration_ms: u64,
    pub broken: Vec<Broken>,
}

impl Report {
    pub fn is_healthy(&self) -> bool {
        self.catalog_accessible && self.broken.is_empty()
    }

    /// How many broken objects are of this kind.
    pub fn broken_of_kind(&self, kind: Kind) -> usize {
        self.broken
            .iter()
            .filter(|broken| broken.kind == kind)
            .count()
    }
}
