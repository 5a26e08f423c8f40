//! Expand the merged, validated files into `Desired`: defaults applied, groups
//! expanded into nodes `<group>-<index>`, genesis authorities given the dev
//! keys in order. Deterministic: the same files give the same `Desired`.

use super::ids::*;
use super::model::*;
use super::schema::{ProviderName, RawAmount, RawGroup, RawPruning};
use super::validate::{para_id, GroupAt, Merged, DEV_KEYS};
use std::collections::BTreeMap;

/// Default `[relay] command`.
pub const RELAY_COMMAND: &str = "polkadot";
/// Default `[[parachain]] command`.
pub const PARA_COMMAND: &str = "polkadot-omni-node";
/// Default `[funding] amount`: 1,000 units of a 12-decimal chain (ROC, WND).
pub const DEFAULT_FUNDING: Balance = 1_000_000_000_000_000;
/// Default `storage.size`.
pub const DEFAULT_VOLUME_SIZE: &str = "20Gi";

/// `[funding] amount` as planck, if it is a non-negative integer.
pub(crate) fn amount(a: &RawAmount) -> Option<Balance> {
    match a {
        RawAmount::Int(n) => Balance::try_from(*n).ok(),
        RawAmount::Text(s) => {
            let digits: String = s.chars().filter(|c| *c != '_').collect();
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()
        }
    }
}

/// Build `Desired`. Returns `None` only if a required part is missing, which
/// validation has already reported.
pub(crate) fn expand(m: &Merged<'_>) -> Option<Desired> {
    let net = m.network?.get();
    let provider = match net.provider.get_ref() {
        ProviderName::Local => ProviderKind::Local,
        ProviderName::Kubernetes => ProviderKind::Kubernetes {
            namespace: net.namespace.as_ref()?.get_ref().clone(),
        },
    };
    let relay_chain = match (m.chain, m.chain_spec) {
        (Some(c), _) => ChainRef::BuiltIn {
            name: c.get().clone(),
        },
        (None, Some(s)) => ChainRef::Spec {
            path: s.get().clone(),
        },
        (None, None) => return None,
    };
    let relay = RelayChain {
        chain: relay_chain,
        command: m
            .command
            .map_or_else(|| RELAY_COMMAND.to_string(), |c| c.get().clone()),
        image: m.image.map(|i| i.get().clone()),
        consensus: m.consensus.map_or(Consensus::Poa, |c| *c.get()),
    };

    let mut secrets = SecretRefs {
        sudo: None,
        derivation_root: None,
        other: BTreeMap::new(),
    };
    for (name, r) in &m.secrets {
        let r = r.clone()?;
        match name.get().as_str() {
            "sudo" => secrets.sudo = Some(r),
            "derivation_root" => secrets.derivation_root = Some(r),
            other => {
                secrets.other.insert(other.to_string(), r);
            }
        }
    }

    let mut dev_next: BTreeMap<ChainSide, usize> = BTreeMap::new();
    let mut groups = Vec::with_capacity(m.groups.len());
    for g in &m.groups {
        groups.push(group(m, g, &mut dev_next)?);
    }

    let mut parachains = Vec::with_capacity(m.parachains.len());
    for p in &m.parachains {
        let raw = p.get();
        let id = para_id(raw.id.get_ref());
        let chain = match (&raw.chain, &raw.chain_spec) {
            (Some(c), _) => ChainRef::BuiltIn {
                name: c.get_ref().clone(),
            },
            (None, Some(s)) => ChainRef::Spec {
                path: s.get_ref().clone(),
            },
            (None, None) => return None,
        };
        let genesis = match raw.genesis.as_ref().map(|g| g.get_ref().as_str()) {
            None | Some("collator") => GenesisSource::Collator,
            Some(path) => GenesisSource::RawSpec {
                path: path.to_string(),
            },
        };
        parachains.push(Parachain {
            id,
            chain,
            command: raw
                .command
                .as_ref()
                .map_or_else(|| PARA_COMMAND.to_string(), |c| c.get_ref().clone()),
            image: raw.image.as_ref().map(|i| i.get_ref().clone()),
            onboard: raw
                .onboard
                .as_ref()
                .map_or(OnboardMode::Parachain, |o| *o.get_ref()),
            genesis,
            groups: groups
                .iter()
                .filter(|g: &&Group| g.chain == ChainSide::Para(id))
                .map(|g| g.name.clone())
                .collect(),
        });
    }

    let funding = Funding {
        amount: match m.amount {
            Some(a) => amount(a.get())?,
            None => DEFAULT_FUNDING,
        },
    };

    Some(Desired {
        network: NetworkName::new(net.name.get_ref().clone()),
        provider,
        source: SourceInfo::default(),
        secrets,
        relay,
        groups,
        parachains,
        hrmp: super::hrmp::expand(m),
        funding,
    })
}

