//! The registry incident of seed 003 reproduced on the distribution 2.8.x model: orphaned index children, the naive scan's false negative, and GC sweeping what the orphans need.

use std::cell::RefCell;
use std::rc::Rc;

use firedrill_sim::registry::cleanup::{api_delete_tags, rmtree_tags};
use firedrill_sim::registry::images::{layer, push, Artifact, Format, Image, ImageIndex};
use firedrill_sim::registry::manifest::{self, ManifestKind};
use firedrill_sim::registry::naive_scan::{naive_blob_presence_scan, NaiveFinding};
use firedrill_sim::registry::storage::paths;
use firedrill_sim::registry::{
    handle, Digest, GcError, GcOptions, ModelVariant, Registry, RegistryConfig, Request, Response,
};

const ALL_MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// One object an API walk could not fetch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Broken {
    repository: String,
    reference: String,
    kind: &'static str,
    status: u16,
}

/// A minimal authoritative walk through the API, as the integrity probe does it: catalog
/// (following Link), tags, each tag's manifest with every Accept type, index children by
/// digest, then configs and layers by HEAD.
fn api_walk(registry: &mut Registry) -> Vec<Broken> {
    let mut broken = Vec::new();
    let mut repositories = Vec::new();
    let mut next = Some("/v2/_catalog".to_owned());
    while let Some(url) = next.take() {
        let page = handle(registry, Request::get(url));
        assert_eq!(page.status, 200);
        let body: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
        repositories.extend(
            body["repositories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned()),
        );
        next = page.header("Link").map(|link| {
            link.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_owned()
        });
    }
    for repository in repositories {
        let tags = handle(
            registry,
            Request::get(format!("/v2/{repository}/tags/list")),
        );
        let body: serde_json::Value = serde_json::from_slice(&tags.body).unwrap();
        let tags: Vec<String> = body["tags"].as_array().map_or(Vec::new(), |t| {
            t.iter().map(|t| t.as_str().unwrap().to_owned()).collect()
        });
        for tag in tags {
            walk_manifest(registry, &repository, &tag, "tag", &mut broken);
        }
    }
    broken
}

fn walk_manifest(
    registry: &mut Registry,
    repository: &str,
    reference: &str,
    kind: &'static str,
    broken: &mut Vec<Broken>,
) {
    let response = get_manifest(registry, repository, reference, ALL_MANIFEST_TYPES);
    if response.status != 200 {
        broken.push(Broken {
            repository: repository.to_owned(),
            reference: reference.to_owned(),
            kind,
            status: response.status,
        });
        return;
    }
    let parsed = manifest::parse_stored(&response.body).unwrap();
    for child in &parsed.manifests {
        walk_manifest(
            registry,
            repository,
            child.digest.as_str(),
            "manifest",
            broken,
        );
    }
    let blobs = parsed
        .config
        .iter()
        .map(|c| (c, "config"))
        .chain(parsed.layers.iter().map(|l| (l, "layer")));
    for (descriptor, kind) in blobs {
        let head = handle(
            registry,
            Request::head(format!("/v2/{repository}/blobs/{}", descriptor.digest)),
        );
        if head.status != 200 {
            broken.push(Broken {
                repository: repository.to_owned(),
                reference: descriptor.digest.to_string(),
                kind,
                status: head.status,
            });
        }
    }
}

fn get_manifest(
    registry: &mut Registry,
    repository: &str,
    reference: &str,
    accept: &str,
) -> Response {
    handle(
        registry,
        Request::get(format!("/v2/{repository}/manifests/{reference}"))
            .with_header("Accept", accept),
    )
}

fn head_manifest(
    registry: &mut Registry,
    repository: &str,
    reference: &str,
    accept: &str,
) -> Response {
    handle(
        registry,
        Request::head(format!("/v2/{repository}/manifests/{reference}"))
            .with_header("Accept", accept),
    )
}

/// The seed's registry in miniature: a multi-arch OCI index for CI, a Docker manifest list
/// for an app, and a plain image, the last two on one shared base layer.
struct Fixture {
    registry: Registry,
    ci_index: ImageIndex,
    app_list: ImageIndex,
    tool: Image,
}

fn fixture(variant: ModelVariant) -> Fixture {
    let mut registry = Registry::new(RegistryConfig {
        variant,
        ..RegistryConfig::default()
    });
    let oci_base = layer(Format::Oci, "debian-base");
    let docker_base = layer(Format::Docker, "debian-base");
    let ci_index = ImageIndex::new(
        Format::Oci,
        "infra-ci",
        &["amd64", "arm64"],
        std::slice::from_ref(&oci_base),
    );
    let app_list = ImageIndex::new(
        Format::Docker,
        "app",
        &["amd64", "arm64"],
        std::slice::from_ref(&docker_base),
    );
    let tool = Image::new(
        Format::Docker,
        "tool",
        "amd64",
        vec![docker_base, layer(Format::Docker, "tool-bin")],
    );
    push(
        &mut registry,
        "infra-ci",
        "latest",
        &Artifact::Index(ci_index.clone()),
    )
    .unwrap();
    push(
        &mut registry,
        "app",
        "old",
        &Artifact::Index(app_list.clone()),
    )
    .unwrap();
    push(&mut registry, "tool", "v1", &Artifact::Image(tool.clone())).unwrap();
    Fixture {
        registry,
        ci_index,
        app_list,
        tool,
    }
}

fn missing_index_children(findings: &[NaiveFinding]) -> usize {
    findings
        .iter()
        .filter(|f| matches!(f, NaiveFinding::MissingIndexChild { .. }))
        .count()
}

#[test]
fn a_healthy_registry_walks_clean_and_scans_clean() {
    let mut f = fixture(ModelVariant::Faithful);
    assert_eq!(api_walk(&mut f.registry), vec![]);
    assert_eq!(naive_blob_presence_scan(&f.registry.storage), vec![]);
    // GC without flags keeps everything reachable.
    let before = f.registry.storage.clone();
    let report = f.registry.garbage_collect(GcOptions::default()).unwrap();
    assert_eq!(report.blobs_eligible, vec![]);
    assert_eq!(f.registry.storage, before);
}

#[test]
fn delete_untagged_gc_orphans_the_children_of_a_tagged_index() {
    let mut f = fixture(ModelVariant::Faithful);
    let report = f
        .registry
        .garbage_collect(GcOptions {
            dry_run: false,
            delete_untagged: true,
        })
        .unwrap();
    for child in &f.ci_index.children {
        let digest = &child.manifest.digest;
        assert!(
            report
                .manifests_eligible
                .iter()
                .any(|m| &m.digest == digest),
            "child {digest} was untagged"
        );
        // The incident: the revision link is gone, the manifest's data is still on disk, and the API says 404.
        assert!(!f
            .registry
            .storage
            .is_file(&paths::revision_link("infra-ci", digest)));
        assert!(f.registry.storage.blob_data_exists(digest));
        let head = head_manifest(
            &mut f.registry,
            "infra-ci",
            digest.as_str(),
            ALL_MANIFEST_TYPES,
        );
        assert_eq!(head.status, 404);
        let get = get_manifest(
            &mut f.registry,
            "infra-ci",
            digest.as_str(),
            ALL_MANIFEST_TYPES,
        );
        assert_eq!(get.error_codes(), vec!["MANIFEST_UNKNOWN"]);
        // Unmarked in the same run: the untagged child's own config and layer data are swept.
        assert!(!f.registry.storage.blob_data_exists(&child.config.digest));
        assert!(!f
            .registry
            .storage
            .blob_data_exists(&child.layers.last().unwrap().digest));
    }
    // The index itself is tagged and still resolves.
    let index = head_manifest(&mut f.registry, "infra-ci", "latest", manifest::OCI_INDEX);
    assert_eq!(
        (index.status, index.content_digest()),
        (200, Some(f.ci_index.index.digest.clone()))
    );
    // The naive scan sees every child's data and reports no broken index; the API walk finds both children.
    assert_eq!(
        missing_index_children(&naive_blob_presence_scan(&f.registry.storage)),
        0
    );
    let broken = api_walk(&mut f.registry);
    let orphans: Vec<&Broken> = broken
        .iter()
        .filter(|b| b.repository == "infra-ci" && b.kind == "manifest")
        .collect();
    assert_eq!(orphans.len(), 2, "{broken:?}");
    assert!(orphans.iter().all(|b| b.status == 404));
}

#[test]
fn api_cleanup_deletes_the_amd64_child_of_a_manifest_list_and_the_next_gc_sweeps_its_blobs() {
    let mut f = fixture(ModelVariant::Faithful);
    let amd64 = f.app_list.child("amd64").unwrap().clone();
    let arm64 = f.app_list.child("arm64").unwrap().clone();

    let steps = api_delete_tags(&mut f.registry, "app", &["old"]);
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].head_status, 200);
    // The HEAD with only the schema2 Accept answered the child's digest, not the list's.
    assert_eq!(
        steps[0].deleted_digest.as_ref(),
        Some(&amd64.manifest.digest)
    );
    assert_eq!(steps[0].delete_status, Some(202));

    // The list is still tagged; its amd64 child answers 404 while its data is on disk.
    let list = head_manifest(
        &mut f.registry,
        "app",
        "old",
        manifest::DOCKER_MANIFEST_LIST,
    );
    assert_eq!(
        (list.status, list.content_digest()),
        (200, Some(f.app_list.index.digest.clone()))
    );
    assert_eq!(
        head_manifest(
            &mut f.registry,
            "app",
            amd64.manifest.digest.as_str(),
            ALL_MANIFEST_TYPES
        )
        .status,
        404
    );
    assert!(f.registry.storage.blob_data_exists(&amd64.manifest.digest));
    assert_eq!(
        missing_index_children(&naive_blob_presence_scan(&f.registry.storage)),
        0
    );
    let broken = api_walk(&mut f.registry);
    assert_eq!(
        broken,
        vec![Broken {
            repository: "app".into(),
            reference: amd64.manifest.digest.to_string(),
            kind: "manifest",
            status: 404
        }]
    );

    // The child is no longer enumerated, so GC (even without --delete-untagged) sweeps its config
    // and its own layer. The list still marks the child's manifest blob; the shared base layer
    // survives through the arm64 child.
    let report = f.registry.garbage_collect(GcOptions::default()).unwrap();
    let mut swept = vec![amd64.config.digest.clone(), amd64.layers[1].digest.clone()];
    swept.sort();
    let mut eligible = report.blobs_eligible.clone();
    eligible.sort();
    assert_eq!(eligible, swept);
    for digest in &swept {
        assert!(!f.registry.storage.blob_data_exists(digest));
    }
    assert!(f.registry.storage.blob_data_exists(&amd64.manifest.digest));
    assert!(f.registry.storage.blob_data_exists(&amd64.layers[0].digest));
    for blob in arm64.blobs() {
        assert!(f.registry.storage.blob_data_exists(&blob.digest));
    }
    // A second GC has nothing more to take: only a rebuild brings the child back.
    let again = f.registry.garbage_collect(GcOptions::default()).unwrap();
    assert_eq!(again.blobs_eligible, vec![]);
}

