//! The simulated storage tree seen through the drills' read-only [`RegistryDisk`] view.

use super::storage::{Storage, StoragePath};
use firedrill_scenarios::registry::RegistryDisk;

/// Borrows the model's tree; paths are relative to `docker/registry/v2`, as in the model.
pub struct SimDisk<'a>(pub &'a Storage);

impl RegistryDisk for SimDisk<'_> {
    fn is_file(&self, path: &str) -> bool {
        self.0.is_file(&StoragePath::new(path))
    }

    fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        self.0
            .get_content(&StoragePath::new(path))
            .ok()
            .map(<[u8]>::to_vec)
    }

    fn list_dir(&self, path: &str) -> Vec<(String, bool)> {
        let mut entries: Vec<(String, bool)> = self
            .0
            .list(&StoragePath::new(path))
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|entry| (entry.path.file_name().to_owned(), entry.is_dir))
                    .collect()
            })
            .unwrap_or_default();
        entries.sort();
        entries
    }
}
