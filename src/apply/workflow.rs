//! The apply use case, shared by `apply` and `destroy`: lock → settle what
//! an interrupted apply left in flight → observe → plan (or take a saved
//! plan, refused if stale) → show → expected hash → safety → approve →
//! execute → record the outcome in the state. The CLI only gathers inputs,
//! renders and maps the result to an exit code.

use super::executor::{ApplyReport, ExecOptions, Executor};
use super::journal::{settle_all, Journal};
use super::ops::{ChainOps, OpError};
use super::progress::Progress;
use crate::observe::live::ObserveError;
use crate::observe::Observed;
use crate::plan::artifact::{SavedPlan, Stale};
use crate::plan::{Plan, SafetyError, StepId};
use crate::provider::Provider;
use crate::spec::Desired;
use crate::state::{LockInfo, StateError, StateStore};
use std::time::Duration;

/// What is applied.
pub enum PlanSource {
    /// A fresh plan of the desired state against what is observed now.
    Desired,
    /// A plan saved by `plan --out`: applied as saved, refused if stale.
    Saved(Box<SavedPlan>),
    /// The plan that removes the network.
    Destroy,
}

impl PlanSource {
    fn operation(&self) -> &'static str {
        match self {
            PlanSource::Destroy => "destroy",
            _ => "apply",
        }
    }
}

/// The rules the plan is held to, and how it is carried out.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Carry out a plan that breaks a safety rule.
    pub allow_unsafe: bool,
    /// Refuse unless the plan's content hash is this (what was approved).
    pub expect_hash: Option<String>,
    pub exec: ExecOptions,
}

/// The world an apply acts on.
pub struct Live<'a> {
    pub provider: &'a dyn Provider,
    pub store: &'a dyn StateStore,
    pub chain: &'a dyn ChainOps,
}

/// The user's view of the plan: shown before the checks, approved (or
/// not) after them. Only asked to approve a non-empty plan.
pub trait Review {
    fn show(&self, plan: &Plan) -> std::io::Result<()>;
    fn approve(&self, plan: &Plan) -> std::io::Result<bool>;
}

/// How an apply that ran ended.
#[derive(Debug)]
pub enum Applied {
    /// The plan was empty: nothing to do (the state is marked clean).
    NoChanges,
    /// Every step is done or already in effect.
    Complete { plan: Plan, report: ApplyReport },
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WorkflowError {
    /// The lock, or reading or writing the state.
    #[error(transparent)]
    #[diagnostic(code(paraform::state))]
    State(#[from] StateError),
    #[error("settling the submissions of an interrupted apply: {0}")]
    #[diagnostic(code(paraform::settle))]
    Settle(#[source] OpError),
    #[error(transparent)]
    #[diagnostic(code(paraform::observe))]
    Observe(#[from] ObserveError),
    #[error(transparent)]
    #[diagnostic(
        code(paraform::stale_plan),
        help("run `paraform plan` again and review the new plan")
    )]
    Stale(#[from] Stale),
    #[error(
        "the plan changed since it was approved: its content hash is {actual}, not {expected}. \
         Nothing was applied. Review the new plan (paraform plan) and approve it again."
    )]
    #[diagnostic(code(paraform::usage))]
    HashMismatch { actual: String, expected: String },
    #[error("refusing an unsafe plan: {}", summary(.0))]
    #[diagnostic(
        code(paraform::unsafe_plan),
        help("review the plan; pass --allow-unsafe to proceed anyway")
    )]
    Unsafe(SafetyError),
    #[error("showing the plan or asking for approval: {0}")]
    #[diagnostic(code(paraform::io))]
    Review(#[source] std::io::Error),
    #[error("{0} cancelled")]
    #[diagnostic(code(paraform::usage))]
    Cancelled(&'static str),
    /// SIGINT / SIGTERM: no new step was started; the lock is released.
    #[error(
        "{operation} interrupted by {}: {}. The lock is released; run {operation} again to carry on \
         (submissions left in flight are settled first, never sent twice).",
        signal.name(),
        undone_text(undone, abandoned)
    )]
    #[diagnostic(code(paraform::interrupted))]
    Interrupted {
        operation: &'static str,
        signal: super::Signal,
        /// Steps not started.
        undone: Vec<StepId>,
        /// Steps abandoned while running (past the grace period).
        abandoned: Vec<StepId>,
    },
    /// Some steps failed; the state is marked dirty with the causes.
    #[error(
        "{operation} failed ({} failed, {} skipped, {} done): {}. Run {operation} again once fixed: finished steps are not repeated.",
        report.failures.len(),
        report.count(|r| matches!(r, super::StepResult::Skipped { .. })),
        report.count(|r| matches!(r, super::StepResult::Done { .. })),
        causes(report)
    )]
    #[diagnostic(code(paraform::apply))]
    Failed {
        operation: &'static str,
        report: ApplyReport,
    },
}

