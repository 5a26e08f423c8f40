//! Observe the live network: one provider listing, node RPC probes
//! (concurrent, bounded, with timeouts), the relay chain read at one pinned
//! finalized block through the first relay node that answers, and the
//! session-key check of validator nodes.

use super::model::{ChainView, Observed, ParachainView, OBSERVED_FORMAT_VERSION};
use crate::chain::client::{ChainClient, ConnectOptions};
use crate::chain::node_rpc::{probe_nodes, NodeRpc};
use crate::chain::read;
use crate::provider::{Provider, ProviderError, WorkloadRequest};
use crate::spec::ids::{AccountId, ChainSide, NodeName};
use crate::spec::model::{Desired, Role};
use crate::spec::workload::WorkloadSpec;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("observing the workloads: {0}")]
    Provider(#[from] ProviderError),
}

#[derive(Clone, Debug)]
pub struct ObserveOptions {
    /// Node probes at once.
    pub concurrency: usize,
    pub connect: ConnectOptions,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        ObserveOptions {
            concurrency: 16,
            connect: ConnectOptions {
                connect_timeout: Duration::from_secs(3),
                request_timeout: Duration::from_secs(15),
                attempts: 1,
                backoff: Duration::from_millis(200),
                storage_page_size: 1000,
            },
        }
    }
}

/// Relay nodes in the order the executor and observer prefer them for
/// chain access: rpc nodes first, then genesis authorities, then the rest.
pub fn relay_preference(desired: &Desired) -> Vec<NodeName> {
    let rank = |g: &crate::spec::model::Group| match (g.role, g.genesis_authorities) {
        (Role::Rpc, _) => 0,
        (_, true) => 1,
        (Role::Full | Role::Bootnode, _) => 2,
        _ => 3,
    };
    let mut groups: Vec<_> = desired
        .groups
        .iter()
        .filter(|g| g.chain == ChainSide::Relay)
        .collect();
    groups.sort_by_key(|g| rank(g));
    groups
        .iter()
        .flat_map(|g| g.nodes.iter().map(|n| n.name.clone()))
        .collect()
}

