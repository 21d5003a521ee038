//! The built-in scenario catalog, embedded in the binary so `firedrill` runs from any directory.

use crate::parse_error::ParseError;
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};

/// Every catalog entry: its name and the text of `scenarios/catalog/<name>.toml`.
pub const ENTRIES: &[(&str, &str)] = &[
    (
        "vault-stuck-leader",
        include_str!("../catalog/vault-stuck-leader.toml"),
    ),
    (
        "vault-healthy",
        include_str!("../catalog/vault-healthy.toml"),
    ),
    (
        "vault-slow-disk",
        include_str!("../catalog/vault-slow-disk.toml"),
    ),
];

/// The path a catalog entry is reported under in errors.
pub fn path_of(name: &str) -> PathBuf {
    PathBuf::from(format!("scenarios/catalog/{name}.toml"))
}

/// Names of the catalog's scenarios, in catalog order.
pub fn names() -> Vec<&'static str> {
    ENTRIES.iter().map(|(name, _)| *name).collect()
}

/// Loads a catalog scenario by name, or a scenario file when `name_or_path` names an existing `.toml` file.
pub fn load(name_or_path: &str) -> Result<Scenario, LoadError> {
    if let Some((name, source)) = ENTRIES.iter().find(|(name, _)| *name == name_or_path) {
        return Scenario::parse(&path_of(name), source).map_err(LoadError::Parse);
    }
    let path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || path.is_file() {
        return Scenario::load(path).map_err(LoadError::Parse);
    }
    Err(LoadError::Unknown {
        name: name_or_path.to_string(),
        known: names().join(", "),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Parse(ParseError),
    #[error(
        "unknown scenario \"{name}\"; the catalog has: {known} (or pass a path to a .toml file)"
    )]
    Unknown { name: String, known: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_entry_parses_and_is_named_like_its_file() {
        for (name, _) in ENTRIES {
            let scenario = load(name).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(&scenario.name, name);
        }
    }

    #[test]
    fn unknown_names_list_the_catalog() {
        let error = load("no-such-drill").unwrap_err().to_string();
        assert!(error.contains("vault-stuck-leader"), "{error}");
    }
}
