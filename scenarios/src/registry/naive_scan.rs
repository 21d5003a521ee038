//! The seed's first `fix-broken-blobs.sh` check: does every index child's and every linked blob's `data` exist?
//!
//! It walks revision directories and `_layers` links on disk and never asks the API, so a child whose revision
//! link is gone but whose data survives (the incident) is invisible to it: the seed's false negative.

use super::disk::{self, RegistryDisk};

/// Runs the scan and returns its findings, e.g. `missing-child repo@sha256:…` or `missing-data repo@sha256:…`.
pub fn scan(disk: &dyn RegistryDisk) -> Vec<String> {
    let mut findings = Vec::new();
    for repository in disk::repositories(disk) {
        let revisions = format!("repositories/{repository}/_manifests/revisions/sha256");
        for (hex, is_dir) in disk.list_dir(&revisions) {
            if !is_dir {
                continue;
            }
            let index = format!("sha256:{hex}");
            let Some(bytes) = disk.read_file(&disk::blob_data(&index)) else {
                continue;
            };
            let Ok(document) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                continue;
            };
            let Some(children) = document["manifests"].as_array() else {
                continue;
            };
            for child in children {
                let Some(digest) = child["digest"].as_str() else {
                    continue;
                };
                if !disk.is_file(&disk::blob_data(digest)) {
                    findings.push(format!("missing-child {repository}@{digest}"));
                }
            }
        }
        let layers = format!("repositories/{repository}/_layers/sha256");
        for (hex, is_dir) in disk.list_dir(&layers) {
            let digest = format!("sha256:{hex}");
            if is_dir
                && disk.is_file(&format!("{layers}/{hex}/link"))
                && !disk.is_file(&disk::blob_data(&digest))
            {
                findings.push(format!("missing-data {repository}@{digest}"));
            }
        }
    }
    findings
}
