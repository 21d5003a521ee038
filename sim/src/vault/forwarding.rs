//! A standby's request-forwarding channel to the active node: one connection kept across calls whose deadline
//! passed, because gRPC cancels the stream, not the connection.
//!
//! Vault dials one gRPC `ClientConn` to the active node's cluster port and sends every forwarded request and
//! echo over it. A call that reaches its deadline ends with `DeadlineExceeded` and leaves the connection up, so a
//! standby facing a stuck active node holds one connection, not one per failed echo. (Redialling per failure,
//! as raft's transport does, piled up hundreds of CLOSE_WAIT sockets on the stuck node within minutes; the real
//! node shows one per standby.) gRPC keepalive, which would drop a connection whose peer stopped answering pings
//! altogether (a killed process), is not modelled: the echo fails every round either way.

use super::rpc::{decode_frame, dial, encode_frame, CallError, Rpc};
use crate::net::TcpStream;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

pub struct ForwardingClient {
    world: crate::world::SharedWorld,
    address: (String, u16),
    channel: Option<Channel>,
}

/// One open connection and what it has received but not yet read as frames.
struct Channel {
    stream: TcpStream,
    received: Vec<u8>,
    /// Answers still owed to calls that gave up at their deadline: when they come, they are dropped, as gRPC
    /// drops frames of a cancelled stream.
    abandoned_answers: usize,
}

impl ForwardingClient {
    /// A channel to the host named `host`, resolved through the cluster's DNS at each new connection.
    pub fn new(world: &crate::world::SharedWorld, host: &str, port: u16) -> Self {
        Self {
            world: world.clone(),
            address: (host.to_string(), port),
            channel: None,
        }
    }

    /// One request and its answer within `deadline`. A deadline that passes while the answer is awaited leaves
    /// the connection open; one that passes while dialling or writing, or any I/O error, drops it.
    pub async fn call(&mut self, rpc: &Rpc, deadline: Duration) -> Result<Rpc, CallError> {
        let deadline_at = Instant::now() + deadline;
        match tokio::time::timeout_at(deadline_at, self.send(rpc)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                self.channel = None;
                return Err(CallError::Io(error));
            }
            Err(_) => {
                // A write cut short leaves half a frame on the wire: the connection cannot be used again.
                self.channel = None;
                return Err(CallError::Timeout);
            }
        }
        match tokio::time::timeout_at(deadline_at, self.receive()).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => {
                self.channel = None;
                Err(CallError::Io(error))
            }
            Err(_) => {
                if let Some(channel) = self.channel.as_mut() {
                    channel.abandoned_answers += 1;
                }
                Err(CallError::Timeout)
            }
        }
    }

    async fn send(&mut self, rpc: &Rpc) -> io::Result<()> {
        if self.channel.is_none() {
            self.channel = Some(Channel {
                stream: dial(&self.world, &self.address).await?,
                received: Vec::new(),
                abandoned_answers: 0,
            });
        }
        let channel = self.channel.as_mut().expect("connected above");
        channel.stream.write_all(&encode_frame(rpc)?).await
    }

    /// Reads until the answer to the latest call, dropping those owed to abandoned calls. Only `read_buf` is
    /// awaited, which either takes bytes into `received` or takes none, so a deadline never loses half a frame.
    async fn receive(&mut self) -> io::Result<Rpc> {
        let channel = self.channel.as_mut().expect("sent on it");
        loop {
            if let Some(answer) = decode_frame(&mut channel.received)? {
                if channel.abandoned_answers > 0 {
                    channel.abandoned_answers -= 1;
                    continue;
                }
                return Ok(answer);
            }
            if channel.stream.read_buf(&mut channel.received).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rpc::{read_frame, write_frame};
    use super::*;
    use crate::net::TcpListener;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    /// A server that answers its first three calls 3 s late (a core stuck behind a write) and the rest at once,
    /// each answer carrying its request's number: the channel must time out on the slow ones without
    /// redialling, drop their late answers, and hand every later call its own answer.
    #[test]
    fn a_deadline_keeps_the_connection_and_late_answers_are_dropped() {
        let scenario = firedrill_scenarios::catalog::load("vault-healthy").unwrap();
        let schedule = firedrill_scenarios::Schedule::draw(&scenario, 0);
        let accepted = Rc::new(Cell::new(0));
        let results: Rc<RefCell<Vec<Result<u64, String>>>> = Rc::default();
        let (accepted_by_server, results_of_client) = (accepted.clone(), results.clone());
        crate::run_observed(&scenario, &schedule, move |hosts, world| {
            let server = move || {
                let accepted = accepted_by_server.clone();
                async move {
                    let listener = TcpListener::bind(("0.0.0.0", 9000)).await?;
                    loop {
                        let (mut stream, _) = listener.accept().await?;
                        accepted.set(accepted.get() + 1);
                        tokio::task::spawn_local(async move {
                            while let Ok(Rpc::Heartbeat { term, .. }) =
                                read_frame(&mut stream).await
                            {
                                if term <= 3 {
                                    tokio::time::sleep(Duration::from_millis(3_000)).await;
                                }
                                let answer = Rpc::HeartbeatResponse { term };
                                if write_frame(&mut stream, &answer).await.is_err() {
                                    return;
                                }
                            }
                        });
                    }
                }
            };
            let client = move || {
                let world = world.clone();
                let results = results_of_client.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(1_000)).await;
                    let mut channel = ForwardingClient::new(&world, "echo-server", 9000);
                    for term in 1..=12 {
                        let request = Rpc::Heartbeat {
                            term,
                            leader: String::new(),
                            commit: 0,
                        };
                        let result =
                            match channel.call(&request, Duration::from_millis(1_000)).await {
                                Ok(Rpc::HeartbeatResponse { term }) => Ok(term),
                                other => Err(format!("{other:?}")),
                            };
                        results.borrow_mut().push(result);
                        tokio::time::sleep(Duration::from_millis(1_000)).await;
                    }
                    Ok(())
                }
            };
            hosts.register("echo-server", crate::engine::software(server));
            hosts.register("echo-client", crate::engine::software(client));
        });
        let results = results.borrow();
        assert_eq!(results.len(), 12, "{results:?}");
        assert!(
            results[..3]
                .iter()
                .all(|result| result.as_ref().is_err_and(|e| e.contains("Timeout"))),
            "the slow calls did not time out: {results:?}"
        );
        for (index, result) in results.iter().enumerate() {
            if let Ok(term) = result {
                assert_eq!(
                    *term,
                    index as u64 + 1,
                    "a call got another call's answer: {results:?}"
                );
            }
        }
        assert_eq!(
            results.last(),
            Some(&Ok(12)),
            "the channel never recovered: {results:?}"
        );
        assert_eq!(
            accepted.get(),
            1,
            "the channel redialled after a deadline: {results:?}"
        );
    }
}
