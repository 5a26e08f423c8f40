//! Plan data: steps with actions and reasons, edges, pending effects, safety.

use crate::spec::ids::*;
use crate::spec::model::{ChannelId, Consensus, GenesisSource, HrmpChannel, OnboardMode};
use crate::spec::workload::WorkloadSpec;
use serde::{Deserialize, Serialize};

pub const PLAN_FORMAT_VERSION: u32 = 1;

/// Stable, human-readable step id, e.g. `workload.validator-a`,
/// `keys.validator-a-0`, `validators.register`, `para.2000.onboard`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StepId(pub String);

impl StepId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `workload.<group>`
    pub fn workload(group: &GroupName) -> Self {
        Self(format!("workload.{group}"))
    }
    /// `gate.<group>`
    pub fn gate(group: &GroupName) -> Self {
        Self(format!("gate.{group}"))
    }
    /// `fund`
    pub fn fund() -> Self {
        Self("fund".into())
    }
    /// `keys.<node>`
    pub fn keys(node: &NodeName) -> Self {
        Self(format!("keys.{node}"))
    }
    /// `validators.register`
    pub fn validators_register() -> Self {
        Self("validators.register".into())
    }
    /// `validators.deregister`
    pub fn validators_deregister() -> Self {
        Self("validators.deregister".into())
    }
    /// `para.<id>.onboard`
    pub fn para_onboard(para: ParaId) -> Self {
        Self(format!("para.{para}.onboard"))
    }
    /// `para.<id>.offboard`
    pub fn para_offboard(para: ParaId) -> Self {
        Self(format!("para.{para}.offboard"))
    }
    /// `collators.<id>.register` (invulnerables).
    pub fn collators_register(para: ParaId) -> Self {
        Self(format!("collators.{para}.register"))
    }
    /// `collators.<id>.candidates.register` (candidates register themselves).
    pub fn collators_register_candidates(para: ParaId) -> Self {
        Self(format!("collators.{para}.candidates.register"))
    }
    /// `collators.<id>.fund`: collator accounts topped up on the para.
    pub fn collators_fund(para: ParaId) -> Self {
        Self(format!("collators.{para}.fund"))
    }
    /// `collators.<id>.keys.<node>`: a collator's session keys on the para.
    pub fn collator_keys(para: ParaId, node: &NodeName) -> Self {
        Self(format!("collators.{para}.keys.{node}"))
    }
    /// `collators.<id>.deregister`
    pub fn collators_deregister(para: ParaId) -> Self {
        Self(format!("collators.{para}.deregister"))
    }
    /// `hrmp.<sender>-<recipient>.open`
    pub fn hrmp_open(id: &ChannelId) -> Self {
        Self(format!("hrmp.{}-{}.open", id.sender, id.recipient))
    }
    /// `hrmp.<para>.clean`: every channel of the para closed (some reopened).
    pub fn hrmp_clean(para: ParaId) -> Self {
        Self(format!("hrmp.{para}.clean"))
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Terraform's action symbols: `+` create, `~` update, `-` delete, `-/+` replace,
/// `<=` wait/read (health gates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    Replace,
    Wait,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Replace => "-/+",
            Action::Wait => "<=",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadOp {
    Create,
    Update,
    Delete,
}

/// A (label, account) pair: the node a chain account belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub node: NodeName,
    pub account: AccountId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub node: NodeName,
    pub to: AccountId,
    /// Amount to send (target minus observed free balance).
    #[serde(with = "crate::spec::ids::serde_balance")]
    pub amount: Balance,
}

