//! Any bytes as a server's answers to two GETs on one keep-alive connection: the HTTP client reads them within its
//! limits or fails, never panics, and never returns a body over the limit.
//!
//! The first input byte picks the sizes the answer is read in (1 to 256 bytes), so hyper's parser sees headers and
//! bodies split at every point. The answer is held back until the client has written its whole request: hyper
//! treats bytes that arrive on an idle connection as an unexpected message and never parses them as a response.
#![no_main]

use firedrill_probes::http::HttpConnection;
use firedrill_probes::{Connect, Endpoint};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const BODY_LIMIT_BYTES: usize = 4096;

/// What the server side has seen and still has to say.
#[derive(Default)]
struct Wire {
    answer: Vec<u8>,
    offset: usize,
    read_size_bytes: usize,
    /// Requests fully written by the client (ended by an empty line; the harness sends bodiless GETs).
    requests_written: usize,
    written: Vec<u8>,
    /// A read that found no request written yet; woken by the next write.
    reader: Option<Waker>,
}

/// A stream that serves the fuzz input, in chunks, once a request has been written, then end of file.
struct Canned(Rc<RefCell<Wire>>);

impl AsyncRead for Canned {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut wire = self.0.borrow_mut();
        if wire.requests_written == 0 {
            wire.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let rest = wire.answer.len() - wire.offset;
        let n = rest.min(buf.remaining()).min(wire.read_size_bytes);
        let start = wire.offset;
        buf.put_slice(&wire.answer[start..start + n]);
        wire.offset += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Canned {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut wire = self.0.borrow_mut();
        wire.written.extend_from_slice(buf);
        // Count completed request heads and keep only the unfinished tail.
        while let Some(end) = wire.written.windows(4).position(|w| w == b"\r\n\r\n") {
            wire.written.drain(..end + 4);
            wire.requests_written += 1;
        }
        if wire.requests_written > 0 {
            if let Some(reader) = wire.reader.take() {
                reader.wake();
            }
        }
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

struct CannedConnect(Rc<RefCell<Wire>>);

impl Connect for CannedConnect {
    type Stream = Canned;
    async fn connect(&self, _: &Endpoint) -> io::Result<Canned> {
        Ok(Canned(self.0.clone()))
    }
}

thread_local! {
    // One runtime for every input: building one per input costs more than most exchanges.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime starts");
}

fuzz_target!(|data: &[u8]| {
    let Some((&read_size, answer)) = data.split_first() else {
        return;
    };
    let wire = Rc::new(RefCell::new(Wire {
        answer: answer.to_vec(),
        read_size_bytes: usize::from(read_size) + 1,
        ..Wire::default()
    }));
    let endpoint = Endpoint::parse("http://127.0.0.1:5000").expect("a valid URL");
    let connector = CannedConnect(wire.clone());
    // No timeouts: once a request is written the stream never waits, and ends in end of file, so every exchange
    // finishes; one that did not would be a hang for libFuzzer's -timeout to report.
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let Ok(mut connection) = HttpConnection::open(&connector, &endpoint).await else {
                return;
            };
            for path in ["/v2/", "/v2/_catalog"] {
                match connection
                    .send(http::Method::GET, path, &[], BODY_LIMIT_BYTES)
                    .await
                {
                    Ok(response) => assert!(response.body.len() <= BODY_LIMIT_BYTES),
                    Err(_) => return,
                }
                if !connection.is_reusable() {
                    return;
                }
            }
        })
    });
});
