//! Call builders: one function per chain operation, each returning a
//! [`Call`] — a runtime-call tree encoded against the runtime metadata only
//! when it is submitted (the dynamic API; no codegen). A call's
//! [`Call::name`] (`Sudo.sudo(ValidatorManager.register_validators)`) is what
//! plans show.
//!
//! Argument shapes are those of the polkadot-sdk pallets in polkadot 1.25
//! (rococo/westend runtimes); a runtime with another shape fails at encode
//! time with [`ChainError::Encode`] naming the call, never by submitting a
//! wrong call.

use super::error::ChainError;
use crate::spec::ids::{AccountId, Balance, ParaId};
use parity_scale_codec::{Compact, Encode};
use subxt::ext::scale_encode::EncodeAsType;
use subxt::ext::scale_value::{Composite, Value};
use subxt::Metadata;

/// One argument of a call.
#[derive(Clone, Debug)]
pub enum Arg {
    /// A dynamic value, encoded as the call field's type says.
    Value(Value<()>),
    /// A nested runtime call (`Box<RuntimeCall>`), e.g. under `Sudo.sudo`.
    Call(Box<Call>),
    /// A list of runtime calls (`Vec<RuntimeCall>`), e.g. `Utility.batch_all`.
    Calls(Vec<Call>),
    /// Bytes that are already the SCALE encoding of the field (e.g. the
    /// `SessionKeys` returned by `author_rotateKeysWithOwner`).
    Encoded(Vec<u8>),
}

/// A runtime call: pallet, call name and positional arguments.
#[derive(Clone, Debug)]
pub struct Call {
    pub pallet: String,
    pub call: String,
    pub args: Vec<Arg>,
}

impl Call {
    pub fn new(pallet: &str, call: &str, args: Vec<Arg>) -> Call {
        Call {
            pallet: pallet.into(),
            call: call.into(),
            args,
        }
    }

    /// `Pallet.call`, with nested calls in parentheses:
    /// `Sudo.sudo(Utility.batch_all(Balances.transfer_keep_alive ×3))`.
    pub fn name(&self) -> String {
        let mut s = format!("{}.{}", self.pallet, self.call);
        let inner: Vec<String> = self
            .args
            .iter()
            .filter_map(|a| match a {
                Arg::Call(c) => Some(c.name()),
                Arg::Calls(cs) => Some(summarize(cs)),
                _ => None,
            })
            .collect();
        if !inner.is_empty() {
            s.push('(');
            s.push_str(&inner.join(", "));
            s.push(')');
        }
        s
    }

    /// The SCALE-encoded call (pallet index, call index, arguments).
    pub fn encode(&self, metadata: &Metadata) -> Result<Vec<u8>, ChainError> {
        let mut out = Vec::new();
        self.encode_to(metadata, &mut out)
            .map_err(|reason| ChainError::Encode {
                endpoint: String::from("(offline)"),
                call: self.name(),
                reason,
            })?;
        Ok(out)
    }

    fn encode_to(&self, metadata: &Metadata, out: &mut Vec<u8>) -> Result<(), String> {
        let pallet = metadata
            .pallet_by_name(&self.pallet)
            .ok_or_else(|| format!("the runtime has no pallet {}", self.pallet))?;
        let variant = pallet
            .call_variant_by_name(&self.call)
            .ok_or_else(|| format!("pallet {} has no call {}", self.pallet, self.call))?;
        if variant.fields.len() != self.args.len() {
            return Err(format!(
                "{}.{} takes {} argument(s) on this runtime, {} given",
                self.pallet,
                self.call,
                variant.fields.len(),
                self.args.len()
            ));
        }
        out.push(pallet.index());
        out.push(variant.index);
        for (field, arg) in variant.fields.iter().zip(&self.args) {
            let field_name = field.name.as_deref().unwrap_or("?");
            match arg {
                Arg::Value(v) => v
                    .encode_as_type_to(field.ty.id, metadata.types(), out)
                    .map_err(|e| format!("argument {field_name}: {e}"))?,
                Arg::Call(c) => c.encode_to(metadata, out)?,
                Arg::Calls(cs) => {
                    Compact(cs.len() as u32).encode_to(out);
                    for c in cs {
                        c.encode_to(metadata, out)?;
                    }
                }
                Arg::Encoded(b) => out.extend_from_slice(b),
            }
        }
        Ok(())
    }
}

