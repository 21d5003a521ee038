//! The inode table: the number the kernel knows each file by, and its path under the backing directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Inode numbers are ours, handed out on first lookup; the root is 1, as FUSE requires.
pub struct Inodes {
    paths: BTreeMap<u64, PathBuf>,
    numbers: BTreeMap<PathBuf, u64>,
    next: u64,
}

impl Inodes {
    pub fn new(root: &Path) -> Inodes {
        let mut inodes = Inodes {
            paths: BTreeMap::new(),
            numbers: BTreeMap::new(),
            next: 2,
        };
        inodes.paths.insert(1, root.to_path_buf());
        inodes.numbers.insert(root.to_path_buf(), 1);
        inodes
    }

    pub fn path(&self, ino: u64) -> Option<PathBuf> {
        self.paths.get(&ino).cloned()
    }

    /// The number of a path, handed out now if it has none.
    pub fn number(&mut self, path: &Path) -> u64 {
        if let Some(ino) = self.numbers.get(path) {
            return *ino;
        }
        let ino = self.next;
        self.next += 1;
        self.paths.insert(ino, path.to_path_buf());
        self.numbers.insert(path.to_path_buf(), ino);
        ino
    }

    /// A rename moves the path of the entry and of everything under it; a file it replaced loses its number.
    pub fn rename(&mut self, from: &Path, to: &Path) {
        if let Some(replaced) = self.numbers.remove(to) {
            self.paths.remove(&replaced);
        }
        let moved: Vec<(PathBuf, u64)> = self
            .numbers
            .iter()
            .filter(|(path, _)| path.starts_with(from))
            .map(|(path, ino)| (path.clone(), *ino))
            .collect();
        for (old, ino) in moved {
            let below = old.strip_prefix(from).expect("filtered on the prefix");
            // Joining an empty path would add a trailing slash, which makes a file's path fail as "not a directory".
            let new = if below.as_os_str().is_empty() {
                to.to_path_buf()
            } else {
                to.join(below)
            };
            self.numbers.remove(&old);
            self.numbers.insert(new.clone(), ino);
            self.paths.insert(ino, new);
        }
    }

    pub fn forget_path(&mut self, path: &Path) {
        if let Some(ino) = self.numbers.remove(path) {
            self.paths.remove(&ino);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_moves_children_and_drops_the_replaced_file() {
        let mut inodes = Inodes::new(Path::new("/b"));
        let dir = inodes.number(Path::new("/b/d"));
        let child = inodes.number(Path::new("/b/d/f"));
        let victim = inodes.number(Path::new("/b/e"));
        inodes.rename(Path::new("/b/d"), Path::new("/b/e"));
        assert_eq!(inodes.path(dir), Some(PathBuf::from("/b/e")));
        assert_eq!(inodes.path(child), Some(PathBuf::from("/b/e/f")));
        assert_eq!(inodes.path(victim), None);
        let file = inodes.number(Path::new("/b/a"));
        inodes.rename(Path::new("/b/a"), Path::new("/b/e/g"));
        assert_eq!(inodes.path(file), Some(PathBuf::from("/b/e/g")));
        assert!(!inodes.path(file).unwrap().to_string_lossy().ends_with('/'));
    }
}
