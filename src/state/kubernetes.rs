//! Kubernetes state backend: the lock is a `coordination.k8s.io/v1` Lease
//! `paraform-<net>`, the state a ConfigMap `paraform-state-<net>`.
//!
//! - **Lock**: `spec.holderIdentity` is the lock id, the holder's
//!   [`LockInfo`] is the annotation `paraform.io/holder`. Taking it is a
//!   compare-and-swap on the Lease's `resourceVersion`: of two contenders
//!   exactly one write succeeds. A held lease is renewed every
//!   `renew_every`; a lease not renewed for `leaseDurationSeconds` has
//!   expired and may be taken over (a crashed CI job does not block the
//!   network for longer than that).
//! - **Fencing**: every acquisition increments a generation, kept in the
//!   Lease (`spec.leaseTransitions`) and written to the state ConfigMap
//!   (annotation `paraform.io/fencing-generation`) before the lock is
//!   handed out. A save is a compare-and-swap on the ConfigMap that also
//!   requires the ConfigMap's generation to equal the saver's, so a holder
//!   whose lease was taken over can never overwrite the new holder's state,
//!   even if its renewal task has not noticed yet.
//! - Expiry is judged against `renewTime` with this machine's clock; keep
//!   clocks in sync (NTP) and leases far longer than the skew.

use super::{LockGuard, LockInfo, State, StateError, StateStore, STATE_FORMAT};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::chrono::{DateTime, Utc};
use kube::api::{Api, PostParams};
use kube::Client;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ANN_HOLDER: &str = "paraform.io/holder";
pub const ANN_FENCING: &str = "paraform.io/fencing-generation";
const STATE_KEY: &str = "state.json";

pub fn lease_name(network: &str) -> String {
    format!("paraform-{network}")
}
pub fn state_configmap_name(network: &str) -> String {
    format!("paraform-state-{network}")
}

/// The lock this store instance holds.
#[derive(Clone)]
struct Held {
    id: String,
    generation: i32,
    lost: Arc<AtomicBool>,
}

pub struct KubernetesStateStore {
    config: kube::Config,
    client: Client,
    namespace: String,
    network: String,
    lease_duration: Duration,
    renew_every: Duration,
    held: Arc<Mutex<Option<Held>>>,
}

