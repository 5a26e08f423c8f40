//! The chain as a resource: reads, call builders, submission and keys, over
//! subxt's **dynamic** API (metadata fetched at runtime; no codegen), so one
//! binary serves PoA (rococo-like) and PoS (westend-like) runtimes and their
//! upgrades. Design notes and measured runtime facts: `docs/chain.md`.
//!
//! # API overview
//!
//! ```text
//! connect      ChainClient::connect(endpoint, &ConnectOptions) -> ChainClient
//!              (connect timeout + retries with backoff; every request bounded by
//!              request_timeout; client.counter() counts RPC round trips)
//! observe      read::observe_relay(&client, &accounts) -> ChainState        (one pinned finalized block)
//!              read::observe_relay_detailed(..) -> (ChainState, RelayDetails) (+ cores, nonces, round trips)
//!              read::observe_para(&collator_client) -> ParachainState
//! node RPC     node_rpc::NodeRpc::{connect, health, sync_state, local_peer_id, version,
//!                                  has_session_keys, rotate_keys_with_owner, insert_key,
//!                                  insert_session_keys}
//!              node_rpc::probe_nodes(nodes, &opts, concurrency) -> BTreeMap<NodeName, ObservedNode>
//!              node_rpc::para_genesis(&collator_client) -> ParaGenesis { head, code }   (block #0)
//! session keys session_keys::obtain_session_keys(&rpc, &owner, Some((&root, node)), RELAY_SESSION_KEYS)
//!                  -> (GeneratedKeys, Rotated | Inserted)   (rotate, else derive + insert + offline proof)
//!              session_keys::derive_session_keys(&root, node, &owner, layout) -> SessionKeysMaterial
//! calls        calls::{sudo, batch_all, set_keys, register_validators, deregister_validators,
//!                      staking_bond, staking_validate, staking_chill,
//!                      sudo_schedule_para_initialize, sudo_schedule_para_cleanup,
//!                      set_coretime_cores, assign_core, fund, transfer_keep_alive,
//!                      add_invulnerable, remove_invulnerable, set_invulnerables} -> Call
//!              Call::name() -> "Sudo.sudo(ValidatorManager.register_validators)"  (for plans)
//! submit       submit::submit(&Target { client, chain, options, recorder }, &signer, intent_id, &call)
//!                  -> Result<Finalized, ChainError>        (finalized + inner result decoded)
//!              submit::submit_all(&target, Vec<SignerBatch>)   (signers in parallel)
//!              recorder.record(&SubmissionRecord) runs BEFORE the transaction is sent and
//!              must journal it durably; if it fails, nothing is sent (NotJournaled).
//!              submit::find_submission(&client, &record) -> Landed | NotLanded | Expired
//! keys         keys::{keypair, ecdsa_keypair, account, stash_suri, collator_suri, dev_suri,
//!                     dev_authority_suri, derive_accounts, ss58_encode, ss58_decode}
//! errors       ChainError: Connect | Timeout | Rpc | MethodNotFound | NotInRuntime | Decode |
//!              Encode | Rejected | DispatchFailed | SudoCallFailed | BatchInterrupted |
//!              Expired | Key | NotJournaled | Invalid      (dispatch failures carry pallet + error names)
//! ```
//!
//! Everything that talks to a node is bounded in time; nothing here panics
//! on chain or user data; secrets (SURIs) appear in no error or log.

pub mod calls;
pub mod client;
pub mod error;
pub mod intent;
pub mod keys;
pub mod node_rpc;
pub mod read;
pub mod session_keys;
pub mod storage;
pub mod submit;

pub use client::{ChainClient, ConnectOptions, RpcCounter};
pub use error::{ChainError, DispatchFailure};
