//! Merge the parsed files and check every rule, collecting all problems.
//!
//! `check` never stops at the first problem: each rule adds its diagnostics
//! and moves on. Rules that need the whole network (missing sections, required
//! secrets) are skipped when a file failed to parse, since the missing part
//! may be in that file.

use super::diagnostic::{Loc, SourceFile, SpecDiagnostic};
use super::ids::{ChainSide, ParaId};
use super::load::{Origin, ParsedFile};
use super::model::{
    CollatorMode, Consensus, OnboardMode, RelayNodeMode, Role, SecretRef, SessionKeyPolicy,
};
use super::schema::*;
use super::secrets::{parse_ref, RefError};
use std::collections::BTreeMap;
use toml::Spanned;

/// Chains the `polkadot` binary has built in.
pub const RELAY_BUILTIN_CHAINS: &[&str] = &[
    "rococo-local",
    "westend-local",
    "dev",
    "rococo",
    "westend",
    "polkadot",
    "kusama",
    "paseo",
    "local",
];

/// Chains `polkadot-parachain` has built in (system parachains).
pub const PARA_BUILTIN_CHAINS: &[&str] = &[
    "asset-hub-rococo-local",
    "asset-hub-westend-local",
    "asset-hub-rococo",
    "asset-hub-westend",
    "asset-hub-polkadot",
    "asset-hub-kusama",
    "bridge-hub-rococo-local",
    "bridge-hub-westend-local",
    "collectives-westend-local",
    "coretime-rococo-local",
    "coretime-westend-local",
    "people-rococo-local",
    "people-westend-local",
];

/// The built-in dev accounts, in the order genesis authorities take them.
pub const DEV_KEYS: &[&str] = &["alice", "bob", "charlie", "dave", "eve", "ferdie"];

pub const MAX_REPLICAS: i64 = 1000;

/// A value and the file it came from.
pub(crate) struct At<'a, T> {
    pub file: &'a SourceFile,
    pub v: &'a Spanned<T>,
}

impl<T> Clone for At<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for At<'_, T> {}

impl<'a, T> At<'a, T> {
    pub fn loc(&self) -> Loc {
        Loc::new(self.file, self.v.span())
    }
    pub fn get(&self) -> &'a T {
        self.v.get_ref()
    }
    fn sub<U>(&self, v: &'a Spanned<U>) -> At<'a, U> {
        At { file: self.file, v }
    }
    pub fn sub_loc<U>(&self, v: &Spanned<U>) -> Loc {
        Loc::new(self.file, v.span())
    }
}

pub(crate) struct GroupAt<'a> {
    pub at: At<'a, RawGroup>,
    /// Index into `Merged::parachains` for parachain groups.
    pub para: Option<usize>,
}

impl GroupAt<'_> {
    pub fn side(&self, m: &Merged<'_>) -> ChainSide {
        match self.para {
            None => ChainSide::Relay,
            Some(i) => ChainSide::Para(para_id(m.parachains[i].get().id.get_ref())),
        }
    }

    /// The role, with the parachain default (`collator`) applied.
    pub fn role(&self) -> Option<Role> {
        match (&self.at.get().role, self.para) {
            (Some(r), _) => Some(*r.get_ref()),
            (None, Some(_)) => Some(Role::Collator),
            (None, None) => None,
        }
    }

    pub fn replicas(&self) -> u32 {
        self.at
            .get()
            .replicas
            .as_ref()
            .map_or(1, |r| u32::try_from(*r.get_ref()).unwrap_or(0))
    }

    pub fn genesis(&self) -> bool {
        self.at
            .get()
            .genesis_authorities
            .as_ref()
            .is_some_and(|g| *g.get_ref())
    }

    pub fn collator_mode(&self) -> Option<CollatorMode> {
        match (self.role(), &self.at.get().collator) {
            (Some(Role::Collator), Some(c)) => Some(*c.get_ref()),
            (Some(Role::Collator), None) => Some(CollatorMode::Invulnerable),
            _ => None,
        }
    }
}

/// A table and the file it came from (tables have no span, see `schema`).
pub(crate) struct In<'a, T> {
    pub file: &'a SourceFile,
    pub v: &'a T,
}

impl<T> Clone for In<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for In<'_, T> {}

impl<'a, T> In<'a, T> {
    pub fn get(&self) -> &'a T {
        self.v
    }
    fn sub<U>(&self, v: &'a Spanned<U>) -> At<'a, U> {
        At { file: self.file, v }
    }
}

/// All files merged: at most one of each scalar, every group and parachain.
pub(crate) struct Merged<'a> {
    pub network: Option<In<'a, RawNetwork>>,
    /// Where the first `[network]` was defined (its `name`).
    pub network_at: Option<Loc>,
    pub amount: Option<At<'a, RawAmount>>,
    /// Where the relay chain is first mentioned (a field or a group).
    pub relay_at: Option<Loc>,
    pub chain: Option<At<'a, String>>,
    pub chain_spec: Option<At<'a, String>>,
    pub command: Option<At<'a, String>>,
    pub image: Option<At<'a, String>>,
    pub consensus: Option<At<'a, Consensus>>,
    /// Relay and parachain groups in file order.
    pub groups: Vec<GroupAt<'a>>,
    pub parachains: Vec<At<'a, RawParachain>>,
    /// `[[hrmp]]` channels in file order.
    pub hrmp: Vec<At<'a, RawHrmp>>,
    /// `(name, reference)`; `None` when the reference did not parse.
    pub secrets: Vec<(At<'a, String>, Option<SecretRef>)>,
    /// Where each secret's reference is written.
    pub secret_values: BTreeMap<String, Loc>,
    /// `[kubernetes]` tables (network defaults), by file.
    pub kubernetes: Vec<(&'a SourceFile, &'a RawKubernetes)>,
}

