//! Observation: one LIST per kind (StatefulSets, Pods, Services, Secrets,
//! ConfigMaps) per network (label selector), turned into
//! `ObservedWorkload`s; rollout readiness of a StatefulSet from its status.

use super::manifests::{network_selector, ANN_ACCOUNTS, ANN_SPEC, ANN_SPEC_HASH, LABEL_GROUP};
use super::ssa::comparable;
use crate::observe::model::{ObservedNodeProcess, ObservedWorkload};
use crate::spec::ids::{AccountId, GroupName, NetworkName, NodeName};
use crate::spec::workload::WorkloadSpec;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use kube::api::{Api, ListParams};
use kube::Client;
use std::collections::BTreeMap;

/// Everything paraform owns in a network, as listed (five requests).
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub statefulsets: Vec<StatefulSet>,
    pub pods: Vec<Pod>,
    /// Services, Secrets and ConfigMaps, as JSON with their `kind`: only
    /// digested (Secret values masked first), so a saved plan notices an
    /// object edited after it was made.
    pub objects: Vec<serde_json::Value>,
}

pub async fn list(
    client: &Client,
    namespace: &str,
    network: &NetworkName,
) -> Result<Listing, kube::Error> {
    let lp = ListParams::default().labels(&network_selector(network));
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let svcs: Api<Service> = Api::namespaced(client.clone(), namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let (s, p, sv, se, cm) = futures::try_join!(
        sts.list(&lp),
        pods.list(&lp),
        svcs.list(&lp),
        secrets.list(&lp),
        cms.list(&lp)
    )?;
    let mut objects = Vec::new();
    objects.extend(sv.items.iter().map(|o| with_kind("Service", o)));
    objects.extend(se.items.iter().map(|o| with_kind("Secret", o)));
    objects.extend(cm.items.iter().map(|o| with_kind("ConfigMap", o)));
    Ok(Listing {
        statefulsets: s.items,
        pods: p.items,
        objects,
    })
}

fn with_kind(kind: &str, o: &impl serde::Serialize) -> serde_json::Value {
    let mut v = serde_json::to_value(o).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("kind".into(), kind.into());
    }
    v
}

/// A digest of a group's objects as they stand (bookkeeping stripped,
/// Secret values masked): any edit of one changes it.
fn objects_digest(sts: &StatefulSet, group: &str, objects: &[serde_json::Value]) -> String {
    use sha2::{Digest, Sha256};
    let mut parts: Vec<(String, String, String)> = objects
        .iter()
        .filter(|o| o["metadata"]["labels"][LABEL_GROUP].as_str() == Some(group))
        .map(|o| {
            let kind = o["kind"].as_str().unwrap_or_default().to_string();
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let body = comparable(o, kind == "Secret");
            (kind, name, body)
        })
        .collect();
    parts.push((
        "StatefulSet".into(),
        String::new(),
        comparable(&with_kind("StatefulSet", sts), false),
    ));
    parts.sort();
    let mut h = Sha256::new();
    for (kind, name, body) in &parts {
        h.update(kind.as_bytes());
        h.update(b"/");
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update(body.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// Pure: the workloads of a listing. Accounts recorded on the StatefulSet
/// win; `accounts` (known to the caller) fills the rest.
pub fn workloads(
    listing: &Listing,
    accounts: &BTreeMap<NodeName, AccountId>,
) -> BTreeMap<GroupName, ObservedWorkload> {
    let mut out = BTreeMap::new();
    for sts in &listing.statefulsets {
        let meta = &sts.metadata;
        let Some(name) = meta.name.clone() else {
            continue;
        };
        let group = GroupName::new(
            meta.labels
                .as_ref()
                .and_then(|l| l.get(LABEL_GROUP))
                .cloned()
                .unwrap_or_else(|| name.clone()),
        );
        let ann = meta.annotations.clone().unwrap_or_default();
        let spec: Option<WorkloadSpec> =
            ann.get(ANN_SPEC).and_then(|s| serde_json::from_str(s).ok());
        let recorded: BTreeMap<String, String> = ann
            .get(ANN_ACCOUNTS)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let replicas = sts
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1)
            .max(0) as u32;
        let ready = sts
            .status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0)
            .max(0) as u32;

        // Pods of this StatefulSet that exist, plus the ones it should have.
        let prefix = format!("{name}-");
        let mut nodes: BTreeMap<u32, ObservedNodeProcess> = BTreeMap::new();
        for pod in &listing.pods {
            let Some(pn) = pod.metadata.name.as_deref() else {
                continue;
            };
            let Some(idx) = pn.strip_prefix(&prefix).and_then(|i| i.parse::<u32>().ok()) else {
                continue;
            };
            let running = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|p| p == "Running")
                && pod.metadata.deletion_timestamp.is_none();
            nodes.insert(
                idx,
                ObservedNodeProcess {
                    name: NodeName::new(pn),
                    running,
                    account: None,
                },
            );
        }
        for i in 0..replicas {
            nodes.entry(i).or_insert_with(|| ObservedNodeProcess {
                name: NodeName::of(&GroupName::new(name.clone()), i),
                running: false,
                account: None,
            });
        }
        let nodes: Vec<ObservedNodeProcess> = nodes
            .into_values()
            .map(|mut n| {
                n.account = recorded
                    .get(n.name.as_str())
                    .and_then(|a| a.parse::<AccountId>().ok())
                    .or_else(|| accounts.get(&n.name).cloned());
                n
            })
            .collect();
        let objects_digest = Some(objects_digest(sts, group.as_str(), &listing.objects));
        out.insert(
            group.clone(),
            ObservedWorkload {
                group,
                spec_hash: ann.get(ANN_SPEC_HASH).cloned().unwrap_or_default(),
                spec,
                generation: meta.generation.unwrap_or(0).max(0) as u64,
                nodes,
                replicas,
                ready_replicas: ready,
                out_of_sync: vec![],
                objects_digest,
            },
        );
    }
    out
}

