//! The HTML timeline (`firedrill report`, `run --html`, `check --html`, `sweep --html`): one self-contained page
//! (inline CSS, SVG and a few lines of JS; nothing fetched), drawn from a trace alone: one lane per pod and
//! per node (pod phase, Raft role, tasks in D state, mounts, node state), fault windows shaded, probe results,
//! alerts, external health and runbook actions, and the rule verdicts, each violation a link to the event
//! that broke the rule. A sweep's page plots the detection and recovery distributions per scenario.

use firedrill_scenarios::checkers::{CheckResult, RuleStatus};
use firedrill_scenarios::trace::{MountStatus, TaskState};
use firedrill_scenarios::verdict::format_ms;
use firedrill_scenarios::{Event, EventKind, Trace};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Width of the plot area, in SVG units; the lane labels sit left of it.
const PLOT_WIDTH: f64 = 1000.0;
const LABEL_WIDTH: f64 = 230.0;
const ROW_HEIGHT: f64 = 16.0;
const ROW_GAP: f64 = 3.0;
const LANE_GAP: f64 = 10.0;

const STYLE: &str = "body{font:13px system-ui,sans-serif;margin:16px;color:#222}\
h1{font-size:18px}h2{font-size:15px;margin-top:24px}\
.fail{color:#b00020;font-weight:600}.pass{color:#1b7f3b}.skip{color:#777}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}\
#events td:nth-child(4){font-family:monospace;font-size:11px;word-break:break-all}\
tr:target{background:#ffe680}tr.hit{background:#ffe680}\
svg text{font:11px system-ui,sans-serif}.lane-label{font-weight:600}\
.fault-window{fill:#d32f2f;fill-opacity:.13}\
.violation line{stroke:#b00020;stroke-width:2}.violation text{fill:#b00020;font-weight:600}\
#filter{margin:4px 0;width:320px}";

const SCRIPT: &str = "(function(){\
var f=document.getElementById('filter');if(f){f.addEventListener('input',function(){\
var q=f.value.toLowerCase();var rows=document.querySelectorAll('#events tbody tr');\
for(var i=0;i<rows.length;i++){rows[i].style.display=rows[i].textContent.toLowerCase().indexOf(q)<0?'none':'';}});}\
var links=document.querySelectorAll('a.to-event');for(var j=0;j<links.length;j++){links[j].addEventListener('click',\
function(){var old=document.querySelectorAll('tr.hit');for(var k=0;k<old.length;k++){old[k].classList.remove('hit');}\
var row=document.getElementById(this.getAttribute('href').slice(1));if(row){row.classList.add('hit');}});}\
})();";

/// A segment of a row: a state held from `from_ms` until `to_ms`, with the event that started it.
struct Segment {
    from_ms: u64,
    to_ms: u64,
    state: String,
    event: usize,
}

/// A point on a row: something that happened at `t_ms`.
struct Marker {
    t_ms: u64,
    color: &'static str,
    title: String,
    event: usize,
}

#[derive(Default)]
struct Row {
    segments: Vec<Segment>,
    markers: Vec<Marker>,
}

impl Row {
    /// Starts a new state at `t_ms`, ending the one before.
    fn set(&mut self, t_ms: u64, state: &str, event: usize) {
        if let Some(last) = self.segments.last_mut() {
            if last.to_ms == u64::MAX {
                if last.state == state {
                    return;
                }
                last.to_ms = t_ms;
            }
        }
        self.segments.push(Segment {
            from_ms: t_ms,
            to_ms: u64::MAX,
            state: state.to_string(),
            event,
        });
    }
}

/// Lanes in first-seen order, each with its rows in first-seen order.
#[derive(Default)]
struct Lanes {
    lanes: Vec<(String, Vec<(String, Row)>)>,
}

