//! Terraform-style text plan: symbols, reasons, attributes, unified diffs of
//! changed workload specs, pending effects, safety violations, summary.

use super::{action_legend, action_word, summary_line, Options};
use crate::plan::{Action, Member, Plan, Step, StepKind, WorkloadOp};
use crate::spec::model::{Consensus, GenesisSource, OnboardMode};
use crate::spec::WorkloadSpec;
use owo_colors::OwoColorize;
use std::fmt::Write as _;

const KNOWN_AFTER_APPLY: &str = "(known after apply)";
/// Inline lists longer than this are broken one item per line.
const INLINE_LIST_MAX: usize = 72;

pub fn render(plan: &Plan, opts: Options) -> String {
    let p = Painter(opts.color);
    let mut out = String::new();
    header(&mut out, plan);

    if plan.steps.is_empty() {
        let _ = writeln!(out, "{}", p.bold(&summary_line(plan)));
        if !plan.pending.is_empty() || !plan.safety.is_empty() {
            out.push('\n');
        }
        pending(&mut out, plan, p);
        safety(&mut out, plan, p);
        return out;
    }

    legend(&mut out, plan, p);
    let _ = writeln!(out, "paraform will perform the following actions:\n");
    for step in &plan.steps {
        render_step(&mut out, step, p);
        out.push('\n');
    }
    pending(&mut out, plan, p);
    safety(&mut out, plan, p);
    let _ = writeln!(out, "{}", p.bold(&summary_line(plan)));
    out
}

fn header(out: &mut String, plan: &Plan) {
    let fp = &plan.fingerprint;
    let _ = writeln!(out, "Network: {}", plan.network);
    match (&fp.block_hash, fp.block_number) {
        (Some(hash), Some(n)) => {
            let _ = writeln!(
                out,
                "Observed relay chain at block #{n} ({}).",
                hash.short()
            );
        }
        (Some(hash), None) => {
            let _ = writeln!(out, "Observed relay chain at block {}.", hash.short());
        }
        _ => {
            let _ = writeln!(
                out,
                "Relay chain not observed (not running yet): chain values are {KNOWN_AFTER_APPLY}."
            );
        }
    }
    out.push('\n');
}

fn legend(out: &mut String, plan: &Plan, p: Painter) {
    let _ = writeln!(out, "Actions are indicated with the following symbols:");
    for action in [
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Replace,
        Action::Wait,
    ] {
        if plan.steps.iter().any(|s| s.action == action) {
            let _ = writeln!(
                out,
                "{} {}",
                p.action(action, &format!("{:>3}", action.symbol())),
                action_legend(action)
            );
        }
    }
    out.push('\n');
}

/// One attribute line of a step; values are already formatted.
enum Value {
    Scalar(String),
    /// Rendered `[a, b]` when short, else one item per line.
    List(Vec<String>),
    /// Always one item per line (members, transfers).
    Block(Vec<String>),
    /// `(known after apply)`.
    Known,
}

fn render_step(out: &mut String, step: &Step, p: Painter) {
    for line in step.reason.lines() {
        let _ = writeln!(out, "  {}", p.bold(&format!("# {line}")));
    }
    let head = format!("{:>3} {}", step.action.symbol(), step.id);
    let _ = writeln!(
        out,
        "{}  ({})",
        p.action(step.action, &head),
        action_word(step.action)
    );

    let mut attrs: Vec<(String, Value)> = kind_attrs(&step.kind)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let calls = step.kind.calls();
    if !calls.is_empty() {
        attrs.push((
            "calls".into(),
            Value::List(calls.iter().map(|c| c.to_string()).collect()),
        ));
    }
    for k in step.known_after_apply() {
        attrs.push((k.as_str().to_string(), Value::Known));
    }
    if let Some(eta) = &step.eta {
        attrs.push(("eta".into(), Value::Scalar(eta.text.clone())));
    }
    if !step.depends_on.is_empty() {
        attrs.push((
            "after".into(),
            Value::List(step.depends_on.iter().map(|d| d.to_string()).collect()),
        ));
    }

    let width = attrs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let indent = "      ";
    for (key, value) in &attrs {
        match value {
            Value::Scalar(v) => {
                let _ = writeln!(out, "{indent}{key:<width$} = {v}");
            }
            Value::Known => {
                let _ = writeln!(out, "{indent}{key:<width$} = {}", p.dim(KNOWN_AFTER_APPLY));
            }
            Value::List(items) if inline_len(items) <= INLINE_LIST_MAX => {
                let _ = writeln!(out, "{indent}{key:<width$} = [{}]", items.join(", "));
            }
            Value::List(items) | Value::Block(items) => {
                let _ = writeln!(out, "{indent}{key:<width$} = [");
                for item in items {
                    let _ = writeln!(out, "{indent}    {item},");
                }
                let _ = writeln!(out, "{indent}]");
            }
        }
    }

    if let StepKind::Workload {
        op: WorkloadOp::Update,
        from,
        to,
        ..
    } = &step.kind
    {
        spec_diff(out, from.as_ref(), to.as_ref(), p);
    }
}

