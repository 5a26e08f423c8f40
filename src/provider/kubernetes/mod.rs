//! The Kubernetes provider: a group is a StatefulSet plus its Services,
//! Secrets and ConfigMaps (see [`manifests`]), applied with server-side
//! apply under the field manager `paraform` ([`ssa`]), observed with one
//! LIST per kind ([`observe`]), reached through per-pod Services in the
//! cluster or port-forwards from outside ([`remote`]).

pub mod manifests;
pub mod observe;
pub mod remote;
pub mod secrets;
pub mod ssa;

use self::manifests::{
    bootnode_addr, chain_source, group_selector, public_addr_of_service, ChainSource, Kind,
    Manifest, RenderInput, RenderOptions, LABEL_POD_NAME, P2P_PORT, RELAY_P2P_PORT, RPC_PORT,
};
use self::ssa::{Applier, ApplyOutcome, ObjectDiff, SsaError};
use super::{Provider, ProviderError, WorkloadRequest};
use crate::observe::model::ObservedWorkload;
use crate::provider::local::nodekey::NodeKey;
use crate::spec::ids::{AccountId, ChainSide, GroupName, NetworkName, NodeName};
use crate::spec::model::{ChainRef, Desired, Exposure, NodeKeyPolicy, ProviderKind, Role};
use crate::spec::workload::WorkloadSpec;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::{Api, ListParams};
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The client configuration for the cluster named by `kubeconfig` (or,
/// without one, by `KUBECONFIG`, `~/.kube/config` or the in-cluster service
/// account), optionally with another context. `in_cluster` without a
/// kubeconfig or context means the pod's service account only (a stray
/// `~/.kube/config` in an image must not redirect a drift job). The state
/// backend keeps it to release its lock with a client of its own.
pub async fn load_config(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    in_cluster: bool,
) -> Result<kube::Config, ProviderError> {
    let err = |reason: String| ProviderError::Command {
        command: "connect to the Kubernetes API".into(),
        reason,
    };
    let opts = kube::config::KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let mut config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| err(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| err(format!("{}: {e}", path.display())))?
        }
        None if context.is_some() => kube::Config::from_kubeconfig(&opts)
            .await
            .map_err(|e| err(e.to_string()))?,
        None if in_cluster => kube::Config::incluster().map_err(|e| {
            err(format!(
                "--in-cluster: {e} (it needs a pod's service account: \
                 KUBERNETES_SERVICE_HOST/PORT and a token under \
                 /var/run/secrets/kubernetes.io/serviceaccount; outside a pod, drop \
                 --in-cluster or pass --kubeconfig)"
            ))
        })?,
        None => kube::Config::infer()
            .await
            .map_err(|e| err(e.to_string()))?,
    };
    // paraform never watches: a request that hangs is an error, soon (kube's
    // defaults, 30 s to connect and 295 s to read, suit long watches).
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    Ok(config)
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A client for [`load_config`]'s cluster.
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Client, ProviderError> {
    let config = load_config(kubeconfig, context, false).await?;
    Client::try_from(config).map_err(|e| ProviderError::Command {
        command: "connect to the Kubernetes API".into(),
        reason: e.to_string(),
    })
}

/// Objects dry-run at once within a group.
const DRY_RUN_CONCURRENCY: usize = 16;

/// Tunables that are not part of the desired state.
#[derive(Clone, Debug)]
pub struct KubernetesOptions {
    pub render: RenderOptions,
    /// Take over fields another field manager owns (`--force-conflicts`).
    pub force_conflicts: bool,
    /// Running inside the cluster: reach node RPC through Service DNS
    /// instead of port-forwards through the API server.
    pub in_cluster: bool,
    /// `wait_ready` also probes each node's RPC (`system_health`).
    pub rpc_health: bool,
    /// `apply_workload` waits for the StatefulSet's rollout.
    pub wait_rollout: bool,
    pub poll: Duration,
}

