//! Keeping secrets and terminal control out of what the probes print: whatever a server sends back (an error code
//! that echoes the `Authorization` header, a repository named with escape sequences) is redacted and escaped
//! before it reaches stdout or stderr (issue 10).

use crate::registry::auth::Credentials;

/// What replaces a secret in any output.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not searched for: replacing every `a` of a report would destroy it while
/// protecting nothing, since so short a secret cannot be told apart from ordinary text.
pub const MIN_SECRET_CHARS: usize = 4;

/// Replaces every configured secret, in every form the probe sends it, with [`REDACTED`].
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// The secrets of `credentials`: the password or token as given, `user:pass`, and the base64 the `Basic`
    /// header carries (with and without padding).
    pub fn new(credentials: &Credentials) -> Redactor {
        let mut secrets = credentials.secret_forms();
        secrets.retain(|secret| secret.chars().count() >= MIN_SECRET_CHARS);
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        text
    }

    /// Redacts every server-supplied string of a registry report in place.
    pub fn report(&self, report: &mut crate::registry::Report) {
        report.registry = self.text(&report.registry);
        for broken in &mut report.broken {
            broken.repository = self.text(&broken.repository);
            broken.reference = self.text(&broken.reference);
            broken.detail = self.text(&broken.detail);
            if let Some(parent) = &broken.parent {
                broken.parent = Some(self.text(parent));
            }
        }
    }
}

/// `text` with every control character (ESC, BEL, CR, LF, DEL, the C1 range) written as a visible escape such as
/// `\u{1b}`, so a server-supplied name cannot move the cursor, clear the screen, set a window title or forge a
/// line of output. JSON output needs no such step: serde_json escapes control characters itself.
pub fn escape_terminal(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_basic_secret_is_redacted() {
        let redactor = Redactor::new(&Credentials::Basic {
            username: "ci".into(),
            password: "hunter2-long".into(),
        });
        // base64("ci:hunter2-long")
        let header = "Basic Y2k6aHVudGVyMi1sb25n";
        let text = redactor.text(&format!("HTTP 401 {header} ci:hunter2-long hunter2-long"));
        assert!(!text.contains("hunter2-long"), "{text}");
        assert!(!text.contains("Y2k6aHVudGVyMi1sb25n"), "{text}");
        assert_eq!(text.matches(REDACTED).count(), 3, "{text}");
    }

    #[test]
    fn a_bearer_token_is_redacted_and_anonymous_redacts_nothing() {
        let redactor = Redactor::new(&Credentials::Bearer {
            token: "tok-123456".into(),
        });
        assert_eq!(redactor.text("x tok-123456 y"), format!("x {REDACTED} y"));
        assert_eq!(
            Redactor::new(&Credentials::Anonymous).text("tok-123456"),
            "tok-123456"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let hostile = "app\u{1b}]0;owned\u{7}\n\rBROKEN\u{9b}2J";
        let escaped = escape_terminal(hostile);
        assert!(!escaped.chars().any(char::is_control), "{escaped}");
        assert!(escaped.contains("\\u{1b}"), "{escaped}");
        assert_eq!(escape_terminal("team/app"), "team/app");
    }
}
