//! Session keys without `author_rotateKeysWithOwner`: derive them from the
//! secret root offline, put them into the node's keystore with
//! `author_insertKey`, and build the ownership proof offline.
//!
//! Each key is `<root>//<node>//<key type>` (derivations go in front of a
//! `///password`, as everywhere in [`super::keys`]), so the keys of a node
//! are deterministic: inserting them again is idempotent and a re-apply
//! does not change `Session.NextKeys`.
//!
//! Runtime facts (rococo-local, polkadot 1.25.1; see `docs/chain.md`): the
//! encoded `SessionKeys` are the public keys concatenated in the runtime's
//! order, and the proof `Session.set_keys` checks is each key's signature
//! over `b"POP_" ++ owner` (the 32-byte stash), concatenated in the same
//! order. Which keys, in which order and scheme, is the [`SessionKeySlot`]
//! list ([`RELAY_SESSION_KEYS`] for rococo/westend relay runtimes).
//!
//! ed25519 (grandpa) follows substrate's `sp_core::ed25519`: the 32-byte seed
//! is the `0x` seed itself, or the first half of PBKDF2-HMAC-SHA512(BIP-39
//! entropy, "mnemonic" ++ password, 2048); each hard junction replaces it with
//! `blake2_256(SCALE(("Ed25519HDKD", seed, chain_code)))`; soft junctions are
//! refused.

use super::error::ChainError;
use super::keys::{self, extend_suri, KeyError};
use super::node_rpc::{GeneratedKeys, NodeRpc};
use crate::spec::ids::AccountId;
use parity_scale_codec::Encode;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use std::str::FromStr;
use subxt_signer::{bip39, DeriveJunction, SecretUri};

/// A key's signature scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Sr25519,
    Ed25519,
    /// secp256k1, 33-byte compressed public key, 65-byte recoverable signature.
    Ecdsa,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sr25519 => "sr25519",
            Scheme::Ed25519 => "ed25519",
            Scheme::Ecdsa => "ecdsa",
        }
    }
}

/// One field of a runtime's `SessionKeys`: its keystore key type and scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionKeySlot {
    /// The 4-character key type id (`gran`, `babe` …), as `author_insertKey` takes it.
    pub key_type: &'static str,
    pub scheme: Scheme,
}

const fn slot(key_type: &'static str, scheme: Scheme) -> SessionKeySlot {
    SessionKeySlot { key_type, scheme }
}

/// `SessionKeys` of the rococo and westend relay runtimes, in field order:
/// grandpa, babe, para_validator, para_assignment, authority_discovery, beefy.
pub const RELAY_SESSION_KEYS: &[SessionKeySlot] = &[
    slot("gran", Scheme::Ed25519),
    slot("babe", Scheme::Sr25519),
    slot("para", Scheme::Sr25519),
    slot("asgn", Scheme::Sr25519),
    slot("audi", Scheme::Sr25519),
    slot("beef", Scheme::Ecdsa),
];

/// `SessionKeys` of cumulus parachain templates: aura only.
pub const AURA_SESSION_KEYS: &[SessionKeySlot] = &[slot("aura", Scheme::Sr25519)];

/// What the proof's keys sign: `b"POP_" ++ owner`.
pub fn ownership_message(owner: &AccountId) -> Vec<u8> {
    [b"POP_".as_slice(), owner.0.as_slice()].concat()
}

/// One key to put into a node's keystore. `Debug` shows no secret.
#[derive(Debug)]
pub struct KeyInsert {
    pub key_type: &'static str,
    /// `<root>//<node>//<key type>`: travels to the node only.
    pub suri: SecretString,
    pub public: Vec<u8>,
}

impl KeyInsert {
    pub fn public_hex(&self) -> String {
        format!("0x{}", hex::encode(&self.public))
    }
}

/// Session keys derived offline: what `Session.set_keys` takes, and what to
/// insert into the node's keystore.
#[derive(Debug)]
pub struct SessionKeysMaterial {
    /// SCALE-encoded `SessionKeys` (the public keys concatenated).
    pub keys: Vec<u8>,
    /// The ownership proof (the signatures concatenated).
    pub proof: Vec<u8>,
    pub inserts: Vec<KeyInsert>,
}

impl SessionKeysMaterial {
    /// The same shape `author_rotateKeysWithOwner` gives.
    pub fn generated(&self) -> GeneratedKeys {
        GeneratedKeys {
            keys: self.keys.clone(),
            proof: self.proof.clone(),
        }
    }
}

