//! The ops host's `kube::Client`: a tower service whose transport is simulated TCP to the simulated API server,
//! opened from whichever host awaits the request (the ops host, where the runbook runs).
//!
//! `kube::Client::new` puts the service behind a `tower::buffer::Buffer`, whose worker is `tokio::spawn`ed on
//! the runtime that builds the client: the ops host's. The worker only calls [`ApiServerService::call`], which
//! returns a future and does no I/O; the request's caller awaits that future, so the TCP connection is opened in
//! the caller's task. The connection's hyper driver is `tokio::spawn`ed on the same host. One kept-alive
//! connection, no retry, no timer: the client reads no clock.

use super::apiserver::{APISERVER_HOST, APISERVER_PORT};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tower::BoxError;

/// Sends requests over one kept-alive turmoil TCP connection to the API server host, as kube-rs's own
/// connection pool would: a runbook's calls are sequential, and a new connection per call would add a TCP
/// handshake's round trip (two simulated ticks) to each. A closed connection is replaced on the next call.
#[derive(Clone, Default)]
pub struct ApiServerService {
    connection: Arc<Mutex<Option<SendRequest<kube::client::Body>>>>,
}

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
        let slot = self.connection.clone();
        Box::pin(async move {
            let kept = slot
                .lock()
                .expect("the slot is never poisoned")
                .take()
                .filter(|sender| !sender.is_closed());
            let mut sender = match kept {
                Some(sender) => sender,
                None => {
                    let stream =
                        crate::net::TcpStream::connect((APISERVER_HOST, APISERVER_PORT)).await?;
                    let (sender, connection) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                    tokio::spawn(connection);
                    sender
                }
            };
            // Waits for the previous response's body to be read: HTTP/1.1 carries one exchange at a time.
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            *slot.lock().expect("the slot is never poisoned") = Some(sender);
            Ok(response)
        })
    }
}

/// A client for the simulated API server; must be built inside a turmoil host (it spawns the buffer's worker).
pub fn client() -> kube::Client {
    kube::Client::new(ApiServerService::default(), firedrill_kubeact::NAMESPACE)
}
