//! Real-node test harness, shared by the chain and end-to-end suites.
//!
//! - [`polkadot_bin`] finds a `polkadot` binary: `POLKADOT_BIN`, else `PATH`,
//!   else the archive in `../shared/bin/` (extracted once, under a file lock,
//!   into `~/.cache/paraform/bin`). With none, it panics saying how to
//!   provide one: a real-node test never skips silently.
//! - [`omni_node_bin`] finds `polkadot-omni-node` the same way
//!   (`OMNI_NODE_BIN`, `PATH`, then `../shared/bin/omni-node-*.tar.xz`,
//!   sha256-checked and extracted once into `~/.cache/paraform/omni-node`);
//!   [`penpal_file`] gives the penpal raw specs and runtime of that archive.
//! - [`raw_chain_spec`] builds the raw spec of a built-in chain once per
//!   binary (cached); nodes started from it skip the genesis build (~50 s
//!   saved per node on two cores).
//! - [`TestNetwork`] starts `--alice` and `--bob` (and more nodes) on free
//!   loopback ports with temporary base paths and fixed node keys, waits for
//!   RPC and for finalized blocks, and kills every process on drop.
#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HOW_TO_PROVIDE: &str = "no polkadot binary found. Provide one with POLKADOT_BIN=/path/to/polkadot \
     (the polkadot-prepare-worker and polkadot-execute-worker binaries must sit next to it), or put \
     `polkadot` on PATH, or place polkadot-*-x86_64-linux.tar.xz in ../shared/bin/ beside the \
     checkout (see ../shared/bin/README.md). Real-node tests never skip.";

/// The cache directory (`$XDG_CACHE_HOME/paraform` or `~/.cache/paraform`).
pub fn cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("paraform");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("paraform")
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Hold an exclusive lock on `path` while `f` runs (parallel test binaries
/// must not extract or build the same thing at the same time).
fn with_file_lock<T>(path: &Path, f: impl FnOnce() -> T) -> T {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("create cache dir");
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .expect("open lock file");
    let mut lock = fd_lock::RwLock::new(file);
    let _guard = lock.write().expect("lock");
    f()
}

/// One prebuilt archive of `../shared/bin`: where its binary may already be
/// (an environment variable, `PATH`) and which files its extraction must
/// yield. Both lookups below are this one function with other values.
struct Archive {
    env: &'static str,
    binary: &'static str,
    /// File-name prefix in `../shared/bin` (`polkadot-` never matches the
    /// omni-node archive).
    prefix: &'static str,
    /// Cache sub-directory under `~/.cache/paraform`.
    cache: &'static str,
    /// Files to move out of the archive; the last one marks completion.
    files: &'static [&'static str],
    how_to: &'static str,
}

impl Archive {
    /// The binary from the environment variable, else `PATH`, else `None`.
    fn preinstalled(&self) -> Option<PathBuf> {
        if let Some(p) = std::env::var_os(self.env).filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            assert!(
                is_executable(&p),
                "{}={} is not an executable file. {}",
                self.env,
                p.display(),
                self.how_to
            );
            return Some(p);
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(self.binary))
            .find(|p| is_executable(p))
    }

    /// The cache directory holding every file of the archive, extracted once
    /// under a file lock after checking the archive's sha256.
    fn extracted(&self) -> PathBuf {
        let dir = cache_dir().join(self.cache);
        let complete = |d: &Path| {
            self.files.iter().all(|f| {
                let p = d.join(f);
                if f.ends_with(".json") || f.ends_with(".wasm") {
                    p.is_file()
                } else {
                    is_executable(&p)
                }
            })
        };
        if complete(&dir) {
            return dir;
        }
        let archive = find_archive_named(self.prefix).unwrap_or_else(|| panic!("{}", self.how_to));
        with_file_lock(&cache_dir().join(format!("{}.lock", self.cache)), || {
            if complete(&dir) {
                return; // another test extracted it while we waited
            }
            verify_sha256(&archive, self.how_to);
            // Extract into a sibling temp dir, then move the files in: a
            // half-extracted cache is never observed.
            let tmp = cache_dir().join(format!("{}.extract.{}", self.cache, std::process::id()));
            let _ = fs::remove_dir_all(&tmp);
            fs::create_dir_all(&tmp).expect("create extract dir");
            let status = Command::new("tar")
                .arg("-xJf")
                .arg(&archive)
                .arg("-C")
                .arg(&tmp)
                .status()
                .unwrap_or_else(|e| panic!("running tar to extract {}: {e}", archive.display()));
            assert!(status.success(), "tar -xJf {} failed", archive.display());
            fs::create_dir_all(&dir).expect("create cache dir");
            for name in self.files {
                let found = find_file(&tmp, name).unwrap_or_else(|| {
                    panic!(
                        "{} does not contain {name}. {}",
                        archive.display(),
                        self.how_to
                    )
                });
                fs::rename(&found, dir.join(name)).expect("move extracted file");
            }
            let _ = fs::remove_dir_all(&tmp);
        });
        assert!(
            complete(&dir),
            "extraction did not produce the files. {}",
            self.how_to
        );
        dir
    }
}

