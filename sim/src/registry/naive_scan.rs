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

#[cfg(test)]
mod tests {
    use super::super::images::{push, Artifact, Format, ImageIndex};
    use super::super::Registry;
    use super::*;

    #[test]
    fn reports_missing_child_data_and_layer_links_without_data_but_not_missing_revision_links() {
        let mut registry = Registry::default();
        let index = ImageIndex::new(Format::Oci, "ci", &["amd64", "arm64"], &[]);
        push(
            &mut registry,
            "ci",
            "latest",
            &Artifact::Index(index.clone()),
        )
        .unwrap();
        let amd64 = index.child("amd64").unwrap();
        let arm64 = index.child("arm64").unwrap();
        // A missing revision link is invisible to the scan: the seed's false negative.
        registry
            .storage
            .remove_link(&paths::revision_link("ci", &amd64.manifest.digest))
            .unwrap();
        assert_eq!(naive_blob_presence_scan(&registry.storage), vec![]);
        // Missing data is what it can see.
        registry
            .storage
            .delete_blob_data(&arm64.manifest.digest)
            .unwrap();
        registry
            .storage
            .delete_blob_data(&arm64.config.digest)
            .unwrap();
        let mut findings = naive_blob_presence_scan(&registry.storage);
        findings.sort();
        let mut expected = vec![
            NaiveFinding::MissingIndexChild {
                repository: "ci".into(),
                index: index.index.digest.clone(),
                child: arm64.manifest.digest.clone(),
            },
            NaiveFinding::LayerLinkWithoutData {
                repository: "ci".into(),
                digest: arm64.config.digest.clone(),
            },
        ];
        expected.sort();
        assert_eq!(findings, expected);
    }
}
