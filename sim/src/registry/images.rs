//! Deterministic test content: layers, configs, image manifests, OCI indexes and Docker manifest lists, and pushing them.
//!
//! Every byte is a function of the names passed in, so digests are stable across runs and
//! machines, and the same content can be pushed to the model and to a real registry.

use serde_json::{json, Value};

use super::api::{handle, Request};
use super::manifest::{self, ManifestKind};
use super::storage::Digest;
use super::Registry;

/// A blob: its media type, its bytes and their digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: &'static str,
    pub content: Vec<u8>,
    pub digest: Digest,
}

impl Blob {
    pub fn new(media_type: &'static str, content: Vec<u8>) -> Self {
        let digest = Digest::of_bytes(&content);
        Blob {
            media_type,
            content,
            digest,
        }
    }

    fn descriptor(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest.as_str(), "size": self.content.len() })
    }
}

/// Which family of media types an image uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Docker,
    Oci,
}

/// A layer whose bytes are derived from `name`; two images built with the same name share it.
pub fn layer(format: Format, name: &str) -> Blob {
    let media_type = match format {
        Format::Docker => manifest::DOCKER_LAYER,
        Format::Oci => manifest::OCI_LAYER,
    };
    Blob::new(media_type, format!("firedrill layer {name}\n").into_bytes())
}

/// A single-platform image: config, layers, manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub format: Format,
    pub architecture: String,
    pub config: Blob,
    pub layers: Vec<Blob>,
    pub manifest: Blob,
}

impl Image {
    /// Builds an image named `name` for `architecture` over the given layers.
    pub fn new(format: Format, name: &str, architecture: &str, layers: Vec<Blob>) -> Self {
        let (config_type, manifest_type) = match format {
            Format::Docker => (manifest::DOCKER_CONFIG, manifest::DOCKER_MANIFEST),
            Format::Oci => (manifest::OCI_CONFIG, manifest::OCI_MANIFEST),
        };
        let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
        let config_json = json!({
            "architecture": architecture,
            "os": "linux",
            "config": { "Labels": { "firedrill.image": name } },
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        });
        let config = Blob::new(
            config_type,
            serde_json::to_vec(&config_json).expect("json serializes"),
        );
        let manifest_json = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": config.descriptor(),
            "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
        });
        let manifest = Blob::new(
            manifest_type,
            serde_json::to_vec_pretty(&manifest_json).expect("json serializes"),
        );
        Image {
            format,
            architecture: architecture.to_owned(),
            config,
            layers,
            manifest,
        }
    }

    /// Every blob a complete walk of the image visits, manifest first.
    pub fn blobs(&self) -> Vec<&Blob> {
        std::iter::once(&self.manifest)
            .chain(std::iter::once(&self.config))
            .chain(self.layers.iter())
            .collect()
    }
}

/// A multi-platform image: an OCI index or a Docker manifest list over child images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageIndex {
    pub format: Format,
    pub children: Vec<Image>,
    pub index: Blob,
}

impl ImageIndex {
    /// Builds an index named `name` with one child per architecture. Every child has the
    /// `shared` layers (for example a base image) followed by one layer of its own.
    pub fn new(format: Format, name: &str, architectures: &[&str], shared: &[Blob]) -> Self {
        let children: Vec<Image> = architectures
            .iter()
            .map(|arch| {
                let mut layers = shared.to_vec();
                layers.push(layer(format, &format!("{name}/{arch}")));
                Image::new(format, name, arch, layers)
            })
            .collect();
        let index_type = match format {
            Format::Docker => manifest::DOCKER_MANIFEST_LIST,
            Format::Oci => manifest::OCI_INDEX,
        };
        let entries: Vec<Value> = children
            .iter()
            .map(|child| {
                let mut descriptor = child.manifest.descriptor();
                descriptor["platform"] =
                    json!({ "architecture": child.architecture, "os": "linux" });
                descriptor
            })
            .collect();
        let index_json =
            json!({ "schemaVersion": 2, "mediaType": index_type, "manifests": entries });
        let index = Blob::new(
            index_type,
            serde_json::to_vec_pretty(&index_json).expect("json serializes"),
        );
        ImageIndex {
            format,
            children,
            index,
        }
    }

    pub fn kind(&self) -> ManifestKind {
        match self.format {
            Format::Docker => ManifestKind::DockerManifestList,
            Format::Oci => ManifestKind::OciIndex,
        }
    }

    /// The child for an architecture.
    pub fn child(&self, architecture: &str) -> Option<&Image> {
        self.children
            .iter()
            .find(|c| c.architecture == architecture)
    }
}

/// Something a push puts under a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifact {
    Image(Image),
    Index(ImageIndex),
}

impl Artifact {
    /// The digest the tag names after a push.
    pub fn digest(&self) -> &Digest {
        match self {
            Artifact::Image(image) => &image.manifest.digest,
            Artifact::Index(index) => &index.index.digest,
        }
    }
}

