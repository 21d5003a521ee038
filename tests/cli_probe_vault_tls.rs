//! Issue 10, item 3: over https, a node that accepts TCP and never sends a ServerHello is `stuck`, as the same
//! socket is over http, not `unreachable`; a failed handshake is an `error` in its own words, never `unreachable`;
//! and (item 11) a node that accepts and resets is always an `error`, never `unreachable` at random.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;

/// Accepts connections and never says anything: a frozen process behind an https URL.
fn frozen() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("https://{address}")
}

/// Answers plain HTTP to whatever arrives, so a TLS client's handshake fails at once.
fn plain_http_behind_https() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buffer = [0u8; 2048];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    format!("https://{address}")
}

fn probe(endpoint: &str) -> (Option<i32>, serde_json::Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "probe",
            "vault",
            "--timeout",
            "1s",
            "--format",
            "json",
            "--insecure",
            "--endpoint",
        ])
        .arg(endpoint)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code(), report)
}

#[test]
fn a_frozen_https_node_is_stuck_not_unreachable() {
    let (code, report) = probe(&frozen());
    let node = &report["endpoints"][0];
    assert_eq!(node["state"], "stuck", "{report}");
    assert!(
        node["detail"].as_str().unwrap().contains("TLS handshake"),
        "{report}"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn a_failed_handshake_is_an_error_not_unreachable() {
    let (code, report) = probe(&plain_http_behind_https());
    let node = &report["endpoints"][0];
    assert_eq!(node["state"], "error", "{report}");
    assert!(
        node["detail"]
            .as_str()
            .unwrap()
            .contains("TLS handshake failed"),
        "{report}"
    );
    assert_eq!(code, Some(1));
}

/// Accepts each connection and resets it at once (SO_LINGER 0): the node's kernel is up, its process is not.
fn accept_then_reset() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        for stream in listener.incoming().flatten() {
            stream.set_nonblocking(true).unwrap();
            let stream = tokio::net::TcpStream::from_std(stream).unwrap();
            stream.set_zero_linger().unwrap();
            drop(stream);
        }
    });
    format!("http://{address}")
}

#[test]
fn an_accept_then_reset_node_is_always_an_error() {
    let endpoint = accept_then_reset();
    for _ in 0..10 {
        let (code, report) = probe(&endpoint);
        // Accepted, so not unreachable: whether the reset arrives before or after the request is sent.
        assert_eq!(report["endpoints"][0]["state"], "error", "{report}");
        assert_eq!(code, Some(1));
    }
}
