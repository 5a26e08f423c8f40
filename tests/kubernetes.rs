//! The Kubernetes provider and state backend against a real API server.
//!
//! Every scenario runs as `<scenario>::local_apiserver` against the
//! kube-apiserver + etcd + kube-controller-manager that
//! `scripts/kube-apiserver.sh` builds from Debian packages (cached in
//! ~/.cache/paraform/k8s; the first run builds for several minutes) and as
//! `<scenario>::cluster`, ignored by default, against the cluster named by
//! KUBECONFIG:
//!
//!     KUBECONFIG=~/.kube/config cargo test --test kubernetes -- --ignored cluster
//!
//! See docs/kubernetes.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

#[path = "kubernetes/cli.rs"]
mod cli;
#[path = "kubernetes/namespace.rs"]
mod namespace;
#[path = "kubernetes/scenarios.rs"]
mod scenarios;
#[path = "kubernetes/support.rs"]
mod support;

macro_rules! scenario {
    ($name:ident) => {
        scenario!($name, cluster);
    };
    ($name:ident, $($cluster:ident)?) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn local_apiserver() {
                let env = crate::support::Env::local(stringify!($name)).await;
                crate::scenarios::$name(&env).await;
                env.cleanup().await;
            }

            $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs cluster"]
            async fn $cluster() {
                let env = crate::support::Env::cluster(stringify!($name)).await;
                crate::scenarios::$name(&env).await;
                env.cleanup().await;
            }
            )?
        }
    };
}

scenario!(ssa_create_noop_update_prune);
scenario!(foreign_objects_untouched);
scenario!(conflicting_field_manager);
scenario!(dry_run_shows_server_defaults);
// Patches pod status, which a real kubelet owns: local API server only.
scenario!(readiness_from_rollout_status,);
scenario!(lease_two_contenders);
scenario!(lease_expiry_takeover_and_fencing);
scenario!(lease_renewal_keeps_the_lock);
scenario!(rococo_k8s_manifests_accepted);
scenario!(chart_settings_applied);
scenario!(service_monitor_follows_the_crd);
// The CLI end to end; pods are made Ready by the test (local API server only).
mod cli_plan_apply_drift_destroy {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn local_apiserver() {
        let env = crate::support::Env::local("cli").await;
        crate::cli::cli_plan_apply_drift_destroy(&env).await;
        env.cleanup().await;
    }
}
