//! Deterministic registry content: per repository an OCI index of two OCI images, a plain Docker image, and on
//! every fifth repository a Docker manifest list; a base layer shared by every image.

use super::pusher::{PushError, Pusher};
use firedrill_probes::registry::media_type::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use firedrill_probes::registry::run_bounded;
use firedrill_probes::Endpoint;
use serde_json::json;

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The layer every image shares: one blob on disk, linked into every repository.
pub const SHARED_LAYER: &[u8] = b"firedrill shared base layer\n";

/// What one image consists of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDigests {
    pub manifest: String,
    pub config: String,
    /// The shared base layer first, then the image's own layer.
    pub layers: Vec<String>,
    /// Byte sizes, as the descriptors declare them.
    pub manifest_size: usize,
    pub config_size: usize,
    pub layer_sizes: Vec<usize>,
}

/// Everything pushed to one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryFixture {
    pub name: String,
    /// Tag `v1`: an OCI index of `index_children` (amd64, arm64).
    pub index: String,
    pub index_children: Vec<ImageDigests>,
    /// Tag `plain`: a Docker schema 2 manifest.
    pub plain: ImageDigests,
    /// Tag `multi` on every fifth repository: a Docker manifest list and its children (amd64, arm64).
    pub manifest_list: Option<(String, Vec<ImageDigests>)>,
}

impl RepositoryFixture {
    pub fn tags(&self) -> usize {
        2 + usize::from(self.manifest_list.is_some())
    }
}

/// All pushed content, in repository order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fixture {
    pub repositories: Vec<RepositoryFixture>,
}

impl Fixture {
    pub fn repository(&self, name: &str) -> &RepositoryFixture {
        self.repositories
            .iter()
            .find(|repository| repository.name == name)
            .unwrap_or_else(|| panic!("no repository {name} in the fixture"))
    }

    pub fn tags(&self) -> usize {
        self.repositories.iter().map(RepositoryFixture::tags).sum()
    }

    pub fn indexes(&self) -> usize {
        self.repositories
            .iter()
            .map(|repository| 1 + usize::from(repository.manifest_list.is_some()))
            .sum()
    }

    pub fn manifests(&self) -> usize {
        self.repositories
            .iter()
            .map(|repository| 3 + 2 * usize::from(repository.manifest_list.is_some()))
            .sum()
    }
}

/// The name of repository `number`, e.g. `fixture/app-007`.
pub fn repository_name(number: usize) -> String {
    format!("fixture/app-{number:03}")
}

/// Pushes `repository_count` repositories with `concurrency` connections.
pub async fn populate(
    endpoint: &Endpoint,
    repository_count: usize,
    concurrency: usize,
) -> Result<Fixture, PushError> {
    let pushes = (0..repository_count).map(|number| push_repository(endpoint, number));
    let repositories = run_bounded(pushes, concurrency)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Fixture { repositories })
}

async fn push_repository(
    endpoint: &Endpoint,
    number: usize,
) -> Result<RepositoryFixture, PushError> {
    let name = repository_name(number);
    let mut pusher = Pusher::connect(endpoint).await?;
    let mut index_children = Vec::new();
    for architecture in ["amd64", "arm64"] {
        let image = push_image(&mut pusher, &name, architecture, "oci", false).await?;
        index_children.push(image);
    }
    let oci_index_body = index_body(OCI_INDEX, OCI_MANIFEST, &index_children);
    let index = pusher
        .push_manifest(&name, "v1", OCI_INDEX, &oci_index_body)
        .await?;
    let plain = push_image(&mut pusher, &name, "amd64", "plain", true).await?;
    let plain_body = manifest_body(true, &plain);
    pusher
        .push_manifest(&name, "plain", DOCKER_MANIFEST, &plain_body)
        .await?;
    let manifest_list = if number.is_multiple_of(5) {
        let mut children = Vec::new();
        for architecture in ["amd64", "arm64"] {
            children.push(push_image(&mut pusher, &name, architecture, "list", true).await?);
        }
        let body = index_body(DOCKER_MANIFEST_LIST, DOCKER_MANIFEST, &children);
        let digest = pusher
            .push_manifest(&name, "multi", DOCKER_MANIFEST_LIST, &body)
            .await?;
        Some((digest, children))
    } else {
        None
    };
    Ok(RepositoryFixture {
        name,
        index,
        index_children,
        plain,
        manifest_list,
    })
}

/// Pushes an image's blobs and, for index children, its manifest by digest. Content depends only on the
/// arguments, so every run pushes the same bytes.
async fn push_image(
    pusher: &mut Pusher,
    repository: &str,
    architecture: &str,
    flavour: &str,
    docker: bool,
) -> Result<ImageDigests, PushError> {
    let config = json!({
        "architecture": architecture, "os": "linux",
        "config": {"Labels": {"firedrill.repository": repository, "firedrill.flavour": flavour}},
        "rootfs": {"type": "layers", "diff_ids": []},
    });
    let config = config.to_string();
    let own_content = format!("layer of {repository} {flavour} {architecture}\n");
    let mut image = ImageDigests {
        manifest: String::new(),
        config: pusher.push_blob(repository, config.as_bytes()).await?,
        layers: vec![
            pusher.push_blob(repository, SHARED_LAYER).await?,
            pusher.push_blob(repository, own_content.as_bytes()).await?,
        ],
        manifest_size: 0,
        config_size: config.len(),
        layer_sizes: vec![SHARED_LAYER.len(), own_content.len()],
    };
    let body = manifest_body(docker, &image);
    let media_type = if docker {
        DOCKER_MANIFEST
    } else {
        OCI_MANIFEST
    };
    let digest = firedrill_probes::registry::sha256_digest(&body);
    // Plain images are put by tag by the caller; index children must exist by digest before their index.
    if flavour != "plain" {
        pusher
            .push_manifest(repository, &digest, media_type, &body)
            .await?;
    }
    image.manifest = digest;
    image.manifest_size = body.len();
    Ok(image)
}

fn manifest_body(docker: bool, image: &ImageDigests) -> Vec<u8> {
    let (media_type, config_type, layer_type) = if docker {
        (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER)
    } else {
        (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER)
    };
    let layers: Vec<_> = image
        .layers
        .iter()
        .zip(&image.layer_sizes)
        .map(|(digest, size)| json!({"mediaType": layer_type, "digest": digest, "size": size}))
        .collect();
    let value = json!({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": image.config, "size": image.config_size},
        "layers": layers,
    });
    serde_json::to_vec_pretty(&value).expect("JSON values serialize")
}

fn index_body(media_type: &str, child_type: &str, children: &[ImageDigests]) -> Vec<u8> {
    let architectures = ["amd64", "arm64"];
    let manifests: Vec<_> = children
        .iter()
        .zip(architectures)
        .map(|(child, architecture)| {
            json!({"mediaType": child_type, "digest": child.manifest, "size": child.manifest_size,
                   "platform": {"architecture": architecture, "os": "linux"}})
        })
        .collect();
    let value = json!({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests});
    serde_json::to_vec_pretty(&value).expect("JSON values serialize")
}
