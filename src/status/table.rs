//! Tables for an 80-column terminal (`tabled`): no borders, long cells
//! (versions, peer ids, addresses) shortened, and the whole table cut to 80
//! columns with `…` when it is still wider. `?` means unknown (not
//! observed), `-` means not applicable. Full values are in `--format json`.

use super::{
    CollatorRow, NodeRow, NodeState, ParaChainStatus, ParaRow, RelaySummary, Status, ValidatorRow,
    View,
};
use tabled::builder::Builder;
use tabled::settings::peaker::Priority;
use tabled::settings::{Padding, Style, Width};

/// Terminal width the tables fit.
pub const WIDTH: usize = 80;

pub fn render(relay: &RelaySummary, status: &Status, view: View) -> String {
    let (table, notes) = match view {
        View::Nodes => nodes(&status.nodes),
        View::Validators => validators(&status.validators),
        View::Parachains => parachains(&status.parachains),
        View::Collators => collators(&status.collators),
    };
    let mut out = table;
    out.push('\n');
    out.push('\n');
    out.push_str(&relay.line());
    out.push('\n');
    for n in notes {
        out.push_str(&n);
        out.push('\n');
    }
    out
}

fn finish(header: &[&str], rows: Vec<Vec<String>>, empty: &str) -> String {
    if rows.is_empty() {
        return empty.to_string();
    }
    let mut b = Builder::default();
    b.push_record(header.iter().map(|h| h.to_string()));
    for r in rows {
        b.push_record(r);
    }
    let mut t = b.build();
    t.with(Style::blank()).with(Padding::new(0, 1, 0, 0)).with(
        Width::truncate(WIDTH)
            .priority(Priority::max(true))
            .suffix("…"),
    );
    // Trailing blanks of the last column are noise in a terminal and in diffs.
    t.to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "?".into())
}

fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "?".into(),
    }
}

/// `5GrwvaEF…utQY`: enough to tell addresses apart at a glance.
pub fn short_address(s: &str) -> String {
    shorten(s, 8, 4)
}

fn shorten(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= head + tail + 1 {
        return s.to_string();
    }
    let h: String = chars[..head].iter().collect();
    let t: String = chars[chars.len() - tail..].iter().collect();
    format!("{h}…{t}")
}

/// At most `width` characters, the last one `…` when cut.
fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn node_name(name: &str, desired: bool) -> String {
    if desired {
        name.to_string()
    } else {
        format!("{name}*")
    }
}

const NOT_DESIRED: &str = "* not in the desired state: removed by the next apply";

fn nodes(rows: &[NodeRow]) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let body = rows
        .iter()
        .map(|r| {
            let running = matches!(
                r.state,
                NodeState::Ready
                    | NodeState::Syncing
                    | NodeState::Up
                    | NodeState::RpcDown
                    | NodeState::Running
            );
            let chain_num = |v: Option<u64>| {
                if running {
                    v.map(|n| format!("#{n}")).unwrap_or_else(|| "?".into())
                } else {
                    "-".into()
                }
            };
            vec![
                node_name(r.node.as_str(), r.desired),
                r.role.map(|x| x.as_str()).unwrap_or("?").to_string(),
                r.state.as_str().to_string(),
                chain_num(r.best_block),
                chain_num(r.finalized_block),
                if running { opt(r.peers) } else { "-".into() },
                if running {
                    r.version
                        .as_deref()
                        // The release only: the commit part is in JSON.
                        .map(|v| cut(v.split('-').next().unwrap_or(v), 12))
                        .unwrap_or_else(|| "?".into())
                } else {
                    "-".into()
                },
                if running {
                    r.peer_id
                        .as_deref()
                        .map(|p| shorten(p, 6, 4))
                        .unwrap_or_else(|| "?".into())
                } else {
                    "-".into()
                },
            ]
        })
        .collect();
    if rows.iter().any(|r| !r.desired) {
        notes.push(NOT_DESIRED.to_string());
    }
    let unreachable: Vec<&str> = rows
        .iter()
        .filter(|r| r.state == NodeState::RpcDown)
        .map(|r| r.node.as_str())
        .collect();
    if !unreachable.is_empty() {
        notes.push(format!(
            "RPC did not answer: {} (their columns are unknown, ?)",
            unreachable.join(", ")
        ));
    }
    (
        finish(
            &[
                "NODE", "ROLE", "STATE", "BEST", "FINAL", "PEERS", "VERSION", "PEER ID",
            ],
            body,
            "No nodes desired or running.",
        ),
        notes,
    )
}

