//! Validators view: each desired relay validator (genesis authorities
//! included), validator nodes that run but are no longer desired, and
//! on-chain validators that match no node (external).

use crate::observe::model::ChainState;
use crate::observe::Observed;
use crate::spec::ids::{AccountId, ChainSide, GroupName, NodeName};
use crate::spec::model::{Consensus, Desired, Role};
use serde::Serialize;
use std::collections::BTreeSet;

/// Membership of a stash in the validator set, as one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorState {
    /// In `Session.Validators` and stays.
    Active,
    /// Active, in `ValidatorManager.ValidatorsToRetire`: leaves at a session boundary.
    Retiring,
    /// Active, not in the queued next set: leaves at the next session.
    Leaving,
    /// Not active, in the queued next set: joins at the next session.
    Queued,
    /// In `ValidatorManager.ValidatorsToAdd`: joins in two sessions.
    PendingAdd,
    /// PoS: a validator intent (`Staking.Validators`) not yet elected.
    Waiting,
    /// Not a validator, not joining.
    None,
    /// The relay chain was not observed (or the node has no derived account).
    Unknown,
}

impl ValidatorState {
    pub fn as_str(self) -> &'static str {
        match self {
            ValidatorState::Active => "active",
            ValidatorState::Retiring => "active, retiring",
            ValidatorState::Leaving => "active, leaving",
            ValidatorState::Queued => "queued (next session)",
            ValidatorState::PendingAdd => "pending add",
            ValidatorState::Waiting => "waiting (intent)",
            ValidatorState::None => "not a validator",
            ValidatorState::Unknown => "?",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidatorRow {
    /// `None` for an external validator.
    pub node: Option<NodeName>,
    pub group: Option<GroupName>,
    /// SS58 address (chain prefix) of the stash; `None` when not derived
    /// (no derivation root given).
    pub stash: Option<String>,
    /// On chain but matching no node paraform knows.
    pub external: bool,
    /// In the desired state (false for leftovers and externals).
    pub desired: bool,
    /// Runs with built-in dev keys from genesis (never rotated by paraform).
    pub genesis_authority: bool,
    /// `Session.NextKeys` has keys for the stash.
    pub keys_on_chain: Option<bool>,
    /// The node's keystore holds those keys (`author_hasSessionKeys`).
    /// `None` when unknown or when no keys are on chain.
    pub keys_in_keystore: Option<bool>,
    /// In `Session.Validators`.
    pub active: Option<bool>,
    /// In `Session.QueuedKeys` (the next session's set); `None` when that
    /// set was not observed.
    pub queued: Option<bool>,
    pub pending_add: Option<bool>,
    pub pending_retire: Option<bool>,
    pub state: ValidatorState,
}

pub(super) fn rows(desired: &Desired, observed: &Observed) -> Vec<ValidatorRow> {
    let chain = observed.relay_state();
    let consensus = desired.relay.consensus;
    let mut listed: BTreeSet<AccountId> = BTreeSet::new();
    let mut rows = Vec::new();

    for node in desired.all_validators() {
        let genesis = desired
            .group(&node.group)
            .is_some_and(|g| g.genesis_authorities);
        let account = super::account_of(node, observed);
        if let Some(a) = account {
            listed.insert(a.clone());
        }
        rows.push(row(
            Some((&node.name, &node.group)),
            account,
            true,
            genesis,
            chain,
            consensus,
            observed,
        ));
    }

    // Validator nodes that still run but are not desired (scaled down, removed).
    for (group, w) in &observed.workloads {
        let is_validator = w
            .spec
            .as_ref()
            .map(|s| s.role == Role::Validator && s.chain_side == ChainSide::Relay)
            .or_else(|| {
                desired
                    .group(group)
                    .map(|g| g.role == Role::Validator && g.chain == ChainSide::Relay)
            })
            .unwrap_or(false);
        if !is_validator {
            continue;
        }
        for p in &w.nodes {
            if desired.node(&p.name).is_some() {
                continue;
            }
            if let Some(a) = &p.account {
                if !listed.insert(a.clone()) {
                    continue;
                }
            }
            let genesis = w.spec.as_ref().is_some_and(|s| s.genesis_authorities);
            rows.push(row(
                Some((&p.name, group)),
                p.account.as_ref(),
                false,
                genesis,
                chain,
                consensus,
                observed,
            ));
        }
    }

    // On chain, matching no node.
    if let Some(c) = chain {
        let on_chain: BTreeSet<&AccountId> = c
            .validators
            .iter()
            .chain(&c.queued)
            .chain(&c.pending_add)
            .chain(&c.pending_retire)
            .chain(&c.staking_validators)
            .collect();
        for a in on_chain {
            if listed.contains(a) {
                continue;
            }
            let mut r = row(None, Some(a), false, false, chain, consensus, observed);
            r.external = true;
            rows.push(r);
        }
    }
    rows
}

fn row(
    node: Option<(&NodeName, &GroupName)>,
    account: Option<&AccountId>,
    desired: bool,
    genesis: bool,
    chain: Option<&ChainState>,
    consensus: Consensus,
    observed: &Observed,
) -> ValidatorRow {
    let on = |set: &Vec<AccountId>| -> Option<bool> { Some(set.contains(account?)) };
    let known = chain.zip(account);
    let keys_on_chain = known.map(|(c, a)| c.next_keys.contains_key(a));
    let keys_in_keystore = match keys_on_chain {
        Some(true) => node
            .and_then(|(n, _)| observed.nodes.get(n))
            .filter(|p| p.rpc_reachable)
            .and_then(|p| p.has_session_keys),
        _ => None,
    };
    let active = chain.and_then(|c| on(&c.validators));
    // An empty queued set means it was not read (a live chain always has one).
    let queued = chain
        .filter(|c| !c.queued.is_empty())
        .and_then(|c| on(&c.queued));
    let pending_add = chain.and_then(|c| on(&c.pending_add));
    let pending_retire = chain.and_then(|c| on(&c.pending_retire));
    let intent = chain.and_then(|c| on(&c.staking_validators));
    let state = match known {
        None => ValidatorState::Unknown,
        Some(_) => summary(
            active == Some(true),
            queued,
            pending_add == Some(true),
            pending_retire == Some(true),
            intent == Some(true),
            consensus,
        ),
    };
    ValidatorRow {
        node: node.map(|(n, _)| n.clone()),
        group: node.map(|(_, g)| g.clone()),
        stash: account.map(|a| super::address(a, chain)),
        external: false,
        desired,
        genesis_authority: genesis,
        keys_on_chain,
        keys_in_keystore,
        active,
        queued,
        pending_add,
        pending_retire,
        state,
    }
}

/// The same reading of the set as the planner (`plan::context::membership`).
fn summary(
    active: bool,
    queued: Option<bool>,
    pending_add: bool,
    pending_retire: bool,
    intent: bool,
    consensus: Consensus,
) -> ValidatorState {
    if active {
        if pending_retire {
            ValidatorState::Retiring
        } else if queued == Some(false)
            || (consensus == Consensus::Pos && !intent && queued.is_none())
        {
            ValidatorState::Leaving
        } else {
            ValidatorState::Active
        }
    } else if pending_add {
        ValidatorState::PendingAdd
    } else if queued == Some(true) {
        ValidatorState::Queued
    } else if intent {
        ValidatorState::Waiting
    } else {
        ValidatorState::None
    }
}
