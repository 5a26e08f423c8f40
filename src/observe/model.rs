//! `Observed`: one snapshot of the live world (provider + chain + node RPCs).
//!
//! Serde types so that a snapshot can be recorded to JSON and planned against
//! offline (`paraform plan <net> --observed snapshot.json`).

use crate::spec::ids::*;
use crate::spec::model::ChannelId;
use crate::spec::workload::WorkloadSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const OBSERVED_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observed {
    pub format_version: u32,
    /// Workloads paraform owns in this network, keyed by group.
    #[serde(default)]
    pub workloads: BTreeMap<GroupName, ObservedWorkload>,
    /// Node RPC probes, keyed by node.
    #[serde(default)]
    pub nodes: BTreeMap<NodeName, ObservedNode>,
    /// The relay chain, read at one pinned finalized block.
    pub relay: ChainView,
    /// Para-side state (collator sets), keyed by para id.
    #[serde(default)]
    pub parachains: BTreeMap<ParaId, ParachainView>,
}

impl Observed {
    /// Nothing exists: no workloads, no chain (a fresh network).
    pub fn empty() -> Self {
        Observed {
            format_version: OBSERVED_FORMAT_VERSION,
            workloads: BTreeMap::new(),
            nodes: BTreeMap::new(),
            relay: ChainView::NotRunning,
            parachains: BTreeMap::new(),
        }
    }

