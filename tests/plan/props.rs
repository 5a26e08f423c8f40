//! Properties over arbitrary desired states and starting worlds.
//!
//! A starting world is what a previous desired state `d0` left behind: its
//! plan applied only up to a random point (a crash mid-apply), a random number
//! of session changes, then random damage (stopped nodes, wiped keystores,
//! drained stashes, drifted or unrecorded workload specs). The target `d1` is
//! independent of `d0` but shares group names and para ids, so updates,
//! scale-downs, role changes, deletions and offboardings all occur.

use crate::builder::DesiredBuilder;
use crate::sim::World;
use paraform::observe::{ParaLifecycle, ParachainView};
use paraform::plan::{destroy, plan, Action, Plan, StepId, StepKind, WorkloadOp};
use paraform::spec::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct GroupShape {
    replicas: u32,
    validator: bool,
    memory: bool,
    image: u8,
}

#[derive(Clone, Debug)]
struct ParaShape {
    onboard: OnboardMode,
    genesis_from_collator: bool,
    collators: u32,
    mode: CollatorMode,
    image: u8,
}

#[derive(Clone, Debug)]
struct Shape {
    genesis: u32,
    genesis_image: u8,
    groups: Vec<Option<GroupShape>>,
    rpc: Option<u32>,
    paras: Vec<Option<ParaShape>>,
    /// HRMP between the two paras when both are onboarded: bit 0 2000→2001,
    /// bit 1 2001→2000.
    hrmp: u8,
}

fn group_shape() -> impl Strategy<Value = GroupShape> {
    (0u32..=3, prop::bool::weighted(0.8), any::<bool>(), 0u8..2).prop_map(
        |(replicas, validator, memory, image)| GroupShape {
            replicas,
            validator,
            memory,
            image,
        },
    )
}

fn para_shape() -> impl Strategy<Value = ParaShape> {
    let onboard = prop_oneof![
        Just(OnboardMode::Parachain),
        Just(OnboardMode::Parathread),
        Just(OnboardMode::None)
    ];
    let mode = prop_oneof![
        Just(CollatorMode::Invulnerable),
        Just(CollatorMode::Candidate),
        Just(CollatorMode::None)
    ];
    (onboard, any::<bool>(), 0u32..=3, mode, 0u8..2).prop_map(
        |(onboard, from_collator, collators, mode, image)| {
            ParaShape {
                onboard,
                genesis_from_collator: from_collator,
                // Exporting a genesis from collators needs one (the loader's rule too).
                collators: if from_collator {
                    collators.max(1)
                } else {
                    collators
                },
                mode,
                image,
            }
        },
    )
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        1u32..=3,
        0u8..2,
        prop::collection::vec(prop::option::weighted(0.7, group_shape()), 2),
        prop::option::of(1u32..=2),
        prop::collection::vec(prop::option::weighted(0.6, para_shape()), 2),
        0u8..4,
    )
        .prop_map(|(genesis, genesis_image, groups, rpc, paras, hrmp)| Shape {
            genesis,
            genesis_image,
            groups,
            rpc,
            paras,
            hrmp,
        })
}

fn image(i: u8) -> Option<String> {
    (i > 0).then(|| format!("parity/polkadot:v{i}"))
}

fn build(shape: &Shape, consensus: Consensus) -> Desired {
    let mut b = DesiredBuilder::new()
        .consensus(consensus)
        .genesis("genesis", shape.genesis);
    let gi = shape.genesis_image;
    b = b.with(|g| g.image = image(gi));
    for (i, g) in shape.groups.iter().enumerate() {
        let Some(g) = g else { continue };
        let name = format!("val-{i}");
        let role = if g.validator {
            Role::Validator
        } else {
            Role::Full
        };
        let (memory, img) = (g.memory, g.image);
        b = b.relay_group(&name, role, g.replicas).with(|grp| {
            grp.keystore = if memory {
                KeystoreKind::Memory
            } else {
                KeystoreKind::Volume
            };
            grp.image = image(img);
        });
    }
    if let Some(r) = shape.rpc {
        b = b.relay_group("rpc", Role::Rpc, r);
    }
    for (i, p) in shape.paras.iter().enumerate() {
        let Some(p) = p else { continue };
        let id = 2000 + i as u32;
        let genesis = if p.genesis_from_collator {
            GenesisSource::Collator
        } else {
            GenesisSource::RawSpec {
                path: format!("specs/{id}.raw.json"),
            }
        };
        b = b.para(id, p.onboard, genesis);
        let img = p.image;
        b = b
            .collators(id, &format!("col-{id}"), p.collators, p.mode)
            .with(|g| g.image = image(img));
    }
    let onboarded = |i: usize| {
        shape.paras[i]
            .as_ref()
            .is_some_and(|p| p.onboard != OnboardMode::None)
    };
    if onboarded(0) && onboarded(1) {
        if shape.hrmp & 1 != 0 {
            b = b.hrmp(2000, 2001);
        }
        if shape.hrmp & 2 != 0 {
            b = b.hrmp(2001, 2000);
        }
    }
    b.build()
}

