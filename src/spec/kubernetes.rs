//! The `[kubernetes]` tables: pod and Service settings of Parity's `node`
//! chart, as network defaults and per group. Checked here (names, labels,
//! Kubernetes objects against k8s-openapi's schema) and merged into each
//! group's `PodSettings`: a group's value replaces the default, except maps
//! (labels, annotations, node selector, env), merged key by key with the
//! group's keys winning.

use super::diagnostic::{Loc, SourceFile, SpecDiagnostic};
use super::model::{
    AntiAffinity, EnvValue, ExternalDns, Ingress, PodSettings, ServiceMonitor, Toleration,
};
use super::schema::{RawIngress, RawKubernetes, RawToleration};
use super::validate::{GroupAt, Merged};
use serde_json::Value;
use std::collections::BTreeMap;
use toml::Spanned;

/// A `key = "value"` table of a `kubernetes` setting (labels, env, …).
type StringMap = Spanned<BTreeMap<String, String>>;

/// Labels paraform sets and selects on; user labels may not replace them.
const OWNED_LABELS: &[&str] = &["chain", "role", "paraId", "controller-revision-hash"];
const OWNED_PREFIXES: &[&str] = &[
    "app.kubernetes.io/",
    "paraform.io/",
    "statefulset.kubernetes.io/",
];
/// Environment variables the pod template sets itself.
const OWNED_ENV: &[&str] = &["POD_NAME", "HOST_IP"];
/// Default external-dns TTL (the chart's).
pub const DEFAULT_DNS_TTL: u32 = 300;

/// The first place a table points at (tables themselves carry no span).
fn table_loc(file: &SourceFile, k: &RawKubernetes) -> Option<Loc> {
    let spans = [
        k.node_selector.as_ref().map(Spanned::span),
        k.tolerations
            .as_ref()
            .and_then(|t| t.first())
            .map(Spanned::span),
        k.anti_affinity.as_ref().map(Spanned::span),
        k.image_pull_secrets
            .as_ref()
            .and_then(|t| t.first())
            .map(Spanned::span),
        k.service_account.as_ref().map(Spanned::span),
        k.env
            .as_ref()
            .and_then(|e| e.values().next())
            .map(Spanned::span),
        k.pod_labels.as_ref().map(Spanned::span),
        k.pod_annotations.as_ref().map(Spanned::span),
        k.service_labels.as_ref().map(Spanned::span),
        k.service_annotations.as_ref().map(Spanned::span),
        k.priority_class.as_ref().map(Spanned::span),
        k.termination_grace_period.as_ref().map(Spanned::span),
        k.ingress.as_ref().map(|i| i.host.span()),
        k.external_dns.as_ref().map(|d| d.hostname.span()),
        k.service_monitor
            .as_ref()
            .and_then(|s| s.interval.as_ref().or(s.scrape_timeout.as_ref()))
            .map(Spanned::span),
    ];
    spans
        .into_iter()
        .flatten()
        .min_by_key(|s| s.start)
        .map(|s| Loc::new(file, s))
}

/// Where to point for a table: its first spanned value, else `fallback`.
struct Place<'a> {
    file: &'a SourceFile,
    fallback: Loc,
    what: String,
}

impl Place<'_> {
    fn loc(&self, k: &RawKubernetes) -> Loc {
        table_loc(self.file, k).unwrap_or_else(|| self.fallback.clone())
    }
    fn at<T>(&self, v: &Spanned<T>) -> Loc {
        Loc::new(self.file, v.span())
    }
}

