//! The command line of a local node, rendered from its group's `WorkloadSpec`.

use super::ports::NodePorts;
use crate::spec::ids::NodeName;
use crate::spec::model::{ChainRef, Role};
use crate::spec::workload::WorkloadSpec;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Everything a node's command line is made of besides its spec.
#[derive(Clone, Debug)]
pub struct Launch<'a> {
    pub node: &'a NodeName,
    pub spec: &'a WorkloadSpec,
    pub dev_key: Option<&'a str>,
    pub ports: NodePorts,
    pub base_path: &'a Path,
    pub keystore: &'a Path,
    pub node_key_file: &'a Path,
    /// `--chain` value (built-in name or absolute spec path).
    pub chain: String,
    /// Collators: `--chain` of the embedded relay node.
    pub relay_chain: Option<String>,
    /// `/ip4/127.0.0.1/tcp/<p2p>/p2p/<peer id>` of this node's chain.
    pub bootnodes: Vec<String>,
    /// Collators: bootnodes of the relay chain.
    pub relay_bootnodes: Vec<String>,
    /// Collators with `relay_node = "rpc"`: relay nodes' RPC, instead of an
    /// embedded relay node.
    pub relay_rpc_urls: Vec<String>,
}

/// `--chain` for a chain reference: built-in names as is, spec files
/// relative to the network directory made absolute.
pub fn chain_arg(chain: &ChainRef, net_dir: &Path) -> Result<String, String> {
    match chain {
        ChainRef::BuiltIn { name } => Ok(name.clone()),
        ChainRef::Spec { path } if path.starts_with("http://") || path.starts_with("https://") => {
            Err(format!("the local provider needs a chain spec file, not the URL {path}: download it next to the network"))
        }
        ChainRef::Spec { path } => {
            let p = PathBuf::from(path);
            let p = if p.is_absolute() { p } else { net_dir.join(p) };
            Ok(std::path::absolute(&p).unwrap_or(p).to_string_lossy().into_owned())
        }
    }
}

pub fn loopback_addr(p2p: u16, peer_id: &str) -> String {
    format!("/ip4/127.0.0.1/tcp/{p2p}/p2p/{peer_id}")
}

