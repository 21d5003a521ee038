//! `firedrill probe vault` with a token runs the write canary: a leader that answers health with 200 but never
//! completes a write (the real OpenBao write hang of DOMAIN.md §9) is caught and named within 60 s; a healthy
//! cluster and a slow one that answers are not alerted on.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// A node answering health with `health_status` at once, and writes after `write_delay` (never with None).
fn node(health_status: u16, write_delay: Option<Duration>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || answer(stream, health_status, write_delay));
        }
    });
    format!("http://{address}")
}

fn answer(mut stream: TcpStream, health_status: u16, write_delay: Option<Duration>) {
    let mut buffer = [0u8; 4096];
    let read = stream.read(&mut buffer).unwrap_or(0);
    let request = String::from_utf8_lossy(&buffer[..read]).to_string();
    let status = if request.starts_with("PUT ") {
        assert!(request.contains("/v1/cubbyhole/"), "{request}");
        assert!(
            request
                .to_ascii_lowercase()
                .contains("x-vault-token: t0ken"),
            "{request}"
        );
        match write_delay {
            Some(delay) => {
                thread::sleep(delay);
                204
            }
            None => {
                // The leader's raft loop is blocked: the request is read and never answered.
                thread::sleep(Duration::from_secs(600));
                return;
            }
        }
    } else {
        health_status
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
}

fn probe(
    endpoints: &[String],
    token: Option<(&str, &str)>,
) -> (Option<i32>, serde_json::Value, Duration) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_firedrill"));
    command.args(["probe", "vault", "--format", "json"]);
    command.env_remove("VAULT_TOKEN").env_remove("BAO_TOKEN");
    if let Some((name, value)) = token {
        command.env(name, value);
    }
    for endpoint in endpoints {
        command.args(["--endpoint", endpoint]);
    }
    let started = Instant::now();
    let output = command.output().unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code(), report, started.elapsed())
}

#[test]
fn a_leader_whose_writes_hang_is_named_within_60_s() {
    let leader = node(200, None);
    let endpoints = vec![leader.clone(), node(429, None), node(429, None)];
    for variable in ["VAULT_TOKEN", "BAO_TOKEN"] {
        let (code, report, elapsed) = probe(&endpoints, Some((variable, "t0ken")));
        assert_eq!(code, Some(1), "{variable}: {report}");
        assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
        assert_eq!(report["endpoints"][0]["state"], "stuck", "{report}");
        assert_eq!(report["endpoints"][0]["endpoint"], leader.as_str());
        assert_eq!(report["write_canary"]["outcome"], "hung", "{report}");
        assert_eq!(report["endpoints"][1]["state"], "standby");
    }
}

#[test]
fn healthy_and_slow_but_answering_clusters_raise_no_alert() {
    for write_delay in [Duration::ZERO, Duration::from_secs(3)] {
        let endpoints = vec![node(200, Some(write_delay)), node(429, None)];
        let (code, report, _) = probe(&endpoints, Some(("VAULT_TOKEN", "t0ken")));
        assert_eq!(code, Some(0), "{write_delay:?}: {report}");
        assert_eq!(report["write_canary"]["outcome"], "written", "{report}");
    }
}

#[test]
fn without_a_token_the_write_path_is_not_checked_and_says_so() {
    let endpoints = vec![node(200, None), node(429, None)];
    let (code, report, _) = probe(&endpoints, None);
    assert_eq!(code, Some(0), "{report}");
    assert!(report["write_canary"].is_null(), "{report}");
}
