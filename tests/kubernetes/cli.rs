//! `paraform` itself on a kubernetes network, as a user runs it from CI:
//! plan (server dry-run, nothing written) → apply (objects, rollout, Lease
//! lock, state ConfigMap) → converged → an out-of-band edit is drift →
//! apply restores it (conflict without --force-conflicts) → a held lock
//! blocks apply → destroy. `k8s:` secret references are read from the
//! namespace.
//!
//! Pods need a kubelet to become Ready; the harness has none, so a task
//! here plays its part by patching pod status (local API server only), and
//! applies run with `--pod-readiness` (no RPC check through port-forwards,
//! which also need a kubelet).

use super::support::*;
use assert_cmd::Command;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use paraform::state::kubernetes::{lease_name, state_configmap_name, KubernetesStateStore};
use paraform::state::{LockInfo, StateStore};
use serde_json::json;
use std::process::Output;
use std::time::Duration;

const NETWORK: &str = "k8s-test";

fn network_toml(namespace: &str, replicas: u32, log: &str) -> String {
    format!(
        r#"
[network]
name = "{NETWORK}"
provider = "kubernetes"
namespace = "{namespace}"

[secrets]
sudo = "k8s:pf-secrets/sudo"
derivation_root = "k8s:pf-secrets/root"

[relay]
chain = "rococo-local"
image = "registry.invalid/paraform-test/polkadot:none"
command = "polkadot"
consensus = "poa"

[[relay.group]]
name = "rpc"
role = "rpc"
replicas = {replicas}
rpc = "ClusterIP"
p2p = "None"
log = ["{log}"]
storage = {{ database = "rocksdb", size = "1Gi" }}
"#
    )
}

