//! Submitting calls: mortal transactions with explicit nonces, parallel
//! across signers, success = **finalized** with the inner dispatch result
//! decoded (`System.ExtrinsicFailed`, `Sudo.Sudid(Err)`,
//! `Utility.BatchInterrupted`) into typed [`ChainError`]s.
//!
//! Exactly-once: before a transaction is sent, its [`SubmissionRecord`]
//! (chain, extrinsic hash, signer, nonce, mortality window) is handed to the
//! caller's [`Recorder`], who journals it; if that fails, the transaction
//! (and every later one of the same signer) is not sent. After a crash, [`find_submission`] tells from the
//! record whether the transaction landed, may still land, or can never land
//! (mortality window passed or nonce consumed) — only then is resubmitting
//! the same intent safe.

use super::calls::Call;
use super::client::{ChainClient, Config, Hash};
use super::error::{ChainError, DispatchFailure};
use super::storage::{val, DynValue, Entry, Snapshot};
use crate::spec::ids::{AccountId, ChainSide, HexHash};
use futures::future::join_all;
use parity_scale_codec::Encode;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use subxt::blocks::ExtrinsicEvents;
use subxt::config::DefaultExtrinsicParamsBuilder;
use subxt::tx::{Signer, SubmittableTransaction, TxProgress, TxStatus};
use subxt::{Metadata, OnlineClient};

/// How transactions are built and awaited.
#[derive(Clone, Debug)]
pub struct SubmitOptions {
    /// Mortality period in blocks (a power of two; 64 ≈ 6.4 min at 6 s).
    pub mortality_period: u64,
    /// Expected block time: the wait for finality is bounded by
    /// `(mortality_period + 8) × block_time`.
    pub block_time: Duration,
}

impl Default for SubmitOptions {
    fn default() -> Self {
        SubmitOptions {
            mortality_period: 64,
            block_time: Duration::from_secs(6),
        }
    }
}

/// What the executor journals before a transaction is sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRecord {
    /// The plan step (or other caller id) this transaction carries out.
    pub intent_id: String,
    /// The chain it was sent to, so a crashed apply settles it there. (A
    /// journal written before this field existed only had relay submissions
    /// settled from it, hence the default.)
    #[serde(default = "relay")]
    pub chain: ChainSide,
    /// `Pallet.call(...)` for humans.
    pub call: String,
    pub extrinsic_hash: HexHash,
    pub signer: AccountId,
    pub nonce: u64,
    /// `(birth block number, period)`: valid in blocks `birth+1 ..= birth+period`.
    pub mortality: (u64, u64),
    /// Hash of the birth block (finalized when chosen).
    pub birth_hash: HexHash,
    /// Finalized block number when the transaction was sent.
    pub submitted_at_block: u64,
}

fn relay() -> ChainSide {
    ChainSide::Relay
}

/// Why a submission could not be journaled (a failed save, a lost lock).
pub type RecordError = Box<dyn std::error::Error + Send + Sync>;

/// Journals a [`SubmissionRecord`] durably before its transaction is sent.
/// An error aborts the submission: nothing is sent.
#[async_trait::async_trait]
pub trait Recorder: Sync {
    async fn record(&self, record: &SubmissionRecord) -> Result<(), RecordError>;
}

impl SubmissionRecord {
    /// Last block in which the transaction can be included.
    pub fn last_valid_block(&self) -> u64 {
        self.mortality.0 + self.mortality.1
    }
}

/// A finalized, successful submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finalized {
    pub record: SubmissionRecord,
    pub block_hash: HexHash,
    pub block_number: u64,
    pub extrinsic_index: u32,
}

/// One signer's calls for [`submit_all`]: submitted with consecutive nonces.
pub struct SignerBatch<'a, S> {
    pub signer: &'a S,
    /// `(intent id, call)` in nonce order.
    pub intents: Vec<(String, Call)>,
}

/// Where and how transactions go: the client of the chain `chain` names
/// (recorded with every submission), and the recorder that journals each
/// one before it is sent.
pub struct Target<'a> {
    pub client: &'a ChainClient,
    pub chain: ChainSide,
    pub options: &'a SubmitOptions,
    pub recorder: &'a dyn Recorder,
}

