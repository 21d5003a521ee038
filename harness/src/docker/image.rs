//! Which registry image runs, and its true version: `registry:2.8.3` when present, else the image that
//! `ci/registry-image.sh` builds from Debian's `docker-registry` (distribution 2.8.2).

use std::process::Command;

/// The upstream image, used whenever it is present locally.
pub const UPSTREAM_IMAGE: &str = "registry:2.8.3";
/// The image `ci/registry-image.sh` builds from Debian's package when the upstream one is absent.
pub const DEBIAN_IMAGE: &str = "firedrill/registry:2.8.2-debian";
/// Overrides the choice, e.g. as exported by `ci/registry-image.sh --export`.
pub const IMAGE_ENV: &str = "FIREDRILL_REGISTRY_IMAGE";

/// A registry image reference, split for testcontainers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryImage {
    pub name: String,
    pub tag: String,
}

impl RegistryImage {
    /// `$FIREDRILL_REGISTRY_IMAGE`, else `registry:2.8.3` if the local Docker has it, else the Debian build.
    pub fn choose() -> RegistryImage {
        if let Ok(reference) = std::env::var(IMAGE_ENV) {
            if !reference.is_empty() {
                return RegistryImage::parse(&reference);
            }
        }
        let upstream_present = Command::new("docker")
            .args(["image", "inspect", UPSTREAM_IMAGE])
            .output()
            .is_ok_and(|output| output.status.success());
        RegistryImage::parse(if upstream_present {
            UPSTREAM_IMAGE
        } else {
            DEBIAN_IMAGE
        })
    }

    /// Splits `name:tag` at the last colon after the last slash.
    pub fn parse(reference: &str) -> RegistryImage {
        match reference.rfind(':') {
            Some(colon) if !reference[colon..].contains('/') => RegistryImage {
                name: reference[..colon].to_string(),
                tag: reference[colon + 1..].to_string(),
            },
            _ => RegistryImage {
                name: reference.to_string(),
                tag: "latest".to_string(),
            },
        }
    }

    /// The distribution version the tag states, e.g. "2.8.2" for `2.8.2-debian`.
    pub fn stated_version(&self) -> &str {
        self.tag.split('-').next().unwrap_or(&self.tag)
    }
}

impl std::fmt::Display for RegistryImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references_and_versions() {
        let debian = RegistryImage::parse(DEBIAN_IMAGE);
        assert_eq!(
            (debian.name.as_str(), debian.tag.as_str()),
            ("firedrill/registry", "2.8.2-debian")
        );
        assert_eq!(debian.stated_version(), "2.8.2");
        assert_eq!(
            RegistryImage::parse(UPSTREAM_IMAGE).stated_version(),
            "2.8.3"
        );
        assert_eq!(
            RegistryImage::parse("localhost:5000/registry").tag,
            "latest"
        );
    }
}
