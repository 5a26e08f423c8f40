//! What the Kubernetes layer promises, each as one scenario run against the
//! harness's real API server and (ignored by default) a real cluster.

use super::support::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use paraform::provider::kubernetes::manifests::group_selector;
use paraform::provider::kubernetes::ssa::{ApplyOutcome, DiffKind};
use paraform::provider::Provider;
use paraform::spec::{GroupName, NetworkName, NodeName};
use paraform::state::kubernetes::{lease_name, state_configmap_name, KubernetesStateStore};
use paraform::state::{LockInfo, StateError, StateStore};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// resourceVersion of every object of the group, by `Kind/name`.
async fn versions(env: &Env) -> BTreeMap<String, String> {
    versions_of(
        env,
        &group_selector(&NetworkName::new("k8s-test"), "validator"),
    )
    .await
}

/// What paraform wrote under `selector` (see [`crate::namespace::written`]).
async fn versions_of(env: &Env, selector: &str) -> BTreeMap<String, String> {
    crate::namespace::written(&env.client, &env.namespace, selector).await
}

pub async fn ssa_create_noop_update_prune(env: &Env) {
    let desired = env.network(&validators(3, "parachain=debug"));
    let p = env.provider(&desired, |_| {});
    let req = request(&desired, "validator");

    // Create.
    let created = p.apply_group(&req).await.expect("first apply");
    assert!(
        created.iter().all(|(_, o)| *o == ApplyOutcome::Created),
        "{created:?}"
    );
    let v1 = versions(env).await;
    // Secret, public-addrs ConfigMap, headless + 3 RPC + 3 p2p Services, StatefulSet.
    assert_eq!(v1.len(), 10, "{v1:?}");
    let cm: ConfigMap = Api::namespaced(env.client.clone(), &env.namespace)
        .get("validator-public-addrs")
        .await
        .expect("public addrs");
    let addrs = cm.data.unwrap_or_default();
    assert_eq!(addrs.len(), 3, "NodePort addresses of every pod: {addrs:?}");
    assert!(
        addrs["validator-0"].starts_with("/ip4/@HOST_IP@/tcp/3"),
        "{addrs:?}"
    );

    // managedFields times have one-second resolution: let a second pass so
    // that a write by the re-apply would show.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // No-op re-apply: nothing written, no resourceVersion moves.
    let again = p.apply_group(&req).await.expect("re-apply");
    assert!(
        again.iter().all(|(_, o)| *o == ApplyOutcome::Unchanged),
        "{again:?}"
    );
    assert_eq!(
        versions(env).await,
        v1,
        "a no-op apply must not write anything"
    );

    // Update: only the StatefulSet changes.
    let traced = env.network(&validators(3, "parachain=trace"));
    let p2 = env.provider(&traced, |_| {});
    let upd = p2
        .apply_group(&request(&traced, "validator"))
        .await
        .expect("update");
    for (id, o) in &upd {
        let want = if id.starts_with("StatefulSet/") {
            ApplyOutcome::Updated
        } else {
            ApplyOutcome::Unchanged
        };
        assert_eq!(*o, want, "{id}");
    }
    let sts: StatefulSet = Api::namespaced(env.client.clone(), &env.namespace)
        .get("validator")
        .await
        .expect("sts");
    assert_eq!(sts.metadata.generation, Some(2));
    let args = sts.spec.unwrap().template.spec.unwrap().containers[0]
        .command
        .clone()
        .unwrap_or_default();
    assert!(
        args.iter().any(|a| a == "--log=parachain=trace"),
        "{args:?}"
    );

    // Prune: one node fewer removes its Services and key, nothing else.
    let two = env.network(&validators(2, "parachain=debug"));
    let p3 = env.provider(&two, |_| {});
    p3.apply_group(&request(&two, "validator"))
        .await
        .expect("scale down");
    let v3 = versions(env).await;
    assert!(
        !v3.contains_key("Service/validator-2") && !v3.contains_key("Service/validator-2-p2p"),
        "{v3:?}"
    );
    assert!(v3.contains_key("Service/validator-1") && v3.contains_key("Service/validator-1-p2p"));
    assert_eq!(v3.len(), 8, "{v3:?}");
    let keys: Secret = Api::namespaced(env.client.clone(), &env.namespace)
        .get("validator-node-keys")
        .await
        .expect("keys");
    let names: Vec<String> = keys.data.unwrap_or_default().into_keys().collect();
    assert_eq!(names, ["validator-0", "validator-1"]);

    // Observe: one workload, recorded spec hash, two replicas.
    let seen = p3
        .observe_workloads(&BTreeMap::new())
        .await
        .expect("observe");
    let w = &seen[&GroupName::new("validator")];
    assert_eq!(w.spec_hash, request(&two, "validator").spec.hash());
    assert_eq!(w.spec.as_ref(), Some(&request(&two, "validator").spec));
    assert_eq!(w.replicas, 2);

    // Delete: everything of the group goes.
    p3.delete_workload(&GroupName::new("validator"))
        .await
        .expect("delete");
    assert!(versions(env).await.is_empty());
    assert!(p3
        .observe_workloads(&BTreeMap::new())
        .await
        .expect("observe")
        .is_empty());
}

