//! Observation of a relay chain and of a parachain at one pinned finalized
//! block, batched (see [`super::storage`] for the round-trip budget).
//!
//! Pallets that a runtime lacks are simply not read (PoA runtimes have
//! `ValidatorManager`, PoS runtimes `Staking`; either may lack `Sudo`).

use super::client::ChainClient;
use super::error::ChainError;
use super::storage::{entry_prefix, val, DynValue, Entry, Snapshot};
use crate::observe::model::{
    ChainState, ChannelState, ObservedChannel, ParaLifecycle, ParaState, ParachainState,
};
use crate::spec::ids::{AccountId, Balance, HexHash, ParaId};
use crate::spec::model::ChannelId;
use parity_scale_codec::Encode;
use std::collections::{BTreeMap, BTreeSet};

/// A full storage key (prefix + hashed map key).
type StorageKey = Vec<u8>;

// Relay storage entries observation reads.
const VALIDATORS: Entry = Entry::new("Session", "Validators");
const CURRENT_INDEX: Entry = Entry::new("Session", "CurrentIndex");
const QUEUED_KEYS: Entry = Entry::new("Session", "QueuedKeys");
const NEXT_KEYS: Entry = Entry::new("Session", "NextKeys");
const TO_ADD: Entry = Entry::new("ValidatorManager", "ValidatorsToAdd");
const TO_RETIRE: Entry = Entry::new("ValidatorManager", "ValidatorsToRetire");
const STAKING_VALIDATORS: Entry = Entry::new("Staking", "Validators");
const STAKING_BONDED: Entry = Entry::new("Staking", "Bonded");
const LIFECYCLES: Entry = Entry::new("Paras", "ParaLifecycles");
const HEADS: Entry = Entry::new("Paras", "Heads");
const CODE_HASH: Entry = Entry::new("Paras", "CurrentCodeHash");
const REGISTRAR_PARAS: Entry = Entry::new("Registrar", "Paras");
const SUDO_KEY: Entry = Entry::new("Sudo", "Key");
const HRMP_CHANNELS: Entry = Entry::new("Hrmp", "HrmpChannels");
const HRMP_OPEN_REQUESTS: Entry = Entry::new("Hrmp", "HrmpOpenChannelRequests");
const HRMP_CLOSE_REQUESTS: Entry = Entry::new("Hrmp", "HrmpCloseChannelRequests");
const ACCOUNT: Entry = Entry::new("System", "Account");
const ACTIVE_CONFIG: Entry = Entry::new("Configuration", "ActiveConfig");
// Core assignment: recent relay runtimes keep coretime assignments in the
// scheduler (`CoreDescriptors`: what runs on a core now, `CoreSchedules`:
// what is scheduled from a block on); older ones had a separate
// `CoretimeAssignmentProvider` pallet with the same two maps. Both are read
// when present.
const CORE_ENTRIES: [Entry; 4] = [
    Entry::new("ParaScheduler", "CoreDescriptors"),
    Entry::new("ParaScheduler", "CoreSchedules"),
    Entry::new("CoretimeAssignmentProvider", "CoreDescriptors"),
    Entry::new("CoretimeAssignmentProvider", "CoreSchedules"),
];

// Parachain entries.
const PARACHAIN_ID: Entry = Entry::new("ParachainInfo", "ParachainId");
const INVULNERABLES: Entry = Entry::new("CollatorSelection", "Invulnerables");
const CANDIDATE_LIST: Entry = Entry::new("CollatorSelection", "CandidateList");
const DESIRED_CANDIDATES: Entry = Entry::new("CollatorSelection", "DesiredCandidates");
const CANDIDACY_BOND: Entry = Entry::new("CollatorSelection", "CandidacyBond");
const AURA_AUTHORITIES: Entry = Entry::new("Aura", "Authorities");

