//! Per-node RPC: health probes (concurrent, bounded), session keys with an
//! ownership proof, and a parachain's genesis (head + code of block #0).
//!
//! Probes use a light jsonrpsee client (no metadata download), so probing
//! 100 nodes costs 100 small connections, at most `concurrency` at a time.

use super::client::{ChainClient, ConnectOptions};
use super::error::ChainError;
use crate::observe::model::ObservedNode;
use crate::spec::ids::{AccountId, NodeName};
use futures::stream::{self, StreamExt};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use parity_scale_codec::Encode;
use serde::Deserialize;

/// The node RPC that makes a node generate session keys with an ownership
/// proof for `owner` (plans name it among a key step's calls).
pub const ROTATE_KEYS_WITH_OWNER: &str = "author_rotateKeysWithOwner";
use std::collections::BTreeMap;

/// A light RPC connection to one node (no metadata).
pub struct NodeRpc {
    endpoint: String,
    ws: WsClient,
    timeout: std::time::Duration,
}

/// `system_health`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub peers: u32,
    pub is_syncing: bool,
    pub should_have_peers: bool,
}

/// `system_syncState`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    pub starting_block: u64,
    pub current_block: u64,
    pub highest_block: Option<u64>,
}

/// Session keys generated on a node, with the proof that their private keys
/// signed `owner` (`b"POP_" ++ owner` per key, in `SessionKeys` order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedKeys {
    /// SCALE-encoded `SessionKeys`.
    pub keys: Vec<u8>,
    /// SCALE-encoded tuple of signatures (the `proof` of `Session.set_keys`).
    pub proof: Vec<u8>,
}

fn from_hex(endpoint: &str, what: &str, s: &str) -> Result<Vec<u8>, ChainError> {
    hex::decode(s.trim_start_matches("0x")).map_err(|e| ChainError::Decode {
        endpoint: endpoint.to_string(),
        what: what.to_string(),
        reason: e.to_string(),
    })
}

