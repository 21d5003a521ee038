//! Faults on a registry's real storage tree (DOMAIN.md §5 layout), applied from the host through the bind mount.

use std::io;
use std::path::{Path, PathBuf};

/// The `docker/registry/v2` tree of one registry's filesystem storage.
#[derive(Clone, Debug)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    /// `storage_dir` is what the container mounts at `/var/lib/registry`.
    pub fn new(storage_dir: &Path) -> Storage {
        Storage {
            root: storage_dir.join("docker/registry/v2"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn hex(digest: &str) -> &str {
        digest
            .strip_prefix("sha256:")
            .expect("the harness only pushes sha256 digests")
    }

    /// `repositories/<name>/_manifests/revisions/sha256/<hex>/link`
    pub fn revision_link(&self, repository: &str, digest: &str) -> PathBuf {
        self.root
            .join("repositories")
            .join(repository)
            .join("_manifests/revisions/sha256")
            .join(Self::hex(digest))
            .join("link")
    }

    /// `repositories/<name>/_layers/sha256/<hex>/link`
    pub fn layer_link(&self, repository: &str, digest: &str) -> PathBuf {
        self.root
            .join("repositories")
            .join(repository)
            .join("_layers/sha256")
            .join(Self::hex(digest))
            .join("link")
    }

    /// `blobs/sha256/<hex[0:2]>/<hex>/data`
    pub fn blob_data(&self, digest: &str) -> PathBuf {
        let hex = Self::hex(digest);
        self.root
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// `repositories/<name>/_manifests/tags/<tag>`
    pub fn tag_dir(&self, repository: &str, tag: &str) -> PathBuf {
        self.root
            .join("repositories")
            .join(repository)
            .join("_manifests/tags")
            .join(tag)
    }

    /// Orphans a manifest: the incident's state, "HEAD 404, data on disk".
    pub fn remove_revision_link(&self, repository: &str, digest: &str) -> io::Result<()> {
        std::fs::remove_file(self.revision_link(repository, digest))
    }

    /// Unlinks a config or layer from a repository; the data stays.
    pub fn remove_layer_link(&self, repository: &str, digest: &str) -> io::Result<()> {
        std::fs::remove_file(self.layer_link(repository, digest))
    }

    /// Deletes a blob's data for every repository; the links stay.
    pub fn delete_blob_data(&self, digest: &str) -> io::Result<()> {
        std::fs::remove_file(self.blob_data(digest))
    }

    /// What the seed's cleanup script does: rmtree of a tag directory. `revisions/` is untouched.
    pub fn remove_tag_dir(&self, repository: &str, tag: &str) -> io::Result<()> {
        std::fs::remove_dir_all(self.tag_dir(repository, tag))
    }

    pub fn blob_data_exists(&self, digest: &str) -> bool {
        self.blob_data(digest).is_file()
    }

    pub fn revision_link_exists(&self, repository: &str, digest: &str) -> bool {
        self.revision_link(repository, digest).is_file()
    }
}
