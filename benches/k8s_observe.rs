//! Benchmark: paraform against a real kube-apiserver (the test harness's,
//! built by `scripts/kube-apiserver.sh`) with a network of 206 nodes in 6
//! groups (2 bootnodes, 4 × 50 validators, 4 RPC nodes): the first apply of
//! every group, observation (5 LISTs + a server-side dry-run of every
//! unchanged group, i.e. a plan's full cluster read), and a plan's dry-run of
//! one changed group. Prints figures; asserts nothing about timing.
//!
//! `cargo bench --bench k8s_observe`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

#[path = "../tests/kubernetes/namespace.rs"]
mod namespace;
#[path = "../tests/kubernetes/support.rs"]
#[allow(dead_code)]
mod support;

use paraform::observe::live::{observe, ObserveOptions};
use paraform::provider::{Provider, WorkloadRequest};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const VALIDATOR_GROUPS: usize = 4;
const PER_GROUP: usize = 50;
const RUNS: usize = 7;

fn groups(log: &str) -> String {
    let mut toml = String::from(
        r#"
[[relay.group]]
name = "boot"
role = "bootnode"
replicas = 2
node_key = "derived"
p2p = "ClusterIP"
rpc = "None"

[[relay.group]]
name = "rpc"
role = "rpc"
replicas = 4
rpc = "ClusterIP"
p2p = "None"
"#,
    );
    for g in 0..VALIDATOR_GROUPS {
        toml.push_str(&format!(
            r#"
[[relay.group]]
name = "val{g}"
role = "validator"
replicas = {PER_GROUP}
node_key = "derived"
rpc = "ClusterIP"
p2p = "ClusterIP"
log = ["{log}"]
storage = {{ database = "paritydb", size = "1Gi" }}
"#
        ));
    }
    toml
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.0} ms (min {:.0}, max {:.0}, {} runs)",
        ms(v[v.len() / 2]),
        ms(v[0]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let env = support::Env::local("bench").await;
    let desired = env.network(&groups("sync=info"));
    let nodes = desired.nodes().count();
    let provider = env.provider(&desired, |_| {});
    let requests: Vec<WorkloadRequest> = desired
        .groups
        .iter()
        .map(|g| WorkloadRequest::for_group(&desired, g))
        .collect();

    let t = Instant::now();
    let mut objects = 0;
    for r in &requests {
        objects += provider.apply_group(r).await.expect("apply").len();
    }
    println!(
        "first apply: {} groups, {nodes} nodes, {objects} objects in {:.1} s",
        requests.len(),
        t.elapsed().as_secs_f64()
    );

    let mut listing = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let w = provider
            .observe_workloads(&BTreeMap::new())
            .await
            .expect("list");
        listing.push(t.elapsed());
        assert_eq!(w.len(), requests.len());
    }
    println!("listing (5 LISTs): {}", stats(listing));

    let mut dry = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let drift = provider.out_of_sync(&requests).await.expect("dry-run");
        dry.push(t.elapsed());
        assert!(drift.is_empty(), "nothing drifted: {drift:?}");
    }
    println!(
        "out-of-band edit check ({objects} objects dry-run): {}",
        stats(dry)
    );

    let mut full = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let o = observe(&desired, &provider, &ObserveOptions::default())
            .await
            .expect("observe");
        full.push(t.elapsed());
        assert_eq!(o.workloads.len(), requests.len());
    }
    println!("full observation (what plan reads): {}", stats(full));

    let changed = env.network(&groups("sync=debug"));
    let req = WorkloadRequest::for_group(&changed, &changed.groups[2]);
    let mut plan = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let diffs = provider.plan_workload(&req).await.expect("plan");
        plan.push(t.elapsed());
        assert!(!diffs.is_empty());
    }
    println!(
        "dry-run of one changed {PER_GROUP}-node group: {}",
        stats(plan)
    );
    env.cleanup().await;
}
