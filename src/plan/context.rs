//! What every planning stage reads: the inputs, the relay chain (when live),
//! validator-set membership math, and session ETAs.

use super::step::{Eta, Pending};
use crate::observe::{ChainState, ChainView, Observed, ObservedNodeProcess, ParaLifecycle};
use crate::spec::ids::*;
use crate::spec::model::{CollatorMode, Consensus, Desired, Group, Node, Role};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) struct Ctx<'a> {
    pub desired: &'a Desired,
    /// The network's declared state: the same as `desired` when converging,
    /// what `desired` was before it was emptied when destroying. Read only to
    /// tell which chain and role an observed workload without a recorded
    /// spec serves.
    pub declared: &'a Desired,
    pub mode: super::Mode,
    pub observed: &'a Observed,
    /// The relay chain at the pinned block, when it could be read.
    pub chain: Option<&'a ChainState>,
    /// Groups whose workload must not change yet, with why: a node that is
    /// still joining the validator set (PoA `ValidatorsToAdd` cannot be
    /// cancelled: it is deregistered once active), or the collators of an
    /// undesired para that is still onboarding (it cannot be offboarded yet).
    pub held_groups: BTreeMap<GroupName, String>,
    /// Lookups the stages do per node and per account (networks have
    /// thousands of nodes: no linear scans in loops).
    index: Index<'a>,
}

#[derive(Default)]
struct Index<'a> {
    nodes: BTreeMap<&'a NodeName, (&'a Node, &'a Group)>,
    validator_accounts: BTreeSet<&'a AccountId>,
    /// Accounts of desired collating nodes (invulnerable or candidate), per para.
    collator_accounts: BTreeMap<ParaId, BTreeSet<&'a AccountId>>,
    active: BTreeSet<&'a AccountId>,
    queued: BTreeSet<&'a AccountId>,
    pending_add: BTreeSet<&'a AccountId>,
    pending_retire: BTreeSet<&'a AccountId>,
    staking: BTreeSet<&'a AccountId>,
}

fn collating(g: &Group) -> Option<ParaId> {
    match (g.chain, g.role, g.collator) {
        (
            ChainSide::Para(id),
            Role::Collator,
            Some(CollatorMode::Invulnerable | CollatorMode::Candidate),
        ) => Some(id),
        _ => None,
    }
}

impl<'a> Index<'a> {
    fn new(desired: &'a Desired, chain: Option<&'a ChainState>) -> Self {
        let mut ix = Index::default();
        for g in &desired.groups {
            for n in &g.nodes {
                ix.nodes.insert(&n.name, (n, g));
            }
            let accounts: Vec<&AccountId> =
                g.nodes.iter().filter_map(|n| n.account.as_ref()).collect();
            if g.chain == ChainSide::Relay && g.role == Role::Validator {
                ix.validator_accounts.extend(accounts.iter().copied());
            }
            if let Some(para) = collating(g) {
                ix.collator_accounts
                    .entry(para)
                    .or_default()
                    .extend(accounts);
            }
        }
        if let Some(c) = chain {
            ix.active = c.validators.iter().collect();
            ix.queued = c.queued.iter().collect();
            ix.pending_add = c.pending_add.iter().collect();
            ix.pending_retire = c.pending_retire.iter().collect();
            ix.staking = c.staking_validators.iter().collect();
        }
        ix
    }
}

/// Where an account stands with respect to the validator set, counting
/// effects already submitted that land at a session boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Membership {
    /// Active now and stays.
    Member,
    /// Not active yet, will be (registered, queued). `cancellable` is false
    /// for PoA `ValidatorsToAdd`: a deregistration submitted now would be
    /// undone by the addition at the same session change.
    Joining { sessions: u32, cancellable: bool },
    /// Active now, will leave (retiring, or dropped from the queued set).
    Leaving { sessions: u32 },
    /// Not active, not joining.
    Out,
}

impl<'a> Ctx<'a> {
    pub fn new(
        desired: &'a Desired,
        declared: &'a Desired,
        observed: &'a Observed,
        mode: super::Mode,
    ) -> Self {
        let mut ctx = Ctx {
            desired,
            declared,
            mode,
            observed,
            chain: observed.relay_state(),
            held_groups: BTreeMap::new(),
            index: Index::new(desired, observed.relay_state()),
        };
        ctx.held_groups = ctx.holds();
        ctx
    }

