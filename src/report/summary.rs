//! The report as a short markdown summary for `$GITHUB_STEP_SUMMARY`: the verdict, per-rule results, figures
//! and replay lines, kept under GitHub's 1 MiB limit for one step's summary.

use super::{Report, RuleOutcome};

/// GitHub refuses a step summary over 1 MiB; the summary stays well below, with room for other steps.
pub const MAX_SUMMARY_BYTES: usize = 512 * 1024;

/// At most this many failing rules get their replay lines and schedule printed in full per scenario.
const MAX_DETAILED_FAILURES: usize = 20;

/// The markdown of a report, never longer than [`MAX_SUMMARY_BYTES`].
pub fn render(report: &Report) -> String {
    let totals = report.totals();
    let mut out = format!(
        "## firedrill {}: {}\n\n",
        report.command,
        if report.passed() { "PASS" } else { "FAIL" }
    );
    for scenario in &report.scenarios {
        let mut section = String::new();
        section.push_str(&format!(
            "### {} {}\n\nseeds {}..{}{}\n\n",
            if scenario.passed() { "✅" } else { "❌" },
            escape(&scenario.scenario),
            scenario.seeds.start,
            scenario.seeds.end,
            scenario
                .runbook
                .as_ref()
                .map(|runbook| format!(", runbook `{}`", escape(runbook)))
                .unwrap_or_default()
        ));
        section.push_str("| rule | result | seeds |\n|---|---|---|\n");
        for rule in &scenario.rules {
            let mark = match rule.outcome() {
                RuleOutcome::Passed => "pass",
                RuleOutcome::Failed => "**FAIL**",
                RuleOutcome::NotExercisedFailing => "**NOT EXERCISED**",
                RuleOutcome::Skipped => "skipped",
            };
            section.push_str(&format!(
                "| `{}` | {mark} | {} |\n",
                rule.rule,
                escape(&rule.describe())
            ));
        }
        if !scenario.steps.is_empty() {
            let never: Vec<&str> = scenario
                .steps
                .iter()
                .filter(|step| step.reached_seeds == 0)
                .map(|step| step.step.as_str())
                .collect();
            section.push_str(&format!(
                "\nrunbook steps: {} of {} reached on some seed",
                scenario.steps.len() - never.len(),
                scenario.steps.len()
            ));
            if !never.is_empty() {
                section.push_str(&format!("; never reached: {}", escape(&never.join(", "))));
            }
            section.push('\n');
        }
        section.push('\n');
        for figure in &scenario.figures {
            section.push_str(&format!(
                "- {}: {}\n",
                figure.name,
                figure.distribution.text(figure.unit)
            ));
        }
        let failures: Vec<_> = scenario
            .rules
            .iter()
            .filter_map(|rule| rule.first_failure.as_ref().map(|failure| (rule, failure)))
            .collect();
        for (rule, failure) in failures.iter().take(MAX_DETAILED_FAILURES) {
            section.push_str(&format!(
                "\n**`{}`** first broken on seed {}: {}\n\n```sh\n{}\n```\n",
                rule.rule,
                failure.seed,
                escape(&failure.detail),
                failure.replay.join("\n")
            ));
        }
        if failures.len() > MAX_DETAILED_FAILURES {
            section.push_str(&format!(
                "\n… and {} more broken rules (see the JUnit report)\n",
                failures.len() - MAX_DETAILED_FAILURES
            ));
        }
        section.push('\n');
        // The closing line must always fit, so a section that would push past the limit is cut short.
        if out.len() + section.len() + 200 > MAX_SUMMARY_BYTES {
            out.push_str(
                "\n… the remaining scenarios are left out to keep the summary under 1 MiB\n\n",
            );
            break;
        }
        out.push_str(&section);
    }
    out.push_str(&format!("{}\n", totals.line()));
    out
}

/// Text from a rule or a scenario, made safe inside a markdown table cell or line: no pipe ends a cell and no
/// HTML is interpreted.
fn escape(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}
