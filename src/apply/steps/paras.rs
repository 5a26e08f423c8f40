//! Parachain and collator steps. Like the validator steps, each settles a
//! submission an earlier attempt left in flight, re-checks its precondition
//! on the live chain (relay for onboarding, the para itself for collators)
//! and only then submits, journaling before sending.

use super::{genesis, settle_previous, submit, StepCtx, StepOutcome};
use crate::apply::ops::{CoreAssignment, Intent, OpError, SignerRole};
use crate::chain::calls::ParaKind;
use crate::chain::read::RelayDetails;
use crate::observe::model::{ChainState, ParaLifecycle, ParachainState};
use crate::plan::{Member, Resolved, Step, Transfer};
use crate::spec::ids::{AccountId, NodeName, ParaId};
use crate::spec::model::{GenesisSource, OnboardMode};
use std::collections::BTreeSet;

/// Core assignments pick a free core from one observation and submit; two at
/// once could pick the same core, so they take turns (a submission is
/// finalized, hence visible to the next observation, before the lock is
/// released).
static CORE_CHOICE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Blocks between the observed finalized block and the core assignment's
/// start (measured: finalized + 2 is taken up by the scheduler).
const CORE_BEGIN_AFTER: u32 = 2;

pub async fn onboard(
    ctx: &StepCtx<'_>,
    step: &Step,
    para: ParaId,
    mode: OnboardMode,
    source: &GenesisSource,
) -> Result<StepOutcome, OpError> {
    let kind = match mode {
        OnboardMode::Parachain => ParaKind::Parachain,
        OnboardMode::Parathread => ParaKind::Parathread,
        OnboardMode::None => {
            return Err(OpError::Invalid(format!(
                "{}: onboard = \"none\" is not an onboarding",
                step.id
            )))
        }
    };
    settle_previous(ctx, step).await?;
    let state = ctx.chain.relay(&[]).await?;
    let mut notes = Vec::new();
    let initialized = match registered(para, &state)? {
        Some(why) => {
            notes.push(why);
            false
        }
        None => {
            ensure_sudo(ctx, state.sudo_key.as_ref(), "the relay chain")?;
            let g = genesis::resolve(ctx, para, source).await?;
            journal_genesis(ctx, step, &g).await?;
            submit(
                ctx,
                step,
                &SignerRole::Sudo,
                &Intent::OnboardPara {
                    para,
                    kind,
                    genesis_head: g.head,
                    validation_code: g.code,
                },
            )
            .await?;
            notes.push(format!("para {para} onboarding (genesis from {})", g.from));
            true
        }
    };
    let assigned = match kind {
        ParaKind::Parachain => ensure_core(ctx, step, para).await?,
        ParaKind::Parathread => None,
    };
    if let Some(core) = &assigned {
        notes.push(format!("core {core} assigned"));
    }
    if !initialized && assigned.is_none() {
        return Ok(StepOutcome::AlreadyDone(notes.join("; ")));
    }
    let becomes = match kind {
        ParaKind::Parachain => "a parachain",
        ParaKind::Parathread => "a parathread",
    };
    notes.push(format!(
        "{becomes} in ~2 sessions once its code passes the PVF pre-check"
    ));
    Ok(StepOutcome::Done(notes.join("; ")))
}

async fn journal_genesis(
    ctx: &StepCtx<'_>,
    step: &Step,
    g: &genesis::Genesis,
) -> Result<(), OpError> {
    let code_hash = sp_crypto_hashing::blake2_256(&g.code);
    let values = [
        (Resolved::GenesisHead, format!("0x{}", hex::encode(&g.head))),
        (
            Resolved::ValidationCode,
            format!(
                "blake2-256 0x{} ({} bytes)",
                hex::encode(code_hash),
                g.code.len()
            ),
        ),
        (Resolved::GenesisFrom, g.from.clone()),
    ];
    for (key, value) in values {
        ctx.journal
            .resolve(&step.id, ctx.intent, key, value)
            .await?;
    }
    Ok(())
}

