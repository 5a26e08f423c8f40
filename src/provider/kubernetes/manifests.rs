//! Pure rendering of a group's Kubernetes objects from its `WorkloadSpec`.
//!
//! No client, no I/O: everything that only exists in the cluster (allocated
//! node ports, load-balancer addresses, generated node keys) is an input.
//! Objects are built with k8s-openapi's typed structs and kept as JSON (the
//! exact fields sent in a server-side apply)
//! so nothing a 1.20 API server rejects is ever sent by accident: optional
//! fields newer than 1.20 appear only when [`ServerCaps`] allows them.
//!
//! Per group:
//! - a StatefulSet `<group>` (pods `<group>-<i>` = the node names),
//! - a headless Service `<group>` (stable pod DNS, used for bootnode addresses),
//! - per pod, a Service named like the pod for RPC (`<pod>.<ns>:9944`), when `rpc` ≠ None,
//! - per pod, a p2p Service `<pod>-p2p` (and `<pod>-relay-p2p` for collators), when `p2p` ≠ None,
//! - a Secret `<group>-node-keys` with one node key per pod,
//! - a ConfigMap `<group>-public-addrs` (the `--public-addr` of each pod),
//! - a ConfigMap `<group>-chain-spec` when a chain spec file is shipped inline.

use crate::provider::local::nodekey::NodeKey;
use crate::spec::ids::{AccountId, NetworkName, NodeName, ParaId};
use crate::spec::model::{AntiAffinity, ChainRef, EnvValue, Exposure, KeystoreKind, Role};
use crate::spec::workload::WorkloadSpec;
use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMap, ConfigMapKeySelector, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvVar, EnvVarSource, LocalObjectReference, ObjectFieldSelector,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus, PodAffinityTerm,
    PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    Secret, SecretKeySelector, SecretVolumeSource, Service, ServicePort, ServiceSpec,
    TCPSocketAction, Toleration, Volume, VolumeMount, VolumeResourceRequirements,
    WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::ByteString;
use serde_json::Value;
use std::collections::BTreeMap;

pub const RPC_PORT: u16 = 9944;
pub const RELAY_RPC_PORT: u16 = 9945;
pub const P2P_PORT: u16 = 30333;
pub const RELAY_P2P_PORT: u16 = 30334;
pub const PROMETHEUS_PORT: u16 = 9615;

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "paraform";

pub const LABEL_NETWORK: &str = "paraform.io/network";
pub const LABEL_GROUP: &str = "paraform.io/group";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_NAME: &str = "app.kubernetes.io/name";
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
pub const LABEL_POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
pub const ANN_SPEC_HASH: &str = "paraform.io/spec-hash";
pub const ANN_SPEC: &str = "paraform.io/spec";
pub const ANN_ACCOUNTS: &str = "paraform.io/accounts";
pub const ANN_PUBLIC_ADDRS_HASH: &str = "paraform.io/public-addrs-hash";
/// external-dns (as the chart sets them on per-pod Services).
pub const ANN_DNS_HOSTNAME: &str = "external-dns.alpha.kubernetes.io/hostname";
pub const ANN_DNS_TTL: &str = "external-dns.alpha.kubernetes.io/ttl";
pub const MANAGED_BY: &str = "paraform";
/// The chart's `app.kubernetes.io/name` (Parity's chart is called `node`).
pub const CHART_NAME: &str = "node";

/// The label selector of everything paraform owns in a network.
pub fn network_selector(network: &NetworkName) -> String {
    format!("{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_NETWORK}={network}")
}

/// The label selector of one group's objects.
pub fn group_selector(network: &NetworkName, group: &str) -> String {
    format!("{},{LABEL_GROUP}={group}", network_selector(network))
}

/// The kinds paraform renders, in the order they are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Secret,
    ConfigMap,
    Service,
    StatefulSet,
    Ingress,
    /// prometheus-operator's CRD: rendered only when the cluster serves it.
    ServiceMonitor,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Secret,
        Kind::ConfigMap,
        Kind::Service,
        Kind::StatefulSet,
        Kind::Ingress,
        Kind::ServiceMonitor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Secret => "Secret",
            Kind::ConfigMap => "ConfigMap",
            Kind::Service => "Service",
            Kind::StatefulSet => "StatefulSet",
            Kind::Ingress => "Ingress",
            Kind::ServiceMonitor => "ServiceMonitor",
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            Kind::StatefulSet => "apps/v1",
            Kind::Ingress => "networking.k8s.io/v1",
            Kind::ServiceMonitor => "monitoring.coreos.com/v1",
            _ => "v1",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rendered object.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub kind: Kind,
    pub name: String,
    /// The full object as sent in the apply (apiVersion, kind, metadata, …).
    pub object: Value,
    /// Holds secret material: never printed, never diffed by value.
    pub sensitive: bool,
}

impl Manifest {
    /// `StatefulSet/validator`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// What the API server supports beyond the 1.20 baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerCaps {
    /// `spec.updateStrategy.rollingUpdate.maxUnavailable` of StatefulSets
    /// (alpha gate `MaxUnavailableStatefulSet`, off by default): only when
    /// the operator says the gate is on. Without it the controller restarts
    /// one pod at a time, which is within every BFT bound.
    pub statefulset_max_unavailable: bool,
    /// The cluster serves prometheus-operator's `ServiceMonitor`
    /// (`monitoring.coreos.com/v1`, found by discovery).
    pub service_monitor: bool,
}

/// Where a node's `--chain` comes from inside the pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainSource {
    /// Built into the binary (`rococo-local`).
    BuiltIn(String),
    /// Downloaded by an init container.
    Url(String),
    /// A spec file shipped in the group's ConfigMap (small specs only).
    Inline { file_name: String, content: String },
}