/// What a step does. Every input the executor needs is here, or is named in
/// `Step::known_after_apply()` and resolved (never chosen) when the step runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepKind {
    /// Create/update/delete a group's workload (processes or StatefulSet & co).
    Workload {
        group: GroupName,
        op: WorkloadOp,
        nodes: Vec<NodeName>,
        /// Live spec (update/delete).
        from: Option<WorkloadSpec>,
        /// Desired spec (create/update).
        to: Option<WorkloadSpec>,
        /// Rolling updates: at most this many nodes down at once.
        max_unavailable: u32,
    },
    /// Wait until the nodes answer RPC, are synced and have peers.
    HealthGate {
        group: GroupName,
        nodes: Vec<NodeName>,
    },
    /// `Utility.batch_all(Balances.transfer_keep_alive…)` from the sudo account.
    Fund {
        transfers: Vec<Transfer>,
    },
    /// `author_rotateKeysWithOwner` on the node, then `Session.set_keys(keys, proof)`
    /// signed by the stash. Keys are known after apply.
    SetKeys {
        node: NodeName,
        stash: AccountId,
    },
    /// `Sudo(Utility.batch_all(ValidatorManager.register_validators))` (PoA) or
    /// `Staking.bond + validate` per stash (PoS).
    RegisterValidators {
        consensus: Consensus,
        members: Vec<Member>,
    },
    /// `ValidatorManager.deregister_validators` (PoA) or `Staking.chill` (PoS).
    DeregisterValidators {
        consensus: Consensus,
        members: Vec<Member>,
    },
    /// `ParasSudoWrapper.sudo_schedule_para_initialize` (+ core assignment).
    OnboardPara {
        para: ParaId,
        mode: OnboardMode,
        genesis: GenesisSource,
    },
    /// `ParasSudoWrapper.sudo_schedule_para_cleanup`.
    OffboardPara {
        para: ParaId,
    },
    /// `Utility.batch_all(Balances.transfer_keep_alive…)` on the para, from
    /// the network's sudo key (the para's funding key): collators pay their
    /// fees (and a candidate its bond) on the para, not on the relay.
    FundCollators {
        para: ParaId,
        transfers: Vec<Transfer>,
    },
    /// `author_rotateKeysWithOwner` on the collator, then
    /// `Session.set_keys(keys, proof)` on the para signed by the collator
    /// account. Keys are known after apply.
    SetCollatorKeys {
        para: ParaId,
        node: NodeName,
        account: AccountId,
    },
    /// `CollatorSelection` invulnerables / candidates on the para.
    RegisterCollators {
        para: ParaId,
        invulnerable: bool,
        members: Vec<Member>,
    },
    DeregisterCollators {
        para: ParaId,
        members: Vec<Member>,
    },
    /// `Sudo.sudo(Hrmp.force_open_hrmp_channel)` on the relay: the channel
    /// opens at the next session change.
    OpenHrmpChannel {
        channel: HrmpChannel,
    },
    /// `Sudo.sudo(Utility.batch_all(Hrmp.force_clean_hrmp(para), Hrmp.force_open_hrmp_channel…))`:
    /// the relay's root cannot close one channel (`hrmp_close_channel`
    /// takes a para origin), so every channel of `para` is removed and the
    /// desired ones among them (`reopen`) requested again, open at the next
    /// session change.
    CleanHrmp {
        para: ParaId,
        /// Channels of `para` that go away (not desired, or other limits).
        close: Vec<ChannelId>,
        reopen: Vec<HrmpChannel>,
    },
}

impl StepKind {
    /// `Pallet.call(...)` trees this step submits (see [`super::kind`]).
    pub fn calls(&self) -> Vec<String> {
        self.describe().calls
    }

    /// Whether this step submits extrinsics (and so is journaled).
    pub fn submits(&self) -> bool {
        self.describe().chain.is_some()
    }
}

/// When an effect lands at a session boundary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eta {
    /// Effective at this session index (e.g. N+2 for validator set changes).
    pub session: Option<u32>,
    /// Human text, e.g. "effective at session 14 (~2 min)".
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: StepId,
    pub action: Action,
    pub kind: StepKind,
    /// Why: "not in Session.Validators", "spec changed: image", "not in desired state".
    pub reason: String,
    /// Steps that must be done first.
    pub depends_on: Vec<StepId>,
    pub eta: Option<Eta>,
}

impl Step {
    /// Inputs only known once the step runs (shown as `(known after
    /// apply)`), as its kind declares them.
    pub fn known_after_apply(&self) -> Vec<super::kind::Resolved> {
        self.kind.describe().resolves
    }
}

/// An effect already submitted that lands at a session boundary: not drift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub subject: String,
    pub what: String,
    pub eta: Option<Eta>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SafetyRule {
    /// More than ⌊(n−1)/3⌋ active validators offline or out of the set at once.
    ByzantineBound,
    /// An onboarded para would be left without any collator.
    ParaWithoutCollator,
    /// The network's genesis (relay chain spec) would be replaced.
    GenesisReplaced,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyViolation {
    pub rule: SafetyRule,
    pub message: String,
}

/// What the plan was made against, for the staleness check of a saved plan.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fingerprint {
    pub block_hash: Option<HexHash>,
    pub block_number: Option<u64>,
    /// Workload generations by group.
    pub workloads: std::collections::BTreeMap<GroupName, u64>,
    /// Digests of each group's objects, where the provider has them
    /// (Kubernetes: an edited Service moves no generation).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub objects: std::collections::BTreeMap<GroupName, String>,
    /// sha256 over everything observed that the plan depends on.
    pub digest: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub network: NetworkName,
    pub steps: Vec<Step>,
    pub pending: Vec<Pending>,
    pub safety: Vec<SafetyViolation>,
    pub fingerprint: Fingerprint,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn step(&self, id: &StepId) -> Option<&Step> {
        self.steps.iter().find(|s| &s.id == id)
    }

    /// Terraform's counts: replace counts as one add and one destroy; waits are not counted.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for step in &self.steps {
            match step.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1
                }
                Action::Wait => {}
            }
        }
        s
    }
}
