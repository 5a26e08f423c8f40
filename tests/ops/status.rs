//! Status views: snapshot tables and JSON of fixture worlds, the 80-column
//! bound, and what each view says about a degraded or partially reachable
//! network.

use super::world::*;
use paraform::observe::*;
use paraform::spec::*;
use paraform::status::*;

const VIEWS: [View; 4] = [
    View::Nodes,
    View::Validators,
    View::Parachains,
    View::Collators,
];

fn table(desired: &Desired, observed: &Observed, view: View) -> String {
    render(desired, observed, None, view, false)
}

fn json(desired: &Desired, observed: &Observed, view: View) -> serde_json::Value {
    let text = render(desired, observed, None, view, true);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn assert_fits(text: &str, what: &str) {
    // Table lines only (the notes under a blank line may name endpoints).
    let table = text.split("\n\n").next().unwrap_or_default();
    for line in table.lines() {
        assert!(
            line.chars().count() <= table::WIDTH,
            "{what}: {} columns: {line:?}\n{text}",
            line.chars().count()
        );
    }
}

#[test]
fn tables_in_sync() {
    let d = paras();
    let o = in_sync(&d);
    for view in VIEWS {
        let t = table(&d, &o, view);
        assert_fits(&t, view.as_str());
        insta::assert_snapshot!(format!("in_sync_{}", view.as_str()), t);
    }
}

#[test]
fn tables_degraded() {
    let d = paras();
    let o = degraded(&d);
    for view in VIEWS {
        let t = table(&d, &o, view);
        assert_fits(&t, view.as_str());
        insta::assert_snapshot!(format!("degraded_{}", view.as_str()), t);
    }
}

#[test]
fn json_degraded() {
    let d = paras();
    let o = degraded(&d);
    for view in VIEWS {
        insta::assert_snapshot!(
            format!("degraded_{}_json", view.as_str()),
            render(&d, &o, None, view, true)
        );
    }
}

/// The checked-in fixture of `networks/local` (tests/fixtures/observed).
#[test]
fn tables_local_running_fixture() {
    let d = load(&local_dir(), "//ParaformCliTestRootQx7");
    let text = std::fs::read_to_string(repo().join("tests/fixtures/observed/local-running.json"))
        .expect("fixture");
    let o: Observed = serde_json::from_str(&text).expect("fixture parses");
    for view in VIEWS {
        let t = table(&d, &o, view);
        assert_fits(&t, view.as_str());
        insta::assert_snapshot!(format!("local_running_{}", view.as_str()), t);
    }
}

#[test]
fn json_documents_are_versioned_with_a_row_per_item() {
    let d = paras();
    let o = in_sync(&d);
    let nodes = json(&d, &o, View::Nodes);
    assert_eq!(nodes["format_version"], 1);
    assert_eq!(nodes["network"], "ops-paras");
    assert_eq!(nodes["view"], "nodes");
    assert_eq!(nodes["relay"]["status"], "live");
    assert_eq!(nodes["relay"]["block_number"], 118);
    assert_eq!(
        nodes["rows"].as_array().map(Vec::len),
        Some(d.nodes().count())
    );
    // Unknown is `null`, never a missing key: every row has every field.
    let o = relay_unreachable(&d);
    let v = json(&d, &o, View::Validators);
    for row in v["rows"].as_array().expect("rows") {
        for key in [
            "node",
            "stash",
            "keys_on_chain",
            "keys_in_keystore",
            "active",
            "queued",
            "state",
        ] {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
        assert_eq!(row["state"], "unknown");
        assert_eq!(row["active"], serde_json::Value::Null);
    }
    assert_eq!(v["relay"]["status"], "unreachable");
    assert_eq!(v["relay"]["endpoint"], "ws://127.0.0.1:9944");
}

fn row<'a>(rows: &'a [ValidatorRow], node: &str) -> &'a ValidatorRow {
    rows.iter()
        .find(|r| r.node.as_ref().is_some_and(|n| n.as_str() == node))
        .unwrap_or_else(|| panic!("no row for {node}: {rows:#?}"))
}