impl ChainSource {
    /// The `chain` label value (as Parity's chart sets it).
    fn label(&self) -> String {
        let raw = match self {
            ChainSource::BuiltIn(n) => n.clone(),
            ChainSource::Url(u) => u.rsplit('/').next().unwrap_or(u).to_string(),
            ChainSource::Inline { file_name, .. } => file_name.clone(),
        };
        let raw = raw
            .trim_end_matches(".json")
            .trim_end_matches(".raw")
            .to_string();
        label_value(&raw)
    }
}

/// Tunables of rendering that are not part of the desired state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    /// Image of the init container that downloads chain specs (needs `wget`).
    pub download_image: String,
    /// Size of a keystore volume (`keystore = "volume"`).
    pub keystore_size: String,
    /// uid/gid the node runs as (Parity's images use 1000).
    pub run_as: i64,
    pub caps: ServerCaps,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            download_image: "docker.io/library/busybox:1.36".into(),
            keystore_size: "10Mi".into(),
            run_as: 1000,
            caps: ServerCaps::default(),
        }
    }
}

/// Everything a group's objects are rendered from.
#[derive(Clone, Debug)]
pub struct RenderInput<'a> {
    pub network: &'a NetworkName,
    pub namespace: &'a str,
    pub spec: &'a WorkloadSpec,
    /// The group's desired nodes (`<group>-0 ..`), in index order.
    pub nodes: &'a [NodeName],
    pub para_id: Option<ParaId>,
    /// `--alice` … of genesis-authority nodes (by node).
    pub dev_keys: &'a BTreeMap<NodeName, String>,
    /// Accounts of the nodes, recorded so removed nodes can be deregistered.
    pub accounts: &'a BTreeMap<NodeName, AccountId>,
    /// The node key of every node in `nodes` (derived, or generated and kept).
    pub node_keys: &'a BTreeMap<NodeName, NodeKey>,
    pub chain: &'a ChainSource,
    /// Collators: the embedded relay node's chain.
    pub relay_chain: Option<&'a ChainSource>,
    /// `--bootnodes` of this group's chain and (collators) of the relay chain.
    pub bootnodes: &'a [String],
    pub relay_bootnodes: &'a [String],
    /// `--public-addr` per pod (and per pod's relay node: key `<pod>.relay`),
    /// from the p2p Services once the cluster allocated them.
    pub public_addrs: &'a BTreeMap<String, String>,
    pub max_unavailable: u32,
    pub options: &'a RenderOptions,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("the group {group} has no image: set `image` on the group or the chain")]
    NoImage { group: String },
    #[error("`{name}` is not a valid Kubernetes object name ({why}); shorten the group name")]
    BadName { name: String, why: &'static str },
    #[error("node {node} has no node key")]
    MissingNodeKey { node: String },
    #[error("the group {group} has {nodes} node names for {replicas} replicas")]
    ReplicaMismatch {
        group: String,
        nodes: usize,
        replicas: u32,
    },
}

/// Whether `name` is a DNS-1035 label (Service names must be).
fn check_name(name: &str) -> Result<(), RenderError> {
    let bad = |why| {
        Err(RenderError::BadName {
            name: name.to_string(),
            why,
        })
    };
    if name.is_empty() || name.len() > 63 {
        return bad("1 to 63 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("must start with a lowercase letter");
    }
    if name.ends_with('-') {
        return bad("must not end with `-`");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return bad("lowercase letters, digits and `-` only");
    }
    Ok(())
}

/// A string made into a valid label value (≤ 63 chars, `[A-Za-z0-9._-]`, alnum at both ends).
pub fn label_value(s: &str) -> String {
    let mut v: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    while v.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        v.pop();
    }
    while v.starts_with(|c: char| !c.is_ascii_alphanumeric()) {
        v.remove(0);
    }
    v
}

pub fn headless_service_name(group: &str) -> String {
    group.to_string()
}
pub fn node_keys_secret_name(group: &str) -> String {
    format!("{group}-node-keys")
}
pub fn public_addrs_name(group: &str) -> String {
    format!("{group}-public-addrs")
}
pub fn chain_spec_name(group: &str) -> String {
    format!("{group}-chain-spec")
}
pub fn p2p_service_name(pod: &str) -> String {
    format!("{pod}-p2p")
}
pub fn relay_p2p_service_name(pod: &str) -> String {
    format!("{pod}-relay-p2p")
}
/// The Service behind a group's Ingress: every ready pod of the group.
pub fn rpc_service_name(group: &str) -> String {
    format!("{group}-rpc")
}

/// In-cluster DNS name of a pod through the group's headless Service.
pub fn pod_dns(pod: &str, group: &str, namespace: &str) -> String {
    format!(
        "{pod}.{}.{namespace}.svc.cluster.local",
        headless_service_name(group)
    )
}

/// A bootnode multiaddr through the headless Service (stable across restarts).
pub fn bootnode_addr(pod: &str, group: &str, namespace: &str, port: u16, peer_id: &str) -> String {
    format!(
        "/dns4/{}/tcp/{port}/p2p/{peer_id}",
        pod_dns(pod, group, namespace)
    )
}

/// The labels every object of a group carries (the chart's, plus ownership).
pub fn group_labels(input: &RenderInput<'_>) -> BTreeMap<String, String> {
    let spec = input.spec;
    let mut l = BTreeMap::new();
    l.insert(LABEL_NAME.into(), CHART_NAME.into());
    l.insert(LABEL_INSTANCE.into(), label_value(spec.group.as_str()));
    l.insert(LABEL_COMPONENT.into(), "substrate-node".into());
    l.insert(LABEL_MANAGED_BY.into(), MANAGED_BY.into());
    l.insert("chain".into(), input.chain.label());
    l.insert("role".into(), spec.role.as_str().into());
    if let Some(id) = input.para_id {
        l.insert("paraId".into(), id.to_string());
    }
    l.insert(LABEL_NETWORK.into(), label_value(input.network.as_str()));
    l.insert(LABEL_GROUP.into(), label_value(spec.group.as_str()));
    l
}

