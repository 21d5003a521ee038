//! Where a probe connects: scheme, host, port and base path, parsed from a URL.

use std::fmt;

/// A parsed `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// The path prefix, without a trailing slash ("" for the root).
    pub base_path: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("invalid URL \"{url}\": {reason}")]
    Invalid { url: String, reason: String },
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, EndpointError> {
        // The URL is echoed in the error, so any `user:pass@` in it is redacted first.
        let invalid = |reason: &str| EndpointError::Invalid {
            url: redact_url(url),
            reason: reason.to_string(),
        };
        let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
        if authority.contains('@') {
            return Err(invalid(
                "credentials in the URL are not supported (use the environment or --auth-file)",
            ));
        }
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(_) => return Err(invalid("expected http:// or https://")),
            None => return Err(invalid("expected a scheme, such as http://127.0.0.1:8200")),
        };
        let host = uri.host().ok_or_else(|| invalid("expected a host"))?;
        // Brackets belong to the URL syntax of IPv6 literals, not to the address.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = match explicit_port(authority) {
            None => {
                if https {
                    443
                } else {
                    80
                }
            }
            // `port_u16` silently gives None for `:99999`, `:-1` or `:`, which would probe port 80 instead.
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => port,
                _ => {
                    return Err(invalid(&format!(
                        "expected a port from 1 to 65535, found \"{text}\""
                    )))
                }
            },
        };
        let base_path = uri.path().trim_end_matches('/').to_string();
        Ok(Endpoint {
            https,
            host,
            port,
            base_path,
        })
    }

    /// `host:port`, as sent in the `Host` header.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The text after the host's `:`, if the authority has one (`""` for `host:`).
fn explicit_port(authority: &str) -> Option<&str> {
    let after_host = match authority.strip_prefix('[') {
        // An IPv6 literal: its colons are inside the brackets.
        Some(rest) => rest.split_once(']').map_or("", |(_, after)| after),
        None => authority,
    };
    after_host.rfind(':').map(|colon| &after_host[colon + 1..])
}

/// A URL with any `user:pass@` (or `token@`) replaced by `***@`, so it can be printed.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return redact_userinfo(url);
    };
    let (scheme, rest) = url.split_at(scheme_end);
    format!("{scheme}{}", redact_userinfo(rest))
}

fn redact_userinfo(rest: &str) -> String {
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_string(),
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.base_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ports_and_defaults() {
        let endpoint = Endpoint::parse("http://127.0.0.1:8200").unwrap();
        assert_eq!(
            (endpoint.host.as_str(), endpoint.port, endpoint.https),
            ("127.0.0.1", 8200, false)
        );
        assert_eq!(Endpoint::parse("https://vault.example/").unwrap().port, 443);
        assert_eq!(
            Endpoint::parse("http://[::1]:5000/x/").unwrap().to_string(),
            "http://[::1]:5000/x"
        );
    }

    #[test]
    fn invalid_ports_are_refused_not_replaced_by_80() {
        for url in [
            "http://127.0.0.1:99999",
            "http://127.0.0.1:65536",
            "http://127.0.0.1:-1",
            "http://127.0.0.1:",
            "http://127.0.0.1:0",
            "http://[::1]:99999",
        ] {
            let error = Endpoint::parse(url).expect_err(url).to_string();
            assert!(error.contains("port"), "{url}: {error}");
        }
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:65535").unwrap().port,
            65535
        );
        assert_eq!(Endpoint::parse("http://[::1]/").unwrap().port, 80);
    }

    #[test]
    fn credentials_in_a_url_are_refused_and_never_echoed() {
        for url in [
            "http://user:s3cr3t-pass@127.0.0.1:5000",
            "http://user:s3cr3t-pass@127.0.0.1:99999",
            "ftp://user:s3cr3t-pass@host/",
            "http://user:s3cr3t-pass@[::1:5000",
        ] {
            let error = Endpoint::parse(url).expect_err(url).to_string();
            assert!(!error.contains("s3cr3t-pass"), "{error}");
        }
        assert_eq!(
            redact_url("https://u:p@host:1/x@y"),
            "https://***@host:1/x@y"
        );
    }

    #[test]
    fn rejects_what_is_not_http() {
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("127.0.0.1:8200").is_err());
    }
}
