//! Safety rule (DOMAIN.md §7.3): never cold-boot a VM whose boot order is stale.
//!
//! Judged from the VM's configuration at the moment of each `qm stop/start`, as the world recorded it: a cold
//! boot from a boot disk that is not the OS disk tries iPXE and fails, whether or not a check ran first.

use super::CheckResult;
use crate::trace::{EventKind, Trace, VmOperation};

pub const RULE: &str = "boot_order_checked_before_cold_boot";

pub fn check(trace: &Trace) -> CheckResult {
    let mut cold_boots = 0;
    for event in trace.iter() {
        if let EventKind::VmPower {
            node,
            operation: VmOperation::ColdBoot,
            bootdisk,
            os_disk,
        } = &event.kind
        {
            cold_boots += 1;
            if bootdisk != os_disk {
                return CheckResult::new(
                    RULE,
                    false,
                    format!(
                        "cold boot of {node} at {} ms with bootdisk {bootdisk} while the OS is on {os_disk}",
                        event.t_ms
                    ),
                );
            }
        }
    }
    if cold_boots == 0 {
        return CheckResult::not_exercised(RULE, "no VM was cold-booted");
    }
    CheckResult::new(
        RULE,
        true,
        format!("{cold_boots} cold boots, each from the OS disk"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;

    #[test]
    fn cold_boot_with_a_stale_boot_disk_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        t.vm(10, "n2", VmOperation::ColdBoot, "scsi0");
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn cold_boot_from_the_os_disk_passes() {
        let mut t = TraceBuilder::healthy_cluster();
        t.vm(10, "n2", VmOperation::Reset, "scsi0")
            .vm(20, "n2", VmOperation::ColdBoot, "scsi1");
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn a_reset_alone_is_not_exercised() {
        let mut t = TraceBuilder::healthy_cluster();
        t.vm(10, "n2", VmOperation::Reset, "scsi0");
        assert_eq!(check(&t.build()).status, RuleStatus::NotExercised);
    }
}
