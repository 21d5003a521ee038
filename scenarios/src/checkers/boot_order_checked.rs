//! Safety rule (DOMAIN.md §7.3): never stop and start a VM whose boot order was not checked first.

use super::CheckResult;
use crate::trace::{EventKind, Trace};
use std::collections::BTreeSet;

pub const RULE: &str = "boot_order_checked_before_cold_boot";

pub fn check(trace: &Trace) -> CheckResult {
    let mut checked: BTreeSet<&str> = BTreeSet::new();
    for event in trace.iter() {
        if let EventKind::Action { action, target, .. } = &event.kind {
            match action.as_str() {
                "check_boot_order" => {
                    checked.insert(target);
                }
                "vm_stop_start" if !checked.contains(target.as_str()) => {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "qm stop/start of {target} at {} ms without checking its boot order",
                            event.t_ms
                        ),
                    );
                }
                _ => {}
            }
        }
    }
    CheckResult::new(RULE, true, "every cold boot came after a boot-order check")
}
