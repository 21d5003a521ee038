//! The registry's storage tree as data: distribution 2.8.x's on-disk layout, held as an ordered in-memory tree.
//!
//! Paths are relative to the storage root `/docker/registry/v2/` and follow
//! distribution's `registry/storage/paths.go`. The tree keeps directories as well as
//! files, because 2.8.x behaves differently for an empty directory and a missing one
//! (for example `_manifests/tags` missing makes the tag list answer NAME_UNKNOWN).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest as _, Sha256};

/// A content digest, always `sha256:<64 lowercase hex>`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Digest(String);

impl Digest {
    /// The sha256 digest of `bytes`, as distribution computes it for blobs and manifests.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        let mut text = String::with_capacity(7 + 64);
        text.push_str("sha256:");
        for byte in hash {
            text.push_str(&format!("{byte:02x}"));
        }
        Digest(text)
    }

    /// Parses `sha256:<hex>`; anything else (another algorithm, bad hex, wrong length) is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("sha256:")?;
        let valid = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Digest(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part, without the `sha256:` prefix.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The first 12 hex characters, for messages.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A path in the storage tree, relative to the storage root, without leading or trailing `/`.
///
/// It orders like distribution's `lessPath` (`registry/storage/catalog.go`): `/` compares
/// below every other byte. That makes the order of the tree the pre-order of a walk
/// whose children are sorted by name, which is the order in which 2.8.x's
/// `WalkFallback` visits the filesystem driver's tree.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct StoragePath(String);

impl StoragePath {
    pub fn new(path: impl Into<String>) -> Self {
        let path = path.into();
        assert!(
            !path.starts_with('/') && !path.ends_with('/'),
            "storage paths are relative and have no trailing slash: {path:?}"
        );
        StoragePath(path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn join(&self, segment: &str) -> Self {
        if self.0.is_empty() {
            StoragePath::new(segment)
        } else {
            StoragePath::new(format!("{}/{}", self.0, segment))
        }
    }

    pub fn parent(&self) -> Option<Self> {
        self.0
            .rsplit_once('/')
            .map(|(parent, _)| StoragePath(parent.to_owned()))
    }

    pub fn file_name(&self) -> &str {
        self.0
            .rsplit_once('/')
            .map_or(self.0.as_str(), |(_, name)| name)
    }

    /// True when `self` lies strictly below `ancestor`.
    pub fn is_below(&self, ancestor: &StoragePath) -> bool {
        self.0.len() > ancestor.0.len()
            && self.0.starts_with(&ancestor.0)
            && self.0.as_bytes()[ancestor.0.len()] == b'/'
    }
}

impl Ord for StoragePath {
    fn cmp(&self, other: &Self) -> Ordering {
        let key = |b: &u8| if *b == b'/' { 0 } else { *b };
        self.0
            .as_bytes()
            .iter()
            .map(key)
            .cmp(other.0.as_bytes().iter().map(key))
    }
}

impl PartialOrd for StoragePath {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for StoragePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The path specs of distribution's `registry/storage/paths.go` that the model uses.
pub mod paths {
    use super::{Digest, StoragePath};

    pub fn repositories_root() -> StoragePath {
        StoragePath::new("repositories")
    }

    pub fn repository_root(repository: &str) -> StoragePath {
        repositories_root().join(repository)
    }

    /// `blobs/`: the root the sweep enumerates.
    pub fn blobs_root() -> StoragePath {
        StoragePath::new("blobs")
    }

    /// `blobs/sha256/<hex[0:2]>/<hex>`: what `Vacuum.RemoveBlob` deletes.
    pub fn blob_dir(digest: &Digest) -> StoragePath {
        let hex = digest.hex();
        StoragePath::new(format!("blobs/sha256/{}/{}", &hex[..2], hex))
    }

    /// `blobs/sha256/<hex[0:2]>/<hex>/data`.
    pub fn blob_data(digest: &Digest) -> StoragePath {
        blob_dir(digest).join("data")
    }

    /// `<repo>/_layers`: its existence is what makes a directory a repository for the catalog and GC.
    pub fn layers_root(repository: &str) -> StoragePath {
        repository_root(repository).join("_layers")
    }

    /// `<repo>/_layers/sha256/<hex>/link`.
    pub fn layer_link(repository: &str, digest: &Digest) -> StoragePath {
        layers_root(repository).join(&format!("sha256/{}/link", digest.hex()))
    }

    /// `<repo>/_manifests/revisions`: the root the manifest enumerator walks.
    pub fn revisions_root(repository: &str) -> StoragePath {
        repository_root(repository).join("_manifests/revisions")
    }

    /// `<repo>/_manifests/revisions/sha256/<hex>`: what `Vacuum.RemoveManifest` deletes.
    pub fn revision_dir(repository: &str, digest: &Digest) -> StoragePath {
        revisions_root(repository).join(&format!("sha256/{}", digest.hex()))
    }

    /// `<repo>/_manifests/revisions/sha256/<hex>/link`.
    pub fn revision_link(repository: &str, digest: &Digest) -> StoragePath {
        revision_dir(repository, digest).join("link")
    }

    /// `<repo>/_manifests/tags`.
    pub fn tags_root(repository: &str) -> StoragePath {
        repository_root(repository).join("_manifests/tags")
    }

    /// `<repo>/_manifests/tags/<tag>`: what `Untag` and the seed's cleanup script remove.
    pub fn tag_dir(repository: &str, tag: &str) -> StoragePath {
        tags_root(repository).join(tag)
    }

    /// `<repo>/_manifests/tags/<tag>/current/link`.
    pub fn tag_current_link(repository: &str, tag: &str) -> StoragePath {
        tag_dir(repository, tag).join("current/link")
    }

    /// `<repo>/_manifests/tags/<tag>/index/sha256/<hex>`: what `Vacuum.RemoveManifest` deletes per tag.
    pub fn tag_index_entry_dir(repository: &str, tag: &str, digest: &Digest) -> StoragePath {
        tag_dir(repository, tag).join(&format!("index/sha256/{}", digest.hex()))
    }

    /// `<repo>/_manifests/tags/<tag>/index/sha256/<hex>/link`.
    pub fn tag_index_link(repository: &str, tag: &str, digest: &Digest) -> StoragePath {
        tag_index_entry_dir(repository, tag, digest).join("link")
    }

    /// The digest a `blobs/sha256/<xx>/<hex>/data` path names, as `digestFromPath` reads it.
    pub fn digest_from_blob_data_path(path: &StoragePath) -> Option<Digest> {
        let rest = path
            .as_str()
            .strip_prefix("blobs/sha256/")?
            .strip_suffix("/data")?;
        let (_, hex) = rest.split_once('/')?;
        Digest::parse(&format!("sha256:{hex}"))
    }
}

/// The storage driver's "path not found", which 2.8.x handles differently from other errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathNotFound(pub StoragePath);

/// Why a link could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    NotFound,
    /// The file exists but does not hold a digest; 2.8.x answers 500 UNKNOWN for this.
    Corrupt,
}

/// A node of the tree: a directory or a file with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
}

/// One entry of a walk or listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: StoragePath,
    pub is_dir: bool,
}

/// A link file and what reading it gave.
pub type LinkEntry = (StoragePath, Result<Digest, LinkError>);

/// The storage tree. Every file's ancestors exist as directories, as on a filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storage {
    nodes: BTreeMap<StoragePath, Node>,
}