#[test]
fn the_descriptor_cache_answers_for_swept_blobs_until_restart() {
    let mut f = fixture(ModelVariant::Faithful);
    let amd64 = f.app_list.child("amd64").unwrap().clone();
    api_delete_tags(&mut f.registry, "app", &["old"]);
    f.registry.garbage_collect(GcOptions::default()).unwrap();
    assert!(!f.registry.storage.blob_data_exists(&amd64.config.digest));
    let config_url = format!("/v2/app/blobs/{}", amd64.config.digest);
    // The upload cached the descriptor; the running registry still says 200 and promises the size.
    let cached = handle(&mut f.registry, Request::head(config_url.clone()));
    assert_eq!(cached.status, 200);
    assert_eq!(
        cached.header("Content-Length"),
        Some(amd64.config.content.len().to_string().as_str())
    );
    let get = handle(&mut f.registry, Request::get(config_url.clone()));
    assert_eq!(get.status, 200);
    assert!(
        get.body.is_empty(),
        "the data is gone, so the body is short"
    );
    f.registry.restart();
    let fresh = handle(&mut f.registry, Request::head(config_url));
    assert_eq!(fresh.status, 404);
}

#[test]
fn the_wrong_variant_keeps_what_2_8_sweeps() {
    let run = |variant| {
        let mut f = fixture(variant);
        api_delete_tags(&mut f.registry, "app", &["old"]);
        f.registry.garbage_collect(GcOptions::default()).unwrap();
        f.registry
            .garbage_collect(GcOptions {
                dry_run: false,
                delete_untagged: true,
            })
            .unwrap();
        (
            f.registry.storage.blob_digests(),
            f.app_list.child("amd64").unwrap().config.digest.clone(),
        )
    };
    let (faithful_blobs, config) = run(ModelVariant::Faithful);
    let (recursive_blobs, _) = run(ModelVariant::MarkRecursively);
    assert!(!faithful_blobs.contains(&config));
    assert!(recursive_blobs.contains(&config));
    assert_ne!(
        faithful_blobs, recursive_blobs,
        "a differential test comparing blobs on disk must see the difference"
    );
}