    /// Destroy holds nothing back: the network ends, so an effect that
    /// lands later (a PoA addition, an onboarding) concerns no running node.
    fn holds(&self) -> BTreeMap<GroupName, String> {
        let mut held = BTreeMap::new();
        let Some(chain) = self.chain else { return held };
        if self.mode == super::Mode::Destroy {
            return held;
        }
        for obs in self.observed_accounts() {
            if self.is_desired_validator(&obs.node.name, obs.account) {
                continue;
            }
            if let Membership::Joining {
                sessions,
                cancellable: false,
            } = self.membership(obs.account)
            {
                let at = chain.session_index.saturating_add(sessions);
                held.entry(obs.group.clone()).or_insert_with(|| {
                    format!(
                        "{} is still joining the validator set (session {at}); it is deregistered and this \
                         workload changed by a later plan",
                        obs.node.name
                    )
                });
            }
        }
        for w in self.observed.workloads.values() {
            let Some(ChainSide::Para(id)) = w.spec.as_ref().map(|s| s.chain_side) else {
                continue;
            };
            let onboarding = chain
                .paras
                .get(&id)
                .is_some_and(|p| p.lifecycle == ParaLifecycle::Onboarding);
            if onboarding && self.desired.parachain(id).is_none() {
                held.entry(w.group.clone()).or_insert_with(|| {
                    format!("para {id} is still onboarding; it is offboarded and this workload removed by a later plan")
                });
            }
        }
        held
    }

    /// The chain an observed workload serves: its recorded spec's, else its
    /// declared group's.
    pub fn live_side(&self, w: &crate::observe::ObservedWorkload) -> Option<ChainSide> {
        match &w.spec {
            Some(s) => Some(s.chain_side),
            None => self.declared.group(&w.group).map(|g| g.chain),
        }
    }

    /// Does the observed workload of `group` run genesis authorities (its
    /// recorded spec says so, else its declared group)?
    pub fn runs_genesis_authorities(&self, group: &GroupName) -> bool {
        match self
            .observed
            .workloads
            .get(group)
            .and_then(|w| w.spec.as_ref())
        {
            Some(s) => s.genesis_authorities,
            None => self
                .declared
                .group(group)
                .is_some_and(|g| g.genesis_authorities),
        }
    }

    pub fn destroying(&self) -> bool {
        self.mode == super::Mode::Destroy
    }

