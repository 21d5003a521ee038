//! Issue 10, item 6: times near u64::MAX saturate instead of wrapping into an earlier time, for values that reach
//! the engine without a file's range check (a library caller, a property test, a hand-written schedule).

use firedrill_scenarios::runbook::{Command, Engine, Observation, Query, Runbook, RunbookFile};
use std::path::Path;

const RUNBOOK: &str = r#"
name = "r"
description = "d"

[[steps]]
id = "a"
do = "external_health"
until = "health_200"
poll_ms = 1000
timeout_ms = 60000
on_timeout = "gave-up"

[[steps]]
id = "b"
do = "finish"
outcome = "recovered"

[[steps]]
id = "gave-up"
do = "finish"
outcome = "escalated"
"#;

#[test]
fn an_until_with_a_u64_max_timeout_keeps_polling_instead_of_timing_out_at_once() {
    let mut file = RunbookFile::parse(Path::new("r.toml"), RUNBOOK).unwrap();
    file.steps[0].timeout_ms = Some(u64::MAX);
    let mut engine = Engine::new(file);
    let (_, first) = engine.next(5_000, Observation::Done);
    assert_eq!(first, Command::Observe(Query::ExternalHealth));
    let (label, second) = engine.next(6_000, Observation::HttpStatus(503));
    // A wrapped deadline (start + u64::MAX = start - 1) would send the runbook to `gave-up` here.
    assert!(
        matches!(second, Command::Wait { .. }),
        "{label}: {second:?}"
    );
}