fn undone_text(undone: &[StepId], abandoned: &[StepId]) -> String {
    let list = |v: &[StepId]| v.iter().map(StepId::as_str).collect::<Vec<_>>().join(", ");
    match (undone.is_empty(), abandoned.is_empty()) {
        (true, true) => "nothing was started".to_string(),
        (false, true) => format!("{} step(s) not started: {}", undone.len(), list(undone)),
        (true, false) => format!(
            "{} step(s) abandoned while running: {}",
            abandoned.len(),
            list(abandoned)
        ),
        (false, false) => format!(
            "{} step(s) not started: {}; {} abandoned while running: {}",
            undone.len(),
            list(undone),
            abandoned.len(),
            list(abandoned)
        ),
    }
}

/// Await `f` unless a signal comes first.
async fn unless_interrupted<T>(
    operation: &'static str,
    interrupt: &super::Interrupt,
    f: impl std::future::Future<Output = Result<T, WorkflowError>>,
) -> Result<T, WorkflowError> {
    tokio::select! {
        r = f => r,
        signal = interrupt.wait() => Err(WorkflowError::Interrupted {
            operation,
            signal,
            undone: vec![],
            abandoned: vec![],
        }),
    }
}

fn summary(e: &SafetyError) -> String {
    e.violations
        .iter()
        .map(|v| format!("{}: {}", v.rule.as_str(), v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn causes(report: &ApplyReport) -> String {
    report
        .failures
        .iter()
        .map(|(id, e)| format!("{id}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `apply --expect-hash`: refuse a plan other than the one approved.
pub fn check_expected_hash(plan: &Plan, expected: Option<&str>) -> Result<(), WorkflowError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let actual = plan.content_hash();
    if actual.eq_ignore_ascii_case(expected.trim()) {
        return Ok(());
    }
    Err(WorkflowError::HashMismatch {
        actual,
        expected: expected.to_string(),
    })
}

/// Refuse a plan that breaks a safety rule unless allowed.
pub fn check_safety(plan: &Plan, allow_unsafe: bool) -> Result<(), WorkflowError> {
    if allow_unsafe && !plan.safety.is_empty() {
        tracing::warn!(
            "proceeding despite {} safety violation(s) (--allow-unsafe)",
            plan.safety.len()
        );
    }
    plan.check_safety(allow_unsafe)
        .map_err(WorkflowError::Unsafe)
}

/// Carry out `source` on the live world under the network's lock.
pub async fn apply(
    live: &Live<'_>,
    desired: &Desired,
    source: PlanSource,
    policy: &Policy,
    review: &dyn Review,
    progress: &Progress,
) -> Result<Applied, WorkflowError> {
    let operation = source.operation();
    let interrupt = &policy.exec.interrupt;
    let _lock = unless_interrupted(operation, interrupt, async {
        Ok(live
            .store
            .lock(LockInfo::for_this_process(
                operation,
                desired.source.commit.clone(),
            ))
            .await?)
    })
    .await?;
    let journal = Journal::new(live.store, live.store.load().await?);

    // Submissions an interrupted apply left in flight land or expire
    // before anything is observed: the plan then sees what landed.
    if !journal.all_in_flight().await.is_empty() {
        progress.note("Settling submissions left in flight by an interrupted apply…");
        let settled = unless_interrupted(operation, interrupt, async {
            settle_all(&journal, live.chain, Duration::from_secs(3))
                .await
                .map_err(WorkflowError::Settle)
        })
        .await?;
        for (step, how) in settled {
            progress.note(&format!("  {step}: {how:?}"));
        }
    }

    let observed = unless_interrupted(operation, interrupt, async {
        Ok(crate::observe::live::observe(desired, live.provider, &Default::default()).await?)
    })
    .await?;
    let plan = plan_of(desired, &observed, source)?;
    review.show(&plan).map_err(WorkflowError::Review)?;
    check_expected_hash(&plan, policy.expect_hash.as_deref())?;
    check_safety(&plan, policy.allow_unsafe)?;
    if plan.is_empty() {
        journal.update(|s| s.mark_clean()).await?;
        return Ok(Applied::NoChanges);
    }
    if !review.approve(&plan).map_err(WorkflowError::Review)? {
        return Err(WorkflowError::Cancelled(operation));
    }
    if let Some(signal) = interrupt.requested() {
        return Err(WorkflowError::Interrupted {
            operation,
            signal,
            undone: plan.steps.iter().map(|s| s.id.clone()).collect(),
            abandoned: vec![],
        });
    }

    let executor = Executor {
        plan: &plan,
        desired,
        provider: live.provider,
        chain: live.chain,
        journal: &journal,
        options: policy.exec.clone(),
        progress,
    };
    let report = executor.run().await;
    if let Some(signal) = report.interrupted {
        let (abandoned, undone): (Vec<_>, Vec<_>) = report
            .undone()
            .into_iter()
            .partition(|(_, started)| *started);
        let ids = |v: Vec<(&StepId, bool)>| v.into_iter().map(|(id, _)| id.clone()).collect();
        let (undone, abandoned): (Vec<StepId>, Vec<StepId>) = (ids(undone), ids(abandoned));
        let why = format!(
            "{operation} interrupted by {}: {}",
            signal.name(),
            undone_text(&undone, &abandoned)
        );
        // Failures before the signal are causes too: keep them in the state.
        let why = if report.failures.is_empty() {
            why
        } else {
            format!("{why}; failed: {}", causes(&report))
        };
        journal.update(|s| s.mark_dirty(why)).await?;
        return Err(WorkflowError::Interrupted {
            operation,
            signal,
            undone,
            abandoned,
        });
    }
    if report.ok() {
        let digest = crate::plan::artifact::content_digest(&plan);
        let commit = desired.source.commit.clone();
        journal
            .update(|s| match operation {
                "destroy" => s.mark_clean(),
                _ => s.mark_applied(commit, digest, crate::state::now_unix()),
            })
            .await?;
        Ok(Applied::Complete { plan, report })
    } else {
        let why = causes(&report);
        journal.update(|s| s.mark_dirty(why)).await?;
        Err(WorkflowError::Failed { operation, report })
    }
}

fn plan_of(
    desired: &Desired,
    observed: &Observed,
    source: PlanSource,
) -> Result<Plan, WorkflowError> {
    Ok(match source {
        PlanSource::Desired => crate::plan::plan(desired, observed),
        PlanSource::Saved(saved) => {
            let fresh = crate::plan::plan(desired, observed);
            crate::plan::artifact::staleness_with_desired(&saved, &fresh.fingerprint, desired)?;
            saved.plan
        }
        PlanSource::Destroy => crate::plan::destroy(desired, observed),
    })
}