pub async fn observe(
    desired: &Desired,
    provider: &dyn Provider,
    options: &ObserveOptions,
) -> Result<Observed, ObserveError> {
    let accounts: BTreeMap<NodeName, AccountId> = desired
        .nodes()
        .filter_map(|n| n.account.clone().map(|a| (n.name.clone(), a)))
        .collect();
    let mut workloads = provider.observe_workloads(&accounts).await?;

    // Groups whose recorded spec is the desired one: are their objects
    // still what paraform applied? (Kubernetes: server-side dry-runs.)
    let unchanged: Vec<WorkloadRequest> = desired
        .groups
        .iter()
        .filter(|g| {
            workloads.get(&g.name).is_some_and(|w| {
                w.replicas == g.replicas
                    && w.spec_hash == WorkloadSpec::for_group(desired, g).hash()
            })
        })
        .map(|g| WorkloadRequest::for_group(desired, g))
        .collect();
    if !unchanged.is_empty() {
        for (group, ids) in provider.out_of_sync(&unchanged).await? {
            if let Some(w) = workloads.get_mut(&group) {
                w.out_of_sync = ids;
            }
        }
    }

    // Chain side of every observed node (desired group, else the recorded spec).
    let mut side: BTreeMap<NodeName, ChainSide> = BTreeMap::new();
    for (g, w) in &workloads {
        let s = desired
            .group(g)
            .map(|g| g.chain)
            .or_else(|| w.spec.as_ref().map(|s| s.chain_side))
            .unwrap_or(ChainSide::Relay);
        for n in &w.nodes {
            side.insert(n.name.clone(), s);
        }
    }
    let running: Vec<(NodeName, String)> = workloads
        .values()
        .flat_map(|w| w.nodes.iter().filter(|n| n.running))
        .filter_map(|n| {
            provider
                .rpc_endpoint(&n.name)
                .ok()
                .map(|e| (n.name.clone(), e))
        })
        .collect();
    let mut nodes = probe_nodes(running, &options.connect, options.concurrency).await;

    // Relay chain: through the first reachable relay node, preferred order first.
    let relay_nodes: Vec<NodeName> = side
        .iter()
        .filter(|(_, s)| **s == ChainSide::Relay)
        .map(|(n, _)| n.clone())
        .collect();
    let relay = if relay_nodes.is_empty() {
        ChainView::NotRunning
    } else {
        let mut order = relay_preference(desired);
        order.extend(relay_nodes.iter().cloned());
        let mut seen = BTreeSet::new();
        order.retain(|n| relay_nodes.contains(n) && seen.insert(n.clone()));
        let mut all_accounts: Vec<AccountId> = accounts.values().cloned().collect();
        all_accounts.extend(
            workloads
                .values()
                .flat_map(|w| w.nodes.iter().filter_map(|n| n.account.clone())),
        );
        all_accounts.sort();
        all_accounts.dedup();
        read_relay(&order, &nodes, provider, &all_accounts, &options.connect).await
    };

    // Does each validator node hold the keys the chain has for its account?
    if let ChainView::Live(state) = &relay {
        let checks: Vec<(NodeName, String, Vec<u8>)> = workloads
            .values()
            .flat_map(|w| w.nodes.iter())
            .filter(|n| n.running)
            .filter_map(|n| {
                let keys = state.next_keys.get(n.account.as_ref()?)?;
                let bytes = hex::decode(keys.trim_start_matches("0x")).ok()?;
                Some((n.name.clone(), provider.rpc_endpoint(&n.name).ok()?, bytes))
            })
            .collect();
        let results = futures::future::join_all(checks.into_iter().map(|(name, ep, keys)| {
            let connect = options.connect.clone();
            async move {
                let r = match NodeRpc::connect(&ep, &connect).await {
                    Ok(rpc) => rpc.has_session_keys(&keys).await.ok(),
                    Err(_) => None,
                };
                (name, r)
            }
        }))
        .await;
        for (name, r) in results {
            if let Some(n) = nodes.get_mut(&name) {
                n.has_session_keys = r;
            }
        }
    }

    // Parachains: through a running collator of each.
    let mut parachains = BTreeMap::new();
    for p in &desired.parachains {
        let collators: Vec<&NodeName> = side
            .iter()
            .filter(|(_, s)| **s == ChainSide::Para(p.id))
            .map(|(n, _)| n)
            .collect();
        // Collator accounts on this para: desired nodes and running ones.
        let mut para_accounts: Vec<AccountId> = desired
            .groups
            .iter()
            .filter(|g| g.chain == ChainSide::Para(p.id))
            .flat_map(|g| g.nodes.iter().filter_map(|n| n.account.clone()))
            .collect();
        para_accounts.extend(
            workloads
                .values()
                .flat_map(|w| w.nodes.iter())
                .filter(|n| side.get(&n.name) == Some(&ChainSide::Para(p.id)))
                .filter_map(|n| n.account.clone()),
        );
        let view = if collators.is_empty() {
            ParachainView::NotRunning
        } else {
            let mut view = None;
            let mut last = (String::new(), String::from("no collator answered"));
            for n in collators {
                if !nodes.get(n).is_some_and(|o| o.rpc_reachable) {
                    continue;
                }
                let Ok(ep) = provider.rpc_endpoint(n) else {
                    continue;
                };
                match ChainClient::connect(&ep, &options.connect).await {
                    Ok(c) => match read::observe_para(&c, &para_accounts).await {
                        Ok(s) => {
                            view = Some(ParachainView::Live(s));
                            break;
                        }
                        Err(e) => last = (ep, e.to_string()),
                    },
                    Err(e) => last = (ep, e.to_string()),
                }
            }
            view.unwrap_or(ParachainView::Unreachable {
                endpoint: last.0,
                error: last.1,
            })
        };
        parachains.insert(p.id, view);
    }

    Ok(Observed {
        format_version: OBSERVED_FORMAT_VERSION,
        workloads,
        nodes: std::mem::take(&mut nodes),
        relay,
        parachains,
    })
}

async fn read_relay(
    order: &[NodeName],
    probes: &BTreeMap<NodeName, crate::observe::model::ObservedNode>,
    provider: &dyn Provider,
    accounts: &[AccountId],
    connect: &ConnectOptions,
) -> ChainView {
    let mut last: Option<(String, String)> = None;
    // Reachable nodes first; a node the probe could not reach is not tried.
    for n in order {
        let Ok(ep) = provider.rpc_endpoint(n) else {
            continue;
        };
        if !probes.get(n).is_some_and(|p| p.rpc_reachable) {
            last.get_or_insert((ep, "RPC not reachable".into()));
            continue;
        }
        match ChainClient::connect(&ep, connect).await {
            Ok(c) => match read::observe_relay(&c, accounts).await {
                Ok(s) => return ChainView::Live(s),
                Err(e) => last = Some((ep, e.to_string())),
            },
            Err(e) => last = Some((ep, e.to_string())),
        }
    }
    let (endpoint, error) =
        last.unwrap_or_else(|| ("(none)".into(), "no relay node has an RPC endpoint".into()));
    ChainView::Unreachable { endpoint, error }
}
