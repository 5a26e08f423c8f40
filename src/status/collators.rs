//! Collators view: per para, each desired collator node with its account and
//! its membership in `CollatorSelection` on the para, then on-chain
//! collators that match no node (external).
//!
//! With the para's chain read, each row also says whether the account has
//! session keys on the para (`Session.NextKeys`) and whether those keys are
//! in `Aura.Authorities` now — a collator registered this para session
//! authors only from the session after next.

use crate::observe::model::ParachainView;
use crate::observe::Observed;
use crate::spec::ids::{AccountId, ChainSide, GroupName, NodeName, ParaId};
use crate::spec::model::{CollatorMode, Desired, Role};
use serde::Serialize;
use std::collections::BTreeSet;

/// Membership in the para's `CollatorSelection`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CollatorMembership {
    Invulnerable,
    Candidate,
    None,
}

impl CollatorMembership {
    pub fn as_str(self) -> &'static str {
        match self {
            CollatorMembership::Invulnerable => "invulnerable",
            CollatorMembership::Candidate => "candidate",
            CollatorMembership::None => "none",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CollatorRow {
    pub para: ParaId,
    /// `None` for an external collator.
    pub node: Option<NodeName>,
    pub group: Option<GroupName>,
    /// SS58 address (generic prefix 42); `None` when not derived.
    pub account: Option<String>,
    pub external: bool,
    /// Desired mode (`None` for leftovers and externals).
    pub desired_mode: Option<CollatorMode>,
    /// On the para now; `None` when the para's chain was not read.
    pub on_chain: Option<CollatorMembership>,
    /// Node process runs (`None` for externals).
    pub running: Option<bool>,
    /// Session keys in the para's `Session.NextKeys` (`None`: para not read).
    pub keys_on_para: Option<bool>,
    /// Those keys are in the para's `Aura.Authorities` now.
    pub aura_authority: Option<bool>,
}

pub(super) fn rows(desired: &Desired, observed: &Observed) -> Vec<CollatorRow> {
    let mut paras: Vec<ParaId> = desired.parachains.iter().map(|p| p.id).collect();
    for id in observed.parachains.keys() {
        if !paras.contains(id) {
            paras.push(*id);
        }
    }
    let mut rows = Vec::new();
    for para in paras {
        let live = match observed.parachains.get(&para) {
            Some(ParachainView::Live(s)) => Some(s),
            _ => None,
        };
        let membership = |a: Option<&AccountId>| -> Option<CollatorMembership> {
            let s = live?;
            let a = a?;
            Some(if s.invulnerables.contains(a) {
                CollatorMembership::Invulnerable
            } else if s.candidates.contains(a) {
                CollatorMembership::Candidate
            } else {
                CollatorMembership::None
            })
        };
        let keys = |a: Option<&AccountId>| -> (Option<bool>, Option<bool>) {
            let (Some(s), Some(a)) = (live, a) else {
                return (None, None);
            };
            match s.next_keys.get(a) {
                None => (Some(false), Some(false)),
                Some(k) => {
                    let k = k.trim_start_matches("0x");
                    let authority = s
                        .aura_authorities
                        .iter()
                        .any(|x| x.trim_start_matches("0x").eq_ignore_ascii_case(k));
                    (Some(true), Some(authority))
                }
            }
        };
        let running = |n: &NodeName| -> bool {
            observed
                .workloads
                .values()
                .flat_map(|w| &w.nodes)
                .any(|p| &p.name == n && p.running)
        };
        let mut listed: BTreeSet<AccountId> = BTreeSet::new();

        let groups = desired
            .groups
            .iter()
            .filter(|g| g.chain == ChainSide::Para(para) && g.role == Role::Collator);
        for g in groups {
            for n in &g.nodes {
                let account = super::account_of(n, observed);
                if let Some(a) = account {
                    listed.insert(a.clone());
                }
                rows.push(CollatorRow {
                    para,
                    node: Some(n.name.clone()),
                    group: Some(g.name.clone()),
                    account: account.map(|a| a.to_string()),
                    external: false,
                    desired_mode: g.collator,
                    on_chain: membership(account),
                    running: Some(running(&n.name)),
                    keys_on_para: keys(account).0,
                    aura_authority: keys(account).1,
                });
            }
        }
        // Collator nodes of this para that run but are not desired.
        for (group, w) in &observed.workloads {
            let of_para = w
                .spec
                .as_ref()
                .is_some_and(|s| s.chain_side == ChainSide::Para(para) && s.role == Role::Collator);
            if !of_para {
                continue;
            }
            for p in &w.nodes {
                if desired.node(&p.name).is_some() {
                    continue;
                }
                if let Some(a) = &p.account {
                    if !listed.insert(a.clone()) {
                        continue;
                    }
                }
                rows.push(CollatorRow {
                    para,
                    node: Some(p.name.clone()),
                    group: Some(group.clone()),
                    account: p.account.as_ref().map(|a| a.to_string()),
                    external: false,
                    desired_mode: None,
                    on_chain: membership(p.account.as_ref()),
                    running: Some(p.running),
                    keys_on_para: keys(p.account.as_ref()).0,
                    aura_authority: keys(p.account.as_ref()).1,
                });
            }
        }
        if let Some(s) = live {
            let on_chain: BTreeSet<&AccountId> =
                s.invulnerables.iter().chain(&s.candidates).collect();
            for a in on_chain {
                if listed.contains(a) {
                    continue;
                }
                rows.push(CollatorRow {
                    para,
                    node: None,
                    group: None,
                    account: Some(a.to_string()),
                    external: true,
                    desired_mode: None,
                    on_chain: membership(Some(a)),
                    running: None,
                    keys_on_para: keys(Some(a)).0,
                    aura_authority: keys(Some(a)).1,
                });
            }
        }
    }
    rows
}