/// The StatefulSet's (immutable) selector: chart selector labels + network.
fn selector_labels(input: &RenderInput<'_>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert(LABEL_NAME.into(), CHART_NAME.into());
    l.insert(
        LABEL_INSTANCE.into(),
        label_value(input.spec.group.as_str()),
    );
    l.insert(LABEL_NETWORK.into(), label_value(input.network.as_str()));
    l
}

fn metadata(input: &RenderInput<'_>, name: &str, extra_labels: &[(&str, &str)]) -> ObjectMeta {
    let mut labels = group_labels(input);
    for (k, v) in extra_labels {
        labels.insert((*k).into(), (*v).into());
    }
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(input.namespace.into()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

/// A Service's metadata: the group's labels plus `service_labels` and
/// `service_annotations` (paraform's own labels win, validation refuses clashes).
fn service_metadata(
    input: &RenderInput<'_>,
    name: &str,
    extra_labels: &[(&str, &str)],
    mut annotations: BTreeMap<String, String>,
) -> ObjectMeta {
    let k = &input.spec.kubernetes;
    let mut meta = metadata(input, name, extra_labels);
    if let Some(labels) = meta.labels.as_mut() {
        for (key, v) in &k.service_labels {
            labels.entry(key.clone()).or_insert_with(|| v.clone());
        }
    }
    for (key, v) in &k.service_annotations {
        annotations.entry(key.clone()).or_insert_with(|| v.clone());
    }
    meta.annotations = non_empty(annotations);
    meta
}

/// A typed object as the JSON sent in the apply (`apiVersion` and `kind`
/// included by k8s-openapi's serializer; unset fields are left out).
fn to_json<K: serde::Serialize>(object: &K) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// `Some(map)` when it has entries: the server drops an empty map, so
/// sending one would make every apply a (managedFields-only) write.
fn non_empty<K, V>(m: BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    (!m.is_empty()).then_some(m)
}

fn tcp_port(name: &str, port: u16) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port: i32::from(port),
        target_port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".into()),
        ..ServicePort::default()
    }
}