impl subxt::tx::Payload for Call {
    fn encode_call_data_to(
        &self,
        metadata: &Metadata,
        out: &mut Vec<u8>,
    ) -> Result<(), subxt::ext::subxt_core::Error> {
        self.encode_to(metadata, out).map_err(|e| {
            subxt::ext::subxt_core::Error::Encode(subxt::ext::scale_encode::Error::custom_string(e))
        })
    }
}

fn summarize(calls: &[Call]) -> String {
    // Group identical consecutive names: `Balances.transfer_keep_alive ×3`.
    let mut parts: Vec<(String, usize)> = Vec::new();
    for c in calls {
        let n = c.name();
        match parts.last_mut() {
            Some((last, k)) if *last == n => *k += 1,
            _ => parts.push((n, 1)),
        }
    }
    parts
        .into_iter()
        .map(|(n, k)| if k > 1 { format!("{n} ×{k}") } else { n })
        .collect::<Vec<_>>()
        .join(", ")
}

fn account(a: &AccountId) -> Value<()> {
    Value::from_bytes(a.0)
}

/// `MultiAddress::Id(account)` (the `dest`/`who` of most calls).
fn multi_address(a: &AccountId) -> Value<()> {
    Value::unnamed_variant("Id", [account(a)])
}

fn para(id: ParaId) -> Value<()> {
    Value::u128(id.0 as u128)
}

// ---------------------------------------------------------------- wrappers

/// `Sudo.sudo(call)`: dispatch `call` as root, signed by the sudo key.
pub fn sudo(call: Call) -> Call {
    Call::new("Sudo", "sudo", vec![Arg::Call(Box::new(call))])
}

/// `Utility.batch_all(calls)`: all or nothing. Errors on an empty list (a
/// step with nothing to do is a planning bug, not a chain call).
pub fn batch_all(calls: Vec<Call>) -> Result<Call, ChainError> {
    if calls.is_empty() {
        return Err(ChainError::Invalid("Utility.batch_all of no calls".into()));
    }
    Ok(Call::new("Utility", "batch_all", vec![Arg::Calls(calls)]))
}

/// `calls` as one call: the call itself if there is one, else `batch_all`.
pub fn one_or_batch(mut calls: Vec<Call>) -> Result<Call, ChainError> {
    if calls.len() == 1 {
        if let Some(c) = calls.pop() {
            return Ok(c);
        }
    }
    batch_all(calls)
}

// ----------------------------------------------------------- session keys

/// `Session.set_keys(keys, proof)`, signed by the validator's stash.
/// `keys` is the SCALE-encoded `SessionKeys` and `proof` the ownership proof,
/// both as returned by `author_rotateKeysWithOwner(stash)`.
pub fn set_keys(keys: &[u8], proof: &[u8]) -> Call {
    Call::new(
        "Session",
        "set_keys",
        vec![
            Arg::Encoded(keys.to_vec()),
            Arg::Value(Value::from_bytes(proof)),
        ],
    )
}

/// `Session.purge_keys()`.
pub fn purge_keys() -> Call {
    Call::new("Session", "purge_keys", vec![])
}

// ------------------------------------------------ validator membership (PoA)

/// `ValidatorManager.register_validators(stashes)` (root: wrap in [`sudo`]).
/// Effective two sessions later.
pub fn register_validators(stashes: &[AccountId]) -> Call {
    Call::new(
        "ValidatorManager",
        "register_validators",
        vec![Arg::Value(Value::unnamed_composite(
            stashes.iter().map(account),
        ))],
    )
}

/// `ValidatorManager.deregister_validators(stashes)` (root: wrap in [`sudo`]).
pub fn deregister_validators(stashes: &[AccountId]) -> Call {
    Call::new(
        "ValidatorManager",
        "deregister_validators",
        vec![Arg::Value(Value::unnamed_composite(
            stashes.iter().map(account),
        ))],
    )
}