pub(crate) fn para_id(raw: &i64) -> ParaId {
    ParaId(u32::try_from(*raw).unwrap_or(0))
}

/// Set `slot` once; a second definition is a problem pointing at both.
fn once<'a, T>(
    slot: &mut Option<At<'a, T>>,
    new: At<'a, T>,
    what: &str,
    problems: &mut Vec<SpecDiagnostic>,
) {
    match slot {
        None => *slot = Some(new),
        Some(first) => problems.push(
            SpecDiagnostic::new(
                "duplicate_definition",
                format!("{what} is defined more than once"),
            )
            .at(new.loc(), "defined again here")
            .and_at(first.loc(), format!("{what} first defined here"))
            .help(format!(
                "{what} may be set in one file only; remove one of the definitions"
            )),
        ),
    }
}

pub(crate) fn check<'a>(
    files: &'a [ParsedFile],
    origin: &Origin<'_>,
    parse_failed: bool,
    problems: &mut Vec<SpecDiagnostic>,
) -> Option<Merged<'a>> {
    let m = merge(files, problems);
    check_network(&m, files, parse_failed, problems);
    check_relay(&m, origin, parse_failed, problems);
    check_parachains(&m, origin, problems);
    super::hrmp::check(&m, problems);
    check_groups(&m, problems);
    check_secrets(&m, parse_failed, problems);
    check_funding(&m, problems);
    let local = m
        .network
        .is_some_and(|n| *n.get().provider.get_ref() == ProviderName::Local);
    super::kubernetes::check(&m, local, problems);
    if local {
        check_no_cluster_secrets(&m, problems);
    }
    Some(m)
}

fn merge<'a>(files: &'a [ParsedFile], problems: &mut Vec<SpecDiagnostic>) -> Merged<'a> {
    let mut m = Merged {
        network: None,
        network_at: None,
        amount: None,
        relay_at: None,
        chain: None,
        chain_spec: None,
        command: None,
        image: None,
        consensus: None,
        groups: Vec::new(),
        parachains: Vec::new(),
        hrmp: Vec::new(),
        secrets: Vec::new(),
        kubernetes: Vec::new(),
        secret_values: BTreeMap::new(),
    };
    let mut secret_names: BTreeMap<&str, At<'a, String>> = BTreeMap::new();
    let mut ordered_groups: Vec<(usize, usize, GroupAt<'a>)> = Vec::new();
    for (fi, pf) in files.iter().enumerate() {
        let Some(raw) = &pf.raw else { continue };
        let file = &pf.file;
        if let Some(n) = &raw.network {
            let name = At { file, v: &n.name };
            match &m.network {
                None => {
                    m.network = Some(In { file, v: n });
                    m.network_at = Some(name.loc());
                }
                Some(first) => problems.push(
                    SpecDiagnostic::new(
                        "duplicate_definition",
                        "[network] is defined more than once",
                    )
                    .at(name.loc(), "defined again here")
                    .and_at(
                        first.sub(&first.get().name).loc(),
                        "[network] first defined here",
                    )
                    .help("[network] may be set in one file only; remove one of the definitions"),
                ),
            }
        }
        if let Some(a) = raw.funding.as_ref().and_then(|f| f.amount.as_ref()) {
            once(
                &mut m.amount,
                At { file, v: a },
                "[funding] `amount`",
                problems,
            );
        }
        if let Some(rr) = &raw.relay {
            let at = In { file, v: rr };
            if m.relay_at.is_none() {
                let spans = [
                    rr.chain.as_ref().map(|v| v.span()),
                    rr.chain_spec.as_ref().map(|v| v.span()),
                    rr.command.as_ref().map(|v| v.span()),
                    rr.image.as_ref().map(|v| v.span()),
                    rr.consensus.as_ref().map(|v| v.span()),
                    rr.group.first().map(|v| v.get_ref().name.span()),
                ];
                m.relay_at = spans
                    .into_iter()
                    .flatten()
                    .min_by_key(|s| s.start)
                    .map(|s| Loc::new(file, s));
            }
            if let Some(v) = &rr.chain {
                once(&mut m.chain, at.sub(v), "relay `chain`", problems);
            }
            if let Some(v) = &rr.chain_spec {
                once(&mut m.chain_spec, at.sub(v), "relay `chain_spec`", problems);
            }
            if let Some(v) = &rr.command {
                once(&mut m.command, at.sub(v), "relay `command`", problems);
            }
            if let Some(v) = &rr.image {
                once(&mut m.image, at.sub(v), "relay `image`", problems);
            }
            if let Some(v) = &rr.consensus {
                once(&mut m.consensus, at.sub(v), "relay `consensus`", problems);
            }
            for g in &rr.group {
                ordered_groups.push((
                    fi,
                    g.span().start,
                    GroupAt {
                        at: at.sub(g),
                        para: None,
                    },
                ));
            }
        }
        for h in &raw.hrmp {
            m.hrmp.push(At { file, v: h });
        }
        for p in &raw.parachain {
            let idx = m.parachains.len();
            m.parachains.push(At { file, v: p });
            for g in &p.get_ref().group {
                ordered_groups.push((
                    fi,
                    g.span().start,
                    GroupAt {
                        at: At { file, v: g },
                        para: Some(idx),
                    },
                ));
            }
        }
        if let Some(k) = &raw.kubernetes {
            m.kubernetes.push((file, k));
        }
        if let Some(secrets) = &raw.secrets {
            for (k, v) in secrets {
                let key = At { file, v: k };
                if let Some(first) = secret_names.get(k.get_ref().as_str()) {
                    problems.push(
                        SpecDiagnostic::new(
                            "duplicate_definition",
                            format!("secret `{}` is defined more than once", k.get_ref()),
                        )
                        .at(key.loc(), "defined again here")
                        .and_at(first.loc(), "first defined here")
                        .help("each secret name may be set in one file only"),
                    );
                    continue;
                }
                secret_names.insert(k.get_ref().as_str(), key);
                let value = At { file, v };
                m.secret_values.insert(k.get_ref().clone(), value.loc());
                let parsed = match parse_ref(v.get_ref()) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        problems.push(secret_problem(k.get_ref(), value, e));
                        None
                    }
                };
                m.secrets.push((key, parsed));
            }
        }
    }
    ordered_groups.sort_by_key(|(fi, off, _)| (*fi, *off));
    m.groups = ordered_groups.into_iter().map(|(_, _, g)| g).collect();
    m
}

