//! PURE planning: `plan(&Desired, &Observed) -> Plan`. No I/O, no clock, no randomness.

pub mod step;

pub use step::*;

use crate::observe::Observed;
use crate::spec::Desired;

/// Diff desired against observed into a dependency-ordered plan.
pub fn plan(desired: &Desired, _observed: &Observed) -> Plan {
    // Placeholder until the planner lands (issue 2 work in progress).
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        network: desired.network.clone(),
        steps: vec![],
        pending: vec![],
        safety: vec![],
        fingerprint: Fingerprint::default(),
    }
}
