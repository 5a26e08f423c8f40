//! What the executor submits, one extrinsic per [`Intent`], and the one
//! place an intent becomes a runtime call ([`Intent::call`]). Plans take
//! their call names from here too (`crate::plan::kind`), so a plan shows
//! the call tree that will be sent.

use super::calls::{self, Call, ParaKind};
use super::error::ChainError;
use crate::spec::ids::{AccountId, Balance, ChainSide, ParaId};
use crate::spec::model::HrmpChannel;

/// The core a parachain is given when it is onboarded: rococo-like runtimes
/// never assign one by themselves (docs/chain.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreAssignment {
    pub core: u16,
    /// Relay block from which the core is the para's.
    pub begin: u32,
    /// `Configuration.set_coretime_cores(n)` first, when the core does not exist yet.
    pub set_cores: Option<u32>,
}

/// One chain change, as submitted (one extrinsic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// `Utility.batch_all(Balances.transfer_keep_alive …)` from the sudo account.
    Fund(Vec<(AccountId, Balance)>),
    /// `Session.set_keys(keys, proof)` signed by the stash.
    SetKeys { keys: Vec<u8>, proof: Vec<u8> },
    /// `Sudo.sudo(ValidatorManager.register_validators(stashes))`.
    RegisterValidators(Vec<AccountId>),
    /// `Sudo.sudo(ValidatorManager.deregister_validators(stashes))`.
    DeregisterValidators(Vec<AccountId>),
    /// `Sudo.sudo(ParasSudoWrapper.sudo_schedule_para_initialize(para, genesis))`
    /// on the relay. (polkadot 1.25's rococo also gives a parachain a core
    /// there; where a runtime does not, [`Intent::AssignCore`] follows.)
    OnboardPara {
        para: ParaId,
        kind: ParaKind,
        genesis_head: Vec<u8>,
        validation_code: Vec<u8>,
    },
    /// `Sudo.sudo([Utility.batch_all(Configuration.set_coretime_cores,]
    /// Coretime.assign_core))` on the relay.
    AssignCore { para: ParaId, core: CoreAssignment },
    /// `Sudo.sudo(ParasSudoWrapper.sudo_schedule_para_cleanup(para))` on the relay.
    OffboardPara(ParaId),
    /// `Sudo.sudo(Utility.batch_all(CollatorSelection.add_invulnerable …))` on the para.
    AddInvulnerables { para: ParaId, who: Vec<AccountId> },
    /// `Sudo.sudo(Utility.batch_all(CollatorSelection.remove_invulnerable …))` on the para.
    RemoveInvulnerables { para: ParaId, who: Vec<AccountId> },
    /// `CollatorSelection.register_as_candidate()` on the para, signed by the collator.
    RegisterCandidate { para: ParaId },
    /// [`Intent::Fund`] on the para.
    FundPara {
        para: ParaId,
        transfers: Vec<(AccountId, Balance)>,
    },
    /// `Session.set_keys(keys, proof)` on the para, signed by the collator.
    SetParaKeys {
        para: ParaId,
        keys: Vec<u8>,
        proof: Vec<u8>,
    },
    /// `Sudo.sudo(Hrmp.force_open_hrmp_channel(..))` on the relay.
    OpenHrmpChannel(HrmpChannel),
    /// `Sudo.sudo(Utility.batch_all(Hrmp.force_clean_hrmp(para, inbound,
    /// outbound), Hrmp.force_open_hrmp_channel…))` on the relay.
    CleanHrmp {
        para: ParaId,
        inbound: u32,
        outbound: u32,
        reopen: Vec<HrmpChannel>,
    },
}