/// Details of a relay observation that the planner's `ChainState` does not
/// (yet) carry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RelayDetails {
    /// `Configuration.ActiveConfig.scheduler_params.num_cores` (older
    /// runtimes: `coretime_cores`): how many cores exist for paras.
    pub coretime_cores: Option<u32>,
    /// Paras in `Registrar.Paras` (registered through the registrar, not
    /// through `ParasSudoWrapper`).
    pub registered_paras: BTreeSet<ParaId>,
    /// Para → core indices assigned now or scheduled (`Task(para)` in the
    /// core descriptors/schedules).
    pub para_cores: BTreeMap<ParaId, BTreeSet<u32>>,
    /// Account nonces (`System.Account.nonce`) of the requested accounts.
    pub nonces: BTreeMap<AccountId, u32>,
    /// Runtime `spec_version` the observation decoded with.
    pub spec_version: u32,
    /// Round trips this observation took.
    pub round_trips: u64,
}

/// Observe the relay chain at the latest finalized block; `accounts` are the
/// accounts whose balances paraform needs (stashes, collators, sudo).
pub async fn observe_relay(
    client: &ChainClient,
    accounts: &[AccountId],
) -> Result<ChainState, ChainError> {
    Ok(observe_relay_detailed(client, accounts).await?.0)
}

