//! Reports for CI and for people, built from one model of a judging command's results: per scenario, each
//! rule aggregated over the seeds (with its first failure and how to replay it), each runbook step's reach,
//! and the figures. `junit.rs` writes it as JUnit XML, `summary.rs` as a markdown step summary.

pub mod journal;
pub mod junit;
pub mod summary;
pub mod timeline_html;

use firedrill_scenarios::checkers::RuleStatus;
use firedrill_scenarios::figures::Distribution;
use firedrill_scenarios::verdict::Verdict;

/// What one judging command (`run`, `sweep` or `check`) concluded, over every scenario it ran.
#[derive(Clone, Debug)]
pub struct Report {
    /// `run`, `sweep` or `check`: the JUnit report's name and the summary's title.
    pub command: &'static str,
    pub scenarios: Vec<ScenarioResult>,
    /// Wall time of the whole command.
    pub wall_ms: u64,
}

/// One scenario's results over its seeds.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    pub scenario: String,
    /// The runbook judged, when the scenario has one.
    pub runbook: Option<String>,
    /// The seeds run, as `START..END`.
    pub seeds: std::ops::Range<u64>,
    pub rules: Vec<RuleResult>,
    /// Per runbook step, for `check`; empty otherwise.
    pub steps: Vec<StepResult>,
    pub figures: Vec<Figure>,
}

/// One rule over the seeds: a JUnit test case.
#[derive(Clone, Debug)]
pub struct RuleResult {
    pub rule: String,
    pub pass_seeds: u64,
    pub fail_seeds: u64,
    pub not_exercised_seeds: u64,
    /// Why the rule had nothing to judge, from the first seed where it had not.
    pub not_exercised_why: Option<String>,
    /// Why the scenario declares the rule not applicable, if it does.
    pub not_applicable: Option<String>,
    /// Whether a rule no seed exercised fails the command (`check` fails it unless declared not applicable).
    pub unexercised_fails: bool,
    pub first_failure: Option<RuleFailure>,
}

/// The first seed on which a rule broke, and how to see it again.
#[derive(Clone, Debug)]
pub struct RuleFailure {
    pub seed: u64,
    pub detail: String,
    /// The schedule that breaks the rule as JSON: shrunk by `check`, as drawn otherwise.
    pub schedule: Option<String>,
    /// Whether `schedule` was shrunk.
    pub shrunk: bool,
    /// Commands that replay the failure, most direct first.
    pub replay: Vec<String>,
}

/// How often one runbook step was reached over the seeds: a JUnit test case of `check`.
#[derive(Clone, Debug)]
pub struct StepResult {
    pub step: String,
    pub reached_seeds: u64,
    /// The branches taken from the step, as `name seeds`.
    pub branches: Vec<String>,
}

/// One figure's distribution over the seeds.
#[derive(Clone, Debug)]
pub struct Figure {
    pub name: &'static str,
    /// The unit its values are in, such as ` ms`, or empty for a count.
    pub unit: &'static str,
    pub distribution: Distribution,
}

/// What a rule concluded over every seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleOutcome {
    Passed,
    Failed,
    /// Nothing to judge on any seed, and that fails the command.
    NotExercisedFailing,
    /// Nothing to judge on any seed, which the command allows: a JUnit `skipped`.
    Skipped,
}

impl RuleResult {
    pub fn seeds(&self) -> u64 {
        self.pass_seeds + self.fail_seeds + self.not_exercised_seeds
    }

    pub fn outcome(&self) -> RuleOutcome {
        if self.fail_seeds > 0 {
            RuleOutcome::Failed
        } else if self.pass_seeds > 0 {
            RuleOutcome::Passed
        } else if self.unexercised_fails && self.not_applicable.is_none() {
            RuleOutcome::NotExercisedFailing
        } else {
            RuleOutcome::Skipped
        }
    }

    /// One line on how the rule fared: `exercised on 60 of 60 seeds`, `broken on 3 of 60 seeds`, ….
    pub fn describe(&self) -> String {
        let seeds = self.seeds();
        match self.outcome() {
            RuleOutcome::Failed => format!(
                "broken on {} of {seeds} seeds (exercised on {})",
                self.fail_seeds,
                self.pass_seeds + self.fail_seeds
            ),
            RuleOutcome::Passed => format!(
                "held on every seed; exercised on {} of {seeds}",
                self.pass_seeds
            ),
            RuleOutcome::NotExercisedFailing | RuleOutcome::Skipped => {
                let why = match (&self.not_applicable, &self.not_exercised_why) {
                    (Some(why), _) => format!("not applicable: {why}"),
                    (None, Some(why)) => why.clone(),
                    (None, None) => "nothing to judge".to_string(),
                };
                format!("not exercised on any of {seeds} seeds ({why})")
            }
        }
    }
}

/// The counts of the plain closing line and the JUnit totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Totals {
    /// `N passed, N failed, N skipped`: the plain line every judging command ends with.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