impl<'a> Target<'a> {
    /// Submissions to the relay chain through `client`.
    pub fn relay(
        client: &'a ChainClient,
        options: &'a SubmitOptions,
        recorder: &'a dyn Recorder,
    ) -> Self {
        Target {
            client,
            chain: ChainSide::Relay,
            options,
            recorder,
        }
    }
}

/// Keeps the records in memory (tests, benches, one-off tools).
#[async_trait::async_trait]
impl Recorder for std::sync::Mutex<Vec<SubmissionRecord>> {
    async fn record(&self, record: &SubmissionRecord) -> Result<(), RecordError> {
        self.lock()
            .map_err(|_| "the record list is poisoned")?
            .push(record.clone());
        Ok(())
    }
}

/// Submit one call and wait until it is finalized and its dispatch
/// succeeded. The recorder journals it before it is sent.
pub async fn submit<S>(
    target: &Target<'_>,
    signer: &S,
    intent_id: &str,
    call: &Call,
) -> Result<Finalized, ChainError>
where
    S: Signer<Config> + Sync,
{
    let batch = SignerBatch {
        signer,
        intents: vec![(intent_id.to_string(), call.clone())],
    };
    let mut out = submit_all(target, vec![batch]).await;
    out.pop()
        .and_then(|mut v| v.pop())
        .unwrap_or_else(|| Err(ChainError::Invalid("no submission result".into())))
}

/// Submit many calls: signers in parallel, each signer's calls with
/// consecutive explicit nonces (from `system_accountNextIndex`, which counts
/// the pool). Results are in input order. Each record is journaled by the
/// target's recorder before its transaction is sent; a record that cannot
/// be journaled stops its signer's remaining calls (their nonces would
/// follow an unsent one).
pub async fn submit_all<S>(
    target: &Target<'_>,
    batches: Vec<SignerBatch<'_, S>>,
) -> Vec<Vec<Result<Finalized, ChainError>>>
where
    S: Signer<Config> + Sync,
{
    join_all(batches.into_iter().map(|b| submit_signer(target, b))).await
}

async fn submit_signer<S>(
    target: &Target<'_>,
    batch: SignerBatch<'_, S>,
) -> Vec<Result<Finalized, ChainError>>
where
    S: Signer<Config> + Sync,
{
    let (client, options) = (target.client, target.options);
    let n = batch.intents.len();
    let fail_all = |e: ChainError| -> Vec<Result<Finalized, ChainError>> {
        let msg = e.to_string();
        let mut v = vec![Err(e)];
        v.extend((1..n).map(|_| Err(ChainError::Invalid(format!("not submitted: {msg}")))));
        v
    };
    let signer_id = batch.signer.account_id();
    // Held from reading the next nonce until every transaction of this batch
    // is in the pool: two steps signed by the same key (e.g. two sudo calls
    // of one wave) would otherwise read the same nonce and usurp each other.
    let signer_lock = signer_lock(&signer_id.encode());
    let sending = signer_lock.lock().await;
    let first_nonce = match client.legacy().system_account_next_index(&signer_id).await {
        Ok(x) => x,
        Err(e) => return fail_all(client.rpc_err("system_accountNextIndex", e)),
    };
    let birth = match birth_block(client).await {
        Ok(b) => b,
        Err(e) => return fail_all(e),
    };
    let mut waits = Vec::new();
    let mut unjournaled: Option<String> = None;
    for (i, (intent, call)) in batch.intents.into_iter().enumerate() {
        if let Some(why) = &unjournaled {
            waits.push(futures::future::Either::Right(futures::future::ready(Err(
                ChainError::Invalid(format!("{} not sent: {why}", call.name())),
            ))));
            continue;
        }
        let nonce = first_nonce + i as u64;
        let prepared = prepare(
            client,
            target.chain,
            batch.signer,
            &intent,
            &call,
            nonce,
            birth,
            options,
        );
        let prepared = match prepared {
            Ok((record, tx)) => match target.recorder.record(&record).await {
                Ok(()) => Ok((record, tx)),
                Err(source) => {
                    unjournaled = Some(format!("an earlier call could not be journaled: {source}"));
                    Err(ChainError::NotJournaled {
                        call: call.name(),
                        source,
                    })
                }
            },
            Err(e) => Err(e),
        };
        match prepared {
            Ok((record, tx)) => match send(client, tx, &call.name()).await {
                Ok(progress) => waits.push(futures::future::Either::Left(wait_finalized(
                    client,
                    progress,
                    record,
                    call.name(),
                    options,
                ))),
                Err(e) => waits.push(futures::future::Either::Right(futures::future::ready(Err(
                    e,
                )))),
            },
            Err(e) => waits.push(futures::future::Either::Right(futures::future::ready(Err(
                e,
            )))),
        }
    }
    drop(sending);
    join_all(waits).await
}