pub(crate) fn check(m: &Merged<'_>, local: bool, problems: &mut Vec<SpecDiagnostic>) {
    let mut tables = Vec::new();
    for (file, k) in &m.kubernetes {
        tables.push((
            Place {
                file,
                fallback: Loc::new(file, 0..0),
                what: "[kubernetes]".into(),
            },
            *k,
        ));
    }
    for g in &m.groups {
        if let Some(k) = &g.at.get().kubernetes {
            tables.push((
                Place {
                    file: g.at.file,
                    fallback: g.at.sub_loc(&g.at.get().name),
                    what: format!("group `{}` kubernetes", g.at.get().name.get_ref()),
                },
                k,
            ));
        }
    }
    if m.kubernetes.len() > 1 {
        let (first, second) = (&tables[0], &tables[1]);
        problems.push(
            SpecDiagnostic::new(
                "duplicate_definition",
                "[kubernetes] is defined more than once",
            )
            .at(second.0.loc(second.1), "defined again here")
            .and_at(first.0.loc(first.1), "[kubernetes] first defined here")
            .help("[kubernetes] holds the defaults of every group and may be set in one file only"),
        );
    }
    for (place, k) in &tables {
        if local {
            problems.push(
                SpecDiagnostic::new(
                    "kubernetes_only",
                    format!("{} settings apply to Kubernetes only, but this network uses the local provider", place.what),
                )
                .at(place.loc(k), "pod and Service settings")
                .help("remove the kubernetes table(s), or set provider = \"kubernetes\" (with a namespace) in [network]: local nodes are processes and have no pods or Services"),
            );
            continue;
        }
        check_table(place, k, problems);
    }
    for (file, k) in &m.kubernetes {
        if let Some(i) = &k.ingress {
            problems.push(
                SpecDiagnostic::new("bad_value", "[kubernetes] sets an ingress for every group")
                    .at(Loc::new(file, i.host.span()), "one host for all groups")
                    .help("an Ingress routes one host to one group's RPC: move `ingress` into that group's kubernetes table"),
            );
        }
    }
    for g in &m.groups {
        check_group_needs(m, g, problems);
    }
    // An Ingress's Service is `<group>-rpc`, which is also the name of a
    // group `<group>-rpc`'s headless Service.
    for g in &m.groups {
        let raw = g.at.get();
        let Some(i) = raw.kubernetes.as_ref().and_then(|k| k.ingress.as_ref()) else {
            continue;
        };
        let svc = format!("{}-rpc", raw.name.get_ref());
        if let Some(other) = m.groups.iter().find(|o| o.at.get().name.get_ref() == &svc) {
            problems.push(
                SpecDiagnostic::new(
                    "name_collision",
                    format!("the Ingress Service of group `{}` is named `{svc}`, like the group `{svc}`", raw.name.get_ref()),
                )
                .at(Loc::new(g.at.file, i.host.span()), format!("needs a Service `{svc}`"))
                .and_at(other.at.sub_loc(&other.at.get().name), "a group of that name")
                .help("rename one of the groups: their Services would be the same object"),
            );
        }
    }
}

/// Settings that need something else of the group (a p2p Service, an RPC port).
fn check_group_needs(m: &Merged<'_>, g: &GroupAt<'_>, problems: &mut Vec<SpecDiagnostic>) {
    let raw = g.at.get();
    let dns = raw
        .kubernetes
        .as_ref()
        .and_then(|k| k.external_dns.as_ref())
        .or_else(|| {
            m.kubernetes
                .first()
                .and_then(|(_, k)| k.external_dns.as_ref())
        });
    if let Some(d) = dns {
        let p2p = raw.p2p.unwrap_or(super::model::Exposure::ClusterIP);
        if !matches!(
            p2p,
            super::model::Exposure::NodePort | super::model::Exposure::LoadBalancer
        ) && raw
            .kubernetes
            .as_ref()
            .is_some_and(|k| k.external_dns.is_some())
        {
            let file = g.at.file;
            problems.push(
                SpecDiagnostic::new(
                    "bad_value",
                    format!(
                        "group `{}` sets external_dns but its p2p Services are not reachable from outside",
                        raw.name.get_ref()
                    ),
                )
                .at(Loc::new(file, d.hostname.span()), "needs p2p = \"NodePort\" or \"LoadBalancer\"")
                .help("external-dns publishes the address of a NodePort or LoadBalancer Service: set p2p accordingly, or remove external_dns"),
            );
        }
    }
}

fn bad(problems: &mut Vec<SpecDiagnostic>, at: Loc, message: String, label: &str, help: &str) {
    problems.push(
        SpecDiagnostic::new("bad_value", message)
            .at(at, label)
            .help(help),
    );
}

