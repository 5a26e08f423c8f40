//! The Kubernetes API server's view of a plan's workload steps
//! (`dryRun=All`), printed after the plan: objects to create, and for
//! objects to update the diff of the live object and the server's result,
//! server defaulting included. Secret values arrive masked.

use crate::plan::StepId;
use crate::provider::kubernetes::ssa::{DiffKind, ObjectDiff};
use std::fmt::Write as _;

pub struct StepDiffs {
    pub step: StepId,
    pub objects: Vec<ObjectDiff>,
}

/// Text for the steps that change at least one object; empty if none do.
pub fn render(namespace: &str, steps: &[StepDiffs]) -> String {
    let changed: Vec<&StepDiffs> = steps
        .iter()
        .filter(|s| s.objects.iter().any(|o| o.change != DiffKind::NoChange))
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut out =
        format!("\nKubernetes server-side dry-run (namespace {namespace}; nothing was changed):\n");
    for s in changed {
        let count = |k: DiffKind| s.objects.iter().filter(|o| o.change == k).count();
        let _ = writeln!(
            out,
            "\n  # {}: {} to create, {} to update, {} unchanged",
            s.step,
            count(DiffKind::Create),
            count(DiffKind::Update),
            count(DiffKind::NoChange)
        );
        for o in &s.objects {
            match o.change {
                DiffKind::NoChange => {}
                DiffKind::Create => {
                    let _ = writeln!(out, "  + {}", o.id);
                }
                DiffKind::Update => {
                    let _ = writeln!(out, "  ~ {}", o.id);
                    for line in o.diff.lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ids::GroupName;

    fn diff(id: &str, change: DiffKind, diff: &str) -> ObjectDiff {
        ObjectDiff {
            id: id.into(),
            change,
            diff: diff.into(),
        }
    }

    #[test]
    fn lists_creations_and_shows_update_diffs_only() {
        let steps = vec![
            StepDiffs {
                step: StepId::workload(&GroupName::new("rpc")),
                objects: vec![
                    diff("StatefulSet/ns/rpc", DiffKind::Update, "-a\n+b"),
                    diff("Service/ns/rpc-1", DiffKind::Create, "+{...}"),
                    diff("Service/ns/rpc-0", DiffKind::NoChange, ""),
                ],
            },
            StepDiffs {
                step: StepId::workload(&GroupName::new("idle")),
                objects: vec![diff("Service/ns/idle-0", DiffKind::NoChange, "")],
            },
        ];
        let text = render("ns", &steps);
        assert!(text.contains("# workload.rpc: 1 to create, 1 to update, 1 unchanged"));
        assert!(text.contains("  ~ StatefulSet/ns/rpc\n      -a\n      +b\n"));
        assert!(text.contains("  + Service/ns/rpc-1\n"));
        assert!(!text.contains("+{...}"), "creations are listed, not dumped");
        assert!(!text.contains("rpc-0") && !text.contains("workload.idle"));
        assert_eq!(render("ns", &steps[1..]), "");
    }
}
