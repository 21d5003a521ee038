//! A hostile (or merely large) registry for measuring the walk's memory bound (benches/README.md, issue 10):
//! `fanout` serves one tag whose index has 1000 child indexes of 1000 manifests each; `big` serves 300 tags of
//! ~4 MiB manifests; `tags` serves TAGS tags (default 100,000, in repositories of 1000 tags) each a distinct image
//! (its own config and layer, and a base layer shared by all), and `multiarch` the same with each tag an index of
//! two such images. Loopback only.
//! Usage: `cargo run --release -p firedrill-probes --example hostile_registry -- fanout|big|tags|multiarch PORT [TAGS]`.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const FAN_OUT: usize = 1000;
const BIG_TAGS: usize = 300;
/// Just under distribution's 4 MiB manifest limit, which the walk also applies.
const BIG_BYTES: usize = 4 * 1024 * 1024 - 4096;
/// Tags per repository in the `tags` and `multiarch` modes.
const TAGS_PER_REPOSITORY: usize = 1000;
const PLATFORMS: [&str; 2] = ["amd64", "arm64"];

fn digest(body: &[u8]) -> String {
    let hash = Sha256::digest(body);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn blob_digest(name: &str) -> String {
    digest(name.as_bytes())
}

fn leaf(i: usize, j: usize) -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":1}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":1}}]}}"#,
        blob_digest(&format!("config-{i}-{j}")),
        blob_digest(&format!("layer-{i}-{j}"))
    )
    .into_bytes()
}

fn index(children: &[(String, &str)]) -> Vec<u8> {
    let manifests: Vec<String> = children
        .iter()
        .map(|(digest, media_type)| {
            format!(r#"{{"mediaType":"{media_type}","digest":"{digest}","size":1}}"#)
        })
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{}]}}"#,
        manifests.join(",")
    )
    .into_bytes()
}

/// What the server answers: bodies by path.
struct Content {
    mode: String,
    /// Tags in the `tags` and `multiarch` modes.
    tags: usize,
    /// Manifests by digest (fan-out and multiarch modes), as (content type, body).
    by_digest: BTreeMap<String, (&'static str, Arc<Vec<u8>>)>,
    root: Arc<Vec<u8>>,
}

/// The image manifest of tag number `tag` (for `platform`, in multiarch mode): its own config and layer, and the
/// base layer every image shares.
fn image(tag: usize, platform: &str) -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":1}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":1}},{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":1}}]}}"#,
        blob_digest(&format!("config-{tag}-{platform}")),
        blob_digest("base"),
        blob_digest(&format!("layer-{tag}-{platform}"))
    )
    .into_bytes()
}

