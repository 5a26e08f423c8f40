//! What each step kind is, said once: the area drift files it under, what
//! it is about, whether it removes something, whether it only waits, the
//! chain it submits to, the calls it submits (named by the same code that
//! builds them for submission, [`Intent::call`]) and the values it resolves
//! when it runs. Renderers, drift, progress and the executor read this
//! description; none of them matches on kinds for these facts.

use super::step::{Member, StepKind, Transfer};
use crate::chain::calls::{self, ParaKind};
use crate::chain::intent::{CoreAssignment, Intent};
use crate::chain::node_rpc::ROTATE_KEYS_WITH_OWNER;
use crate::spec::ids::{AccountId, ChainSide};
use crate::spec::model::{Consensus, OnboardMode};
use serde::{Deserialize, Serialize};

/// Where a step's change lives (drift reports group by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Cluster,
    Chain,
}

impl Area {
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Cluster => "cluster",
            Area::Chain => "chain",
        }
    }
}

/// A value a step only learns when it runs; the executor journals it under
/// this key and plans show it as `(known after apply)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolved {
    /// The SCALE `SessionKeys` from `author_rotateKeysWithOwner` (the
    /// ownership proof goes into the same extrinsic and is not kept).
    SessionKeys,
    /// A para's genesis head (from a collator or a raw chain spec).
    GenesisHead,
    /// blake2-256 and size of a para's validation code.
    ValidationCode,
    /// Where the genesis was read from.
    GenesisFrom,
    /// The core given to a parachain, where the runtime assigns none itself.
    Core,
}

impl Resolved {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolved::SessionKeys => "session_keys",
            Resolved::GenesisHead => "genesis_head",
            Resolved::ValidationCode => "validation_code",
            Resolved::GenesisFrom => "genesis_from",
            Resolved::Core => "core",
        }
    }
}

impl std::fmt::Display for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The facts about one step kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Description {
    pub area: Area,
    /// What drift calls the thing it changes ("session keys", "collators").
    pub resource: &'static str,
    /// Removes something from the network (PR comments list these first).
    pub destructive: bool,
    /// Waits for something rather than changing it.
    pub waits: bool,
    /// The chain its extrinsics go to; `None` for steps that submit nothing.
    pub chain: Option<ChainSide>,
    /// Node RPCs it calls first, then the `Pallet.call(...)` trees it
    /// submits, in order, without repeats.
    pub calls: Vec<String>,
    /// Values it resolves when it runs.
    pub resolves: Vec<Resolved>,
}

impl Description {
    fn cluster(resource: &'static str, waits: bool) -> Self {
        Description {
            area: Area::Cluster,
            resource,
            destructive: false,
            waits,
            chain: None,
            calls: vec![],
            resolves: vec![],
        }
    }

    /// A chain step submitting `intents` (shapes: values only known after
    /// apply are left empty; they do not change a call's name).
    fn chain(resource: &'static str, side: ChainSide, intents: &[Intent]) -> Self {
        let mut calls: Vec<String> = Vec::new();
        for name in intents
            .iter()
            .filter_map(|i| i.call().ok().map(|c| c.name()))
        {
            if !calls.contains(&name) {
                calls.push(name);
            }
        }
        Description {
            area: Area::Chain,
            resource,
            destructive: false,
            waits: false,
            chain: Some(side),
            calls,
            resolves: vec![],
        }
    }

    fn destructive(mut self) -> Self {
        self.destructive = true;
        self
    }

    /// Calls the node's `method` before submitting.
    fn node_rpc(mut self, method: &str) -> Self {
        self.calls.insert(0, method.to_string());
        self
    }

    fn resolving(mut self, r: &[Resolved]) -> Self {
        self.resolves = r.to_vec();
        self
    }
}

fn accounts(members: &[Member]) -> Vec<AccountId> {
    members.iter().map(|m| m.account.clone()).collect()
}

fn transfers(t: &[Transfer]) -> Vec<(AccountId, u128)> {
    t.iter().map(|t| (t.to.clone(), t.amount)).collect()
}

/// PoS membership is planned but not carried out by the executor (and
/// `validate` refuses `consensus = "pos"`): its calls come straight from the
/// builders, there being no intent for them.
fn staking(resource: &'static str, built: &[calls::Call]) -> Description {
    let mut d = Description::chain(resource, ChainSide::Relay, &[]);
    d.calls = built.iter().map(|c| c.name()).collect();
    d
}