// ------------------------------------------------ validator membership (PoS)

/// `Staking.bond(value, payee = Staked)`, signed by the stash.
pub fn staking_bond(value: Balance) -> Call {
    Call::new(
        "Staking",
        "bond",
        vec![
            Arg::Value(Value::u128(value)),
            Arg::Value(Value::unnamed_variant("Staked", [])),
        ],
    )
}

/// `Staking.validate(prefs { commission, blocked: false })`, signed by the
/// stash (its own controller on current runtimes). `commission_perbill` is
/// parts per billion.
pub fn staking_validate(commission_perbill: u32) -> Call {
    let prefs = Value::named_composite([
        ("commission", Value::u128(commission_perbill as u128)),
        ("blocked", Value::bool(false)),
    ]);
    Call::new("Staking", "validate", vec![Arg::Value(prefs)])
}

/// `Staking.chill()`, signed by the stash/controller.
pub fn staking_chill() -> Call {
    Call::new("Staking", "chill", vec![])
}

// ------------------------------------------------------------- parachains

/// What a para onboards as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParaKind {
    Parachain,
    Parathread,
}

/// `ParasSudoWrapper.sudo_schedule_para_initialize(id, genesis)` (root).
/// `genesis_head` is the SCALE-encoded header of the para's block #0 and
/// `validation_code` its `:code` at block #0. `ParaKind` is encoded as a
/// bool on current runtimes (`true` = parachain).
pub fn sudo_schedule_para_initialize(
    id: ParaId,
    genesis_head: &[u8],
    validation_code: &[u8],
    kind: ParaKind,
) -> Call {
    let genesis = Value::named_composite([
        ("genesis_head", Value::from_bytes(genesis_head)),
        ("validation_code", Value::from_bytes(validation_code)),
        ("para_kind", Value::bool(kind == ParaKind::Parachain)),
    ]);
    Call::new(
        "ParasSudoWrapper",
        "sudo_schedule_para_initialize",
        vec![Arg::Value(para(id)), Arg::Value(genesis)],
    )
}

/// `ParasSudoWrapper.sudo_schedule_para_cleanup(id)` (root): offboard.
pub fn sudo_schedule_para_cleanup(id: ParaId) -> Call {
    Call::new(
        "ParasSudoWrapper",
        "sudo_schedule_para_cleanup",
        vec![Arg::Value(para(id))],
    )
}

/// `Configuration.set_coretime_cores(n)` (root): how many cores exist.
/// rococo-local starts with 0, so the first para needs this before a core
/// can be assigned to it.
pub fn set_coretime_cores(n: u32) -> Call {
    Call::new(
        "Configuration",
        "set_coretime_cores",
        vec![Arg::Value(Value::u128(n as u128))],
    )
}

/// `Coretime.assign_core(core, begin, [(Task(para), 57600)], None)` (root):
/// the whole of `core` to `para` from relay block `begin` on, indefinitely.
pub fn assign_core(core: u16, begin: u32, id: ParaId) -> Call {
    let assignment = Value::unnamed_composite([Value::unnamed_composite([
        Value::unnamed_variant("Task", [Value::u128(id.0 as u128)]),
        Value::u128(57_600), // PartsOf57600::FULL
    ])]);
    Call::new(
        "Coretime",
        "assign_core",
        vec![
            Arg::Value(Value::u128(core as u128)),
            Arg::Value(Value::u128(begin as u128)),
            Arg::Value(assignment),
            Arg::Value(Value::unnamed_variant("None", [])),
        ],
    )
}

// ---------------------------------------------------------------- funding

/// `Balances.transfer_keep_alive(dest, value)`.
pub fn transfer_keep_alive(dest: &AccountId, value: Balance) -> Call {
    Call::new(
        "Balances",
        "transfer_keep_alive",
        vec![
            Arg::Value(multi_address(dest)),
            Arg::Value(Value::u128(value)),
        ],
    )
}

