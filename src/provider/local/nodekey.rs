//! Stable node keys and the libp2p peer ids they give.
//!
//! A `derived` node key is `sha256("paraform/node-key/<network>/<node>")`:
//! stable across restarts and re-creations, so peer ids and bootnode
//! addresses are known before a node runs. They are testnet identities, not
//! secrets worth protecting (anyone who knows the names can compute them);
//! use `node_key = "generated"` for a key kept only in the node's directory.

use crate::spec::ids::{NetworkName, NodeName};
use sha2::{Digest, Sha256};

/// A 32-byte ed25519 secret seed, as `--node-key` expects it (hex).
#[derive(Clone, PartialEq, Eq)]
pub struct NodeKey([u8; 32]);

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeKey(peer {})", self.peer_id())
    }
}

impl NodeKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        NodeKey(bytes)
    }

    /// The derived key of a node (see module docs).
    pub fn derived(network: &NetworkName, node: &NodeName) -> Self {
        let h = Sha256::digest(format!("paraform/node-key/{network}/{node}").as_bytes());
        NodeKey(h.into())
    }

    /// A fresh random key (for `node_key = "generated"`), from the OS.
    pub fn generate() -> std::io::Result<Self> {
        use std::io::Read as _;
        let mut b = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
        Ok(NodeKey(b))
    }

    pub fn parse_hex(s: &str) -> Option<Self> {
        let bytes = hex::decode(s.trim().trim_start_matches("0x")).ok()?;
        Some(NodeKey(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The libp2p peer id: base58 of the identity multihash of the
    /// protobuf-encoded ed25519 public key.
    pub fn peer_id(&self) -> String {
        let sk = ed25519_zebra::SigningKey::from(self.0);
        let pk: [u8; 32] = ed25519_zebra::VerificationKey::from(&sk).into();
        // protobuf PublicKey { Type = Ed25519 (1), Data = 32 bytes }
        let mut proto = vec![0x08, 0x01, 0x12, 0x20];
        proto.extend_from_slice(&pk);
        // multihash: identity code 0x00, length, digest
        let mut mh = vec![0x00, proto.len() as u8];
        mh.extend_from_slice(&proto);
        bs58::encode(mh).into_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_from_chain_notes() {
        let mut b = [0u8; 32];
        b[31] = 1;
        assert_eq!(
            NodeKey::from_bytes(b).peer_id(),
            "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp"
        );
    }

    #[test]
    fn derived_is_stable_and_distinct() {
        let net = NetworkName::new("local");
        let a = NodeKey::derived(&net, &NodeName::new("validator-0"));
        assert_eq!(a, NodeKey::derived(&net, &NodeName::new("validator-0")));
        assert_ne!(a, NodeKey::derived(&net, &NodeName::new("validator-1")));
        assert_ne!(
            a,
            NodeKey::derived(&NetworkName::new("other"), &NodeName::new("validator-0"))
        );
        assert_eq!(NodeKey::parse_hex(&a.to_hex()), Some(a));
    }
}
