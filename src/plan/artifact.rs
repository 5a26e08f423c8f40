//! Saved plans (`paraform plan --out`) and the staleness check `apply` runs
//! before carrying one out. PURE: serde and hashing only; the CLI does the
//! file I/O.
//!
//! Staleness compares what the plan *read*, not the clock of the chain: a
//! block hash that advanced is not staleness by itself (chains always
//! advance). A plan is stale when the observed fingerprint digest or a
//! workload generation differs, or the desired state it was made from did.

use super::{Fingerprint, Plan};
use crate::spec::{Desired, GroupName, NetworkName};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;

// 2: step calls and known-after-apply values come from the kind description.
pub const SAVED_PLAN_FORMAT_VERSION: u32 = 2;

/// A plan saved for a later `apply`. Only public data: no secret values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    /// The paraform that made the plan (`CARGO_PKG_VERSION`).
    pub paraform_version: String,
    pub network: NetworkName,
    /// Commit of the desired state (`--rev`, or HEAD of a clean checkout).
    pub git_commit: Option<String>,
    /// Who/what made the plan, e.g. `paraform plan networks/local`. Never
    /// contains secret values (callers pass the command line shape only).
    pub created_by: String,
    /// The network directory as given to `plan` (relative to where it ran).
    pub net_dir: String,
    /// sha256 of the canonical JSON of the desired state (see `desired_digest`).
    pub desired_digest: String,
    /// sha256 of the network and steps (see `content_digest`): what a reviewer approved.
    pub content_digest: String,
    /// The desired state the plan was made from, accounts derived (public
    /// data and secret *references* only): `apply FILE` observes and resolves
    /// secrets with it, so the saved plan is self-contained.
    pub desired: Desired,
    pub plan: Plan,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a saved paraform plan: {0}")]
    Json(#[from] serde_json::Error),
    #[error("saved plan format version {found} is not supported (this paraform reads version {expected})")]
    Version { found: u32, expected: u32 },
    #[error("the saved plan was modified after it was written (digest mismatch)")]
    Tampered,
}

