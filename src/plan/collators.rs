//! Collators per para, all on the para itself: funding of the collator
//! accounts (one batch per para, from the sudo/funding key), session keys
//! (one step per collator: rotate on the node, `Session.set_keys` on the
//! para), then membership in `CollatorSelection` (one registration step for
//! invulnerables, one for candidates, one deregistration).
//!
//! Genesis-authority groups (`--alice` …) author with keys the para's
//! genesis holds: never keyed, funded or registered. Only invulnerables are
//! deregistered (`remove_invulnerable` via sudo); a candidate whose node is
//! gone is kicked by `CollatorSelection` itself once it stops producing
//! blocks. A registered collator with keys set authors from the para
//! session after next: shown as pending with an ETA in para sessions.

use super::builder::StepSet;
use super::context::Ctx;
use super::step::{Action, Eta, Member, Pending, Step, StepId, StepKind, Transfer};
use super::workloads::WorkloadOutcome;
use crate::observe::{ParaLifecycle, ParachainState, ParachainView};
use crate::spec::ids::*;
use crate::spec::model::{CollatorMode, OnboardMode, Role};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub(crate) struct ParaCollators {
    pub invulnerables: Vec<(Member, GroupName)>,
    pub candidates: Vec<(Member, GroupName)>,
    pub deregister: Vec<(Member, GroupName)>,
    /// Collators whose session keys are not in the para's `Session.NextKeys`.
    pub keys: Vec<(Member, GroupName)>,
    /// Transfers on the para to collators that will sign there (keys,
    /// candidacy) and hold less than the funding target.
    pub fund: Vec<Transfer>,
    /// Registered collators with keys that do not author yet.
    pub pending: Vec<Pending>,
    /// Why registration is planned (view live or not).
    pub live: bool,
}

pub(crate) type CollatorNeeds = BTreeMap<ParaId, ParaCollators>;

/// Registered collators with keys set enter `Aura.Authorities` at a para
/// session change: queued at the next one, authoring from the one after.
fn authoring_eta(para: ParaId, s: &ParachainState, queued: bool) -> Eta {
    let sessions = if queued { 1 } else { 2 };
    let at = s.session_index.saturating_add(sessions);
    let blocks = s.session_length.map(|len| {
        let len = u64::from(len);
        (s.block_number / len + u64::from(sessions)) * len - s.block_number
    });
    Eta {
        session: Some(at),
        text: match blocks {
            Some(b) => format!("authors from para {para} session {at} (in ~{b} para blocks)"),
            None => format!("authors from para {para} session {at}"),
        },
    }
}

/// Is `keys` (hex SCALE of an aura-only `SessionKeys`) an Aura authority?
fn authoring(s: &ParachainState, keys: &str) -> bool {
    let k = keys.trim_start_matches("0x").to_ascii_lowercase();
    s.aura_authorities
        .iter()
        .any(|a| a.trim_start_matches("0x").eq_ignore_ascii_case(&k))
}