impl StepKind {
    /// What this kind of step is; exhaustive over kinds, no defaults.
    pub fn describe(&self) -> Description {
        match self {
            StepKind::Workload { .. } => Description::cluster("workload", false),
            StepKind::HealthGate { .. } => Description::cluster("health gate", true),
            StepKind::Fund { transfers: t } => {
                Description::chain("funding", ChainSide::Relay, &[Intent::Fund(transfers(t))])
            }
            StepKind::SetKeys { .. } => Description::chain(
                "session keys",
                ChainSide::Relay,
                &[Intent::SetKeys {
                    keys: vec![],
                    proof: vec![],
                }],
            )
            .node_rpc(ROTATE_KEYS_WITH_OWNER)
            .resolving(&[Resolved::SessionKeys]),
            StepKind::RegisterValidators {
                consensus: Consensus::Poa,
                members,
            } => Description::chain(
                "validators",
                ChainSide::Relay,
                &[Intent::RegisterValidators(accounts(members))],
            ),
            StepKind::RegisterValidators {
                consensus: Consensus::Pos,
                ..
            } => staking(
                "validators",
                &[calls::staking_bond(0), calls::staking_validate(0)],
            ),
            StepKind::DeregisterValidators {
                consensus: Consensus::Poa,
                members,
            } => Description::chain(
                "validators",
                ChainSide::Relay,
                &[Intent::DeregisterValidators(accounts(members))],
            )
            .destructive(),
            StepKind::DeregisterValidators {
                consensus: Consensus::Pos,
                ..
            } => staking("validators", &[calls::staking_chill()]).destructive(),
            StepKind::OnboardPara { para, mode, .. } => {
                let onboard = |kind| Intent::OnboardPara {
                    para: *para,
                    kind,
                    genesis_head: vec![],
                    validation_code: vec![],
                };
                let genesis = [
                    Resolved::GenesisHead,
                    Resolved::ValidationCode,
                    Resolved::GenesisFrom,
                ];
                match mode {
                    OnboardMode::Parachain => Description::chain(
                        "parachain",
                        ChainSide::Relay,
                        &[
                            onboard(ParaKind::Parachain),
                            Intent::AssignCore {
                                para: *para,
                                core: CoreAssignment {
                                    core: 0,
                                    begin: 0,
                                    set_cores: None,
                                },
                            },
                        ],
                    )
                    .resolving(&[genesis.as_slice(), &[Resolved::Core]].concat()),
                    OnboardMode::Parathread => Description::chain(
                        "parachain",
                        ChainSide::Relay,
                        &[onboard(ParaKind::Parathread)],
                    )
                    .resolving(&genesis),
                    // Never planned (nothing to onboard); the executor refuses it.
                    OnboardMode::None => Description::chain("parachain", ChainSide::Relay, &[]),
                }
            }
            StepKind::OffboardPara { para } => Description::chain(
                "parachain",
                ChainSide::Relay,
                &[Intent::OffboardPara(*para)],
            )
            .destructive(),
            StepKind::FundCollators { para, transfers: t } => Description::chain(
                "funding",
                ChainSide::Para(*para),
                &[Intent::FundPara {
                    para: *para,
                    transfers: transfers(t),
                }],
            ),
            StepKind::SetCollatorKeys { para, .. } => Description::chain(
                "session keys",
                ChainSide::Para(*para),
                &[Intent::SetParaKeys {
                    para: *para,
                    keys: vec![],
                    proof: vec![],
                }],
            )
            .node_rpc(ROTATE_KEYS_WITH_OWNER)
            .resolving(&[Resolved::SessionKeys]),
            StepKind::RegisterCollators {
                para,
                invulnerable: true,
                members,
            } => Description::chain(
                "collators",
                ChainSide::Para(*para),
                &[Intent::AddInvulnerables {
                    para: *para,
                    who: accounts(members),
                }],
            ),
            StepKind::RegisterCollators {
                para,
                invulnerable: false,
                ..
            } => Description::chain(
                "collators",
                ChainSide::Para(*para),
                &[Intent::RegisterCandidate { para: *para }],
            ),
            StepKind::DeregisterCollators { para, members } => Description::chain(
                "collators",
                ChainSide::Para(*para),
                &[Intent::RemoveInvulnerables {
                    para: *para,
                    who: accounts(members),
                }],
            )
            .destructive(),
            StepKind::OpenHrmpChannel { channel } => Description::chain(
                "hrmp channels",
                ChainSide::Relay,
                &[Intent::OpenHrmpChannel(*channel)],
            ),
            StepKind::CleanHrmp { para, reopen, .. } => Description::chain(
                "hrmp channels",
                ChainSide::Relay,
                &[Intent::CleanHrmp {
                    para: *para,
                    inbound: 0,
                    outbound: 0,
                    reopen: reopen.clone(),
                }],
            )
            .destructive(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::calls;
    use crate::spec::ids::{NodeName, ParaId};
    use crate::spec::model::GenesisSource;

    fn member() -> Member {
        Member {
            node: NodeName::new("n-0"),
            account: AccountId([7; 32]),
        }
    }

    /// One of every kind (and every branch a description depends on).
    fn every_kind() -> Vec<StepKind> {
        let para = ParaId(2000);
        let t = vec![Transfer {
            node: NodeName::new("n-0"),
            to: AccountId([7; 32]),
            amount: 5,
        }];
        vec![
            StepKind::HealthGate {
                group: crate::spec::ids::GroupName::new("g"),
                nodes: vec![],
            },
            StepKind::Fund {
                transfers: t.clone(),
            },
            StepKind::SetKeys {
                node: NodeName::new("n-0"),
                stash: AccountId([7; 32]),
            },
            StepKind::RegisterValidators {
                consensus: Consensus::Poa,
                members: vec![member()],
            },
            StepKind::DeregisterValidators {
                consensus: Consensus::Poa,
                members: vec![member()],
            },
            StepKind::RegisterValidators {
                consensus: Consensus::Pos,
                members: vec![member()],
            },
            StepKind::OnboardPara {
                para,
                mode: OnboardMode::Parachain,
                genesis: GenesisSource::Collator,
            },
            StepKind::OnboardPara {
                para,
                mode: OnboardMode::Parathread,
                genesis: GenesisSource::Collator,
            },
            StepKind::OffboardPara { para },
            StepKind::FundCollators { para, transfers: t },
            StepKind::SetCollatorKeys {
                para,
                node: NodeName::new("n-0"),
                account: AccountId([7; 32]),
            },
            StepKind::RegisterCollators {
                para,
                invulnerable: true,
                members: vec![member(), member()],
            },
            StepKind::RegisterCollators {
                para,
                invulnerable: false,
                members: vec![member()],
            },
            StepKind::DeregisterCollators {
                para,
                members: vec![member()],
            },
        ]
    }

    #[test]
    fn chain_steps_name_their_calls_and_cluster_steps_submit_nothing() {
        for k in every_kind() {
            let d = k.describe();
            assert_eq!(d.area == Area::Chain, d.chain.is_some(), "{k:?}");
            assert_eq!(d.chain.is_some(), !d.calls.is_empty(), "{k:?}");
            assert_eq!(k.submits(), d.chain.is_some(), "{k:?}");
        }
    }

    #[test]
    fn call_names_are_the_builders_names() {
        let d = StepKind::SetKeys {
            node: NodeName::new("n-0"),
            stash: AccountId([7; 32]),
        }
        .describe();
        assert_eq!(
            d.calls,
            vec![
                ROTATE_KEYS_WITH_OWNER.to_string(),
                calls::set_keys(&[], &[]).name()
            ]
        );
        let reg = StepKind::RegisterCollators {
            para: ParaId(2000),
            invulnerable: true,
            members: vec![member(), member()],
        }
        .describe();
        assert_eq!(
            reg.calls,
            vec!["Sudo.sudo(Utility.batch_all(CollatorSelection.add_invulnerable ×2))"]
        );
        assert_eq!(reg.chain, Some(ChainSide::Para(ParaId(2000))));
    }

    #[test]
    fn removals_are_destructive_and_additions_are_not() {
        for k in every_kind() {
            let removes = matches!(
                k,
                StepKind::DeregisterValidators { .. }
                    | StepKind::DeregisterCollators { .. }
                    | StepKind::OffboardPara { .. }
            );
            assert_eq!(k.describe().destructive, removes, "{k:?}");
        }
    }
}
