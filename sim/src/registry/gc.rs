//! `registry garbage-collect [--dry-run] [--delete-untagged]` with distribution 2.8.x's mark-and-sweep.
//!
//! Source: distribution v2.8.3 `registry/storage/garbagecollect.go` (`MarkAndSweep`),
//! `registry/storage/vacuum.go` (`RemoveManifest`, `RemoveBlob`),
//! `registry/storage/linkedblobstore.go` (`linkedBlobStore.Enumerate`),
//! `registry/storage/tagstore.go` (`Lookup`, `All`) and `registry/storage/catalog.go`
//! (`Enumerate`, `handleRepository`). The file is identical in v2.8.2.
//!
//! What makes index children fragile in 2.8.x, all visible in `MarkAndSweep`:
//! - Marking is one level deep. An enumerated manifest marks its own blob and the digests of
//!   `References()`. For an index those are the children's manifest blobs; the children's
//!   configs and layers are marked only when the child is itself enumerated.
//! - A manifest is enumerated only through a `link` file below `_manifests/revisions` whose
//!   manifest still resolves (`Stat` succeeds). A child whose revision link is gone, for any
//!   reason, is never enumerated, so its config and layers are swept.
//! - With `--delete-untagged`, an enumerated manifest that no tag's current link names is
//!   queued for deletion and not marked at all, nor are its references. Index children are
//!   never tagged: their revision links are removed, their configs and layers are swept in the
//!   same run, and their manifest blobs survive only because the index marks them. The result
//!   is "HEAD 404, data on disk" (distribution#3004, #3178); fixed in v3.0.0 (#4285).

use std::collections::BTreeSet;

use super::manifest;
use super::storage::{paths, Digest, LinkError, Storage};
use super::ModelVariant;

/// The command-line flags of `registry garbage-collect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GcOptions {
    pub dry_run: bool,
    pub delete_untagged: bool,
}

/// A manifest `--delete-untagged` removes: its revision directory, and its index entry in every tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestDeletion {
    pub repository: String,
    pub digest: Digest,
    /// Every tag of the repository at mark time; `RemoveManifest` checks each for an index entry.
    pub tags: Vec<String>,
}

/// What one GC run marked and what it deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcReport {
    pub marked: BTreeSet<Digest>,
    pub manifests_eligible: Vec<ManifestDeletion>,
    /// Blobs whose data is not marked, in walk order.
    pub blobs_eligible: Vec<Digest>,
    pub dry_run: bool,
}

/// Why a GC run stopped. 2.8.x stops the whole run, before any sweep, on these errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GcError {
    /// `--delete-untagged` found an untagged manifest in a repository without a
    /// `_manifests/tags` directory: `tagStore.All` fails with ErrRepositoryUnknown.
    RetrieveTags { repository: String },
    /// A link file that does not hold a digest.
    CorruptLink { path: String },
    /// An enumerated manifest whose content does not parse.
    ReadManifest {
        repository: String,
        digest: Digest,
        reason: String,
    },
}

impl std::fmt::Display for GcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GcError::RetrieveTags { repository } => {
                write!(f, "failed to mark: failed to retrieve tags in {repository}")
            }
            GcError::CorruptLink { path } => write!(f, "failed to mark: invalid link {path}"),
            GcError::ReadManifest {
                repository,
                digest,
                reason,
            } => {
                write!(f, "failed to mark: failed to retrieve manifest for digest {digest} in {repository}: {reason}")
            }
        }
    }
}

impl std::error::Error for GcError {}

/// Runs one mark-and-sweep over the disk.
pub fn garbage_collect(
    storage: &mut Storage,
    options: GcOptions,
    variant: ModelVariant,
) -> Result<GcReport, GcError> {
    let mut report = GcReport {
        dry_run: options.dry_run,
        ..GcReport::default()
    };

    // Mark. Repositories are found as the catalog finds them (a `_layers` entry), so a
    // repository without one is not marked at all and its manifests' blobs are swept.
    for repository in storage.repositories() {
        mark_repository(storage, &repository, options, variant, &mut report)?;
    }

    // Sweep: first the untagged manifests, then every blob whose data is unmarked.
    if !options.dry_run {
        for deletion in &report.manifests_eligible {
            remove_manifest(storage, deletion);
        }
    }
    report.blobs_eligible = storage
        .blob_digests()
        .into_iter()
        .filter(|d| !report.marked.contains(d))
        .collect();
    if !options.dry_run {
        for digest in &report.blobs_eligible {
            storage
                .delete_blob_data(digest)
                .expect("an enumerated blob exists");
        }
    }
    Ok(report)
}

