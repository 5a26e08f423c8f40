//! What the executor needs from a chain, as one small trait: the live
//! implementation ([`super::live::LiveChain`]) talks to real nodes through
//! `src/chain`; tests use an in-memory double to inject failures.

use crate::chain::error::ChainError;
use crate::chain::node_rpc::GeneratedKeys;
use crate::chain::submit::SubmissionRecord;
use crate::observe::model::ChainState;
use crate::provider::ProviderError;
use crate::spec::ids::{AccountId, Balance, NodeName};
use crate::state::StateError;

/// Who signs a transaction. Secrets are resolved by the implementation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerRole {
    /// The network's sudo key (`[secrets] sudo`).
    Sudo,
    /// A validator's stash, `<root>//<node>//stash`.
    Stash(NodeName),
}

/// One chain change, as submitted (one extrinsic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// `Utility.batch_all(Balances.transfer_keep_alive …)` from the sudo account.
    Fund(Vec<(AccountId, Balance)>),
    /// `Session.set_keys(keys, proof)` signed by the stash.
    SetKeys { keys: Vec<u8>, proof: Vec<u8> },
    /// `Sudo.sudo(ValidatorManager.register_validators(stashes))`.
    RegisterValidators(Vec<AccountId>),
    /// `Sudo.sudo(ValidatorManager.deregister_validators(stashes))`.
    DeregisterValidators(Vec<AccountId>),
}

impl Intent {
    pub fn describe(&self) -> String {
        match self {
            Intent::Fund(t) => format!("fund {} account(s)", t.len()),
            Intent::SetKeys { .. } => "Session.set_keys".into(),
            Intent::RegisterValidators(v) => format!("register {} validator(s)", v.len()),
            Intent::DeregisterValidators(v) => format!("deregister {} validator(s)", v.len()),
        }
    }
}

/// Where a journaled submission stands.
#[derive(Debug)]
pub enum Landing {
    /// Finalized; `Err` carries its dispatch failure.
    Landed(Result<(), String>),
    /// May still land: wait, never resubmit.
    Pending,
    /// Can never land: resubmitting the intent is safe.
    Expired(String),
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    State(#[from] StateError),
    /// A secret is missing or unusable (never contains the value).
    #[error("{0}")]
    Secret(String),
    /// The executor cannot carry this step out (says what is missing).
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
}

impl OpError {
    /// Retrying may help: connections, timeouts, a node not ready yet.
    pub fn is_transient(&self) -> bool {
        match self {
            OpError::Chain(e) => e.is_transient(),
            OpError::Provider(e) => e.is_transient(),
            _ => false,
        }
    }
}

pub type OnRecord<'a> = &'a (dyn Fn(&SubmissionRecord) + Sync);

#[async_trait::async_trait]
pub trait ChainOps: Send + Sync {
    /// The relay chain at its latest finalized block (for precondition
    /// re-checks), with the balances of `accounts`.
    async fn relay(&self, accounts: &[AccountId]) -> Result<ChainState, OpError>;
    /// Did a journaled submission land?
    async fn find_submission(&self, record: &SubmissionRecord) -> Result<Landing, OpError>;
    /// `author_rotateKeysWithOwner(owner)` on the node.
    async fn rotate_keys(
        &self,
        node: &NodeName,
        owner: &AccountId,
    ) -> Result<GeneratedKeys, OpError>;
    /// `author_hasSessionKeys(keys)` on the node.
    async fn has_session_keys(&self, node: &NodeName, keys: &[u8]) -> Result<bool, OpError>;
    /// The account a signer role signs with (checks the plan's accounts).
    fn signer_account(&self, signer: &SignerRole) -> Result<AccountId, OpError>;
    /// Submit and wait for finality with the dispatch result checked;
    /// `on_record` runs before the transaction is sent (journal it there).
    async fn submit(
        &self,
        intent_id: &str,
        signer: &SignerRole,
        intent: &Intent,
        on_record: OnRecord<'_>,
    ) -> Result<(), OpError>;
}
