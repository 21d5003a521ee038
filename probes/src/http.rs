//! A minimal HTTP/1.1 client over any [`Connect`]: keep-alive connections, bounded bodies, and a one-shot
//! exchange that tells "connected but silent" apart from "refused" and "answered slowly".

use crate::endpoint::Endpoint;
use crate::transport::Connect;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// A response with its body read in full (within the caller's limit).
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connect failed: {0}")]
    Connect(io::Error),
    #[error("HTTP protocol error: {0}")]
    Protocol(String),
    #[error("response body exceeds the {limit_bytes}-byte limit")]
    BodyTooLarge { limit_bytes: usize },
    #[error("the server closed the connection")]
    Closed,
}

/// hyper's half of a client connection over a counted stream.
type ClientConnection<S> = Connection<TokioIo<CountingStream<S>>, Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection. Requests on it are sequential; open several for concurrency.
pub struct HttpConnection<S: AsyncRead + AsyncWrite + Unpin + 'static> {
    sender: SendRequest<Full<Bytes>>,
    // The connection future is polled only while a request is in flight, in the same task, so the client needs
    // no spawner and works on any runtime, turmoil's included.
    connection: Pin<Box<ClientConnection<S>>>,
    received_bytes: Arc<AtomicU64>,
    authority: String,
    closed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> HttpConnection<S> {
    /// Connects and performs the HTTP/1.1 handshake (which sends nothing). Bound it with a timeout.
    pub async fn open<C: Connect<Stream = S>>(
        connector: &C,
        endpoint: &Endpoint,
    ) -> Result<Self, HttpError> {
        Self::open_observed(connector, endpoint, &std::cell::Cell::new(false)).await
    }

    /// Like [`HttpConnection::open`], setting `tcp_connected` once TCP is up (see [`Connect::connect_observed`]).
    pub async fn open_observed<C: Connect<Stream = S>>(
        connector: &C,
        endpoint: &Endpoint,
        tcp_connected: &std::cell::Cell<bool>,
    ) -> Result<Self, HttpError> {
        let stream = connector
            .connect_observed(endpoint, tcp_connected)
            .await
            .map_err(HttpError::Connect)?;
        let received_bytes = Arc::new(AtomicU64::new(0));
        let counting = CountingStream {
            inner: stream,
            received_bytes: received_bytes.clone(),
        };
        let (sender, connection) = http1::Builder::new()
            .max_buf_size(64 * 1024)
            .handshake(TokioIo::new(counting))
            .await
            .map_err(|error| HttpError::Protocol(error.to_string()))?;
        Ok(Self {
            sender,
            connection: Box::pin(connection),
            received_bytes,
            authority: endpoint.authority(),
            closed: false,
        })
    }

    /// Bytes received on this connection so far; zero after a timeout means the peer never said anything.
    pub fn received_bytes(&self) -> u64 {
        self.received_bytes.load(Ordering::Relaxed)
    }

    /// Whether the connection can carry another request.
    pub fn is_reusable(&self) -> bool {
        !self.closed && !self.sender.is_closed()
    }

    /// Sends one request and reads the whole body, refusing bodies over `body_limit_bytes`.
    pub async fn send(
        &mut self,
        method: Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
        body_limit_bytes: usize,
    ) -> Result<Response, HttpError> {
        self.send_with_body(
            method,
            path_and_query,
            headers,
            Bytes::new(),
            body_limit_bytes,
        )
        .await
    }

    /// Like [`HttpConnection::send`], with a request body (sent with its `Content-Length`).
    pub async fn send_with_body(
        &mut self,
        method: Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
        request_body: Bytes,
        body_limit_bytes: usize,
    ) -> Result<Response, HttpError> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path_and_query)
            .header(http::header::HOST, &self.authority)
            .header(
                http::header::USER_AGENT,
                concat!("firedrill/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in headers {
            request = request.header(name, value);
        }
        // Only requests that carry a body announce a length, so bodiless GETs stay byte-for-byte as before.
        if !request_body.is_empty() || matches!(method, Method::PUT | Method::POST | Method::PATCH)
        {
            request = request.header(http::header::CONTENT_LENGTH, request_body.len());
        }
        let request = request
            .body(Full::new(request_body))
            .map_err(|error| HttpError::Protocol(error.to_string()))?;
        let is_head = method == Method::HEAD;
        let exchange = async {
            self.sender.ready().await.map_err(|_| HttpError::Closed)?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|error| HttpError::Protocol(error.to_string()))?;
            let (parts, body) = response.into_parts();
            let body = if is_head {
                Bytes::new()
            } else {
                Limited::new(body, body_limit_bytes)
                    .collect()
                    .await
                    .map_err(|error| {
                        if error.is::<http_body_util::LengthLimitError>() {
                            HttpError::BodyTooLarge {
                                limit_bytes: body_limit_bytes,
                            }
                        } else {
                            HttpError::Protocol(error.to_string())
                        }
                    })?
                    .to_bytes()
            };
            Ok(Response {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        let result = DriveWhile {
            connection: self.connection.as_mut(),
            exchange: std::pin::pin!(exchange),
        }
        .await;
        if result.is_err() {
            self.closed = true;
        }
        result
    }
}

/// Polls the request and its connection together until the request completes.
struct DriveWhile<'a, C, F> {
    connection: Pin<&'a mut C>,
    exchange: Pin<&'a mut F>,
}

