//! Graphviz DOT of the plan's DAG: one node per step labelled with its symbol
//! and id, coloured by action; an edge `a -> b` means `a` runs before `b`.

use crate::plan::{Action, Plan};
use std::fmt::Write as _;

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "digraph {} {{",
        quote(&format!("paraform plan {}", plan.network))
    );
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(
        out,
        "  node [shape=box, style=\"rounded,filled\", fontname=\"monospace\"];"
    );
    for step in &plan.steps {
        let (fill, border) = colours(step.action);
        let _ = writeln!(
            out,
            "  {} [label={}, fillcolor=\"{fill}\", color=\"{border}\"];",
            quote(step.id.as_str()),
            quote(&format!("{} {}", step.action.symbol(), step.id))
        );
    }
    for step in &plan.steps {
        for dep in &step.depends_on {
            let _ = writeln!(
                out,
                "  {} -> {};",
                quote(dep.as_str()),
                quote(step.id.as_str())
            );
        }
    }
    out.push_str("}\n");
    out
}

/// (fill, border) per action: green create, amber update, red destroy,
/// purple replace, blue wait.
fn colours(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("#dafbe1", "#1a7f37"),
        Action::Update => ("#fff8c5", "#9a6700"),
        Action::Delete => ("#ffebe9", "#cf222e"),
        Action::Replace => ("#fbefff", "#8250df"),
        Action::Wait => ("#ddf4ff", "#0969da"),
    }
}

/// A DOT double-quoted string.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}
