//! A simulated distribution 2.8.x registry: its storage tree, HTTP API, descriptor cache, GC and cleanup jobs.
//!
//! The model follows distribution v2.8.3 (`github.com/distribution/distribution`, tag
//! `v2.8.3`), whose storage and GC code is the same as Debian's 2.8.2 package. Each file
//! cites the Go source it models.

pub mod api;
pub mod cache;
pub mod cleanup;
pub mod disk_view;
pub mod gc;
pub mod images;
pub mod manifest;
pub mod naive_scan;
pub mod run;
pub mod server;
pub mod storage;

use std::collections::BTreeMap;

pub use api::{handle, Method, Request, Response};
pub use cache::DescriptorCache;
pub use gc::{GcError, GcOptions, GcReport};
pub use storage::{Digest, Storage, StoragePath};

/// Which GC marking the model uses. Only `Faithful` is 2.8.x; the other exists so that a
/// differential test against a real registry can show it catches a wrong model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelVariant {
    /// 2.8.x: an index marks its children's manifest blobs only, one level deep.
    #[default]
    Faithful,
    /// Deliberately wrong for 2.8.x (closer to v3.0): an index also marks its children's
    /// configs and layers, and `--delete-untagged` spares children of a tagged index.
    MarkRecursively,
}

/// The registry's `config.yml` settings that change observable behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// `storage.delete.enabled`. Off by default in distribution; the seed's registry had it on.
    pub delete_enabled: bool,
    /// `storage.cache.blobdescriptor: inmemory`, as in the `registry:2` image's default config.
    pub descriptor_cache: bool,
    /// `catalog.maxentries`: 1000 when unset.
    pub catalog_max_entries: usize,
    /// Whether `/tags/list` honours `n` and `last`. 2.8.x ignores both and returns every tag
    /// (`registry/handlers/tags.go`); v3 paginates. Off is faithful to 2.8.x.
    pub tags_list_pagination: bool,
    pub variant: ModelVariant,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            delete_enabled: true,
            descriptor_cache: true,
            catalog_max_entries: 1000,
            tags_list_pagination: false,
            variant: ModelVariant::Faithful,
        }
    }
}

/// One registry: the disk, and the process state that a restart loses.
#[derive(Debug, Clone)]
pub struct Registry {
    pub storage: Storage,
    pub cache: DescriptorCache,
    pub config: RegistryConfig,
    /// Upload sessions by id. Their bytes live on disk under `_uploads`, so they survive a restart.
    uploads: BTreeMap<String, String>,
    next_upload_number: u64,
}

impl Registry {
    pub fn new(config: RegistryConfig) -> Self {
        Registry {
            storage: Storage::new(),
            cache: DescriptorCache::new(config.descriptor_cache),
            config,
            uploads: BTreeMap::new(),
            next_upload_number: 0,
        }
    }

    /// A registry process restart: the descriptor cache is empty again; the disk is unchanged.
    pub fn restart(&mut self) {
        self.cache.reset();
    }

    /// `registry garbage-collect` run against this registry's disk. It is a separate process,
    /// so the running registry's descriptor cache is not told about what it deletes.
    pub fn garbage_collect(&mut self, options: GcOptions) -> Result<GcReport, GcError> {
        gc::garbage_collect(&mut self.storage, options, self.config.variant)
    }

    /// Starts an upload session and returns its id, which is deterministic: `upload-<n>`.
    fn open_upload(&mut self, repository: &str) -> String {
        self.next_upload_number += 1;
        let id = format!("upload-{:08}", self.next_upload_number);
        self.uploads.insert(id.clone(), repository.to_owned());
        id
    }

    fn upload_repository(&self, id: &str) -> Option<&str> {
        self.uploads.get(id).map(String::as_str)
    }

    fn close_upload(&mut self, id: &str) {
        self.uploads.remove(id);
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(RegistryConfig::default())
    }
}