fn inline_len(items: &[String]) -> usize {
    items.iter().map(|i| i.chars().count() + 2).sum::<usize>()
}

fn kind_attrs(kind: &StepKind) -> Vec<(&'static str, Value)> {
    let s = |v: String| Value::Scalar(v);
    match kind {
        StepKind::Workload {
            group,
            op,
            nodes,
            from,
            to,
            max_unavailable,
        } => {
            let mut a = vec![("group", s(group.to_string())), ("nodes", node_list(nodes))];
            match op {
                WorkloadOp::Create => {
                    if let Some(spec) = to {
                        spec_summary(&mut a, spec);
                    }
                }
                WorkloadOp::Update => {
                    a.push(("max_unavailable", s(max_unavailable.to_string())));
                    if from.is_none() {
                        a.push((
                            "current spec",
                            s("(not recorded by the provider; no diff)".into()),
                        ));
                    }
                }
                WorkloadOp::Delete => {}
            }
            a
        }
        StepKind::OpenHrmpChannel { channel } => channel_attrs(channel),
        StepKind::CleanHrmp {
            para,
            close,
            reopen,
        } => vec![
            ("para", s(para.to_string())),
            (
                "close",
                Value::List(close.iter().map(|c| c.to_string()).collect()),
            ),
            (
                "reopen",
                Value::List(
                    reopen
                        .iter()
                        .map(|c| {
                            format!(
                                "{} (capacity {}, message size {})",
                                c.id, c.max_capacity, c.max_message_size
                            )
                        })
                        .collect(),
                ),
            ),
        ],
        StepKind::HealthGate { group, nodes } => vec![
            ("group", s(group.to_string())),
            ("nodes", node_list(nodes)),
            ("until", s("RPC reachable, synced, has peers".into())),
        ],
        StepKind::FundCollators { para, transfers } => {
            let mut a = vec![("para", s(para.to_string()))];
            a.extend(kind_attrs(&StepKind::Fund {
                transfers: transfers.clone(),
            }));
            a
        }
        StepKind::SetCollatorKeys {
            para,
            node,
            account,
        } => vec![
            ("para", s(para.to_string())),
            ("node", s(node.to_string())),
            ("account", s(account.to_string())),
        ],
        StepKind::Fund { transfers } => {
            let width = transfers
                .iter()
                .map(|t| t.node.as_str().chars().count())
                .max()
                .unwrap_or(0);
            vec![(
                "transfers",
                Value::Block(
                    transfers
                        .iter()
                        .map(|t| format!("{:<width$}  {}  +{}", t.node.as_str(), t.to, t.amount))
                        .collect(),
                ),
            )]
        }
        StepKind::SetKeys { node, stash } => vec![
            ("node", s(node.to_string())),
            ("stash", s(stash.to_string())),
        ],
        StepKind::RegisterValidators { consensus, members }
        | StepKind::DeregisterValidators { consensus, members } => {
            vec![
                ("consensus", s(consensus_name(*consensus).into())),
                ("members", members_block(members)),
            ]
        }
        StepKind::OnboardPara {
            para,
            mode,
            genesis,
        } => vec![
            ("para", s(para.to_string())),
            ("as", s(onboard_name(*mode).into())),
            ("genesis", s(genesis_name(genesis))),
        ],
        StepKind::OffboardPara { para } => vec![("para", s(para.to_string()))],
        StepKind::RegisterCollators {
            para,
            invulnerable,
            members,
        } => vec![
            ("para", s(para.to_string())),
            (
                "as",
                s(if *invulnerable {
                    "invulnerable"
                } else {
                    "candidate"
                }
                .into()),
            ),
            ("members", members_block(members)),
        ],
        StepKind::DeregisterCollators { para, members } => {
            vec![
                ("para", s(para.to_string())),
                ("members", members_block(members)),
            ]
        }
    }
}

