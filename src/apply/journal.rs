//! The journal of an apply: the state, saved after every change, so a crash
//! at any point leaves a record of what may be in flight.

use super::ops::{ChainOps, Landing, OpError};
use crate::chain::submit::SubmissionRecord;
use crate::plan::StepId;
use crate::state::{JournalStatus, State, StateError, StateStore};
use std::time::Duration;

pub struct Journal<'a> {
    store: &'a dyn StateStore,
    state: tokio::sync::Mutex<State>,
}

impl<'a> Journal<'a> {
    pub fn new(store: &'a dyn StateStore, state: State) -> Self {
        Journal {
            store,
            state: tokio::sync::Mutex::new(state),
        }
    }

    /// Change the state and save it before returning. If the save fails
    /// (or the lock was lost), the change is not kept either: the journal
    /// never claims what is not saved.
    pub async fn update(&self, f: impl FnOnce(&mut State)) -> Result<(), StateError> {
        let mut s = self.state.lock().await;
        let mut next = s.clone();
        f(&mut next);
        self.store.save(&next).await?;
        *s = next;
        Ok(())
    }

    pub async fn snapshot(&self) -> State {
        self.state.lock().await.clone()
    }

    pub async fn set_status(
        &self,
        step: &StepId,
        intent: &str,
        status: JournalStatus,
        error: Option<String>,
    ) -> Result<(), StateError> {
        self.update(|s| {
            let e = s.entry_mut(step, intent);
            e.status = status;
            e.error = error;
        })
        .await
    }

    /// Mark a step started, keeping an in-flight submission of an earlier
    /// (crashed) attempt visible as such.
    pub async fn begin(&self, step: &StepId, intent: &str) -> Result<(), StateError> {
        self.update(|s| {
            let e = s.entry_mut(step, intent);
            if e.status != JournalStatus::Submitted {
                e.status = JournalStatus::Started;
                e.error = None;
            }
        })
        .await
    }

    pub async fn resolve(
        &self,
        step: &StepId,
        intent: &str,
        key: crate::plan::Resolved,
        value: String,
    ) -> Result<(), StateError> {
        self.update(|s| {
            s.entry_mut(step, intent)
                .resolved
                .insert(key.as_str().to_string(), value);
        })
        .await
    }

    /// Journal a submission record (the chain layer calls this right before
    /// the transaction is sent, and sends nothing if it fails).
    pub async fn record(
        &self,
        step: &StepId,
        intent: &str,
        record: &SubmissionRecord,
    ) -> Result<(), StateError> {
        self.update(|s| {
            let e = s.entry_mut(step, intent);
            e.submissions.push(record.clone());
            e.status = JournalStatus::Submitted;
        })
        .await
    }

    /// The last submission journaled for `step`, if it is not known to have settled.
    pub async fn in_flight(&self, step: &StepId) -> Option<SubmissionRecord> {
        let s = self.state.lock().await;
        let e = s.entry(step)?;
        if e.status == JournalStatus::Submitted {
            e.submissions.last().cloned()
        } else {
            None
        }
    }

    /// Every step with a submission not known to have settled.
    pub async fn all_in_flight(&self) -> Vec<(StepId, SubmissionRecord)> {
        let s = self.state.lock().await;
        s.journal
            .iter()
            .filter(|e| e.status == JournalStatus::Submitted)
            .filter_map(|e| e.submissions.last().map(|r| (e.step.clone(), r.clone())))
            .collect()
    }
}

/// What became of an in-flight submission.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    Landed,
    Failed(String),
    Expired(String),
}

/// Wait until a journaled submission has landed or can never land; never
/// resubmits. Bounded by the transaction's mortality window (the chain
/// guarantees it settles by then), plus `slack`.
pub async fn settle(
    chain: &dyn ChainOps,
    record: &SubmissionRecord,
    poll: Duration,
    slack: Duration,
) -> Result<Settled, OpError> {
    let bound = Duration::from_secs(6).saturating_mul(record.mortality.1 as u32 + 4) + slack;
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match chain.find_submission(record).await? {
            Landing::Landed(Ok(())) => return Ok(Settled::Landed),
            Landing::Landed(Err(e)) => return Ok(Settled::Failed(e)),
            Landing::Expired(why) => return Ok(Settled::Expired(why)),
            Landing::Pending => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(OpError::Invalid(format!(
                        "{} ({}) neither landed nor expired within {bound:?}",
                        record.call, record.extrinsic_hash
                    )));
                }
                tokio::time::sleep(poll).await;
            }
        }
    }
}

/// Settle every in-flight submission of a previous, interrupted apply, and
/// mark the entries accordingly. Run before observing, so the plan sees
/// what landed.
pub async fn settle_all(
    journal: &Journal<'_>,
    chain: &dyn ChainOps,
    poll: Duration,
) -> Result<Vec<(StepId, Settled)>, OpError> {
    let mut out = Vec::new();
    for (step, rec) in journal.all_in_flight().await {
        let s = settle(chain, &rec, poll, Duration::from_secs(30)).await?;
        let (status, err) = match &s {
            Settled::Landed => (JournalStatus::Done, None),
            Settled::Failed(e) => (JournalStatus::Failed, Some(e.clone())),
            Settled::Expired(e) => (JournalStatus::Failed, Some(format!("expired: {e}"))),
        };
        journal.set_status(&step, &rec.call, status, err).await?;
        out.push((step, s));
    }
    Ok(out)
}
