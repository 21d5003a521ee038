//! Validation of repository names, tags and digests taken from server answers, before they go into a URL path.
//!
//! A hostile registry chooses these strings, so anything outside the distribution grammar is refused rather than
//! sent: no path traversal, no query injection, no header splitting.

/// Distribution limits repository names to 255 characters in total.
const NAME_LIMIT_CHARS: usize = 255;
/// The longest digest hex the walk accepts (sha512 needs 128).
const DIGEST_HEX_LIMIT_CHARS: usize = 128;

/// A repository name: lowercase path components of `[a-z0-9]` separated by `.`, `_`, `__` or `-` runs.
pub fn is_valid_repository(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_LIMIT_CHARS
        && name.split('/').all(|component| {
            let bytes = component.as_bytes();
            !bytes.is_empty()
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && bytes.iter().all(|&b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        })
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A digest: `algorithm:hex`, e.g. `sha256:` and 64 lowercase hex digits.
pub fn is_valid_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'.' | b'_' | b'-')
        });
    let hex_ok = hex.len() >= 32
        && hex.len() <= DIGEST_HEX_LIMIT_CHARS
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let sha256_ok = algorithm != "sha256" || hex.len() == 64;
    algorithm_ok && hex_ok && sha256_ok
}

/// Splits `REPO:TAG` or `REPO@DIGEST` as given to `--image`; a bare `REPO` means the tag `latest`.
pub fn split_image_reference(image: &str) -> Option<(String, String)> {
    let (repository, reference) = if let Some((repository, digest)) = image.split_once('@') {
        (repository, digest.to_string())
    } else {
        // A colon after the last slash separates the tag; one before it would be a host port, which --url owns.
        match image.rfind(':') {
            Some(colon) if !image[colon..].contains('/') => {
                (&image[..colon], image[colon + 1..].to_string())
            }
            _ => (image, "latest".to_string()),
        }
    };
    let valid_reference = is_valid_tag(&reference) || is_valid_digest(&reference);
    (is_valid_repository(repository) && valid_reference)
        .then(|| (repository.to_string(), reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_follow_the_distribution_grammar() {
        for good in ["a", "library/alpine", "team-x/app_1.web", "a/b/c"] {
            assert!(is_valid_repository(good), "{good}");
        }
        for bad in [
            "", "A", "a//b", "../etc", "a/", "-a", "a?b", "a b", "a\r\nb", "a/..",
        ] {
            assert!(!is_valid_repository(bad), "{bad:?}");
        }
    }

    #[test]
    fn tags_and_digests_are_checked() {
        assert!(is_valid_tag("v1.2.3-rc_1") && is_valid_tag("_x"));
        assert!(
            !is_valid_tag("")
                && !is_valid_tag(".x")
                && !is_valid_tag("a/b")
                && !is_valid_tag(&"x".repeat(129))
        );
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert!(is_valid_digest(&digest));
        assert!(!is_valid_digest("sha256:abc"));
        assert!(!is_valid_digest(&format!("sha256:{}", "AB".repeat(32))));
        assert!(!is_valid_digest(&format!("sha256/../{}", "ab".repeat(32))));
    }

    #[test]
    fn image_references_split_into_repository_and_reference() {
        assert_eq!(
            split_image_reference("app:v1"),
            Some(("app".into(), "v1".into()))
        );
        assert_eq!(
            split_image_reference("team/app"),
            Some(("team/app".into(), "latest".into()))
        );
        let digest = format!("sha256:{}", "0f".repeat(32));
        assert_eq!(
            split_image_reference(&format!("app@{digest}")),
            Some(("app".into(), digest))
        );
        assert_eq!(split_image_reference("App:v1"), None);
        assert_eq!(split_image_reference("app:bad/tag"), None);
    }
}