#[test]
fn validators_view_reads_keys_membership_and_externals() {
    let d = paras();
    let o = degraded(&d);
    let s = Status::build(&d, &o, None);
    let v = &s.validators;

    let a0 = row(v, "validator-a-0");
    assert_eq!(
        (a0.keys_on_chain, a0.keys_in_keystore),
        (Some(true), Some(false))
    );
    assert_eq!(a0.state, ValidatorState::Active);
    assert_eq!(
        a0.stash.as_deref(),
        Some(account_of(&d, "validator-a-0").to_string().as_str())
    );

    let a1 = row(v, "validator-a-1");
    assert_eq!(a1.state, ValidatorState::PendingAdd);
    assert_eq!(a1.keys_in_keystore, None, "its RPC did not answer");
    assert_eq!((a1.active, a1.pending_add), (Some(false), Some(true)));

    assert_eq!(row(v, "genesis-1").state, ValidatorState::Retiring);
    assert!(row(v, "genesis-0").genesis_authority);

    let left = row(v, "validator-a-3");
    assert!(!left.desired && !left.external);
    assert_eq!(left.state, ValidatorState::Active);

    let externals: Vec<_> = v.iter().filter(|r| r.external).collect();
    assert_eq!(externals.len(), 1, "{externals:#?}");
    assert_eq!(
        externals[0].stash.as_deref(),
        Some(external(0xee).to_string().as_str())
    );
    assert_eq!(externals[0].node, None);

    // Desired order, then leftovers, then externals.
    let order: Vec<String> = v
        .iter()
        .map(|r| r.node.as_ref().map(|n| n.to_string()).unwrap_or_default())
        .collect();
    assert_eq!(
        order,
        [
            "genesis-0",
            "genesis-1",
            "validator-a-0",
            "validator-a-1",
            "validator-a-2",
            "validator-a-3",
            ""
        ]
    );
}

#[test]
fn leaving_and_queued_follow_the_queued_set() {
    let d = paras();
    let mut o = in_sync(&d);
    let a0 = account_of(&d, "validator-a-0");
    let a1 = account_of(&d, "validator-a-1");
    {
        let c = chain_mut(&mut o);
        c.queued.retain(|a| a != &a0);
        c.validators.retain(|a| a != &a1);
    }
    let s = Status::build(&d, &o, None);
    assert_eq!(
        row(&s.validators, "validator-a-0").state,
        ValidatorState::Leaving
    );
    assert_eq!(
        row(&s.validators, "validator-a-1").state,
        ValidatorState::Queued
    );
    // Without a queued set (not read), active stays active.
    chain_mut(&mut o).queued.clear();
    let s = Status::build(&d, &o, None);
    assert_eq!(
        row(&s.validators, "validator-a-0").state,
        ValidatorState::Active
    );
    assert_eq!(row(&s.validators, "validator-a-0").queued, None);
}