/// Fund many accounts in one extrinsic: `Utility.batch_all` of
/// `transfer_keep_alive`s (signed by the funding key, not under sudo).
pub fn fund(transfers: &[(AccountId, Balance)]) -> Result<Call, ChainError> {
    one_or_batch(
        transfers
            .iter()
            .map(|(a, v)| transfer_keep_alive(a, *v))
            .collect(),
    )
}

// ----------------------------------------------- collators (on the para)

/// `CollatorSelection.add_invulnerable(who)` (root on the para: wrap in [`sudo`]).
pub fn add_invulnerable(who: &AccountId) -> Call {
    Call::new(
        "CollatorSelection",
        "add_invulnerable",
        vec![Arg::Value(account(who))],
    )
}

/// `CollatorSelection.remove_invulnerable(who)` (root on the para).
pub fn remove_invulnerable(who: &AccountId) -> Call {
    Call::new(
        "CollatorSelection",
        "remove_invulnerable",
        vec![Arg::Value(account(who))],
    )
}

/// `CollatorSelection.set_invulnerables(new)` (root on the para).
pub fn set_invulnerables(who: &[AccountId]) -> Call {
    Call::new(
        "CollatorSelection",
        "set_invulnerables",
        vec![Arg::Value(Value::unnamed_composite(
            who.iter().map(account),
        ))],
    )
}

/// `CollatorSelection.register_as_candidate()`, signed by the collator
/// (reserves its candidacy bond on the para; needs its session keys set there).
pub fn register_as_candidate() -> Call {
    Call::new("CollatorSelection", "register_as_candidate", vec![])
}

/// A call with raw dynamic fields, for operations without a builder yet.
// ------------------------------------------------------------------- hrmp

/// `Hrmp.force_open_hrmp_channel(sender, recipient, max_capacity,
/// max_message_size)` (root: wrap in [`sudo`]): an accepted open request,
/// open at the next session change.
pub fn force_open_hrmp_channel(
    sender: ParaId,
    recipient: ParaId,
    max_capacity: u32,
    max_message_size: u32,
) -> Call {
    Call::new(
        "Hrmp",
        "force_open_hrmp_channel",
        vec![
            Arg::Value(para(sender)),
            Arg::Value(para(recipient)),
            Arg::Value(Value::u128(max_capacity.into())),
            Arg::Value(Value::u128(max_message_size.into())),
        ],
    )
}

/// `Hrmp.force_clean_hrmp(para, num_inbound, num_outbound)` (root): removes
/// every channel and request of `para`; the counts are a weight witness (at
/// least the para's live inbound and outbound channels).
pub fn force_clean_hrmp(para_id: ParaId, num_inbound: u32, num_outbound: u32) -> Call {
    Call::new(
        "Hrmp",
        "force_clean_hrmp",
        vec![
            Arg::Value(para(para_id)),
            Arg::Value(Value::u128(num_inbound.into())),
            Arg::Value(Value::u128(num_outbound.into())),
        ],
    )
}

pub fn dynamic(pallet: &str, call: &str, fields: impl IntoIterator<Item = Value<()>>) -> Call {
    let c: Composite<()> = Composite::unnamed(fields);
    Call::new(pallet, call, c.into_values().map(Arg::Value).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_show_nesting() {
        let a = AccountId([1; 32]);
        let c = sudo(
            batch_all(vec![
                register_validators(&[a.clone()]),
                deregister_validators(&[a]),
            ])
            .unwrap(),
        );
        assert_eq!(
            c.name(),
            "Sudo.sudo(Utility.batch_all(ValidatorManager.register_validators, ValidatorManager.deregister_validators))"
        );
        let f = fund(&[(AccountId([2; 32]), 1), (AccountId([3; 32]), 2)]).unwrap();
        assert_eq!(
            f.name(),
            "Utility.batch_all(Balances.transfer_keep_alive ×2)"
        );
        assert_eq!(
            fund(&[(AccountId([2; 32]), 1)]).unwrap().name(),
            "Balances.transfer_keep_alive"
        );
    }

    #[test]
    fn empty_batch_is_an_error() {
        assert!(matches!(batch_all(vec![]), Err(ChainError::Invalid(_))));
        assert!(fund(&[]).is_err());
    }
}
