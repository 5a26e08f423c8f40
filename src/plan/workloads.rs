//! Workload steps (create / update / delete per group) and their health gates.

use super::builder::StepSet;
use super::context::{nodes_phrase, Ctx};
use super::step::{Action, Pending, Step, StepId, StepKind, WorkloadOp};
use crate::observe::ObservedWorkload;
use crate::spec::ids::*;
use crate::spec::model::{Group, KeystoreKind, Role};
use crate::spec::workload::WorkloadSpec;
use std::collections::{BTreeMap, BTreeSet};

/// What the workload stage decided, for the stages after it.
#[derive(Default)]
pub(crate) struct WorkloadOutcome {
    /// Groups with a workload step, and its op.
    pub ops: BTreeMap<GroupName, WorkloadOp>,
    /// Groups whose health gate is in the plan.
    pub gated: BTreeSet<GroupName>,
    /// Nodes that come up with an empty keystore: new nodes, and nodes
    /// restarted with an in-memory (or changed) keystore.
    pub fresh_keystore: BTreeSet<NodeName>,
    /// Updated groups whose pods restart (rolling), with the running nodes that restart.
    pub rolling: BTreeMap<GroupName, Vec<NodeName>>,
    /// Workload changes held back for a later plan (see `Ctx::held_groups`).
    pub pending: Vec<Pending>,
}

/// Spec fields, in `WorkloadSpec` order, for readable "spec changed: …" reasons.
/// Fields missing here (added later) are still compared, after these.
const FIELD_ORDER: &[&str] = &[
    "group",
    "chain_side",
    "role",
    "replicas",
    "command",
    "image",
    "chain",
    "relay_chain",
    "genesis_authorities",
    "flags",
    "log",
    "resources",
    "storage",
    "keystore",
    "node_key",
    "p2p",
    "rpc",
    "relay_flags",
];

/// A change of these means the node runs another chain: shown as replace (`-/+`).
const REPLACING: &[&str] = &["chain_side", "chain", "relay_chain"];

/// Changed top-level fields of two specs, `replicas` excluded (reported apart).
pub(crate) fn changed_fields(live: &WorkloadSpec, want: &WorkloadSpec) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(live), serde_json::to_value(want))
    else {
        return vec![];
    };
    let mut keys: Vec<&str> = FIELD_ORDER.to_vec();
    let mut extra: Vec<&str> = a
        .keys()
        .chain(b.keys())
        .map(String::as_str)
        .filter(|k| !FIELD_ORDER.contains(k))
        .collect();
    extra.sort();
    extra.dedup();
    keys.extend(extra);
    keys.into_iter()
        .filter(|k| *k != "replicas" && a.get(*k) != b.get(*k))
        .map(str::to_string)
        .collect()
}

fn is_relay_validator(side: ChainSide, role: Role) -> bool {
    side == ChainSide::Relay && role == Role::Validator
}

/// Whether a group's workload, desired or live, runs relay validators.
pub(crate) fn runs_validators(group: Option<&Group>, live: Option<&ObservedWorkload>) -> bool {
    group.is_some_and(|g| is_relay_validator(g.chain, g.role))
        || live
            .and_then(|w| w.spec.as_ref())
            .is_some_and(|s| is_relay_validator(s.chain_side, s.role))
}

struct GroupDiff {
    reasons: Vec<String>,
    replace: bool,
    restart: bool,
    fresh: BTreeSet<NodeName>,
}

