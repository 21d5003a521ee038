//! The real worlds: a registry in Docker (feature `docker`) and, later, kind (feature `kind`).

#[cfg(feature = "docker")]
pub mod docker;
