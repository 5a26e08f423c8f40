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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ParaId(pub u32);

/// Reads a number or a decimal string. Needed because a map keyed by para id
/// inside an internally tagged enum (`ChainView::Live` → `ChainState::paras`)
/// reaches the key as a buffered string, which a derived `u32` rejects
/// ("invalid type: string \"1000\", expected u32").
impl<'de> Deserialize<'de> for ParaId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ParaId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a para id (an integer 0 ..= 4294967295)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ParaId, E> {
                u32::try_from(v)
                    .map(ParaId)
                    .map_err(|_| E::custom(format!("para id {v} is out of range")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ParaId, E> {
                u32::try_from(v)
                    .map(ParaId)
                    .map_err(|_| E::custom(format!("para id {v} is out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ParaId, E> {
                v.parse()
                    .map(ParaId)
                    .map_err(|_| E::custom(format!("`{v}` is not a para id")))
            }
        }
        d.deserialize_any(V)
    }
}

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
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

/// Serde for `Balance` (u128) fields: written as a decimal string (JSON
/// numbers lose precision above 2^53 in most consumers, and above u64 in
/// serde_json), read from a string or an integer. Needed because serde cannot
/// read a plain u128 inside an internally tagged enum (`StepKind`, `ChainView`):
/// the buffered value only supports 64-bit integers.
pub mod serde_balance {
    use super::Balance;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(v: &Balance, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Balance, D::Error> {
        d.deserialize_any(BalanceVisitor)
    }

    pub(super) struct BalanceVisitor;

    impl Visitor<'_> for BalanceVisitor {
        type Value = Balance;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a balance: a non-negative integer or a decimal string")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Balance, E> {
            Ok(v.into())
        }

        fn visit_u128<E: de::Error>(self, v: u128) -> Result<Balance, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Balance, E> {
            Balance::try_from(v).map_err(|_| E::custom("a balance cannot be negative"))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Balance, E> {
            v.parse()
                .map_err(|_| E::custom(format!("`{v}` is not a balance (decimal digits only)")))
        }
    }

    /// The same for map values (`BTreeMap<K, Balance>`).
    pub mod map {
        use super::super::Balance;
        use serde::de::{Deserialize, Deserializer};
        use serde::ser::{Serialize, SerializeMap, Serializer};
        use std::collections::BTreeMap;

        pub fn serialize<K: Serialize, S: Serializer>(
            m: &BTreeMap<K, Balance>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(m.len()))?;
            for (k, v) in m {
                map.serialize_entry(k, &v.to_string())?;
            }
            map.end()
        }

        pub fn deserialize<'de, K, D>(d: D) -> Result<BTreeMap<K, Balance>, D::Error>
        where
            K: Deserialize<'de> + Ord,
            D: Deserializer<'de>,
        {
            #[derive(serde::Deserialize)]
            struct Value(#[serde(with = "super")] Balance);
            let m: BTreeMap<K, Value> = BTreeMap::deserialize(d)?;
            Ok(m.into_iter().map(|(k, Value(v))| (k, v)).collect())
        }
    }
}