/// [`observe_relay`] plus the [`RelayDetails`].
pub async fn observe_relay_detailed(
    client: &ChainClient,
    accounts: &[AccountId],
) -> Result<(ChainState, RelayDetails), ChainError> {
    let start = client.counter().total();
    let snap = Snapshot::pin_finalized(client).await?;

    // (1) keys of every map, concurrently.
    let mut maps = vec![
        NEXT_KEYS,
        STAKING_VALIDATORS,
        STAKING_BONDED,
        LIFECYCLES,
        HEADS,
        CODE_HASH,
        REGISTRAR_PARAS,
        HRMP_CHANNELS,
        HRMP_OPEN_REQUESTS,
        HRMP_CLOSE_REQUESTS,
    ];
    maps.extend(CORE_ENTRIES.iter().filter(|e| !snap.is_plain(**e)));
    let keys = snap.keys_of(&maps).await?;

    // (2) every value in one batch: map values that are needed, plain values,
    // accounts.
    let needs_values = [NEXT_KEYS, LIFECYCLES, HEADS, CODE_HASH, HRMP_CHANNELS];
    let mut wanted: Vec<Vec<u8>> = Vec::new();
    for (entry, ks) in &keys {
        if needs_values.contains(entry) || (CORE_ENTRIES.contains(entry) && !snap.is_plain(*entry))
        {
            wanted.extend(ks.iter().cloned());
        }
    }
    let plain = [
        VALIDATORS,
        CURRENT_INDEX,
        QUEUED_KEYS,
        TO_ADD,
        TO_RETIRE,
        SUDO_KEY,
        ACTIVE_CONFIG,
    ];
    for e in plain
        .iter()
        .chain(CORE_ENTRIES.iter())
        .filter(|e| snap.has(**e) && snap.is_plain(**e))
    {
        wanted.push(entry_prefix(*e));
    }
    let unique_accounts: BTreeSet<AccountId> = accounts.iter().cloned().collect();
    let mut account_keys = Vec::new();
    if snap.has(ACCOUNT) {
        for a in &unique_accounts {
            let k = snap.map_key(ACCOUNT, &a.0.encode())?;
            account_keys.push((a.clone(), k.clone()));
            wanted.push(k);
        }
    }
    let values = snap.values(&wanted).await?;

    let plain_value = |e: Entry| -> Result<Option<DynValue>, ChainError> {
        match values.get(&entry_prefix(e)) {
            Some(b) => Ok(Some(snap.decode(e, b)?)),
            None => Ok(None),
        }
    };
    let accounts_of = |v: Option<DynValue>| -> Vec<AccountId> {
        v.map(|v| {
            val::items(&v)
                .into_iter()
                .filter_map(val::as_account)
                .collect()
        })
        .unwrap_or_default()
    };

    let validators = accounts_of(plain_value(VALIDATORS)?);
    let session_index = plain_value(CURRENT_INDEX)?
        .and_then(|v| val::as_u128(&v))
        .unwrap_or(0) as u32;
    let queued: Vec<AccountId> = plain_value(QUEUED_KEYS)?
        .map(|v| {
            val::items(&v)
                .into_iter()
                .filter_map(|pair| val::items(pair).first().and_then(|a| val::as_account(a)))
                .collect()
        })
        .unwrap_or_default();
    let pending_add = accounts_of(plain_value(TO_ADD)?);
    let pending_retire = accounts_of(plain_value(TO_RETIRE)?);
    let sudo_key = plain_value(SUDO_KEY)?
        .and_then(|v| val::as_account(&v).or_else(|| val::some(&v).and_then(val::as_account)));

    let account_keyed = |e: Entry| -> Result<Vec<(AccountId, Vec<u8>)>, ChainError> {
        let mut out = Vec::new();
        for k in keys.get(&e).map(|v| v.as_slice()).unwrap_or_default() {
            let part = snap.map_key_part(e, k)?;
            let arr: [u8; 32] =
                part.get(..32)
                    .and_then(|p| p.try_into().ok())
                    .ok_or_else(|| ChainError::Decode {
                        endpoint: client.endpoint().to_string(),
                        what: e.to_string(),
                        reason: "key is not a 32-byte account".into(),
                    })?;
            out.push((AccountId(arr), k.clone()));
        }
        Ok(out)
    };
    let next_keys: BTreeMap<AccountId, String> = account_keyed(NEXT_KEYS)?
        .into_iter()
        .filter_map(|(a, k)| values.get(&k).map(|v| (a, format!("0x{}", hex::encode(v)))))
        .collect();
    let staking_validators: Vec<AccountId> = account_keyed(STAKING_VALIDATORS)?
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    let bonded: Vec<AccountId> = account_keyed(STAKING_BONDED)?
        .into_iter()
        .map(|(a, _)| a)
        .collect();

    // Paras.
    let para_keyed = |e: Entry| -> Result<Vec<(ParaId, Vec<u8>)>, ChainError> {
        let mut out = Vec::new();
        for k in keys.get(&e).map(|v| v.as_slice()).unwrap_or_default() {
            let part = snap.map_key_part(e, k)?;
            let id = val::as_u128(&snap.decode_key(e, part)?)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| ChainError::Decode {
                    endpoint: client.endpoint().to_string(),
                    what: e.to_string(),
                    reason: "key is not a para id".into(),
                })?;
            out.push((ParaId(id), k.clone()));
        }
        Ok(out)
    };
    let mut paras: BTreeMap<ParaId, ParaState> = BTreeMap::new();
    for (id, k) in para_keyed(LIFECYCLES)? {
        let Some(bytes) = values.get(&k) else {
            continue;
        };
        let v = snap.decode(LIFECYCLES, bytes)?;
        let Some(lifecycle) = val::variant_name(&v).and_then(lifecycle_from_name) else {
            return Err(ChainError::Decode {
                endpoint: client.endpoint().to_string(),
                what: format!("{LIFECYCLES} of para {id}"),
                reason: format!("unknown lifecycle {:?}", val::variant_name(&v)),
            });
        };
        paras.insert(
            id,
            ParaState {
                lifecycle,
                head: None,
                code_hash: None,
                has_core: Some(false),
            },
        );
    }
    for (id, k) in para_keyed(HEADS)? {
        if let (Some(p), Some(bytes)) = (paras.get_mut(&id), values.get(&k)) {
            // The value is `HeadData(Vec<u8>)`: the head is the para block
            // header; its blake2-256 is the para block hash.
            let head = val::as_bytes(&snap.decode(HEADS, bytes)?).unwrap_or_default();
            p.head = Some(hex_hash(&sp_crypto_hashing::blake2_256(&head)));
        }
    }
    for (id, k) in para_keyed(CODE_HASH)? {
        if let (Some(p), Some(bytes)) = (paras.get_mut(&id), values.get(&k)) {
            p.code_hash = val::as_bytes(&snap.decode(CODE_HASH, bytes)?).map(|b| hex_hash(&b));
        }
    }
    let registered_paras: BTreeSet<ParaId> = para_keyed(REGISTRAR_PARAS)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();

    // Cores: which para runs (or is scheduled to run) on which core.
    let mut para_cores: BTreeMap<ParaId, BTreeSet<u32>> = BTreeMap::new();
    let mut note_tasks = |core: Option<u32>, value: &DynValue| {
        let mut tasks = Vec::new();
        collect_tasks(value, &mut tasks);
        for t in tasks {
            let set = para_cores.entry(ParaId(t)).or_default();
            if let Some(c) = core {
                set.insert(c);
            }
        }
    };
    for e in CORE_ENTRIES {
        if !snap.has(e) {
            continue;
        }
        if snap.is_plain(e) {
            // `CoreDescriptors` as one `BTreeMap<CoreIndex, CoreDescriptor>`.
            if let Some(v) = plain_value(e)? {
                for (core, d) in core_map_entries(&v) {
                    note_tasks(Some(core), d);
                }
            }
            continue;
        }
        for k in keys.get(&e).map(|v| v.as_slice()).unwrap_or_default() {
            let Some(bytes) = values.get(k) else { continue };
            let value = snap.decode(e, bytes)?;
            // Keyed by `CoreIndex` or by `(BlockNumber, CoreIndex)`: the core is the last part.
            let core = snap
                .map_key_part(e, k)
                .and_then(|part| snap.decode_key(e, part))
                .ok()
                .and_then(|key| match val::items(&key).last() {
                    Some(last) if val::items(&key).len() > 1 => val::as_u128(last),
                    _ => val::as_u128(&key),
                })
                .map(|n| n as u32);
            note_tasks(core, &value);
        }
    }
    for (id, p) in paras.iter_mut() {
        p.has_core = Some(para_cores.contains_key(id));
    }
    let coretime_cores = plain_value(ACTIVE_CONFIG)?.and_then(|cfg| {
        val::field(&cfg, "scheduler_params")
            .and_then(|s| val::field(s, "num_cores"))
            .or_else(|| val::field(&cfg, "coretime_cores"))
            .and_then(val::as_u128)
            .map(|n| n as u32)
    });

    let hrmp = hrmp_channels(client, &snap, &keys, &values)?;

    // Accounts.
    let mut balances: BTreeMap<AccountId, Balance> = BTreeMap::new();
    let mut nonces = BTreeMap::new();
    for (a, k) in account_keys {
        if let Some(bytes) = values.get(&k) {
            let v = snap.decode(ACCOUNT, bytes)?;
            let free = val::field(&v, "data")
                .and_then(|d| val::field(d, "free"))
                .and_then(val::as_u128)
                .unwrap_or(0);
            let nonce = val::field(&v, "nonce").and_then(val::as_u128).unwrap_or(0) as u32;
            balances.insert(a.clone(), free);
            nonces.insert(a, nonce);
        }
    }

    let existential_deposit = snap
        .constant("Balances", "ExistentialDeposit")
        .and_then(|v| val::as_u128(&v))
        .unwrap_or(0);
    let session_length = snap
        .constant("Babe", "EpochDuration")
        .or_else(|| snap.constant("Aura", "EpochDuration"))
        .and_then(|v| val::as_u128(&v))
        .and_then(|n| u32::try_from(n).ok());
    let ss58_prefix = snap
        .constant("System", "SS58Prefix")
        .and_then(|v| val::as_u128(&v))
        .map(|n| n as u16)
        .unwrap_or(42);

    let state = ChainState {
        block_hash: hex_hash(snap.at.as_bytes()),
        block_number: snap.number,
        session_index,
        session_length,
        validators,
        next_keys,
        queued,
        pending_add,
        pending_retire,
        staking_validators,
        bonded,
        paras,
        balances,
        existential_deposit,
        sudo_key,
        ss58_prefix,
        hrmp,
    };
    let details = RelayDetails {
        coretime_cores,
        registered_paras,
        para_cores,
        nonces,
        spec_version: client.api().runtime_version().spec_version,
        round_trips: client.counter().total() - start,
    };
    Ok((state, details))
}

