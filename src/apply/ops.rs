//! What the executor needs from a chain, as one small trait: the live
//! implementation ([`super::live::LiveChain`]) talks to real nodes through
//! `src/chain`; tests use an in-memory double to inject failures.

use crate::chain::calls::ParaKind;
use crate::chain::error::ChainError;
use crate::chain::node_rpc::{GeneratedKeys, ParaGenesis};
use crate::chain::read::RelayDetails;
use crate::chain::submit::{Recorder, SubmissionRecord};
use crate::observe::model::{ChainState, ParachainState};
use crate::provider::ProviderError;
use crate::spec::ids::{AccountId, Balance, ChainSide, NodeName, ParaId};
use crate::state::StateError;

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

/// The core a parachain is given when it is onboarded: rococo-like runtimes
/// never assign one by themselves (docs/chain.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreAssignment {
    pub core: u16,
    /// Relay block from which the core is the para's.
    pub begin: u32,
    /// `Configuration.set_coretime_cores(n)` first, when the core does not exist yet.
    pub set_cores: Option<u32>,
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
    /// `Sudo.sudo(ParasSudoWrapper.sudo_schedule_para_initialize(para, genesis))`
    /// on the relay. (polkadot 1.25's rococo also gives a parachain a core
    /// there; where a runtime does not, [`Intent::AssignCore`] follows.)
    OnboardPara {
        para: ParaId,
        kind: ParaKind,
        genesis_head: Vec<u8>,
        validation_code: Vec<u8>,
    },
    /// `Sudo.sudo([Utility.batch_all(Configuration.set_coretime_cores,]
    /// Coretime.assign_core))` on the relay.
    AssignCore { para: ParaId, core: CoreAssignment },
    /// `Sudo.sudo(ParasSudoWrapper.sudo_schedule_para_cleanup(para))` on the relay.
    OffboardPara(ParaId),
    /// `Sudo.sudo(Utility.batch_all(CollatorSelection.add_invulnerable …))` on the para.
    AddInvulnerables { para: ParaId, who: Vec<AccountId> },
    /// `Sudo.sudo(Utility.batch_all(CollatorSelection.remove_invulnerable …))` on the para.
    RemoveInvulnerables { para: ParaId, who: Vec<AccountId> },
    /// `CollatorSelection.register_as_candidate()` on the para, signed by the collator.
    RegisterCandidate { para: ParaId },
    /// [`Intent::Fund`] on the para.
    FundPara {
        para: ParaId,
        transfers: Vec<(AccountId, Balance)>,
    },
    /// `Session.set_keys(keys, proof)` on the para, signed by the collator.
    SetParaKeys {
        para: ParaId,
        keys: Vec<u8>,
        proof: Vec<u8>,
    },
}

impl Intent {
    pub fn describe(&self) -> String {
        match self {
            Intent::Fund(t) => format!("fund {} account(s)", t.len()),
            Intent::SetKeys { .. } => "Session.set_keys".into(),
            Intent::RegisterValidators(v) => format!("register {} validator(s)", v.len()),
            Intent::DeregisterValidators(v) => format!("deregister {} validator(s)", v.len()),
            Intent::OnboardPara {
                para,
                kind,
                validation_code,
                ..
            } => {
                let kind = match kind {
                    ParaKind::Parachain => "parachain",
                    ParaKind::Parathread => "parathread",
                };
                format!(
                    "onboard para {para} as a {kind} ({} bytes of code)",
                    validation_code.len()
                )
            }
            Intent::AssignCore { para, core } => {
                format!("assign core {} to para {para}", core.core)
            }
            Intent::OffboardPara(para) => format!("offboard para {para}"),
            Intent::AddInvulnerables { para, who } => {
                format!("add {} invulnerable(s) on para {para}", who.len())
            }
            Intent::RemoveInvulnerables { para, who } => {
                format!("remove {} invulnerable(s) on para {para}", who.len())
            }
            Intent::RegisterCandidate { para } => format!("register as candidate on para {para}"),
            Intent::FundPara { para, transfers } => {
                format!("fund {} account(s) on para {para}", transfers.len())
            }
            Intent::SetParaKeys { para, .. } => format!("Session.set_keys on para {para}"),
        }
    }

    /// The chain the intent is submitted to.
    pub fn chain(&self) -> ChainSide {
        match self {
            Intent::AddInvulnerables { para, .. }
            | Intent::RemoveInvulnerables { para, .. }
            | Intent::RegisterCandidate { para }
            | Intent::FundPara { para, .. }
            | Intent::SetParaKeys { para, .. } => ChainSide::Para(*para),
            _ => ChainSide::Relay,
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
