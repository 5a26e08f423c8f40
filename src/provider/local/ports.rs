//! Deterministic loopback ports.
//!
//! Each node owns a *slot*; slot `s` owns the five ports
//! `base + 5·s … base + 5·s + 4`: RPC, p2p, Prometheus, and for collators the
//! embedded relay node's RPC and p2p. A fresh network assigns slots in the
//! desired state's node order (so a fresh network always gets the same
//! ports); a node added later takes the lowest free slot, and a node keeps its
//! slot for as long as it exists, so ports never move under a running network.
//!
//! `base` is `$PARAFORM_LOCAL_PORT_BASE` when set, else
//! `10000 + 500·(sha256(network)[0..2] mod 45)` (10000–32000), so two
//! networks on one machine rarely collide. Ports stay below Linux's
//! ephemeral range (32768–60999 by default): an outgoing connection that
//! happens to take a node's RPC port as its source port makes polkadot bind
//! its RPC server elsewhere, silently. The base is recorded in
//! `ports.json` when the network is first created and used from then on.

use crate::spec::ids::{NetworkName, NodeName};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const PORTS_PER_SLOT: u16 = 5;
pub const MAX_SLOTS: u16 = 100;
pub const PORT_BASE_ENV: &str = "PARAFORM_LOCAL_PORT_BASE";

/// The ports of one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodePorts {
    pub rpc: u16,
    pub p2p: u16,
    pub prometheus: u16,
    pub relay_rpc: u16,
    pub relay_p2p: u16,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMap {
    pub base: u16,
    pub slots: BTreeMap<NodeName, u16>,
}

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("{PORT_BASE_ENV}={0} is not a port number between 1024 and 65000")]
    BadBase(String),
    #[error("no free port slot left for {0} (at most {MAX_SLOTS} nodes per network)")]
    Full(NodeName),
}

/// The base for a fresh network (see module docs).
pub fn default_base(network: &NetworkName) -> Result<u16, PortError> {
    if let Ok(v) = std::env::var(PORT_BASE_ENV) {
        let base: u16 = v
            .trim()
            .parse()
            .map_err(|_| PortError::BadBase(v.clone()))?;
        if !(1024..=65000).contains(&base)
            || u32::from(base) + u32::from(PORTS_PER_SLOT * MAX_SLOTS) > 65535
        {
            return Err(PortError::BadBase(v));
        }
        return Ok(base);
    }
    let h = Sha256::digest(network.as_str().as_bytes());
    Ok(10000 + (u16::from_be_bytes([h[0], h[1]]) % 45) * 500)
}

impl PortMap {
    pub fn new(base: u16) -> Self {
        PortMap {
            base,
            slots: BTreeMap::new(),
        }
    }

    /// Give every node in `nodes` (in order) a slot if it has none.
    pub fn assign<'a>(
        &mut self,
        nodes: impl IntoIterator<Item = &'a NodeName>,
    ) -> Result<bool, PortError> {
        let mut changed = false;
        for node in nodes {
            if self.slots.contains_key(node) {
                continue;
            }
            let used: std::collections::BTreeSet<u16> = self.slots.values().copied().collect();
            let free = (0..MAX_SLOTS)
                .find(|s| !used.contains(s))
                .ok_or_else(|| PortError::Full(node.clone()))?;
            self.slots.insert(node.clone(), free);
            changed = true;
        }
        Ok(changed)
    }

    pub fn release(&mut self, node: &NodeName) -> bool {
        self.slots.remove(node).is_some()
    }

    pub fn ports(&self, node: &NodeName) -> Option<NodePorts> {
        let slot = *self.slots.get(node)?;
        let first = self.base.checked_add(slot.checked_mul(PORTS_PER_SLOT)?)?;
        Some(NodePorts {
            rpc: first,
            p2p: first.checked_add(1)?,
            prometheus: first.checked_add(2)?,
            relay_rpc: first.checked_add(3)?,
            relay_p2p: first.checked_add(4)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> NodeName {
        NodeName::new(s)
    }

    #[test]
    fn fresh_order_then_lowest_free_and_stable() {
        let mut m = PortMap::new(30000);
        m.assign([&n("a"), &n("b"), &n("c")]).unwrap();
        assert_eq!(m.ports(&n("a")).unwrap().rpc, 30000);
        assert_eq!(m.ports(&n("b")).unwrap().p2p, 30006);
        assert_eq!(m.ports(&n("c")).unwrap().prometheus, 30012);
        m.release(&n("b"));
        m.assign([&n("d"), &n("a")]).unwrap();
        assert_eq!(m.slots[&n("d")], 1, "the freed slot is reused");
        assert_eq!(m.slots[&n("a")], 0, "existing nodes keep their slot");
        assert_eq!(m.slots[&n("c")], 2);
    }

    #[test]
    fn full_is_an_error() {
        let mut m = PortMap::new(1024);
        let names: Vec<NodeName> = (0..MAX_SLOTS + 1).map(|i| n(&format!("x-{i}"))).collect();
        assert!(matches!(m.assign(names.iter()), Err(PortError::Full(_))));
    }

    #[test]
    fn default_base_is_deterministic_and_in_range() {
        let a = default_base(&NetworkName::new("local"));
        let b = default_base(&NetworkName::new("local"));
        if std::env::var(PORT_BASE_ENV).is_err() {
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(a, b);
            assert!((10000..=32000).contains(&a));
        }
    }
}