impl<C, F, T> Future for DriveWhile<'_, C, F>
where
    C: Future<Output = hyper::Result<()>>,
    F: Future<Output = Result<T, HttpError>>,
{
    type Output = Result<T, HttpError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(result) = self.exchange.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        match self.connection.as_mut().poll(cx) {
            // The connection ended; the exchange gets one last chance to collect what was already read.
            Poll::Ready(outcome) => match self.exchange.as_mut().poll(cx) {
                Poll::Ready(result) => Poll::Ready(result),
                Poll::Pending => Poll::Ready(Err(match outcome {
                    Ok(()) => HttpError::Closed,
                    Err(error) => HttpError::Protocol(error.to_string()),
                })),
            },
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Counts received bytes, so a timeout can tell a silent peer from a slow one.
pub struct CountingStream<S> {
    inner: S,
    received_bytes: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for CountingStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        self.received_bytes.fetch_add(read, Ordering::Relaxed);
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountingStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// How a single GET with a deadline ended. The distinctions are the point: a frozen process still completes
/// TCP handshakes, so "connected" proves nothing, and only silence until the deadline means stuck.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exchange {
    Answered {
        status: u16,
        body: Bytes,
    },
    /// The connection was refused or failed before it was established.
    Refused(String),
    /// The connection was not established before the deadline.
    ConnectTimeout,
    /// Connected, then not one byte before the deadline.
    Silent,
    /// TCP accepted, but the TLS handshake did not finish before the deadline (no ServerHello from a frozen node).
    HandshakeSilent,
    /// Some bytes arrived, but not a whole response, before the deadline.
    Incomplete {
        received_bytes: u64,
    },
    Failed(String),
}

/// One GET with a single deadline covering connect and response, and its latency in milliseconds. The TCP connect
/// and the TLS handshake are told apart: a deadline that passes in the handshake means the node accepted and said
/// nothing useful (stuck), and a handshake error is a failure (error), never a refusal (unreachable).
pub async fn get_once<C: Connect>(
    connector: &C,
    endpoint: &Endpoint,
    path_and_query: &str,
    deadline: Duration,
    body_limit_bytes: usize,
) -> (Exchange, u64) {
    let started = Instant::now();
    let elapsed_ms = || started.elapsed().as_millis() as u64;
    let tcp_connected = std::cell::Cell::new(false);
    let connection = match tokio::time::timeout(
        deadline,
        HttpConnection::open_observed(connector, endpoint, &tcp_connected),
    )
    .await
    {
        Err(_) if tcp_connected.get() => return (Exchange::HandshakeSilent, elapsed_ms()),
        Err(_) => return (Exchange::ConnectTimeout, elapsed_ms()),
        Ok(Err(HttpError::Connect(error))) if tcp_connected.get() => {
            return (Exchange::Failed(error.to_string()), elapsed_ms())
        }
        Ok(Err(HttpError::Connect(error))) => {
            return (Exchange::Refused(error.to_string()), elapsed_ms())
        }
        Ok(Err(error)) => return (Exchange::Failed(error.to_string()), elapsed_ms()),
        Ok(Ok(connection)) => connection,
    };
    let mut connection = connection;
    let remaining = deadline.saturating_sub(started.elapsed());
    let path = format!("{}{}", endpoint.base_path, path_and_query);
    let exchange = tokio::time::timeout(
        remaining,
        connection.send(Method::GET, &path, &[], body_limit_bytes),
    )
    .await;
    let outcome = match exchange {
        Ok(Ok(response)) => Exchange::Answered {
            status: response.status,
            body: response.body,
        },
        Ok(Err(error)) => Exchange::Failed(error.to_string()),
        Err(_) => match connection.received_bytes() {
            0 => Exchange::Silent,
            received_bytes => Exchange::Incomplete { received_bytes },
        },
    };
    (outcome, elapsed_ms())
}