/// HRMP channels from the keys of the three maps (channel ids) and the
/// values of `HrmpChannels` (the limits it was opened with).
fn hrmp_channels(
    client: &ChainClient,
    snap: &Snapshot,
    keys: &BTreeMap<Entry, Vec<Vec<u8>>>,
    values: &BTreeMap<Vec<u8>, Vec<u8>>,
) -> Result<Vec<ObservedChannel>, ChainError> {
    let id_of = |e: Entry, k: &[u8]| -> Result<ChannelId, ChainError> {
        let key = snap.decode_key(e, snap.map_key_part(e, k)?)?;
        let end = |name: &str| {
            val::field(&key, name)
                .and_then(val::as_u128)
                .and_then(|n| u32::try_from(n).ok())
                .map(ParaId)
        };
        match (end("sender"), end("recipient")) {
            (Some(sender), Some(recipient)) => Ok(ChannelId { sender, recipient }),
            _ => Err(ChainError::Decode {
                endpoint: client.endpoint().to_string(),
                what: e.to_string(),
                reason: "key is not an HrmpChannelId { sender, recipient }".into(),
            }),
        }
    };
    let keys_of = |e: Entry| keys.get(&e).map(|v| v.as_slice()).unwrap_or_default();
    let mut out: BTreeMap<ChannelId, ChannelState> = BTreeMap::new();
    for k in keys_of(HRMP_OPEN_REQUESTS) {
        out.insert(id_of(HRMP_OPEN_REQUESTS, k)?, ChannelState::Requested);
    }
    for k in keys_of(HRMP_CHANNELS) {
        let Some(bytes) = values.get(k) else { continue };
        let v = snap.decode(HRMP_CHANNELS, bytes)?;
        let limit = |name: &str| {
            val::field(&v, name)
                .and_then(val::as_u128)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        };
        out.insert(
            id_of(HRMP_CHANNELS, k)?,
            ChannelState::Open {
                max_capacity: limit("max_capacity"),
                max_message_size: limit("max_message_size"),
            },
        );
    }
    for k in keys_of(HRMP_CLOSE_REQUESTS) {
        out.insert(id_of(HRMP_CLOSE_REQUESTS, k)?, ChannelState::Closing);
    }
    Ok(out
        .into_iter()
        .map(|(id, state)| ObservedChannel { id, state })
        .collect())
}

