//! Benchmark: observe a real rococo-local relay chain with 100 extra
//! validators (funded, session keys set with valid proofs, registered in one
//! sudo batch) and report wall time and RPC round trips.
//!
//! `cargo bench --bench chain_observe` (needs a polkadot binary, found like
//! the tests do: POLKADOT_BIN, PATH, or ../shared/bin). Prints figures; it
//! asserts nothing about timing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

#[path = "../tests/support/mod.rs"]
mod support;

use paraform::chain::calls;
use paraform::chain::keys;
use paraform::chain::node_rpc::NodeRpc;
use paraform::chain::read::observe_relay_detailed;
use paraform::chain::submit::{self, SignerBatch, SubmissionRecord, SubmitOptions, Target};
use paraform::chain::{ChainClient, ConnectOptions};
use paraform::spec::ids::AccountId;
use secrecy::SecretString;
use std::time::{Duration, Instant};

const N: usize = 100;
const UNIT: u128 = 1_000_000_000_000;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let t0 = Instant::now();
    let net = support::TestNetwork::rococo_local().await;
    eprintln!("network up in {:.1}s", t0.elapsed().as_secs_f32());
    let client = ChainClient::connect(&net.ws_url(), &ConnectOptions::default())
        .await
        .expect("connect");
    let opts = SubmitOptions::default();
    let journal = std::sync::Mutex::new(Vec::<SubmissionRecord>::new());
    let target = Target::relay(&client, &opts, &journal);
    let alice = keys::keypair(&keys::dev_suri("alice"), "alice").expect("alice");
    let root = SecretString::from("//paraform-bench".to_string());
    let stashes: Vec<_> = (0..N)
        .map(|i| {
            keys::keypair(&keys::stash_suri(&root, &format!("v-{i}")), "stash").expect("stash")
        })
        .collect();
    let accounts: Vec<AccountId> = stashes
        .iter()
        .map(|k| AccountId(k.public_key().0))
        .collect();

    let t = Instant::now();
    let fund = calls::fund(
        &accounts
            .iter()
            .map(|a| (a.clone(), 10 * UNIT))
            .collect::<Vec<_>>(),
    )
    .expect("fund");
    submit::submit(&target, &alice, "fund", &fund)
        .await
        .expect("fund 100");
    eprintln!(
        "funded {N} stashes in one batch: {:.1}s",
        t.elapsed().as_secs_f32()
    );

    // Session keys with ownership proofs, generated on Alice's node (the
    // bench never lets a session change happen, so these keys never author).
    let t = Instant::now();
    let rpc = NodeRpc::connect(&net.ws_url(), &ConnectOptions::default())
        .await
        .expect("node rpc");
    let mut generated = Vec::new();
    for a in &accounts {
        generated.push(rpc.rotate_keys_with_owner(a).await.expect("rotate"));
    }
    eprintln!("rotated {N} key sets: {:.1}s", t.elapsed().as_secs_f32());
    let t = Instant::now();
    let batches: Vec<SignerBatch<'_, _>> = stashes
        .iter()
        .zip(&generated)
        .enumerate()
        .map(|(i, (s, g))| SignerBatch {
            signer: s,
            intents: vec![(format!("keys-{i}"), calls::set_keys(&g.keys, &g.proof))],
        })
        .collect();
    let results = submit::submit_all(&target, batches).await;
    let ok = results.iter().flatten().filter(|r| r.is_ok()).count();
    eprintln!(
        "set_keys from {N} signers in parallel: {ok}/{N} finalized in {:.1}s",
        t.elapsed().as_secs_f32()
    );

    let t = Instant::now();
    submit::submit(
        &target,
        &alice,
        "register",
        &calls::sudo(calls::register_validators(&accounts)),
    )
    .await
    .expect("register 100");
    eprintln!(
        "registered {N} validators in one sudo batch: {:.1}s",
        t.elapsed().as_secs_f32()
    );

    // Observe: 0 accounts vs the 100 stashes' balances, repeated.
    let mut walls = Vec::new();
    let mut trips = Vec::new();
    let mut last = None;
    for i in 0..20 {
        let accs: &[AccountId] = if i % 2 == 0 { &accounts } else { &[] };
        let t = Instant::now();
        let (s, d) = observe_relay_detailed(&client, accs)
            .await
            .expect("observe");
        walls.push(t.elapsed());
        trips.push(d.round_trips);
        last = Some((s, d));
    }
    walls.sort();
    let (s, d) = last.expect("observed");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "chain_observe: rococo-local, {} NextKeys, {} ValidatorsToAdd, {} active",
        s.next_keys.len(),
        s.pending_add.len(),
        s.validators.len()
    );
    println!(
        "chain_observe: wall min {:.1} ms, median {:.1} ms, max {:.1} ms over {} observations (with 100 account balances on even runs)",
        ms(walls[0]),
        ms(walls[walls.len() / 2]),
        ms(walls[walls.len() - 1]),
        walls.len()
    );
    println!(
        "chain_observe: round trips per observation: {:?} (spec {})",
        trips.iter().collect::<std::collections::BTreeSet<_>>(),
        d.spec_version
    );
    println!(
        "chain_observe: by method over the whole run: {:?}",
        client.counter().by_method()
    );
    println!(
        "chain_observe: total bench time {:.1}s",
        t0.elapsed().as_secs_f32()
    );
}
