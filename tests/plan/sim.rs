//! A simulated world: the test double the planner's properties run against.
//!
//! It models the physics the planner must respect, independently of the
//! planner's own code: processes with keystores (in-memory keystores are lost
//! on restart), a relay chain that starts with its genesis authorities,
//! `Session.NextKeys`, PoA `ValidatorManager` (retire, then add, at each
//! session change; the next set is queued for one session; accounts without
//! keys are dropped from the queued set), PoS intents, para lifecycles that
//! move at session boundaries, and para-side collator sets. Steps are applied
//! as the executor would: each re-checks its precondition (idempotent), and a
//! step whose precondition cannot hold (a chain step before the chain runs,
//! keys before the node exists, registration before keys) fails the test.

use paraform::observe::*;
use paraform::plan::{Plan, Step, StepKind, WorkloadOp};
use paraform::spec::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
pub struct SimNode {
    pub running: bool,
    pub account: Option<AccountId>,
    pub keystore: BTreeSet<String>,
}

#[derive(Clone, Debug)]
pub struct SimWorkload {
    pub spec: WorkloadSpec,
    /// Whether the provider recorded the spec (the planner then sees it).
    pub record_spec: bool,
    /// Overrides the recorded hash (drift made outside paraform).
    pub hash_override: Option<String>,
    pub generation: u64,
    pub nodes: BTreeMap<NodeName, SimNode>,
}

#[derive(Clone, Debug)]
pub struct SimPara {
    pub lifecycle: ParaLifecycle,
    /// What an onboarding para becomes.
    pub target: ParaLifecycle,
    /// Session index at which the current transition completes.
    pub until: u32,
}

#[derive(Clone, Debug, Default)]
pub struct SimChain {
    pub session: u32,
    pub block: u64,
    pub validators: Vec<AccountId>,
    pub queued: Vec<AccountId>,
    pub next_keys: BTreeMap<AccountId, String>,
    pub pending_add: Vec<AccountId>,
    pub pending_retire: Vec<AccountId>,
    pub staking: Vec<AccountId>,
    pub paras: BTreeMap<ParaId, SimPara>,
    pub balances: BTreeMap<AccountId, Balance>,
    /// HRMP channels: open (true) or requested (false), with their limits.
    pub hrmp: BTreeMap<ChannelId, (HrmpChannel, bool)>,
}

#[derive(Clone, Debug, Default)]
pub struct SimParaSide {
    pub invulnerables: Vec<AccountId>,
    pub candidates: Vec<AccountId>,
    /// `Session.NextKeys` on the para.
    pub next_keys: BTreeMap<AccountId, String>,
    /// Free balances on the para.
    pub balances: BTreeMap<AccountId, Balance>,
    /// Para session: `Session.QueuedKeys` accounts and the `Aura.Authorities`
    /// keys (collators author two para sessions after they registered).
    pub session: u32,
    pub queued: Vec<AccountId>,
    pub authorities: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct World {
    pub consensus: Consensus,
    /// Fee a signed call costs its signer.
    pub fee: Balance,
    pub workloads: BTreeMap<GroupName, SimWorkload>,
    pub chain: Option<SimChain>,
    pub para_side: BTreeMap<ParaId, SimParaSide>,
    /// `CollatorSelection.MinEligibleCollators` of every para (`None`: the
    /// runtime does not show it).
    pub min_eligible: Option<u32>,
    counter: u64,
}

fn push_unique(v: &mut Vec<AccountId>, a: &AccountId) {
    if !v.contains(a) {
        v.push(a.clone());
    }
}

impl World {
    pub fn new(consensus: Consensus) -> Self {
        World {
            consensus,
            fee: 1,
            workloads: BTreeMap::new(),
            chain: None,
            para_side: BTreeMap::new(),
            min_eligible: Some(0),
            counter: 0,
        }
    }

