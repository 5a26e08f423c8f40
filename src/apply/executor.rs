//! The executor: walks the plan DAG with bounded parallelism. A step starts
//! as soon as its dependencies are done; a failed step's dependents are
//! skipped naming the root cause once; transient errors are retried with
//! backoff. Every step re-checks its precondition against the live world
//! and the journal first (see `steps.rs`), so re-running converges.

use super::interrupt::{Interrupt, Signal};
use super::journal::Journal;
use super::ops::{ChainOps, OpError};
use super::progress::Progress;
use super::steps::{self, StepCtx, StepOutcome};
use crate::plan::{Plan, StepId};
use crate::provider::Provider;
use crate::spec::Desired;
use crate::state::JournalStatus;
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// `PARAFORM_TEST_CRASH_AFTER=<step id>/<phase>`: abort the process (SIGKILL
/// to itself, like `kill -9`) at that point. Phases: `submitted` (≈1 s after
/// the step's transaction was journaled and sent), `done` (after the step
/// finished). For crash-recovery tests only.
pub const CRASH_ENV: &str = "PARAFORM_TEST_CRASH_AFTER";

#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// Steps running at once.
    pub parallelism: usize,
    /// Health gates and rolling batches wait this long for readiness.
    pub gate_timeout: Duration,
    /// Attempts for transient errors (≥ 1).
    pub attempts: u32,
    /// First retry delay; doubles each time.
    pub backoff: Duration,
    /// Journal polling while a submission settles.
    pub poll: Duration,
    /// Asks the executor to stop (SIGINT / SIGTERM): no new step starts.
    pub interrupt: Interrupt,
    /// How long running steps may still take once interrupted; then they
    /// are abandoned (a submission stays journaled in flight).
    pub interrupt_grace: Duration,
}

impl Default for ExecOptions {
    fn default() -> Self {
        let gate = std::env::var("PARAFORM_HEALTH_TIMEOUT_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        ExecOptions {
            parallelism: 4,
            gate_timeout: Duration::from_secs(gate),
            attempts: 4,
            backoff: Duration::from_secs(2),
            poll: Duration::from_secs(3),
            interrupt: Interrupt::default(),
            interrupt_grace: Duration::from_secs(5),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepResult {
    Done {
        note: String,
    },
    /// The precondition already held: nothing was done.
    AlreadyDone {
        reason: String,
    },
    Failed {
        error: String,
    },
    /// Not run because `root` failed.
    Skipped {
        root: StepId,
    },
    /// Not started, or abandoned while running, because the apply was interrupted.
    Interrupted {
        started: bool,
    },
}

#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    pub results: BTreeMap<StepId, StepResult>,
    /// Steps that failed themselves (root causes), in the order they failed.
    pub failures: Vec<(StepId, String)>,
    pub elapsed: Duration,
    /// The signal that stopped the apply before every step ran.
    pub interrupted: Option<Signal>,
}

impl ApplyReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.interrupted.is_none()
    }
    /// Steps not done because of the interruption (abandoned first).
    pub fn undone(&self) -> Vec<(&StepId, bool)> {
        let mut v: Vec<(&StepId, bool)> = self
            .results
            .iter()
            .filter_map(|(id, r)| match r {
                StepResult::Interrupted { started } => Some((id, *started)),
                _ => None,
            })
            .collect();
        v.sort_by_key(|(_, started)| !started);
        v
    }
    pub fn count(&self, f: impl Fn(&StepResult) -> bool) -> usize {
        self.results.values().filter(|r| f(r)).count()
    }
}

pub struct Executor<'a> {
    pub plan: &'a Plan,
    pub desired: &'a Desired,
    pub provider: &'a dyn Provider,
    pub chain: &'a dyn ChainOps,
    pub journal: &'a Journal<'a>,
    pub options: ExecOptions,
    pub progress: &'a Progress,
}

