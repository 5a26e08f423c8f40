//! paraform on a one-node cluster whose pods are real containers running real
//! `polkadot` nodes: kube-apiserver + etcd + controller-manager + scheduler +
//! kubelet + containerd, with cluster DNS and a hostPath volume provisioner,
//! started by `scripts/kube-cluster.sh` (root; the first run builds kubelet
//! and the images, cached in ~/.cache/paraform/k8s) and stopped when this
//! process exits. No test here patches a status: the kubelet runs the pods,
//! the RPC is reached through port-forwards (paraform's own path), the chain
//! is checked over JSON-RPC.
//!
//! Against any cluster that can run the image (`paraform.io` test image or
//! PARAFORM_TEST_POLKADOT_IMAGE), the same scenarios run with
//!
//!     KUBECONFIG=~/.kube/config cargo test --test kubernetes_pods -- --ignored cluster
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

#[path = "kubernetes/drift_job.rs"]
mod drift_job;
#[path = "kubernetes/namespace.rs"]
mod namespace;
#[path = "kubernetes/pods.rs"]
mod pods;
mod support;

macro_rules! scenario {
    ($name:ident $(, ignore = $why:literal)?) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[ignore = $why])?
            async fn local_cluster() {
                let env = crate::pods::PodEnv::local(stringify!($name)).await;
                crate::pods::$name(&env).await;
                env.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs cluster"]
            async fn cluster() {
                let env = crate::pods::PodEnv::cluster(stringify!($name)).await;
                crate::pods::$name(&env).await;
                env.cleanup().await;
            }
        }
    };
}

// The network of the scenario below starts with these two validators and
// checks the same (finalization through the rendered bootnodes): locally
// only that one runs, to keep CI short. This one stays as a quick check of
// another cluster and by hand.
scenario!(
    genesis_validators_produce_and_finalize,
    ignore = "a subset of registered_validators_converge; run by hand"
);
// From nothing to converged, a deleted pod, a hand edit, concurrent applies,
// a killed destroy resumed (see the scenario's doc). About 10 min on 2 cores.
scenario!(registered_validators_converge);
