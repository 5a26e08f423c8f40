//! Versioned JSON plan (`"format_version": 1`), documented in
//! `docs/plan-format.md`. A superset of `Plan`'s own serde form, so the
//! document deserializes back into a `Plan`; fields are emitted in a fixed
//! order (struct order, no maps keyed by insertion).

use crate::plan::artifact::content_digest;
use crate::plan::{Fingerprint, Pending, Plan, Resolved, SafetyViolation, Step};
use crate::spec::NetworkName;
use serde::Serialize;

#[derive(Serialize)]
struct Document<'a> {
    format_version: u32,
    paraform_version: &'static str,
    network: &'a NetworkName,
    summary: Summary,
    /// sha256 of the network and the steps: what an approval approves.
    content_digest: String,
    fingerprint: &'a Fingerprint,
    steps: Vec<StepDoc<'a>>,
    pending: &'a [Pending],
    safety: &'a [SafetyViolation],
}

/// A step as the document shows it: its own fields, then the values its
/// kind resolves when it runs.
#[derive(Serialize)]
struct StepDoc<'a> {
    #[serde(flatten)]
    step: &'a Step,
    known_after_apply: Vec<Resolved>,
}

#[derive(Serialize)]
struct Summary {
    add: usize,
    change: usize,
    destroy: usize,
    /// All steps, waits included; 0 means no changes.
    steps: usize,
}

/// Pretty-printed JSON with a trailing newline.
pub fn render(plan: &Plan) -> String {
    let s = plan.summary();
    let doc = Document {
        format_version: plan.format_version,
        paraform_version: env!("CARGO_PKG_VERSION"),
        network: &plan.network,
        summary: Summary {
            add: s.add,
            change: s.change,
            destroy: s.destroy,
            steps: plan.steps.len(),
        },
        content_digest: content_digest(plan),
        fingerprint: &plan.fingerprint,
        steps: plan
            .steps
            .iter()
            .map(|step| StepDoc {
                step,
                known_after_apply: step.known_after_apply(),
            })
            .collect(),
        pending: &plan.pending,
        safety: &plan.safety,
    };
    // Serializing plain data with string keys cannot fail; fall back to an
    // explicit error document rather than panicking if it ever does.
    match serde_json::to_string_pretty(&doc) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}