const POLKADOT: Archive = Archive {
    env: "POLKADOT_BIN",
    binary: "polkadot",
    prefix: "polkadot-",
    cache: "bin",
    files: &[
        "polkadot-prepare-worker",
        "polkadot-execute-worker",
        "polkadot",
    ],
    how_to: HOW_TO_PROVIDE,
};

/// The `polkadot` binary to test with. See the module docs for the order.
pub fn polkadot_bin() -> PathBuf {
    POLKADOT
        .preinstalled()
        .unwrap_or_else(|| POLKADOT.extracted().join("polkadot"))
}

const HOW_TO_PROVIDE_OMNI: &str = "no polkadot-omni-node found. Provide one with \
     OMNI_NODE_BIN=/path/to/polkadot-omni-node, or put `polkadot-omni-node` on PATH, or place \
     omni-node-*-x86_64-linux.tar.xz (with SHA256SUMS) in ../shared/bin/ beside the checkout (see \
     ../shared/bin/README.md). The penpal runtime and raw para specs come from that archive. \
     Real-node tests never skip.";

/// Penpal files of the omni-node archive (raw specs of paras 2000 and 2001
/// on rococo-local, the runtime wasm).
pub const PENPAL_FILES: [&str; 3] = [
    "penpal-2000-rococo-local.json",
    "penpal-2001-rococo-local.json",
    "penpal_runtime.compact.compressed.wasm",
];

const OMNI_NODE: Archive = Archive {
    env: "OMNI_NODE_BIN",
    binary: "polkadot-omni-node",
    prefix: "omni-node-",
    cache: "omni-node",
    // The binary last: its presence marks a complete extraction.
    files: &[
        PENPAL_FILES[0],
        PENPAL_FILES[1],
        PENPAL_FILES[2],
        "polkadot-omni-node",
    ],
    how_to: HOW_TO_PROVIDE_OMNI,
};

/// The directory holding the omni-node archive's contents (binary, penpal
/// specs, runtime), extracted once into `~/.cache/paraform/omni-node`.
pub fn omni_node_assets() -> PathBuf {
    OMNI_NODE.extracted()
}

/// The `polkadot-omni-node` binary to test with: `OMNI_NODE_BIN`, else
/// `polkadot-omni-node` on `PATH`, else the archive (see [`omni_node_assets`]).
pub fn omni_node_bin() -> PathBuf {
    OMNI_NODE
        .preinstalled()
        .unwrap_or_else(|| omni_node_assets().join("polkadot-omni-node"))
}

/// A penpal file of the archive (e.g. `penpal-2000-rococo-local.json`).
pub fn penpal_file(name: &str) -> PathBuf {
    omni_node_assets().join(name)
}

/// Check `archive` against the `SHA256SUMS` beside it (panics on a mismatch
/// or a missing entry: a corrupt archive must not be extracted).
fn verify_sha256(archive: &Path, how_to: &str) {
    use sha2::{Digest, Sha256};
    let name = archive
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let sums = archive.with_file_name("SHA256SUMS");
    let sums =
        fs::read_to_string(&sums).unwrap_or_else(|e| panic!("{}: {e}. {how_to}", sums.display()));
    let want = sums
        .lines()
        .find_map(|l| {
            let (sum, file) = l.split_once(char::is_whitespace)?;
            (file.trim().trim_start_matches('*') == name).then(|| sum.to_lowercase())
        })
        .unwrap_or_else(|| panic!("SHA256SUMS has no entry for {name}"));
    let mut f = File::open(archive).expect("open archive");
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).expect("read archive");
    let got = hex::encode(h.finalize());
    assert_eq!(
        got,
        want,
        "sha256 of {} does not match SHA256SUMS",
        archive.display()
    );
}

