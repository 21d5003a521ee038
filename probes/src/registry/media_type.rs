//! Manifest media types and the `Accept` header that makes the registry return each object as stored.
//!
//! Distribution 2.8 answers a GET or HEAD by tag of an OCI index with 404 unless the index type is accepted,
//! and rewrites a Docker manifest list to its linux/amd64 child unless the list type is accepted (DOMAIN.md §5).
//! The probe therefore always accepts all four types.

/// An OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// A Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// An OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// A Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The `Accept` value for manifest requests: every type the walk understands, indexes first.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Whether a media type names an index (OCI index or Docker manifest list).
pub fn is_index(media_type: &str) -> bool {
    matches!(media_type, OCI_INDEX | DOCKER_MANIFEST_LIST)
}

/// Whether a layer is foreign or non-distributable: its data lives elsewhere (its `urls`), so the registry is
/// not expected to hold it and a 404 for it is no breakage.
pub fn is_non_distributable_layer(media_type: &str) -> bool {
    media_type.contains(".foreign.") || media_type.contains(".nondistributable.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_lists_every_type() {
        for media_type in [
            OCI_INDEX,
            DOCKER_MANIFEST_LIST,
            OCI_MANIFEST,
            DOCKER_MANIFEST,
        ] {
            assert!(MANIFEST_ACCEPT.contains(media_type), "{media_type}");
        }
        assert!(http::HeaderValue::from_str(MANIFEST_ACCEPT).is_ok());
    }

    #[test]
    fn classifies_indexes_and_foreign_layers() {
        assert!(is_index(OCI_INDEX) && is_index(DOCKER_MANIFEST_LIST));
        assert!(!is_index(OCI_MANIFEST) && !is_index(DOCKER_MANIFEST));
        assert!(is_non_distributable_layer(
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        ));
        assert!(!is_non_distributable_layer(
            "application/vnd.oci.image.layer.v1.tar+gzip"
        ));
    }
}
