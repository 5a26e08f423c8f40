//! Safety rules. `plan()` only records violations; refusing is the caller's
//! call (`Plan::check_safety`, `--allow-unsafe`), so that a refused plan can
//! still be shown in full.

use super::context::Ctx;
use super::step::{Plan, SafetyRule, SafetyViolation, StepId, WorkloadOp};
use super::validators::{is_active, ValidatorNeeds};
use super::workloads::{runs_validators, WorkloadOutcome};
use crate::spec::ids::*;
use crate::spec::model::{OnboardMode, Role};
use std::collections::BTreeSet;

impl SafetyRule {
    /// The name users pass around and see in errors.
    pub fn as_str(self) -> &'static str {
        match self {
            SafetyRule::ByzantineBound => "byzantine_bound",
            SafetyRule::ParaWithoutCollator => "para_without_collator",
            SafetyRule::GenesisReplaced => "genesis_replaced",
        }
    }
}

/// A plan that breaks safety rules, refused without `--allow-unsafe`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plan refused by safety rules: {}; re-run with --allow-unsafe to apply it anyway", describe(.violations))]
pub struct SafetyError {
    pub violations: Vec<SafetyViolation>,
}

fn describe(violations: &[SafetyViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} ({})", v.rule.as_str(), v.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Plan {
    /// `Err` naming every violated rule, unless `allow_unsafe`.
    pub fn check_safety(&self, allow_unsafe: bool) -> Result<(), SafetyError> {
        if allow_unsafe || self.safety.is_empty() {
            Ok(())
        } else {
            Err(SafetyError {
                violations: self.safety.clone(),
            })
        }
    }
}

pub(crate) fn check(
    ctx: &Ctx<'_>,
    wl: &WorkloadOutcome,
    validators: &ValidatorNeeds,
    steps: &super::builder::StepSet,
) -> Vec<SafetyViolation> {
    let mut out = Vec::new();
    // Destroy: no node stops before the last chain step (teardown edges), so
    // nothing is offline while the chain has to finalize; deregistrations
    // land two sessions on, when the network is gone (decision 0012).
    if ctx.destroying() {
        return out;
    }
    if let Some(v) = byzantine_bound(ctx, wl, validators) {
        out.push(v);
    }
    out.extend(paras_without_collators(ctx, steps));
    out.extend(genesis_replaced(ctx));
    out
}

/// Deregistered + removed active validators + the largest rolling batch
/// (validator groups roll one after another) must stay within ⌊(n−1)/3⌋.
fn byzantine_bound(
    ctx: &Ctx<'_>,
    wl: &WorkloadOutcome,
    needs: &ValidatorNeeds,
) -> Option<SafetyViolation> {
    let n = ctx.validator_count();
    let f = ctx.byzantine_tolerance();
    // Node accounts as observed, else as desired; unknown accounts count as active.
    let active = |node: &NodeName, account: Option<&AccountId>| -> bool {
        let account =
            account.or_else(|| ctx.desired_node(node).and_then(|(n, _)| n.account.as_ref()));
        account.is_none_or(|a| is_active(ctx.chain, a))
    };

    let deregistered: BTreeSet<&NodeName> = needs
        .deregister
        .iter()
        .filter(|l| is_active(ctx.chain, &l.member.account))
        .map(|l| &l.member.node)
        .collect();

    let mut removed: BTreeSet<&NodeName> = BTreeSet::new();
    for (name, op) in &wl.ops {
        let Some(live) = ctx.observed.workloads.get(name) else {
            continue;
        };
        let desired = ctx.desired.group(name);
        // Validator nodes by their live spec, or by the desired group when
        // the provider did not record one.
        let validators = runs_validators(None, Some(live))
            || (live.spec.is_none() && runs_validators(desired, None));
        if !validators {
            continue;
        }
        for p in &live.nodes {
            let gone = *op == WorkloadOp::Delete
                || desired.is_none_or(|g| {
                    !g.nodes
                        .iter()
                        .any(|n| n.name == p.name && n.role == Role::Validator)
                });
            if gone && p.running && active(&p.name, p.account.as_ref()) {
                removed.insert(&p.name);
            }
        }
    }
    let out_of_set: BTreeSet<&NodeName> = deregistered.union(&removed).copied().collect();

    let width = ctx.validator_max_unavailable() as usize;
    let mut largest = (0usize, None::<&GroupName>);
    for (name, nodes) in &wl.rolling {
        if !runs_validators(ctx.desired.group(name), ctx.observed.workloads.get(name)) {
            continue;
        }
        let live = ctx.observed.workloads.get(name);
        let active_nodes = nodes
            .iter()
            .filter(|n| !out_of_set.contains(n))
            .filter(|n| {
                let acc = live
                    .and_then(|w| w.nodes.iter().find(|p| &p.name == *n))
                    .and_then(|p| p.account.as_ref());
                active(n, acc)
            })
            .count();
        let batch = active_nodes.min(width);
        if batch > largest.0 {
            largest = (batch, Some(name));
        }
    }

    let total = out_of_set.len() + largest.0;
    if total <= f {
        return None;
    }
    let basis = if ctx.chain.is_some() {
        "active"
    } else {
        "desired"
    };
    let mut parts = vec![];
    if !deregistered.is_empty() {
        parts.push(format!("{} deregistered", deregistered.len()));
    }
    let removed_only = removed.difference(&deregistered).count();
    if removed_only > 0 {
        parts.push(format!("{removed_only} removed"));
    }
    if let (batch, Some(group)) = largest {
        parts.push(format!("{batch} restarting at once in {group}"));
    }
    Some(SafetyViolation {
        rule: SafetyRule::ByzantineBound,
        message: format!(
            "{total} of {n} {basis} validators would be offline or out of the set at once ({}); at most {f} may be",
            parts.join(", ")
        ),
    })
}

