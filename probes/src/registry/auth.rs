//! Registry credentials: basic or bearer, from the environment or a file, and never printed.

use http::{HeaderName, HeaderValue};
use std::fmt;
use std::path::Path;

/// The environment variable holding the basic-auth user name.
pub const USERNAME_ENV: &str = "FIREDRILL_REGISTRY_USERNAME";
/// The environment variable holding the basic-auth password.
pub const PASSWORD_ENV: &str = "FIREDRILL_REGISTRY_PASSWORD";
/// The environment variable holding a bearer token.
pub const TOKEN_ENV: &str = "FIREDRILL_REGISTRY_TOKEN";

/// Auth files are one or two short lines; a larger file is a mistake, not a credential.
const AUTH_FILE_LIMIT_BYTES: u64 = 64 * 1024;

/// How the probe authenticates. `Debug` and `Display` never show the secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    #[default]
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    Bearer {
        token: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{USERNAME_ENV} is set but {PASSWORD_ENV} is not (or the other way round)")]
    IncompleteBasic,
    #[error("set either {TOKEN_ENV} or {USERNAME_ENV}/{PASSWORD_ENV}, not both")]
    Ambiguous,
    #[error("cannot read auth file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(
        "auth file {path}: expected one line \"USERNAME:PASSWORD\" or \"bearer TOKEN\" (the content is not shown)"
    )]
    Malformed { path: String },
    #[error("the credentials contain characters that cannot be sent in an HTTP header")]
    NotAHeaderValue,
}

impl Credentials {
    /// Reads credentials from the environment: a token, or a user name and password, or nothing.
    pub fn from_env() -> Result<Credentials, AuthError> {
        let read = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Self::from_values(read(USERNAME_ENV), read(PASSWORD_ENV), read(TOKEN_ENV))
    }

    /// The decision behind [`Credentials::from_env`], separated so it is testable without touching the process
    /// environment.
    pub fn from_values(
        username: Option<String>,
        password: Option<String>,
        token: Option<String>,
    ) -> Result<Credentials, AuthError> {
        match (username, password, token) {
            (None, None, None) => Ok(Credentials::Anonymous),
            (None, None, Some(token)) => Ok(Credentials::Bearer { token }),
            (Some(username), Some(password), None) => Ok(Credentials::Basic { username, password }),
            (Some(_), Some(_), Some(_)) => Err(AuthError::Ambiguous),
            _ => Err(AuthError::IncompleteBasic),
        }
    }