impl SavedPlan {
    /// `desired` must be the state the plan was made from, after
    /// `derive_accounts` (its digest covers the derived accounts).
    pub fn new(
        desired: &Desired,
        plan: Plan,
        net_dir: impl Into<String>,
        created_by: impl Into<String>,
    ) -> Self {
        SavedPlan {
            format_version: SAVED_PLAN_FORMAT_VERSION,
            paraform_version: env!("CARGO_PKG_VERSION").to_string(),
            network: plan.network.clone(),
            git_commit: desired.source.commit.clone(),
            created_by: created_by.into(),
            net_dir: net_dir.into(),
            desired_digest: desired_digest(desired),
            content_digest: content_digest(&plan),
            desired: desired.clone(),
            plan,
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    /// Parse, check the format version and that the steps match the recorded digest.
    pub fn from_json(s: &str) -> Result<Self, LoadError> {
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        let v: Version = serde_json::from_str(s)?;
        if v.format_version != SAVED_PLAN_FORMAT_VERSION {
            return Err(LoadError::Version {
                found: v.format_version,
                expected: SAVED_PLAN_FORMAT_VERSION,
            });
        }
        let saved: SavedPlan = serde_json::from_str(s)?;
        if content_digest(&saved.plan) != saved.content_digest
            || desired_digest(&saved.desired) != saved.desired_digest
        {
            return Err(LoadError::Tampered);
        }
        Ok(saved)
    }
}

/// sha256 over the canonical JSON of the desired state. `source` (paths,
/// commit) is left out so the same content loaded from a checkout or from a
/// git revision has the same digest; derived accounts are included, so a
/// changed derivation root changes the digest.
pub fn desired_digest(desired: &Desired) -> String {
    let mut d = desired.clone();
    d.source = Default::default();
    sha256_json(&d)
}

/// sha256 over the network name and the steps (ids, actions, kinds, reasons,
/// edges, known-after-apply inputs). Excludes the fingerprint and pending
/// effects, which change as the chain advances without changing what the
/// plan does.
///
/// The same value as [`Plan::content_hash`] (ETAs excluded too: they name a
/// session index, which advances between review and merge).
pub fn content_digest(plan: &Plan) -> String {
    plan.content_hash()
}

fn sha256_json<T: Serialize>(value: &T) -> String {
    // Plain data with string keys: serialization cannot fail in practice; an
    // empty input still gives a stable digest rather than a panic.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// One reason a saved plan no longer matches the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The plan is for another network.
    Network {
        saved: NetworkName,
        fresh: NetworkName,
    },
    /// The desired state differs from the one the plan was made from.
    Desired,
    /// A workload appeared, disappeared or got a new generation.
    Workload {
        group: GroupName,
        saved: Option<u64>,
        fresh: Option<u64>,
    },
    /// Objects of a workload (its Services, Secrets, ConfigMaps or the
    /// StatefulSet itself) were edited.
    WorkloadObjects {
        group: GroupName,
    },
    /// The relay chain was not running when planned and is now, or the reverse.
    ChainAppeared {
        fresh_block: Option<u64>,
    },
    ChainVanished,
    /// The chain is at a lower block than when planned: it was reset.
    ChainReset {
        saved: u64,
        fresh: u64,
    },
    /// The rest of the observed state the plan read (chain storage, node
    /// probes) differs.
    Observed {
        saved: String,
        fresh: String,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Network { saved, fresh } => {
                write!(f, "the plan is for network {saved}, not {fresh}")
            }
            Change::Desired => f.write_str("the desired state changed since the plan was made"),
            Change::Workload {
                group,
                saved: Some(s),
                fresh: Some(n),
            } => {
                write!(f, "workload {group} changed (generation {s} → {n})")
            }
            Change::Workload {
                group,
                saved: None,
                fresh: Some(n),
            } => {
                write!(f, "workload {group} appeared (generation {n})")
            }
            Change::Workload {
                group,
                saved: Some(s),
                fresh: None,
            } => {
                write!(f, "workload {group} disappeared (was generation {s})")
            }
            Change::Workload { group, .. } => write!(f, "workload {group} changed"),
            Change::WorkloadObjects { group } => write!(
                f,
                "objects of workload {group} were edited since the plan was made"
            ),
            Change::ChainAppeared {
                fresh_block: Some(n),
            } => {
                write!(
                    f,
                    "the relay chain was not running when planned; it is now at block #{n}"
                )
            }
            Change::ChainAppeared { fresh_block: None } => {
                f.write_str("the relay chain was not running when planned; it is now")
            }
            Change::ChainVanished => {
                f.write_str("the relay chain was observed when planned; it is not now")
            }
            Change::ChainReset { saved, fresh } => {
                write!(
                    f,
                    "the relay chain went back from block #{saved} to #{fresh} (was it reset?)"
                )
            }
            Change::Observed { saved, fresh } => write!(
                f,
                "the observed chain/node state differs (fingerprint {} → {})",
                short(saved),
                short(fresh)
            ),
        }
    }
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Why a saved plan is stale: every difference found, most specific first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the saved plan is stale: {}", self.changes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("; "))]
pub struct Stale {
    pub changes: Vec<Change>,
}

/// Compare what a saved plan read with a fresh observation's fingerprint.
/// A chain that merely advanced (new block hash/number) is not stale.
pub fn staleness(saved: &SavedPlan, fresh: &Fingerprint) -> Result<(), Stale> {
    let old = &saved.plan.fingerprint;
    let mut changes = Vec::new();

    let groups: BTreeSet<&GroupName> = old.workloads.keys().chain(fresh.workloads.keys()).collect();
    for group in groups {
        let (s, n) = (
            old.workloads.get(group).copied(),
            fresh.workloads.get(group).copied(),
        );
        if s != n {
            changes.push(Change::Workload {
                group: group.clone(),
                saved: s,
                fresh: n,
            });
        }
    }

    for (group, digest) in &old.objects {
        let moved = fresh.objects.get(group).is_some_and(|d| d != digest);
        if moved
            && !changes
                .iter()
                .any(|c| matches!(c, Change::Workload { group: g, .. } if g == group))
        {
            changes.push(Change::WorkloadObjects {
                group: group.clone(),
            });
        }
    }

    match (old.block_hash.is_some(), fresh.block_hash.is_some()) {
        (false, true) => changes.push(Change::ChainAppeared {
            fresh_block: fresh.block_number,
        }),
        (true, false) => changes.push(Change::ChainVanished),
        _ => {}
    }
    if let (Some(s), Some(n)) = (old.block_number, fresh.block_number) {
        if n < s {
            changes.push(Change::ChainReset { saved: s, fresh: n });
        }
    }

    // The digest covers everything the plan depends on; name it only when
    // nothing more specific explains the difference.
    if old.digest != fresh.digest && changes.is_empty() {
        changes.push(Change::Observed {
            saved: old.digest.clone(),
            fresh: fresh.digest.clone(),
        });
    }

    if changes.is_empty() {
        Ok(())
    } else {
        Err(Stale { changes })
    }
}

/// Also compare the network and a freshly loaded desired state (after
/// `derive_accounts`, as at plan time): a changed desired state is stale.
pub fn staleness_with_desired(
    saved: &SavedPlan,
    fresh: &Fingerprint,
    desired: &Desired,
) -> Result<(), Stale> {
    let mut changes = Vec::new();
    if saved.network != desired.network {
        changes.push(Change::Network {
            saved: saved.network.clone(),
            fresh: desired.network.clone(),
        });
    }
    if saved.desired_digest != desired_digest(desired) {
        changes.push(Change::Desired);
    }
    if let Err(Stale { changes: more }) = staleness(saved, fresh) {
        changes.extend(more);
    }
    if changes.is_empty() {
        Ok(())
    } else {
        Err(Stale { changes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Step, StepId, StepKind, PLAN_FORMAT_VERSION};
    use crate::spec::{HexHash, ParaId};

    fn plan_with(fp: Fingerprint) -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            network: NetworkName::new("net"),
            steps: vec![
                Step {
                    id: StepId("fund".into()),
                    action: Action::Create,
                    // A u128 inside the tagged StepKind: must round-trip.
                    kind: StepKind::Fund {
                        transfers: vec![crate::plan::Transfer {
                            node: crate::spec::NodeName::new("v-0"),
                            to: crate::spec::AccountId([7; 32]),
                            amount: u128::MAX - 1,
                        }],
                    },
                    reason: "below target".into(),
                    depends_on: vec![],
                    eta: None,
                },
                Step {
                    id: StepId("para.2000.offboard".into()),
                    action: Action::Delete,
                    kind: StepKind::OffboardPara { para: ParaId(2000) },
                    reason: "not in desired state".into(),
                    depends_on: vec![],
                    eta: None,
                },
            ],
            pending: vec![],
            safety: vec![],
            fingerprint: fp,
        }
    }

    fn desired() -> Desired {
        use crate::spec::model::*;
        Desired {
            network: NetworkName::new("net"),
            provider: ProviderKind::Local,
            source: Default::default(),
            secrets: SecretRefs {
                sudo: Some(SecretRef::Env {
                    name: "SUDO".into(),
                }),
                derivation_root: None,
                other: Default::default(),
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
            funding: Funding { amount: u128::MAX },
        }
    }

    fn saved(fp: Fingerprint) -> SavedPlan {
        SavedPlan::new(&desired(), plan_with(fp), "networks/net", "test")
    }

    #[test]
    fn desired_digest_ignores_source_paths_but_not_content() {
        let a = desired();
        let mut b = desired();
        b.source.dir = "/elsewhere/networks/net".into();
        b.source.commit = Some("abc".into());
        assert_eq!(desired_digest(&a), desired_digest(&b));
        b.relay.command = "polkadot-v2".into();
        assert_ne!(desired_digest(&a), desired_digest(&b));

        let s = saved(fp(10, "0xaa", "d1", &[]));
        let fresh = fp(11, "0xbb", "d1", &[]);
        assert_eq!(staleness_with_desired(&s, &fresh, &a), Ok(()));
        let err = staleness_with_desired(&s, &fresh, &b).unwrap_err();
        assert_eq!(err.changes, vec![Change::Desired]);
    }

    fn fp(block: u64, hash: &str, digest: &str, gens: &[(&str, u64)]) -> Fingerprint {
        Fingerprint {
            block_hash: Some(HexHash(hash.into())),
            block_number: Some(block),
            workloads: gens.iter().map(|(g, n)| (GroupName::new(*g), *n)).collect(),
            objects: Default::default(),
            digest: digest.into(),
        }
    }

    #[test]
    fn edited_objects_name_their_workload() {
        let mut old = fp(3, "0xaa", "d1", &[("rpc", 2), ("val", 1)]);
        old.objects = [("rpc", "o1"), ("val", "v1")]
            .iter()
            .map(|(g, d)| (GroupName::new(*g), d.to_string()))
            .collect();
        let mut fresh = old.clone();
        fresh.digest = "d2".into();
        fresh.objects.insert(GroupName::new("rpc"), "o2".into());
        let err = staleness(&saved(old.clone()), &fresh).unwrap_err();
        assert_eq!(
            err.changes,
            vec![Change::WorkloadObjects {
                group: GroupName::new("rpc")
            }]
        );
        assert!(err
            .to_string()
            .contains("objects of workload rpc were edited"));
        // A new generation already names the workload: not twice.
        fresh.workloads.insert(GroupName::new("rpc"), 3);
        let err = staleness(&saved(old), &fresh).unwrap_err();
        assert_eq!(err.changes.len(), 1, "{:?}", err.changes);
    }

    #[test]
    fn advancing_chain_is_not_stale() {
        let s = saved(fp(10, "0xaa", "d1", &[("a", 1)]));
        assert_eq!(staleness(&s, &fp(25, "0xbb", "d1", &[("a", 1)])), Ok(()));
    }

    #[test]
    fn workload_generation_named() {
        let s = saved(fp(10, "0xaa", "d1", &[("a", 1), ("b", 3)]));
        let err = staleness(&s, &fp(11, "0xbb", "d2", &[("a", 2), ("c", 1)])).unwrap_err();
        assert_eq!(
            err.changes,
            vec![
                Change::Workload {
                    group: GroupName::new("a"),
                    saved: Some(1),
                    fresh: Some(2)
                },
                Change::Workload {
                    group: GroupName::new("b"),
                    saved: Some(3),
                    fresh: None
                },
                Change::Workload {
                    group: GroupName::new("c"),
                    saved: None,
                    fresh: Some(1)
                },
            ]
        );
        let msg = err.to_string();
        assert!(
            msg.contains("workload a changed (generation 1 → 2)"),
            "{msg}"
        );
        assert!(msg.contains("workload b disappeared"), "{msg}");
        assert!(msg.contains("workload c appeared"), "{msg}");
    }

    #[test]
    fn digest_change_alone_is_named() {
        let s = saved(fp(10, "0xaa", "d1aaaaaaaaaaaaaaaa", &[]));
        let err = staleness(&s, &fp(10, "0xaa", "d2bbbbbbbbbbbbbbbb", &[])).unwrap_err();
        assert_eq!(err.changes.len(), 1);
        assert!(
            err.to_string().contains("d1aaaaaaaaaa → d2bbbbbbbbbb"),
            "{err}"
        );
    }

    #[test]
    fn chain_reset_and_appearance() {
        let s = saved(fp(100, "0xaa", "d1", &[]));
        let err = staleness(&s, &fp(5, "0xcc", "d2", &[])).unwrap_err();
        assert_eq!(
            err.changes,
            vec![Change::ChainReset {
                saved: 100,
                fresh: 5
            }]
        );

        let s = saved(Fingerprint {
            digest: "d0".into(),
            ..Default::default()
        });
        let err = staleness(&s, &fp(3, "0xcc", "d2", &[])).unwrap_err();
        assert_eq!(
            err.changes,
            vec![Change::ChainAppeared {
                fresh_block: Some(3)
            }]
        );
    }

    #[test]
    fn json_round_trip_and_tamper_detection() {
        let s = saved(fp(10, "0xaa", "d1", &[("a", 1)]));
        let json = s.to_json().unwrap();
        assert_eq!(SavedPlan::from_json(&json).unwrap(), s);

        let tampered = json.replace("para.2000.offboard", "para.2001.offboard");
        assert!(matches!(
            SavedPlan::from_json(&tampered),
            Err(LoadError::Tampered)
        ));

        let current = format!("\"format_version\": {SAVED_PLAN_FORMAT_VERSION}");
        let future = json.replacen(&current, "\"format_version\": 99", 1);
        assert!(matches!(
            SavedPlan::from_json(&future),
            Err(LoadError::Version { found: 99, .. })
        ));
    }
}