fn secret_problem(name: &str, value: At<'_, String>, e: RefError) -> SpecDiagnostic {
    match e {
        RefError::InlineSecret => SpecDiagnostic::new(
            "inline_secret",
            format!("secret `{name}` is written inline: this value looks like a key, not a reference"),
        )
        .at(value.loc(), "a secret value (masked here) must not be in git")
        .help(format!(
            "put it in an env var and write env:NAME (e.g. `{name} = \"env:PARAFORM_{}\"`), or use file:PATH / k8s:SECRET/KEY; \
             then rotate this key, it is in your history",
            name.to_uppercase()
        )),
        RefError::UnknownScheme(s) => SpecDiagnostic::new(
            "unknown_secret_scheme",
            format!("secret `{name}` uses the unknown scheme `{s}:`"),
        )
        .at(value.loc(), "unknown scheme")
        .help("a secret is a reference: env:NAME, file:PATH (relative to the network dir) or k8s:SECRET/KEY"),
        RefError::NoScheme => SpecDiagnostic::new(
            "unknown_secret_scheme",
            format!("secret `{name}` is not a reference"),
        )
        .at(value.loc(), "no `env:`, `file:` or `k8s:` prefix")
        .help("a secret is a reference: env:NAME, file:PATH (relative to the network dir) or k8s:SECRET/KEY"),
        RefError::Malformed { scheme, why } => SpecDiagnostic::new(
            "bad_secret_ref",
            format!("secret `{name}` is a malformed `{scheme}:` reference"),
        )
        .at(value.loc(), why)
        .help("a secret is a reference: env:NAME, file:PATH (relative to the network dir) or k8s:SECRET/KEY"),
    }
}

/// Lowercase DNS label: names become node names, pod names and directories.
fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn first_loc(files: &[ParsedFile]) -> Option<Loc> {
    files.first().map(|f| Loc::new(&f.file, 0..0))
}

fn check_network(
    m: &Merged<'_>,
    files: &[ParsedFile],
    parse_failed: bool,
    problems: &mut Vec<SpecDiagnostic>,
) {
    let Some(net) = m.network else {
        if !parse_failed {
            let mut d = SpecDiagnostic::new("missing_network", "no [network] table in any file")
                .help("add `[network]` with `name` and `provider = \"local\"` (or \"kubernetes\" with `namespace`)");
            let at = m.relay_at.clone().or_else(|| first_loc(files));
            if let Some(at) = at {
                d = d.at(at, "this network has no [network] table");
            }
            problems.push(d);
        }
        return;
    };
    let n = net.get();
    let name = net.sub(&n.name);
    if !valid_name(name.get(), 40) {
        problems.push(
            SpecDiagnostic::new("bad_name", format!("network name `{}` is not a valid name", name.get()))
                .at(name.loc(), "not a lowercase DNS label")
                .help("use lowercase letters, digits and `-` (at most 40, starting with a letter): it names directories, leases and labels"),
        );
    }
    let provider = net.sub(&n.provider);
    match (provider.get(), &n.namespace) {
        (ProviderName::Kubernetes, None) => problems.push(
            SpecDiagnostic::new(
                "missing_namespace",
                "the kubernetes provider needs a namespace",
            )
            .at(provider.loc(), "kubernetes, but no namespace")
            .help("add `namespace = \"<namespace>\"` to [network]"),
        ),
        (ProviderName::Local, Some(ns)) => problems.push(
            SpecDiagnostic::new(
                "namespace_not_used",
                "`namespace` only applies to the kubernetes provider",
            )
            .at(net.sub(ns).loc(), "ignored by the local provider")
            .help("remove `namespace`, or set `provider = \"kubernetes\"`"),
        ),
        (ProviderName::Kubernetes, Some(ns)) if !valid_name(ns.get_ref(), 63) => problems.push(
            SpecDiagnostic::new(
                "bad_name",
                format!("namespace `{}` is not a valid namespace", ns.get_ref()),
            )
            .at(net.sub(ns).loc(), "not a lowercase DNS label")
            .help("use lowercase letters, digits and `-` (at most 63, starting with a letter)"),
        ),
        _ => {}
    }
}