    /// Reads an auth file whose first non-empty line is `USERNAME:PASSWORD` or `bearer TOKEN`.
    pub fn from_file(path: &Path) -> Result<Credentials, AuthError> {
        let shown = path.display().to_string();
        let unreadable = |reason: String| AuthError::Unreadable {
            path: shown.clone(),
            reason,
        };
        let size_bytes = std::fs::metadata(path)
            .map_err(|error| unreadable(error.to_string()))?
            .len();
        if size_bytes > AUTH_FILE_LIMIT_BYTES {
            return Err(unreadable(format!(
                "larger than {AUTH_FILE_LIMIT_BYTES} bytes"
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|error| unreadable(error.to_string()))?;
        Self::parse_file_text(&text).ok_or(AuthError::Malformed { path: shown })
    }

    fn parse_file_text(text: &str) -> Option<Credentials> {
        let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
        if let Some(token) = line
            .strip_prefix("bearer ")
            .or_else(|| line.strip_prefix("Bearer "))
        {
            let token = token.trim();
            return (!token.is_empty()).then(|| Credentials::Bearer {
                token: token.to_string(),
            });
        }
        let (username, password) = line.split_once(':')?;
        (!username.is_empty()).then(|| Credentials::Basic {
            username: username.to_string(),
            password: password.to_string(),
        })
    }

    /// The `Authorization` header to send, if any. The value is marked sensitive so hyper never logs it.
    pub fn header(&self) -> Result<Option<(HeaderName, HeaderValue)>, AuthError> {
        let text = match self {
            Credentials::Anonymous => return Ok(None),
            Credentials::Basic { username, password } => {
                format!(
                    "Basic {}",
                    base64_encode(format!("{username}:{password}").as_bytes())
                )
            }
            Credentials::Bearer { token } => format!("Bearer {token}"),
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| AuthError::NotAHeaderValue)?;
        value.set_sensitive(true);
        Ok(Some((http::header::AUTHORIZATION, value)))
    }

    /// Every form in which the secret could come back in a server's answer: the password or token, `user:pass`,
    /// and the `Basic` header's base64 with and without its padding. Empty for anonymous access.
    pub fn secret_forms(&self) -> Vec<String> {
        match self {
            Credentials::Anonymous => Vec::new(),
            Credentials::Basic { username, password } => {
                let pair = format!("{username}:{password}");
                let encoded = base64_encode(pair.as_bytes());
                let unpadded = encoded.trim_end_matches('=').to_string();
                vec![password.clone(), pair, encoded, unpadded]
            }
            Credentials::Bearer { token } => vec![token.clone()],
        }
    }

    /// The scheme only, for reports: "anonymous", "basic" or "bearer".
    pub fn scheme(&self) -> &'static str {
        match self {
            Credentials::Anonymous => "anonymous",
            Credentials::Basic { .. } => "basic",
            Credentials::Bearer { .. } => "bearer",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, redacted)", self.scheme())
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme())
    }
}

/// Standard base64 with padding (RFC 4648), enough for one basic-auth header.
fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut output = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let group = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for index in 0..4 {
            if index <= chunk.len() {
                output.push(ALPHABET[((group >> (18 - 6 * index)) & 63) as usize] as char);
            } else {
                output.push('=');
            }
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64_encode(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn debug_and_display_never_show_secrets() {
        let basic = Credentials::Basic {
            username: "alice".into(),
            password: "hunter2-secret".into(),
        };
        let bearer = Credentials::Bearer {
            token: "tok-secret".into(),
        };
        for shown in [
            format!("{basic:?}"),
            format!("{basic}"),
            format!("{bearer:?}"),
            format!("{bearer}"),
        ] {
            assert!(
                !shown.contains("secret") && !shown.contains("alice"),
                "{shown}"
            );
        }
        let (_, value) = basic.header().unwrap().unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("Basic"), "{value:?}");
    }

    #[test]
    fn headers_carry_the_credentials() {
        let basic = Credentials::Basic {
            username: "Aladdin".into(),
            password: "open sesame".into(),
        };
        assert_eq!(
            basic.header().unwrap().unwrap().1,
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        let bearer = Credentials::Bearer {
            token: "abc".into(),
        };
        assert_eq!(bearer.header().unwrap().unwrap().1, "Bearer abc");
        assert!(Credentials::Anonymous.header().unwrap().is_none());
    }

    #[test]
    fn environment_values_choose_one_scheme() {
        let some = |text: &str| Some(text.to_string());
        assert_eq!(
            Credentials::from_values(None, None, None).unwrap(),
            Credentials::Anonymous
        );
        assert!(matches!(
            Credentials::from_values(some("u"), some("p"), None).unwrap(),
            Credentials::Basic { .. }
        ));
        assert!(matches!(
            Credentials::from_values(None, None, some("t")).unwrap(),
            Credentials::Bearer { .. }
        ));
        assert!(matches!(
            Credentials::from_values(some("u"), None, None),
            Err(AuthError::IncompleteBasic)
        ));
        assert!(matches!(
            Credentials::from_values(some("u"), some("p"), some("t")),
            Err(AuthError::Ambiguous)
        ));
    }

    #[test]
    fn auth_files_hold_basic_or_bearer() {
        assert_eq!(
            Credentials::parse_file_text("\n  alice:pa:ss  \n"),
            Some(Credentials::Basic {
                username: "alice".into(),
                password: "pa:ss".into()
            })
        );
        assert_eq!(
            Credentials::parse_file_text("bearer xyz\n"),
            Some(Credentials::Bearer {
                token: "xyz".into()
            })
        );
        assert_eq!(Credentials::parse_file_text("no-colon-here"), None);
        assert_eq!(Credentials::parse_file_text(""), None);
    }
}
