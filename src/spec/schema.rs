//! The raw TOML schema of `networks/<net>/*.toml`, exactly as written.
//!
//! Every struct denies unknown fields. Values that a later diagnostic must point
//! at are `Spanned`; everything is optional where another file may supply it
//! (the merge in `load` decides), and defaults are applied in `expand`.
//! Numbers that have a range rule are read as `i64` so that "out of range" is
//! our diagnostic with a help line, not a bare type error.

use super::model::{
    AntiAffinity, CollatorMode, Consensus, Exposure, KeystoreKind, NodeKeyPolicy, OnboardMode,
    RelayNodeMode, Role, SessionKeyPolicy, TaintEffect, TolerationOperator,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// One `*.toml` file of a network directory.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    // Tables are not `Spanned`: toml cannot span implicit tables (a file with
    // only `[[relay.group]]` defines `relay` implicitly); their keys are.
    pub network: Option<RawNetwork>,
    /// `name = "env:NAME" | "file:PATH" | "k8s:SECRET/KEY"`; `sudo` and
    /// `derivation_root` have meaning to paraform, other names are free.
    #[serde(default)]
    pub secrets: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    pub funding: Option<RawFunding>,
    pub relay: Option<RawRelay>,
    #[serde(default)]
    pub parachain: Vec<Spanned<RawParachain>>,
    #[serde(default)]
    pub hrmp: Vec<Spanned<RawHrmp>>,
    /// Network-level defaults of every group's `kubernetes` table.
    pub kubernetes: Option<RawKubernetes>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub name: Spanned<String>,
    pub provider: Spanned<ProviderName>,
    pub namespace: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderName {
    Local,
    Kubernetes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFunding {
    /// Planck; an integer, or a string of digits (with `_`) for values beyond i64.
    pub amount: Option<Spanned<RawAmount>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawAmount {
    Int(i64),
    Text(String),
}

/// `[relay]`: scalar fields may be set once across all files; groups merge.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelay {
    pub chain: Option<Spanned<String>>,
    pub chain_spec: Option<Spanned<String>>,
    pub command: Option<Spanned<String>>,
    pub image: Option<Spanned<String>>,
    pub consensus: Option<Spanned<Consensus>>,
    #[serde(default)]
    pub group: Vec<Spanned<RawGroup>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParachain {
    pub id: Spanned<i64>,
    pub chain: Option<Spanned<String>>,
    pub chain_spec: Option<Spanned<String>>,
    pub command: Option<Spanned<String>>,
    pub image: Option<Spanned<String>>,
    pub onboard: Option<Spanned<OnboardMode>>,
    /// `"collator"` (export block #0 from a collator) or a raw chain spec path.
    pub genesis: Option<Spanned<String>>,
    #[serde(default)]
    pub group: Vec<Spanned<RawGroup>>,
}

/// `[[hrmp]]`: one channel, sender → recipient.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHrmp {
    pub sender: Spanned<i64>,
    pub recipient: Spanned<i64>,
    pub max_capacity: Option<Spanned<i64>>,
    pub max_message_size: Option<Spanned<i64>>,
}

/// `[[relay.group]]` and `[[parachain.group]]` share one shape; which fields
/// make sense where is a validation rule (so the error says why, not just
/// "unknown field").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub name: Spanned<String>,
    pub role: Option<Spanned<Role>>,
    pub replicas: Option<Spanned<i64>>,
    pub genesis_authorities: Option<Spanned<bool>>,
    pub collator: Option<Spanned<CollatorMode>>,
    pub command: Option<Spanned<String>>,
    pub image: Option<Spanned<String>>,
    #[serde(default)]
    pub flags: Vec<Spanned<String>>,
    #[serde(default)]
    pub relay_flags: Vec<Spanned<String>>,
    #[serde(default)]
    pub log: Vec<String>,
    #[serde(default)]
    pub resources: RawResources,
    #[serde(default)]
    pub storage: RawStorage,
    pub keystore: Option<KeystoreKind>,
    pub session_keys: Option<Spanned<SessionKeyPolicy>>,
    pub relay_node: Option<Spanned<RelayNodeMode>>,
    pub node_key: Option<NodeKeyPolicy>,
    pub p2p: Option<Exposure>,
    pub rpc: Option<Exposure>,
    /// Pod and Service settings (Kubernetes only); over `[kubernetes]`.
    pub kubernetes: Option<RawKubernetes>,
}

/// `[kubernetes]` (network defaults) and a group's `kubernetes` table: what
/// Parity's `node` chart sets on pods and Services. Values that are
/// Kubernetes objects (`tolerations`, `affinity`, `security_context`) keep
/// Kubernetes' own field names, so chart values paste unchanged.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubernetes {
    pub node_selector: Option<Spanned<BTreeMap<String, String>>>,
    pub tolerations: Option<Vec<Spanned<RawToleration>>>,
    /// A Kubernetes `Affinity`, checked against k8s-openapi's schema.
    pub affinity: Option<toml::Value>,
    pub anti_affinity: Option<Spanned<AntiAffinity>>,
    pub image_pull_secrets: Option<Vec<Spanned<String>>>,
    pub service_account: Option<Spanned<String>>,
    /// `NAME = "value"` or `NAME = { secret = "SECRET/KEY" }` /
    /// `{ config_map = "CONFIGMAP/KEY" }`.
    pub env: Option<BTreeMap<String, Spanned<toml::Value>>>,
    pub pod_labels: Option<Spanned<BTreeMap<String, String>>>,
    pub pod_annotations: Option<Spanned<BTreeMap<String, String>>>,
    pub service_labels: Option<Spanned<BTreeMap<String, String>>>,
    pub service_annotations: Option<Spanned<BTreeMap<String, String>>>,
    /// A Kubernetes `PodSecurityContext`, merged over paraform's (uid/gid 1000).
    pub security_context: Option<toml::Value>,
    pub priority_class: Option<Spanned<String>>,
    /// Seconds.
    pub termination_grace_period: Option<Spanned<i64>>,
    /// An Ingress to the group's RPC.
    pub ingress: Option<RawIngress>,
    /// external-dns annotations on the per-pod p2p Services.
    pub external_dns: Option<RawExternalDns>,
    /// A Prometheus-operator ServiceMonitor of the group's metrics.
    pub service_monitor: Option<RawServiceMonitor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServiceMonitor {
    /// A Prometheus duration such as `30s` (the chart's default).
    pub interval: Option<Spanned<String>>,
    pub scrape_timeout: Option<Spanned<String>>,
}

/// A Kubernetes `Toleration`, field names as in Kubernetes (and the chart).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RawToleration {
    pub key: Option<String>,
    pub operator: Option<TolerationOperator>,
    pub value: Option<String>,
    pub effect: Option<TaintEffect>,
    pub toleration_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngress {
    pub host: Spanned<String>,
    pub class: Option<String>,
    pub tls_secret: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExternalDns {
    /// Each pod's p2p Service gets `<prefix>-<index>.<hostname>`.
    pub hostname: Spanned<String>,
    /// Defaults to the group name (the chart's default is the release name).
    pub prefix: Option<Spanned<String>>,
    pub ttl: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    pub cpu_request: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_request: Option<String>,
    pub memory_limit: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    pub database: Option<Database>,
    /// `"archive"`, `"archive-canonical"` or a number of blocks.
    pub pruning: Option<Spanned<RawPruning>>,
    pub size: Option<String>,
    pub class: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Database {
    Rocksdb,
    Paritydb,
}

impl Database {
    pub fn as_str(self) -> &'static str {
        match self {
            Database::Rocksdb => "rocksdb",
            Database::Paritydb => "paritydb",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawPruning {
    Blocks(i64),
    Mode(String),
}