    /// A world where `desired` was applied and every session effect landed.
    /// (HRMP channels take a second round: they open once their paras are.)
    pub fn converged(desired: &Desired) -> Self {
        let mut w = World::new(desired.relay.consensus);
        for _ in 0..2 {
            let plan = paraform::plan::plan(desired, &w.observe());
            if plan.steps.is_empty() && plan.pending.is_empty() {
                break;
            }
            w.apply_plan(desired, &plan)
                .expect("a fresh network applies");
            w.advance_sessions(2);
        }
        w
    }

    fn relay_serving(&self) -> bool {
        self.workloads
            .values()
            .any(|w| w.spec.chain_side == ChainSide::Relay && w.nodes.values().any(|n| n.running))
    }

    pub fn observe(&self) -> Observed {
        let mut o = Observed::empty();
        for (name, w) in &self.workloads {
            let running = w.nodes.values().filter(|n| n.running).count() as u32;
            o.workloads.insert(
                name.clone(),
                ObservedWorkload {
                    group: name.clone(),
                    spec_hash: w.hash_override.clone().unwrap_or_else(|| w.spec.hash()),
                    spec: w.record_spec.then(|| w.spec.clone()),
                    generation: w.generation,
                    nodes: w
                        .nodes
                        .iter()
                        .map(|(n, s)| ObservedNodeProcess {
                            name: n.clone(),
                            running: s.running,
                            account: s.account.clone(),
                        })
                        .collect(),
                    replicas: w.spec.replicas,
                    ready_replicas: running,
                    out_of_sync: vec![],
                    objects_digest: None,
                },
            );
            for (n, s) in &w.nodes {
                let chain_keys = match (&self.chain, &s.account) {
                    (Some(c), Some(a)) => c.next_keys.get(a),
                    _ => None,
                };
                o.nodes.insert(
                    n.clone(),
                    ObservedNode {
                        name: n.clone(),
                        rpc_reachable: s.running,
                        syncing: s.running.then_some(false),
                        peers: s.running.then_some(3),
                        has_session_keys: if s.running {
                            chain_keys.map(|k| s.keystore.contains(k))
                        } else {
                            None
                        },
                        ..Default::default()
                    },
                );
            }
        }
        o.relay = match &self.chain {
            None => ChainView::NotRunning,
            Some(_) if !self.relay_serving() => ChainView::Unreachable {
                endpoint: "ws://127.0.0.1:9944".into(),
                error: "connection refused".into(),
            },
            Some(c) => ChainView::Live(ChainState {
                block_hash: HexHash(format!("0x{:064x}", c.block)),
                block_number: c.block,
                session_index: c.session,
                session_length: Some(10),
                validators: c.validators.clone(),
                next_keys: c.next_keys.clone(),
                queued: c.queued.clone(),
                pending_add: c.pending_add.clone(),
                pending_retire: c.pending_retire.clone(),
                staking_validators: c.staking.clone(),
                bonded: c.staking.clone(),
                paras: c
                    .paras
                    .iter()
                    .map(|(id, p)| {
                        (
                            *id,
                            ParaState {
                                lifecycle: p.lifecycle,
                                head: None,
                                code_hash: None,
                                has_core: Some(true),
                            },
                        )
                    })
                    .collect(),
                balances: c.balances.clone(),
                existential_deposit: 1,
                sudo_key: None,
                ss58_prefix: 42,
                hrmp: c
                    .hrmp
                    .values()
                    .map(|(ch, open)| ObservedChannel {
                        id: ch.id,
                        state: if *open {
                            ChannelState::Open {
                                max_capacity: ch.max_capacity,
                                max_message_size: ch.max_message_size,
                            }
                        } else {
                            ChannelState::Requested
                        },
                    })
                    .collect(),
            }),
        };
        let mut para_ids: BTreeSet<ParaId> = BTreeSet::new();
        for w in self.workloads.values() {
            if let (ChainSide::Para(id), Role::Collator) = (w.spec.chain_side, w.spec.role) {
                para_ids.insert(id);
            }
        }
        for id in para_ids {
            let serving = self.workloads.values().any(|w| {
                w.spec.chain_side == ChainSide::Para(id)
                    && w.spec.role == Role::Collator
                    && w.nodes.values().any(|n| n.running)
            });
            let side = self.para_side.get(&id).cloned().unwrap_or_default();
            let view = if serving {
                ParachainView::Live(ParachainState {
                    block_hash: HexHash("0x01".into()),
                    block_number: 1,
                    invulnerables: side.invulnerables,
                    candidates: side.candidates,
                    next_keys: side.next_keys,
                    balances: side.balances,
                    session_index: side.session,
                    queued: side.queued,
                    aura_authorities: side.authorities,
                    desired_candidates: None,
                    min_eligible_collators: self.min_eligible,
                    sudo_key: None,
                    ..Default::default()
                })
            } else {
                ParachainView::NotRunning
            };
            o.parachains.insert(id, view);
        }
        o
    }