#[test]
fn rmtree_cleanup_untags_and_delete_untagged_gc_then_removes_the_whole_image() {
    let mut f = fixture(ModelVariant::Faithful);
    assert_eq!(
        rmtree_tags(&mut f.registry.storage, "tool", &["v1", "missing"]),
        vec!["v1"]
    );
    // The rmtree leaves revisions alone: the manifest still resolves by digest.
    let digest = f.tool.manifest.digest.clone();
    assert_eq!(
        head_manifest(
            &mut f.registry,
            "tool",
            digest.as_str(),
            manifest::DOCKER_MANIFEST
        )
        .status,
        200
    );
    assert_eq!(
        head_manifest(&mut f.registry, "tool", "v1", manifest::DOCKER_MANIFEST).status,
        404
    );
    // A GC without --delete-untagged keeps it; with it, the manifest and its private layer go.
    assert_eq!(
        f.registry
            .garbage_collect(GcOptions::default())
            .unwrap()
            .blobs_eligible,
        vec![]
    );
    f.registry
        .garbage_collect(GcOptions {
            dry_run: false,
            delete_untagged: true,
        })
        .unwrap();
    assert_eq!(
        head_manifest(
            &mut f.registry,
            "tool",
            digest.as_str(),
            manifest::DOCKER_MANIFEST
        )
        .status,
        404
    );
    assert!(!f.registry.storage.blob_data_exists(&digest));
    assert!(!f
        .registry
        .storage
        .blob_data_exists(&f.tool.layers[1].digest));
    // The base layer goes too, although the tagged app list still needs it: the list's children
    // are untagged, so nothing marks their layers (distribution#3178).
    let base = &f.tool.layers[0].digest;
    assert!(f
        .app_list
        .children
        .iter()
        .all(|child| &child.layers[0].digest == base));
    assert!(!f.registry.storage.blob_data_exists(base));
    // The same run orphaned the list's children, so a walk stops at them before reaching the layer.
    let broken = api_walk(&mut f.registry);
    for child in &f.app_list.children {
        assert!(
            broken
                .iter()
                .any(|b| b.repository == "app" && b.reference == child.manifest.digest.as_str()),
            "{broken:?}"
        );
    }
}

