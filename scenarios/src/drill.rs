//! A drill of any kind: a Vault scenario, or a registry scenario selected by a top-level `kind = "registry"`.

use crate::parse_error::ParseError;
use crate::registry::RegistryScenario;
use crate::scenario::Scenario;
use crate::trace::Trace;
use crate::verdict::Verdict;
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// One scenario file's drill. A handful exist per process, so the size difference between kinds costs nothing.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Drill {
    Vault(Scenario),
    Registry(RegistryScenario),
}

/// Only the `kind` key; every other key is left to the kind's own parser.
#[derive(Deserialize)]
struct KindOnly {
    #[serde(default)]
    kind: Option<Spanned<String>>,
}

impl Drill {
    /// Parses a scenario file of any kind; without a `kind` key it is a Vault scenario.
    pub fn parse(path: &Path, source: &str) -> Result<Drill, ParseError> {
        let kind: KindOnly =
            toml::from_str(source).map_err(|error| ParseError::from_toml(path, source, &error))?;
        match kind.kind {
            None => Scenario::parse(path, source).map(Drill::Vault),
            Some(kind) if kind.get_ref() == "registry" => {
                RegistryScenario::parse(path, source).map(Drill::Registry)
            }
            Some(kind) => Err(ParseError::at_offset(
                path,
                source,
                kind.span().start,
                format!(
                    "expected kind = \"registry\", or no kind for a Vault drill, found \"{}\"",
                    kind.get_ref()
                ),
            )),
        }
    }

    /// Reads and parses a scenario file of any kind.
    pub fn load(path: &Path) -> Result<Drill, ParseError> {
        let source = crate::parse_error::read_source(path)?;
        Self::parse(path, &source)
    }

    pub fn name(&self) -> &str {
        match self {
            Drill::Vault(scenario) => &scenario.name,
            Drill::Registry(scenario) => &scenario.name,
        }
    }

    pub fn description(&self) -> &str {
        match self {
            Drill::Vault(scenario) => &scenario.description,
            Drill::Registry(scenario) => &scenario.description,
        }
    }

    /// Judges a trace of this drill with the checkers of its kind.
    pub fn judge(&self, seed: u64, trace: &Trace, wall_ms: u64) -> Verdict {
        match self {
            Drill::Vault(scenario) => Verdict::judge(scenario, seed, trace, wall_ms),
            Drill::Registry(scenario) => Verdict::judge_registry(scenario, seed, trace, wall_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_kind_is_located() {
        let error =
            Drill::parse(Path::new("x.toml"), "name = \"x\"\nkind = \"nfs\"\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 8), "{error}");
        assert!(error.message.contains("registry"), "{error}");
    }

    #[test]
    fn broken_toml_is_located_before_the_kind_is_known() {
        let error =
            Drill::parse(Path::new("x.toml"), "kind = \"registry\"\nname = \n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
    }
}