type SignerLock = std::sync::Arc<tokio::sync::Mutex<()>>;

/// The in-process lock of one signing account (keyed by its encoding).
fn signer_lock(account: &[u8]) -> SignerLock {
    static LOCKS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<Vec<u8>, SignerLock>>,
    > = std::sync::LazyLock::new(Default::default);
    let mut locks = LOCKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(account.to_vec()).or_default().clone()
}

/// The birth block of new transactions: the latest finalized block (it
/// cannot be reorganised away, so the mortality window is stable).
async fn birth_block(client: &ChainClient) -> Result<(u64, Hash), ChainError> {
    let hash = client.finalized_head().await?;
    let header = client
        .legacy()
        .chain_get_header(Some(hash))
        .await
        .map_err(|e| client.rpc_err("chain_getHeader", e))?
        .ok_or_else(|| ChainError::Rpc {
            endpoint: client.endpoint().to_string(),
            what: "chain_getHeader".into(),
            reason: "finalized head unknown".into(),
        })?;
    Ok((header.number as u64, hash))
}

#[allow(clippy::too_many_arguments)]
fn prepare<S: Signer<Config>>(
    client: &ChainClient,
    chain: ChainSide,
    signer: &S,
    intent_id: &str,
    call: &Call,
    nonce: u64,
    (birth, birth_hash): (u64, Hash),
    options: &SubmitOptions,
) -> Result<
    (
        SubmissionRecord,
        SubmittableTransaction<Config, OnlineClient<Config>>,
    ),
    ChainError,
> {
    // Validate the encoding first for a precise error naming the call.
    call.encode(&client.metadata()).map_err(|e| match e {
        ChainError::Encode { call, reason, .. } => ChainError::Encode {
            endpoint: client.endpoint().to_string(),
            call,
            reason,
        },
        other => other,
    })?;
    let period = options.mortality_period.max(4).next_power_of_two();
    let params = DefaultExtrinsicParamsBuilder::<Config>::new()
        .nonce(nonce)
        .mortal_from_unchecked(period, birth, birth_hash)
        .build();
    let mut partial = client
        .api()
        .tx()
        .create_partial_offline(call, params)
        .map_err(|e| ChainError::Encode {
            endpoint: client.endpoint().to_string(),
            call: call.name(),
            reason: e.to_string(),
        })?;
    let tx = partial.sign(signer);
    let record = SubmissionRecord {
        intent_id: intent_id.to_string(),
        chain,
        call: call.name(),
        extrinsic_hash: hex(tx.hash().as_bytes()),
        signer: signer.account_id(),
        nonce,
        mortality: (birth, period),
        birth_hash: hex(birth_hash.as_bytes()),
        submitted_at_block: birth,
    };
    Ok((record, tx))
}

async fn send(
    client: &ChainClient,
    tx: SubmittableTransaction<Config, OnlineClient<Config>>,
    call_name: &str,
) -> Result<TxProgress<Config, OnlineClient<Config>>, ChainError> {
    tx.submit_and_watch().await.map_err(|e| {
        let r = e.to_string();
        if r.to_lowercase().contains("invalid")
            || r.contains("1010")
            || r.contains("1012")
            || r.contains("1013")
        {
            ChainError::Rejected {
                endpoint: client.endpoint().to_string(),
                call: call_name.to_string(),
                reason: r,
            }
        } else {
            client.rpc_err(&format!("author_submitAndWatchExtrinsic({call_name})"), r)
        }
    })
}

