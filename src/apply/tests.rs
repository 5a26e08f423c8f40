//! Executor logic against in-memory doubles of the chain and the provider,
//! with failure injection. Every promise tested here is also tested end to
//! end against real polkadot processes in tests/e2e.rs.

use super::*;
use crate::chain::error::ChainError;
use crate::chain::node_rpc::GeneratedKeys;
use crate::chain::submit::SubmissionRecord;
use crate::observe::model::{ChainState, ObservedWorkload};
use crate::observe::Observed;
use crate::plan::{Plan, StepId};
use crate::provider::{Provider, ProviderError, WorkloadRequest};
use crate::spec::ids::{AccountId, GroupName, HexHash, NodeName};
use crate::spec::workload::WorkloadSpec;
use crate::spec::Desired;
use crate::state::local::LocalStateStore;
use crate::state::{JournalStatus, State, StateStore};
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const ROOT: &str = "//paraform-test";

fn desired() -> Desired {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("networks/local");
    let mut d = crate::spec::load_dir(&dir).expect("networks/local loads");
    crate::chain::keys::derive_accounts(&mut d, Some(&SecretString::from(ROOT.to_string())))
        .unwrap();
    d
}

fn live_state() -> ChainState {
    ChainState {
        block_hash: HexHash("0x00".into()),
        block_number: 1,
        session_index: 0,
        session_length: Some(10),
        validators: vec![],
        next_keys: BTreeMap::new(),
        queued: vec![],
        pending_add: vec![],
        pending_retire: vec![],
        staking_validators: vec![],
        bonded: vec![],
        paras: BTreeMap::new(),
        balances: BTreeMap::new(),
        existential_deposit: 1,
        sudo_key: None,
        ss58_prefix: 42,
    }
}

/// What the double does on the next submission of an intent kind.
#[derive(Clone, Debug, PartialEq)]
enum Fault {
    /// Fail with a connection error before anything is sent.
    TransientBeforeSend,
    /// Journal + send, then lose the connection: the transaction lands
    /// later (at the next `find_submission`), the caller sees an error.
    LostAfterSend,
    /// The chain rejects it (dispatch error).
    Dispatch,
}

#[derive(Default)]
struct ChainDouble {
    state: Mutex<Option<ChainState>>,
    /// Effects applied, one per landed extrinsic: (intent id, intent).
    landed: Mutex<Vec<(String, Intent)>>,
    /// Sent but not yet landed, by extrinsic hash.
    in_flight: Mutex<BTreeMap<String, (String, Intent)>>,
    faults: Mutex<BTreeMap<&'static str, Vec<Fault>>>,
    /// keys held per node's keystore.
    keystores: Mutex<BTreeMap<NodeName, BTreeSet<Vec<u8>>>>,
    nonce: AtomicUsize,
}

fn kind(i: &Intent) -> &'static str {
    match i {
        Intent::Fund(_) => "fund",
        Intent::SetKeys { .. } => "set_keys",
        Intent::RegisterValidators(_) => "register",
        Intent::DeregisterValidators(_) => "deregister",
    }
}

impl ChainDouble {
    fn live() -> Self {
        let d = ChainDouble::default();
        *d.state.lock().unwrap() = Some(live_state());
        d
    }
    fn inject(&self, k: &'static str, f: Fault) {
        self.faults.lock().unwrap().entry(k).or_default().push(f);
    }
    fn landed_of(&self, k: &str) -> usize {
        self.landed
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, i)| kind(i) == k)
            .count()
    }
    fn effect(&self, intent_id: &str, signer: &AccountId, intent: &Intent) {
        let mut g = self.state.lock().unwrap();
        let s = g.as_mut().expect("chain live");
        match intent {
            Intent::Fund(t) => {
                for (a, v) in t {
                    *s.balances.entry(a.clone()).or_default() += v;
                }
            }
            Intent::SetKeys { keys, .. } => {
                s.next_keys
                    .insert(signer.clone(), format!("0x{}", hex::encode(keys)));
            }
            Intent::RegisterValidators(v) => s.pending_add.extend(v.iter().cloned()),
            Intent::DeregisterValidators(v) => s.pending_retire.extend(v.iter().cloned()),
        }
        self.landed
            .lock()
            .unwrap()
            .push((intent_id.to_string(), intent.clone()));
    }
}

fn stash_of(node: &NodeName) -> AccountId {
    crate::chain::keys::account(
        &crate::chain::keys::stash_suri(&SecretString::from(ROOT.to_string()), node.as_str()),
        "t",
    )
    .unwrap()
}

