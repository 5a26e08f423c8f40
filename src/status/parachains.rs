//! Parachains view: desired paras, then paras registered on the relay chain
//! that are not desired.
//!
//! "Advancing" needs two observations: a head read once says nothing about
//! progress. When an earlier observation is given (`status --previous`), a
//! para advances if its relay-side head (`Paras.Heads`) changed or, failing
//! that, its own chain's finalized block number grew; otherwise it is `None`.

use crate::observe::model::{ChainState, ChannelState, ParaLifecycle, ParachainView};
use crate::observe::Observed;
use crate::spec::ids::{HexHash, ParaId};
use crate::spec::model::{CollatorMode, Desired, OnboardMode};
use serde::Serialize;
use std::collections::BTreeSet;

/// What was seen of the para's own chain (through a collator's RPC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ParaChainStatus {
    NotRunning,
    Unreachable { endpoint: String, error: String },
    Live { block_number: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParaRow {
    pub id: ParaId,
    pub desired: bool,
    /// Desired onboarding (`None` when not desired).
    pub onboard: Option<OnboardMode>,
    /// Registered on the relay chain: `None` when the relay chain was not observed.
    pub registered: Option<bool>,
    pub lifecycle: Option<ParaLifecycle>,
    /// Head hash the relay chain holds for the para.
    pub head: Option<HexHash>,
    /// Compared with an earlier observation; `None` without one.
    pub advancing: Option<bool>,
    pub code_hash: Option<HexHash>,
    /// A coretime core is assigned.
    pub has_core: Option<bool>,
    pub chain: ParaChainStatus,
    /// Collators the desired state registers (mode invulnerable or candidate).
    pub collators_desired: u32,
    /// Invulnerables plus candidates on the para; `None` when its chain was not read.
    pub collators_on_chain: Option<u32>,
    /// HRMP channels from this para: desired, on the relay, or both.
    pub hrmp_out: Vec<HrmpOut>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HrmpOut {
    pub recipient: ParaId,
    pub desired: bool,
    /// What the relay has; `None` when it has no such channel (or was not observed).
    pub state: Option<ChannelState>,
}

impl HrmpOut {
    /// `2001 open`, `2001 requested`, `2001 missing`, `2001* open` (not desired).
    pub fn short(&self) -> String {
        let state = match self.state {
            Some(ChannelState::Open { .. }) => "open",
            Some(ChannelState::Requested) => "requested",
            Some(ChannelState::Closing) => "closing",
            None => "missing",
        };
        let mark = if self.desired { "" } else { "*" };
        format!("{}{mark} {state}", self.recipient)
    }
}

fn hrmp_out(desired: &Desired, chain: Option<&ChainState>, id: ParaId) -> Vec<HrmpOut> {
    let mut out: Vec<HrmpOut> = desired
        .hrmp
        .iter()
        .filter(|c| c.id.sender == id)
        .map(|c| HrmpOut {
            recipient: c.id.recipient,
            desired: true,
            state: chain.and_then(|s| s.channel(&c.id)),
        })
        .collect();
    for o in chain.map(|c| c.hrmp.as_slice()).unwrap_or_default() {
        if o.id.sender == id && !out.iter().any(|h| h.recipient == o.id.recipient) {
            out.push(HrmpOut {
                recipient: o.id.recipient,
                desired: false,
                state: Some(o.state),
            });
        }
    }
    out.sort_by_key(|h| h.recipient);
    out
}

pub(super) fn rows(
    desired: &Desired,
    observed: &Observed,
    previous: Option<&Observed>,
) -> Vec<ParaRow> {
    let chain = observed.relay_state();
    let mut ids: Vec<ParaId> = desired.parachains.iter().map(|p| p.id).collect();
    let desired_ids: BTreeSet<ParaId> = ids.iter().copied().collect();
    if let Some(c) = chain {
        ids.extend(c.paras.keys().filter(|id| !desired_ids.contains(id)));
    }
    ids.extend(
        observed
            .parachains
            .keys()
            .filter(|id| !ids_contains(&ids, **id))
            .copied()
            .collect::<Vec<_>>(),
    );

    ids.into_iter()
        .map(|id| {
            let spec = desired.parachain(id);
            let state = chain.and_then(|c| c.paras.get(&id));
            let para_view = observed.parachains.get(&id);
            let collators_desired = spec
                .map(|p| {
                    p.groups
                        .iter()
                        .filter_map(|g| desired.group(g))
                        .filter(|g| {
                            matches!(
                                g.collator,
                                Some(CollatorMode::Invulnerable | CollatorMode::Candidate)
                            )
                        })
                        .map(|g| g.replicas)
                        .sum()
                })
                .unwrap_or(0);
            ParaRow {
                id,
                desired: spec.is_some(),
                onboard: spec.map(|p| p.onboard),
                registered: chain.map(|c| c.paras.contains_key(&id)),
                lifecycle: state.map(|s| s.lifecycle),
                head: state.and_then(|s| s.head.clone()),
                advancing: advancing(id, chain, observed, previous),
                code_hash: state.and_then(|s| s.code_hash.clone()),
                has_core: state.and_then(|s| s.has_core),
                chain: match para_view {
                    None | Some(ParachainView::NotRunning) => ParaChainStatus::NotRunning,
                    Some(ParachainView::Unreachable { endpoint, error }) => {
                        ParaChainStatus::Unreachable {
                            endpoint: endpoint.clone(),
                            error: error.clone(),
                        }
                    }
                    Some(ParachainView::Live(s)) => ParaChainStatus::Live {
                        block_number: s.block_number,
                    },
                },
                collators_desired,
                collators_on_chain: match para_view {
                    Some(ParachainView::Live(s)) => {
                        let set: BTreeSet<_> =
                            s.invulnerables.iter().chain(&s.candidates).collect();
                        Some(set.len() as u32)
                    }
                    _ => None,
                },
                hrmp_out: hrmp_out(desired, chain, id),
            }
        })
        .collect()
}

fn ids_contains(ids: &[ParaId], id: ParaId) -> bool {
    ids.contains(&id)
}

fn advancing(
    id: ParaId,
    chain: Option<&ChainState>,
    observed: &Observed,
    previous: Option<&Observed>,
) -> Option<bool> {
    let previous = previous?;
    let head = |c: Option<&ChainState>| {
        c.and_then(|c| c.paras.get(&id))
            .and_then(|p| p.head.clone())
    };
    // Relay-side head, read at two different relay blocks.
    if let (Some(now), Some(before), Some(c), Some(p)) = (
        head(chain),
        head(previous.relay_state()),
        chain,
        previous.relay_state(),
    ) {
        if c.block_number > p.block_number {
            return Some(now != before);
        }
    }
    // Else the para's own chain.
    let para_block = |o: &Observed| match o.parachains.get(&id) {
        Some(ParachainView::Live(s)) => Some(s.block_number),
        _ => None,
    };
    match (para_block(observed), para_block(previous)) {
        (Some(now), Some(before)) if now != before => Some(now > before),
        _ => None,
    }
}