pub async fn foreign_objects_untouched(env: &Env) {
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.namespace);
    let svcs: Api<Service> = Api::namespaced(env.client.clone(), &env.namespace);
    let pp = PostParams::default();
    let unlabelled: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "someone-elses", "labels": {"paraform.io/group": "validator"}},
        "data": {"k": "v"}
    }))
    .unwrap();
    let other_net: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "other-network", "labels": {
            "app.kubernetes.io/managed-by": "paraform",
            "paraform.io/network": "another-net",
            "paraform.io/group": "validator"}},
        "data": {"k": "v"}
    }))
    .unwrap();
    let a = cms.create(&pp, &unlabelled).await.expect("create foreign");
    let b = cms
        .create(&pp, &other_net)
        .await
        .expect("create other network's");
    // A foreign Service with the name of one of our per-pod Services.
    let squatter: Service = serde_json::from_value(json!({
        "metadata": {"name": "validator-1"},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}
    }))
    .unwrap();
    let s = svcs.create(&pp, &squatter).await.expect("create squatter");

    let desired = env.network(&validators(3, "parachain=debug"));
    let p = env.provider(&desired, |_| {});
    let req = request(&desired, "validator");
    let err = p
        .apply_group(&req)
        .await
        .expect_err("must refuse to take over a foreign object");
    let msg = err.to_string();
    assert!(
        msg.contains("Service/") && msg.contains("validator-1") && msg.contains("not paraform's"),
        "{msg}"
    );
    let s2 = svcs.get("validator-1").await.expect("squatter still there");
    assert_eq!(
        s2.metadata.resource_version, s.metadata.resource_version,
        "foreign object untouched"
    );

    svcs.delete("validator-1", &Default::default())
        .await
        .expect("remove squatter");
    p.apply_group(&req)
        .await
        .expect("apply once the name is free");
    p.delete_workload(&GroupName::new("validator"))
        .await
        .expect("delete");
    for (name, before) in [("someone-elses", a), ("other-network", b)] {
        let now = cms
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("{name} was deleted: {e}"));
        assert_eq!(
            now.metadata.resource_version, before.metadata.resource_version,
            "{name} untouched"
        );
    }
}

pub async fn conflicting_field_manager(env: &Env) {
    let desired = env.network(&validators(3, "parachain=debug"));
    let p = env.provider(&desired, |_| {});
    let req = request(&desired, "validator");
    p.apply_group(&req).await.expect("apply");
    // Another tool takes ownership of spec.replicas.
    let sts: Api<StatefulSet> = Api::namespaced(env.client.clone(), &env.namespace);
    let other = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "validator"},
        "spec": {"replicas": 5}
    });
    sts.patch(
        "validator",
        &PatchParams::apply("other-tool").force(),
        &Patch::Apply(&other),
    )
    .await
    .expect("other tool applies");
    let err = p
        .apply_group(&req)
        .await
        .expect_err("paraform must not silently take the field");
    let msg = err.to_string();
    assert!(
        msg.contains("other-tool")
            && msg.contains(".spec.replicas")
            && msg.contains("--force-conflicts"),
        "{msg}"
    );
    assert_eq!(
        sts.get("validator").await.unwrap().spec.unwrap().replicas,
        Some(5)
    );

    let forced = env.provider(&desired, |o| o.force_conflicts = true);
    forced.apply_group(&req).await.expect("forced apply");
    assert_eq!(
        sts.get("validator").await.unwrap().spec.unwrap().replicas,
        Some(3)
    );
}

