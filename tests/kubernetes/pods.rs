//! Scenarios on a cluster with a kubelet: real pods, real nodes, real chain.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::Client;
use std::collections::BTreeMap;
use std::io::{BufRead as _, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
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
            .stdin(Stdio::null())
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
        let ns = crate::namespace::create(&client, "pf-pods", test).await;
        PodEnv {
            client,
            namespace: ns.name,
            kubeconfig,
            image,
            _dir: ns.dir,
            net_dir: ns.net_dir,
            _serial: serial,
        }
    }

    pub async fn cleanup(self) {
        crate::namespace::delete(&self.client, &self.namespace).await;
    }

    pub fn write_network(&self, groups: &str) {
        let toml = format!(
            r#"
[network]
name = "{NETWORK}"
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

    /// The CLI with this environment's secrets and kubeconfig.
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("paraform"));
        cmd.env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env("PARAFORM_SUDO_SURI", "//Alice")
            .env("PARAFORM_DERIVATION_ROOT", ROOT)
            .stdin(Stdio::null())
            .args(args);
        if let Some(k) = &self.kubeconfig {
            cmd.arg("--kubeconfig").arg(k);
        }
        cmd
    }

    /// Run the CLI (blocking, off the runtime's workers).
    pub async fn paraform(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        tokio::task::spawn_blocking(move || cmd.output().expect("run paraform"))
            .await
            .expect("join")
    }

    /// Start the CLI in the background (stdout and stderr captured).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start paraform")
    }

    /// Run the CLI and note when each line of its progress (stderr) arrived.
    pub async fn paraform_timed(&self, args: &[&str]) -> (Output, Vec<(Duration, String)>) {
        let mut child = self.spawn(args);
        tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            let mut stdout = child.stdout.take().expect("stdout");
            let out = std::thread::spawn(move || {
                let mut v = Vec::new();
                let _ = stdout.read_to_end(&mut v);
                v
            });
            let mut lines = Vec::new();
            let mut stderr = Vec::new();
            let err = child.stderr.take().expect("stderr");
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                stderr.extend_from_slice(line.as_bytes());
                stderr.push(b'\n');
                lines.push((t.elapsed(), line));
            }
            let status = child.wait().expect("wait for paraform");
            let output = Output {
                status,
                stdout: out.join().expect("stdout reader"),
                stderr,
            };
            (output, lines)
        })
        .await
        .expect("join")
    }

    /// A local port forwarded to `pod:9944` (paraform's own forwarder; each
    /// connection opens a new stream, so a recreated pod is reached again).
    pub fn forward_rpc(&self, pod: &str) -> u16 {
        paraform::provider::kubernetes::remote::spawn_forwarder(
            self.client.clone(),
            self.namespace.clone(),
            pod.to_string(),
            9944,
        )
        .expect("port-forward listener")
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Pods' one-line states, for failure messages.
    pub async fn pod_states(&self) -> String {
        let list = match self.pods().list(&ListParams::default()).await {
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

    /// `apply --auto-approve` must succeed; returns its wall time and the
    /// time at which the last health gate passed (pods Ready and answering).
    async fn apply_converges(&self, what: &str) -> (Duration, Duration) {
        let net = dir(&self.net_dir);
        let (o, lines) = self.paraform_timed(&["apply", net, "--auto-approve"]).await;
        let took = lines.last().map(|l| l.0).unwrap_or_default();
        assert!(
            o.status.success(),
            "apply ({what}): {}\npods:\n{}",
            text(&o),
            self.pod_states().await
        );
        let ready = lines
            .iter()
            .filter(|(_, l)| l.starts_with("gate.") && l.contains(": done in"))
            .map(|(t, _)| *t)
            .max()
            .unwrap_or_default();
        for (t, l) in &lines {
            eprintln!("  [{:6.1}s] {l}", t.as_secs_f64());
        }
        eprintln!(
            "apply ({what}) converged in {took:.1?}: pods ready and answering after {ready:.1?}, \
             chain steps {:.1?}",
            took.saturating_sub(ready)
        );
        (took, ready)
    }
}

/// Whether the pod's Ready condition is True.
fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Wait until every named pod is Running and Ready (and, for `replaced`,
/// is another pod than the one with that uid).
async fn wait_pods_ready(
    env: &PodEnv,
    names: &[&str],
    replaced: Option<(&str, &str)>,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let mut pending = Vec::new();
        for name in names {
            match env.pods().get_opt(name).await {
                Ok(Some(p)) => {
                    let running =
                        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                    let same = replaced.is_some_and(|(n, uid)| {
                        n == *name && p.metadata.uid.as_deref() == Some(uid)
                    });
                    if !running || !is_ready(&p) || same {
                        pending.push(*name);
                    }
                }
                _ => pending.push(*name),
            }
        }
        if pending.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pending:?} not Running and Ready within {timeout:?}:\n{}",
            env.pod_states().await
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
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

/// The next nonce of `account` as the node sees it (pool included), or
/// `None` when the node does not answer.
async fn next_nonce(port: u16, account: &AccountId) -> Option<u64> {
    use jsonrpsee::core::client::ClientT;
    let c = jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(5))
        .build(format!("http://127.0.0.1:{port}"))
        .ok()?;
    c.request(
        "system_accountNextIndex",
        jsonrpsee::rpc_params![account.to_string()],
    )
    .await
    .ok()
}

const NETWORK: &str = "pods";

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
/// blocks. Afterwards the plan is empty. (A subset of
/// [`registered_validators_converge`], kept as a quick check of a cluster.)
pub async fn genesis_validators_produce_and_finalize(env: &PodEnv) {
    env.write_network(GENESIS);
    let net = dir(&env.net_dir);
    env.apply_converges("2 genesis validators").await;
    wait_pods_ready(env, &["genesis-0", "genesis-1"], None, Duration::ZERO).await;
    let port = env.forward_rpc("genesis-1");
    finalizes_with_peers(port).await;
    let o = env.paraform(&["plan", net, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(0), "plan after apply: {}", text(&o));
}

/// Blocks are produced and finalized and the node has a peer. With two
/// genesis authorities GRANDPA needs both, which are connected only through
/// the bootnode address paraform rendered (pod DNS of the headless Service).
async fn finalizes_with_peers(port: u16) {
    let f = wait_finalized(port, 3, Duration::from_secs(180)).await;
    let health: serde_json::Value = crate::support::rpc(port, "system_health", vec![]).await;
    assert!(
        health["peers"].as_u64().unwrap_or(0) >= 1,
        "the node has no peer: {health}"
    );
    eprintln!("finalized #{f}");
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

const PODS: [&str; 5] = [
    "genesis-0",
    "genesis-1",
    "validator-0",
    "validator-1",
    "rpc-0",
];

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

/// What paraform wrote in the namespace, by `Kind/name`, except the lock
/// and state objects (written by every apply) and `except`:
/// resourceVersion, or for StatefulSets generation and paraform's
/// managedFields entry (the controller writes their status at any time).
async fn written(env: &PodEnv, except: &str) -> BTreeMap<String, String> {
    let mut out = crate::namespace::written(
        &env.client,
        &env.namespace,
        &format!("app.kubernetes.io/managed-by=paraform,paraform.io/network={NETWORK}"),
    )
    .await;
    out.remove(&format!(
        "ConfigMap/{}",
        paraform::state::kubernetes::state_configmap_name(NETWORK)
    ));
    out.remove(except);
    out
}

async fn lease_holder(env: &PodEnv) -> Option<String> {
    Api::<Lease>::namespaced(env.client.clone(), &env.namespace)
        .get_opt(&paraform::state::kubernetes::lease_name(NETWORK))
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec?.holder_identity)
        .filter(|h| !h.is_empty())
}

async fn state_json(env: &PodEnv) -> String {
    Api::<ConfigMap>::namespaced(env.client.clone(), &env.namespace)
        .get_opt(&paraform::state::kubernetes::state_configmap_name(NETWORK))
        .await
        .ok()
        .flatten()
        .and_then(|c| c.data?.remove("state.json"))
        .unwrap_or_default()
}

/// The `networks/rococo-k8s` shape in small, and what happens to it after:
///
/// 1. One `apply` from nothing: 2 genesis validators, 2 validators paraform
///    registers (keys rotated inside their pods, keystore on a volume), an
///    RPC node. Pods Running and Ready, blocks finalized, the keys the chain
///    holds are in the pods' keystores, the stashes become active, `plan`
///    is empty.
/// 2. A validator pod is deleted: the StatefulSet recreates it with its
///    keystore volume; `drift` and `apply` send nothing (the stashes'
///    nonces and `Session.NextKeys` do not move).
/// 3. The rpc StatefulSet is scaled to 0 by hand: `drift` exits 2 naming
///    it and the field; `apply` refuses to take the field from the other
///    manager; `apply --force-conflicts` restores it while a concurrent
///    `apply` fails naming the Lease holder; no other object is written.
/// 4. A foreign ConfigMap and Service are created; `destroy` is killed
///    (SIGKILL) once its deregistration is journaled and in a node's pool, with every
///    workload still there; the next `destroy` is refused while the dead
///    holder's Lease lives, then takes over, settles the journaled
///    submission without sending it again (sudo's nonce moves by exactly
///    one), and deletes every object paraform owns; the foreign objects
///    and the volumes stay.
pub async fn registered_validators_converge(env: &PodEnv) {
    let t = Instant::now();
    env.write_network(REGISTERED);
    let net = dir(&env.net_dir);

    // 1. From nothing to converged.
    env.apply_converges("2 genesis + 2 registered validators + rpc")
        .await;
    wait_pods_ready(env, &PODS, None, Duration::ZERO).await;
    let root = SecretString::from(ROOT.to_string());
    let stashes: Vec<AccountId> = ["validator-0", "validator-1"]
        .iter()
        .map(|n| keys::account(&keys::stash_suri(&root, n), "test").expect("stash"))
        .collect();
    let alice = keys::account(&SecretString::from("//Alice".to_string()), "sudo").expect("alice");
    let rpc = env.forward_rpc("rpc-0");
    finalizes_with_peers(rpc).await;
    let state = relay(rpc, &stashes).await;
    let mut validator_ports = Vec::new();
    for (node, stash) in ["validator-0", "validator-1"].iter().zip(&stashes) {
        let keys = state
            .next_keys
            .get(stash)
            .unwrap_or_else(|| panic!("no Session.NextKeys for {node}'s stash {stash}"))
            .clone();
        // The keys the chain holds were generated in that pod's keystore.
        let port = env.forward_rpc(node);
        assert!(
            has_keys(port, &keys).await,
            "{node}'s keystore lacks the session keys set on chain"
        );
        validator_ports.push((port, keys));
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

    // Converged: an empty plan. Its wall time is observation with 5 pods
    // (one LIST per kind, dry-runs, one pinned chain read, 5 node probes).
    let p = Instant::now();
    let o = env.paraform(&["plan", net, "--detailed-exitcode"]).await;
    eprintln!(
        "plan on the converged network (5 pods): {:.1?}",
        p.elapsed()
    );
    assert_eq!(o.status.code(), Some(0), "plan after apply: {}", text(&o));

    // 2. A deleted validator pod comes back with its keystore volume: no new keys.
    let nonces = |port| {
        let stashes = stashes.clone();
        async move {
            let mut v = Vec::new();
            for s in &stashes {
                v.push(next_nonce(port, s).await.expect("stash nonce"));
            }
            v
        }
    };
    let nonces_before = nonces(rpc).await;
    let keys_before = relay(rpc, &stashes).await.next_keys;
    let uid = env
        .pods()
        .get("validator-0")
        .await
        .expect("pod")
        .metadata
        .uid
        .unwrap_or_default();
    let d = Instant::now();
    env.pods()
        .delete("validator-0", &DeleteParams::default())
        .await
        .expect("delete validator-0");
    wait_pods_ready(
        env,
        &["validator-0"],
        Some(("validator-0", &uid)),
        Duration::from_secs(300),
    )
    .await;
    eprintln!("validator-0 recreated and Ready in {:.1?}", d.elapsed());
    let o = env.paraform(&["drift", net]).await;
    eprintln!("drift after the pod came back:\n{}", text(&o));
    assert!(
        matches!(o.status.code(), Some(0 | 2)),
        "drift: {}",
        text(&o)
    );
    let o = env.paraform(&["apply", net, "--auto-approve"]).await;
    assert!(o.status.success(), "re-apply: {}", text(&o));
    let o = env.paraform(&["plan", net, "--detailed-exitcode"]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "plan after re-apply: {}",
        text(&o)
    );
    assert_eq!(
        nonces(rpc).await,
        nonces_before,
        "a stash signed something after its pod was recreated"
    );
    assert_eq!(
        relay(rpc, &stashes).await.next_keys,
        keys_before,
        "the recreated pod's keys changed on chain"
    );
    let (port, keys) = &validator_ports[0];
    assert!(
        has_keys(*port, keys).await,
        "the recreated validator-0 lost its keystore"
    );

    // paraform's drift CronJob, in the cluster, on this converged network
    // (it writes nothing paraform manages).
    crate::drift_job::drift_cronjob_in_cluster(env).await;

    // 3. The rpc StatefulSet scaled to 0 by hand (kubectl edit): drift.
    let sts: Api<StatefulSet> = Api::namespaced(env.client.clone(), &env.namespace);
    let others = written(env, "StatefulSet/rpc").await;
    let by_hand = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    sts.patch(
        "rpc",
        &by_hand,
        &Patch::Strategic(serde_json::json!({"spec": {"replicas": 0}})),
    )
    .await
    .expect("edit the rpc StatefulSet");
    let o = env.paraform(&["drift", net]).await;
    assert_eq!(
        o.status.code(),
        Some(2),
        "drift after the edit: {}",
        text(&o)
    );
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("workload.rpc") && out.contains("replicas 0 → 1"),
        "drift names the workload and the field: {}",
        text(&o)
    );
    // Taking a field back from another manager needs consent; nothing is written.
    let o = env.paraform(&["apply", net, "--auto-approve"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("kubectl-edit"),
        "the conflict names the other manager: {}",
        text(&o)
    );
    assert_eq!(written(env, "StatefulSet/rpc").await, others);
    // With it, apply restores the field; a second apply meanwhile is refused
    // naming the holder of the Lease.
    let r = Instant::now();
    let first = env.spawn(&["apply", net, "--auto-approve", "--force-conflicts"]);
    let first_pid = first.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    while lease_holder(env).await.is_none() {
        assert!(Instant::now() < deadline, "the first apply took no lock");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let o = env.paraform(&["apply", net, "--auto-approve"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        err.contains("is locked") && err.contains(&format!("(pid {first_pid})")),
        "the concurrent apply names the holder: {}",
        text(&o)
    );
    let o = tokio::task::spawn_blocking(move || first.wait_with_output().expect("wait"))
        .await
        .expect("join");
    assert!(o.status.success(), "apply --force-conflicts: {}", text(&o));
    eprintln!("rpc StatefulSet restored in {:.1?}", r.elapsed());
    let live = sts.get("rpc").await.expect("rpc StatefulSet");
    assert_eq!(live.spec.and_then(|s| s.replicas), Some(1));
    wait_pods_ready(env, &["rpc-0"], None, Duration::from_secs(300)).await;
    assert_eq!(
        written(env, "StatefulSet/rpc").await,
        others,
        "restoring the rpc StatefulSet wrote other objects"
    );
    let o = env.paraform(&["plan", net, "--detailed-exitcode"]).await;
    assert_eq!(o.status.code(), Some(0), "plan after restore: {}", text(&o));

    // 4. destroy, killed mid-deregistration, resumed by the next destroy.
    let foreign_cm: ConfigMap =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "foreign-config"}}))
            .expect("configmap");
    Api::<ConfigMap>::namespaced(env.client.clone(), &env.namespace)
        .create(&PostParams::default(), &foreign_cm)
        .await
        .expect("create a foreign ConfigMap");
    let foreign_svc: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "foreign-svc"},
        "spec": {"ports": [{"port": 80}], "selector": {"app": "nothing"}}
    }))
    .expect("service");
    Api::<Service>::namespaced(env.client.clone(), &env.namespace)
        .create(&PostParams::default(), &foreign_svc)
        .await
        .expect("create a foreign Service");
    // genesis-0 serves the chain until destroy deletes it: watch sudo's nonce.
    let genesis = env.forward_rpc("genesis-0");
    let sudo_before = next_nonce(genesis, &alice).await.expect("sudo nonce");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watch = {
        let (alice, stashes, stop) = (alice.clone(), stashes.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut max_nonce, mut retiring) = (0u64, false);
            loop {
                if let Some(n) = next_nonce(genesis, &alice).await {
                    max_nonce = max_nonce.max(n);
                }
                let (url, opts) = (
                    format!("ws://127.0.0.1:{genesis}"),
                    ConnectOptions::default(),
                );
                let client = ChainClient::connect(&url, &opts);
                if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), client).await {
                    if let Ok(Ok(s)) = tokio::time::timeout(
                        Duration::from_secs(5),
                        read::observe_relay(&c, &stashes),
                    )
                    .await
                    {
                        // Queued to retire, or already out of the next set.
                        retiring |= stashes.iter().all(|a| {
                            s.pending_retire.contains(a)
                                || (!s.queued.is_empty() && !s.queued.contains(a))
                        });
                    }
                }
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return (max_nonce, retiring);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let mut killed = env.spawn(&["destroy", net, "--auto-approve"]);
    let killed_pid = killed.id();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let s = state_json(env).await;
        // Journaled, and sent: the node's pool has it (the next nonce moved).
        if s.contains("validators.deregister")
            && s.contains("\"submitted\"")
            && next_nonce(genesis, &alice)
                .await
                .is_some_and(|n| n > sudo_before)
        {
            break;
        }
        if let Ok(Some(status)) = killed.try_wait() {
            let o = killed.wait_with_output().expect("output");
            panic!(
                "destroy ended ({status}) before its deregistration was journaled: {}",
                text(&o)
            );
        }
        assert!(
            Instant::now() < deadline,
            "destroy journaled no deregistration within 180 s; state: {s}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    killed.kill().expect("SIGKILL the destroy");
    let _ = killed.wait();
    eprintln!("destroy killed (pid {killed_pid}) with its deregistration in flight");
    // Deregistration comes first: every workload is still there.
    for g in ["genesis", "validator", "rpc"] {
        assert!(
            sts.get_opt(g).await.expect("get").is_some(),
            "StatefulSet {g} deleted before the deregistration finished"
        );
    }
    let k = Instant::now();
    let mut refused = 0;
    let o = loop {
        let o = env.paraform(&["destroy", net, "--auto-approve"]).await;
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        if o.status.code() == Some(1) && err.contains("is locked") {
            assert!(
                err.contains(&format!("(pid {killed_pid})")),
                "refused naming the dead holder: {}",
                text(&o)
            );
            refused += 1;
            assert!(
                k.elapsed() < Duration::from_secs(150),
                "the dead holder's Lease was not taken over within 150 s"
            );
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        }
        break o;
    };
    assert!(o.status.success(), "destroy after the kill: {}", text(&o));
    assert!(refused > 0, "the Lease of a killed holder was ignored");
    eprintln!(
        "destroy took over after {:.1?} ({refused} refusal(s))\n{}",
        k.elapsed(),
        text(&o)
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (sudo_after, retiring) = watch.await.expect("watcher");
    assert_eq!(
        sudo_after,
        sudo_before + 1,
        "sudo signed {} transaction(s) across the killed and the resumed destroy; one deregistration expected",
        sudo_after.saturating_sub(sudo_before)
    );
    assert!(retiring, "the stashes were never queued to retire");

    // Every object paraform owns is gone but its state; foreign objects and
    // the volumes stay.
    let left = written(env, "").await;
    assert!(left.is_empty(), "destroy left {left:?}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let lp = ListParams::default().labels(&format!("paraform.io/network={NETWORK}"));
        let pods = env.pods().list(&lp).await.expect("list pods").items.len();
        if pods == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pods} pod(s) left 120 s after destroy:\n{}",
            env.pod_states().await
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(
        Api::<ConfigMap>::namespaced(env.client.clone(), &env.namespace)
            .get_opt("foreign-config")
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        Api::<Service>::namespaced(env.client.clone(), &env.namespace)
            .get_opt("foreign-svc")
            .await
            .expect("get")
            .is_some()
    );
    let pvcs = Api::<PersistentVolumeClaim>::namespaced(env.client.clone(), &env.namespace)
        .list(&ListParams::default())
        .await
        .expect("list PVCs")
        .items
        .len();
    assert!(pvcs >= 5, "volumes are kept by destroy: {pvcs} PVC(s) left");
    eprintln!("scenario done in {:.1?}", t.elapsed());
}

/// Whether the node behind `port` holds the private keys of `keys`.
async fn has_keys(port: u16, keys: &str) -> bool {
    crate::support::rpc(
        port,
        "author_hasSessionKeys",
        vec![serde_json::Value::String(format!(
            "0x{}",
            keys.trim_start_matches("0x")
        ))],
    )
    .await
}