#[test]
fn dry_run_reports_and_changes_nothing() {
    let mut f = fixture(ModelVariant::Faithful);
    let before = f.registry.storage.clone();
    let report = f
        .registry
        .garbage_collect(GcOptions {
            dry_run: true,
            delete_untagged: true,
        })
        .unwrap();
    assert!(!report.blobs_eligible.is_empty());
    assert_eq!(
        report.manifests_eligible.len(),
        4,
        "two children in each index"
    );
    assert_eq!(f.registry.storage, before);
}

#[test]
fn delete_untagged_fails_in_a_repository_without_a_tags_directory() {
    let mut f = fixture(ModelVariant::Faithful);
    f.registry
        .storage
        .delete(&paths::tags_root("tool"))
        .unwrap();
    let before = f.registry.storage.clone();
    let result = f.registry.garbage_collect(GcOptions {
        dry_run: false,
        delete_untagged: true,
    });
    assert_eq!(
        result,
        Err(GcError::RetrieveTags {
            repository: "tool".into()
        })
    );
    assert_eq!(
        f.registry.storage, before,
        "2.8.x stops during mark, before any sweep"
    );
    let tags = handle(&mut f.registry, Request::get("/v2/tool/tags/list"));
    assert_eq!(
        (tags.status, tags.error_codes()),
        (404, vec!["NAME_UNKNOWN".to_owned()])
    );
}

