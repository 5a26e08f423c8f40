//! HRMP channels between the network's parachains (`[[hrmp]]`).
//!
//! paraform manages the channels whose two ends are parachains of the
//! network: a desired channel that is not there is force-opened; one that
//! is there but not desired (or open with other limits) goes. The relay's
//! root can only close channels para by para (`Hrmp.force_clean_hrmp`), so
//! a para that loses a channel has all of its channels cleaned and the
//! desired ones requested again in the same extrinsic. Everything lands at
//! the next session change: already-requested channels are pending, not
//! drift. A channel to a para that is not onboarded yet waits (pending) for
//! a later plan: `force_open_hrmp_channel` needs both paras registered.

use super::builder::StepSet;
use super::context::Ctx;
use super::step::{Action, Pending, Step, StepId, StepKind};
use crate::observe::model::{ChainState, ChannelState, ParaLifecycle};
use crate::spec::ids::ParaId;
use crate::spec::model::{ChannelId, HrmpChannel};
use std::collections::{BTreeMap, BTreeSet};

/// A para that HRMP accepts as a channel end (`Paras::is_valid_para`).
fn valid(chain: &ChainState, para: ParaId) -> bool {
    matches!(
        chain.paras.get(&para).map(|p| p.lifecycle),
        Some(
            ParaLifecycle::Parachain
                | ParaLifecycle::Parathread
                | ParaLifecycle::UpgradingParathread
                | ParaLifecycle::DowngradingParachain
        )
    )
}

fn limits_match(c: &HrmpChannel, state: ChannelState) -> bool {
    match state {
        ChannelState::Open {
            max_capacity,
            max_message_size,
        } => max_capacity == c.max_capacity && max_message_size == c.max_message_size,
        ChannelState::Requested | ChannelState::Closing => true,
    }
}

pub(crate) fn emit(ctx: &Ctx<'_>, steps: &mut StepSet) -> Vec<Pending> {
    let mut pending = Vec::new();
    let desired = &ctx.desired.hrmp;
    if desired.is_empty() && ctx.chain.is_none_or(|c| c.hrmp.is_empty()) {
        return pending;
    }
    let Some(chain) = ctx.chain else {
        // Fresh network: the paras are onboarded by this plan first.
        for c in desired {
            pending.push(Pending {
                subject: format!("hrmp {}", c.id),
                what: "opened by a later plan, once both paras are onboarded".into(),
                eta: None,
            });
        }
        return pending;
    };
    let managed: BTreeSet<ParaId> = ctx.desired.parachains.iter().map(|p| p.id).collect();
    let wanted: BTreeMap<ChannelId, &HrmpChannel> = desired.iter().map(|c| (c.id, c)).collect();

    // Channels that go: between managed paras, not desired or with other
    // limits (not already closing). Each is cleaned through its sender.
    let mut close: BTreeMap<ParaId, Vec<ChannelId>> = BTreeMap::new();
    for o in &chain.hrmp {
        if !managed.contains(&o.id.sender) || !managed.contains(&o.id.recipient) {
            continue;
        }
        let goes = match wanted.get(&o.id) {
            None => o.state != ChannelState::Closing,
            Some(c) => !limits_match(c, o.state),
        };
        if goes {
            close.entry(o.id.sender).or_default().push(o.id);
        }
    }

    // Desired channels: present, pending, waiting for a para, or to open —
    // by a clean of one of its ends if there is one (the last such clean,
    // so a later clean does not remove it again), else on their own.
    let cleaned: Vec<ParaId> = close.keys().copied().collect();
    let mut reopen: BTreeMap<ParaId, Vec<HrmpChannel>> = BTreeMap::new();
    for c in desired {
        let subject = format!("hrmp {}", c.id);
        let last_clean = cleaned
            .iter()
            .rev()
            .find(|p| **p == c.id.sender || **p == c.id.recipient)
            .copied();
        let state = chain.channel(&c.id);
        if last_clean.is_none() {
            match state {
                Some(ChannelState::Open { .. }) => continue,
                Some(ChannelState::Requested) => {
                    pending.push(ctx.pending(subject, "open requested", 1, "opens"));
                    continue;
                }
                Some(ChannelState::Closing) => {
                    pending.push(ctx.pending(
                        subject,
                        "closing; opened again by a later plan",
                        1,
                        "closed",
                    ));
                    continue;
                }
                None => {}
            }
        }
        let waits_for: Vec<ParaId> = [c.id.sender, c.id.recipient]
            .into_iter()
            .filter(|p| !valid(chain, *p))
            .collect();
        if !waits_for.is_empty() {
            let names: Vec<String> = waits_for.iter().map(|p| format!("para {p}")).collect();
            let verb = if names.len() == 1 { "is" } else { "are" };
            pending.push(Pending {
                subject,
                what: format!(
                    "opened by a later plan, once {} {verb} onboarded",
                    names.join(" and ")
                ),
                eta: None,
            });
            continue;
        }
        match last_clean {
            Some(p) => reopen.entry(p).or_default().push(*c),
            None => steps.insert(Step {
                id: StepId::hrmp_open(&c.id),
                action: Action::Create,
                kind: StepKind::OpenHrmpChannel { channel: *c },
                reason: "no such channel in Hrmp.HrmpChannels".into(),
                depends_on: vec![],
                eta: Some(ctx.eta(1, "opens")),
            }),
        }
    }

    let mut previous: Option<StepId> = None;
    for (para, gone) in close {
        let id = StepId::hrmp_clean(para);
        let names: Vec<String> = gone.iter().map(|c| c.to_string()).collect();
        let reopen = reopen.remove(&para).unwrap_or_default();
        let reason = if reopen.is_empty() {
            format!("not in desired state: {}", names.join(", "))
        } else {
            let again: Vec<String> = reopen.iter().map(|c| c.id.to_string()).collect();
            format!(
                "not in desired state (or other limits): {}; the relay closes channels para by para, so {} are requested again",
                names.join(", "),
                again.join(", ")
            )
        };
        steps.insert(Step {
            id: id.clone(),
            action: Action::Delete,
            kind: StepKind::CleanHrmp {
                para,
                close: gone,
                reopen,
            },
            reason,
            // Cleans take turns: each removes what an earlier one reopened
            // only if that channel was not assigned to it (see above).
            depends_on: previous.iter().cloned().collect(),
            eta: Some(ctx.eta(1, "closed")),
        });
        previous = Some(id);
    }
    pending
}