/// `chain` xor `chain_spec`; built-in names known; spec paths exist.
fn check_chain(
    what: &str,
    chain: Option<At<'_, String>>,
    chain_spec: Option<At<'_, String>>,
    builtins: &[&str],
    origin: &Origin<'_>,
    problems: &mut Vec<SpecDiagnostic>,
) {
    if let (Some(c), Some(s)) = (chain, chain_spec) {
        problems.push(
            SpecDiagnostic::new("chain_conflict", format!("{what} sets both `chain` and `chain_spec`"))
                .at(s.loc(), "chain_spec here")
                .and_at(c.loc(), "chain here")
                .help("use `chain` for a built-in chain name, or `chain_spec` for a file or URL, not both"),
        );
    }
    if let Some(c) = chain {
        if !builtins.contains(&c.get().as_str()) {
            problems.push(
                SpecDiagnostic::new("unknown_chain", format!("`{}` is not a built-in chain", c.get()))
                    .at(c.loc(), "unknown built-in chain")
                    .help(format!(
                        "built-in chains are {}; for anything else write chain_spec = \"<path or https:// URL>\"",
                        builtins.join(", ")
                    )),
            );
        }
    }
    if let Some(s) = chain_spec {
        check_path(s, "chain spec", origin, problems);
    }
}

/// A para's chain spec names its para id (`para_id`, older specs `paraId`):
/// a collator runs that id whatever the desired state says, so a spec for
/// another para would onboard one para and collate another.
fn check_spec_para_id(
    id: i64,
    id_at: At<'_, i64>,
    spec: At<'_, String>,
    origin: &Origin<'_>,
    problems: &mut Vec<SpecDiagnostic>,
) {
    #[derive(serde::Deserialize)]
    struct Head {
        para_id: Option<i64>,
        #[serde(rename = "paraId")]
        para_id_camel: Option<i64>,
        genesis: Option<Genesis>,
    }
    #[derive(serde::Deserialize)]
    struct Genesis {
        raw: Option<Raw>,
    }
    #[derive(serde::Deserialize)]
    struct Raw {
        top: BTreeMap<String, String>,
    }
    let Some(bytes) = (origin.read)(spec.get()) else {
        return;
    };
    // Only the top-level keys are looked at; a spec that is not JSON is the
    // node's to reject.
    let Ok(head) = serde_json::from_slice::<Head>(&bytes) else {
        return;
    };
    if let Some(in_spec) = head.para_id.or(head.para_id_camel).filter(|p| *p != id) {
        problems.push(
            SpecDiagnostic::new(
                "chain_spec_para_id",
                format!("the chain spec of parachain {id} is for para {in_spec}"),
            )
            .at(spec.loc(), format!("`para_id` is {in_spec} in this spec"))
            .and_at(id_at.loc(), format!("parachain {id} declared here"))
            .help(format!(
                "use the chain spec made for para {id} (its `para_id` must be {id}), or set id = {in_spec}"
            )),
        );
        return;
    }
    // The runtime's own idea of its id: a collator announces and builds
    // for `ParachainInfo.ParachainId` of its genesis, whatever `para_id`
    // says (measured: a spec made with `--para-id 2001` and a preset that
    // hard-codes 2000 runs as para 2000).
    let in_genesis = head
        .genesis
        .and_then(|g| g.raw)
        .and_then(|r| r.top.get(&parachain_id_key()).cloned())
        .and_then(|v| hex::decode(v.trim_start_matches("0x")).ok())
        .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
        .map(|b| i64::from(u32::from_le_bytes(b)));
    if let Some(in_genesis) = in_genesis.filter(|p| *p != id) {
        problems.push(
            SpecDiagnostic::new(
                "chain_spec_para_id",
                format!(
                    "the chain spec of parachain {id} has ParachainInfo.ParachainId = {in_genesis} in its genesis"
                ),
            )
            .at(spec.loc(), format!("its runtime would run as para {in_genesis}"))
            .and_at(id_at.loc(), format!("parachain {id} declared here"))
            .help(format!(
                "build the spec with a genesis whose parachainInfo.parachainId is {id} \
                 (chain-spec-builder with a preset or patch that sets it), or use the spec of para {in_genesis}"
            )),
        );
    }
}

/// `0x` + twox128("ParachainInfo") + twox128("ParachainId"): the storage
/// key of a cumulus runtime's para id.
fn parachain_id_key() -> String {
    let mut k = sp_crypto_hashing::twox_128(b"ParachainInfo").to_vec();
    k.extend(sp_crypto_hashing::twox_128(b"ParachainId"));
    format!("0x{}", hex::encode(k))
}

fn check_path(
    p: At<'_, String>,
    what: &str,
    origin: &Origin<'_>,
    problems: &mut Vec<SpecDiagnostic>,
) {
    let path = p.get();
    if path.is_empty() || !(origin.exists)(path) {
        problems.push(
            SpecDiagnostic::new("missing_file", format!("{what} `{path}` does not exist"))
                .at(p.loc(), format!("not found in {}", origin.dir_label))
                .help("paths are relative to the network directory; http(s):// URLs are fetched by the node"),
        );
    }
}

