//! Keys and accounts: SURIs → sr25519 accounts, the testnet-manager derivation
//! convention, dev accounts. Secrets stay in `SecretString` and never reach an
//! error message.

use crate::spec::ids::AccountId;
use crate::spec::model::{Desired, Role};
use secrecy::{ExposeSecret, SecretString};
use std::str::FromStr;
use subxt_signer::{sr25519, SecretUri};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The SURI is malformed. The SURI itself is deliberately not included.
    #[error("the secret for {what} is not a valid secret URI (mnemonic, 0x seed or //derivation path)")]
    BadUri { what: String },
    #[error("the secret for {what} could not be turned into an sr25519 key")]
    BadKey { what: String },
}

/// The sr25519 keypair of a SURI (`//Alice`, `<mnemonic>//a//b///password`, `0x<seed>`).
pub fn keypair(suri: &SecretString, what: &str) -> Result<sr25519::Keypair, KeyError> {
    let uri = SecretUri::from_str(suri.expose_secret()).map_err(|_| KeyError::BadUri { what: what.into() })?;
    sr25519::Keypair::from_uri(&uri).map_err(|_| KeyError::BadKey { what: what.into() })
}

/// The account of a SURI.
pub fn account(suri: &SecretString, what: &str) -> Result<AccountId, KeyError> {
    Ok(AccountId(keypair(suri, what)?.public_key().0))
}

/// `<root>//<node>//stash`: a validator's stash (testnet-manager convention).
pub fn stash_suri(root: &SecretString, node: &str) -> SecretString {
    SecretString::from(format!("{}//{node}//stash", root.expose_secret()))
}

/// `<root>//collator//<node>`: a collator's account (testnet-manager convention).
pub fn collator_suri(root: &SecretString, node: &str) -> SecretString {
    SecretString::from(format!("{}//collator//{node}", root.expose_secret()))
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

/// Fill `Node::account` for every node that has one: dev accounts for genesis
/// authorities, derived stashes for validators, derived collator accounts.
/// `root` may be `None` when no derivation root is configured or resolvable;
/// then only dev accounts are filled.
pub fn derive_accounts(desired: &mut Desired, root: Option<&SecretString>) -> Result<(), KeyError> {
    for group in &mut desired.groups {
        for node in &mut group.nodes {
            node.account = match (&node.dev_key, group.role, root) {
                (Some(dev), _, _) => Some(account(&dev_suri(dev), &format!("dev key {dev}"))?),
                (None, Role::Validator, Some(root)) => {
                    Some(account(&stash_suri(root, node.name.as_str()), "derivation_root")?)
                }
                (None, Role::Collator, Some(root)) => {
                    Some(account(&collator_suri(root, node.name.as_str()), "derivation_root")?)
                }
                _ => None,
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alice_vector() {
        let a = account(&dev_suri("alice"), "t").unwrap();
        assert_eq!(a.to_string(), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
    }

    #[test]
    fn bad_uri_does_not_leak() {
        let e = account(&SecretString::from("not a uri at all //x".to_string()), "sudo");
        if let Err(e) = e {
            assert!(!e.to_string().contains("not a uri"));
        }
    }
}
