//! `WorkloadSpec`: the provider-neutral, deterministic description of a group's
//! workload. Its hash is what `plan` compares with the live workload; both
//! providers render their objects (processes, StatefulSets) from it.

use super::ids::*;
use super::model::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    pub group: GroupName,
    pub chain_side: ChainSide,
    pub role: Role,
    pub replicas: u32,
    pub command: String,
    pub image: Option<String>,
    /// The chain this group's nodes run (the para's chain for collators).
    pub chain: ChainRef,
    /// Collators: the relay chain of the embedded relay node.
    pub relay_chain: Option<ChainRef>,
    pub genesis_authorities: bool,
    pub flags: Vec<String>,
    pub log: Vec<String>,
    pub resources: Resources,
    pub storage: Storage,
    pub keystore: KeystoreKind,
    pub node_key: NodeKeyPolicy,
    pub p2p: Exposure,
    pub rpc: Exposure,
    pub relay_flags: Vec<String>,
    /// Left out of the encoding when embedded, so the hashes of workloads
    /// applied before this field existed do not change.
    #[serde(default, skip_serializing_if = "RelayNodeMode::is_embedded")]
    pub relay_node: RelayNodeMode,
    /// Kubernetes only; left out of the encoding (and so of the hash) when empty.
    #[serde(default, skip_serializing_if = "PodSettings::is_empty")]
    pub kubernetes: PodSettings,
}

impl WorkloadSpec {
    /// The spec a group should run. Pure.
    pub fn for_group(desired: &Desired, group: &Group) -> Self {
        let (chain, relay_chain) = match group.chain {
            ChainSide::Relay => (desired.relay.chain.clone(), None),
            ChainSide::Para(id) => (
                desired
                    .parachain(id)
                    .map(|p| p.chain.clone())
                    .unwrap_or_else(|| desired.relay.chain.clone()),
                Some(desired.relay.chain.clone()),
            ),
        };
        WorkloadSpec {
            group: group.name.clone(),
            chain_side: group.chain,
            role: group.role,
            replicas: group.replicas,
            command: group.command.clone(),
            image: group.image.clone(),
            chain,
            relay_chain,
            genesis_authorities: group.genesis_authorities,
            flags: group.flags.clone(),
            log: group.log.clone(),
            resources: group.resources.clone(),
            storage: group.storage.clone(),
            keystore: group.keystore,
            node_key: group.node_key,
            p2p: group.p2p,
            rpc: group.rpc,
            relay_flags: group.relay_flags.clone(),
            relay_node: group.relay_node,
            kubernetes: group.kubernetes.clone(),
        }
    }

    /// sha256 over the canonical JSON encoding (field order is fixed by the struct).
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&json))
    }

    /// Human-readable, line-oriented rendering used for plan diffs.
    pub fn to_text(&self) -> String {
        // toml keeps one field per line, which makes unified diffs readable.
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# unrenderable spec: {e}\n"))
    }
}
