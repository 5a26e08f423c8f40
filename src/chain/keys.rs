//! Keys and accounts: SURIs → keypairs and accounts, the testnet-manager
//! derivation convention, dev accounts, SS58 with a chain's prefix.
//!
//! SURIs are `<mnemonic | 0x seed | dev phrase><//hard | /soft>*<///password>`
//! as in `subkey`/`polkadot key inspect`. Secrets stay in `SecretString` and
//! never reach an error message or a log line: errors name *what* the secret
//! was for (`derivation_root`, `sudo`), never its value.
//!
//! Schemes: sr25519 (accounts, babe/para/authority-discovery keys) and ecdsa
//! (beefy) via `subxt-signer`. ed25519 (grandpa), which `subxt-signer` 0.44
//! lacks, is in [`crate::chain::session_keys`] (substrate's derivation over
//! `ed25519-zebra`).

use crate::spec::ids::AccountId;
use crate::spec::model::{Desired, Role};
use secrecy::{ExposeSecret, SecretString};
use std::str::FromStr;
use subxt_signer::{ecdsa, sr25519, DeriveJunction, SecretUri};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The SURI is malformed. The SURI itself is deliberately not included.
    #[error(
        "the secret for {what} is not a valid secret URI (mnemonic, 0x seed or //derivation path)"
    )]
    BadUri { what: String },
    #[error("the secret for {what} could not be turned into an {scheme} key")]
    BadKey { what: String, scheme: &'static str },
    /// ed25519 and ecdsa keys have hard (`//`) derivations only.
    #[error("the secret for {what} has a soft (/) derivation, which {scheme} keys do not support")]
    SoftJunction { what: String, scheme: &'static str },
    /// An SS58 address that does not decode (the address is public, so shown).
    #[error("{address:?} is not a valid SS58 address: {reason}")]
    BadAddress {
        address: String,
        reason: &'static str,
    },
}

fn uri(suri: &SecretString, what: &str) -> Result<SecretUri, KeyError> {
    SecretUri::from_str(suri.expose_secret()).map_err(|_| KeyError::BadUri { what: what.into() })
}

/// The sr25519 keypair of a SURI (`//Alice`, `<mnemonic>//a//b///password`, `0x<seed>`).
pub fn keypair(suri: &SecretString, what: &str) -> Result<sr25519::Keypair, KeyError> {
    sr25519::Keypair::from_uri(&uri(suri, what)?).map_err(|_| KeyError::BadKey {
        what: what.into(),
        scheme: "sr25519",
    })
}

/// The ecdsa (secp256k1) keypair of a SURI (hard derivations only, as in substrate).
pub fn ecdsa_keypair(suri: &SecretString, what: &str) -> Result<ecdsa::Keypair, KeyError> {
    ecdsa::Keypair::from_uri(&uri(suri, what)?).map_err(|_| KeyError::BadKey {
        what: what.into(),
        scheme: "ecdsa",
    })
}

/// The (sr25519) account of a SURI.
pub fn account(suri: &SecretString, what: &str) -> Result<AccountId, KeyError> {
    Ok(AccountId(keypair(suri, what)?.public_key().0))
}

/// The account of an ecdsa key: `blake2_256(compressed public key)`.
pub fn ecdsa_account(suri: &SecretString, what: &str) -> Result<AccountId, KeyError> {
    Ok(AccountId(sp_crypto_hashing::blake2_256(
        &ecdsa_keypair(suri, what)?.public_key().0,
    )))
}

/// `<root>//<node>//stash`: a validator's stash (testnet-manager convention).
pub fn stash_suri(root: &SecretString, node: &str) -> SecretString {
    extend_suri(root, &[node, "stash"])
}

/// `<root>//collator//<node>`: a collator's account (testnet-manager convention).
pub fn collator_suri(root: &SecretString, node: &str) -> SecretString {
    extend_suri(root, &["collator", node])
}

/// Appends hard junctions to a SURI, in front of its `///password` if it has
/// one (appending after it would only lengthen the password).
pub(crate) fn extend_suri(root: &SecretString, junctions: &[&str]) -> SecretString {
    let root = root.expose_secret();
    let (head, password) = match root.find("///") {
        Some(i) => (&root[..i], &root[i..]),
        None => (root, ""),
    };
    let path: String = junctions.iter().map(|j| format!("//{j}")).collect();
    SecretString::from(format!("{head}{path}{password}"))
}

/// `root`'s keypair derived further by hard junctions: the same key as
/// `keypair(extend_suri(root, junctions))` without re-running the BIP-39
/// key stretching for every node (1,000 nodes: seconds → milliseconds).
fn derive_hard(root: &sr25519::Keypair, junctions: &[&str]) -> sr25519::Keypair {
    root.derive(
        junctions
            .iter()
            .map(|j| DeriveJunction::from(format!("/{j}"))),
    )
}

/// `alice` → `//Alice`: the well-known dev SURI (public by design).
pub fn dev_suri(dev_key: &str) -> SecretString {
    let mut c = dev_key.chars();
    let cap: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    };
    SecretString::from(format!("//{cap}"))
}