impl Storage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes a file, creating its parent directories, like the filesystem driver's `PutContent`.
    pub fn put_content(&mut self, path: &StoragePath, content: Vec<u8>) {
        let mut ancestor = path.parent();
        while let Some(dir) = ancestor {
            if let Some(Node::File(_)) = self.nodes.get(&dir) {
                panic!("cannot create {path}: {dir} is a file");
            }
            ancestor = dir.parent();
            self.nodes.insert(dir, Node::Dir);
        }
        if let Some(Node::Dir) = self.nodes.get(path) {
            panic!("cannot write {path}: it is a directory");
        }
        self.nodes.insert(path.clone(), Node::File(content));
    }

    pub fn get_content(&self, path: &StoragePath) -> Result<&[u8], PathNotFound> {
        match self.nodes.get(path) {
            Some(Node::File(content)) => Ok(content),
            _ => Err(PathNotFound(path.clone())),
        }
    }

    pub fn is_file(&self, path: &StoragePath) -> bool {
        matches!(self.nodes.get(path), Some(Node::File(_)))
    }

    pub fn is_dir(&self, path: &StoragePath) -> bool {
        matches!(self.nodes.get(path), Some(Node::Dir))
    }

    /// Removes a file, or a directory with everything below it, like the filesystem
    /// driver's `Delete` (`os.RemoveAll`). Parent directories stay, possibly empty.
    pub fn delete(&mut self, path: &StoragePath) -> Result<(), PathNotFound> {
        if self.nodes.remove(path).is_none() {
            return Err(PathNotFound(path.clone()));
        }
        let below: Vec<StoragePath> = self.descendants(path).map(|(p, _)| p.clone()).collect();
        for p in below {
            self.nodes.remove(&p);
        }
        Ok(())
    }

    /// Writes a link file holding the digest's exact text, as `blobStore.link` does.
    pub fn write_link(&mut self, path: &StoragePath, digest: &Digest) {
        self.put_content(path, digest.as_str().as_bytes().to_vec());
    }

    /// Reads a link file, as `blobStore.readlink` does.
    pub fn read_link(&self, path: &StoragePath) -> Result<Digest, LinkError> {
        let content = self.get_content(path).map_err(|_| LinkError::NotFound)?;
        let text = std::str::from_utf8(content).map_err(|_| LinkError::Corrupt)?;
        Digest::parse(text).ok_or(LinkError::Corrupt)
    }

    /// The immediate children of a directory, in walk order.
    pub fn list(&self, dir: &StoragePath) -> Result<Vec<Entry>, PathNotFound> {
        if !self.is_dir(dir) {
            return Err(PathNotFound(dir.clone()));
        }
        Ok(self
            .descendants(dir)
            .filter(|(p, _)| p.parent().as_ref() == Some(dir))
            .map(|(p, node)| Entry {
                path: p.clone(),
                is_dir: matches!(node, Node::Dir),
            })
            .collect())
    }

    /// Everything below `root` in the order 2.8.x's `WalkFallback` visits it.
    pub fn walk(&self, root: &StoragePath) -> Result<Vec<Entry>, PathNotFound> {
        if !self.is_dir(root) {
            return Err(PathNotFound(root.clone()));
        }
        Ok(self
            .descendants(root)
            .map(|(p, node)| Entry {
                path: p.clone(),
                is_dir: matches!(node, Node::Dir),
            })
            .collect())
    }

    /// Every file with its content, in tree order.
    pub fn files(&self) -> impl Iterator<Item = (&StoragePath, &[u8])> {
        self.nodes.iter().filter_map(|(p, node)| match node {
            Node::File(content) => Some((p, content.as_slice())),
            Node::Dir => None,
        })
    }

    /// Every node, in tree order: the whole observable state of the disk.
    pub fn nodes(&self) -> impl Iterator<Item = (&StoragePath, &Node)> {
        self.nodes.iter()
    }

    fn descendants<'a>(
        &'a self,
        root: &'a StoragePath,
    ) -> impl Iterator<Item = (&'a StoragePath, &'a Node)> + 'a {
        self.nodes
            .range((
                std::ops::Bound::Excluded(root.clone()),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(p, _)| p.is_below(root))
    }

    // Operations the fault injector and the cleanup job use, named after what an operator does.

    /// Writes blob data directly, as a push's upload commit leaves it.
    pub fn put_blob_data(&mut self, content: Vec<u8>) -> Digest {
        let digest = Digest::of_bytes(&content);
        self.put_content(&paths::blob_data(&digest), content);
        digest
    }

    pub fn blob_data_exists(&self, digest: &Digest) -> bool {
        self.is_file(&paths::blob_data(digest))
    }

    pub fn blob_data(&self, digest: &Digest) -> Option<&[u8]> {
        self.get_content(&paths::blob_data(digest)).ok()
    }

    /// Deletes `blobs/sha256/<xx>/<hex>`, as `Vacuum.RemoveBlob` or an operator's `rm -rf` does.
    pub fn delete_blob_data(&mut self, digest: &Digest) -> Result<(), PathNotFound> {
        self.delete(&paths::blob_dir(digest))
    }

    /// Removes one link file (a revision, layer, or tag link).
    pub fn remove_link(&mut self, link: &StoragePath) -> Result<(), PathNotFound> {
        assert_eq!(link.file_name(), "link", "{link} is not a link file");
        self.delete(link)
    }

    /// `rm -rf <repo>/_manifests/tags/<tag>`, as the seed's cleanup-tags.sh does.
    pub fn rmtree_tag(&mut self, repository: &str, tag: &str) -> Result<(), PathNotFound> {
        self.delete(&paths::tag_dir(repository, tag))
    }

    /// Every blob whose `data` file exists, in walk order.
    pub fn blob_digests(&self) -> Vec<Digest> {
        let root = paths::blobs_root();
        self.descendants(&root)
            .filter(|(p, node)| matches!(node, Node::File(_)) && p.file_name() == "data")
            .filter_map(|(p, _)| paths::digest_from_blob_data_path(p))
            .collect()
    }

    /// The repositories in catalog order, found as 2.8.x's `handleRepository` finds them: a
    /// directory holding a `_layers` entry, never looking inside directories whose name starts
    /// with `_`. A repository with manifests but no `_layers` is invisible to the catalog and GC.
    pub fn repositories(&self) -> Vec<String> {
        let root = paths::repositories_root();
        self.descendants(&root)
            .filter_map(|(p, _)| {
                let relative = &p.as_str()[root.as_str().len() + 1..];
                let segments: Vec<&str> = relative.split('/').collect();
                let (last, parents) = segments.split_last()?;
                let hidden = parents.iter().any(|s| s.starts_with('_'));
                (*last == "_layers" && !hidden && !parents.is_empty()).then(|| parents.join("/"))
            })
            .collect()
    }

    /// Every `link` file below a directory, with the digest it holds, in walk order.
    pub fn links_below(&self, root: &StoragePath) -> Result<Vec<LinkEntry>, PathNotFound> {
        Ok(self
            .walk(root)?
            .into_iter()
            .filter(|e| !e.is_dir && e.path.file_name() == "link")
            .map(|e| {
                let digest = self.read_link(&e.path);
                (e.path, digest)
            })
            .collect())
    }
}

