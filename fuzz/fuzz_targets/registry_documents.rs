//! Any bytes as a registry's JSON documents (manifests, indexes, listings, error bodies) and Link headers: parsing
//! never panics, and a next link never leaves the origin.
#![no_main]

use firedrill_probes::registry::document::Document;
use firedrill_probes::registry::pagination::next_page;
use libfuzzer_sys::fuzz_target;

const ORIGIN: &str = "http://127.0.0.1:5000";

fuzz_target!(|data: &[u8]| {
    // The first byte picks the content type the server claims; the rest is the body and, as text, a Link header.
    let (selector, body) = data.split_first().unwrap_or((&0, &[]));
    let content_type = match selector % 5 {
        0 => None,
        1 => Some("application/vnd.oci.image.index.v1+json"),
        2 => Some("application/vnd.docker.distribution.manifest.list.v2+json"),
        3 => Some("application/vnd.oci.image.manifest.v1+json"),
        _ => Some("application/vnd.docker.distribution.manifest.v2+json"),
    };
    let _ = Document::parse(body, content_type);
    let _ = serde_json::from_slice::<serde_json::Value>(body);
    if let Ok(value) = http::HeaderValue::from_bytes(body) {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::LINK, value);
        if let Ok(Some(path)) = next_page(&headers, ORIGIN) {
            assert!(path.starts_with('/') && !path.starts_with("//"), "{path:?}");
        }
    }
});