pub async fn dry_run_shows_server_defaults(env: &Env) {
    let desired = env.network(&validators(3, "parachain=debug"));
    let p = env.provider(&desired, |_| {});
    let req = request(&desired, "validator");
    let plan = p.plan_workload(&req).await.expect("dry run");
    assert_eq!(plan.len(), 10);
    assert!(
        plan.iter().all(|d| d.change == DiffKind::Create),
        "{plan:?}"
    );
    let sts = plan
        .iter()
        .find(|d| d.id.starts_with("StatefulSet/"))
        .unwrap();
    // Fields paraform never sends, filled in by the server's defaulting.
    for default in [
        "\"revisionHistoryLimit\": 10",
        "\"terminationMessagePath\"",
        "\"dnsPolicy\": \"ClusterFirst\"",
    ] {
        assert!(
            sts.diff.contains(default),
            "missing server default {default} in\n{}",
            sts.diff
        );
    }
    let svc = plan
        .iter()
        .find(|d| d.id.ends_with("/validator-0"))
        .unwrap();
    assert!(
        svc.diff.contains("\"sessionAffinity\": \"None\""),
        "{}",
        svc.diff
    );
    let secret = plan.iter().find(|d| d.id.starts_with("Secret/")).unwrap();
    assert!(
        secret.diff.contains("(sensitive, sha256"),
        "{}",
        secret.diff
    );
    let key = paraform::provider::local::nodekey::NodeKey::derived(
        &desired.network,
        &NodeName::new("validator-0"),
    );
    assert!(
        !secret.diff.contains(&key.to_hex()),
        "node keys never appear in a diff"
    );
    // Nothing was created.
    let sts_api: Api<StatefulSet> = Api::namespaced(env.client.clone(), &env.namespace);
    assert!(
        sts_api.get_opt("validator").await.unwrap().is_none(),
        "dry run must not create"
    );

    p.apply_group(&req).await.expect("apply");
    let plan = p.plan_workload(&req).await.expect("dry run after apply");
    assert!(
        plan.iter()
            .all(|d| d.change == DiffKind::NoChange && d.diff.is_empty()),
        "{plan:?}"
    );

    let traced = env.network(&validators(3, "parachain=trace"));
    let p2 = env.provider(&traced, |_| {});
    let plan = p2
        .plan_workload(&request(&traced, "validator"))
        .await
        .expect("dry run of a change");
    let changed: Vec<_> = plan
        .iter()
        .filter(|d| d.change != DiffKind::NoChange)
        .collect();
    assert_eq!(changed.len(), 1, "{plan:?}");
    assert!(changed[0].id.starts_with("StatefulSet/"));
    assert!(
        changed[0].diff.contains("-")
            && changed[0].diff.contains("+")
            && changed[0].diff.contains("parachain=trace"),
        "{}",
        changed[0].diff
    );
}