fn container_port(name: &str, port: u16) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: i32::from(port),
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// Render every object of a group. Deterministic: the same input gives the same JSON.
pub fn render_group(input: &RenderInput<'_>) -> Result<Vec<Manifest>, RenderError> {
    let spec = input.spec;
    let group = spec.group.as_str();
    check_name(group)?;
    if input.nodes.len() != spec.replicas as usize {
        return Err(RenderError::ReplicaMismatch {
            group: group.into(),
            nodes: input.nodes.len(),
            replicas: spec.replicas,
        });
    }
    let collator = spec.role == Role::Collator && input.relay_chain.is_some();
    let mut out = Vec::new();

    // Node keys: one file per pod, selected by the pod's name.
    let mut keys = BTreeMap::new();
    for n in input.nodes {
        let k = input
            .node_keys
            .get(n)
            .ok_or_else(|| RenderError::MissingNodeKey {
                node: n.to_string(),
            })?;
        keys.insert(n.to_string(), ByteString(k.to_hex().into_bytes()));
    }
    let name = node_keys_secret_name(group);
    out.push(Manifest {
        kind: Kind::Secret,
        name: name.clone(),
        object: to_json(&Secret {
            metadata: metadata(input, &name, &[]),
            type_: Some("Opaque".into()),
            data: non_empty(keys),
            ..Secret::default()
        }),
        sensitive: true,
    });

    // Chain specs shipped inline.
    let mut inline = BTreeMap::new();
    for src in std::iter::once(input.chain).chain(input.relay_chain) {
        if let ChainSource::Inline { file_name, content } = src {
            inline.insert(file_name.clone(), content.clone());
        }
    }
    if !inline.is_empty() {
        let name = chain_spec_name(group);
        out.push(Manifest {
            kind: Kind::ConfigMap,
            name: name.clone(),
            object: to_json(&ConfigMap {
                metadata: metadata(input, &name, &[]),
                data: Some(inline),
                ..ConfigMap::default()
            }),
            sensitive: false,
        });
    }

    // Public addresses, known once the p2p Services exist.
    let p2p_exposed = spec.p2p != Exposure::None;
    if p2p_exposed {
        let name = public_addrs_name(group);
        let data: BTreeMap<String, String> = input
            .public_addrs
            .iter()
            .filter(|(k, _)| {
                let pod = k.strip_suffix(".relay").unwrap_or(k);
                input.nodes.iter().any(|n| n.as_str() == pod)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.push(Manifest {
            kind: Kind::ConfigMap,
            name: name.clone(),
            object: to_json(&ConfigMap {
                metadata: metadata(input, &name, &[]),
                data: non_empty(data),
                ..ConfigMap::default()
            }),
            sensitive: false,
        });
    }

    // Headless Service: pod DNS (bootnodes), published before readiness.
    let headless = headless_service_name(group);
    let mut ports = vec![
        tcp_port("p2p", P2P_PORT),
        tcp_port("rpc", RPC_PORT),
        tcp_port("prometheus", PROMETHEUS_PORT),
    ];
    if collator {
        ports.push(tcp_port("relay-p2p", RELAY_P2P_PORT));
        ports.push(tcp_port("relay-rpc", RELAY_RPC_PORT));
    }
    out.push(Manifest {
        kind: Kind::Service,
        name: headless.clone(),
        object: to_json(&Service {
            metadata: service_metadata(input, &headless, &[], BTreeMap::new()),
            spec: Some(ServiceSpec {
                cluster_ip: Some("None".into()),
                publish_not_ready_addresses: Some(true),
                selector: Some(selector_labels(input)),
                ports: Some(ports),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }),
        sensitive: false,
    });

    if let Some(ingress) = &spec.kubernetes.ingress {
        out.extend(ingress_objects(input, ingress)?);
    }
    if let (Some(sm), true) = (
        &spec.kubernetes.service_monitor,
        input.options.caps.service_monitor,
    ) {
        out.push(service_monitor(input, sm));
    }

    // Per-pod Services.
    for (index, n) in input.nodes.iter().enumerate() {
        let pod = n.as_str();
        check_name(pod)?;
        if spec.rpc != Exposure::None {
            out.push(per_pod_service(
                input,
                pod,
                pod,
                spec.rpc,
                ("rpc", RPC_PORT),
                None,
            )?);
        }
        if p2p_exposed {
            out.push(per_pod_service(
                input,
                &p2p_service_name(pod),
                pod,
                spec.p2p,
                ("p2p", P2P_PORT),
                Some(dns_name(spec, index, false)),
            )?);
            if collator {
                out.push(per_pod_service(
                    input,
                    &relay_p2p_service_name(pod),
                    pod,
                    spec.p2p,
                    ("relay-p2p", RELAY_P2P_PORT),
                    Some(dns_name(spec, index, true)),
                )?);
            }
        }
    }

    out.push(statefulset(input, collator)?);
    Ok(out)
}

fn exposure_type(e: Exposure) -> &'static str {
    match e {
        Exposure::None | Exposure::ClusterIP => "ClusterIP",
        Exposure::NodePort => "NodePort",
        Exposure::LoadBalancer => "LoadBalancer",
    }
}

/// The external-dns name of a pod's p2p Service (`<prefix>-<index>.<zone>`,
/// as the chart names them; `-relay` for a collator's relay node), when
/// `external_dns` is set and the Service is reachable from outside.
fn dns_name(spec: &WorkloadSpec, index: usize, relay: bool) -> Option<String> {
    let d = spec.kubernetes.external_dns.as_ref()?;
    if !matches!(spec.p2p, Exposure::NodePort | Exposure::LoadBalancer) {
        return None;
    }
    let relay = if relay { "-relay" } else { "" };
    Some(format!("{}-{index}{relay}.{}", d.prefix, d.hostname))
}

/// A ClusterIP Service over the group's ready pods and an Ingress to it.
fn ingress_objects(
    input: &RenderInput<'_>,
    ingress: &crate::spec::model::Ingress,
) -> Result<Vec<Manifest>, RenderError> {
    let group = input.spec.group.as_str();
    let svc_name = rpc_service_name(group);
    check_name(&svc_name)?;
    let svc = Service {
        metadata: service_metadata(input, &svc_name, &[], BTreeMap::new()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector_labels(input)),
            ports: Some(vec![tcp_port("rpc", RPC_PORT)]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    let mut meta = metadata(input, group, &[]);
    meta.annotations = non_empty(ingress.annotations.clone());
    let ing = networking::Ingress {
        metadata: meta,
        spec: Some(networking::IngressSpec {
            ingress_class_name: ingress.class.clone(),
            rules: Some(vec![networking::IngressRule {
                host: Some(ingress.host.clone()),
                http: Some(networking::HTTPIngressRuleValue {
                    paths: vec![networking::HTTPIngressPath {
                        path: Some(ingress.path.clone()),
                        path_type: "Prefix".into(),
                        backend: networking::IngressBackend {
                            service: Some(networking::IngressServiceBackend {
                                name: svc_name.clone(),
                                port: Some(networking::ServiceBackendPort {
                                    number: Some(i32::from(RPC_PORT)),
                                    ..networking::ServiceBackendPort::default()
                                }),
                            }),
                            ..networking::IngressBackend::default()
                        },
                    }],
                }),
            }]),
            tls: ingress.tls_secret.as_ref().map(|secret| {
                vec![networking::IngressTLS {
                    hosts: Some(vec![ingress.host.clone()]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            ..networking::IngressSpec::default()
        }),
        ..networking::Ingress::default()
    };
    Ok(vec![
        Manifest {
            kind: Kind::Service,
            name: svc_name,
            object: to_json(&svc),
            sensitive: false,
        },
        Manifest {
            kind: Kind::Ingress,
            name: group.to_string(),
            object: to_json(&ing),
            sensitive: false,
        },
    ])
}

/// prometheus-operator's ServiceMonitor (a CRD, so no k8s-openapi type):
/// the group's Services' `prometheus` port, which only the headless
/// Service has, as the chart's `node.serviceMonitor` does.
fn service_monitor(input: &RenderInput<'_>, sm: &crate::spec::model::ServiceMonitor) -> Manifest {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Endpoint<'a> {
        port: &'a str,
        interval: &'a str,
        scrape_timeout: &'a str,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec<'a> {
        selector: LabelSelector,
        endpoints: Vec<Endpoint<'a>>,
        target_labels: Vec<&'a str>,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Object<'a> {
        api_version: &'a str,
        kind: &'a str,
        metadata: ObjectMeta,
        spec: Spec<'a>,
    }
    let group = input.spec.group.as_str();
    let object = Object {
        api_version: Kind::ServiceMonitor.api_version(),
        kind: Kind::ServiceMonitor.as_str(),
        metadata: metadata(input, group, &[]),
        spec: Spec {
            selector: LabelSelector {
                match_labels: Some(selector_labels(input)),
                ..LabelSelector::default()
            },
            endpoints: vec![Endpoint {
                port: "prometheus",
                interval: &sm.interval,
                scrape_timeout: &sm.scrape_timeout,
            }],
            // The chart's `targetLabels`: series keep the chain and role.
            target_labels: vec!["chain", "role", LABEL_INSTANCE],
        },
    };
    Manifest {
        kind: Kind::ServiceMonitor,
        name: group.to_string(),
        object: to_json(&object),
        sensitive: false,
    }
}

fn per_pod_service(
    input: &RenderInput<'_>,
    name: &str,
    pod: &str,
    exposure: Exposure,
    (port_name, port): (&str, u16),
    // `Some` for p2p Services, with their external-dns name if any.
    p2p_dns: Option<Option<String>>,
) -> Result<Manifest, RenderError> {
    check_name(name)?;
    let p2p = p2p_dns.is_some();
    let mut annotations = BTreeMap::new();
    if let (Some(Some(host)), Some(d)) = (&p2p_dns, &input.spec.kubernetes.external_dns) {
        annotations.insert(ANN_DNS_HOSTNAME.to_string(), host.clone());
        annotations.insert(ANN_DNS_TTL.to_string(), d.ttl.to_string());
    }
    let mut selector = selector_labels(input);
    selector.insert(LABEL_POD_NAME.into(), pod.into());
    let external = matches!(exposure, Exposure::NodePort | Exposure::LoadBalancer);
    let spec = ServiceSpec {
        type_: Some(exposure_type(exposure).into()),
        selector: Some(selector),
        ports: Some(vec![tcp_port(port_name, port)]),
        // Peers must reach a node before it is "ready" (it syncs from them).
        publish_not_ready_addresses: p2p.then_some(true),
        // Keep the client's address and avoid a second hop (as the chart does).
        external_traffic_policy: (p2p && external).then(|| "Local".into()),
        ..ServiceSpec::default()
    };
    Ok(Manifest {
        kind: Kind::Service,
        name: name.to_string(),
        object: to_json(&Service {
            metadata: service_metadata(input, name, &[(LABEL_POD_NAME, pod)], annotations),
            spec: Some(spec),
            ..Service::default()
        }),
        sensitive: false,
    })
}

/// The `--chain` value inside the pod, and whether it needs the download init container.
fn chain_arg(src: &ChainSource, file: &str) -> String {
    match src {
        ChainSource::BuiltIn(n) => n.clone(),
        ChainSource::Url(_) => format!("/chain-spec/{file}"),
        ChainSource::Inline { file_name, .. } => format!("/chain-spec-inline/{file_name}"),
    }
}

/// The node's arguments (after the binary). `$(POD_NAME)` is expanded by the kubelet.
pub fn node_args(input: &RenderInput<'_>, collator: bool) -> Vec<String> {
    let spec = input.spec;
    let mut a: Vec<String> = vec![
        format!("--chain={}", chain_arg(input.chain, "chain.json")),
        "--name=$(POD_NAME)".into(),
        "--base-path=/data".into(),
        "--node-key-file=/node-keys/$(POD_NAME)".into(),
        format!("--database={}", spec.storage.database),
    ];
    if let Some(p) = &spec.storage.pruning {
        a.push(format!("--state-pruning={p}"));
    }
    a.push(match spec.keystore {
        KeystoreKind::Memory => "--keystore-path=/keystore".into(),
        KeystoreKind::Volume => "--keystore-path=/keystore".into(),
    });
    a.extend([
        format!("--rpc-port={RPC_PORT}"),
        "--rpc-external".into(),
        "--rpc-methods=unsafe".into(),
        "--rpc-cors=all".into(),
        format!("--listen-addr=/ip4/0.0.0.0/tcp/{P2P_PORT}"),
        "--prometheus-external".into(),
        format!("--prometheus-port={PROMETHEUS_PORT}"),
        "--no-mdns".into(),
        "--no-hardware-benchmarks".into(),
    ]);
    if !spec.log.is_empty() {
        a.push(format!("--log={}", spec.log.join(",")));
    }
    match spec.role {
        // Genesis authorities get `--alice` … per pod from the wrapper script.
        Role::Validator if !spec.genesis_authorities => a.push("--validator".into()),
        Role::Collator => a.push("--collator".into()),
        _ => {}
    }
    if !input.bootnodes.is_empty() {
        a.push("--bootnodes".into());
        a.extend(input.bootnodes.iter().cloned());
    }
    a.extend(spec.flags.iter().cloned());
    if collator {
        if let Some(relay) = input.relay_chain {
            a.extend([
                "--".into(),
                format!("--chain={}", chain_arg(relay, "relay.json")),
                "--base-path=/relay-data".into(),
                format!("--rpc-port={RELAY_RPC_PORT}"),
                format!("--listen-addr=/ip4/0.0.0.0/tcp/{RELAY_P2P_PORT}"),
                "--no-mdns".into(),
                "--no-prometheus".into(),
            ]);
            if !input.relay_bootnodes.is_empty() {
                a.push("--bootnodes".into());
                a.extend(input.relay_bootnodes.iter().cloned());
            }
            a.extend(spec.relay_flags.iter().cloned());
        }
    }
    a
}

/// A POSIX sh wrapper that adds the per-pod flags a shared pod template
/// cannot carry: dev keys (`--alice`) and `--public-addr`. `$$` is the
/// kubelet's escape for a literal `$`.
fn wrapper_script(input: &RenderInput<'_>, binary: &str, collator: bool, p2p: bool) -> String {
    let mut s = String::from("set -e\n");
    if !input.dev_keys.is_empty() {
        s.push_str("case \"$POD_NAME\" in\n");
        for (node, key) in input.dev_keys {
            if input.nodes.contains(node) {
                let key: String = key.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
                s.push_str(&format!("  {node}) set -- --{key} \"$@\" ;;\n"));
            }
        }
        s.push_str("esac\n");
    }
    if p2p {
        s.push_str(
            "f=/paraform/public-addr/$POD_NAME\n\
             if [ -s \"$f\" ]; then set -- --public-addr \"$$(sed \"s/@HOST_IP@/$HOST_IP/\" \"$f\")\" \"$@\"; fi\n",
        );
        if collator {
            s.push_str(
                "if [ -s \"$f.relay\" ]; then set -- \"$@\" --public-addr \"$$(sed \"s/@HOST_IP@/$HOST_IP/\" \"$f.relay\")\"; fi\n",
            );
        }
    }
    s.push_str(&format!("exec {binary} \"$@\"\n"));
    s
}

fn resources(spec: &WorkloadSpec) -> Option<ResourceRequirements> {
    let r = &spec.resources;
    let quantities = |cpu: &Option<String>, memory: &Option<String>| {
        let m: BTreeMap<String, Quantity> = [("cpu", cpu), ("memory", memory)]
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), Quantity(v.clone()?))))
            .collect();
        non_empty(m)
    };
    let requests = quantities(&r.cpu_request, &r.memory_request);
    let limits = quantities(&r.cpu_limit, &r.memory_limit);
    (requests.is_some() || limits.is_some()).then(|| ResourceRequirements {
        requests,
        limits,
        ..ResourceRequirements::default()
    })
}

fn pvc(input: &RenderInput<'_>, name: &str, size: &str) -> PersistentVolumeClaim {
    // Exactly the form the server stores (defaults, `status.phase`, and
    // `creationTimestamp: null`, added in `statefulset`): measured on 1.20,
    // anything less makes every apply of the StatefulSet a write (a
    // managedFields-only resourceVersion bump).
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(selector_labels(input)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_string(), Quantity(size.into()))].into()),
                ..VolumeResourceRequirements::default()
            }),
            volume_mode: Some("Filesystem".into()),
            storage_class_name: input.spec.storage.class.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: Some(PersistentVolumeClaimStatus {
            phase: Some("Pending".into()),
            ..PersistentVolumeClaimStatus::default()
        }),
    }
}

/// sha256 (hex, 16 chars) of the public addresses a group's pods read at start:
/// a changed address restarts the pods so they announce the new one.
fn public_addrs_hash(input: &RenderInput<'_>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (k, v) in input.public_addrs {
        let pod = k.strip_suffix(".relay").unwrap_or(k);
        if input.nodes.iter().any(|n| n.as_str() == pod) {
            h.update(k.as_bytes());
            h.update(b"=");
            h.update(v.as_bytes());
            h.update(b"\n");
        }
    }
    hex::encode(&h.finalize()[..8])
}

fn extra_env(name: &str, v: &EnvValue) -> EnvVar {
    let (value, value_from) = match v {
        EnvValue::Value { value } => (Some(value.clone()), None),
        EnvValue::Secret { name, key } => (
            None,
            Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: name.clone(),
                    key: key.clone(),
                    ..SecretKeySelector::default()
                }),
                ..EnvVarSource::default()
            }),
        ),
        EnvValue::ConfigMap { name, key } => (
            None,
            Some(EnvVarSource {
                config_map_key_ref: Some(ConfigMapKeySelector {
                    name: name.clone(),
                    key: key.clone(),
                    ..ConfigMapKeySelector::default()
                }),
                ..EnvVarSource::default()
            }),
        ),
    };
    EnvVar {
        name: name.into(),
        value,
        value_from,
    }
}

