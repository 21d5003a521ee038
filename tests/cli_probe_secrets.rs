//! Issue 10, items 2 and 10: a hostile registry that echoes the Authorization header in its error codes, and
//! names a repository after the password or with terminal escapes, gets nothing of the secret printed in any
//! format (text, JSON, Prometheus; stdout and stderr), and no raw control character in text.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

const PASSWORD: &str = "Hunter2-Secret-Pass";
const TOKEN: &str = "tok-Secret-Bearer-123";
/// base64("ci:Hunter2-Secret-Pass"), what the Basic header carries.
const BASIC_BASE64: &str = "Y2k6SHVudGVyMi1TZWNyZXQtUGFzcw==";

/// Serves one request: the path and the Authorization header decide the answer.
fn answer(stream: TcpStream, catalog_fails: bool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut authorization = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = value.trim().to_string();
            }
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or("/");
    let echo = format!(
        r#"{{"errors":[{{"code":"{authorization}"}},{{"code":"UNAUTHORIZED {authorization}"}}]}}"#
    );
    let (status, body) = if path == "/v2/" {
        ("200 OK", "{}".to_string())
    } else if path.starts_with("/v2/_catalog") && catalog_fails {
        ("500 Internal Server Error", echo)
    } else if path.starts_with("/v2/_catalog") {
        (
            "200 OK",
            format!(
                r#"{{"repositories":["app","{PASSWORD}","{TOKEN}","evil\u001b]0;pwned\u0007\u001b[2J\nBROKEN forged"]}}"#
            ),
        )
    } else if path.starts_with("/v2/app/tags/list") {
        ("200 OK", r#"{"tags":["v1"]}"#.to_string())
    } else {
        ("404 Not Found", echo)
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A registry on a loopback port; it serves until the test process ends.
fn hostile_registry(catalog_fails: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream, catalog_fails));
        }
    });
    format!("http://{address}")
}

fn probe(
    url: &str,
    format: &str,
    credentials: &[(&str, &str)],
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_firedrill"));
    command
        .args([
            "probe",
            "registry",
            "--url",
            url,
            "--format",
            format,
            "--timeout",
            "5s",
        ])
        .args(extra)
        .env_remove("FIREDRILL_REGISTRY_USERNAME")
        .env_remove("FIREDRILL_REGISTRY_PASSWORD")
        .env_remove("FIREDRILL_REGISTRY_TOKEN");
    for (name, value) in credentials {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// How a run is given its credentials: a label, environment variables, flags, and the secrets that must not show.
type Source<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [&'a str],
    &'a [&'a str],
);

fn assert_clean(what: &str, secrets: &[&str], format: &str, stdout: &str, stderr: &str) {
    for secret in secrets {
        assert!(
            !stdout.contains(secret),
            "{what} {format}: stdout holds {secret}:\n{stdout}"
        );
        assert!(
            !stderr.contains(secret),
            "{what} {format}: stderr holds {secret}:\n{stderr}"
        );
    }
    if format != "json" {
        for (name, text) in [("stdout", stdout), ("stderr", stderr)] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}'),
                "{what} {format}: raw control characters on {name}:\n{text:?}"
            );
            assert!(
                !text.lines().any(|line| line.starts_with("BROKEN forged")),
                "{what} {format}: a forged line on {name}:\n{text}"
            );
        }
    }
}

#[test]
fn no_secret_and_no_terminal_control_reaches_any_output() {
    let auth_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(auth_file.path(), format!("ci:{PASSWORD}\n")).unwrap();
    let auth_file_flag = ["--auth-file", auth_file.path().to_str().unwrap()];
    let basic = [PASSWORD, BASIC_BASE64, BASIC_BASE64.trim_end_matches('=')];
    let bearer = [TOKEN];
    // The server names repositories after both secrets, so each run's own secret is in what it answers.
    let sources: [Source; 3] = [
        (
            "basic from the environment",
            &[
                ("FIREDRILL_REGISTRY_USERNAME", "ci"),
                ("FIREDRILL_REGISTRY_PASSWORD", PASSWORD),
            ],
            &[],
            &basic,
        ),
        (
            "bearer from the environment",
            &[("FIREDRILL_REGISTRY_TOKEN", TOKEN)],
            &[],
            &bearer,
        ),
        ("basic from an auth file", &[], &auth_file_flag, &basic),
    ];
    for catalog_fails in [false, true] {
        let url = hostile_registry(catalog_fails);
        for (what, credentials, extra, secrets) in sources {
            for format in ["text", "json", "prometheus"] {
                let (code, stdout, stderr) = probe(&url, format, credentials, extra);
                let what = format!("{what} (catalog fails: {catalog_fails})");
                // The walk did reach the echoing answers: a broken tag, or a catalog error.
                assert_eq!(
                    code,
                    Some(if catalog_fails { 2 } else { 1 }),
                    "{what} {format}: {stdout}{stderr}"
                );
                assert_clean(&what, secrets, format, &stdout, &stderr);
            }
        }
    }
}

#[test]
fn an_anonymous_probe_is_told_credentials_are_required_not_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let _ = stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let (code, _, stderr) = probe(&format!("http://{address}"), "text", &[], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("requires credentials"), "{stderr}");
    assert!(!stderr.contains("refused the credentials"), "{stderr}");
}