fn validators(rows: &[ValidatorRow]) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let body = rows
        .iter()
        .map(|r| {
            let node = match (&r.node, r.external) {
                (_, true) | (None, _) => "(external)".to_string(),
                (Some(n), false) => {
                    let mut s = node_name(n.as_str(), r.desired);
                    if r.genesis_authority {
                        s.push_str(" (g)");
                    }
                    s
                }
            };
            let keystore = match (r.keys_on_chain, r.keys_in_keystore) {
                (Some(true), Some(true)) => "match",
                (Some(true), Some(false)) => "MISSING",
                (Some(true), None) if r.external => "-",
                (Some(true), None) => "?",
                (Some(false), _) => "-",
                (None, _) => "?",
            };
            vec![
                node,
                r.stash
                    .as_deref()
                    .map(short_address)
                    .unwrap_or_else(|| "?".into()),
                match r.keys_on_chain {
                    Some(true) => "set".into(),
                    Some(false) => "none".into(),
                    None => "?".into(),
                },
                keystore.to_string(),
                r.state.as_str().to_string(),
            ]
        })
        .collect();
    if rows.iter().any(|r| r.genesis_authority) {
        notes.push("(g) genesis authority: built-in dev keys, never rotated by paraform".into());
    }
    if rows.iter().any(|r| !r.desired && !r.external) {
        notes.push(NOT_DESIRED.to_string());
    }
    if rows.iter().any(|r| r.external) {
        notes.push("(external) on chain, matching no node paraform knows".into());
    }
    if rows.iter().any(|r| r.keys_in_keystore == Some(false)) {
        notes.push(
            "MISSING: the node's keystore lacks the keys set on chain; the next apply rotates them"
                .into(),
        );
    }
    (
        finish(
            &["NODE", "STASH", "KEYS", "KEYSTORE", "STATE"],
            body,
            "No validators desired or on chain.",
        ),
        notes,
    )
}

fn parachains(rows: &[ParaRow]) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let body = rows
        .iter()
        .map(|r| {
            let lifecycle = match (r.registered, r.lifecycle) {
                (_, Some(l)) => serde_plain(&l),
                (Some(false), None) => "not registered".into(),
                (None, _) | (Some(true), None) => "?".into(),
            };
            let on_chain = r
                .collators_on_chain
                .map(|n| n.to_string())
                .unwrap_or_else(|| "?".into());
            vec![
                if r.desired {
                    r.id.to_string()
                } else {
                    format!("{}*", r.id)
                },
                lifecycle,
                r.head
                    .as_ref()
                    .map(|h| h.short())
                    .unwrap_or_else(|| "-".into()),
                yes_no(r.advancing),
                r.code_hash
                    .as_ref()
                    .map(|h| h.short())
                    .unwrap_or_else(|| "-".into()),
                yes_no(r.has_core),
                format!("{}/{on_chain}", r.collators_desired),
            ]
        })
        .collect();
    if rows.iter().any(|r| !r.desired) {
        notes.push("* not in the desired state".into());
    }
    for r in rows {
        if let ParaChainStatus::Unreachable { endpoint, error } = &r.chain {
            notes.push(format!(
                "para {}: collator RPC UNREACHABLE at {endpoint} ({error})",
                r.id
            ));
        }
    }
    if !rows.is_empty() && rows.iter().all(|r| r.advancing.is_none()) {
        notes.push(
            "ADVANCING compares with an earlier observation: pass --previous SNAPSHOT.json".into(),
        );
    }
    if !rows.is_empty() {
        notes.push("COLLATORS: desired / on the para (invulnerables + candidates)".into());
    }
    for r in rows.iter().filter(|r| !r.hrmp_out.is_empty()) {
        let out: Vec<String> = r.hrmp_out.iter().map(|h| h.short()).collect();
        notes.push(format!("hrmp {} -> {}", r.id, out.join(", ")));
    }
    if rows.iter().flat_map(|r| &r.hrmp_out).any(|h| !h.desired) {
        notes.push("hrmp: * channel not in the desired state".into());
    }
    (
        finish(
            &[
                "PARA",
                "LIFECYCLE",
                "HEAD",
                "ADVANCING",
                "CODE",
                "CORE",
                "COLLATORS",
            ],
            body,
            "No parachains desired or registered.",
        ),
        notes,
    )
}

fn collators(rows: &[CollatorRow]) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let body = rows
        .iter()
        .map(|r| {
            vec![
                r.para.to_string(),
                match (&r.node, r.external) {
                    (Some(n), false) => node_name(n.as_str(), r.desired_mode.is_some()),
                    _ => "(external)".into(),
                },
                r.account
                    .as_deref()
                    .map(short_address)
                    .unwrap_or_else(|| "?".into()),
                r.desired_mode
                    .map(|m| serde_plain(&m))
                    .unwrap_or_else(|| "-".into()),
                r.on_chain
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_else(|| "?".into()),
                match r.running {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "-".into(),
                },
                match (r.keys_on_para, r.aura_authority) {
                    (Some(true), Some(true)) => "yes".into(),
                    (Some(true), _) => "soon".into(),
                    (Some(false), _) => "no".into(),
                    (None, _) => "?".into(),
                },
            ]
        })
        .collect();
    if rows
        .iter()
        .any(|r| r.keys_on_para == Some(true) && r.aura_authority == Some(false))
    {
        notes.push(
            "AURA soon: keys set on the para, authors from a later para session (`plan` shows when)"
                .into(),
        );
    }
    if rows.iter().any(|r| !r.external && r.desired_mode.is_none()) {
        notes.push(NOT_DESIRED.to_string());
    }
    if rows.iter().any(|r| r.external) {
        notes.push("(external) on the para, matching no node paraform knows".into());
    }
    if rows.iter().any(|r| r.on_chain.is_none()) {
        notes.push("? the para's chain was not read (no collator RPC answered)".into());
    }
    (
        finish(
            &[
                "PARA", "NODE", "ACCOUNT", "DESIRED", "ON CHAIN", "RUNNING", "AURA",
            ],
            body,
            "No collators desired or on chain.",
        ),
        notes,
    )
}

/// A unit enum variant as its serde (snake_case) name.
fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".into(),
    }
}