#[test]
fn nodes_view_marks_what_it_could_not_see() {
    let d = paras();
    let o = degraded(&d);
    let s = Status::build(&d, &o, None);
    let node = |name: &str| {
        s.nodes
            .iter()
            .find(|r| r.node.as_str() == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(node("genesis-0").state, NodeState::Ready);
    assert_eq!(node("genesis-0").location, Location::Local);
    assert_eq!(node("validator-a-0").state, NodeState::Syncing);
    let down = node("validator-a-1");
    assert_eq!(
        (down.state, down.rpc),
        (NodeState::RpcDown, RpcState::Unreachable)
    );
    assert_eq!(
        (down.best_block, down.peers, down.version.clone()),
        (None, None, None)
    );
    let stopped = node("validator-a-2");
    assert_eq!(
        (stopped.state, stopped.process),
        (NodeState::Stopped, ProcessState::Stopped)
    );
    assert!(!node("validator-a-3").desired);
    assert_eq!(node("ah-collator-0").chain, ChainSide::Para(ParaId(1000)));
    assert_eq!(
        node("ah-collator-0").binary.as_deref(),
        Some("polkadot-parachain")
    );

    // A fresh network: every desired node missing, nothing else known.
    let fresh = Status::build(&d, &Observed::empty(), None);
    assert_eq!(fresh.nodes.len(), d.nodes().count());
    assert!(fresh
        .nodes
        .iter()
        .all(|r| r.state == NodeState::Missing && r.best_block.is_none()));
    let t = render(&d, &Observed::empty(), None, View::Nodes, false);
    assert!(t.contains("relay chain: not running"), "{t}");
}

#[test]
fn partially_reachable_network_shows_what_it_saw() {
    let d = paras();
    let o = relay_unreachable(&d);
    let t = table(&d, &o, View::Validators);
    assert!(t.contains("UNREACHABLE at ws://127.0.0.1:9944"), "{t}");
    let s = Status::build(&d, &o, None);
    assert!(s
        .validators
        .iter()
        .all(|r| r.state == ValidatorState::Unknown));
    // Nodes whose RPC answered keep their values.
    let ready = s
        .nodes
        .iter()
        .filter(|r| r.state == NodeState::Ready)
        .count();
    let down = s
        .nodes
        .iter()
        .filter(|r| r.state == NodeState::RpcDown)
        .count();
    assert_eq!((ready, down), (6, 3), "{:#?}", s.nodes);
    // Paras: registration unknown, para-side collator counts still read.
    assert!(s
        .parachains
        .iter()
        .all(|p| p.registered.is_none() && p.lifecycle.is_none()));
    assert_eq!(s.parachains[0].collators_on_chain, Some(2));
}

#[test]
fn parachain_heads_advance_only_against_an_earlier_observation() {
    let d = paras();
    let now = in_sync(&d);
    let advancing = |prev: Option<&Observed>| -> Vec<Option<bool>> {
        Status::build(&d, &now, prev)
            .parachains
            .iter()
            .map(|p| p.advancing)
            .collect()
    };
    assert_eq!(advancing(None), vec![None, None]);
    // The same observation twice says nothing about progress.
    assert_eq!(advancing(Some(&now)), vec![None, None]);

    let mut earlier = in_sync(&d);
    {
        let c = chain_mut(&mut earlier);
        c.block_number = 100;
        if let Some(p) = c.paras.get_mut(&ParaId(1000)) {
            p.head = Some(hash(0x99)); // para 1000 moved on since
        }
    }
    // Para 2000's head did not change across 18 relay blocks: stalled.
    assert_eq!(advancing(Some(&earlier)), vec![Some(true), Some(false)]);

    // Relay not comparable: the para's own chain decides.
    let mut earlier = in_sync(&d);
    chain_mut(&mut earlier).block_number = 118;
    para_mut(&mut earlier, 1000).block_number = 30;
    assert_eq!(advancing(Some(&earlier)), vec![Some(true), None]);
}

#[test]
fn parachains_view_lists_undesired_paras_and_collator_counts() {
    let d = paras();
    let o = degraded(&d);
    let s = Status::build(&d, &o, None);
    let ids: Vec<u32> = s.parachains.iter().map(|p| p.id.0).collect();
    assert_eq!(ids, [1000, 2000, 3000]);
    let p1000 = &s.parachains[0];
    assert_eq!(
        (p1000.collators_desired, p1000.collators_on_chain),
        (2, Some(2))
    );
    assert_eq!(p1000.lifecycle, Some(ParaLifecycle::Parachain));
    let p2000 = &s.parachains[1];
    assert_eq!(
        (p2000.collators_desired, p2000.collators_on_chain),
        (1, None)
    );
    assert!(matches!(p2000.chain, ParaChainStatus::Unreachable { .. }));
    let p3000 = &s.parachains[2];
    assert!(!p3000.desired);
    assert_eq!(p3000.lifecycle, Some(ParaLifecycle::Onboarding));
}

#[test]
fn collators_view_reads_membership_per_para() {
    let d = paras();
    let o = degraded(&d);
    let s = Status::build(&d, &o, None);
    let of = |node: &str| {
        s.collators
            .iter()
            .find(|r| r.node.as_ref().is_some_and(|n| n.as_str() == node))
            .unwrap_or_else(|| panic!("{node}"))
    };
    assert_eq!(
        of("ah-collator-0").on_chain,
        Some(CollatorMembership::Invulnerable)
    );
    assert_eq!(of("ah-collator-1").on_chain, Some(CollatorMembership::None));
    assert_eq!(
        of("ah-collator-1").desired_mode,
        Some(CollatorMode::Invulnerable)
    );
    assert_eq!(
        of("p2k-collator-0").on_chain,
        None,
        "para 2000 was not read"
    );
    let ext: Vec<_> = s.collators.iter().filter(|r| r.external).collect();
    assert_eq!(ext.len(), 1);
    assert_eq!(ext[0].para, ParaId(1000));
    assert_eq!(
        ext[0].account.as_deref(),
        Some(external(0xcc).to_string().as_str())
    );

    // In sync: every desired collator registered in its mode.
    let s = Status::build(&d, &in_sync(&d), None);
    for r in &s.collators {
        let want = match r.desired_mode {
            Some(CollatorMode::Invulnerable) => CollatorMembership::Invulnerable,
            Some(CollatorMode::Candidate) => CollatorMembership::Candidate,
            other => panic!("{other:?}"),
        };
        assert_eq!(r.on_chain, Some(want), "{r:?}");
    }
}

/// Keys set on the para but not (yet) in `Aura.Authorities`: `soon`, with a
/// note; no keys: `no`; an authority: `yes`.
#[test]
fn collators_view_shows_keys_and_aura_authority() {
    let d = paras();
    let mut o = in_sync(&d);
    let Some(ParachainView::Live(p)) = o.parachains.get_mut(&ParaId(1000)) else {
        panic!("para 1000 live in the fixture")
    };
    let c1 = p.invulnerables[1].clone();
    let k1 = p.next_keys[&c1].clone();
    p.aura_authorities.retain(|k| k != &k1);
    let c0 = p.invulnerables[0].clone();
    p.next_keys.remove(&c0);
    let s = Status::build(&d, &o, None);
    let by = |a: &AccountId| {
        s.collators
            .iter()
            .find(|r| r.account.as_deref() == Some(a.to_string().as_str()))
            .unwrap_or_else(|| panic!("{a}"))
    };
    assert_eq!(
        (by(&c1).keys_on_para, by(&c1).aura_authority),
        (Some(true), Some(false))
    );
    assert_eq!(by(&c0).keys_on_para, Some(false));
    let t = table(&d, &o, View::Collators);
    assert_fits(&t, "collators");
    assert!(t.contains(" soon"), "{t}");
    assert!(t.contains("AURA soon: keys set on the para"), "{t}");
}

/// Long names and versions are cut, never wrapped past 80 columns.
#[test]
fn long_values_still_fit_80_columns() {
    let mut d = paras();
    for g in &mut d.groups {
        for n in &mut g.nodes {
            n.name = NodeName::new(format!("{}-with-a-very-long-suffix-{}", n.name, n.index));
        }
    }
    let mut o = in_sync(&paras());
    for n in o.nodes.values_mut() {
        n.version = Some("1.20.1-5ad7e5b9e44-and-a-long-build-tag-from-ci".into());
    }
    for view in VIEWS {
        assert_fits(&table(&d, &o, view), view.as_str());
    }
    let t = table(&d, &o, View::Nodes);
    assert!(t.contains('…'), "{t}");
}

/// Snapshots with registered paras round-trip through JSON (the para-id keys
/// of `ChainState::paras` sit inside the tagged `ChainView`).
#[test]
fn observed_with_paras_roundtrips_through_json() {
    let o = degraded(&paras());
    let text = serde_json::to_string(&o).expect("encode");
    let back: Observed = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, o);
}
