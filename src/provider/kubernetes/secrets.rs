//! `k8s:SECRET/KEY` references of a kubernetes network, read from its
//! namespace with the CLI's own credentials (RBAC: `get` on that Secret).
//! The value goes straight into a `SecretString`; errors never carry it.

use crate::spec::secrets::{from_value, SecretError};
use crate::spec::SecretRef;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::Client;
use secrecy::SecretString;

/// Resolve `reference` — `k8s:` from the cluster, anything else locally.
pub async fn resolve(
    client: &Client,
    namespace: &str,
    reference: &SecretRef,
    base_dir: &std::path::Path,
) -> Result<SecretString, SecretError> {
    let SecretRef::K8s { secret, key } = reference else {
        return crate::spec::secrets::resolve(reference, base_dir);
    };
    let label = reference.to_string();
    let unreadable = |reason: String| SecretError::K8sUnreadable {
        reference: label.clone(),
        reason,
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let found = tokio::time::timeout(std::time::Duration::from_secs(30), api.get_opt(secret))
        .await
        .map_err(|_| unreadable("the API server did not answer within 30 s".into()))?
        .map_err(|e| unreadable(e.to_string()))?;
    let Some(found) = found else {
        return Err(unreadable(format!(
            "no Secret {secret} in namespace {namespace}; create it with: \
             kubectl -n {namespace} create secret generic {secret} --from-literal={key}=…"
        )));
    };
    let bytes = found
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.clone())
        .or_else(|| {
            found
                .string_data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|s| s.clone().into_bytes())
        })
        .ok_or_else(|| {
            let keys: Vec<String> = found
                .data
                .as_ref()
                .map(|d| d.keys().cloned().collect())
                .unwrap_or_default();
            unreadable(format!(
                "the Secret {namespace}/{secret} has no key {key} (keys: {})",
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            ))
        })?;
    let value = String::from_utf8(bytes).map_err(|_| SecretError::FileNotUtf8 {
        reference: label.clone(),
    })?;
    from_value(label, value)
}