    /// Short human text for why chain facts are unknown.
    pub fn chain_unknown_reason(&self) -> &'static str {
        match self.observed.relay {
            ChainView::NotRunning => "relay chain not running yet",
            ChainView::Unreachable { .. } => "relay chain unreachable",
            ChainView::Live(_) => "relay chain live",
        }
    }

    /// Validator-set membership of `account` (meaningful when the chain is live).
    ///
    /// PoA follows `ValidatorManager`: at a session change the next set is the
    /// active set minus `ValidatorsToRetire` plus `ValidatorsToAdd`, and it is
    /// queued for one session (`Session.QueuedKeys`) before becoming active.
    /// PoS: the intent (`Staking.Validators`) decides; the election follows.
    pub fn membership(&self, account: &AccountId) -> Membership {
        let ix = &self.index;
        let active = ix.active.contains(account);
        let (future, sessions, cancellable) = match self.desired.relay.consensus {
            Consensus::Poa => {
                if ix.pending_add.contains(account) {
                    (true, 2, false)
                } else if ix.pending_retire.contains(account) {
                    (false, 2, true)
                } else if ix.queued.is_empty() {
                    // Queued set not observed: the active set is the best guess.
                    (active, 1, true)
                } else {
                    (ix.queued.contains(account), 1, true)
                }
            }
            Consensus::Pos => (ix.staking.contains(account), 2, true),
        };
        match (active, future) {
            (true, true) => Membership::Member,
            (false, true) => Membership::Joining {
                sessions,
                cancellable,
            },
            (true, false) => Membership::Leaving { sessions },
            (false, false) => Membership::Out,
        }
    }

    /// `n` of the BFT bound: the active set when live, else the desired validators.
    pub fn validator_count(&self) -> usize {
        match self.chain {
            Some(c) if !c.validators.is_empty() => c.validators.len(),
            _ => self.desired.all_validators().count(),
        }
    }

    /// ⌊(n−1)/3⌋: validators that may be offline at once.
    pub fn byzantine_tolerance(&self) -> usize {
        self.validator_count().saturating_sub(1) / 3
    }

    /// The rolling-update width of validator groups: `max(1, ⌊(n−1)/3⌋)`.
    pub fn validator_max_unavailable(&self) -> u32 {
        u32::try_from(self.byzantine_tolerance().max(1)).unwrap_or(u32::MAX)
    }

    /// ETA of an effect landing `sessions` session changes after submission.
    pub fn eta(&self, sessions: u32, what: &str) -> Eta {
        match self.chain {
            Some(c) => {
                let at = c.session_index.saturating_add(sessions);
                Eta {
                    session: Some(at),
                    text: format!("{what} at session {at}"),
                }
            }
            None => Eta {
                session: None,
                text: format!("{what} {sessions} sessions after it is applied"),
            },
        }
    }

    pub fn pending(&self, subject: String, what: &str, sessions: u32, eta_what: &str) -> Pending {
        Pending {
            subject,
            what: what.to_string(),
            eta: Some(self.eta(sessions, eta_what)),
        }
    }

    /// The desired node of that name, with its group.
    pub fn desired_node(&self, node: &NodeName) -> Option<(&'a Node, &'a Group)> {
        self.index.nodes.get(node).copied()
    }

    /// Is `node` (observed with `account`) still a desired relay validator with that account?
    pub fn is_desired_validator(&self, node: &NodeName, account: &AccountId) -> bool {
        let by_node = self.desired_node(node).is_some_and(|(n, g)| {
            n.role == Role::Validator
                && g.chain == ChainSide::Relay
                && n.account.as_ref().is_none_or(|a| a == account)
        });
        // Never drop an account that some desired validator node owns.
        by_node || self.index.validator_accounts.contains(account)
    }

    /// Is `node` (observed with `account`) still a desired, registered collator of `para`?
    pub fn is_desired_collator(&self, para: ParaId, node: &NodeName, account: &AccountId) -> bool {
        let by_node = self.desired_node(node).is_some_and(|(n, g)| {
            collating(g) == Some(para) && n.account.as_ref().is_none_or(|a| a == account)
        });
        by_node
            || self
                .index
                .collator_accounts
                .get(&para)
                .is_some_and(|s| s.contains(account))
    }

    /// Is `node` of `group` observed running?
    pub fn runs(&self, group: &GroupName, node: &NodeName) -> bool {
        self.observed
            .workloads
            .get(group)
            .is_some_and(|w| w.nodes.iter().any(|p| &p.name == node && p.running))
    }

    /// Observed nodes with an account, with their group and the side/role the
    /// live spec records (`None` when the provider did not record the spec).
    pub fn observed_accounts(&self) -> impl Iterator<Item = ObservedAccount<'a>> + 'a {
        self.observed.workloads.values().flat_map(|w| {
            let side = w.spec.as_ref().map(|s| (s.chain_side, s.role));
            w.nodes.iter().filter_map(move |n| {
                n.account.as_ref().map(|account| ObservedAccount {
                    group: &w.group,
                    node: n,
                    account,
                    side,
                })
            })
        })
    }
}

#[derive(Clone, Copy)]
pub(crate) struct ObservedAccount<'a> {
    pub group: &'a GroupName,
    pub node: &'a ObservedNodeProcess,
    pub account: &'a AccountId,
    pub side: Option<(ChainSide, Role)>,
}

/// `node validator-a-1` / `nodes validator-a-1, validator-a-2`.
pub(crate) fn nodes_phrase(nodes: &[&NodeName]) -> String {
    let names: Vec<&str> = nodes.iter().map(|n| n.as_str()).collect();
    match names.len() {
        1 => format!("node {}", names[0]),
        _ => format!("nodes {}", names.join(", ")),
    }
}