/// A parachain needs a core to produce blocks. polkadot 1.25's rococo
/// assigns one itself in `sudo_schedule_para_initialize` (measured, see
/// docs/chain.md); a runtime that does not gets `Coretime.assign_core` on a
/// free core. Returns the core paraform assigned, if it had to.
async fn ensure_core(ctx: &StepCtx<'_>, step: &Step, para: ParaId) -> Result<Option<u16>, OpError> {
    let _turn = CORE_CHOICE.lock().await;
    let (state, details) = ctx.chain.relay_detailed().await?;
    let lifecycle = state.paras.get(&para).map(|p| p.lifecycle);
    // Only a para that is (becoming) a parachain; never a parathread.
    if !matches!(
        lifecycle,
        Some(ParaLifecycle::Onboarding | ParaLifecycle::Parachain)
    ) || details.para_cores.contains_key(&para)
    {
        return Ok(None);
    }
    let core = free_core(para, &state, &details)?;
    ctx.journal
        .resolve(&step.id, ctx.intent, Resolved::Core, core.core.to_string())
        .await?;
    let n = core.core;
    submit(
        ctx,
        step,
        &SignerRole::Sudo,
        &Intent::AssignCore { para, core },
    )
    .await?;
    Ok(Some(n))
}

/// `Some(reason)` when the para is already registered (onboarding counts:
/// the rest happens at session boundaries); an error while it is being
/// offboarded (it cannot be onboarded again until removed).
fn registered(para: ParaId, state: &ChainState) -> Result<Option<String>, OpError> {
    match state.paras.get(&para).map(|p| p.lifecycle) {
        None => Ok(None),
        Some(l) if l.is_offboarding() => Err(OpError::Invalid(format!(
            "para {para} is still being offboarded ({l:?}); it can be onboarded again once it is \
             removed (~2 sessions): apply again then"
        ))),
        Some(l) => Ok(Some(format!("para {para} is already registered ({l:?})"))),
    }
}

/// The lowest core no registered para holds (a core left assigned to a
/// para that has since been removed is reused); one more core when all are
/// taken.
pub(crate) fn free_core(
    para: ParaId,
    state: &ChainState,
    details: &RelayDetails,
) -> Result<CoreAssignment, OpError> {
    let busy: BTreeSet<u32> = details
        .para_cores
        .iter()
        .filter(|(p, _)| **p != para && state.paras.contains_key(p))
        .flat_map(|(_, cores)| cores.iter().copied())
        .collect();
    let core = (0..=busy.len() as u32)
        .find(|c| !busy.contains(c))
        .unwrap_or(busy.len() as u32);
    let existing = details.coretime_cores.unwrap_or(0);
    let core16 = u16::try_from(core)
        .map_err(|_| OpError::Invalid(format!("para {para}: no free core below {}", u16::MAX)))?;
    let begin = u32::try_from(state.block_number)
        .unwrap_or(u32::MAX)
        .saturating_add(CORE_BEGIN_AFTER);
    Ok(CoreAssignment {
        core: core16,
        begin,
        set_cores: (core >= existing).then_some(core + 1),
    })
}

pub async fn offboard(
    ctx: &StepCtx<'_>,
    step: &Step,
    para: ParaId,
) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let state = ctx.chain.relay(&[]).await?;
    match state.paras.get(&para).map(|p| p.lifecycle) {
        None => {
            return Ok(StepOutcome::AlreadyDone(format!(
                "para {para} is not registered"
            )))
        }
        Some(l) if l.is_offboarding() => {
            return Ok(StepOutcome::AlreadyDone(format!(
                "para {para} is already being offboarded ({l:?})"
            )))
        }
        Some(ParaLifecycle::Onboarding) => {
            return Err(OpError::Invalid(format!(
                "para {para} is still onboarding: the runtime refuses to offboard it until it is \
                 a parachain or parathread (~2 sessions after onboarding); apply again then"
            )))
        }
        Some(_) => {}
    }
    ensure_sudo(ctx, state.sudo_key.as_ref(), "the relay chain")?;
    submit(ctx, step, &SignerRole::Sudo, &Intent::OffboardPara(para)).await?;
    Ok(StepOutcome::Done(format!(
        "para {para} offboarding; removed in ~2 sessions"
    )))
}

