//! Secret references (`env:NAME`, `file:PATH`, `k8s:SECRET/KEY`): parsing, and
//! resolution of the ones the CLI can read itself. Errors name the reference,
//! never the value.

use super::model::SecretRef;
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// Why a `[secrets]` value is not a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// The value looks like a key itself (SURI, mnemonic, hex seed). The value
    /// is deliberately not part of the error.
    #[error("a secret value is written inline")]
    InlineSecret,
    #[error("unknown secret scheme `{0}`")]
    UnknownScheme(String),
    #[error("no secret scheme (expected `env:`, `file:` or `k8s:`)")]
    NoScheme,
    #[error("malformed `{scheme}:` reference: {why}")]
    Malformed {
        scheme: &'static str,
        why: &'static str,
    },
}

/// Parse `env:NAME`, `file:PATH` or `k8s:SECRET/KEY`.
pub fn parse_ref(s: &str) -> Result<SecretRef, RefError> {
    if looks_like_secret(s) {
        return Err(RefError::InlineSecret);
    }
    let Some((scheme, rest)) = s.split_once(':') else {
        return Err(RefError::NoScheme);
    };
    match scheme {
        "env" => {
            let ok = rest
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(RefError::Malformed {
                    scheme: "env",
                    why: "the variable name must be letters, digits and `_`, not starting with a digit",
                });
            }
            Ok(SecretRef::Env {
                name: rest.to_string(),
            })
        }
        "file" => {
            if rest.is_empty() {
                return Err(RefError::Malformed {
                    scheme: "file",
                    why: "the path is empty",
                });
            }
            Ok(SecretRef::File {
                path: PathBuf::from(rest),
            })
        }
        "k8s" => {
            let Some((secret, key)) = rest.split_once('/') else {
                return Err(RefError::Malformed {
                    scheme: "k8s",
                    why: "expected `k8s:SECRET/KEY`",
                });
            };
            let dns = |s: &str| {
                !s.is_empty()
                    && s.len() <= 253
                    && s.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                    })
            };
            let key_ok = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            };
            if !dns(secret) {
                return Err(RefError::Malformed {
                    scheme: "k8s",
                    why: "the Secret name must be a lowercase DNS name",
                });
            }
            if !key_ok(key) {
                return Err(RefError::Malformed {
                    scheme: "k8s",
                    why: "the key must be letters, digits, `-`, `_` or `.`",
                });
            }
            Ok(SecretRef::K8s {
                secret: secret.to_string(),
                key: key.to_string(),
            })
        }
        other => {
            // Keep the scheme short and printable: it is echoed in the error.
            if other.len() > 16 || !other.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(RefError::NoScheme);
            }
            Err(RefError::UnknownScheme(other.to_string()))
        }
    }
}

/// Heuristic for "this is a key, not a reference": a derivation path
/// (`//Alice`, `<phrase>//stash`), a 0x hex seed, or a phrase of 12+ words.
pub fn looks_like_secret(s: &str) -> bool {
    let t = s.trim();
    if t.starts_with("//") || t.contains("//") && !t.contains("://") {
        return true;
    }
    if let Some(hex) = t.strip_prefix("0x") {
        if hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return true;
        }
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    words.len() >= 12
        && words
            .iter()
            .all(|w| w.chars().all(|c| c.is_ascii_lowercase()))
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{reference} is not set")]
    EnvNotSet { reference: String },
    #[error("{reference} is not valid unicode")]
    EnvNotUnicode { reference: String },
    #[error("{reference} is empty")]
    Empty { reference: String },
    #[error("{reference} could not be read ({path}): {kind}")]
    FileUnreadable {
        reference: String,
        path: PathBuf,
        kind: std::io::ErrorKind,
    },
    #[error("{reference} is not valid UTF-8")]
    FileNotUtf8 { reference: String },
    #[error("{reference} is a Kubernetes Secret: only a network with provider = \"kubernetes\" reads it (from its namespace); use env: or file: here")]
    K8sNotResolvableHere { reference: String },
    #[error("{reference} could not be read from the cluster: {reason}")]
    K8sUnreadable { reference: String, reason: String },
}

/// Read the value a reference points at. `file:` paths are relative to
/// `base_dir` (the network directory); one trailing newline is trimmed.
pub fn resolve(r: &SecretRef, base_dir: &Path) -> Result<SecretString, SecretError> {
    let reference = r.to_string();
    let value = match r {
        SecretRef::Env { name } => match std::env::var(name) {
            Ok(v) => v,
            Err(std::env::VarError::NotPresent) => {
                return Err(SecretError::EnvNotSet { reference })
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(SecretError::EnvNotUnicode { reference })
            }
        },
        SecretRef::File { path } => {
            let full = if path.is_absolute() {
                path.clone()
            } else {
                base_dir.join(path)
            };
            let bytes = std::fs::read(&full).map_err(|e| SecretError::FileUnreadable {
                reference: reference.clone(),
                path: full.clone(),
                kind: e.kind(),
            })?;
            String::from_utf8(bytes).map_err(|_| SecretError::FileNotUtf8 {
                reference: reference.clone(),
            })?
        }
        SecretRef::K8s { .. } => return Err(SecretError::K8sNotResolvableHere { reference }),
    };
    from_value(reference, value)
}

/// A secret read from wherever `reference` points: one trailing newline
/// trimmed, empty values refused.
pub fn from_value(reference: String, value: String) -> Result<SecretString, SecretError> {
    let trimmed = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .unwrap_or(&value);
    if trimmed.trim().is_empty() {
        return Err(SecretError::Empty { reference });
    }
    Ok(SecretString::from(trimmed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_schemes() {
        assert_eq!(
            parse_ref("env:PARAFORM_SUDO"),
            Ok(SecretRef::Env {
                name: "PARAFORM_SUDO".into()
            })
        );
        assert_eq!(
            parse_ref("file:keys/sudo"),
            Ok(SecretRef::File {
                path: "keys/sudo".into()
            })
        );
        assert_eq!(
            parse_ref("k8s:sudo-key/suri"),
            Ok(SecretRef::K8s {
                secret: "sudo-key".into(),
                key: "suri".into()
            })
        );
        for r in ["env:A", "file:/x", "k8s:a/b"] {
            assert_eq!(parse_ref(r).map(|r| r.to_string()).as_deref(), Ok(r));
        }
    }

    #[test]
    fn rejects_inline_secrets_and_unknown_schemes() {
        assert_eq!(parse_ref("//Alice"), Err(RefError::InlineSecret));
        assert_eq!(parse_ref("env:X//stash"), Err(RefError::InlineSecret));
        assert_eq!(
            parse_ref("0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            Err(RefError::InlineSecret)
        );
        let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
        assert_eq!(parse_ref(phrase), Err(RefError::InlineSecret));
        assert_eq!(
            parse_ref("vault:x"),
            Err(RefError::UnknownScheme("vault".into()))
        );
        assert_eq!(parse_ref("PARAFORM_SUDO"), Err(RefError::NoScheme));
        assert!(matches!(
            parse_ref("env:1X"),
            Err(RefError::Malformed { .. })
        ));
        assert!(matches!(
            parse_ref("k8s:nokey"),
            Err(RefError::Malformed { .. })
        ));
    }
}
