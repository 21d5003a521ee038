//! Issue 10, items 1 and 9: the walk as a whole is bounded. A fan-out past the object bound stops and says so
//! instead of growing without limit, and a registry that pages slowly forever is cut off by the walk's deadline.

use firedrill_probes::registry::{probe_registry, sha256_digest, ProbeError, Scope, WalkConfig};
use firedrill_probes::{Endpoint, TcpConnect};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A loopback server; `answer(path)` gives (status, content type, extra headers, body).
fn serve(
    answer: impl Fn(&str) -> (u16, String, String, Vec<u8>) + Send + Sync + 'static,
) -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = answer.clone();
            std::thread::spawn(move || connection(stream, &*answer));
        }
    });
    Endpoint::parse(&format!("http://{address}")).unwrap()
}

fn connection(stream: TcpStream, answer: &dyn Fn(&str) -> (u16, String, String, Vec<u8>)) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
            line.clear();
        }
        let head_only = request_line.starts_with("HEAD");
        let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
        let (status, content_type, headers, body) = answer(&path);
        let mut message = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{headers}\r\n",
            body.len()
        )
        .into_bytes();
        if !head_only {
            message.extend_from_slice(&body);
        }
        if stream.write_all(&message).is_err() {
            return;
        }
    }
}

fn index_of(children: &[String], media_type: &str) -> Vec<u8> {
    let entries: Vec<String> = children
        .iter()
        .map(|digest| format!(r#"{{"mediaType":"{media_type}","digest":"{digest}","size":1}}"#))
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{}]}}"#,
        entries.join(",")
    )
    .into_bytes()
}

fn run(
    endpoint: &Endpoint,
    config: &WalkConfig,
) -> Result<firedrill_probes::registry::Report, ProbeError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(probe_registry(&TcpConnect::plain(), endpoint, config))
}

#[test]
fn a_fan_out_past_the_memory_bound_stops_and_says_so() {
    // One tag: an index of 40 indexes of 40 manifests each (1,640 manifests), against a bound of a few hundred.
    let mut bodies = std::collections::BTreeMap::new();
    let mut children = Vec::new();
    for i in 0..40 {
        let mut leaves = Vec::new();
        for j in 0..40 {
            let body = format!(
                r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":1}},"layers":[]}}"#,
                sha256_digest(format!("config-{i}-{j}").as_bytes())
            )
            .into_bytes();
            let digest = sha256_digest(&body);
            leaves.push(digest.clone());
            bodies.insert(digest, (MANIFEST, body));
        }
        let body = index_of(&leaves, MANIFEST);
        let digest = sha256_digest(&body);
        children.push(digest.clone());
        bodies.insert(digest, (INDEX, body));
    }
    let root = index_of(&children, INDEX);
    let fetched = Arc::new(AtomicU64::new(0));
    let counter = fetched.clone();
    let endpoint = serve(move |path| {
        let json = |body: &str| {
            (
                200,
                "application/json".to_string(),
                String::new(),
                body.as_bytes().to_vec(),
            )
        };
        match path {
            "/v2/" => json("{}"),
            p if p.starts_with("/v2/_catalog") => json(r#"{"repositories":["fan"]}"#),
            p if p.starts_with("/v2/fan/tags/list") => json(r#"{"tags":["t"]}"#),
            "/v2/fan/manifests/t" => (200, INDEX.into(), String::new(), root.clone()),
            p => {
                counter.fetch_add(1, Ordering::Relaxed);
                match p
                    .strip_prefix("/v2/fan/manifests/")
                    .and_then(|d| bodies.get(d))
                {
                    Some((media_type, body)) => {
                        (200, media_type.to_string(), String::new(), body.clone())
                    }
                    None => (200, "application/json".into(), String::new(), Vec::new()),
                }
            }
        }
    });
    let config = WalkConfig {
        scope: Scope::Everything,
        concurrency: 8,
        // 4 × 512 × 400 / 3: about 400 objects tracked.
        memory_limit_bytes: 4 * 512 * 400 / 3,
        manifest_limit_bytes: 64 * 1024,
        ..WalkConfig::default()
    };
    let report = run(&endpoint, &config).unwrap();
    let bound = report
        .broken
        .iter()
        .find(|broken| broken.detail.contains("memory bound"))
        .unwrap_or_else(|| panic!("no memory-bound entry: {report:?}"));
    assert!(bound.detail.contains("were not walked"), "{}", bound.detail);
    assert!(!report.is_healthy());
    // It stopped near the bound instead of fetching all 1,640 manifests.
    let fetched = fetched.load(Ordering::Relaxed);
    assert!(fetched <= 500, "fetched {fetched} manifests");
    // Under the default bound the same registry is walked whole.
    let report = run(
        &endpoint,
        &WalkConfig {
            concurrency: 8,
            ..WalkConfig::default()
        },
    )
    .unwrap();
    assert!(report.is_healthy(), "{report:?}");
    assert_eq!(report.manifests, 1_600);
}

#[test]
fn a_registry_that_pages_slowly_forever_is_cut_off_by_the_deadline() {
    let pages = Arc::new(AtomicU64::new(0));
    let counter = pages.clone();
    let endpoint = serve(move |path| {
        if path == "/v2/" {
            return (
                200,
                "application/json".into(),
                String::new(),
                b"{}".to_vec(),
            );
        }
        // A fresh page every 300 ms, each pointing at the next: no loop, no page too large, only slowness.
        std::thread::sleep(Duration::from_millis(300));
        let page = counter.fetch_add(1, Ordering::Relaxed);
        (
            200,
            "application/json".into(),
            format!("link: </v2/_catalog?n=1&last=r{page}>; rel=\"next\"\r\n"),
            format!(r#"{{"repositories":["r{page}"]}}"#).into_bytes(),
        )
    });
    let config = WalkConfig {
        deadline: Duration::from_secs(2),
        ..WalkConfig::default()
    };
    let started = Instant::now();
    let error = run(&endpoint, &config).unwrap_err();
    assert!(matches!(error, ProbeError::Deadline { .. }), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}
