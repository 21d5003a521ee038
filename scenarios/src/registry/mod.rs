//! Registry drills (DOMAIN.md §5): the scenario file, the content pushed, the drawn plan, the disk oracle, the
//! seed's naive scan, and the driver that every backend runs them through.
//!
//! Architecture invariant: everything here is pure. A backend supplies a [`RegistryWorld`] (a simulated model or a
//! real container); the [`driver`] decides what happens when and writes the trace, so every backend emits the same
//! events for the same plan.

pub mod content;
pub mod disk;
pub mod driver;
pub mod naive_scan;
pub mod oracle;
pub mod plan;
pub mod scenario;

pub use content::{PushStep, PushedImage};
pub use disk::RegistryDisk;
pub use driver::{drive, CleanupOutcome, IntegrityRound, RegistryWorld, WorldError};
pub use plan::{Operation, RegistryPlan};
pub use scenario::{CleanupMode, ImageFormat, RegistryScenario};

/// The alert the seed's CronJob feeds: integrity failures above zero.
pub const INTEGRITY_ALERT: &str = "RegistryManifestIntegrityFailure";
/// The alert for a catalog the probe could not list.
pub const CATALOG_ALERT: &str = "RegistryCatalogInaccessible";
/// The scanner names in `registry_scan` events.
pub const INTEGRITY_SCANNER: &str = "integrity";
pub const NAIVE_SCANNER: &str = "naive_blob_presence";

/// A broken object as trace findings name it: `<kind> <repository>@<digest>`, or `<kind> <repository>:<tag>`.
pub fn finding(kind: &str, repository: &str, reference: &str) -> String {
    let separator = if reference.starts_with("sha256:") {
        '@'
    } else {
        ':'
    };
    format!("{kind} {repository}{separator}{reference}")
}