fn mark_repository(
    storage: &Storage,
    repository: &str,
    options: GcOptions,
    variant: ModelVariant,
    report: &mut GcReport,
) -> Result<(), GcError> {
    // `manifestEnumerator.Enumerate` walks `_manifests/revisions`; a missing directory is a
    // PathNotFoundError, which `MarkAndSweep` ignores for the repository.
    let Ok(links) = storage.links_below(&paths::revisions_root(repository)) else {
        return Ok(());
    };
    let children_of_tagged_indexes = match variant {
        ModelVariant::Faithful => BTreeSet::new(),
        ModelVariant::MarkRecursively => children_of_tagged_indexes(storage, repository),
    };
    for (path, linked) in links {
        let digest = linked.map_err(|_| GcError::CorruptLink {
            path: path.to_string(),
        })?;
        // `Enumerate` checks the link conforms with `Stat`; ErrBlobUnknown (no link for this
        // digest, or no data) silently skips the manifest.
        if !manifest_resolves(storage, repository, &digest)? {
            continue;
        }
        if options.delete_untagged {
            let tags = tags_pointing_at(storage, repository, &digest)?;
            let spared = children_of_tagged_indexes.contains(&digest);
            if tags.is_empty() && !spared {
                let all_tags = all_tags(storage, repository)?;
                report.manifests_eligible.push(ManifestDeletion {
                    repository: repository.to_owned(),
                    digest,
                    tags: all_tags,
                });
                continue;
            }
        }
        report.marked.insert(digest.clone());
        let parsed = read_manifest(storage, repository, &digest)?;
        for reference in parsed.references() {
            report.marked.insert(reference.digest.clone());
            if variant == ModelVariant::MarkRecursively && parsed.kind.is_index() {
                // The deliberately wrong variant: follow the child into its config and layers.
                if let Some(child) = storage
                    .blob_data(&reference.digest)
                    .and_then(|c| manifest::parse_stored(c).ok())
                {
                    report
                        .marked
                        .extend(child.references().into_iter().map(|r| r.digest.clone()));
                }
            }
        }
    }
    Ok(())
}

/// The manifest statter without a cache (GC builds its registry without one): the revision
/// link, else the `_layers` link, then the data file.
fn manifest_resolves(
    storage: &Storage,
    repository: &str,
    digest: &Digest,
) -> Result<bool, GcError> {
    for link in [
        paths::revision_link(repository, digest),
        paths::layer_link(repository, digest),
    ] {
        match storage.read_link(&link) {
            Ok(target) => return Ok(storage.blob_data_exists(&target)),
            Err(LinkError::NotFound) => continue,
            Err(LinkError::Corrupt) => {
                return Err(GcError::CorruptLink {
                    path: link.to_string(),
                })
            }
        }
    }
    Ok(false)
}

fn read_manifest(
    storage: &Storage,
    repository: &str,
    digest: &Digest,
) -> Result<manifest::ParsedManifest, GcError> {
    let content = storage
        .blob_data(digest)
        .expect("an enumerated manifest has data");
    manifest::parse_stored(content).map_err(|e| GcError::ReadManifest {
        repository: repository.to_owned(),
        digest: digest.clone(),
        reason: e.0,
    })
}

/// `tagStore.Lookup`: tags whose current link names the digest; no tags directory means none.
fn tags_pointing_at(
    storage: &Storage,
    repository: &str,
    digest: &Digest,
) -> Result<Vec<String>, GcError> {
    let Ok(entries) = storage.list(&paths::tags_root(repository)) else {
        return Ok(Vec::new());
    };
    let mut tags = Vec::new();
    for entry in entries {
        let tag = entry.path.file_name();
        let current = paths::tag_current_link(repository, tag);
        match storage.read_link(&current) {
            Ok(linked) if &linked == digest => tags.push(tag.to_owned()),
            Ok(_) | Err(LinkError::NotFound) => {}
            Err(LinkError::Corrupt) => {
                return Err(GcError::CorruptLink {
                    path: current.to_string(),
                })
            }
        }
    }
    Ok(tags)
}

