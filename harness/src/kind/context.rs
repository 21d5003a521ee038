//! Which kubeconfig context the kind backend may use: only one on the allowlist, so a drill that deletes pods
//! can never be pointed at a production cluster by a stale `current-context`.

use kube::config::Kubeconfig;
use std::path::Path;

/// The default allowlist: contexts kind creates are named `kind-<cluster>`.
pub const DEFAULT_ALLOWED_PREFIX: &str = "kind-";

/// Allowed context names: exact names, and prefixes (written with a trailing `*`).
#[derive(Clone, Debug)]
pub struct ContextAllowlist {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl ContextAllowlist {
    /// `kind-*` plus the user's own entries.
    pub fn with_extra(extra: &[String]) -> Self {
        let mut list = Self {
            exact: Vec::new(),
            prefixes: vec![DEFAULT_ALLOWED_PREFIX.to_string()],
        };
        for entry in extra {
            match entry.strip_suffix('*') {
                Some(prefix) => list.prefixes.push(prefix.to_string()),
                None => list.exact.push(entry.clone()),
            }
        }
        list
    }

    pub fn allows(&self, context: &str) -> bool {
        self.exact.iter().any(|name| name == context)
            || self
                .prefixes
                .iter()
                .any(|prefix| context.starts_with(prefix.as_str()))
    }

    fn describe(&self) -> String {
        self.prefixes
            .iter()
            .map(|prefix| format!("{prefix}*"))
            .chain(self.exact.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("cannot read the kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("the kubeconfig names no context to use: pass --context")]
    NoContext,
    #[error("context {0} is not in the kubeconfig")]
    Missing(String),
    #[error(
        "refusing context {context}: it is not on the allowlist ({allowed}); the kind backend deletes pods, so \
         it acts only on a cluster named as disposable. Add it with --allow-context {context} if it is one"
    )]
    NotAllowed { context: String, allowed: String },
}

pub(crate) fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, ContextError> {
    match path {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|error| ContextError::Kubeconfig(error.to_string()))
}

/// The context to use: the one asked for, else the current one; refused unless the kubeconfig has it and the
/// allowlist allows it.
pub fn select_context(
    kubeconfig: &Kubeconfig,
    wanted: Option<&str>,
    allowlist: &ContextAllowlist,
) -> Result<String, ContextError> {
    let context = wanted
        .map(str::to_string)
        .or_else(|| kubeconfig.current_context.clone())
        .ok_or(ContextError::NoContext)?;
    // The allowlist comes first: a refused name is refused whether or not the file has it.
    if !allowlist.allows(&context) {
        return Err(ContextError::NotAllowed {
            allowed: allowlist.describe(),
            context,
        });
    }
    if !kubeconfig
        .contexts
        .iter()
        .any(|named| named.name == context)
    {
        return Err(ContextError::Missing(context));
    }
    Ok(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kubeconfig whose clusters point at 127.0.0.1:1, where nothing listens.
    fn kubeconfig() -> Kubeconfig {
        Kubeconfig::from_yaml(
            "apiVersion: v1\nkind: Config\ncurrent-context: prod\n\
             clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
             users:\n- name: u\n  user:\n    token: t\n\
             contexts:\n- name: prod\n  context: {cluster: c, user: u}\n\
             - name: kind-x\n  context: {cluster: c, user: u}\n\
             - name: staging-lab\n  context: {cluster: c, user: u}\n",
        )
        .unwrap()
    }

    #[test]
    fn the_current_context_off_the_allowlist_is_refused() {
        let error =
            select_context(&kubeconfig(), None, &ContextAllowlist::with_extra(&[])).unwrap_err();
        assert!(matches!(error, ContextError::NotAllowed { ref context, .. } if context == "prod"));
    }

    #[test]
    fn a_kind_context_is_allowed_and_an_extra_entry_extends_the_list() {
        let default = ContextAllowlist::with_extra(&[]);
        assert_eq!(
            select_context(&kubeconfig(), Some("kind-x"), &default).unwrap(),
            "kind-x"
        );
        assert!(select_context(&kubeconfig(), Some("staging-lab"), &default).is_err());
        let extended = ContextAllowlist::with_extra(&["staging-*".to_string()]);
        assert_eq!(
            select_context(&kubeconfig(), Some("staging-lab"), &extended).unwrap(),
            "staging-lab"
        );
        assert!(!extended.allows("prod"));
    }

    #[test]
    fn an_allowed_name_missing_from_the_kubeconfig_is_refused() {
        let error = select_context(
            &kubeconfig(),
            Some("kind-y"),
            &ContextAllowlist::with_extra(&[]),
        )
        .unwrap_err();
        assert!(matches!(error, ContextError::Missing(_)));
    }
}