/// The on-chain account of a dev-key node in the built-in dev chains' genesis.
///
/// Relay validators: the genesis `Session.Validators` of `rococo-local`,
/// `westend-local` and polkadot's `dev` hold the **stash** `//Alice//stash`
/// (measured: rococo-local's set is `5GNJqTPy…` = `//Alice//stash` and
/// `5HpG9w8E…` = `//Bob//stash`), not `//Alice`. Collators of the built-in
/// parachain specs are invulnerable as `//Alice`, `//Bob` themselves.
pub fn dev_authority_suri(dev_key: &str, role: Role) -> SecretString {
    let base = dev_suri(dev_key);
    match role {
        Role::Validator => SecretString::from(format!("{}//stash", base.expose_secret())),
        _ => base,
    }
}

/// Fill `Node::account` for every node that has one: genesis authority
/// accounts for dev-key nodes ([`dev_authority_suri`]), derived stashes for
/// validators, derived collator accounts. `root` may be `None` when no
/// derivation root is configured or resolvable; then only dev accounts are
/// filled.
pub fn derive_accounts(desired: &mut Desired, root: Option<&SecretString>) -> Result<(), KeyError> {
    let root = root.map(|r| keypair(r, "derivation_root")).transpose()?;
    let derived = |junctions: &[&str]| {
        root.as_ref()
            .map(|r| AccountId(derive_hard(r, junctions).public_key().0))
    };
    for group in &mut desired.groups {
        for node in &mut group.nodes {
            let name = node.name.as_str();
            node.account = match (&node.dev_key, group.role) {
                (Some(dev), role) => Some(account(
                    &dev_authority_suri(dev, role),
                    &format!("dev key {dev}"),
                )?),
                (None, Role::Validator) => derived(&[name, "stash"]),
                (None, Role::Collator) => derived(&["collator", name]),
                _ => None,
            };
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ SS58

const SS58_PRE: &[u8] = b"SS58PRE";

fn ss58_checksum(data: &[u8]) -> [u8; 64] {
    sp_crypto_hashing::blake2_512(&[SS58_PRE, data].concat())
}

/// SS58 address of `account` with the chain's `prefix` (`System.SS58Prefix`:
/// 42 generic substrate, 0 polkadot, 2 kusama). Prefixes ≥ 16384 are invalid
/// and rendered with 42.
pub fn ss58_encode(account: &AccountId, prefix: u16) -> String {
    let prefix = if prefix < 16_384 { prefix } else { 42 };
    let mut v: Vec<u8> = match prefix {
        0..=63 => vec![prefix as u8],
        _ => {
            // Two-byte form (see the SS58 spec).
            let first = ((prefix & 0b0000_0000_1111_1100) as u8) >> 2;
            let second = ((prefix >> 8) as u8) | (((prefix & 0b0000_0000_0000_0011) as u8) << 6);
            vec![first | 0b0100_0000, second]
        }
    };
    v.extend_from_slice(&account.0);
    let sum = ss58_checksum(&v);
    v.extend_from_slice(&sum[..2]);
    bs58_encode(&v)
}

/// Decode an SS58 address into its account and prefix.
pub fn ss58_decode(address: &str) -> Result<(AccountId, u16), KeyError> {
    let bad = |reason| KeyError::BadAddress {
        address: address.to_string(),
        reason,
    };
    let data = bs58_decode(address).ok_or_else(|| bad("not base58"))?;
    let (prefix, prefix_len) = match data.first() {
        Some(&b) if b < 64 => (b as u16, 1),
        Some(&b) if b < 128 => {
            let lower = (b << 2) | (data.get(1).copied().ok_or_else(|| bad("too short"))? >> 6);
            let upper = data.get(1).copied().unwrap_or(0) & 0b0011_1111;
            ((lower as u16) | ((upper as u16) << 8), 2)
        }
        _ => return Err(bad("reserved prefix")),
    };
    if data.len() != prefix_len + 32 + 2 {
        return Err(bad("not a 32-byte account"));
    }
    let body = &data[..prefix_len + 32];
    let sum = ss58_checksum(body);
    if data[prefix_len + 32..] != sum[..2] {
        return Err(bad("bad checksum"));
    }
    let mut acc = [0u8; 32];
    acc.copy_from_slice(&data[prefix_len..prefix_len + 32]);
    Ok((AccountId(acc), prefix))
}

const B58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn bs58_encode(input: &[u8]) -> String {
    let zeros = input.iter().take_while(|b| **b == 0).count();
    let mut digits: Vec<u8> = Vec::with_capacity(input.len() * 138 / 100 + 1);
    for &byte in &input[zeros..] {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            carry += (*d as u32) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s = String::with_capacity(zeros + digits.len());
    s.extend(std::iter::repeat_n('1', zeros));
    s.extend(digits.iter().rev().map(|d| B58[*d as usize] as char));
    s
}

fn bs58_decode(s: &str) -> Option<Vec<u8>> {
    let zeros = s.bytes().take_while(|b| *b == b'1').count();
    let mut bytes: Vec<u8> = Vec::new();
    for c in s.bytes().skip(zeros) {
        let mut carry = B58.iter().position(|x| *x == c)? as u32;
        for b in bytes.iter_mut() {
            carry += (*b as u32) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0u8; zeros];
    out.extend(bytes.iter().rev());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> SecretString {
        SecretString::from(x.to_string())
    }

    // Vectors cross-checked with `polkadot key inspect` (polkadot 1.25.1).
    const MNEMONIC: &str =
        "caution juice atom organ advance problem want pledge someone senior holiday very";

    #[test]
    fn derivations_go_before_the_password() {
        // `polkadot key inspect "//Root//validator-0//stash///pw"` and
        // `"//Root//collator//c-1///pw"`.
        let root = s("//Root///pw");
        let stash = account(&stash_suri(&root, "validator-0"), "t").unwrap();
        assert_eq!(
            stash.to_string(),
            "5FPKQj7drC41i8JVf7Etn8qvRtWWK7jXSECSpD8HSGE13XR4"
        );
        let collator = account(&collator_suri(&root, "c-1"), "t").unwrap();
        assert_eq!(
            collator.to_string(),
            "5EL8Lep72Wmz77YKytWfZZHvxFj8qrbbpdAAf7sZwUZo55ox"
        );
    }

    #[test]
    fn cached_root_derivation_matches_the_suri() {
        for root in ["//Root///pw", MNEMONIC, "//paraform"] {
            let kp = keypair(&s(root), "t").unwrap();
            for node in [
                "validator-0",
                "a-very-long-node-name-that-exceeds-thirty-two-bytes-17",
            ] {
                let fast = AccountId(derive_hard(&kp, &[node, "stash"]).public_key().0);
                assert_eq!(
                    fast,
                    account(&stash_suri(&s(root), node), "t").unwrap(),
                    "{node}"
                );
            }
        }
    }

    #[test]
    fn alice_vector() {
        let a = account(&dev_suri("alice"), "t").unwrap();
        assert_eq!(
            a.to_string(),
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        );
    }

    #[test]
    fn bob_and_stash_vectors() {
        assert_eq!(
            account(&dev_suri("bob"), "t").unwrap().to_string(),
            "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
        );
        assert_eq!(
            account(&dev_authority_suri("alice", Role::Validator), "t")
                .unwrap()
                .to_string(),
            "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY"
        );
        assert_eq!(
            account(&dev_authority_suri("bob", Role::Validator), "t")
                .unwrap()
                .to_string(),
            "5HpG9w8EBLe5XCrbczpwq5TSXvedjrBGCwqxK1iQ7qUsSWFc"
        );
        assert_eq!(
            account(&dev_authority_suri("alice", Role::Collator), "t")
                .unwrap()
                .to_string(),
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        );
    }

    #[test]
    fn mnemonic_seed_and_paths() {
        // subkey's documented example phrase.
        let from_phrase = account(&s(MNEMONIC), "t").unwrap();
        assert_eq!(
            hex::encode(from_phrase.0),
            "d6a3105d6768e956e9e5d41050ac29843f98561410d3a47f9dd5b3b227ab8746"
        );
        assert_eq!(
            from_phrase.to_string(),
            "5Gv8YYFu8H1btvmrJy9FjjAWfb99wrhV3uhPFoNEr918utyR"
        );
        // Its seed gives the same key.
        let from_seed = account(
            &s("0xc8fa03532fb22ee1f7f6908b9c02b4e72483f0dbd66e4cd456b8f34c6230b849"),
            "t",
        )
        .unwrap();
        assert_eq!(from_seed, from_phrase);
        // Hard + soft derivation + password.
        let derived = account(&s(&format!("{MNEMONIC}//hard/soft///pw")), "t").unwrap();
        assert_eq!(
            derived.to_string(),
            "5Gv7yTomVDGmzygJuQYNpN1m27Azd4dNu4aTBuPk1bPMiKS3"
        );
    }

    #[test]
    fn ecdsa_vector() {
        let k = ecdsa_keypair(&dev_suri("alice"), "t").unwrap();
        assert_eq!(
            hex::encode(k.public_key().0),
            "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1"
        );
        assert_eq!(
            ecdsa_account(&dev_suri("alice"), "t").unwrap().to_string(),
            "5C7C2Z5sWbytvHpuLTvzKunnnRwQxft1jiqrLD5rhucQ5S9X"
        );
    }

    #[test]
    fn ss58_prefixes_round_trip() {
        let alice = account(&dev_suri("alice"), "t").unwrap();
        assert_eq!(
            ss58_encode(&alice, 42),
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        );
        assert_eq!(
            ss58_encode(&alice, 2),
            "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"
        );
        for prefix in [0u16, 2, 42, 63, 64, 255, 1284, 16383] {
            let a = ss58_encode(&alice, prefix);
            assert_eq!(
                ss58_decode(&a).unwrap(),
                (alice.clone(), prefix),
                "prefix {prefix}"
            );
        }
        // A flipped character breaks the checksum.
        let mut bad = ss58_encode(&alice, 42).into_bytes();
        bad[10] = if bad[10] == b'a' { b'b' } else { b'a' };
        assert!(ss58_decode(std::str::from_utf8(&bad).unwrap()).is_err());
    }

    #[test]
    fn bad_uri_does_not_leak() {
        let secret = "not a uri at all //x";
        let e = account(&s(secret), "sudo").expect_err("must fail");
        let msg = e.to_string();
        assert!(!msg.contains("not a uri"), "{msg}");
        assert!(msg.contains("sudo"), "{msg}");
        let dbg = format!("{e:?}");
        assert!(!dbg.contains("not a uri"), "{dbg}");
    }
}
