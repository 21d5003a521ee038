//! The seed's first `fix-broken-blobs.sh` logic: checks that blob data exists on disk, which cannot see an orphaned index child.
//!
//! For every revision directory of an index it checks that each child's
//! `blobs/sha256/<xx>/<hex>/data` exists, and for every `_layers` link that the linked data
//! exists. The registry serves a manifest through the repository's revision link, not through
//! blob presence, so a child whose revision link is gone but whose data survives is served as
//! 404 MANIFEST_UNKNOWN while this scan reports nothing: the seed's false negative.

use super::manifest;
use super::storage::{paths, Digest, Storage};

/// One problem the scan reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum NaiveFinding {
    /// An index's child has no blob data.
    MissingIndexChild {
        repository: String,
        index: Digest,
        child: Digest,
    },
    /// A `_layers` link whose blob data is gone.
    LayerLinkWithoutData { repository: String, digest: Digest },
}

/// Runs the scan over the storage tree, the way the script walks the filesystem: every
/// directory `repositories/<repo>/_manifests/revisions/sha256/<hex>` (the link file inside is
/// not consulted) and every `repositories/<repo>/_layers/sha256/<hex>/link`.
pub fn naive_blob_presence_scan(storage: &Storage) -> Vec<NaiveFinding> {
    let mut findings = Vec::new();
    let Ok(entries) = storage.walk(&paths::repositories_root()) else {
        return findings;
    };
    for entry in entries {
        let relative = &entry.path.as_str()["repositories/".len()..];
        if entry.is_dir {
            let Some((repository, hex)) = relative.rsplit_once("/_manifests/revisions/sha256/")
            else {
                continue;
            };
            if hex.contains('/') {
                continue;
            }
            let Some(index) = Digest::parse(&format!("sha256:{hex}")) else {
                continue;
            };
            let Some(parsed) = storage
                .blob_data(&index)
                .and_then(|c| manifest::parse_stored(c).ok())
            else {
                continue;
            };
            for child in parsed.manifests.iter().filter(|_| parsed.kind.is_index()) {
                if !storage.blob_data_exists(&child.digest) {
                    findings.push(NaiveFinding::MissingIndexChild {
                        repository: repository.to_owned(),
                        index: index.clone(),
                        child: child.digest.clone(),
                    });
                }
            }
        } else if let Some((repository, rest)) = relative.rsplit_once("/_layers/sha256/") {
            let Some(hex) = rest.strip_suffix("/link") else {
                continue;
            };
            let Some(digest) = Digest::parse(&format!("sha256:{hex}")) else {
                continue;
            };
            if !storage.blob_data_exists(&digest) {
                findings.push(NaiveFinding::LayerLinkWithoutData {
                    repository: repository.to_owned(),
                    digest,
                });
            }
        }
    }
    findings
}