fn check_table(place: &Place<'_>, k: &RawKubernetes, problems: &mut Vec<SpecDiagnostic>) {
    let w = &place.what;
    for (field, map, is_label) in [
        ("node_selector", &k.node_selector, true),
        ("pod_labels", &k.pod_labels, true),
        ("service_labels", &k.service_labels, true),
        ("pod_annotations", &k.pod_annotations, false),
        ("service_annotations", &k.service_annotations, false),
    ] {
        let Some(map) = map else { continue };
        for (key, value) in map.get_ref() {
            let at = place.at(map);
            if let Err(why) = label_key(key) {
                bad(problems, at, format!("{w} {field}: `{key}` is not a valid key ({why})"), "invalid key",
                    "keys are `[prefix/]name`: name of at most 63 letters, digits, `-`, `_`, `.`, prefix a DNS subdomain");
                continue;
            }
            let owned = OWNED_LABELS.contains(&key.as_str())
                || OWNED_PREFIXES.iter().any(|p| key.starts_with(p));
            if owned && field != "node_selector" && (is_label || key.starts_with("paraform.io/")) {
                bad(problems, at, format!("{w} {field}: `{key}` is set by paraform"), "paraform owns this key",
                    "paraform sets the chart's labels (app.kubernetes.io/*, chain, role, paraId) and its own paraform.io/* keys: use another key");
                continue;
            }
            if is_label && !label_value_ok(value) {
                bad(problems, at, format!("{w} {field}: `{key} = \"{value}\"` is not a valid label value"), "invalid label value",
                    "a label value has at most 63 letters, digits, `-`, `_`, `.`, starting and ending with a letter or digit");
            }
        }
    }
    for t in k.tolerations.iter().flatten() {
        let raw: &RawToleration = t.get_ref();
        use super::model::TolerationOperator::*;
        let problem = match (raw.operator, &raw.key, &raw.value) {
            (Some(Exists), _, Some(_)) => Some("operator Exists takes no value"),
            (None | Some(Equal), None, _) => Some("operator Equal needs a key"),
            _ => None,
        };
        if let Some(why) = problem {
            bad(problems, place.at(t), format!("{w} toleration: {why}"), why,
                "a toleration is { key, operator = \"Equal\" | \"Exists\", value, effect = \"NoSchedule\" | \"PreferNoSchedule\" | \"NoExecute\", tolerationSeconds }, as in Kubernetes");
        }
        if raw.toleration_seconds.is_some_and(|s| s < 0) {
            bad(
                problems,
                place.at(t),
                format!("{w} toleration: tolerationSeconds is negative"),
                "negative seconds",
                "tolerationSeconds is a number of seconds, 0 or more",
            );
        }
    }
    for (field, v) in [("image_pull_secrets", &k.image_pull_secrets)] {
        for s in v.iter().flatten() {
            if !dns_subdomain(s.get_ref()) {
                bad(problems, place.at(s), format!("{w} {field}: `{}` is not a Secret name", s.get_ref()), "not a DNS subdomain",
                    "name Secrets of type kubernetes.io/dockerconfigjson in the namespace (lowercase letters, digits, `-`, `.`)");
            }
        }
    }
    for (field, v) in [
        ("service_account", &k.service_account),
        ("priority_class", &k.priority_class),
    ] {
        if let Some(s) = v {
            if !dns_subdomain(s.get_ref()) {
                bad(
                    problems,
                    place.at(s),
                    format!("{w} {field}: `{}` is not a valid name", s.get_ref()),
                    "not a DNS subdomain",
                    "lowercase letters, digits, `-` and `.`, at most 253 characters",
                );
            }
        }
    }
    if let Some(t) = &k.termination_grace_period {
        if !(0..=i64::from(u32::MAX)).contains(t.get_ref()) {
            bad(
                problems,
                place.at(t),
                format!(
                    "{w} termination_grace_period = {} is out of range",
                    t.get_ref()
                ),
                "seconds, 0 or more",
                "the seconds a node gets to shut down after SIGTERM (the chart's default is 60)",
            );
        }
    }
    for (name, v) in k.env.iter().flatten() {
        if let Err(why) = env_value(name, v.get_ref()) {
            bad(problems, place.at(v), format!("{w} env `{name}`: {why}"), "not an environment variable",
                "write NAME = \"value\", NAME = { secret = \"SECRET/KEY\" } or NAME = { config_map = \"CONFIGMAP/KEY\" }");
        }
    }
    for (field, v, check) in [
        (
            "affinity",
            &k.affinity,
            k8s_object::<k8s_openapi::api::core::v1::Affinity>
                as fn(&Value) -> Result<(), (String, Option<String>)>,
        ),
        (
            "security_context",
            &k.security_context,
            k8s_object::<k8s_openapi::api::core::v1::PodSecurityContext>,
        ),
    ] {
        let Some(v) = v else { continue };
        let json = serde_json::to_value(v).unwrap_or(Value::Null);
        if let Err((why, key)) = check(&json) {
            // The table has no span: point at the offending key in the text.
            let at = find_key(place, key.as_deref().unwrap_or(field))
                .or_else(|| find_key(place, field))
                .unwrap_or_else(|| place.loc(k));
            bad(problems, at, format!("{w} {field} is not a Kubernetes {}: {why}", if field == "affinity" {"Affinity"} else {"PodSecurityContext"}),
                "not a field of this Kubernetes object",
                "write it as in Kubernetes (and the chart's values): camelCase field names, e.g. affinity = { nodeAffinity = { ... } }");
        }
    }
    if let Some(i) = &k.ingress {
        check_ingress(place, i, problems);
    }
    for d in k
        .service_monitor
        .iter()
        .flat_map(|s| [&s.interval, &s.scrape_timeout])
        .flatten()
    {
        if !duration(d.get_ref()) {
            bad(
                problems,
                place.at(d),
                format!(
                    "{w} service_monitor: `{}` is not a Prometheus duration",
                    d.get_ref()
                ),
                "not a duration",
                "a number and a unit: ms, s, m or h, e.g. \"30s\"",
            );
        }
    }
    if let Some(d) = &k.external_dns {
        if !dns_name(d.hostname.get_ref()) {
            bad(problems, place.at(&d.hostname), format!("{w} external_dns hostname `{}` is not a DNS name", d.hostname.get_ref()), "not a DNS name",
                "the zone under which each pod gets `<prefix>-<index>.<hostname>`, e.g. p2p.example.org");
        }
        if let Some(p) = &d.prefix {
            if !dns_label(p.get_ref()) {
                bad(
                    problems,
                    place.at(p),
                    format!(
                        "{w} external_dns prefix `{}` is not a DNS label",
                        p.get_ref()
                    ),
                    "not a DNS label",
                    "lowercase letters, digits and `-`",
                );
            }
        }
        if let Some(t) = &d.ttl {
            if !(0..=i64::from(u32::MAX)).contains(t.get_ref()) {
                bad(
                    problems,
                    place.at(t),
                    format!("{w} external_dns ttl = {} is out of range", t.get_ref()),
                    "seconds, 0 or more",
                    "a TTL in seconds (default 300)",
                );
            }
        }
    }
}

