//! The report as JUnit XML (quick-junit), the format CI systems read: one testsuite per scenario, one testcase
//! per rule aggregated over the seeds so names stay stable and unique, and for `check` one per runbook step.

use super::{Report, RuleOutcome, RuleResult, ScenarioResult, StepResult};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The JUnit document of a report.
pub fn render(report: &Report) -> Result<String, String> {
    let mut junit = quick_junit::Report::new(format!("firedrill {}", report.command));
    junit.set_time(Duration::from_millis(report.wall_ms));
    for scenario in &report.scenarios {
        junit.add_test_suite(suite(scenario));
    }
    junit
        .to_string()
        .map_err(|error| format!("cannot write JUnit XML: {error}"))
}

fn suite(scenario: &ScenarioResult) -> TestSuite {
    let mut suite = TestSuite::new(scenario.scenario.as_str());
    suite.add_property(Property::new(
        "seeds",
        format!("{}..{}", scenario.seeds.start, scenario.seeds.end),
    ));
    if let Some(runbook) = &scenario.runbook {
        suite.add_property(Property::new("runbook", runbook.as_str()));
    }
    for figure in &scenario.figures {
        suite.add_property(Property::new(
            figure.name,
            figure.distribution.text(figure.unit),
        ));
    }
    for rule in &scenario.rules {
        suite.add_test_case(rule_case(&scenario.scenario, rule));
    }
    for step in &scenario.steps {
        suite.add_test_case(step_case(&scenario.scenario, scenario.seed_count(), step));
    }
    suite
}

fn rule_case(scenario: &str, rule: &RuleResult) -> TestCase {
    let status = match rule.outcome() {
        RuleOutcome::Passed => TestCaseStatus::success(),
        RuleOutcome::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(rule.describe()).set_type("rule_broken");
            if let Some(failure) = &rule.first_failure {
                status.set_description(failure_text(failure));
            }
            status
        }
        RuleOutcome::NotExercisedFailing => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(rule.describe())
                .set_type("not_exercised")
                .set_description(
                    "A rule that no seed exercised proves nothing, and fails the check unless the scenario \
                     lists it under [expect.not_applicable] with a reason.",
                );
            status
        }
        RuleOutcome::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(rule.describe());
            status
        }
    };
    let mut case = TestCase::new(rule.rule.as_str(), status);
    case.set_classname(scenario)
        .set_assertions(usize::try_from(rule.pass_seeds + rule.fail_seeds).unwrap_or(usize::MAX));
    case
}

/// The failure's text: the first failing seed, the rule's detail, the schedule and the replay lines.
fn failure_text(failure: &super::RuleFailure) -> String {
    let mut text = format!("first failing seed: {}\n{}\n", failure.seed, failure.detail);
    if let Some(schedule) = &failure.schedule {
        let kind = if failure.shrunk {
            "shrunk schedule"
        } else {
            "schedule (as drawn)"
        };
        text.push_str(&format!("{kind}: {schedule}\n"));
    }
    for replay in &failure.replay {
        text.push_str(&format!("replay: {replay}\n"));
    }
    text
}

fn step_case(scenario: &str, seeds: u64, step: &StepResult) -> TestCase {
    let reach = format!("reached on {} of {seeds} seeds", step.reached_seeds);
    let status = if step.reached_seeds > 0 {
        TestCaseStatus::success()
    } else {
        let mut status = TestCaseStatus::skipped();
        status.set_message(format!("{reach}: no seed took the runbook there"));
        status
    };
    // The name stays stable across runs; how often the step was reached goes in the case's output.
    let mut case = TestCase::new(format!("step {}", step.step), status);
    case.set_classname(scenario);
    let mut out = format!("step {}: {reach}", step.step);
    if !step.branches.is_empty() {
        out.push_str(&format!("; branches taken: {}", step.branches.join(", ")));
    }
    case.set_system_out(out);
    case
}
