//! Any bytes as a server's answer to one GET: the HTTP client reads it within its limits or fails, never panics,
//! and never returns a body over the limit.
#![no_main]

use firedrill_probes::http::HttpConnection;
use firedrill_probes::{Connect, Endpoint};
use libfuzzer_sys::fuzz_target;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const BODY_LIMIT_BYTES: usize = 4096;

/// A stream that swallows the request and answers with the fuzz input, then end of file.
struct Canned {
    answer: Vec<u8>,
    offset: usize,
}

impl AsyncRead for Canned {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let rest = &this.answer[this.offset..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.offset += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Canned {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

struct CannedConnect(Vec<u8>);

impl Connect for CannedConnect {
    type Stream = Canned;
    async fn connect(&self, _: &Endpoint) -> io::Result<Canned> {
        Ok(Canned {
            answer: self.0.clone(),
            offset: 0,
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime starts");
    let endpoint = Endpoint::parse("http://127.0.0.1:5000").expect("a valid URL");
    let connector = CannedConnect(data.to_vec());
    runtime.block_on(async {
        let Ok(Ok(mut connection)) = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            HttpConnection::open(&connector, &endpoint),
        )
        .await
        else {
            return;
        };
        let exchange = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            connection.send(http::Method::GET, "/v2/", &[], BODY_LIMIT_BYTES),
        )
        .await;
        if let Ok(Ok(response)) = exchange {
            assert!(response.body.len() <= BODY_LIMIT_BYTES);
        }
    });
});
