//! The local provider: every node a detached process on this machine, with
//! its files under `.paraform/<net>/` (see [`layout`]), deterministic
//! loopback ports ([`ports`]) and a stable node key ([`nodekey`]). The
//! network outlives the CLI; `paraform destroy` stops it.
//!
//! A group's applied spec is recorded in `workloads/<group>.json` *before*
//! its processes are (re)started, and each process records the spec hash it
//! was started with: a crash half-way through a rolling update is observed
//! as a spec difference and finished by the next apply.

pub mod args;
pub mod layout;
pub mod nodekey;
pub mod ports;
pub mod process;

use super::{health, Provider, ProviderError, WorkloadRequest};
use crate::observe::model::{ObservedNodeProcess, ObservedWorkload};
use crate::spec::ids::{AccountId, ChainSide, GroupName, NetworkName, NodeName, ParaId};
use crate::spec::model::{ChainRef, Desired, KeystoreKind, NodeKeyPolicy, Role};
use crate::spec::workload::WorkloadSpec;
use args::{chain_arg, loopback_addr, Launch};
use layout::{write_atomic, Layout};
use nodekey::NodeKey;
use ports::PortMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use layout::{network_dir, paraform_dir};

const RECORD_FORMAT: u32 = 1;

/// `workloads/<group>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadRecord {
    pub format: u32,
    pub spec: WorkloadSpec,
    pub spec_hash: String,
    /// Bumped whenever the applied spec changes.
    pub generation: u64,
    pub nodes: Vec<NodeRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub name: NodeName,
    #[serde(default)]
    pub account: Option<AccountId>,
    #[serde(default)]
    pub dev_key: Option<String>,
}

/// Which nodes are bootnodes of which chain: derived from the desired state
/// once, so every node's command line names the same, stable peers.
#[derive(Clone, Debug, Default)]
struct Topology {
    /// Every desired node, in desired order (fresh port slots follow it).
    nodes: Vec<NodeName>,
    relay_bootnodes: Vec<NodeName>,
    para_bootnodes: BTreeMap<ParaId, Vec<NodeName>>,
    /// Nodes of para groups (collators): readiness looks at their relay side.
    para_nodes: std::collections::BTreeSet<NodeName>,
}

impl Topology {
    fn of(desired: &Desired) -> Self {
        let relay_groups: Vec<_> = desired
            .groups
            .iter()
            .filter(|g| g.chain == ChainSide::Relay)
            .collect();
        // Genesis authorities run first and produce blocks: the natural
        // bootnodes. Without any, the first node of the first relay group.
        let mut relay_bootnodes: Vec<NodeName> = relay_groups
            .iter()
            .filter(|g| g.genesis_authorities)
            .flat_map(|g| g.nodes.iter().map(|n| n.name.clone()))
            .collect();
        if relay_bootnodes.is_empty() {
            relay_bootnodes.extend(
                relay_groups
                    .iter()
                    .find_map(|g| g.nodes.first())
                    .map(|n| n.name.clone()),
            );
        }
        let mut para_bootnodes: BTreeMap<ParaId, Vec<NodeName>> = BTreeMap::new();
        for g in &desired.groups {
            if let ChainSide::Para(id) = g.chain {
                let e = para_bootnodes.entry(id).or_default();
                if e.is_empty() {
                    e.extend(g.nodes.first().map(|n| n.name.clone()));
                }
            }
        }
        Topology {
            para_nodes: desired
                .groups
                .iter()
                .filter(|g| matches!(g.chain, ChainSide::Para(_)))
                .flat_map(|g| g.nodes.iter().map(|n| n.name.clone()))
                .collect(),
            nodes: desired.nodes().map(|n| n.name.clone()).collect(),
            relay_bootnodes,
            para_bootnodes,
        }
    }
}

