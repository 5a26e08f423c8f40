//! Batched raw storage access at one pinned block, decoded with the runtime
//! metadata (no codegen).
//!
//! Why not subxt's `fetch`/`iter`: `fetch` is one request per key and the
//! legacy `iter` alternates key pages and value pages per map. Observation
//! instead (1) lists the keys of every map it needs concurrently
//! (`state_getKeysPaged`, one round trip per map per page), then (2) reads
//! every value — map entries, plain values, `System.Account` of N accounts —
//! in one `state_queryStorageAt` (chunked by the page size). The number of
//! round trips is therefore independent of the number of validators up to
//! the page size (1000 by default) and grows by one per extra page after.

use super::client::{ChainClient, Hash};
use super::error::ChainError;
use futures::future::try_join_all;
use std::collections::BTreeMap;
use subxt::ext::scale_value::{self, Value};
use subxt::metadata::types::{StorageEntryType, StorageHasher};
use subxt::Metadata;

/// A decoded dynamic value (type ids as context).
pub type DynValue = Value<u32>;

/// Storage of one block, read in batches.
pub struct Snapshot<'a> {
    client: &'a ChainClient,
    metadata: Metadata,
    /// The pinned block.
    pub at: Hash,
    /// Its number.
    pub number: u64,
}

/// Where a storage entry lives, by pallet and entry name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub pallet: &'static str,
    pub name: &'static str,
}

impl Entry {
    pub const fn new(pallet: &'static str, name: &'static str) -> Self {
        Entry { pallet, name }
    }
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.pallet, self.name)
    }
}

/// `twox128(pallet) ++ twox128(entry)`.
pub fn entry_prefix(entry: Entry) -> Vec<u8> {
    let mut k = sp_crypto_hashing::twox_128(entry.pallet.as_bytes()).to_vec();
    k.extend(sp_crypto_hashing::twox_128(entry.name.as_bytes()));
    k
}

fn hash_with(hasher: StorageHasher, encoded_key: &[u8]) -> Vec<u8> {
    use sp_crypto_hashing::{blake2_128, blake2_256, twox_128, twox_256, twox_64};
    match hasher {
        StorageHasher::Blake2_128 => blake2_128(encoded_key).to_vec(),
        StorageHasher::Blake2_256 => blake2_256(encoded_key).to_vec(),
        StorageHasher::Blake2_128Concat => [&blake2_128(encoded_key)[..], encoded_key].concat(),
        StorageHasher::Twox128 => twox_128(encoded_key).to_vec(),
        StorageHasher::Twox256 => twox_256(encoded_key).to_vec(),
        StorageHasher::Twox64Concat => [&twox_64(encoded_key)[..], encoded_key].concat(),
        StorageHasher::Identity => encoded_key.to_vec(),
    }
}