/// Local only: it patches pod status, which a real kubelet would overwrite.
pub async fn readiness_from_rollout_status(env: &Env) {
    let desired = env.network(FULL_1);
    let p = env.provider(&desired, |_| {});
    p.apply_group(&request(&desired, "full"))
        .await
        .expect("apply");
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.namespace);
    let mut pod = None;
    for _ in 0..150 {
        if let Some(p) = pods.get_opt("full-0").await.unwrap() {
            pod = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(pod.is_some(), "the StatefulSet controller created no pod");
    let node = NodeName::new("full-0");
    let err = p
        .wait_ready(std::slice::from_ref(&node), Duration::from_secs(1))
        .await
        .expect_err("not ready yet");
    assert!(err.to_string().contains("0/1 pods ready"), "{err}");

    let status = json!({"status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    }});
    pods.patch_status("full-0", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch pod status");
    p.wait_ready(&[node], Duration::from_secs(30))
        .await
        .expect("ready once the pod is");
    let seen = p.observe_workloads(&BTreeMap::new()).await.unwrap();
    let w = &seen[&GroupName::new("full")];
    assert_eq!(w.ready_replicas, 1);
    assert!(w.nodes[0].running);
}

fn store(env: &Env, lease: Duration, renew: Duration) -> KubernetesStateStore {
    KubernetesStateStore::new(env.config.clone(), env.namespace.clone(), "k8s-test")
        .expect("store")
        .with_lease(lease, renew)
}

fn info(op: &str) -> LockInfo {
    let mut i = LockInfo::for_this_process(op, Some("0123456789abcdef".into()));
    i.id = format!("{op}-{}", i.id);
    i
}

pub async fn lease_two_contenders(env: &Env) {
    let a = store(env, Duration::from_secs(30), Duration::from_secs(5));
    let b = store(env, Duration::from_secs(30), Duration::from_secs(5));
    let (ia, ib) = (info("apply-a"), info("apply-b"));
    let (ra, rb) = tokio::join!(a.lock(ia.clone()), b.lock(ib.clone()));
    let (winner, loser) = match (ra, rb) {
        (Ok(g), Err(e)) | (Err(e), Ok(g)) => (g, e),
        (Ok(_), Ok(_)) => panic!("two holders of one lock"),
        (Err(x), Err(y)) => panic!("nobody got the lock: {x} / {y}"),
    };
    match &loser {
        StateError::Locked {
            holder: Some(h), ..
        } => assert_eq!(h, winner.info(), "the loser is told who holds it"),
        other => panic!("expected Locked naming the holder, got {other}"),
    }
    let status = a.lock_status().await.unwrap().expect("held");
    assert_eq!(&status, winner.info());
    assert_eq!(status.commit.as_deref(), Some("0123456789abcdef"));
    // The lease itself names the holder.
    let lease: k8s_openapi::api::coordination::v1::Lease =
        Api::namespaced(env.client.clone(), &env.namespace)
            .get(&lease_name("k8s-test"))
            .await
            .unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some(winner.info().id.as_str())
    );
    // Releasing (drop) frees it for the other.
    drop(winner);
    assert_eq!(a.lock_status().await.unwrap(), None);
    let again = b.lock(info("apply-c")).await.expect("free after release");
    drop(again);
}

pub async fn lease_expiry_takeover_and_fencing(env: &Env) {
    // A holder that stops renewing (renewal far beyond the lease).
    let stale = store(env, Duration::from_secs(2), Duration::from_secs(3600));
    let g1 = stale.lock(info("stale")).await.expect("first holder");
    let mut s = stale.load().await.unwrap();
    s.last_applied_commit = Some("c1".into());
    stale.save(&s).await.expect("the holder writes");

    let fresh = store(env, Duration::from_secs(30), Duration::from_secs(5));
    match fresh.lock(info("fresh")).await {
        Err(StateError::Locked { .. }) => {}
        other => panic!(
            "a live lease must not be taken: {:?}",
            other.map(|g| g.info().clone())
        ),
    }
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let g2 = fresh
        .lock(info("fresh"))
        .await
        .expect("takeover after expiry");
    assert_eq!(fresh.lock_status().await.unwrap().as_ref(), Some(g2.info()));

    // The stale holder may not write any more.
    s.last_applied_commit = Some("stale-write".into());
    let err = stale.save(&s).await.expect_err("fenced");
    assert!(matches!(err, StateError::Fenced { .. }), "{err}");
    let mut s2 = fresh.load().await.unwrap();
    assert_eq!(
        s2.last_applied_commit.as_deref(),
        Some("c1"),
        "the new holder sees the last good state"
    );
    s2.dirty = true;
    fresh.save(&s2).await.expect("new holder writes");
    let cm: ConfigMap = Api::namespaced(env.client.clone(), &env.namespace)
        .get(&state_configmap_name("k8s-test"))
        .await
        .unwrap();
    let gen: i32 = cm.metadata.annotations.unwrap()["paraform.io/fencing-generation"]
        .parse()
        .unwrap();
    assert_eq!(gen, 2, "each acquisition raises the fencing generation");
    // The stale guard's drop must not release the new holder's lease.
    drop(g1);
    assert_eq!(fresh.lock_status().await.unwrap().as_ref(), Some(g2.info()));

    // force-unlock: wrong id refused, right id breaks the lock.
    assert!(matches!(
        fresh.force_unlock("nope").await,
        Err(StateError::WrongLockId { .. })
    ));
    let id = g2.info().id.clone();
    let broken = fresh.force_unlock(&id).await.expect("force-unlock");
    assert_eq!(broken.id, id);
    assert_eq!(fresh.lock_status().await.unwrap(), None);
    let err = fresh
        .save(&s2)
        .await
        .expect_err("a force-unlocked holder is fenced");
    assert!(matches!(err, StateError::Fenced { .. }), "{err}");
    drop(g2);
}

pub async fn lease_renewal_keeps_the_lock(env: &Env) {
    let a = store(env, Duration::from_secs(2), Duration::from_millis(400));
    let g = a.lock(info("long-apply")).await.expect("lock");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let b = store(env, Duration::from_secs(2), Duration::from_millis(400));
    assert!(
        matches!(b.lock(info("other")).await, Err(StateError::Locked { .. })),
        "renewed lease still held"
    );
    let mut s = a.load().await.unwrap();
    s.last_applied_commit = Some("after-renewals".into());
    a.save(&s)
        .await
        .expect("holder still writes after many renewals");
    // Without a lock a store cannot write at all.
    assert!(matches!(b.save(&s).await, Err(StateError::Fenced { .. })));
    drop(g);
    assert_eq!(
        b.load().await.unwrap().last_applied_commit.as_deref(),
        Some("after-renewals")
    );
}

/// networks/rococo-k8s as the server sees it. Against the local server the
/// objects are applied for real and the controller creates the pods; against
/// a real cluster only dry-run (no 50Gi volumes or validators are started).
pub async fn rococo_k8s_manifests_accepted(env: &Env) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("networks/rococo-k8s");
    let desired = paraform::spec::load::load_dir(&dir).expect("networks/rococo-k8s loads");
    let p = env.provider(&desired, |_| {});
    for g in &desired.groups {
        let req = request(&desired, g.name.as_str());
        let plan = p
            .plan_workload(&req)
            .await
            .unwrap_or_else(|e| panic!("the server rejects group {}: {e}", g.name));
        assert!(plan.iter().all(|d| d.change == DiffKind::Create));
        if env.target == Target::LocalApiserver {
            p.apply_group(&req)
                .await
                .unwrap_or_else(|e| panic!("applying group {}: {e}", g.name));
        }
    }
    if env.target == Target::LocalApiserver {
        let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.namespace);
        let want: usize = desired.groups.iter().map(|g| g.replicas as usize).sum();
        let lp = ListParams::default().labels("paraform.io/network=rococo-k8s");
        let mut n = 0;
        for _ in 0..150 {
            n = pods.list(&lp).await.unwrap().items.len();
            if n == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            n, want,
            "the StatefulSet controller creates every pod from the rendered templates"
        );
        // Every rendered shape (collator with relay node, dev-key wrapper,
        // LoadBalancer p2p, resources, storage classes) re-applies as a no-op
        // that writes nothing.
        let selector = "app.kubernetes.io/managed-by=paraform,paraform.io/network=rococo-k8s";
        let before = versions_of(env, selector).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        for g in &desired.groups {
            let again = p
                .apply_group(&request(&desired, g.name.as_str()))
                .await
                .unwrap();
            assert!(
                again.iter().all(|(_, o)| *o == ApplyOutcome::Unchanged),
                "{}: {again:?}",
                g.name
            );
        }
        assert_eq!(
            versions_of(env, selector).await,
            before,
            "re-apply wrote something"
        );
        let seen = p.observe_workloads(&BTreeMap::new()).await.unwrap();
        assert_eq!(seen.len(), desired.groups.len());
        for g in &desired.groups {
            let w = &seen[&g.name];
            assert_eq!(
                w.spec_hash,
                request(&desired, g.name.as_str()).spec.hash(),
                "{}",
                g.name
            );
        }
    }
}

/// The chart's pod and Service settings (tests/fixtures/chart-k8s has them
/// all) as the API server takes them: the StatefulSet controller creates
/// pods that carry them, an Ingress routes to the group, re-applying writes
/// nothing, a changed setting shows in the dry-run diff, and removing the
/// Ingress prunes it.
pub async fn chart_settings_applied(env: &Env) {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::networking::v1::Ingress;
    use k8s_openapi::api::scheduling::v1::PriorityClass;
    use kube::api::DeleteParams;

    // What the pods reference must exist, or admission refuses them.
    let priority = format!("{}-node", env.namespace);
    let pcs: Api<PriorityClass> = Api::all(env.client.clone());
    pcs.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": priority}, "value": 1000,
        }))
        .unwrap(),
    )
    .await
    .expect("priority class");
    let sas: Api<ServiceAccount> = Api::namespaced(env.client.clone(), &env.namespace);
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "polkadot-node"}})).unwrap(),
    )
    .await
    .expect("service account");

    let settings = |toleration: &str, ingress: bool| {
        let ingress = if ingress {
            r#"ingress = { host = "rpc.example.org", class = "nginx", tls_secret = "rpc-tls", annotations = { "nginx.ingress.kubernetes.io/proxy-read-timeout" = "3600" } }"#
        } else {
            ""
        };
        format!(
            r#"
[kubernetes]
node_selector = {{ "kubernetes.io/os" = "linux" }}
tolerations = [{{ key = "{toleration}", operator = "Exists", effect = "NoSchedule" }}]
image_pull_secrets = ["regcred"]
service_account = "polkadot-node"
priority_class = "{priority}"
termination_grace_period = 60
pod_labels = {{ team = "parachains" }}
pod_annotations = {{ "prometheus.io/scrape" = "true" }}
service_annotations = {{ "example.org/owner" = "parachains" }}
env = {{ RUST_BACKTRACE = "1", TOKEN = {{ secret = "telemetry/token" }} }}

[[relay.group]]
name = "validator"
role = "validator"
replicas = 2
p2p = "LoadBalancer"
storage = {{ size = "1Gi" }}

[relay.group.kubernetes]
anti_affinity = "preferred"
security_context = {{ runAsNonRoot = true }}
affinity = {{ nodeAffinity = {{ requiredDuringSchedulingIgnoredDuringExecution = {{ nodeSelectorTerms = [{{ matchExpressions = [{{ key = "kubernetes.io/arch", operator = "In", values = ["amd64", "arm64"] }}] }}] }} }} }}
external_dns = {{ hostname = "p2p.example.org" }}

[[relay.group]]
name = "rpc"
role = "rpc"
replicas = 1
storage = {{ size = "1Gi" }}

[relay.group.kubernetes]
{ingress}
"#
        )
    };
    let desired = env.network(&settings("dedicated", true));
    let p = env.provider(&desired, |_| {});
    for g in ["validator", "rpc"] {
        let plan = p
            .plan_workload(&request(&desired, g))
            .await
            .unwrap_or_else(|e| panic!("the server rejects {g}: {e}"));
        assert!(
            plan.iter().all(|d| d.change == DiffKind::Create),
            "{plan:?}"
        );
        p.apply_group(&request(&desired, g)).await.expect("apply");
    }

    // The pods the controller creates carry every setting.
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.namespace);
    let pod = {
        let mut found = None;
        for _ in 0..150 {
            if let Some(p) = pods.get_opt("validator-1").await.unwrap() {
                found = Some(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        found.expect("the controller creates validator-1")
    };
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("parachains"));
    assert_eq!(
        pod.metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .get("prometheus.io/scrape")
            .map(String::as_str),
        Some("true")
    );
    let spec = pod.spec.clone().expect("pod spec");
    assert_eq!(
        spec.node_selector
            .clone()
            .unwrap_or_default()
            .get("kubernetes.io/os")
            .map(String::as_str),
        Some("linux")
    );
    assert!(
        spec.tolerations
            .iter()
            .flatten()
            .any(|t| t.key.as_deref() == Some("dedicated")
                && t.operator.as_deref() == Some("Exists")),
        "{:?}",
        spec.tolerations
    );
    assert_eq!(spec.service_account_name.as_deref(), Some("polkadot-node"));
    assert_eq!(spec.priority_class_name.as_deref(), Some(priority.as_str()));
    assert_eq!(spec.priority, Some(1000), "admission resolved the class");
    assert_eq!(spec.termination_grace_period_seconds, Some(60));
    assert_eq!(
        spec.image_pull_secrets.clone().unwrap_or_default()[0].name,
        "regcred"
    );
    let sc = spec.security_context.clone().expect("security context");
    assert_eq!(
        (sc.run_as_user, sc.run_as_non_root),
        (Some(1000), Some(true))
    );
    let aff = spec.affinity.clone().expect("affinity");
    assert!(aff.node_affinity.is_some());
    assert!(aff
        .pod_anti_affinity
        .and_then(|a| a.preferred_during_scheduling_ignored_during_execution)
        .is_some_and(|t| t[0].pod_affinity_term.topology_key == "kubernetes.io/hostname"));
    let env_vars = spec.containers[0].env.clone().unwrap_or_default();
    let token = env_vars.iter().find(|e| e.name == "TOKEN").expect("TOKEN");
    assert_eq!(
        token
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .map(|s| (s.name.as_str(), s.key.as_str())),
        Some(("telemetry", "token"))
    );

    // Services: annotations, and the external-dns name of each p2p Service.
    let svcs: Api<Service> = Api::namespaced(env.client.clone(), &env.namespace);
    let p2p = svcs.get("validator-1-p2p").await.expect("p2p service");
    let ann = p2p.metadata.annotations.unwrap_or_default();
    assert_eq!(
        ann.get("external-dns.alpha.kubernetes.io/hostname")
            .map(String::as_str),
        Some("validator-1.p2p.example.org")
    );
    assert_eq!(
        ann.get("example.org/owner").map(String::as_str),
        Some("parachains")
    );

    // The Ingress routes its host to the rpc group's Service.
    let ings: Api<Ingress> = Api::namespaced(env.client.clone(), &env.namespace);
    let ing = ings.get("rpc").await.expect("ingress");
    let ispec = ing.spec.expect("ingress spec");
    assert_eq!(ispec.ingress_class_name.as_deref(), Some("nginx"));
    let backend = ispec.rules.unwrap()[0].http.clone().unwrap().paths[0]
        .backend
        .service
        .clone()
        .unwrap();
    assert_eq!(backend.name, "rpc-rpc");
    svcs.get("rpc-rpc").await.expect("the Ingress's Service");

    // Re-applying writes nothing (server defaults of the new fields included).
    let selector = format!(
        "app.kubernetes.io/managed-by=paraform,paraform.io/network={}",
        desired.network
    );
    let before = versions_of(env, &selector).await;
    let ing_version = ing.metadata.resource_version.clone();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for g in ["validator", "rpc"] {
        let again = p.apply_group(&request(&desired, g)).await.unwrap();
        assert!(
            again.iter().all(|(_, o)| *o == ApplyOutcome::Unchanged),
            "{g}: {again:?}"
        );
    }
    assert_eq!(
        versions_of(env, &selector).await,
        before,
        "re-apply wrote something"
    );
    assert_eq!(
        ings.get("rpc").await.unwrap().metadata.resource_version,
        ing_version
    );

    // A changed toleration is a change of the StatefulSet only, in the diff.
    let changed = env.network(&settings("polkadot-only", true));
    let p2 = env.provider(&changed, |_| {});
    let plan = p2
        .plan_workload(&request(&changed, "validator"))
        .await
        .expect("dry run");
    let moved: Vec<_> = plan
        .iter()
        .filter(|d| d.change != DiffKind::NoChange)
        .collect();
    assert_eq!(moved.len(), 1, "{plan:?}");
    assert!(moved[0].id.starts_with("StatefulSet/"));
    assert!(
        moved[0].diff.contains("+") && moved[0].diff.contains("polkadot-only"),
        "{}",
        moved[0].diff
    );

    // Without the ingress, applying the group prunes it and its Service.
    let no_ingress = env.network(&settings("dedicated", false));
    let p3 = env.provider(&no_ingress, |_| {});
    p3.apply_group(&request(&no_ingress, "rpc"))
        .await
        .expect("apply without ingress");
    assert!(
        ings.get_opt("rpc").await.unwrap().is_none(),
        "Ingress pruned"
    );
    assert!(
        svcs.get_opt("rpc-rpc").await.unwrap().is_none(),
        "Service pruned"
    );

    let _ = pcs.delete(&priority, &DeleteParams::default()).await;
}

/// A ServiceMonitor follows the cluster: without prometheus-operator's CRD
/// (the harness's API server) the plan carries a skip note and apply and
/// pruning work without the kind; with it (a real cluster running the
/// operator) the object is created, re-applied as a no-op and pruned with
/// the group. The harness cannot take the other branch: its 1.20 API server
/// crashes (SIGSEGV in the quota evaluator) when a CRD is created.
pub async fn service_monitor_follows_the_crd(env: &Env) {
    use kube::api::DynamicObject;
    use paraform::provider::kubernetes::manifests::Kind;
    use paraform::provider::kubernetes::ssa::api_resource;

    let desired = env.network(&format!(
        "{}\n[relay.group.kubernetes]\nservice_monitor = {{ interval = \"15s\" }}\n",
        validators(1, "sync=info")
    ));
    let p = env.provider(&desired, |_| {});
    let req = request(&desired, "validator");
    let served = match env
        .client
        .list_api_group_resources("monitoring.coreos.com/v1")
        .await
    {
        Ok(l) => l.resources.iter().any(|r| r.name == "servicemonitors"),
        Err(_) => false,
    };
    let plan = p.plan_workload(&req).await.expect("dry run");
    let sm_diff = plan
        .iter()
        .find(|d| d.id.starts_with("ServiceMonitor/"))
        .unwrap_or_else(|| panic!("no ServiceMonitor in {plan:?}"));
    if !served {
        assert_eq!(sm_diff.change, DiffKind::Skipped);
        let text = paraform::render::dry_run::render(
            &env.namespace,
            &[paraform::render::dry_run::StepDiffs {
                step: paraform::plan::StepId("workload.validator".into()),
                objects: plan.clone(),
            }],
        );
        assert!(
            text.contains("skipped: the cluster has no ServiceMonitor CRD"),
            "{text}"
        );
        p.apply_group(&req).await.expect("apply without the CRD");
        let seen = p
            .out_of_sync(std::slice::from_ref(&req))
            .await
            .expect("drift check");
        assert!(seen.is_empty(), "a skip note is not drift: {seen:?}");
        p.delete_workload(&GroupName::new("validator"))
            .await
            .expect("pruning skips the kind the cluster does not serve");
        return;
    }
    assert_eq!(sm_diff.change, DiffKind::Create);
    let sms: Api<DynamicObject> = Api::namespaced_with(
        env.client.clone(),
        &env.namespace,
        &api_resource(Kind::ServiceMonitor),
    );
    p.apply_group(&req).await.expect("apply with the CRD");
    let sm = sms.get("validator").await.expect("ServiceMonitor created");
    assert_eq!(sm.data["spec"]["endpoints"][0]["interval"], "15s");
    let again = p.apply_group(&req).await.expect("re-apply");
    assert!(
        again.iter().all(|(_, o)| *o == ApplyOutcome::Unchanged),
        "{again:?}"
    );
    p.delete_workload(&GroupName::new("validator"))
        .await
        .expect("delete");
    assert!(sms.get_opt("validator").await.unwrap().is_none());
}