/// Rollout state of a StatefulSet, as `kubectl rollout status` judges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rollout {
    Done,
    Progressing(String),
}

pub fn rollout(sts: &StatefulSet) -> Rollout {
    let generation = sts.metadata.generation.unwrap_or(0);
    let replicas = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(st) = &sts.status else {
        return Rollout::Progressing("no status yet".into());
    };
    if st.observed_generation.unwrap_or(0) < generation {
        return Rollout::Progressing(format!(
            "controller has not seen generation {generation} yet"
        ));
    }
    let ready = st.ready_replicas.unwrap_or(0);
    if ready < replicas {
        return Rollout::Progressing(format!("{ready}/{replicas} pods ready"));
    }
    let updated = st.updated_replicas.unwrap_or(0);
    if updated < replicas {
        return Rollout::Progressing(format!("{updated}/{replicas} pods updated"));
    }
    if let (Some(cur), Some(upd)) = (&st.current_revision, &st.update_revision) {
        if cur != upd {
            return Rollout::Progressing(format!("revision {upd} rolling out (current {cur})"));
        }
    }
    Rollout::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{StatefulSetSpec, StatefulSetStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn sts(gen: i64, replicas: i32, status: StatefulSetStatus) -> StatefulSet {
        StatefulSet {
            metadata: ObjectMeta {
                name: Some("validator".into()),
                generation: Some(gen),
                ..Default::default()
            },
            spec: Some(StatefulSetSpec {
                replicas: Some(replicas),
                ..Default::default()
            }),
            status: Some(status),
        }
    }

    #[test]
    fn rollout_requires_generation_ready_updated_and_one_revision() {
        let done = StatefulSetStatus {
            observed_generation: Some(2),
            replicas: 3,
            ready_replicas: Some(3),
            updated_replicas: Some(3),
            current_revision: Some("r2".into()),
            update_revision: Some("r2".into()),
            ..Default::default()
        };
        assert_eq!(rollout(&sts(2, 3, done.clone())), Rollout::Done);
        let stale = StatefulSetStatus {
            observed_generation: Some(1),
            ..done.clone()
        };
        assert!(
            matches!(rollout(&sts(2, 3, stale)), Rollout::Progressing(m) if m.contains("generation 2"))
        );
        let not_ready = StatefulSetStatus {
            ready_replicas: Some(2),
            ..done.clone()
        };
        assert!(
            matches!(rollout(&sts(2, 3, not_ready)), Rollout::Progressing(m) if m == "2/3 pods ready")
        );
        let rolling = StatefulSetStatus {
            current_revision: Some("r1".into()),
            ..done
        };
        assert!(
            matches!(rollout(&sts(2, 3, rolling)), Rollout::Progressing(m) if m.contains("r2"))
        );
    }

    #[test]
    fn workloads_list_missing_pods_as_not_running() {
        let mut s = sts(1, 2, StatefulSetStatus::default());
        s.metadata.annotations = Some(
            [(ANN_SPEC_HASH.to_string(), "abc".to_string())]
                .into_iter()
                .collect(),
        );
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("validator-1".into()),
                ..Default::default()
            },
            status: Some(k8s_openapi::api::core::v1::PodStatus {
                phase: Some("Running".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let listing = Listing {
            statefulsets: vec![s],
            pods: vec![pod],
            objects: vec![],
        };
        let w = workloads(&listing, &BTreeMap::new());
        let v = &w[&GroupName::new("validator")];
        assert_eq!(v.spec_hash, "abc");
        assert_eq!(v.replicas, 2);
        let names: Vec<_> = v
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.running))
            .collect();
        assert_eq!(names, vec![("validator-0", false), ("validator-1", true)]);
    }
}
