//! Markdown for a pull-request comment: title with the summary, a loud warning
//! listing destroys/deregistrations first, safety violations, a summary table,
//! and the full text plan collapsed in a `diff` block. The whole comment stays
//! under GitHub's 65,536-character limit by truncating (with a note) the table
//! and then the details.

use super::{action_word, is_destructive, summary_line, text, Options};
use crate::plan::{Plan, Step};
use std::fmt::Write as _;

/// GitHub's limit on a comment body, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;
/// Headroom kept below the limit (for CI tools that add a marker/footer).
const HEADROOM: usize = 1_536;
/// Destructive steps listed one by one in the warning before "and N more".
const WARNING_ITEMS: usize = 30;
/// Table rows before "and N more".
const TABLE_ROWS: usize = 200;

pub fn render(plan: &Plan) -> String {
    render_with_limit(plan, GITHUB_COMMENT_LIMIT - HEADROOM)
}

/// The comment with `reserved` bytes left free for a section the caller
/// appends (the Kubernetes dry-run).
pub fn render_leaving(plan: &Plan, reserved: usize) -> String {
    render_with_limit(
        plan,
        (GITHUB_COMMENT_LIMIT - HEADROOM).saturating_sub(reserved),
    )
}

/// Render within `limit` bytes (bytes ≥ characters, so this is conservative).
pub fn render_with_limit(plan: &Plan, limit: usize) -> String {
    let mut head = String::new();
    let _ = writeln!(
        head,
        "## paraform plan for `{}`\n",
        code(plan.network.as_str())
    );
    let _ = writeln!(head, "**{}**\n", summary_line(plan));
    if let (Some(hash), Some(n)) = (&plan.fingerprint.block_hash, plan.fingerprint.block_number) {
        let _ = writeln!(
            head,
            "Observed relay chain at block #{n} (`{}`).\n",
            code(&hash.short())
        );
    }
    warning(&mut head, plan);
    safety(&mut head, plan);
    pending(&mut head, plan);

    let table = table(plan, TABLE_ROWS);
    let details = details_body(plan);

    // Fit: first the full table, then cut the details; if the table alone is
    // too long, shrink it too.
    let closing = "```\n\n</details>\n";
    let mut rows = TABLE_ROWS;
    let mut table = table;
    loop {
        let fixed =
            head.len() + table.len() + details_open().len() + closing.len() + TRUNCATION_NOTE_MAX;
        if fixed <= limit || rows == 0 {
            let budget = limit.saturating_sub(fixed);
            let mut out = head;
            out.push_str(&table);
            if plan.steps.is_empty() {
                return out;
            }
            out.push_str(details_open());
            let (body, dropped) = truncate_lines(&details, budget);
            out.push_str(&body);
            out.push_str(closing);
            if dropped > 0 {
                let _ = writeln!(
                    out,
                    "\n> [!NOTE]\n> The full plan was truncated to fit a GitHub comment: {dropped} more lines not shown. \
                     Run `paraform plan` locally or see the saved plan artifact."
                );
            }
            return out;
        }
        rows /= 2;
        table = self::table(plan, rows);
    }
}

const TRUNCATION_NOTE_MAX: usize = 220;

fn details_open() -> &'static str {
    "\n<details><summary>Full plan</summary>\n\n```diff\n"
}

fn warning(out: &mut String, plan: &Plan) {
    let destructive: Vec<&Step> = plan.steps.iter().filter(|s| is_destructive(s)).collect();
    if destructive.is_empty() {
        return;
    }
    let _ = writeln!(out, "> [!CAUTION]");
    let _ = writeln!(
        out,
        "> **This plan destroys or deregisters {} resource(s):**",
        destructive.len()
    );
    for step in destructive.iter().take(WARNING_ITEMS) {
        let _ = writeln!(
            out,
            "> - `{} {}` ({}): {}",
            step.action.symbol(),
            code(step.id.as_str()),
            action_word(step.action),
            escape_inline(&step.reason)
        );
    }
    if destructive.len() > WARNING_ITEMS {
        let _ = writeln!(out, "> - … and {} more", destructive.len() - WARNING_ITEMS);
    }
    out.push('\n');
}

fn safety(out: &mut String, plan: &Plan) {
    if plan.safety.is_empty() {
        return;
    }
    let _ = writeln!(out, "> [!WARNING]");
    let _ = writeln!(
        out,
        "> **Safety violations** (`apply` refuses this plan unless `--allow-unsafe`):"
    );
    for v in &plan.safety {
        let _ = writeln!(
            out,
            "> - `{}`: {}",
            v.rule.as_str(),
            escape_inline(&v.message)
        );
    }
    out.push('\n');
}

fn pending(out: &mut String, plan: &Plan) {
    if plan.pending.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Pending (not drift): {} effect(s) land at a session boundary.\n",
        plan.pending.len()
    );
}

fn table(plan: &Plan, rows: usize) -> String {
    let mut out = String::new();
    if plan.steps.is_empty() {
        return out;
    }
    let _ = writeln!(out, "| | Step | Action | Reason |");
    let _ = writeln!(out, "|---|---|---|---|");
    for step in plan.steps.iter().take(rows) {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} |",
            step.action.symbol(),
            code(step.id.as_str()),
            action_word(step.action),
            escape_cell(&step.reason)
        );
    }
    if plan.steps.len() > rows {
        let _ = writeln!(
            out,
            "| | … and {} more steps | | |",
            plan.steps.len() - rows
        );
    }
    out
}

/// The text plan without colour, symbols moved to column 0 so GitHub's diff
/// highlighting colours them (`~` becomes `!`, which it shows as changed).
/// Replace lines (`-/+ x`) already start at column 0.
fn details_body(plan: &Plan) -> String {
    let text = text::render(plan, Options { color: false });
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        // A fence inside the block would end it early.
        let line = line.replace("```", "'''");
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let symbol = ["+ ", "- ", "~ "]
            .iter()
            .find_map(|sym| trimmed.strip_prefix(sym).map(|rest| (sym, rest)));
        let moved = match symbol {
            _ if indent == 0 => None,
            Some((sym, rest)) => {
                let marker = if sym.starts_with('~') { "!" } else { &sym[..1] };
                Some(format!("{marker}{}{rest}", " ".repeat(indent + 1)))
            }
            // A line of a unified spec diff.
            None if indent >= 8 && (trimmed.starts_with('+') || trimmed.starts_with('-')) => {
                let (marker, rest) = trimmed.split_at(1);
                Some(format!("{marker}{}{rest}", " ".repeat(indent)))
            }
            None => None,
        };
        out.push_str(moved.as_deref().unwrap_or(&line));
        out.push('\n');
    }
    out
}

/// Whole lines that fit in `budget` bytes, and how many lines were dropped.
fn truncate_lines(s: &str, budget: usize) -> (String, usize) {
    if s.len() <= budget {
        return (s.to_string(), 0);
    }
    let mut out = String::new();
    let mut lines = s.lines();
    for line in lines.by_ref() {
        if out.len() + line.len() + 1 > budget {
            let dropped = 1 + lines.count();
            return (out, dropped);
        }
        out.push_str(line);
        out.push('\n');
    }
    (out, 0)
}

/// Text inside inline code cannot contain backticks.
pub(crate) fn code(s: &str) -> String {
    s.replace('`', "'")
}

/// One line of Markdown text: no newlines, no HTML.
pub(crate) fn escape_inline(s: &str) -> String {
    s.replace('\n', " ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A table cell: also no column separators.
pub(crate) fn escape_cell(s: &str) -> String {
    escape_inline(s).replace('|', "\\|")
}
