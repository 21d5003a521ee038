//! `firedrill probe vault` against real loopback sockets: an active node, a standby, a sealed node, a node that
//! accepts TCP and never answers, a closed port, and a slow node that answers within the deadline.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// A one-route HTTP server answering every request with `status` after `delay`.
fn vault_like(status: u16, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || answer(stream, status, delay));
        }
    });
    format!("http://{address}")
}

fn answer(mut stream: TcpStream, status: u16, delay: Duration) {
    let mut buffer = [0u8; 2048];
    let _ = stream.read(&mut buffer);
    thread::sleep(delay);
    let body = r#"{"initialized":true}"#;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Accepts connections (the kernel does) and never says anything: a frozen process.
fn frozen() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{address}")
}

/// A port with nothing listening.
fn closed() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

fn probe(endpoints: &[String], timeout: &str) -> (Option<i32>, serde_json::Value, Duration) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_firedrill"));
    command.args(["probe", "vault", "--timeout", timeout, "--format", "json"]);
    for endpoint in endpoints {
        command.args(["--endpoint", endpoint]);
    }
    let started = Instant::now();
    let output = command.output().unwrap();
    let elapsed = started.elapsed();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code(), report, elapsed)
}

fn states(report: &serde_json::Value) -> Vec<String> {
    report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn classifies_every_kind_of_node_in_about_one_timeout() {
    let endpoints = vec![
        vault_like(200, Duration::ZERO),
        vault_like(429, Duration::ZERO),
        vault_like(503, Duration::ZERO),
        frozen(),
        closed(),
        vault_like(429, Duration::from_millis(800)),
        frozen(),
        vault_like(474, Duration::ZERO),
    ];
    let (code, report, elapsed) = probe(&endpoints, "2s");
    assert_eq!(
        states(&report),
        [
            "active",
            "standby",
            "sealed",
            "stuck",
            "unreachable",
            "standby",
            "stuck",
            "standby_no_active"
        ]
    );
    assert_eq!(code, Some(1), "a stuck node makes the cluster unhealthy");
    assert_eq!(report["healthy"], false);
    // Two stuck nodes each wait the whole 2 s deadline, concurrently: the call takes about one timeout.
    assert!(elapsed >= Duration::from_millis(1_900), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(3_500),
        "{elapsed:?}: the probes did not run concurrently"
    );
    let slow = &report["endpoints"][5];
    assert!(slow["latency_ms"].as_u64().unwrap() >= 700, "{slow}");
    assert_eq!(slow["http_status"], 429);
}

#[test]
fn a_healthy_cluster_exits_0() {
    let endpoints = vec![
        vault_like(200, Duration::ZERO),
        vault_like(429, Duration::from_millis(300)),
        vault_like(473, Duration::ZERO),
    ];
    let (code, report, _) = probe(&endpoints, "2s");
    assert_eq!(states(&report), ["active", "standby", "perf_standby"]);
    assert_eq!(report["healthy"], true);
    assert_eq!(code, Some(0));
}

#[test]
fn two_active_nodes_are_unhealthy() {
    let endpoints = vec![
        vault_like(200, Duration::ZERO),
        vault_like(200, Duration::ZERO),
    ];
    let (code, report, _) = probe(&endpoints, "1s");
    assert_eq!(report["healthy"], false);
    assert_eq!(code, Some(1));
}
