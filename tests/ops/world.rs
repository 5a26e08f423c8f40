//! Observed worlds for the ops tests, built from a desired state so they
//! follow the model: `in_sync` is what an applied network looks like, and
//! the scenarios below break it in one way each.

use paraform::observe::*;
use paraform::spec::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Derivation root of these tests (a throwaway test value, not a secret).
pub const ROOT: &str = "//ParaformOpsTestRoot";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn paras_dir() -> PathBuf {
    repo().join("tests/ops/networks/paras")
}

pub fn local_dir() -> PathBuf {
    repo().join("networks/local")
}

pub fn load(dir: &Path, root: &str) -> Desired {
    let mut desired = load_dir(dir).expect("network loads");
    let root = secrecy::SecretString::from(root.to_string());
    paraform::chain::keys::derive_accounts(&mut desired, Some(&root)).expect("accounts");
    desired
}

pub fn paras() -> Desired {
    load(&paras_dir(), ROOT)
}

pub fn hash(byte: u8) -> HexHash {
    HexHash(format!("0x{}", hex::encode([byte; 32])))
}

/// A fixed external account (not derived from anything in these networks).
pub fn external(byte: u8) -> AccountId {
    AccountId([byte; 32])
}

/// Every workload at its desired spec, nodes healthy, derived validators
/// active with keys in their keystores, paras onboarded with their
/// collators registered.
pub fn in_sync(desired: &Desired) -> Observed {
    let mut workloads = BTreeMap::new();
    let mut nodes = BTreeMap::new();
    for (gi, group) in desired.groups.iter().enumerate() {
        workloads.insert(
            group.name.clone(),
            ObservedWorkload::converged(desired, group),
        );
        for n in &group.nodes {
            let para = matches!(group.chain, ChainSide::Para(_));
            nodes.insert(
                n.name.clone(),
                ObservedNode {
                    name: n.name.clone(),
                    rpc_reachable: true,
                    endpoint: Some(format!(
                        "ws://127.0.0.1:{}",
                        9944 + gi * 10 + n.index as usize
                    )),
                    syncing: Some(false),
                    peers: Some(6),
                    peer_id: Some(format!(
                        "12D3KooW{}{:02}",
                        "Q".repeat(42),
                        gi * 10 + n.index as usize
                    )),
                    version: Some(if para {
                        "1.19.2-79fbcd0e2cb".into()
                    } else {
                        "1.20.1-5ad7e5b9e44".into()
                    }),
                    best_block: Some(if para { 40 } else { 120 }),
                    finalized_block: Some(if para { 38 } else { 118 }),
                    has_session_keys: (group.role == Role::Validator).then_some(true),
                },
            );
        }
    }
    let validators: Vec<AccountId> = desired
        .all_validators()
        .filter_map(|n| n.account.clone())
        .collect();
    let balances = desired
        .nodes()
        .filter_map(|n| n.account.clone())
        .map(|a| (a, desired.funding.amount))
        .collect();
    let mut paras = BTreeMap::new();
    let mut para_views = BTreeMap::new();
    for (i, p) in desired.parachains.iter().enumerate() {
        paras.insert(
            p.id,
            ParaState {
                lifecycle: ParaLifecycle::Parachain,
                head: Some(hash(0x10 + i as u8)),
                code_hash: Some(hash(0x20 + i as u8)),
                has_core: Some(true),
            },
        );
        let mut invulnerables = Vec::new();
        let mut candidates = Vec::new();
        let mut next_keys = BTreeMap::new();
        let mut aura_authorities = Vec::new();
        for g in p.groups.iter().filter_map(|g| desired.group(g)) {
            for n in &g.nodes {
                let Some(a) = n.account.clone() else { continue };
                // Keys set on the para and authoring (genesis collators' keys
                // come with the para's genesis).
                let keys = format!("0x{}", hex::encode(a.0));
                next_keys.insert(a.clone(), keys.clone());
                aura_authorities.push(keys);
                match g.collator {
                    Some(CollatorMode::Invulnerable) => invulnerables.push(a),
                    Some(CollatorMode::Candidate) => candidates.push(a),
                    _ => {}
                }
            }
        }
        para_views.insert(
            p.id,
            ParachainView::Live(ParachainState {
                block_hash: hash(0x30 + i as u8),
                block_number: 38,
                invulnerables,
                candidates,
                desired_candidates: Some(4),
                sudo_key: None,
                next_keys,
                aura_authorities,
                ..Default::default()
            }),
        );
    }
    Observed {
        format_version: OBSERVED_FORMAT_VERSION,
        workloads,
        nodes,
        relay: ChainView::Live(ChainState {
            block_hash: hash(0xab),
            block_number: 118,
            session_index: 11,
            session_length: Some(10),
            next_keys: validators
                .iter()
                .map(|a| (a.clone(), "0x01".to_string()))
                .collect(),
            queued: validators.clone(),
            validators,
            pending_add: vec![],
            pending_retire: vec![],
            staking_validators: vec![],
            bonded: vec![],
            paras,
            balances,
            existential_deposit: 1_000_000_000,
            sudo_key: None,
            ss58_prefix: 42,
            hrmp: desired
                .hrmp
                .iter()
                .map(|c| ObservedChannel {
                    id: c.id,
                    state: ChannelState::Open {
                        max_capacity: c.max_capacity,
                        max_message_size: c.max_message_size,
                    },
                })
                .collect(),
        }),
        parachains: para_views,
    }
}

