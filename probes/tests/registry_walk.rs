//! The registry probe against tiny servers on 127.0.0.1: a well-behaved fake registry (pagination, Accept rules,
//! broken links) and hostile ones (garbage, huge bodies, cycles, redirects, silence).

use firedrill_probes::registry::media_type::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use firedrill_probes::registry::{
    probe_registry, sha256_digest, Credentials, Kind, ProbeError, Scope, WalkConfig,
};
use firedrill_probes::{Endpoint, TcpConnect};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a test server does with one request.
enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Send a head announcing `length_bytes`, then stream zeros until the client hangs up.
    Endless { length_bytes: u64 },
    /// Never answer, keep the connection open.
    Silent,
}

fn reply(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Reply {
    Reply::Respond {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A keep-alive HTTP/1.1 server on 127.0.0.1, one thread per connection. It lives until the test process ends.
struct TestServer {
    url: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let server_log = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = handler.clone();
                let log = server_log.clone();
                std::thread::spawn(move || serve_connection(stream, &*handler, &log));
            }
        });
        TestServer { url, log }
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint::parse(&self.url).unwrap()
    }

    fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

fn serve_connection(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let seen = Seen {
            method: method.clone(),
            path,
            headers,
        };
        log.lock().unwrap().push(seen.clone());
        match handler(&seen) {
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let mut bytes = head.into_bytes();
                if method != "HEAD" {
                    bytes.extend_from_slice(&body);
                }
                if writer.write_all(&bytes).is_err() {
                    return;
                }
            }
            Reply::Endless { length_bytes } => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {length_bytes}\r\n\r\n");
                let _ = writer.write_all(head.as_bytes());
                let chunk = vec![b' '; 64 * 1024];
                while writer.write_all(&chunk).is_ok() {}
                return;
            }
            Reply::Silent => {
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
        }
    }
}

/// An in-memory registry with distribution's observable behaviour for what the walk uses.
#[derive(Clone, Default)]
struct FakeRegistry {
    /// repository → tag → manifest digest
    tags: BTreeMap<String, BTreeMap<String, String>>,
    /// (repository, digest) → (media type, body): the manifests whose revision links exist.
    manifests: BTreeMap<(String, String), (String, Vec<u8>)>,
    /// (repository, digest): blobs whose `_layers` link and data exist.
    blobs: std::collections::BTreeSet<(String, String)>,
    /// The server's maximum page size; more gets 400 PAGINATION_NUMBER_INVALID.
    max_page_entries: usize,
}

fn descriptor(media_type: &str, digest: &str) -> serde_json::Value {
    serde_json::json!({"mediaType": media_type, "digest": digest, "size": 1})
}

impl FakeRegistry {
    fn blob(&mut self, repository: &str, content: &str) -> String {
        let digest = sha256_digest(content.as_bytes());
        self.blobs.insert((repository.into(), digest.clone()));
        digest
    }

    fn manifest(&mut self, repository: &str, media_type: &str, value: serde_json::Value) -> String {
        let body = serde_json::to_vec(&value).unwrap();
        let digest = sha256_digest(&body);
        self.manifests.insert(
            (repository.into(), digest.clone()),
            (media_type.into(), body),
        );
        digest
    }

    /// An image: a config and layers (by content), returning the manifest digest.
    fn image(
        &mut self,
        repository: &str,
        media_type: &str,
        config: &str,
        layers: &[&str],
    ) -> String {
        let config = self.blob(repository, config);
        let layers: Vec<_> = layers
            .iter()
            .map(|layer| {
                descriptor(
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                    &self.blob(repository, layer),
                )
            })
            .collect();
        let value = serde_json::json!({
            "schemaVersion": 2, "mediaType": media_type,
            "config": descriptor("application/vnd.oci.image.config.v1+json", &config), "layers": layers,
        });
        self.manifest(repository, media_type, value)
    }

    fn index(&mut self, repository: &str, media_type: &str, children: &[String]) -> String {
        let children: Vec<_> = children
            .iter()
            .map(|child| descriptor(OCI_MANIFEST, child))
            .collect();
        let value =
            serde_json::json!({"schemaVersion": 2, "mediaType": media_type, "manifests": children});
        self.manifest(repository, media_type, value)
    }