/// Tunables (tests shorten them).
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// How long a stopping node gets before SIGKILL.
    pub stop_grace: Duration,
    /// How long a fresh process must survive to count as started.
    pub start_check: Duration,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            stop_grace: Duration::from_secs(20),
            start_check: Duration::from_millis(1500),
        }
    }
}

pub struct LocalProvider {
    layout: Layout,
    network: NetworkName,
    net_dir: PathBuf,
    topology: Topology,
    /// The relay nodes' binary: a collator's embedded relay node starts
    /// from the raw relay spec this binary exported, the very file the
    /// relay nodes run (a built-in name in the omni-node is another
    /// genesis: the embedded node would sit at #0 with no peers).
    relay_command: String,
    options: LocalOptions,
    /// Serialises ports.json updates within this process (the state lock
    /// serialises processes).
    ports_lock: tokio::sync::Mutex<()>,
    /// Serialises raw chain spec generation.
    spec_lock: tokio::sync::Mutex<()>,
}

impl LocalProvider {
    /// A provider for `desired`, keeping its files in `root` (`.paraform/<net>/`).
    /// Writes nothing until something is applied.
    pub fn new(desired: &Desired, root: impl Into<PathBuf>, options: LocalOptions) -> Self {
        let net_dir =
            std::path::absolute(&desired.source.dir).unwrap_or_else(|_| desired.source.dir.clone());
        LocalProvider {
            layout: Layout::new(root),
            network: desired.network.clone(),
            net_dir,
            topology: Topology::of(desired),
            relay_command: desired.relay.command.clone(),
            options,
            ports_lock: tokio::sync::Mutex::new(()),
            spec_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The provider of a network directory's default location (`paraform_dir`).
    pub fn for_network(desired: &Desired) -> Self {
        let root = network_dir(&desired.source.dir, &desired.network);
        Self::new(desired, root, LocalOptions::default())
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    fn io<'p>(
        what: &'static str,
        path: &'p Path,
    ) -> impl FnOnce(std::io::Error) -> ProviderError + 'p {
        move |source| ProviderError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    fn read_ports(&self) -> Result<Option<PortMap>, ProviderError> {
        let path = self.layout.ports_file();
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| ProviderError::Corrupt {
                    path,
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Self::io("cannot read", &path)(e)),
        }
    }

    fn write_ports(&self, map: &PortMap) -> Result<(), ProviderError> {
        let path = self.layout.ports_file();
        let json =
            serde_json::to_vec_pretty(map).map_err(|e| ProviderError::Invalid(e.to_string()))?;
        write_atomic(&path, &json).map_err(Self::io("cannot write", &path))
    }

    /// Ports for every desired node plus `extra`, allocating slots as needed.
    async fn ensure_ports(&self, extra: &[NodeName]) -> Result<PortMap, ProviderError> {
        let _g = self.ports_lock.lock().await;
        let mut map = match self.read_ports()? {
            Some(m) => m,
            None => PortMap::new(
                ports::default_base(&self.network)
                    .map_err(|e| ProviderError::Invalid(e.to_string()))?,
            ),
        };
        let changed = map
            .assign(self.topology.nodes.iter().chain(extra.iter()))
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        if changed || !self.layout.ports_file().exists() {
            self.write_ports(&map)?;
        }
        Ok(map)
    }

    async fn release_port(&self, node: &NodeName) -> Result<(), ProviderError> {
        let _g = self.ports_lock.lock().await;
        if let Some(mut map) = self.read_ports()? {
            if map.release(node) {
                if map.slots.is_empty() {
                    // Nothing left: a re-created network picks its base afresh.
                    let path = self.layout.ports_file();
                    std::fs::remove_file(&path).map_err(Self::io("cannot remove", &path))?;
                } else {
                    self.write_ports(&map)?;
                }
            }
        }
        Ok(())
    }

    pub fn read_record(&self, group: &GroupName) -> Result<Option<WorkloadRecord>, ProviderError> {
        read_record_at(&self.layout.workload_record(group))
    }

    fn records(&self) -> Result<Vec<WorkloadRecord>, ProviderError> {
        let dir = self.layout.workloads_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Self::io("cannot list", &dir)(e)),
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        let mut out = Vec::new();
        for p in paths {
            if let Some(r) = read_record_at(&p)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    fn write_record(&self, record: &WorkloadRecord) -> Result<(), ProviderError> {
        let path = self.layout.workload_record(&record.spec.group);
        let json =
            serde_json::to_vec_pretty(record).map_err(|e| ProviderError::Invalid(e.to_string()))?;
        write_atomic(&path, &json).map_err(Self::io("cannot write", &path))
    }

    /// The pid of the node's process, when one runs with our base path.
    pub fn node_pid(&self, node: &NodeName) -> Option<u32> {
        let base = self.layout.base_path(node);
        // The pid file is a shortcut; /proc is the truth.
        if let Some(pid) = std::fs::read_to_string(self.layout.pid(node))
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            if process::is_ours(pid, &base) {
                return Some(pid);
            }
        }
        process::find_by_base(&process::scan(), &base)
    }

    fn bootnode_addrs(&self, names: &[NodeName], me: &NodeName, map: &PortMap) -> Vec<String> {
        names
            .iter()
            .filter(|n| *n != me)
            .filter_map(|n| {
                let p = map.ports(n)?;
                let key = self.node_key_for_peer(n)?;
                Some(loopback_addr(p.p2p, &key.peer_id()))
            })
            .collect()
    }

    /// The node key a node runs with (derived, or the generated one on disk).
    fn node_key_for_peer(&self, node: &NodeName) -> Option<NodeKey> {
        match std::fs::read_to_string(self.layout.node_key(node)) {
            Ok(s) => NodeKey::parse_hex(&s),
            Err(_) => Some(NodeKey::derived(&self.network, node)),
        }
    }

    fn resolve_binary(&self, command: &str) -> Result<PathBuf, ProviderError> {
        resolve_binary(command, &self.net_dir)
    }

    async fn start_node(
        &self,
        spec: &WorkloadSpec,
        spec_hash: &str,
        node: &NodeName,
        dev_key: Option<&str>,
        map: &PortMap,
    ) -> Result<u32, ProviderError> {
        let bin = self.resolve_binary(&spec.command)?;
        let ports = map
            .ports(node)
            .ok_or_else(|| ProviderError::UnknownNode(node.clone()))?;
        let dir = self.layout.node_dir(node);
        let base = self.layout.base_path(node);
        let keystore = self.layout.keystore(node);
        let key_file = self.layout.node_key(node);
        // A memory keystore does not survive a restart (like a pod's emptyDir).
        if spec.keystore == KeystoreKind::Memory && keystore.exists() {
            std::fs::remove_dir_all(&keystore).map_err(Self::io("cannot clear", &keystore))?;
        }
        for d in [&dir, &base, &keystore] {
            std::fs::create_dir_all(d).map_err(Self::io("cannot create", d))?;
        }
        let key = match spec.node_key {
            NodeKeyPolicy::Derived => NodeKey::derived(&self.network, node),
            NodeKeyPolicy::Generated => match std::fs::read_to_string(&key_file)
                .ok()
                .and_then(|s| NodeKey::parse_hex(&s))
            {
                Some(k) => k,
                None => NodeKey::generate()
                    .map_err(Self::io("cannot read randomness for", &key_file))?,
            },
        };
        write_private(&key_file, key.to_hex().as_bytes())
            .map_err(Self::io("cannot write", &key_file))?;

        let chain = self.chain_for(&bin, &spec.chain, node).await?;
        let relay_chain = match &spec.relay_chain {
            Some(c) => {
                let relay_bin = self.resolve_binary(&self.relay_command)?;
                Some(self.chain_for(&relay_bin, c, node).await?)
            }
            None => None,
        };
        let (bootnodes, relay_bootnodes) = match spec.chain_side {
            ChainSide::Relay => (
                self.bootnode_addrs(&self.topology.relay_bootnodes, node, map),
                Vec::new(),
            ),
            ChainSide::Para(id) => (
                self.bootnode_addrs(
                    self.topology
                        .para_bootnodes
                        .get(&id)
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                    node,
                    map,
                ),
                self.bootnode_addrs(&self.topology.relay_bootnodes, node, map),
            ),
        };
        let launch = Launch {
            node,
            spec,
            dev_key,
            ports,
            base_path: &base,
            keystore: &keystore,
            node_key_file: &key_file,
            chain,
            relay_chain,
            bootnodes,
            relay_bootnodes,
        };
        let argv = args::node_args(&launch);
        let hash_file = self.layout.started_hash(node);
        write_atomic(&hash_file, spec_hash.as_bytes())
            .map_err(Self::io("cannot write", &hash_file))?;
        let log = self.layout.log(node);
        let pid =
            process::spawn_detached(&bin, &argv, &log, &dir).map_err(|e| ProviderError::Start {
                node: node.clone(),
                reason: format!("{}: {e}", bin.display()),
            })?;
        let pid_file = self.layout.pid(node);
        write_atomic(&pid_file, pid.to_string().as_bytes())
            .map_err(Self::io("cannot write", &pid_file))?;
        tracing::info!(node = %node, pid, rpc = ports.rpc, p2p = ports.p2p, "started");
        Ok(pid)
    }

    /// `--chain` for a node. A built-in chain is exported once per network
    /// as a raw spec (`chains/<name>.raw.json`) and nodes start from that:
    /// a node then skips building the genesis state (tens of seconds of CPU
    /// per node on a small machine). Same genesis, same chain.
    async fn chain_for(
        &self,
        bin: &Path,
        chain: &ChainRef,
        node: &NodeName,
    ) -> Result<String, ProviderError> {
        let ChainRef::BuiltIn { name } = chain else {
            return chain_arg(chain, &self.net_dir).map_err(|reason| ProviderError::Start {
                node: node.clone(),
                reason,
            });
        };
        let _g = self.spec_lock.lock().await;
        let dir = self.layout.root().join("chains");
        let file = dir.join(format!("{name}.raw.json"));
        let stamp_file = dir.join(format!("{name}.raw.json.binary"));
        let stamp = std::fs::metadata(bin)
            .map(|m| {
                use std::os::unix::fs::MetadataExt as _;
                format!("{} {} {}", bin.display(), m.len(), m.mtime())
            })
            .unwrap_or_default();
        let fresh = file.exists() && std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp);
        if !fresh {
            std::fs::create_dir_all(&dir).map_err(Self::io("cannot create", &dir))?;
            let out = tokio::process::Command::new(bin)
                .args([
                    "build-spec",
                    "--chain",
                    name,
                    "--raw",
                    "--disable-default-bootnode",
                ])
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .output();
            let out = tokio::time::timeout(Duration::from_secs(600), out)
                .await
                .map_err(|_| ProviderError::Command {
                    command: format!("build-spec --chain {name}"),
                    reason: "timed out".into(),
                })?
                .map_err(|e| ProviderError::Command {
                    command: format!("build-spec --chain {name}"),
                    reason: e.to_string(),
                })?;
            if !out.status.success() || out.stdout.is_empty() {
                return Err(ProviderError::Command {
                    command: format!("{} build-spec --chain {name} --raw", bin.display()),
                    reason: format!("exit {}", out.status),
                });
            }
            write_atomic(&file, &out.stdout).map_err(Self::io("cannot write", &file))?;
            write_atomic(&stamp_file, stamp.as_bytes())
                .map_err(Self::io("cannot write", &stamp_file))?;
        }
        Ok(file.to_string_lossy().into_owned())
    }