/// `<root>//<node>//<key type>` (before any `///password`).
pub fn session_key_suri(root: &SecretString, node: &str, key_type: &str) -> SecretString {
    extend_suri(root, &[node, key_type])
}

/// Derive `node`'s session keys (one per `layout` slot) from `root` and sign
/// the ownership proof for `owner` (the stash that submits `set_keys`).
pub fn derive_session_keys(
    root: &SecretString,
    node: &str,
    owner: &AccountId,
    layout: &[SessionKeySlot],
) -> Result<SessionKeysMaterial, KeyError> {
    let message = ownership_message(owner);
    let mut material = SessionKeysMaterial {
        keys: Vec::new(),
        proof: Vec::new(),
        inserts: Vec::with_capacity(layout.len()),
    };
    for slot in layout {
        let suri = session_key_suri(root, node, slot.key_type);
        let what = format!("{node}'s {} session key", slot.key_type);
        let (public, signature) = match slot.scheme {
            Scheme::Sr25519 => {
                let kp = keys::keypair(&suri, &what)?;
                (kp.public_key().0.to_vec(), kp.sign(&message).0.to_vec())
            }
            Scheme::Ecdsa => {
                let kp = keys::ecdsa_keypair(&suri, &what)?;
                (kp.public_key().0.to_vec(), kp.sign(&message).0.to_vec())
            }
            Scheme::Ed25519 => {
                let sk = ed25519_signing_key(&suri, &what)?;
                let public: [u8; 32] = sk.verification_key().into();
                (public.to_vec(), sk.sign(&message).to_bytes().to_vec())
            }
        };
        material.keys.extend_from_slice(&public);
        material.proof.extend_from_slice(&signature);
        material.inserts.push(KeyInsert {
            key_type: slot.key_type,
            suri,
            public,
        });
    }
    Ok(material)
}

/// The ed25519 key of a SURI, as substrate derives it (hard junctions only).
pub fn ed25519_signing_key(
    suri: &SecretString,
    what: &str,
) -> Result<ed25519_zebra::SigningKey, KeyError> {
    let bad_uri = || KeyError::BadUri { what: what.into() };
    let bad_key = || KeyError::BadKey {
        what: what.into(),
        scheme: "ed25519",
    };
    let uri = SecretUri::from_str(suri.expose_secret()).map_err(|_| bad_uri())?;
    let phrase = uri.phrase.expose_secret();
    let mut seed = Zeroizing::new([0u8; 32]);
    if let Some(hex_seed) = phrase.strip_prefix("0x") {
        // A raw seed; substrate ignores the password here.
        let bytes = Zeroizing::new(hex::decode(hex_seed).map_err(|_| bad_key())?);
        if bytes.len() != 32 {
            return Err(bad_key());
        }
        seed.copy_from_slice(&bytes);
    } else {
        let mnemonic = bip39::Mnemonic::from_str(phrase).map_err(|_| bad_uri())?;
        let (entropy, len) = mnemonic.to_entropy_array();
        let password = uri.password.as_ref().map(|p| p.expose_secret());
        let big = mini_secret(&entropy[..len], password.unwrap_or("")).ok_or_else(bad_key)?;
        seed.copy_from_slice(&big[..32]);
    }
    for junction in &uri.junctions {
        match junction {
            DeriveJunction::Soft(_) => {
                return Err(KeyError::SoftJunction {
                    what: what.into(),
                    scheme: "ed25519",
                })
            }
            DeriveJunction::Hard(chain_code) => {
                *seed = ("Ed25519HDKD", *seed, *chain_code)
                    .using_encoded(sp_crypto_hashing::blake2_256);
            }
        }
    }
    Ok(ed25519_zebra::SigningKey::from(*seed))
}

/// substrate-bip39's `seed_from_entropy`: PBKDF2-HMAC-SHA512 over the
/// entropy (not the phrase, unlike BIP-39), salt `"mnemonic" ++ password`.
fn mini_secret(entropy: &[u8], password: &str) -> Option<Zeroizing<[u8; 64]>> {
    if entropy.len() < 16 || entropy.len() > 32 || entropy.len() % 4 != 0 {
        return None;
    }
    let salt = Zeroizing::new(format!("mnemonic{password}"));
    let mut seed = Zeroizing::new([0u8; 64]);
    pbkdf2::pbkdf2::<hmac::Hmac<sha2::Sha512>>(entropy, salt.as_bytes(), 2048, &mut *seed).ok()?;
    Some(seed)
}