#[test]
fn accept_headers_decide_what_a_tag_resolves_to() {
    let mut f = fixture(ModelVariant::Faithful);
    // An OCI index without the index type in Accept is 404, by tag and by digest.
    let by_tag = head_manifest(
        &mut f.registry,
        "infra-ci",
        "latest",
        manifest::DOCKER_MANIFEST,
    );
    assert_eq!(by_tag.status, 404);
    let by_digest = get_manifest(
        &mut f.registry,
        "infra-ci",
        f.ci_index.index.digest.as_str(),
        manifest::DOCKER_MANIFEST,
    );
    assert_eq!(by_digest.error_codes(), vec!["MANIFEST_UNKNOWN"]);
    // A Docker list asked for by tag without the list type becomes its amd64 child.
    let amd64 = f.app_list.child("amd64").unwrap();
    let rewritten = get_manifest(&mut f.registry, "app", "old", manifest::DOCKER_MANIFEST);
    assert_eq!(rewritten.status, 200);
    assert_eq!(
        rewritten.content_digest(),
        Some(amd64.manifest.digest.clone())
    );
    assert_eq!(
        rewritten.header("Content-Type"),
        Some(manifest::DOCKER_MANIFEST)
    );
    assert_eq!(rewritten.body, amd64.manifest.content);
    // With the list type it is the list; by digest no rewrite happens.
    let list = get_manifest(&mut f.registry, "app", "old", ALL_MANIFEST_TYPES);
    assert_eq!(list.content_digest(), Some(f.app_list.index.digest.clone()));
    assert_eq!(
        manifest::parse_stored(&list.body).unwrap().kind,
        ManifestKind::DockerManifestList
    );
    let list_by_digest = get_manifest(
        &mut f.registry,
        "app",
        f.app_list.index.digest.as_str(),
        manifest::DOCKER_MANIFEST,
    );
    assert_eq!(
        list_by_digest.content_digest(),
        Some(f.app_list.index.digest.clone())
    );
    // HEAD carries GET's headers without the body.
    let head = head_manifest(&mut f.registry, "app", "old", ALL_MANIFEST_TYPES);
    assert_eq!(
        head.header("Content-Length"),
        Some(f.app_list.index.content.len().to_string().as_str())
    );
    assert!(head.body.is_empty());
}

#[test]
fn blobs_resolve_only_through_the_repository_layer_link() {
    let mut f = fixture(ModelVariant::Faithful);
    f.registry.restart();
    let tool_layer = f.tool.layers[1].digest.clone();
    // The data exists, but `app` has no _layers link for tool's private layer.
    let elsewhere = handle(
        &mut f.registry,
        Request::head(format!("/v2/app/blobs/{tool_layer}")),
    );
    assert_eq!(elsewhere.status, 404);
    let body = handle(
        &mut f.registry,
        Request::get(format!("/v2/app/blobs/{tool_layer}")),
    );
    assert_eq!(body.error_codes(), vec!["BLOB_UNKNOWN"]);
    // A manifest is not a blob of its repository either.
    let manifest_as_blob = handle(
        &mut f.registry,
        Request::head(format!("/v2/tool/blobs/{}", f.tool.manifest.digest)),
    );
    assert_eq!(manifest_as_blob.status, 404);
    // Removing the link makes the blob 404 once the cache has been emptied.
    let own = handle(
        &mut f.registry,
        Request::get(format!("/v2/tool/blobs/{tool_layer}")),
    );
    assert_eq!(
        (own.status, own.body.clone()),
        (200, f.tool.layers[1].content.clone())
    );
    f.registry
        .storage
        .remove_link(&paths::layer_link("tool", &tool_layer))
        .unwrap();
    f.registry.restart();
    assert_eq!(
        handle(
            &mut f.registry,
            Request::head(format!("/v2/tool/blobs/{tool_layer}"))
        )
        .status,
        404
    );
}