    /// Fail fast on a process that dies right away (bad flags, port taken).
    async fn check_started(&self, started: &[(NodeName, u32)]) -> Result<(), ProviderError> {
        if started.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(self.options.start_check).await;
        for (node, pid) in started {
            if !process::is_ours(*pid, &self.layout.base_path(node)) {
                return Err(ProviderError::Exited {
                    node: node.clone(),
                    status: "unknown".into(),
                    log_tail: process::log_tail(&self.layout.log(node), 15),
                });
            }
        }
        Ok(())
    }

    async fn stop_node(&self, node: &NodeName) -> Result<(), ProviderError> {
        let base = self.layout.base_path(node);
        // Every process with our base path (a lost pid file must not leave one behind).
        let pids: Vec<u32> = process::scan()
            .into_iter()
            .filter(|p| p.base_path() == Some(base.to_string_lossy().as_ref()))
            .map(|p| p.pid)
            .collect();
        for pid in pids {
            if !process::stop(pid, &base, self.options.stop_grace).await {
                return Err(ProviderError::Stop {
                    node: node.clone(),
                    after: self.options.stop_grace,
                });
            }
            tracing::info!(node = %node, pid, "stopped");
        }
        let _ = std::fs::remove_file(self.layout.pid(node));
        Ok(())
    }

