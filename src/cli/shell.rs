//! Quoting for the replay commands the CLI prints, so a scenario path with a space or a schedule with a quote can
//! be pasted back into a POSIX shell as it is.

/// `text` as one POSIX shell word: unchanged when it holds only safe characters, else in single quotes with each
/// `'` written as `'\''`.
pub fn quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(quote("vault-stuck-leader"), "vault-stuck-leader");
        assert_eq!(
            quote("unsafe/force-delete-first"),
            "unsafe/force-delete-first"
        );
        assert_eq!(quote("my drills/x.toml"), "'my drills/x.toml'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(r#"{"seed":1}"#), r#"'{"seed":1}'"#);
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote(""), "''");
    }
}