/// The newest `<prefix>*.tar.xz` of `../shared/bin` (`polkadot-` never
/// matches the omni-node archive).
fn find_archive_named(prefix: &str) -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest.join("..").join("shared").join("bin");
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                // `polkadot-omni-node-*` must never pass for the relay binary.
                n.starts_with(prefix)
                    && n.ends_with(".tar.xz")
                    && (prefix.contains("omni") || !n.contains("omni"))
            })
        })
        .collect();
    found.sort();
    found.pop()
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().and_then(|n| n.to_str()) == Some(name) {
            return Some(p);
        }
    }
    None
}

/// The raw chain spec of built-in `chain` (e.g. `rococo-local`) for `bin`,
/// built once and cached by binary identity (size + mtime).
pub fn raw_chain_spec(bin: &Path, chain: &str) -> PathBuf {
    let meta = fs::metadata(bin).expect("stat polkadot");
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = cache_dir().join("specs");
    let out = dir.join(format!("{chain}-raw-{}-{mtime}.json", meta.len()));
    if out.exists() {
        return out;
    }
    with_file_lock(&dir.join(format!("{chain}.lock")), || {
        if out.exists() {
            return;
        }
        let tmp = out.with_extension(format!("tmp{}", std::process::id()));
        let file = File::create(&tmp).expect("create spec file");
        let status = Command::new(bin)
            .args([
                "build-spec",
                "--chain",
                chain,
                "--raw",
                "--disable-default-bootnode",
            ])
            .stdout(file)
            .stderr(Stdio::null())
            .status()
            .expect("run polkadot build-spec");
        assert!(
            status.success(),
            "polkadot build-spec --chain {chain} --raw failed"
        );
        fs::rename(&tmp, &out).expect("store spec");
    });
    out
}

/// A free loopback TCP port (bound then released; the OS does not hand it
/// out again immediately).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    l.local_addr().expect("local addr").port()
}

/// Node key `n` as 64 hex chars (`00…0n`).
pub fn node_key(n: u8) -> String {
    format!("{:064x}", n)
}

/// Peer id of [`node_key`]`(n)` for the keys the harness uses (measured with
/// `polkadot key inspect-node-key`).
pub fn peer_id(n: u8) -> &'static str {
    match n {
        1 => "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp",
        2 => "12D3KooWHdiAxVd8uMQR1hGWXccidmfCwLqcMpGwR6QcTP6QRMuD",
        _ => panic!("peer id of node key {n} is not recorded"),
    }
}

/// What a node is started as.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    /// `--alice`, `--bob` …: a dev authority (also sets `--validator`).
    pub dev_key: Option<String>,
    /// `--validator` without a dev key (keys come from RPC rotation).
    pub validator: bool,
    /// Node key index (fixed keys give predictable peer ids).
    pub node_key: u8,
}

/// A running `polkadot` process; killed on drop.
pub struct TestNode {
    pub name: String,
    pub rpc_port: u16,
    pub p2p_port: u16,
    pub base: tempfile::TempDir,
    pub log: PathBuf,
    child: Option<Child>,
}

