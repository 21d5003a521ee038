//! Serves the registry model over HTTP/1.1 on turmoil TCP, so probes reach it as they reach a real registry.
//!
//! A turmoil host runs on one thread inside a tokio `LocalSet`, so the model is shared as
//! `Rc<RefCell<Registry>>` and each connection is a `spawn_local` task. No borrow of the model
//! is held across an await: every request is handled by one synchronous call to `api::handle`.

use std::cell::RefCell;
use std::convert::Infallible;
use std::rc::Rc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use super::api::{self, Method, Request};
use super::Registry;

/// The largest request body the server reads; bigger uploads get 413. Real registries accept
/// far more, but the simulation has no use for bodies this large and must bound memory.
pub const MAX_REQUEST_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The port a real registry listens on.
pub const REGISTRY_PORT: u16 = 5000;

/// Accepts connections forever, serving each with HTTP/1.1 keep-alive in its own local task.
/// Must run inside a turmoil host (or any `LocalSet`).
pub async fn serve(
    listener: crate::net::TcpListener,
    registry: Rc<RefCell<Registry>>,
) -> std::io::Result<()> {
    loop {
        let (stream, _peer) = listener.accept().await?;
        let registry = Rc::clone(&registry);
        tokio::task::spawn_local(async move {
            let service = service_fn(move |request| {
                let registry = Rc::clone(&registry);
                async move { Ok::<_, Infallible>(respond(&registry, request).await) }
            });
            // A connection error (a client that hangs up, a partition) ends only this connection.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds `0.0.0.0:<port>` in the current turmoil host and serves the registry there.
pub async fn bind_and_serve(port: u16, registry: Rc<RefCell<Registry>>) -> std::io::Result<()> {
    let listener = crate::net::TcpListener::bind(("0.0.0.0", port)).await?;
    serve(listener, registry).await
}

async fn respond(
    registry: &RefCell<Registry>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let Some(method) = Method::parse(request.method().as_str()) else {
        return plain(405, "method not allowed\n");
    };
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let body = match Limited::new(request.into_body(), MAX_REQUEST_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => return plain(413, "request body too large\n"),
    };
    let model_request = Request {
        method,
        path_and_query,
        headers,
        body,
    };
    let response = api::handle(&mut registry.borrow_mut(), model_request);
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .expect("the model's headers are valid")
}

fn plain(status: u16, text: &'static str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .expect("static headers are valid")
}