/// `tagStore.All`: every tag directory name; a missing tags directory is an error here.
fn all_tags(storage: &Storage, repository: &str) -> Result<Vec<String>, GcError> {
    storage
        .list(&paths::tags_root(repository))
        .map(|entries| {
            entries
                .iter()
                .map(|e| e.path.file_name().to_owned())
                .collect()
        })
        .map_err(|_| GcError::RetrieveTags {
            repository: repository.to_owned(),
        })
}

/// `Vacuum.RemoveManifest`: each tag's index entry for the digest, then the revision directory.
fn remove_manifest(storage: &mut Storage, deletion: &ManifestDeletion) {
    for tag in &deletion.tags {
        let entry = paths::tag_index_entry_dir(&deletion.repository, tag, &deletion.digest);
        let _ = storage.delete(&entry);
    }
    let _ = storage.delete(&paths::revision_dir(&deletion.repository, &deletion.digest));
}

/// For the wrong variant only: children of indexes that some tag's current link names.
fn children_of_tagged_indexes(storage: &Storage, repository: &str) -> BTreeSet<Digest> {
    let Ok(entries) = storage.list(&paths::tags_root(repository)) else {
        return BTreeSet::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            storage
                .read_link(&paths::tag_current_link(repository, e.path.file_name()))
                .ok()
        })
        .filter_map(|index| {
            storage
                .blob_data(&index)
                .and_then(|c| manifest::parse_stored(c).ok())
        })
        .flat_map(|parsed| parsed.manifests.into_iter().map(|m| m.digest))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::images::{push, Artifact, Format, ImageIndex};
    use super::super::Registry;
    use super::*;

    /// A tagged OCI index whose amd64 child lost its revision link.
    fn orphaned_child() -> (Storage, ImageIndex) {
        let mut registry = Registry::default();
        let index = ImageIndex::new(Format::Oci, "ci", &["amd64", "arm64"], &[]);
        push(
            &mut registry,
            "ci",
            "latest",
            &Artifact::Index(index.clone()),
        )
        .unwrap();
        let child = &index.child("amd64").unwrap().manifest.digest;
        registry
            .storage
            .remove_link(&paths::revision_link("ci", child))
            .unwrap();
        (registry.storage, index)
    }

    #[test]
    fn marking_is_one_level_deep() {
        let (mut storage, index) = orphaned_child();
        let amd64 = index.child("amd64").unwrap();
        let report =
            garbage_collect(&mut storage, GcOptions::default(), ModelVariant::Faithful).unwrap();
        assert!(
            report.marked.contains(&amd64.manifest.digest),
            "the index marks its child's manifest blob"
        );
        assert!(
            !report.marked.contains(&amd64.config.digest),
            "but not what the child references"
        );
        assert!(!storage.blob_data_exists(&amd64.config.digest));
        assert!(storage.blob_data_exists(&amd64.manifest.digest));
    }

    #[test]
    fn the_recursive_variant_marks_through_the_index() {
        let (mut storage, index) = orphaned_child();
        let amd64 = index.child("amd64").unwrap();
        let report = garbage_collect(
            &mut storage,
            GcOptions::default(),
            ModelVariant::MarkRecursively,
        )
        .unwrap();
        assert!(report.marked.contains(&amd64.config.digest));
        assert!(storage.blob_data_exists(&amd64.config.digest));
    }

    #[test]
    fn a_manifest_without_data_is_skipped_not_fatal() {
        let (mut storage, index) = orphaned_child();
        let arm64 = index.child("arm64").unwrap();
        storage.delete_blob_data(&arm64.manifest.digest).unwrap();
        let report =
            garbage_collect(&mut storage, GcOptions::default(), ModelVariant::Faithful).unwrap();
        assert!(!report.marked.contains(&arm64.config.digest));
    }
}
