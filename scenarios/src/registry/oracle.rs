//! Ground truth from the disk: which pushed objects the API can no longer serve, and which orphans lost their blobs.
//!
//! The oracle knows what was pushed and reads the storage tree directly, the way a human with a shell would after
//! the fact. Checkers compare it with what the probes reported; it never replaces a probe.

use super::content::PushedImage;
use super::disk::{self, RegistryDisk};
use std::collections::BTreeMap;

use crate::trace::FaultName;

/// The fault name of a pushed object that the API no longer serves, as the probe would name it.
pub const UNREACHABLE: FaultName = FaultName::Unreachable;
/// The fault name of an orphaned child whose config or own layer data was swept: only a rebuild helps.
pub const ORPHAN_SWEPT: FaultName = FaultName::OrphanSwept;

/// Every breakage on disk, keyed by target (e.g. `manifest repo@sha256:…`), with its fault name.
/// Targets of [`UNREACHABLE`] use the probe's finding format: `<kind> <repository>@<reference>`.
pub fn breakage(disk: &dyn RegistryDisk, pushed: &[PushedImage]) -> BTreeMap<String, FaultName> {
    let mut found = BTreeMap::new();
    for image in pushed {
        let repository = &image.repository;
        // An untagged image is not broken: nobody can ask for it by name.
        let Some(current) = disk::read_link(disk, &disk::tag_current_link(repository, &image.tag))
        else {
            continue;
        };
        if !manifest_resolves(disk, repository, &current) {
            found.insert(super::finding("tag", repository, &image.tag), UNREACHABLE);
            continue;
        }
        if current != image.digest {
            continue;
        }
        for manifest in &image.manifests {
            if image.format.is_index() && !manifest_resolves(disk, repository, &manifest.digest) {
                found.insert(
                    super::finding("manifest", repository, &manifest.digest),
                    UNREACHABLE,
                );
                let swept = [&manifest.config, &manifest.own_layer]
                    .into_iter()
                    .any(|digest| !disk.is_file(&disk::blob_data(digest)));
                if swept {
                    found.insert(
                        format!("orphan {repository}@{}", manifest.digest),
                        ORPHAN_SWEPT,
                    );
                }
                continue;
            }
            let blobs = std::iter::once(("config", &manifest.config))
                .chain(manifest.layers.iter().map(|layer| ("layer", layer)));
            for (kind, digest) in blobs {
                let linked = disk.is_file(&disk::layer_link(repository, digest));
                if !linked || !disk.is_file(&disk::blob_data(digest)) {
                    found.insert(super::finding(kind, repository, digest), UNREACHABLE);
                }
            }
        }
    }
    found
}

/// A manifest resolves when its revision link names it and its data exists.
fn manifest_resolves(disk: &dyn RegistryDisk, repository: &str, digest: &str) -> bool {
    disk::read_link(disk, &disk::revision_link(repository, digest)).as_deref() == Some(digest)
        && disk.is_file(&disk::blob_data(digest))
}
