//! `/v1/sys/health` on port 8200 with Vault's status codes. A node whose core is blocked holds the request
//! until it unblocks; a frozen process never answers.

use super::node::Node;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::rc::Rc;
use std::time::Duration;
use tokio::task::spawn_local;
use turmoil::net::TcpListener;

pub const API_PORT: u16 = 8200;

/// How often a held request re-checks whether the core is free again.
const CORE_LOCK_RETRY_MS: u64 = 50;

pub(super) async fn serve(node: Rc<Node>) {
    let listener = TcpListener::bind(("0.0.0.0", API_PORT))
        .await
        .expect("the API port is free on the pod's host");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
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
    let mut waiting_for_fsync = None;
    loop {
        let Some(view) = node.view().filter(|view| !view.frozen) else {
            return std::future::pending().await;
        };
        if view.sealed {
            return Ok(reply(503, body(true, false)));
        }
        if view.role == "leader" {
            // The active node's health handler needs the core's state lock, held by a blocked write.
            let holder = *waiting_for_fsync.get_or_insert(view.completed_fsyncs);
            if view.blocked && view.completed_fsyncs == holder {
                tokio::time::sleep(Duration::from_millis(CORE_LOCK_RETRY_MS)).await;
                continue;
            }
            return Ok(reply(200, body(false, false)));
        }
        let status = if node.vault_reports_standby_no_active && view.active_unreachable {
            474
        } else {
            429
        };
        return Ok(reply(status, body(false, true)));
    }
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
