//! `Desired`: the validated, expanded desired state the planner consumes.
//!
//! Pure data. Built by `spec::load` from `networks/<net>/*.toml`; accounts are
//! filled in by `Desired::with_accounts` once the derivation root is resolved
//! (public keys only: no secret is ever stored here).

use super::ids::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    pub network: NetworkName,
    pub provider: ProviderKind,
    /// Where this desired state was read from (dir, files, git commit).
    pub source: SourceInfo,
    pub secrets: SecretRefs,
    pub relay: RelayChain,
    /// All groups (relay and parachain), in file order; names are unique.
    pub groups: Vec<Group>,
    pub parachains: Vec<Parachain>,
    /// HRMP channels between the network's parachains (`[[hrmp]]`).
    pub hrmp: Vec<HrmpChannel>,
    /// Funding policy for derived accounts (stashes, collators).
    pub funding: Funding,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderKind {
    Local,
    Kubernetes { namespace: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceInfo {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// Commit id when loaded from a git revision (or HEAD of a clean checkout).
    pub commit: Option<String>,
}

/// A reference to a secret, never its value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum SecretRef {
    Env { name: String },
    File { path: PathBuf },
    K8s { secret: String, key: String },
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Env { name } => write!(f, "env:{name}"),
            SecretRef::File { path } => write!(f, "file:{}", path.display()),
            SecretRef::K8s { secret, key } => write!(f, "k8s:{secret}/{key}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRefs {
    /// Signs sudo calls and funds derived accounts.
    pub sudo: Option<SecretRef>,
    /// Root of `<root>//<node>//stash` and `<root>//collator//<node>`.
    pub derivation_root: Option<SecretRef>,
    /// Any further named references (e.g. a para's own sudo).
    pub other: BTreeMap<String, SecretRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainRef {
    /// A chain built into the binary: `rococo-local`, `westend-local`, `dev`, …
    BuiltIn { name: String },
    /// A chain spec file (relative to the network dir) or an `https://` URL.
    Spec { path: String },
}

impl std::fmt::Display for ChainRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainRef::BuiltIn { name } => f.write_str(name),
            ChainRef::Spec { path } => f.write_str(path),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consensus {
    /// `ValidatorManager` via sudo (rococo-like).
    Poa,
    /// `Staking` bond/validate (westend-like).
    Pos,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayChain {
    pub chain: ChainRef,
    /// Binary for the local provider.
    pub command: String,
    /// Image for the kubernetes provider.
    pub image: Option<String>,
    pub consensus: Consensus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Validator,
    Full,
    Rpc,
    Bootnode,
    Collator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Full => "full",
            Role::Rpc => "rpc",
            Role::Bootnode => "bootnode",
            Role::Collator => "collator",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollatorMode {
    Invulnerable,
    Candidate,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeystoreKind {
    Memory,
    Volume,
}

/// How a collator reaches the relay chain: its own embedded relay node
/// (the default), or over RPC to relay nodes of the network
/// (`--relay-chain-rpc-urls`), which saves a relay node's CPU and memory
/// per collator — what keeps a small machine responsive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayNodeMode {
    #[default]
    Embedded,
    Rpc,
}

impl RelayNodeMode {
    pub fn is_embedded(&self) -> bool {
        *self == RelayNodeMode::Embedded
    }
}

/// Where a validator's session keys come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKeyPolicy {
    /// The node generates fresh keys (`author_rotateKeysWithOwner`); keys
    /// derived from the root are inserted only where a node lacks that RPC.
    #[default]
    Rotate,
    /// Always the keys derived from `<root>//<node>//<key type>`, inserted
    /// over RPC: a node that lost its keystore gets the same keys back, with
    /// no new `Session.set_keys`.
    Derived,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKeyPolicy {
    /// Derived deterministically from the network, group and index (stable peer ids).
    Derived,
    /// Generated once and kept (local file / k8s Secret).
    Generated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Exposure {
    None,
    ClusterIP,
    NodePort,
    LoadBalancer,
}

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resources {
    pub cpu_request: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_request: Option<String>,
    pub memory_limit: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    /// `rocksdb` | `paritydb`.
    pub database: String,
    /// `archive` or a number of blocks.
    pub pruning: Option<String>,
    /// Volume size, e.g. `20Gi` (kubernetes).
    pub size: String,
    pub class: Option<String>,
}

/// Spread a group's pods over cluster nodes (pod anti-affinity on the
/// node's hostname): `preferred` schedules anyway when it cannot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AntiAffinity {
    #[default]
    None,
    Preferred,
    Required,
}

impl AntiAffinity {
    pub fn is_none(&self) -> bool {
        *self == AntiAffinity::None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TolerationOperator {
    Exists,
    Equal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// A Kubernetes toleration (field names as in Kubernetes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Toleration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<TolerationOperator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<TaintEffect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

/// The value of an extra environment variable: a literal, or a key of a
/// Secret or ConfigMap in the namespace (the value never leaves the cluster).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum EnvValue {
    Value { value: String },
    Secret { name: String, key: String },
    ConfigMap { name: String, key: String },
}

/// An Ingress to a group's RPC (all pods behind one host).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret: Option<String>,
    pub path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// external-dns names of the per-pod p2p Services: `<prefix>-<index>.<hostname>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalDns {
    pub hostname: String,
    pub prefix: String,
    pub ttl: u32,
}

/// A Prometheus-operator ServiceMonitor scraping the group's `prometheus` port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceMonitor {
    pub interval: String,
    pub scrape_timeout: String,
}

/// Pod and Service settings of a group on Kubernetes (the `node` chart's
/// values of the same meaning); empty on the local provider. Empty fields
/// are not serialized, so a spec without them hashes as before they existed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodSettings {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// A Kubernetes `Affinity` (validated against k8s-openapi's schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "AntiAffinity::is_none")]
    pub anti_affinity: AntiAffinity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, EnvValue>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_annotations: BTreeMap<String, String>,
    /// A Kubernetes `PodSecurityContext`, merged over paraform's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class: Option<String>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Ingress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_dns: Option<ExternalDns>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_monitor: Option<ServiceMonitor>,
}

impl PodSettings {
    pub fn is_empty(&self) -> bool {
        *self == PodSettings::default()
    }
}

/// Settings shared by every node of a group; this is what a workload spec hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: GroupName,
    pub chain: ChainSide,
    pub role: Role,
    pub replicas: u32,
    /// Nodes `<name>-0 .. <name>-(replicas-1)`.
    pub nodes: Vec<Node>,
    /// Nodes run with the built-in dev keys (`--alice`, `--bob`, …) and are
    /// validators from genesis: never rotated or registered by paraform.
    pub genesis_authorities: bool,
    /// `invulnerable | candidate | none`; only for collator groups.
    pub collator: Option<CollatorMode>,
    pub command: String,
    pub image: Option<String>,
    /// Extra flags passed verbatim (paraform-owned flags are rejected at load).
    pub flags: Vec<String>,
    /// `-l` targets, e.g. `["parachain=debug"]`.
    pub log: Vec<String>,
    pub resources: Resources,
    pub storage: Storage,
    pub keystore: KeystoreKind,
    pub node_key: NodeKeyPolicy,
    pub p2p: Exposure,
    pub rpc: Exposure,
    /// Collators: flags for the embedded relay node (after `--`).
    pub relay_flags: Vec<String>,
    /// Collators: embedded relay node or relay RPC.
    #[serde(default)]
    pub relay_node: RelayNodeMode,
    /// Managed relay validators: rotated or derived session keys.
    #[serde(default)]
    pub session_keys: SessionKeyPolicy,
    /// Kubernetes pod and Service settings (group over `[kubernetes]`).
    #[serde(default, skip_serializing_if = "PodSettings::is_empty")]
    pub kubernetes: PodSettings,
}

/// One expanded node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub name: NodeName,
    pub group: GroupName,
    pub index: u32,
    pub role: Role,
    /// `alice`, `bob`, … for genesis authorities on built-in dev chains.
    pub dev_key: Option<String>,
    /// The account paraform manages for this node: the validator stash
    /// (`<root>//<node>//stash`, or the dev account for genesis authorities),
    /// or the collator account (`<root>//collator//<node>`). `None` until
    /// `Desired::with_accounts` ran, and for nodes with no account.
    pub account: Option<AccountId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnboardMode {
    Parachain,
    Parathread,
    None,
}

/// Where a para's genesis head and validation code come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GenesisSource {
    /// Export block #0 from a collator (`export-genesis-head/-wasm`, or its RPC).
    Collator,
    /// Take `genesis.raw` from a raw chain spec.
    RawSpec { path: String },
}

/// One direction of HRMP messaging between two parachains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChannelId {
    pub sender: ParaId,
    pub recipient: ParaId,
}

impl std::fmt::Display for ChannelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}->{}", self.sender, self.recipient)
    }
}