impl<'a> Snapshot<'a> {
    /// Pin the latest finalized block (2 round trips: head + header).
    pub async fn pin_finalized(client: &'a ChainClient) -> Result<Snapshot<'a>, ChainError> {
        let at = client.finalized_head().await?;
        Self::pin(client, at).await
    }

    /// Pin a given block (1 round trip: its header).
    pub async fn pin(client: &'a ChainClient, at: Hash) -> Result<Snapshot<'a>, ChainError> {
        let header = client
            .legacy()
            .chain_get_header(Some(at))
            .await
            .map_err(|e| client.rpc_err("chain_getHeader", e))?
            .ok_or_else(|| ChainError::Rpc {
                endpoint: client.endpoint().to_string(),
                what: "chain_getHeader".into(),
                reason: format!("block {at:?} is unknown to the node (pruned?)"),
            })?;
        Ok(Snapshot {
            client,
            metadata: client.metadata(),
            at,
            number: header.number as u64,
        })
    }

    pub fn client(&self) -> &ChainClient {
        self.client
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Whether the runtime has this storage entry.
    pub fn has(&self, entry: Entry) -> bool {
        self.entry_type(entry).is_some()
    }

    /// Whether this entry is a plain value (not a map).
    pub fn is_plain(&self, entry: Entry) -> bool {
        matches!(self.entry_type(entry), Some(StorageEntryType::Plain(_)))
    }

    /// Whether the runtime has this pallet.
    pub fn has_pallet(&self, pallet: &str) -> bool {
        self.metadata.pallet_by_name(pallet).is_some()
    }

    fn entry_type(&self, entry: Entry) -> Option<&StorageEntryType> {
        self.metadata
            .pallet_by_name(entry.pallet)?
            .storage()?
            .entry_by_name(entry.name)
            .map(|e| e.entry_type())
    }

    fn not_in_runtime(&self, what: impl std::fmt::Display) -> ChainError {
        ChainError::NotInRuntime {
            endpoint: self.client.endpoint().to_string(),
            what: format!("{what}"),
        }
    }

    fn decode_err(
        &self,
        what: impl std::fmt::Display,
        reason: impl std::fmt::Display,
    ) -> ChainError {
        ChainError::Decode {
            endpoint: self.client.endpoint().to_string(),
            what: what.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The full key of a single-hasher map entry, given the SCALE-encoded key.
    pub fn map_key(&self, entry: Entry, encoded_key: &[u8]) -> Result<Vec<u8>, ChainError> {
        match self.entry_type(entry) {
            Some(StorageEntryType::Map { hashers, .. }) if hashers.len() == 1 => {
                let mut k = entry_prefix(entry);
                k.extend(hash_with(hashers[0], encoded_key));
                Ok(k)
            }
            Some(_) => Err(self.decode_err(entry, "not a single-key map")),
            None => Err(self.not_in_runtime(format_args!("storage {entry}"))),
        }
    }

    /// The SCALE-encoded key inside a full key of a single-hasher map whose
    /// hasher keeps the key (`Twox64Concat`, `Blake2_128Concat`, `Identity`).
    pub fn map_key_part<'k>(
        &self,
        entry: Entry,
        full_key: &'k [u8],
    ) -> Result<&'k [u8], ChainError> {
        match self.entry_type(entry) {
            Some(StorageEntryType::Map { hashers, .. })
                if hashers.len() == 1 && hashers[0].ends_with_key() =>
            {
                let skip = 32 + hashers[0].len_excluding_key();
                full_key
                    .get(skip..)
                    .ok_or_else(|| self.decode_err(entry, "storage key shorter than its prefix"))
            }
            Some(_) => {
                Err(self.decode_err(entry, "map keys are not recoverable from storage keys"))
            }
            None => Err(self.not_in_runtime(format_args!("storage {entry}"))),
        }
    }

    /// All keys under `prefix` at the pinned block, paged.
    pub async fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, ChainError> {
        let page = self.client.options().storage_page_size.max(1);
        let mut out: Vec<Vec<u8>> = Vec::new();
        loop {
            let start = out.last().cloned();
            let keys = self
                .client
                .legacy()
                .state_get_keys_paged(prefix, page, start.as_deref(), Some(self.at))
                .await
                .map_err(|e| self.client.rpc_err("state_getKeysPaged", e))?;
            let n = keys.len();
            out.extend(keys);
            if (n as u32) < page {
                return Ok(out);
            }
        }
    }

    /// Keys of several entries (absent entries give no keys), concurrently.
    pub async fn keys_of(
        &self,
        entries: &[Entry],
    ) -> Result<BTreeMap<Entry, Vec<Vec<u8>>>, ChainError> {
        let present: Vec<Entry> = entries.iter().copied().filter(|e| self.has(*e)).collect();
        let lists = try_join_all(present.iter().map(|e| {
            let prefix = entry_prefix(*e);
            async move { self.keys(&prefix).await }
        }))
        .await?;
        Ok(present.into_iter().zip(lists).collect())
    }

    /// Values of many keys in as few `state_queryStorageAt` requests as the
    /// page size allows (issued concurrently). Missing keys are absent.
    pub async fn values(&self, keys: &[Vec<u8>]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, ChainError> {
        let chunk = self.client.options().storage_page_size.max(1) as usize;
        let sets = try_join_all(keys.chunks(chunk).map(|c| async move {
            self.client
                .legacy()
                .state_query_storage_at(c.iter().map(|k| k.as_slice()), Some(self.at))
                .await
                .map_err(|e| self.client.rpc_err("state_queryStorageAt", e))
        }))
        .await?;
        let mut out = BTreeMap::new();
        for set in sets.into_iter().flatten() {
            for (k, v) in set.changes {
                if let Some(v) = v {
                    out.insert(k.0, v.0);
                }
            }
        }
        Ok(out)
    }

    /// Decode a value of `entry` with the metadata.
    pub fn decode(&self, entry: Entry, bytes: &[u8]) -> Result<DynValue, ChainError> {
        let ty = self
            .entry_type(entry)
            .ok_or_else(|| self.not_in_runtime(format_args!("storage {entry}")))?
            .value_ty();
        let mut cursor = bytes;
        let v = scale_value::scale::decode_as_type(&mut cursor, ty, self.metadata.types())
            .map_err(|e| self.decode_err(entry, e))?;
        Ok(v)
    }

    /// Decode a map key (already stripped by [`Self::map_key_part`]).
    pub fn decode_key(&self, entry: Entry, key_part: &[u8]) -> Result<DynValue, ChainError> {
        let ty = self
            .entry_type(entry)
            .and_then(|t| t.key_ty())
            .ok_or_else(|| self.not_in_runtime(format_args!("storage map {entry}")))?;
        let mut cursor = key_part;
        scale_value::scale::decode_as_type(&mut cursor, ty, self.metadata.types())
            .map_err(|e| self.decode_err(entry, e))
    }

    /// A runtime constant, decoded (no RPC: constants are in the metadata).
    pub fn constant(&self, pallet: &str, name: &str) -> Option<DynValue> {
        let c = self
            .metadata
            .pallet_by_name(pallet)?
            .constant_by_name(name)?;
        let mut cursor = c.value();
        scale_value::scale::decode_as_type(&mut cursor, c.ty(), self.metadata.types()).ok()
    }
}

/// Helpers to read dynamic values without panicking on unexpected shapes.
pub mod val {
    use super::DynValue;
    use crate::spec::ids::AccountId;
    use subxt::ext::scale_value::{Composite, Primitive, ValueDef};

    /// A `u128`-representable primitive (any unsigned width).
    pub fn as_u128(v: &DynValue) -> Option<u128> {
        match &v.value {
            ValueDef::Primitive(Primitive::U128(n)) => Some(*n),
            // Newtype wrappers (`ParaId(u32)`, `SessionIndex`) are one-field composites.
            ValueDef::Composite(c) if c.len() == 1 => c.values().next().and_then(as_u128),
            _ => None,
        }
    }

    /// Raw bytes of a `[u8; N]`/`Vec<u8>` (a composite of u8), unwrapping newtypes.
    pub fn as_bytes(v: &DynValue) -> Option<Vec<u8>> {
        match &v.value {
            ValueDef::Composite(c) => {
                let vals: Vec<&DynValue> = c.values().collect();
                if vals.len() == 1 {
                    if let Some(b) = as_bytes(vals[0]) {
                        return Some(b);
                    }
                }
                vals.iter()
                    .map(|x| match &x.value {
                        ValueDef::Primitive(Primitive::U128(n)) => u8::try_from(*n).ok(),
                        _ => None,
                    })
                    .collect()
            }
            _ => None,
        }
    }

    /// A 32-byte account id (`AccountId32` is a newtype over `[u8; 32]`).
    pub fn as_account(v: &DynValue) -> Option<AccountId> {
        let b = as_bytes(v)?;
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(AccountId(arr))
    }

    /// Elements of a sequence/tuple/struct, or the fields of an enum variant.
    pub fn items(v: &DynValue) -> Vec<&DynValue> {
        let c = match &v.value {
            ValueDef::Composite(c) => c,
            ValueDef::Variant(var) => &var.values,
            _ => return Vec::new(),
        };
        match c {
            Composite::Unnamed(vals) => vals.iter().collect(),
            Composite::Named(vals) => vals.iter().map(|(_, v)| v).collect(),
        }
    }

    /// A named field of a struct/variant.
    pub fn field<'v>(v: &'v DynValue, name: &str) -> Option<&'v DynValue> {
        use subxt::ext::scale_value::At;
        v.at(name)
    }

    /// The variant name of an enum value (`Onboarding`, `Some`, …).
    pub fn variant_name(v: &DynValue) -> Option<&str> {
        match &v.value {
            ValueDef::Variant(var) => Some(var.name.as_str()),
            _ => None,
        }
    }

    /// `Option<T>` → the inner value (`Some(x)` → `x`, `None` → None).
    pub fn some(v: &DynValue) -> Option<&DynValue> {
        match &v.value {
            ValueDef::Variant(var) if var.name == "Some" => var.values.values().next(),
            _ => None,
        }
    }
}
