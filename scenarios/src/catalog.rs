//! The built-in scenario catalog, embedded in the binary so `firedrill` runs from any directory.

use crate::drill::Drill;
use crate::parse_error::ParseError;
use crate::runbook::RunbookFile;
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};

/// Every catalog entry: its name and the text of `scenarios/catalog/<name>.toml`.
pub const ENTRIES: &[(&str, &str)] = &[
    (
        "vault-stuck-leader",
        include_str!("../catalog/vault-stuck-leader.toml"),
    ),
    (
        "vault-stuck-leader-openbao",
        include_str!("../catalog/vault-stuck-leader-openbao.toml"),
    ),
    (
        "vault-healthy",
        include_str!("../catalog/vault-healthy.toml"),
    ),
    (
        "vault-slow-disk",
        include_str!("../catalog/vault-slow-disk.toml"),
    ),
    (
        "vault-node-nfs-stuck",
        include_str!("../catalog/vault-node-nfs-stuck.toml"),
    ),
    (
        "vault-chown-loop",
        include_str!("../catalog/vault-chown-loop.toml"),
    ),
    (
        "vault-storage-migration",
        include_str!("../catalog/vault-storage-migration.toml"),
    ),
    (
        "vault-premature-recovery",
        include_str!("../catalog/vault-premature-recovery.toml"),
    ),
    (
        "registry-orphan-index",
        include_str!("../catalog/registry-orphan-index.toml"),
    ),
    (
        "registry-orphan-api-cleanup",
        include_str!("../catalog/registry-orphan-api-cleanup.toml"),
    ),
    (
        "registry-orphan-gc-sweep",
        include_str!("../catalog/registry-orphan-gc-sweep.toml"),
    ),
    (
        "registry-healthy",
        include_str!("../catalog/registry-healthy.toml"),
    ),
];

/// The surviving mutants of the catalog's runbooks that change nothing a rule can see, each with its reason
/// (`scenarios/runbooks/equivalent-mutants.toml`); `firedrill mutate` fails on any other survivor.
pub const EQUIVALENT_MUTANTS: &str = include_str!("../runbooks/equivalent-mutants.toml");

/// Every catalog runbook: its name and the text of `scenarios/runbooks/<name>.toml`.
pub const RUNBOOKS: &[(&str, &str)] = &[
    (
        "vault-safe-restart",
        include_str!("../runbooks/vault-safe-restart.toml"),
    ),
    (
        "vault-safe-restart-umount-f",
        include_str!("../runbooks/vault-safe-restart-umount-f.toml"),
    ),
    (
        "vault-canary-restart",
        include_str!("../runbooks/vault-canary-restart.toml"),
    ),
    (
        "vault-canary-restart-umount-l",
        include_str!("../runbooks/vault-canary-restart-umount-l.toml"),
    ),
    (
        "vault-migrate-storage",
        include_str!("../runbooks/vault-migrate-storage.toml"),
    ),
    (
        "unsafe/force-delete-first",
        include_str!("../runbooks/unsafe/force-delete-first.toml"),
    ),
    (
        "unsafe/skip-lazy-unmount",
        include_str!("../runbooks/unsafe/skip-lazy-unmount.toml"),
    ),
    (
        "unsafe/recovered-on-first-200",
        include_str!("../runbooks/unsafe/recovered-on-first-200.toml"),
    ),
    (
        "unsafe/stop-start-without-boot-order-check",
        include_str!("../runbooks/unsafe/stop-start-without-boot-order-check.toml"),
    ),
    (
        "unsafe/delete-two-voters",
        include_str!("../runbooks/unsafe/delete-two-voters.toml"),
    ),
    (
        "unsafe/delete-before-finalizer",
        include_str!("../runbooks/unsafe/delete-before-finalizer.toml"),
    ),
    (
        "unsafe/seed-000-ps-eo",
        include_str!("../runbooks/unsafe/seed-000-ps-eo.toml"),
    ),
];

/// Loads a runbook: a catalog name, or a path to a runbook file.
pub fn load_runbook(name_or_path: &str) -> Result<RunbookFile, LoadError> {
    if let Some((name, source)) = RUNBOOKS.iter().find(|(name, _)| *name == name_or_path) {
        let path = PathBuf::from(format!("scenarios/runbooks/{name}.toml"));
        return RunbookFile::parse(&path, source).map_err(LoadError::Parse);
    }
    let path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || path.is_file() {
        return RunbookFile::load(path).map_err(LoadError::Parse);
    }
    Err(LoadError::UnknownRunbook {
        name: name_or_path.to_string(),
        known: RUNBOOKS
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Resolves a scenario's `recovery.runbook`; an unknown name is an error at that value in the scenario file.
pub fn resolve_runbook(
    scenario_path: &Path,
    scenario_source: &str,
    name: &toml::Spanned<String>,
) -> Result<Option<RunbookFile>, ParseError> {
    if name.get_ref() == "none" {
        return Ok(None);
    }
    match load_runbook(name.get_ref()) {
        Ok(runbook) => Ok(Some(runbook)),
        Err(LoadError::Parse(error)) => Err(error),
        Err(LoadError::Unknown { known, .. } | LoadError::UnknownRunbook { known, .. }) => {
            Err(ParseError::at_offset(
                scenario_path,
                scenario_source,
                name.span().start,
                format!(
                    "expected \"none\", a runbook path or one of {known}, found \"{}\"",
                    name.get_ref()
                ),
            ))
        }
    }
}

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

/// Loads a catalog drill of any kind by name, or a scenario file of any kind.
pub fn load_drill(name_or_path: &str) -> Result<Drill, LoadError> {
    if let Some((name, source)) = ENTRIES.iter().find(|(name, _)| *name == name_or_path) {
        return Drill::parse(&path_of(name), source).map_err(LoadError::Parse);
    }
    let path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || path.is_file() {
        return Drill::load(path).map_err(LoadError::Parse);
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
    #[error(
        "unknown runbook \"{name}\"; the catalog has: {known} (or pass a path to a .toml file)"
    )]
    UnknownRunbook { name: String, known: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_entry_parses_and_is_named_like_its_file() {
        for (name, _) in ENTRIES {
            let drill = load_drill(name).unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(drill.name(), *name);
        }
    }

    #[test]
    fn an_unknown_runbook_is_called_a_runbook() {
        let error = load_runbook("no-such-runbook").unwrap_err().to_string();
        assert!(error.starts_with("unknown runbook"), "{error}");
        assert!(error.contains("vault-safe-restart"), "{error}");
    }

    #[test]
    fn unknown_names_list_the_catalog() {
        let error = load("no-such-drill").unwrap_err().to_string();
        assert!(error.contains("vault-stuck-leader"), "{error}");
    }
}
