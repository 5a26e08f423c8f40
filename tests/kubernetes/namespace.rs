//! A namespace of its own for each test (labelled `paraform.io/test`) and
//! a network directory, shared by the apiserver-only and the pod tests.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::Client;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub struct TestNamespace {
    pub name: String,
    /// Holds `net_dir`; removed on drop.
    pub dir: tempfile::TempDir,
    pub net_dir: PathBuf,
}

/// Create `<prefix>-<test>-<suffix>` (at most 63 characters) and an empty
/// network directory.
pub async fn create(client: &Client, prefix: &str, test: &str) -> TestNamespace {
    let suffix = {
        use std::time::{SystemTime, UNIX_EPOCH};
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!("{:06x}", (n ^ std::process::id()) & 0xff_ffff)
    };
    let stem: String = format!("{prefix}-{}", test.replace('_', "-"))
        .chars()
        .take(63 - 7)
        .collect();
    let name = format!("{}-{suffix}", stem.trim_end_matches('-'));
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"paraform.io/test": "true"}}
    }))
    .expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create the test namespace");
    let dir = tempfile::tempdir().expect("tempdir");
    let net_dir = dir.path().join("net");
    std::fs::create_dir_all(&net_dir).expect("net dir");
    TestNamespace { name, dir, net_dir }
}

/// Delete the namespace (best effort; a failed test leaves it for inspection).
pub async fn delete(client: &Client, name: &str) {
    let _ = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::background())
        .await;
}

/// What paraform wrote, by `Kind/name`: resourceVersion, or for
/// StatefulSets generation and paraform's managedFields entry.
#[allow(dead_code)] // not every crate that includes this module compares objects
pub async fn written(client: &Client, namespace: &str, selector: &str) -> BTreeMap<String, String> {
    let lp = ListParams::default().labels(selector);
    let mut out = BTreeMap::new();
    macro_rules! add {
        ($t:ty, $k:literal) => {
            for o in Api::<$t>::namespaced(client.clone(), namespace)
                .list(&lp)
                .await
                .expect("list")
                .items
            {
                out.insert(
                    format!("{}/{}", $k, o.metadata.name.unwrap_or_default()),
                    o.metadata.resource_version.unwrap_or_default(),
                );
            }
        };
    }
    // The StatefulSet controller writes status (bumping resourceVersion) on
    // its own schedule; what paraform writes shows in the generation and in
    // the timestamp of paraform's managedFields entry.
    for o in Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .list(&lp)
        .await
        .expect("list")
        .items
    {
        let ours = o
            .metadata
            .managed_fields
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f.manager.as_deref() == Some("paraform"))
            .map(|f| format!("{:?}@{:?}", f.operation, f.time.map(|t| t.0)))
            .collect::<Vec<_>>();
        out.insert(
            format!("StatefulSet/{}", o.metadata.name.unwrap_or_default()),
            format!("generation {:?}, paraform {ours:?}", o.metadata.generation),
        );
    }
    add!(Service, "Service");
    add!(Secret, "Secret");
    add!(ConfigMap, "ConfigMap");
    out
}
