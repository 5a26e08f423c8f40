//! Scenarios on a cluster with a kubelet: real pods, real nodes, real chain.

use assert_cmd::Command;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::Client;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use paraform::chain::client::{ChainClient, ConnectOptions};
use paraform::chain::{keys, read};
use paraform::observe::model::ChainState;
use paraform::spec::ids::AccountId;
use secrecy::SecretString;

pub struct PodEnv {
    pub client: Client,
    pub namespace: String,
    /// The harness's kubeconfig (`None`: KUBECONFIG names the cluster).
    pub kubeconfig: Option<PathBuf>,
    /// The polkadot image the cluster can run without pulling.
    pub image: String,
    _dir: tempfile::TempDir,
    pub net_dir: PathBuf,
    /// Scenarios run one at a time: each runs several nodes on a small machine.
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Start the cluster once per test binary: (kubeconfig, polkadot image).
fn local_cluster() -> Result<(PathBuf, String), String> {
    static ONCE: OnceLock<Result<(PathBuf, String), String>> = OnceLock::new();
    ONCE.get_or_init(|| {
        let script = repo().join("scripts/kube-cluster.sh");
        let run = std::env::temp_dir().join(format!("paraform-kc-test-{}", std::process::id()));
        let t = Instant::now();
        let out = std::process::Command::new(&script)
            .arg("start")
            .arg(&run)
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/kube-cluster.sh start failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        eprintln!("cluster started in {:.1?}", t.elapsed());
        let images = std::process::Command::new(&script)
            .arg("images")
            .output()
            .map_err(|e| format!("{e}"))?;
        let images = String::from_utf8_lossy(&images.stdout).to_string();
        let image = images
            .split_whitespace()
            .nth(1)
            .ok_or("scripts/kube-cluster.sh images printed no polkadot image")?
            .to_string();
        Ok((run.join("kubeconfig"), image))
    })
    .clone()
}

impl PodEnv {
    pub async fn local(test: &str) -> PodEnv {
        let (path, image) = tokio::task::spawn_blocking(local_cluster)
            .await
            .expect("harness thread")
            .unwrap_or_else(|e| panic!("{e}"));
        let kc = kube::config::Kubeconfig::read_from(&path).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .expect("kubeconfig is usable");
        Self::with(config, Some(path), image, test).await
    }

    pub async fn cluster(test: &str) -> PodEnv {
        assert!(
            std::env::var_os("KUBECONFIG").is_some(),
            "the `cluster` variants run against the cluster KUBECONFIG names; set it"
        );
        let image = std::env::var("PARAFORM_TEST_POLKADOT_IMAGE")
            .unwrap_or_else(|_| "docker.io/parity/polkadot:stable2509".into());
        let config = kube::Config::infer().await.expect("KUBECONFIG is usable");
        Self::with(config, None, image, test).await
    }

