//! The probes' transport inside the simulation: turmoil's TCP.

use firedrill_probes::{Connect, Endpoint};
use std::io;

/// Connects over turmoil's simulated network; hosts are addressed by their turmoil names (pod names).
#[derive(Clone, Copy, Default)]
pub struct TurmoilConnect;

impl Connect for TurmoilConnect {
    type Stream = turmoil::net::TcpStream;

    async fn connect(&self, endpoint: &Endpoint) -> io::Result<Self::Stream> {
        if endpoint.https {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the simulation speaks plain HTTP",
            ));
        }
        turmoil::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await
    }
}
