//! Prometheus text exposition format (version 0.0.4) for a node-exporter
//! textfile collector: `paraform drift --metrics /var/lib/node_exporter/paraform.prom`.
//!
//! Every sample carries a `network` label so several networks can share one
//! collector directory (one file each). No timestamps: the collector exports
//! the file's mtime as `node_textfile_mtime_seconds`, which tells when the
//! check last ran. `paraform_last_observed_block` is left out when the relay
//! chain was not read (an absent series, not a fake 0).

use super::{DriftClass, DriftReport, Verdict};
use std::fmt::Write as _;

pub fn render(report: &DriftReport) -> String {
    let net = escape(report.network.as_str());
    let mut out = String::new();
    family(
        &mut out,
        "paraform_drift",
        "Differences between the desired state and the network, by class (pending: submitted effects waiting for a session boundary, not drift).",
    );
    for class in [DriftClass::Cluster, DriftClass::Chain] {
        let _ = writeln!(
            out,
            "paraform_drift{{network=\"{net}\",class=\"{}\"}} {}",
            class.as_str(),
            report.count(class)
        );
    }
    let _ = writeln!(
        out,
        "paraform_drift{{network=\"{net}\",class=\"pending\"}} {}",
        report.pending.len()
    );
    family(
        &mut out,
        "paraform_plan_steps",
        "Steps of the plan that would converge the network (health gates included).",
    );
    let _ = writeln!(
        out,
        "paraform_plan_steps{{network=\"{net}\"}} {}",
        report.plan_steps
    );
    family(
        &mut out,
        "paraform_in_sync",
        "1 when the network matches its desired state (pending effects allowed), else 0.",
    );
    let _ = writeln!(
        out,
        "paraform_in_sync{{network=\"{net}\"}} {}",
        u8::from(report.verdict == Verdict::InSync)
    );
    family(
        &mut out,
        "paraform_observation_complete",
        "1 when every chain that exists could be read, else 0 (drift counts are then incomplete).",
    );
    let _ = writeln!(
        out,
        "paraform_observation_complete{{network=\"{net}\"}} {}",
        u8::from(report.unobserved.is_empty())
    );
    if let Some(block) = report.block_number {
        family(
            &mut out,
            "paraform_last_observed_block",
            "Relay chain finalized block number the observation was pinned at.",
        );
        let _ = writeln!(
            out,
            "paraform_last_observed_block{{network=\"{net}\"}} {block}"
        );
    }
    out
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// Label values: backslash, double quote and newline are escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// HELP text: backslash and newline are escaped.
fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}