#[derive(Clone, Debug)]
enum Damage {
    Stop(usize),
    WipeKeystore(usize),
    Drain(usize),
    Drift(usize),
    ForgetSpec(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0usize..32).prop_map(Damage::Stop),
        (0usize..32).prop_map(Damage::WipeKeystore),
        (0usize..32).prop_map(Damage::Drain),
        (0usize..8).prop_map(Damage::Drift),
        (0usize..8).prop_map(Damage::ForgetSpec),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    consensus: Consensus,
    d0: Shape,
    /// How much of d0's plan ran before the "crash", in 1/16ths.
    progress: usize,
    sessions: u32,
    damage: Vec<Damage>,
    d1: Shape,
}

fn case() -> impl Strategy<Value = Case> {
    let consensus = prop_oneof![3 => Just(Consensus::Poa), 1 => Just(Consensus::Pos)];
    (
        consensus,
        shape(),
        0usize..=16,
        0u32..=2,
        prop::collection::vec(damage(), 0..4),
        shape(),
    )
        .prop_map(|(consensus, d0, progress, sessions, damage, d1)| Case {
            consensus,
            d0,
            progress,
            sessions,
            damage,
            d1,
        })
}

fn start_world(case: &Case) -> World {
    let d0 = build(&case.d0, case.consensus);
    let mut world = World::new(case.consensus);
    let p0 = plan(&d0, &world.observe());
    let order = p0.topo_order().expect("d0 plan is a DAG");
    let cut = order.len() * case.progress / 16;
    for id in &order[..cut] {
        if let Some(step) = p0.step(id) {
            world
                .apply_step(&d0, step)
                .expect("a prefix of a topological order applies");
        }
    }
    world.advance_sessions(case.sessions);

    let nodes: Vec<NodeName> = world
        .workloads
        .values()
        .flat_map(|w| w.nodes.keys().cloned())
        .collect();
    let groups: Vec<GroupName> = world.workloads.keys().cloned().collect();
    for d in &case.damage {
        match d {
            Damage::Stop(i) if !nodes.is_empty() => world.stop(nodes[i % nodes.len()].as_str()),
            Damage::WipeKeystore(i) if !nodes.is_empty() => {
                world.wipe_keystore(nodes[i % nodes.len()].as_str())
            }
            Damage::Drain(i) if !nodes.is_empty() => {
                let node = &nodes[i % nodes.len()];
                let acc = world
                    .workloads
                    .values()
                    .find_map(|w| w.nodes.get(node))
                    .and_then(|n| n.account.clone());
                if let (Some(c), Some(a)) = (world.chain.as_mut(), acc) {
                    c.balances.insert(a, 0);
                }
            }
            Damage::Drift(i) if !groups.is_empty() => {
                if let Some(w) = world.workloads.get_mut(&groups[i % groups.len()]) {
                    w.hash_override = Some("drifted".into());
                }
            }
            Damage::ForgetSpec(i) if !groups.is_empty() => {
                if let Some(w) = world.workloads.get_mut(&groups[i % groups.len()]) {
                    w.record_spec = false;
                }
            }
            _ => {}
        }
    }
    // Keep the relay chain reachable once it runs: with every relay node down
    // the chain cannot be reached to deregister before a scale-down (the
    // executor then stops with an error, which is a scenario test's business).
    if world.chain.is_some() {
        let relay_up = world
            .workloads
            .values()
            .any(|w| w.spec.chain_side == ChainSide::Relay && w.nodes.values().any(|n| n.running));
        if !relay_up {
            if let Some(n) = world
                .workloads
                .values_mut()
                .filter(|w| w.spec.chain_side == ChainSide::Relay)
                .flat_map(|w| w.nodes.values_mut())
                .next()
            {
                n.running = true;
            }
        }
    }
    world
}

