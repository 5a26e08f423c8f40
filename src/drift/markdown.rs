//! The drift report (`drift --report drift.md`): the body of the issue the
//! scheduled CI job opens or updates. Destructive differences are listed
//! first; tables are cut (with a note) so the body stays under GitHub's
//! 65,536-character limit.

use super::{DriftItem, DriftReport, Verdict};
use crate::render::markdown::{code, escape_cell, escape_inline, GITHUB_COMMENT_LIMIT};
use std::fmt::Write as _;

/// Headroom below GitHub's limit for what CI adds (a marker, a run link).
const HEADROOM: usize = 1_536;
/// Rows per table before "… and N more".
const MAX_ROWS: usize = 300;

pub fn render(report: &DriftReport) -> String {
    render_with_limit(report, GITHUB_COMMENT_LIMIT - HEADROOM)
}

/// Render within `limit` bytes (bytes ≥ characters: conservative).
pub fn render_with_limit(report: &DriftReport, limit: usize) -> String {
    let mut rows = MAX_ROWS;
    loop {
        let out = render_rows(report, rows);
        if out.len() <= limit || rows == 0 {
            return out;
        }
        rows /= 2;
    }
}

fn render_rows(report: &DriftReport, rows: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## paraform drift in `{}`\n",
        code(report.network.as_str())
    );
    let _ = writeln!(out, "**{}**\n", report.summary_line());
    if let (Some(n), Some(h)) = (report.block_number, &report.block_hash) {
        let _ = writeln!(
            out,
            "Observed relay chain at finalized block #{n} (`{}`).\n",
            code(&h.short())
        );
    }
    if report.verdict == Verdict::Incomplete {
        let _ = writeln!(out, "> [!WARNING]");
        let _ = writeln!(
            out,
            "> **The comparison is incomplete:** these chains exist but could not be read, so chain differences below may be wrong."
        );
        for u in &report.unobserved {
            let _ = writeln!(
                out,
                "> - {} at `{}`: {}",
                u.chain,
                code(&u.endpoint),
                escape_inline(&u.error)
            );
        }
        out.push('\n');
    }
    let destructive: Vec<&DriftItem> = report
        .cluster
        .iter()
        .chain(&report.chain)
        .filter(|i| is_destructive(i))
        .collect();
    if !destructive.is_empty() {
        let _ = writeln!(out, "> [!CAUTION]");
        let _ = writeln!(
            out,
            "> **Converging would destroy or deregister {} resource(s):**",
            destructive.len()
        );
        for i in destructive.iter().take(rows.max(1)) {
            let _ = writeln!(
                out,
                "> - `{} {}`: {}",
                i.action.symbol(),
                code(i.step.as_str()),
                escape_inline(&i.reason)
            );
        }
        if destructive.len() > rows.max(1) {
            let _ = writeln!(out, "> - … and {} more", destructive.len() - rows.max(1));
        }
        out.push('\n');
    }
    items(&mut out, "Cluster drift", &report.cluster, rows);
    items(&mut out, "Chain drift", &report.chain, rows);
    if !report.pending.is_empty() {
        let _ = writeln!(
            out,
            "### Pending, not drift ({})\n\nSubmitted already; lands at a session boundary.\n",
            report.pending.len()
        );
        let _ = writeln!(out, "| Subject | What | Effective |\n|---|---|---|");
        for p in report.pending.iter().take(rows) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                escape_cell(&p.subject),
                escape_cell(&p.what),
                p.eta
                    .as_ref()
                    .map(|e| escape_cell(&e.text))
                    .unwrap_or_default()
            );
        }
        more(&mut out, report.pending.len(), rows, 3);
        out.push('\n');
    }
    if report.verdict == Verdict::InSync {
        let _ = writeln!(out, "The network matches its desired state.\n");
    } else {
        let _ = writeln!(
            out,
            "To converge, review and apply the plan (content hash `{}`): `paraform plan <net-dir>` then `paraform apply <net-dir>`.",
            report.content_hash
        );
    }
    out
}

fn items(out: &mut String, title: &str, items: &[DriftItem], rows: usize) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "### {title} ({})\n", items.len());
    let _ = writeln!(out, "| | Step | Resource | Reason |\n|---|---|---|---|");
    // Destructive first, then plan order.
    let mut sorted: Vec<&DriftItem> = items.iter().collect();
    sorted.sort_by_key(|i| !is_destructive(i));
    for i in sorted.iter().take(rows) {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} |",
            i.action.symbol(),
            code(i.step.as_str()),
            i.resource,
            escape_cell(&i.reason)
        );
    }
    more(out, items.len(), rows, 4);
    out.push('\n');
}

fn more(out: &mut String, len: usize, rows: usize, columns: usize) {
    if len > rows {
        let _ = writeln!(
            out,
            "| … and {} more (cut to fit a GitHub issue; run `paraform drift` locally for all){} |",
            len - rows,
            " |".repeat(columns - 1)
        );
    }
}

fn is_destructive(i: &DriftItem) -> bool {
    i.destructive
}