fn toleration(t: &crate::spec::model::Toleration) -> Toleration {
    use crate::spec::model::{TaintEffect, TolerationOperator};
    Toleration {
        key: t.key.clone(),
        operator: t.operator.map(|o| {
            match o {
                TolerationOperator::Exists => "Exists",
                TolerationOperator::Equal => "Equal",
            }
            .into()
        }),
        value: t.value.clone(),
        effect: t.effect.map(|e| {
            match e {
                TaintEffect::NoSchedule => "NoSchedule",
                TaintEffect::PreferNoSchedule => "PreferNoSchedule",
                TaintEffect::NoExecute => "NoExecute",
            }
            .into()
        }),
        toleration_seconds: t.toleration_seconds,
    }
}

/// paraform's pod security context (the chart's: uid/gid/fsGroup 1000)
/// with `security_context`'s fields over it, as Helm merges values.
fn security_context(input: &RenderInput<'_>) -> PodSecurityContext {
    let run_as = input.options.run_as;
    let base = PodSecurityContext {
        run_as_user: Some(run_as),
        run_as_group: Some(run_as),
        fs_group: Some(run_as),
        ..PodSecurityContext::default()
    };
    let Some(Value::Object(user)) = &input.spec.kubernetes.security_context else {
        return base;
    };
    let mut merged = match to_json(&base) {
        Value::Object(m) => m,
        _ => return base,
    };
    merged.extend(user.clone());
    // Validated against this type at load; a failure here keeps the default.
    serde_json::from_value(Value::Object(merged)).unwrap_or(base)
}

