//! The real worlds: a registry and OpenBao in Docker (feature `docker`), and a Kubernetes cluster through kube-rs
//! (feature `kind`).

#[cfg(feature = "docker")]
pub mod docker;
#[cfg(feature = "kind")]
pub mod kind;
