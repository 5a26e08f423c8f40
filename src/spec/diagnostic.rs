//! User-facing diagnostics for the desired state: one `SpecDiagnostic` per
//! problem (file, span, help), all of them collected into `SpecErrors`.
//!
//! `Diagnostic` is implemented by hand rather than derived because the code
//! (`paraform::spec::<rule>`), the primary span and the source are all optional
//! and chosen per rule at run time; the derive only supports static codes.

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A loaded file's text, shared by all diagnostics pointing into it. The text
/// has inline secret values masked (same byte length), so a snippet can never
/// print one.
#[derive(Clone)]
pub struct SourceFile {
    /// The name shown in reports, e.g. `networks/local/network.toml`.
    pub name: String,
    pub(crate) source: NamedSource<Arc<String>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: String) -> Self {
        let name = name.into();
        let source = NamedSource::new(name.clone(), Arc::new(text)).with_language("TOML");
        Self { name, source }
    }

    pub fn text(&self) -> &str {
        self.source.inner().as_str()
    }
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.name)
            .finish()
    }
}

/// A place in a file: what a label points at.
#[derive(Clone, Debug)]
pub struct Loc {
    pub file: SourceFile,
    pub span: Range<usize>,
}

impl Loc {
    pub fn new(file: &SourceFile, span: Range<usize>) -> Self {
        let len = file.text().len();
        let start = span.start.min(len);
        let end = span.end.clamp(start, len);
        Self {
            file: file.clone(),
            span: start..end,
        }
    }

    /// 1-based line of the span start (for plain-text summaries and tests).
    pub fn line(&self) -> usize {
        self.file.text()[..self.span.start].matches('\n').count() + 1
    }
}

/// One problem in the desired state.
#[derive(Debug)]
pub struct SpecDiagnostic {
    /// Stable rule name; the diagnostic code is `paraform::spec::<rule>`.
    pub rule: &'static str,
    pub message: String,
    pub severity: Severity,
    /// Primary location (with its label text), if the problem has one.
    pub at: Option<(Loc, String)>,
    /// Further labels in the same file as `at`.
    pub also: Vec<(Range<usize>, String)>,
    pub help: Option<String>,
    /// Locations in other files ("first defined here"), rendered as advice.
    pub related: Vec<SpecDiagnostic>,
}

impl SpecDiagnostic {
    pub fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
            severity: Severity::Error,
            at: None,
            also: Vec::new(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn at(mut self, loc: Loc, label: impl Into<String>) -> Self {
        self.at = Some((loc, label.into()));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Point at a second place: a secondary label when it is in the same file,
    /// otherwise a related advice with its own snippet.
    pub fn and_at(mut self, loc: Loc, label: impl Into<String>) -> Self {
        let label = label.into();
        match &self.at {
            Some((primary, _)) if primary.file.name == loc.file.name => {
                self.also.push((loc.span, label));
            }
            _ => {
                let mut note = SpecDiagnostic::new(self.rule, label.clone()).at(loc, label);
                note.severity = Severity::Advice;
                self.related.push(note);
            }
        }
        self
    }

    /// File and 1-based line of the primary location.
    pub fn location(&self) -> Option<(String, usize)> {
        self.at
            .as_ref()
            .map(|(loc, _)| (loc.file.name.clone(), loc.line()))
    }
}

impl fmt::Display for SpecDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecDiagnostic {}

impl Diagnostic for SpecDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("paraform::spec::{}", self.rule)))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.at
            .as_ref()
            .map(|(loc, _)| &loc.file.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (loc, label) = self.at.as_ref()?;
        let primary = LabeledSpan::new_primary_with_span(Some(label.clone()), span(&loc.span));
        let rest = self
            .also
            .iter()
            .map(|(s, l)| LabeledSpan::new_with_span(Some(l.clone()), span(s)));
        Some(Box::new(std::iter::once(primary).chain(rest)))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|d| d as &dyn Diagnostic)))
    }
}

fn span(r: &Range<usize>) -> SourceSpan {
    SourceSpan::from(r.start..r.end)
}

/// Every problem found in one network's desired state, reported at once.
#[derive(Debug)]
pub struct SpecErrors {
    /// The network directory as the user named it, e.g. `networks/local`.
    pub dir: String,
    pub problems: Vec<SpecDiagnostic>,
}

impl SpecErrors {
    pub fn len(&self) -> usize {
        self.problems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The rule names of all problems, in report order (for tests and JSON output).
    pub fn rules(&self) -> Vec<&'static str> {
        self.problems.iter().map(|p| p.rule).collect()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let s = if n == 1 { "" } else { "s" };
        write!(f, "{n} problem{s} in {}", self.dir)
    }
}

impl std::error::Error for SpecErrors {}

impl Diagnostic for SpecErrors {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "see docs/desired-state.md for every field and its default",
        ))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.problems.iter().map(|d| d as &dyn Diagnostic)))
    }
}
