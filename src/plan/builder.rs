//! The step set while a plan is being built: steps by id, edges added by id,
//! and a cycle check for edges that are only wanted when they are safe.

use super::step::{Step, StepId};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

#[derive(Default)]
pub(crate) struct StepSet {
    steps: BTreeMap<StepId, Step>,
}

impl StepSet {
    pub fn insert(&mut self, step: Step) {
        self.steps.insert(step.id.clone(), step);
    }

    pub fn contains(&self, id: &StepId) -> bool {
        self.steps.contains_key(id)
    }

    /// `step` depends on `on`, when both are in the plan.
    pub fn depend(&mut self, step: &StepId, on: &StepId) {
        if step == on || !self.steps.contains_key(on) {
            return;
        }
        if let Some(s) = self.steps.get_mut(step) {
            if !s.depends_on.contains(on) {
                s.depends_on.push(on.clone());
            }
        }
    }

    /// Like `depend`, but skipped when `on` already (transitively) waits for
    /// `step`: e.g. a deregistration that must precede the scale-down of the
    /// genesis group cannot also wait for that group's health gate.
    pub fn depend_if_acyclic(&mut self, step: &StepId, on: &StepId) {
        if !self.steps.contains_key(step) || self.waits_for(on, step) {
            return;
        }
        self.depend(step, on);
    }

    /// Does `from` (transitively) depend on `target`?
    fn waits_for(&self, from: &StepId, target: &StepId) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(id) = stack.pop() {
            if id == target {
                return true;
            }
            if !seen.insert(id) {
                continue;
            }
            if let Some(s) = self.steps.get(id) {
                stack.extend(s.depends_on.iter());
            }
        }
        false
    }

    pub fn ids(&self) -> Vec<StepId> {
        self.steps.keys().cloned().collect()
    }

    pub fn get(&self, id: &StepId) -> Option<&Step> {
        self.steps.get(id)
    }

    /// Steps in topological order, ties broken by id; dependencies sorted.
    /// Edges only ever point at existing steps and every edge added by the
    /// planner is acyclic by construction, so every step is emitted; should a
    /// cycle slip in anyway, the remaining steps follow in id order and
    /// `Plan::validate` reports it.
    pub fn into_ordered(self) -> Vec<Step> {
        let mut steps = self.steps;
        for s in steps.values_mut() {
            s.depends_on.sort();
            s.depends_on.dedup();
        }
        let mut indegree: BTreeMap<&StepId, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<&StepId, Vec<&StepId>> = BTreeMap::new();
        for (id, s) in &steps {
            indegree.entry(id).or_insert(0);
            for d in s.depends_on.iter().filter(|d| steps.contains_key(*d)) {
                *indegree.entry(id).or_insert(0) += 1;
                dependents.entry(d).or_default().push(id);
            }
        }
        let mut ready: BinaryHeap<std::cmp::Reverse<&StepId>> = indegree
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(id, _)| std::cmp::Reverse(*id))
            .collect();
        let mut order: Vec<StepId> = Vec::with_capacity(steps.len());
        while let Some(std::cmp::Reverse(id)) = ready.pop() {
            order.push(id.clone());
            for d in dependents.get(id).map(Vec::as_slice).unwrap_or_default() {
                if let Some(n) = indegree.get_mut(d) {
                    *n -= 1;
                    if *n == 0 {
                        ready.push(std::cmp::Reverse(d));
                    }
                }
            }
        }
        let placed: BTreeSet<StepId> = order.iter().cloned().collect();
        order.extend(
            steps
                .keys()
                .filter(|id| !placed.contains(*id))
                .cloned()
                .collect::<Vec<_>>(),
        );
        order
            .into_iter()
            .filter_map(|id| steps.remove(&id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::step::{Action, StepKind};
    use crate::spec::ids::GroupName;

    fn step(id: &str, deps: &[&str]) -> Step {
        Step {
            id: StepId(id.into()),
            action: Action::Wait,
            kind: StepKind::HealthGate {
                group: GroupName::new(id),
                nodes: vec![],
            },
            reason: String::new(),
            depends_on: deps.iter().map(|d| StepId(d.to_string())).collect(),
            eta: None,
        }
    }

    #[test]
    fn edges_that_would_close_a_cycle_are_skipped() {
        let mut set = StepSet::default();
        set.insert(step("a", &[]));
        set.insert(step("b", &["a"]));
        set.insert(step("c", &["b"]));
        set.depend_if_acyclic(&StepId("a".into()), &StepId("c".into()));
        assert!(set
            .get(&StepId("a".into()))
            .is_some_and(|s| s.depends_on.is_empty()));
        set.depend_if_acyclic(&StepId("c".into()), &StepId("a".into()));
        assert_eq!(
            set.get(&StepId("c".into())).map(|s| s.depends_on.len()),
            Some(2)
        );
        // Edges to steps that are not in the plan are never added.
        set.depend(&StepId("a".into()), &StepId("zz".into()));
        assert!(set
            .get(&StepId("a".into()))
            .is_some_and(|s| s.depends_on.is_empty()));
    }

    #[test]
    fn order_is_topological_with_ties_by_id() {
        let mut set = StepSet::default();
        for s in [
            step("z", &[]),
            step("b", &["z"]),
            step("a", &["z", "z"]),
            step("y", &[]),
        ] {
            set.insert(s);
        }
        let steps = set.into_ordered();
        let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["y", "z", "a", "b"]);
        assert_eq!(
            steps[2].depends_on,
            vec![StepId("z".into())],
            "deduplicated"
        );
    }
}
