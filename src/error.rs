//! Exit codes and the CLI's top-level errors.
//!
//! Exit codes follow Terraform: 0 success / no changes, 1 error, 2 changes
//! pending (with `--detailed-exitcode`; `drift` always). Command-line usage
//! errors also exit 1 (clap's own default would be 2, which CI would read as
//! "changes pending").

use miette::{Diagnostic, NamedSource, SourceSpan};
use std::path::PathBuf;
use std::process::ExitCode;

pub const EXIT_SUCCESS: u8 = 0;
pub const EXIT_ERROR: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;

/// How a command that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success, or nothing to change.
    Success,
    /// Changes are pending (plan with `--detailed-exitcode`, drift found).
    ChangesPending,
    /// Stopped by a signal after tidying up: 128 + the signal number.
    Interrupted(u8),
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => EXIT_SUCCESS,
            Outcome::ChangesPending => EXIT_CHANGES,
            Outcome::Interrupted(code) => code,
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }
}

/// Errors raised by the CLI itself (errors of other modules are reported
/// through their own `Diagnostic`s, wrapped in a `miette::Report`).
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CliError {
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(paraform::io))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    #[diagnostic(code(paraform::io))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A secret reference could not be resolved; the message names the
    /// reference (e.g. `env:PARAFORM_DERIVATION_ROOT is not set`), never a value.
    #[error("{message}")]
    #[diagnostic(
        code(paraform::secret),
        help(
            "set the secret the reference names; values are never stored in the network directory"
        )
    )]
    Secret { message: String },

    /// A derived key could not be built from a secret.
    #[error("{message}")]
    #[diagnostic(code(paraform::keys))]
    Keys { message: String },

    /// `--observed FILE` is not a valid snapshot.
    #[error("{path} is not a valid observed snapshot: {message}")]
    #[diagnostic(
        code(paraform::observed),
        help("an observed snapshot is the JSON form of `Observed` (see docs/plan-format.md)")
    )]
    ObservedJson {
        path: String,
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("{message}")]
        span: SourceSpan,
    },

    /// A saved plan could not be read.
    #[error("{path}: {message}")]
    #[diagnostic(
        code(paraform::saved_plan),
        help("make a new one with `paraform plan <net-dir> --out FILE`")
    )]
    SavedPlan { path: String, message: String },

    /// The plan breaks a safety rule and `--allow-unsafe` was not given.
    #[error("refusing an unsafe plan: {summary}")]
    #[diagnostic(
        code(paraform::unsafe_plan),
        help("review the plan; pass --allow-unsafe to proceed anyway")
    )]
    Unsafe { summary: String },

    /// The saved plan no longer matches the world or the desired state.
    #[error(transparent)]
    #[diagnostic(
        code(paraform::stale_plan),
        help("run `paraform plan` again and review the new plan")
    )]
    Stale(#[from] crate::plan::artifact::Stale),

    /// The network's provider or state backend cannot be reached (a
    /// cluster that does not answer, a kubeconfig that does not load).
    #[error("{0}")]
    #[diagnostic(code(paraform::provider))]
    Provider(String),

    #[error("{0}")]
    #[diagnostic(code(paraform::usage))]
    Usage(String),
}

impl CliError {
    /// A serde_json error located in `text` (the file's content).
    pub fn observed_json(path: &str, text: String, err: &serde_json::Error) -> Self {
        let offset = offset_of(&text, err.line(), err.column());
        let len = if offset < text.len() { 1 } else { 0 };
        CliError::ObservedJson {
            path: path.to_string(),
            message: err.to_string(),
            src: NamedSource::new(path, text).with_language("JSON"),
            span: SourceSpan::from(offset..offset + len),
        }
    }
}

/// Byte offset of a 1-based (line, column) as serde_json reports them,
/// clamped to the text and to a char boundary.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let mut offset = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Install miette's report handler: graphical with colours on a terminal,
/// plain ASCII without colours otherwise (CI logs, pipes, tests).
pub fn install_report_handler(color: bool, terminal: bool) {
    let _ = miette::set_hook(Box::new(move |_| {
        let opts = miette::MietteHandlerOpts::new().terminal_links(false);
        let opts = if terminal {
            opts.color(color).unicode(true)
        } else {
            // Logs and CI: no wrapping, so commands in messages stay copyable.
            opts.color(false).unicode(false).wrap_lines(false)
        };
        Box::new(opts.build())
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        let t = "{\n  \"a\": x\n}";
        assert_eq!(&t[offset_of(t, 2, 8)..offset_of(t, 2, 8) + 1], "x");
        assert_eq!(offset_of(t, 99, 99), t.len());
        assert_eq!(offset_of(t, 0, 0), 0);
    }
}
