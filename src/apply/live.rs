//! [`ChainOps`] over the real chain layer (`src/chain`): connects lazily to
//! the first relay node that answers (a fresh network has no chain until its
//! nodes run), reconnects when the connection drops, and resolves signers
//! from secret references only when a transaction needs them.
//!
//! Parachains are reached the same way, one client per para, through the
//! nodes given with [`LiveChain::with_para_nodes`] or, for a para not given
//! there, the nodes of the provider's workloads on that para (so a para that
//! left the desired state is still reachable while its collators run).

use super::ops::{ChainOps, Intent, Landing, OpError, SignerRole};
use crate::chain::client::{ChainClient, ConnectOptions};
use crate::chain::keys;
use crate::chain::node_rpc::{self, GeneratedKeys, NodeRpc, ParaGenesis};
use crate::chain::read;
use crate::chain::read::RelayDetails;
use crate::chain::submit::{
    self, Recorder, SubmissionRecord, SubmissionStatus, SubmitOptions, Target,
};
use crate::observe::model::{ChainState, ParachainState};
use crate::provider::Provider;
use crate::spec::ids::{AccountId, ChainSide, NodeName, ParaId};
use crate::spec::model::{Desired, Role, SessionKeyPolicy};
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

pub struct LiveChain {
    provider: Arc<dyn Provider>,
    /// Relay nodes to try, in order of preference.
    relay_nodes: Vec<NodeName>,
    sudo: Option<SecretString>,
    root: Option<SecretString>,
    connect: ConnectOptions,
    submit: SubmitOptions,
    client: tokio::sync::Mutex<Option<ChainClient>>,
    /// Nodes to reach each para through, in order of preference.
    para_nodes: BTreeMap<ParaId, Vec<NodeName>>,
    para_clients: tokio::sync::Mutex<BTreeMap<ParaId, ChainClient>>,
    /// Validators with `session_keys = "derived"`.
    derived_keys: BTreeSet<NodeName>,
}

/// The validators whose session keys are derived from the root, not rotated.
pub fn derived_key_nodes(desired: &Desired) -> BTreeSet<NodeName> {
    desired
        .groups
        .iter()
        .filter(|g| g.session_keys == SessionKeyPolicy::Derived)
        .flat_map(|g| g.nodes.iter().map(|n| n.name.clone()))
        .collect()
}

/// Each para's nodes in the order chain access prefers them: rpc nodes,
/// then collators, then the rest (from the desired state).
pub fn para_preference(desired: &Desired) -> BTreeMap<ParaId, Vec<NodeName>> {
    let mut out: BTreeMap<ParaId, Vec<(u8, NodeName)>> = BTreeMap::new();
    for g in &desired.groups {
        let ChainSide::Para(id) = g.chain else {
            continue;
        };
        let rank = match g.role {
            Role::Rpc => 0,
            Role::Collator => 1,
            _ => 2,
        };
        let nodes = out.entry(id).or_default();
        nodes.extend(g.nodes.iter().map(|n| (rank, n.name.clone())));
    }
    out.into_iter()
        .map(|(id, mut v)| {
            v.sort_by_key(|(rank, _)| *rank);
            (id, v.into_iter().map(|(_, n)| n).collect())
        })
        .collect()
}

impl LiveChain {
    pub fn new(
        provider: Arc<dyn Provider>,
        relay_nodes: Vec<NodeName>,
        sudo: Option<SecretString>,
        root: Option<SecretString>,
    ) -> Self {
        LiveChain {
            provider,
            relay_nodes,
            sudo,
            root,
            connect: ConnectOptions {
                connect_timeout: Duration::from_secs(5),
                request_timeout: Duration::from_secs(30),
                attempts: 1,
                backoff: Duration::from_millis(500),
                storage_page_size: 1000,
            },
            submit: SubmitOptions::default(),
            client: tokio::sync::Mutex::new(None),
            para_nodes: BTreeMap::new(),
            para_clients: tokio::sync::Mutex::new(BTreeMap::new()),
            derived_keys: BTreeSet::new(),
        }
    }

    /// Nodes whose session keys are derived and inserted, never rotated.
    pub fn with_derived_keys(mut self, nodes: BTreeSet<NodeName>) -> Self {
        self.derived_keys = nodes;
        self
    }

