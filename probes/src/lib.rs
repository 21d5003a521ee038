//! Probes that users run in production and that drills run in simulation: one code path, generic over the
//! transport ([`transport::Connect`]), so the same functions run on turmoil's simulated TCP and on real sockets.

pub mod endpoint;
pub mod http;
pub mod redact;
pub mod registry;
pub mod tls;
pub mod transport;
pub mod vault;
pub mod vault_write;

pub use endpoint::Endpoint;
pub use transport::{Connect, TcpConnect};