/// The two-platform index of tag number `tag`, registering its children by digest.
fn multiarch_index(
    tag: usize,
    by_digest: &mut BTreeMap<String, (&'static str, Arc<Vec<u8>>)>,
) -> Vec<u8> {
    let children: Vec<(String, &str)> = PLATFORMS
        .iter()
        .map(|platform| {
            let body = image(tag, platform);
            let d = digest(&body);
            by_digest.insert(d.clone(), (MANIFEST, Arc::new(body)));
            (d, MANIFEST)
        })
        .collect();
    index(&children)
}

fn build(mode: &str, tags: usize) -> Content {
    let mut by_digest = BTreeMap::new();
    let mut root = Vec::new();
    if mode == "fanout" {
        let mut children = Vec::new();
        for i in 0..FAN_OUT {
            let mut leaves = Vec::new();
            for j in 0..FAN_OUT {
                let body = leaf(i, j);
                let d = digest(&body);
                leaves.push((d.clone(), MANIFEST));
                by_digest.insert(d, (MANIFEST, Arc::new(body)));
            }
            let body = index(&leaves);
            let d = digest(&body);
            children.push((d.clone(), INDEX));
            by_digest.insert(d, (INDEX, Arc::new(body)));
        }
        root = index(&children);
    }
    if mode == "multiarch" {
        for tag in 0..tags {
            multiarch_index(tag, &mut by_digest);
        }
    }
    Content {
        mode: mode.to_string(),
        tags,
        by_digest,
        root: Arc::new(root),
    }
}

/// A ~4 MiB image manifest, distinct per tag: an annotation pads it.
fn big(tag: usize) -> Vec<u8> {
    let head = format!(
        r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":1}},"layers":[],"annotations":{{"pad":""#,
        blob_digest(&format!("config-{tag}"))
    );
    let mut body = head.into_bytes();
    body.resize(BIG_BYTES - 3, b'a' + (tag % 26) as u8);
    body.extend_from_slice(b"\"}}");
    body
}

fn answer(content: &Content, method: &str, path: &str) -> (u16, &'static str, Arc<Vec<u8>>) {
    let json = "application/json";
    let text = |s: String| Arc::new(s.into_bytes());
    if path == "/v2/" {
        return (200, json, text("{}".into()));
    }
    if matches!(content.mode.as_str(), "tags" | "multiarch") {
        return answer_large(content, method, path);
    }
    if path.starts_with("/v2/_catalog") {
        return (200, json, text(r#"{"repositories":["hostile"]}"#.into()));
    }
    if path.starts_with("/v2/hostile/tags/list") {
        let tags: Vec<String> = if content.mode == "fanout" {
            vec!["\"t\"".into()]
        } else {
            (0..BIG_TAGS).map(|i| format!("\"t{i}\"")).collect()
        };
        return (
            200,
            json,
            text(format!(r#"{{"tags":[{}]}}"#, tags.join(","))),
        );
    }
    if method == "HEAD" {
        return (200, json, Arc::new(Vec::new()));
    }
    if let Some(reference) = path.strip_prefix("/v2/hostile/manifests/") {
        if content.mode == "fanout" {
            if reference == "t" {
                return (200, INDEX, content.root.clone());
            }
            if let Some((media_type, body)) = content.by_digest.get(reference) {
                return (200, media_type, body.clone());
            }
        } else if let Some(tag) = reference.strip_prefix('t').and_then(|n| n.parse().ok()) {
            return (200, MANIFEST, Arc::new(big(tag)));
        }
    }
    (
        404,
        json,
        text(r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.into()),
    )
}

/// The `tags` and `multiarch` modes: repositories `r0`, `r1`, … of 1000 tags `t<N>` each, N counting across them.
fn answer_large(content: &Content, method: &str, path: &str) -> (u16, &'static str, Arc<Vec<u8>>) {
    let json = "application/json";
    let text = |s: String| Arc::new(s.into_bytes());
    let repositories = content.tags.div_ceil(TAGS_PER_REPOSITORY);
    if path.starts_with("/v2/_catalog") {
        let names: Vec<String> = (0..repositories).map(|r| format!("\"r{r}\"")).collect();
        return (
            200,
            json,
            text(format!(r#"{{"repositories":[{}]}}"#, names.join(","))),
        );
    }
    let Some((repository, rest)) = path
        .strip_prefix("/v2/r")
        .and_then(|rest| rest.split_once('/'))
    else {
        return (404, json, text("{}".into()));
    };
    let Ok(repository) = repository.parse::<usize>() else {
        return (404, json, text("{}".into()));
    };
    let first_tag = repository * TAGS_PER_REPOSITORY;
    let last_tag = (first_tag + TAGS_PER_REPOSITORY).min(content.tags);
    if rest.starts_with("tags/list") {
        let tags: Vec<String> = (first_tag..last_tag)
            .map(|tag| format!("\"t{tag}\""))
            .collect();
        return (
            200,
            json,
            text(format!(r#"{{"tags":[{}]}}"#, tags.join(","))),
        );
    }
    if method == "HEAD" {
        return (200, json, Arc::new(Vec::new()));
    }
    if let Some(reference) = rest.strip_prefix("manifests/") {
        if let Some(tag) = reference
            .strip_prefix('t')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|tag| (first_tag..last_tag).contains(tag))
        {
            if content.mode == "tags" {
                return (200, MANIFEST, Arc::new(image(tag, PLATFORMS[0])));
            }
            return (
                200,
                INDEX,
                Arc::new(multiarch_index(tag, &mut BTreeMap::new())),
            );
        }
        if let Some((media_type, body)) = content.by_digest.get(reference) {
            return (200, media_type, body.clone());
        }
    }
    (
        404,
        json,
        text(r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.into()),
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("fanout");
    let port: u16 = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(5099);
    let tags: usize = args.get(3).and_then(|t| t.parse().ok()).unwrap_or(100_000);
    let content = Arc::new(build(mode, tags));
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    eprintln!("hostile registry ({mode}) on 127.0.0.1:{port}");
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let content = content.clone();
                // Head and body in one write, without Nagle: a delayed ACK per request would measure the wait.
                let _ = stream.set_nodelay(true);
                tokio::task::spawn_local(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    loop {
                        let mut request_line = String::new();
                        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).await.unwrap_or(0) == 0 || line == "\r\n" {
                                break;
                            }
                        }
                        let mut parts = request_line.split(' ');
                        let method = parts.next().unwrap_or("GET").to_string();
                        let path = parts.next().unwrap_or("/").to_string();
                        let (status, content_type, body) = answer(&content, &method, &path);
                        let head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        );
                        let mut message = head.into_bytes();
                        if method != "HEAD" {
                            message.extend_from_slice(&body);
                        }
                        if write.write_all(&message).await.is_err() {
                            return;
                        }
                    }
                });
            }
        })
        .await;
}