    /// The nodes to reach each para through (see [`para_preference`]).
    pub fn with_para_nodes(mut self, nodes: BTreeMap<ParaId, Vec<NodeName>>) -> Self {
        self.para_nodes = nodes;
        self
    }

    /// Nodes of `para`: the configured ones, else those of the provider's
    /// workloads on that para.
    async fn para_candidates(&self, para: ParaId) -> Result<Vec<NodeName>, OpError> {
        if let Some(nodes) = self.para_nodes.get(&para).filter(|n| !n.is_empty()) {
            return Ok(nodes.clone());
        }
        let workloads = self.provider.observe_workloads(&BTreeMap::new()).await?;
        Ok(workloads
            .values()
            .filter(|w| {
                w.spec
                    .as_ref()
                    .is_some_and(|s| s.chain_side == ChainSide::Para(para))
            })
            .flat_map(|w| w.nodes.iter().map(|n| n.name.clone()))
            .collect())
    }

    /// A client of `para`'s chain, checked to run that para id.
    async fn para_client(&self, para: ParaId) -> Result<ChainClient, OpError> {
        let mut guard = self.para_clients.lock().await;
        if let Some(c) = guard.get(&para).filter(|c| c.is_connected()) {
            return Ok(c.clone());
        }
        let nodes = self.para_candidates(para).await?;
        let mut errors = Vec::new();
        for node in &nodes {
            let endpoint = match self.provider.rpc_endpoint(node) {
                Ok(e) => e,
                Err(e) => {
                    errors.push(format!("{node}: {e}"));
                    continue;
                }
            };
            match ChainClient::connect(&endpoint, &self.connect).await {
                Ok(c) => {
                    // A node of another para would get our sudo calls: refuse it.
                    if let Some(other) = read::para_id(&c).await?.filter(|id| *id != para) {
                        return Err(OpError::Invalid(format!(
                            "{node} ({endpoint}) runs para {other} (ParachainInfo.ParachainId), not para {para}: \
                             give the para's chain spec the id {para}, or fix the para id in the desired state"
                        )));
                    }
                    guard.insert(para, c.clone());
                    return Ok(c);
                }
                Err(e) => errors.push(format!("{node}: {e}")),
            }
        }
        if nodes.is_empty() {
            return Err(OpError::Invalid(format!(
                "no node of para {para} is known: the para's collators must run (a group with \
                 chain = para {para}) before paraform can reach its chain"
            )));
        }
        Err(OpError::Chain(crate::chain::ChainError::Connect {
            endpoint: format!("para {para}"),
            attempts: nodes.len() as u32,
            reason: format!("no node of para {para} answered: {}", errors.join("; ")),
        }))
    }

    async fn client_for(&self, side: ChainSide) -> Result<ChainClient, OpError> {
        match side {
            ChainSide::Relay => self.client().await,
            ChainSide::Para(id) => self.para_client(id).await,
        }
    }

    async fn client(&self) -> Result<ChainClient, OpError> {
        let mut guard = self.client.lock().await;
        if let Some(c) = guard.as_ref().filter(|c| c.is_connected()) {
            return Ok(c.clone());
        }
        let mut last = None;
        for node in &self.relay_nodes {
            let Ok(endpoint) = self.provider.rpc_endpoint(node) else {
                continue;
            };
            match ChainClient::connect(&endpoint, &self.connect).await {
                Ok(c) => {
                    *guard = Some(c.clone());
                    return Ok(c);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) => OpError::Chain(e),
            None => OpError::Invalid("no relay node of this network has an RPC endpoint".into()),
        })
    }

    async fn node(&self, node: &NodeName) -> Result<NodeRpc, OpError> {
        let endpoint = self.provider.rpc_endpoint(node)?;
        Ok(NodeRpc::connect(&endpoint, &self.connect).await?)
    }

    fn keypair(&self, signer: &SignerRole) -> Result<subxt_signer::sr25519::Keypair, OpError> {
        match signer {
            SignerRole::Sudo => {
                let s = self.sudo.as_ref().ok_or_else(|| {
                    OpError::Secret("[secrets] sudo is not set for this network".into())
                })?;
                keys::keypair(s, "sudo").map_err(|e| OpError::Secret(e.to_string()))
            }
            SignerRole::Stash(node) => keys::keypair(
                &keys::stash_suri(self.root()?, node.as_str()),
                "derivation_root",
            )
            .map_err(|e| OpError::Secret(e.to_string())),
            SignerRole::Collator(node) => keys::keypair(
                &keys::collator_suri(self.root()?, node.as_str()),
                "derivation_root",
            )
            .map_err(|e| OpError::Secret(e.to_string())),
            SignerRole::Dev(key) => keys::keypair(&keys::dev_suri(key), "dev key")
                .map_err(|e| OpError::Secret(e.to_string())),
        }
    }