fn diff_group(group: &Group, want: &WorkloadSpec, live: &ObservedWorkload) -> GroupDiff {
    let mut reasons = Vec::new();
    let mut restart = false;
    let mut replace = false;
    let mut keystore_changed = false;
    let hash_differs = live.spec_hash != want.hash();
    if hash_differs {
        match &live.spec {
            Some(spec) => {
                let fields = changed_fields(spec, want);
                // A recorded spec that does not match the recorded hash: the
                // workload was changed outside paraform; it runs something unknown.
                let drifted = spec.hash() != live.spec_hash;
                if !fields.is_empty() {
                    restart = true;
                    replace = fields.iter().any(|f| REPLACING.contains(&f.as_str()));
                    keystore_changed = fields.iter().any(|f| f == "keystore");
                    reasons.push(format!("spec changed: {}", fields.join(", ")));
                } else if drifted {
                    restart = true;
                    reasons.push("spec changed outside paraform".to_string());
                }
            }
            None => {
                // The provider did not record the spec: assume everything
                // changed, the keystore included.
                restart = true;
                keystore_changed = true;
                reasons.push("spec changed".to_string());
            }
        }
    }
    let live_replicas = live.spec.as_ref().map_or(live.replicas, |s| s.replicas);
    if live.replicas != group.replicas || live_replicas != group.replicas {
        let from = if live.replicas != group.replicas {
            live.replicas
        } else {
            live_replicas
        };
        reasons.push(format!("replicas {from} → {}", group.replicas));
    }
    if hash_differs && reasons.is_empty() {
        restart = true;
        reasons.push("spec changed".to_string());
    }
    if !hash_differs && !live.out_of_sync.is_empty() {
        // Re-applying restores the objects; pods restart only when the
        // StatefulSet (their template) was edited.
        restart |= live
            .out_of_sync
            .iter()
            .any(|id| id.starts_with("StatefulSet/"));
        reasons.push(format!(
            "changed outside paraform: {}",
            live.out_of_sync.join(", ")
        ));
    }

    let memory = want.keystore == KeystoreKind::Memory;
    let mut fresh = BTreeSet::new();
    let mut missing = Vec::new();
    let mut stopped = Vec::new();
    for node in &group.nodes {
        match live.nodes.iter().find(|p| p.name == node.name) {
            None => {
                missing.push(&node.name);
                fresh.insert(node.name.clone());
            }
            Some(p) if !p.running => {
                stopped.push(&node.name);
                if memory {
                    fresh.insert(node.name.clone());
                }
            }
            Some(_) => {}
        }
        if restart && (memory || keystore_changed) {
            fresh.insert(node.name.clone());
        }
    }
    if !missing.is_empty() {
        reasons.push(format!("{} missing", nodes_phrase(&missing)));
    }
    if !stopped.is_empty() {
        reasons.push(format!("{} not running", nodes_phrase(&stopped)));
    }
    if live.replicas == group.replicas {
        let extra: Vec<&NodeName> = live
            .nodes
            .iter()
            .map(|p| &p.name)
            .filter(|n| !group.nodes.iter().any(|d| &d.name == *n))
            .collect();
        if !extra.is_empty() {
            reasons.push(format!("{} not desired", nodes_phrase(&extra)));
        }
    }
    GroupDiff {
        reasons,
        replace,
        restart,
        fresh,
    }
}

fn held(group: &GroupName, change: &str, why: &str) -> Pending {
    Pending {
        subject: format!("workload {group}"),
        what: format!("{change}: waits, {why}"),
        eta: None,
    }
}

