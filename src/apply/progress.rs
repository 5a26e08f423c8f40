//! Progress of an apply: an `indicatif` bar on a terminal, plain lines
//! otherwise (CI logs). Lines go to stderr so stdout stays for results.

use crate::plan::{StepId, StepKind};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// `tty`: draw a bar; otherwise print one line per event.
    pub fn new(tty: bool) -> Self {
        let bar = tty.then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress { bar, quiet: false }
    }

    /// No output at all (tests).
    pub fn quiet() -> Self {
        Progress {
            bar: None,
            quiet: true,
        }
    }

    fn line(&self, s: String) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.println(s),
            None => eprintln!("{s}"),
        }
    }

    pub fn start(&self, steps: usize) {
        if let Some(b) = &self.bar {
            b.set_length(steps as u64);
        }
    }

    pub fn started(&self, id: &StepId, kind: &StepKind) {
        let what = if kind.describe().waits {
            "waiting"
        } else {
            "applying"
        };
        match &self.bar {
            Some(b) => b.set_message(format!("{id}: {what}…")),
            None => self.line(format!("{id}: {what}…")),
        }
    }

    pub fn done(&self, id: &StepId, note: &str, took: Duration) {
        self.line(format!("{id}: done in {:.1}s ({note})", took.as_secs_f64()));
        self.inc();
    }

    pub fn already(&self, id: &StepId, reason: &str) {
        self.line(format!("{id}: nothing to do ({reason})"));
        self.inc();
    }

    pub fn failed(&self, id: &StepId, error: &str) {
        self.line(format!("{id}: FAILED: {error}"));
        self.inc();
    }

    pub fn skipped(&self, id: &StepId, root: &StepId) {
        self.line(format!("{id}: skipped: depends on failed {root}"));
        self.inc();
    }

    pub fn retry(&self, id: &StepId, attempt: u32, error: &str, delay: Duration) {
        self.line(format!(
            "{id}: attempt {attempt} failed ({error}); retrying in {}s",
            delay.as_secs()
        ));
    }

    pub fn note(&self, s: &str) {
        self.line(s.to_string());
    }

    fn inc(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
