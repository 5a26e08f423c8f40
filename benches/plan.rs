//! Planner benchmark: load, plan (fresh and converged) and render a network of
//! 1,000 validators. Run with `cargo bench --bench plan`; prints medians.

use paraform::chain::keys::derive_accounts;
use paraform::observe::*;
use paraform::spec::*;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const GROUPS: u32 = 10;
const PER_GROUP: u32 = 100;

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
            if let Some(a) = &n.account {
                validators.push(a.clone());
                next_keys.insert(a.clone(), "0x00".to_string());
            }
        }
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
        paras: BTreeMap::new(),
        balances: BTreeMap::new(),
        existential_deposit: 1,
        sudo_key: None,
        ss58_prefix: 42,
    });
    o
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

    println!("network: {nodes} nodes in {} groups", desired.groups.len());
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
}
