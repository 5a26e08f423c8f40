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

/// What a plan is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Make the network what its desired state says.
    Converge,
    /// Remove everything of the network that paraform manages.
    Destroy,
}

/// Diff desired against observed into a dependency-ordered plan.
pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    build(desired, desired, observed, Mode::Converge)
}

/// The plan of `paraform destroy`: the plan towards a network with no
/// groups and no paras, planned by the same stages and held to the same
/// rules as `plan` (decision 0012). Managed collators leave their paras'
/// `CollatorSelection` and the paras are offboarded, managed validators
/// leave the validator set, and only once every chain step is done do the
/// workloads go: the chain steps are finalized while every node still runs.
/// Genesis authorities stay in the set (the chain goes with them). A chain
/// that cannot be observed gets no step: it cannot be reached, and it ends
/// with its nodes.
pub fn destroy(desired: &Desired, observed: &Observed) -> Plan {
    // (Channels go with their paras' offboarding.)
    let nothing = Desired {
        groups: vec![],
        parachains: vec![],
        hrmp: vec![],
        ..desired.clone()
    };
    build(&nothing, desired, observed, Mode::Destroy)
}

fn build(desired: &Desired, declared: &Desired, observed: &Observed, mode: Mode) -> Plan {
    let ctx = Ctx::new(desired, declared, observed, mode);
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
    if mode == Mode::Destroy {
        add_teardown_edges(&mut steps);
    }

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

/// Destroy: every workload goes after every chain step, so that each
/// extrinsic is finalized by the whole network (no validator or collator is
/// down while the chain still has to finalize something).
fn add_teardown_edges(steps: &mut StepSet) {
    let of = |steps: &StepSet, keep: fn(&StepKind) -> bool| -> Vec<StepId> {
        steps
            .ids()
            .into_iter()
            .filter(|id| steps.get(id).is_some_and(|s| keep(&s.kind)))
            .collect()
    };
    let chain = of(steps, StepKind::submits);
    let workloads = of(steps, |k| matches!(k, StepKind::Workload { .. }));
    for w in &workloads {
        for c in &chain {
            steps.depend(w, c);
        }
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