fn check_ingress(place: &Place<'_>, i: &RawIngress, problems: &mut Vec<SpecDiagnostic>) {
    let w = &place.what;
    let host = i.host.get_ref();
    if !dns_name(host.strip_prefix("*.").unwrap_or(host)) {
        bad(
            problems,
            place.at(&i.host),
            format!("{w} ingress host `{host}` is not a DNS name"),
            "not a DNS name",
            "the host clients connect to, e.g. rpc.example.org",
        );
    }
    if let Some(s) = &i.tls_secret {
        if !dns_subdomain(s.get_ref()) {
            bad(
                problems,
                place.at(s),
                format!(
                    "{w} ingress tls_secret `{}` is not a Secret name",
                    s.get_ref()
                ),
                "not a DNS subdomain",
                "the name of a kubernetes.io/tls Secret in the namespace",
            );
        }
    }
    if let Some(p) = &i.path {
        if !p.get_ref().starts_with('/') {
            bad(
                problems,
                place.at(p),
                format!("{w} ingress path `{}` does not start with /", p.get_ref()),
                "not an absolute path",
                "a path prefix such as \"/\" (the default)",
            );
        }
    }
}

/// A Kubernetes object written in TOML: it must read as `T` and lose
/// nothing on the way (k8s-openapi ignores unknown fields; we do not).
/// The error names the problem and the key to point at.
fn k8s_object<T: serde::de::DeserializeOwned + serde::Serialize>(
    v: &Value,
) -> Result<(), (String, Option<String>)> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| (e.to_string(), None))?;
    let back = serde_json::to_value(&typed).map_err(|e| (e.to_string(), None))?;
    match first_lost(v, &back, "") {
        Some(path) => {
            let key = path
                .rsplit('.')
                .next()
                .map(|k| k.split('[').next().unwrap_or(k).to_string());
            Err((format!("unknown field `{path}`"), key))
        }
        None => Ok(()),
    }
}

