//! The bytes a registry drill pushes: layers, configs, manifests and indexes, each a function of the scenario's
//! names only, so every backend pushes the same digests and a trace from one compares with a trace from another.

use super::scenario::{ImageFormat, ImageSpec};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// `sha256:<hex>` of some bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hash {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// One request of a push, in the order a client sends them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushStep {
    /// A monolithic blob upload: `POST /blobs/uploads/`, then `PUT <location>?digest=`.
    Blob {
        repository: String,
        digest: String,
        content: Vec<u8>,
    },
    /// `PUT /v2/<repository>/manifests/<reference>`.
    Manifest {
        repository: String,
        reference: String,
        media_type: &'static str,
        digest: String,
        content: Vec<u8>,
    },
}

/// One single-platform manifest and the blobs it references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedManifest {
    pub digest: String,
    pub config: String,
    /// Shared layers first, then the manifest's own layer.
    pub layers: Vec<String>,
    /// The layer only this manifest has.
    pub own_layer: String,
}

/// What a tag was pushed as: what the disk oracle checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedImage {
    pub repository: String,
    pub tag: String,
    pub format: ImageFormat,
    /// The digest the tag names: the index's, or the image's.
    pub digest: String,
    /// An index's children, or the image itself.
    pub manifests: Vec<PushedManifest>,
}

struct Blob {
    media_type: &'static str,
    content: Vec<u8>,
    digest: String,
}

impl Blob {
    fn new(media_type: &'static str, content: Vec<u8>) -> Blob {
        let digest = sha256_digest(&content);
        Blob {
            media_type,
            content,
            digest,
        }
    }

    fn descriptor(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.content.len() })
    }
}

/// The push steps for one tag, and what they create.
pub fn build(image: &ImageSpec) -> (Vec<PushStep>, PushedImage) {
    let repository = image.repository.get_ref().clone();
    let tag = image.tag.get_ref().clone();
    let docker = image.format.is_docker();
    let mut steps = Vec::new();
    let mut manifests = Vec::new();
    let mut manifest_blobs = Vec::new();
    for architecture in &image.architectures {
        let layer_type = if docker { DOCKER_LAYER } else { OCI_LAYER };
        let mut layers: Vec<Blob> = image
            .shared_layers
            .iter()
            .map(|name| Blob::new(layer_type, format!("firedrill layer {name}\n").into_bytes()))
            .collect();
        layers.push(Blob::new(
            layer_type,
            format!("firedrill layer {repository}:{tag}/{architecture}\n").into_bytes(),
        ));
        let config_json = json!({
            "architecture": architecture,
            "os": "linux",
            "config": { "Labels": { "firedrill.image": format!("{repository}:{tag}") } },
            "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>() },
        });
        let config = Blob::new(
            if docker { DOCKER_CONFIG } else { OCI_CONFIG },
            serde_json::to_vec(&config_json).expect("JSON values serialize"),
        );
        let manifest_type = if docker {
            DOCKER_MANIFEST
        } else {
            OCI_MANIFEST
        };
        let manifest_json = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": config.descriptor(),
            "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
        });
        let manifest = Blob::new(
            manifest_type,
            serde_json::to_vec_pretty(&manifest_json).expect("JSON values serialize"),
        );
        for blob in std::iter::once(&config).chain(layers.iter()) {
            steps.push(PushStep::Blob {
                repository: repository.clone(),
                digest: blob.digest.clone(),
                content: blob.content.clone(),
            });
        }
        manifests.push(PushedManifest {
            digest: manifest.digest.clone(),
            config: config.digest.clone(),
            layers: layers.iter().map(|l| l.digest.clone()).collect(),
            own_layer: layers
                .last()
                .expect("every manifest has its own layer")
                .digest
                .clone(),
        });
        manifest_blobs.push((architecture.clone(), manifest));
    }
    let digest = if image.format.is_index() {
        for (_, manifest) in &manifest_blobs {
            steps.push(PushStep::Manifest {
                repository: repository.clone(),
                reference: manifest.digest.clone(),
                media_type: manifest.media_type,
                digest: manifest.digest.clone(),
                content: manifest.content.clone(),
            });
        }
        let index_type = if docker {
            DOCKER_MANIFEST_LIST
        } else {
            OCI_INDEX
        };
        let entries: Vec<Value> = manifest_blobs
            .iter()
            .map(|(architecture, manifest)| {
                let mut descriptor = manifest.descriptor();
                descriptor["platform"] = json!({ "architecture": architecture, "os": "linux" });
                descriptor
            })
            .collect();
        let index_json =
            json!({ "schemaVersion": 2, "mediaType": index_type, "manifests": entries });
        let index = Blob::new(
            index_type,
            serde_json::to_vec_pretty(&index_json).expect("JSON values serialize"),
        );
        steps.push(PushStep::Manifest {
            repository: repository.clone(),
            reference: tag.clone(),
            media_type: index.media_type,
            digest: index.digest.clone(),
            content: index.content,
        });
        index.digest
    } else {
        let (_, manifest) = manifest_blobs.pop().expect("an image has one platform");
        steps.push(PushStep::Manifest {
            repository: repository.clone(),
            reference: tag.clone(),
            media_type: manifest.media_type,
            digest: manifest.digest.clone(),
            content: manifest.content,
        });
        manifest.digest
    };
    let pushed = PushedImage {
        repository,
        tag,
        format: image.format,
        digest,
        manifests,
    };
    (steps, pushed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Spanned;

    fn spec(repository: &str, tag: &str, format: ImageFormat, shared: &[&str]) -> ImageSpec {
        ImageSpec {
            repository: Spanned::new(0..0, repository.into()),
            tag: Spanned::new(0..0, tag.into()),
            format,
            architectures: if format.is_index() {
                vec!["amd64".into(), "arm64".into()]
            } else {
                vec!["amd64".into()]
            },
            shared_layers: shared.iter().map(|s| s.to_string()).collect(),
            stale: false,
        }
    }

    #[test]
    fn content_is_deterministic_and_shared_layers_share_a_digest() {
        let a = build(&spec("app", "v1", ImageFormat::DockerList, &["base"]));
        let b = build(&spec("app", "v1", ImageFormat::DockerList, &["base"]));
        assert_eq!(a, b);
        let tool = build(&spec("tool", "v1", ImageFormat::DockerImage, &["base"])).1;
        assert_eq!(a.1.manifests[0].layers[0], tool.manifests[0].layers[0]);
        assert_ne!(a.1.manifests[0].own_layer, a.1.manifests[1].own_layer);
        // Children go up by digest before the index goes up by tag.
        let references: Vec<&str> =
            a.0.iter()
                .filter_map(|step| match step {
                    PushStep::Manifest { reference, .. } => Some(reference.as_str()),
                    PushStep::Blob { .. } => None,
                })
                .collect();
        assert_eq!(references.len(), 3);
        assert_eq!(references[2], "v1");
        assert!(references[0].starts_with("sha256:"));
    }

    #[test]
    fn digests_are_sha256_of_the_bytes() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
