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
        // A skipped object is shown too: the plan carries its note.
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
                DiffKind::Skipped => {
                    let _ = writeln!(out, "  ! {} skipped: {}", o.id, o.diff);
                }
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

/// The same for a pull-request comment: one collapsed section of at most
/// `budget` bytes (whole lines; a note says how many were cut). Empty if
/// nothing changes.
pub fn markdown(namespace: &str, steps: &[StepDiffs], budget: usize) -> String {
    let text = render(namespace, steps);
    if text.is_empty() {
        return text;
    }
    let count = |k: DiffKind| {
        steps
            .iter()
            .flat_map(|s| &s.objects)
            .filter(|o| o.change == k)
            .count()
    };
    let open = format!(
        "\n<details><summary>Kubernetes server-side dry-run (namespace <code>{namespace}</code>): \
         {} object(s) to create, {} to update</summary>\n\n```diff\n",
        count(DiffKind::Create),
        count(DiffKind::Update)
    );
    let close = "```\n\n</details>\n";
    const NOTE: usize = 120;
    let room = budget.saturating_sub(open.len() + close.len() + NOTE);
    let mut body = String::new();
    let mut dropped = 0;
    for line in text.trim_start_matches('\n').lines() {
        if dropped == 0 && body.len() + line.len() < room {
            body.push_str(line);
            body.push('\n');
        } else {
            dropped += 1;
        }
    }
    let mut out = open + &body + close;
    if dropped > 0 {
        let _ = writeln!(
            out,
            "\n> [!NOTE]\n> The dry-run was cut to fit the comment: {dropped} more lines; run `paraform plan` to see them."
        );
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
            fields: vec![],
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

        let md = markdown("ns", &steps, 10_000);
        assert!(md.contains("1 object(s) to create, 1 to update"), "{md}");
        assert!(md.contains("```diff\n") && md.trim_end().ends_with("</details>"));
        let cut = markdown("ns", &steps, 330);
        assert!(cut.len() <= 330, "{} bytes", cut.len());
        assert!(cut.contains("more lines"), "{cut}");
        assert_eq!(markdown("ns", &steps[1..], 10_000), "");
    }
}