impl ScenarioResult {
    /// Test cases of this scenario: one per rule, then one per runbook step (a step no seed reached is
    /// skipped: reaching it is coverage, not a verdict).
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for rule in &self.rules {
            match rule.outcome() {
                RuleOutcome::Passed => totals.passed += 1,
                RuleOutcome::Failed | RuleOutcome::NotExercisedFailing => totals.failed += 1,
                RuleOutcome::Skipped => totals.skipped += 1,
            }
        }
        for step in &self.steps {
            if step.reached_seeds > 0 {
                totals.passed += 1;
            } else {
                totals.skipped += 1;
            }
        }
        totals
    }

    pub fn passed(&self) -> bool {
        self.totals().failed == 0
    }

    pub fn seed_count(&self) -> u64 {
        self.seeds.end - self.seeds.start
    }
}

impl Report {
    pub fn totals(&self) -> Totals {
        self.scenarios
            .iter()
            .map(ScenarioResult::totals)
            .fold(Totals::default(), |sum, one| Totals {
                passed: sum.passed + one.passed,
                failed: sum.failed + one.failed,
                skipped: sum.skipped + one.skipped,
            })
    }

    pub fn passed(&self) -> bool {
        self.scenarios.iter().all(ScenarioResult::passed)
    }
}

/// Aggregates verdicts of one scenario (from `run` or `sweep`) per rule. `replay` gives the commands that
/// replay a seed, and `schedule` the schedule a seed drew, as JSON, when it is known.
pub fn rules_of_verdicts(
    verdicts: &[Verdict],
    replay: impl Fn(u64) -> Vec<String>,
    schedule: impl Fn(u64) -> Option<String>,
) -> Vec<RuleResult> {
    let mut rules: Vec<RuleResult> = Vec::new();
    let mut ordered: Vec<&Verdict> = verdicts.iter().collect();
    ordered.sort_by_key(|verdict| verdict.seed);
    for verdict in ordered {
        for check in &verdict.checks {
            let index = match rules.iter().position(|rule| rule.rule == check.rule) {
                Some(index) => index,
                None => {
                    rules.push(RuleResult {
                        rule: check.rule.to_string(),
                        pass_seeds: 0,
                        fail_seeds: 0,
                        not_exercised_seeds: 0,
                        not_exercised_why: None,
                        not_applicable: None,
                        unexercised_fails: false,
                        first_failure: None,
                    });
                    rules.len() - 1
                }
            };
            let rule = &mut rules[index];
            match check.status {
                RuleStatus::Pass => rule.pass_seeds += 1,
                RuleStatus::NotExercised => {
                    rule.not_exercised_seeds += 1;
                    if rule.not_exercised_why.is_none() {
                        rule.not_exercised_why = Some(check.detail.clone());
                    }
                }
                RuleStatus::Fail => {
                    rule.fail_seeds += 1;
                    if rule.first_failure.is_none() {
                        rule.first_failure = Some(RuleFailure {
                            seed: verdict.seed,
                            detail: check.detail.clone(),
                            schedule: schedule(verdict.seed),
                            shrunk: false,
                            replay: replay(verdict.seed),
                        });
                    }
                }
            }
        }
    }
    rules
}

/// The detection and recovery figures of verdicts, from the fault's onset.
pub fn figures_of_verdicts(verdicts: &[Verdict]) -> Vec<Figure> {
    let since_onset = |at: Option<u64>, onset: Option<u64>| {
        at.zip(onset).map(|(at, onset)| at.saturating_sub(onset))
    };
    vec![
        Figure {
            name: "time to detect",
            unit: " ms",
            distribution: Distribution::of(
                verdicts
                    .iter()
                    .filter_map(|v| since_onset(v.detected_at_ms, v.onset_ms))
                    .collect(),
            ),
        },
        Figure {
            name: "time to recover",
            unit: " ms",
            distribution: Distribution::of(
                verdicts
                    .iter()
                    .filter_map(|v| since_onset(v.recovered_at_ms, v.onset_ms))
                    .collect(),
            ),
        },
    ]
}

/// Where the reports go: the flags every judging command shares.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ReportArgs {
    /// Also write the verdict as JUnit XML to FILE, for CI (GitLab, Jenkins, GitHub test reporters): one
    /// testsuite per scenario, one testcase per rule aggregated over the seeds (classname = scenario), a failure
    /// holding the first failing seed, the rule's detail, the schedule and the replay line; a rule never
    /// exercised is skipped with why. `check` adds one testcase per runbook step.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
    /// Also write a short markdown summary to FILE (under 1 MiB), made for `$GITHUB_STEP_SUMMARY`: the verdict,
    /// per-rule results, figures and replay lines. The file is appended to, as GitHub expects.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<std::path::PathBuf>,
}

impl ReportArgs {
    /// Writes the reports asked for. An unwritable file is bad input: the error names it.
    pub fn write(&self, report: &Report) -> Result<(), String> {
        if let Some(path) = &self.junit {
            let xml = junit::render(report)?;
            std::fs::write(path, xml)
                .map_err(|error| format!("cannot write JUnit {}: {error}", path.display()))?;
        }
        if let Some(path) = &self.summary {
            use std::io::Write;
            let markdown = summary::render(report);
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| file.write_all(markdown.as_bytes()))
                .map_err(|error| format!("cannot write summary {}: {error}", path.display()))?;
        }
        Ok(())
    }
}