pub async fn register_collators(
    ctx: &StepCtx<'_>,
    step: &Step,
    para: ParaId,
    invulnerable: bool,
    members: &[Member],
) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let accounts: Vec<AccountId> = members.iter().map(|m| m.account.clone()).collect();
    let s = producing(ctx, para, &accounts).await?;
    if invulnerable {
        return change_invulnerables(ctx, step, para, &s, members, true).await;
    }
    let todo: Vec<&Member> = members
        .iter()
        .filter(|m| !s.candidates.contains(&m.account) && !s.invulnerables.contains(&m.account))
        .collect();
    if todo.is_empty() {
        return Ok(StepOutcome::AlreadyDone(
            "already candidates (or invulnerables)".into(),
        ));
    }
    // One extrinsic per collator, each signed by the collator itself, one
    // at a time (each is finalized before the next is sent).
    for m in &todo {
        let role = match ctx.desired.node(&m.node).and_then(|n| n.dev_key.clone()) {
            Some(dev) => SignerRole::Dev(dev),
            None => SignerRole::Collator(m.node.clone()),
        };
        let signer = ctx.chain.signer_account(&role)?;
        if signer != m.account {
            return Err(OpError::Invalid(format!(
                "the derivation root gives {signer} as the collator account of {}, but the plan \
                 expects {}: was the plan made with another root?",
                m.node, m.account
            )));
        }
        submit(ctx, step, &role, &Intent::RegisterCandidate { para })
            .await
            .map_err(|e| keys_hint(e, para))?;
    }
    Ok(StepOutcome::Done(format!(
        "{} collator(s) registered as candidates on para {para}",
        todo.len()
    )))
}

pub async fn deregister_collators(
    ctx: &StepCtx<'_>,
    step: &Step,
    para: ParaId,
    members: &[Member],
) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let s = ctx.chain.para(para, &[]).await?;
    // Only invulnerables are removed: CollatorSelection kicks a candidate
    // that stops producing blocks by itself.
    change_invulnerables(ctx, step, para, &s, members, false).await
}

/// One `Sudo.sudo` extrinsic on the para for the members whose place in
/// `CollatorSelection.Invulnerables` must change (`add`: not in it yet;
/// otherwise: still in it); none left means it is already in effect.
async fn change_invulnerables(
    ctx: &StepCtx<'_>,
    step: &Step,
    para: ParaId,
    s: &ParachainState,
    members: &[Member],
    add: bool,
) -> Result<StepOutcome, OpError> {
    let todo: Vec<AccountId> = members
        .iter()
        .map(|m| &m.account)
        .filter(|a| s.invulnerables.contains(a) != add)
        .cloned()
        .collect();
    if todo.is_empty() {
        return Ok(StepOutcome::AlreadyDone(
            if add {
                "already in CollatorSelection.Invulnerables"
            } else {
                "not in CollatorSelection.Invulnerables"
            }
            .into(),
        ));
    }
    ensure_sudo(ctx, s.sudo_key.as_ref(), &format!("para {para}"))?;
    let n = todo.len();
    let (intent, done) = if add {
        (Intent::AddInvulnerables { para, who: todo }, "added to")
    } else {
        (
            Intent::RemoveInvulnerables { para, who: todo },
            "removed from",
        )
    };
    submit(ctx, step, &SignerRole::Sudo, &intent)
        .await
        .map_err(|e| keys_hint(e, para))?;
    Ok(StepOutcome::Done(format!(
        "{n} collator(s) {done} CollatorSelection.Invulnerables of para {para}"
    )))
}

/// Root calls go through `Sudo.sudo` signed by `[secrets] sudo`: check that
/// key is the chain's sudo before sending anything.
pub(super) fn ensure_sudo(
    ctx: &StepCtx<'_>,
    key: Option<&AccountId>,
    chain: &str,
) -> Result<(), OpError> {
    let signer = ctx.chain.signer_account(&SignerRole::Sudo)?;
    match key {
        Some(k) if *k == signer => Ok(()),
        Some(k) => Err(OpError::Invalid(format!(
            "{chain}'s Sudo.Key is {k}, but [secrets] sudo signs as {signer}: set [secrets] sudo \
             to the SURI of {k} (paraform uses the network's sudo key on its parachains too)"
        ))),
        None => Err(OpError::Invalid(format!(
            "{chain} has no Sudo.Key: paraform makes root calls only through Sudo.sudo; \
             give the chain a sudo key (e.g. in its chain spec)"
        ))),
    }
}

/// `CollatorSelection` refuses accounts without session keys on the para.
fn keys_hint(e: OpError, para: ParaId) -> OpError {
    let text = e.to_string();
    if text.contains("ValidatorNotRegistered") || text.contains("NoAssociatedValidatorId") {
        OpError::Invalid(format!(
            "{text}: the collator's session keys are not set on para {para} (Session.set_keys \
             signed by the collator account, which needs funds on the para): the plan's \
             collators.{para}.keys.* steps set them; apply again to run them"
        ))
    } else {
        e
    }
}

