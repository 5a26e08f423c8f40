//! Server-side apply of rendered manifests (field manager `paraform`),
//! server dry-runs for plan diffs, and pruning that only ever touches
//! objects carrying paraform's ownership labels for this network.

use super::manifests::{
    Kind, Manifest, FIELD_MANAGER, LABEL_MANAGED_BY, LABEL_NETWORK, MANAGED_BY,
};
use crate::spec::ids::NetworkName;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::Client;
use serde_json::Value;
use std::collections::BTreeSet;

#[derive(Debug, thiserror::Error)]
pub enum SsaError {
    #[error("{id}: another field manager owns fields paraform wants to set ({message}). Let paraform take them over with --force-conflicts, or remove them from the other tool")]
    Conflict { id: String, message: String },
    #[error("{id} exists and is not paraform's for the network {network} ({why}); paraform never changes objects it does not own: rename the group or remove that object")]
    Foreign {
        id: String,
        network: String,
        why: String,
    },
    #[error("the API server rejected {id}: {message}")]
    Invalid { id: String, message: String },
    #[error("{id}: {source}")]
    Api {
        id: String,
        #[source]
        source: kube::Error,
    },
}

impl SsaError {
    fn from_kube(id: String, e: kube::Error) -> Self {
        match e {
            kube::Error::Api(r) if r.code == 409 && r.reason == "Conflict" => SsaError::Conflict {
                id,
                message: r.message,
            },
            kube::Error::Api(r) if r.code == 422 || r.code == 400 => SsaError::Invalid {
                id,
                message: r.message,
            },
            other => SsaError::Api { id, source: other },
        }
    }