impl Lanes {
    fn row(&mut self, lane: &str, row: &str) -> &mut Row {
        let lane_index = match self.lanes.iter().position(|(name, _)| name == lane) {
            Some(index) => index,
            None => {
                self.lanes.push((lane.to_string(), Vec::new()));
                self.lanes.len() - 1
            }
        };
        let rows = &mut self.lanes[lane_index].1;
        let row_index = match rows.iter().position(|(name, _)| name == row) {
            Some(index) => index,
            None => {
                rows.push((row.to_string(), Row::default()));
                rows.len() - 1
            }
        };
        &mut rows[row_index].1
    }
}

/// The colour of a state, by its name.
fn color(state: &str) -> &'static str {
    match state {
        "leader" | "ready" | "active" | "mounted" | "200" | "running" | "bound" => "#2e7d32",
        "follower" | "standby" | "perf_standby" => "#81c784",
        "candidate" | "container_creating" | "containercreating" | "pending" | "rebooting" => {
            "#f9a825"
        }
        "d" | "stuck" | "not_ready" | "notready" | "boot_failed_ipxe" | "bootfailedipxe"
        | "detached" | "qmresetnoop" | "qm_reset_no_op" => "#c62828",
        "terminating" | "sealed" => "#ef6c00",
        "deleted" | "unmounted" | "gone" | "none" => "#bdbdbd",
        _ => "#78909c",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A serde enum value as the trace spells it (`disk_sleep`, `leader`, …).
fn name_of(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A fault from its injection to its end (or the end of the run).
struct FaultWindow {
    from_ms: u64,
    to_ms: Option<u64>,
    title: String,
    event: usize,
}

/// What the page draws, read off the trace in one pass.
struct Drawing {
    lanes: Lanes,
    faults: Vec<FaultWindow>,
}

fn draw(trace: &Trace) -> Drawing {
    let mut lanes = Lanes::default();
    let mut faults: Vec<FaultWindow> = Vec::new();
    let mut open_faults: BTreeMap<(String, String), usize> = BTreeMap::new();
    // Tasks in D state and mounts per node, so a node's row shows whether any is blocked or detached.
    let mut blocked: BTreeMap<String, BTreeSet<(String, u32, u32)>> = BTreeMap::new();
    let mut mounts: BTreeMap<String, BTreeMap<(String, String), MountStatus>> = BTreeMap::new();
    for (index, event) in trace.iter().enumerate() {
        let t = event.t_ms;
        match &event.kind {
            EventKind::PodPhase { pod, phase, .. } => lanes
                .row(&format!("pod {pod}"), "phase")
                .set(t, &name_of(phase), index),
            EventKind::RaftRole { pod, role, term } => {
                let state = name_of(role);
                let row = lanes.row(&format!("pod {pod}"), "raft");
                row.set(t, &state, index);
                if let Some(last) = row.segments.last_mut() {
                    last.state = format!("{state} (term {term})");
                }
            }
            EventKind::ProcessState {
                node,
                pod_uid,
                pid,
                tid,
                state,
                ..
            } => {
                let set = blocked.entry(node.clone()).or_default();
                let key = (pod_uid.clone(), *pid, tid.unwrap_or(*pid));
                if *state == TaskState::DiskSleep {
                    set.insert(key);
                } else {
                    set.remove(&key);
                }
                let shown = if set.is_empty() {
                    "none".to_string()
                } else {
                    "D".to_string()
                };
                lanes
                    .row(&format!("node {node}"), "tasks in D")
                    .set(t, &shown, index);
            }
            EventKind::MountState {
                node,
                pod_uid,
                mountpoint,
                state,
            } => {
                let node_mounts = mounts.entry(node.clone()).or_default();
                node_mounts.insert((pod_uid.clone(), mountpoint.clone()), *state);
                let shown = if node_mounts.values().any(|s| *s == MountStatus::Detached) {
                    "detached"
                } else if node_mounts.values().any(|s| *s == MountStatus::Mounted) {
                    "mounted"
                } else {
                    "none"
                };
                lanes
                    .row(&format!("node {node}"), "mounts")
                    .set(t, shown, index);
            }
            EventKind::NodeState { node, state } => {
                lanes
                    .row(&format!("node {node}"), "node")
                    .set(t, &name_of(state), index)
            }
            EventKind::VmPower {
                node, operation, ..
            } => lanes
                .row(&format!("node {node}"), "node")
                .markers
                .push(Marker {
                    t_ms: t,
                    color: "#6a1b9a",
                    title: format!("vm {}", name_of(operation)),
                    event: index,
                }),
            EventKind::FaultInjected {
                fault,
                target,
                detail,
            } => {
                open_faults.insert((name_of(fault), target.clone()), faults.len());
                faults.push(FaultWindow {
                    from_ms: t,
                    to_ms: None,
                    title: format!("fault {} on {target}: {detail}", name_of(fault)),
                    event: index,
                });
            }
            EventKind::FaultHealed { fault, target, .. } => {
                if let Some(open) = open_faults.remove(&(name_of(fault), target.clone())) {
                    faults[open].to_ms = Some(t);
                }
            }
            EventKind::ProbeResult {
                probe,
                endpoint,
                state,
                ..
            } => lanes
                .row("probes", &format!("{probe} {endpoint}"))
                .set(t, state, index),
            EventKind::ExternalHealth { http_status } => lanes
                .row("probes", "external health")
                .set(t, &http_status.to_string(), index),
            EventKind::Alert {
                name,
                state,
                detail,
            } => {
                let state = name_of(state);
                lanes.row("alerts", name).markers.push(Marker {
                    t_ms: t,
                    color: if state == "firing" {
                        "#c62828"
                    } else {
                        "#2e7d32"
                    },
                    title: format!("{name} {state}: {detail}"),
                    event: index,
                })
            }
            EventKind::Action {
                step,
                action,
                target,
                destructive,
                outcome,
                ..
            } => lanes
                .row(
                    "runbook",
                    if *destructive {
                        "actions"
                    } else {
                        "observations"
                    },
                )
                .markers
                .push(Marker {
                    t_ms: t,
                    color: if *destructive { "#c62828" } else { "#1565c0" },
                    title: format!("{step}: {} {target} → {outcome}", action.as_str()),
                    event: index,
                }),
            EventKind::DiagnosisConfirmed { step, target, .. } => {
                lanes.row("runbook", "actions").markers.push(Marker {
                    t_ms: t,
                    color: "#6a1b9a",
                    title: format!("{step}: confirm {target}"),
                    event: index,
                })
            }
            EventKind::RecoveryDeclared { detail } | EventKind::RunAborted { reason: detail } => {
                lanes.row("runbook", "actions").markers.push(Marker {
                    t_ms: t,
                    color: "#000",
                    title: detail.clone(),
                    event: index,
                })
            }
            EventKind::RunbookFinished { outcome, detail } => {
                lanes.row("runbook", "actions").markers.push(Marker {
                    t_ms: t,
                    color: "#000",
                    title: format!("runbook finished: {} {detail}", outcome.as_str()),
                    event: index,
                })
            }
            EventKind::RegistryOperation { operation, detail } => {
                lanes.row("registry", "operations").markers.push(Marker {
                    t_ms: t,
                    color: "#1565c0",
                    title: format!("{operation}: {detail}"),
                    event: index,
                })
            }
            EventKind::RegistryScan {
                scanner, reported, ..
            } => lanes.row("registry", scanner).set(
                t,
                if *reported == 0 { "ready" } else { "stuck" },
                index,
            ),
            _ => {}
        }
    }
    Drawing { lanes, faults }
}

/// The event a failing rule points at: among the events at the time its detail names (`… at 159000 ms …`),
/// the world's ground truth first (rules judge harm from it), then a destructive action, then any other, and
/// within a kind the one whose fields the detail mentions most; none when the detail names no time.
pub fn violation_event(trace: &Trace, detail: &str) -> Option<usize> {
    let at_ms = detail.split(" at ").skip(1).find_map(|rest| {
        let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
        rest[number.len()..]
            .starts_with(" ms")
            .then(|| number.parse::<u64>().ok())
            .flatten()
    })?;
    let tier = |event: &Event| match event.kind {
        EventKind::PodDeletionRequested { .. }
        | EventKind::VmPower { .. }
        | EventKind::ClaimState { .. }
        | EventKind::RecoveryDeclared { .. }
        | EventKind::RunAborted { .. } => 0,
        EventKind::Action {
            destructive: true, ..
        }
        | EventKind::Alert { .. }
        | EventKind::FaultInjected { .. } => 1,
        _ => 2,
    };
    let words: Vec<&str> = detail
        .split(|c: char| c.is_whitespace() || "(),;:".contains(c))
        .filter(|word| word.len() > 3)
        .collect();
    let mentions = |event: &Event| {
        let json = serde_json::to_string(&event.kind).unwrap_or_default();
        words.iter().filter(|word| json.contains(**word)).count()
    };
    trace
        .iter()
        .enumerate()
        .filter(|(_, event)| event.t_ms == at_ms)
        // The lowest tier wins, then the most mentions, then the earliest event.
        .min_by_key(|(index, event)| (tier(event), std::cmp::Reverse(mentions(event)), *index))
        .map(|(index, _)| index)
        .or_else(|| trace.iter().position(|event| event.t_ms >= at_ms))
}

/// The page for one run: lanes, fault windows, markers, the rule verdicts and every event.
pub fn render(title: &str, trace: &Trace, checks: Option<&[CheckResult]>) -> String {
    let drawing = draw(trace);
    let end_ms = trace.end_ms().max(1);
    let x = |t_ms: u64| LABEL_WIDTH + PLOT_WIDTH * (t_ms.min(end_ms) as f64) / end_ms as f64;
    let violations: Vec<(&CheckResult, Option<usize>)> = checks
        .unwrap_or_default()
        .iter()
        .filter(|check| check.failed())
        .map(|check| (check, violation_event(trace, &check.detail)))
        .collect();

    let mut body = String::new();
    let mut y = 24.0;
    let mut rows_svg = String::new();
    for (lane, rows) in &drawing.lanes.lanes {
        let _ = write!(
            rows_svg,
            "<g class=\"lane\" data-lane=\"{}\"><text class=\"lane-label\" x=\"4\" y=\"{:.1}\">{}</text>",
            escape(lane),
            y + 11.0,
            escape(lane)
        );
        y += ROW_HEIGHT;
        for (name, row) in rows {
            let _ = write!(
                rows_svg,
                "<text x=\"16\" y=\"{:.1}\">{}</text>",
                y + 11.0,
                escape(name)
            );
            for segment in &row.segments {
                let to = if segment.to_ms == u64::MAX {
                    end_ms
                } else {
                    segment.to_ms
                };
                let base = segment.state.split(' ').next().unwrap_or("");
                let _ = write!(
                    rows_svg,
                    "<a href=\"#ev-{}\" class=\"to-event\"><rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{ROW_HEIGHT}\" fill=\"{}\"><title>{} {}–{}: {}</title></rect></a>",
                    segment.event,
                    x(segment.from_ms),
                    (x(to) - x(segment.from_ms)).max(0.5),
                    color(&base.to_ascii_lowercase()),
                    escape(name),
                    format_ms(segment.from_ms),
                    format_ms(to),
                    escape(&segment.state)
                );
            }
            for marker in &row.markers {
                let _ = write!(
                    rows_svg,
                    "<a href=\"#ev-{}\" class=\"to-event\"><rect x=\"{:.1}\" y=\"{y:.1}\" width=\"3\" height=\"{ROW_HEIGHT}\" fill=\"{}\"><title>{} {}</title></rect></a>",
                    marker.event,
                    x(marker.t_ms) - 1.0,
                    marker.color,
                    format_ms(marker.t_ms),
                    escape(&marker.title)
                );
            }
            y += ROW_HEIGHT + ROW_GAP;
        }
        rows_svg.push_str("</g>");
        y += LANE_GAP;
    }
    let height = y + 10.0 + 12.0 * violations.len() as f64;
    let mut svg = format!(
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {:.0} {height:.0}\">",
        LABEL_WIDTH + PLOT_WIDTH + 10.0,
        LABEL_WIDTH + PLOT_WIDTH + 10.0
    );
    for fault in &drawing.faults {
        let to = fault.to_ms.unwrap_or(end_ms);
        let _ = write!(
            svg,
            "<a href=\"#ev-{}\" class=\"to-event\"><rect class=\"fault-window\" x=\"{:.1}\" y=\"18\" width=\"{:.1}\" height=\"{:.1}\"><title>{} ({}–{})</title></rect></a>",
            fault.event,
            x(fault.from_ms),
            (x(to) - x(fault.from_ms)).max(1.0),
            height - 18.0,
            escape(&fault.title),
            format_ms(fault.from_ms),
            fault.to_ms.map(format_ms).unwrap_or_else(|| "end".to_string())
        );
    }
    // The time axis: a tick every tenth of the run.
    for tick in 0..=10u64 {
        let t = end_ms * tick / 10;
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"14\" y2=\"{height:.0}\" stroke=\"#eee\"/><text x=\"{0:.1}\" y=\"12\" text-anchor=\"middle\">{1}</text>",
            x(t),
            format_ms(t)
        );
    }
    svg.push_str(&rows_svg);
    for (number, (check, event)) in violations.iter().enumerate() {
        if let Some(index) = event {
            let t = trace.events[*index].t_ms;
            let _ = write!(
                svg,
                "<a href=\"#ev-{index}\" class=\"to-event violation\"><line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"14\" y2=\"{height:.0}\"/><text x=\"{1:.1}\" y=\"{2:.0}\">✗ {3}</text><title>{3}: {4}</title></a>",
                x(t),
                x(t) + 3.0,
                // Violations at one instant would print over each other, so each label gets its own line.
                height - 4.0 - 12.0 * number as f64,
                escape(check.rule),
                escape(&check.detail)
            );
        }
    }
    svg.push_str("</svg>");

    let _ = write!(body, "<h1>{}</h1>", escape(title));
    let _ = write!(
        body,
        "<p>{} events over {} simulated; shaded: fault windows ({}). Click a bar or a mark to see its event.</p>",
        trace.events.len(),
        format_ms(trace.end_ms()),
        drawing.faults.len()
    );
    body.push_str(&svg);
    if let Some(checks) = checks {
        body.push_str("<h2>Rules</h2><table id=\"rules\"><thead><tr><th>rule</th><th>result</th><th>detail</th></tr></thead><tbody>");
        for check in checks {
            let (class, mark) = match check.status {
                RuleStatus::Pass => ("pass", "pass"),
                RuleStatus::Fail => ("fail", "FAIL"),
                RuleStatus::NotExercised => ("skip", "not exercised"),
            };
            let link = violations
                .iter()
                .find(|(failed, _)| failed.rule == check.rule)
                .and_then(|(_, event)| *event)
                .map(|index| {
                    format!(
                        " <a class=\"to-event violation-link\" href=\"#ev-{index}\">→ the event at {}</a>",
                        format_ms(trace.events[index].t_ms)
                    )
                })
                .unwrap_or_default();
            let _ = write!(
                body,
                "<tr class=\"{class}\"><td>{}</td><td class=\"{class}\">{mark}</td><td>{}{link}</td></tr>",
                escape(check.rule),
                escape(&check.detail)
            );
        }
        body.push_str("</tbody></table>");
    } else {
        body.push_str("<p>No verdict: the scenario this trace ran is not known here.</p>");
    }
    body.push_str("<h2>Events</h2><input id=\"filter\" placeholder=\"filter events\"><table id=\"events\"><thead><tr><th>#</th><th>time</th><th>event</th><th>detail</th></tr></thead><tbody>");
    for (index, event) in trace.iter().enumerate() {
        let mut json = serde_json::to_value(&event.kind).unwrap_or_default();
        let kind = json
            .get("event")
            .and_then(|value| value.as_str())
            .unwrap_or("")
            .to_string();
        if let Some(object) = json.as_object_mut() {
            object.remove("event");
        }
        let _ = write!(
            body,
            "<tr id=\"ev-{index}\"><td>{index}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            format_ms(event.t_ms),
            escape(&kind),
            escape(&json.to_string())
        );
    }
    body.push_str("</tbody></table>");
    page(title, &body)
}

/// One scenario's sweep figures for the distribution plots: per-seed values from the fault's onset.
pub struct SweepSeries {
    pub scenario: String,
    pub detect_ms: Vec<u64>,
    pub recover_ms: Vec<u64>,
}

/// The page of a sweep: per scenario, histograms of the time to detect and to recover.
pub fn render_sweep(title: &str, series: &[SweepSeries]) -> String {
    let mut body = format!("<h1>{}</h1>", escape(title));
    for one in series {
        let _ = write!(body, "<h2>{}</h2>", escape(&one.scenario));
        body.push_str(&histogram("time to detect", &one.detect_ms));
        body.push_str(&histogram("time to recover", &one.recover_ms));
    }
    page(title, &body)
}

/// An SVG histogram of values in ms (20 bins), with the p50 and p95 marked.
fn histogram(name: &str, values: &[u64]) -> String {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 140.0;
    const BINS: usize = 20;
    if values.is_empty() {
        return format!("<p class=\"plot\">{name}: no seed had one</p>");
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let min = sorted[0];
    let max = *sorted.last().expect("not empty");
    let span = (max - min).max(1);
    let mut counts = [0u64; BINS];
    for value in &sorted {
        let bin = (((value - min) as f64 / span as f64) * (BINS as f64 - 1.0)).round() as usize;
        counts[bin.min(BINS - 1)] += 1;
    }
    let highest = counts.iter().copied().max().unwrap_or(1).max(1);
    let quantile = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    let x = |value: u64| 40.0 + (WIDTH - 60.0) * (value - min) as f64 / span as f64;
    let mut svg = format!(
        "<svg class=\"plot\" data-plot=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{}\"><text x=\"4\" y=\"12\">{} (n={}, ms from the fault's onset)</text>",
        escape(name),
        HEIGHT + 30.0,
        escape(name),
        sorted.len()
    );
    let bar_width = (WIDTH - 60.0) / BINS as f64;
    for (bin, count) in counts.iter().enumerate() {
        let bar = HEIGHT * (*count as f64) / highest as f64;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar:.1}\" fill=\"#5c6bc0\"><title>{count} seeds</title></rect>",
            40.0 + bin as f64 * bar_width,
            HEIGHT + 16.0 - bar,
            bar_width - 1.0
        );
    }
    // Each label on its own line, ending at its line, so neither runs off the plot's right edge.
    for (row, (label, value)) in [("p50", quantile(0.5)), ("p95", quantile(0.95))]
        .into_iter()
        .enumerate()
    {
        let _ = write!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"16\" y2=\"{1:.0}\" stroke=\"#c62828\"/><text x=\"{2:.1}\" y=\"{3:.0}\" fill=\"#c62828\" text-anchor=\"end\">{label} {value}</text>",
            x(value),
            HEIGHT + 16.0,
            x(value) - 2.0,
            28.0 + 12.0 * row as f64
        );
    }
    let _ = write!(
        svg,
        "<text x=\"40\" y=\"{0:.0}\">{min}</text><text x=\"{1:.0}\" y=\"{0:.0}\" text-anchor=\"end\">{max}</text></svg>",
        HEIGHT + 28.0,
        WIDTH - 20.0
    );
    svg
}

fn page(title: &str, body: &str) -> String {
    // The content security policy forbids every fetch, so a page opened from CI artifacts cannot leak or load.
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
<title>{}</title><style>{STYLE}</style></head><body>{body}<script>{SCRIPT}</script></body></html>\n",
        escape(title)
    )
}

/// Writes a page to `path`.
pub fn write(path: &std::path::Path, html: &str) -> Result<(), String> {
    std::fs::write(path, html)
        .map_err(|error| format!("cannot write HTML {}: {error}", path.display()))
}
