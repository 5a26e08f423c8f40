//! What the executor needs from a chain, as one small trait: the live
//! implementation ([`super::live::LiveChain`]) talks to real nodes through
//! `src/chain`; tests use an in-memory double to inject failures.

use crate::chain::error::ChainError;
use crate::chain::node_rpc::{GeneratedKeys, ParaGenesis};
use crate::chain::read::RelayDetails;
use crate::chain::submit::{Recorder, SubmissionRecord};
use crate::observe::model::{ChainState, ParachainState};
use crate::provider::ProviderError;
use crate::spec::ids::{AccountId, NodeName, ParaId};
use crate::state::StateError;

pub use crate::chain::intent::{CoreAssignment, Intent};

/// Who signs a transaction. Secrets are resolved by the implementation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerRole {
    /// The network's sudo key (`[secrets] sudo`).
    Sudo,
    /// A validator's stash, `<root>//<node>//stash`.
    Stash(NodeName),
    /// A collator's account, `<root>//collator//<node>`.
    Collator(NodeName),
    /// A built-in dev account (`alice` → `//Alice`), for dev-key nodes.
    Dev(String),
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

#[async_trait::async_trait]
pub trait ChainOps: Send + Sync {
    /// The relay chain at its latest finalized block (for precondition
    /// re-checks), with the balances of `accounts`.
    async fn relay(&self, accounts: &[AccountId]) -> Result<ChainState, OpError>;
    /// [`ChainOps::relay`] plus cores and registrations (onboarding picks a core).
    async fn relay_detailed(&self) -> Result<(ChainState, RelayDetails), OpError>;
    /// A parachain at its latest finalized block, read through one of its
    /// nodes, with the session keys and balances of `accounts` on it.
    async fn para(&self, para: ParaId, accounts: &[AccountId]) -> Result<ParachainState, OpError>;
    /// Block #0 of a parachain (SCALE header + `:code`), read through one of
    /// its nodes; fails if the node runs another para id.
    async fn para_genesis(&self, para: ParaId) -> Result<ParaGenesis, OpError>;
    /// Did a journaled submission land? (On the chain its record names.)
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
    /// Submit and wait for finality with the dispatch result checked; the
    /// recorder journals the submission before it is sent, and if it
    /// cannot, nothing is sent.
    async fn submit(
        &self,
        intent_id: &str,
        signer: &SignerRole,
        intent: &Intent,
        recorder: &dyn Recorder,
    ) -> Result<(), OpError>;
}