#[test]
fn manifest_delete_removes_the_revision_link_and_every_tag_pointing_at_it() {
    let mut f = fixture(ModelVariant::Faithful);
    push(
        &mut f.registry,
        "tool",
        "stable",
        &Artifact::Image(f.tool.clone()),
    )
    .unwrap();
    let digest = f.tool.manifest.digest.clone();
    let deleted = handle(
        &mut f.registry,
        Request::delete(format!("/v2/tool/manifests/{digest}")),
    );
    assert_eq!(deleted.status, 202);
    assert!(!f.registry.storage.is_dir(&paths::tag_dir("tool", "v1")));
    assert!(!f.registry.storage.is_dir(&paths::tag_dir("tool", "stable")));
    assert!(
        f.registry.storage.blob_data_exists(&digest),
        "DELETE leaves the data for GC"
    );
    // An empty tags directory lists as null, as Go encodes a nil slice.
    let tags = handle(&mut f.registry, Request::get("/v2/tool/tags/list"));
    let body: serde_json::Value = serde_json::from_slice(&tags.body).unwrap();
    assert_eq!(body, serde_json::json!({"name": "tool", "tags": null}));
    // Deleting again, or by tag, fails the way 2.8.x fails.
    let again = handle(
        &mut f.registry,
        Request::delete(format!("/v2/tool/manifests/{digest}")),
    );
    assert_eq!(again.error_codes(), vec!["MANIFEST_UNKNOWN"]);
    let by_tag = handle(&mut f.registry, Request::delete("/v2/app/manifests/old"));
    assert_eq!(by_tag.error_codes(), vec!["DIGEST_INVALID"]);
    let mut disabled = Registry::new(RegistryConfig {
        delete_enabled: false,
        ..RegistryConfig::default()
    });
    let refused = handle(
        &mut disabled,
        Request::delete(format!("/v2/tool/manifests/{digest}")),
    );
    assert_eq!(
        (refused.status, refused.error_codes()),
        (405, vec!["UNSUPPORTED".to_owned()])
    );
}

#[test]
fn put_refuses_a_manifest_whose_blobs_the_repository_cannot_serve() {
    let mut registry = Registry::default();
    let image = Image::new(
        Format::Oci,
        "lonely",
        "amd64",
        vec![layer(Format::Oci, "never-uploaded")],
    );
    let response = handle(
        &mut registry,
        Request::put("/v2/lonely/manifests/v1")
            .with_header("Content-Type", manifest::OCI_MANIFEST)
            .with_body(image.manifest.content.clone()),
    );
    assert_eq!(response.status, 400);
    assert_eq!(
        response.error_codes(),
        vec!["MANIFEST_BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"]
    );
    let wrong_digest = handle(
        &mut registry,
        Request::put(format!(
            "/v2/lonely/manifests/{}",
            Digest::of_bytes(b"other")
        ))
        .with_header("Content-Type", manifest::OCI_MANIFEST)
        .with_body(image.manifest.content.clone()),
    );
    assert_eq!(wrong_digest.error_codes(), vec!["DIGEST_INVALID"]);
}