impl Default for KubernetesOptions {
    fn default() -> Self {
        KubernetesOptions {
            render: RenderOptions::default(),
            force_conflicts: false,
            in_cluster: false,
            rpc_health: true,
            wait_rollout: true,
            poll: Duration::from_secs(2),
        }
    }
}

#[derive(Clone, Debug)]
struct GroupInfo {
    rpc: Exposure,
    node_key: NodeKeyPolicy,
    nodes: Vec<NodeName>,
}

pub struct KubernetesProvider {
    client: Client,
    namespace: String,
    network: NetworkName,
    net_dir: PathBuf,
    groups: BTreeMap<GroupName, GroupInfo>,
    node_group: BTreeMap<NodeName, GroupName>,
    /// Bootnodes by chain: role `bootnode` groups, else genesis authorities
    /// (relay), else the first node of the chain's first group.
    bootnodes: BTreeMap<ChainSide, Vec<(GroupName, NodeName)>>,
    options: KubernetesOptions,
    forwards: std::sync::Mutex<BTreeMap<NodeName, u16>>,
}

impl KubernetesProvider {
    /// A provider for `desired` in its namespace (`provider = "kubernetes"`).
    pub fn new(
        desired: &Desired,
        client: Client,
        options: KubernetesOptions,
    ) -> Result<Self, ProviderError> {
        let namespace = match &desired.provider {
            ProviderKind::Kubernetes { namespace } => namespace.clone(),
            ProviderKind::Local => {
                return Err(ProviderError::Invalid(format!(
                    "the network {} uses the local provider, not kubernetes",
                    desired.network
                )))
            }
        };
        Self::in_namespace(desired, client, namespace, options)
    }

