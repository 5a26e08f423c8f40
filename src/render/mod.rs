//! Plan renderers: Terraform-style text, versioned JSON, a Markdown PR comment
//! and a Graphviz DOT of the DAG. Pure functions of a `Plan`: plans hold only
//! public data, so nothing rendered here can contain a secret.

pub mod dot;
pub mod dry_run;
pub mod json;
pub mod markdown;
pub mod text;

use crate::plan::{Action, Plan};

/// Output formats of `paraform plan --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Dot,
}

/// How to render.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// ANSI colours (text only; the CLI sets this when stdout is a TTY and
    /// `--no-color` is absent).
    pub color: bool,
}

/// Render `plan` in `format`.
pub fn render(plan: &Plan, format: Format, opts: Options) -> String {
    match format {
        Format::Text => text::render(plan, opts),
        Format::Json => json::render(plan),
        Format::Markdown => markdown::render(plan),
        Format::Dot => dot::render(plan),
    }
}

/// The word shown next to a step: `+ workload.x  (create)`.
pub fn action_word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "destroy",
        Action::Replace => "replace",
        Action::Wait => "wait",
    }
}

/// Terraform's legend line for a symbol.
pub fn action_legend(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update in-place",
        Action::Delete => "destroy",
        Action::Replace => "destroy and then create replacement",
        Action::Wait => "wait until ready (health gates)",
    }
}

/// Whether a step removes something from the network (a destroy, a replace,
/// a validator/collator deregistration or a para offboarding): these are
/// called out first in PR comments.
pub fn is_destructive(step: &crate::plan::Step) -> bool {
    matches!(step.action, Action::Delete | Action::Replace) || step.kind.describe().destructive
}

/// The summary sentence: `Plan: 3 to add, 1 to change, 0 to destroy.`
pub fn summary_line(plan: &Plan) -> String {
    if plan.steps.is_empty() {
        return NO_CHANGES.to_string();
    }
    let s = plan.summary();
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

pub const NO_CHANGES: &str = "No changes. Your network matches the desired state.";