/// Observe a parachain (through a collator's RPC) at its latest finalized
/// block: one pinned block, one batch of values — collator membership,
/// `Session` (index, queued, `NextKeys` of `accounts`), `Aura.Authorities`,
/// `Sudo.Key`, and the free balances of `accounts` on the para.
pub async fn observe_para(
    client: &ChainClient,
    accounts: &[AccountId],
) -> Result<ParachainState, ChainError> {
    let snap = Snapshot::pin_finalized(client).await?;
    let plain = [
        PARACHAIN_ID,
        INVULNERABLES,
        CANDIDATE_LIST,
        DESIRED_CANDIDATES,
        CANDIDACY_BOND,
        SUDO_KEY,
        CURRENT_INDEX,
        QUEUED_KEYS,
        AURA_AUTHORITIES,
    ];
    let mut wanted: Vec<Vec<u8>> = plain
        .iter()
        .filter(|e| snap.has(**e))
        .map(|e| entry_prefix(*e))
        .collect();
    let unique: BTreeSet<AccountId> = accounts.iter().cloned().collect();
    // (account, its `NextKeys` key, its `System.Account` key)
    let mut keyed: Vec<(AccountId, Option<StorageKey>, Option<StorageKey>)> = Vec::new();
    for a in &unique {
        let next = if snap.has(NEXT_KEYS) {
            Some(snap.map_key(NEXT_KEYS, &a.0.encode())?)
        } else {
            None
        };
        let acc = if snap.has(ACCOUNT) {
            Some(snap.map_key(ACCOUNT, &a.0.encode())?)
        } else {
            None
        };
        wanted.extend(next.iter().chain(acc.iter()).cloned());
        keyed.push((a.clone(), next, acc));
    }
    let values = snap.values(&wanted).await?;
    let get = |e: Entry| -> Result<Option<DynValue>, ChainError> {
        match values.get(&entry_prefix(e)) {
            Some(b) => Ok(Some(snap.decode(e, b)?)),
            None => Ok(None),
        }
    };
    // Both are `BoundedVec`s: a newtype around the sequence (see `accounts_in`).
    let invulnerables = get(INVULNERABLES)?
        .map(|v| accounts_in(&v))
        .unwrap_or_default();
    // `CandidateList` is `BoundedVec<CandidateInfo { who, deposit }>`.
    let candidates = get(CANDIDATE_LIST)?
        .map(|v| candidates_in(&v))
        .unwrap_or_default();
    let desired_candidates = get(DESIRED_CANDIDATES)?
        .and_then(|v| val::as_u128(&v))
        .map(|n| n as u32);
    let candidacy_bond = get(CANDIDACY_BOND)?
        .and_then(|v| val::as_u128(&v))
        .unwrap_or(0);
    let sudo_key = get(SUDO_KEY)?
        .and_then(|v| val::as_account(&v).or_else(|| val::some(&v).and_then(val::as_account)));
    let _para_id = get(PARACHAIN_ID)?.and_then(|v| val::as_u128(&v));
    let session_index = get(CURRENT_INDEX)?
        .and_then(|v| val::as_u128(&v))
        .unwrap_or(0) as u32;
    let queued: Vec<AccountId> = get(QUEUED_KEYS)?
        .map(|v| {
            val::items(&v)
                .into_iter()
                .filter_map(|pair| val::items(pair).first().and_then(|a| val::as_account(a)))
                .collect()
        })
        .unwrap_or_default();
    // Aura authorities are sr25519 public keys, which decode like accounts.
    let aura_authorities: Vec<String> = get(AURA_AUTHORITIES)?
        .map(|v| {
            accounts_in(&v)
                .into_iter()
                .map(|a| format!("0x{}", hex::encode(a.0)))
                .collect()
        })
        .unwrap_or_default();
    let mut next_keys = BTreeMap::new();
    let mut balances = BTreeMap::new();
    for (a, next, acc) in keyed {
        if let Some(bytes) = next.as_ref().and_then(|k| values.get(k)) {
            next_keys.insert(a.clone(), format!("0x{}", hex::encode(bytes)));
        }
        if let Some(bytes) = acc.as_ref().and_then(|k| values.get(k)) {
            let v = snap.decode(ACCOUNT, bytes)?;
            let free = val::field(&v, "data")
                .and_then(|d| val::field(d, "free"))
                .and_then(val::as_u128)
                .unwrap_or(0);
            balances.insert(a, free);
        }
    }
    let session_length = snap
        .constant("CollatorSelection", "KickThreshold")
        .and_then(|v| val::as_u128(&v))
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0);
    let min_eligible_collators = snap
        .constant("CollatorSelection", "MinEligibleCollators")
        .and_then(|v| val::as_u128(&v))
        .and_then(|n| u32::try_from(n).ok());
    Ok(ParachainState {
        min_eligible_collators,
        block_hash: hex_hash(snap.at.as_bytes()),
        block_number: snap.number,
        session_index,
        session_length,
        next_keys,
        queued,
        aura_authorities,
        candidacy_bond,
        balances,
        invulnerables,
        candidates,
        desired_candidates,
        sudo_key,
    })
}

