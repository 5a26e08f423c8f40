//! The test cluster: a real kube-apiserver + etcd + kube-controller-manager
//! built and started by `scripts/kube-apiserver.sh` (once per test binary,
//! on free loopback ports, stopped when this process exits), or — for the
//! `cluster` variants, which are `#[ignore = "needs cluster"]` — whatever
//! cluster `KUBECONFIG` names. Each test works in a namespace of its own.

use kube::Client;
use paraform::provider::kubernetes::{KubernetesOptions, KubernetesProvider};
use paraform::provider::WorkloadRequest;
use paraform::spec::model::Desired;
use paraform::spec::workload::WorkloadSpec;
use paraform::spec::GroupName;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The harness's own API server (no kubelet: pods stay Pending).
    LocalApiserver,
    /// A real cluster named by KUBECONFIG.
    Cluster,
}

pub struct Env {
    pub target: Target,
    pub config: kube::Config,
    pub client: Client,
    pub namespace: String,
    /// For the CLI: the harness's kubeconfig (`None`: KUBECONFIG names the cluster).
    pub kubeconfig: Option<PathBuf>,
    _dir: tempfile::TempDir,
    pub net_dir: PathBuf,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Start the harness once per test binary; its kubeconfig path.
fn local_kubeconfig() -> Result<PathBuf, String> {
    static ONCE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ONCE.get_or_init(|| {
        let run = std::env::temp_dir().join(format!("paraform-k8s-test-{}", std::process::id()));
        let out = std::process::Command::new(repo().join("scripts/kube-apiserver.sh"))
            .arg("start")
            .arg(&run)
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run scripts/kube-apiserver.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/kube-apiserver.sh start failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(run.join("kubeconfig"))
    })
    .clone()
}

async fn config_from(path: &std::path::Path) -> kube::Config {
    let kc = kube::config::Kubeconfig::read_from(path).expect("kubeconfig");
    kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("kubeconfig is usable")
}

impl Env {
    pub async fn local(test: &str) -> Env {
        let path = tokio::task::spawn_blocking(local_kubeconfig)
            .await
            .expect("harness thread")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut env =
            Self::with_config(Target::LocalApiserver, config_from(&path).await, test).await;
        env.kubeconfig = Some(path);
        env
    }

    pub async fn cluster(test: &str) -> Env {
        assert!(
            std::env::var_os("KUBECONFIG").is_some(),
            "the `cluster` variants run against the cluster KUBECONFIG names; set it"
        );
        let config = kube::Config::infer().await.expect("KUBECONFIG is usable");
        Self::with_config(Target::Cluster, config, test).await
    }

    async fn with_config(target: Target, config: kube::Config, test: &str) -> Env {
        let client = Client::try_from(config.clone()).expect("client");
        let ns = crate::namespace::create(&client, "pf-test", test).await;
        Env {
            target,
            config,
            client,
            namespace: ns.name,
            kubeconfig: None,
            _dir: ns.dir,
            net_dir: ns.net_dir,
        }
    }

    /// Delete the namespace (best effort; a failed test leaves it for inspection).
    pub async fn cleanup(self) {
        crate::namespace::delete(&self.client, &self.namespace).await;
    }

    /// A small kubernetes network with one relay group, written to the
    /// env's network dir and loaded. The image does not exist on purpose:
    /// on a real cluster the pods never run a node.
    pub fn network(&self, group_toml: &str) -> Desired {
        let toml = format!(
            r#"
[network]
name = "k8s-test"
provider = "kubernetes"
namespace = "{ns}"

[secrets]
sudo = "env:PARAFORM_SUDO_SURI"
derivation_root = "env:PARAFORM_DERIVATION_ROOT"

[relay]
chain = "rococo-local"
image = "registry.invalid/paraform-test/polkadot:none"
command = "polkadot"
consensus = "poa"

{group_toml}
"#,
            ns = self.namespace
        );
        std::fs::write(self.net_dir.join("network.toml"), toml).expect("write network.toml");
        paraform::spec::load::load_dir(&self.net_dir)
            .unwrap_or_else(|e| panic!("fixture network: {e:?}"))
    }

    pub fn provider(
        &self,
        desired: &Desired,
        f: impl FnOnce(&mut KubernetesOptions),
    ) -> KubernetesProvider {
        let mut o = KubernetesOptions {
            wait_rollout: false,
            rpc_health: false,
            poll: Duration::from_millis(200),
            ..Default::default()
        };
        f(&mut o);
        KubernetesProvider::in_namespace(desired, self.client.clone(), self.namespace.clone(), o)
            .expect("provider")
    }
}

/// The request the executor would send for a group.
pub fn request(desired: &Desired, group: &str) -> WorkloadRequest {
    let g = desired.group(&GroupName::new(group)).expect("group");
    WorkloadRequest {
        spec: WorkloadSpec::for_group(desired, g),
        nodes: g.nodes.iter().map(|n| n.name.clone()).collect(),
        accounts: Default::default(),
        dev_keys: g
            .nodes
            .iter()
            .filter_map(|n| Some((n.name.clone(), n.dev_key.clone()?)))
            .collect(),
        max_unavailable: 1,
        ready_timeout: Duration::from_secs(5),
    }
}

/// One validator group `validator` of `replicas` nodes logging `log`.
pub fn validators(replicas: u32, log: &str) -> String {
    format!(
        r#"
[[relay.group]]
name = "validator"
role = "validator"
replicas = {replicas}
node_key = "derived"
rpc = "ClusterIP"
p2p = "NodePort"
log = ["{log}"]
storage = {{ database = "paritydb", size = "1Gi" }}
"#
    )
}

pub const FULL_1: &str = r#"
[[relay.group]]
name = "full"
role = "full"
replicas = 1
p2p = "None"
storage = { database = "rocksdb", size = "1Gi" }
"#;