    fn tag(&mut self, repository: &str, tag: &str, digest: &str) {
        self.tags
            .entry(repository.into())
            .or_default()
            .insert(tag.into(), digest.into());
    }

    fn handle(&self, seen: &Seen) -> Reply {
        let (path, query) = seen.path.split_once('?').unwrap_or((&seen.path, ""));
        let query: BTreeMap<&str, &str> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .collect();
        let not_found =
            |code: &str| reply(404, &[], format!(r#"{{"errors":[{{"code":"{code}"}}]}}"#));
        if path == "/v2/" {
            return reply(200, &[], "{}");
        }
        if path == "/v2/_catalog" {
            let names: Vec<String> = self.tags.keys().cloned().collect();
            return self.page(path, &query, names, "repositories");
        }
        let rest = path.strip_prefix("/v2/").unwrap_or("");
        if let Some(repository) = rest.strip_suffix("/tags/list") {
            return match self.tags.get(repository) {
                Some(tags) => self.page(path, &query, tags.keys().cloned().collect(), "tags"),
                None => not_found("NAME_UNKNOWN"),
            };
        }
        if let Some((repository, reference)) = rest.split_once("/manifests/") {
            let digest = match self
                .tags
                .get(repository)
                .and_then(|tags| tags.get(reference))
            {
                Some(digest) => digest.clone(),
                None => reference.to_string(),
            };
            let Some((media_type, body)) = self
                .manifests
                .get(&(repository.to_string(), digest.clone()))
            else {
                return not_found("MANIFEST_UNKNOWN");
            };
            let accept = seen.headers.get("accept").cloned().unwrap_or_default();
            // Distribution answers an index by tag only when its type is accepted.
            if media_type == OCI_INDEX
                && !accept.contains(OCI_INDEX)
                && reference == digest.as_str()
            {
                return not_found("MANIFEST_UNKNOWN");
            }
            return reply(
                200,
                &[
                    ("content-type", media_type),
                    ("docker-content-digest", &digest),
                ],
                body.clone(),
            );
        }
        if let Some((repository, digest)) = rest.split_once("/blobs/") {
            if self
                .blobs
                .contains(&(repository.to_string(), digest.to_string()))
            {
                return reply(200, &[("docker-content-digest", digest)], "");
            }
            return not_found("BLOB_UNKNOWN");
        }
        not_found("NAME_UNKNOWN")
    }

    fn page(
        &self,
        path: &str,
        query: &BTreeMap<&str, &str>,
        names: Vec<String>,
        field: &str,
    ) -> Reply {
        let size: usize = query.get("n").and_then(|n| n.parse().ok()).unwrap_or(100);
        if size > self.max_page_entries {
            return reply(
                400,
                &[],
                r#"{"errors":[{"code":"PAGINATION_NUMBER_INVALID"}]}"#,
            );
        }
        let after = query.get("last").copied().unwrap_or("");
        let page: Vec<String> = names
            .into_iter()
            .filter(|name| name.as_str() > after)
            .take(size)
            .collect();
        let mut headers = Vec::new();
        let link;
        if page.len() == size {
            link = format!(
                "<{path}?last={}&n={size}>; rel=\"next\"",
                page.last().unwrap()
            );
            headers.push(("link", link.as_str()));
        }
        reply(
            200,
            &headers,
            serde_json::json!({ field: page }).to_string(),
        )
    }
}

fn config(scope: Scope) -> WalkConfig {
    WalkConfig {
        scope,
        concurrency: 8,
        request_timeout: Duration::from_millis(500),
        ..WalkConfig::default()
    }
}

fn walk(
    server: &TestServer,
    config: &WalkConfig,
) -> Result<firedrill_probes::registry::Report, ProbeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(probe_registry(
        &TcpConnect::plain(),
        &server.endpoint(),
        config,
    ))
}

/// 150 repositories (so the catalog paginates), indexes, manifest lists, plain manifests, shared layers.
fn populated_registry() -> FakeRegistry {
    let mut registry = FakeRegistry {
        max_page_entries: 100,
        ..FakeRegistry::default()
    };
    for number in 0..150u32 {
        let repository = format!("team/app-{number:03}");
        let shared = "shared base layer";
        let amd64 = registry.image(
            &repository,
            OCI_MANIFEST,
            &format!("cfg-amd64-{number}"),
            &[shared, "amd64"],
        );
        let arm64 = registry.image(
            &repository,
            OCI_MANIFEST,
            &format!("cfg-arm64-{number}"),
            &[shared, "arm64"],
        );
        let index = registry.index(&repository, OCI_INDEX, &[amd64, arm64]);
        registry.tag(&repository, "v1", &index);
        registry.tag(&repository, "latest", &index);
        let plain = registry.image(
            &repository,
            DOCKER_MANIFEST,
            &format!("cfg-plain-{number}"),
            &[shared],
        );
        registry.tag(&repository, "plain", &plain);
        if number.is_multiple_of(10) {
            let child = registry.image(
                &repository,
                DOCKER_MANIFEST,
                &format!("cfg-list-{number}"),
                &["list"],
            );
            let list = registry.index(&repository, DOCKER_MANIFEST_LIST, &[child]);
            registry.tag(&repository, "list", &list);
        }
    }
    registry
}

#[test]
fn a_healthy_registry_is_walked_completely_without_repeating_a_request() {
    let registry = populated_registry();
    let server = TestServer::start(move |seen| registry.handle(seen));
    let report = walk(&server, &config(Scope::Everything)).unwrap();
    assert!(report.broken.is_empty(), "{:#?}", report.broken);
    assert!(report.catalog_accessible);
    assert_eq!(report.repositories, 150);
    assert_eq!(report.tags, 150 * 3 + 15);
    assert_eq!(report.indexes, 150 + 15);
    assert_eq!(report.manifests, 150 * 3 + 15);
    // Per repository: 3 configs, shared + amd64 + arm64 layers; lists add a config and a layer.
    assert_eq!(report.blobs, 150 * 6 + 15 * 2);
    let requests = server.requests();
    assert_eq!(report.requests as usize, requests.len());
    let mut seen = std::collections::BTreeSet::new();
    for request in &requests {
        if request.path.contains("sha256:") {
            assert!(
                seen.insert(request.path.clone()),
                "requested twice: {}",
                request.path
            );
        }
        if request.path.contains("/blobs/") {
            assert_eq!(request.method, "HEAD", "{}", request.path);
        }
        let accept = request.headers.get("accept").cloned().unwrap_or_default();
        if request.path.contains("/manifests/") {
            for media_type in [
                OCI_INDEX,
                DOCKER_MANIFEST_LIST,
                OCI_MANIFEST,
                DOCKER_MANIFEST,
            ] {
                assert!(
                    accept.contains(media_type),
                    "{} lacks {media_type}",
                    request.path
                );
            }
        }
    }
    // The catalog needed the fallback page size and a second page.
    let catalog: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/v2/_catalog"))
        .collect();
    assert_eq!(catalog.len(), 3, "{catalog:?}");
}

#[test]
fn reports_exactly_the_broken_objects() {
    let mut registry = populated_registry();
    let repository = "team/app-007";
    let index = registry.tags[repository]["v1"].clone();
    let (_, index_body) = registry.manifests[&(repository.to_string(), index.clone())].clone();
    let index_value: serde_json::Value = serde_json::from_slice(&index_body).unwrap();
    let orphan = index_value["manifests"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    registry
        .manifests
        .remove(&(repository.to_string(), orphan.clone()));
    let plain = registry.tags["team/app-042"]["plain"].clone();
    let (_, plain_body) = registry.manifests[&("team/app-042".to_string(), plain.clone())].clone();
    let plain_value: serde_json::Value = serde_json::from_slice(&plain_body).unwrap();
    let config_digest = plain_value["config"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let layer = plain_value["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    registry
        .blobs
        .remove(&("team/app-042".to_string(), config_digest.clone()));
    registry
        .blobs
        .remove(&("team/app-042".to_string(), layer.clone()));
    registry.tag("team/app-100", "dangling", &sha256_digest(b"gone"));
    let server = TestServer::start(move |seen| registry.handle(seen));
    let report = walk(&server, &config(Scope::Everything)).unwrap();
    let found: Vec<_> = report
        .broken
        .iter()
        .map(|b| {
            (
                b.repository.as_str(),
                b.reference.as_str(),
                b.kind,
                b.status,
                b.parent.clone(),
            )
        })
        .collect();
    // The layer is shared with the index children, whose manifests come first, so its parent is one of them.
    let layer_parent = report
        .broken
        .iter()
        .find(|b| b.kind == Kind::Layer)
        .and_then(|b| b.parent.clone());
    assert_eq!(
        found,
        vec![
            (
                "team/app-007",
                orphan.as_str(),
                Kind::Manifest,
                Some(404),
                Some(index.clone())
            ),
            (
                "team/app-042",
                config_digest.as_str(),
                Kind::Config,
                Some(404),
                Some(plain.clone())
            ),
            (
                "team/app-042",
                layer.as_str(),
                Kind::Layer,
                Some(404),
                layer_parent
            ),
            ("team/app-100", "dangling", Kind::Tag, Some(404), None),
        ]
    );
    assert!(
        report.broken[0].detail.contains("MANIFEST_UNKNOWN"),
        "{}",
        report.broken[0].detail
    );
}

#[test]
fn an_image_scope_walks_one_reference_only() {
    let registry = populated_registry();
    let server = TestServer::start(move |seen| registry.handle(seen));
    let scope = Scope::Image {
        repository: "team/app-003".into(),
        reference: "v1".into(),
    };
    let report = walk(&server, &config(scope)).unwrap();
    assert!(report.broken.is_empty(), "{:#?}", report.broken);
    assert_eq!(
        (report.tags, report.indexes, report.manifests, report.blobs),
        (1, 1, 2, 5)
    );
    assert!(server
        .requests()
        .iter()
        .all(|r| !r.path.contains("_catalog") && !r.path.contains("tags/list")));
    let missing = Scope::Image {
        repository: "team/app-003".into(),
        reference: "nope".into(),
    };
    let report = walk(&server, &config(missing)).unwrap();
    assert_eq!(report.broken.len(), 1);
    assert_eq!(
        (report.broken[0].kind, report.broken[0].status),
        (Kind::Tag, Some(404))
    );
}

#[test]
fn credentials_are_sent_and_refusal_is_an_error() {
    let server =
        TestServer::start(
            |seen| match seen.headers.get("authorization").map(String::as_str) {
                Some("Bearer sekrit") => reply(200, &[], "{}"),
                _ => reply(401, &[], ""),
            },
        );
    let mut with_token = config(Scope::Image {
        repository: "a".into(),
        reference: "v".into(),
    });
    with_token.credentials = Credentials::Bearer {
        token: "sekrit".into(),
    };
    // The token opens /v2/; the manifest request then gets garbage "{}" and is reported, not fatal.
    assert!(walk(&server, &with_token).is_ok());
    let anonymous = config(Scope::Everything);
    let error = walk(&server, &anonymous).unwrap_err();
    // Anonymous sent no credentials, so none were refused: it is told credentials are required.
    assert!(
        matches!(error, ProbeError::CredentialsRequired { status: 401, .. }),
        "{error}"
    );
    let mut wrong = config(Scope::Everything);
    wrong.credentials = Credentials::Bearer {
        token: "wrong".into(),
    };
    let error = walk(&server, &wrong).unwrap_err();
    assert!(
        matches!(error, ProbeError::Unauthorized { status: 401, .. }),
        "{error}"
    );
}

/// Answers /v2/ and the catalog like a registry with one repository and tag, and hands manifests to `manifest`.
fn one_tag_server(manifest: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> TestServer {
    TestServer::start(move |seen| match seen.path.as_str() {
        "/v2/" => reply(200, &[], "{}"),
        path if path.starts_with("/v2/_catalog") => reply(200, &[], r#"{"repositories":["evil"]}"#),
        path if path.starts_with("/v2/evil/tags/list") => reply(200, &[], r#"{"tags":["t"]}"#),
        _ => manifest(seen),
    })
}

#[test]
fn garbage_json_is_reported_not_fatal() {
    let server = one_tag_server(|_| reply(200, &[], "\u{0}\u{1}not json at all"));
    let report = walk(&server, &config(Scope::Everything)).unwrap();
    assert_eq!(report.broken.len(), 1);
    assert!(
        report.broken[0].detail.contains("invalid manifest JSON"),
        "{:?}",
        report.broken
    );
    let catalog = TestServer::start(|seen| match seen.path.as_str() {
        "/v2/" => reply(200, &[], "{}"),
        _ => reply(200, &[], "[[[[garbage"),
    });
    assert!(matches!(
        walk(&catalog, &config(Scope::Everything)),
        Err(ProbeError::Catalog { .. })
    ));
}

#[test]
fn a_huge_manifest_is_cut_off_at_the_limit() {
    let server = one_tag_server(|_| Reply::Endless {
        length_bytes: 50 * 1024 * 1024,
    });
    let started = Instant::now();
    let report = walk(&server, &config(Scope::Everything)).unwrap();
    assert_eq!(report.broken.len(), 1);
    assert_eq!(report.broken[0].status, None);
    assert!(
        report.broken[0].detail.contains("limit"),
        "{}",
        report.broken[0].detail
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_cyclic_index_terminates_and_is_reported() {
    // Real content addressing cannot form a cycle, so the server lies about digests and verification is off.
    let a = format!("sha256:{}", "a".repeat(64));
    let b = format!("sha256:{}", "b".repeat(64));
    let index_to = |child: &str| {
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_INDEX, "digest": child, "size": 1}]})
        .to_string()
    };
    let (body_a, body_b) = (index_to(&b), index_to(&a));
    let a_for_server = a.clone();
    let server = one_tag_server(move |seen| {
        let body = if seen.path.ends_with(&b) {
            &body_b
        } else {
            &body_a
        };
        let _ = &a_for_server;
        reply(200, &[("content-type", OCI_INDEX)], body.clone())
    });
    let mut unverified = config(Scope::Everything);
    unverified.verify_digests = false;
    let report = walk(&server, &unverified).unwrap();
    assert!(
        report
            .broken
            .iter()
            .any(|broken| broken.detail.contains("cycle")),
        "{:#?}",
        report.broken
    );
    assert!(report.requests < 20, "{} requests", report.requests);
    // With verification on, the lie is caught as a digest mismatch instead.
    let report = walk(&server, &config(Scope::Everything)).unwrap();
    assert!(
        report
            .broken
            .iter()
            .any(|broken| broken.detail.contains("mismatch")),
        "{:#?}",
        report.broken
    );
}

#[test]
fn nesting_beyond_the_depth_limit_is_refused() {
    // A genuine, correctly hashed chain of 12 nested indexes.
    let mut bodies = BTreeMap::new();
    let leaf = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
        .to_string();
    let mut digest = sha256_digest(leaf.as_bytes());
    bodies.insert(digest.clone(), leaf);
    for _ in 0..12 {
        let body = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_INDEX, "digest": digest, "size": 1}]})
        .to_string();
        digest = sha256_digest(body.as_bytes());
        bodies.insert(digest.clone(), body);
    }
    let top = digest;
    let server = one_tag_server(move |seen| {
        let reference = seen.path.rsplit('/').next().unwrap().to_string();
        let key = if reference == "t" {
            top.clone()
        } else {
            reference
        };
        reply(200, &[("content-type", OCI_INDEX)], bodies[&key].clone())
    });
    let report = walk(&server, &config(Scope::Everything)).unwrap();
    assert_eq!(report.broken.len(), 1, "{:#?}", report.broken);
    assert!(
        report.broken[0].detail.contains("deeper than 8"),
        "{}",
        report.broken[0].detail
    );
    assert_eq!(report.indexes, 9);
}

#[test]
fn redirects_are_never_followed() {
    let server = one_tag_server(|seen| reply(302, &[("location", &seen.path.clone())], ""));
    let report = walk(&server, &config(Scope::Everything)).unwrap();
    assert_eq!(report.broken.len(), 1);
    assert_eq!(report.broken[0].status, Some(302));
    assert_eq!(
        server.requests().len(),
        4,
        "/v2/, catalog, tags, one manifest request"
    );
    let catalog = TestServer::start(|seen| match seen.path.as_str() {
        "/v2/" => reply(200, &[], "{}"),
        path => reply(301, &[("location", path)], ""),
    });
    assert!(matches!(
        walk(&catalog, &config(Scope::Everything)),
        Err(ProbeError::Catalog { .. })
    ));
}

#[test]
fn pagination_that_loops_or_leaves_the_origin_is_refused() {
    let looping = TestServer::start(|seen| match seen.path.as_str() {
        "/v2/" => reply(200, &[], "{}"),
        _ => reply(
            200,
            &[("link", "</v2/_catalog?n=1000>; rel=\"next\"")],
            r#"{"repositories":["a"]}"#,
        ),
    });
    let error = walk(&looping, &config(Scope::Everything)).unwrap_err();
    assert!(error.to_string().contains("loops"), "{error}");
    let elsewhere = TestServer::start(|seen| match seen.path.as_str() {
        "/v2/" => reply(200, &[], "{}"),
        _ => reply(
            200,
            &[("link", "<http://127.0.0.2:1/v2/_catalog>; rel=\"next\"")],
            r#"{"repositories":[]}"#,
        ),
    });
    let error = walk(&elsewhere, &config(Scope::Everything)).unwrap_err();
    assert!(error.to_string().contains("another origin"), "{error}");
}

#[test]
fn a_server_that_never_answers_costs_one_timeout() {
    let silent = TestServer::start(|_| Reply::Silent);
    let started = Instant::now();
    let error = walk(&silent, &config(Scope::Everything)).unwrap_err();
    assert!(matches!(error, ProbeError::Unreachable { .. }), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Silent only on manifests: each silent request is reported, and the walk still ends.
    let server = one_tag_server(|_| Reply::Silent);
    let started = Instant::now();
    let report = walk(&server, &config(Scope::Everything)).unwrap();
    assert_eq!(report.broken.len(), 1);
    assert!(
        report.broken[0].detail.contains("no complete response"),
        "{}",
        report.broken[0].detail
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_refused_connection_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(probe_registry(
        &TcpConnect::plain(),
        &Endpoint::parse(&url).unwrap(),
        &config(Scope::Everything),
    ));
    assert!(matches!(result, Err(ProbeError::Unreachable { .. })));
}

/// The deliberately broken variant: a walker that reads one catalog page and ignores `Link`, as a
/// `curl /v2/_catalog | jq '.repositories[]'` CronJob does. On the fixture it misses the repositories past the first
/// page, including the one with the dangling tag, so the completeness assertions above (150 repositories, the
/// `team/app-100` breakage reported) are exactly what catches a probe that skips pagination.
#[test]
fn a_walker_that_ignores_pagination_misses_what_the_probe_finds() {
    let mut registry = populated_registry();
    registry.tag("team/app-100", "dangling", &sha256_digest(b"gone"));
    let server = TestServer::start(move |seen| registry.handle(seen));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (exchange, _) = runtime.block_on(firedrill_probes::http::get_once(
        &TcpConnect::plain(),
        &server.endpoint(),
        "/v2/_catalog",
        Duration::from_secs(2),
        1 << 20,
    ));
    let firedrill_probes::http::Exchange::Answered { status, body } = exchange else {
        panic!("the catalog did not answer: {exchange:?}");
    };
    assert_eq!(status, 200);
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let first_page: Vec<&str> = page["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(first_page.len(), 100, "the fixture must paginate");
    assert!(!first_page.contains(&"team/app-100"));

    let report = walk(&server, &config(Scope::Everything)).unwrap();
    assert_eq!(report.repositories, 150);
    assert!(report
        .broken
        .iter()
        .any(|b| b.repository == "team/app-100" && b.reference == "dangling"));
}
