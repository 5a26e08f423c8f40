//! `paraform status`: simple tables (or JSON) of what was observed.

use crate::observe::model::{ChainView, ParachainView};
use crate::observe::Observed;
use crate::spec::Desired;
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Nodes,
    Validators,
    Parachains,
    Collators,
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(x) = w.get_mut(i) {
                *x = (*x).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<width$}", c, width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.iter().map(|s| s.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn render(desired: &Desired, observed: &Observed, view: View, as_json: bool) -> String {
    let chain = observed.relay_state();
    match view {
        View::Nodes => {
            let mut rows = Vec::new();
            let mut items = Vec::new();
            for w in observed.workloads.values() {
                for n in &w.nodes {
                    let probe = observed.nodes.get(&n.name);
                    let role = desired
                        .group(&w.group)
                        .map(|g| g.role.as_str())
                        .unwrap_or("(not desired)");
                    rows.push(vec![
                        n.name.to_string(),
                        w.group.to_string(),
                        role.to_string(),
                        if n.running { "running" } else { "stopped" }.to_string(),
                        probe
                            .and_then(|p| p.endpoint.clone())
                            .unwrap_or_else(|| "-".into()),
                        opt(&probe.and_then(|p| p.peers)),
                        opt(&probe.and_then(|p| p.best_block)),
                        opt(&probe.and_then(|p| p.finalized_block)),
                        match probe.and_then(|p| p.syncing) {
                            Some(true) => "syncing".into(),
                            Some(false) => "synced".into(),
                            None => "-".into(),
                        },
                        opt(&probe.and_then(|p| p.version.clone())),
                    ]);
                    items.push(json!({"node": n.name, "group": w.group, "role": role, "running": n.running, "probe": probe}));
                }
            }
            if as_json {
                return serde_json::to_string_pretty(&items).unwrap_or_default() + "\n";
            }
            let mut out = table(
                &[
                    "NODE",
                    "GROUP",
                    "ROLE",
                    "PROCESS",
                    "RPC",
                    "PEERS",
                    "BEST",
                    "FINALIZED",
                    "SYNC",
                    "VERSION",
                ],
                rows,
            );
            out.push_str(&match &observed.relay {
                ChainView::Live(s) => format!(
                    "\nrelay chain: block #{} ({}), session {}\n",
                    s.block_number,
                    s.block_hash.short(),
                    s.session_index
                ),
                ChainView::NotRunning => "\nrelay chain: not running\n".into(),
                ChainView::Unreachable { endpoint, error } => {
                    format!("\nrelay chain: unreachable at {endpoint}: {error}\n")
                }
            });
            out
        }
        View::Validators => {
            let mut rows = Vec::new();
            let mut items = Vec::new();
            for n in desired.all_validators() {
                let Some(a) = &n.account else { continue };
                let state = match chain {
                    None => "unknown (chain not observed)".to_string(),
                    Some(c) if c.pending_retire.contains(a) => "active, retiring".into(),
                    Some(c) if c.validators.contains(a) => "active".into(),
                    Some(c) if c.pending_add.contains(a) => {
                        "registered, pending (next sessions)".into()
                    }
                    Some(_) => "not a validator".into(),
                };
                let keys = chain.map(|c| c.next_keys.contains_key(a));
                rows.push(vec![
                    n.name.to_string(),
                    a.to_string(),
                    state.clone(),
                    opt(&keys),
                ]);
                items.push(json!({"node": n.name, "account": a.to_string(), "state": state, "next_keys": keys}));
            }
            if as_json {
                return serde_json::to_string_pretty(&items).unwrap_or_default() + "\n";
            }
            table(&["NODE", "STASH", "STATE", "NEXT KEYS"], rows)
        }
        View::Parachains => {
            let mut rows = Vec::new();
            for p in &desired.parachains {
                let lifecycle = chain
                    .and_then(|c| c.paras.get(&p.id))
                    .map(|s| format!("{:?}", s.lifecycle));
                let para = match observed.parachains.get(&p.id) {
                    Some(ParachainView::Live(s)) => format!("#{}", s.block_number),
                    Some(ParachainView::Unreachable { .. }) => "unreachable".into(),
                    _ => "not running".into(),
                };
                rows.push(vec![
                    p.id.to_string(),
                    lifecycle.unwrap_or_else(|| "-".into()),
                    para,
                ]);
            }
            if as_json {
                return serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n";
            }
            table(&["PARA", "LIFECYCLE", "HEAD"], rows)
        }
        View::Collators => {
            let mut rows = Vec::new();
            for (id, v) in &observed.parachains {
                if let ParachainView::Live(s) = v {
                    for a in &s.invulnerables {
                        rows.push(vec![id.to_string(), a.to_string(), "invulnerable".into()]);
                    }
                    for a in &s.candidates {
                        rows.push(vec![id.to_string(), a.to_string(), "candidate".into()]);
                    }
                }
            }
            if as_json {
                return serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n";
            }
            table(&["PARA", "ACCOUNT", "KIND"], rows)
        }
    }
}
