//! `paraform drift`: classify what a read-only plan found.
//!
//! PURE: a [`DriftReport`] is computed from a `Plan` and the `Observed` it was
//! made from. Each plan step is one difference:
//! - **cluster** drift: the provider side (workloads and their health gates);
//! - **chain** drift: anything submitted to a chain (funding, session keys,
//!   validator and collator membership, para lifecycle);
//! - **pending**: effects already submitted that land at a session boundary
//!   (`Plan::pending`): reported, never counted as drift.
//!
//! When a chain that exists could not be read, the comparison is incomplete
//! (the planner can only guess chain steps): the report says so and the
//! command exits 1 rather than claiming drift or sync.

pub mod markdown;
pub mod metrics;

use crate::observe::model::{ChainView, ParachainView};
use crate::observe::Observed;
use crate::plan::{Action, Eta, Pending, Plan, Step, StepId};
use crate::spec::ids::{HexHash, NetworkName};
use serde::Serialize;

/// Where a difference lives: the area of the step that would mend it.
pub use crate::plan::Area as DriftClass;

/// One difference: a step the plan would take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DriftItem {
    pub class: DriftClass,
    pub step: StepId,
    pub action: Action,
    /// What kind of resource: `workload`, `health gate`, `funding`,
    /// `session keys`, `validators`, `parachain`, `collators`.
    pub resource: &'static str,
    pub reason: String,
    pub eta: Option<Eta>,
    /// Destroys, replaces, deregisters or offboards something.
    pub destructive: bool,
}

/// A chain that exists but could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unobserved {
    /// `relay chain` or `para 2000`.
    pub chain: String,
    pub endpoint: String,
    pub error: String,
}

/// How the drift check came out; maps to the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No step to take (pending effects may exist): exit 0.
    InSync,
    /// At least one cluster or chain difference: exit 2.
    Drift,
    /// A chain could not be read and the cluster shows no difference: the
    /// comparison is incomplete, exit 1.
    Incomplete,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DriftReport {
    pub network: NetworkName,
    pub verdict: Verdict,
    pub cluster: Vec<DriftItem>,
    pub chain: Vec<DriftItem>,
    pub pending: Vec<Pending>,
    /// All plan steps (health gates included).
    pub plan_steps: usize,
    /// Relay chain block the observation was pinned at (when live).
    pub block_number: Option<u64>,
    pub block_hash: Option<HexHash>,
    pub unobserved: Vec<Unobserved>,
    /// `Plan::content_hash` of the plan that would converge the network.
    pub content_hash: String,
}

impl DriftReport {
    pub fn classify(plan: &Plan, observed: &Observed) -> Self {
        let (mut cluster, mut chain) = (Vec::new(), Vec::new());
        for step in &plan.steps {
            let item = item(step);
            match item.class {
                DriftClass::Cluster => cluster.push(item),
                DriftClass::Chain => chain.push(item),
            }
        }
        let unobserved = unobserved(observed);
        // Cluster differences come from the provider, not the chain: they
        // are drift even when a chain could not be read (the report still
        // lists what was not). Without them, an unread chain leaves the
        // check incomplete — "in sync" would be a guess.
        let verdict = if !cluster.is_empty() {
            Verdict::Drift
        } else if !unobserved.is_empty() {
            Verdict::Incomplete
        } else if plan.steps.is_empty() {
            Verdict::InSync
        } else {
            Verdict::Drift
        };
        let live = observed.relay_state();
        DriftReport {
            network: plan.network.clone(),
            verdict,
            cluster,
            chain,
            pending: plan.pending.clone(),
            plan_steps: plan.steps.len(),
            block_number: live.map(|c| c.block_number),
            block_hash: live.map(|c| c.block_hash.clone()),
            unobserved,
            content_hash: plan.content_hash(),
        }
    }

    /// Drift items of a class.
    pub fn count(&self, class: DriftClass) -> usize {
        match class {
            DriftClass::Cluster => self.cluster.len(),
            DriftClass::Chain => self.chain.len(),
        }
    }

    /// `Drift: 1 cluster, 3 chain; 1 pending (not drift).`
    pub fn summary_line(&self) -> String {
        let head = match self.verdict {
            Verdict::InSync => "In sync".to_string(),
            Verdict::Drift => "Drift".to_string(),
            Verdict::Incomplete => "Incomplete (a chain could not be read)".to_string(),
        };
        format!(
            "{head}: {} cluster, {} chain; {} pending (not drift).",
            self.cluster.len(),
            self.chain.len(),
            self.pending.len()
        )
    }
}

fn item(step: &Step) -> DriftItem {
    let d = step.kind.describe();
    DriftItem {
        class: d.area,
        step: step.id.clone(),
        action: step.action,
        resource: d.resource,
        reason: step.reason.clone(),
        eta: step.eta.clone(),
        destructive: crate::render::is_destructive(step),
    }
}

fn unobserved(observed: &Observed) -> Vec<Unobserved> {
    let mut out = Vec::new();
    if let ChainView::Unreachable { endpoint, error } = &observed.relay {
        out.push(Unobserved {
            chain: "relay chain".into(),
            endpoint: endpoint.clone(),
            error: error.clone(),
        });
    }
    for (id, view) in &observed.parachains {
        if let ParachainView::Unreachable { endpoint, error } = view {
            out.push(Unobserved {
                chain: format!("para {id}"),
                endpoint: endpoint.clone(),
                error: error.clone(),
            });
        }
    }
    out
}
