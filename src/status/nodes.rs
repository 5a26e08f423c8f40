//! Nodes view: every desired node, then nodes that run but are no longer
//! desired, with what the provider and the node's RPC said.

use crate::observe::model::{ObservedNode, ObservedNodeProcess, ObservedWorkload};
use crate::observe::Observed;
use crate::spec::ids::{ChainSide, GroupName, NodeName};
use crate::spec::model::{Desired, ProviderKind, Role};
use serde::Serialize;

/// Where the node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// A process on this machine (local provider).
    Local,
    /// A pod of the network's namespace (kubernetes provider).
    InCluster,
}

/// What the provider says about the node's process / pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessState {
    Running,
    /// Exists (data, pod object) but not running.
    Stopped,
    /// Desired, but the provider has no such node.
    Missing,
}

/// Whether the node's RPC answered the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RpcState {
    Reachable,
    Unreachable,
    /// Not probed (not running, or no endpoint known).
    NotProbed,
}

/// One-word summary for tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Running, RPC up, not major-syncing.
    Ready,
    /// Running, RPC up, major-syncing.
    Syncing,
    /// Running, RPC up, sync state unknown.
    Up,
    /// Running but its RPC did not answer.
    RpcDown,
    /// Running, not probed.
    Running,
    Stopped,
    Missing,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Ready => "ready",
            NodeState::Syncing => "syncing",
            NodeState::Up => "up",
            NodeState::RpcDown => "rpc-down",
            NodeState::Running => "running",
            NodeState::Stopped => "stopped",
            NodeState::Missing => "missing",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeRow {
    pub node: NodeName,
    pub group: GroupName,
    /// `None` for a node not in the desired state whose spec was not recorded.
    pub role: Option<Role>,
    pub chain: ChainSide,
    /// In the desired state (false: left over, removed by the next apply).
    pub desired: bool,
    pub location: Location,
    /// Image (kubernetes) or command (local) the node runs: the recorded live
    /// spec when there is one, else the desired one.
    pub binary: Option<String>,
    /// `system_version` reported by the node.
    pub version: Option<String>,
    pub process: ProcessState,
    pub rpc: RpcState,
    pub endpoint: Option<String>,
    pub state: NodeState,
    pub syncing: Option<bool>,
    pub best_block: Option<u64>,
    pub finalized_block: Option<u64>,
    pub peers: Option<u32>,
    pub peer_id: Option<String>,
}

pub(super) fn rows(desired: &Desired, observed: &Observed) -> Vec<NodeRow> {
    let location = match desired.provider {
        ProviderKind::Local => Location::Local,
        ProviderKind::Kubernetes { .. } => Location::InCluster,
    };
    let mut rows = Vec::new();
    for group in &desired.groups {
        let workload = observed.workloads.get(&group.name);
        for node in &group.nodes {
            let process = workload.and_then(|w| w.nodes.iter().find(|p| p.name == node.name));
            let binary = workload
                .filter(|_| process.is_some())
                .and_then(live_binary)
                .or_else(|| Some(binary_of(desired, group.image.as_ref(), &group.command)));
            rows.push(row(
                node.name.clone(),
                group.name.clone(),
                Some(group.role),
                group.chain,
                true,
                location,
                binary,
                process,
                observed.nodes.get(&node.name),
            ));
        }
    }
    // Nodes that run but are not desired (a removed group, a scaled-down replica).
    for (group, workload) in &observed.workloads {
        let desired_group = desired.group(group);
        for p in &workload.nodes {
            let is_desired =
                desired_group.is_some_and(|g| g.nodes.iter().any(|n| n.name == p.name));
            if is_desired {
                continue;
            }
            let spec = workload.spec.as_ref();
            rows.push(row(
                p.name.clone(),
                group.clone(),
                spec.map(|s| s.role).or(desired_group.map(|g| g.role)),
                spec.map(|s| s.chain_side)
                    .or(desired_group.map(|g| g.chain))
                    .unwrap_or(ChainSide::Relay),
                false,
                location,
                live_binary(workload),
                Some(p),
                observed.nodes.get(&p.name),
            ));
        }
    }
    rows
}

fn binary_of(desired: &Desired, image: Option<&String>, command: &str) -> String {
    match (&desired.provider, image) {
        (ProviderKind::Kubernetes { .. }, Some(image)) => image.clone(),
        _ => command.to_string(),
    }
}

fn live_binary(w: &ObservedWorkload) -> Option<String> {
    w.spec
        .as_ref()
        .map(|s| s.image.clone().unwrap_or_else(|| s.command.clone()))
}

#[allow(clippy::too_many_arguments)]
fn row(
    node: NodeName,
    group: GroupName,
    role: Option<Role>,
    chain: ChainSide,
    desired: bool,
    location: Location,
    binary: Option<String>,
    process: Option<&ObservedNodeProcess>,
    probe: Option<&ObservedNode>,
) -> NodeRow {
    let process = match process {
        None => ProcessState::Missing,
        Some(p) if p.running => ProcessState::Running,
        Some(_) => ProcessState::Stopped,
    };
    // A probe only counts for a running node; values only from an answer.
    let probe = probe.filter(|_| process == ProcessState::Running);
    let rpc = match probe {
        None => RpcState::NotProbed,
        Some(p) if p.rpc_reachable => RpcState::Reachable,
        Some(_) => RpcState::Unreachable,
    };
    let answered = probe.filter(|p| p.rpc_reachable);
    let syncing = answered.and_then(|p| p.syncing);
    let state = match (process, rpc, syncing) {
        (ProcessState::Missing, _, _) => NodeState::Missing,
        (ProcessState::Stopped, _, _) => NodeState::Stopped,
        (_, RpcState::NotProbed, _) => NodeState::Running,
        (_, RpcState::Unreachable, _) => NodeState::RpcDown,
        (_, RpcState::Reachable, Some(false)) => NodeState::Ready,
        (_, RpcState::Reachable, Some(true)) => NodeState::Syncing,
        (_, RpcState::Reachable, None) => NodeState::Up,
    };
    NodeRow {
        node,
        group,
        role,
        chain,
        desired,
        location,
        binary,
        version: answered.and_then(|p| p.version.clone()),
        process,
        rpc,
        endpoint: probe.and_then(|p| p.endpoint.clone()),
        state,
        syncing,
        best_block: answered.and_then(|p| p.best_block),
        finalized_block: answered.and_then(|p| p.finalized_block),
        peers: answered.and_then(|p| p.peers),
        peer_id: answered.and_then(|p| p.peer_id.clone()),
    }
}
