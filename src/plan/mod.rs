//! PURE planning: `plan(&Desired, &Observed) -> Plan`. No I/O, no clock, no randomness.
//!
//! Stages, each in its own module: workloads (+ health gates) → validators
//! (keys, registration, deregistration) and collators → funding → parachain
//! lifecycle → HRMP channels → chain-gate edges → safety → deterministic order + fingerprint.

pub mod artifact;
mod builder;
mod collators;
mod content_hash;
mod context;
pub mod dag;
mod fingerprint;
mod funding;
mod hrmp;
pub mod kind;
mod parachains;
mod safety;
pub mod step;
mod validators;
mod workloads;

pub use dag::DagError;
pub use kind::{Area, Description, Resolved};
pub use safety::SafetyError;
pub use step::*;

use crate::observe::Observed;
use crate::spec::ids::ChainSide;
use crate::spec::Desired;
use builder::StepSet;
use context::Ctx;
use workloads::WorkloadOutcome;

/// Diff desired against observed into a dependency-ordered plan.
pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    let ctx = Ctx::new(desired, observed);
    let mut steps = StepSet::default();

    let wl = workloads::plan(&ctx, &mut steps);
    let validator_needs = validators::analyze(&ctx, &wl);
    let collator_needs = collators::analyze(&ctx);

    // Relay funding is for stashes; collators are funded on their para.
    let funded = funding::emit(&ctx, validator_needs.accounts_to_fund(), &mut steps);

    validators::emit(&ctx, &validator_needs, &wl, &funded, &mut steps);
    let para_pending = parachains::emit(&ctx, &wl, &mut steps);
    let collator_pending = collators::emit(&collator_needs, &wl, &mut steps);
    let hrmp_pending = hrmp::emit(&ctx, &mut steps);

    add_chain_gates(&ctx, &wl, &mut steps);
    add_relay_rpc_gates(&ctx, &wl, &mut steps);

    let safety = safety::check(&ctx, &wl, &validator_needs, &steps);
    let mut pending = validator_needs.pending;
    pending.extend(para_pending);
    pending.extend(collator_pending);
    pending.extend(hrmp_pending);
    pending.extend(wl.pending);
    pending.sort_by(|a, b| (&a.subject, &a.what).cmp(&(&b.subject, &b.what)));

    Plan {
        format_version: PLAN_FORMAT_VERSION,
        network: desired.network.clone(),
        steps: steps.into_ordered(),
        pending,
        safety,
        fingerprint: fingerprint::fingerprint(observed),
    }
}

/// A collator group that reaches the relay over RPC (`relay_node = "rpc"`)
/// starts once the relay groups it could connect to are up: a collator that
/// finds no relay RPC at start exits.
fn add_relay_rpc_gates(ctx: &Ctx<'_>, wl: &WorkloadOutcome, steps: &mut StepSet) {
    let relay_gates: Vec<StepId> = ctx
        .desired
        .groups
        .iter()
        .filter(|g| g.chain == ChainSide::Relay && wl.gated.contains(&g.name))
        .map(|g| StepId::gate(&g.name))
        .collect();
    for g in ctx.desired.groups.iter().filter(|g| {
        matches!(g.chain, ChainSide::Para(_))
            && g.relay_node == crate::spec::model::RelayNodeMode::Rpc
    }) {
        for gate in &relay_gates {
            steps.depend_if_acyclic(&StepId::workload(&g.name), gate);
        }
    }
}

/// Every chain step waits for the relay chain to be up: the health gates of
/// relay genesis-authority groups created or updated in this plan. When the
/// chain is not observable and no such group is in the plan, the gates of all
/// relay groups created or updated stand in (some node must serve the chain).
///
/// An edge is skipped where the gate itself waits for the step — a
/// deregistration that must precede the scale-down of that very group.
fn add_chain_gates(ctx: &Ctx<'_>, wl: &WorkloadOutcome, steps: &mut StepSet) {
    let relay_gated = || {
        ctx.desired
            .groups
            .iter()
            .filter(|g| g.chain == ChainSide::Relay && wl.gated.contains(&g.name))
    };
    let mut gates: Vec<StepId> = relay_gated()
        .filter(|g| g.genesis_authorities)
        .map(|g| StepId::gate(&g.name))
        .collect();
    if gates.is_empty() && ctx.chain.is_none() {
        gates = relay_gated().map(|g| StepId::gate(&g.name)).collect();
    }
    if gates.is_empty() {
        return;
    }
    let chain_steps: Vec<StepId> = steps
        .ids()
        .into_iter()
        .filter(|id| steps.get(id).is_some_and(|s| s.kind.submits()))
        .collect();
    for id in &chain_steps {
        for gate in &gates {
            steps.depend_if_acyclic(id, gate);
        }
    }
}