    /// Apply every step in the plan's topological order.
    pub fn apply_plan(&mut self, desired: &Desired, plan: &Plan) -> Result<(), String> {
        let order = plan.topo_order().map_err(|e| e.to_string())?;
        for id in order {
            let step = plan.step(&id).ok_or_else(|| format!("{id} missing"))?;
            self.apply_step(desired, step)
                .map_err(|e| format!("{id}: {e}"))?;
        }
        Ok(())
    }

    fn chain_mut(&mut self) -> Result<&mut SimChain, String> {
        if !self.relay_serving() {
            return Err("relay chain not reachable".into());
        }
        self.chain
            .as_mut()
            .ok_or_else(|| "relay chain not running".to_string())
    }

    fn node_mut(&mut self, node: &NodeName) -> Option<&mut SimNode> {
        self.workloads
            .values_mut()
            .find_map(|w| w.nodes.get_mut(node))
    }

    fn fresh_key(&mut self, node: &NodeName) -> String {
        self.counter += 1;
        format!("keys-{node}-{}", self.counter)
    }

    pub fn apply_step(&mut self, desired: &Desired, step: &Step) -> Result<(), String> {
        match &step.kind {
            StepKind::Workload {
                group,
                op: WorkloadOp::Delete,
                ..
            } => {
                self.workloads.remove(group);
                Ok(())
            }
            StepKind::Workload {
                group, nodes, to, ..
            } => {
                let to = to.clone().ok_or("create/update without a spec")?;
                self.run_workload(desired, group, nodes, to);
                Ok(())
            }
            StepKind::HealthGate { nodes, .. } => {
                for n in nodes {
                    let up = self
                        .workloads
                        .values()
                        .any(|w| w.nodes.get(n).is_some_and(|s| s.running));
                    if !up {
                        return Err(format!("node {n} not running"));
                    }
                }
                Ok(())
            }
            StepKind::Fund { transfers } => {
                let chain = self.chain_mut()?;
                for t in transfers {
                    *chain.balances.entry(t.to.clone()).or_insert(0) += t.amount;
                }
                Ok(())
            }
            StepKind::SetKeys { node, stash } => {
                let fee = self.fee;
                let keys = self.fresh_key(node);
                {
                    let chain = self.chain_mut()?;
                    let bal = chain.balances.entry(stash.clone()).or_insert(0);
                    if *bal < fee {
                        return Err(format!("stash of {node} cannot pay the set_keys fee"));
                    }
                    *bal -= fee;
                }
                let n = self
                    .node_mut(node)
                    .ok_or_else(|| format!("node {node} does not exist"))?;
                if !n.running {
                    return Err(format!("node {node} not running"));
                }
                n.keystore.insert(keys.clone());
                if let Some(c) = self.chain.as_mut() {
                    c.next_keys.insert(stash.clone(), keys);
                }
                Ok(())
            }
            StepKind::RegisterValidators { members, .. } => {
                let consensus = self.consensus;
                let chain = self.chain_mut()?;
                for m in members {
                    if !chain.next_keys.contains_key(&m.account) {
                        return Err(format!("{} registered without session keys", m.node));
                    }
                    match consensus {
                        Consensus::Poa => {
                            // Precondition re-check: not already joining.
                            let joining = chain.pending_add.contains(&m.account)
                                || (chain.queued.contains(&m.account)
                                    && !chain.pending_retire.contains(&m.account));
                            if !joining {
                                push_unique(&mut chain.pending_add, &m.account);
                            }
                        }
                        Consensus::Pos => push_unique(&mut chain.staking, &m.account),
                    }
                }
                Ok(())
            }
            StepKind::DeregisterValidators { members, .. } => {
                let consensus = self.consensus;
                let chain = self.chain_mut()?;
                for m in members {
                    match consensus {
                        Consensus::Poa => {
                            let member = chain.validators.contains(&m.account)
                                || chain.queued.contains(&m.account)
                                || chain.pending_add.contains(&m.account);
                            if member {
                                push_unique(&mut chain.pending_retire, &m.account);
                            }
                        }
                        Consensus::Pos => chain.staking.retain(|a| a != &m.account),
                    }
                }
                Ok(())
            }
            StepKind::OnboardPara {
                para,
                genesis,
                mode,
            } => {
                if *genesis == GenesisSource::Collator {
                    let collating = self.workloads.values().any(|w| {
                        w.spec.chain_side == ChainSide::Para(*para)
                            && w.nodes.values().any(|n| n.running)
                    });
                    if !collating {
                        return Err(format!(
                            "no running collator to export para {para}'s genesis from"
                        ));
                    }
                }
                let chain = self.chain_mut()?;
                let until = chain.session + 2;
                let target = if *mode == OnboardMode::Parathread {
                    ParaLifecycle::Parathread
                } else {
                    ParaLifecycle::Parachain
                };
                chain.paras.entry(*para).or_insert(SimPara {
                    lifecycle: ParaLifecycle::Onboarding,
                    target,
                    until,
                });
                Ok(())
            }
            StepKind::OpenHrmpChannel { channel } => {
                let chain = self.chain_mut()?;
                for end in [channel.id.sender, channel.id.recipient] {
                    let ok = chain.paras.get(&end).is_some_and(|p| {
                        matches!(
                            p.lifecycle,
                            ParaLifecycle::Parachain | ParaLifecycle::Parathread
                        )
                    });
                    if !ok {
                        return Err(format!("Hrmp: para {end} is not a valid para"));
                    }
                }
                chain.hrmp.entry(channel.id).or_insert((*channel, false));
                Ok(())
            }
            StepKind::CleanHrmp { para, reopen, .. } => {
                let chain = self.chain_mut()?;
                chain
                    .hrmp
                    .retain(|id, _| id.sender != *para && id.recipient != *para);
                for c in reopen {
                    chain.hrmp.insert(c.id, (*c, false));
                }
                Ok(())
            }
            StepKind::OffboardPara { para } => {
                let chain = self.chain_mut()?;
                let until = chain.session + 2;
                if let Some(p) = chain.paras.get_mut(para) {
                    p.lifecycle = match p.lifecycle {
                        ParaLifecycle::Parachain => ParaLifecycle::OffboardingParachain,
                        ParaLifecycle::Parathread => ParaLifecycle::OffboardingParathread,
                        ParaLifecycle::Onboarding => {
                            return Err(format!("para {para}: CannotOffboard while onboarding"))
                        }
                        other => other,
                    };
                    p.until = until;
                }
                Ok(())
            }
            StepKind::FundCollators { para, transfers } => {
                self.chain_mut()?;
                let side = self.para_side.entry(*para).or_default();
                for t in transfers {
                    *side.balances.entry(t.to.clone()).or_insert(0) += t.amount;
                }
                Ok(())
            }
            StepKind::SetCollatorKeys {
                para,
                node,
                account,
            } => {
                self.chain_mut()?;
                let fee = self.fee;
                let keys = self.fresh_key(node);
                {
                    let side = self.para_side.entry(*para).or_default();
                    let bal = side.balances.entry(account.clone()).or_insert(0);
                    if *bal < fee {
                        return Err(format!(
                            "collator {node} cannot pay the set_keys fee on para {para}"
                        ));
                    }
                    *bal -= fee;
                }
                let n = self
                    .node_mut(node)
                    .ok_or_else(|| format!("node {node} does not exist"))?;
                if !n.running {
                    return Err(format!("node {node} not running"));
                }
                n.keystore.insert(keys.clone());
                self.para_side
                    .entry(*para)
                    .or_default()
                    .next_keys
                    .insert(account.clone(), keys);
                Ok(())
            }
            StepKind::RegisterCollators {
                para,
                invulnerable,
                members,
            } => {
                self.chain_mut()?;
                let side = self.para_side.entry(*para).or_default();
                for m in members {
                    // CollatorSelection: `ValidatorNotRegistered` without keys.
                    if !side.next_keys.contains_key(&m.account) {
                        return Err(format!(
                            "{} registered on para {para} without session keys there",
                            m.node
                        ));
                    }
                    if *invulnerable {
                        side.candidates.retain(|a| a != &m.account);
                        push_unique(&mut side.invulnerables, &m.account);
                    } else if !side.invulnerables.contains(&m.account) {
                        push_unique(&mut side.candidates, &m.account);
                    }
                }
                Ok(())
            }
            StepKind::DeregisterCollators { para, members } => {
                self.chain_mut()?;
                // An extrinsic on the para needs the para to produce blocks:
                // onboarded on the relay chain, with a collator running.
                let producing = self.workloads.values().any(|w| {
                    w.spec.chain_side == ChainSide::Para(*para)
                        && w.spec.role == Role::Collator
                        && w.nodes.values().any(|n| n.running)
                });
                let onboarded = self.chain.as_ref().is_some_and(|c| {
                    c.paras.get(para).is_some_and(|p| {
                        matches!(
                            p.lifecycle,
                            ParaLifecycle::Parachain | ParaLifecycle::Parathread
                        )
                    })
                });
                if !producing || !onboarded {
                    return Err(format!("para {para} produces no blocks"));
                }
                let min = self.min_eligible.unwrap_or(0) as usize;
                let side = self.para_side.entry(*para).or_default();
                for m in members {
                    if !side.invulnerables.contains(&m.account) {
                        continue;
                    }
                    // CollatorSelection: `TooFewEligibleCollators`.
                    if side.invulnerables.len() + side.candidates.len() <= min {
                        return Err(format!("para {para}: TooFewEligibleCollators"));
                    }
                    side.invulnerables.retain(|a| a != &m.account);
                }
                Ok(())
            }
        }
    }

