//! The docker world for the Vault drills: three OpenBao 2.7.2 voters in containers, their raft directories on
//! the project's hang filesystem, the runbook's verbs mapped to containers, and a run that writes the same trace
//! events as the simulation.

pub mod actuator;
pub mod api;
pub mod cluster;
pub mod hang_mount;
pub mod lifecycle;
pub mod ops;
pub mod procfs;
pub mod readiness;
pub mod run;
pub mod world;

pub use run::{run, DockerVaultOutcome, Pace};
