//! Chain layer against a REAL polkadot (rococo-local, fast-runtime): Alice
//! and Bob validate, a third `--validator` node ("dave") gets rotated keys.
//!
//! One network is shared by the scenarios of `rococo_local_suite` (starting
//! nodes costs ~40 s on two cores); every scenario asserts on chain state
//! read back from the node, not on return values. Scenario failures are
//! collected and reported together. The binary comes from
//! `tests/support` (POLKADOT_BIN, PATH, or ../shared/bin): never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

use paraform::chain::calls::{self, Arg, Call, ParaKind};
use paraform::chain::keys;
use paraform::chain::node_rpc::{self, NodeRpc};
use paraform::chain::read::{observe_relay, observe_relay_detailed};
use paraform::chain::submit::{
    self, find_submission, SignerBatch, SubmissionRecord, SubmissionStatus, SubmitOptions, Target,
};
use paraform::chain::{ChainClient, ChainError, ConnectOptions, DispatchFailure};
use paraform::observe::model::ParaLifecycle;
use paraform::spec::ids::{AccountId, HexHash, NodeName, ParaId};
use parity_scale_codec::Decode;
use secrecy::SecretString;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subxt::dynamic::Value;
use subxt_signer::sr25519::Keypair;
use support::TestNetwork;

const UNIT: u128 = 1_000_000_000_000;

/// The smallest validation code the PVF pre-check accepts: a wasm module
/// exporting `memory`, `__heap_base` and `validate_block(i32, i32) -> i64`
/// (it is never executed: no collator runs for the test para).
const TINY_PVF: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7e, // type: (i32, i32) -> i64
    0x03, 0x02, 0x01, 0x00, // function 0 has type 0
    0x05, 0x03, 0x01, 0x00, 0x11, // memory: min 17 pages
    0x06, 0x08, 0x01, 0x7f, 0x00, 0x41, 0x80, 0x80, 0x04, 0x0b, // global i32 = 65536
    0x07, 0x29, 0x03, // exports
    0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, 0x0e, b'v', b'a', b'l', b'i', b'd', b'a',
    b't', b'e', b'_', b'b', b'l', b'o', b'c', b'k', 0x00, 0x00, 0x0b, b'_', b'_', b'h', b'e', b'a',
    b'p', b'_', b'b', b'a', b's', b'e', 0x03, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x00,
    0x0b, // code: i64.const 0
];
/// Well-known storage keys (twox128 pallet ++ twox128 entry), independent of the code under test.
const SESSION_VALIDATORS_KEY: &str =
    "0xcec5070d609dd3497f72bde07fc96ba088dcde934c658227ee1dfafcd6e16903";

fn dev(name: &str) -> Keypair {
    keys::keypair(&keys::dev_suri(name), name).expect("dev key")
}

fn acct(k: &Keypair) -> AccountId {
    AccountId(k.public_key().0)
}

fn root() -> SecretString {
    SecretString::from("//paraform-test".to_string())
}

fn derived(path: &str) -> Keypair {
    keys::keypair(
        &SecretString::from(format!("//paraform-test//{path}")),
        "test",
    )
    .expect("derived key")
}

/// Submissions these tests make need no journal.
static NO_JOURNAL: Mutex<Vec<SubmissionRecord>> = Mutex::new(Vec::new());

async fn connect(url: &str) -> ChainClient {
    ChainClient::connect(url, &ConnectOptions::default())
        .await
        .expect("connect")
}

/// Runs named scenarios, records failures, reports them all at the end.
struct Report(Mutex<Vec<String>>);
impl Report {
    async fn run<F: std::future::Future<Output = Result<(), String>>>(&self, name: &str, f: F) {
        let t = Instant::now();
        let r = f.await;
        let secs = t.elapsed().as_secs_f32();
        match r {
            Ok(()) => eprintln!("[ok]   {name} ({secs:.1}s)"),
            Err(e) => {
                eprintln!("[FAIL] {name} ({secs:.1}s): {e}");
                self.0.lock().unwrap().push(format!("{name}: {e}"));
            }
        }
    }
}

