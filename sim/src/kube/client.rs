//! The ops host's `kube::Client`: a tower service whose transport is turmoil TCP to the simulated API server,
//! opened from whichever host awaits the request (the ops host, where the runbook runs).
//!
//! `kube::Client::new` puts the service behind a `tower::buffer::Buffer`, whose worker is `tokio::spawn`ed on
//! the runtime that builds the client: the ops host's. The worker only calls [`ApiServerService::call`], which
//! returns a future and does no I/O; the request's caller awaits that future, so the TCP connection is opened in
//! the caller's task. Each request opens one connection, whose hyper driver is `tokio::spawn`ed on the same
//! host and ends when the response body has been read. No pool, no retry, no timer: the client reads no clock.

use super::apiserver::{APISERVER_HOST, APISERVER_PORT};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::BoxError;

/// Sends each request over a fresh turmoil TCP connection to the API server host.
#[derive(Clone, Default)]
pub struct ApiServerService;

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<hyper::body::Incoming>, BoxError>> + Send>>;

impl tower::Service<http::Request<kube::client::Body>> for ApiServerService {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<kube::client::Body>) -> Self::Future {
        Box::pin(async move {
            let stream = turmoil::net::TcpStream::connect((APISERVER_HOST, APISERVER_PORT)).await?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            Ok(sender.send_request(request).await?)
        })
    }
}

/// A client for the simulated API server; must be built inside a turmoil host (it spawns the buffer's worker).
pub fn client() -> kube::Client {
    kube::Client::new(ApiServerService, firedrill_kubeact::NAMESPACE)
}
