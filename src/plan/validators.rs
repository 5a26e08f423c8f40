//! Relay validators: session keys per node, one batched registration, one
//! batched deregistration, and what is already pending at a session boundary.

use super::context::{Ctx, Membership};
use super::step::{Action, Member, Pending, Step, StepId, StepKind};
use super::workloads::WorkloadOutcome;
use crate::observe::ChainState;
use crate::spec::ids::*;
use crate::spec::model::{Consensus, Role};
use std::collections::BTreeSet;

pub(crate) struct KeysNeed {
    pub node: NodeName,
    pub group: GroupName,
    pub stash: AccountId,
    /// Create when the chain has no keys for the stash, Update (rotate) otherwise.
    pub action: Action,
    pub reason: String,
}

/// A deregistration member, with the group whose workload step must wait for it.
pub(crate) struct Leaving {
    pub member: Member,
    pub group: GroupName,
}

#[derive(Default)]
pub(crate) struct ValidatorNeeds {
    pub keys: Vec<KeysNeed>,
    pub register: Vec<Member>,
    pub deregister: Vec<Leaving>,
    pub pending: Vec<Pending>,
}

impl ValidatorNeeds {
    /// Stashes that must be funded: they sign `set_keys` (and, PoS, bond).
    pub fn accounts_to_fund(&self) -> Vec<Member> {
        let mut seen = BTreeSet::new();
        self.keys
            .iter()
            .map(|k| Member {
                node: k.node.clone(),
                account: k.stash.clone(),
            })
            .chain(self.register.iter().cloned())
            .filter(|m| seen.insert(m.account.clone()))
            .collect()
    }
}

fn set_name(consensus: Consensus) -> &'static str {
    match consensus {
        Consensus::Poa => "Session.Validators",
        Consensus::Pos => "Staking.Validators",
    }
}

pub(crate) fn analyze(ctx: &Ctx<'_>, wl: &WorkloadOutcome) -> ValidatorNeeds {
    let mut needs = ValidatorNeeds::default();

    for node in ctx.desired.managed_validators() {
        let Some(stash) = node.account.clone() else {
            continue;
        };
        // A held group's new nodes do not exist yet: they come with a later plan.
        if ctx.held_groups.contains_key(&node.group) && !ctx.runs(&node.group, &node.name) {
            continue;
        }
        let mut reasons = Vec::new();
        let on_chain_keys = ctx.chain.map(|c| c.next_keys.contains_key(&stash));
        let process = ctx
            .observed
            .workloads
            .get(&node.group)
            .and_then(|w| w.nodes.iter().find(|p| p.name == node.name));
        if wl.fresh_keystore.contains(&node.name) {
            let why = if process.is_some() {
                "node restarts with an empty keystore"
            } else {
                "new node: empty keystore"
            };
            reasons.push(why.to_string());
        }
        match on_chain_keys {
            None => reasons.push(format!(
                "{}: Session.NextKeys unknown",
                ctx.chain_unknown_reason()
            )),
            Some(false) => reasons.push("no Session.NextKeys for the stash".to_string()),
            Some(true) => {}
        }
        if ctx
            .observed
            .nodes
            .get(&node.name)
            .and_then(|n| n.has_session_keys)
            == Some(false)
        {
            reasons.push("node lost its session keys (author_hasSessionKeys = false)".to_string());
        }
        if reasons.is_empty() && process.is_some_and(|p| !p.running) {
            // A down node cannot be asked whether it holds its keys; it is
            // started by this plan and rotated once up (the executor skips
            // the rotation if the node still holds the stash's keys).
            reasons.push("node is down: its keystore is unverified".to_string());
        }
        if !reasons.is_empty() {
            needs.keys.push(KeysNeed {
                node: node.name.clone(),
                group: node.group.clone(),
                stash: stash.clone(),
                action: if on_chain_keys == Some(true) {
                    Action::Update
                } else {
                    Action::Create
                },
                reason: reasons.join("; "),
            });
        }

        let member = Member {
            node: node.name.clone(),
            account: stash,
        };
        match ctx.chain {
            None => needs.register.push(member),
            Some(_) => match ctx.membership(&member.account) {
                Membership::Member => {}
                Membership::Joining { sessions, .. } => needs.pending.push(ctx.pending(
                    member.node.to_string(),
                    "joins the active set",
                    sessions,
                    "effective",
                )),
                Membership::Leaving { .. } | Membership::Out => needs.register.push(member),
            },
        }
    }

    let mut seen = BTreeSet::new();
    for obs in ctx.observed_accounts() {
        if ctx.is_desired_validator(&obs.node.name, obs.account)
            || !seen.insert(obs.account.clone())
        {
            continue;
        }
        // Destroy keeps the genesis authorities in the set: the chain keeps
        // a validator set (and finality) until its last node stops.
        if ctx.destroying() && ctx.runs_genesis_authorities(obs.group) {
            continue;
        }
        let leaving = Leaving {
            member: Member {
                node: obs.node.name.clone(),
                account: obs.account.clone(),
            },
            group: obs.group.clone(),
        };
        match ctx.chain {
            // Membership unknown: list the nodes whose live spec says they
            // validated; the executor re-checks each one before submitting.
            // Destroy: an unobservable chain cannot be reached, and ends with its nodes.
            None if ctx.destroying() => {}
            None => {
                if obs.side == Some((ChainSide::Relay, Role::Validator)) {
                    needs.deregister.push(leaving);
                }
            }
            Some(_) => match ctx.membership(obs.account) {
                Membership::Member
                | Membership::Joining {
                    cancellable: true, ..
                } => needs.deregister.push(leaving),
                Membership::Joining {
                    sessions,
                    cancellable: false,
                } => needs.pending.push(ctx.pending(
                    obs.node.name.to_string(),
                    if ctx.destroying() {
                        "joins the active set (a PoA addition cannot be cancelled); its node is removed"
                    } else {
                        "joins the active set; deregistered by a later plan once it has joined"
                    },
                    sessions,
                    "effective",
                )),
                Membership::Leaving { sessions } => needs.pending.push(ctx.pending(
                    obs.node.name.to_string(),
                    "leaves the active set",
                    sessions,
                    "effective",
                )),
                Membership::Out => {}
            },
        }
    }
    needs
}

