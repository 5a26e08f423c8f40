//! Planner tests: hand-built scenarios for each rule, a simulated world the
//! plans are applied to, and properties over arbitrary desired states and
//! starting worlds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

#[path = "plan/builder.rs"]
mod builder;
#[path = "plan/props.rs"]
mod props;
#[path = "plan/scenarios.rs"]
mod scenarios;
#[path = "plan/sim.rs"]
mod sim;

use paraform::plan::{Plan, Step, StepKind};

/// Step ids in plan order.
pub fn ids(plan: &Plan) -> Vec<&str> {
    plan.steps.iter().map(|s| s.id.as_str()).collect()
}

pub fn step<'a>(plan: &'a Plan, id: &str) -> &'a Step {
    plan.steps
        .iter()
        .find(|s| s.id.as_str() == id)
        .unwrap_or_else(|| panic!("no step {id} in plan: {:?}", ids(plan)))
}

pub fn has(plan: &Plan, id: &str) -> bool {
    plan.steps.iter().any(|s| s.id.as_str() == id)
}

pub fn deps<'a>(plan: &'a Plan, id: &str) -> Vec<&'a str> {
    step(plan, id)
        .depends_on
        .iter()
        .map(|d| d.as_str())
        .collect()
}

/// Position in the plan's topological order.
pub fn pos(plan: &Plan, id: &str) -> usize {
    let order = plan.topo_order().expect("plan is a DAG");
    order
        .iter()
        .position(|s| s.as_str() == id)
        .unwrap_or_else(|| panic!("{id} not in order"))
}

pub fn members(step: &Step) -> Vec<&str> {
    match &step.kind {
        StepKind::RegisterValidators { members, .. }
        | StepKind::DeregisterValidators { members, .. }
        | StepKind::RegisterCollators { members, .. }
        | StepKind::DeregisterCollators { members, .. } => {
            members.iter().map(|m| m.node.as_str()).collect()
        }
        StepKind::Fund { transfers } | StepKind::FundCollators { transfers, .. } => {
            transfers.iter().map(|t| t.node.as_str()).collect()
        }
        other => panic!("{other:?} has no members"),
    }
}