fn check_relay(
    m: &Merged<'_>,
    origin: &Origin<'_>,
    parse_failed: bool,
    problems: &mut Vec<SpecDiagnostic>,
) {
    if m.chain.is_none() && m.chain_spec.is_none() {
        if !parse_failed {
            let mut d = SpecDiagnostic::new("missing_relay", "no relay chain: [relay] `chain` or `chain_spec` is not set")
                .help("add [relay] with `chain = \"rococo-local\"` (a built-in chain) or `chain_spec = \"<path or URL>\"`");
            if let Some(r) = m.relay_at.clone() {
                d = d.at(r, "[relay] has no `chain` or `chain_spec`");
            } else if let Some(n) = m.network_at.clone() {
                d = d.at(n, "this network has no [relay] table");
            }
            problems.push(d);
        }
    } else {
        check_chain(
            "[relay]",
            m.chain,
            m.chain_spec,
            RELAY_BUILTIN_CHAINS,
            origin,
            problems,
        );
    }
    // Measured on the shipped polkadot: `westend-local`'s genesis has
    // `stakingAhClient` and no `staking`; staking lives on Asset Hub in
    // current runtimes, so relay-side PoS calls would fail at apply.
    if let Some(c) = m.consensus.filter(|c| *c.get() == Consensus::Pos) {
        problems.push(
            SpecDiagnostic::new(
                "unsupported_consensus",
                "`consensus = \"pos\"` is not supported yet",
            )
            .at(c.loc(), "staking is not on the relay chain")
            .help(
                "current relay runtimes keep staking on Asset Hub (westend-local's genesis has \
                 `stakingAhClient` and no `staking`); use `consensus = \"poa\"` (ValidatorManager via \
                 sudo) or remove the field",
            ),
        );
    }
    for c in [m.command, m.image].into_iter().flatten() {
        if c.get().trim().is_empty() {
            problems.push(
                SpecDiagnostic::new("bad_value", "empty value")
                    .at(c.loc(), "must not be empty")
                    .help("remove the field to use the default"),
            );
        }
    }
}

fn check_parachains(m: &Merged<'_>, origin: &Origin<'_>, problems: &mut Vec<SpecDiagnostic>) {
    let mut seen: BTreeMap<i64, At<'_, i64>> = BTreeMap::new();
    for p in &m.parachains {
        let raw = p.get();
        let id = p.sub(&raw.id);
        let v = *id.get();
        if v < 1000 || v > i64::from(u32::MAX) {
            problems.push(
                SpecDiagnostic::new("bad_para_id", format!("{v} is not a valid parachain id"))
                    .at(id.loc(), if v < 1000 { "below 1000" } else { "above the u32 range" })
                    .help("parachain ids are 1000..=4294967295: ids below 1000 are reserved, 1000..1999 are system parachains, 2000 and up are public"),
            );
        }
        match seen.get(&v) {
            Some(first) => problems.push(
                SpecDiagnostic::new(
                    "duplicate_para_id",
                    format!("parachain {v} is defined more than once"),
                )
                .at(id.loc(), "defined again here")
                .and_at(first.loc(), format!("parachain {v} first defined here"))
                .help("every [[parachain]] needs its own id"),
            ),
            None => {
                seen.insert(v, id);
            }
        }
        let chain = raw.chain.as_ref().map(|c| p.sub(c));
        let spec = raw.chain_spec.as_ref().map(|c| p.sub(c));
        if chain.is_none() && spec.is_none() {
            problems.push(
                SpecDiagnostic::new("missing_chain", format!("parachain {v} has no `chain` or `chain_spec`"))
                    .at(id.loc(), "this parachain")
                    .help("add `chain_spec = \"<path or URL>\"` (or `chain` for a chain built into polkadot-parachain)"),
            );
        }
        check_chain(
            &format!("parachain {v}"),
            chain,
            spec,
            PARA_BUILTIN_CHAINS,
            origin,
            problems,
        );
        if let Some(s) = spec {
            check_spec_para_id(v, id, s, origin, problems);
        }
        let command = raw
            .command
            .as_ref()
            .map(|c| c.get_ref().as_str())
            .unwrap_or(super::expand::PARA_COMMAND);
        if let Some(c) = chain {
            let is_omni = std::path::Path::new(command)
                .file_name()
                .is_some_and(|f| f == "polkadot-omni-node");
            if is_omni && PARA_BUILTIN_CHAINS.contains(&c.get().as_str()) {
                problems.push(
                    SpecDiagnostic::new("unknown_chain", format!("polkadot-omni-node has no built-in chain `{}`", c.get()))
                        .at(c.loc(), "needs polkadot-parachain")
                        .help("set `command = \"polkadot-parachain\"`, or use `chain_spec` with polkadot-omni-node"),
                );
            }
        }
        if let Some(g) = &raw.genesis {
            let g = p.sub(g);
            if g.get() != "collator" {
                check_path(g, "genesis raw chain spec", origin, problems);
            }
        }
        if raw.group.is_empty()
            && raw
                .onboard
                .as_ref()
                .is_none_or(|o| *o.get_ref() != OnboardMode::None)
        {
            problems.push(
                SpecDiagnostic::new("no_collators", format!("parachain {v} is onboarded but has no collator group"))
                    .at(id.loc(), "no [[parachain.group]]")
                    .help("add a [[parachain.group]] (role collator) under this [[parachain]], or set onboard = \"none\""),
            );
        }
    }
}