fn api_err(what: impl Into<String>, e: impl std::fmt::Display) -> StateError {
    StateError::Backend {
        what: what.into(),
        reason: e.to_string(),
    }
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(r) if r.code == code)
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl KubernetesStateStore {
    /// A store for `network` in `namespace`. `config` is kept so that the
    /// lock can be released from `Drop` with a client of its own.
    pub fn new(
        config: kube::Config,
        namespace: impl Into<String>,
        network: impl Into<String>,
    ) -> Result<Self, StateError> {
        let client =
            Client::try_from(config.clone()).map_err(|e| api_err("Kubernetes client", e))?;
        Ok(KubernetesStateStore {
            config,
            client,
            namespace: namespace.into(),
            network: network.into(),
            lease_duration: Duration::from_secs(60),
            renew_every: Duration::from_secs(15),
            held: Arc::new(Mutex::new(None)),
        })
    }

    /// Lease duration and renewal period (renew well within the duration).
    pub fn with_lease(mut self, duration: Duration, renew_every: Duration) -> Self {
        self.lease_duration = duration.max(Duration::from_secs(1));
        self.renew_every = renew_every;
        self
    }

    /// Metadata of the Lease or state ConfigMap; with the live object's
    /// resourceVersion the write is a compare-and-swap.
    fn meta(
        &self,
        name: String,
        annotations: BTreeMap<String, String>,
        resource_version: Option<String>,
    ) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels()),
            annotations: Some(annotations),
            resource_version,
            ..Default::default()
        }
    }

    fn leases(&self) -> Api<Lease> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
    fn configmaps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
    fn lease_name(&self) -> String {
        lease_name(&self.network)
    }
    fn cm_name(&self) -> String {
        state_configmap_name(&self.network)
    }

    fn holder_info(lease: &Lease) -> Option<LockInfo> {
        lease
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANN_HOLDER))
            .and_then(|s| serde_json::from_str(s).ok())
    }

    /// The holder id of a lease that is held and not expired.
    fn live_holder(lease: &Lease) -> Option<String> {
        let spec = lease.spec.as_ref()?;
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
        let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
        let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?;
        let expires = renewed.0 + k8s_openapi::chrono::Duration::seconds(duration);
        (now() < expires).then_some(holder)
    }

    fn generation(lease: &Lease) -> i32 {
        lease
            .spec
            .as_ref()
            .and_then(|s| s.lease_transitions)
            .unwrap_or(0)
    }

    async fn get_cm(&self) -> Result<Option<ConfigMap>, StateError> {
        self.configmaps()
            .get_opt(&self.cm_name())
            .await
            .map_err(|e| api_err(format!("read ConfigMap {}", self.cm_name()), e))
    }

    fn cm_generation(cm: &ConfigMap) -> i32 {
        cm.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANN_FENCING))
            .and_then(|g| g.parse().ok())
            .unwrap_or(0)
    }

    fn labels(&self) -> BTreeMap<String, String> {
        [
            (
                "app.kubernetes.io/managed-by".to_string(),
                "paraform".to_string(),
            ),
            ("paraform.io/network".to_string(), self.network.clone()),
        ]
        .into_iter()
        .collect()
    }

    /// Write `state` with fencing generation `generation`: create the
    /// ConfigMap, or replace it conditionally on its resourceVersion.
    /// `expect_generation`: the generation the live ConfigMap must carry
    /// (`None`: at most `generation`, used when a new holder raises it).
    async fn write_cm(
        &self,
        state: &State,
        generation: i32,
        expect_generation: Option<i32>,
    ) -> Result<(), StateError> {
        let json = serde_json::to_string_pretty(state).map_err(|e| api_err("encode state", e))?;
        for _ in 0..5 {
            let live = self.get_cm().await?;
            if let Some(cm) = &live {
                let g = Self::cm_generation(cm);
                let fenced = match expect_generation {
                    Some(want) => g != want,
                    None => g > generation,
                };
                if fenced {
                    return Err(StateError::Fenced {
                        network: self.network.clone(),
                        reason: format!(
                            "the state was written under lock generation {g}, this process holds generation {generation}"
                        ),
                    });
                }
            }
            let mut annotations = BTreeMap::new();
            annotations.insert(ANN_FENCING.to_string(), generation.to_string());
            let cm = ConfigMap {
                metadata: self.meta(
                    self.cm_name(),
                    annotations,
                    live.as_ref()
                        .and_then(|c| c.metadata.resource_version.clone()),
                ),
                data: Some(
                    [(STATE_KEY.to_string(), json.clone())]
                        .into_iter()
                        .collect(),
                ),
                ..Default::default()
            };
            let res = match &live {
                None => self
                    .configmaps()
                    .create(&PostParams::default(), &cm)
                    .await
                    .map(|_| ()),
                Some(_) => self
                    .configmaps()
                    .replace(&self.cm_name(), &PostParams::default(), &cm)
                    .await
                    .map(|_| ()),
            };
            match res {
                Ok(()) => return Ok(()),
                // Someone wrote in between: re-read and re-check the fence.
                Err(e) if is_status(&e, 409) => continue,
                Err(e) => return Err(api_err(format!("write ConfigMap {}", self.cm_name()), e)),
            }
        }
        Err(api_err(
            format!("write ConfigMap {}", self.cm_name()),
            "kept conflicting with concurrent writers",
        ))
    }

    /// One attempt to take the lease. `Ok(None)`: lost a race, try again.
    async fn try_acquire(&self, info: &LockInfo) -> Result<Option<i32>, StateError> {
        let name = self.lease_name();
        let live = self
            .leases()
            .get_opt(&name)
            .await
            .map_err(|e| api_err(format!("read Lease {name}"), e))?;
        if let Some(lease) = &live {
            if let Some(holder) = Self::live_holder(lease) {
                if holder != info.id {
                    return Err(StateError::Locked {
                        network: self.network.clone(),
                        holder: Self::holder_info(lease),
                    });
                }
            }
        }
        // The new generation exceeds both the Lease's and the state's, so a
        // re-created Lease can never hand out a generation already used.
        let cm_gen = self
            .get_cm()
            .await?
            .as_ref()
            .map(Self::cm_generation)
            .unwrap_or(0);
        let generation = live.as_ref().map(Self::generation).unwrap_or(0).max(cm_gen) + 1;
        let t = MicroTime(now());
        let mut annotations = BTreeMap::new();
        annotations.insert(
            ANN_HOLDER.to_string(),
            serde_json::to_string(info).map_err(|e| api_err("encode lock info", e))?,
        );
        let lease = Lease {
            metadata: self.meta(
                name.clone(),
                annotations,
                live.as_ref()
                    .and_then(|l| l.metadata.resource_version.clone()),
            ),
            spec: Some(LeaseSpec {
                holder_identity: Some(info.id.clone()),
                lease_duration_seconds: Some(
                    self.lease_duration.as_secs().clamp(1, i32::MAX as u64) as i32,
                ),
                acquire_time: Some(t.clone()),
                renew_time: Some(t),
                lease_transitions: Some(generation),
            }),
        };
        let res = match &live {
            None => self.leases().create(&PostParams::default(), &lease).await,
            Some(_) => {
                self.leases()
                    .replace(&name, &PostParams::default(), &lease)
                    .await
            }
        };
        match res {
            Ok(_) => Ok(Some(generation)),
            // 409: another contender won the compare-and-swap (or created it first).
            Err(e) if is_status(&e, 409) => Ok(None),
            Err(e) => Err(api_err(format!("write Lease {name}"), e)),
        }
    }

    /// Check that this store still holds the lease under `held`.
    async fn check_held(&self, held: &Held) -> Result<(), StateError> {
        let fenced = |reason: String| StateError::Fenced {
            network: self.network.clone(),
            reason,
        };
        if held.lost.load(Ordering::SeqCst) {
            return Err(fenced(
                "the lease was not renewed in time or was taken over".into(),
            ));
        }
        let name = self.lease_name();
        let lease = self
            .leases()
            .get_opt(&name)
            .await
            .map_err(|e| api_err(format!("read Lease {name}"), e))?;
        match lease {
            None => Err(fenced(format!("the Lease {name} was deleted"))),
            Some(l) => {
                let holder = Self::live_holder(&l);
                if holder.as_deref() != Some(held.id.as_str())
                    || Self::generation(&l) != held.generation
                {
                    held.lost.store(true, Ordering::SeqCst);
                    Err(fenced(
                        match Self::holder_info(&l).filter(|_| holder.is_some()) {
                            Some(h) => format!("it is now held by {}", h.describe()),
                            None => "the lease expired or was force-unlocked".into(),
                        },
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    fn spawn_renewal(&self, held: Held) -> tokio::task::JoinHandle<()> {
        let leases = self.leases();
        let name = self.lease_name();
        let every = self.renew_every;
        let duration = self.lease_duration;
        tokio::spawn(async move {
            let mut last_ok = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(every).await;
                let res: Result<bool, kube::Error> = async {
                    let Some(mut lease) = leases.get_opt(&name).await? else {
                        return Ok(false);
                    };
                    let ours = lease.spec.as_ref().is_some_and(|s| {
                        s.holder_identity.as_deref() == Some(held.id.as_str())
                            && s.lease_transitions.unwrap_or(0) == held.generation
                    });
                    if !ours {
                        return Ok(false);
                    }
                    if let Some(spec) = lease.spec.as_mut() {
                        spec.renew_time = Some(MicroTime(now()));
                    }
                    // Conditional on resourceVersion: a concurrent takeover wins.
                    leases
                        .replace(&name, &PostParams::default(), &lease)
                        .await?;
                    Ok(true)
                }
                .await;
                match res {
                    Ok(true) => last_ok = tokio::time::Instant::now(),
                    Ok(false) => {
                        tracing::warn!("lost the lock Lease {name}");
                        held.lost.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!("cannot renew the lock Lease {name}: {e}");
                        if last_ok.elapsed() >= duration {
                            held.lost.store(true, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            }
        })
    }

    /// Clear the holder of the lease if it is `id` (keeps the generation).
    async fn release(
        client: Client,
        namespace: &str,
        name: &str,
        id: &str,
    ) -> Result<Option<LockInfo>, kube::Error> {
        let leases: Api<Lease> = Api::namespaced(client, namespace);
        for _ in 0..5 {
            let Some(mut lease) = leases.get_opt(name).await? else {
                return Ok(None);
            };
            if lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.as_deref())
                != Some(id)
            {
                return Ok(None);
            }
            let info = Self::holder_info(&lease);
            if let Some(spec) = lease.spec.as_mut() {
                spec.holder_identity = None;
                spec.renew_time = None;
                spec.acquire_time = None;
            }
            if let Some(a) = lease.metadata.annotations.as_mut() {
                a.remove(ANN_HOLDER);
            }
            match leases.replace(name, &PostParams::default(), &lease).await {
                Ok(_) => return Ok(info),
                Err(e) if is_status(&e, 409) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

/// The held lease: renewed in the background, released on drop.
struct LeaseGuard {
    info: LockInfo,
    renewal: tokio::task::JoinHandle<()>,
    config: kube::Config,
    namespace: String,
    lease: String,
    held: Arc<Mutex<Option<Held>>>,
}

impl LockGuard for LeaseGuard {
    fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renewal.abort();
        if let Ok(mut h) = self.held.lock() {
            if h.as_ref().is_some_and(|h| h.id == self.info.id) {
                *h = None;
            }
        }
        // Release with a client and runtime of our own: Drop cannot await,
        // and the caller's runtime may be single-threaded or shutting down.
        let (config, ns, lease, id) = (
            self.config.clone(),
            self.namespace.clone(),
            self.lease.clone(),
            self.info.id.clone(),
        );
        let t = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    let Ok(client) = Client::try_from(config) else {
                        return;
                    };
                    let release = KubernetesStateStore::release(client, &ns, &lease, &id);
                    match tokio::time::timeout(Duration::from_secs(10), release).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!(
                            "cannot release the lock Lease {lease}: {e} (it expires by itself)"
                        ),
                        Err(_) => tracing::warn!(
                            "releasing the lock Lease {lease} timed out (it expires by itself)"
                        ),
                    }
                });
            }
        });
        let _ = t.join();
    }
}

#[async_trait::async_trait]
impl StateStore for KubernetesStateStore {
    async fn lock(&self, info: LockInfo) -> Result<Box<dyn LockGuard>, StateError> {
        let mut generation = None;
        for _ in 0..5 {
            if let Some(g) = self.try_acquire(&info).await? {
                generation = Some(g);
                break;
            }
        }
        let Some(generation) = generation else {
            // Lost every race: report whoever holds it now.
            let holder = self.lock_status().await?;
            return Err(StateError::Locked {
                network: self.network.clone(),
                holder,
            });
        };
        // Raise the state's fencing generation before anything else is
        // written: from now on an older holder's saves are refused.
        let state = self.load().await?;
        let held = Held {
            id: info.id.clone(),
            generation,
            lost: Arc::new(AtomicBool::new(false)),
        };
        if let Err(e) = self.write_cm(&state, generation, None).await {
            let _ = Self::release(
                self.client.clone(),
                &self.namespace,
                &self.lease_name(),
                &info.id,
            )
            .await;
            return Err(e);
        }
        if let Ok(mut h) = self.held.lock() {
            *h = Some(held.clone());
        }
        let renewal = self.spawn_renewal(held);
        Ok(Box::new(LeaseGuard {
            info,
            renewal,
            config: self.config.clone(),
            namespace: self.namespace.clone(),
            lease: self.lease_name(),
            held: self.held.clone(),
        }))
    }

    async fn lock_status(&self) -> Result<Option<LockInfo>, StateError> {
        let name = self.lease_name();
        let lease = self
            .leases()
            .get_opt(&name)
            .await
            .map_err(|e| api_err(format!("read Lease {name}"), e))?;
        Ok(lease.and_then(|l| {
            let holder = Self::live_holder(&l)?;
            Some(Self::holder_info(&l).unwrap_or_else(|| LockInfo {
                id: holder,
                operation: "unknown".into(),
                user: "unknown".into(),
                host: "unknown".into(),
                pid: 0,
                command: String::new(),
                commit: None,
                started_unix: 0,
            }))
        }))
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        let current = self.lock_status().await?;
        match &current {
            Some(c) if c.id == id => {}
            _ => {
                return Err(StateError::WrongLockId {
                    given: id.to_string(),
                    current,
                })
            }
        }
        let name = self.lease_name();
        let released = Self::release(self.client.clone(), &self.namespace, &name, id)
            .await
            .map_err(|e| api_err(format!("write Lease {name}"), e))?;
        released.or(current).ok_or_else(|| StateError::WrongLockId {
            given: id.to_string(),
            current: None,
        })
    }

    async fn load(&self) -> Result<State, StateError> {
        let Some(cm) = self.get_cm().await? else {
            return Ok(State::new());
        };
        let path =
            || std::path::PathBuf::from(format!("configmap/{}/{}", self.namespace, self.cm_name()));
        let Some(json) = cm.data.as_ref().and_then(|d| d.get(STATE_KEY)) else {
            return Ok(State::new());
        };
        let state: State = serde_json::from_str(json).map_err(|e| StateError::Corrupt {
            path: path(),
            reason: e.to_string(),
        })?;
        if state.format > STATE_FORMAT {
            return Err(StateError::Corrupt {
                path: path(),
                reason: format!(
                    "state format {} is newer than this paraform understands ({STATE_FORMAT}); upgrade paraform",
                    state.format
                ),
            });
        }
        Ok(state)
    }

    async fn save(&self, state: &State) -> Result<(), StateError> {
        let held = self.held.lock().ok().and_then(|h| h.clone());
        let Some(held) = held else {
            return Err(StateError::Fenced {
                network: self.network.clone(),
                reason: "this process does not hold the lock".into(),
            });
        };
        self.check_held(&held).await?;
        self.write_cm(state, held.generation, Some(held.generation))
            .await
    }
}
