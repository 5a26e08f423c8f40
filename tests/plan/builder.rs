//! A small builder for `Desired` values (independent of the spec loader).
//! Accounts are fabricated deterministically from the node name, as the
//! derivation convention would: same node, same account.

use paraform::spec::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const FUNDING: Balance = 1_000;

/// A fabricated 32-byte account: sha256(kind/name).
pub fn account(kind: &str, name: &str) -> AccountId {
    let h = Sha256::digest(format!("{kind}/{name}").as_bytes());
    let mut a = [0u8; 32];
    a.copy_from_slice(&h);
    AccountId(a)
}

pub fn stash(node: &str) -> AccountId {
    account("stash", node)
}

pub fn collator_account(node: &str) -> AccountId {
    account("collator", node)
}

const DEV_KEYS: &[&str] = &["alice", "bob", "charlie", "dave", "eve", "ferdie"];

#[derive(Clone)]
pub struct DesiredBuilder {
    d: Desired,
}

impl DesiredBuilder {
    pub fn new() -> Self {
        DesiredBuilder {
            d: Desired {
                network: NetworkName::new("testnet"),
                provider: ProviderKind::Local,
                source: SourceInfo::default(),
                secrets: SecretRefs {
                    sudo: None,
                    derivation_root: None,
                    other: BTreeMap::new(),
                },
                relay: RelayChain {
                    chain: ChainRef::BuiltIn {
                        name: "rococo-local".into(),
                    },
                    command: "polkadot".into(),
                    image: None,
                    consensus: Consensus::Poa,
                },
                groups: vec![],
                parachains: vec![],
                hrmp: vec![],
                funding: Funding { amount: FUNDING },
            },
        }
    }

    pub fn consensus(mut self, c: Consensus) -> Self {
        self.d.relay.consensus = c;
        self
    }

    pub fn funding(mut self, amount: Balance) -> Self {
        self.d.funding.amount = amount;
        self
    }

    fn push_group(mut self, name: &str, chain: ChainSide, role: Role, replicas: u32) -> Self {
        let group = GroupName::new(name);
        self.d.groups.push(Group {
            name: group.clone(),
            chain,
            role,
            replicas,
            nodes: vec![],
            genesis_authorities: false,
            collator: None,
            command: if matches!(chain, ChainSide::Relay) {
                "polkadot".into()
            } else {
                "polkadot-omni-node".into()
            },
            image: None,
            flags: vec![],
            log: vec![],
            resources: Resources::default(),
            storage: Storage {
                database: "rocksdb".into(),
                pruning: None,
                size: "10Gi".into(),
                class: None,
            },
            keystore: KeystoreKind::Volume,
            node_key: NodeKeyPolicy::Derived,
            p2p: Exposure::ClusterIP,
            rpc: Exposure::ClusterIP,
            relay_flags: vec![],
            relay_node: Default::default(),
            session_keys: Default::default(),
            kubernetes: Default::default(),
        });
        if let ChainSide::Para(id) = chain {
            if let Some(p) = self.d.parachains.iter_mut().find(|p| p.id == id) {
                p.groups.push(group);
            }
        }
        self
    }

    /// Genesis authorities (dev keys alice, bob, …).
    pub fn genesis(self, name: &str, replicas: u32) -> Self {
        self.push_group(name, ChainSide::Relay, Role::Validator, replicas)
            .with(|g| g.genesis_authorities = true)
    }

    pub fn validators(self, name: &str, replicas: u32) -> Self {
        self.push_group(name, ChainSide::Relay, Role::Validator, replicas)
    }

    pub fn relay_group(self, name: &str, role: Role, replicas: u32) -> Self {
        self.push_group(name, ChainSide::Relay, role, replicas)
    }

    /// An HRMP channel `sender -> recipient` with the default limits.
    pub fn hrmp(mut self, sender: u32, recipient: u32) -> Self {
        self.d.hrmp.push(HrmpChannel {
            id: ChannelId {
                sender: ParaId(sender),
                recipient: ParaId(recipient),
            },
            max_capacity: DEFAULT_MAX_CAPACITY,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        });
        self
    }

    pub fn para(mut self, id: u32, onboard: OnboardMode, genesis: GenesisSource) -> Self {
        self.d.parachains.push(Parachain {
            id: ParaId(id),
            chain: ChainRef::Spec {
                path: format!("specs/para-{id}.json"),
            },
            command: "polkadot-omni-node".into(),
            image: None,
            onboard,
            genesis,
            groups: vec![],
        });
        self
    }

    pub fn collators(self, para: u32, name: &str, replicas: u32, mode: CollatorMode) -> Self {
        self.push_group(
            name,
            ChainSide::Para(ParaId(para)),
            Role::Collator,
            replicas,
        )
        .with(|g| g.collator = Some(mode))
    }

    /// Modify the last group added.
    pub fn with(mut self, f: impl FnOnce(&mut Group)) -> Self {
        if let Some(g) = self.d.groups.last_mut() {
            f(g);
        }
        self
    }

    /// Modify a group by name.
    pub fn edit(mut self, name: &str, f: impl FnOnce(&mut Group)) -> Self {
        if let Some(g) = self.d.groups.iter_mut().find(|g| g.name.as_str() == name) {
            f(g);
        }
        self
    }

    pub fn without_group(mut self, name: &str) -> Self {
        self.d.groups.retain(|g| g.name.as_str() != name);
        for p in &mut self.d.parachains {
            p.groups.retain(|g| g.as_str() != name);
        }
        self
    }

    pub fn edit_para(mut self, id: u32, f: impl FnOnce(&mut Parachain)) -> Self {
        if let Some(p) = self.d.parachains.iter_mut().find(|p| p.id == ParaId(id)) {
            f(p);
        }
        self
    }

    /// Expand nodes and fill accounts (what load + `derive_accounts` do).
    pub fn build(self) -> Desired {
        let mut d = self.d;
        let mut dev = DEV_KEYS.iter();
        for g in &mut d.groups {
            g.nodes = (0..g.replicas)
                .map(|i| {
                    let name = NodeName::of(&g.name, i);
                    let dev_key = if g.genesis_authorities {
                        dev.next().map(|k| k.to_string())
                    } else {
                        None
                    };
                    let account = match (&dev_key, g.role) {
                        (Some(k), _) => Some(account("dev", k)),
                        (None, Role::Validator) => Some(stash(name.as_str())),
                        (None, Role::Collator) => Some(collator_account(name.as_str())),
                        _ => None,
                    };
                    Node {
                        name,
                        group: g.name.clone(),
                        index: i,
                        role: g.role,
                        dev_key,
                        account,
                    }
                })
                .collect();
        }
        d
    }
}

/// The example shape: 2 genesis authorities, 2 validators to register, 1 rpc node.
pub fn local_network() -> DesiredBuilder {
    DesiredBuilder::new()
        .genesis("genesis", 2)
        .validators("validator-a", 2)
        .relay_group("rpc", Role::Rpc, 1)
}

/// `local_network` plus para 2000 (genesis from its collators) with 2 invulnerable collators.
pub fn with_para() -> DesiredBuilder {
    local_network()
        .para(2000, OnboardMode::Parachain, GenesisSource::Collator)
        .collators(2000, "collator", 2, CollatorMode::Invulnerable)
}