    async fn with(
        config: kube::Config,
        kubeconfig: Option<PathBuf>,
        image: String,
        test: &str,
    ) -> PodEnv {
        let serial = SERIAL.lock().await;
        let client = Client::try_from(config).expect("client");
        let suffix = format!(
            "{:06x}",
            (std::process::id() ^ Instant::now().elapsed().subsec_nanos()) & 0xff_ffff
        );
        let namespace = format!("pf-pods-{}-{suffix}", test.replace('_', "-"))
            .chars()
            .take(63)
            .collect::<String>()
            .trim_end_matches('-')
            .to_string();
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": namespace, "labels": {"paraform.io/test": "true"}}
        }))
        .expect("namespace");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create the test namespace");
        let dir = tempfile::tempdir().expect("tempdir");
        let net_dir = dir.path().join("net");
        std::fs::create_dir_all(&net_dir).expect("net dir");
        PodEnv {
            client,
            namespace,
            kubeconfig,
            image,
            _dir: dir,
            net_dir,
            _serial: serial,
        }
    }

    pub async fn cleanup(self) {
        let _ = Api::<Namespace>::all(self.client.clone())
            .delete(&self.namespace, &DeleteParams::background())
            .await;
    }

    pub fn write_network(&self, groups: &str) {
        let toml = format!(
            r#"
[network]
name = "pods"
provider = "kubernetes"
namespace = "{ns}"

[secrets]
sudo = "env:PARAFORM_SUDO_SURI"
derivation_root = "env:PARAFORM_DERIVATION_ROOT"

[relay]
chain = "rococo-local"
image = "{image}"
command = "polkadot"
consensus = "poa"
{groups}
"#,
            ns = self.namespace,
            image = self.image,
        );
        std::fs::write(self.net_dir.join("network.toml"), toml).expect("write network.toml");
    }

    /// Run the CLI (blocking, off the runtime's workers).
    pub async fn paraform(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("paraform").expect("binary");
        cmd.env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env("PARAFORM_SUDO_SURI", "//Alice")
            .env("PARAFORM_DERIVATION_ROOT", ROOT)
            .args(args);
        if let Some(k) = &self.kubeconfig {
            cmd.arg("--kubeconfig").arg(k);
        }
        tokio::task::spawn_blocking(move || cmd.output().expect("run paraform"))
            .await
            .expect("join")
    }

    /// A local port forwarded to `pod:9944` (paraform's own forwarder).
    pub fn forward_rpc(&self, pod: &str) -> u16 {
        paraform::provider::kubernetes::remote::spawn_forwarder(
            self.client.clone(),
            self.namespace.clone(),
            pod.to_string(),
            9944,
        )
        .expect("port-forward listener")
    }

    /// Pods' one-line states, for failure messages.
    pub async fn pod_states(&self) -> String {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let list = match pods.list(&ListParams::default()).await {
            Ok(l) => l,
            Err(e) => return format!("cannot list pods: {e}"),
        };
        list.items
            .iter()
            .map(|p| {
                let s = p.status.as_ref();
                format!(
                    "{} phase={:?} ready={:?} containers={:?}",
                    p.metadata.name.as_deref().unwrap_or("?"),
                    s.and_then(|s| s.phase.clone()),
                    s.and_then(|s| s.conditions.as_ref()).map(|c| c
                        .iter()
                        .map(|c| format!("{}={}", c.type_, c.status))
                        .collect::<Vec<_>>()),
                    s.and_then(|s| s.container_statuses.as_ref()).map(|c| c
                        .iter()
                        .map(|c| format!("{:?}", c.state))
                        .collect::<Vec<_>>()),
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn dir(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Wait until the node behind `port` has finalized block `n`.
async fn wait_finalized(port: u16, n: u64, timeout: Duration) -> u64 {
    let t = Instant::now();
    let mut last = None;
    while t.elapsed() < timeout {
        last = crate::support::finalized_number(port).await;
        if last.is_some_and(|f| f >= n) {
            return last.unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    panic!("block #{n} not finalized within {timeout:?} (last seen: {last:?})");
}

const GENESIS: &str = r#"
[[relay.group]]
name = "genesis"
role = "validator"
replicas = 2
genesis_authorities = true
node_key = "derived"
storage = { database = "rocksdb", size = "1Gi" }
"#;

/// Two genesis validators (Alice, Bob) as a StatefulSet: one `apply` makes
/// the pods Running and Ready (readiness through paraform's RPC check over
/// port-forwards), the nodes find each other through the cluster DNS name of
/// the headless Service (bootnodes), and the chain produces and finalizes
/// blocks. Afterwards the plan is empty.
pub async fn genesis_validators_produce_and_finalize(env: &PodEnv) {
    env.write_network(GENESIS);
    let net = dir(&env.net_dir);
    let t = Instant::now();
    let o = env.paraform(&["apply", net, "--auto-approve"]).await;
    let applied = t.elapsed();
    assert!(
        o.status.success(),
        "apply: {}\npods:\n{}",
        text(&o),
        env.pod_states().await
    );
    eprintln!("apply (2 genesis validators) converged in {applied:.1?}");

    // Both pods run and are Ready, as the kubelet reports them.
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.namespace);
    for name in ["genesis-0", "genesis-1"] {
        let p = pods.get(name).await.expect("pod");
        let s = p.status.expect("status");
        assert_eq!(s.phase.as_deref(), Some("Running"), "{name}");
        assert!(
            s.conditions
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True"),
            "{name} is not Ready"
        );
    }

    // Blocks are produced and finalized: both authorities are connected
    // (GRANDPA needs both of two), which they are only through the bootnode
    // address paraform rendered (pod DNS of the headless Service).
    let port = env.forward_rpc("genesis-1");
    let f = wait_finalized(port, 3, Duration::from_secs(180)).await;
    let peers: serde_json::Value = crate::support::rpc(port, "system_health", vec![]).await;
    assert!(
        peers["peers"].as_u64().unwrap_or(0) >= 1,
        "genesis-1 has no peer: {peers}"
    );
    eprintln!("finalized #{f} after {:.1?}", t.elapsed());

    let o = env.paraform(&["plan", net, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(0), "plan after apply: {}", text(&o));
}

pub const ROOT: &str = "//paraform-pods-test";

const REGISTERED: &str = r#"
[funding]
amount = 1_000_000_000_000_000

[[relay.group]]
name = "genesis"
role = "validator"
replicas = 2
genesis_authorities = true
node_key = "derived"
storage = { database = "rocksdb", size = "1Gi" }

[[relay.group]]
name = "validator"
role = "validator"
replicas = 2
keystore = "volume"
node_key = "derived"
storage = { database = "rocksdb", size = "1Gi" }

[[relay.group]]
name = "rpc"
role = "rpc"
replicas = 1
storage = { database = "rocksdb", size = "1Gi" }
"#;

async fn relay(port: u16, accounts: &[AccountId]) -> ChainState {
    let client = ChainClient::connect(
        &format!("ws://127.0.0.1:{port}"),
        &ConnectOptions::default(),
    )
    .await
    .expect("connect through the port-forward");
    read::observe_relay(&client, accounts)
        .await
        .expect("observe the relay chain")
}

/// The `networks/rococo-k8s` shape in small: 2 genesis validators, 2
/// validators paraform registers (keys rotated inside their pods, keystore
/// on a volume), an RPC node. One `apply` converges it; the registered
/// stashes become active; the keys the chain knows are in the pods'
/// keystores; the plan is then empty. Deleting a validator pod: the
/// StatefulSet recreates it with the same keystore, and the plan stays
/// empty (no second `set_keys`).
pub async fn registered_validators_converge(env: &PodEnv) {
    env.write_network(REGISTERED);
    let net = dir(&env.net_dir);
    let t = Instant::now();
    let o = env.paraform(&["apply", net, "--auto-approve"]).await;
    let applied = t.elapsed();
    assert!(
        o.status.success(),
        "apply: {}\npods:\n{}",
        text(&o),
        env.pod_states().await
    );
    eprintln!("apply (2 genesis + 2 registered validators + rpc) converged in {applied:.1?}");
    eprintln!("{}", String::from_utf8_lossy(&o.stdout));

    let root = SecretString::from(ROOT.to_string());
    let stashes: Vec<AccountId> = ["validator-0", "validator-1"]
        .iter()
        .map(|n| keys::account(&keys::stash_suri(&root, n), "test").expect("stash"))
        .collect();
    let rpc = env.forward_rpc("rpc-0");
    let state = relay(rpc, &stashes).await;
    for (node, stash) in ["validator-0", "validator-1"].iter().zip(&stashes) {
        let keys = state
            .next_keys
            .get(stash)
            .unwrap_or_else(|| panic!("no Session.NextKeys for {node}'s stash {stash}"));
        // The keys the chain holds were generated in that pod's keystore.
        let port = env.forward_rpc(node);
        let has: bool = crate::support::rpc(
            port,
            "author_hasSessionKeys",
            vec![serde_json::Value::String(format!(
                "0x{}",
                keys.trim_start_matches("0x")
            ))],
        )
        .await;
        assert!(has, "{node}'s keystore lacks the session keys set on chain");
    }

    // Registered validators become active at a session boundary (fast-runtime: 1 min).
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let s = relay(rpc, &stashes).await;
        if stashes.iter().all(|a| s.validators.contains(a)) {
            eprintln!(
                "validators active at #{} (session {}) after {:.1?}",
                s.block_number,
                s.session_index,
                t.elapsed()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "registered stashes not active after 300 s: validators {:?}, pending {:?}",
            s.validators,
            s.pending_add
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }

    let o = env.paraform(&["plan", net, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(0), "plan after apply: {}", text(&o));

    // A deleted validator pod comes back with its keystore volume: nothing to do.
    let before = relay(rpc, &stashes).await.next_keys;
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), &env.namespace);
    let uid = pods
        .get("validator-0")
        .await
        .expect("pod")
        .metadata
        .uid
        .unwrap_or_default();
    pods.delete("validator-0", &DeleteParams::default())
        .await
        .expect("delete validator-0");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Ok(p) = pods.get("validator-0").await {
            let ready = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            if p.metadata.uid.as_deref() != Some(uid.as_str()) && ready {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "validator-0 not recreated and Ready within 180 s:\n{}",
            env.pod_states().await
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let o = env.paraform(&["plan", net, "--detailed-exitcode"]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "plan after the pod came back: {}",
        text(&o)
    );
    let o = env.paraform(&["apply", net, "--auto-approve"]).await;
    assert!(o.status.success(), "re-apply: {}", text(&o));
    assert_eq!(
        relay(rpc, &stashes).await.next_keys,
        before,
        "the recreated pod's keys changed on chain"
    );
}
