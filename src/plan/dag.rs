//! The plan as a DAG: a petgraph view, validation, a deterministic
//! topological order and execution waves for the executor.

use super::step::{Plan, StepId};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DagError {
    #[error("step {0} appears more than once in the plan")]
    DuplicateStep(StepId),
    #[error("step {step} depends on {missing}, which is not in the plan")]
    MissingDependency { step: StepId, missing: StepId },
    #[error("steps wait on each other in a cycle (or on a step that does): {}", ids(.steps))]
    Cycle { steps: Vec<StepId> },
}

fn ids(steps: &[StepId]) -> String {
    steps
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Plan {
    /// Nodes are steps (in plan order); an edge `a → b` means `b` depends on `a`.
    /// Dependencies on steps that are not in the plan are left out (see `validate`).
    pub fn graph(&self) -> DiGraph<StepId, ()> {
        let mut g = DiGraph::new();
        let mut index: BTreeMap<&StepId, NodeIndex> = BTreeMap::new();
        for s in &self.steps {
            index
                .entry(&s.id)
                .or_insert_with(|| g.add_node(s.id.clone()));
        }
        for s in &self.steps {
            let Some(&to) = index.get(&s.id) else {
                continue;
            };
            for d in &s.depends_on {
                if let Some(&from) = index.get(d) {
                    g.update_edge(from, to, ());
                }
            }
        }
        g
    }

    /// Unique ids, every dependency present, no cycle.
    pub fn validate(&self) -> Result<(), DagError> {
        self.topo_order().map(|_| ())
    }

    /// Steps so that every step comes after its dependencies; ties by id.
    pub fn topo_order(&self) -> Result<Vec<StepId>, DagError> {
        let mut seen = BTreeSet::new();
        for s in &self.steps {
            if !seen.insert(&s.id) {
                return Err(DagError::DuplicateStep(s.id.clone()));
            }
        }
        for s in &self.steps {
            if let Some(missing) = s.depends_on.iter().find(|d| !seen.contains(d)) {
                return Err(DagError::MissingDependency {
                    step: s.id.clone(),
                    missing: missing.clone(),
                });
            }
        }
        let order = self.kahn();
        if order.len() == self.steps.len() {
            return Ok(order);
        }
        let placed: BTreeSet<&StepId> = order.iter().collect();
        let stuck: Vec<StepId> = seen
            .into_iter()
            .filter(|id| !placed.contains(id))
            .cloned()
            .collect();
        Err(DagError::Cycle { steps: stuck })
    }

    /// Execution waves: each step's dependencies are all in earlier waves; each
    /// wave sorted by id. Steps on a cycle or with a missing dependency (an
    /// invalid plan, see `validate`) never become ready and are left out.
    pub fn waves(&self) -> Vec<Vec<StepId>> {
        self.layers()
    }

    fn layers(&self) -> Vec<Vec<StepId>> {
        let known: BTreeSet<&StepId> = self.steps.iter().map(|s| &s.id).collect();
        let mut deps: BTreeMap<&StepId, BTreeSet<&StepId>> = BTreeMap::new();
        for s in &self.steps {
            let entry = deps.entry(&s.id).or_default();
            for d in &s.depends_on {
                // A missing dependency can never be satisfied.
                entry.insert(d);
            }
        }
        let mut done: BTreeSet<&StepId> = BTreeSet::new();
        let mut waves = Vec::new();
        loop {
            let wave: Vec<&StepId> = deps
                .iter()
                .filter(|(id, ds)| {
                    !done.contains(*id) && ds.iter().all(|d| known.contains(d) && done.contains(d))
                })
                .map(|(id, _)| *id)
                .collect();
            if wave.is_empty() {
                break;
            }
            done.extend(wave.iter().copied());
            waves.push(wave.into_iter().cloned().collect());
        }
        waves
    }

    fn kahn(&self) -> Vec<StepId> {
        let mut remaining: BTreeMap<&StepId, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<&StepId, Vec<&StepId>> = BTreeMap::new();
        for s in &self.steps {
            let deps: BTreeSet<&StepId> = s.depends_on.iter().collect();
            remaining.insert(&s.id, deps.len());
            for d in deps {
                dependents.entry(d).or_default().push(&s.id);
            }
        }
        let mut ready: BTreeSet<&StepId> = remaining
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| *id)
            .collect();
        let mut order = Vec::with_capacity(self.steps.len());
        while let Some(id) = ready.pop_first() {
            order.push(id.clone());
            for d in dependents.get(id).map(Vec::as_slice).unwrap_or_default() {
                if let Some(n) = remaining.get_mut(d) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        ready.insert(d);
                    }
                }
            }
        }
        order
    }
}