    fn run_workload(
        &mut self,
        desired: &Desired,
        group: &GroupName,
        nodes: &[NodeName],
        to: WorkloadSpec,
    ) {
        let old = self.workloads.remove(group);
        let restart = old.as_ref().is_some_and(|o| {
            let mut a = o.spec.clone();
            a.replicas = to.replicas;
            a != to || o.hash_override.is_some()
        });
        let keystore_changed = old.as_ref().is_some_and(|o| o.spec.keystore != to.keystore);
        let memory = to.keystore == KeystoreKind::Memory;
        let mut old_nodes = old.as_ref().map(|o| o.nodes.clone()).unwrap_or_default();
        let mut new_nodes = BTreeMap::new();
        for n in nodes {
            let account = desired.node(n).and_then(|d| d.account.clone());
            let node = match old_nodes.remove(n) {
                Some(mut s) => {
                    let restarted = restart || !s.running;
                    if restarted && (memory || keystore_changed) {
                        s.keystore.clear();
                    }
                    s.running = true;
                    s.account = account.or(s.account);
                    s
                }
                None => SimNode {
                    running: true,
                    account,
                    keystore: BTreeSet::new(),
                },
            };
            new_nodes.insert(n.clone(), node);
        }
        let generation = old.as_ref().map_or(1, |o| o.generation + 1);
        self.workloads.insert(
            group.clone(),
            SimWorkload {
                spec: to.clone(),
                record_spec: true,
                hash_override: None,
                generation,
                nodes: new_nodes,
            },
        );
        // The relay chain starts with its genesis authorities.
        if self.chain.is_none() && to.chain_side == ChainSide::Relay && to.genesis_authorities {
            let authorities: Vec<AccountId> = nodes
                .iter()
                .filter_map(|n| desired.node(n).and_then(|d| d.account.clone()))
                .collect();
            let mut chain = SimChain::default();
            for a in &authorities {
                chain
                    .next_keys
                    .insert(a.clone(), format!("genesis-keys-{a}"));
            }
            chain.validators = authorities.clone();
            chain.queued = authorities.clone();
            if self.consensus == Consensus::Pos {
                chain.staking = authorities;
            }
            self.chain = Some(chain);
        }
    }