/// How a node's session keys were obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `author_rotateKeysWithOwner` (fresh keys generated by the node).
    Rotated,
    /// Derived from the root, inserted with `author_insertKey`, proof built offline.
    Inserted,
}

/// Derive `node`'s keys from `root`, insert them into the node's keystore and
/// check the node now holds them (`author_hasSessionKeys`).
pub async fn insert_derived_session_keys(
    rpc: &NodeRpc,
    root: &SecretString,
    node: &str,
    owner: &AccountId,
    layout: &[SessionKeySlot],
) -> Result<GeneratedKeys, ChainError> {
    let material = derive_session_keys(root, node, owner, layout)?;
    rpc.insert_session_keys(&material).await?;
    if !rpc.has_session_keys(&material.keys).await? {
        return Err(ChainError::Rpc {
            endpoint: rpc.endpoint().to_string(),
            what: "author_hasSessionKeys".into(),
            reason: format!("the node does not report the {node} keys just inserted"),
        });
    }
    Ok(material.generated())
}

/// Session keys with an ownership proof for `owner`: the node's
/// `author_rotateKeysWithOwner` where it has it; otherwise, when `fallback`
/// gives the derivation root and node name, [`insert_derived_session_keys`].
pub async fn obtain_session_keys(
    rpc: &NodeRpc,
    owner: &AccountId,
    fallback: Option<(&SecretString, &str)>,
    layout: &[SessionKeySlot],
) -> Result<(GeneratedKeys, KeySource), ChainError> {
    match rpc.rotate_keys_with_owner(owner).await {
        Ok(keys) => Ok((keys, KeySource::Rotated)),
        Err(e @ ChainError::MethodNotFound { .. }) => match fallback {
            Some((root, node)) => {
                let keys = insert_derived_session_keys(rpc, root, node, owner, layout).await?;
                Ok((keys, KeySource::Inserted))
            }
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> SecretString {
        SecretString::from(x.to_string())
    }

    fn ed_public(suri: &str) -> String {
        let sk = ed25519_signing_key(&s(suri), "t").unwrap();
        let public: [u8; 32] = sk.verification_key().into();
        hex::encode(public)
    }

    // Vectors from `polkadot key inspect --scheme ed25519 <suri>` (polkadot 1.25.1).
    const MNEMONIC: &str =
        "caution juice atom organ advance problem want pledge someone senior holiday very";

    #[test]
    fn ed25519_dev_and_hard_derivations_match_polkadot() {
        assert_eq!(
            ed_public("//Alice"),
            "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
        );
        assert_eq!(
            ed_public("//Alice//gran"),
            "0f6b90eff618eb0e3b4f6796b24ca0f45f9bd14323eae45d46d2a38fb6b1bd59"
        );
        assert_eq!(
            ed_public("//paraform-test//ed//gran///pw"),
            "17b7680bfaa77792287761f30a6964f024d5a97119c40b9ab4af8572740220b1"
        );
    }

    #[test]
    fn ed25519_mnemonic_password_and_seed_match_polkadot() {
        assert_eq!(
            ed_public(&format!("{MNEMONIC}//x//gran")),
            "99c03098d83430f4ddd7f9466edc4d99c772da1991e4605edb608585879d00fa"
        );
        // With a password; its secret seed, given as 0x seed, is the same key.
        let with_pw = ed_public(&format!("{MNEMONIC}///pw"));
        assert_eq!(
            with_pw,
            "66fbe2d50929b5bab8a27775b91103fe53f9308178ccd15857417d63d652a866"
        );
        let seed = "0x72a030c015ad3d3177d850cefdfabfe840f9a1576d759eb93bf4508321b7f1c0";
        assert_eq!(ed_public(seed), with_pw);
        assert_eq!(
            ed_public(&format!("{seed}//x")),
            "90d6a3080d08ad18f5aec0e60aac77365b4ce7a2f1e2facf3e511043e49f9696"
        );
    }

    #[test]
    fn ed25519_soft_junction_and_bad_seed_are_errors_without_the_secret() {
        let e = ed25519_signing_key(&s("//Secret/soft"), "grandpa").unwrap_err();
        assert!(matches!(e, KeyError::SoftJunction { .. }), "{e:?}");
        let msg = format!("{e} {e:?}");
        assert!(!msg.contains("Secret") && msg.contains("grandpa"), "{msg}");
        let e = ed25519_signing_key(&s("0xabcd"), "grandpa").unwrap_err();
        assert!(matches!(e, KeyError::BadKey { .. }), "{e:?}");
        let e = ed25519_signing_key(&s("not a phrase at all"), "grandpa").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("phrase at"), "{e:?}");
    }

    #[test]
    fn relay_keys_match_polkadot_and_the_proof_verifies() {
        // `polkadot key inspect --scheme <s> "//Root//v0//<type>///pw"`.
        let want = [
            "174f38cee116bfa7640ef40d80997d1bb11b81da82c86efbdb7b7d305bf0d907",
            "52b97660d8f9ffcedc95e4763a79f6e0c6707e513d0d3e7380656ea413657256",
            "62aa168e4b136812e957e153a2da54064ca83b563f0b984d81aad1fdec2c6708",
            "ee723bcbdc7b7d5cd90f1ba987b0f186d16bb40ecb23efdea3d12da71ed3c76c",
            "d0019808e7e58f8018c1993b9a9f57541cc77fa2a4674691c8de42bf8a3a6246",
            "03e4a4b99f1bee229748f58138a76d747a4e49cf0f341282ade53bcb7d62c5b724",
        ];
        let owner = AccountId([7; 32]);
        let m = derive_session_keys(&s("//Root///pw"), "v0", &owner, RELAY_SESSION_KEYS).unwrap();
        assert_eq!(m.keys.len(), 193);
        assert_eq!(m.proof.len(), 385);
        assert_eq!(hex::encode(&m.keys), want.concat());
        let types: Vec<&str> = m.inserts.iter().map(|i| i.key_type).collect();
        assert_eq!(types, ["gran", "babe", "para", "asgn", "audi", "beef"]);
        for (insert, want) in m.inserts.iter().zip(want) {
            assert_eq!(insert.public_hex(), format!("0x{want}"));
            assert_eq!(
                insert.suri.expose_secret(),
                format!("//Root//v0//{}///pw", insert.key_type)
            );
        }
        assert!(!format!("{m:?}").contains("//Root"), "Debug leaks the SURI");
        // Each signature verifies over b"POP_" ++ owner with its key.
        let msg = ownership_message(&owner);
        let p = &m.proof;
        let vk = ed25519_zebra::VerificationKey::try_from(&m.keys[..32]).unwrap();
        let sig = ed25519_zebra::Signature::from_bytes(p[..64].try_into().unwrap());
        assert!(vk.verify(&sig, &msg).is_ok());
        for i in 0..4 {
            let public: [u8; 32] = m.keys[32 + 32 * i..64 + 32 * i].try_into().unwrap();
            let sig: [u8; 64] = p[64 + 64 * i..128 + 64 * i].try_into().unwrap();
            assert!(subxt_signer::sr25519::verify(
                &subxt_signer::sr25519::Signature(sig),
                &msg,
                &subxt_signer::sr25519::PublicKey(public)
            ));
            assert!(!subxt_signer::sr25519::verify(
                &subxt_signer::sr25519::Signature(sig),
                ownership_message(&AccountId([8; 32])),
                &subxt_signer::sr25519::PublicKey(public)
            ));
        }
        let public: [u8; 33] = m.keys[160..].try_into().unwrap();
        let sig: [u8; 65] = p[320..].try_into().unwrap();
        assert!(subxt_signer::ecdsa::verify(
            &subxt_signer::ecdsa::Signature(sig),
            &msg,
            &subxt_signer::ecdsa::PublicKey(public)
        ));
        // Deterministic: the same keys again (inserting is idempotent).
        let again =
            derive_session_keys(&s("//Root///pw"), "v0", &owner, RELAY_SESSION_KEYS).unwrap();
        assert_eq!(again.keys, m.keys);
    }

    #[test]
    fn aura_layout_is_one_sr25519_key() {
        let owner = AccountId([1; 32]);
        let m = derive_session_keys(&s("//Root"), "c-1", &owner, AURA_SESSION_KEYS).unwrap();
        let want = keys::keypair(&s("//Root//c-1//aura"), "t").unwrap();
        assert_eq!(m.keys, want.public_key().0.to_vec());
        assert_eq!(m.proof.len(), 64);
    }
}
