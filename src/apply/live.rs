//! [`ChainOps`] over the real chain layer (`src/chain`): connects lazily to
//! the first relay node that answers (a fresh network has no chain until its
//! nodes run), reconnects when the connection drops, and resolves signers
//! from secret references only when a transaction needs them.

use super::ops::{ChainOps, Intent, Landing, OnRecord, OpError, SignerRole};
use crate::chain::client::{ChainClient, ConnectOptions};
use crate::chain::keys;
use crate::chain::node_rpc::{GeneratedKeys, NodeRpc};
use crate::chain::submit::{self, SubmissionRecord, SubmissionStatus, SubmitOptions};
use crate::chain::{calls, read};
use crate::observe::model::ChainState;
use crate::provider::Provider;
use crate::spec::ids::{AccountId, NodeName};
use secrecy::SecretString;
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
            SignerRole::Stash(node) => {
                let root = self.root.as_ref().ok_or_else(|| {
                    OpError::Secret("[secrets] derivation_root is not set for this network".into())
                })?;
                keys::keypair(&keys::stash_suri(root, node.as_str()), "derivation_root")
                    .map_err(|e| OpError::Secret(e.to_string()))
            }
        }
    }
}

fn call_of(intent: &Intent) -> Result<calls::Call, OpError> {
    Ok(match intent {
        Intent::Fund(t) => calls::fund(t)?,
        Intent::SetKeys { keys, proof } => calls::set_keys(keys, proof),
        Intent::RegisterValidators(v) => calls::sudo(calls::register_validators(v)),
        Intent::DeregisterValidators(v) => calls::sudo(calls::deregister_validators(v)),
    })
}

#[async_trait::async_trait]
impl ChainOps for LiveChain {
    async fn relay(&self, accounts: &[AccountId]) -> Result<ChainState, OpError> {
        let c = self.client().await?;
        Ok(read::observe_relay(&c, accounts).await?)
    }

    async fn find_submission(&self, record: &SubmissionRecord) -> Result<Landing, OpError> {
        let c = self.client().await?;
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
        Ok(self.node(node).await?.rotate_keys_with_owner(owner).await?)
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
        on_record: OnRecord<'_>,
    ) -> Result<(), OpError> {
        let pair = self.keypair(signer)?;
        let call = call_of(intent)?;
        let c = self.client().await?;
        submit::submit(&c, &pair, intent_id, &call, &self.submit, on_record).await?;
        Ok(())
    }
}
