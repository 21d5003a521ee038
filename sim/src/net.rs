//! The sockets every simulated host uses: turmoil 0.7's on the reference engine, turmoil-net's on the exact one.
//!
//! World code (Vault, the registry, the ops host's probes) imports `TcpListener` and `TcpStream` from here and
//! runs unchanged on either engine; only [`crate::engine`] knows which one is running. On the exact engine a
//! socket remembers the host that opened it and makes that host current for every call, including its drop, so
//! a socket used or dropped from another host's task still lands in its own host's kernel.

use crate::engine::exact;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A listening socket on the current host.
pub enum TcpListener {
    Reference(turmoil::net::TcpListener),
    Exact(exact::Owned<turmoil_net::shim::tokio::net::TcpListener>),
}

/// A connected socket.
pub enum TcpStream {
    Reference(turmoil::net::TcpStream),
    Exact(exact::Owned<turmoil_net::shim::tokio::net::TcpStream>),
}

impl TcpListener {
    /// Binds `(address, port)` on the current host.
    pub async fn bind((address, port): (&str, u16)) -> io::Result<TcpListener> {
        match exact::current_host() {
            None => Ok(TcpListener::Reference(
                turmoil::net::TcpListener::bind((address, port)).await?,
            )),
            Some(host) => {
                let ip = exact::resolve(address)?;
                let _on = exact::on_host(host);
                let listener =
                    turmoil_net::shim::tokio::net::TcpListener::bind(SocketAddr::new(ip, port))
                        .await?;
                Ok(TcpListener::Exact(exact::Owned::new(host, listener)))
            }
        }
    }

    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        match self {
            TcpListener::Reference(listener) => {
                let (stream, peer) = listener.accept().await?;
                Ok((TcpStream::Reference(stream), peer))
            }
            TcpListener::Exact(listener) => {
                let host = listener.host();
                let (stream, peer) =
                    std::future::poll_fn(|cx| listener.poll_with(|inner| inner.poll_accept(cx)))
                        .await?;
                Ok((TcpStream::Exact(exact::Owned::new(host, stream)), peer))
            }
        }
    }
}

impl TcpStream {
    /// Connects from the current host to `(name, port)`; a name is a host's name on the simulated network.
    pub async fn connect((name, port): (&str, u16)) -> io::Result<TcpStream> {
        match exact::current_host() {
            None => Ok(TcpStream::Reference(
                turmoil::net::TcpStream::connect((name, port)).await?,
            )),
            Some(host) => {
                let ip = exact::resolve(name)?;
                let connecting = {
                    let _on = exact::on_host(host);
                    turmoil_net::shim::tokio::net::TcpStream::connect(SocketAddr::new(ip, port))
                };
                let stream = exact::OnHost::new(host, connecting).await?;
                Ok(TcpStream::Exact(exact::Owned::new(host, stream)))
            }
        }
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TcpStream::Reference(stream) => Pin::new(stream).poll_read(cx, buf),
            TcpStream::Exact(stream) => {
                stream.poll_with_mut(|inner| Pin::new(inner).poll_read(cx, buf))
            }
        }
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            TcpStream::Reference(stream) => Pin::new(stream).poll_write(cx, buf),
            TcpStream::Exact(stream) => {
                stream.poll_with_mut(|inner| Pin::new(inner).poll_write(cx, buf))
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TcpStream::Reference(stream) => Pin::new(stream).poll_flush(cx),
            TcpStream::Exact(stream) => {
                stream.poll_with_mut(|inner| Pin::new(inner).poll_flush(cx))
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            TcpStream::Reference(stream) => Pin::new(stream).poll_shutdown(cx),
            TcpStream::Exact(stream) => {
                stream.poll_with_mut(|inner| Pin::new(inner).poll_shutdown(cx))
            }
        }
    }
}