/// A push step that did not get the status a registry gives a good push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushError {
    pub step: String,
    pub status: u16,
    pub codes: Vec<String>,
}

impl std::fmt::Display for PushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} answered {} {:?}", self.step, self.status, self.codes)
    }
}

impl std::error::Error for PushError {}

/// Pushes through the API as a client does: blobs by monolithic upload (POST then PUT), child
/// manifests by digest, then the tagged manifest or index.
pub fn push(
    registry: &mut Registry,
    repository: &str,
    tag: &str,
    artifact: &Artifact,
) -> Result<Digest, PushError> {
    match artifact {
        Artifact::Image(image) => push_image(registry, repository, Some(tag), image),
        Artifact::Index(index) => {
            for child in &index.children {
                push_image(registry, repository, None, child)?;
            }
            put_manifest(registry, repository, tag, &index.index)
        }
    }
}

fn push_image(
    registry: &mut Registry,
    repository: &str,
    tag: Option<&str>,
    image: &Image,
) -> Result<Digest, PushError> {
    for blob in std::iter::once(&image.config).chain(image.layers.iter()) {
        upload_blob(registry, repository, blob)?;
    }
    let reference = tag.map_or_else(|| image.manifest.digest.to_string(), str::to_owned);
    put_manifest(registry, repository, &reference, &image.manifest)
}

/// Uploads one blob monolithically: `POST /blobs/uploads/` then `PUT <location>?digest=`.
pub fn upload_blob(
    registry: &mut Registry,
    repository: &str,
    blob: &Blob,
) -> Result<(), PushError> {
    let started = handle(
        registry,
        Request::post(format!("/v2/{repository}/blobs/uploads/")),
    );
    check("POST upload", &started, 202)?;
    let location = started
        .header("Location")
        .expect("a started upload has a location")
        .to_owned();
    let completed = handle(
        registry,
        Request::put(format!("{location}?digest={}", blob.digest)).with_body(blob.content.clone()),
    );
    check("PUT upload", &completed, 201)
}

fn put_manifest(
    registry: &mut Registry,
    repository: &str,
    reference: &str,
    manifest: &Blob,
) -> Result<Digest, PushError> {
    let response = handle(
        registry,
        Request::put(format!("/v2/{repository}/manifests/{reference}"))
            .with_header("Content-Type", manifest.media_type)
            .with_body(manifest.content.clone()),
    );
    check(&format!("PUT manifest {reference}"), &response, 201)?;
    Ok(response
        .content_digest()
        .expect("a stored manifest has a digest"))
}

fn check(
    step: &str,
    response: &super::api::Response,
    expected_status: u16,
) -> Result<(), PushError> {
    if response.status == expected_status {
        Ok(())
    } else {
        Err(PushError {
            step: step.to_owned(),
            status: response.status,
            codes: response.error_codes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_deterministic_and_layers_are_shared_by_name() {
        let base = layer(Format::Oci, "base");
        let a = ImageIndex::new(
            Format::Oci,
            "app",
            &["amd64", "arm64"],
            std::slice::from_ref(&base),
        );
        let b = ImageIndex::new(
            Format::Oci,
            "app",
            &["amd64", "arm64"],
            std::slice::from_ref(&base),
        );
        assert_eq!(a, b);
        let amd64 = a.child("amd64").unwrap();
        let arm64 = a.child("arm64").unwrap();
        assert_eq!(amd64.layers[0].digest, arm64.layers[0].digest);
        assert_ne!(amd64.manifest.digest, arm64.manifest.digest);
        assert_eq!(
            manifest::parse_stored(&a.index.content)
                .unwrap()
                .manifests
                .len(),
            2
        );
    }

    #[test]
    fn push_writes_every_link_a_real_push_writes() {
        use super::super::storage::paths;
        let mut registry = Registry::default();
        let index = ImageIndex::new(
            Format::Docker,
            "web",
            &["amd64", "arm64"],
            &[layer(Format::Docker, "base")],
        );
        let digest = push(&mut registry, "web", "v1", &Artifact::Index(index.clone())).unwrap();
        assert_eq!(digest, index.index.digest);
        let storage = &registry.storage;
        assert_eq!(
            storage.read_link(&paths::tag_current_link("web", "v1")),
            Ok(digest.clone())
        );
        assert!(storage.is_file(&paths::tag_index_link("web", "v1", &digest)));
        for child in &index.children {
            assert!(storage.is_file(&paths::revision_link("web", &child.manifest.digest)));
            // Manifests are not linked into _layers; configs and layers are.
            assert!(!storage.is_file(&paths::layer_link("web", &child.manifest.digest)));
            assert!(storage.is_file(&paths::layer_link("web", &child.config.digest)));
        }
        // The upload sessions are gone from disk after their commits.
        assert!(storage
            .list(&paths::repository_root("web").join("_uploads"))
            .unwrap()
            .is_empty());
    }
}
