//! Hand-built scenarios, one or more per planning rule.

use crate::builder::*;
use crate::sim::World;
use crate::{deps, has, ids, members, pos, step};
use paraform::observe::*;
use paraform::plan::*;
use paraform::spec::*;

fn live(o: &mut Observed) -> &mut ChainState {
    match &mut o.relay {
        ChainView::Live(c) => c,
        other => panic!("relay not live: {other:?}"),
    }
}

// ---------------------------------------------------------------- fresh network

#[test]
fn fresh_network_lists_every_step_known_after_apply() {
    let d = with_para().build();
    let p = plan(&d, &Observed::empty());
    p.validate().expect("valid DAG");

    for g in ["genesis", "validator-a", "rpc", "collator"] {
        let w = step(&p, &format!("workload.{g}"));
        assert_eq!(w.action, Action::Create);
        assert_eq!(w.reason, "does not exist");
        let gate = step(&p, &format!("gate.{g}"));
        assert_eq!(gate.action, Action::Wait);
        assert_eq!(
            deps(&p, &format!("gate.{g}")),
            vec![format!("workload.{g}")]
        );
    }

    // Stashes are funded on the relay, collators on their para.
    let fund = step(&p, "fund");
    assert_eq!(members(fund), vec!["validator-a-0", "validator-a-1"]);
    match &fund.kind {
        StepKind::Fund { transfers } => assert!(transfers.iter().all(|t| t.amount == FUNDING)),
        k => panic!("{k:?}"),
    }
    assert_eq!(deps(&p, "fund"), vec!["gate.genesis"]);

    let keys = step(&p, "keys.validator-a-0");
    assert_eq!(keys.action, Action::Create);
    assert_eq!(keys.known_after_apply(), vec![Resolved::SessionKeys]);
    assert_eq!(
        deps(&p, "keys.validator-a-0"),
        vec!["fund", "gate.genesis", "gate.validator-a"]
    );

    let reg = step(&p, "validators.register");
    assert_eq!(members(reg), vec!["validator-a-0", "validator-a-1"]);
    assert_eq!(
        deps(&p, "validators.register"),
        vec![
            "fund",
            "gate.genesis",
            "keys.validator-a-0",
            "keys.validator-a-1"
        ]
    );
    assert_eq!(
        reg.eta.as_ref().and_then(|e| e.session),
        None,
        "no session index before the chain runs"
    );

    let onboard = step(&p, "para.2000.onboard");
    assert_eq!(onboard.action, Action::Create);
    assert_eq!(
        onboard.known_after_apply(),
        vec![
            Resolved::GenesisHead,
            Resolved::ValidationCode,
            Resolved::GenesisFrom,
            Resolved::Core
        ]
    );
    assert_eq!(
        deps(&p, "para.2000.onboard"),
        vec!["gate.collator", "gate.genesis"]
    );

    let para_fund = step(&p, "collators.2000.fund");
    match &para_fund.kind {
        StepKind::FundCollators { para, transfers } => {
            assert_eq!(para.0, 2000);
            assert_eq!(
                transfers
                    .iter()
                    .map(|t| t.node.as_str())
                    .collect::<Vec<_>>(),
                vec!["collator-0", "collator-1"]
            );
            assert!(transfers.iter().all(|t| t.amount == FUNDING));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(
        deps(&p, "collators.2000.fund"),
        vec!["gate.collator", "gate.genesis", "para.2000.onboard"]
    );
    for n in ["collator-0", "collator-1"] {
        let id = format!("collators.2000.keys.{n}");
        assert_eq!(
            step(&p, &id).known_after_apply(),
            vec![Resolved::SessionKeys]
        );
        assert_eq!(
            deps(&p, &id),
            vec![
                "collators.2000.fund",
                "gate.collator",
                "gate.genesis",
                "para.2000.onboard"
            ]
        );
    }
    assert_eq!(
        members(step(&p, "collators.2000.register")),
        vec!["collator-0", "collator-1"]
    );
    assert_eq!(
        deps(&p, "collators.2000.register"),
        vec![
            "collators.2000.fund",
            "collators.2000.keys.collator-0",
            "collators.2000.keys.collator-1",
            "gate.collator",
            "gate.genesis",
            "para.2000.onboard"
        ]
    );

    // Nothing to deregister, no keys for genesis authorities, nothing unsafe.
    assert!(!has(&p, "validators.deregister"));
    assert!(!has(&p, "keys.genesis-0"));
    assert!(p.safety.is_empty(), "{:?}", p.safety);
    assert_eq!(
        p.summary(),
        Summary {
            add: 13,
            change: 0,
            destroy: 0
        }
    );
    assert_eq!(p.fingerprint.block_hash, None);
}

#[test]
fn steps_are_in_topological_order_with_ties_by_id() {
    let d = with_para().build();
    let p = plan(&d, &Observed::empty());
    let order: Vec<String> = p.topo_order().unwrap().into_iter().map(|s| s.0).collect();
    assert_eq!(
        ids(&p),
        order.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // The first wave holds the workloads, sorted by id.
    assert_eq!(
        p.waves()[0].iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        vec![
            "workload.collator",
            "workload.genesis",
            "workload.rpc",
            "workload.validator-a"
        ]
    );
    for (i, s) in p.steps.iter().enumerate() {
        for d in &s.depends_on {
            assert!(
                p.steps[..i].iter().any(|e| &e.id == d),
                "{} listed before its dependency {d}",
                s.id
            );
        }
    }
}

#[test]
fn converged_world_plans_nothing() {
    let d = with_para().build();
    let world = World::converged(&d);
    let p = plan(&d, &world.observe());
    assert!(p.is_empty(), "{:#?}", p.steps);
    assert!(p.pending.is_empty(), "{:?}", p.pending);
    assert!(p.safety.is_empty());
}

// ---------------------------------------------------------------- workloads

#[test]
fn spec_change_updates_with_changed_fields() {
    let d0 = local_network().build();
    let world = World::converged(&d0);
    let d1 = local_network()
        .edit("validator-a", |g| {
            g.image = Some("parity/polkadot:v2".into());
            g.flags = vec!["--pruning=1000".into()];
        })
        .build();
    let p = plan(&d1, &world.observe());
    let w = step(&p, "workload.validator-a");
    assert_eq!(w.action, Action::Update);
    assert_eq!(w.reason, "spec changed: image, flags");
    match &w.kind {
        StepKind::Workload { op, from, to, .. } => {
            assert_eq!(*op, WorkloadOp::Update);
            assert_eq!(from.as_ref().and_then(|s| s.image.clone()), None);
            assert_eq!(
                to.as_ref().and_then(|s| s.image.clone()),
                Some("parity/polkadot:v2".into())
            );
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(deps(&p, "gate.validator-a"), vec!["workload.validator-a"]);
    // Volume keystores survive the restart: no key rotation, no chain steps.
    assert_eq!(ids(&p), vec!["workload.validator-a", "gate.validator-a"]);
}

#[test]
fn unrecorded_spec_with_other_hash_is_a_spec_change() {
    let d = local_network().build();
    let mut world = World::converged(&d);
    if let Some(w) = world.workloads.get_mut(&GroupName::new("rpc")) {
        w.record_spec = false;
        w.hash_override = Some("0000".into());
    }
    let p = plan(&d, &world.observe());
    assert_eq!(step(&p, "workload.rpc").reason, "spec changed");
}

#[test]
fn objects_edited_outside_paraform_are_restored() {
    let d = local_network().build();
    let world = World::converged(&d);
    let mut o = world.observe();
    let rpc = o.workloads.get_mut(&GroupName::new("rpc")).expect("rpc");
    rpc.out_of_sync = vec!["Service/ns/rpc-0".into()];
    let p = plan(&d, &o);
    let w = step(&p, "workload.rpc");
    assert_eq!(w.action, Action::Update);
    assert_eq!(w.reason, "changed outside paraform: Service/ns/rpc-0");
    assert_eq!(ids(&p), vec!["workload.rpc", "gate.rpc"]);

    // An edited StatefulSet restarts pods: validators roll within the BFT bound.
    let mut o = world.observe();
    let va = o
        .workloads
        .get_mut(&GroupName::new("validator-a"))
        .expect("validator-a");
    va.out_of_sync = vec!["StatefulSet/ns/validator-a".into()];
    let p = plan(&d, &o);
    assert_eq!(
        step(&p, "workload.validator-a").reason,
        "changed outside paraform: StatefulSet/ns/validator-a"
    );
}

#[test]
fn stopped_and_missing_nodes_update_the_workload() {
    let d = local_network().build();
    let mut world = World::converged(&d);
    world.stop("validator-a-1");
    let mut o = world.observe();
    if let Some(w) = o.workloads.get_mut(&GroupName::new("rpc")) {
        w.nodes.clear();
    }
    let p = plan(&d, &o);
    assert_eq!(
        step(&p, "workload.validator-a").reason,
        "node validator-a-1 not running"
    );
    assert_eq!(step(&p, "workload.rpc").reason, "node rpc-0 missing");
    // A down node's keystore cannot be checked: listed, after its gate.
    assert_eq!(
        step(&p, "keys.validator-a-1").reason,
        "node is down: its keystore is unverified"
    );
    assert!(deps(&p, "keys.validator-a-1").contains(&"gate.validator-a"));
}

#[test]
fn in_memory_keystore_restart_rotates_keys_after_the_gate() {
    let base = || local_network().edit("validator-a", |g| g.keystore = KeystoreKind::Memory);
    let world = World::converged(&base().build());
    let d1 = base()
        .edit("validator-a", |g| g.image = Some("v2".into()))
        .build();
    let p = plan(&d1, &world.observe());
    let keys = step(&p, "keys.validator-a-0");
    assert_eq!(
        keys.action,
        Action::Update,
        "keys exist on chain: a rotation"
    );
    assert_eq!(keys.reason, "node restarts with an empty keystore");
    // The stash paid one fee for its first set_keys: topped up by exactly that.
    assert_eq!(
        deps(&p, "keys.validator-a-0"),
        vec!["fund", "gate.validator-a"]
    );
    match &step(&p, "fund").kind {
        StepKind::Fund { transfers } => assert!(transfers.iter().all(|t| t.amount == 1)),
        k => panic!("{k:?}"),
    }
    assert!(!has(&p, "validators.register"), "still in the set");
}

#[test]
fn replica_increase_creates_keys_and_registers_only_the_new_node() {
    let world = World::converged(&local_network().build());
    let d1 = local_network()
        .edit("validator-a", |g| g.replicas = 3)
        .build();
    let p = plan(&d1, &world.observe());
    let w = step(&p, "workload.validator-a");
    assert_eq!(w.reason, "replicas 2 → 3; node validator-a-2 missing");
    assert_eq!(members(step(&p, "fund")), vec!["validator-a-2"]);
    assert!(has(&p, "keys.validator-a-2") && !has(&p, "keys.validator-a-0"));
    assert_eq!(
        step(&p, "keys.validator-a-2").reason,
        "new node: empty keystore; no Session.NextKeys for the stash"
    );
    let reg = step(&p, "validators.register");
    assert_eq!(members(reg), vec!["validator-a-2"]);
    assert!(
        reg.reason.starts_with("not in Session.Validators"),
        "{}",
        reg.reason
    );
    let eta = reg.eta.clone().expect("eta");
    assert_eq!(
        eta.session,
        Some(4),
        "converged world is at session 2: effective at N+2"
    );
    assert_eq!(eta.text, "effective at session 4");
}

// ---------------------------------------------------------------- validators

#[test]
fn scale_down_deregisters_before_the_update() {
    let world = World::converged(&local_network().validators("validator-b", 4).build());
    let d1 = local_network().validators("validator-b", 3).build();
    let p = plan(&d1, &world.observe());
    let dereg = step(&p, "validators.deregister");
    assert_eq!(dereg.action, Action::Delete);
    assert_eq!(members(dereg), vec!["validator-b-3"]);
    assert_eq!(dereg.reason, "no longer desired validators: validator-b-3");
    assert!(deps(&p, "workload.validator-b").contains(&"validators.deregister"));
    assert!(pos(&p, "validators.deregister") < pos(&p, "workload.validator-b"));
    assert_eq!(step(&p, "workload.validator-b").reason, "replicas 4 → 3");
}

#[test]
fn deleted_group_is_deregistered_then_deleted() {
    let world = World::converged(&local_network().validators("validator-b", 2).build());
    let d1 = local_network().build();
    let p = plan(&d1, &world.observe());
    let del = step(&p, "workload.validator-b");
    assert_eq!(
        (del.action, del.reason.as_str()),
        (Action::Delete, "not in desired state")
    );
    assert_eq!(
        members(step(&p, "validators.deregister")),
        vec!["validator-b-0", "validator-b-1"]
    );
    assert_eq!(
        deps(&p, "workload.validator-b"),
        vec!["validators.deregister"]
    );
    assert!(!has(&p, "gate.validator-b"));
}

#[test]
fn role_change_deregisters_before_the_update() {
    let world = World::converged(&local_network().build());
    let d1 = local_network()
        .edit("validator-a", |g| g.role = Role::Full)
        .build();
    let p = plan(&d1, &world.observe());
    assert_eq!(
        step(&p, "workload.validator-a").reason,
        "spec changed: role"
    );
    assert_eq!(
        members(step(&p, "validators.deregister")),
        vec!["validator-a-0", "validator-a-1"]
    );
    assert!(pos(&p, "validators.deregister") < pos(&p, "workload.validator-a"));
}

#[test]
fn genesis_scale_down_deregisters_without_waiting_for_its_own_gate() {
    let world = World::converged(&local_network().build());
    let d1 = local_network().edit("genesis", |g| g.replicas = 1).build();
    let p = plan(&d1, &world.observe());
    p.validate().expect("no cycle");
    assert_eq!(
        members(step(&p, "validators.deregister")),
        vec!["genesis-1"]
    );
    assert!(!deps(&p, "validators.deregister").contains(&"gate.genesis"));
    assert!(pos(&p, "validators.deregister") < pos(&p, "workload.genesis"));
}

#[test]
fn lost_keystore_rotates_keys() {
    let d = local_network().build();
    let mut world = World::converged(&d);
    world.wipe_keystore("validator-a-1");
    let o = world.observe();
    assert_eq!(
        o.nodes[&NodeName::new("validator-a-1")].has_session_keys,
        Some(false)
    );
    let p = plan(&d, &o);
    assert_eq!(ids(&p), vec!["fund", "keys.validator-a-1"]);
    let k = step(&p, "keys.validator-a-1");
    assert_eq!(k.action, Action::Update);
    assert_eq!(
        k.reason,
        "node lost its session keys (author_hasSessionKeys = false)"
    );
}

#[test]
fn stash_without_next_keys_gets_keys_and_funding() {
    let d = local_network().build();
    let world = World::converged(&d);
    let mut o = world.observe();
    let c = live(&mut o);
    c.next_keys.remove(&stash("validator-a-0"));
    c.balances.insert(stash("validator-a-0"), 10);
    let p = plan(&d, &o);
    assert_eq!(ids(&p), vec!["fund", "keys.validator-a-0"]);
    match &step(&p, "fund").kind {
        StepKind::Fund { transfers } => assert_eq!(transfers[0].amount, FUNDING - 10),
        k => panic!("{k:?}"),
    }
    assert_eq!(deps(&p, "keys.validator-a-0"), vec!["fund"]);
}

#[test]
fn registration_in_flight_is_pending_not_replanned() {
    let d = local_network().build();
    let mut world = World::new(Consensus::Poa);
    let p = plan(&d, &world.observe());
    world.apply_plan(&d, &p).unwrap();
    // Right after apply: stashes are in ValidatorsToAdd.
    let p = plan(&d, &world.observe());
    assert!(p.is_empty(), "{:?}", ids(&p));
    assert_eq!(p.pending.len(), 2);
    assert_eq!(p.pending[0].subject, "validator-a-0");
    assert_eq!(p.pending[0].what, "joins the active set");
    assert_eq!(p.pending[0].eta.as_ref().and_then(|e| e.session), Some(2));
    // One session later they are queued (next session's set): still pending, one session to go.
    world.advance_session();
    let p = plan(&d, &world.observe());
    assert!(p.is_empty());
    assert_eq!(p.pending[0].eta.as_ref().and_then(|e| e.session), Some(2));
    world.advance_session();
    let p = plan(&d, &world.observe());
    assert!(p.is_empty() && p.pending.is_empty());
}

#[test]
fn retirement_in_flight_is_pending() {
    let world = World::converged(&local_network().validators("validator-b", 1).build());
    let d1 = local_network().validators("validator-b", 1).build();
    let mut o = world.observe();
    live(&mut o).pending_retire.push(stash("validator-b-0"));
    let d_without = local_network().build();
    let p = plan(&d_without, &o);
    assert!(!has(&p, "validators.deregister"));
    assert!(p
        .pending
        .iter()
        .any(|x| x.subject == "validator-b-0" && x.what == "leaves the active set"));
    // Still desired while retiring: registered again (the retirement would win otherwise).
    let p = plan(&d1, &o);
    assert_eq!(
        members(step(&p, "validators.register")),
        vec!["validator-b-0"]
    );
}

#[test]
fn external_validators_are_never_touched() {
    let d = local_network().build();
    let world = World::converged(&d);
    let mut o = world.observe();
    let stranger = account("external", "x");
    live(&mut o).validators.push(stranger.clone());
    live(&mut o).queued.push(stranger);
    let p = plan(&d, &o);
    assert!(p.is_empty(), "{:?}", ids(&p));
}

#[test]
fn joining_validator_that_is_no_longer_desired_is_held_for_a_later_plan() {
    let d0 = local_network().validators("validator-b", 1).build();
    let mut world = World::new(Consensus::Poa);
    world.apply_plan(&d0, &plan(&d0, &world.observe())).unwrap();
    // validator-b-0 is in ValidatorsToAdd, which cannot be cancelled.
    let d1 = local_network().build();
    let p = plan(&d1, &world.observe());
    assert!(!has(&p, "validators.deregister"));
    assert!(
        !has(&p, "workload.validator-b"),
        "its node must keep running until it can leave"
    );
    assert!(p
        .pending
        .iter()
        .any(|x| x.subject == "workload validator-b"));
    assert!(p
        .pending
        .iter()
        .any(|x| x.subject == "validator-b-0" && x.what.contains("deregistered by a later plan")));
    // Once it joined, the next plan deregisters and deletes it.
    world.advance_sessions(2);
    let p = plan(&d1, &world.observe());
    assert_eq!(
        members(step(&p, "validators.deregister")),
        vec!["validator-b-0"]
    );
    assert_eq!(
        deps(&p, "workload.validator-b"),
        vec!["validators.deregister"]
    );
}

#[test]
fn pos_registers_through_staking() {
    let d = local_network().consensus(Consensus::Pos).build();
    let mut o = World::converged(&d).observe();
    live(&mut o)
        .staking_validators
        .retain(|a| a != &stash("validator-a-1"));
    let p = plan(&d, &o);
    let reg = step(&p, "validators.register");
    assert_eq!(members(reg), vec!["validator-a-1"]);
    assert!(reg.reason.starts_with("not in Staking.Validators"));
    assert_eq!(reg.kind.calls(), vec!["Staking.bond", "Staking.validate"]);
}

#[test]
fn zero_funding_target_funds_nothing() {
    let p = plan(&local_network().funding(0).build(), &Observed::empty());
    assert!(!has(&p, "fund"));
    assert_eq!(
        deps(&p, "keys.validator-a-0"),
        vec!["gate.genesis", "gate.validator-a"]
    );
}

#[test]
fn managed_validator_without_account_is_skipped() {
    let mut d = local_network().build();
    for g in &mut d.groups {
        for n in &mut g.nodes {
            if n.group.as_str() == "validator-a" {
                n.account = None;
            }
        }
    }
    let p = plan(&d, &Observed::empty());
    assert!(!ids(&p).iter().any(|id| id.starts_with("keys.")));
    assert!(!has(&p, "validators.register") && !has(&p, "fund"));
}

#[test]
fn validator_groups_roll_one_after_another_within_the_bound() {
    let base = || local_network().validators("validator-b", 3);
    let world = World::converged(&base().build());
    assert_eq!(
        world.observe().relay_state().map(|c| c.validators.len()),
        Some(7)
    );
    let d1 = base()
        .edit("validator-a", |g| g.image = Some("v2".into()))
        .edit("validator-b", |g| g.image = Some("v2".into()))
        .edit("genesis", |g| g.image = Some("v2".into()))
        .edit("rpc", |g| g.image = Some("v2".into()))
        .build();
    let p = plan(&d1, &world.observe());
    p.validate().unwrap();
    // n = 7 → ⌊6/3⌋ = 2 at once.
    match &step(&p, "workload.validator-b").kind {
        StepKind::Workload {
            max_unavailable, ..
        } => assert_eq!(*max_unavailable, 2),
        k => panic!("{k:?}"),
    }
    match &step(&p, "workload.rpc").kind {
        StepKind::Workload {
            max_unavailable, ..
        } => assert_eq!(*max_unavailable, 1),
        k => panic!("{k:?}"),
    }
    assert_eq!(deps(&p, "workload.validator-a"), vec!["gate.genesis"]);
    assert_eq!(deps(&p, "workload.validator-b"), vec!["gate.validator-a"]);
    assert!(p.safety.is_empty(), "{:?}", p.safety);
}

// ---------------------------------------------------------------- chain not observable

/// Every relay node of `local_network()` stopped: the chain cannot be read.
fn stop_relay_nodes(world: &mut World) {
    for n in [
        "genesis-0",
        "genesis-1",
        "validator-a-0",
        "validator-a-1",
        "rpc-0",
    ] {
        world.stop(n);
    }
}

#[test]
fn unreachable_chain_still_lists_chain_steps() {
    let d = local_network().build();
    let mut world = World::converged(&d);
    stop_relay_nodes(&mut world);
    let o = world.observe();
    assert!(matches!(o.relay, ChainView::Unreachable { .. }));
    let p = plan(&d, &o);
    p.validate().unwrap();
    // Membership unknown: keys and registration are listed, checked when applied.
    let reg = step(&p, "validators.register");
    assert!(
        reg.reason.starts_with("relay chain unreachable"),
        "{}",
        reg.reason
    );
    assert!(deps(&p, "validators.register").contains(&"gate.genesis"));
    assert!(deps(&p, "keys.validator-a-0").contains(&"gate.genesis"));
    // The simulated executor applies it (re-checking each precondition) and converges.
    world.apply_plan(&d, &p).unwrap();
    world.advance_sessions(2);
    let p = plan(&d, &world.observe());
    assert!(p.is_empty(), "{:?}", ids(&p));
}

// ---------------------------------------------------------------- parachains

#[test]
fn onboarding_para_is_pending() {
    let d = with_para().build();
    let mut world = World::new(Consensus::Poa);
    world.apply_plan(&d, &plan(&d, &world.observe())).unwrap();
    let p = plan(&d, &world.observe());
    assert!(p.is_empty(), "{:?}", ids(&p));
    let para = p
        .pending
        .iter()
        .find(|x| x.subject == "para 2000")
        .expect("para pending");
    assert_eq!(para.what, "onboarding, becomes a parachain");
    assert_eq!(
        para.eta.as_ref().map(|e| e.text.as_str()),
        Some("becomes a parachain at session 2")
    );
}

#[test]
fn undesired_para_is_offboarded_before_its_collators_go() {
    let world = World::converged(&with_para().build());
    let d1 = local_network().build();
    let p = plan(&d1, &world.observe());
    let off = step(&p, "para.2000.offboard");
    assert_eq!(
        (off.action, off.reason.as_str()),
        (Action::Delete, "not in desired state")
    );
    assert_eq!(deps(&p, "workload.collator"), vec!["para.2000.offboard"]);
    assert!(
        !has(&p, "collators.2000.deregister"),
        "the para goes away as a whole"
    );
}

#[test]
fn onboard_none_offboards_a_registered_para() {
    let world = World::converged(&with_para().build());
    let d1 = with_para()
        .edit_para(2000, |p| p.onboard = OnboardMode::None)
        .build();
    let p = plan(&d1, &world.observe());
    assert_eq!(step(&p, "para.2000.offboard").reason, "onboard = none");
    assert!(!has(&p, "workload.collator"));
}

#[test]
fn external_paras_are_never_touched() {
    let d = with_para().build();
    let mut o = World::converged(&d).observe();
    live(&mut o).paras.insert(
        ParaId(1000),
        ParaState {
            lifecycle: ParaLifecycle::Parachain,
            head: None,
            code_hash: None,
            has_core: None,
        },
    );
    assert!(plan(&d, &o).is_empty());
}

#[test]
fn undesired_onboarding_para_keeps_its_collators_until_it_can_be_offboarded() {
    let d0 = with_para().build();
    let mut world = World::new(Consensus::Poa);
    world.apply_plan(&d0, &plan(&d0, &world.observe())).unwrap();
    let d1 = local_network().build();
    let p = plan(&d1, &world.observe());
    assert!(!has(&p, "para.2000.offboard") && !has(&p, "workload.collator"));
    assert!(p
        .pending
        .iter()
        .any(|x| x.subject == "para 2000" && x.what.contains("later plan")));
    world.advance_sessions(2);
    let p = plan(&d1, &world.observe());
    assert!(has(&p, "para.2000.offboard") && has(&p, "workload.collator"));
}

#[test]
fn raw_spec_genesis_does_not_wait_for_collators() {
    let d = local_network()
        .para(
            2001,
            OnboardMode::Parathread,
            GenesisSource::RawSpec {
                path: "specs/2001.raw.json".into(),
            },
        )
        .collators(2001, "col", 1, CollatorMode::Invulnerable)
        .build();
    let p = plan(&d, &Observed::empty());
    let onboard = step(&p, "para.2001.onboard");
    assert_eq!(deps(&p, "para.2001.onboard"), vec!["gate.genesis"]);
    // Read from the raw spec when the step runs; no core for a parathread.
    assert_eq!(
        onboard.known_after_apply(),
        vec![
            Resolved::GenesisHead,
            Resolved::ValidationCode,
            Resolved::GenesisFrom
        ]
    );
    assert!(matches!(
        onboard.kind,
        StepKind::OnboardPara {
            mode: OnboardMode::Parathread,
            ..
        }
    ));
}

// ---------------------------------------------------------------- collators

#[test]
fn collator_scale_down_deregisters_before_the_update() {
    let world = World::converged(&with_para().edit("collator", |g| g.replicas = 3).build());
    let d1 = with_para().build();
    let p = plan(&d1, &world.observe());
    let dereg = step(&p, "collators.2000.deregister");
    assert_eq!(members(dereg), vec!["collator-2"]);
    assert!(deps(&p, "workload.collator").contains(&"collators.2000.deregister"));
    assert!(pos(&p, "collators.2000.deregister") < pos(&p, "workload.collator"));
}

#[test]
fn missing_invulnerable_and_candidates_register() {
    let d = with_para()
        .collators(2000, "cand", 1, CollatorMode::Candidate)
        .build();
    let world = World::converged(&with_para().build());
    let mut o = world.observe();
    if let Some(ParachainView::Live(s)) = o.parachains.get_mut(&ParaId(2000)) {
        s.invulnerables
            .retain(|a| a != &collator_account("collator-1"));
    }
    let p = plan(&d, &o);
    let reg = step(&p, "collators.2000.register");
    assert_eq!(members(reg), vec!["collator-1"]);
    assert!(reg
        .reason
        .starts_with("not in CollatorSelection.Invulnerables"));
    assert!(
        deps(&p, "collators.2000.register").is_empty(),
        "collator funded already"
    );
    let cand = step(&p, "collators.2000.candidates.register");
    assert_eq!(members(cand), vec!["cand-0"]);
    assert!(matches!(
        cand.kind,
        StepKind::RegisterCollators {
            invulnerable: false,
            ..
        }
    ));
    assert!(deps(&p, "collators.2000.candidates.register").contains(&"gate.cand"));
}

#[test]
fn collator_mode_none_deregisters_an_invulnerable() {
    let world = World::converged(&with_para().build());
    let d1 = with_para()
        .edit("collator", |g| g.collator = Some(CollatorMode::None))
        .build();
    let p = plan(&d1, &world.observe());
    assert_eq!(
        members(step(&p, "collators.2000.deregister")),
        vec!["collator-0", "collator-1"]
    );
}

// ---------------------------------------------------------------- safety

#[test]
fn byzantine_bound_counts_deregistrations_and_removals() {
    // 2 genesis + 2 managed = 4 active → ⌊3/3⌋ = 1 may go.
    let world = World::converged(&local_network().build());
    let p = plan(
        &local_network()
            .edit("validator-a", |g| g.replicas = 1)
            .build(),
        &world.observe(),
    );
    assert!(p.safety.is_empty(), "{:?}", p.safety);
    p.check_safety(false).unwrap();

    let d1 = DesiredBuilder::new()
        .genesis("genesis", 2)
        .relay_group("rpc", Role::Rpc, 1)
        .build();
    let p = plan(&d1, &world.observe());
    assert_eq!(p.safety.len(), 1);
    assert_eq!(p.safety[0].rule, SafetyRule::ByzantineBound);
    assert_eq!(
        p.safety[0].message,
        "2 of 4 active validators would be offline or out of the set at once (2 deregistered); at most 1 may be"
    );
    let err = p.check_safety(false).unwrap_err();
    assert!(err.to_string().contains("byzantine_bound"), "{err}");
    assert!(err.to_string().contains("--allow-unsafe"));
    p.check_safety(true).expect("allowed explicitly");
}

#[test]
fn rolling_a_two_validator_network_breaks_the_bound() {
    let d0 = DesiredBuilder::new().genesis("genesis", 2).build();
    let world = World::converged(&d0);
    let d1 = DesiredBuilder::new()
        .genesis("genesis", 2)
        .edit("genesis", |g| g.image = Some("v2".into()))
        .build();
    let p = plan(&d1, &world.observe());
    assert_eq!(p.safety.len(), 1);
    assert!(
        p.safety[0]
            .message
            .contains("1 restarting at once in genesis"),
        "{}",
        p.safety[0].message
    );
}

#[test]
fn para_without_collator_is_flagged() {
    let world = World::converged(&with_para().build());
    let d1 = with_para().without_group("collator").build();
    let p = plan(&d1, &world.observe());
    let rules: Vec<SafetyRule> = p.safety.iter().map(|v| v.rule).collect();
    assert_eq!(rules, vec![SafetyRule::ParaWithoutCollator]);
    assert!(p
        .check_safety(false)
        .unwrap_err()
        .to_string()
        .contains("para_without_collator"));
}

#[test]
fn replacing_the_relay_chain_is_flagged() {
    let world = World::converged(&local_network().build());
    let mut d1 = local_network().build();
    d1.relay.chain = ChainRef::BuiltIn {
        name: "westend-local".into(),
    };
    let p = plan(&d1, &world.observe());
    assert!(p
        .safety
        .iter()
        .any(|v| v.rule == SafetyRule::GenesisReplaced));
    let w = step(&p, "workload.genesis");
    assert_eq!(w.action, Action::Replace);
    assert_eq!(w.reason, "spec changed: chain");
}

// ---------------------------------------------------------------- fingerprint, determinism, DAG

#[test]
fn fingerprint_tracks_what_the_plan_read() {
    let d = local_network().build();
    let mut world = World::converged(&d);
    let a = plan(&d, &world.observe()).fingerprint;
    assert!(a.block_hash.is_some() && a.block_number.is_some());
    assert_eq!(a.workloads.get(&GroupName::new("genesis")), Some(&1));
    assert_eq!(a.digest.len(), 64);

    // Blocks advance, nothing the plan reads changes: same digest.
    let mut o = world.observe();
    live(&mut o).block_number += 5;
    live(&mut o).block_hash = HexHash("0xabc".into());
    let b = plan(&d, &o).fingerprint;
    assert_eq!(a.digest, b.digest);
    assert_ne!(a.block_hash, b.block_hash);

    world.wipe_keystore("validator-a-0");
    let c = plan(&d, &world.observe()).fingerprint;
    assert_ne!(a.digest, c.digest);
}

#[test]
fn plan_is_deterministic_and_round_trips() {
    let d = with_para().build();
    let o = World::converged(&local_network().validators("validator-b", 2).build()).observe();
    let a = plan(&d, &o);
    let b = plan(&d, &o);
    assert_eq!(a, b);
    let json = serde_json::to_string(&a).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
}

fn bare(id: &str, deps: &[&str]) -> Step {
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

fn plan_of(steps: Vec<Step>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        network: NetworkName::new("t"),
        steps,
        pending: vec![],
        safety: vec![],
        fingerprint: Fingerprint::default(),
    }
}

#[test]
fn dag_validation_reports_missing_steps_cycles_and_duplicates() {
    let p = plan_of(vec![
        bare("a", &[]),
        bare("b", &["a"]),
        bare("c", &["a"]),
        bare("d", &["b", "c"]),
    ]);
    p.validate().unwrap();
    let waves: Vec<Vec<String>> = p
        .waves()
        .into_iter()
        .map(|w| w.into_iter().map(|s| s.0).collect())
        .collect();
    assert_eq!(waves, vec![vec!["a"], vec!["b", "c"], vec!["d"]]);
    assert_eq!(p.graph().edge_count(), 4);

    let missing = plan_of(vec![bare("a", &["x"])]);
    assert_eq!(
        missing.validate(),
        Err(DagError::MissingDependency {
            step: StepId("a".into()),
            missing: StepId("x".into())
        })
    );
    let cycle = plan_of(vec![
        bare("a", &["c"]),
        bare("b", &["a"]),
        bare("c", &["b"]),
        bare("z", &[]),
    ]);
    match cycle.validate() {
        Err(DagError::Cycle { steps }) => assert_eq!(steps.len(), 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(cycle.waves(), vec![vec![StepId("z".into())]]);
    let dup = plan_of(vec![bare("a", &[]), bare("a", &[])]);
    assert_eq!(
        dup.validate(),
        Err(DagError::DuplicateStep(StepId("a".into())))
    );
}

// ---------------------------------------------------------------- collators

/// Keys set and registered on the para, but the para session has not turned:
/// nothing to do, both collators pending with an ETA in para sessions and
/// para blocks (queued → the next session, else the one after).
#[test]
fn registered_collators_not_authoring_yet_are_pending_with_a_para_eta() {
    let d = with_para().build();
    let world = World::converged(&d);
    let mut o = world.observe();
    let c0 = d
        .node(&NodeName::new("collator-0"))
        .unwrap()
        .account
        .clone()
        .unwrap();
    let Some(ParachainView::Live(s)) = o.parachains.get_mut(&ParaId(2000)) else {
        panic!("para live in the converged world")
    };
    assert!(s.next_keys.contains_key(&c0) && s.invulnerables.contains(&c0));
    s.aura_authorities.clear();
    s.queued = vec![c0];
    s.session_index = 5;
    s.block_number = 100;
    s.session_length = Some(3600);

    let p = plan(&d, &o);
    assert!(p.is_empty(), "{:#?}", p.steps);
    let eta = |node: &str| {
        p.pending
            .iter()
            .find(|x| x.subject == node)
            .and_then(|x| x.eta.clone())
            .unwrap_or_else(|| panic!("{node} not pending: {:?}", p.pending))
    };
    assert_eq!(eta("collator-0").session, Some(6));
    assert!(eta("collator-0").text.contains("in ~3500 para blocks"));
    assert_eq!(eta("collator-1").session, Some(7));
    assert!(eta("collator-1").text.contains("in ~7100 para blocks"));
}

/// Collators are funded and keyed on their para, never on the relay, and a
/// genesis-authority collator group is left alone.
#[test]
fn collators_are_funded_and_keyed_on_the_para_only() {
    let d = with_para()
        .collators(2000, "penpal-genesis", 1, CollatorMode::Invulnerable)
        .with(|g| g.genesis_authorities = true)
        .build();
    let world = World::converged(&d);
    let mut o = world.observe();
    // Para observable, the managed collators unknown to it.
    let Some(ParachainView::Live(s)) = o.parachains.get_mut(&ParaId(2000)) else {
        panic!("para live")
    };
    *s = ParachainState {
        block_hash: s.block_hash.clone(),
        block_number: 10,
        ..Default::default()
    };
    let p = plan(&d, &o);
    assert!(!has(&p, "fund"), "no relay funding for collators");
    assert_eq!(
        members(step(&p, "collators.2000.fund")),
        vec!["collator-0", "collator-1"]
    );
    assert!(has(&p, "collators.2000.keys.collator-0"));
    assert!(!has(&p, "collators.2000.keys.penpal-genesis-0"));
    assert_eq!(
        members(step(&p, "collators.2000.register")),
        vec!["collator-0", "collator-1"]
    );
}

// ---------------------------------------------------------------- destroy

#[test]
fn destroy_empties_the_paras_offboards_deregisters_then_removes_every_workload() {
    let d = with_para().build();
    let world = World::converged(&d);
    let p = destroy(&d, &world.observe());
    p.validate().expect("valid DAG");
    assert!(p.safety.is_empty(), "{:?}", p.safety);
    assert_eq!(p.fingerprint, plan(&d, &world.observe()).fingerprint);

    let col = step(&p, "collators.2000.deregister");
    assert_eq!(col.action, Action::Delete);
    assert_eq!(members(col), vec!["collator-0", "collator-1"]);
    assert_eq!(
        deps(&p, "para.2000.offboard"),
        vec!["collators.2000.deregister"]
    );
    assert_eq!(step(&p, "para.2000.offboard").reason, "destroy");
    let val = step(&p, "validators.deregister");
    assert_eq!(members(val), vec!["validator-a-0", "validator-a-1"]);
    // Genesis authorities stay in the set: the chain goes with them.
    for g in ["genesis", "validator-a", "rpc", "collator"] {
        let id = format!("workload.{g}");
        assert_eq!(step(&p, &id).action, Action::Delete);
        assert_eq!(
            deps(&p, &id),
            vec![
                "collators.2000.deregister",
                "para.2000.offboard",
                "validators.deregister"
            ],
            "{id} goes after every chain step"
        );
    }
    assert_eq!(p.steps.len(), 7, "{:?}", ids(&p));

    // CollatorSelection keeps MinEligibleCollators: only as many leave.
    let mut strict = world.clone();
    strict.min_eligible = Some(1);
    let p1 = destroy(&d, &strict.observe());
    assert_eq!(
        members(step(&p1, "collators.2000.deregister")),
        vec!["collator-0"]
    );
    strict.min_eligible = None;
    let p2 = destroy(&d, &strict.observe());
    assert!(
        !has(&p2, "collators.2000.deregister"),
        "minimum unknown: none"
    );
    assert!(has(&p2, "para.2000.offboard"));

    // Once applied, a destroy plans nothing.
    let mut world = world;
    world.apply_plan(&d, &p).expect("applies");
    assert!(world.workloads.is_empty());
    assert!(destroy(&d, &world.observe()).is_empty());
}

#[test]
fn destroy_of_a_network_whose_chain_is_not_running_only_removes_workloads() {
    let d = with_para().build();
    let mut world = World::converged(&d);
    stop_relay_nodes(&mut world);
    let p = destroy(&d, &world.observe());
    assert!(
        p.steps
            .iter()
            .all(|s| matches!(s.kind, StepKind::Workload { .. })),
        "an unreachable relay chain gets no step: {:?}",
        ids(&p)
    );
    assert_eq!(p.steps.len(), 4);
}
