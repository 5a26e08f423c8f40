//! Node readiness as both providers judge it: RPC answers `system_health`,
//! not major-syncing, and (in a network of several nodes) has a peer;
//! collators by their relay side instead of para peers — polled until every
//! node passes or the timeout names the stragglers.

use super::ProviderError;
use crate::spec::ids::NodeName;
use serde::Deserialize;
use std::future::Future;
use std::time::Duration;

/// `system_health` of a node.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub peers: u32,
    pub is_syncing: bool,
}

pub async fn system_health(http_endpoint: &str) -> Result<Health, String> {
    use jsonrpsee::core::client::ClientT as _;
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(5))
        .build(http_endpoint)
        .map_err(|e| format!("{http_endpoint}: {e}"))?;
    client
        .request::<Health, _>("system_health", jsonrpsee::rpc_params![])
        .await
        .map_err(|e| format!("{http_endpoint}: system_health: {e}"))
}

/// `Err(why)` while `node` (at `http_endpoint`) is not ready.
pub async fn node_ready(
    node: &NodeName,
    http_endpoint: &str,
    want_peers: bool,
) -> Result<(), String> {
    let health = system_health(http_endpoint).await?;
    if health.is_syncing {
        return Err(format!("{node} is syncing"));
    }
    if want_peers && health.peers == 0 {
        return Err(format!("{node} has no peers"));
    }
    Ok(())
}

/// `Err(why)` while collator `node` is not ready. A collator is judged by
/// its relay side — its embedded relay node synced and with relay peers
/// (without them it never learns of a slot) — and by its para node
/// answering and not major-syncing. Para peers are not asked for: a lone
/// collator has none by nature, and before its para is onboarded it has no
/// blocks to show either (para progress is watched on the chain, in
/// `Paras.Heads` and the para's own head, by status and drift).
pub async fn collator_ready(
    node: &NodeName,
    http_endpoint: &str,
    relay_http_endpoint: &str,
) -> Result<(), String> {
    let relay = system_health(relay_http_endpoint)
        .await
        .map_err(|e| format!("{node}'s relay node: {e}"))?;
    if relay.is_syncing {
        return Err(format!("{node}'s relay node is syncing"));
    }
    if relay.peers == 0 {
        return Err(format!(
            "{node}'s relay node has no relay peers (is it on the relay nodes' chain spec?)"
        ));
    }
    let para = system_health(http_endpoint).await?;
    if para.is_syncing {
        return Err(format!("{node} is syncing"));
    }
    Ok(())
}

/// Run `round` over the nodes still pending until none is, every `poll`;
/// `round` returns the ones not ready yet with why (or a fatal error).
pub async fn poll_until_ready<F, Fut>(
    nodes: &[NodeName],
    timeout: Duration,
    poll: Duration,
    mut round: F,
) -> Result<(), ProviderError>
where
    F: FnMut(Vec<NodeName>) -> Fut,
    Fut: Future<Output = Result<Vec<(NodeName, String)>, ProviderError>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pending: Vec<NodeName> = nodes.to_vec();
    loop {
        let not_ready = round(pending).await?;
        if not_ready.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let reason = not_ready.last().map(|(_, r)| r.clone()).unwrap_or_default();
            return Err(ProviderError::NotReady {
                nodes: not_ready
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                after: timeout,
                reason,
            });
        }
        pending = not_ready.into_iter().map(|(n, _)| n).collect();
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn polls_the_stragglers_and_names_them_on_timeout() {
        let nodes = [NodeName::new("a-0"), NodeName::new("a-1")];
        let mut rounds = Vec::new();
        let err = poll_until_ready(
            &nodes,
            Duration::from_millis(30),
            Duration::from_millis(10),
            |p| {
                rounds.push(p.len());
                let still: Vec<(NodeName, String)> = p
                    .into_iter()
                    .filter(|n| n.as_str() == "a-1")
                    .map(|n| (n, "a-1 has no peers".to_string()))
                    .collect();
                async move { Ok(still) }
            },
        )
        .await
        .expect_err("a-1 never gets ready");
        assert_eq!(rounds[0], 2);
        assert!(rounds[1..].iter().all(|&n| n == 1), "{rounds:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("a-1") && !msg.contains("a-0") && msg.contains("no peers"),
            "{msg}"
        );

        let ok = poll_until_ready(
            &nodes,
            Duration::from_millis(30),
            Duration::from_millis(10),
            |_| async { Ok(vec![]) },
        )
        .await;
        assert!(ok.is_ok());
    }
}
