//! One function per step kind. Each first settles a submission a previous
//! (crashed) attempt left in flight, then re-checks its precondition against
//! the live chain — so a step whose effect is already there does nothing —
//! and only then acts. Values known after apply (session keys, a para's
//! genesis and core) are resolved here and journaled. Parachain and collator
//! steps are in [`paras`], genesis resolution in [`genesis`].

use super::executor::{crash_hook, ExecOptions};
use super::journal::{settle, Journal, Settled};
use super::ops::{ChainOps, Intent, OpError, SignerRole};
use crate::chain::submit::{RecordError, Recorder, SubmissionRecord};
use crate::plan::{Member, Resolved, Step, StepKind, Transfer, WorkloadOp};
use crate::provider::{Provider, WorkloadRequest};
use crate::spec::ids::{AccountId, NodeName};
use crate::spec::model::{Consensus, Desired};
use crate::state::JournalStatus;
use std::time::Duration;

pub(crate) mod genesis;
pub(crate) mod hrmp;
pub(crate) mod paras;

pub struct StepCtx<'a> {
    pub desired: &'a Desired,
    pub provider: &'a dyn Provider,
    pub chain: &'a dyn ChainOps,
    pub journal: &'a Journal<'a>,
    pub options: &'a ExecOptions,
    /// Journal label of the step.
    pub intent: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    Done(String),
    AlreadyDone(String),
}

pub async fn run(ctx: &StepCtx<'_>, step: &Step) -> Result<StepOutcome, OpError> {
    match &step.kind {
        StepKind::Workload {
            group,
            op,
            nodes,
            to,
            ..
        } => match (op, to) {
            (WorkloadOp::Delete, _) => {
                ctx.provider.delete_workload(group).await?;
                Ok(StepOutcome::Done("deleted".into()))
            }
            (_, Some(_)) => {
                let req = workload_request(ctx.desired, step, ctx.options.gate_timeout)
                    .ok_or_else(|| OpError::Invalid(format!("{}: not a workload step", step.id)))?;
                ctx.provider.apply_workload(&req).await?;
                Ok(StepOutcome::Done(format!(
                    "{} node(s) running",
                    nodes.len()
                )))
            }
            (_, None) => Err(OpError::Invalid(format!(
                "{}: a create/update without a spec",
                step.id
            ))),
        },
        StepKind::HealthGate { nodes, .. } => {
            ctx.provider
                .wait_ready(nodes, ctx.options.gate_timeout)
                .await?;
            Ok(StepOutcome::Done(format!("{} node(s) ready", nodes.len())))
        }
        StepKind::Fund { transfers } => fund(ctx, step, transfers).await,
        StepKind::SetKeys { node, stash } => set_keys(ctx, step, node, stash).await,
        StepKind::RegisterValidators {
            consensus: Consensus::Poa,
            members,
        } => register(ctx, step, members).await,
        StepKind::DeregisterValidators {
            consensus: Consensus::Poa,
            members,
        } => deregister(ctx, step, members).await,
        StepKind::RegisterValidators {
            consensus: Consensus::Pos,
            ..
        }
        | StepKind::DeregisterValidators {
            consensus: Consensus::Pos,
            ..
        } => Err(OpError::Unsupported(format!(
            "{}: PoS (Staking) validator membership is not carried out by this executor yet",
            step.id
        ))),
        StepKind::OnboardPara {
            para,
            mode,
            genesis,
        } => paras::onboard(ctx, step, *para, *mode, genesis).await,
        StepKind::OffboardPara { para } => paras::offboard(ctx, step, *para).await,
        StepKind::RegisterCollators {
            para,
            invulnerable,
            members,
        } => paras::register_collators(ctx, step, *para, *invulnerable, members).await,
        StepKind::DeregisterCollators { para, members } => {
            paras::deregister_collators(ctx, step, *para, members).await
        }
        StepKind::FundCollators { para, transfers } => {
            paras::fund_collators(ctx, step, *para, transfers).await
        }
        StepKind::SetCollatorKeys {
            para,
            node,
            account,
        } => paras::set_collator_keys(ctx, step, *para, node, account).await,
        StepKind::OpenHrmpChannel { channel } => hrmp::open(ctx, step, channel).await,
        StepKind::CleanHrmp {
            para,
            close,
            reopen,
        } => hrmp::clean(ctx, step, *para, close, reopen).await,
    }
}