/// How long collator steps wait for a freshly onboarded para to produce its
/// first block (onboarding takes ~2 relay sessions plus the PVF pre-check).
const FIRST_BLOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The para at its finalized block, once it has produced a block: a
/// transaction sent to a para that is still onboarding would only sit in
/// the pool (and its mortality would count blocks that do not come).
async fn producing(
    ctx: &StepCtx<'_>,
    para: ParaId,
    accounts: &[AccountId],
) -> Result<ParachainState, OpError> {
    let deadline = tokio::time::Instant::now() + FIRST_BLOCK_WAIT.max(ctx.options.gate_timeout);
    loop {
        let s = ctx.chain.para(para, accounts).await?;
        if s.block_number > 0 {
            return Ok(s);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(OpError::Invalid(format!(
                "para {para} has produced no finalized block within {:?} (is it onboarded, \
                 with a core, and does a collator with keys in its Aura authorities run?)",
                FIRST_BLOCK_WAIT.max(ctx.options.gate_timeout)
            )));
        }
        tracing::info!(%para, "waiting for the para's first finalized block");
        tokio::time::sleep(ctx.options.poll).await;
    }
}

/// Top up collator accounts on the para, from the network's sudo key (the
/// para's funding key; on penpal's development preset //Alice, sudo and
/// endowed). Accounts that reached the target meanwhile are left out.
pub async fn fund_collators(
    ctx: &StepCtx<'_>,
    step: &Step,
    para: ParaId,
    transfers: &[Transfer],
) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let target = ctx.desired.funding.amount;
    let accounts: Vec<AccountId> = transfers.iter().map(|t| t.to.clone()).collect();
    let s = producing(ctx, para, &accounts).await?;
    let todo: Vec<(AccountId, u128)> = transfers
        .iter()
        .filter(|t| s.balances.get(&t.to).copied().unwrap_or(0) < target)
        .map(|t| (t.to.clone(), t.amount))
        .collect();
    if todo.is_empty() {
        return Ok(StepOutcome::AlreadyDone(format!(
            "every collator account already holds its funding on para {para}"
        )));
    }
    let n = todo.len();
    submit(
        ctx,
        step,
        &SignerRole::Sudo,
        &Intent::FundPara {
            para,
            transfers: todo,
        },
    )
    .await?;
    Ok(StepOutcome::Done(format!(
        "funded {n} collator account(s) on para {para}"
    )))
}

/// A collator's session keys on the para: keys from the node
/// (`author_rotateKeysWithOwner`, or derived where the group asks), then
/// `Session.set_keys` on the para signed by the collator account. Done
/// already when the para's `Session.NextKeys` holds keys the node has.
pub async fn set_collator_keys(
    ctx: &StepCtx<'_>,
    step: &Step,
    para: ParaId,
    node: &NodeName,
    account: &AccountId,
) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let s = producing(ctx, para, std::slice::from_ref(account)).await?;
    if let Some(keys) = s.next_keys.get(account) {
        let bytes = hex::decode(keys.trim_start_matches("0x")).map_err(|e| {
            OpError::Invalid(format!(
                "Session.NextKeys of {account} on para {para} is not hex: {e}"
            ))
        })?;
        if ctx.chain.has_session_keys(node, &bytes).await? {
            return Ok(StepOutcome::AlreadyDone(format!(
                "Session.NextKeys on para {para} is set and {node} holds those keys"
            )));
        }
    }
    let role = SignerRole::Collator(node.clone());
    let signer = ctx.chain.signer_account(&role)?;
    if &signer != account {
        return Err(OpError::Invalid(format!(
            "the derivation root gives {signer} as the collator account of {node}, but the plan \
             expects {account}: was the plan made with another root?"
        )));
    }
    let generated = ctx.chain.rotate_keys(node, account).await?;
    let keys_hex = format!("0x{}", hex::encode(&generated.keys));
    ctx.journal
        .resolve(
            &step.id,
            ctx.intent,
            Resolved::SessionKeys,
            keys_hex.clone(),
        )
        .await?;
    if s.next_keys.get(account).is_some_and(|k| {
        k.trim_start_matches("0x")
            .eq_ignore_ascii_case(&keys_hex[2..])
    }) {
        return Ok(StepOutcome::Done(format!(
            "session keys inserted; Session.NextKeys on para {para} already holds them"
        )));
    }
    submit(
        ctx,
        step,
        &role,
        &Intent::SetParaKeys {
            para,
            keys: generated.keys,
            proof: generated.proof,
        },
    )
    .await?;
    Ok(StepOutcome::Done(format!(
        "session keys rotated and set on para {para}"
    )))
}
