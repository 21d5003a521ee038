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
        let invalid = |reason: &str| EndpointError::Invalid {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
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
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
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
    fn rejects_what_is_not_http() {
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("127.0.0.1:8200").is_err());
    }
}
