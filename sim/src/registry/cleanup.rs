//! The seed's nightly tag cleanup in its two forms: `rm -rf` of tag directories, and deletion through the API.
//!
//! Neither form is a bug by itself. The rmtree cannot touch `_manifests/revisions`, so it only
//! makes manifests untagged, which `garbage-collect --delete-untagged` then removes. The API
//! form HEADs a tag with only the schema2 `Accept`, and for a Docker manifest list 2.8.x answers
//! with the linux/amd64 child's digest, so the job deletes that child while the list it
//! belongs to stays tagged: the child's revision link is gone and the next GC sweeps its
//! config and layers.

use super::api::{handle, Request};
use super::manifest;
use super::storage::{Digest, Storage};
use super::Registry;

/// `rm -rf <repo>/_manifests/tags/<tag>` for each tag; returns the tags whose directory existed.
pub fn rmtree_tags(storage: &mut Storage, repository: &str, tags: &[&str]) -> Vec<String> {
    tags.iter()
        .filter(|tag| storage.rmtree_tag(repository, tag).is_ok())
        .map(|tag| (*tag).to_owned())
        .collect()
}

/// What the API cleanup did for one tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCleanupStep {
    pub tag: String,
    pub head_status: u16,
    /// The digest the HEAD answered, which the job then deletes; for a manifest list this is
    /// the amd64 child's digest, not the list's.
    pub deleted_digest: Option<Digest>,
    pub delete_status: Option<u16>,
}

/// For each tag: `HEAD /v2/<repo>/manifests/<tag>` with `Accept:` the schema2 manifest type
/// only, then `DELETE /v2/<repo>/manifests/<Docker-Content-Digest>` when the HEAD succeeded.
pub fn api_delete_tags(
    registry: &mut Registry,
    repository: &str,
    tags: &[&str],
) -> Vec<ApiCleanupStep> {
    tags.iter()
        .map(|tag| {
            let head = handle(
                registry,
                Request::head(format!("/v2/{repository}/manifests/{tag}"))
                    .with_header("Accept", manifest::DOCKER_MANIFEST),
            );
            let deleted_digest = (head.status == 200)
                .then(|| head.content_digest())
                .flatten();
            let delete_status = deleted_digest.as_ref().map(|digest| {
                handle(
                    registry,
                    Request::delete(format!("/v2/{repository}/manifests/{digest}")),
                )
                .status
            });
            ApiCleanupStep {
                tag: (*tag).to_owned(),
                head_status: head.status,
                deleted_digest,
                delete_status,
            }
        })
        .collect()
}