/// Emit the keys, registration and deregistration steps (dependencies on the
/// fund step and on health gates are added here; chain gates by the caller).
pub(crate) fn emit(
    ctx: &Ctx<'_>,
    needs: &ValidatorNeeds,
    wl: &WorkloadOutcome,
    funded: &BTreeSet<AccountId>,
    steps: &mut super::builder::StepSet,
) {
    let consensus = ctx.desired.relay.consensus;
    let fund = StepId::fund();
    for k in &needs.keys {
        let mut depends_on = vec![];
        if wl.gated.contains(&k.group) {
            depends_on.push(StepId::gate(&k.group));
        }
        if funded.contains(&k.stash) {
            depends_on.push(fund.clone());
        }
        steps.insert(Step {
            id: StepId::keys(&k.node),
            action: k.action,
            kind: StepKind::SetKeys {
                node: k.node.clone(),
                stash: k.stash.clone(),
            },
            reason: k.reason.clone(),
            depends_on,
            eta: None,
        });
    }

    if !needs.register.is_empty() {
        let mut depends_on: Vec<StepId> = needs
            .register
            .iter()
            .map(|m| StepId::keys(&m.node))
            .filter(|id| steps.contains(id))
            .collect();
        if needs.register.iter().any(|m| funded.contains(&m.account)) {
            depends_on.push(fund.clone());
        }
        let reason = match ctx.chain {
            Some(_) => format!(
                "not in {}: {}",
                set_name(consensus),
                node_list(&needs.register)
            ),
            None => format!(
                "{}: {}",
                ctx.chain_unknown_reason(),
                node_list(&needs.register)
            ),
        };
        steps.insert(Step {
            id: StepId::validators_register(),
            action: Action::Create,
            kind: StepKind::RegisterValidators {
                consensus,
                members: needs.register.clone(),
            },
            reason,
            depends_on,
            eta: Some(ctx.eta(2, "effective")),
        });
    }

    if !needs.deregister.is_empty() {
        let members: Vec<Member> = needs.deregister.iter().map(|l| l.member.clone()).collect();
        steps.insert(Step {
            id: StepId::validators_deregister(),
            action: Action::Delete,
            kind: StepKind::DeregisterValidators {
                consensus,
                members: members.clone(),
            },
            reason: if ctx.destroying() {
                format!(
                    "destroy: leave the validator set before the nodes stop: {}",
                    node_list(&members)
                )
            } else {
                format!("no longer desired validators: {}", node_list(&members))
            },
            depends_on: vec![],
            eta: Some(ctx.eta(2, "effective")),
        });
        // Deregistrations precede the deletion / update of their nodes.
        let dereg = StepId::validators_deregister();
        for l in &needs.deregister {
            steps.depend(&StepId::workload(&l.group), &dereg);
        }
    }
}

fn node_list(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| m.node.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Accounts of observed validator nodes that are active now (for the BFT bound).
pub(crate) fn is_active(chain: Option<&ChainState>, account: &AccountId) -> bool {
    chain.is_none_or(|c| c.validators.contains(account))
}
