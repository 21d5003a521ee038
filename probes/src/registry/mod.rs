//! The registry integrity probe: walks a distribution registry through its API and reports every tag, index,
//! manifest, config and layer that cannot be reached (DOMAIN.md §5). Generic over the transport.

pub mod auth;
mod bounded;
mod client;
mod digest_key;
pub mod document;
pub mod media_type;
pub mod names;
pub mod pagination;
pub mod prometheus;
pub mod report;
mod walk;

pub use auth::Credentials;
pub use bounded::run_bounded;
pub use client::RequestError;
pub use report::{Broken, Kind, Report};
pub use walk::{probe_registry, sha256_digest, ProbeError, Scope, WalkConfig, BYTES_PER_OBJECT};