pub(crate) fn analyze(ctx: &Ctx<'_>) -> CollatorNeeds {
    let mut needs = CollatorNeeds::new();
    for para in &ctx.desired.parachains {
        // A para that is not onboarded produces no blocks: nothing to register on.
        if para.onboard == OnboardMode::None {
            continue;
        }
        let state = match ctx.observed.parachains.get(&para.id) {
            Some(ParachainView::Live(s)) => Some(s),
            _ => None,
        };
        let mut p = ParaCollators {
            live: state.is_some(),
            ..Default::default()
        };
        let target = ctx.desired.funding.amount;
        for group in ctx.desired.groups.iter().filter(|g| {
            g.chain == ChainSide::Para(para.id)
                && g.role == Role::Collator
                && !g.genesis_authorities
        }) {
            if !matches!(
                group.collator,
                Some(CollatorMode::Invulnerable | CollatorMode::Candidate)
            ) {
                continue;
            }
            for node in &group.nodes {
                let Some(account) = node.account.clone() else {
                    continue;
                };
                let member = (
                    Member {
                        node: node.name.clone(),
                        account,
                    },
                    group.name.clone(),
                );
                let acc = &member.0.account;
                let keys = state.and_then(|s| s.next_keys.get(acc));
                let registered = state
                    .is_some_and(|s| s.invulnerables.contains(acc) || s.candidates.contains(acc));
                let mut signs = keys.is_none();
                if keys.is_none() {
                    p.keys.push(member.clone());
                }
                if let (Some(s), Some(k), true) = (state, keys, registered) {
                    if !authoring(s, k) {
                        let queued = s.queued.contains(acc);
                        p.pending.push(Pending {
                            subject: member.0.node.to_string(),
                            what: format!(
                                "collator of para {} with keys set, {} the next Aura authorities",
                                para.id,
                                if queued {
                                    "queued for"
                                } else {
                                    "to be queued for"
                                }
                            ),
                            eta: Some(authoring_eta(para.id, s, queued)),
                        });
                    }
                }
                match group.collator {
                    Some(CollatorMode::Invulnerable) => {
                        if state.is_none_or(|s| !s.invulnerables.contains(acc)) {
                            p.invulnerables.push(member.clone());
                        }
                    }
                    Some(CollatorMode::Candidate) => {
                        if state.is_none_or(|s| {
                            !s.candidates.contains(acc) && !s.invulnerables.contains(acc)
                        }) {
                            signs = true;
                            p.candidates.push(member.clone());
                        }
                    }
                    Some(CollatorMode::None) | None => {}
                }
                // The para's balances are unknown while it is not observable:
                // send the full amount (the executor re-checks).
                let free = state
                    .and_then(|s| s.balances.get(acc).copied())
                    .unwrap_or(0);
                if signs && free < target {
                    p.fund.push(Transfer {
                        node: member.0.node.clone(),
                        to: acc.clone(),
                        amount: target - free,
                    });
                }
            }
        }
        p.deregister = leaving(ctx, para.id, state);
        if !(p.invulnerables.is_empty()
            && p.candidates.is_empty()
            && p.deregister.is_empty()
            && p.keys.is_empty()
            && p.fund.is_empty()
            && p.pending.is_empty())
        {
            needs.insert(para.id, p);
        }
    }

    // Destroy empties the paras of the collators paraform manages before
    // they are offboarded (a para merely no longer desired goes as a whole).
    let leaving_paras: BTreeSet<ParaId> = ctx
        .observed
        .workloads
        .values()
        .filter_map(|w| match ctx.live_side(w) {
            Some(ChainSide::Para(id)) if ctx.destroying() => Some(id),
            _ => None,
        })
        .collect();
    for id in leaving_paras {
        let Some(ParachainView::Live(state)) = ctx.observed.parachains.get(&id) else {
            continue;
        };
        let mut deregister = leaving(ctx, id, Some(state));
        // `remove_invulnerable` fails once no more than MinEligibleCollators
        // are left (penpal: 4): remove only as many as may go, in node
        // order, or none when the minimum is unknown. The rest stay
        // registered on the para that is offboarded next.
        let eligible = state.invulnerables.len() + state.candidates.len();
        let may_go = state
            .min_eligible_collators
            .map_or(0, |min| eligible.saturating_sub(min as usize));
        deregister.sort_by(|a, b| a.0.node.cmp(&b.0.node));
        deregister.truncate(may_go);
        if !deregister.is_empty() {
            needs.insert(
                id,
                ParaCollators {
                    live: true,
                    deregister,
                    ..Default::default()
                },
            );
        }
    }
    needs
}

/// Observed collators of `para` that are no longer desired and still in its
/// `CollatorSelection.Invulnerables`. None when the para is not observable
/// (no collator of it answers) or not onboarded: no extrinsic could land. Candidates are
/// left: CollatorSelection kicks a candidate that stops producing blocks.
fn leaving(
    ctx: &Ctx<'_>,
    para: ParaId,
    state: Option<&ParachainState>,
) -> Vec<(Member, GroupName)> {
    let mut out = vec![];
    // Only a para that produces blocks includes an extrinsic: onboarded on
    // the relay chain (not onboarding, not offboarding).
    let producing = ctx.chain.and_then(|c| c.paras.get(&para)).is_some_and(|p| {
        matches!(
            p.lifecycle,
            ParaLifecycle::Parachain | ParaLifecycle::Parathread
        )
    });
    if !producing {
        return out;
    }
    let mut seen = BTreeSet::new();
    for obs in ctx.observed_accounts() {
        let side = obs
            .side
            .map(|(side, _)| side)
            .or_else(|| ctx.declared.group(obs.group).map(|g| g.chain));
        if side != Some(ChainSide::Para(para))
            || ctx.is_desired_collator(para, &obs.node.name, obs.account)
            || (ctx.destroying() && ctx.runs_genesis_authorities(obs.group))
            || !seen.insert(obs.account.clone())
        {
            continue;
        }
        if state.is_some_and(|s| s.invulnerables.contains(obs.account)) {
            out.push((
                Member {
                    node: obs.node.name.clone(),
                    account: obs.account.clone(),
                },
                obs.group.clone(),
            ));
        }
    }
    out
}

