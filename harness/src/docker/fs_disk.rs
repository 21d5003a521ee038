//! The real storage tree seen through the drills' read-only [`RegistryDisk`] view.

use firedrill_scenarios::registry::RegistryDisk;
use std::path::PathBuf;

/// Reads below a registry's `docker/registry/v2` directory on the host.
pub struct FsDisk {
    pub root: PathBuf,
}

impl RegistryDisk for FsDisk {
    fn is_file(&self, path: &str) -> bool {
        self.root.join(path).is_file()
    }

    fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.join(path)).ok()
    }

    fn list_dir(&self, path: &str) -> Vec<(String, bool)> {
        let Ok(entries) = std::fs::read_dir(self.root.join(path)) else {
            return Vec::new();
        };
        let mut listed: Vec<(String, bool)> = entries
            .filter_map(Result::ok)
            .map(|entry| {
                let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
                (entry.file_name().to_string_lossy().into_owned(), is_dir)
            })
            .collect();
        listed.sort();
        listed
    }
}
