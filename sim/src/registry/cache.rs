//! The `blobdescriptor: inmemory` cache, and the 2.8.x statter chain that consults it before the disk.
//!
//! Source: distribution v2.8.3 `registry/storage/cache/memory/memory.go`,
//! `registry/storage/cache/cachedblobdescriptorstore.go`, `registry/storage/registry.go`
//! (`BlobDescriptorCacheProvider`, `repository.Blobs`, `repository.Manifests`) and
//! `registry/storage/linkedblobstore.go` (`linkedBlobStatter.Stat`).
//!
//! The chain, as wired in 2.8.x:
//! - A repository's blob lookup asks the repository-scoped cache first. A hit answers
//!   without reading the `_layers` link or the data, so a link removed or data swept after
//!   the lookup was cached stays invisible until restart.
//! - On a miss it reads the `_layers` link from disk, then asks the global statter, which
//!   is itself cached: a hit answers without checking the data file.
//! - A manifest lookup is never repository-cached: it always reads the revision link (or,
//!   for historical reasons, the `_layers` link) from disk, then asks the cached global statter.

use std::collections::BTreeMap;

use super::storage::{paths, Digest, LinkError, Storage};

/// What a statter answers for a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobDescriptor {
    pub digest: Digest,
    pub size_bytes: u64,
    /// The global statter answers `application/octet-stream` for every blob; the repository
    /// does not override it in 2.8.x, so blob responses carry this type.
    pub media_type: &'static str,
}

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatError {
    /// `distribution.ErrBlobUnknown`: no link, or no data.
    BlobUnknown,
    /// A link that does not hold a digest; 2.8.x surfaces this as 500 UNKNOWN.
    CorruptLink,
}

/// The in-memory descriptor cache of one registry process.
#[derive(Debug, Clone, Default)]
pub struct DescriptorCache {
    enabled: bool,
    global: BTreeMap<Digest, BlobDescriptor>,
    repositories: BTreeMap<String, BTreeMap<Digest, BlobDescriptor>>,
}

const OCTET_STREAM: &str = "application/octet-stream";