/// Flags paraform sets itself, with what to write instead.
const OWNED_FLAGS: &[(&str, &str)] = &[
    ("--chain", "the chain comes from `chain` / `chain_spec`"),
    (
        "--base-path",
        "the provider chooses the base path (a volume on kubernetes, .paraform/<net>/ locally)",
    ),
    (
        "-d",
        "the provider chooses the base path (a volume on kubernetes, .paraform/<net>/ locally)",
    ),
    ("--validator", "write role = \"validator\""),
    ("--collator", "write role = \"collator\""),
    (
        "--node-key",
        "node keys follow `node_key = \"derived\" | \"generated\"`",
    ),
    (
        "--node-key-file",
        "node keys follow `node_key = \"derived\" | \"generated\"`",
    ),
    ("--rpc-port", "ports are assigned by the provider"),
    ("--prometheus-port", "ports are assigned by the provider"),
    ("--port", "ports are assigned by the provider"),
    (
        "--listen-addr",
        "ports and addresses are assigned by the provider",
    ),
    (
        "--public-addr",
        "public addresses come from the `p2p` exposure",
    ),
    ("--name", "the node name is `<group>-<index>`"),
    (
        "--bootnodes",
        "bootnodes are computed from the network's stable node keys",
    ),
    (
        "--rpc-methods",
        "paraform needs unsafe RPC methods on the nodes it manages and sets this itself",
    ),
    (
        "--rpc-external",
        "RPC exposure follows `rpc = \"ClusterIP\" | ...`",
    ),
    (
        "--unsafe-rpc-external",
        "RPC exposure follows `rpc = \"ClusterIP\" | ...`",
    ),
    (
        "--parachain-id",
        "the para id comes from [[parachain]] `id`",
    ),
    (
        "--force-authoring",
        "authoring follows `genesis_authorities`",
    ),
    (
        "--database",
        "write storage.database = \"rocksdb\" | \"paritydb\"",
    ),
    (
        "--db",
        "write storage.database = \"rocksdb\" | \"paritydb\"",
    ),
    ("--pruning", "write storage.pruning"),
    ("--state-pruning", "write storage.pruning"),
    (
        "--keystore-path",
        "write keystore = \"memory\" | \"volume\"",
    ),
    ("--log", "write log = [\"target=level\", ...]"),
    ("-l", "write log = [\"target=level\", ...]"),
    (
        "--dev",
        "paraform runs real networks; pick a chain with `chain`",
    ),
    ("--tmp", "the provider chooses the base path"),
    ("--alice", "write genesis_authorities = true"),
    ("--bob", "write genesis_authorities = true"),
    ("--charlie", "write genesis_authorities = true"),
    ("--dave", "write genesis_authorities = true"),
    ("--eve", "write genesis_authorities = true"),
    ("--ferdie", "write genesis_authorities = true"),
    ("--one", "write genesis_authorities = true"),
    ("--two", "write genesis_authorities = true"),
];

/// The owned flag a token sets, if any: `--chain`, `--chain=x`, `-d`, `-dpath`, `-lsync=debug`.
fn owned_flag(token: &str) -> Option<(&'static str, &'static str)> {
    let t = token.trim();
    let name = if t.starts_with("--") {
        t.split('=').next().unwrap_or(t)
    } else if t.starts_with('-') && t.len() >= 2 {
        &t[..2]
    } else {
        return None;
    };
    OWNED_FLAGS.iter().copied().find(|(f, _)| *f == name)
}