    /// The same in a namespace of the caller's choice (tests, overrides).
    pub fn in_namespace(
        desired: &Desired,
        client: Client,
        namespace: impl Into<String>,
        options: KubernetesOptions,
    ) -> Result<Self, ProviderError> {
        let mut groups = BTreeMap::new();
        let mut node_group = BTreeMap::new();
        for g in &desired.groups {
            for n in &g.nodes {
                node_group.insert(n.name.clone(), g.name.clone());
            }
            groups.insert(
                g.name.clone(),
                GroupInfo {
                    rpc: g.rpc,
                    node_key: g.node_key,
                    nodes: g.nodes.iter().map(|n| n.name.clone()).collect(),
                },
            );
        }
        // Object names must not collide: a group named like another group's pod
        // would share its per-pod Service name with that group's headless Service.
        for g in groups.keys() {
            if let Some(owner) = node_group.get(&NodeName::new(g.as_str())) {
                return Err(ProviderError::Invalid(format!(
                    "the group {g} is named like a node of the group {owner}; their Services would collide: rename one"
                )));
            }
        }
        let mut bootnodes: BTreeMap<ChainSide, Vec<(GroupName, NodeName)>> = BTreeMap::new();
        let sides: BTreeSet<ChainSide> = desired.groups.iter().map(|g| g.chain).collect();
        for side in sides {
            let of_side: Vec<_> = desired.groups.iter().filter(|g| g.chain == side).collect();
            let pick =
                |f: &dyn Fn(&&crate::spec::model::Group) -> bool| -> Vec<(GroupName, NodeName)> {
                    of_side
                        .iter()
                        .filter(|g| f(g))
                        .flat_map(|g| g.nodes.iter().map(|n| (g.name.clone(), n.name.clone())))
                        .collect()
                };
            let mut list = pick(&|g| g.role == Role::Bootnode);
            if list.is_empty() && side == ChainSide::Relay {
                list = pick(&|g| g.genesis_authorities);
            }
            if list.is_empty() {
                list.extend(
                    of_side
                        .iter()
                        .find_map(|g| g.nodes.first().map(|n| (g.name.clone(), n.name.clone()))),
                );
            }
            bootnodes.insert(side, list);
        }
        Ok(KubernetesProvider {
            client,
            namespace: namespace.into(),
            network: desired.network.clone(),
            net_dir: desired.source.dir.clone(),
            groups,
            node_group,
            bootnodes,
            options,
            forwards: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn applier(&self) -> Applier {
        let mut a = Applier::new(
            self.client.clone(),
            self.namespace.clone(),
            self.network.clone(),
        );
        a.force_conflicts = self.options.force_conflicts;
        a
    }

    fn k8s_err(what: &str, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::Command {
            command: what.to_string(),
            reason: e.to_string(),
        }
    }

    fn ssa_err(e: SsaError) -> ProviderError {
        match e {
            e @ (SsaError::Conflict { .. }
            | SsaError::Foreign { .. }
            | SsaError::Invalid { .. }) => ProviderError::Invalid(e.to_string()),
            e => ProviderError::Command {
                command: "server-side apply".into(),
                reason: e.to_string(),
            },
        }
    }

    fn chain_source(&self, chain: &ChainRef) -> Result<ChainSource, ProviderError> {
        chain_source(chain, |p| {
            let path = Path::new(p);
            let path = if path.is_absolute() {
                path.to_path_buf()
            } else {
                self.net_dir.join(path)
            };
            std::fs::read_to_string(path)
        })
        .map_err(ProviderError::Invalid)
    }

    /// Node keys of the network's groups as they stand: derived ones are
    /// computed, generated ones read from their Secrets (one LIST).
    async fn known_node_keys(&self) -> Result<BTreeMap<NodeName, NodeKey>, ProviderError> {
        let mut keys = BTreeMap::new();
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let lp = ListParams::default().labels(&manifests::network_selector(&self.network));
        let listed = secrets
            .list(&lp)
            .await
            .map_err(|e| Self::k8s_err("list Secrets", e))?;
        for s in listed.items {
            let Some(name) = s.metadata.name.as_deref() else {
                continue;
            };
            if !name.ends_with("-node-keys") {
                continue;
            }
            for (node, v) in s.data.unwrap_or_default() {
                if let Some(k) = std::str::from_utf8(&v.0).ok().and_then(NodeKey::parse_hex) {
                    keys.insert(NodeName::new(node), k);
                }
            }
        }
        for info in self.groups.values() {
            if info.node_key == NodeKeyPolicy::Derived {
                for n in &info.nodes {
                    keys.insert(n.clone(), NodeKey::derived(&self.network, n));
                }
            }
        }
        Ok(keys)
    }

    fn bootnode_addrs(
        &self,
        side: ChainSide,
        port: u16,
        keys: &BTreeMap<NodeName, NodeKey>,
    ) -> Vec<String> {
        self.bootnodes
            .get(&side)
            .into_iter()
            .flatten()
            .filter_map(|(g, n)| {
                let key = keys.get(n)?;
                Some(bootnode_addr(
                    n.as_str(),
                    g.as_str(),
                    &self.namespace,
                    port,
                    &key.peer_id(),
                ))
            })
            .collect()
    }

    /// The public addresses the group's p2p Services give its pods (one LIST).
    async fn public_addrs(
        &self,
        group: &GroupName,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let services: Api<Service> = Api::namespaced(self.client.clone(), &self.namespace);
        let lp = ListParams::default().labels(&group_selector(&self.network, group.as_str()));
        let listed = services
            .list(&lp)
            .await
            .map_err(|e| Self::k8s_err("list Services", e))?;
        let mut out = BTreeMap::new();
        for svc in listed.items {
            let Some(name) = svc.metadata.name.clone() else {
                continue;
            };
            let Some(pod) = svc
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_POD_NAME))
                .cloned()
            else {
                continue;
            };
            let v = serde_json::to_value(&svc).unwrap_or_default();
            if name == manifests::p2p_service_name(&pod) {
                if let Some(a) = public_addr_of_service(&v, P2P_PORT) {
                    out.insert(pod, a);
                }
            } else if name == manifests::relay_p2p_service_name(&pod) {
                if let Some(a) = public_addr_of_service(&v, RELAY_P2P_PORT) {
                    out.insert(format!("{pod}.relay"), a);
                }
            }
        }
        Ok(out)
    }

    /// Whether the cluster serves prometheus-operator's ServiceMonitor (one
    /// discovery request); `None` when the group asks for none.
    async fn service_monitor_served(
        &self,
        spec: &WorkloadSpec,
    ) -> Result<Option<bool>, ProviderError> {
        if spec.kubernetes.service_monitor.is_none() {
            return Ok(None);
        }
        match self
            .client
            .list_api_group_resources("monitoring.coreos.com/v1")
            .await
        {
            Ok(list) => Ok(Some(
                list.resources.iter().any(|r| r.name == "servicemonitors"),
            )),
            Err(kube::Error::Api(r)) if r.code == 404 => Ok(Some(false)),
            Err(e) => Err(Self::k8s_err("discover monitoring.coreos.com/v1", e)),
        }
    }

    /// Everything rendering needs that lives in the cluster, and the render.
    async fn render(
        &self,
        req: &WorkloadRequest,
        public_addrs: &BTreeMap<String, String>,
        keys: &BTreeMap<NodeName, NodeKey>,
    ) -> Result<Vec<Manifest>, ProviderError> {
        let spec = &req.spec;
        let chain = self.chain_source(&spec.chain)?;
        let relay = match &spec.relay_chain {
            Some(r) => Some(self.chain_source(r)?),
            None => None,
        };
        let para_id = match spec.chain_side {
            ChainSide::Para(id) => Some(id),
            ChainSide::Relay => None,
        };
        let bootnodes = self.bootnode_addrs(spec.chain_side, P2P_PORT, keys);
        let relay_bootnodes = if relay.is_some() {
            self.bootnode_addrs(ChainSide::Relay, P2P_PORT, keys)
        } else {
            Vec::new()
        };
        let mut options = self.options.render.clone();
        options.caps.service_monitor = self.service_monitor_served(spec).await? == Some(true);
        let input = RenderInput {
            network: &self.network,
            namespace: &self.namespace,
            spec,
            nodes: &req.nodes,
            para_id,
            dev_keys: &req.dev_keys,
            accounts: &req.accounts,
            node_keys: keys,
            chain: &chain,
            relay_chain: relay.as_ref(),
            bootnodes: &bootnodes,
            relay_bootnodes: &relay_bootnodes,
            public_addrs,
            max_unavailable: req.max_unavailable,
            options: &options,
        };
        manifests::render_group(&input).map_err(|e| ProviderError::Invalid(e.to_string()))
    }

    /// The node keys for a request: known ones kept, missing generated ones created.
    async fn node_keys_for(
        &self,
        req: &WorkloadRequest,
    ) -> Result<BTreeMap<NodeName, NodeKey>, ProviderError> {
        let mut keys = self.known_node_keys().await?;
        for n in &req.nodes {
            if !keys.contains_key(n) {
                let k = match req.spec.node_key {
                    NodeKeyPolicy::Derived => NodeKey::derived(&self.network, n),
                    NodeKeyPolicy::Generated => {
                        NodeKey::generate().map_err(|e| ProviderError::Io {
                            what: "cannot read random bytes from",
                            path: "/dev/urandom".into(),
                            source: e,
                        })?
                    }
                };
                keys.insert(n.clone(), k);
            }
        }
        Ok(keys)
    }

    /// The server's view of applying a group (`dryRun=All`): one diff per
    /// object, including server defaulting. Nothing is changed. Generated
    /// node keys that do not exist yet show as a changed Secret.
    pub async fn plan_workload(
        &self,
        req: &WorkloadRequest,
    ) -> Result<Vec<ObjectDiff>, ProviderError> {
        self.dry_run_group(req, self.options.force_conflicts).await
    }

    /// The same as if fields other managers took (`kubectl edit`) were
    /// taken back (`apply --force-conflicts`): paraform's values against
    /// the live ones. Drift checks use it, so an edit shows as a change
    /// instead of failing the check with a conflict.
    pub async fn plan_workload_forced(
        &self,
        req: &WorkloadRequest,
    ) -> Result<Vec<ObjectDiff>, ProviderError> {
        self.dry_run_group(req, true).await
    }

    async fn dry_run_group(
        &self,
        req: &WorkloadRequest,
        force: bool,
    ) -> Result<Vec<ObjectDiff>, ProviderError> {
        let keys = self.node_keys_for(req).await?;
        let addrs = self.public_addrs(&req.spec.group).await?;
        let objects = self.render(req, &addrs, &keys).await?;
        let mut applier = self.applier();
        applier.force_conflicts = force;
        // Independent requests (a GET and a dry-run PATCH per object): a
        // bounded number in flight, results in render order.
        let mut out = Vec::with_capacity(objects.len());
        for chunk in objects.chunks(DRY_RUN_CONCURRENCY) {
            let diffs = futures::future::try_join_all(chunk.iter().map(|m| applier.diff(m)))
                .await
                .map_err(Self::ssa_err)?;
            out.extend(diffs);
        }
        if self.service_monitor_served(&req.spec).await? == Some(false) {
            out.push(ObjectDiff {
                id: format!("ServiceMonitor/{}/{}", self.namespace, req.spec.group),
                change: ssa::DiffKind::Skipped,
                diff: "the cluster has no ServiceMonitor CRD (monitoring.coreos.com/v1); \
                       install prometheus-operator's CRDs, or remove service_monitor"
                    .into(),
            });
        }
        Ok(out)
    }

    /// Apply a group's objects; returns what happened to each (by id).
    pub async fn apply_group(
        &self,
        req: &WorkloadRequest,
    ) -> Result<Vec<(String, ApplyOutcome)>, ProviderError> {
        let keys = self.node_keys_for(req).await?;
        let applier = self.applier();
        let mut outcomes = Vec::new();
        let addrs0 = self.public_addrs(&req.spec.group).await?;
        let mut objects = self.render(req, &addrs0, &keys).await?;
        // Secrets, ConfigMaps and Services first: the pods mount and announce them.
        for m in objects.iter().filter(|m| m.kind != Kind::StatefulSet) {
            outcomes.push((m.id(), applier.apply(m).await.map_err(Self::ssa_err)?));
        }
        if req.spec.p2p != Exposure::None {
            let addrs1 = self.public_addrs(&req.spec.group).await?;
            if addrs1 != addrs0 {
                objects = self.render(req, &addrs1, &keys).await?;
                for m in objects
                    .iter()
                    .filter(|m| m.name == manifests::public_addrs_name(req.spec.group.as_str()))
                {
                    let first = outcomes
                        .iter()
                        .position(|(id, _)| id == &m.id())
                        .map(|i| outcomes.remove(i).1);
                    let now = applier.apply(m).await.map_err(Self::ssa_err)?;
                    // Created a moment ago with no addresses: still "created".
                    let outcome = if first == Some(ApplyOutcome::Created) {
                        ApplyOutcome::Created
                    } else {
                        now
                    };
                    outcomes.push((m.id(), outcome));
                }
            }
        }
        for m in objects.iter().filter(|m| m.kind == Kind::StatefulSet) {
            let outcome = match applier.apply(m).await {
                Ok(o) => o,
                Err(e) if e.is_immutable_change() => {
                    // Storage or selector changed: re-create the StatefulSet,
                    // keeping pods and volumes (adopted by the new one).
                    tracing::info!(
                        "{}: immutable fields changed; re-creating it (pods and volumes kept)",
                        m.id()
                    );
                    applier
                        .orphan_delete(m.kind, &m.name)
                        .await
                        .map_err(Self::ssa_err)?;
                    applier.apply(m).await.map_err(Self::ssa_err)?;
                    ApplyOutcome::Updated
                }
                Err(e) => return Err(Self::ssa_err(e)),
            };
            outcomes.push((m.id(), outcome));
        }
        // Objects of the group that are no longer rendered (removed nodes' Services …).
        let keep: BTreeSet<(Kind, String)> =
            objects.iter().map(|m| (m.kind, m.name.clone())).collect();
        for id in applier
            .prune(
                &group_selector(&self.network, req.spec.group.as_str()),
                &keep,
            )
            .await
            .map_err(Self::ssa_err)?
        {
            tracing::info!("pruned {id}");
        }
        Ok(outcomes)
    }

    async fn statefulsets(&self) -> Result<BTreeMap<String, StatefulSet>, ProviderError> {
        let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), &self.namespace);
        let lp = ListParams::default().labels(&manifests::network_selector(&self.network));
        let list = api
            .list(&lp)
            .await
            .map_err(|e| Self::k8s_err("list StatefulSets", e))?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|s| Some((s.metadata.name.clone()?, s)))
            .collect())
    }

    /// Wait for the rollout of the given groups; `Err(reason)` on timeout.
    async fn wait_rollout(
        &self,
        groups: &BTreeSet<String>,
        timeout: Duration,
    ) -> Result<(), ProviderError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let sts = self.statefulsets().await?;
            let mut pending = Vec::new();
            for g in groups {
                match sts.get(g).map(observe::rollout) {
                    Some(observe::Rollout::Done) => {}
                    Some(observe::Rollout::Progressing(why)) => pending.push(format!("{g}: {why}")),
                    None => pending.push(format!("{g}: no StatefulSet")),
                }
            }
            if pending.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ProviderError::NotReady {
                    nodes: groups.iter().cloned().collect::<Vec<_>>().join(", "),
                    after: timeout,
                    reason: pending.join("; "),
                });
            }
            tokio::time::sleep(self.options.poll).await;
        }
    }

    fn group_of(&self, node: &NodeName) -> Result<&GroupName, ProviderError> {
        self.node_group
            .get(node)
            .ok_or_else(|| ProviderError::UnknownNode(node.clone()))
    }
}

