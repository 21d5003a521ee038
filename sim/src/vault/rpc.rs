//! Raft and forwarding RPCs on the cluster port, msgpack-encoded (rmp-serde) and framed with a 4-byte big-endian
//! length, over TCP. (Vault's forwarding is gRPC; the frame is shared here, and its failures are worded as gRPC's.)

use crate::net::TcpStream;
use serde::{Deserialize, Serialize};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest frame a peer may send; a larger length prefix is a protocol error, not an allocation.
const MAX_FRAME_BYTES: u32 = 1 << 20;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Rpc {
    AppendEntries {
        term: u64,
        leader: String,
        prev_index: u64,
        prev_term: u64,
        /// The term of each entry, from `prev_index + 1` on.
        entries: Vec<u64>,
        commit: u64,
    },
    AppendResponse {
        term: u64,
        success: bool,
        match_index: u64,
    },
    RequestVote {
        term: u64,
        candidate: String,
        last_index: u64,
        last_term: u64,
        /// hashicorp/raft's pre-vote: would the peer vote for this node in `term`? Nothing changes on either side.
        pre_vote: bool,
    },
    VoteResponse {
        term: u64,
        granted: bool,
        pre_vote: bool,
    },
    /// hashicorp/raft sends heartbeats from their own goroutine and the receiver handles them on a fast path,
    /// apart from the main loop.
    Heartbeat {
        term: u64,
        leader: String,
        commit: u64,
    },
    HeartbeatResponse {
        term: u64,
    },
    /// A standby's forwarded request (Vault's periodic echo); the active node answers from its main loop.
    Forward {
        from: String,
    },
    ForwardResponse,
}

pub async fn write_frame(stream: &mut TcpStream, rpc: &Rpc) -> io::Result<()> {
    stream.write_all(&encode_frame(rpc)?).await
}

/// One RPC as a frame: its 4-byte big-endian length, then its msgpack body.
pub fn encode_frame(rpc: &Rpc) -> io::Result<Vec<u8>> {
    let body = rmp_serde::to_vec(rpc).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

pub async fn read_frame(stream: &mut TcpStream) -> io::Result<Rpc> {
    let length = stream.read_u32().await?;
    check_frame_length(length)?;
    let mut body = vec![0; length as usize];
    stream.read_exact(&mut body).await?;
    rmp_serde::from_slice(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Takes the first whole frame off the front of `buffer`, if it holds one.
pub fn decode_frame(buffer: &mut Vec<u8>) -> io::Result<Option<Rpc>> {
    let Some(prefix) = buffer.first_chunk::<4>() else {
        return Ok(None);
    };
    let length = u32::from_be_bytes(*prefix);
    check_frame_length(length)?;
    let end = 4 + length as usize;
    if buffer.len() < end {
        return Ok(None);
    }
    let rpc = rmp_serde::from_slice(&buffer[4..end])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    buffer.drain(..end);
    Ok(Some(rpc))
}

fn check_frame_length(length: u32) -> io::Result<()> {
    if length > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    Ok(())
}

/// How a call failed, worded as hashicorp/raft's net_transport logs it.
#[derive(Debug)]
pub enum CallError {
    /// The deadline passed before the first byte of the answer: msgpack reports position 0.
    Timeout,
    Io(io::Error),
}

impl CallError {
    /// The failure as a gRPC status, for Vault's request forwarding (which is gRPC, not msgpack).
    pub fn grpc_status(&self) -> String {
        match self {
            CallError::Timeout => {
                "rpc error: code = DeadlineExceeded desc = context deadline exceeded".to_string()
            }
            CallError::Io(error) => {
                format!(
                    "rpc error: code = Unavailable desc = connection error: {}",
                    go_net_error(error)
                )
            }
        }
    }
}

/// An I/O failure worded as Go's `net` package words it (`connection refused`, `connection reset by peer`),
/// from its kind alone, so the logs read the same whatever engine or kernel produced the error.
pub fn go_net_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "read: connection reset by peer".to_string(),
        io::ErrorKind::ConnectionAborted => "read: software caused connection abort".to_string(),
        io::ErrorKind::BrokenPipe => "write: broken pipe".to_string(),
        io::ErrorKind::UnexpectedEof => "EOF".to_string(),
        io::ErrorKind::TimedOut => "i/o timeout".to_string(),
        _ => error.to_string(),
    }
}

/// Connects to a peer by name, resolved through the cluster's DNS now, so the connection goes to the
/// incarnation the name means at this moment.
pub async fn dial(
    world: &crate::world::SharedWorld,
    (name, port): &(String, u16),
) -> io::Result<TcpStream> {
    let host =
        crate::dns::resolve(&world.borrow(), name).ok_or_else(|| crate::dns::no_such_host(name))?;
    TcpStream::connect((host.as_str(), *port)).await
}

/// A client connection to one peer, reused across calls and dropped after any error.
pub struct PeerClient {
    world: crate::world::SharedWorld,
    address: (String, u16),
    stream: Option<TcpStream>,
}

impl PeerClient {
    /// A client of the peer named `host`, resolved through the cluster's DNS at each new connection, so an
    /// open connection keeps going to the incarnation it reached.
    pub fn new(world: &crate::world::SharedWorld, host: &str, port: u16) -> Self {
        Self {
            world: world.clone(),
            address: (host.to_string(), port),
            stream: None,
        }
    }

    /// One request and its answer, both within `deadline`.
    pub async fn call(&mut self, rpc: &Rpc, deadline: Duration) -> Result<Rpc, CallError> {
        let result = tokio::time::timeout(deadline, self.exchange(rpc)).await;
        match result {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => {
                self.stream = None;
                Err(CallError::Io(error))
            }
            Err(_) => {
                self.stream = None;
                Err(CallError::Timeout)
            }
        }
    }

    async fn exchange(&mut self, rpc: &Rpc) -> io::Result<Rpc> {
        if self.stream.is_none() {
            self.stream = Some(dial(&self.world, &self.address).await?);
        }
        let stream = self.stream.as_mut().expect("connected above");
        write_frame(stream, rpc).await?;
        read_frame(stream).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_frame_waits_for_a_whole_frame_and_leaves_the_next() {
        let first = encode_frame(&Rpc::Forward {
            from: "vault-0".to_string(),
        })
        .unwrap();
        let second = encode_frame(&Rpc::ForwardResponse).unwrap();
        let mut buffer = first[..first.len() - 1].to_vec();
        assert!(decode_frame(&mut buffer).unwrap().is_none());
        assert_eq!(
            buffer.len(),
            first.len() - 1,
            "a partial frame stays buffered"
        );
        buffer.push(*first.last().unwrap());
        buffer.extend_from_slice(&second);
        assert!(matches!(
            decode_frame(&mut buffer).unwrap(),
            Some(Rpc::Forward { from }) if from == "vault-0"
        ));
        assert!(matches!(
            decode_frame(&mut buffer).unwrap(),
            Some(Rpc::ForwardResponse)
        ));
        assert!(buffer.is_empty());
    }

    #[test]
    fn decode_frame_refuses_an_oversized_length_before_buffering_it() {
        let mut buffer = (MAX_FRAME_BYTES + 1).to_be_bytes().to_vec();
        assert!(decode_frame(&mut buffer).is_err());
    }
}
