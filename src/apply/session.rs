//! The pieces an invocation works with, by provider: the provider itself,
//! the state store (lock + journal) and, for commands that change the
//! chain, the live chain. Local: processes and files under
//! `.paraform/<net>/`. Kubernetes: the network's namespace, a Lease lock and
//! a state ConfigMap, reached with the user's kubeconfig.

use super::live::LiveChain;
use crate::observe::live::relay_preference;
use crate::provider::kubernetes::{self, KubernetesOptions, KubernetesProvider};
use crate::provider::local::LocalProvider;
use crate::provider::{Provider, ProviderError};
use crate::spec::model::{Desired, ProviderKind};
use crate::spec::secrets::SecretError;
use crate::spec::SecretRef;
use crate::state::kubernetes::KubernetesStateStore;
use crate::state::local::LocalStateStore;
use crate::state::{StateError, StateStore};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How to reach a cluster (kubectl's flags), for kubernetes networks.
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// Default: `KUBECONFIG`, `~/.kube/config`, else the in-cluster account.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Reach node RPCs through Service DNS (running inside the cluster)
    /// instead of port-forwards through the API server.
    pub in_cluster: bool,
    /// Take over fields another field manager owns.
    pub force_conflicts: bool,
    /// Trust the pods' readiness (their probes) and skip paraform's own
    /// RPC health check through port-forwards.
    pub pod_readiness_only: bool,
}

pub enum Backend {
    Local(Arc<LocalProvider>),
    Kubernetes {
        provider: Arc<KubernetesProvider>,
        client: kube::Client,
        namespace: String,
    },
}

pub struct Session {
    pub provider: Arc<dyn Provider>,
    pub backend: Backend,
    pub store: Box<dyn StateStore>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    State(#[from] StateError),
}

impl Session {
    /// Open the network's provider and state store. Kubernetes: reads the
    /// kubeconfig; the API server is first contacted by the first request.
    pub async fn open(desired: &Desired, cluster: &ClusterOptions) -> Result<Self, SessionError> {
        match &desired.provider {
            ProviderKind::Local => {
                let provider = Arc::new(LocalProvider::for_network(desired));
                let store = LocalStateStore::new(
                    provider.layout().root().to_path_buf(),
                    desired.network.as_str(),
                );
                Ok(Session {
                    provider: provider.clone(),
                    backend: Backend::Local(provider),
                    store: Box::new(store),
                })
            }
            ProviderKind::Kubernetes { namespace } => {
                let config = kubernetes::load_config(
                    cluster.kubeconfig.as_deref(),
                    cluster.context.as_deref(),
                    cluster.in_cluster,
                )
                .await?;
                let server = config.cluster_url.to_string();
                let client =
                    kube::Client::try_from(config.clone()).map_err(|e| ProviderError::Command {
                        command: format!("connect to the Kubernetes API at {server}"),
                        reason: e.to_string(),
                    })?;
                // One cheap request first, so an unreachable or refusing
                // cluster is one clear error naming it, whatever the command.
                client
                    .apiserver_version()
                    .await
                    .map_err(|e| ProviderError::Command {
                        command: format!("reach the Kubernetes API at {server}"),
                        reason: format!(
                            "{e} (check --kubeconfig / --context / KUBECONFIG, and that the cluster is up)"
                        ),
                    })?;
                let options = KubernetesOptions {
                    force_conflicts: cluster.force_conflicts,
                    in_cluster: cluster.in_cluster,
                    rpc_health: !cluster.pod_readiness_only,
                    ..Default::default()
                };
                let provider = Arc::new(KubernetesProvider::new(desired, client.clone(), options)?);
                let store =
                    KubernetesStateStore::new(config, namespace.clone(), desired.network.as_str())?
                        .with_lease(Duration::from_secs(60), Duration::from_secs(15));
                Ok(Session {
                    provider: provider.clone(),
                    backend: Backend::Kubernetes {
                        provider,
                        client,
                        namespace: namespace.clone(),
                    },
                    store: Box::new(store),
                })
            }
        }
    }

    /// Resolve a secret reference; `k8s:` ones from the network's namespace.
    pub async fn resolve_secret(
        &self,
        reference: &SecretRef,
        base_dir: &Path,
    ) -> Result<SecretString, SecretError> {
        match &self.backend {
            Backend::Kubernetes {
                client, namespace, ..
            } => kubernetes::secrets::resolve(client, namespace, reference, base_dir).await,
            Backend::Local(_) => crate::spec::secrets::resolve(reference, base_dir),
        }
    }

    /// The live chain, through this session's provider.
    pub fn chain(
        &self,
        desired: &Desired,
        sudo: Option<SecretString>,
        root: Option<SecretString>,
    ) -> LiveChain {
        LiveChain::new(self.provider.clone(), relay_preference(desired), sudo, root)
            .with_para_nodes(super::live::para_preference(desired))
            .with_derived_keys(super::live::derived_key_nodes(desired))
    }

    pub fn kubernetes(&self) -> Option<&KubernetesProvider> {
        match &self.backend {
            Backend::Kubernetes { provider, .. } => Some(provider),
            Backend::Local(_) => None,
        }
    }

    /// Where to look next, printed after an apply.
    pub fn hints(&self) -> String {
        match &self.backend {
            Backend::Local(p) => format!(
                "Node logs: {}/nodes/<node>/node.log",
                p.layout().root().display()
            ),
            Backend::Kubernetes { namespace, .. } => format!(
                "Pods: kubectl -n {namespace} get pods -l app.kubernetes.io/managed-by=paraform; \
                 logs: kubectl -n {namespace} logs <node>"
            ),
        }
    }
}