/// The node's arguments (without the binary).
pub fn node_args(l: &Launch<'_>) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    fn add(a: &mut Vec<OsString>, items: &[&dyn AsRef<std::ffi::OsStr>]) {
        a.extend(items.iter().map(|i| i.as_ref().to_os_string()));
    }
    add(&mut a, &[&"--chain", &l.chain, &"--name", &l.node.as_str()]);
    add(
        &mut a,
        &[
            &"--base-path",
            &l.base_path,
            &"--keystore-path",
            &l.keystore,
        ],
    );
    add(&mut a, &[&"--node-key-file", &l.node_key_file]);
    add(
        &mut a,
        &[
            &"--rpc-port",
            &l.ports.rpc.to_string(),
            &"--rpc-methods",
            &"unsafe",
            &"--rpc-cors",
            &"all",
        ],
    );
    add(
        &mut a,
        &[
            &"--listen-addr",
            &format!("/ip4/127.0.0.1/tcp/{}", l.ports.p2p),
        ],
    );
    add(
        &mut a,
        &[&"--prometheus-port", &l.ports.prometheus.to_string()],
    );
    add(
        &mut a,
        &[&"--no-mdns", &"--no-telemetry", &"--no-hardware-benchmarks"],
    );
    add(&mut a, &[&"--database", &l.spec.storage.database]);
    if let Some(p) = &l.spec.storage.pruning {
        add(&mut a, &[&"--state-pruning", p]);
    }
    if !l.spec.log.is_empty() {
        add(&mut a, &[&"-l", &l.spec.log.join(",")]);
    }
    match (l.spec.role, l.dev_key) {
        (Role::Validator, Some(dev)) => add(&mut a, &[&format!("--{dev}")]),
        (Role::Validator, None) => add(&mut a, &[&"--validator"]),
        // A collator with genesis keys authors with them (`--alice` puts
        // Alice's aura key in the keystore); `--collator` makes it author.
        (Role::Collator, Some(dev)) => add(&mut a, &[&"--collator", &format!("--{dev}")]),
        (Role::Collator, None) => add(&mut a, &[&"--collator"]),
        (Role::Full | Role::Rpc | Role::Bootnode, _) => {}
    }
    if !l.bootnodes.is_empty() {
        a.push("--bootnodes".into());
        a.extend(l.bootnodes.iter().map(OsString::from));
    }
    a.extend(l.spec.flags.iter().map(OsString::from));
    if !l.relay_rpc_urls.is_empty() {
        a.push("--relay-chain-rpc-urls".into());
        a.extend(l.relay_rpc_urls.iter().map(OsString::from));
    }
    let embedded = l
        .relay_rpc_urls
        .is_empty()
        .then_some(l.relay_chain.as_ref())
        .flatten();
    if l.relay_rpc_urls.is_empty() && embedded.is_none() {
        return a;
    }
    // The relay side: a full embedded node, or (RPC mode) the minimal node
    // that reads the relay over RPC but still needs the relay's p2p network
    // to reach validators — without relay bootnodes it advertises its
    // collations to no one (measured: "Collation wasn't advertised to any
    // validator", para stuck at #0).
    a.push("--".into());
    if let Some(relay) = embedded {
        add(
            &mut a,
            &[
                &"--chain",
                relay,
                &"--rpc-port",
                &l.ports.relay_rpc.to_string(),
            ],
        );
    }
    add(
        &mut a,
        &[
            &"--listen-addr",
            &format!("/ip4/127.0.0.1/tcp/{}", l.ports.relay_p2p),
        ],
    );
    add(
        &mut a,
        &[&"--no-mdns", &"--no-prometheus", &"--no-telemetry"],
    );
    if !l.relay_bootnodes.is_empty() {
        a.push("--bootnodes".into());
        a.extend(l.relay_bootnodes.iter().map(OsString::from));
    }
    a.extend(l.spec.relay_flags.iter().map(OsString::from));
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::RelayNodeMode;

    /// A collator of the ops test network's `ah-collator` group.
    fn with_launch(rpc: bool, f: impl FnOnce(Vec<String>)) {
        let net = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ops/networks/paras");
        let mut d = crate::spec::load_dir(&net).expect("the ops network loads");
        let g = d
            .groups
            .iter_mut()
            .find(|g| g.name.as_str() == "ah-collator")
            .expect("collator group");
        g.relay_node = if rpc {
            RelayNodeMode::Rpc
        } else {
            RelayNodeMode::Embedded
        };
        let g = g.clone();
        let spec = WorkloadSpec::for_group(&d, &g);
        let node = NodeName::new("ah-collator-0");
        let p = Path::new("/x");
        let launch = Launch {
            node: &node,
            spec: &spec,
            dev_key: None,
            ports: NodePorts {
                rpc: 1,
                p2p: 2,
                prometheus: 3,
                relay_rpc: 4,
                relay_p2p: 5,
            },
            base_path: p,
            keystore: p,
            node_key_file: p,
            chain: "para.json".into(),
            relay_chain: (!rpc).then(|| "relay.json".to_string()),
            bootnodes: vec![],
            relay_bootnodes: vec!["/ip4/127.0.0.1/tcp/9/p2p/RELAY".into()],
            relay_rpc_urls: if rpc {
                vec!["ws://127.0.0.1:7".into()]
            } else {
                vec![]
            },
        };
        f(node_args(&launch)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect());
    }

    fn after_separator(a: &[String]) -> Vec<String> {
        a.iter()
            .skip_while(|x| x.as_str() != "--")
            .skip(1)
            .cloned()
            .collect()
    }

    #[test]
    fn rpc_mode_collators_still_join_the_relay_network() {
        with_launch(true, |a| {
            let i = a
                .iter()
                .position(|x| x == "--relay-chain-rpc-urls")
                .unwrap();
            assert_eq!(a[i + 1], "ws://127.0.0.1:7");
            let relay = after_separator(&a);
            // The minimal relay node needs relay peers to reach validators.
            assert!(
                relay
                    .windows(2)
                    .any(|w| w[0] == "--bootnodes" && w[1] == "/ip4/127.0.0.1/tcp/9/p2p/RELAY"),
                "{a:?}"
            );
            assert!(relay.iter().any(|x| x == "/ip4/127.0.0.1/tcp/5"), "{a:?}");
            assert!(relay.iter().any(|x| x == "--no-prometheus"), "{a:?}");
            // No embedded relay chain: no --chain after the separator.
            assert!(!relay.iter().any(|x| x == "--chain"), "{a:?}");
        });
    }

    #[test]
    fn embedded_relay_node_runs_the_relay_spec() {
        with_launch(false, |a| {
            assert!(!a.iter().any(|x| x == "--relay-chain-rpc-urls"), "{a:?}");
            let relay = after_separator(&a);
            assert!(
                relay
                    .windows(2)
                    .any(|w| w[0] == "--chain" && w[1] == "relay.json"),
                "{a:?}"
            );
            assert!(relay.iter().any(|x| x == "--bootnodes"), "{a:?}");
        });
    }
}