#[async_trait::async_trait]
impl Provider for KubernetesProvider {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    async fn observe_workloads(
        &self,
        accounts: &BTreeMap<NodeName, AccountId>,
    ) -> Result<BTreeMap<GroupName, ObservedWorkload>, ProviderError> {
        let listing = observe::list(&self.client, &self.namespace, &self.network)
            .await
            .map_err(|e| Self::k8s_err("list workloads", e))?;
        Ok(observe::workloads(&listing, accounts))
    }

    async fn apply_workload(&self, req: &WorkloadRequest) -> Result<(), ProviderError> {
        let outcomes = self.apply_group(req).await?;
        let changed = outcomes.iter().any(|(_, o)| *o != ApplyOutcome::Unchanged);
        if self.options.wait_rollout && changed {
            // The StatefulSet controller restarts one pod at a time (within
            // any BFT bound); each pod gets `ready_timeout`.
            let timeout = req.ready_timeout.saturating_mul(req.spec.replicas.max(1));
            let groups = [req.spec.group.to_string()].into_iter().collect();
            self.wait_rollout(&groups, timeout).await?;
        }
        Ok(())
    }

    async fn delete_workload(&self, group: &GroupName) -> Result<(), ProviderError> {
        // Volumes (PVCs) are kept, as StatefulSets and Helm keep them: chain
        // data and keystores survive a group's removal until deleted by hand.
        self.applier()
            .prune(
                &group_selector(&self.network, group.as_str()),
                &BTreeSet::new(),
            )
            .await
            .map_err(Self::ssa_err)?;
        Ok(())
    }