/// The 32-byte values (accounts, sr25519 keys) in `v`, however deeply the
/// sequence is wrapped: a `BoundedVec<AccountId32>` decodes as a newtype
/// around a sequence of `AccountId32` newtypes, and taking the top level's
/// items would give the whole sequence as one value (which, with exactly
/// one element, even looks like an account).
fn accounts_in(v: &DynValue) -> Vec<AccountId> {
    if let Some(a) = val::as_account(v) {
        return vec![a];
    }
    val::items(v).into_iter().flat_map(accounts_in).collect()
}

/// The `who` of every `CandidateInfo` in `v` (see [`accounts_in`]).
fn candidates_in(v: &DynValue) -> Vec<AccountId> {
    if let Some(who) = val::field(v, "who").and_then(val::as_account) {
        return vec![who];
    }
    val::items(v).into_iter().flat_map(candidates_in).collect()
}

/// `ParachainInfo.ParachainId` of a parachain node (what the collator runs as).
pub async fn para_id(client: &ChainClient) -> Result<Option<ParaId>, ChainError> {
    let snap = Snapshot::pin_finalized(client).await?;
    if !snap.has(PARACHAIN_ID) {
        return Ok(None);
    }
    let values = snap.values(&[entry_prefix(PARACHAIN_ID)]).await?;
    match values.get(&entry_prefix(PARACHAIN_ID)) {
        Some(b) => Ok(val::as_u128(&snap.decode(PARACHAIN_ID, b)?)
            .and_then(|n| u32::try_from(n).ok())
            .map(ParaId)),
        // Default value of the entry: 100 in cumulus' ParachainInfo.
        None => Ok(None),
    }
}