impl<'a> Executor<'a> {
    pub async fn run(&self) -> ApplyReport {
        let started = Instant::now();
        let mut report = ApplyReport::default();
        let steps: BTreeMap<&StepId, &crate::plan::Step> =
            self.plan.steps.iter().map(|s| (&s.id, s)).collect();
        // Topological order gives a deterministic start order among ready steps.
        let order: Vec<StepId> = match self.plan.topo_order() {
            Ok(o) => o,
            Err(e) => {
                report.failures.push((StepId("plan".into()), e.to_string()));
                return report;
            }
        };
        let mut waiting: Vec<StepId> = order.clone();
        let mut finished: BTreeSet<StepId> = BTreeSet::new();
        let mut running = FuturesUnordered::new();
        let mut grace_until: Option<tokio::time::Instant> = None;
        self.progress.start(order.len());

        loop {
            // Skip steps whose dependencies failed or were skipped (root cause once).
            loop {
                let mut changed = false;
                waiting.retain(|id| {
                    let Some(step) = steps.get(id) else {
                        return false;
                    };
                    let root = step
                        .depends_on
                        .iter()
                        .find_map(|d| match report.results.get(d) {
                            Some(StepResult::Failed { .. }) => Some(d.clone()),
                            Some(StepResult::Skipped { root }) => Some(root.clone()),
                            _ => None,
                        });
                    match root {
                        Some(root) => {
                            self.progress.skipped(id, &root);
                            report
                                .results
                                .insert(id.clone(), StepResult::Skipped { root });
                            changed = true;
                            false
                        }
                        None => true,
                    }
                });
                if !changed {
                    break;
                }
            }
            if let (None, Some(signal)) = (report.interrupted, self.options.interrupt.requested()) {
                report.interrupted = Some(signal);
                grace_until = Some(tokio::time::Instant::now() + self.options.interrupt_grace);
                if !running.is_empty() {
                    self.progress.note(&format!(
                        "{}: starting no new step; waiting up to {}s for {} running step(s)…",
                        signal.name(),
                        self.options.interrupt_grace.as_secs(),
                        running.len()
                    ));
                }
            }
            // Start ready steps up to the bound (none once interrupted).
            let mut i = 0;
            while report.interrupted.is_none()
                && i < waiting.len()
                && running.len() < self.options.parallelism.max(1)
            {
                let id = &waiting[i];
                let ready = steps
                    .get(id)
                    .is_some_and(|s| s.depends_on.iter().all(|d| finished.contains(d)));
                if ready {
                    let id = waiting.remove(i);
                    let Some(step) = steps.get(&id).copied() else {
                        continue;
                    };
                    self.progress.started(&id, &step.kind);
                    running.push(async move {
                        let t = Instant::now();
                        let r = self.run_with_retries(step).await;
                        (id, r, t.elapsed())
                    });
                } else {
                    i += 1;
                }
            }
            let next = match grace_until {
                None => tokio::select! {
                    next = running.next() => next,
                    _ = self.options.interrupt.wait() => continue,
                },
                Some(until) => match tokio::time::timeout_at(until, running.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                },
            };
            let Some((id, result, took)) = next else {
                break;
            };
            match result {
                Ok(StepOutcome::Done(note)) => {
                    self.progress.done(&id, &note, took);
                    report.results.insert(id.clone(), StepResult::Done { note });
                    finished.insert(id.clone());
                    crash_hook(&id, "done");
                }
                Ok(StepOutcome::AlreadyDone(reason)) => {
                    self.progress.already(&id, &reason);
                    report
                        .results
                        .insert(id.clone(), StepResult::AlreadyDone { reason });
                    finished.insert(id.clone());
                }
                Err(e) => {
                    let error = e.to_string();
                    self.progress.failed(&id, &error);
                    report.failures.push((id.clone(), error.clone()));
                    report
                        .results
                        .insert(id.clone(), StepResult::Failed { error });
                }
            }
        }
        if report.interrupted.is_some() {
            // Steps still running past the grace are dropped here: what they
            // submitted is journaled in flight, settled by the next apply.
            drop(running);
            for id in &order {
                let started = !waiting.contains(id);
                report
                    .results
                    .entry(id.clone())
                    .or_insert(StepResult::Interrupted { started });
            }
            waiting.clear();
        }
        // Anything left never became ready (cannot happen for a valid plan).
        for id in waiting {
            report
                .results
                .entry(id.clone())
                .or_insert(StepResult::Failed {
                    error: "never became ready".into(),
                });
            report
                .failures
                .push((id, "never became ready (dependency cycle?)".into()));
        }
        report.elapsed = started.elapsed();
        self.progress.finish();
        report
    }

    async fn run_with_retries(&self, step: &crate::plan::Step) -> Result<StepOutcome, OpError> {
        let intent = step.kind.calls().join(", ");
        let intent = if intent.is_empty() {
            step.id.to_string()
        } else {
            intent
        };
        if step.kind.submits() {
            self.journal.begin(&step.id, &intent).await?;
        }
        let ctx = StepCtx {
            desired: self.desired,
            provider: self.provider,
            chain: self.chain,
            journal: self.journal,
            options: &self.options,
            intent: &intent,
        };
        let mut delay = self.options.backoff;
        let attempts = self.options.attempts.max(1);
        let mut attempt = 1;
        let result = loop {
            match steps::run(&ctx, step).await {
                Err(e) if e.is_transient() && attempt < attempts => {
                    self.progress
                        .retry(&step.id, attempt, &e.to_string(), delay);
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    attempt += 1;
                }
                other => break other,
            }
        };
        if step.kind.submits() {
            let (status, err) = match &result {
                Ok(_) => (JournalStatus::Done, None),
                Err(e) => (JournalStatus::Failed, Some(e.to_string())),
            };
            // A submission still in flight stays `Submitted` (journaled by
            // the chain layer) unless the step settled it.
            let in_flight = self.journal.in_flight(&step.id).await.is_some();
            if !(in_flight && result.is_err()) {
                self.journal
                    .set_status(&step.id, &intent, status, err)
                    .await?;
            }
        }
        result
    }
}

/// See [`CRASH_ENV`].
pub fn crash_hook(step: &StepId, phase: &str) {
    let Ok(target) = std::env::var(CRASH_ENV) else {
        return;
    };
    if target != format!("{step}/{phase}") {
        return;
    }
    eprintln!("{CRASH_ENV}: killing this process after {step}/{phase}");
    let kill = || {
        // SAFETY: signalling ourselves.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    };
    if phase == "submitted" {
        // Let the transaction leave first: this is "killed after submitting".
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            kill();
        });
    } else {
        kill();
    }
}