fn sudo_account() -> AccountId {
    crate::chain::keys::account(&SecretString::from("//Alice".to_string()), "t").unwrap()
}

#[async_trait::async_trait]
impl ChainOps for ChainDouble {
    async fn relay(&self, accounts: &[AccountId]) -> Result<ChainState, OpError> {
        let mut s = self.state.lock().unwrap().clone().ok_or_else(|| {
            OpError::Chain(ChainError::Connect {
                endpoint: "double".into(),
                attempts: 1,
                reason: "down".into(),
            })
        })?;
        s.balances.retain(|a, _| accounts.contains(a));
        Ok(s)
    }

    async fn find_submission(&self, record: &SubmissionRecord) -> Result<Landing, OpError> {
        let flight = self
            .in_flight
            .lock()
            .unwrap()
            .remove(&record.extrinsic_hash.0);
        match flight {
            Some((id, intent)) => {
                self.effect(&id, &record.signer, &intent);
                Ok(Landing::Landed(Ok(())))
            }
            None => {
                let landed = self
                    .landed
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|(id, _)| id == &record.intent_id);
                Ok(if landed {
                    Landing::Landed(Ok(()))
                } else {
                    Landing::Expired("not found".into())
                })
            }
        }
    }

    async fn rotate_keys(
        &self,
        node: &NodeName,
        _owner: &AccountId,
    ) -> Result<GeneratedKeys, OpError> {
        let n = self.nonce.fetch_add(1, Ordering::SeqCst) as u8;
        let keys = vec![n; 8];
        self.keystores
            .lock()
            .unwrap()
            .entry(node.clone())
            .or_default()
            .insert(keys.clone());
        Ok(GeneratedKeys {
            keys,
            proof: vec![0; 4],
        })
    }

    async fn has_session_keys(&self, node: &NodeName, keys: &[u8]) -> Result<bool, OpError> {
        Ok(self
            .keystores
            .lock()
            .unwrap()
            .get(node)
            .is_some_and(|k| k.contains(keys)))
    }

    fn signer_account(&self, signer: &SignerRole) -> Result<AccountId, OpError> {
        Ok(match signer {
            SignerRole::Sudo => sudo_account(),
            SignerRole::Stash(n) => stash_of(n),
        })
    }

    async fn submit(
        &self,
        intent_id: &str,
        signer: &SignerRole,
        intent: &Intent,
        on_record: OnRecordT<'_>,
    ) -> Result<(), OpError> {
        let fault = self
            .faults
            .lock()
            .unwrap()
            .get_mut(kind(intent))
            .and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
        let transient = || {
            OpError::Chain(ChainError::Rpc {
                endpoint: "double".into(),
                what: "submit".into(),
                reason: "connection reset".into(),
            })
        };
        if fault == Some(Fault::TransientBeforeSend) {
            return Err(transient());
        }
        let n = self.nonce.fetch_add(1, Ordering::SeqCst);
        let who = self.signer_account(signer)?;
        let rec = SubmissionRecord {
            intent_id: intent_id.to_string(),
            call: intent.describe(),
            extrinsic_hash: HexHash(format!("0x{n:064x}")),
            signer: who.clone(),
            nonce: n as u64,
            mortality: (1, 64),
            birth_hash: HexHash("0x00".into()),
            submitted_at_block: 1,
        };
        on_record(&rec);
        match fault {
            Some(Fault::LostAfterSend) => {
                self.in_flight.lock().unwrap().insert(
                    rec.extrinsic_hash.0.clone(),
                    (intent_id.to_string(), intent.clone()),
                );
                Err(transient())
            }
            Some(Fault::Dispatch) => Err(OpError::Chain(ChainError::SudoCallFailed {
                call: intent.describe(),
                failure: crate::chain::error::DispatchFailure::Module {
                    pallet: "X".into(),
                    error: "Nope".into(),
                },
            })),
            _ => {
                self.effect(intent_id, &who, intent);
                Ok(())
            }
        }
    }
}

type OnRecordT<'a> = super::ops::OnRecord<'a>;

#[derive(Default)]
struct ProviderDouble {
    applied: Mutex<Vec<GroupName>>,
    concurrent: AtomicUsize,
    max_concurrent: AtomicUsize,
    fail_ready: Mutex<BTreeSet<NodeName>>,
}