    /// An immutable field (of a StatefulSet: selector, volumeClaimTemplates, …) changed.
    pub fn is_immutable_change(&self) -> bool {
        matches!(self, SsaError::Invalid { message, .. } if message.contains("Forbidden: updates to statefulset spec"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    Created,
    Updated,
    Unchanged,
}

/// The `ApiResource` of a kind paraform renders.
pub fn api_resource(kind: Kind) -> ApiResource {
    use k8s_openapi::api::{apps::v1::StatefulSet, core::v1};
    match kind {
        Kind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        Kind::Service => ApiResource::erase::<v1::Service>(&()),
        Kind::Secret => ApiResource::erase::<v1::Secret>(&()),
        Kind::ConfigMap => ApiResource::erase::<v1::ConfigMap>(&()),
        Kind::Ingress => ApiResource::erase::<k8s_openapi::api::networking::v1::Ingress>(&()),
        Kind::ServiceMonitor => ApiResource {
            group: "monitoring.coreos.com".into(),
            version: "v1".into(),
            api_version: "monitoring.coreos.com/v1".into(),
            kind: "ServiceMonitor".into(),
            plural: "servicemonitors".into(),
        },
    }
}

/// One object's planned change, as the server would make it.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectDiff {
    pub id: String,
    pub change: DiffKind,
    /// Unified diff of the live object and the server's dry-run result
    /// (both stripped of bookkeeping); values of Secrets are masked.
    pub diff: String,
    /// The fields that differ, as paths (`spec.replicas`,
    /// `spec.template.spec.containers[node].env`); empty unless updated.
    pub fields: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffKind {
    Create,
    Update,
    NoChange,
    /// Not rendered for this cluster (e.g. its CRD is not installed); the
    /// diff text says why. Not a change.
    Skipped,
}

pub struct Applier {
    client: Client,
    namespace: String,
    network: NetworkName,
    /// Take over fields other managers own (kubectl's `--force-conflicts`).
    pub force_conflicts: bool,
}

impl Applier {
    pub fn new(client: Client, namespace: impl Into<String>, network: NetworkName) -> Self {
        Applier {
            client,
            namespace: namespace.into(),
            network,
            force_conflicts: false,
        }
    }

    fn api(&self, kind: Kind) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &api_resource(kind))
    }

    fn id(&self, m: &Manifest) -> String {
        format!("{}/{}/{}", m.kind, self.namespace, m.name)
    }

    /// Whether a live object is paraform's for this network.
    pub fn owned(&self, obj: &DynamicObject) -> Result<(), String> {
        let labels = obj.metadata.labels.as_ref();
        let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
        match (get(LABEL_MANAGED_BY), get(LABEL_NETWORK)) {
            (Some(MANAGED_BY), Some(n)) if n == self.network.as_str() => Ok(()),
            (Some(MANAGED_BY), Some(n)) => Err(format!("it belongs to paraform's network {n}")),
            (Some(m), _) => Err(format!("it is managed by {m}")),
            (None, _) => Err("it has no paraform ownership labels".into()),
        }
    }

    /// The live object, after checking that it is ours (404 → `None`).
    async fn get_owned(&self, m: &Manifest) -> Result<Option<DynamicObject>, SsaError> {
        let live = self
            .api(m.kind)
            .get_opt(&m.name)
            .await
            .map_err(|e| SsaError::from_kube(self.id(m), e))?;
        if let Some(obj) = &live {
            self.owned(obj).map_err(|why| SsaError::Foreign {
                id: self.id(m),
                network: self.network.to_string(),
                why,
            })?;
        }
        Ok(live)
    }

    fn params(&self, dry_run: bool) -> PatchParams {
        let mut pp = PatchParams::apply(FIELD_MANAGER);
        if self.force_conflicts {
            pp = pp.force();
        }
        pp.dry_run = dry_run;
        pp
    }

    /// Server-side apply one object. Never touches an object that is not paraform's.
    pub async fn apply(&self, m: &Manifest) -> Result<ApplyOutcome, SsaError> {
        let live = self.get_owned(m).await?;
        let before = live
            .as_ref()
            .and_then(|o| o.metadata.resource_version.clone());
        let after = self
            .api(m.kind)
            .patch(&m.name, &self.params(false), &Patch::Apply(&m.object))
            .await
            .map_err(|e| SsaError::from_kube(self.id(m), e))?;
        // Controllers write status (and so bump resourceVersion) at any
        // time: compare what paraform and users own, not the version.
        Ok(match live {
            None => ApplyOutcome::Created,
            Some(_) if before == after.metadata.resource_version => ApplyOutcome::Unchanged,
            Some(old)
                if comparable(&to_value(&old), false) == comparable(&to_value(&after), false) =>
            {
                ApplyOutcome::Unchanged
            }
            Some(_) => ApplyOutcome::Updated,
        })
    }

    /// What the server would make of the object (`dryRun=All`): defaults,
    /// admission and validation included; nothing is persisted.
    pub async fn dry_run(
        &self,
        m: &Manifest,
    ) -> Result<(Option<DynamicObject>, DynamicObject), SsaError> {
        let live = self.get_owned(m).await?;
        let would = self
            .api(m.kind)
            .patch(&m.name, &self.params(true), &Patch::Apply(&m.object))
            .await
            .map_err(|e| SsaError::from_kube(self.id(m), e))?;
        Ok((live, would))
    }

    /// A plan diff of one object: live vs. the server's dry-run result.
    pub async fn diff(&self, m: &Manifest) -> Result<ObjectDiff, SsaError> {
        let (live, would) = self.dry_run(m).await?;
        let old = live.map(|o| comparable_value(&to_value(&o), m.sensitive));
        let new = comparable_value(&to_value(&would), m.sensitive);
        let change = match &old {
            None => DiffKind::Create,
            Some(old) if *old == new => DiffKind::NoChange,
            Some(_) => DiffKind::Update,
        };
        let (diff, fields) = match (&old, change) {
            (_, DiffKind::NoChange) => (String::new(), vec![]),
            (old, _) => {
                let old_text = old.as_ref().map(pretty).unwrap_or_default();
                let diff = similar::TextDiff::from_lines(&old_text, &pretty(&new))
                    .unified_diff()
                    .context_radius(3)
                    .header("live", "planned")
                    .to_string();
                let fields = old
                    .as_ref()
                    .map(|o| changed_fields(o, &new))
                    .unwrap_or_default();
                (diff, fields)
            }
        };
        Ok(ObjectDiff {
            id: self.id(m),
            change,
            diff,
            fields,
        })
    }

    /// Delete every object of `kinds` matching `selector` that is not in
    /// `keep` (kind, name). Each candidate is re-checked for paraform's
    /// ownership labels before deletion. Returns the deleted ids.
    pub async fn prune(
        &self,
        selector: &str,
        keep: &BTreeSet<(Kind, String)>,
    ) -> Result<Vec<String>, SsaError> {
        let mut deleted = Vec::new();
        for kind in Kind::ALL.into_iter().rev() {
            let api = self.api(kind);
            let list = match api.list(&ListParams::default().labels(selector)).await {
                Ok(l) => l,
                // A CRD kind the cluster does not serve has nothing to prune.
                Err(kube::Error::Api(r)) if r.code == 404 && kind == Kind::ServiceMonitor => {
                    continue
                }
                Err(e) => return Err(SsaError::from_kube(format!("{kind} list"), e)),
            };
            for obj in list.items {
                let Some(name) = obj.metadata.name.clone() else {
                    continue;
                };
                if keep.contains(&(kind, name.clone())) || self.owned(&obj).is_err() {
                    continue;
                }
                let id = format!("{kind}/{}/{name}", self.namespace);
                // Pods are left to the StatefulSet's garbage collection.
                let dp = DeleteParams::background();
                match api.delete(&name, &dp).await {
                    Ok(_) => deleted.push(id),
                    Err(kube::Error::Api(r)) if r.code == 404 => {}
                    Err(e) => return Err(SsaError::from_kube(id, e)),
                }
            }
        }
        Ok(deleted)
    }

    /// Delete a StatefulSet but keep its pods and volumes (they are adopted
    /// by the re-created StatefulSet): how an immutable field is changed.
    pub async fn orphan_delete(&self, kind: Kind, name: &str) -> Result<(), SsaError> {
        let id = format!("{kind}/{}/{name}", self.namespace);
        match self.api(kind).delete(name, &DeleteParams::orphan()).await {
            Ok(_) => {}
            Err(kube::Error::Api(r)) if r.code == 404 => return Ok(()),
            Err(e) => return Err(SsaError::from_kube(id, e)),
        }
        // Wait until it is gone, so the re-apply creates rather than patches.
        for _ in 0..100 {
            match self.api(kind).get_opt(name).await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                Err(e) => return Err(SsaError::from_kube(id, e)),
            }
        }
        Err(SsaError::Invalid {
            id,
            message: "still present 10 s after deletion".into(),
        })
    }
}

