//! Connecting to a node: a jsonrpsee WebSocket client with a connect and a
//! per-request timeout, wrapped in a counting layer (round trips are a
//! measured property of observation), under a subxt `OnlineClient` whose
//! metadata is fetched at runtime (the dynamic API: one binary serves PoA and
//! PoS runtimes and their upgrades).

use super::error::ChainError;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use subxt::backend::legacy::{LegacyBackend, LegacyRpcMethods};
use subxt::backend::rpc::{RawRpcFuture, RawRpcSubscription, RawValue, RpcClient, RpcClientT};
use subxt::{OnlineClient, PolkadotConfig};

/// The subxt config used for relay chains and parachains alike (32-byte
/// accounts, `MultiAddress`, sr25519/ecdsa signatures).
pub type Config = PolkadotConfig;
/// Block hash type.
pub type Hash = subxt::utils::H256;

/// Timeouts and retries for [`ChainClient::connect`].
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// Bound on opening the WebSocket (per attempt).
    pub connect_timeout: Duration,
    /// Bound on every single request (a hung node yields `Timeout`, not a hang).
    pub request_timeout: Duration,
    /// Connection attempts (≥ 1). Only connecting is retried; requests are not.
    pub attempts: u32,
    /// Delay before the 2nd attempt; doubles after each failure.
    pub backoff: Duration,
    /// Keys per `state_getKeysPaged` page: observation costs one round trip
    /// per map per page, so with 1000 a map of ≤ 1000 entries is one request.
    pub storage_page_size: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_millis(500),
            storage_page_size: 1000,
        }
    }
}

/// Counts RPC round trips (requests + subscription openings), per method.
#[derive(Clone, Debug, Default)]
pub struct RpcCounter {
    total: Arc<AtomicU64>,
    by_method: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RpcCounter {
    /// Round trips since the client was created.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::SeqCst)
    }

    /// Round trips per RPC method since the client was created.
    pub fn by_method(&self) -> BTreeMap<String, u64> {
        self.by_method.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn record(&self, method: &str) {
        self.total.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut m) = self.by_method.lock() {
            *m.entry(method.to_string()).or_default() += 1;
        }
    }
}

/// `RpcClientT` that counts every round trip before forwarding it.
struct CountingRpc {
    inner: Arc<WsClient>,
    counter: RpcCounter,
}

impl RpcClientT for CountingRpc {
    fn request_raw<'a>(
        &'a self,
        method: &'a str,
        params: Option<Box<RawValue>>,
    ) -> RawRpcFuture<'a, Box<RawValue>> {
        self.counter.record(method);
        self.inner.request_raw(method, params)
    }

    fn subscribe_raw<'a>(
        &'a self,
        sub: &'a str,
        params: Option<Box<RawValue>>,
        unsub: &'a str,
    ) -> RawRpcFuture<'a, RawRpcSubscription> {
        self.counter.record(sub);
        self.inner.subscribe_raw(sub, params, unsub)
    }
}

/// A connection to one node: subxt client (dynamic API), raw RPC and legacy
/// RPC methods over the same counted WebSocket.
#[derive(Clone)]
pub struct ChainClient {
    endpoint: String,
    api: OnlineClient<Config>,
    rpc: RpcClient,
    legacy: LegacyRpcMethods<Config>,
    ws: Arc<WsClient>,
    counter: RpcCounter,
    options: ConnectOptions,
}

