//! Reaching pods from outside the cluster through the API server: a local
//! TCP listener per node whose connections are port-forwarded to the pod's
//! RPC port, and `exec` for one-off commands (genesis export).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use kube::Client;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;

/// A listener on 127.0.0.1 forwarding to `pod:port`; lives until the runtime
/// shuts down. Each accepted connection opens its own port-forward stream,
/// so a restarted pod is reached again on the next connection.
pub fn spawn_forwarder(
    client: Client,
    namespace: String,
    pod: String,
    port: u16,
) -> std::io::Result<u16> {
    let handle = tokio::runtime::Handle::try_current().map_err(|e| {
        std::io::Error::other(format!("no tokio runtime for the port-forward: {e}"))
    })?;
    let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    std_listener.set_nonblocking(true)?;
    let local = std_listener.local_addr()?.port();
    handle.spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(std_listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("port-forward {pod}:{port}: {e}");
                return;
            }
        };
        let pods: Api<Pod> = Api::namespaced(client, &namespace);
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                continue;
            };
            let pods = pods.clone();
            let pod = pod.clone();
            tokio::spawn(async move {
                let mut pf = match pods.portforward(&pod, &[port]).await {
                    Ok(pf) => pf,
                    Err(e) => {
                        tracing::debug!("port-forward to {pod}:{port}: {e}");
                        return;
                    }
                };
                let Some(mut upstream) = pf.take_stream(port) else {
                    return;
                };
                if let Err(e) = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await {
                    tracing::debug!("port-forward {pod}:{port} closed: {e}");
                }
                drop(upstream);
                let _ = pf.join().await;
            });
        }
    });
    Ok(local)
}

/// Run a command in a pod's `node` container and return its stdout.
pub async fn exec(
    client: Client,
    namespace: &str,
    pod: &str,
    command: Vec<String>,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    let ap = AttachParams::default()
        .container("node")
        .stdin(false)
        .stdout(true)
        .stderr(true);
    let run = async {
        let mut proc = pods
            .exec(pod, command.clone(), &ap)
            .await
            .map_err(|e| format!("exec in {pod}: {e}"))?;
        let mut out = Vec::new();
        let mut err = Vec::new();
        let status = proc.take_status();
        let (o, e) = (proc.stdout(), proc.stderr());
        let read_out = async {
            if let Some(mut o) = o {
                let _ = o.read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(mut e) = e {
                let _ = e.read_to_end(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = match status {
            Some(s) => s.await,
            None => None,
        };
        let _ = proc.join().await;
        match status {
            Some(s) if s.status.as_deref() == Some("Failure") => Err(format!(
                "{} in {pod} failed: {}{}",
                command.join(" "),
                s.message.unwrap_or_default(),
                String::from_utf8_lossy(&err)
                    .lines()
                    .last()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default()
            )),
            _ => Ok(out),
        }
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| format!("exec in {pod} timed out after {timeout:?}"))?
}