    pub fn relay_state(&self) -> Option<&ChainState> {
        match &self.relay {
            ChainView::Live(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedWorkload {
    pub group: GroupName,
    /// sha256 of the canonical workload spec that was last applied.
    pub spec_hash: String,
    /// That spec itself, when the provider recorded it (for diffs).
    #[serde(default)]
    pub spec: Option<WorkloadSpec>,
    /// Provider generation (StatefulSet metadata.generation / local spec revision).
    pub generation: u64,
    /// Nodes of this group that exist (processes / pods), running or not.
    pub nodes: Vec<ObservedNodeProcess>,
    pub replicas: u32,
    pub ready_replicas: u32,
    /// Objects of an unchanged group that differ from what paraform would
    /// apply (Kubernetes: a server-side dry-run differs from the live
    /// object, e.g. after a `kubectl edit`), as `Kind/namespace/name`
    /// followed by the edited fields (`(spec.replicas, …)`) when known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out_of_sync: Vec<String>,
    /// Digest of the group's objects as they stand (Kubernetes), so that a
    /// saved plan notices any later edit of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects_digest: Option<String>,
}

impl ObservedWorkload {
    /// A group exactly as desired: its spec applied (generation 1), every
    /// node running with its account. What a converged network looks like,
    /// for snapshots and simulations.
    pub fn converged(desired: &crate::spec::Desired, group: &crate::spec::model::Group) -> Self {
        let spec = WorkloadSpec::for_group(desired, group);
        ObservedWorkload {
            group: group.name.clone(),
            spec_hash: spec.hash(),
            spec: Some(spec),
            generation: 1,
            nodes: group
                .nodes
                .iter()
                .map(|n| ObservedNodeProcess {
                    name: n.name.clone(),
                    running: true,
                    account: n.account.clone(),
                })
                .collect(),
            replicas: group.replicas,
            ready_replicas: group.replicas,
            out_of_sync: vec![],
            objects_digest: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedNodeProcess {
    pub name: NodeName,
    /// Process alive / pod running.
    pub running: bool,
    /// The chain account paraform derives for this node (stash / collator
    /// account), filled by the observer: lets the planner deregister nodes
    /// that are no longer desired without touching secrets.
    #[serde(default)]
    pub account: Option<AccountId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservedNode {
    pub name: NodeName,
    pub rpc_reachable: bool,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub syncing: Option<bool>,
    #[serde(default)]
    pub peers: Option<u32>,
    #[serde(default)]
    pub peer_id: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub best_block: Option<u64>,
    #[serde(default)]
    pub finalized_block: Option<u64>,
    /// `author_hasSessionKeys` for the keys on chain in `Session.NextKeys` of
    /// this node's account: `Some(false)` means the node lost its keystore.
    #[serde(default)]
    pub has_session_keys: Option<bool>,
}

impl ObservedNode {
    /// RPC up and not major-syncing.
    pub fn healthy(&self) -> bool {
        self.rpc_reachable && self.syncing == Some(false)
    }
}

/// What could be seen of a chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChainView {
    /// No node of it runs yet (fresh network): chain values are known after apply.
    NotRunning,
    /// Nodes exist but no RPC answered within the timeout.
    Unreachable {
        endpoint: String,
        error: String,
    },
    Live(ChainState),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainState {
    pub block_hash: HexHash,
    pub block_number: u64,
    pub session_index: u32,
    /// Blocks per session (epoch), for ETAs.
    #[serde(default)]
    pub session_length: Option<u32>,
    /// `Session.Validators`: the active set.
    pub validators: Vec<AccountId>,
    /// `Session.NextKeys`: account → SCALE-encoded session keys (hex).
    #[serde(default)]
    pub next_keys: BTreeMap<AccountId, String>,
    /// `Session.QueuedKeys`: accounts whose keys take effect next session.
    #[serde(default)]
    pub queued: Vec<AccountId>,
    /// PoA: `ValidatorManager.ValidatorsToAdd`.
    #[serde(default)]
    pub pending_add: Vec<AccountId>,
    /// PoA: `ValidatorManager.ValidatorsToRetire`.
    #[serde(default)]
    pub pending_retire: Vec<AccountId>,
    /// PoS: `Staking.Validators` keys (validator intents).
    #[serde(default)]
    pub staking_validators: Vec<AccountId>,
    /// PoS: stashes with a bond (`Staking.Bonded`).
    #[serde(default)]
    pub bonded: Vec<AccountId>,
    #[serde(default)]
    pub paras: BTreeMap<ParaId, ParaState>,
    /// Free balances of the accounts paraform derives (absent = no account).
    #[serde(default, with = "crate::spec::ids::serde_balance::map")]
    pub balances: BTreeMap<AccountId, Balance>,
    #[serde(default, with = "crate::spec::ids::serde_balance")]
    pub existential_deposit: Balance,
    #[serde(default)]
    pub sudo_key: Option<AccountId>,
    /// SS58 prefix of the chain (`System.SS58Prefix`).
    #[serde(default = "default_ss58")]
    pub ss58_prefix: u16,
    /// HRMP channels open, requested or closing (`Hrmp.HrmpChannels`,
    /// `HrmpOpenChannelRequests`, `HrmpCloseChannelRequests`), by id.
    #[serde(default)]
    pub hrmp: Vec<ObservedChannel>,
}

/// An HRMP channel as the relay chain has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedChannel {
    pub id: ChannelId,
    pub state: ChannelState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChannelState {
    /// Open, with the limits it was opened with.
    Open {
        max_capacity: u32,
        max_message_size: u32,
    },
    /// An open request: the channel opens at the next session change
    /// (once accepted; `force_open_hrmp_channel` accepts it at once).
    Requested,
    /// Open, with a close request: closed at the next session change.
    Closing,
}

impl ChainState {
    /// The relay's view of one channel, if it has any.
    pub fn channel(&self, id: &ChannelId) -> Option<ChannelState> {
        self.hrmp.iter().find(|c| &c.id == id).map(|c| c.state)
    }
}

fn default_ss58() -> u16 {
    42
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParaLifecycle {
    Onboarding,
    Parathread,
    Parachain,
    UpgradingParathread,
    DowngradingParachain,
    OffboardingParathread,
    OffboardingParachain,
}

impl ParaLifecycle {
    pub fn is_offboarding(self) -> bool {
        matches!(
            self,
            ParaLifecycle::OffboardingParachain | ParaLifecycle::OffboardingParathread
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParaState {
    pub lifecycle: ParaLifecycle,
    #[serde(default)]
    pub head: Option<HexHash>,
    #[serde(default)]
    pub code_hash: Option<HexHash>,
    /// Whether a core is assigned (coretime) so the para can produce blocks.
    #[serde(default)]
    pub has_core: Option<bool>,
}

/// Para-side view (read from a collator's RPC).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ParachainView {
    NotRunning,
    Unreachable { endpoint: String, error: String },
    Live(ParachainState),
}

/// A para read at one pinned finalized block of its own, through one of its
/// nodes: collator membership, the collator accounts' session keys and
/// balances on the para, and what the para authors with now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParachainState {
    pub block_hash: HexHash,
    pub block_number: u64,
    /// The para's `Session.CurrentIndex`.
    #[serde(default)]
    pub session_index: u32,
    /// Para blocks per session, where the runtime shows it (for ETAs):
    /// `CollatorSelection.KickThreshold`, which collator runtimes built from
    /// the parachain template (penpal, asset hub) set to the session period.
    #[serde(default)]
    pub session_length: Option<u32>,
    /// `Session.NextKeys` of the collator accounts asked for (hex SCALE).
    #[serde(default)]
    pub next_keys: BTreeMap<AccountId, String>,
    /// `Session.QueuedKeys` accounts: the collators of the next para session.
    #[serde(default)]
    pub queued: Vec<AccountId>,
    /// `Aura.Authorities` (hex sr25519 public keys): who authors now.
    #[serde(default)]
    pub aura_authorities: Vec<String>,
    /// `CollatorSelection.CandidacyBond`.
    #[serde(default, with = "crate::spec::ids::serde_balance")]
    pub candidacy_bond: Balance,
    /// Free balances on the para of the collator accounts asked for
    /// (absent = no account).
    #[serde(default, with = "crate::spec::ids::serde_balance::map")]
    pub balances: BTreeMap<AccountId, Balance>,
    /// `CollatorSelection.Invulnerables`.
    #[serde(default)]
    pub invulnerables: Vec<AccountId>,
    /// `CollatorSelection.CandidateList` accounts.
    #[serde(default)]
    pub candidates: Vec<AccountId>,
    #[serde(default)]
    pub desired_candidates: Option<u32>,
    /// `CollatorSelection.MinEligibleCollators` (a constant): an invulnerable
    /// is removed only while more eligible collators than this remain.
    #[serde(default)]
    pub min_eligible_collators: Option<u32>,
    #[serde(default)]
    pub sudo_key: Option<AccountId>,
}
