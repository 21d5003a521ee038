//! Mutants of a runbook: small, plausible edits (a step dropped, two steps swapped, a guard dropped or negated,
//! a branch retargeted, a wait shortened, an action made more destructive) that a check worth trusting must
//! notice. A mutant that every rule still passes either changes nothing that matters (an equivalent mutant,
//! listed with a reason) or shows a gap in the checks.

use super::file::{FinishOutcome, RunbookFile, Step, Verb};
use toml::Spanned;

/// One edit of a runbook.
#[derive(Clone, Debug)]
pub struct Mutant {
    /// Stable across runs and releases: `<operator>:<step>[:<detail>]`.
    pub id: String,
    /// What the edit does, in words.
    pub description: String,
    /// The step the edit touches first.
    pub step: String,
    /// Every step whose behaviour the edit can change; a mutant whose steps the runbook never reaches behaves
    /// exactly as the runbook does.
    pub touches: Vec<String>,
    /// `true` for the "drop a step" operator: whether it is killed tells if the step is load-bearing.
    pub drops_step: bool,
    pub runbook: RunbookFile,
    /// The edited steps as TOML lines, `-` for the original and `+` for the mutant.
    pub diff: Vec<String>,
}

/// Every mutant of `runbook`, in a fixed order.
pub fn mutants(runbook: &RunbookFile) -> Vec<Mutant> {
    let mut out = Vec::new();
    let steps = &runbook.steps;
    for (index, step) in steps.iter().enumerate() {
        let id = step.id.get_ref().clone();
        let verb = *step.verb.get_ref();
        if verb != Verb::Finish {
            out.push(drop_step(runbook, index));
        }
        if let Some(next) = steps.get(index + 1) {
            if verb != Verb::Finish && *next.verb.get_ref() != Verb::Finish {
                let mut mutant = runbook.clone();
                mutant.steps.swap(index, index + 1);
                out.push(Mutant {
                    id: format!("swap:{id}"),
                    description: format!("swap {id} and {}", next.id.get_ref()),
                    step: id.clone(),
                    touches: vec![id.clone(), next.id.get_ref().clone()],
                    drops_step: false,
                    diff: vec![
                        format!("- {id}, {}", next.id.get_ref()),
                        format!("+ {}, {id}", next.id.get_ref()),
                    ],
                    runbook: mutant,
                });
            }
        }
        if !step.when.is_empty() {
            out.push(edit(runbook, index, "drop-guard", "drop the guard", |s| {
                s.when.clear();
                s.retries = 0;
            }));
            out.push(edit(
                runbook,
                index,
                "negate-guard",
                "negate every fact of the guard",
                |s| {
                    for fact in &mut s.when {
                        let text = fact.get_ref();
                        let negated = match text.strip_prefix('!') {
                            Some(name) => name.to_string(),
                            None => format!("!{text}"),
                        };
                        *fact = Spanned::new(fact.span(), negated);
                    }
                },
            ));
        }
        for (field, label) in [
            (Branch::Otherwise, "otherwise"),
            (Branch::OnTimeout, "on_timeout"),
            (Branch::Then, "then"),
        ] {
            if field.get(step).is_some() {
                out.push(edit(
                    runbook,
                    index,
                    &format!("retarget-{label}"),
                    &format!("send `{label}` to the next step instead"),
                    |s| *field.get_mut(s) = None,
                ));
            }
        }
        if verb == Verb::Wait {
            out.push(edit(
                runbook,
                index,
                "shorten-wait",
                "wait a tenth as long",
                |s| {
                    s.duration_ms = s.duration_ms.map(|ms| ms / 10);
                },
            ));
        }
        if step.timeout_ms.is_some() {
            out.push(edit(
                runbook,
                index,
                "shorten-timeout",
                "give up after a tenth of the timeout",
                |s| {
                    s.timeout_ms = s.timeout_ms.map(|ms| ms / 10);
                },
            ));
        }
        let harsher = match verb {
            Verb::DeletePod => Some(Verb::ForceDeletePod),
            Verb::VmReset => Some(Verb::VmStopStart),
            _ => None,
        };
        if let Some(harsher) = harsher {
            out.push(edit(
                runbook,
                index,
                "harsher",
                &format!("{verb:?} becomes {harsher:?}"),
                |s| s.verb = Spanned::new(s.verb.span(), harsher),
            ));
        }
    }
    let mut shorter = runbook.clone();
    shorter.params.sustained_health_ms /= 10;
    out.push(Mutant {
        id: "shorten-sustained-window".to_string(),
        description: "hold health for a tenth of the sustained window".to_string(),
        step: "params".to_string(),
        touches: runbook
            .steps
            .iter()
            .map(|s| s.id.get_ref().clone())
            .collect(),
        drops_step: false,
        diff: vec![
            format!(
                "- sustained_health_ms = {}",
                runbook.params.sustained_health_ms
            ),
            format!(
                "+ sustained_health_ms = {}",
                shorter.params.sustained_health_ms
            ),
        ],
        runbook: shorter,
    });
    out
}

/// The branch fields a mutant may retarget.
#[derive(Clone, Copy)]
enum Branch {
    Otherwise,
    OnTimeout,
    Then,
}

