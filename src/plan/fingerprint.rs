//! The observed fingerprint of a plan: what it was made against, so that a
//! saved plan can be refused when the world moved.
//!
//! The digest covers what the planner reads — workload identities, node
//! processes and keystores, validator / para / collator membership, balances —
//! and deliberately not what moves every block (block hash, peers, best block,
//! session index): those would make every saved plan stale within seconds.

use super::step::Fingerprint;
use crate::observe::{ChainView, Observed, ParachainView};
use crate::spec::ids::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Serialize)]
struct WorkloadPart<'a> {
    spec_hash: &'a str,
    generation: u64,
    replicas: u32,
    nodes: Vec<(&'a NodeName, bool, Option<&'a AccountId>)>,
    /// Objects edited outside paraform (a Service edit moves no generation).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    out_of_sync: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    objects: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum ChainPart<'a> {
    NotRunning,
    Unreachable,
    Live(Box<LivePart<'a>>),
}

#[derive(Serialize)]
struct LivePart<'a> {
    validators: Vec<&'a AccountId>,
    next_keys: Vec<(&'a AccountId, &'a str)>,
    queued: Vec<&'a AccountId>,
    pending_add: Vec<&'a AccountId>,
    pending_retire: Vec<&'a AccountId>,
    staking_validators: Vec<&'a AccountId>,
    bonded: Vec<&'a AccountId>,
    paras: BTreeMap<ParaId, &'a crate::observe::ParaLifecycle>,
    balances: Vec<(&'a AccountId, String)>,
    sudo_key: Option<&'a AccountId>,
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum ParaPart<'a> {
    NotRunning,
    Unreachable,
    Live {
        invulnerables: Vec<&'a AccountId>,
        candidates: Vec<&'a AccountId>,
    },
}

#[derive(Serialize)]
struct DigestInput<'a> {
    workloads: BTreeMap<&'a GroupName, WorkloadPart<'a>>,
    session_keys: BTreeMap<&'a NodeName, Option<bool>>,
    relay: ChainPart<'a>,
    parachains: BTreeMap<ParaId, ParaPart<'a>>,
}

fn sorted(v: &[AccountId]) -> Vec<&AccountId> {
    let mut out: Vec<&AccountId> = v.iter().collect();
    out.sort_by_key(|a| a.0);
    out.dedup();
    out
}

pub(crate) fn fingerprint(observed: &Observed) -> Fingerprint {
    let workloads = observed
        .workloads
        .iter()
        .map(|(name, w)| {
            let mut nodes: Vec<_> = w
                .nodes
                .iter()
                .map(|p| (&p.name, p.running, p.account.as_ref()))
                .collect();
            nodes.sort_by(|a, b| a.0.cmp(b.0));
            (
                name,
                WorkloadPart {
                    spec_hash: &w.spec_hash,
                    generation: w.generation,
                    replicas: w.replicas,
                    nodes,
                    out_of_sync: &w.out_of_sync,
                    objects: w.objects_digest.as_deref(),
                },
            )
        })
        .collect();
    let session_keys = observed
        .nodes
        .iter()
        .map(|(name, n)| (name, n.has_session_keys))
        .collect();
    let relay = match &observed.relay {
        ChainView::NotRunning => ChainPart::NotRunning,
        ChainView::Unreachable { .. } => ChainPart::Unreachable,
        ChainView::Live(c) => ChainPart::Live(Box::new(LivePart {
            validators: sorted(&c.validators),
            next_keys: c.next_keys.iter().map(|(a, k)| (a, k.as_str())).collect(),
            queued: sorted(&c.queued),
            pending_add: sorted(&c.pending_add),
            pending_retire: sorted(&c.pending_retire),
            staking_validators: sorted(&c.staking_validators),
            bonded: sorted(&c.bonded),
            paras: c.paras.iter().map(|(id, p)| (*id, &p.lifecycle)).collect(),
            // u128 as a string: JSON numbers are not exact beyond 2^53.
            balances: c.balances.iter().map(|(a, b)| (a, b.to_string())).collect(),
            sudo_key: c.sudo_key.as_ref(),
        })),
    };
    let parachains = observed
        .parachains
        .iter()
        .map(|(id, v)| {
            let part = match v {
                ParachainView::NotRunning => ParaPart::NotRunning,
                ParachainView::Unreachable { .. } => ParaPart::Unreachable,
                ParachainView::Live(s) => ParaPart::Live {
                    invulnerables: sorted(&s.invulnerables),
                    candidates: sorted(&s.candidates),
                },
            };
            (*id, part)
        })
        .collect();
    let input = DigestInput {
        workloads,
        session_keys,
        relay,
        parachains,
    };
    let digest = match serde_json::to_vec(&input) {
        Ok(json) => hex::encode(Sha256::digest(&json)),
        // Unreachable: string / integer map keys and no floats.
        Err(e) => format!("unserializable: {e}"),
    };
    let (block_hash, block_number) = match &observed.relay {
        ChainView::Live(c) => (Some(c.block_hash.clone()), Some(c.block_number)),
        _ => (None, None),
    };
    Fingerprint {
        block_hash,
        block_number,
        workloads: observed
            .workloads
            .iter()
            .map(|(g, w)| (g.clone(), w.generation))
            .collect(),
        objects: observed
            .workloads
            .iter()
            .filter_map(|(g, w)| Some((g.clone(), w.objects_digest.clone()?)))
            .collect(),
        digest,
    }
}