fn to_value(o: &DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

/// The parts of an object a plan diff shows: without server bookkeeping
/// (managedFields, resourceVersion, uid, timestamps, status) and with
/// Secret values masked. Pretty JSON with sorted keys, one field per line.
pub fn comparable(obj: &Value, sensitive: bool) -> String {
    pretty(&comparable_value(obj, sensitive))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// Paths of the fields that differ between two objects, in key order; list
/// items that carry a `name` (containers, env,
/// ports, volumes) are matched by it (`containers[node]`), other lists are
/// named as a whole. At most [`MAX_FIELDS`] paths, then a count of the rest.
pub fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_changes(old, new, String::new(), &mut out);
    if out.len() > MAX_FIELDS {
        let more = out.len() - MAX_FIELDS;
        out.truncate(MAX_FIELDS);
        out.push(format!("{more} more"));
    }
    out
}

const MAX_FIELDS: usize = 5;

fn walk_changes(old: &Value, new: &Value, path: String, out: &mut Vec<String>) {
    if old == new {
        return;
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    let named = |v: &Value| -> Option<Vec<(String, Value)>> {
        v.as_array()?
            .iter()
            .map(|i| Some((i.get("name")?.as_str()?.to_string(), i.clone())))
            .collect()
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let (x, y) = (a.get(k), b.get(k));
                match (x, y) {
                    (Some(x), Some(y)) => walk_changes(x, y, join(k), out),
                    _ if x != y => out.push(join(k)),
                    _ => {}
                }
            }
        }
        (Value::Array(_), Value::Array(_)) => match (named(old), named(new)) {
            (Some(a), Some(b)) => {
                let names: BTreeSet<&String> = a.iter().chain(&b).map(|(n, _)| n).collect();
                for n in names {
                    let find = |l: &[(String, Value)]| {
                        l.iter().find(|(m, _)| m == n).map(|(_, v)| v.clone())
                    };
                    let item = format!("{path}[{n}]");
                    match (find(&a), find(&b)) {
                        (Some(x), Some(y)) => walk_changes(&x, &y, item, out),
                        _ => out.push(item),
                    }
                }
            }
            _ => out.push(path),
        },
        _ => out.push(path),
    }
}