#[async_trait::async_trait]
impl Provider for ProviderDouble {
    fn name(&self) -> &'static str {
        "double"
    }
    async fn observe_workloads(
        &self,
        _: &BTreeMap<NodeName, AccountId>,
    ) -> Result<BTreeMap<GroupName, ObservedWorkload>, ProviderError> {
        Ok(BTreeMap::new())
    }
    async fn apply_workload(&self, req: &WorkloadRequest) -> Result<(), ProviderError> {
        let now = self.concurrent.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_concurrent.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.concurrent.fetch_sub(1, Ordering::SeqCst);
        self.applied.lock().unwrap().push(req.spec.group.clone());
        Ok(())
    }
    async fn delete_workload(&self, _: &GroupName) -> Result<(), ProviderError> {
        Ok(())
    }
    async fn wait_ready(&self, nodes: &[NodeName], timeout: Duration) -> Result<(), ProviderError> {
        let bad = self.fail_ready.lock().unwrap();
        match nodes.iter().find(|n| bad.contains(*n)) {
            Some(n) => Err(ProviderError::Exited {
                node: n.clone(),
                status: "1".into(),
                log_tail: format!("(after {timeout:?})"),
            }),
            None => Ok(()),
        }
    }
    fn rpc_endpoint(&self, node: &NodeName) -> Result<String, ProviderError> {
        Err(ProviderError::UnknownNode(node.clone()))
    }
    async fn run_once(
        &self,
        _: &WorkloadSpec,
        _: &[String],
        _: Duration,
    ) -> Result<Vec<u8>, ProviderError> {
        Ok(vec![])
    }
}

fn fresh_plan(d: &Desired) -> Plan {
    let p = crate::plan::plan(d, &Observed::empty());
    assert!(
        p.step(&StepId("validators.register".into())).is_some(),
        "{:#?}",
        p.steps.iter().map(|s| &s.id).collect::<Vec<_>>()
    );
    p
}

fn opts() -> ExecOptions {
    ExecOptions {
        parallelism: 2,
        gate_timeout: Duration::from_secs(1),
        attempts: 3,
        backoff: Duration::from_millis(10),
        poll: Duration::from_millis(10),
    }
}