/// `affinity` with the `anti_affinity` switch's term added: pods of this
/// group avoid nodes that already run one (topology `kubernetes.io/hostname`).
fn affinity(input: &RenderInput<'_>) -> Option<Affinity> {
    let k = &input.spec.kubernetes;
    let mut a: Option<Affinity> = k
        .affinity
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    if k.anti_affinity == AntiAffinity::None {
        return a;
    }
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(selector_labels(input)),
            ..LabelSelector::default()
        }),
        topology_key: "kubernetes.io/hostname".into(),
        ..PodAffinityTerm::default()
    };
    let anti = a
        .get_or_insert_with(Affinity::default)
        .pod_anti_affinity
        .get_or_insert_with(PodAntiAffinity::default);
    match k.anti_affinity {
        AntiAffinity::Required => anti
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(term),
        _ => anti
            .preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(WeightedPodAffinityTerm {
                weight: 100,
                pod_affinity_term: term,
            }),
    }
    a
}

fn volume(name: &str) -> Volume {
    Volume {
        name: name.into(),
        ..Volume::default()
    }
}

fn statefulset(input: &RenderInput<'_>, collator: bool) -> Result<Manifest, RenderError> {
    let spec = input.spec;
    let group = spec.group.as_str();
    let image = spec.image.clone().ok_or_else(|| RenderError::NoImage {
        group: group.into(),
    })?;
    let p2p = spec.p2p != Exposure::None;
    let args = node_args(input, collator);
    let needs_wrapper = !input.dev_keys.is_empty() || p2p;
    let (command, args) = if needs_wrapper {
        let mut c = vec![
            "/bin/sh".to_string(),
            "-c".into(),
            wrapper_script(input, &spec.command, collator, p2p),
            "paraform-node".into(),
        ];
        c.extend(args);
        (c, Vec::<String>::new())
    } else {
        (vec![spec.command.clone()], args)
    };

    let k = &spec.kubernetes;
    let mut env = vec![field_env("POD_NAME", "metadata.name")];
    if spec.p2p == Exposure::NodePort {
        env.push(field_env("HOST_IP", "status.hostIP"));
    }
    env.extend(k.env.iter().map(|(name, v)| extra_env(name, v)));

    let mut mounts = vec![
        mount("chain-data", "/data", false),
        mount("keystore", "/keystore", false),
        mount("node-keys", "/node-keys", true),
    ];
    let mut volumes = vec![Volume {
        secret: Some(SecretVolumeSource {
            secret_name: Some(node_keys_secret_name(group)),
            default_mode: Some(0o400),
            ..SecretVolumeSource::default()
        }),
        ..volume("node-keys")
    }];
    let mut claims = vec![pvc(input, "chain-data", &spec.storage.size)];
    match spec.keystore {
        KeystoreKind::Memory => volumes.push(Volume {
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                ..EmptyDirVolumeSource::default()
            }),
            ..volume("keystore")
        }),
        KeystoreKind::Volume => claims.push(pvc(input, "keystore", &input.options.keystore_size)),
    }
    if collator {
        mounts.push(mount("relay-chain-data", "/relay-data", false));
        claims.push(pvc(input, "relay-chain-data", &spec.storage.size));
    }
    if p2p {
        mounts.push(mount("public-addrs", "/paraform/public-addr", true));
        volumes.push(Volume {
            config_map: Some(ConfigMapVolumeSource {
                name: public_addrs_name(group),
                optional: Some(true),
                ..ConfigMapVolumeSource::default()
            }),
            ..volume("public-addrs")
        });
    }

    // Chain specs: downloaded by an init container, or from the inline ConfigMap.
    let sources: Vec<(&ChainSource, &str)> = std::iter::once((input.chain, "chain.json"))
        .chain(
            input
                .relay_chain
                .filter(|_| collator)
                .map(|r| (r, "relay.json")),
        )
        .collect();
    let mut init = Vec::new();
    let downloads: Vec<String> = sources
        .iter()
        .filter_map(|(s, file)| match s {
            ChainSource::Url(url) => Some(format!(
                "wget -q -O /chain-spec/{file}.part '{}' && mv /chain-spec/{file}.part /chain-spec/{file}",
                url.replace('\'', "")
            )),
            _ => None,
        })
        .collect();
    if !downloads.is_empty() {
        volumes.push(Volume {
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..volume("chain-spec")
        });
        mounts.push(mount("chain-spec", "/chain-spec", true));
        init.push(Container {
            name: "download-chain-spec".into(),
            image: Some(input.options.download_image.clone()),
            command: Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                format!("set -e\n{}\n", downloads.join("\n")),
            ]),
            volume_mounts: Some(vec![mount("chain-spec", "/chain-spec", false)]),
            ..Container::default()
        });
    }
    if sources
        .iter()
        .any(|(s, _)| matches!(s, ChainSource::Inline { .. }))
    {
        volumes.push(Volume {
            config_map: Some(ConfigMapVolumeSource {
                name: chain_spec_name(group),
                ..ConfigMapVolumeSource::default()
            }),
            ..volume("chain-spec-inline")
        });
        mounts.push(mount("chain-spec-inline", "/chain-spec-inline", true));
    }

    let mut container_ports = vec![
        container_port("p2p", P2P_PORT),
        container_port("rpc", RPC_PORT),
        container_port("prometheus", PROMETHEUS_PORT),
    ];
    if collator {
        container_ports.push(container_port("relay-p2p", RELAY_P2P_PORT));
        container_ports.push(container_port("relay-rpc", RELAY_RPC_PORT));
    }
    let container = Container {
        name: "node".into(),
        image: Some(image),
        command: Some(command),
        args: (!args.is_empty()).then_some(args),
        env: Some(env),
        ports: Some(container_ports),
        volume_mounts: Some(mounts),
        // RPC answers: the process is up. Sync and peers are checked over RPC by paraform.
        readiness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::Int(i32::from(RPC_PORT)),
                ..TCPSocketAction::default()
            }),
            period_seconds: Some(10),
            ..Probe::default()
        }),
        resources: resources(spec),
        ..Container::default()
    };

    let mut template_annotations = k.pod_annotations.clone();
    if p2p {
        template_annotations.insert(ANN_PUBLIC_ADDRS_HASH.into(), public_addrs_hash(input));
    }
    let mut template_labels = group_labels(input);
    for (key, v) in &k.pod_labels {
        template_labels
            .entry(key.clone())
            .or_insert_with(|| v.clone());
    }
    let pod_spec = PodSpec {
        security_context: Some(security_context(input)),
        containers: vec![container],
        init_containers: (!init.is_empty()).then_some(init),
        volumes: Some(volumes),
        node_selector: non_empty(k.node_selector.clone()),
        tolerations: (!k.tolerations.is_empty())
            .then(|| k.tolerations.iter().map(toleration).collect()),
        affinity: affinity(input),
        image_pull_secrets: (!k.image_pull_secrets.is_empty()).then(|| {
            k.image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        service_account_name: k.service_account.clone(),
        priority_class_name: k.priority_class.clone(),
        termination_grace_period_seconds: k.termination_grace_period.map(i64::from),
        ..PodSpec::default()
    };

    let accounts: BTreeMap<String, String> = input
        .accounts
        .iter()
        .map(|(n, a)| (n.to_string(), a.to_string()))
        .collect();
    let mut meta = metadata(input, group, &[]);
    meta.annotations = Some(BTreeMap::from([
        (ANN_SPEC_HASH.to_string(), spec.hash()),
        (
            ANN_SPEC.to_string(),
            serde_json::to_string(spec).unwrap_or_default(),
        ),
        (
            ANN_ACCOUNTS.to_string(),
            serde_json::to_string(&accounts).unwrap_or_default(),
        ),
    ]));
    let sts = StatefulSet {
        metadata: meta,
        spec: Some(StatefulSetSpec {
            service_name: Some(headless_service_name(group)),
            replicas: Some(i32::try_from(spec.replicas).unwrap_or(i32::MAX)),
            pod_management_policy: Some("Parallel".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateStatefulSetStrategy {
                    partition: Some(0),
                    max_unavailable: input.options.caps.statefulset_max_unavailable.then(|| {
                        IntOrString::Int(
                            i32::try_from(input.max_unavailable.max(1)).unwrap_or(i32::MAX),
                        )
                    }),
                }),
            }),
            selector: LabelSelector {
                match_labels: Some(selector_labels(input)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels),
                    annotations: non_empty(template_annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec),
            },
            volume_claim_templates: Some(claims),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    };
    let mut object = to_json(&sts);
    // See `pvc`: the stored form of a claim template has a null timestamp,
    // which a typed `ObjectMeta` cannot express.
    if let Some(claims) = object
        .pointer_mut("/spec/volumeClaimTemplates")
        .and_then(Value::as_array_mut)
    {
        for c in claims {
            if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
                m.insert("creationTimestamp".into(), Value::Null);
            }
        }
    }
    Ok(Manifest {
        kind: Kind::StatefulSet,
        name: group.to_string(),
        object,
        sensitive: false,
    })
}