/// The first `key` (as a TOML key: bare, followed by `=` or `.`) at or
/// after the table's place in its file.
fn find_key(place: &Place<'_>, key: &str) -> Option<Loc> {
    let text = place.file.text();
    let from = place.fallback.span.start;
    let mut at = from;
    while let Some(i) = text.get(at..)?.find(key) {
        let start = at + i;
        let end = start + key.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].trim_start().chars().next();
        let bare = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !bare(before) && matches!(after, Some('=' | '.')) {
            return Some(Loc::new(place.file, start..end));
        }
        at = end;
    }
    None
}

/// The path of the first value in `a` that `b` does not have.
fn first_lost(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.iter().find_map(|(k, v)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match y.get(k) {
                None => Some(p),
                Some(w) => first_lost(v, w, &p),
            }
        }),
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_lost(v, w, &format!("{path}[{i}]"))),
        _ => None,
    }
}

fn env_value(name: &str, v: &toml::Value) -> Result<EnvValue, String> {
    let name_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if !name_ok {
        return Err("not a valid variable name (letters, digits, `_`, `-`, `.`)".into());
    }
    if OWNED_ENV.contains(&name) {
        return Err("set by paraform (the pod's name and host IP)".into());
    }
    match v {
        toml::Value::String(s) => Ok(EnvValue::Value { value: s.clone() }),
        toml::Value::Table(t) => {
            let (kind, r) = match (t.len(), t.iter().next()) {
                (1, Some((k, toml::Value::String(r)))) => (k.as_str(), r),
                _ => {
                    return Err(
                        "a reference table has exactly one of `secret` or `config_map`".into(),
                    )
                }
            };
            let (obj, key) = r
                .split_once('/')
                .filter(|(o, k)| dns_subdomain(o) && !k.is_empty())
                .ok_or_else(|| format!("`{r}` is not NAME/KEY"))?;
            let (name, key) = (obj.to_string(), key.to_string());
            match kind {
                "secret" => Ok(EnvValue::Secret { name, key }),
                "config_map" => Ok(EnvValue::ConfigMap { name, key }),
                other => Err(format!("`{other}` is not `secret` or `config_map`")),
            }
        }
        _ => Err("a value is a string or a { secret | config_map = \"NAME/KEY\" } table".into()),
    }
}

/// A Prometheus duration as the chart writes them: `30s`, `1m`, `500ms`.
fn duration(s: &str) -> bool {
    let unit = ["ms", "s", "m", "h"]
        .into_iter()
        .find(|u| s.ends_with(u) && s.len() > u.len());
    unit.is_some_and(|u| s[..s.len() - u.len()].chars().all(|c| c.is_ascii_digit()))
}

fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(dns_label)
}

/// A DNS name with at least two labels.
fn dns_name(s: &str) -> bool {
    dns_subdomain(s.trim_end_matches('.')) && s.contains('.')
}

fn label_key(k: &str) -> Result<(), &'static str> {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if prefix.is_some_and(|p| !dns_subdomain(p)) {
        return Err("the prefix is not a DNS subdomain");
    }
    if name.is_empty() || !label_value_ok(name) {
        return Err("the name part is not 1-63 letters, digits, `-`, `_`, `.`");
    }
    Ok(())
}

fn label_value_ok(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric())
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
}