/// Follow a sent transaction until it is finalized and decode its outcome.
async fn wait_finalized(
    client: &ChainClient,
    mut progress: TxProgress<Config, OnlineClient<Config>>,
    record: SubmissionRecord,
    call_name: String,
    options: &SubmitOptions,
) -> Result<Finalized, ChainError> {
    let rejected = |reason: String| ChainError::Rejected {
        endpoint: client.endpoint().to_string(),
        call: call_name.clone(),
        reason,
    };
    let bound = options
        .block_time
        .saturating_mul(record.mortality.1 as u32 + 8);
    let waited = tokio::time::timeout(bound, async {
        while let Some(status) = progress.next().await {
            match status.map_err(|e| client.rpc_err(&format!("watching {call_name}"), e))? {
                TxStatus::InFinalizedBlock(in_block) => {
                    let events = in_block
                        .fetch_events()
                        .await
                        .map_err(|e| client.rpc_err(&format!("events of {call_name}"), e))?;
                    return Ok((in_block.block_hash(), events));
                }
                TxStatus::Error { message }
                | TxStatus::Invalid { message }
                | TxStatus::Dropped { message } => {
                    return Err(rejected(message));
                }
                _ => continue,
            }
        }
        Err(ChainError::Rpc {
            endpoint: client.endpoint().to_string(),
            what: format!("watching {call_name}"),
            reason: "the node closed the subscription before finality (check with find_submission)"
                .into(),
        })
    })
    .await
    .map_err(|_| ChainError::Timeout {
        endpoint: client.endpoint().to_string(),
        what: format!("finality of {call_name}"),
        after: bound,
    })??;
    let (block_hash, events) = waited;
    check_events(&events, &call_name, &client.metadata())?;
    let block_number = client
        .legacy()
        .chain_get_header(Some(block_hash))
        .await
        .map_err(|e| client.rpc_err("chain_getHeader", e))?
        .map(|h| h.number as u64)
        .unwrap_or(0);
    Ok(Finalized {
        record,
        block_hash: hex(block_hash.as_bytes()),
        block_number,
        extrinsic_index: events.extrinsic_index(),
    })
}