macro_rules! ensure {
    ($c:expr, $($t:tt)+) => { if !$c { return Err(format!($($t)+)); } };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rococo_local_suite() {
    let t0 = Instant::now();
    let mut net = TestNetwork::rococo_local().await;
    let dave_idx = net.add_node("dave", true, 3).await;
    eprintln!("network up in {:.1}s", t0.elapsed().as_secs_f32());
    let alice_url = net.ws_url();
    let client = connect(&alice_url).await;
    let report = Report(Mutex::new(Vec::new()));
    let opts = SubmitOptions::default();

    let alice = dev("alice");
    let bob = dev("bob");
    let dave_stash = keys::keypair(&keys::stash_suri(&root(), "dave"), "stash").unwrap();
    let retire_me = derived("retire-me");
    let poor = derived("poor");
    let many: Vec<AccountId> = (0..60)
        .map(|i| acct(&derived(&format!("many-{i}"))))
        .collect();

    // 1. Observation matches what the node reports.
    report
        .run("observe matches raw node state", async {
            let s = observe_relay(&client, &[acct(&alice)])
                .await
                .map_err(|e| e.to_string())?;
            let alice_stash = keys::account(
                &keys::dev_authority_suri("alice", paraform::spec::model::Role::Validator),
                "t",
            )
            .unwrap();
            let bob_stash = keys::account(
                &keys::dev_authority_suri("bob", paraform::spec::model::Role::Validator),
                "t",
            )
            .unwrap();
            ensure!(
                s.validators == vec![alice_stash.clone(), bob_stash.clone()],
                "validators {:?}",
                s.validators
            );
            // Cross-check with a raw state_getStorage at the same block.
            let raw: String = support::rpc(
                net.nodes[0].rpc_port,
                "state_getStorage",
                vec![SESSION_VALIDATORS_KEY.into(), s.block_hash.0.clone().into()],
            )
            .await;
            let bytes = hex::decode(raw.trim_start_matches("0x")).unwrap();
            let decoded: Vec<[u8; 32]> =
                Decode::decode(&mut &bytes[..]).map_err(|e| e.to_string())?;
            ensure!(
                decoded.into_iter().map(AccountId).collect::<Vec<_>>() == s.validators,
                "raw Session.Validators differs"
            );
            ensure!(
                s.next_keys.contains_key(&alice_stash) && s.next_keys.contains_key(&bob_stash),
                "next_keys {:?}",
                s.next_keys.keys()
            );
            // Alice's NextKeys end with her ecdsa (beefy) key and start with her ed25519 (grandpa) key.
            let k = &s.next_keys[&alice_stash];
            ensure!(k.starts_with("0x88dc3417d5058ec4"), "alice grandpa key {k}");
            ensure!(
                k.ends_with("020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1"),
                "alice beefy key {k}"
            );
            ensure!(s.sudo_key == Some(acct(&alice)), "sudo {:?}", s.sudo_key);
            ensure!(
                s.session_length == Some(10),
                "session length {:?}",
                s.session_length
            );
            ensure!(s.ss58_prefix == 42, "ss58 {}", s.ss58_prefix);
            ensure!(s.existential_deposit > 0, "ED 0");
            ensure!(
                s.balances.get(&acct(&alice)).copied().unwrap_or(0) > 1_000 * UNIT,
                "alice balance {:?}",
                s.balances
            );
            let fin = support::finalized_number(net.nodes[0].rpc_port)
                .await
                .unwrap_or(0);
            ensure!(
                s.block_number <= fin && s.block_number > 0,
                "block {} vs finalized {fin}",
                s.block_number
            );
            let probe = NodeRpc::probe(
                &NodeName::from("alice"),
                &alice_url,
                &ConnectOptions::default(),
            )
            .await;
            ensure!(
                probe.rpc_reachable && probe.peer_id.as_deref() == Some(support::peer_id(1)),
                "probe {probe:?}"
            );
            ensure!(
                probe
                    .version
                    .as_deref()
                    .is_some_and(|v| v.starts_with("1.")),
                "version {:?}",
                probe.version
            );
            Ok(())
        })
        .await;

    // 2. Funding batch: one batch_all of transfers, finalized; balances read back.
    report
        .run("funding batch", async {
            let mut transfers = vec![
                (acct(&dave_stash), 1_000 * UNIT),
                (acct(&retire_me), 10 * UNIT),
                (acct(&poor), UNIT / 10),
            ];
            transfers.extend(many.iter().map(|a| (a.clone(), UNIT)));
            let call = calls::fund(&transfers).map_err(|e| e.to_string())?;
            let journal = Mutex::new(Vec::new());
            let fin = submit::submit(
                &Target::relay(&client, &opts, &journal),
                &alice,
                "fund",
                &call,
            )
            .await
            .map_err(|e| e.to_string())?;
            let journaled = journal.lock().unwrap().clone();
            ensure!(
                journaled.len() == 1 && journaled[0] == fin.record,
                "journal {journaled:?}"
            );
            ensure!(
                fin.record.mortality.1 == 64,
                "mortality {:?}",
                fin.record.mortality
            );
            let s = observe_relay(
                &client,
                &transfers.iter().map(|t| t.0.clone()).collect::<Vec<_>>(),
            )
            .await
            .map_err(|e| e.to_string())?;
            for (a, v) in &transfers {
                ensure!(
                    s.balances.get(a) == Some(v),
                    "balance of {a}: {:?} want {v}",
                    s.balances.get(a)
                );
            }
            // The journal record tells where it landed.
            match find_submission(&client, &fin.record)
                .await
                .map_err(|e| e.to_string())?
            {
                SubmissionStatus::Landed {
                    block_hash,
                    outcome: Ok(()),
                    ..
                } => {
                    ensure!(
                        block_hash == fin.block_hash,
                        "landed in {block_hash} not {}",
                        fin.block_hash
                    )
                }
                other => return Err(format!("find_submission: {other:?}")),
            }
            Ok(())
        })
        .await;

    // 2b. A submission whose journaling fails is not sent, nor are the
    // signer's later calls: the pool-aware next nonce does not move.
    report
        .run("unjournaled submissions are not sent", async {
            struct Refuses;
            #[async_trait::async_trait]
            impl submit::Recorder for Refuses {
                async fn record(&self, _: &SubmissionRecord) -> Result<(), submit::RecordError> {
                    Err("the lock on test was lost".into())
                }
            }
            let who = acct(&poor);
            let next = || async {
                client
                    .legacy()
                    .system_account_next_index(&alice.public_key().to_account_id())
                    .await
                    .map_err(|e| e.to_string())
            };
            let before = next().await?;
            let res = submit::submit_all(
                &Target::relay(&client, &opts, &Refuses),
                vec![SignerBatch {
                    signer: &alice,
                    intents: vec![
                        ("a".to_string(), calls::transfer_keep_alive(&who, UNIT)),
                        ("b".to_string(), calls::transfer_keep_alive(&who, UNIT)),
                    ],
                }],
            )
            .await;
            let res: Vec<_> = res.into_iter().flatten().collect();
            ensure!(
                matches!(res.first(), Some(Err(ChainError::NotJournaled { .. })))
                    && matches!(res.get(1), Some(Err(_))),
                "{res:?}"
            );
            let after = next().await?;
            ensure!(
                before == after,
                "nonce moved {before} -> {after}: something was sent"
            );
            Ok(())
        })
        .await;

    // 3. Keys, membership, para onboarding and failures, submitted in
    // parallel across signers (Alice: sudo, Bob: failing calls, dave's stash: keys).
    let dave_url = net.nodes[dave_idx].ws_url();
    let para = ParaId(2042);
    let genesis = node_rpc::para_genesis(&client).await;
    let rotated = match NodeRpc::connect(&dave_url, &ConnectOptions::default()).await {
        Ok(rpc) => rpc.rotate_keys_with_owner(&acct(&dave_stash)).await,
        Err(e) => Err(e),
    };
    report
        .run(
            "parallel submissions: set_keys, register/deregister, onboard, typed failures",
            async {
                let rotated = rotated.as_ref().map_err(|e| format!("rotate: {e}"))?;
                let genesis = genesis.as_ref().map_err(|e| format!("genesis: {e}"))?;
                ensure!(
                    rotated.keys.len() == 193 && rotated.proof.len() == 385,
                    "keys {} proof {}",
                    rotated.keys.len(),
                    rotated.proof.len()
                );
                let alice_calls = vec![
                    (
                        "register".to_string(),
                        calls::sudo(calls::register_validators(&[acct(&dave_stash)])),
                    ),
                    (
                        "deregister".to_string(),
                        calls::sudo(calls::deregister_validators(&[acct(&retire_me)])),
                    ),
                    (
                        "onboard".to_string(),
                        calls::sudo(calls::sudo_schedule_para_initialize(
                            para,
                            &genesis.head,
                            TINY_PVF,
                            ParaKind::Parachain,
                        )),
                    ),
                    (
                        "bad-sudo".to_string(),
                        calls::sudo(calls::dynamic(
                            "Configuration",
                            "set_max_code_size",
                            [Value::u128(u32::MAX as u128)],
                        )),
                    ),
                ];
                let bob_calls = vec![
                    // batch_all: the failing transfer fails the whole extrinsic.
                    (
                        "bad-batch-all".to_string(),
                        calls::batch_all(vec![
                            calls::transfer_keep_alive(&acct(&poor), 1),
                            calls::transfer_keep_alive(&acct(&poor), u128::MAX / 2),
                        ])
                        .unwrap(),
                    ),
                    // batch: the extrinsic succeeds, the batch is interrupted at call #1.
                    (
                        "bad-batch".to_string(),
                        Call::new(
                            "Utility",
                            "batch",
                            vec![Arg::Calls(vec![
                                calls::transfer_keep_alive(&acct(&poor), 1),
                                calls::transfer_keep_alive(&acct(&poor), u128::MAX / 2),
                            ])],
                        ),
                    ),
                ];
                let stash_calls = vec![(
                    "set-keys".to_string(),
                    calls::set_keys(&rotated.keys, &rotated.proof),
                )];
                let journal = Mutex::new(Vec::<SubmissionRecord>::new());
                let t = Instant::now();
                let res = submit::submit_all(
                    &Target::relay(&client, &opts, &journal),
                    vec![
                        SignerBatch {
                            signer: &alice,
                            intents: alice_calls,
                        },
                        SignerBatch {
                            signer: &bob,
                            intents: bob_calls,
                        },
                        SignerBatch {
                            signer: &dave_stash,
                            intents: stash_calls,
                        },
                    ],
                )
                .await;
                eprintln!(
                    "  7 extrinsics from 3 signers finalized in {:.1}s",
                    t.elapsed().as_secs_f32()
                );
                let journaled = journal.lock().unwrap().clone();
                ensure!(
                    journaled.len() == 7,
                    "journal has {} records",
                    journaled.len()
                );
                let alice_nonces: Vec<u64> = journaled
                    .iter()
                    .filter(|r| r.signer == acct(&alice))
                    .map(|r| r.nonce)
                    .collect();
                ensure!(
                    alice_nonces.windows(2).all(|w| w[1] == w[0] + 1),
                    "alice nonces {alice_nonces:?}"
                );
                let (a, b, s) = (&res[0], &res[1], &res[2]);
                for (i, name) in ["register", "deregister", "onboard"].iter().enumerate() {
                    ensure!(a[i].is_ok(), "{name}: {:?}", a[i]);
                }
                ensure!(s[0].is_ok(), "set_keys: {:?}", s[0]);
                match &a[3] {
                    Err(ChainError::SudoCallFailed {
                        failure: DispatchFailure::Module { pallet, error },
                        ..
                    }) => {
                        ensure!(
                            pallet == "Configuration" && error == "InvalidNewValue",
                            "bad sudo failed with {pallet}.{error}"
                        )
                    }
                    other => return Err(format!("bad sudo: want SudoCallFailed, got {other:?}")),
                }
                match &b[0] {
                    Err(ChainError::DispatchFailed { failure, .. }) => {
                        eprintln!("  batch_all failure: {failure}")
                    }
                    other => {
                        return Err(format!("bad batch_all: want DispatchFailed, got {other:?}"))
                    }
                }
                match &b[1] {
                    Err(ChainError::BatchInterrupted {
                        index: 1, failure, ..
                    }) => eprintln!("  batch failure: {failure}"),
                    other => {
                        return Err(format!(
                            "bad batch: want BatchInterrupted at 1, got {other:?}"
                        ))
                    }
                }
                // Chain state, read back.
                let s = observe_relay(&client, &[])
                    .await
                    .map_err(|e| e.to_string())?;
                let want_keys = format!("0x{}", hex::encode(&rotated.keys));
                ensure!(
                    s.next_keys.get(&acct(&dave_stash)) == Some(&want_keys),
                    "NextKeys(dave) = {:?}",
                    s.next_keys.get(&acct(&dave_stash))
                );
                ensure!(
                    s.pending_add.contains(&acct(&dave_stash))
                        || s.validators.contains(&acct(&dave_stash)),
                    "pending_add {:?}",
                    s.pending_add
                );
                ensure!(
                    s.pending_retire.contains(&acct(&retire_me)),
                    "pending_retire {:?}",
                    s.pending_retire
                );
                let p = s
                    .paras
                    .get(&para)
                    .ok_or_else(|| format!("para {para} not in {:?}", s.paras.keys()))?;
                ensure!(
                    p.lifecycle == ParaLifecycle::Onboarding,
                    "lifecycle {:?}",
                    p.lifecycle
                );
                let code_hash =
                    format!("0x{}", hex::encode(sp_crypto_hashing::blake2_256(TINY_PVF)));
                ensure!(
                    p.code_hash.as_ref().map(|h| h.0.as_str()) == Some(code_hash.as_str()),
                    "code hash {:?}",
                    p.code_hash
                );
                // The head is stored when the para is onboarded (checked in scenario 7).
                ensure!(p.head.is_none(), "head of an onboarding para {:?}", p.head);
                let dave = NodeRpc::connect(&dave_url, &ConnectOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
                ensure!(
                    dave.has_session_keys(&rotated.keys)
                        .await
                        .map_err(|e| e.to_string())?,
                    "dave lacks its keys"
                );
                let alice_rpc = NodeRpc::connect(&alice_url, &ConnectOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
                ensure!(
                    !alice_rpc
                        .has_session_keys(&rotated.keys)
                        .await
                        .map_err(|e| e.to_string())?,
                    "alice claims dave's keys"
                );
                Ok(())
            },
        )
        .await;

    // 4. A proof for another owner is refused.
    report
        .run("set_keys with a proof for another owner fails", async {
            let dave = NodeRpc::connect(&dave_url, &ConnectOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            let k = dave
                .rotate_keys_with_owner(&acct(&alice))
                .await
                .map_err(|e| e.to_string())?;
            let r = submit::submit(
                &Target::relay(&client, &opts, &NO_JOURNAL),
                &dave_stash,
                "bad-proof",
                &calls::set_keys(&k.keys, &k.proof),
            )
            .await;
            match r {
                Err(e @ (ChainError::Rejected { .. } | ChainError::DispatchFailed { .. })) => {
                    eprintln!("  refused: {e}");
                    Ok(())
                }
                other => Err(format!("want a refusal, got {other:?}")),
            }
        })
        .await;

    // 5. Journal records that did not land.
    report
        .run("find_submission: not landed / expired", async {
            let s = observe_relay_detailed(&client, &[acct(&bob)])
                .await
                .map_err(|e| e.to_string())?;
            let nonce = s.1.nonces.get(&acct(&bob)).copied().unwrap_or(0) as u64;
            let base = SubmissionRecord {
                chain: paraform::spec::ids::ChainSide::Relay,
                intent_id: "x".into(),
                call: "Balances.transfer_keep_alive".into(),
                extrinsic_hash: HexHash(format!("0x{}", "ab".repeat(32))),
                signer: acct(&bob),
                nonce: nonce + 100,
                mortality: (s.0.block_number, 64),
                birth_hash: s.0.block_hash.clone(),
                submitted_at_block: s.0.block_number,
            };
            let r = find_submission(&client, &base)
                .await
                .map_err(|e| e.to_string())?;
            ensure!(
                matches!(r, SubmissionStatus::NotLanded { .. }),
                "future nonce in window: {r:?}"
            );
            let old = SubmissionRecord {
                mortality: (0, 4),
                ..base.clone()
            };
            let r = find_submission(&client, &old)
                .await
                .map_err(|e| e.to_string())?;
            ensure!(
                matches!(r, SubmissionStatus::Expired { .. }),
                "window passed: {r:?}"
            );
            let used = SubmissionRecord {
                nonce: 0,
                mortality: (s.0.block_number.saturating_sub(8), 8),
                ..base
            };
            let r = find_submission(&client, &used)
                .await
                .map_err(|e| e.to_string())?;
            ensure!(
                matches!(r, SubmissionStatus::Expired { .. }),
                "nonce used by another: {r:?}"
            );
            Ok(())
        })
        .await;

    // 6. Round trips do not grow with validators/accounts.
    report
        .run("round trips independent of set sizes", async {
            let few = observe_relay_detailed(&client, &many[..2]).await.map_err(|e| e.to_string())?.1.round_trips;
            let lots = observe_relay_detailed(&client, &many).await.map_err(|e| e.to_string())?.1.round_trips;
            let fake: Vec<AccountId> = (0..50u8).map(|i| AccountId([i.wrapping_add(100); 32])).collect();
            submit::submit(&Target::relay(&client, &opts, &NO_JOURNAL), &alice, "reg-50", &calls::sudo(calls::register_validators(&fake)))
                .await
                .map_err(|e| e.to_string())?;
            let (s, d) = observe_relay_detailed(&client, &many).await.map_err(|e| e.to_string())?;
            ensure!(s.pending_add.len() >= 50, "pending_add {}", s.pending_add.len());
            eprintln!("  round trips: 2 accounts {few}, 60 accounts {lots}, 60 accounts + 50 more validators {}", d.round_trips);
            ensure!(few == lots && lots == d.round_trips, "round trips grew: {few} / {lots} / {}", d.round_trips);
            ensure!(few <= 12, "observation takes {few} round trips");
            Ok(())
        })
        .await;

    // 7. Session changes: the registered validator becomes active, the
    // para becomes a parachain (both take two sessions on this runtime).
    report
        .run("registered validator active + para onboarded after session changes", async {
            let deadline = Instant::now() + Duration::from_secs(180);
            loop {
                let (s, d) = observe_relay_detailed(&client, &[]).await.map_err(|e| e.to_string())?;
                let active = s.validators.contains(&acct(&dave_stash));
                let lifecycle = s.paras.get(&para).map(|p| p.lifecycle);
                if active && lifecycle != Some(ParaLifecycle::Onboarding) {
                    eprintln!(
                        "  session {} block {}: dave active, para {:?}, cores {:?}, para_cores {:?}",
                        s.session_index, s.block_number, lifecycle, d.coretime_cores, d.para_cores
                    );
                    ensure!(!s.validators.contains(&acct(&retire_me)), "retired account active");
                    ensure!(lifecycle == Some(ParaLifecycle::Parachain), "para lifecycle {lifecycle:?}");
                    let want = format!("0x{}", hex::encode(genesis.as_ref().map_err(|e| e.to_string())?.genesis_hash));
                    let head = s.paras.get(&para).and_then(|p| p.head.clone());
                    ensure!(head.as_ref().map(|h| h.0.as_str()) == Some(want.as_str()), "head {head:?} want {want}");
                    return Ok(());
                }
                ensure!(
                    Instant::now() < deadline,
                    "by session {}: dave active {active}, para {lifecycle:?}",
                    s.session_index
                );
                tokio::time::sleep(Duration::from_secs(6)).await;
            }
        })
        .await;

    // 8. Core assignment (explicit, under sudo) and offboarding.
    report
        .run("core assignment + offboard", async {
            let (s, d) = observe_relay_detailed(&client, &[])
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "  before: cores {:?}, para {:?}, para_cores {:?}",
                d.coretime_cores,
                s.paras.get(&para),
                d.para_cores
            );
            // A free existing core if there is one, else one more core.
            let cores = d.coretime_cores.unwrap_or(0);
            let used: std::collections::BTreeSet<u32> =
                d.para_cores.values().flatten().copied().collect();
            let begin = s.block_number as u32 + 2;
            let (core, assign) = match (0..cores).find(|c| !used.contains(c)) {
                Some(c) => (c, calls::sudo(calls::assign_core(c as u16, begin, para))),
                None => (
                    cores,
                    calls::sudo(
                        calls::batch_all(vec![
                            calls::set_coretime_cores(cores + 1),
                            calls::assign_core(cores as u16, begin, para),
                        ])
                        .unwrap(),
                    ),
                ),
            };
            submit::submit(
                &Target::relay(&client, &opts, &NO_JOURNAL),
                &alice,
                "core",
                &assign,
            )
            .await
            .map_err(|e| e.to_string())?;
            let (s, d) = observe_relay_detailed(&client, &[])
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "  after:  cores {:?}, para {:?}, para_cores {:?}",
                d.coretime_cores,
                s.paras.get(&para),
                d.para_cores
            );
            ensure!(
                d.para_cores.get(&para).is_some_and(|c| c.contains(&core)),
                "para has no core {core}: {:?}",
                d.para_cores
            );
            ensure!(
                s.paras.get(&para).and_then(|p| p.has_core) == Some(true),
                "has_core false"
            );
            submit::submit(
                &Target::relay(&client, &opts, &NO_JOURNAL),
                &alice,
                "offboard",
                &calls::sudo(calls::sudo_schedule_para_cleanup(para)),
            )
            .await
            .map_err(|e| e.to_string())?;
            let s = observe_relay(&client, &[])
                .await
                .map_err(|e| e.to_string())?;
            let lifecycle = s.paras.get(&para).map(|p| p.lifecycle);
            eprintln!("  offboard → lifecycle {lifecycle:?}");
            ensure!(
                lifecycle.is_none_or(|l| l.is_offboarding()),
                "lifecycle {lifecycle:?}"
            );
            Ok(())
        })
        .await;

    // 9. A hung node gives a timeout, a killed node an error — never a hang.
    report
        .run("hung and killed node: bounded errors", async {
            let bob_url = net.nodes[1].ws_url();
            let o = ConnectOptions {
                request_timeout: Duration::from_secs(3),
                connect_timeout: Duration::from_secs(2),
                attempts: 2,
                ..Default::default()
            };
            let c = ChainClient::connect(&bob_url, &o)
                .await
                .map_err(|e| e.to_string())?;
            let pid = net.nodes[1].pid().ok_or("bob has no pid")?;
            support::signal(pid, "STOP");
            let t = Instant::now();
            let r = tokio::time::timeout(Duration::from_secs(20), observe_relay(&c, &[])).await;
            support::signal(pid, "CONT");
            match r {
                Ok(Err(e @ ChainError::Timeout { .. })) => {
                    ensure!(
                        e.to_string().contains(&bob_url),
                        "error does not name the endpoint: {e}"
                    );
                    eprintln!("  hung: {e} after {:.1}s", t.elapsed().as_secs_f32());
                }
                other => return Err(format!("hung node: want Timeout, got {other:?}")),
            }
            // Kill mid-observation: observe in a loop, kill after a moment.
            let c = ChainClient::connect(&bob_url, &o)
                .await
                .map_err(|e| e.to_string())?;
            let looping = tokio::spawn(async move {
                loop {
                    if let Err(e) = observe_relay(&c, &[]).await {
                        return e;
                    }
                }
            });
            tokio::time::sleep(Duration::from_millis(300)).await;
            let t = Instant::now();
            net.nodes[1].kill();
            let e = tokio::time::timeout(Duration::from_secs(10), looping)
                .await
                .map_err(|_| "observation hung after kill".to_string())?;
            let e = e.map_err(|e| e.to_string())?;
            ensure!(
                e.to_string().contains(&bob_url),
                "error does not name the endpoint: {e}"
            );
            eprintln!("  killed: {e} after {:.2}s", t.elapsed().as_secs_f32());
            let r = ChainClient::connect(&bob_url, &o).await;
            ensure!(
                matches!(r, Err(ChainError::Connect { attempts: 2, .. })),
                "reconnect: {r:?}"
            );
            Ok(())
        })
        .await;

    eprintln!("suite took {:.1}s", t0.elapsed().as_secs_f32());
    let failures = report.0.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The insert-key fallback: session keys derived offline from the root,
/// inserted with `author_insertKey`, proof built offline — the runtime must
/// accept `Session.set_keys(keys, proof)` and store the keys in `NextKeys`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_key_fallback_keys_accepted_by_runtime() {
    use paraform::chain::session_keys::{
        insert_derived_session_keys, obtain_session_keys, KeySource, RELAY_SESSION_KEYS,
    };
    let t0 = Instant::now();
    let mut net = TestNetwork::rococo_local().await;
    let eve_idx = net.add_node("eve", true, 4).await;
    eprintln!("network up in {:.1}s", t0.elapsed().as_secs_f32());
    let client = connect(&net.ws_url()).await;
    let opts = SubmitOptions::default();
    let alice = dev("alice");
    // A root with a password: derivations must go in front of it.
    let root = SecretString::from("//paraform-fallback///pw".to_string());
    let stash = keys::keypair(&keys::stash_suri(&root, "eve"), "stash").expect("stash");
    let owner = acct(&stash);

    let fund = calls::fund(&[(owner.clone(), 100 * UNIT)]).expect("fund call");
    let eve = NodeRpc::connect(&net.nodes[eve_idx].ws_url(), &ConnectOptions::default())
        .await
        .expect("eve rpc");
    let target = Target::relay(&client, &opts, &NO_JOURNAL);
    let (funded, inserted) = futures::join!(
        submit::submit(&target, &alice, "fund", &fund),
        insert_derived_session_keys(&eve, &root, "eve", &owner, RELAY_SESSION_KEYS)
    );
    funded.expect("funding the stash");
    let keys = inserted.expect("derive + insert");
    assert_eq!((keys.keys.len(), keys.proof.len()), (193, 385));
    assert!(eve
        .has_session_keys(&keys.keys)
        .await
        .expect("hasSessionKeys"));
    let alice_rpc = NodeRpc::connect(&net.ws_url(), &ConnectOptions::default())
        .await
        .expect("alice rpc");
    assert!(
        !alice_rpc
            .has_session_keys(&keys.keys)
            .await
            .expect("hasSessionKeys"),
        "alice's node claims eve's keys"
    );

    let t = Instant::now();
    submit::submit(
        &Target::relay(&client, &opts, &NO_JOURNAL),
        &stash,
        "set-keys",
        &calls::set_keys(&keys.keys, &keys.proof),
    )
    .await
    .expect("Session.set_keys with the offline proof");
    eprintln!("set_keys finalized in {:.1}s", t.elapsed().as_secs_f32());

    // Session.NextKeys(stash), read raw at the finalized head.
    let fin: String = support::rpc(net.nodes[0].rpc_port, "chain_getFinalizedHead", vec![]).await;
    let key = [
        sp_crypto_hashing::twox_128(b"Session").as_slice(),
        &sp_crypto_hashing::twox_128(b"NextKeys"),
        &sp_crypto_hashing::twox_64(&owner.0),
        &owner.0,
    ]
    .concat();
    let stored: Option<String> = support::rpc(
        net.nodes[0].rpc_port,
        "state_getStorage",
        vec![format!("0x{}", hex::encode(key)).into(), fin.into()],
    )
    .await;
    assert_eq!(
        stored,
        Some(format!("0x{}", hex::encode(&keys.keys))),
        "Session.NextKeys(stash)"
    );

    // This node has author_rotateKeysWithOwner, so the fallback is not taken.
    let (_, source) = obtain_session_keys(&eve, &owner, Some((&root, "eve")), RELAY_SESSION_KEYS)
        .await
        .expect("obtain");
    assert_eq!(source, KeySource::Rotated);
    eprintln!("test took {:.1}s", t0.elapsed().as_secs_f32());
}
