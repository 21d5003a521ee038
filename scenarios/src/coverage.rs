//! Coverage over many runs: how often each rule was exercised, passed or failed, and how often each runbook
//! step was reached and each branch taken. A rule that nothing exercised proves nothing.

use crate::checkers::{CheckResult, RuleStatus};
use crate::runbook::RunbookFile;
use crate::trace::{Branch, EventKind, Trace};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What one run covered.
#[derive(Clone, Debug, Default)]
pub struct RunCoverage {
    pub rules: Vec<(&'static str, RuleStatus)>,
    pub steps: BTreeSet<String>,
    pub branches: BTreeSet<(String, Branch)>,
}

impl RunCoverage {
    pub fn of(trace: &Trace, checks: &[CheckResult]) -> Self {
        let mut coverage = RunCoverage {
            rules: checks.iter().map(|c| (c.rule, c.status)).collect(),
            ..RunCoverage::default()
        };
        for event in trace.iter() {
            match &event.kind {
                EventKind::StepReached { step } => {
                    coverage.steps.insert(step.clone());
                }
                EventKind::BranchTaken { step, branch, .. } => {
                    coverage.branches.insert((step.clone(), *branch));
                }
                _ => {}
            }
        }
        coverage
    }
}

/// How one rule fared over the seeds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    pub pass: u64,
    pub fail: u64,
    pub not_exercised: u64,
}

impl RuleCount {
    pub fn exercised(&self) -> u64 {
        self.pass + self.fail
    }
}

/// Coverage summed over seeds.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    pub seeds: u64,
    pub rules: BTreeMap<&'static str, RuleCount>,
    /// Seeds on which each step was reached.
    pub steps: BTreeMap<String, u64>,
    /// Seeds on which each branch was taken.
    pub branches: BTreeMap<(String, Branch), u64>,
}

impl Coverage {
    pub fn add(&mut self, run: &RunCoverage) {
        self.seeds += 1;
        for (rule, status) in &run.rules {
            let count = self.rules.entry(rule).or_default();
            match status {
                RuleStatus::Pass => count.pass += 1,
                RuleStatus::Fail => count.fail += 1,
                RuleStatus::NotExercised => count.not_exercised += 1,
            }
        }
        for step in &run.steps {
            *self.steps.entry(step.clone()).or_default() += 1;
        }
        for branch in &run.branches {
            *self.branches.entry(branch.clone()).or_default() += 1;
        }
    }

    /// Rules that no seed exercised, except those the scenario declares not applicable.
    pub fn unexercised(&self, not_applicable: &BTreeSet<String>) -> Vec<&'static str> {
        self.rules
            .iter()
            .filter(|(rule, count)| count.exercised() == 0 && !not_applicable.contains(**rule))
            .map(|(rule, _)| *rule)
            .collect()
    }

    /// Per step of the runbook, in file order: seeds reached and the branches taken from it.
    pub fn steps_of(&self, runbook: &RunbookFile) -> Vec<StepCoverage> {
        runbook
            .steps
            .iter()
            .map(|step| {
                let id = step.id.get_ref().clone();
                StepCoverage {
                    reached: self.steps.get(&id).copied().unwrap_or(0),
                    branches: self
                        .branches
                        .iter()
                        .filter(|((from, _), _)| *from == id)
                        .map(|((_, branch), seeds)| (*branch, *seeds))
                        .collect(),
                    step: id,
                }
            })
            .collect()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StepCoverage {
    pub step: String,
    pub reached: u64,
    pub branches: BTreeMap<Branch, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::fixture::TraceBuilder;

    #[test]
    fn a_rule_never_exercised_is_listed_unless_declared() {
        let mut coverage = Coverage::default();
        let mut t = TraceBuilder::new();
        t.push(1, EventKind::StepReached { step: "a".into() });
        let checks = vec![CheckResult {
            rule: "r",
            status: RuleStatus::NotExercised,
            detail: String::new(),
        }];
        coverage.add(&RunCoverage::of(&t.build(), &checks));
        assert_eq!(coverage.unexercised(&BTreeSet::new()), vec!["r"]);
        let declared = BTreeSet::from(["r".to_string()]);
        assert!(coverage.unexercised(&declared).is_empty());
        assert_eq!(coverage.steps.get("a"), Some(&1));
    }
}