/// Effects that cannot be undone within the current session and so need a
/// second plan: a PoA registration in flight for a node no longer desired
/// (deregistered once it has joined), an onboarding para no longer wanted
/// (offboarded once onboarded), or invulnerables of an onboarding para (a
/// para includes no extrinsic before it is onboarded).
fn needs_two_rounds(world: &World, d1: &Desired) -> bool {
    let Some(c) = &world.chain else {
        return !d1.hrmp.is_empty();
    };
    let joining = world.consensus == Consensus::Poa
        && world
            .workloads
            .values()
            .flat_map(|w| w.nodes.iter())
            .any(|(name, n)| {
                n.account.as_ref().is_some_and(|a| {
                    let desired = d1.node(name).is_some_and(|d| {
                        d.role == Role::Validator
                            && d1
                                .group(&d.group)
                                .is_some_and(|g| g.chain == ChainSide::Relay)
                    });
                    c.pending_add.contains(a) && !desired
                })
            });
    let onboarding = c.paras.iter().any(|(id, p)| {
        p.lifecycle == paraform::observe::ParaLifecycle::Onboarding
            && d1
                .parachain(*id)
                .is_none_or(|p| p.onboard == OnboardMode::None)
    });
    // A channel opens only once both its paras are registered: the plan
    // that onboards them leaves it to the next.
    let valid = |id: &ParaId| {
        c.paras.get(id).is_some_and(|p| {
            matches!(
                p.lifecycle,
                paraform::observe::ParaLifecycle::Parachain
                    | paraform::observe::ParaLifecycle::Parathread
            )
        })
    };
    let hrmp_waits = d1
        .hrmp
        .iter()
        .any(|h| !valid(&h.id.sender) || !valid(&h.id.recipient));
    // Collators leave an onboarding para only once it produces blocks.
    let onboarding_with_collators = c.paras.iter().any(|(id, p)| {
        p.lifecycle == paraform::observe::ParaLifecycle::Onboarding
            && world
                .para_side
                .get(id)
                .is_some_and(|s| !s.invulnerables.is_empty())
    });
    joining || onboarding || onboarding_with_collators || hrmp_waits
}

fn position(order: &BTreeMap<&StepId, usize>, id: &StepId) -> Option<usize> {
    order.get(id).copied()
}

