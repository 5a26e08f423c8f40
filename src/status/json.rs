//! `status --format json`: one versioned document per view, documented in
//! `docs/status.md`. Fields are emitted in struct order; unknown values are
//! `null`, never omitted, so consumers can tell "unknown" from "absent".

use super::{RelaySummary, Status, View, STATUS_FORMAT_VERSION};
use crate::spec::ids::NetworkName;
use crate::spec::Desired;
use serde::Serialize;

#[derive(Serialize)]
struct Document<'a, T: Serialize> {
    format_version: u32,
    network: &'a NetworkName,
    view: View,
    relay: &'a RelaySummary,
    rows: &'a [T],
}

pub fn render(desired: &Desired, relay: &RelaySummary, status: &Status, view: View) -> String {
    let network = &desired.network;
    let text = match view {
        View::Nodes => to_json(network, view, relay, &status.nodes),
        View::Validators => to_json(network, view, relay, &status.validators),
        View::Parachains => to_json(network, view, relay, &status.parachains),
        View::Collators => to_json(network, view, relay, &status.collators),
    };
    // Plain data with string keys cannot fail to serialize; should it, say so
    // in JSON rather than panic.
    match text {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

fn to_json<T: Serialize>(
    network: &NetworkName,
    view: View,
    relay: &RelaySummary,
    rows: &[T],
) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&Document {
        format_version: STATUS_FORMAT_VERSION,
        network,
        view,
        relay,
        rows,
    })
}