impl Branch {
    fn get(self, step: &Step) -> &Option<Spanned<String>> {
        match self {
            Branch::Otherwise => &step.otherwise,
            Branch::OnTimeout => &step.on_timeout,
            Branch::Then => &step.then,
        }
    }

    fn get_mut(self, step: &mut Step) -> &mut Option<Spanned<String>> {
        match self {
            Branch::Otherwise => &mut step.otherwise,
            Branch::OnTimeout => &mut step.on_timeout,
            Branch::Then => &mut step.then,
        }
    }
}

/// A mutant that edits one step in place.
fn edit(
    runbook: &RunbookFile,
    index: usize,
    operator: &str,
    what: &str,
    change: impl FnOnce(&mut Step),
) -> Mutant {
    let mut mutant = runbook.clone();
    change(&mut mutant.steps[index]);
    let id = runbook.steps[index].id.get_ref().clone();
    let mut diff = step_lines('-', &runbook.steps[index]);
    diff.extend(step_lines('+', &mutant.steps[index]));
    Mutant {
        id: format!("{operator}:{id}"),
        description: format!("{id}: {what}"),
        touches: vec![id.clone()],
        step: id,
        drops_step: false,
        diff,
        runbook: mutant,
    }
}

/// A mutant without step `index`; branches that named it go to the step that followed it.
fn drop_step(runbook: &RunbookFile, index: usize) -> Mutant {
    let mut mutant = runbook.clone();
    let removed = mutant.steps.remove(index);
    let id = removed.id.get_ref().clone();
    let successor = mutant
        .steps
        .get(index)
        .map(|step| step.id.get_ref().clone());
    for step in &mut mutant.steps {
        for field in [Branch::Otherwise, Branch::OnTimeout, Branch::Then] {
            retarget(field.get_mut(step), &id, &successor);
        }
        retarget(&mut step.retry_from, &id, &successor);
    }
    if mutant.steps.is_empty() {
        mutant.steps.push(finish_step());
    }
    Mutant {
        id: format!("drop:{id}"),
        description: format!("drop step {id}"),
        touches: vec![id.clone()],
        step: id,
        drops_step: true,
        diff: step_lines('-', &removed),
        runbook: mutant,
    }
}

fn retarget(goto: &mut Option<Spanned<String>>, from: &str, to: &Option<String>) {
    if goto.as_ref().is_some_and(|id| id.get_ref() == from) {
        *goto = to.clone().map(|id| Spanned::new(0..0, id));
    }
}

fn finish_step() -> Step {
    let text = "id = \"finish\"\ndo = \"finish\"\noutcome = \"escalated\"\n";
    let mut step: Step = toml::from_str(text).expect("a literal step parses");
    step.outcome = Some(FinishOutcome::Escalated);
    step
}

fn step_lines(sign: char, step: &Step) -> Vec<String> {
    toml::to_string(step)
        .unwrap_or_else(|error| format!("<{error}>"))
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("{sign} {line}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const RUNBOOK: &str = r#"
name = "r"
description = "d"

[[steps]]
id = "probe"
do = "probe_voters"

[[steps]]
id = "confirm"
do = "confirm"
when = ["one_voter_stuck"]
otherwise = "done"

[[steps]]
id = "delete"
do = "delete_pod"

[[steps]]
id = "wait"
do = "wait"
duration_ms = 30000

[[steps]]
id = "done"
do = "finish"
outcome = "recovered"
"#;

    #[test]
    fn every_operator_appears_and_ids_are_unique() {
        let runbook = RunbookFile::parse(Path::new("r.toml"), RUNBOOK).unwrap();
        let all = mutants(&runbook);
        let ids: Vec<&str> = all.iter().map(|m| m.id.as_str()).collect();
        for expected in [
            "drop:probe",
            "swap:probe",
            "drop-guard:confirm",
            "negate-guard:confirm",
            "retarget-otherwise:confirm",
            "harsher:delete",
            "shorten-wait:wait",
            "shorten-sustained-window",
        ] {
            assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
        }
        let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(!ids.contains(&"drop:done"), "finish steps are not dropped");
    }

    #[test]
    fn dropping_a_branch_target_retargets_to_its_successor() {
        let text = RUNBOOK.replace("otherwise = \"done\"", "otherwise = \"wait\"");
        let runbook = RunbookFile::parse(Path::new("r.toml"), &text).unwrap();
        let dropped = mutants(&runbook)
            .into_iter()
            .find(|m| m.id == "drop:wait")
            .unwrap();
        let confirm = &dropped.runbook.steps[1];
        assert_eq!(confirm.otherwise.as_ref().unwrap().get_ref(), "done");
        assert!(dropped.drops_step);
        assert!(dropped.diff[0].starts_with("- "), "{:?}", dropped.diff);
    }

    #[test]
    fn negating_a_guard_flips_each_fact() {
        let runbook = RunbookFile::parse(Path::new("r.toml"), RUNBOOK).unwrap();
        let negated = mutants(&runbook)
            .into_iter()
            .find(|m| m.id == "negate-guard:confirm")
            .unwrap();
        assert_eq!(
            negated.runbook.steps[1].when[0].get_ref(),
            "!one_voter_stuck"
        );
    }
}