/// The provider request a create/update workload step stands for (`None`
/// for deletions and other steps). `plan` uses it for Kubernetes dry-runs.
pub fn workload_request(
    desired: &Desired,
    step: &Step,
    ready_timeout: Duration,
) -> Option<WorkloadRequest> {
    let StepKind::Workload {
        op,
        nodes,
        to: Some(spec),
        max_unavailable,
        ..
    } = &step.kind
    else {
        return None;
    };
    if *op == WorkloadOp::Delete {
        return None;
    }
    Some(WorkloadRequest::new(
        desired,
        spec.clone(),
        nodes.clone(),
        *max_unavailable,
        ready_timeout,
    ))
}

/// Wait for a submission a previous attempt left in flight to land or
/// expire; never resubmits it.
async fn settle_previous(ctx: &StepCtx<'_>, step: &Step) -> Result<Option<Settled>, OpError> {
    let Some(rec) = ctx.journal.in_flight(&step.id).await else {
        return Ok(None);
    };
    tracing::info!(step = %step.id, hash = %rec.extrinsic_hash, "settling a submission of an earlier attempt");
    let s = settle(ctx.chain, &rec, ctx.options.poll, Duration::from_secs(30)).await?;
    let (status, err) = match &s {
        Settled::Landed => (JournalStatus::Started, None),
        Settled::Failed(e) => (
            JournalStatus::Started,
            Some(format!("earlier attempt failed: {e}")),
        ),
        Settled::Expired(e) => (
            JournalStatus::Started,
            Some(format!("earlier attempt expired: {e}")),
        ),
    };
    ctx.journal
        .set_status(&step.id, ctx.intent, status, err)
        .await?;
    Ok(Some(s))
}

/// Journals a step's submission before it is sent.
struct StepRecorder<'a> {
    journal: &'a Journal<'a>,
    step: &'a Step,
    label: &'a str,
}

#[async_trait::async_trait]
impl Recorder for StepRecorder<'_> {
    async fn record(&self, rec: &SubmissionRecord) -> Result<(), RecordError> {
        self.journal.record(&self.step.id, self.label, rec).await?;
        crash_hook(&self.step.id, "submitted");
        Ok(())
    }
}

async fn submit(
    ctx: &StepCtx<'_>,
    step: &Step,
    signer: &SignerRole,
    intent: &Intent,
) -> Result<(), OpError> {
    // The kind's description says where its extrinsics go; an intent for
    // another chain is an executor bug, caught before anything is sent.
    let declared = step.kind.describe().chain;
    if declared != Some(intent.chain()) {
        return Err(OpError::Invalid(format!(
            "{}: {} goes to {:?}, but the step kind submits to {declared:?}",
            step.id,
            intent.describe(),
            intent.chain()
        )));
    }
    let recorder = StepRecorder {
        journal: ctx.journal,
        step,
        label: ctx.intent,
    };
    ctx.chain
        .submit(step.id.as_str(), signer, intent, &recorder)
        .await
}

async fn fund(
    ctx: &StepCtx<'_>,
    step: &Step,
    transfers: &[Transfer],
) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let target = ctx.desired.funding.amount;
    let accounts: Vec<AccountId> = transfers.iter().map(|t| t.to.clone()).collect();
    let state = ctx.chain.relay(&accounts).await?;
    let todo: Vec<(AccountId, u128)> = transfers
        .iter()
        .filter(|t| state.balances.get(&t.to).copied().unwrap_or(0) < target)
        .map(|t| (t.to.clone(), t.amount))
        .collect();
    if todo.is_empty() {
        return Ok(StepOutcome::AlreadyDone(
            "every account already holds its funding".into(),
        ));
    }
    let n = todo.len();
    submit(ctx, step, &SignerRole::Sudo, &Intent::Fund(todo)).await?;
    Ok(StepOutcome::Done(format!("funded {n} account(s)")))
}