/// A group's settings: its own table over the network's defaults. Only
/// called on validated input (bad values were reported by `check`).
pub(crate) fn settings(
    defaults: Option<&RawKubernetes>,
    group: Option<&RawKubernetes>,
    group_name: &str,
) -> PodSettings {
    let layers: Vec<&RawKubernetes> = defaults.into_iter().chain(group).collect();
    let last = |f: &dyn Fn(&RawKubernetes) -> bool| layers.iter().rev().copied().find(|k| f(k));
    let merged_map = |f: &dyn Fn(&RawKubernetes) -> Option<&StringMap>| {
        let mut out = BTreeMap::new();
        for k in &layers {
            if let Some(m) = f(k) {
                out.extend(m.get_ref().iter().map(|(a, b)| (a.clone(), b.clone())));
            }
        }
        out
    };
    let mut env = BTreeMap::new();
    for k in &layers {
        for (name, v) in k.env.iter().flatten() {
            if let Ok(e) = env_value(name, v.get_ref()) {
                env.insert(name.clone(), e);
            }
        }
    }
    let json = |v: &toml::Value| serde_json::to_value(v).ok();
    PodSettings {
        node_selector: merged_map(&|k| k.node_selector.as_ref()),
        tolerations: last(&|k| k.tolerations.is_some())
            .and_then(|k| k.tolerations.as_ref())
            .map(|ts| {
                ts.iter()
                    .map(|t| {
                        let t = t.get_ref();
                        Toleration {
                            key: t.key.clone(),
                            operator: t.operator,
                            value: t.value.clone(),
                            effect: t.effect,
                            toleration_seconds: t.toleration_seconds,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        affinity: last(&|k| k.affinity.is_some())
            .and_then(|k| k.affinity.as_ref())
            .and_then(json),
        anti_affinity: last(&|k| k.anti_affinity.is_some())
            .and_then(|k| k.anti_affinity.as_ref())
            .map_or(AntiAffinity::None, |a| *a.get_ref()),
        image_pull_secrets: last(&|k| k.image_pull_secrets.is_some())
            .and_then(|k| k.image_pull_secrets.as_ref())
            .map(|v| v.iter().map(|s| s.get_ref().clone()).collect())
            .unwrap_or_default(),
        service_account: last(&|k| k.service_account.is_some())
            .and_then(|k| k.service_account.as_ref())
            .map(|s| s.get_ref().clone()),
        env,
        pod_labels: merged_map(&|k| k.pod_labels.as_ref()),
        pod_annotations: merged_map(&|k| k.pod_annotations.as_ref()),
        service_labels: merged_map(&|k| k.service_labels.as_ref()),
        service_annotations: merged_map(&|k| k.service_annotations.as_ref()),
        security_context: last(&|k| k.security_context.is_some())
            .and_then(|k| k.security_context.as_ref())
            .and_then(json),
        priority_class: last(&|k| k.priority_class.is_some())
            .and_then(|k| k.priority_class.as_ref())
            .map(|s| s.get_ref().clone()),
        termination_grace_period: last(&|k| k.termination_grace_period.is_some())
            .and_then(|k| k.termination_grace_period.as_ref())
            .and_then(|t| u32::try_from(*t.get_ref()).ok()),
        // An Ingress names one host: a group's own only, never a default.
        ingress: group.and_then(|k| k.ingress.as_ref()).map(|i| Ingress {
            host: i.host.get_ref().clone(),
            class: i.class.clone(),
            tls_secret: i.tls_secret.as_ref().map(|s| s.get_ref().clone()),
            path: i
                .path
                .as_ref()
                .map_or_else(|| "/".to_string(), |p| p.get_ref().clone()),
            annotations: i.annotations.clone().unwrap_or_default(),
        }),
        external_dns: last(&|k| k.external_dns.is_some())
            .and_then(|k| k.external_dns.as_ref())
            .map(|d| ExternalDns {
                hostname: d.hostname.get_ref().trim_end_matches('.').to_string(),
                prefix: d
                    .prefix
                    .as_ref()
                    .map_or_else(|| group_name.to_string(), |p| p.get_ref().clone()),
                ttl: d
                    .ttl
                    .as_ref()
                    .and_then(|t| u32::try_from(*t.get_ref()).ok())
                    .unwrap_or(DEFAULT_DNS_TTL),
            }),
        service_monitor: last(&|k| k.service_monitor.is_some())
            .and_then(|k| k.service_monitor.as_ref())
            .map(|s| {
                let or = |v: &Option<Spanned<String>>, d: &str| {
                    v.as_ref()
                        .map_or_else(|| d.to_string(), |v| v.get_ref().clone())
                };
                ServiceMonitor {
                    interval: or(&s.interval, "30s"),
                    scrape_timeout: or(&s.scrape_timeout, "10s"),
                }
            }),
    }
}
