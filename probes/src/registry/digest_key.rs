//! A digest held compactly in the walk's seen sets and queues: the 32 bytes of a `sha256:` digest written in
//! lowercase hex instead of a 71-byte heap string, so a 100,000-tag registry's objects fit the memory bound.

use sha2::{Digest as _, Sha256};
use std::fmt;

/// A valid digest (see [`super::names::is_valid_digest`]) as the walk stores it. It prints back exactly as given.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DigestKey {
    /// `sha256:` and 64 lowercase hex digits, as bytes.
    Sha256([u8; 32]),
    /// Any other digest (another algorithm, or hex not in lowercase), kept as text so it prints unchanged.
    Other(Box<str>),
}

impl DigestKey {
    pub fn new(digest: &str) -> Self {
        digest
            .strip_prefix("sha256:")
            .and_then(lowercase_hex_32)
            .map(DigestKey::Sha256)
            .unwrap_or_else(|| DigestKey::Other(digest.into()))
    }

    /// The sha256 digest of the bytes.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        DigestKey::Sha256(Sha256::digest(bytes).into())
    }
}

fn lowercase_hex_32(hex: &str) -> Option<[u8; 32]> {
    fn nibble(byte: u8) -> Option<u8> {
        match byte {
            b'0'..=b'9' => Some(byte - b'0'),
            b'a'..=b'f' => Some(byte - b'a' + 10),
            _ => None,
        }
    }
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(bytes)
}

impl fmt::Display for DigestKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestKey::Sha256(bytes) => {
                formatter.write_str("sha256:")?;
                for byte in bytes {
                    write!(formatter, "{byte:02x}")?;
                }
                Ok(())
            }
            DigestKey::Other(text) => formatter.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_back_exactly_what_it_was_given() {
        let lowercase = format!("sha256:{}", "0123456789abcdef".repeat(4));
        let key = DigestKey::new(&lowercase);
        assert!(matches!(key, DigestKey::Sha256(_)));
        assert_eq!(key.to_string(), lowercase);
        // Upper-case hex and other algorithms stay text, so they are requested and reported as the server wrote them.
        for other in [
            format!("sha256:{}", "0123456789ABCDEF".repeat(4)),
            format!("sha512:{}", "ab".repeat(64)),
            "sha256:abc".to_string(),
        ] {
            let key = DigestKey::new(&other);
            assert!(matches!(key, DigestKey::Other(_)), "{other}");
            assert_eq!(key.to_string(), other);
        }
    }

    #[test]
    fn hashes_to_the_same_key_as_the_text_digest() {
        let body = b"{\"schemaVersion\":2}";
        assert_eq!(
            DigestKey::sha256_of(body),
            DigestKey::new(&super::super::walk::sha256_digest(body))
        );
    }

    #[test]
    fn is_no_larger_than_40_bytes() {
        // The point of the type: a sha256 digest costs no heap allocation and fits in 40 bytes.
        assert!(std::mem::size_of::<DigestKey>() <= 40);
    }
}