/// Group rules. Node names need no check of their own: a node is
/// `<group>-<digits>`, so distinct group names give distinct node names.
fn check_groups(m: &Merged<'_>, problems: &mut Vec<SpecDiagnostic>) {
    let mut names: BTreeMap<&str, At<'_, String>> = BTreeMap::new();
    // Dev keys are handed out per chain (relay, each para) in group order.
    let mut dev_used: BTreeMap<ChainSide, usize> = BTreeMap::new();
    for g in &m.groups {
        let raw = g.at.get();
        let name = g.at.sub(&raw.name);
        let gname = name.get().as_str();
        let kind = if g.para.is_some() {
            "parachain group"
        } else {
            "relay group"
        };

        if !valid_name(gname, 40) {
            problems.push(
                SpecDiagnostic::new("bad_name", format!("group name `{gname}` is not a valid name"))
                    .at(name.loc(), "not a lowercase DNS label")
                    .help("use lowercase letters, digits and `-` (at most 40, starting with a letter): nodes are named `<group>-<index>`"),
            );
        }
        match names.get(gname) {
            Some(first) => problems.push(
                SpecDiagnostic::new("duplicate_group", format!("group `{gname}` is defined more than once"))
                    .at(name.loc(), "defined again here")
                    .and_at(first.loc(), format!("group `{gname}` first defined here"))
                    .help("group names are unique across the network (relay and parachains, all files): their nodes would share names"),
            ),
            None => {
                names.insert(gname, name);
            }
        }

        let role = g.role();
        let role_at = raw.role.as_ref().map(|r| g.at.sub(r));
        if role.is_none() {
            problems.push(
                SpecDiagnostic::new("missing_role", format!("relay group `{gname}` has no role"))
                    .at(name.loc(), "no `role`")
                    .help("add role = \"validator\" | \"full\" | \"rpc\" | \"bootnode\""),
            );
        }
        let role_loc = || role_at.map(|r| r.loc()).unwrap_or_else(|| name.loc());
        if g.para.is_none() && role == Some(Role::Collator) {
            problems.push(
                SpecDiagnostic::new("role_mismatch", format!("relay group `{gname}` has role collator"))
                    .at(role_loc(), "collator outside a parachain")
                    .help("collators belong to a parachain: move this group under [[parachain]] as [[parachain.group]]"),
            );
        }
        if g.para.is_some() && role == Some(Role::Validator) {
            problems.push(
                SpecDiagnostic::new("role_mismatch", format!("parachain group `{gname}` has role validator"))
                    .at(role_loc(), "validator inside a parachain")
                    .help("validators belong to the relay chain: move this group to [[relay.group]], or use role = \"collator\""),
            );
        }
        if let Some(c) = &raw.collator {
            let c = g.at.sub(c);
            if g.para.is_none() {
                problems.push(
                    SpecDiagnostic::new(
                        "role_mismatch",
                        format!("relay group `{gname}` sets `collator`"),
                    )
                    .at(c.loc(), "collator mode outside a parachain")
                    .help(
                        "`collator = ...` only applies to [[parachain.group]] with role collator",
                    ),
                );
            } else if role != Some(Role::Collator) {
                let r = role.map_or("none", Role::as_str);
                problems.push(
                    SpecDiagnostic::new(
                        "role_mismatch",
                        format!("group `{gname}` has role {r} but sets `collator`"),
                    )
                    .at(c.loc(), "collator mode on a non-collator")
                    .and_at(role_loc(), format!("role {r}"))
                    .help("remove `collator`, or set role = \"collator\""),
                );
            }
        }
        if g.para.is_none() {
            if let Some(first) = raw.relay_flags.first() {
                problems.push(
                    SpecDiagnostic::new(
                        "role_mismatch",
                        format!("relay group `{gname}` sets `relay_flags`"),
                    )
                    .at(
                        g.at.sub(first).loc(),
                        "only parachain nodes embed a relay node",
                    )
                    .help(
                        "put relay node flags in `flags`; `relay_flags` is for [[parachain.group]]",
                    ),
                );
            }
        }
        if let Some(mode) = raw.relay_node.as_ref().map(|x| g.at.sub(x)) {
            if g.para.is_none() || role.is_some_and(|r| r != Role::Collator) {
                problems.push(
                    SpecDiagnostic::new(
                        "role_mismatch",
                        format!("group `{gname}` sets `relay_node` but is not a collator group"),
                    )
                    .at(mode.loc(), "only collators reach a relay chain")
                    .help("remove `relay_node`; it is for [[parachain.group]] collators"),
                );
            } else if *mode.get() == RelayNodeMode::Rpc {
                if let Some(first) = raw.relay_flags.first() {
                    problems.push(
                        SpecDiagnostic::new(
                            "relay_flags_without_relay_node",
                            format!("group `{gname}` has relay_node = \"rpc\" and `relay_flags`"),
                        )
                        .at(
                            g.at.sub(first).loc(),
                            "no embedded relay node to pass this to",
                        )
                        .and_at(mode.loc(), "collates over relay RPC")
                        .help("remove `relay_flags`, or use relay_node = \"embedded\""),
                    );
                }
                let kubernetes = m
                    .network
                    .as_ref()
                    .is_some_and(|n| *n.v.provider.get_ref() == ProviderName::Kubernetes);
                if kubernetes {
                    problems.push(
                        SpecDiagnostic::new(
                            "unsupported",
                            format!("group `{gname}`: relay_node = \"rpc\" is not supported by the kubernetes provider yet"),
                        )
                        .at(mode.loc(), "local provider only for now")
                        .help("use relay_node = \"embedded\" (the default) on kubernetes"),
                    );
                }
            }
        }
        let genesis = raw.genesis_authorities.as_ref().map(|x| g.at.sub(x));
        if let (Some(ga), Some(r)) = (genesis, role) {
            if *ga.get() && !matches!(r, Role::Validator | Role::Collator) {
                problems.push(
                    SpecDiagnostic::new(
                        "role_mismatch",
                        format!("group `{gname}` has role {} but genesis_authorities = true", r.as_str()),
                    )
                    .at(ga.loc(), "authorities author blocks")
                    .and_at(role_loc(), format!("role {}", r.as_str()))
                    .help("only validators (and collators) can be genesis authorities: set role = \"validator\", or remove genesis_authorities"),
                );
            }
        }

        if let Some(sk) = raw.session_keys.as_ref().map(|x| g.at.sub(x)) {
            let managed_validator =
                g.para.is_none() && role == Some(Role::Validator) && !g.genesis();
            if *sk.get() == SessionKeyPolicy::Derived && !managed_validator {
                problems.push(
                    SpecDiagnostic::new(
                        "session_keys_unused",
                        format!("group `{gname}` sets session_keys but paraform sets no session keys for it"),
                    )
                    .at(sk.loc(), "only for validators paraform registers")
                    .help("session_keys applies to [[relay.group]] validators without genesis_authorities: remove it here"),
                );
            }
        }

        if let Some(r) = &raw.replicas {
            let r = g.at.sub(r);
            if !(0..=MAX_REPLICAS).contains(r.get()) {
                problems.push(
                    SpecDiagnostic::new("replicas_out_of_range", format!("replicas = {} is out of range", r.get()))
                        .at(r.loc(), format!("must be 0..={MAX_REPLICAS}"))
                        .help(format!("a group has 0 to {MAX_REPLICAS} replicas; split larger sets into several groups")),
                );
            }
        }
        if g.genesis() && role.is_some_and(|r| matches!(r, Role::Validator | Role::Collator)) {
            let side = g.side(m);
            let used = dev_used.entry(side).or_insert(0);
            let want = g.replicas() as usize;
            if *used + want > DEV_KEYS.len() {
                let at = raw
                    .replicas
                    .as_ref()
                    .map(|r| g.at.sub(r).loc())
                    .unwrap_or_else(|| name.loc());
                problems.push(
                    SpecDiagnostic::new(
                        "too_many_genesis_authorities",
                        format!(
                            "group `{gname}` needs {want} genesis authorities, but only {} of the {} dev accounts are left",
                            DEV_KEYS.len().saturating_sub(*used),
                            DEV_KEYS.len()
                        ),
                    )
                    .at(at, "more genesis authorities than dev accounts")
                    .help(format!(
                        "genesis authorities run with the built-in dev keys ({}), shared by all genesis groups of a chain; \
                         register further validators with a group without genesis_authorities",
                        DEV_KEYS.join(", ")
                    )),
                );
            }
            *used += want;
        }

        for (list, field) in [(&raw.flags, "flags"), (&raw.relay_flags, "relay_flags")] {
            for f in list {
                let f = g.at.sub(f);
                if let Some((flag, help)) = owned_flag(f.get()) {
                    problems.push(
                        SpecDiagnostic::new(
                            "owned_flag",
                            format!("`{flag}` in {kind} `{gname}` {field} is set by paraform"),
                        )
                        .at(f.loc(), "paraform owns this flag")
                        .help(format!("remove it: {help}")),
                    );
                }
            }
        }
        if let Some(p) = &raw.storage.pruning {
            let p = g.at.sub(p);
            let ok = match p.get() {
                RawPruning::Blocks(n) => *n >= 0,
                RawPruning::Mode(s) => {
                    s == "archive"
                        || s == "archive-canonical"
                        || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
                }
            };
            if !ok {
                problems.push(
                    SpecDiagnostic::new("bad_value", "storage.pruning is not a pruning mode")
                        .at(p.loc(), "not a pruning mode")
                        .help(
                            "use \"archive\", \"archive-canonical\" or a number of blocks to keep",
                        ),
                );
            }
        }
    }
}