/// Decode an extrinsic's events into success or a typed failure.
pub fn check_events(
    events: &ExtrinsicEvents<Config>,
    call: &str,
    metadata: &Metadata,
) -> Result<(), ChainError> {
    for ev in events.iter() {
        let ev = ev.map_err(|e| ChainError::Decode {
            endpoint: String::new(),
            what: format!("events of {call}"),
            reason: e.to_string(),
        })?;
        let (pallet, variant) = (ev.pallet_name(), ev.variant_name());
        let fields: Vec<DynValue> = ev
            .field_values()
            .map_err(|e| ChainError::Decode {
                endpoint: String::new(),
                what: format!("{pallet}.{variant} event"),
                reason: e.to_string(),
            })?
            .into_values()
            .collect();
        match (pallet, variant) {
            ("System", "ExtrinsicFailed") => {
                let failure = fields
                    .first()
                    .map(|e| dispatch_failure(e, metadata))
                    .unwrap_or_else(|| DispatchFailure::Other("undecodable".into()));
                return Err(ChainError::DispatchFailed {
                    call: call.into(),
                    failure,
                });
            }
            ("Sudo", "Sudid") | ("Sudo", "SudoAsDone") => {
                if let Some(res) = fields.first() {
                    if val::variant_name(res) == Some("Err") {
                        let failure = val::items(res)
                            .first()
                            .map(|e| dispatch_failure(e, metadata))
                            .unwrap_or_else(|| DispatchFailure::Other("undecodable".into()));
                        return Err(ChainError::SudoCallFailed {
                            call: call.into(),
                            failure,
                        });
                    }
                }
            }
            ("Utility", "BatchInterrupted") => {
                let vals: Vec<&DynValue> = fields.iter().collect();
                let index = vals.first().and_then(|v| val::as_u128(v)).unwrap_or(0) as u32;
                let failure = vals
                    .get(1)
                    .map(|e| dispatch_failure(e, metadata))
                    .unwrap_or(DispatchFailure::Other("?".into()));
                return Err(ChainError::BatchInterrupted {
                    call: call.into(),
                    index,
                    failure,
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// `sp_runtime::DispatchError` (as a dynamic value) → [`DispatchFailure`],
/// resolving module errors to pallet and variant names.
pub fn dispatch_failure(v: &DynValue, metadata: &Metadata) -> DispatchFailure {
    let Some(name) = val::variant_name(v) else {
        return DispatchFailure::Other(format!("{v}"));
    };
    let inner: Vec<&DynValue> = val::items(v);
    if name == "Module" {
        if let Some(m) = inner.first() {
            let index = val::field(m, "index").and_then(val::as_u128);
            let error = val::field(m, "error")
                .and_then(val::as_bytes)
                .and_then(|b| b.first().copied());
            if let (Some(index), Some(error)) = (index, error) {
                if let Some(p) = u8::try_from(index)
                    .ok()
                    .and_then(|i| metadata.pallet_by_index(i))
                {
                    let e = p
                        .error_variant_by_index(error)
                        .map(|v| v.name.clone())
                        .unwrap_or_else(|| format!("error #{error}"));
                    return DispatchFailure::Module {
                        pallet: p.name().to_string(),
                        error: e,
                    };
                }
                return DispatchFailure::Module {
                    pallet: format!("pallet #{index}"),
                    error: format!("error #{error}"),
                };
            }
        }
    }
    match inner.first().and_then(|i| val::variant_name(i)) {
        Some(sub) => DispatchFailure::Other(format!("{name}({sub})")),
        None => DispatchFailure::Other(name.to_string()),
    }
}

/// Where a journaled submission stands (see [`find_submission`]).
#[derive(Debug)]
pub enum SubmissionStatus {
    /// In a finalized block; `outcome` is its decoded dispatch result.
    Landed {
        block_hash: HexHash,
        block_number: u64,
        outcome: Result<(), ChainError>,
    },
    /// Not in a finalized block yet but still inside its mortality window
    /// with its nonce unused: it may still land. Do not resubmit; wait.
    NotLanded {
        last_valid_block: u64,
        finalized: u64,
    },
    /// It can never land: its mortality window has passed, or its nonce was
    /// consumed by another extrinsic. Resubmitting the intent is safe.
    Expired { reason: String },
}

const ACCOUNT: Entry = Entry::new("System", "Account");

/// After a crash: did the journaled submission land? Reads the signer's
/// nonce at the finalized head; only if it moved past the record's nonce
/// are the blocks of the mortality window scanned for the extrinsic hash.
pub async fn find_submission(
    client: &ChainClient,
    record: &SubmissionRecord,
) -> Result<SubmissionStatus, ChainError> {
    let snap = Snapshot::pin_finalized(client).await?;
    let finalized = snap.number;
    let key = snap.map_key(ACCOUNT, &record.signer.0.encode())?;
    let values = snap.values(std::slice::from_ref(&key)).await?;
    let nonce = match values.get(&key) {
        Some(b) => val::field(&snap.decode(ACCOUNT, b)?, "nonce")
            .and_then(val::as_u128)
            .unwrap_or(0) as u64,
        None => 0,
    };
    let last = record.last_valid_block();
    if nonce <= record.nonce {
        return Ok(if finalized >= last {
            SubmissionStatus::Expired {
                reason: format!("mortality window ended at #{last}; finalized is #{finalized}"),
            }
        } else {
            SubmissionStatus::NotLanded {
                last_valid_block: last,
                finalized,
            }
        });
    }
    // The nonce was used: by this extrinsic, or by another one.
    let from = record.mortality.0;
    let to = last.min(finalized);
    for number in from..=to {
        let Some(hash) = client
            .legacy()
            .chain_get_block_hash(Some(number.into()))
            .await
            .map_err(|e| client.rpc_err("chain_getBlockHash", e))?
        else {
            continue;
        };
        let block = client
            .api()
            .blocks()
            .at(hash)
            .await
            .map_err(|e| client.rpc_err("fetching block", e))?;
        let exts = block
            .extrinsics()
            .await
            .map_err(|e| client.rpc_err("fetching extrinsics", e))?;
        for ext in exts.iter() {
            if hex(ext.hash().as_bytes()) == record.extrinsic_hash {
                let events = ext
                    .events()
                    .await
                    .map_err(|e| client.rpc_err("fetching events", e))?;
                let outcome = check_events(&events, &record.call, &client.metadata());
                return Ok(SubmissionStatus::Landed {
                    block_hash: hex(hash.as_bytes()),
                    block_number: number,
                    outcome,
                });
            }
        }
    }
    Ok(SubmissionStatus::Expired {
        reason: format!(
            "nonce {} of {} was used by another extrinsic",
            record.nonce, record.signer
        ),
    })
}

fn hex(b: &[u8]) -> HexHash {
    HexHash(format!("0x{}", hex::encode(b)))
}