async fn set_keys(
    ctx: &StepCtx<'_>,
    step: &Step,
    node: &NodeName,
    stash: &AccountId,
) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let state = ctx.chain.relay(std::slice::from_ref(stash)).await?;
    if let Some(keys) = state.next_keys.get(stash) {
        let bytes = hex::decode(keys.trim_start_matches("0x")).map_err(|e| {
            OpError::Invalid(format!("Session.NextKeys of {stash} is not hex: {e}"))
        })?;
        if ctx.chain.has_session_keys(node, &bytes).await? {
            return Ok(StepOutcome::AlreadyDone(
                "Session.NextKeys is set and the node holds those keys".into(),
            ));
        }
    }
    let signer = ctx.chain.signer_account(&SignerRole::Stash(node.clone()))?;
    if &signer != stash {
        return Err(OpError::Invalid(format!(
            "the derivation root gives {signer} as the stash of {node}, but the plan expects {stash}: was the plan made with another root?"
        )));
    }
    let generated = ctx.chain.rotate_keys(node, stash).await?;
    let keys_hex = format!("0x{}", hex::encode(&generated.keys));
    ctx.journal
        .resolve(
            &step.id,
            ctx.intent,
            Resolved::SessionKeys,
            keys_hex.clone(),
        )
        .await?;
    // Derived keys put back into a node that lost its keystore are the ones
    // the chain already has: nothing to submit.
    if state.next_keys.get(stash).is_some_and(|k| {
        k.trim_start_matches("0x")
            .eq_ignore_ascii_case(&keys_hex[2..])
    }) {
        return Ok(StepOutcome::Done(
            "session keys inserted; Session.NextKeys already holds them".into(),
        ));
    }
    submit(
        ctx,
        step,
        &SignerRole::Stash(node.clone()),
        &Intent::SetKeys {
            keys: generated.keys,
            proof: generated.proof,
        },
    )
    .await?;
    Ok(StepOutcome::Done("session keys rotated and set".into()))
}

/// A validator that is in the set and stays in it: not queued to retire and,
/// once the next session's set is known (`Session.QueuedKeys`), in it. A
/// stash whose retirement was already processed is still in
/// `Session.Validators` for up to two sessions, but no longer queued.
pub fn staying(s: &crate::observe::model::ChainState, a: &AccountId) -> bool {
    if s.pending_retire.contains(a) {
        return false;
    }
    if s.queued.is_empty() {
        s.validators.contains(a)
    } else {
        s.queued.contains(a)
    }
}

async fn register(
    ctx: &StepCtx<'_>,
    step: &Step,
    members: &[Member],
) -> Result<StepOutcome, OpError> {
    validator_set_change(
        ctx,
        step,
        members,
        |s, a| !staying(s, a) && !s.pending_add.contains(a),
        "already validators or queued to be added",
        Intent::RegisterValidators,
        "queued in ValidatorManager.ValidatorsToAdd (active in ~2 sessions)",
    )
    .await
}

async fn deregister(
    ctx: &StepCtx<'_>,
    step: &Step,
    members: &[Member],
) -> Result<StepOutcome, OpError> {
    validator_set_change(
        ctx,
        step,
        members,
        |s, a| (staying(s, a) || s.pending_add.contains(a)) && !s.pending_retire.contains(a),
        "not validators, or already queued to retire",
        Intent::DeregisterValidators,
        "queued in ValidatorManager.ValidatorsToRetire",
    )
    .await
}

/// One sudo extrinsic for the members whose stash `needs` the change on
/// the live chain; none left means the change is already in effect.
async fn validator_set_change(
    ctx: &StepCtx<'_>,
    step: &Step,
    members: &[Member],
    needs: impl Fn(&crate::observe::model::ChainState, &AccountId) -> bool,
    already: &str,
    intent: fn(Vec<AccountId>) -> Intent,
    done: &str,
) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let s = ctx.chain.relay(&[]).await?;
    let todo: Vec<AccountId> = members
        .iter()
        .map(|m| &m.account)
        .filter(|a| needs(&s, a))
        .cloned()
        .collect();
    if todo.is_empty() {
        return Ok(StepOutcome::AlreadyDone(already.into()));
    }
    let n = todo.len();
    submit(ctx, step, &SignerRole::Sudo, &intent(todo)).await?;
    Ok(StepOutcome::Done(format!("{n} stash(es) {done}")))
}