#[test]
fn catalog_paginates_by_100_with_a_link_and_refuses_more_than_1000() {
    let mut registry = Registry::default();
    let base = layer(Format::Oci, "base");
    for i in 0..150 {
        let image = Image::new(
            Format::Oci,
            &format!("svc-{i:03}"),
            "amd64",
            vec![base.clone()],
        );
        push(
            &mut registry,
            &format!("team/svc-{i:03}"),
            "latest",
            &Artifact::Image(image),
        )
        .unwrap();
    }
    let first = handle(&mut registry, Request::get("/v2/_catalog"));
    let body: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(body["repositories"].as_array().unwrap().len(), 100);
    assert_eq!(body["repositories"][0], "team/svc-000");
    assert_eq!(
        first.header("Link"),
        Some("</v2/_catalog?last=team%2Fsvc-099&n=100>; rel=\"next\"")
    );
    let second = handle(
        &mut registry,
        Request::get("/v2/_catalog?last=team%2Fsvc-099&n=100"),
    );
    let body: serde_json::Value = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(body["repositories"].as_array().unwrap().len(), 50);
    assert_eq!(second.header("Link"), None);
    // 2.8.x links a next page whenever the page is full, even when nothing follows.
    let exact = handle(
        &mut registry,
        Request::get("/v2/_catalog?last=team%2Fsvc-099&n=50"),
    );
    assert!(exact.header("Link").is_some());
    let empty = handle(
        &mut registry,
        Request::get("/v2/_catalog?last=team%2Fsvc-149&n=50"),
    );
    let body: serde_json::Value = serde_json::from_slice(&empty.body).unwrap();
    assert_eq!(body["repositories"], serde_json::json!([]));
    let too_many = handle(&mut registry, Request::get("/v2/_catalog?n=1001"));
    assert_eq!(
        (too_many.status, too_many.error_codes()),
        (400, vec!["PAGINATION_NUMBER_INVALID".to_owned()])
    );
    assert_eq!(
        handle(&mut registry, Request::get("/v2/_catalog?n=1000")).status,
        200
    );
}

#[test]
fn tags_list_ignores_pagination_in_2_8_and_paginates_when_configured() {
    let mut registry = Registry::default();
    let image = Image::new(Format::Oci, "many", "amd64", vec![layer(Format::Oci, "x")]);
    for i in 0..5 {
        push(
            &mut registry,
            "many",
            &format!("t{i}"),
            &Artifact::Image(image.clone()),
        )
        .unwrap();
    }
    let all = handle(&mut registry, Request::get("/v2/many/tags/list?n=2"));
    let body: serde_json::Value = serde_json::from_slice(&all.body).unwrap();
    assert_eq!(body["tags"].as_array().unwrap().len(), 5);
    assert_eq!(all.header("Link"), None);
    registry.config.tags_list_pagination = true;
    let page = handle(
        &mut registry,
        Request::get("/v2/many/tags/list?n=2&last=t1"),
    );
    let body: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
    assert_eq!(body["tags"], serde_json::json!(["t2", "t3"]));
    assert_eq!(
        page.header("Link"),
        Some("</v2/many/tags/list?last=t3&n=2>; rel=\"next\"")
    );
}

#[test]
fn the_model_serves_http_over_turmoil_tcp() {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;

    let fixture = fixture(ModelVariant::Faithful);
    let child = fixture
        .app_list
        .child("amd64")
        .unwrap()
        .manifest
        .digest
        .clone();
    let registry = Rc::new(RefCell::new(fixture.registry));
    let mut sim = turmoil::Builder::new().build();
    let served = Rc::clone(&registry);
    sim.host("registry", move || {
        let registry = Rc::clone(&served);
        async move {
            firedrill_sim::registry::server::bind_and_serve(5000, registry).await?;
            Ok(())
        }
    });
    sim.client("probe", async move {
        let stream = turmoil::net::TcpStream::connect(("registry", 5000)).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::task::spawn_local(connection);
        // Two requests on one keep-alive connection.
        let catalog = sender
            .send_request(
                hyper::Request::get("/v2/_catalog")
                    .header("Host", "registry")
                    .body(Empty::<Bytes>::new())?,
            )
            .await?;
        assert_eq!(catalog.status(), 200);
        let body = catalog.into_body().collect().await?.to_bytes();
        assert_eq!(
            &body[..],
            b"{\"repositories\":[\"app\",\"infra-ci\",\"tool\"]}\n"
        );
        sender.ready().await?;
        let head = sender
            .send_request(
                hyper::Request::head("/v2/app/manifests/old")
                    .header("Host", "registry")
                    .header("Accept", manifest::DOCKER_MANIFEST)
                    .body(Empty::<Bytes>::new())?,
            )
            .await?;
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()["docker-content-digest"].to_str()?,
            child.as_str()
        );
        assert!(
            head.headers()["content-length"]
                .to_str()?
                .parse::<usize>()?
                > 0
        );
        Ok(())
    });
    sim.run().unwrap();
}