impl NodeRpc {
    /// Connect (one attempt, bounded by `connect_timeout`; requests by `request_timeout`).
    pub async fn connect(endpoint: &str, options: &ConnectOptions) -> Result<NodeRpc, ChainError> {
        let ws = tokio::time::timeout(
            options.connect_timeout,
            WsClientBuilder::new()
                .connection_timeout(options.connect_timeout)
                .request_timeout(options.request_timeout)
                .max_response_size(64 * 1024 * 1024)
                .build(endpoint),
        )
        .await
        .map_err(|_| ChainError::Connect {
            endpoint: endpoint.to_string(),
            attempts: 1,
            reason: format!("no connection within {:?}", options.connect_timeout),
        })?
        .map_err(|e| ChainError::Connect {
            endpoint: endpoint.to_string(),
            attempts: 1,
            reason: e.to_string(),
        })?;
        Ok(NodeRpc {
            endpoint: endpoint.to_string(),
            ws,
            timeout: options.request_timeout,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn call<R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> Result<R, ChainError> {
        self.ws.request(method, params).await.map_err(|e| {
            let reason = e.to_string();
            let lower = reason.to_lowercase();
            if lower.contains("request timeout") {
                ChainError::Timeout {
                    endpoint: self.endpoint.clone(),
                    what: method.into(),
                    after: self.timeout,
                }
            } else if lower.contains("method not found") {
                ChainError::MethodNotFound {
                    endpoint: self.endpoint.clone(),
                    method: method.into(),
                }
            } else {
                ChainError::Rpc {
                    endpoint: self.endpoint.clone(),
                    what: method.into(),
                    reason,
                }
            }
        })
    }

    pub async fn health(&self) -> Result<Health, ChainError> {
        self.call("system_health", rpc_params![]).await
    }

    pub async fn sync_state(&self) -> Result<SyncState, ChainError> {
        self.call("system_syncState", rpc_params![]).await
    }

    pub async fn local_peer_id(&self) -> Result<String, ChainError> {
        self.call("system_localPeerId", rpc_params![]).await
    }

    pub async fn version(&self) -> Result<String, ChainError> {
        self.call("system_version", rpc_params![]).await
    }

    /// Finalized block number (`chain_getFinalizedHead` + `chain_getHeader`).
    pub async fn finalized_number(&self) -> Result<u64, ChainError> {
        let hash: String = self.call("chain_getFinalizedHead", rpc_params![]).await?;
        let header: serde_json::Value = self.call("chain_getHeader", rpc_params![hash]).await?;
        header
            .get("number")
            .and_then(|n| n.as_str())
            .and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| ChainError::Decode {
                endpoint: self.endpoint.clone(),
                what: "chain_getHeader".into(),
                reason: "no block number".into(),
            })
    }

    /// `author_hasSessionKeys(keys)`: does this node's keystore hold the
    /// private keys of the SCALE-encoded `SessionKeys`?
    pub async fn has_session_keys(&self, keys: &[u8]) -> Result<bool, ChainError> {
        self.call(
            "author_hasSessionKeys",
            rpc_params![format!("0x{}", hex::encode(keys))],
        )
        .await
    }

    /// `author_rotateKeysWithOwner(owner)`: new session keys in the node's
    /// keystore plus their ownership proof for `owner` (the stash that will
    /// sign `Session.set_keys`). Errors with `MethodNotFound` on nodes that
    /// predate it.
    pub async fn rotate_keys_with_owner(
        &self,
        owner: &AccountId,
    ) -> Result<GeneratedKeys, ChainError> {
        #[derive(Deserialize)]
        struct Raw {
            keys: String,
            proof: String,
        }
        let raw: Raw = self
            .call(
                ROTATE_KEYS_WITH_OWNER,
                rpc_params![format!("0x{}", hex::encode(owner.0))],
            )
            .await?;
        Ok(GeneratedKeys {
            keys: from_hex(&self.endpoint, "session keys", &raw.keys)?,
            proof: from_hex(&self.endpoint, "ownership proof", &raw.proof)?,
        })
    }

    /// `author_insertKey(key_type, suri, public)`: put a key into the
    /// node's keystore. The SURI travels to the node (that is the point);
    /// it is never logged here.
    pub async fn insert_key(
        &self,
        key_type: &str,
        suri: &secrecy::SecretString,
        public: &[u8],
    ) -> Result<(), ChainError> {
        use secrecy::ExposeSecret;
        let _: serde_json::Value = self
            .call(
                "author_insertKey",
                rpc_params![
                    key_type,
                    suri.expose_secret(),
                    format!("0x{}", hex::encode(public))
                ],
            )
            .await?;
        Ok(())
    }

    /// Insert offline-derived session keys ([`super::session_keys`]) with
    /// one `author_insertKey` per key. The SURIs go to this node only.
    pub async fn insert_session_keys(
        &self,
        material: &super::session_keys::SessionKeysMaterial,
    ) -> Result<(), ChainError> {
        for key in &material.inserts {
            self.insert_key(key.key_type, &key.suri, &key.public)
                .await?;
        }
        Ok(())
    }

    /// Probe the node: everything an [`ObservedNode`] holds. Never fails:
    /// an unreachable node is `rpc_reachable: false`.
    pub async fn probe(name: &NodeName, endpoint: &str, options: &ConnectOptions) -> ObservedNode {
        let mut node = ObservedNode {
            name: name.clone(),
            endpoint: Some(endpoint.to_string()),
            ..Default::default()
        };
        let Ok(rpc) = NodeRpc::connect(endpoint, options).await else {
            return node;
        };
        let (health, sync, peer, version, fin) = futures::join!(
            rpc.health(),
            rpc.sync_state(),
            rpc.local_peer_id(),
            rpc.version(),
            rpc.finalized_number()
        );
        node.rpc_reachable = health.is_ok() || version.is_ok();
        if let Ok(h) = health {
            node.syncing = Some(h.is_syncing);
            node.peers = Some(h.peers);
        }
        if let Ok(s) = sync {
            node.best_block = Some(s.current_block);
        }
        node.peer_id = peer.ok();
        node.version = version.ok();
        node.finalized_block = fin.ok();
        node
    }
}

/// Probe many nodes concurrently, at most `concurrency` at a time.
pub async fn probe_nodes(
    nodes: Vec<(NodeName, String)>,
    options: &ConnectOptions,
    concurrency: usize,
) -> BTreeMap<NodeName, ObservedNode> {
    stream::iter(nodes)
        .map(|(name, endpoint)| async move {
            let n = NodeRpc::probe(&name, &endpoint, options).await;
            (name, n)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// A parachain's genesis as the relay chain needs it for onboarding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParaGenesis {
    /// SCALE-encoded header of block #0.
    pub head: Vec<u8>,
    /// `:code` at block #0.
    pub code: Vec<u8>,
    /// Hash of block #0 (= blake2-256 of `head`).
    pub genesis_hash: [u8; 32],
}

/// Read a chain's genesis from a node of it: the header of block **#0**
/// (never the best block) SCALE-encoded, and `:code` in block #0's state.
/// Checked: blake2-256 of the encoded header equals the block #0 hash.
/// Needs a node that kept block #0's state (archive or a young chain).
pub async fn para_genesis(client: &ChainClient) -> Result<ParaGenesis, ChainError> {
    let legacy = client.legacy();
    let hash = legacy
        .chain_get_block_hash(Some(0u32.into()))
        .await
        .map_err(|e| client.rpc_err("chain_getBlockHash(0)", e))?
        .ok_or_else(|| ChainError::Rpc {
            endpoint: client.endpoint().to_string(),
            what: "chain_getBlockHash(0)".into(),
            reason: "no block #0".into(),
        })?;
    let header = legacy
        .chain_get_header(Some(hash))
        .await
        .map_err(|e| client.rpc_err("chain_getHeader(#0)", e))?
        .ok_or_else(|| ChainError::Rpc {
            endpoint: client.endpoint().to_string(),
            what: "chain_getHeader(#0)".into(),
            reason: "no header for block #0".into(),
        })?;
    let head = header.encode();
    let computed = sp_crypto_hashing::blake2_256(&head);
    if computed != hash.0 {
        return Err(ChainError::Decode {
            endpoint: client.endpoint().to_string(),
            what: "genesis header".into(),
            reason: "re-encoded header does not hash to the block #0 hash".into(),
        });
    }
    let code = legacy
        .state_get_storage(b":code", Some(hash))
        .await
        .map_err(|e| client.rpc_err("state_getStorage(:code @ #0)", e))?
        .ok_or_else(|| ChainError::Rpc {
            endpoint: client.endpoint().to_string(),
            what: "state_getStorage(:code @ #0)".into(),
            reason: "no :code at block #0 (state pruned? use an archive node or the chain spec)"
                .into(),
        })?;
    Ok(ParaGenesis {
        head,
        code,
        genesis_hash: hash.0,
    })
}

/// `:code` from a **raw** chain spec (`genesis.raw.top["0x3a636f6465"]`).
/// The genesis *head* cannot be taken from a spec without computing the
/// genesis state root (a trie over all of `genesis.raw`), so onboarding
/// from a spec takes the head from `export-genesis-head` (provider command)
/// or from a node of the chain ([`para_genesis`]).
pub fn code_from_raw_spec(spec_json: &str) -> Result<Vec<u8>, ChainError> {
    let bad = |reason: &str| ChainError::Decode {
        endpoint: "(chain spec)".into(),
        what: "raw chain spec".into(),
        reason: reason.to_string(),
    };
    let v: serde_json::Value = serde_json::from_str(spec_json).map_err(|e| bad(&e.to_string()))?;
    let code = v
        .pointer("/genesis/raw/top/0x3a636f6465")
        .and_then(|c| c.as_str())
        .ok_or_else(|| bad("no genesis.raw.top[\":code\"] (is the spec raw?)"))?;
    hex::decode(code.trim_start_matches("0x")).map_err(|e| bad(&e.to_string()))
}
