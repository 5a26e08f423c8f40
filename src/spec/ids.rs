//! Identifier newtypes: a node name is not a group name is not a para id.

use serde::{Deserialize, Serialize};
use std::fmt;

pub use subxt::utils::AccountId32 as AccountId;

macro_rules! name_type {
    ($(#[$m:meta])* $t:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $t(pub String);

        impl $t {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $t {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
    };
}

name_type!(
    /// `[network] name`.
    NetworkName
);
name_type!(
    /// A node group (`[[relay.group]]` / `[[parachain.group]]`), unique per network.
    GroupName
);
name_type!(
    /// An expanded node: `<group>-<index>`.
    NodeName
);

impl NodeName {
    pub fn of(group: &GroupName, index: u32) -> Self {
        Self(format!("{}-{}", group.0, index))
    }
}

/// A parachain id (`ParaId` on chain). Ids below 1000 are reserved for system parachains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParaId(pub u32);

impl fmt::Display for ParaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which chain a group's nodes belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainSide {
    Relay,
    Para(ParaId),
}

/// Balance in the chain's smallest unit (planck).
pub type Balance = u128;

/// A 32-byte hash rendered as `0x…` hex (block hashes, code hashes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HexHash(pub String);

impl HexHash {
    /// `0x1234…abcd`, for tables and plan lines.
    pub fn short(&self) -> String {
        let s = self.0.trim_start_matches("0x");
        if s.len() <= 12 {
            return self.0.clone();
        }
        format!("0x{}…{}", &s[..6], &s[s.len() - 4..])
    }
}

impl fmt::Display for HexHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
