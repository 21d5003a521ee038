//! The probes' transport inside the simulation: the running engine's TCP ([`crate::net`]).

use firedrill_probes::{Connect, Endpoint};
use std::io;

/// Connects over turmoil's simulated network. With the cluster's world, a pod's name resolves to its current
/// incarnation's host ([`crate::dns`]); without, names are turmoil host names as given.
#[derive(Clone, Default)]
pub struct TurmoilConnect {
    cluster: Option<crate::world::SharedWorld>,
}

impl TurmoilConnect {
    /// Resolves names through the cluster's DNS.
    pub fn cluster(world: crate::world::SharedWorld) -> Self {
        Self {
            cluster: Some(world),
        }
    }
}

impl Connect for TurmoilConnect {
    type Stream = crate::net::TcpStream;

    async fn connect(&self, endpoint: &Endpoint) -> io::Result<Self::Stream> {
        if endpoint.https {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the simulation speaks plain HTTP",
            ));
        }
        let host = match &self.cluster {
            Some(world) => crate::dns::resolve(&world.borrow(), &endpoint.host)
                .ok_or_else(|| crate::dns::no_such_host(&endpoint.host))?,
            None => endpoint.host.clone(),
        };
        crate::net::TcpStream::connect((host.as_str(), endpoint.port)).await
    }
}
