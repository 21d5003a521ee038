//! Parsing manifest bodies into what the walk follows: an index's children, or a manifest's config and layers.

use super::media_type;
use super::names::is_valid_digest;
use serde::Deserialize;

/// A reference from one object to another, as written in the parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub digest: String,
    pub media_type: Option<String>,
}

/// What a manifest body refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Document {
    /// An OCI index or Docker manifest list.
    Index { children: Vec<Descriptor> },
    /// An image manifest: a config and layers. Foreign layers are already left out.
    Manifest {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentError {
    #[error("invalid manifest JSON: {0}")]
    InvalidJson(String),
    #[error("unsupported manifest (schemaVersion {schema_version:?}, mediaType {media_type:?})")]
    Unsupported {
        schema_version: Option<u64>,
        media_type: Option<String>,
    },
    #[error("manifest refers to an invalid digest {0:?}")]
    InvalidDigest(String),
}

#[derive(Deserialize)]
struct RawDocument {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<u64>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<Vec<RawDescriptor>>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
}

#[derive(Deserialize)]
struct RawDescriptor {
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    digest: String,
}

impl RawDescriptor {
    fn validated(self) -> Result<Descriptor, DocumentError> {
        if !is_valid_digest(&self.digest) {
            return Err(DocumentError::InvalidDigest(self.digest));
        }
        Ok(Descriptor {
            digest: self.digest,
            media_type: self.media_type,
        })
    }
}

impl Document {
    /// Parses a manifest body. `content_type` is the response's, used when the body does not name its type.
    pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Document, DocumentError> {
        let raw: RawDocument = serde_json::from_slice(body)
            .map_err(|error| DocumentError::InvalidJson(error.to_string()))?;
        let media_type = raw.media_type.clone().or_else(|| {
            content_type.map(|value| value.split(';').next().unwrap_or("").trim().to_string())
        });
        let declared_index = media_type.as_deref().is_some_and(media_type::is_index);
        if raw.schema_version != Some(2) {
            return Err(DocumentError::Unsupported {
                schema_version: raw.schema_version,
                media_type,
            });
        }
        if let Some(children) = raw
            .manifests
            .filter(|_| raw.config.is_none() || declared_index)
        {
            let children = children
                .into_iter()
                .map(RawDescriptor::validated)
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Document::Index { children });
        }
        let Some(config) = raw.config else {
            return Err(DocumentError::Unsupported {
                schema_version: raw.schema_version,
                media_type,
            });
        };
        let layers = raw
            .layers
            .unwrap_or_default()
            .into_iter()
            .filter(|layer| {
                !layer
                    .media_type
                    .as_deref()
                    .is_some_and(media_type::is_non_distributable_layer)
            })
            .map(RawDescriptor::validated)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Document::Manifest {
            config: config.validated()?,
            layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(byte: &str) -> String {
        format!("sha256:{}", byte.repeat(64))
    }

    #[test]
    fn parses_an_index() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{}","size":1}}]}}"#,
            media_type::OCI_INDEX,
            media_type::OCI_MANIFEST,
            digest("a")
        );
        let Document::Index { children } = Document::parse(body.as_bytes(), None).unwrap() else {
            panic!("not an index");
        };
        assert_eq!(children[0].digest, digest("a"));
    }

    #[test]
    fn parses_a_manifest_and_skips_foreign_layers() {
        let body = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{}"}},"layers":[{{"digest":"{}"}},
            {{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{}"}}]}}"#,
            digest("c"),
            digest("1"),
            digest("2")
        );
        let parsed = Document::parse(body.as_bytes(), Some(media_type::DOCKER_MANIFEST)).unwrap();
        let Document::Manifest { config, layers } = parsed else {
            panic!("not a manifest");
        };
        assert_eq!(config.digest, digest("c"));
        assert_eq!(layers.len(), 1);
    }

    #[test]
    fn refuses_garbage_schema1_and_bad_digests() {
        assert!(matches!(
            Document::parse(b"{not json", None),
            Err(DocumentError::InvalidJson(_))
        ));
        assert!(matches!(
            Document::parse(br#"{"schemaVersion":1,"fsLayers":[]}"#, None),
            Err(DocumentError::Unsupported { .. })
        ));
        assert!(matches!(
            Document::parse(
                br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:../../x"}]}"#,
                None
            ),
            Err(DocumentError::InvalidDigest(_))
        ));
        assert!(matches!(
            Document::parse(br#"{"schemaVersion":2}"#, None),
            Err(DocumentError::Unsupported { .. })
        ));
    }
}