/// The `--public-addr` a p2p Service gives its pod, once allocated:
/// ClusterIP → the Service IP, NodePort → the node's IP (filled in the pod
/// from `status.hostIP`) and the node port, LoadBalancer → the ingress IP or
/// hostname. `None` while nothing is allocated yet.
pub fn public_addr_of_service(service: &Value, port: u16) -> Option<String> {
    let spec = service.get("spec")?;
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    // A name external-dns publishes is stable across re-allocations, and
    // known before the load balancer is: announce it (as the chart does).
    let dns = service
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ANN_DNS_HOSTNAME))
        .and_then(Value::as_str);
    if let (Some(host), "LoadBalancer") = (dns, kind) {
        return Some(format!("/dns4/{host}/tcp/{port}"));
    }
    match spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
    {
        "NodePort" => {
            let np = spec
                .get("ports")?
                .as_array()?
                .iter()
                .find(|p| p.get("port").and_then(Value::as_u64) == Some(port as u64))?
                .get("nodePort")?
                .as_u64()?;
            Some(match dns {
                Some(host) => format!("/dns4/{host}/tcp/{np}"),
                None => format!("/ip4/@HOST_IP@/tcp/{np}"),
            })
        }
        "LoadBalancer" => {
            let ing = service
                .pointer("/status/loadBalancer/ingress")?
                .as_array()?
                .first()?;
            if let Some(ip) = ing.get("ip").and_then(Value::as_str) {
                Some(format!("/ip4/{ip}/tcp/{port}"))
            } else {
                let host = ing.get("hostname").and_then(Value::as_str)?;
                Some(format!("/dns4/{host}/tcp/{port}"))
            }
        }
        _ => {
            let ip = spec.get("clusterIP").and_then(Value::as_str)?;
            (ip != "None" && !ip.is_empty()).then(|| format!("/ip4/{ip}/tcp/{port}"))
        }
    }
}

