//! HRMP channel steps on the relay. Each settles an earlier attempt's
//! submission, re-reads the channels at the latest finalized block and
//! submits only what is still missing.

use super::paras::ensure_sudo;
use super::{settle_previous, submit, StepCtx, StepOutcome};
use crate::apply::ops::{Intent, OpError, SignerRole};
use crate::observe::model::{ChainState, ChannelState, ParaLifecycle};
use crate::plan::Step;
use crate::spec::ids::ParaId;
use crate::spec::model::{ChannelId, HrmpChannel};

/// Whether the relay has the channel as desired: open with its limits, or
/// requested (it opens at the next session change).
fn in_place(state: &ChainState, c: &HrmpChannel) -> bool {
    match state.channel(&c.id) {
        Some(ChannelState::Open {
            max_capacity,
            max_message_size,
        }) => max_capacity == c.max_capacity && max_message_size == c.max_message_size,
        Some(ChannelState::Requested) => true,
        Some(ChannelState::Closing) | None => false,
    }
}

/// `Hrmp` refuses channels to paras that are not registered (onboarding
/// does not count).
fn registered(state: &ChainState, para: ParaId) -> Result<(), OpError> {
    match state.paras.get(&para).map(|p| p.lifecycle) {
        Some(
            ParaLifecycle::Parachain
            | ParaLifecycle::Parathread
            | ParaLifecycle::UpgradingParathread
            | ParaLifecycle::DowngradingParachain,
        ) => Ok(()),
        other => Err(OpError::Invalid(format!(
            "para {para} is {}: HRMP channels need both paras onboarded; run plan again once it is",
            other.map_or("not registered".to_string(), |l| format!("{l:?}"))
        ))),
    }
}

pub async fn open(ctx: &StepCtx<'_>, step: &Step, c: &HrmpChannel) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let state = ctx.chain.relay(&[]).await?;
    if in_place(&state, c) {
        return Ok(StepOutcome::AlreadyDone(format!(
            "channel {} is open or requested",
            c.id
        )));
    }
    registered(&state, c.id.sender)?;
    registered(&state, c.id.recipient)?;
    ensure_sudo(ctx, state.sudo_key.as_ref(), "the relay chain")?;
    submit(ctx, step, &SignerRole::Sudo, &Intent::OpenHrmpChannel(*c)).await?;
    Ok(StepOutcome::Done(format!(
        "channel {} requested; open at the next session change",
        c.id
    )))
}

pub async fn clean(
    ctx: &StepCtx<'_>,
    step: &Step,
    para: ParaId,
    close: &[ChannelId],
    reopen: &[HrmpChannel],
) -> Result<StepOutcome, OpError> {
    settle_previous(ctx, step).await?;
    let state = ctx.chain.relay(&[]).await?;
    let left: Vec<&ChannelId> = close
        .iter()
        .filter(|id| !matches!(state.channel(id), None | Some(ChannelState::Closing)))
        .collect();
    if left.is_empty() && reopen.iter().all(|c| in_place(&state, c)) {
        return Ok(StepOutcome::AlreadyDone(format!(
            "the channels of para {para} are as desired"
        )));
    }
    ensure_sudo(ctx, state.sudo_key.as_ref(), "the relay chain")?;
    // The weight witness: the para's channels as they are now (open or
    // closing; requests are not indexed).
    let exists = |s: &ChannelState| !matches!(s, ChannelState::Requested);
    let count = |end: fn(&ChannelId) -> ParaId| {
        let n = state
            .hrmp
            .iter()
            .filter(|o| end(&o.id) == para && exists(&o.state))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    };
    let inbound = count(|id| id.recipient);
    let outbound = count(|id| id.sender);
    submit(
        ctx,
        step,
        &SignerRole::Sudo,
        &Intent::CleanHrmp {
            para,
            inbound,
            outbound,
            reopen: reopen.to_vec(),
        },
    )
    .await?;
    Ok(StepOutcome::Done(format!(
        "{} channel(s) of para {para} closed, {} requested again",
        inbound + outbound,
        reopen.len()
    )))
}
