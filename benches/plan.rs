//! Planner benchmark: load, plan (fresh and converged) and render a network of
//! 1,000 validators, 100 parachains and 400 collators (the size the foundation
//! asked for). Run with `cargo bench --bench plan`; prints medians.

use paraform::chain::keys::derive_accounts;
use paraform::observe::*;
use paraform::spec::*;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const GROUPS: u32 = 10;
const PER_GROUP: u32 = 100;
const PARAS: u32 = 100;
const COLLATORS_PER_PARA: u32 = 4;

fn network_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut toml = String::from(
        "[network]\nname = \"bench\"\nprovider = \"local\"\n\n[secrets]\nsudo = \"env:S\"\nderivation_root = \"env:R\"\n\n[relay]\nchain = \"rococo-local\"\n\n[[relay.group]]\nname = \"genesis\"\nrole = \"validator\"\nreplicas = 2\ngenesis_authorities = true\n",
    );
    for g in 0..GROUPS {
        toml.push_str(&format!(
            "\n[[relay.group]]\nname = \"val-{g}\"\nrole = \"validator\"\nreplicas = {PER_GROUP}\n"
        ));
    }
    std::fs::create_dir_all(dir.path().join("specs")).expect("mkdir");
    for p in 0..PARAS {
        let id = 2000 + p;
        // A stand-in raw spec: validate only reads its `para_id`.
        std::fs::write(
            dir.path().join(format!("specs/para-{id}.json")),
            format!("{{\"para_id\": {id}}}"),
        )
        .expect("write spec");
        // Half invulnerables (admin via the para's sudo), half candidates.
        let mode = if p % 2 == 0 {
            "invulnerable"
        } else {
            "candidate"
        };
        toml.push_str(&format!(
            "\n[[parachain]]\nid = {id}\nchain_spec = \"specs/para-{id}.json\"\ncommand = \"polkadot-omni-node\"\nonboard = \"parachain\"\ngenesis = \"collator\"\n\n[[parachain.group]]\nname = \"para-{id}-collator\"\nrole = \"collator\"\nreplicas = {COLLATORS_PER_PARA}\ncollator = \"{mode}\"\n"
        ));
    }
    std::fs::write(dir.path().join("network.toml"), toml).expect("write");
    dir
}

/// The live world after a successful apply: every workload at its spec, every
/// node healthy, every managed validator active with keys.
fn converged(desired: &Desired) -> Observed {
    let mut o = Observed::empty();
    let mut validators = vec![];
    let mut next_keys = BTreeMap::new();
    for g in &desired.groups {
        o.workloads
            .insert(g.name.clone(), ObservedWorkload::converged(desired, g));
        for n in &g.nodes {
            o.nodes.insert(
                n.name.clone(),
                ObservedNode {
                    name: n.name.clone(),
                    rpc_reachable: true,
                    syncing: Some(false),
                    peers: Some(8),
                    has_session_keys: Some(true),
                    ..Default::default()
                },
            );
            if let (Role::Validator, Some(a)) = (g.role, &n.account) {
                validators.push(a.clone());
                next_keys.insert(a.clone(), "0x00".to_string());
            }
        }
    }
    // Every para onboarded and producing; every managed collator funded on
    // its para, keys set, in the collator set and authoring.
    let mut paras = BTreeMap::new();
    for (i, p) in desired.parachains.iter().enumerate() {
        paras.insert(
            p.id,
            ParaState {
                lifecycle: ParaLifecycle::Parachain,
                head: Some(hash(i as u32)),
                code_hash: Some(hash(0x10000 + i as u32)),
                has_core: Some(true),
            },
        );
        let mut view = ParachainState {
            block_hash: hash(0x20000 + i as u32),
            block_number: 500,
            session_index: 50,
            desired_candidates: Some(COLLATORS_PER_PARA),
            ..Default::default()
        };
        for g in p.groups.iter().filter_map(|g| desired.group(g)) {
            for n in &g.nodes {
                let Some(a) = n.account.clone() else { continue };
                let keys = format!("0x{}", hex::encode(a.0));
                view.next_keys.insert(a.clone(), keys.clone());
                view.queued.push(a.clone());
                view.aura_authorities.push(keys);
                view.balances.insert(a.clone(), desired.funding.amount);
                match g.collator {
                    Some(CollatorMode::Invulnerable) => view.invulnerables.push(a),
                    Some(CollatorMode::Candidate) => view.candidates.push(a),
                    _ => {}
                }
            }
        }
        o.parachains.insert(p.id, ParachainView::Live(view));
    }
    o.relay = ChainView::Live(ChainState {
        block_hash: HexHash("0x".to_string() + &"ab".repeat(32)),
        block_number: 1000,
        session_index: 100,
        session_length: Some(10),
        queued: validators.clone(),
        validators,
        next_keys,
        pending_add: vec![],
        pending_retire: vec![],
        staking_validators: vec![],
        bonded: vec![],
        paras,
        balances: BTreeMap::new(),
        existential_deposit: 1,
        sudo_key: None,
        ss58_prefix: 42,
        hrmp: vec![],
    });
    o
}

fn hash(i: u32) -> HexHash {
    HexHash(format!("0x{i:064x}"))
}

fn median<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    let dir = network_dir();
    let load = median(10, || {
        let _ = load_dir(dir.path()).expect("load");
    });
    let mut desired = load_dir(dir.path()).expect("load");
    let root = SecretString::from("//paraform-bench".to_string());
    let derive = median(3, || {
        let mut d = desired.clone();
        derive_accounts(&mut d, Some(&root)).expect("derive");
    });
    derive_accounts(&mut desired, Some(&root)).expect("derive");
    let nodes = desired.nodes().count();

    let fresh = Observed::empty();
    let mut fresh_plan = paraform::plan::plan(&desired, &fresh);
    let plan_fresh = median(20, || fresh_plan = paraform::plan::plan(&desired, &fresh));
    let live = converged(&desired);
    let mut live_plan = paraform::plan::plan(&desired, &live);
    let plan_live = median(20, || live_plan = paraform::plan::plan(&desired, &live));
    let render = median(10, || {
        let _ = paraform::render::text::render(&fresh_plan, paraform::render::Options::default());
    });

    let collators = desired
        .groups
        .iter()
        .filter(|g| g.role == Role::Collator)
        .map(|g| g.nodes.len())
        .sum::<usize>();
    println!(
        "network: {nodes} nodes in {} groups; {} parachains, {collators} collators",
        desired.groups.len(),
        desired.parachains.len()
    );
    println!("load + validate + expand : {:>9.2?}", load);
    println!("derive {nodes} sr25519 accounts: {:>9.2?}", derive);
    println!(
        "plan fresh ({} steps)    : {:>9.2?}",
        fresh_plan.steps.len(),
        plan_fresh
    );
    println!(
        "plan converged ({} steps): {:>9.2?}",
        live_plan.steps.len(),
        plan_live
    );
    println!("render text (fresh plan)  : {:>9.2?}", render);
    assert!(
        live_plan.steps.is_empty(),
        "the converged world must plan nothing: {:?}",
        live_plan.steps.iter().map(|s| &s.id).collect::<Vec<_>>()
    );
}