impl std::fmt::Debug for ChainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainClient")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl ChainClient {
    /// Connect to `endpoint` (`ws://host:port`), retrying the connection
    /// with exponential backoff, then fetch metadata, runtime version and
    /// genesis hash (bounded by `request_timeout`).
    pub async fn connect(
        endpoint: &str,
        options: &ConnectOptions,
    ) -> Result<ChainClient, ChainError> {
        let attempts = options.attempts.max(1);
        let mut delay = options.backoff;
        let mut last = String::new();
        for attempt in 1..=attempts {
            match Self::connect_once(endpoint, options).await {
                Ok(c) => return Ok(c),
                Err(e) => {
                    tracing::debug!(endpoint, attempt, error = %e, "connect failed");
                    last = e;
                }
            }
            if attempt < attempts {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
        }
        Err(ChainError::Connect {
            endpoint: endpoint.to_string(),
            attempts,
            reason: last,
        })
    }

    async fn connect_once(endpoint: &str, options: &ConnectOptions) -> Result<ChainClient, String> {
        let ws = tokio::time::timeout(
            options.connect_timeout,
            WsClientBuilder::new()
                .connection_timeout(options.connect_timeout)
                .request_timeout(options.request_timeout)
                .max_request_size(64 * 1024 * 1024)
                .max_response_size(64 * 1024 * 1024)
                .build(endpoint),
        )
        .await
        .map_err(|_| format!("no connection within {:?}", options.connect_timeout))?
        .map_err(|e| e.to_string())?;
        let ws = Arc::new(ws);
        let counter = RpcCounter::default();
        let rpc = RpcClient::new(CountingRpc {
            inner: ws.clone(),
            counter: counter.clone(),
        });
        let backend = LegacyBackend::<Config>::builder()
            .storage_page_size(options.storage_page_size)
            .build(rpc.clone());
        // Metadata + runtime version + genesis: a few requests, each bounded
        // by the request timeout; bound the whole too.
        let api = tokio::time::timeout(
            options.request_timeout.saturating_mul(2),
            OnlineClient::<Config>::from_backend(Arc::new(backend)),
        )
        .await
        .map_err(|_| {
            format!(
                "no metadata within {:?}",
                options.request_timeout.saturating_mul(2)
            )
        })?
        .map_err(|e| format!("fetching metadata: {e}"))?;
        Ok(ChainClient {
            endpoint: endpoint.to_string(),
            api,
            legacy: LegacyRpcMethods::new(rpc.clone()),
            rpc,
            ws,
            counter,
            options: options.clone(),
        })
    }

    /// The endpoint this client talks to (for errors and logs).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The subxt client (dynamic API).
    pub fn api(&self) -> &OnlineClient<Config> {
        &self.api
    }

    /// The raw RPC client (counted).
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// Legacy RPC methods (`state_*`, `chain_*`, `author_*`), counted.
    pub fn legacy(&self) -> &LegacyRpcMethods<Config> {
        &self.legacy
    }

    /// Round trips made through this client (all clones share the counter).
    pub fn counter(&self) -> &RpcCounter {
        &self.counter
    }

    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// Whether the WebSocket is still up (a killed node flips this).
    pub fn is_connected(&self) -> bool {
        self.ws.is_connected()
    }

    /// The runtime metadata this client encodes and decodes with.
    pub fn metadata(&self) -> subxt::Metadata {
        self.api.metadata()
    }

    /// `chain_getFinalizedHead`.
    pub async fn finalized_head(&self) -> Result<Hash, ChainError> {
        self.legacy
            .chain_get_finalized_head()
            .await
            .map_err(|e| self.rpc_err("chain_getFinalizedHead", e))
    }

    /// A raw JSON-RPC request through the counted client; `None` params = `[]`.
    pub async fn request<R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: subxt::ext::subxt_rpcs::client::RpcParams,
    ) -> Result<R, ChainError> {
        self.rpc
            .request(method, params)
            .await
            .map_err(|e| self.rpc_err(method, e))
    }

    /// Map any subxt/RPC error into a `ChainError` that names the endpoint
    /// and what was being done. Timeouts and unknown methods get their own
    /// variants.
    pub fn rpc_err(&self, what: &str, e: impl std::fmt::Display) -> ChainError {
        let reason = e.to_string();
        let lower = reason.to_lowercase();
        if lower.contains("request timeout") || lower.contains("timed out") {
            ChainError::Timeout {
                endpoint: self.endpoint.clone(),
                what: what.to_string(),
                after: self.options.request_timeout,
            }
        } else if lower.contains("method not found") {
            ChainError::MethodNotFound {
                endpoint: self.endpoint.clone(),
                method: what.to_string(),
            }
        } else {
            ChainError::Rpc {
                endpoint: self.endpoint.clone(),
                what: what.to_string(),
                reason,
            }
        }
    }
}