/// Emit the collator steps; returns what is pending at para session changes.
pub(crate) fn emit(
    needs: &CollatorNeeds,
    wl: &WorkloadOutcome,
    steps: &mut StepSet,
) -> Vec<Pending> {
    let mut pending = Vec::new();
    for (para, p) in needs {
        pending.extend(p.pending.iter().cloned());
        let onboard = StepId::para_onboard(*para);
        // Every para step needs the para's nodes up (chain access) and the
        // para onboarded (it produces no block before).
        let base = |groups: &mut dyn Iterator<Item = &GroupName>, steps: &StepSet| {
            let mut d = vec![];
            if steps.contains(&onboard) {
                d.push(onboard.clone());
            }
            let groups: BTreeSet<&GroupName> = groups.collect();
            d.extend(
                groups
                    .into_iter()
                    .filter(|g| wl.gated.contains(*g))
                    .map(StepId::gate),
            );
            d
        };
        let para_groups: Vec<GroupName> = wl
            .gated
            .iter()
            .filter(|g| {
                p.keys
                    .iter()
                    .chain(&p.invulnerables)
                    .chain(&p.candidates)
                    .any(|(_, pg)| pg == *g)
            })
            .cloned()
            .collect();

        let fund = StepId::collators_fund(*para);
        let funded: BTreeSet<&AccountId> = p.fund.iter().map(|t| &t.to).collect();
        if !p.fund.is_empty() {
            let mut transfers = p.fund.clone();
            transfers.sort_by(|a, b| a.node.cmp(&b.node));
            let n = transfers.len();
            steps.insert(Step {
                id: fund.clone(),
                action: Action::Create,
                kind: StepKind::FundCollators {
                    para: *para,
                    transfers,
                },
                reason: if p.live {
                    format!("{n} collator account(s) below the funding target on para {para}")
                } else {
                    format!("para {para} not observable: {n} collator account(s) to fund on it")
                },
                depends_on: base(&mut para_groups.iter(), steps),
                eta: None,
            });
        }

        let mut key_steps: BTreeMap<&AccountId, StepId> = BTreeMap::new();
        for (m, group) in &p.keys {
            let id = StepId::collator_keys(*para, &m.node);
            let mut depends_on = base(&mut std::iter::once(group), steps);
            if funded.contains(&m.account) {
                depends_on.push(fund.clone());
            }
            steps.insert(Step {
                id: id.clone(),
                action: Action::Create,
                kind: StepKind::SetCollatorKeys {
                    para: *para,
                    node: m.node.clone(),
                    account: m.account.clone(),
                },
                reason: if p.live {
                    format!("no session keys in Session.NextKeys of para {para}")
                } else {
                    format!("para {para} not observable: session keys to set")
                },
                depends_on,
                eta: None,
            });
            key_steps.insert(&m.account, id);
        }

        let register = |members: &[(Member, GroupName)],
                        invulnerable: bool,
                        id: StepId,
                        steps: &mut StepSet| {
            if members.is_empty() {
                return;
            }
            let mut depends_on = base(&mut members.iter().map(|(_, g)| g), steps);
            // CollatorSelection refuses accounts without keys on the para.
            depends_on.extend(
                members
                    .iter()
                    .filter_map(|(m, _)| key_steps.get(&m.account).cloned()),
            );
            if members.iter().any(|(m, _)| funded.contains(&m.account)) {
                depends_on.push(fund.clone());
            }
            let set = if invulnerable {
                "CollatorSelection.Invulnerables"
            } else {
                "CollatorSelection.CandidateList"
            };
            let reason = if p.live {
                format!("not in {set}: {}", node_list(members))
            } else {
                format!("para {para} not observable: {}", node_list(members))
            };
            steps.insert(Step {
                id,
                action: Action::Create,
                kind: StepKind::RegisterCollators {
                    para: *para,
                    invulnerable,
                    members: members.iter().map(|(m, _)| m.clone()).collect(),
                },
                reason,
                depends_on,
                eta: None,
            });
        };
        register(
            &p.invulnerables,
            true,
            StepId::collators_register(*para),
            steps,
        );
        register(
            &p.candidates,
            false,
            StepId::collators_register_candidates(*para),
            steps,
        );

        if !p.deregister.is_empty() {
            let id = StepId::collators_deregister(*para);
            steps.insert(Step {
                id: id.clone(),
                action: Action::Delete,
                kind: StepKind::DeregisterCollators {
                    para: *para,
                    members: p.deregister.iter().map(|(m, _)| m.clone()).collect(),
                },
                reason: format!("no longer desired collators: {}", node_list(&p.deregister)),
                depends_on: vec![],
                eta: None,
            });
            for (_, group) in &p.deregister {
                steps.depend(&StepId::workload(group), &id);
            }
            // Collators leave while the para still produces blocks.
            steps.depend(&StepId::para_offboard(*para), &id);
        }
    }
    pending
}

fn node_list(members: &[(Member, GroupName)]) -> String {
    members
        .iter()
        .map(|(m, _)| m.node.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