/// `[[hrmp]]`: a channel paraform keeps open (with relay sudo's
/// `Hrmp.force_open_hrmp_channel`), and closes once removed from git.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HrmpChannel {
    pub id: ChannelId,
    /// Messages the channel holds at once.
    pub max_capacity: u32,
    /// Bytes per message.
    pub max_message_size: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parachain {
    pub id: ParaId,
    pub chain: ChainRef,
    pub command: String,
    pub image: Option<String>,
    pub onboard: OnboardMode,
    pub genesis: GenesisSource,
    /// Collator groups of this para (names; the groups live in `Desired::groups`).
    pub groups: Vec<GroupName>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funding {
    /// Each derived account is topped up to this free balance (planck).
    pub amount: Balance,
}

impl Desired {
    pub fn group(&self, name: &GroupName) -> Option<&Group> {
        self.groups.iter().find(|g| &g.name == name)
    }

    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.groups.iter().flat_map(|g| g.nodes.iter())
    }

    pub fn node(&self, name: &NodeName) -> Option<&Node> {
        self.nodes().find(|n| &n.name == name)
    }

    pub fn parachain(&self, id: ParaId) -> Option<&Parachain> {
        self.parachains.iter().find(|p| p.id == id)
    }

    /// Relay validator nodes that paraform rotates and registers (not genesis authorities).
    pub fn managed_validators(&self) -> impl Iterator<Item = &Node> {
        self.groups
            .iter()
            .filter(|g| {
                g.role == Role::Validator && g.chain == ChainSide::Relay && !g.genesis_authorities
            })
            .flat_map(|g| g.nodes.iter())
    }

    /// Every relay validator (genesis authorities included): the BFT bound counts these.
    pub fn all_validators(&self) -> impl Iterator<Item = &Node> {
        self.groups
            .iter()
            .filter(|g| g.role == Role::Validator && g.chain == ChainSide::Relay)
            .flat_map(|g| g.nodes.iter())
    }
}