impl TestNode {
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.rpc_port)
    }

    /// The OS process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Kill the process now (to test dropped connections).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The last lines of the node's log (for assertion messages).
    pub fn log_tail(&self, lines: usize) -> String {
        let s = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = s.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn rpc_up(&self) -> bool {
        TcpStream::connect_timeout(
            &([127, 0, 0, 1], self.rpc_port).into(),
            Duration::from_millis(200),
        )
        .is_ok()
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Start one node of `chain_spec`, with `bootnode` (multiaddr) if given.
pub fn start_node(
    bin: &Path,
    chain_spec: &Path,
    spec: &NodeSpec,
    bootnode: Option<&str>,
) -> TestNode {
    let base = tempfile::Builder::new()
        .prefix(&format!("paraform-{}-", spec.name))
        .tempdir()
        .expect("tempdir");
    let rpc_port = free_port();
    let p2p_port = free_port();
    let log = base.path().join("node.log");
    let log_file = File::create(&log).expect("create log");
    let mut cmd = Command::new(bin);
    cmd.arg("--chain")
        .arg(chain_spec)
        .arg("--base-path")
        .arg(base.path())
        .args(["--node-key", &node_key(spec.node_key)])
        .args(["--rpc-port", &rpc_port.to_string()])
        .args(["--listen-addr", &format!("/ip4/127.0.0.1/tcp/{p2p_port}")])
        .args([
            "--no-mdns",
            "--no-telemetry",
            "--no-prometheus",
            "--no-hardware-benchmarks",
        ])
        .args(["--rpc-methods", "unsafe", "--rpc-cors", "all"])
        .args(["--name", &spec.name])
        // Small keystore/db footprint and quiet logs keep two cores free for block production.
        .args([
            "--state-pruning",
            "archive-canonical",
            "--blocks-pruning",
            "archive-canonical",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file);
    if let Some(k) = &spec.dev_key {
        cmd.arg(format!("--{k}"));
    } else if spec.validator {
        cmd.arg("--validator");
    }
    if let Some(b) = bootnode {
        cmd.args(["--bootnodes", b]);
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
    TestNode {
        name: spec.name.clone(),
        rpc_port,
        p2p_port,
        base,
        log,
        child: Some(child),
    }
}

/// A small rococo-local network: Alice and Bob (validators), optionally more nodes.
pub struct TestNetwork {
    pub bin: PathBuf,
    pub spec: PathBuf,
    pub nodes: Vec<TestNode>,
}

impl TestNetwork {
    /// Start rococo-local Alice + Bob; return once RPC answers on both and
    /// a block is finalized (so the chain is live).
    pub async fn rococo_local() -> TestNetwork {
        let bin = polkadot_bin();
        let spec = raw_chain_spec(&bin, "rococo-local");
        let alice = start_node(
            &bin,
            &spec,
            &NodeSpec {
                name: "alice".into(),
                dev_key: Some("alice".into()),
                validator: true,
                node_key: 1,
            },
            None,
        );
        let boot = format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", alice.p2p_port, peer_id(1));
        let bob = start_node(
            &bin,
            &spec,
            &NodeSpec {
                name: "bob".into(),
                dev_key: Some("bob".into()),
                validator: true,
                node_key: 2,
            },
            Some(&boot),
        );
        let net = TestNetwork {
            bin,
            spec,
            nodes: vec![alice, bob],
        };
        for n in &net.nodes {
            net.wait_rpc(n, Duration::from_secs(180)).await;
        }
        net.wait_finalized(1, Duration::from_secs(120)).await;
        net
    }

    /// The bootnode address of Alice.
    pub fn bootnode(&self) -> String {
        format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            self.nodes[0].p2p_port,
            peer_id(1)
        )
    }

    /// Alice's RPC endpoint.
    pub fn ws_url(&self) -> String {
        self.nodes[0].ws_url()
    }

    /// Start another node (e.g. a `--validator` without dev keys) that
    /// joins through Alice; waits for its RPC.
    pub async fn add_node(&mut self, name: &str, validator: bool, node_key: u8) -> usize {
        let boot = self.bootnode();
        let n = start_node(
            &self.bin,
            &self.spec,
            &NodeSpec {
                name: name.into(),
                dev_key: None,
                validator,
                node_key,
            },
            Some(&boot),
        );
        self.wait_rpc(&n, Duration::from_secs(180)).await;
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    async fn wait_rpc(&self, n: &TestNode, timeout: Duration) {
        let start = Instant::now();
        while !n.rpc_up() {
            assert!(
                start.elapsed() < timeout,
                "node {} RPC not up after {timeout:?}; log:\n{}",
                n.name,
                n.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Wait until Alice reports a finalized block ≥ `number`.
    pub async fn wait_finalized(&self, number: u64, timeout: Duration) {
        let start = Instant::now();
        loop {
            if let Some(f) = finalized_number(self.nodes[0].rpc_port).await {
                if f >= number {
                    return;
                }
            }
            assert!(
                start.elapsed() < timeout,
                "no finalized block #{number} after {timeout:?}; alice log:\n{}",
                self.nodes[0].log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Finalized block number via plain JSON-RPC over HTTP (independent of the
/// code under test).
pub async fn finalized_number(port: u16) -> Option<u64> {
    use jsonrpsee::core::client::ClientT;
    use jsonrpsee::http_client::HttpClientBuilder;
    let c = HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(5))
        .build(format!("http://127.0.0.1:{port}"))
        .ok()?;
    let hash: String = c
        .request("chain_getFinalizedHead", jsonrpsee::rpc_params![])
        .await
        .ok()?;
    let header: serde_json::Value = c
        .request("chain_getHeader", jsonrpsee::rpc_params![hash])
        .await
        .ok()?;
    let n = header.get("number")?.as_str()?;
    u64::from_str_radix(n.trim_start_matches("0x"), 16).ok()
}

/// A raw JSON-RPC call over HTTP to a node (independent of the code under
/// test, for cross-checking).
pub async fn rpc<T: serde::de::DeserializeOwned>(
    port: u16,
    method: &str,
    params: Vec<serde_json::Value>,
) -> T {
    use jsonrpsee::core::client::ClientT;
    use jsonrpsee::core::params::ArrayParams;
    use jsonrpsee::http_client::HttpClientBuilder;
    let c = HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .build(format!("http://127.0.0.1:{port}"))
        .expect("http client");
    let mut p = ArrayParams::new();
    for x in params {
        p.insert(x).expect("param");
    }
    c.request(method, p)
        .await
        .unwrap_or_else(|e| panic!("{method} on port {port}: {e}"))
}

/// Send a signal (`STOP`, `CONT`, `TERM` …) to a process started by the harness.
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// Write `s` to a file (for debugging artifacts next to a node's log).
pub fn write_file(path: &Path, s: &str) {
    let mut f = File::create(path).expect("create file");
    f.write_all(s.as_bytes()).expect("write file");
}

/// A base whose block of 50 loopback ports is free now (between 20000 and
/// 32000, below the ephemeral range), for `PARAFORM_LOCAL_PORT_BASE`.
pub fn free_port_base() -> u16 {
    let start = 20000 + (std::process::id() % 200) as u16 * 50;
    for i in 0..200u16 {
        let base = 20000 + (start - 20000 + i * 50) % 12000;
        if (base..base + 50).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no free block of 50 loopback ports between 20000 and 32000");
}

/// A copy of one of the repo's `networks/<name>` in a temp dir (as `net/`),
/// with a free port base, and `paraform` run in it as a user would.
pub struct NetDir {
    pub dir: tempfile::TempDir,
    pub port_base: u16,
}

impl NetDir {
    /// Copies the files of `networks/<name>` that `keep` accepts.
    pub fn copy(name: &str, keep: impl Fn(&Path) -> bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("networks")
            .join(name);
        let dst = dir.path().join("net");
        fs::create_dir_all(&dst).expect("mkdir");
        for e in fs::read_dir(&src).unwrap_or_else(|e| panic!("networks/{name}: {e}")) {
            let e = e.expect("entry");
            if e.path().is_file() && keep(&e.path()) {
                fs::copy(e.path(), dst.join(e.file_name())).expect("copy");
            }
        }
        NetDir {
            dir,
            port_base: free_port_base(),
        }
    }

    /// The network's directory (`paraform <cmd> net` from [`NetDir::path`]).
    pub fn net(&self) -> PathBuf {
        self.dir.path().join("net")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `paraform <args>` in the temp dir: state under `.paraform/`, the
    /// port base, `polkadot` as found by [`polkadot_bin`], the secrets in
    /// the environment (`//Alice` as sudo, `root` as derivation root), no
    /// colours, no stdin, no crash hook inherited.
    pub fn paraform(&self, root: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_paraform"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("PARAFORM_DIR", self.dir.path().join(".paraform"))
            .env("PARAFORM_LOCAL_PORT_BASE", self.port_base.to_string())
            .env("POLKADOT_BIN", polkadot_bin())
            .env("PARAFORM_SUDO_SURI", "//Alice")
            .env("PARAFORM_DERIVATION_ROOT", root)
            .env("NO_COLOR", "1")
            .env_remove("PARAFORM_TEST_CRASH_AFTER")
            .stdin(Stdio::null());
        c
    }
}