    async fn wait_ready(&self, nodes: &[NodeName], timeout: Duration) -> Result<(), ProviderError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let groups: BTreeSet<String> = nodes
            .iter()
            .map(|n| self.group_of(n).map(|g| g.to_string()))
            .collect::<Result<_, _>>()?;
        self.wait_rollout(&groups, timeout).await?;
        if !self.options.rpc_health {
            return Ok(());
        }
        let want_peers = self.node_group.len() > 1;
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        super::health::poll_until_ready(nodes, remaining, self.options.poll, |pending| async move {
            let mut still = Vec::new();
            for n in pending {
                let http = self.rpc_endpoint(&n)?.replacen("ws://", "http://", 1);
                if let Err(why) = super::health::node_ready(&n, &http, want_peers).await {
                    still.push((n, why));
                }
            }
            Ok(still)
        })
        .await
    }

    fn rpc_endpoint(&self, node: &NodeName) -> Result<String, ProviderError> {
        let group = self.group_of(node)?;
        if self.options.in_cluster {
            let rpc = self
                .groups
                .get(group)
                .map(|g| g.rpc)
                .unwrap_or(Exposure::None);
            return Ok(if rpc == Exposure::None {
                format!(
                    "ws://{}:{RPC_PORT}",
                    manifests::pod_dns(node.as_str(), group.as_str(), &self.namespace)
                )
            } else {
                // The per-pod Service, as Parity's chart and testnet-manager name it.
                format!("ws://{node}.{}:{RPC_PORT}", self.namespace)
            });
        }
        let mut forwards = self
            .forwards
            .lock()
            .map_err(|_| ProviderError::Invalid("port-forward table poisoned".into()))?;
        if let Some(port) = forwards.get(node) {
            return Ok(format!("ws://127.0.0.1:{port}"));
        }
        let port = remote::spawn_forwarder(
            self.client.clone(),
            self.namespace.clone(),
            node.to_string(),
            RPC_PORT,
        )
        .map_err(|e| ProviderError::Io {
            what: "cannot listen for a port-forward on",
            path: "127.0.0.1".into(),
            source: e,
        })?;
        forwards.insert(node.clone(), port);
        Ok(format!("ws://127.0.0.1:{port}"))
    }

    async fn out_of_sync(
        &self,
        requests: &[WorkloadRequest],
    ) -> Result<BTreeMap<GroupName, Vec<String>>, ProviderError> {
        // Dry-runs of several groups at once: one GET + one PATCH per object.
        let mut diffs: Vec<(GroupName, Vec<ObjectDiff>)> = Vec::new();
        for chunk in requests.chunks(8) {
            let done =
                futures::future::try_join_all(chunk.iter().map(|r| self.plan_workload_forced(r)))
                    .await?;
            diffs.extend(chunk.iter().map(|r| r.spec.group.clone()).zip(done));
        }
        Ok(diffs
            .into_iter()
            .filter_map(|(group, diffs)| {
                let ids: Vec<String> = diffs
                    .into_iter()
                    .filter(|d| {
                        !matches!(d.change, ssa::DiffKind::NoChange | ssa::DiffKind::Skipped)
                    })
                    .map(|d| d.id)
                    .collect();
                (!ids.is_empty()).then_some((group, ids))
            })
            .collect())
    }

    async fn run_once(
        &self,
        spec: &WorkloadSpec,
        args: &[String],
        timeout: Duration,
    ) -> Result<Vec<u8>, ProviderError> {
        // The image (and its chain spec) live in the cluster: run the command
        // in the group's first pod.
        let pod = NodeName::of(&spec.group, 0);
        let mut command = vec![spec.command.clone()];
        command.extend(args.iter().cloned());
        remote::exec(
            self.client.clone(),
            &self.namespace,
            pod.as_str(),
            command.clone(),
            timeout,
        )
        .await
        .map_err(|reason| ProviderError::Command {
            command: command.join(" "),
            reason,
        })
    }
}