fn spec_summary(a: &mut Vec<(&'static str, Value)>, spec: &WorkloadSpec) {
    a.push(("role", Value::Scalar(spec.role.as_str().into())));
    a.push(("replicas", Value::Scalar(spec.replicas.to_string())));
    a.push(("command", Value::Scalar(spec.command.clone())));
    if let Some(image) = &spec.image {
        a.push(("image", Value::Scalar(image.clone())));
    }
    a.push(("chain", Value::Scalar(spec.chain.to_string())));
    if !spec.flags.is_empty() {
        a.push(("flags", Value::List(spec.flags.clone())));
    }
}

fn channel_attrs(c: &crate::spec::model::HrmpChannel) -> Vec<(&'static str, Value)> {
    vec![
        ("sender", Value::Scalar(c.id.sender.to_string())),
        ("recipient", Value::Scalar(c.id.recipient.to_string())),
        ("max_capacity", Value::Scalar(c.max_capacity.to_string())),
        (
            "max_message_size",
            Value::Scalar(c.max_message_size.to_string()),
        ),
    ]
}

fn node_list(nodes: &[crate::spec::NodeName]) -> Value {
    Value::List(nodes.iter().map(|n| n.to_string()).collect())
}

fn members_block(members: &[Member]) -> Value {
    let width = members
        .iter()
        .map(|m| m.node.as_str().chars().count())
        .max()
        .unwrap_or(0);
    Value::Block(
        members
            .iter()
            .map(|m| format!("{:<width$}  {}", m.node.as_str(), m.account))
            .collect(),
    )
}

pub(crate) fn consensus_name(c: Consensus) -> &'static str {
    match c {
        Consensus::Poa => "poa",
        Consensus::Pos => "pos",
    }
}

pub(crate) fn onboard_name(m: OnboardMode) -> &'static str {
    match m {
        OnboardMode::Parachain => "parachain",
        OnboardMode::Parathread => "parathread",
        OnboardMode::None => "none",
    }
}

fn genesis_name(g: &GenesisSource) -> String {
    match g {
        GenesisSource::Collator => "exported from a collator (head and code of block #0)".into(),
        GenesisSource::RawSpec { path } => format!("raw chain spec {path}"),
    }
}

/// Unified diff of the live and desired workload specs, indented under the step.
fn spec_diff(out: &mut String, from: Option<&WorkloadSpec>, to: Option<&WorkloadSpec>, p: Painter) {
    let (Some(from), Some(to)) = (from, to) else {
        return;
    };
    let (old, new) = (from.to_text(), to.to_text());
    if old == new {
        return;
    }
    let diff = similar::TextDiff::from_lines(&old, &new);
    let unified = diff
        .unified_diff()
        .context_radius(2)
        .header("live", "desired")
        .to_string();
    for line in unified.lines() {
        let styled = if line.starts_with("+++") || line.starts_with("---") {
            p.bold(line)
        } else if line.starts_with('+') {
            p.action(Action::Create, line)
        } else if line.starts_with('-') {
            p.action(Action::Delete, line)
        } else if line.starts_with("@@") {
            p.dim(line)
        } else {
            line.to_string()
        };
        let _ = writeln!(out, "        {styled}");
    }
}

fn pending(out: &mut String, plan: &Plan, p: Painter) {
    if plan.pending.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        p.bold("Pending (not drift): submitted effects that land at a session boundary:")
    );
    for item in &plan.pending {
        let eta = item
            .eta
            .as_ref()
            .map(|e| format!("; {}", e.text))
            .unwrap_or_default();
        let _ = writeln!(out, "  * {}: {}{eta}", item.subject, item.what);
    }
    out.push('\n');
}

fn safety(out: &mut String, plan: &Plan, p: Painter) {
    if plan.safety.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        p.action(
            Action::Delete,
            "Safety violations (refused unless --allow-unsafe):"
        )
    );
    for v in &plan.safety {
        let _ = writeln!(out, "  ! {}: {}", v.rule.as_str(), v.message);
    }
    out.push('\n');
}

/// Colours only when asked; otherwise the identity.
#[derive(Clone, Copy)]
struct Painter(bool);

impl Painter {
    fn action(self, action: Action, s: &str) -> String {
        if !self.0 {
            return s.to_string();
        }
        match action {
            Action::Create => s.green().to_string(),
            Action::Update => s.yellow().to_string(),
            Action::Delete => s.red().to_string(),
            Action::Replace => s.magenta().to_string(),
            Action::Wait => s.cyan().to_string(),
        }
    }

    fn bold(self, s: &str) -> String {
        if self.0 {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }

    fn dim(self, s: &str) -> String {
        if self.0 {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }
}