impl DescriptorCache {
    pub fn new(enabled: bool) -> Self {
        DescriptorCache {
            enabled,
            ..Self::default()
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Forgets everything, as a registry restart does.
    pub fn reset(&mut self) {
        self.global.clear();
        self.repositories.clear();
    }

    /// True when the global cache holds the digest.
    pub fn holds_global(&self, digest: &Digest) -> bool {
        self.global.contains_key(digest)
    }

    /// True when the repository-scoped cache holds the digest.
    pub fn holds_in_repository(&self, repository: &str, digest: &Digest) -> bool {
        self.repositories
            .get(repository)
            .is_some_and(|r| r.contains_key(digest))
    }

    /// The global statter (`cachedBlobStatter` over `blobStatter`): the cache, then the data file.
    pub fn stat_global(
        &mut self,
        storage: &Storage,
        digest: &Digest,
    ) -> Result<BlobDescriptor, StatError> {
        if let Some(hit) = self.global.get(digest) {
            return Ok(hit.clone());
        }
        let content = storage.blob_data(digest).ok_or(StatError::BlobUnknown)?;
        let descriptor = BlobDescriptor {
            digest: digest.clone(),
            size_bytes: content.len() as u64,
            media_type: OCTET_STREAM,
        };
        if self.enabled {
            self.global.insert(digest.clone(), descriptor.clone());
        }
        Ok(descriptor)
    }

    /// `repository.Blobs(ctx).Stat`: the repository cache, then the `_layers` link, then the global statter.
    pub fn stat_repository_blob(
        &mut self,
        storage: &Storage,
        repository: &str,
        digest: &Digest,
    ) -> Result<BlobDescriptor, StatError> {
        if let Some(hit) = self
            .repositories
            .get(repository)
            .and_then(|r| r.get(digest))
        {
            return Ok(hit.clone());
        }
        let target = resolve_link(storage, &paths::layer_link(repository, digest))?;
        let descriptor = self.stat_global(storage, &target)?;
        self.set_repository_descriptor(repository, digest, &descriptor);
        Ok(descriptor)
    }

    /// The manifest statter of `repository.Manifests`: the revision link, else the `_layers`
    /// link, then the global statter. No repository cache sits in front of it.
    pub fn stat_manifest(
        &mut self,
        storage: &Storage,
        repository: &str,
        digest: &Digest,
    ) -> Result<BlobDescriptor, StatError> {
        let target = match resolve_link(storage, &paths::revision_link(repository, digest)) {
            Err(StatError::BlobUnknown) => {
                resolve_link(storage, &paths::layer_link(repository, digest))?
            }
            other => other?,
        };
        self.stat_global(storage, &target)
    }

    /// `SetDescriptor` on the repository-scoped cache, which also fills the global one if it
    /// lacks the digest (`repositoryScopedInMemoryBlobDescriptorCache.SetDescriptor`).
    pub fn set_repository_descriptor(
        &mut self,
        repository: &str,
        digest: &Digest,
        descriptor: &BlobDescriptor,
    ) {
        if !self.enabled {
            return;
        }
        self.repositories
            .entry(repository.to_owned())
            .or_default()
            .insert(digest.clone(), descriptor.clone());
        self.global
            .entry(digest.clone())
            .or_insert_with(|| descriptor.clone());
    }

    /// `Clear` on the repository-scoped cache, as a blob DELETE does before removing the link.
    /// The global entry stays, as in 2.8.x.
    pub fn clear_repository_descriptor(&mut self, repository: &str, digest: &Digest) {
        if let Some(entries) = self.repositories.get_mut(repository) {
            entries.remove(digest);
        }
    }
}

fn resolve_link(
    storage: &Storage,
    link: &super::storage::StoragePath,
) -> Result<Digest, StatError> {
    storage.read_link(link).map_err(|e| match e {
        LinkError::NotFound => StatError::BlobUnknown,
        LinkError::Corrupt => StatError::CorruptLink,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage_with_linked_blob(repository: &str, content: &[u8]) -> (Storage, Digest) {
        let mut storage = Storage::new();
        let digest = storage.put_blob_data(content.to_vec());
        storage.write_link(&paths::layer_link(repository, &digest), &digest);
        (storage, digest)
    }

    #[test]
    fn a_cached_blob_stays_visible_after_its_link_and_data_go_until_reset() {
        let (mut storage, digest) = storage_with_linked_blob("r", b"layer");
        let mut cache = DescriptorCache::new(true);
        assert!(cache.stat_repository_blob(&storage, "r", &digest).is_ok());
        storage
            .remove_link(&paths::layer_link("r", &digest))
            .unwrap();
        storage.delete_blob_data(&digest).unwrap();
        assert_eq!(
            cache
                .stat_repository_blob(&storage, "r", &digest)
                .unwrap()
                .size_bytes,
            5
        );
        cache.reset();
        assert_eq!(
            cache.stat_repository_blob(&storage, "r", &digest),
            Err(StatError::BlobUnknown)
        );
    }

    #[test]
    fn without_the_cache_every_lookup_reads_the_disk() {
        let (mut storage, digest) = storage_with_linked_blob("r", b"layer");
        let mut cache = DescriptorCache::new(false);
        assert!(cache.stat_repository_blob(&storage, "r", &digest).is_ok());
        storage.delete_blob_data(&digest).unwrap();
        assert_eq!(
            cache.stat_repository_blob(&storage, "r", &digest),
            Err(StatError::BlobUnknown)
        );
    }

    #[test]
    fn a_manifest_lookup_always_reads_the_revision_link_from_disk() {
        let mut storage = Storage::new();
        let digest = storage.put_blob_data(b"{}".to_vec());
        storage.write_link(&paths::revision_link("r", &digest), &digest);
        let mut cache = DescriptorCache::new(true);
        assert!(cache.stat_manifest(&storage, "r", &digest).is_ok());
        storage
            .remove_link(&paths::revision_link("r", &digest))
            .unwrap();
        assert_eq!(
            cache.stat_manifest(&storage, "r", &digest),
            Err(StatError::BlobUnknown)
        );
        // The global entry still answers for the data once any link resolves again.
        storage.write_link(&paths::layer_link("r", &digest), &digest);
        storage.delete_blob_data(&digest).unwrap();
        assert!(cache.stat_manifest(&storage, "r", &digest).is_ok());
    }
}