async fn run(
    plan: &Plan,
    d: &Desired,
    p: &ProviderDouble,
    c: &ChainDouble,
    store: &dyn StateStore,
) -> ApplyReport {
    let state = store.load().await.unwrap();
    let journal = Journal::new(store, state);
    let progress = Progress::quiet();
    let ex = Executor {
        plan,
        desired: d,
        provider: p,
        chain: c,
        journal: &journal,
        options: opts(),
        progress: &progress,
    };
    ex.run().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_plan_runs_in_dependency_order_and_a_rerun_does_nothing() {
    let d = desired();
    let plan = fresh_plan(&d);
    let (p, c) = (ProviderDouble::default(), ChainDouble::live());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path(), "local");
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(c.landed_of("set_keys"), 2);
    assert_eq!(c.landed_of("register"), 1);
    let s = c.state.lock().unwrap().clone().unwrap();
    for n in d.managed_validators() {
        let a = n.account.clone().unwrap();
        assert!(s.pending_add.contains(&a) && s.next_keys.contains_key(&a));
    }
    assert!(p.max_concurrent.load(Ordering::SeqCst) <= 2);
    let journal = store.load().await.unwrap();
    assert!(
        journal
            .journal
            .iter()
            .all(|e| e.status == JournalStatus::Done),
        "{:?}",
        journal.journal
    );
    assert!(journal
        .entry(&StepId("keys.validator-0".into()))
        .unwrap()
        .resolved
        .contains_key("session_keys"));

    // The same plan again: every chain step finds its effect in place.
    let r2 = run(&plan, &d, &p, &c, &store).await;
    assert!(r2.ok());
    assert_eq!(c.landed_of("set_keys"), 2, "no second set_keys");
    assert_eq!(c.landed_of("register"), 1, "no second registration");
    assert_eq!(c.landed_of("fund"), 1, "no second funding");
    assert!(matches!(
        r2.results[&StepId("validators.register".into())],
        StepResult::AlreadyDone { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_lost_in_flight_is_settled_not_resubmitted() {
    let d = desired();
    let plan = fresh_plan(&d);
    let (p, c) = (ProviderDouble::default(), ChainDouble::live());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path(), "local");
    // Every attempt of register loses its connection after sending.
    for _ in 0..3 {
        c.inject("register", Fault::LostAfterSend);
    }
    // One attempt: the step fails with its transaction in flight.
    let mut o = opts();
    o.attempts = 1;
    let state = store.load().await.unwrap();
    let journal = Journal::new(&store, state);
    let progress = Progress::quiet();
    let ex = Executor {
        plan: &plan,
        desired: &d,
        provider: &p,
        chain: &c,
        journal: &journal,
        options: o,
        progress: &progress,
    };
    let r = ex.run().await;
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    let saved = store.load().await.unwrap();
    let e = saved.entry(&StepId("validators.register".into())).unwrap();
    assert_eq!(
        e.status,
        JournalStatus::Submitted,
        "the in-flight submission stays journaled"
    );
    assert_eq!(c.landed_of("register"), 0);

    // A new apply (fresh process): the journal says in flight → it is
    // settled (it lands) and the precondition then holds: no resubmission.
    c.faults.lock().unwrap().clear();
    let r2 = run(&plan, &d, &p, &c, &store).await;
    assert!(r2.ok(), "{:?}", r2.failures);
    assert_eq!(
        c.landed_of("register"),
        1,
        "exactly one registration extrinsic"
    );
    assert!(matches!(
        r2.results[&StepId("validators.register".into())],
        StepResult::AlreadyDone { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_are_retried_and_chain_verdicts_are_not() {
    let d = desired();
    let plan = fresh_plan(&d);
    let (p, c) = (ProviderDouble::default(), ChainDouble::live());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path(), "local");
    c.inject("fund", Fault::TransientBeforeSend);
    c.inject("fund", Fault::TransientBeforeSend);
    c.inject("register", Fault::Dispatch);
    let r = run(&plan, &d, &p, &c, &store).await;
    assert_eq!(c.landed_of("fund"), 1, "retried after two transient errors");
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].0, StepId("validators.register".into()));
    assert!(r.failures[0].1.contains("X.Nope"), "{}", r.failures[0].1);
    assert!(
        c.faults
            .lock()
            .unwrap()
            .get("register")
            .is_some_and(|v| v.is_empty()),
        "the dispatch error was not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_gate_is_reported_once_and_its_dependents_are_skipped() {
    let d = desired();
    let plan = fresh_plan(&d);
    let (p, c) = (ProviderDouble::default(), ChainDouble::live());
    p.fail_ready
        .lock()
        .unwrap()
        .insert(NodeName::new("genesis-0"));
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path(), "local");
    let r = run(&plan, &d, &p, &c, &store).await;
    assert_eq!(r.failures.len(), 1, "one root cause: {:?}", r.failures);
    let gate = StepId("gate.genesis".into());
    assert_eq!(r.failures[0].0, gate);
    let skipped: Vec<_> = r
        .results
        .iter()
        .filter(|(_, res)| matches!(res, StepResult::Skipped { .. }))
        .collect();
    assert!(!skipped.is_empty());
    for (id, res) in skipped {
        assert_eq!(res, &StepResult::Skipped { root: gate.clone() }, "{id}");
    }
    assert_eq!(
        c.landed.lock().unwrap().len(),
        0,
        "nothing reached the chain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settle_all_resolves_a_crashed_apply_before_planning() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path(), "local");
    let c = ChainDouble::live();
    let rec = SubmissionRecord {
        intent_id: "validators.register".into(),
        call: "x".into(),
        extrinsic_hash: HexHash("0xabc".into()),
        signer: sudo_account(),
        nonce: 0,
        mortality: (1, 64),
        birth_hash: HexHash("0x00".into()),
        submitted_at_block: 1,
    };
    c.in_flight.lock().unwrap().insert(
        "0xabc".into(),
        (
            "validators.register".into(),
            Intent::RegisterValidators(vec![sudo_account()]),
        ),
    );
    let mut st = State::new();
    {
        let e = st.entry_mut(&StepId("validators.register".into()), "x");
        e.status = JournalStatus::Submitted;
        e.submissions.push(rec);
    }
    store.save(&st).await.unwrap();
    let journal = Journal::new(&store, store.load().await.unwrap());
    let settled = settle_all(&journal, &c, Duration::from_millis(5))
        .await
        .unwrap();
    assert_eq!(
        settled,
        vec![(StepId("validators.register".into()), Settled::Landed)]
    );
    assert_eq!(
        store.load().await.unwrap().journal[0].status,
        JournalStatus::Done
    );
    assert_eq!(c.landed_of("register"), 1);
}

#[test]
fn a_stash_whose_retirement_was_processed_is_not_staying() {
    let (a, b) = (sudo_account(), stash_of(&NodeName::new("v-0")));
    let mut s = live_state();
    s.validators = vec![a.clone(), b.clone()];
    assert!(
        steps::staying(&s, &b),
        "no queued set known: the active set decides"
    );
    s.queued = vec![a.clone()];
    assert!(
        !steps::staying(&s, &b),
        "still active, but not in the next session's set"
    );
    assert!(steps::staying(&s, &a));
    s.pending_retire = vec![a.clone()];
    assert!(!steps::staying(&s, &a), "queued to retire");
}