pub fn account_of(desired: &Desired, node: &str) -> AccountId {
    desired
        .node(&NodeName::new(node))
        .and_then(|n| n.account.clone())
        .unwrap_or_else(|| panic!("no account for {node}"))
}

pub fn chain_mut(o: &mut Observed) -> &mut ChainState {
    match &mut o.relay {
        ChainView::Live(c) => c,
        other => panic!("relay not live: {other:?}"),
    }
}

pub fn para_mut(o: &mut Observed, id: u32) -> &mut ParachainState {
    match o.parachains.get_mut(&ParaId(id)) {
        Some(ParachainView::Live(s)) => s,
        other => panic!("para {id} not live: {other:?}"),
    }
}

/// A degraded but reachable network, one problem of each kind:
/// - validator-a-2 stopped; validator-a-1's RPC does not answer;
/// - validator-a-0 lost its keystore (keys on chain, not in the node);
/// - validator-a-1 only pending add (registered, lands in two sessions);
/// - genesis-1 retiring; an external validator is active; a leftover
///   validator-a-3 process still runs (scaled down from 4);
/// - para 2000's collator RPC is unreachable; para 1000 has an external
///   invulnerable and ah-collator-1 is not registered;
/// - a para 3000 not in the desired state is onboarding;
/// - the HRMP channel 2000 -> 1000 is missing.
pub fn degraded(desired: &Desired) -> Observed {
    let mut o = in_sync(desired);
    let va = GroupName::new("validator-a");
    let a0 = account_of(desired, "validator-a-0");
    let a1 = account_of(desired, "validator-a-1");
    let g1 = account_of(desired, "genesis-1");
    let ah1 = account_of(desired, "ah-collator-1");
    let leftover = external(0x77);
    if let Some(w) = o.workloads.get_mut(&va) {
        if let Some(n) = w
            .nodes
            .iter_mut()
            .find(|n| n.name.as_str() == "validator-a-2")
        {
            n.running = false;
        }
        w.nodes.push(ObservedNodeProcess {
            name: NodeName::new("validator-a-3"),
            running: true,
            account: Some(leftover.clone()),
        });
        w.replicas = 4;
    }
    o.nodes.remove(&NodeName::new("validator-a-2"));
    if let Some(n) = o.nodes.get_mut(&NodeName::new("validator-a-1")) {
        *n = ObservedNode {
            name: n.name.clone(),
            rpc_reachable: false,
            endpoint: n.endpoint.clone(),
            ..Default::default()
        };
    }
    if let Some(n) = o.nodes.get_mut(&NodeName::new("validator-a-0")) {
        n.has_session_keys = Some(false);
        n.syncing = Some(true);
    }
    o.nodes.insert(
        NodeName::new("validator-a-3"),
        ObservedNode {
            name: NodeName::new("validator-a-3"),
            rpc_reachable: true,
            endpoint: Some("ws://127.0.0.1:9999".into()),
            syncing: Some(false),
            peers: Some(5),
            peer_id: None,
            version: Some("1.20.1-5ad7e5b9e44".into()),
            best_block: Some(120),
            finalized_block: Some(118),
            has_session_keys: Some(true),
        },
    );
    {
        let c = chain_mut(&mut o);
        c.validators.retain(|a| a != &a1);
        c.queued.retain(|a| a != &a1);
        c.pending_add.push(a1);
        c.pending_retire.push(g1);
        let ext = external(0xee);
        c.validators.push(ext.clone());
        c.queued.push(ext.clone());
        c.next_keys.insert(ext, "0x02".into());
        c.validators.push(leftover.clone());
        c.queued.push(leftover.clone());
        c.next_keys.insert(leftover, "0x03".into());
        c.paras.insert(
            ParaId(3000),
            ParaState {
                lifecycle: ParaLifecycle::Onboarding,
                head: Some(hash(0x33)),
                code_hash: Some(hash(0x34)),
                has_core: Some(false),
            },
        );
        // 2000 -> 1000 is gone (1000 -> 2000 stays open).
        c.hrmp.retain(|h| h.id.sender != ParaId(2000));
        let _ = &a0;
    }
    {
        let p = para_mut(&mut o, 1000);
        p.invulnerables.retain(|a| a != &ah1);
        p.invulnerables.push(external(0xcc));
    }
    o.parachains.insert(
        ParaId(2000),
        ParachainView::Unreachable {
            endpoint: "ws://127.0.0.1:9984".into(),
            error: "connection refused".into(),
        },
    );
    o
}

/// The relay chain exists but no RPC answered (a partially reachable network).
pub fn relay_unreachable(desired: &Desired) -> Observed {
    let mut o = in_sync(desired);
    o.relay = ChainView::Unreachable {
        endpoint: "ws://127.0.0.1:9944".into(),
        error: "timed out after 3s".into(),
    };
    for n in o.nodes.values_mut() {
        if n.name.as_str().starts_with("genesis") || n.name.as_str().starts_with("rpc") {
            *n = ObservedNode {
                name: n.name.clone(),
                rpc_reachable: false,
                endpoint: n.endpoint.clone(),
                ..Default::default()
            };
        }
    }
    o
}

/// Write `observed` as a snapshot file in `dir`.
pub fn write(dir: &Path, name: &str, observed: &Observed) -> PathBuf {
    let path = dir.join(name);
    let json = serde_json::to_string_pretty(observed).expect("encode");
    std::fs::write(&path, json).expect("write snapshot");
    path
}
