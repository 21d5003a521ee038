//! The transport boundary: how a probe opens a byte stream to an endpoint.

use crate::endpoint::Endpoint;
use crate::tls::TlsSettings;
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Opens connections. The simulation implements it with turmoil's TCP; [`TcpConnect`] with real sockets.
pub trait Connect {
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;

    /// Opens a stream to the endpoint; TLS, where the endpoint asks for it, is the connector's business.
    fn connect(&self, endpoint: &Endpoint) -> impl Future<Output = io::Result<Self::Stream>>;

    /// Like [`Connect::connect`], and sets `tcp_connected` once the TCP connection is up, before any TLS
    /// handshake: a probe then tells a node that accepted and went silent in the handshake (stuck) from one that
    /// never accepted (unreachable). Without TLS the two moments are one, which the default says.
    fn connect_observed(
        &self,
        endpoint: &Endpoint,
        tcp_connected: &Cell<bool>,
    ) -> impl Future<Output = io::Result<Self::Stream>> {
        async move {
            let stream = self.connect(endpoint).await?;
            tcp_connected.set(true);
            Ok(stream)
        }
    }
}

/// Real TCP, with TLS for `https://` endpoints.
#[derive(Clone)]
pub struct TcpConnect {
    tls: Option<TlsSettings>,
}

impl TcpConnect {
    /// A connector for `http://` only; an `https://` endpoint is refused with a clear error.
    pub fn plain() -> Self {
        Self { tls: None }
    }

    pub fn with_tls(tls: TlsSettings) -> Self {
        Self { tls: Some(tls) }
    }
}

/// A real connection, plain or TLS.
pub enum RealStream {
    Plain(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
}

impl Connect for TcpConnect {
    type Stream = RealStream;

    async fn connect(&self, endpoint: &Endpoint) -> io::Result<RealStream> {
        self.connect_observed(endpoint, &Cell::new(false)).await
    }

    async fn connect_observed(
        &self,
        endpoint: &Endpoint,
        tcp_connected: &Cell<bool>,
    ) -> io::Result<RealStream> {
        let stream = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .inspect_err(|error| {
                // A reset (not a refusal) means the peer's kernel completed the handshake and then the connection
                // was reset: accepted, so the node is not unreachable. Without this the label depended on whether
                // the reset beat connect's completion.
                if error.kind() == io::ErrorKind::ConnectionReset {
                    tcp_connected.set(true);
                }
            })?;
        tcp_connected.set(true);
        stream.set_nodelay(true)?;
        if !endpoint.https {
            return Ok(RealStream::Plain(stream));
        }
        let tls = self.tls.as_ref().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "https endpoint but TLS is not configured",
            )
        })?;
        // A handshake failure (an unknown CA, a name mismatch) is not a refusal: it is said so, in its own words.
        let stream = tls.connect(&endpoint.host, stream).await.map_err(|error| {
            io::Error::new(error.kind(), format!("TLS handshake failed: {error}"))
        })?;
        Ok(RealStream::Tls(Box::new(stream)))
    }
}

impl AsyncRead for RealStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RealStream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            RealStream::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for RealStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            RealStream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            RealStream::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RealStream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            RealStream::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            RealStream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            RealStream::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}