/// Run the CLI (blocking, off the runtime's workers).
async fn paraform(env: &Env, args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("paraform").expect("binary");
    cmd.env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("PARAFORM_SUDO_SURI")
        .env_remove("PARAFORM_DERIVATION_ROOT")
        .args(args);
    if let Some(k) = &env.kubeconfig {
        cmd.arg("--kubeconfig").arg(k);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("run paraform"))
        .await
        .expect("join")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The node container of the `rpc` StatefulSet, as live.
async fn node_container(sts: &Api<StatefulSet>) -> k8s_openapi::api::core::v1::Container {
    let live = sts.get("rpc").await.expect("StatefulSet rpc");
    let pod = live
        .spec
        .and_then(|s| s.template.spec)
        .expect("pod template");
    pod.containers.into_iter().next().expect("a container")
}

/// `kubectl edit`: a strategic merge patch under another field manager.
async fn edit_by_hand<K>(api: &Api<K>, name: &str, patch: &serde_json::Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    api.patch(name, &params, &Patch::Strategic(patch))
        .await
        .unwrap_or_else(|e| panic!("edit {name}: {e}"));
}

/// Mark every pod of the namespace Ready, as a kubelet would once its
/// containers pass their readiness probes.
fn fake_kubelet(env: &Env) -> tokio::task::JoinHandle<()> {
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.namespace);
    tokio::spawn(async move {
        loop {
            if let Ok(list) = pods.list(&ListParams::default()).await {
                for p in list.items {
                    let ready = p
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| {
                            c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                        });
                    let Some(name) = p.metadata.name.as_deref() else {
                        continue;
                    };
                    if !ready {
                        let status = json!({"status": {
                            "phase": "Running",
                            "conditions": [{"type": "Ready", "status": "True",
                                            "lastTransitionTime": "2024-01-01T00:00:00Z"}]
                        }});
                        let _ = pods
                            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
                            .await;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
}

pub async fn cli_plan_apply_drift_destroy(env: &Env) {
    let dir = env.net_dir.to_str().expect("utf-8 path").to_string();
    std::fs::write(
        env.net_dir.join("network.toml"),
        network_toml(&env.namespace, 2, "sync=info"),
    )
    .expect("write network");
    let sts: Api<StatefulSet> = Api::namespaced(env.client.clone(), &env.namespace);

    // A k8s: secret that does not exist: a clear error, nothing written.
    let o = paraform(env, &["plan", &dir]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("k8s:pf-secrets/root")
            && err.contains(&format!(
                "kubectl -n {} create secret generic pf-secrets",
                env.namespace
            )),
        "{}",
        text(&o)
    );
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "pf-secrets"},
        "stringData": {"root": "//paraform-k8s-test", "sudo": "//Alice"}
    }))
    .expect("secret");
    Api::<Secret>::namespaced(env.client.clone(), &env.namespace)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the secrets");

    // plan: the server's dry-run of what would be created; nothing is.
    let o = paraform(env, &["plan", &dir, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = stdout(&o);
    let ns = &env.namespace;
    for want in [
        "workload.rpc",
        "Kubernetes server-side dry-run",
        &format!("+ StatefulSet/{ns}/rpc"),
        &format!("+ Service/{ns}/rpc-1"),
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{}", text(&o));
    }
    assert!(!out.contains("//paraform-k8s-test") && !out.contains("//Alice"));
    assert!(sts.get_opt("rpc").await.unwrap().is_none(), "plan wrote");

    // The PR comment carries the dry-run too, collapsed.
    let o = paraform(env, &["plan", &dir, "--format", "markdown"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = stdout(&o);
    assert!(md.starts_with("## paraform plan for `k8s-test`"), "{md}");
    assert!(
        md.contains("<summary>Kubernetes server-side dry-run")
            && md.contains(&format!("+ StatefulSet/{ns}/rpc")),
        "{md}"
    );

    // apply: objects, rollout (pods made Ready here), state in the cluster.
    let kubelet = fake_kubelet(env);
    let o = paraform(env, &["apply", &dir, "--auto-approve", "--pod-readiness"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stdout(&o).contains("Apply complete!"), "{}", text(&o));
    assert!(stdout(&o).contains(&format!("kubectl -n {ns} get pods")));
    let live = sts.get("rpc").await.expect("StatefulSet rpc");
    assert_eq!(live.spec.as_ref().and_then(|s| s.replicas), Some(2));
    let cm: Api<ConfigMap> = Api::namespaced(env.client.clone(), ns);
    let state = cm
        .get(&state_configmap_name(NETWORK))
        .await
        .expect("state ConfigMap");
    let json = state
        .data
        .unwrap_or_default()
        .remove("state.json")
        .expect("state.json");
    assert!(
        json.contains("\"dirty\": false") || json.contains("\"dirty\":false"),
        "{json}"
    );
    let lease = Api::<Lease>::namespaced(env.client.clone(), ns)
        .get(&lease_name(NETWORK))
        .await
        .expect("the lock Lease");
    assert_eq!(
        lease.spec.and_then(|s| s.holder_identity),
        None,
        "released after apply"
    );

    // status: the nodes as the cluster has them.
    let o = paraform(env, &["status", &dir]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains("rpc-0") && stdout(&o).contains("rpc-1"),
        "{}",
        text(&o)
    );
    let o = paraform(env, &["status", &dir, "--format", "json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status json");
    assert!(v.to_string().contains("rpc-1"), "{v}");

    // Converged: no changes.
    let o = paraform(env, &["plan", &dir, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Someone edits the StatefulSet (kubectl edit): drift, not an error.
    let edit = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "node", "image": "registry.invalid/edited:by-hand"}
    ]}}}});
    edit_by_hand(&sts, "rpc", &edit).await;
    let o = paraform(env, &["plan", &dir, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // The reason names the object and the edited field.
    let edited = format!(
        "changed outside paraform: StatefulSet/{ns}/rpc (spec.template.spec.containers[node].image)"
    );
    assert!(stdout(&o).contains(&edited), "{}", text(&o));
    // `drift` reports it too (exit 2): with no kubelet here no node RPC
    // answers and the chain is unread, but a cluster difference is drift.
    let o = paraform(env, &["drift", &dir]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(stdout(&o).contains(&edited), "{}", text(&o));
    // Taking the field back from another manager needs consent.
    let o = paraform(env, &["apply", &dir, "--auto-approve", "--pod-readiness"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("kubectl-edit"),
        "the conflict names the other manager: {}",
        text(&o)
    );
    let o = paraform(
        env,
        &[
            "apply",
            &dir,
            "--auto-approve",
            "--pod-readiness",
            "--force-conflicts",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let image = node_container(&sts).await.image;
    assert_eq!(
        image.as_deref(),
        Some("registry.invalid/paraform-test/polkadot:none")
    );
    let o = paraform(env, &["plan", &dir, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A change: the dry-run shows the server's diff of the StatefulSet.
    std::fs::write(
        env.net_dir.join("network.toml"),
        network_toml(&env.namespace, 2, "sync=debug"),
    )
    .expect("write network");
    let o = paraform(env, &["plan", &dir, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("~ StatefulSet/{ns}/rpc")),
        "{}",
        text(&o)
    );
    assert!(out.contains("sync=debug"), "{}", text(&o));

    // A saved plan whose cluster moved (a Service edited by hand) is refused…
    let saved = env.net_dir.join("change.plan.json");
    let saved = saved.to_str().expect("utf-8 path");
    let o = paraform(env, &["plan", &dir, "--out", saved]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let svc_edit = json!({"spec": {"ports": [{"port": 9944, "targetPort": 9999}]}});
    let services: Api<Service> = Api::namespaced(env.client.clone(), ns);
    edit_by_hand(&services, "rpc-0", &svc_edit).await;
    let o = paraform(env, &["apply", saved, "--auto-approve", "--pod-readiness"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("stale") && err.contains("rpc"), "{}", text(&o));
    assert!(
        node_container(&sts)
            .await
            .command
            .iter()
            .flatten()
            .all(|a| !a.contains("sync=debug")),
        "a stale plan applied nothing"
    );
    // …and a fresh one, made after the edit, is carried out exactly (the
    // update re-applies the Service too, taking the port back).
    let o = paraform(env, &["plan", &dir, "--out", saved]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = paraform(
        env,
        &[
            "apply",
            saved,
            "--auto-approve",
            "--pod-readiness",
            "--force-conflicts",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = paraform(env, &["plan", &dir, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let port = services
        .get("rpc-0")
        .await
        .expect("Service rpc-0")
        .spec
        .and_then(|s| s.ports)
        .and_then(|p| p.into_iter().find(|p| p.port == 9944))
        .and_then(|p| p.target_port);
    assert_eq!(
        port,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(9944))
    );

    // Another apply holds the lock: apply refuses, naming it.
    let store = KubernetesStateStore::new(env.config.clone(), ns.clone(), NETWORK).expect("store");
    let mut info = LockInfo::for_this_process("apply", None);
    info.user = "ci-job-7".into();
    let guard = store.lock(info).await.expect("take the lock");
    let o = paraform(env, &["lock", "status", &dir]).await;
    assert!(stdout(&o).contains("ci-job-7"), "{}", text(&o));
    let o = paraform(env, &["apply", &dir, "--auto-approve", "--pod-readiness"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ci-job-7"),
        "{}",
        text(&o)
    );
    drop(guard);
    let o = paraform(env, &["apply", &dir, "--auto-approve", "--pod-readiness"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // SIGTERM mid-apply (a cancelled CI job): a scale-up whose new pod never
    // becomes Ready (no kubelet) is stopped; the apply exits 143 and
    // releases the Lease, so the next apply is not refused as locked.
    kubelet.abort();
    std::fs::write(
        env.net_dir.join("network.toml"),
        network_toml(&env.namespace, 3, "sync=debug"),
    )
    .expect("write network");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("paraform"));
    cmd.env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args(["apply", &dir, "--auto-approve", "--pod-readiness"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(k) = &env.kubeconfig {
        cmd.arg("--kubeconfig").arg(k);
    }
    let child = cmd.spawn().expect("spawn paraform apply");
    let leases = Api::<Lease>::namespaced(env.client.clone(), ns);
    let holder = || async {
        leases
            .get(&lease_name(NETWORK))
            .await
            .ok()
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity)
    };
    let mut waited = Duration::ZERO;
    loop {
        let scaled = sts
            .get("rpc")
            .await
            .ok()
            .and_then(|s| s.spec)
            .and_then(|s| s.replicas)
            == Some(3);
        if scaled && holder().await.is_some() {
            break;
        }
        assert!(
            waited < Duration::from_secs(60),
            "the apply never got to the rollout"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += Duration::from_millis(200);
    }
    let t_term = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let o = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join");
    assert_eq!(o.status.code(), Some(143), "{}", text(&o));
    assert!(
        t_term.elapsed() < Duration::from_secs(30),
        "stopped within the grace: {:?}",
        t_term.elapsed()
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("interrupted by SIGTERM") && err.contains("workload.rpc"),
        "{}",
        text(&o)
    );
    assert_eq!(holder().await, None, "the Lease is released");
    let kubelet = fake_kubelet(env);
    let o = paraform(env, &["apply", &dir, "--auto-approve", "--pod-readiness"]).await;
    assert_eq!(o.status.code(), Some(0), "not locked: {}", text(&o));

    // destroy: every object of the network goes; the secrets stay.
    let o = paraform(env, &["destroy", &dir, "--auto-approve"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(sts.get_opt("rpc").await.unwrap().is_none());
    assert!(Api::<Secret>::namespaced(env.client.clone(), ns)
        .get_opt("pf-secrets")
        .await
        .unwrap()
        .is_some());
    kubelet.abort();
}