    async fn remove_node(&self, node: &NodeName) -> Result<(), ProviderError> {
        self.stop_node(node).await?;
        let dir = self.layout.node_dir(node);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(Self::io("cannot remove", &dir))?;
        }
        self.release_port(node).await
    }

    /// HTTP RPC of the node and of its embedded relay node (collators).
    fn http_endpoints(&self, node: &NodeName) -> Result<(String, String), ProviderError> {
        let map = self
            .read_ports()?
            .ok_or_else(|| ProviderError::UnknownNode(node.clone()))?;
        let p = map
            .ports(node)
            .ok_or_else(|| ProviderError::UnknownNode(node.clone()))?;
        Ok((
            format!("http://127.0.0.1:{}", p.rpc),
            format!("http://127.0.0.1:{}", p.relay_rpc),
        ))
    }
}

fn read_record_at(path: &Path) -> Result<Option<WorkloadRecord>, ProviderError> {
    match std::fs::read(path) {
        Ok(b) => {
            let r: WorkloadRecord =
                serde_json::from_slice(&b).map_err(|e| ProviderError::Corrupt {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
            if r.format != RECORD_FORMAT {
                return Err(ProviderError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!(
                        "record format {} (this paraform reads {RECORD_FORMAT})",
                        r.format
                    ),
                });
            }
            Ok(Some(r))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ProviderError::Io {
            what: "cannot read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    write_atomic(path, contents)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// A group's binary: a path (relative to the network directory) when the
/// command contains `/`; else `$<COMMAND>_BIN` (`POLKADOT_BIN`,
/// `POLKADOT_OMNI_NODE_BIN`, …) when set; else the name on `PATH`.
pub fn resolve_binary(command: &str, net_dir: &Path) -> Result<PathBuf, ProviderError> {
    let not_found = |hint: String| ProviderError::BinaryNotFound {
        command: command.to_string(),
        hint,
    };
    if command.contains('/') {
        let p = PathBuf::from(command);
        let p = if p.is_absolute() { p } else { net_dir.join(p) };
        return if is_executable(&p) {
            Ok(p)
        } else {
            Err(not_found(format!(
                "{} is not an executable file",
                p.display()
            )))
        };
    }
    let env = format!("{}_BIN", command.to_uppercase().replace(['-', '.'], "_"));
    if let Some(v) = std::env::var_os(&env).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        return if is_executable(&p) {
            Ok(p)
        } else {
            Err(not_found(format!(
                "${env} = {} is not an executable file",
                p.display()
            )))
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(command);
            if is_executable(&p) {
                return Ok(p);
            }
        }
    }
    Err(not_found(format!(
        "not on PATH; set ${env} or give `command` a path"
    )))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[async_trait::async_trait]
impl Provider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn observe_workloads(
        &self,
        accounts: &BTreeMap<NodeName, AccountId>,
    ) -> Result<BTreeMap<GroupName, ObservedWorkload>, ProviderError> {
        let procs = process::scan();
        let mut out = BTreeMap::new();
        for rec in self.records()? {
            let mut nodes = Vec::new();
            let mut stale_hash: Option<String> = None;
            for n in &rec.nodes {
                let running =
                    process::find_by_base(&procs, &self.layout.base_path(&n.name)).is_some();
                if running {
                    let started = std::fs::read_to_string(self.layout.started_hash(&n.name))
                        .unwrap_or_default();
                    if started.trim() != rec.spec_hash && stale_hash.is_none() {
                        stale_hash = Some(started.trim().to_string());
                    }
                }
                nodes.push(ObservedNodeProcess {
                    name: n.name.clone(),
                    running,
                    account: n.account.clone().or_else(|| accounts.get(&n.name).cloned()),
                });
            }
            let ready = nodes.iter().filter(|n| n.running).count() as u32;
            // A process still running an older spec (an interrupted rolling
            // update) makes the group's spec differ, so the plan finishes it.
            let (spec_hash, spec) = match stale_hash {
                Some(h) => (h, None),
                None => (rec.spec_hash.clone(), Some(rec.spec.clone())),
            };
            out.insert(
                rec.spec.group.clone(),
                ObservedWorkload {
                    group: rec.spec.group.clone(),
                    spec_hash,
                    spec,
                    generation: rec.generation,
                    nodes,
                    replicas: rec.spec.replicas,
                    ready_replicas: ready,
                    out_of_sync: vec![],
                    objects_digest: None,
                },
            );
        }
        Ok(out)
    }

    async fn apply_workload(&self, req: &WorkloadRequest) -> Result<(), ProviderError> {
        let group = &req.spec.group;
        let map = self.ensure_ports(&req.nodes).await?;
        let hash = req.spec.hash();
        let old = self.read_record(group)?;
        let generation = match &old {
            Some(o) if o.spec_hash == hash => o.generation,
            Some(o) => o.generation + 1,
            None => 1,
        };
        let record = WorkloadRecord {
            format: RECORD_FORMAT,
            spec: req.spec.clone(),
            spec_hash: hash.clone(),
            generation,
            nodes: req
                .nodes
                .iter()
                .map(|n| NodeRecord {
                    name: n.clone(),
                    account: req.accounts.get(n).cloned(),
                    dev_key: req.dev_keys.get(n).cloned(),
                })
                .collect(),
        };
        // Record first: a crash below is observed as a difference and resumed.
        self.write_record(&record)?;

        if let Some(old) = &old {
            for n in old.nodes.iter().filter(|n| !req.nodes.contains(&n.name)) {
                self.remove_node(&n.name).await?;
            }
        }

        let procs = process::scan();
        let mut to_start = Vec::new();
        let mut to_restart = Vec::new();
        for n in &req.nodes {
            match process::find_by_base(&procs, &self.layout.base_path(n)) {
                None => to_start.push(n.clone()),
                Some(_) => {
                    let started =
                        std::fs::read_to_string(self.layout.started_hash(n)).unwrap_or_default();
                    if started.trim() != hash {
                        to_restart.push(n.clone());
                    }
                }
            }
        }

        // Nodes that are down are down already: start them all at once.
        let mut started = Vec::new();
        for n in &to_start {
            let pid = self
                .start_node(
                    &req.spec,
                    &hash,
                    n,
                    req.dev_keys.get(n).map(String::as_str),
                    &map,
                )
                .await?;
            started.push((n.clone(), pid));
        }
        self.check_started(&started).await?;

        // Running nodes on an older spec: at most max_unavailable at a time,
        // each batch ready before the next goes down.
        let batch = req.max_unavailable.max(1) as usize;
        let chunks: Vec<&[NodeName]> = to_restart.chunks(batch).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let mut started = Vec::new();
            for n in chunk.iter() {
                self.stop_node(n).await?;
                let pid = self
                    .start_node(
                        &req.spec,
                        &hash,
                        n,
                        req.dev_keys.get(n).map(String::as_str),
                        &map,
                    )
                    .await?;
                started.push((n.clone(), pid));
            }
            self.check_started(&started).await?;
            if i + 1 < chunks.len() || !to_start.is_empty() {
                self.wait_ready(chunk, req.ready_timeout).await?;
            }
        }
        Ok(())
    }

    async fn delete_workload(&self, group: &GroupName) -> Result<(), ProviderError> {
        let Some(rec) = self.read_record(group)? else {
            return Ok(());
        };
        for n in &rec.nodes {
            self.remove_node(&n.name).await?;
        }
        let path = self.layout.workload_record(group);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Self::io("cannot remove", &path)(e)),
        }
    }

    async fn wait_ready(&self, nodes: &[NodeName], timeout: Duration) -> Result<(), ProviderError> {
        let want_peers = self.topology.nodes.len() > 1;
        health::poll_until_ready(
            nodes,
            timeout,
            Duration::from_millis(500),
            |pending| async move {
                // One process scan per round; a node that died is an error now,
                // not after the timeout.
                let procs = process::scan();
                let mut still = Vec::new();
                for n in pending {
                    if process::find_by_base(&procs, &self.layout.base_path(&n)).is_none() {
                        return Err(ProviderError::Exited {
                            status: "not running".into(),
                            log_tail: process::log_tail(&self.layout.log(&n), 15),
                            node: n,
                        });
                    }
                    let ready = match self.http_endpoints(&n) {
                        Ok((ep, relay_ep)) if self.topology.para_nodes.contains(&n) => {
                            health::collator_ready(&n, &ep, &relay_ep).await
                        }
                        Ok((ep, _)) => health::node_ready(&n, &ep, want_peers).await,
                        Err(e) => Err(e.to_string()),
                    };
                    if let Err(why) = ready {
                        still.push((n, why));
                    }
                }
                Ok(still)
            },
        )
        .await
    }

    fn rpc_endpoint(&self, node: &NodeName) -> Result<String, ProviderError> {
        let map = self
            .read_ports()?
            .ok_or_else(|| ProviderError::UnknownNode(node.clone()))?;
        let p = map
            .ports(node)
            .ok_or_else(|| ProviderError::UnknownNode(node.clone()))?;
        Ok(format!("ws://127.0.0.1:{}", p.rpc))
    }

    async fn run_once(
        &self,
        spec: &WorkloadSpec,
        args: &[String],
        timeout: Duration,
    ) -> Result<Vec<u8>, ProviderError> {
        let bin = self.resolve_binary(&spec.command)?;
        let command = format!("{} {}", spec.command, args.join(" "));
        let child = tokio::process::Command::new(&bin)
            .args(args)
            .current_dir(&self.net_dir)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(timeout, child)
            .await
            .map_err(|_| ProviderError::Command {
                command: command.clone(),
                reason: format!("no result within {timeout:?}"),
            })?
            .map_err(|e| ProviderError::Command {
                command: command.clone(),
                reason: e.to_string(),
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(5).collect();
            return Err(ProviderError::Command {
                command,
                reason: format!(
                    "{}: {}",
                    out.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                ),
            });
        }
        Ok(out.stdout)
    }
}

/// The role of a node for messages (`validator (alice)`).
pub fn describe_role(role: Role, dev_key: Option<&str>) -> String {
    match dev_key {
        Some(k) => format!("{} ({k})", role.as_str()),
        None => role.as_str().to_string(),
    }
}
