//! paraform inside the cluster: the drift CronJob of
//! `deploy/kubernetes/drift-cronjob.yaml` (its ServiceAccount and Role as
//! written), run once as `kubectl create job --from=cronjob/…` does, with the
//! paraform image (`scripts/paraform-image.sh`, the test build's binary) and
//! `--in-cluster`: the API through the pod's service account and the
//! `kubernetes` Service, node RPC through cluster DNS. A follow-up step of a
//! converged scenario (it needs a running network), kept in its own file:
//! call it once the scenario's network is converged (plan exits 0) and
//! before anything deletes it. It changes nothing paraform manages (its
//! objects are its own ConfigMap, Secret, ServiceAccount, Role, CronJob and
//! Jobs), so the scenario can go on afterwards.

use crate::pods::PodEnv;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::api::{Api, DynamicObject, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::pinned_kind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const NAME: &str = "paraform-drift";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The paraform image the cluster runs and the pull policy to use: on the
/// local cluster, the test build's own binary packed by
/// `scripts/paraform-image.sh` and imported (never pulled); elsewhere,
/// PARAFORM_TEST_PARAFORM_IMAGE.
async fn paraform_image(env: &PodEnv) -> (String, &'static str) {
    let Some(kubeconfig) = &env.kubeconfig else {
        let image = std::env::var("PARAFORM_TEST_PARAFORM_IMAGE").unwrap_or_else(|_| {
            panic!(
                "the drift job needs a paraform image the cluster can pull: set \
                 PARAFORM_TEST_PARAFORM_IMAGE (build it with deploy/Dockerfile)"
            )
        });
        return (image, "IfNotPresent");
    };
    let run = kubeconfig.parent().expect("run dir").to_path_buf();
    let bin = assert_cmd::cargo::cargo_bin("paraform");
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let out = std::process::Command::new(repo().join("scripts/paraform-image.sh"))
            .arg("build")
            .arg(&bin)
            .output()
            .expect("run scripts/paraform-image.sh");
        assert!(
            out.status.success(),
            "paraform-image.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (tar, image) = line.split_once(' ').expect("'<tar> <ref>'");
        let built = t.elapsed();
        let out = std::process::Command::new(repo().join("scripts/kube-cluster.sh"))
            .args(["load"])
            .arg(&run)
            .arg(tar)
            .output()
            .expect("run scripts/kube-cluster.sh load");
        assert!(
            out.status.success(),
            "kube-cluster.sh load: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let size = std::fs::metadata(tar).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "paraform image {image}: {} MB, packed in {built:.1?}, imported in {:.1?}",
            size / 1_000_000,
            t.elapsed() - built
        );
        (image.to_string(), "Never")
    })
    .await
    .expect("image thread")
}

/// The manifest's objects, in the test's namespace, with the image, the
/// pull policy and the network's `env:` secret reference wired to a Secret.
fn manifests(namespace: &str, image: &str, pull: &str) -> Vec<serde_json::Value> {
    let path = repo().join("deploy/kubernetes/drift-cronjob.yaml");
    let text = std::fs::read_to_string(&path).expect("read the CronJob manifest");
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| {
            let mut v: serde_json::Value =
                serde::Deserialize::deserialize(d).expect("manifest is YAML");
            v["metadata"]["namespace"] = namespace.into();
            for s in v["subjects"].as_array_mut().into_iter().flatten() {
                s["namespace"] = namespace.into();
            }
            if v["kind"] == "CronJob" {
                let c = &mut v["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
                c["image"] = image.into();
                c["imagePullPolicy"] = pull.into();
                c["env"].as_array_mut().expect("env").push(serde_json::json!({
                    "name": "PARAFORM_DERIVATION_ROOT",
                    "valueFrom": {"secretKeyRef": {"name": "paraform-drift-env", "key": "derivation-root"}}
                }));
            }
            v
        })
        .collect()
}

/// Create one manifest object; a CronJob as `batch/v1` where served, else
/// `batch/v1beta1` (Kubernetes < 1.21, the local cluster), same spec.
async fn create(env: &PodEnv, mut obj: serde_json::Value) -> String {
    let kind = obj["kind"].as_str().expect("kind").to_string();
    let (group, version) = match obj["apiVersion"].as_str().expect("apiVersion") {
        gv if gv.contains('/') => gv
            .split_once('/')
            .map(|(g, v)| (g.to_string(), v.to_string())),
        v => Some((String::new(), v.to_string())),
    }
    .expect("group/version");
    let gvk = GroupVersionKind::gvk(&group, &version, &kind);
    let ar = match pinned_kind(&env.client, &gvk).await {
        Ok((ar, _)) => ar,
        Err(_) if kind == "CronJob" => {
            obj["apiVersion"] = "batch/v1beta1".into();
            pinned_kind(
                &env.client,
                &GroupVersionKind::gvk("batch", "v1beta1", "CronJob"),
            )
            .await
            .expect("the cluster serves CronJobs")
            .0
        }
        Err(e) => panic!("{kind}: {e}"),
    };
    let obj: DynamicObject = serde_json::from_value(obj).expect("object");
    Api::<DynamicObject>::namespaced_with(env.client.clone(), &env.namespace, &ar)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap_or_else(|e| panic!("create {kind}: {e}"));
    ar.api_version
}

