//! The firedrill domain, pure: scenario files, fault schedules, the trace, the runbook engine and the checkers.
//!
//! Architecture invariant: this crate performs no I/O beyond reading scenario files and knows nothing of
//! turmoil, tokio or any backend. Every backend produces a [`trace::Trace`]; the checkers judge it alone.

pub mod audit;
pub mod catalog;
pub mod checkers;
pub mod coverage;
pub mod drill;
pub mod duration;
pub mod figures;
pub mod limits;
pub mod parse_error;
pub mod registry;
pub mod runbook;
pub mod scenario;
pub mod schedule;
pub mod shrink;
pub mod trace;
pub mod verdict;

pub use drill::Drill;
pub use parse_error::ParseError;
pub use scenario::Scenario;
pub use schedule::Schedule;
pub use trace::{Event, EventKind, Trace};
pub use verdict::Verdict;
