//! The reports for CI: `--junit` parses back as the JUnit XML CI tools read (required attributes, counts that
//! add up, stable unique names, classname = scenario), a runbook that breaks a rule is a failure holding the
//! first failing seed and the replay line, a rule never exercised is skipped with why, and `--summary` is a
//! markdown summary under 1 MiB; every judging command ends with the plain `N passed, N failed` line.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn firedrill(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .env_remove("FIREDRILL_SEED")
        .env_remove("FIREDRILL_SEEDS")
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The counts of one `<testsuite>` or `<testsuites>` element's own attributes.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Counts {
    tests: u64,
    failures: u64,
    errors: u64,
    skipped: u64,
}

fn attribute(node: roxmltree::Node, name: &str) -> u64 {
    node.attribute(name)
        .unwrap_or_else(|| panic!("<{}> lacks {name}", node.tag_name().name()))
        .parse()
        .unwrap_or_else(|e| panic!("<{}> {name}: {e}", node.tag_name().name()))
}

fn declared(node: roxmltree::Node) -> Counts {
    Counts {
        tests: attribute(node, "tests"),
        failures: attribute(node, "failures"),
        errors: attribute(node, "errors"),
        skipped: attribute(node, "skipped"),
    }
}

/// Checks the document against what the JUnit schema CI tools read requires (the Jenkins/Ant JUnit XSD as
/// GitLab and the GitHub reporters parse it): a `testsuites` root of `testsuite`s, each with a name and counts
/// that match its `testcase`s, each test case with a name and a classname and at most one outcome element with a
/// message. Returns the suites as (name, cases), each case as (classname, name, outcome, text).
#[allow(clippy::type_complexity)]
fn validate(xml: &str) -> Vec<(String, Vec<(String, String, String, String)>)> {
    let document = roxmltree::Document::parse(xml).expect("the JUnit file is well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let mut total = Counts::default();
    let mut suites = Vec::new();
    for suite in root.children().filter(roxmltree::Node::is_element) {
        assert_eq!(suite.tag_name().name(), "testsuite");
        let name = suite.attribute("name").expect("a testsuite has a name");
        let mut counted = Counts::default();
        let mut cases = Vec::new();
        let mut names = BTreeSet::new();
        for case in suite.children().filter(roxmltree::Node::is_element) {
            match case.tag_name().name() {
                "properties" => {
                    for property in case.children().filter(roxmltree::Node::is_element) {
                        assert_eq!(property.tag_name().name(), "property");
                        assert!(property.attribute("name").is_some());
                        assert!(property.attribute("value").is_some());
                    }
                    continue;
                }
                "system-out" | "system-err" => continue,
                "testcase" => {}
                other => panic!("unexpected <{other}> in a testsuite"),
            }
            let case_name = case.attribute("name").expect("a testcase has a name");
            let classname = case
                .attribute("classname")
                .expect("a testcase has a classname");
            assert!(
                names.insert(case_name.to_string()),
                "test case names are unique in a suite: {case_name}"
            );
            counted.tests += 1;
            let outcomes: Vec<_> = case
                .children()
                .filter(|child| {
                    child.is_element()
                        && ["failure", "error", "skipped"].contains(&child.tag_name().name())
                })
                .collect();
            assert!(outcomes.len() <= 1, "{case_name} has one outcome at most");
            let (outcome, text) = match outcomes.first() {
                None => ("passed".to_string(), String::new()),
                Some(element) => {
                    match element.tag_name().name() {
                        "failure" => counted.failures += 1,
                        "error" => counted.errors += 1,
                        _ => counted.skipped += 1,
                    }
                    let message = element
                        .attribute("message")
                        .expect("an outcome has a message");
                    assert!(!message.is_empty());
                    (
                        element.tag_name().name().to_string(),
                        format!("{message}\n{}", element.text().unwrap_or("")),
                    )
                }
            };
            cases.push((classname.to_string(), case_name.to_string(), outcome, text));
        }
        assert_eq!(declared(suite), counted, "the counts of suite {name}");
        total.tests += counted.tests;
        total.failures += counted.failures;
        total.errors += counted.errors;
        total.skipped += counted.skipped;
        suites.push((name.to_string(), cases));
    }
    assert_eq!(declared(root), total, "the counts of the whole report");
    suites
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or("")
}

#[test]
fn an_unseen_unsafe_runbook_is_a_junit_failure_with_its_replay_line() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("check.xml");
    let summary = dir.path().join("summary.md");
    let runbook = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/runbooks/unsafe/lazy-then-force-at-once.toml");
    let (code, stdout, stderr) = firedrill(&[
        "check",
        "vault-stuck-leader",
        "--runbook",
        runbook.to_str().unwrap(),
        "--seeds",
        "20",
        "--no-progress",
        "--junit",
        junit.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let suites = validate(&xml);
    assert_eq!(suites.len(), 1);
    let (suite, cases) = &suites[0];
    assert_eq!(suite, "vault-stuck-leader");
    assert!(cases.iter().all(|(classname, ..)| classname == suite));
    let broken = cases
        .iter()
        .find(|(_, name, ..)| name == "no_force_delete_before_unmount")
        .expect("one test case per rule");
    assert_eq!(broken.2, "failure", "{xml}");
    for needle in [
        "first failing seed: ",
        "shrunk schedule: {",
        "replay: firedrill run vault-stuck-leader --seed ",
        "--schedule '",
    ] {
        assert!(broken.3.contains(needle), "missing {needle}: {}", broken.3);
    }
    let not_applicable = cases
        .iter()
        .find(|(_, name, ..)| name == "pvc_finalizer_before_migration_delete")
        .unwrap();
    assert_eq!(not_applicable.2, "skipped");
    assert!(
        not_applicable.3.contains("not applicable: "),
        "{}",
        not_applicable.3
    );
    // `check` adds one case per runbook step, named by the step alone so the name is stable across runs.
    assert!(cases
        .iter()
        .any(|(_, name, outcome, _)| name == "step 2a-graceful-delete" && outcome == "passed"));
    let failures = cases.iter().filter(|case| case.2 == "failure").count() as u64;
    let passes = cases.iter().filter(|case| case.2 == "passed").count() as u64;
    let skips = cases.iter().filter(|case| case.2 == "skipped").count() as u64;
    let plain = format!("{passes} passed, {failures} failed, {skips} skipped");
    assert_eq!(last_line(&stdout), plain);

    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(markdown.len() < 1024 * 1024);
    for needle in [
        "## firedrill check: FAIL",
        "| `no_force_delete_before_unmount` | **FAIL** |",
        "```sh\nfiredrill run vault-stuck-leader --seed ",
        "time to recover: p50 ",
    ] {
        assert!(markdown.contains(needle), "missing {needle}: {markdown}");
    }
    assert_eq!(last_line(&markdown), plain);
}

#[test]
fn a_sweep_reports_one_suite_per_scenario_and_never_exercised_rules_as_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("sweep.xml");
    let summary = dir.path().join("summary.md");
    // GitHub's summary file is shared by a job's steps, so a summary is appended to what is there.
    std::fs::write(&summary, "earlier step\n").unwrap();
    let (code, stdout, stderr) = firedrill(&[
        "sweep",
        "vault-healthy",
        "--seeds",
        "3",
        "--no-progress",
        "--format",
        "json",
        "--junit",
        junit.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    serde_json::from_str::<serde_json::Value>(&stdout).expect("stdout stays one JSON object");
    let suites = validate(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(suites.len(), 1);
    let (suite, cases) = &suites[0];
    assert_eq!(suite, "vault-healthy");
    // No fault means the runbook never acts, so the force-delete rule had nothing to judge: skipped, with why.
    let force = cases
        .iter()
        .find(|(_, name, ..)| name == "no_force_delete_before_unmount")
        .unwrap();
    assert_eq!(force.2, "skipped");
    assert!(
        force.3.starts_with("not exercised on any of 3 seeds ("),
        "{}",
        force.3
    );
    assert!(cases.iter().all(|case| case.2 != "failure"));
    let passes = cases.iter().filter(|case| case.2 == "passed").count();
    let skips = cases.iter().filter(|case| case.2 == "skipped").count();
    assert!(passes > 0);
    assert_eq!(
        last_line(&stderr),
        format!("{passes} passed, 0 failed, {skips} skipped")
    );
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.starts_with("earlier step\n## firedrill sweep: PASS"),
        "{markdown}"
    );
}

#[test]
fn a_failing_run_writes_its_seed_schedule_and_replay_line() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("run.xml");
    let (code, stdout, _) = firedrill(&[
        "run",
        "vault-stuck-leader",
        "--seed",
        "7",
        "--runbook",
        "unsafe/force-delete-first",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    let suites = validate(&std::fs::read_to_string(&junit).unwrap());
    let (_, cases) = &suites[0];
    let broken = cases
        .iter()
        .find(|(_, name, ..)| name == "graceful_delete_before_force")
        .unwrap();
    assert_eq!(broken.2, "failure");
    assert!(broken.3.contains("first failing seed: 7\n"), "{}", broken.3);
    assert!(
        broken.3.contains("schedule (as drawn): {\"seed\":7"),
        "{}",
        broken.3
    );
    assert!(
        broken.3.contains(
            "replay: firedrill run vault-stuck-leader --seed 7 --runbook unsafe/force-delete-first"
        ),
        "{}",
        broken.3
    );
    let failures = cases.iter().filter(|case| case.2 == "failure").count();
    assert!(last_line(&stdout).contains(&format!(" passed, {failures} failed, ")));
}

#[test]
fn an_unwritable_report_file_is_bad_input() {
    let (code, _, stderr) = firedrill(&[
        "run",
        "vault-healthy",
        "--seed",
        "1",
        "--junit",
        "/nonexistent-dir/report.xml",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot write JUnit /nonexistent-dir/report.xml"),
        "{stderr}"
    );
}

#[test]
fn the_journal_records_status_activities_probe_rounds_rules_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str, runbook: Option<&str>| {
        let path = dir.path().join(name);
        let mut args = vec![
            "run",
            "vault-stuck-leader",
            "--seed",
            "7",
            "--journal",
            path.to_str().unwrap(),
        ];
        if let Some(runbook) = runbook {
            args.extend(["--runbook", runbook]);
        }
        let (code, stdout, _) = firedrill(&args);
        let journal: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        (code, stdout, journal)
    };
    let (code, _, journal) = read("safe.json", None);
    assert_eq!(code, Some(0));
    assert_eq!(journal["journal_version"], 1);
    assert_eq!(journal["scenario"], "vault-stuck-leader");
    assert_eq!(journal["seed"], 7);
    assert_eq!(journal["schedule"]["seed"], 7);
    assert_eq!(journal["backend"], "sim");
    assert_eq!(journal["versions"]["trace_schema"], 4);
    assert_eq!(journal["status"], "succeeded");
    assert_eq!(journal["deviated"], false);
    let activities = journal["activities"].as_array().unwrap();
    assert!(activities.iter().any(|a| a["activity"] == "lazy_unmount"));
    for activity in activities {
        assert!(
            activity["start_ms"].as_u64() <= activity["end_ms"].as_u64(),
            "{activity}"
        );
        assert!(["succeeded", "failed"].contains(&activity["status"].as_str().unwrap()));
    }
    assert_eq!(activities.last().unwrap()["activity"], "finish");
    let rounds = journal["probe_rounds"].as_array().unwrap();
    assert!(rounds.len() > 10);
    // A round holds each voter once.
    assert_eq!(rounds[0]["results"].as_array().unwrap().len(), 3);
    assert!(journal["rules"].as_array().unwrap().len() > 5);
    assert!(journal["figures"]["time_to_detect_ms"].as_u64().is_some());

    let (code, _, journal) = read("unsafe.json", Some("unsafe/force-delete-first"));
    assert_eq!(code, Some(1));
    assert_eq!(journal["status"], "failed");
    assert_eq!(journal["deviated"], true);
    assert!(journal["activities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["activity"] == "force_delete_pod" && a["destructive"] == true));
}

#[test]
fn report_draws_a_trace_and_locates_a_malformed_line() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("run.jsonl");
    let page = dir.path().join("timeline.html");
    let (code, stdout, _) = firedrill(&[
        "run",
        "vault-stuck-leader",
        "--seed",
        "7",
        "--runbook",
        "unsafe/force-delete-first",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    let (code, stdout, stderr) = firedrill(&[
        "report",
        trace.to_str().unwrap(),
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in [
        "<!DOCTYPE html>",
        "default-src 'none'",
        "data-lane=\"pod vault-0\"",
        "class=\"fault-window\"",
        "class=\"to-event violation-link\" href=\"#ev-",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    // Self-contained: nothing is loaded from anywhere.
    for outside in ["src=\"http", "href=\"http", "<link ", "@import", "url("] {
        assert!(!html.contains(outside), "the page loads {outside}");
    }

    let bad = dir.path().join("bad.jsonl");
    let first = std::fs::read_to_string(&trace).unwrap();
    let first = first.lines().next().unwrap();
    std::fs::write(
        &bad,
        format!("{first}\n{{\"t_ms\": 5, \"event\": \"no_such_event\"}}\n"),
    )
    .unwrap();
    let (code, _, stderr) = firedrill(&[
        "report",
        bad.to_str().unwrap(),
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("bad.jsonl:2:"), "{stderr}");
}