fn group(
    m: &Merged<'_>,
    g: &GroupAt<'_>,
    dev_next: &mut BTreeMap<ChainSide, usize>,
) -> Option<Group> {
    let raw: &RawGroup = g.at.get();
    let name = GroupName::new(raw.name.get_ref().clone());
    let side = g.side(m);
    let role = g.role()?;
    let replicas = g.replicas();
    let genesis = g.genesis();
    let (chain_command, chain_image) = match g.para {
        None => (
            m.command
                .map_or_else(|| RELAY_COMMAND.to_string(), |c| c.get().clone()),
            m.image.map(|i| i.get().clone()),
        ),
        Some(i) => {
            let p = m.parachains[i].get();
            (
                p.command
                    .as_ref()
                    .map_or_else(|| PARA_COMMAND.to_string(), |c| c.get_ref().clone()),
                p.image.as_ref().map(|i| i.get_ref().clone()),
            )
        }
    };
    let nodes = (0..replicas)
        .map(|index| {
            let dev_key = if genesis {
                let next = dev_next.entry(side).or_insert(0);
                let key = DEV_KEYS.get(*next).map(|k| k.to_string());
                *next += 1;
                key
            } else {
                None
            };
            Node {
                name: NodeName::of(&name, index),
                group: name.clone(),
                index,
                role,
                dev_key,
                account: None,
            }
        })
        .collect();
    let holds_keys = matches!(role, Role::Validator | Role::Collator);
    Some(Group {
        name: name.clone(),
        chain: side,
        role,
        replicas,
        nodes,
        genesis_authorities: genesis,
        collator: g.collator_mode(),
        command: raw
            .command
            .as_ref()
            .map_or(chain_command, |c| c.get_ref().clone()),
        image: raw
            .image
            .as_ref()
            .map(|i| i.get_ref().clone())
            .or(chain_image),
        flags: raw.flags.iter().map(|f| f.get_ref().clone()).collect(),
        log: raw.log.clone(),
        resources: Resources {
            cpu_request: raw.resources.cpu_request.clone(),
            cpu_limit: raw.resources.cpu_limit.clone(),
            memory_request: raw.resources.memory_request.clone(),
            memory_limit: raw.resources.memory_limit.clone(),
        },
        storage: Storage {
            database: raw
                .storage
                .database
                .map_or("rocksdb", |d| d.as_str())
                .to_string(),
            pruning: raw.storage.pruning.as_ref().map(|p| match p.get_ref() {
                RawPruning::Blocks(n) => n.to_string(),
                RawPruning::Mode(s) => s.clone(),
            }),
            size: raw
                .storage
                .size
                .clone()
                .unwrap_or_else(|| DEFAULT_VOLUME_SIZE.to_string()),
            class: raw.storage.class.clone(),
        },
        // Session keys live in the keystore: keep them across restarts.
        keystore: raw.keystore.unwrap_or(if holds_keys {
            KeystoreKind::Volume
        } else {
            KeystoreKind::Memory
        }),
        node_key: raw.node_key.unwrap_or(NodeKeyPolicy::Derived),
        session_keys: raw
            .session_keys
            .as_ref()
            .map(|s| *s.get_ref())
            .unwrap_or_default(),
        p2p: raw.p2p.unwrap_or(Exposure::ClusterIP),
        rpc: raw.rpc.unwrap_or(Exposure::ClusterIP),
        relay_flags: raw
            .relay_flags
            .iter()
            .map(|f| f.get_ref().clone())
            .collect(),
        kubernetes: super::kubernetes::settings(
            m.kubernetes.first().map(|(_, k)| *k),
            raw.kubernetes.as_ref(),
            raw.name.get_ref(),
        ),
        relay_node: raw
            .relay_node
            .as_ref()
            .map(|m| *m.get_ref())
            .unwrap_or_default(),
    })
}