/// Every deregistration comes before the workload step of its node's group.
fn check_deregistration_order(p: &Plan, world: &World) -> Result<(), TestCaseError> {
    let order = p
        .topo_order()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let at: BTreeMap<&StepId, usize> = order.iter().enumerate().map(|(i, id)| (id, i)).collect();
    for s in &p.steps {
        let members = match &s.kind {
            StepKind::DeregisterValidators { members, .. }
            | StepKind::DeregisterCollators { members, .. } => members,
            _ => continue,
        };
        for m in members {
            let Some(group) = world
                .workloads
                .iter()
                .find(|(_, w)| w.nodes.contains_key(&m.node))
                .map(|(g, _)| g)
            else {
                continue;
            };
            let wid = StepId::workload(group);
            if let (Some(d), Some(w)) = (position(&at, &s.id), position(&at, &wid)) {
                prop_assert!(d < w, "{} must precede {}", s.id, wid);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_valid_deterministic_and_converge(case in case()) {
        let world = start_world(&case);
        let d1 = build(&case.d1, case.consensus);
        let observed = world.observe();
        let p = plan(&d1, &observed);

        // (1) acyclic, every dependency exists, steps listed in topological order.
        prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
        let order = p.topo_order().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(order, p.steps.iter().map(|s| s.id.clone()).collect::<Vec<_>>());

        // (2) deregistrations precede the deletion / update of their nodes.
        check_deregistration_order(&p, &world)?;

        // (4) deterministic: same input, identical output.
        prop_assert_eq!(&plan(&d1, &observed), &p);

        // (3) apply in topological order, let the sessions turn, re-plan: nothing left.
        let rounds = if needs_two_rounds(&world, &d1) { 2 } else { 1 };
        let mut world = world;
        let mut current = p;
        for _ in 0..rounds {
            world.apply_plan(&d1, &current).map_err(TestCaseError::fail)?;
            world.advance_sessions(2);
            current = plan(&d1, &world.observe());
        }
        prop_assert!(current.is_empty(), "left after {} round(s): {:#?}", rounds, current.steps);
        prop_assert!(current.pending.is_empty(), "still pending: {:?}", current.pending);
    }

    #[test]
    fn fresh_networks_converge_in_one_round(shape in shape(), pos in any::<bool>()) {
        let consensus = if pos { Consensus::Pos } else { Consensus::Poa };
        let d = build(&shape, consensus);
        let world = World::converged(&d);
        let p = plan(&d, &world.observe());
        prop_assert!(p.is_empty(), "{:#?}", p.steps);
        prop_assert!(p.pending.is_empty());
    }

    /// From any set of channels between two running paras to any other (or
    /// the same with other limits): one apply and a session change converge,
    /// and channels that stay are never left closed.
    #[test]
    fn hrmp_channels_converge_from_any_set(from in 0u8..4, to in 0u8..4, resize in any::<bool>()) {
        let net = |bits: u8, capacity: u32| {
            let mut b = DesiredBuilder::new()
                .genesis("genesis", 2)
                .para(2000, OnboardMode::Parachain, GenesisSource::Collator)
                .collators(2000, "col-2000", 1, CollatorMode::None)
                .para(2001, OnboardMode::Parachain, GenesisSource::Collator)
                .collators(2001, "col-2001", 1, CollatorMode::None);
            if bits & 1 != 0 {
                b = b.hrmp(2000, 2001);
            }
            if bits & 2 != 0 {
                b = b.hrmp(2001, 2000);
            }
            let mut d = b.build();
            for c in &mut d.hrmp {
                c.max_capacity = capacity;
            }
            d
        };
        let d0 = net(from, 8);
        let d1 = net(to, if resize { 4 } else { 8 });
        let mut world = World::converged(&d0);
        prop_assert!(plan(&d0, &world.observe()).is_empty());
        let p = plan(&d1, &world.observe());
        prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
        world.apply_plan(&d1, &p).map_err(TestCaseError::fail)?;
        world.advance_sessions(1);
        let again = plan(&d1, &world.observe());
        prop_assert!(again.is_empty(), "{:#?}", again.steps);
        prop_assert!(again.pending.is_empty(), "{:?}", again.pending);
        // Open, with the desired limits.
        let open: Vec<(HrmpChannel, bool)> = world
            .chain
            .as_ref()
            .map(|c| c.hrmp.values().copied().collect())
            .unwrap_or_default();
        prop_assert_eq!(open, d1.hrmp.iter().map(|c| (*c, true)).collect::<Vec<_>>());
    }
}

/// Steps `id` waits for, directly or not.
fn ancestors<'p>(p: &'p Plan, id: &StepId) -> std::collections::BTreeSet<&'p StepId> {
    let mut seen = std::collections::BTreeSet::new();
    let mut stack: Vec<&StepId> = p
        .step(id)
        .map(|s| s.depends_on.iter().collect())
        .unwrap_or_default();
    while let Some(d) = stack.pop() {
        if seen.insert(d) {
            if let Some(s) = p.step(d) {
                stack.extend(s.depends_on.iter());
            }
        }
    }
    seen
}

/// Accounts of the nodes paraform runs in `world`, by chain, in workloads
/// whose chain is known (recorded spec, or a group of the declared state).
fn managed_accounts(world: &World, declared: &Desired) -> Vec<(ChainSide, AccountId)> {
    world
        .workloads
        .iter()
        .filter(|(g, w)| w.record_spec || declared.group(g).is_some())
        // Genesis authorities stay in the set until the chain goes.
        .filter(|(_, w)| !w.spec.genesis_authorities)
        .map(|(_, w)| w)
        .flat_map(|w| {
            w.nodes
                .values()
                .filter_map(move |n| n.account.clone().map(|a| (w.spec.chain_side, a)))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `destroy` is the planner in another mode: same validity, ordering and
    /// determinism, and applying it empties the world of what paraform
    /// manages (workloads, managed validators, managed invulnerables, the
    /// paras it ran collators for) after which a destroy plans nothing.
    #[test]
    fn destroy_plans_are_valid_ordered_and_empty_the_world(case in case()) {
        let mut world = start_world(&case);
        world.min_eligible = [None, Some(0), Some(1), Some(3)][case.progress % 4];
        let d = build(&case.d1, case.consensus);
        let observed = world.observe();
        let p = destroy(&d, &observed);

        prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
        let order = p.topo_order().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&order, &p.steps.iter().map(|s| s.id.clone()).collect::<Vec<_>>());
        check_deregistration_order(&p, &world)?;
        prop_assert_eq!(&destroy(&d, &observed), &p);
        prop_assert_eq!(&p.fingerprint, &plan(&d, &observed).fingerprint);
        prop_assert!(p.safety.is_empty(), "{:?}", p.safety);
        // Nothing is created, and no node stops before every chain step is
        // done: the executor runs whatever is ready in parallel, so this is
        // a matter of edges, not of the listed order.
        let chain_steps: Vec<&StepId> = p.steps.iter().filter(|s| s.kind.submits()).map(|s| &s.id).collect();
        for id in &order {
            let Some(s) = p.step(id) else { continue };
            if let StepKind::Workload { op, .. } = &s.kind {
                prop_assert_eq!(*op, WorkloadOp::Delete, "{}", id);
                let before = ancestors(&p, id);
                for c in &chain_steps {
                    prop_assert!(before.contains(*c), "{} does not wait for {}", id, c);
                }
            }
            prop_assert!(
                matches!(s.action, Action::Delete),
                "{} is not a deletion: {:?}", id, s.action
            );
        }

        // What the destroy must remove, as the world is now.
        let relay_live = observed.relay_state().is_some();
        let before = world.clone();
        let managed = managed_accounts(&before, &d);
        world.apply_plan(&d, &p).map_err(TestCaseError::fail)?;
        prop_assert!(world.workloads.is_empty(), "left: {:?}", world.workloads.keys().collect::<Vec<_>>());

        if let (true, Some(c0), Some(c)) = (relay_live, &before.chain, &world.chain) {
            for (side, a) in &managed {
                match side {
                    ChainSide::Relay => {
                        // A PoA addition in flight cannot be cancelled.
                        let joining = case.consensus == Consensus::Poa && c0.pending_add.contains(a);
                        let member = match case.consensus {
                            Consensus::Poa => (c.validators.contains(a) || c.queued.contains(a))
                                && !c.pending_retire.contains(a),
                            Consensus::Pos => c.staking.contains(a),
                        };
                        prop_assert!(joining || !member, "validator {} stays in the set", a);
                    }
                    ChainSide::Para(id) => {
                        let was_producing = matches!(
                            observed.parachains.get(id),
                            Some(ParachainView::Live(_))
                        ) && c0.paras.get(id).is_some_and(|p| matches!(
                            p.lifecycle,
                            ParaLifecycle::Parachain | ParaLifecycle::Parathread
                        ));
                        let side = world.para_side.get(id).cloned().unwrap_or_default();
                        let still = side.invulnerables.contains(a);
                        // As many leave as CollatorSelection lets go; none
                        // when its minimum is unknown.
                        let at_min = match before.min_eligible {
                            Some(min) => side.invulnerables.len() + side.candidates.len() <= min as usize,
                            None => true,
                        };
                        prop_assert!(!was_producing || !still || at_min, "collator {} stays invulnerable on {}", a, id);
                    }
                }
            }
            for (id, p0) in &c0.paras {
                let ran = before.workloads.iter().any(|(g, w)| {
                    w.spec.chain_side == ChainSide::Para(*id) && (w.record_spec || d.group(g).is_some())
                });
                let onboarded = matches!(p0.lifecycle, ParaLifecycle::Parachain | ParaLifecycle::Parathread);
                if ran && onboarded {
                    prop_assert!(
                        c.paras.get(id).is_none_or(|p| p.lifecycle.is_offboarding()),
                        "para {} not offboarded", id
                    );
                }
            }
        }

        // Destroying again plans nothing.
        let again = destroy(&d, &world.observe());
        prop_assert!(again.is_empty(), "{:#?}", again.steps);
    }
}
