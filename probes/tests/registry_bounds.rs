//! Issue 10, items 1 and 9: the walk as a whole is bounded. A fan-out past the object bound stops and says so
//! instead of growing without limit, each tracked object costs no more heap than the bound's accounting unit, and a
//! registry that pages slowly forever is cut off by the walk's deadline.

use firedrill_probes::registry::{
    probe_registry, sha256_digest, ProbeError, Scope, WalkConfig, BYTES_PER_OBJECT,
};
use firedrill_probes::{Endpoint, TcpConnect};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts the heap the walk's thread holds, as glibc's malloc charges it (a chunk is the request plus an 8-byte
/// header, rounded up to 16 bytes, at least 32), only while that thread has counting on: the loopback registry's
/// threads allocate too, and are not the walk.
struct ThreadHeapCounter;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
    static PEAK_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn charged_bytes(size: usize) -> i64 {
    ((size + 8).next_multiple_of(16).max(32)) as i64
}

fn count(delta: i64) {
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            LIVE_BYTES.with(|live| {
                live.set(live.get() + delta);
                PEAK_BYTES.with(|peak| peak.set(peak.get().max(live.get())));
            });
        }
    });
}

unsafe impl GlobalAlloc for ThreadHeapCounter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(charged_bytes(layout.size()));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-charged_bytes(layout.size()));
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(charged_bytes(new_size) - charged_bytes(layout.size()));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: ThreadHeapCounter = ThreadHeapCounter;

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

/// A canned answer to a request path: status, content type, extra headers and body.
type Answer = (u16, String, String, Vec<u8>);

fn connection(stream: TcpStream, answer: &dyn Fn(&str) -> Answer) {
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
        // A quarter for bodies, the rest for about 400 objects tracked.
        memory_limit_bytes: 4 * BYTES_PER_OBJECT * 400 / 3,
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

/// A registry of one repository whose `tags` tags are each a distinct image (a config, a layer of its own and a
/// shared base layer), or with `multi_arch` an index of two such images.
fn registry_of_distinct_images(tags: usize, multi_arch: bool) -> Endpoint {
    let base_layer = sha256_digest(b"base");
    let image = |name: &str| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":1}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{base_layer}","size":1}},{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":1}}]}}"#,
            sha256_digest(format!("config-{name}").as_bytes()),
            sha256_digest(format!("layer-{name}").as_bytes()),
        )
        .into_bytes()
    };
    let mut by_reference = std::collections::BTreeMap::new();
    for tag in 0..tags {
        if multi_arch {
            let mut platforms = Vec::new();
            for arch in ["amd64", "arm64"] {
                let body = image(&format!("{tag}-{arch}"));
                let digest = sha256_digest(&body);
                platforms.push(digest.clone());
                by_reference.insert(digest, (MANIFEST, body));
            }
            by_reference.insert(format!("t{tag}"), (INDEX, index_of(&platforms, MANIFEST)));
        } else {
            by_reference.insert(format!("t{tag}"), (MANIFEST, image(&tag.to_string())));
        }
    }
    let tag_list = format!(
        r#"{{"tags":[{}]}}"#,
        (0..tags)
            .map(|tag| format!("\"t{tag}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    serve(move |path| {
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
            p if p.starts_with("/v2/_catalog") => json(r#"{"repositories":["images"]}"#),
            p if p.starts_with("/v2/images/tags/list") => json(&tag_list),
            p if p.starts_with("/v2/images/blobs/") => json(""),
            p => match p
                .strip_prefix("/v2/images/manifests/")
                .and_then(|reference| by_reference.get(reference))
            {
                Some((media_type, body)) => {
                    (200, media_type.to_string(), String::new(), body.clone())
                }
                None => (404, "application/json".into(), String::new(), Vec::new()),
            },
        }
    })
}

/// The walk's peak heap on its own thread, and the objects it tracked (indexes, manifests, blobs).
fn peak_heap_of_walk(endpoint: &Endpoint, config: &WalkConfig) -> (i64, u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    LIVE_BYTES.with(|live| live.set(0));
    PEAK_BYTES.with(|peak| peak.set(0));
    COUNTING.with(|counting| counting.set(true));
    let report = runtime.block_on(probe_registry(&TcpConnect::plain(), endpoint, config));
    COUNTING.with(|counting| counting.set(false));
    let report = report.unwrap();
    assert!(report.is_healthy(), "{report:?}");
    (
        PEAK_BYTES.with(Cell::get),
        report.indexes + report.manifests + report.blobs,
    )
}