/// Create / update / delete steps for every group, a health gate after each
/// create / update, and validator groups rolled one after another.
pub(crate) fn plan(ctx: &Ctx<'_>, steps: &mut StepSet) -> WorkloadOutcome {
    let mut out = WorkloadOutcome::default();
    let bft_width = ctx.validator_max_unavailable();
    let width = |validators: bool| if validators { bft_width } else { 1 };

    for group in &ctx.desired.groups {
        let want = WorkloadSpec::for_group(ctx.desired, group);
        let live = ctx.observed.workloads.get(&group.name);
        let nodes: Vec<NodeName> = group.nodes.iter().map(|n| n.name.clone()).collect();
        let (action, op, reason, from) = match live {
            None => {
                out.fresh_keystore.extend(nodes.iter().cloned());
                (
                    Action::Create,
                    WorkloadOp::Create,
                    "does not exist".to_string(),
                    None,
                )
            }
            Some(w) => {
                let diff = diff_group(group, &want, w);
                if diff.reasons.is_empty() {
                    continue;
                }
                if let Some(why) = ctx.held_groups.get(&group.name) {
                    out.pending
                        .push(held(&group.name, &diff.reasons.join("; "), why));
                    continue;
                }
                out.fresh_keystore.extend(diff.fresh);
                if diff.restart {
                    let restarting = nodes
                        .iter()
                        .filter(|n| w.nodes.iter().any(|p| &p.name == *n && p.running))
                        .cloned()
                        .collect();
                    out.rolling.insert(group.name.clone(), restarting);
                }
                let action = if diff.replace {
                    Action::Replace
                } else {
                    Action::Update
                };
                (
                    action,
                    WorkloadOp::Update,
                    diff.reasons.join("; "),
                    w.spec.clone(),
                )
            }
        };
        let id = StepId::workload(&group.name);
        steps.insert(Step {
            id: id.clone(),
            action,
            kind: StepKind::Workload {
                group: group.name.clone(),
                op,
                nodes: nodes.clone(),
                from,
                to: Some(want),
                max_unavailable: width(runs_validators(Some(group), live)),
            },
            reason,
            depends_on: vec![],
            eta: None,
        });
        out.ops.insert(group.name.clone(), op);
        if !nodes.is_empty() {
            let gate = StepId::gate(&group.name);
            steps.insert(Step {
                id: gate.clone(),
                action: Action::Wait,
                kind: StepKind::HealthGate {
                    group: group.name.clone(),
                    nodes: nodes.clone(),
                },
                reason: format!(
                    "wait until {} {}",
                    nodes_phrase(&nodes.iter().collect::<Vec<_>>()),
                    // Collators are judged by their relay side (a lone
                    // collator has no para peers).
                    match (group.role == Role::Collator, nodes.len() == 1) {
                        (false, true) => "answers RPC, is synced and has peers",
                        (false, false) => "answer RPC, are synced and have peers",
                        (true, true) => "answers RPC and its relay node is synced with relay peers",
                        (true, false) => {
                            "answer RPC and their relay nodes are synced with relay peers"
                        }
                    }
                ),
                depends_on: vec![id],
                eta: None,
            });
            out.gated.insert(group.name.clone());
        }
    }

    for (name, w) in &ctx.observed.workloads {
        if ctx.desired.group(name).is_some() {
            continue;
        }
        if let Some(why) = ctx.held_groups.get(name) {
            out.pending.push(held(name, "not in desired state", why));
            continue;
        }
        steps.insert(Step {
            id: StepId::workload(name),
            action: Action::Delete,
            kind: StepKind::Workload {
                group: name.clone(),
                op: WorkloadOp::Delete,
                nodes: w.nodes.iter().map(|p| p.name.clone()).collect(),
                from: w.spec.clone(),
                to: None,
                max_unavailable: width(runs_validators(None, Some(w))),
            },
            reason: if ctx.destroying() {
                "destroy".to_string()
            } else {
                "not in desired state".to_string()
            },
            depends_on: vec![],
            eta: None,
        });
        out.ops.insert(name.clone(), WorkloadOp::Delete);
    }

    // Roll validator groups one after another so that at most one rolling
    // batch is down at a time across the network.
    let mut previous_gate: Option<StepId> = None;
    for (name, op) in &out.ops {
        if *op != WorkloadOp::Update
            || !runs_validators(ctx.desired.group(name), ctx.observed.workloads.get(name))
        {
            continue;
        }
        if let Some(gate) = &previous_gate {
            steps.depend(&StepId::workload(name), gate);
        }
        let gate = StepId::gate(name);
        if steps.contains(&gate) {
            previous_gate = Some(gate);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::*;

    fn spec() -> WorkloadSpec {
        WorkloadSpec {
            group: GroupName::new("g"),
            chain_side: ChainSide::Relay,
            role: Role::Validator,
            replicas: 2,
            command: "polkadot".into(),
            image: None,
            chain: ChainRef::BuiltIn {
                name: "rococo-local".into(),
            },
            relay_chain: None,
            genesis_authorities: false,
            flags: vec![],
            log: vec![],
            resources: Resources::default(),
            storage: Storage {
                database: "rocksdb".into(),
                pruning: None,
                size: "1Gi".into(),
                class: None,
            },
            keystore: KeystoreKind::Volume,
            node_key: NodeKeyPolicy::Derived,
            p2p: Exposure::ClusterIP,
            rpc: Exposure::ClusterIP,
            relay_flags: vec![],
            kubernetes: Default::default(),
            relay_node: Default::default(),
        }
    }

    #[test]
    fn changed_fields_follow_the_spec_order_without_replicas() {
        let a = spec();
        let mut b = spec();
        b.flags = vec!["--x".into()];
        b.image = Some("i".into());
        b.replicas = 5;
        b.keystore = KeystoreKind::Memory;
        assert_eq!(changed_fields(&a, &b), vec!["image", "flags", "keystore"]);
        assert!(changed_fields(&a, &a).is_empty());
        let mut c = spec();
        c.replicas = 1;
        assert!(
            changed_fields(&a, &c).is_empty(),
            "replicas are reported apart"
        );
    }
}
