//! Parachain lifecycle on the relay chain: onboard / offboard, and onboarding
//! or offboarding already under way (pending, not drift).
//!
//! A para registered with another mode than desired (parathread vs parachain)
//! is left as it is: upgrades and downgrades are not planned.

use super::builder::StepSet;
use super::context::Ctx;
use super::step::{Action, Pending, Step, StepId, StepKind};
use super::workloads::WorkloadOutcome;
use crate::observe::ParaLifecycle;
use crate::spec::ids::*;
use crate::spec::model::{GenesisSource, OnboardMode, Role};
use std::collections::BTreeSet;

/// An onboarding para cannot be offboarded (`CannotOffboard`) until it is onboarded.
const LATER: &str = "onboarding; offboarded by a later plan once onboarded";

fn becomes(mode: OnboardMode) -> &'static str {
    match mode {
        OnboardMode::Parathread => "becomes a parathread",
        _ => "becomes a parachain",
    }
}

/// Paras whose collator workloads paraform runs (live spec, else desired group).
fn paras_with_workloads(ctx: &Ctx<'_>) -> BTreeSet<ParaId> {
    ctx.observed
        .workloads
        .values()
        .filter_map(|w| ctx.live_side(w))
        .filter_map(|side| match side {
            ChainSide::Para(id) => Some(id),
            ChainSide::Relay => None,
        })
        .collect()
}

/// Emit onboard / offboard steps; returns what is already under way.
pub(crate) fn emit(ctx: &Ctx<'_>, wl: &WorkloadOutcome, steps: &mut StepSet) -> Vec<Pending> {
    let mut pending = Vec::new();
    let mut offboarded = BTreeSet::new();
    let mut offboard = |para: ParaId, reason: &str, steps: &mut StepSet| {
        steps.insert(Step {
            id: StepId::para_offboard(para),
            action: Action::Delete,
            kind: StepKind::OffboardPara { para },
            reason: reason.to_string(),
            depends_on: vec![],
            eta: Some(ctx.eta(2, "removed")),
        });
        offboarded.insert(para);
    };

    for para in &ctx.desired.parachains {
        let state = ctx.chain.and_then(|c| c.paras.get(&para.id));
        let subject = format!("para {}", para.id);
        match (para.onboard, state) {
            (OnboardMode::None, Some(s)) if s.lifecycle.is_offboarding() => {
                pending.push(ctx.pending(subject, "offboarding", 2, "removed"));
            }
            (OnboardMode::None, Some(s)) if s.lifecycle == ParaLifecycle::Onboarding => {
                pending.push(ctx.pending(subject, LATER, 2, "onboarded"));
            }
            (OnboardMode::None, Some(_)) => offboard(para.id, "onboard = none", steps),
            (OnboardMode::None, None) => {}
            (mode, Some(s)) if s.lifecycle == ParaLifecycle::Onboarding => {
                let what = format!("onboarding, {}", becomes(mode));
                pending.push(ctx.pending(subject, &what, 2, becomes(mode)));
            }
            (_, Some(s)) if s.lifecycle.is_offboarding() => {
                pending.push(ctx.pending(
                    subject,
                    "offboarding; onboarded again once removed",
                    2,
                    "removed",
                ));
            }
            (_, Some(_)) => {}
            (mode, None) => {
                let mut depends_on = vec![];
                if para.genesis == GenesisSource::Collator {
                    // The genesis head and code are exported from a running collator.
                    depends_on.extend(
                        ctx.desired
                            .groups
                            .iter()
                            .filter(|g| {
                                g.chain == ChainSide::Para(para.id) && g.role == Role::Collator
                            })
                            .filter(|g| wl.gated.contains(&g.name))
                            .map(|g| StepId::gate(&g.name)),
                    );
                }
                let reason = match ctx.chain {
                    Some(_) => "not registered on the relay chain".to_string(),
                    None => format!("{}: not onboarded", ctx.chain_unknown_reason()),
                };
                steps.insert(Step {
                    id: StepId::para_onboard(para.id),
                    action: Action::Create,
                    kind: StepKind::OnboardPara {
                        para: para.id,
                        mode,
                        genesis: para.genesis.clone(),
                    },
                    reason,
                    depends_on,
                    eta: Some(ctx.eta(2, becomes(mode))),
                });
            }
        }
    }

    // Paras paraform ran collators for, no longer desired.
    for id in paras_with_workloads(ctx) {
        if ctx.desired.parachain(id).is_some() {
            continue;
        }
        match ctx.chain {
            // Destroy: an unobservable relay chain cannot be reached.
            None if ctx.destroying() => {}
            None => offboard(
                id,
                "not in desired state (relay chain not observable: checked when applied)",
                steps,
            ),
            Some(c) => match c.paras.get(&id) {
                Some(s) if s.lifecycle.is_offboarding() => {
                    pending.push(ctx.pending(format!("para {id}"), "offboarding", 2, "removed"))
                }
                Some(s) if s.lifecycle == ParaLifecycle::Onboarding => pending.push(ctx.pending(
                    format!("para {id}"),
                    if ctx.destroying() {
                        "onboarding: cannot be offboarded before it is onboarded; stays registered"
                    } else {
                        LATER
                    },
                    2,
                    "onboarded",
                )),
                Some(_) => offboard(
                    id,
                    if ctx.destroying() {
                        "destroy"
                    } else {
                        "not in desired state"
                    },
                    steps,
                ),
                None => {}
            },
        }
    }

    // Collator workloads of an offboarded para go after the offboarding.
    for (name, w) in &ctx.observed.workloads {
        if let Some(ChainSide::Para(id)) = ctx.live_side(w) {
            if offboarded.contains(&id) && wl.ops.contains_key(name) {
                steps.depend(&StepId::workload(name), &StepId::para_offboard(id));
            }
        }
    }
    pending
}
