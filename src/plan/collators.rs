//! Collator membership per para (`CollatorSelection` on the para): one
//! registration step for invulnerables, one for candidates, one deregistration.
//!
//! Only invulnerables are deregistered (`remove_invulnerable` via sudo); a
//! candidate whose node is gone is kicked by `CollatorSelection` itself once
//! it stops producing blocks.

use super::builder::StepSet;
use super::context::Ctx;
use super::step::{Action, Member, Step, StepId, StepKind};
use super::workloads::WorkloadOutcome;
use crate::observe::ParachainView;
use crate::spec::ids::*;
use crate::spec::model::{CollatorMode, OnboardMode, Role};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub(crate) struct ParaCollators {
    pub invulnerables: Vec<(Member, GroupName)>,
    pub candidates: Vec<(Member, GroupName)>,
    pub deregister: Vec<(Member, GroupName)>,
    /// Why registration is planned (view live or not).
    pub live: bool,
}

pub(crate) type CollatorNeeds = BTreeMap<ParaId, ParaCollators>;

pub(crate) fn accounts_to_fund(needs: &CollatorNeeds) -> Vec<Member> {
    needs
        .values()
        .flat_map(|p| {
            p.invulnerables
                .iter()
                .chain(&p.candidates)
                .map(|(m, _)| m.clone())
        })
        .collect()
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
        for group in ctx
            .desired
            .groups
            .iter()
            .filter(|g| g.chain == ChainSide::Para(para.id) && g.role == Role::Collator)
        {
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
                match group.collator {
                    Some(CollatorMode::Invulnerable) => {
                        if state.is_none_or(|s| !s.invulnerables.contains(acc)) {
                            p.invulnerables.push(member);
                        }
                    }
                    Some(CollatorMode::Candidate) => {
                        if state.is_none_or(|s| {
                            !s.candidates.contains(acc) && !s.invulnerables.contains(acc)
                        }) {
                            p.candidates.push(member);
                        }
                    }
                    Some(CollatorMode::None) | None => {}
                }
            }
        }
        let mut seen = BTreeSet::new();
        for obs in ctx.observed_accounts() {
            let side = obs
                .side
                .map(|(side, _)| side)
                .or_else(|| ctx.desired.group(obs.group).map(|g| g.chain));
            if side != Some(ChainSide::Para(para.id))
                || ctx.is_desired_collator(para.id, &obs.node.name, obs.account)
                || !seen.insert(obs.account.clone())
            {
                continue;
            }
            // Unknown membership (para not observable): listed; the executor re-checks.
            if state.is_none_or(|s| s.invulnerables.contains(obs.account)) {
                p.deregister.push((
                    Member {
                        node: obs.node.name.clone(),
                        account: obs.account.clone(),
                    },
                    obs.group.clone(),
                ));
            }
        }
        if !(p.invulnerables.is_empty() && p.candidates.is_empty() && p.deregister.is_empty()) {
            needs.insert(para.id, p);
        }
    }
    needs
}

pub(crate) fn emit(
    needs: &CollatorNeeds,
    wl: &WorkloadOutcome,
    funded: &BTreeSet<AccountId>,
    steps: &mut StepSet,
) {
    for (para, p) in needs {
        let onboard = StepId::para_onboard(*para);
        let register = |members: &[(Member, GroupName)],
                        invulnerable: bool,
                        id: StepId,
                        steps: &mut StepSet| {
            if members.is_empty() {
                return;
            }
            let mut depends_on = vec![];
            if steps.contains(&onboard) {
                depends_on.push(onboard.clone());
            }
            let groups: BTreeSet<&GroupName> = members.iter().map(|(_, g)| g).collect();
            depends_on.extend(
                groups
                    .into_iter()
                    .filter(|g| wl.gated.contains(*g))
                    .map(StepId::gate),
            );
            if members.iter().any(|(m, _)| funded.contains(&m.account)) {
                depends_on.push(StepId::fund());
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
                known_after_apply: vec![],
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
                known_after_apply: vec![],
            });
            for (_, group) in &p.deregister {
                steps.depend(&StepId::workload(group), &id);
            }
        }
    }
}

fn node_list(members: &[(Member, GroupName)]) -> String {
    members
        .iter()
        .map(|(m, _)| m.node.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