/// [`comparable`] as a value.
pub fn comparable_value(obj: &Value, sensitive: bool) -> Value {
    let mut v = obj.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "selfLink",
        ] {
            meta.remove(k);
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    if sensitive {
        for field in ["data", "stringData"] {
            if let Some(data) = v.get_mut(field).and_then(Value::as_object_mut) {
                for (_, val) in data.iter_mut() {
                    // A digest shows that a value changed without showing it.
                    use sha2::{Digest, Sha256};
                    let d = Sha256::digest(val.to_string().as_bytes());
                    *val = Value::String(format!("(sensitive, sha256 {})", hex::encode(&d[..6])));
                }
            }
        }
    }
    sorted(v)
}

/// Keys in sorted order at every level (whatever serde_json's map type is).
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comparable_strips_bookkeeping_and_masks_secrets() {
        let obj = json!({
            "kind": "Secret",
            "metadata": {"name": "x", "resourceVersion": "7", "uid": "u", "managedFields": [{}]},
            "data": {"validator-0": "c2VjcmV0"},
            "status": {"x": 1},
        });
        let s = comparable(&obj, true);
        assert!(
            !s.contains("resourceVersion") && !s.contains("managedFields") && !s.contains("status")
        );
        assert!(!s.contains("c2VjcmV0"), "{s}");
        assert!(s.contains("(sensitive, sha256 "));
        let plain = comparable(&obj, false);
        assert!(plain.contains("c2VjcmV0"));
    }

    #[test]
    fn changed_fields_name_the_edited_paths() {
        let live = json!({
            "metadata": {"name": "rpc", "labels": {"a": "1"}},
            "spec": {"replicas": 0, "template": {"spec": {"containers": [
                {"name": "node", "image": "edited", "args": ["--x"],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
            ]}}}
        });
        let planned = json!({
            "metadata": {"name": "rpc", "labels": {"a": "1"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "node", "image": "polkadot", "args": ["--y"],
                 "env": [{"name": "A", "value": "1"}]}
            ]}}}
        });
        assert_eq!(
            changed_fields(&live, &planned),
            vec![
                "spec.replicas",
                "spec.template.spec.containers[node].args",
                "spec.template.spec.containers[node].env[B]",
                "spec.template.spec.containers[node].image",
            ]
        );
        assert!(changed_fields(&live, &live).is_empty());
        let many_old = json!({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "g": 1});
        let many_new = json!({"a": 2, "b": 2, "c": 2, "d": 2, "e": 2, "f": 2, "g": 2});
        assert_eq!(
            changed_fields(&many_old, &many_new),
            vec!["a", "b", "c", "d", "e", "2 more"]
        );
    }
}