/// Resolve a chain reference for the cluster: built-in names as is, URLs
/// downloaded in the pod, local files shipped inline when they fit a
/// ConfigMap (the API server caps objects at about 1 MiB).
pub fn chain_source(
    chain: &ChainRef,
    read_file: impl Fn(&str) -> std::io::Result<String>,
) -> Result<ChainSource, String> {
    const MAX_INLINE: usize = 900 * 1024;
    match chain {
        ChainRef::BuiltIn { name } => Ok(ChainSource::BuiltIn(name.clone())),
        ChainRef::Spec { path } if path.starts_with("https://") || path.starts_with("http://") => {
            Ok(ChainSource::Url(path.clone()))
        }
        ChainRef::Spec { path } => {
            let content =
                read_file(path).map_err(|e| format!("cannot read the chain spec {path}: {e}"))?;
            if content.len() > MAX_INLINE {
                return Err(format!(
                    "the chain spec {path} is {} KiB, too large for a ConfigMap (900 KiB): publish it and write its https:// URL as `chain_spec`",
                    content.len() / 1024
                ));
            }
            let base = path.rsplit('/').next().unwrap_or(path);
            let file_name: String = base
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            Ok(ChainSource::Inline { file_name, content })
        }
    }
}

#[cfg(test)]
mod tests;
