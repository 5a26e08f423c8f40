//! `ChainError`: every way talking to a chain can fail, typed so that the
//! executor can tell "retry later" (connection) from "the chain said no"
//! (dispatch errors by pallet and name). Errors name the endpoint and the call,
//! never a secret.

use std::fmt;
use std::time::Duration;

/// Why a dispatch failed, decoded from the runtime's `DispatchError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DispatchFailure {
    /// `DispatchError::Module`: a pallet's error, by pallet and variant name
    /// (e.g. `ValidatorManager` / `...`), resolved with the runtime metadata.
    Module { pallet: String, error: String },
    /// Any other `DispatchError` variant (`BadOrigin`, `Token(FundsUnavailable)`, …),
    /// rendered from the decoded value.
    Other(String),
}

impl DispatchFailure {
    /// `(pallet, error)` for module errors.
    pub fn module(&self) -> Option<(&str, &str)> {
        match self {
            DispatchFailure::Module { pallet, error } => Some((pallet, error)),
            DispatchFailure::Other(_) => None,
        }
    }
}

impl fmt::Display for DispatchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DispatchFailure::Module { pallet, error } => write!(f, "{pallet}.{error}"),
            DispatchFailure::Other(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Could not open a connection (after the configured retries).
    #[error("cannot connect to {endpoint} after {attempts} attempt(s): {reason}")]
    Connect {
        endpoint: String,
        attempts: u32,
        reason: String,
    },
    /// A request (or a whole operation) did not answer in time.
    #[error("{endpoint}: {what} timed out after {after:?}")]
    Timeout {
        endpoint: String,
        what: String,
        after: Duration,
    },
    /// The RPC transport or the node returned an error.
    #[error("{endpoint}: {what} failed: {reason}")]
    Rpc {
        endpoint: String,
        what: String,
        reason: String,
    },
    /// The node does not offer an RPC method we need.
    #[error("{endpoint}: the node does not offer RPC method {method}")]
    MethodNotFound { endpoint: String, method: String },
    /// The runtime lacks a pallet/call/storage entry/constant we need.
    #[error("{endpoint}: the runtime has no {what}")]
    NotInRuntime { endpoint: String, what: String },
    /// Chain data that does not decode as the metadata says it should.
    #[error("{endpoint}: cannot decode {what}: {reason}")]
    Decode {
        endpoint: String,
        what: String,
        reason: String,
    },
    /// A call could not be encoded against the runtime metadata (bad
    /// argument shape for this runtime version).
    #[error("{endpoint}: cannot encode call {call}: {reason}")]
    Encode {
        endpoint: String,
        call: String,
        reason: String,
    },
    /// The transaction pool rejected the transaction (bad nonce, no funds
    /// for fees, bad proof …) or dropped it.
    #[error("{endpoint}: transaction {call} was rejected by the pool: {reason}")]
    Rejected {
        endpoint: String,
        call: String,
        reason: String,
    },
    /// The extrinsic was finalized but its dispatch failed (`System.ExtrinsicFailed`).
    #[error("{call} failed on chain: {failure}")]
    DispatchFailed {
        call: String,
        failure: DispatchFailure,
    },
    /// `Sudo.Sudid(Err(..))`: the extrinsic succeeded but the call under sudo failed.
    #[error("{call}: the call under sudo failed: {failure}")]
    SudoCallFailed {
        call: String,
        failure: DispatchFailure,
    },
    /// `Utility.BatchInterrupted`: call `index` of a batch failed (only for
    /// `Utility.batch`; `batch_all` fails as a whole).
    #[error("{call}: batch interrupted at call #{index}: {failure}")]
    BatchInterrupted {
        call: String,
        index: u32,
        failure: DispatchFailure,
    },
    /// The transaction's mortality window passed without it being finalized.
    #[error(
        "{call}: not finalized within its mortality window (born at #{birth}, {period} blocks)"
    )]
    Expired {
        call: String,
        birth: u64,
        period: u64,
    },
    /// A key/secret problem (never contains the secret).
    #[error(transparent)]
    Key(#[from] crate::chain::keys::KeyError),
    /// The submission could not be journaled (a failed save, a lost lock),
    /// so it was not sent.
    #[error("{call} was not sent: journaling it failed: {source}")]
    NotJournaled {
        call: String,
        #[source]
        source: crate::chain::submit::RecordError,
    },
    /// A caller-side precondition did not hold (e.g. empty batch).
    #[error("{0}")]
    Invalid(String),
}

impl ChainError {
    /// Connection-level problems that may go away on retry (the executor may
    /// re-observe and try again); chain verdicts (dispatch errors) are final.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ChainError::Connect { .. } | ChainError::Timeout { .. } | ChainError::Rpc { .. }
        )
    }

    /// The dispatch failure, for the three "the chain said no" variants.
    pub fn dispatch_failure(&self) -> Option<&DispatchFailure> {
        match self {
            ChainError::DispatchFailed { failure, .. }
            | ChainError::SudoCallFailed { failure, .. }
            | ChainError::BatchInterrupted { failure, .. } => Some(failure),
            _ => None,
        }
    }
}