fn hex_hash(b: &[u8]) -> HexHash {
    HexHash(format!("0x{}", hex::encode(b)))
}

fn lifecycle_from_name(name: &str) -> Option<ParaLifecycle> {
    Some(match name {
        "Onboarding" => ParaLifecycle::Onboarding,
        "Parathread" => ParaLifecycle::Parathread,
        "Parachain" => ParaLifecycle::Parachain,
        "UpgradingParathread" => ParaLifecycle::UpgradingParathread,
        "DowngradingParachain" => ParaLifecycle::DowngradingParachain,
        "OffboardingParathread" => ParaLifecycle::OffboardingParathread,
        "OffboardingParachain" => ParaLifecycle::OffboardingParachain,
        _ => return None,
    })
}

/// `(core, value)` entries of a decoded `BTreeMap<CoreIndex, _>`. Its type
/// info is a one-field composite around a sequence of `(key, value)` tuples
/// (measured on rococo-local: `CoreDescriptors` decodes that way), so the
/// wrapper is looked through; a plain sequence of pairs is accepted too.
fn core_map_entries(v: &DynValue) -> Vec<(u32, &DynValue)> {
    let direct = key_value_pairs(v);
    if !direct.is_empty() {
        return direct;
    }
    match val::items(v).as_slice() {
        [inner] => key_value_pairs(inner),
        _ => Vec::new(),
    }
}

/// The items of `v` that are `(number, value)` tuples.
fn key_value_pairs(v: &DynValue) -> Vec<(u32, &DynValue)> {
    val::items(v)
        .into_iter()
        .filter_map(|p| match val::items(p).as_slice() {
            [k, d] => val::as_u128(k)
                .and_then(|n| u32::try_from(n).ok())
                .map(|n| (n, *d)),
            _ => None,
        })
        .collect()
}

/// All `Task(id)` variants anywhere inside a value (core assignments).
fn collect_tasks(v: &DynValue, out: &mut Vec<u32>) {
    use subxt::ext::scale_value::ValueDef;
    match &v.value {
        ValueDef::Variant(var) => {
            if var.name == "Task" {
                if let Some(id) = var
                    .values
                    .values()
                    .next()
                    .and_then(val::as_u128)
                    .and_then(|n| u32::try_from(n).ok())
                {
                    out.push(id);
                }
            }
            for x in var.values.values() {
                collect_tasks(x, out);
            }
        }
        ValueDef::Composite(c) => {
            for x in c.values() {
                collect_tasks(x, out);
            }
        }
        _ => {}
    }
}