/// An onboarded (or being onboarded) para that stays desired must keep a collator node.
fn paras_without_collators(ctx: &Ctx<'_>, steps: &super::builder::StepSet) -> Vec<SafetyViolation> {
    let mut out = vec![];
    for para in ctx
        .desired
        .parachains
        .iter()
        .filter(|p| p.onboard != OnboardMode::None)
    {
        let side = ChainSide::Para(para.id);
        let desired_collators = ctx
            .desired
            .groups
            .iter()
            .filter(|g| g.chain == side && g.role == Role::Collator)
            .map(|g| g.nodes.len())
            .sum::<usize>();
        if desired_collators > 0 {
            continue;
        }
        let observed_collators = ctx
            .observed
            .workloads
            .values()
            .filter(|w| {
                w.spec
                    .as_ref()
                    .is_some_and(|s| s.chain_side == side && s.role == Role::Collator)
            })
            .map(|w| w.nodes.len())
            .sum::<usize>();
        let on_chain = match ctx.chain {
            Some(c) => c
                .paras
                .get(&para.id)
                .is_some_and(|s| !s.lifecycle.is_offboarding()),
            None => observed_collators > 0,
        };
        let onboarding = steps.contains(&StepId::para_onboard(para.id));
        if on_chain && observed_collators > 0 {
            out.push(SafetyViolation {
                rule: SafetyRule::ParaWithoutCollator,
                message: format!(
                    "para {} stays onboarded but its {observed_collators} collator node(s) would be removed and none remain",
                    para.id
                ),
            });
        } else if onboarding {
            out.push(SafetyViolation {
                rule: SafetyRule::ParaWithoutCollator,
                message: format!(
                    "para {} would be onboarded without any collator node",
                    para.id
                ),
            });
        }
    }
    out
}

/// A live relay chain whose nodes would be switched to another chain.
fn genesis_replaced(ctx: &Ctx<'_>) -> Vec<SafetyViolation> {
    if ctx.chain.is_none() {
        return vec![];
    }
    let want = &ctx.desired.relay.chain;
    ctx.observed
        .workloads
        .values()
        .filter(|w| ctx.desired.group(&w.group).is_some())
        .filter_map(|w| w.spec.as_ref().map(|s| (w, s)))
        .filter(|(_, s)| s.chain_side == ChainSide::Relay && &s.chain != want)
        .map(|(w, s)| SafetyViolation {
            rule: SafetyRule::GenesisReplaced,
            message: format!(
                "group {} runs relay chain {} while the desired relay chain is {want}: its nodes would start another chain",
                w.group, s.chain
            ),
        })
        .collect()
}