    /// One session change, as `pallet_session` + `ValidatorManager` / staking do it.
    pub fn advance_session(&mut self) {
        // Para sessions turn with the relay's here (real ones are hours).
        for side in self.para_side.values_mut() {
            side.session += 1;
            side.authorities = side
                .queued
                .iter()
                .filter_map(|a| side.next_keys.get(a).cloned())
                .collect();
            let mut next = side.invulnerables.clone();
            next.extend(side.candidates.iter().cloned());
            next.retain(|a| side.next_keys.contains_key(a));
            side.queued = next;
        }
        let consensus = self.consensus;
        let Some(c) = self.chain.as_mut() else { return };
        c.session += 1;
        c.block += 10;
        c.validators = c.queued.clone();
        let mut next = match consensus {
            Consensus::Poa => {
                let mut v = c.validators.clone();
                v.retain(|a| !c.pending_retire.contains(a));
                for a in c.pending_add.drain(..) {
                    push_unique(&mut v, &a);
                }
                c.pending_retire.clear();
                v
            }
            Consensus::Pos => c.staking.clone(),
        };
        next.retain(|a| c.next_keys.contains_key(a));
        c.queued = next;
        let session = c.session;
        c.paras
            .retain(|_, p| !(p.lifecycle.is_offboarding() && p.until <= session));
        for p in c.paras.values_mut() {
            if p.lifecycle == ParaLifecycle::Onboarding && p.until <= session {
                p.lifecycle = p.target;
            }
        }
        // Offboarded paras lose their channels; requests open.
        let paras = c.paras.clone();
        c.hrmp
            .retain(|id, _| paras.contains_key(&id.sender) && paras.contains_key(&id.recipient));
        for (_, open) in c.hrmp.values_mut() {
            *open = true;
        }
    }

    pub fn advance_sessions(&mut self, n: u32) {
        for _ in 0..n {
            self.advance_session();
        }
    }

    /// Stop a node (an in-memory keystore is lost with the process).
    pub fn stop(&mut self, node: &str) {
        for w in self.workloads.values_mut() {
            let memory = w.spec.keystore == KeystoreKind::Memory;
            if let Some(n) = w.nodes.get_mut(&NodeName::new(node)) {
                n.running = false;
                if memory {
                    n.keystore.clear();
                }
            }
        }
    }

    /// Wipe a node's keystore in place (e.g. a volume replaced by hand).
    pub fn wipe_keystore(&mut self, node: &str) {
        if let Some(n) = self.node_mut(&NodeName::new(node)) {
            n.keystore.clear();
        }
    }
}
