//! `paraform status`: the views Parity's testnet-manager shows (nodes,
//! validators, parachains, collators), computed from one observation.
//!
//! PURE: rows are built from `(&Desired, &Observed)` (plus, for the
//! parachain view, an optional earlier observation to tell whether heads
//! advance). Nothing here does I/O. What could not be observed is `None` in
//! the rows (`null` in JSON, `?` in tables): a partially reachable network
//! shows what it could see and marks the rest unknown.
//!
//! The JSON form is documented in `docs/status.md`; tables fit 80 columns.

mod collators;
pub mod json;
mod nodes;
mod parachains;
pub mod table;
mod validators;

pub use collators::{CollatorMembership, CollatorRow};
pub use nodes::{Location, NodeRow, NodeState, ProcessState, RpcState};
pub use parachains::{ParaChainStatus, ParaRow};
pub use validators::{ValidatorRow, ValidatorState};

use crate::observe::model::{ChainState, ChainView};
use crate::observe::Observed;
use crate::spec::ids::{AccountId, HexHash};
use crate::spec::Desired;
use serde::Serialize;

/// Version of the JSON documents `status --format json` prints.
pub const STATUS_FORMAT_VERSION: u32 = 1;

/// Which view to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    Nodes,
    Validators,
    Parachains,
    Collators,
}

impl View {
    pub fn as_str(self) -> &'static str {
        match self {
            View::Nodes => "nodes",
            View::Validators => "validators",
            View::Parachains => "parachains",
            View::Collators => "collators",
        }
    }
}

/// What was seen of the relay chain: a header for every view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RelaySummary {
    NotRunning,
    Unreachable {
        endpoint: String,
        error: String,
    },
    Live {
        block_number: u64,
        block_hash: HexHash,
        session_index: u32,
        ss58_prefix: u16,
    },
}

impl RelaySummary {
    pub fn of(observed: &Observed) -> Self {
        match &observed.relay {
            ChainView::NotRunning => RelaySummary::NotRunning,
            ChainView::Unreachable { endpoint, error } => RelaySummary::Unreachable {
                endpoint: endpoint.clone(),
                error: error.clone(),
            },
            ChainView::Live(s) => RelaySummary::Live {
                block_number: s.block_number,
                block_hash: s.block_hash.clone(),
                session_index: s.session_index,
                ss58_prefix: s.ss58_prefix,
            },
        }
    }

    /// One line for the foot of a table.
    pub fn line(&self) -> String {
        match self {
            RelaySummary::NotRunning => "relay chain: not running".into(),
            RelaySummary::Unreachable { endpoint, error } => {
                format!("relay chain: UNREACHABLE at {endpoint} ({error}); chain columns are unknown (?)")
            }
            RelaySummary::Live {
                block_number,
                block_hash,
                session_index,
                ..
            } => format!(
                "relay chain: finalized #{block_number} ({}), session {session_index}",
                block_hash.short()
            ),
        }
    }
}

/// Every view at once (what `status --format json` would print for each).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub nodes: Vec<NodeRow>,
    pub validators: Vec<ValidatorRow>,
    pub parachains: Vec<ParaRow>,
    pub collators: Vec<CollatorRow>,
}

impl Status {
    /// Build every view from one observation. `previous`, when given, is an
    /// earlier observation of the same network: parachain heads are compared
    /// with it to tell whether they advance.
    pub fn build(desired: &Desired, observed: &Observed, previous: Option<&Observed>) -> Self {
        Status {
            nodes: nodes::rows(desired, observed),
            validators: validators::rows(desired, observed),
            parachains: parachains::rows(desired, observed, previous),
            collators: collators::rows(desired, observed),
        }
    }
}

/// Render one view as a table (`json == false`) or a JSON document.
pub fn render(
    desired: &Desired,
    observed: &Observed,
    previous: Option<&Observed>,
    view: View,
    as_json: bool,
) -> String {
    let status = Status::build(desired, observed, previous);
    let relay = RelaySummary::of(observed);
    if as_json {
        json::render(desired, &relay, &status, view)
    } else {
        table::render(&relay, &status, view)
    }
}

/// The node's account: derived from the desired state, else the one the
/// provider recorded for its process (status works without the derivation root).
pub(crate) fn account_of<'a>(
    node: &'a crate::spec::model::Node,
    observed: &'a Observed,
) -> Option<&'a AccountId> {
    node.account.as_ref().or_else(|| {
        observed
            .workloads
            .get(&node.group)?
            .nodes
            .iter()
            .find(|p| p.name == node.name)?
            .account
            .as_ref()
    })
}

/// SS58 address of `account` in the chain's format (generic 42 when the
/// chain was not observed).
pub(crate) fn address(account: &AccountId, chain: Option<&ChainState>) -> String {
    crate::chain::keys::ss58_encode(account, chain.map(|c| c.ss58_prefix).unwrap_or(42))
}