impl Intent {
    pub fn describe(&self) -> String {
        match self {
            Intent::Fund(t) => format!("fund {} account(s)", t.len()),
            Intent::SetKeys { .. } => "Session.set_keys".into(),
            Intent::RegisterValidators(v) => format!("register {} validator(s)", v.len()),
            Intent::DeregisterValidators(v) => format!("deregister {} validator(s)", v.len()),
            Intent::OnboardPara {
                para,
                kind,
                validation_code,
                ..
            } => {
                let kind = match kind {
                    ParaKind::Parachain => "parachain",
                    ParaKind::Parathread => "parathread",
                };
                format!(
                    "onboard para {para} as a {kind} ({} bytes of code)",
                    validation_code.len()
                )
            }
            Intent::AssignCore { para, core } => {
                format!("assign core {} to para {para}", core.core)
            }
            Intent::OffboardPara(para) => format!("offboard para {para}"),
            Intent::AddInvulnerables { para, who } => {
                format!("add {} invulnerable(s) on para {para}", who.len())
            }
            Intent::RemoveInvulnerables { para, who } => {
                format!("remove {} invulnerable(s) on para {para}", who.len())
            }
            Intent::RegisterCandidate { para } => format!("register as candidate on para {para}"),
            Intent::FundPara { para, transfers } => {
                format!("fund {} account(s) on para {para}", transfers.len())
            }
            Intent::SetParaKeys { para, .. } => format!("Session.set_keys on para {para}"),
            Intent::OpenHrmpChannel(c) => format!("open HRMP channel {}", c.id),
            Intent::CleanHrmp { para, reopen, .. } => format!(
                "close the HRMP channels of para {para}, request {} again",
                reopen.len()
            ),
        }
    }

    /// The chain the intent is submitted to.
    pub fn chain(&self) -> ChainSide {
        match self {
            Intent::Fund(_)
            | Intent::SetKeys { .. }
            | Intent::RegisterValidators(_)
            | Intent::DeregisterValidators(_)
            | Intent::OnboardPara { .. }
            | Intent::AssignCore { .. }
            | Intent::OffboardPara(_)
            | Intent::OpenHrmpChannel(_)
            | Intent::CleanHrmp { .. } => ChainSide::Relay,
            Intent::AddInvulnerables { para, .. }
            | Intent::RemoveInvulnerables { para, .. }
            | Intent::RegisterCandidate { para }
            | Intent::FundPara { para, .. }
            | Intent::SetParaKeys { para, .. } => ChainSide::Para(*para),
        }
    }
    /// The runtime call this intent submits: the one place where an intent
    /// becomes a call tree (the executor submits it, plans show its name).
    pub fn call(&self) -> Result<Call, ChainError> {
        Ok(match self {
            Intent::Fund(t) => calls::fund(t)?,
            Intent::SetKeys { keys, proof } => calls::set_keys(keys, proof),
            Intent::RegisterValidators(v) => calls::sudo(calls::register_validators(v)),
            Intent::DeregisterValidators(v) => calls::sudo(calls::deregister_validators(v)),
            Intent::OnboardPara {
                para,
                kind,
                genesis_head,
                validation_code,
            } => calls::sudo(calls::sudo_schedule_para_initialize(
                *para,
                genesis_head,
                validation_code,
                *kind,
            )),
            Intent::AssignCore { para, core } => {
                let mut inner = Vec::new();
                if let Some(n) = core.set_cores {
                    inner.push(calls::set_coretime_cores(n));
                }
                inner.push(calls::assign_core(core.core, core.begin, *para));
                calls::sudo(calls::one_or_batch(inner)?)
            }
            Intent::OffboardPara(para) => calls::sudo(calls::sudo_schedule_para_cleanup(*para)),
            Intent::AddInvulnerables { who, .. } => calls::sudo(calls::one_or_batch(
                who.iter().map(calls::add_invulnerable).collect(),
            )?),
            Intent::RemoveInvulnerables { who, .. } => calls::sudo(calls::one_or_batch(
                who.iter().map(calls::remove_invulnerable).collect(),
            )?),
            Intent::RegisterCandidate { .. } => calls::register_as_candidate(),
            Intent::FundPara { transfers, .. } => calls::fund(transfers)?,
            Intent::SetParaKeys { keys, proof, .. } => calls::set_keys(keys, proof),
            Intent::OpenHrmpChannel(c) => calls::sudo(open_channel(c)),
            Intent::CleanHrmp {
                para,
                inbound,
                outbound,
                reopen,
            } => {
                let mut inner = vec![calls::force_clean_hrmp(*para, *inbound, *outbound)];
                inner.extend(reopen.iter().map(open_channel));
                calls::sudo(calls::one_or_batch(inner)?)
            }
        })
    }
}

fn open_channel(c: &HrmpChannel) -> Call {
    calls::force_open_hrmp_channel(
        c.id.sender,
        c.id.recipient,
        c.max_capacity,
        c.max_message_size,
    )
}