/// `lessPath` from 2.8.x's catalog: compares repository names with `/` below every other byte.
pub fn less_path(a: &str, b: &str) -> bool {
    StoragePath(a.to_owned()) < StoragePath(b.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_the_sha256_of_the_bytes() {
        // The sha256 of the empty string is a well-known constant.
        assert_eq!(
            Digest::of_bytes(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(Digest::parse("sha256:abc").is_none());
        assert!(Digest::parse(
            "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        .is_none());
    }

    #[test]
    fn blob_paths_follow_distribution_layout() {
        let digest = Digest::of_bytes(b"");
        assert_eq!(
            paths::blob_data(&digest).as_str(),
            "blobs/sha256/e3/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/data"
        );
        assert_eq!(
            paths::tag_index_link("library/app", "v1", &digest).as_str(),
            "repositories/library/app/_manifests/tags/v1/index/sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/link"
        );
        assert_eq!(
            paths::digest_from_blob_data_path(&paths::blob_data(&digest)),
            Some(digest)
        );
    }

    #[test]
    fn walk_order_puts_a_directory_before_its_siblings_that_sort_after_it() {
        // With plain string order "a-b" < "a/b"; a walk visits "a" and its children first.
        let mut storage = Storage::new();
        storage.put_content(&StoragePath::new("repositories/a-b/_layers/x"), vec![]);
        storage.put_content(&StoragePath::new("repositories/a/b/_layers/x"), vec![]);
        storage.put_content(&StoragePath::new("repositories/a/_layers/x"), vec![]);
        assert_eq!(storage.repositories(), vec!["a", "a/b", "a-b"]);
        assert!(less_path("a/b", "a-b"));
    }

    #[test]
    fn delete_removes_a_subtree_and_keeps_the_parent() {
        let mut storage = Storage::new();
        let digest = Digest::of_bytes(b"x");
        storage.write_link(&paths::tag_current_link("r", "t"), &digest);
        storage.write_link(&paths::tag_index_link("r", "t", &digest), &digest);
        storage.rmtree_tag("r", "t").unwrap();
        assert!(storage.is_dir(&paths::tags_root("r")));
        assert_eq!(storage.list(&paths::tags_root("r")).unwrap(), vec![]);
        assert_eq!(
            storage.rmtree_tag("r", "t"),
            Err(PathNotFound(paths::tag_dir("r", "t")))
        );
    }

    #[test]
    fn a_corrupt_link_is_not_a_missing_link() {
        let mut storage = Storage::new();
        let link = paths::revision_link("r", &Digest::of_bytes(b"x"));
        assert_eq!(storage.read_link(&link), Err(LinkError::NotFound));
        storage.put_content(&link, b"garbage".to_vec());
        assert_eq!(storage.read_link(&link), Err(LinkError::Corrupt));
    }
}