#[test]
fn a_tracked_object_costs_no_more_heap_than_the_accounting_unit() {
    let config = WalkConfig {
        concurrency: 8,
        ..WalkConfig::default()
    };
    for multi_arch in [false, true] {
        let (small_peak_bytes, small_objects) =
            peak_heap_of_walk(&registry_of_distinct_images(200, multi_arch), &config);
        let (large_peak_bytes, large_objects) =
            peak_heap_of_walk(&registry_of_distinct_images(1_200, multi_arch), &config);
        // The difference leaves out what any walk holds (runtime, connections, a chunk's bodies): what remains grows
        // with the objects tracked, and it is what the bound counts in units of BYTES_PER_OBJECT.
        let per_object_bytes =
            (large_peak_bytes - small_peak_bytes) / (large_objects - small_objects) as i64;
        eprintln!(
            "multi_arch {multi_arch}: {small_objects} objects peak {small_peak_bytes} B, {large_objects} objects \
             peak {large_peak_bytes} B: {per_object_bytes} B per object"
        );
        assert!(per_object_bytes > 0);
        assert!(
            per_object_bytes <= BYTES_PER_OBJECT as i64,
            "{per_object_bytes} B per object against a unit of {BYTES_PER_OBJECT}"
        );
    }
}

#[test]
fn large_manifests_are_held_a_few_at_a_time_not_a_level_at_once() {
    // 24 tags of 1 MiB manifests (24 MiB in all) against a 16 MiB bound: a quarter, 4 MiB, for bodies, so at most
    // four are fetched at once. Holding a whole level at once is what took 300 tags of 4 MiB manifests to 1.34 GB.
    const TAGS: usize = 24;
    const MANIFEST_BYTES: usize = 1024 * 1024;
    let in_flight = Arc::new(AtomicU64::new(0));
    let peak_in_flight = Arc::new(AtomicU64::new(0));
    let (in_flight_counter, peak_counter) = (in_flight.clone(), peak_in_flight.clone());
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
            p if p.starts_with("/v2/_catalog") => json(r#"{"repositories":["big"]}"#),
            p if p.starts_with("/v2/big/tags/list") => {
                let tags: Vec<String> = (0..TAGS).map(|tag| format!("\"t{tag}\"")).collect();
                json(&format!(r#"{{"tags":[{}]}}"#, tags.join(",")))
            }
            p if p.starts_with("/v2/big/blobs/") => json(""),
            p => {
                let tag = p.strip_prefix("/v2/big/manifests/t").unwrap_or("0");
                let now = in_flight_counter.fetch_add(1, Ordering::SeqCst) + 1;
                peak_counter.fetch_max(now, Ordering::SeqCst);
                // Long enough for every request the walk allows at once to arrive before the first is answered.
                std::thread::sleep(Duration::from_millis(50));
                in_flight_counter.fetch_sub(1, Ordering::SeqCst);
                let mut body = format!(
                    r#"{{"schemaVersion":2,"mediaType":"{MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":1}},"layers":[],"annotations":{{"pad":""#,
                    sha256_digest(format!("config-{tag}").as_bytes())
                )
                .into_bytes();
                body.resize(MANIFEST_BYTES - 3, b'a');
                body.extend_from_slice(b"\"}}");
                (200, MANIFEST.to_string(), String::new(), body)
            }
        }
    });
    let memory_limit_bytes = 16 * 1024 * 1024;
    let config = WalkConfig {
        concurrency: 32,
        manifest_limit_bytes: MANIFEST_BYTES,
        memory_limit_bytes,
        ..WalkConfig::default()
    };
    let (peak_bytes, objects) = peak_heap_of_walk(&endpoint, &config);
    assert_eq!(
        objects,
        2 * TAGS as u64,
        "every manifest and config checked"
    );
    assert!(
        peak_in_flight.load(Ordering::SeqCst) <= 4,
        "{} manifests fetched at once",
        peak_in_flight.load(Ordering::SeqCst)
    );
    assert!(
        peak_bytes <= memory_limit_bytes as i64,
        "the walk held {peak_bytes} B against a bound of {memory_limit_bytes} B"
    );
}
