//! Providers run the nodes of a network: local processes or Kubernetes
//! workloads. The executor and the observer talk to them only through
//! [`Provider`], so both providers share one reconciliation loop.

pub mod health;
pub mod kubernetes;
pub mod local;

use crate::observe::model::ObservedWorkload;
use crate::spec::ids::{AccountId, ChainSide, GroupName, NodeName};
use crate::spec::model::{Desired, Group, Role};
use crate::spec::workload::WorkloadSpec;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot find the binary `{command}`: {hint}")]
    BinaryNotFound { command: String, hint: String },
    #[error("cannot start {node}: {reason}")]
    Start { node: NodeName, reason: String },
    #[error("{node} exited right after start (exit status {status}); last log lines:\n{log_tail}")]
    Exited {
        node: NodeName,
        status: String,
        log_tail: String,
    },
    #[error("{node} did not stop within {after:?}")]
    Stop { node: NodeName, after: Duration },
    #[error("{nodes} not ready within {after:?}: {reason}")]
    NotReady {
        nodes: String,
        after: Duration,
        reason: String,
    },
    #[error("no node named {0} is known to this provider")]
    UnknownNode(NodeName),
    #[error("corrupt provider record {}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("`{command}` failed: {reason}")]
    Command { command: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

impl ProviderError {
    /// Worth retrying after a pause (readiness, flaky process start).
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::NotReady { .. })
    }
}

/// One group's workload to create or update.
#[derive(Clone, Debug)]
pub struct WorkloadRequest {
    pub spec: WorkloadSpec,
    /// The desired nodes of the group (names in index order).
    pub nodes: Vec<NodeName>,
    /// Accounts of those nodes (public keys only), recorded so that a node
    /// removed from the desired state can still be deregistered.
    pub accounts: BTreeMap<NodeName, AccountId>,
    /// Dev keys (`alice`, …) of genesis authority nodes.
    pub dev_keys: BTreeMap<NodeName, String>,
    /// Rolling updates: at most this many running nodes restarted at once (≥ 1).
    pub max_unavailable: u32,
    /// How long to wait for a restarted batch before restarting the next.
    pub ready_timeout: Duration,
}

impl WorkloadRequest {
    /// The request for `nodes` of a group running `spec`, with the accounts
    /// and dev keys the desired state gives those nodes.
    pub fn new(
        desired: &Desired,
        spec: WorkloadSpec,
        nodes: Vec<NodeName>,
        max_unavailable: u32,
        ready_timeout: Duration,
    ) -> Self {
        let mut accounts = BTreeMap::new();
        let mut dev_keys = BTreeMap::new();
        for n in nodes.iter().filter_map(|n| desired.node(n)) {
            if let Some(a) = &n.account {
                accounts.insert(n.name.clone(), a.clone());
            }
            if let Some(k) = &n.dev_key {
                dev_keys.insert(n.name.clone(), k.clone());
            }
        }
        WorkloadRequest {
            spec,
            nodes,
            accounts,
            dev_keys,
            max_unavailable,
            ready_timeout,
        }
    }

    /// A desired group as it should run: what a drift check compares the
    /// live objects with. Validator groups roll within the BFT bound.
    pub fn for_group(desired: &Desired, group: &Group) -> Self {
        let validators = desired.all_validators().count();
        let width = if group.role == Role::Validator && group.chain == ChainSide::Relay {
            u32::try_from((validators.saturating_sub(1) / 3).max(1)).unwrap_or(u32::MAX)
        } else {
            1
        };
        Self::new(
            desired,
            WorkloadSpec::for_group(desired, group),
            group.nodes.iter().map(|n| n.name.clone()).collect(),
            width,
            Duration::from_secs(300),
        )
    }
}

#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// `local` | `kubernetes`, for messages.
    fn name(&self) -> &'static str;

    /// Every workload paraform owns in this network (one listing). Accounts
    /// known to the caller fill `ObservedNodeProcess::account` where the
    /// provider has none recorded.
    async fn observe_workloads(
        &self,
        accounts: &BTreeMap<NodeName, AccountId>,
    ) -> Result<BTreeMap<GroupName, ObservedWorkload>, ProviderError>;

    /// Create or update a group's workload (rolling, `max_unavailable` at a
    /// time, waiting for readiness between batches). Nodes of the group that
    /// are not in `req.nodes` are removed.
    async fn apply_workload(&self, req: &WorkloadRequest) -> Result<(), ProviderError>;

    /// Stop and remove every node of a group, and its record.
    async fn delete_workload(&self, group: &GroupName) -> Result<(), ProviderError>;

    /// Wait until the nodes run, answer RPC, are not major-syncing and have
    /// a peer (when the network has more than one node).
    async fn wait_ready(&self, nodes: &[NodeName], timeout: Duration) -> Result<(), ProviderError>;

    /// The WebSocket RPC endpoint of a node (`ws://…`).
    fn rpc_endpoint(&self, node: &NodeName) -> Result<String, ProviderError>;

    /// Of these groups (existing, spec unchanged), the objects that differ
    /// from what applying the request would make of them: changes made
    /// outside paraform. Providers whose records cannot drift apart from the
    /// recorded spec report none.
    async fn out_of_sync(
        &self,
        _requests: &[WorkloadRequest],
    ) -> Result<BTreeMap<GroupName, Vec<String>>, ProviderError> {
        Ok(BTreeMap::new())
    }

    /// Run a one-off command of a group's binary (e.g. `export-genesis-head`)
    /// and return its stdout.
    async fn run_once(
        &self,
        spec: &WorkloadSpec,
        args: &[String],
        timeout: Duration,
    ) -> Result<Vec<u8>, ProviderError>;
}
