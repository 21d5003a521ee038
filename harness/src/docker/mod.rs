//! The docker world for the registry: a real distribution container (testcontainers), faults applied to its
//! storage tree, its own garbage collector, and a pusher that fills it with deterministic images.

pub mod api;
pub mod container;
pub mod drill;
pub mod fixture;
pub mod fs_disk;
pub mod image;
pub mod pusher;
pub mod storage;
pub mod vault;

pub use container::{DockerError, RegistryContainer};
pub use fixture::{populate, Fixture, ImageDigests, RepositoryFixture};
pub use image::RegistryImage;
pub use pusher::Pusher;
pub use storage::Storage;
