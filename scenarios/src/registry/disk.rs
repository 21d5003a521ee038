//! A read-only view of a registry's storage tree (`docker/registry/v2`, DOMAIN.md §5), implemented by each backend
//! over its own disk: the simulated tree, or the real bind-mounted directory.

/// Paths are relative to `docker/registry/v2`, with `/` separators.
pub trait RegistryDisk {
    fn is_file(&self, path: &str) -> bool;
    fn read_file(&self, path: &str) -> Option<Vec<u8>>;
    /// The entries of a directory as (name, is_dir), sorted by name; empty when it does not exist.
    fn list_dir(&self, path: &str) -> Vec<(String, bool)>;
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

pub fn blob_data(digest: &str) -> String {
    let hex = hex(digest);
    format!("blobs/sha256/{}/{hex}/data", &hex[..2.min(hex.len())])
}

pub fn revision_link(repository: &str, digest: &str) -> String {
    format!(
        "repositories/{repository}/_manifests/revisions/sha256/{}/link",
        hex(digest)
    )
}

pub fn layer_link(repository: &str, digest: &str) -> String {
    format!(
        "repositories/{repository}/_layers/sha256/{}/link",
        hex(digest)
    )
}

pub fn tag_current_link(repository: &str, tag: &str) -> String {
    format!("repositories/{repository}/_manifests/tags/{tag}/current/link")
}

/// The digest a link file holds, when it holds one.
pub fn read_link(disk: &dyn RegistryDisk, path: &str) -> Option<String> {
    let bytes = disk.read_file(path)?;
    let text = String::from_utf8(bytes).ok()?;
    let text = text.trim();
    text.starts_with("sha256:").then(|| text.to_string())
}

/// Every repository: each directory below `repositories/` that holds `_manifests` or `_layers`.
pub fn repositories(disk: &dyn RegistryDisk) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![String::new()];
    // Repository names nest at most a few levels; the bound keeps a corrupt tree from looping.
    let mut budget = 100_000usize;
    while let Some(prefix) = pending.pop() {
        let dir = if prefix.is_empty() {
            "repositories".to_string()
        } else {
            format!("repositories/{prefix}")
        };
        for (name, is_dir) in disk.list_dir(&dir) {
            budget = budget.saturating_sub(1);
            if !is_dir || budget == 0 {
                continue;
            }
            if name == "_manifests" || name == "_layers" || name == "_uploads" {
                if !prefix.is_empty() && found.last() != Some(&prefix) {
                    found.push(prefix.clone());
                }
                continue;
            }
            pending.push(if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            });
        }
    }
    found.sort();
    found.dedup();
    found
}
