//! `[[hrmp]]`: HRMP channels between the network's parachains, checked
//! against the declared `[[parachain]]`s and expanded into
//! [`HrmpChannel`]s.

use super::diagnostic::SpecDiagnostic;
use super::model::{ChannelId, HrmpChannel, OnboardMode};
use super::schema::RawHrmp;
use super::validate::{para_id, At, Merged};
use std::collections::BTreeMap;
use toml::Spanned;

/// Defaults: small enough for the relay's configured maxima
/// (`Configuration.ActiveConfig.hrmp_channel_max_*`); rococo-local opens
/// them (tests/paras.rs).
pub const DEFAULT_MAX_CAPACITY: u32 = 8;
pub const DEFAULT_MAX_MESSAGE_SIZE: u32 = 1024;

pub(crate) fn check(m: &Merged<'_>, problems: &mut Vec<SpecDiagnostic>) {
    // Paras that end up onboarded: a channel needs both ends registered.
    let onboarded: BTreeMap<i64, bool> = m
        .parachains
        .iter()
        .map(|p| {
            let raw = p.get();
            let on = raw
                .onboard
                .as_ref()
                .is_none_or(|o| *o.get_ref() != OnboardMode::None);
            (*raw.id.get_ref(), on)
        })
        .collect();
    let mut seen: BTreeMap<(i64, i64), At<'_, RawHrmp>> = BTreeMap::new();
    for h in &m.hrmp {
        let raw = h.get();
        let at = |v: &Spanned<i64>| h.sub_loc(v);
        for (end, v) in [("sender", &raw.sender), ("recipient", &raw.recipient)] {
            match onboarded.get(v.get_ref()) {
                None => problems.push(
                    SpecDiagnostic::new(
                        "hrmp_unknown_para",
                        format!(
                            "HRMP {end} {} is not a parachain of this network",
                            v.get_ref()
                        ),
                    )
                    .at(at(v), "no [[parachain]] with this id")
                    .help(format!(
                        "declare [[parachain]] id = {} in this network, or fix the {end}",
                        v.get_ref()
                    )),
                ),
                Some(false) => problems.push(
                    SpecDiagnostic::new(
                        "hrmp_para_not_onboarded",
                        format!(
                            "HRMP {end} {} is not onboarded (onboard = \"none\")",
                            v.get_ref()
                        ),
                    )
                    .at(at(v), "this para is never registered on the relay")
                    .help(
                        "channels need both paras registered: onboard it, or remove this [[hrmp]]",
                    ),
                ),
                Some(true) => {}
            }
        }
        if raw.sender.get_ref() == raw.recipient.get_ref() {
            problems.push(
                SpecDiagnostic::new(
                    "hrmp_self_channel",
                    format!("HRMP channel from para {} to itself", raw.sender.get_ref()),
                )
                .at(at(&raw.recipient), "same as the sender")
                .help("a channel connects two different paras; for both directions write two [[hrmp]] entries"),
            );
        }
        for (name, v) in [
            ("max_capacity", &raw.max_capacity),
            ("max_message_size", &raw.max_message_size),
        ] {
            if let Some(v) = v {
                if *v.get_ref() < 1 || *v.get_ref() > i64::from(u32::MAX) {
                    problems.push(
                        SpecDiagnostic::new(
                            "hrmp_bad_limit",
                            format!("`{name}` = {} is not a positive u32", v.get_ref()),
                        )
                        .at(at(v), "out of range")
                        .help(format!(
                            "set {name} between 1 and the relay's configured maximum (Configuration.ActiveConfig.hrmp_channel_{name})"
                        )),
                    );
                }
            }
        }
        let key = (*raw.sender.get_ref(), *raw.recipient.get_ref());
        match seen.get(&key) {
            Some(first) => problems.push(
                SpecDiagnostic::new(
                    "hrmp_duplicate",
                    format!("HRMP channel {} -> {} is declared twice", key.0, key.1),
                )
                .at(h.loc(), "declared again here")
                .and_at(first.loc(), "first declared here")
                .help("keep one [[hrmp]] per sender and recipient"),
            ),
            None => {
                seen.insert(key, *h);
            }
        }
    }
}

/// The channels of a merged, valid desired state.
pub(crate) fn expand(m: &Merged<'_>) -> Vec<HrmpChannel> {
    let limit = |v: &Option<Spanned<i64>>, default: u32| {
        v.as_ref()
            .and_then(|v| u32::try_from(*v.get_ref()).ok())
            .unwrap_or(default)
    };
    m.hrmp
        .iter()
        .map(|h| {
            let raw = h.get();
            HrmpChannel {
                id: ChannelId {
                    sender: para_id(raw.sender.get_ref()),
                    recipient: para_id(raw.recipient.get_ref()),
                },
                max_capacity: limit(&raw.max_capacity, DEFAULT_MAX_CAPACITY),
                max_message_size: limit(&raw.max_message_size, DEFAULT_MAX_MESSAGE_SIZE),
            }
        })
        .collect()
}