fn check_secrets(m: &Merged<'_>, parse_failed: bool, problems: &mut Vec<SpecDiagnostic>) {
    if parse_failed {
        return;
    }
    let has = |n: &str| m.secrets.iter().any(|(k, _)| k.get() == n);
    let poa = m.consensus.is_none_or(|c| *c.get() == Consensus::Poa);
    let mut needs_root = None;
    let mut needs_sudo = None;
    for g in &m.groups {
        if g.replicas() == 0 {
            continue;
        }
        let managed_validator =
            g.para.is_none() && g.role() == Some(Role::Validator) && !g.genesis();
        let managed_collator = g.role() == Some(Role::Collator)
            && !g.genesis()
            && g.collator_mode() != Some(CollatorMode::None);
        if managed_validator || managed_collator {
            needs_root.get_or_insert((
                g.at.sub(&g.at.get().name).loc(),
                "registers derived accounts",
            ));
        }
        if managed_validator && poa {
            needs_sudo.get_or_insert((
                g.at.sub(&g.at.get().name).loc(),
                "registered via sudo (poa)",
            ));
        }
    }
    for p in &m.parachains {
        if p.get()
            .onboard
            .as_ref()
            .is_none_or(|o| *o.get_ref() != OnboardMode::None)
        {
            needs_sudo.get_or_insert((p.sub(&p.get().id).loc(), "onboarded via sudo"));
        }
    }
    for (name, need) in [("derivation_root", needs_root), ("sudo", needs_sudo)] {
        if let (Some((at, why)), false) = (need, has(name)) {
            problems.push(
                SpecDiagnostic::new(
                    "missing_secret",
                    format!("[secrets] `{name}` is required by this network"),
                )
                .at(at, why)
                .help(format!(
                    "add `{name} = \"env:PARAFORM_{}\"` (or file:/k8s:) to [secrets]",
                    name.to_uppercase()
                )),
            );
        }
    }
}

/// `k8s:` references name Secrets in the network's namespace: a local
/// network has none, so the ones paraform reads are refused before anything
/// runs (other names are free and never read).
fn check_no_cluster_secrets(m: &Merged<'_>, problems: &mut Vec<SpecDiagnostic>) {
    for (name, r) in &m.secrets {
        if !matches!(name.get().as_str(), "sudo" | "derivation_root") {
            continue;
        }
        if let Some(r @ SecretRef::K8s { .. }) = r {
            let value = m.secret_values.get(name.get()).cloned();
            problems.push(
                SpecDiagnostic::new(
                    "k8s_secret_on_local",
                    format!("secret `{}` is a Kubernetes Secret ({r}), but this network uses the local provider", name.get()),
                )
                .at(value.unwrap_or_else(|| name.loc()), "read from a cluster namespace")
                .help(format!(
                    "a local network reads secrets from env: or file: references, e.g. `{} = \"env:PARAFORM_{}\"`",
                    name.get(),
                    name.get().to_uppercase()
                )),
            );
        }
    }
}

fn check_funding(m: &Merged<'_>, problems: &mut Vec<SpecDiagnostic>) {
    if let Some(a) = m.amount {
        if super::expand::amount(a.get()).is_none() {
            problems.push(
                SpecDiagnostic::new("bad_value", "[funding] amount is not a balance")
                    .at(a.loc(), "not a non-negative integer (planck)")
                    .help("write a whole number of planck, e.g. amount = 1_000_000_000_000_000, or a string of digits for larger values"),
            );
        }
    }
}

/// Order problems by file and position; location-less ones first.
pub(crate) fn sort(problems: &mut [SpecDiagnostic]) {
    problems.sort_by(|a, b| {
        let key = |d: &SpecDiagnostic| {
            d.at.as_ref()
                .map(|(l, _)| (l.file.name.clone(), l.span.start))
        };
        key(a).cmp(&key(b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_flags_in_every_form() {
        for t in [
            "--chain",
            "--chain=x",
            "-d",
            "-d/data",
            "-lsync=debug",
            "--rpc-port=1",
            "--alice",
        ] {
            assert!(owned_flag(t).is_some(), "{t}");
        }
        for t in [
            "--rpc-cors=all",
            "--chainx",
            "/data",
            "-x",
            "--in-peers=5",
            "--prometheus-external",
        ] {
            assert!(owned_flag(t).is_none(), "{t}");
        }
    }

    #[test]
    fn names_are_dns_labels() {
        assert!(valid_name("validator-a", 40));
        for bad in ["", "A", "1a", "a_b", "a-", "a b", &"a".repeat(41)] {
            assert!(!valid_name(bad, 40), "{bad}");
        }
    }
}
