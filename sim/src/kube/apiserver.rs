//! The simulated Kubernetes API server: a simulated host serving, over HTTP/1.1, the REST paths the kube-rs
//! actuator (`firedrill-kubeact`) uses, from the world's Kubernetes model.
//!
//! A turmoil host runs on one thread inside a tokio `LocalSet`, so the world is shared as `Rc<RefCell<_>>` and
//! each connection is a `spawn_local` task on this host. No borrow is held across an await: each request is
//! answered by one synchronous call to [`routes::handle`]. Every write that reaches the server is recorded in the
//! trace (`kube_api_request`) with its method, path and answer.

mod objects;
mod routes;
mod status;

pub use objects::{pod_object, time_at, ApiState};
pub use routes::{handle, ApiRequest, CSI_NODE_ID_ANNOTATION};
pub use status::Reply;

use crate::world::SharedWorld;
use bytes::Bytes;
use firedrill_scenarios::EventKind;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::cell::RefCell;
use std::convert::Infallible;
use std::rc::Rc;

/// The simulated host name of the API server.
pub const APISERVER_HOST: &str = "kube-apiserver";
/// The port it listens on. Plain HTTP: the simulation has no TLS.
pub const APISERVER_PORT: u16 = 6443;
/// The largest request body read; the actuator's bodies are a few hundred bytes.
const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

/// The API server host's software: binds, then serves each connection in its own local task.
pub async fn main(world: SharedWorld) -> crate::engine::HostResult {
    let state = Rc::new(RefCell::new(ApiState::default()));
    let listener = crate::net::TcpListener::bind(("0.0.0.0", APISERVER_PORT)).await?;
    loop {
        let (stream, _peer) = listener.accept().await?;
        let (world, state) = (world.clone(), state.clone());
        tokio::task::spawn_local(async move {
            let service = service_fn(move |request| {
                let (world, state) = (world.clone(), state.clone());
                async move { Ok::<_, Infallible>(respond(&world, &state, request).await) }
            });
            // A connection error (a client that hangs up) ends only this connection.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn respond(
    world: &SharedWorld,
    state: &RefCell<ApiState>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let reply = match Limited::new(request.into_body(), MAX_REQUEST_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => {
            let body = collected.to_bytes();
            let mut w = world.borrow_mut();
            let reply = handle(
                &mut w,
                &mut state.borrow_mut(),
                &ApiRequest {
                    method: &method,
                    path: &path,
                    query: &query,
                    body: &body,
                },
            );
            if method != "GET" {
                w.record(EventKind::KubeApiRequest {
                    method: method.clone(),
                    path: path.clone(),
                    code: reply.code,
                    reason: reply.reason().to_string(),
                });
            }
            reply
        }
        Err(_) => status::failure(
            413,
            "RequestEntityTooLarge",
            "request body too large",
            "",
            "",
        ),
    };
    hyper::Response::builder()
        .status(reply.code)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(&reply.body).expect("JSON values serialize"),
        )))
        .expect("a status code from the server's own table is valid")
}
