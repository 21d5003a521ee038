//! What a stored manifest is: the four media types 2.8.x serves, and parsing them into their references.

use serde_json::Value;

use super::storage::Digest;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// What 2.8.x answers when it rewrites a schema2 manifest for a client that did not accept schema2.
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The manifest types 2.8.x distinguishes in `GetManifest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ManifestKind {
    DockerManifest,
    DockerManifestList,
    OciManifest,
    OciIndex,
}

impl ManifestKind {
    pub fn media_type(self) -> &'static str {
        match self {
            ManifestKind::DockerManifest => DOCKER_MANIFEST,
            ManifestKind::DockerManifestList => DOCKER_MANIFEST_LIST,
            ManifestKind::OciManifest => OCI_MANIFEST,
            ManifestKind::OciIndex => OCI_INDEX,
        }
    }

    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            DOCKER_MANIFEST => Some(ManifestKind::DockerManifest),
            DOCKER_MANIFEST_LIST => Some(ManifestKind::DockerManifestList),
            OCI_MANIFEST => Some(ManifestKind::OciManifest),
            OCI_INDEX => Some(ManifestKind::OciIndex),
            _ => None,
        }
    }

    /// True for the kinds whose references are other manifests.
    pub fn is_index(self) -> bool {
        matches!(
            self,
            ManifestKind::DockerManifestList | ManifestKind::OciIndex
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size_bytes: u64,
    pub platform: Option<Platform>,
}

/// A manifest's content as the registry understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    pub kind: ManifestKind,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    /// The children of an index or manifest list.
    pub manifests: Vec<Descriptor>,
}

impl ParsedManifest {
    /// `Manifest.References()` of 2.8.x: the config then the layers of an image manifest, or
    /// the children of an index. GC marks exactly these, one level deep.
    pub fn references(&self) -> Vec<&Descriptor> {
        self.config
            .iter()
            .chain(self.layers.iter())
            .chain(self.manifests.iter())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError(pub String);

/// Parses stored content the way `manifestStore.Get` chooses a handler: by `schemaVersion`
/// and the `mediaType` field, and for a missing `mediaType` (allowed by OCI) an index if it
/// has `manifests`, otherwise an OCI image manifest.
pub fn parse_stored(content: &[u8]) -> Result<ParsedManifest, ManifestError> {
    let value: Value =
        serde_json::from_slice(content).map_err(|e| ManifestError(format!("invalid json: {e}")))?;
    match value.get("schemaVersion").and_then(Value::as_u64) {
        Some(2) => {}
        other => {
            return Err(ManifestError(format!(
                "unrecognized manifest schema version {other:?}"
            )))
        }
    }
    let kind = match value.get("mediaType").and_then(Value::as_str).unwrap_or("") {
        "" if value.get("manifests").is_some_and(|m| !m.is_null()) => ManifestKind::OciIndex,
        "" => ManifestKind::OciManifest,
        media_type => ManifestKind::from_media_type(media_type).ok_or_else(|| {
            ManifestError(format!("unrecognized manifest content type {media_type}"))
        })?,
    };
    parse_as(kind, &value)
}

/// Parses a PUT body the way `distribution.UnmarshalManifest` does: by the request's Content-Type.
pub fn parse_for_put(content_type: &str, content: &[u8]) -> Result<ParsedManifest, ManifestError> {
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    let kind = ManifestKind::from_media_type(media_type)
        .ok_or_else(|| ManifestError(format!("unsupported manifest media type {media_type:?}")))?;
    let value: Value =
        serde_json::from_slice(content).map_err(|e| ManifestError(format!("invalid json: {e}")))?;
    if value.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(ManifestError("schemaVersion must be 2".into()));
    }
    // 2.8.x rejects a body whose mediaType field contradicts the Content-Type; OCI allows it to be absent.
    if let Some(field) = value.get("mediaType").and_then(Value::as_str) {
        if field != media_type {
            return Err(ManifestError(format!(
                "mediaType {field:?} does not match Content-Type {media_type:?}"
            )));
        }
    } else if matches!(
        kind,
        ManifestKind::DockerManifest | ManifestKind::DockerManifestList
    ) {
        return Err(ManifestError(
            "docker manifests must carry a mediaType".into(),
        ));
    }
    parse_as(kind, &value)
}

fn parse_as(kind: ManifestKind, value: &Value) -> Result<ParsedManifest, ManifestError> {
    let descriptor = |v: &Value| -> Result<Descriptor, ManifestError> {
        let digest = v
            .get("digest")
            .and_then(Value::as_str)
            .and_then(Digest::parse)
            .ok_or_else(|| ManifestError("descriptor without a valid digest".into()))?;
        let platform = v.get("platform").map(|p| Platform {
            architecture: p
                .get("architecture")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            os: p.get("os").and_then(Value::as_str).unwrap_or("").to_owned(),
        });
        Ok(Descriptor {
            media_type: v
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            digest,
            size_bytes: v.get("size").and_then(Value::as_u64).unwrap_or(0),
            platform,
        })
    };
    let list = |field: &str| -> Result<Vec<Descriptor>, ManifestError> {
        match value.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(descriptor).collect(),
            Some(_) => Err(ManifestError(format!("{field} is not an array"))),
        }
    };
    if kind.is_index() {
        Ok(ParsedManifest {
            kind,
            config: None,
            layers: Vec::new(),
            manifests: list("manifests")?,
        })
    } else {
        let config = value.get("config").map(descriptor).transpose()?;
        Ok(ParsedManifest {
            kind,
            config,
            layers: list("layers")?,
            manifests: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oci_document_without_media_type_is_an_index_when_it_has_manifests() {
        let digest = Digest::of_bytes(b"child");
        let index =
            format!(r#"{{"schemaVersion":2,"manifests":[{{"digest":"{digest}","size":3}}]}}"#);
        assert_eq!(
            parse_stored(index.as_bytes()).unwrap().kind,
            ManifestKind::OciIndex
        );
        let manifest = format!(
            r#"{{"schemaVersion":2,"config":{{"digest":"{digest}","size":3}},"layers":[]}}"#
        );
        let parsed = parse_stored(manifest.as_bytes()).unwrap();
        assert_eq!(parsed.kind, ManifestKind::OciManifest);
        assert_eq!(parsed.references().len(), 1);
    }

    #[test]
    fn put_rejects_a_content_type_that_contradicts_the_body() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert!(parse_for_put(OCI_INDEX, body).is_ok());
        assert!(parse_for_put(DOCKER_MANIFEST_LIST, body).is_err());
        assert!(parse_for_put("application/json", body).is_err());
    }
}