    fn root(&self) -> Result<&SecretString, OpError> {
        self.root.as_ref().ok_or_else(|| {
            OpError::Secret("[secrets] derivation_root is not set for this network".into())
        })
    }
}

#[async_trait::async_trait]
impl ChainOps for LiveChain {
    async fn relay(&self, accounts: &[AccountId]) -> Result<ChainState, OpError> {
        let c = self.client().await?;
        Ok(read::observe_relay(&c, accounts).await?)
    }

    async fn relay_detailed(&self) -> Result<(ChainState, RelayDetails), OpError> {
        let c = self.client().await?;
        Ok(read::observe_relay_detailed(&c, &[]).await?)
    }

    async fn para(&self, para: ParaId, accounts: &[AccountId]) -> Result<ParachainState, OpError> {
        let c = self.para_client(para).await?;
        Ok(read::observe_para(&c, accounts).await?)
    }

    async fn para_genesis(&self, para: ParaId) -> Result<ParaGenesis, OpError> {
        let c = self.para_client(para).await?;
        Ok(node_rpc::para_genesis(&c).await?)
    }

    async fn find_submission(&self, record: &SubmissionRecord) -> Result<Landing, OpError> {
        let c = self.client_for(record.chain).await?;
        Ok(match submit::find_submission(&c, record).await? {
            SubmissionStatus::Landed { outcome, .. } => {
                Landing::Landed(outcome.map_err(|e| e.to_string()))
            }
            SubmissionStatus::NotLanded { .. } => Landing::Pending,
            SubmissionStatus::Expired { reason } => Landing::Expired(reason),
        })
    }

    async fn rotate_keys(
        &self,
        node: &NodeName,
        owner: &AccountId,
    ) -> Result<GeneratedKeys, OpError> {
        use crate::chain::session_keys::{self, KeySource, AURA_SESSION_KEYS, RELAY_SESSION_KEYS};
        let rpc = self.node(node).await?;
        // Collators of the paras paraform runs (penpal, asset hubs: the
        // parachain template's `SessionKeys { aura }`) hold one aura key.
        let slots = if self.para_nodes.values().any(|nodes| nodes.contains(node)) {
            AURA_SESSION_KEYS
        } else {
            RELAY_SESSION_KEYS
        };
        let root = self.root.as_ref();
        if self.derived_keys.contains(node) {
            let root = root.ok_or_else(|| {
                OpError::Secret(format!(
                    "{node} has session_keys = \"derived\": set [secrets] derivation_root"
                ))
            })?;
            let keys =
                session_keys::insert_derived_session_keys(&rpc, root, node.as_str(), owner, slots)
                    .await?;
            return Ok(keys);
        }
        let (keys, source) =
            session_keys::obtain_session_keys(&rpc, owner, root.map(|r| (r, node.as_str())), slots)
                .await?;
        if source == KeySource::Inserted {
            tracing::warn!(
                "{node} has no author_rotateKeysWithOwner: inserted session keys derived from the root instead"
            );
        }
        Ok(keys)
    }

    async fn has_session_keys(&self, node: &NodeName, keys: &[u8]) -> Result<bool, OpError> {
        Ok(self.node(node).await?.has_session_keys(keys).await?)
    }

    fn signer_account(&self, signer: &SignerRole) -> Result<AccountId, OpError> {
        Ok(AccountId(self.keypair(signer)?.public_key().0))
    }

    async fn submit(
        &self,
        intent_id: &str,
        signer: &SignerRole,
        intent: &Intent,
        recorder: &dyn Recorder,
    ) -> Result<(), OpError> {
        let pair = self.keypair(signer)?;
        let call = intent.call()?;
        let chain = intent.chain();
        let c = self.client_for(chain).await?;
        let target = Target {
            client: &c,
            chain,
            options: &self.submit,
            recorder,
        };
        submit::submit(&target, &pair, intent_id, &call).await?;
        Ok(())
    }
}
