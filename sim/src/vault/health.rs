//! `/v1/sys/health` on port 8200 with Vault's status codes. A node whose core lock is held behind a stuck write
//! holds the request until it unblocks; a frozen process never answers, and once its accept queue is full new
//! connects time out. SIGTERM closes the listener (connections refused).

use super::node::Node;
use crate::net::TcpListener;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::rc::Rc;
use tokio::task::spawn_local;

pub const API_PORT: u16 = 8200;

pub(super) async fn serve(node: Rc<Node>) {
    let listener = TcpListener::bind(("0.0.0.0", API_PORT))
        .await
        .expect("the API port is free on the pod's host");
    let mut held = Vec::new();
    loop {
        if node.is_frozen() && held.len() >= node.listen_backlog {
            // The kernel's accept queue is full and nothing accepts: new connects time out, not refused.
            return std::future::pending().await;
        }
        let accepted = tokio::select! {
            biased;
            // SIGTERM: Vault closes its API listener first, so 8200 refuses new connections.
            _ = node.api_closed.notified() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        if node.is_frozen() {
            // Only the kernel completes handshakes now; nobody reads what arrives.
            held.push(stream);
            continue;
        }
        let node = node.clone();
        spawn_local(async move {
            let service = hyper::service::service_fn(move |request| answer(node.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    node: Rc<Node>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/v1/sys/health" {
        return Ok(reply(404, r#"{"errors":[]}"#.to_string()));
    }
    // The health handler needs the core's state lock: it waits while a task holds it behind a stuck write.
    node.wait_for_core_lock().await;
    let Some(view) = node.view().filter(|view| !view.frozen) else {
        return std::future::pending().await;
    };
    if view.sealed {
        return Ok(reply(503, body(true, false)));
    }
    if view.role == "leader" {
        return Ok(reply(200, body(false, false)));
    }
    let status = if node.vault_reports_standby_no_active && view.active_unreachable {
        474
    } else {
        429
    };
    Ok(reply(status, body(false, true)))
}

fn body(sealed: bool, standby: bool) -> String {
    format!(r#"{{"initialized":true,"sealed":{sealed},"standby":{standby}}}"#)
}

fn reply(status: u16, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}