/// `kubectl create job --from=cronjob/paraform-drift <name>`: a Job of the
/// CronJob's template, owned by it. Waits for it to finish; returns the
/// container's exit code, its log and the Job's run time.
async fn run_once(env: &PodEnv, cronjob_api: &str, name: &str) -> (i32, String, Duration) {
    let (group, version) = cronjob_api.split_once('/').expect("batch/…");
    let (ar, _) = pinned_kind(
        &env.client,
        &GroupVersionKind::gvk(group, version, "CronJob"),
    )
    .await
    .expect("CronJob api");
    let cj = Api::<DynamicObject>::namespaced_with(env.client.clone(), &env.namespace, &ar)
        .get(NAME)
        .await
        .expect("get the CronJob");
    let template = &cj.data["spec"]["jobTemplate"];
    let job: Job = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": name,
            "labels": template["metadata"]["labels"],
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [{
                "apiVersion": cronjob_api, "kind": "CronJob", "name": NAME,
                "uid": cj.metadata.uid, "controller": true
            }]
        },
        "spec": template["spec"],
    }))
    .expect("job");
    let jobs: Api<Job> = Api::namespaced(env.client.clone(), &env.namespace);
    let t = Instant::now();
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create the Job");
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.namespace);
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let j = jobs.get(name).await.expect("get the Job");
        let s = j.status.unwrap_or_default();
        if s.succeeded.unwrap_or(0) + s.failed.unwrap_or(0) > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Job {name} not finished within 240 s:\n{}",
            env.pod_states().await
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let took = t.elapsed();
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={name}")))
        .await
        .expect("list the Job's pods");
    let pod = list.items.first().expect("the Job's pod");
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let code = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .map(|t| t.exit_code)
        .unwrap_or_else(|| panic!("{pod_name} did not terminate: {:?}", pod.status));
    let log = pods
        .logs(
            &pod_name,
            &LogParams {
                container: Some("drift".into()),
                ..Default::default()
            },
        )
        .await
        .expect("the Job's log");
    (code, log, took)
}

const EXTRA_GROUP: &str = r#"
[[relay.group]]
name = "extra"
role = "full"
replicas = 1
"#;

/// The drift CronJob on the converged network: in sync (exit 0, "In sync"),
/// then, with a group added to the desired state in its ConfigMap, drift
/// (exit 2, the new group named in the report). Run after a scenario has
/// applied `env.net_dir`.
pub async fn drift_cronjob_in_cluster(env: &PodEnv) {
    let t0 = Instant::now();
    let (image, pull) = paraform_image(env).await;
    let toml = std::fs::read_to_string(env.net_dir.join("network.toml")).expect("network.toml");
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), &env.namespace);
    let cm = |toml: String| {
        serde_json::from_value::<ConfigMap>(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "paraform-network"},
            "data": {"network.toml": toml}
        }))
        .expect("configmap")
    };
    cms.create(&PostParams::default(), &cm(toml.clone()))
        .await
        .expect("create the network's ConfigMap");
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "paraform-drift-env"},
        "stringData": {"derivation-root": crate::pods::ROOT}
    }))
    .expect("secret");
    Api::<Secret>::namespaced(env.client.clone(), &env.namespace)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the derivation-root Secret");
    let mut cronjob_api = String::new();
    for obj in manifests(&env.namespace, &image, pull) {
        let is_cronjob = obj["kind"] == "CronJob";
        let api = create(env, obj).await;
        if is_cronjob {
            cronjob_api = api;
        }
    }

    let (code, log, took) = run_once(env, &cronjob_api, "drift-in-sync").await;
    eprintln!("drift job (in sync) finished in {took:.1?}:\n{log}");
    assert_eq!(code, 0, "drift job on the converged network:\n{log}");
    assert!(
        log.contains("In sync: 0 cluster, 0 chain"),
        "drift job report:\n{log}"
    );

    // The desired state gains a group: the next run reports it, exit 2.
    cms.patch(
        "paraform-network",
        &PatchParams::apply("paraform-test").force(),
        &Patch::Apply(&cm(format!("{toml}{EXTRA_GROUP}"))),
    )
    .await
    .expect("update the network's ConfigMap");
    let (code, log, took) = run_once(env, &cronjob_api, "drift-changed").await;
    eprintln!("drift job (a group added) finished in {took:.1?}:\n{log}");
    assert_eq!(code, 2, "drift job with a group added:\n{log}");
    assert!(
        log.contains("Drift: ") && log.contains("extra"),
        "drift report names the missing group:\n{log}"
    );
    eprintln!("drift CronJob step took {:.1?}", t0.elapsed());
}
