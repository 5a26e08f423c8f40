//! Executor logic against in-memory doubles of the chain and the provider,
//! with failure injection. Every promise tested here is also tested end to
//! end against real polkadot processes in tests/e2e.rs.

use super::ops::CoreAssignment;
use super::*;
use crate::chain::error::ChainError;
use crate::chain::node_rpc::{GeneratedKeys, ParaGenesis};
use crate::chain::read::RelayDetails;
use crate::chain::submit::{Recorder, SubmissionRecord};
use crate::observe::model::{
    ChainState, ChannelState, ObservedChannel, ObservedWorkload, ParaLifecycle, ParaState,
    ParachainState,
};
use crate::observe::Observed;
use crate::plan::{Action, Member, Plan, Step, StepId, StepKind};
use crate::provider::{Provider, ProviderError, WorkloadRequest};
use crate::spec::ids::{AccountId, ChainSide, GroupName, HexHash, NodeName, ParaId};
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
        hrmp: vec![],
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
    /// The chain rejects it with this `CollatorSelection` error.
    Refused(&'static str),
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
    /// Relay cores: `ActiveConfig` core count and para → cores.
    cores: Mutex<(u32, BTreeMap<ParaId, BTreeSet<u32>>)>,
    /// Parachains reachable through their nodes: state and block #0.
    para_chains: Mutex<BTreeMap<ParaId, (ParachainState, ParaGenesis)>>,
    /// The runtime assigns a new core when it onboards a parachain (as
    /// polkadot 1.25's rococo does); otherwise paraform must.
    auto_core: std::sync::atomic::AtomicBool,
    /// Session keys derived per node (`session_keys = "derived"`): the same
    /// keys every time, instead of fresh ones per rotation.
    derived_keys: std::sync::atomic::AtomicBool,
}

fn kind(i: &Intent) -> &'static str {
    match i {
        Intent::Fund(_) => "fund",
        Intent::SetKeys { .. } => "set_keys",
        Intent::RegisterValidators(_) => "register",
        Intent::DeregisterValidators(_) => "deregister",
        Intent::OnboardPara { .. } => "onboard",
        Intent::AssignCore { .. } => "assign_core",
        Intent::OffboardPara(_) => "offboard",
        Intent::AddInvulnerables { .. } => "add_invulnerables",
        Intent::RemoveInvulnerables { .. } => "remove_invulnerables",
        Intent::RegisterCandidate { .. } => "candidate",
        Intent::FundPara { .. } => "fund_para",
        Intent::SetParaKeys { .. } => "set_para_keys",
        Intent::OpenHrmpChannel(_) => "hrmp_open",
        Intent::CleanHrmp { .. } => "hrmp_clean",
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
            Intent::OnboardPara { para, kind, .. } => {
                let parachain = *kind == crate::chain::calls::ParaKind::Parachain;
                let auto = parachain && self.auto_core.load(Ordering::SeqCst);
                s.paras.insert(
                    *para,
                    ParaState {
                        lifecycle: ParaLifecycle::Onboarding,
                        head: None,
                        code_hash: None,
                        has_core: Some(auto),
                    },
                );
                if auto {
                    let mut cores = self.cores.lock().unwrap();
                    let core = cores.0;
                    cores.0 += 1;
                    cores.1.entry(*para).or_default().insert(core);
                }
            }
            Intent::AssignCore { para, core } => {
                let mut cores = self.cores.lock().unwrap();
                if let Some(n) = core.set_cores {
                    cores.0 = n;
                }
                cores.1.entry(*para).or_default().insert(core.core as u32);
                if let Some(p) = s.paras.get_mut(para) {
                    p.has_core = Some(true);
                }
            }
            Intent::OffboardPara(para) => {
                if let Some(p) = s.paras.get_mut(para) {
                    p.lifecycle = ParaLifecycle::OffboardingParachain;
                }
            }
            Intent::AddInvulnerables { para, who } => {
                let mut paras = self.para_chains.lock().unwrap();
                let p = &mut paras.get_mut(para).expect("para live").0;
                p.invulnerables.extend(who.iter().cloned());
            }
            Intent::RemoveInvulnerables { para, who } => {
                let mut paras = self.para_chains.lock().unwrap();
                let p = &mut paras.get_mut(para).expect("para live").0;
                p.invulnerables.retain(|a| !who.contains(a));
            }
            Intent::RegisterCandidate { para } => {
                let mut paras = self.para_chains.lock().unwrap();
                let p = &mut paras.get_mut(para).expect("para live").0;
                p.candidates.push(signer.clone());
            }
            Intent::FundPara { para, transfers } => {
                let mut paras = self.para_chains.lock().unwrap();
                let p = &mut paras.get_mut(para).expect("para live").0;
                for (a, v) in transfers {
                    *p.balances.entry(a.clone()).or_default() += v;
                }
            }
            Intent::SetParaKeys { para, keys, .. } => {
                let mut paras = self.para_chains.lock().unwrap();
                let p = &mut paras.get_mut(para).expect("para live").0;
                p.next_keys
                    .insert(signer.clone(), format!("0x{}", hex::encode(keys)));
            }
            Intent::OpenHrmpChannel(c) => s.hrmp.push(ObservedChannel {
                id: c.id,
                state: ChannelState::Requested,
            }),
            Intent::CleanHrmp { para, reopen, .. } => {
                s.hrmp
                    .retain(|o| o.id.sender != *para && o.id.recipient != *para);
                s.hrmp.extend(reopen.iter().map(|c| ObservedChannel {
                    id: c.id,
                    state: ChannelState::Requested,
                }));
            }
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

fn collator_of(node: &NodeName) -> AccountId {
    crate::chain::keys::account(
        &crate::chain::keys::collator_suri(&SecretString::from(ROOT.to_string()), node.as_str()),
        "t",
    )
    .unwrap()
}

fn para_down(para: ParaId) -> OpError {
    OpError::Chain(ChainError::Connect {
        endpoint: format!("para {para}"),
        attempts: 1,
        reason: "no node of the para answers".into(),
    })
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

    async fn relay_detailed(&self) -> Result<(ChainState, RelayDetails), OpError> {
        let s = self.relay(&[]).await?;
        let cores = self.cores.lock().unwrap().clone();
        // Like a real observation, takes a moment: concurrent core choices
        // would act on the same stale snapshot here.
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok((
            s,
            RelayDetails {
                coretime_cores: Some(cores.0),
                para_cores: cores.1,
                ..Default::default()
            },
        ))
    }

    async fn para(&self, para: ParaId, _: &[AccountId]) -> Result<ParachainState, OpError> {
        self.para_chains
            .lock()
            .unwrap()
            .get(&para)
            .map(|p| p.0.clone())
            .ok_or_else(|| para_down(para))
    }

    async fn para_genesis(&self, para: ParaId) -> Result<ParaGenesis, OpError> {
        self.para_chains
            .lock()
            .unwrap()
            .get(&para)
            .map(|p| p.1.clone())
            .ok_or_else(|| para_down(para))
    }

    async fn find_submission(&self, record: &SubmissionRecord) -> Result<Landing, OpError> {
        let flight = self
            .in_flight
            .lock()
            .unwrap()
            .remove(&record.extrinsic_hash.0);
        if let Some((_, intent)) = &flight {
            // The live implementation asks the chain the record names.
            assert_eq!(
                record.chain,
                intent.chain(),
                "{} settled on the wrong chain",
                record.intent_id
            );
        }
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
        let keys = if self.derived_keys.load(Ordering::SeqCst) {
            node.as_str().as_bytes().to_vec()
        } else {
            vec![self.nonce.fetch_add(1, Ordering::SeqCst) as u8; 8]
        };
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
            SignerRole::Collator(n) => collator_of(n),
            SignerRole::Dev(k) => {
                crate::chain::keys::account(&crate::chain::keys::dev_suri(k), "t").unwrap()
            }
        })
    }

    async fn submit(
        &self,
        intent_id: &str,
        signer: &SignerRole,
        intent: &Intent,
        recorder: &dyn Recorder,
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
            chain: intent.chain(),
            call: intent.describe(),
            extrinsic_hash: HexHash(format!("0x{n:064x}")),
            signer: who.clone(),
            nonce: n as u64,
            mortality: (1, 64),
            birth_hash: HexHash("0x00".into()),
            submitted_at_block: 1,
        };
        // As the chain layer does: nothing is sent unless it is journaled.
        recorder
            .record(&rec)
            .await
            .map_err(|source| ChainError::NotJournaled {
                call: intent.describe(),
                source,
            })?;
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
            Some(Fault::Refused(error)) => Err(OpError::Chain(ChainError::SudoCallFailed {
                call: intent.describe(),
                failure: crate::chain::error::DispatchFailure::Module {
                    pallet: "CollatorSelection".into(),
                    error: error.into(),
                },
            })),
            _ => {
                self.effect(intent_id, &who, intent);
                Ok(())
            }
        }
    }
}

#[derive(Default)]
struct ProviderDouble {
    applied: Mutex<Vec<GroupName>>,
    concurrent: AtomicUsize,
    max_concurrent: AtomicUsize,
    fail_ready: Mutex<BTreeSet<NodeName>>,
    /// stdout of `run_once` by subcommand (`export-genesis-head`, …); the
    /// commands run are recorded.
    exports: Mutex<BTreeMap<String, Vec<u8>>>,
    ran: Mutex<Vec<Vec<String>>>,
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
        spec: &WorkloadSpec,
        args: &[String],
        _: Duration,
    ) -> Result<Vec<u8>, ProviderError> {
        self.ran.lock().unwrap().push(args.to_vec());
        let sub = args.first().cloned().unwrap_or_default();
        self.exports
            .lock()
            .unwrap()
            .get(&sub)
            .cloned()
            .ok_or_else(|| ProviderError::Command {
                command: format!("{} {}", spec.command, args.join(" ")),
                reason: "exit status: 1: no such subcommand".into(),
            })
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
        interrupt: Default::default(),
        interrupt_grace: Duration::from_millis(500),
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
async fn a_lost_keystore_gets_derived_keys_back_without_a_new_set_keys() {
    for derived in [true, false] {
        let d = desired();
        let plan = fresh_plan(&d);
        let (p, c) = (ProviderDouble::default(), ChainDouble::live());
        c.derived_keys.store(derived, Ordering::SeqCst);
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStateStore::new(dir.path(), "local");
        assert!(run(&plan, &d, &p, &c, &store).await.ok());
        assert_eq!(c.landed_of("set_keys"), 2);

        // validator-0 restarts with an empty (in-memory) keystore.
        c.keystores
            .lock()
            .unwrap()
            .remove(&NodeName::new("validator-0"));
        let r = run(&plan, &d, &p, &c, &store).await;
        assert!(r.ok(), "{:?}", r.failures);
        let keys = StepId("keys.validator-0".into());
        if derived {
            assert_eq!(c.landed_of("set_keys"), 2, "the chain already has them");
            assert!(
                matches!(&r.results[&keys], StepResult::Done { note } if note.contains("already holds them")),
                "{:?}",
                r.results[&keys]
            );
        } else {
            assert_eq!(c.landed_of("set_keys"), 3, "rotated keys are new keys");
        }
        assert!(c
            .keystores
            .lock()
            .unwrap()
            .get(&NodeName::new("validator-0"))
            .is_some_and(|k| !k.is_empty()));
    }
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
        chain: ChainSide::Relay,
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

// ------------------------------------------------------------ parachains

const PARA: ParaId = ParaId(2000);

fn step(id: StepId, action: Action, kind: StepKind) -> Step {
    Step {
        id,
        action,
        kind,
        reason: "test".into(),
        depends_on: vec![],
        eta: None,
    }
}

fn plan_of(steps: Vec<Step>) -> Plan {
    Plan {
        format_version: crate::plan::PLAN_FORMAT_VERSION,
        network: crate::spec::ids::NetworkName::new("local"),
        steps,
        pending: vec![],
        safety: vec![],
        fingerprint: Default::default(),
    }
}

fn onboard_step(para: ParaId, mode: OnboardMode, genesis: GenesisSource) -> Step {
    step(
        StepId::para_onboard(para),
        Action::Create,
        StepKind::OnboardPara {
            para,
            mode,
            genesis,
        },
    )
}

fn genesis_of(para: ParaId) -> ParaGenesis {
    ParaGenesis {
        head: vec![para.0 as u8, 1, 2, 3],
        code: b"\0asm-test-code".to_vec(),
        genesis_hash: [7; 32],
    }
}

fn para_state(sudo: Option<AccountId>) -> ParachainState {
    ParachainState {
        block_hash: HexHash("0x01".into()),
        block_number: 1,
        invulnerables: vec![],
        candidates: vec![],
        desired_candidates: Some(2),
        sudo_key: sudo,
        ..Default::default()
    }
}

/// A relay with the sudo key set and `paras` running (reachable, block #0 known).
fn chain_with_paras(paras: &[ParaId]) -> ChainDouble {
    let c = ChainDouble::live();
    c.auto_core.store(true, Ordering::SeqCst);
    c.state.lock().unwrap().as_mut().unwrap().sudo_key = Some(sudo_account());
    for p in paras {
        c.para_chains
            .lock()
            .unwrap()
            .insert(*p, (para_state(Some(sudo_account())), genesis_of(*p)));
    }
    c
}

fn landed_intents(c: &ChainDouble, k: &str) -> Vec<Intent> {
    c.landed
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, i)| kind(i) == k)
        .map(|(_, i)| i.clone())
        .collect()
}

fn new_store() -> (tempfile::TempDir, LocalStateStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path(), "local");
    (dir, store)
}

use crate::spec::model::{GenesisSource, OnboardMode};

#[test]
fn a_record_names_its_chain_and_an_old_one_without_it_is_a_relay_one() {
    let rec = SubmissionRecord {
        intent_id: StepId::collators_register(PARA).to_string(),
        chain: ChainSide::Para(PARA),
        call: "x".into(),
        extrinsic_hash: HexHash("0x01".into()),
        signer: sudo_account(),
        nonce: 3,
        mortality: (1, 64),
        birth_hash: HexHash("0x00".into()),
        submitted_at_block: 1,
    };
    let json = serde_json::to_value(&rec).unwrap();
    assert_eq!(
        serde_json::from_value::<SubmissionRecord>(json.clone()).unwrap(),
        rec
    );
    let mut old = json;
    old.as_object_mut().unwrap().remove("chain");
    let old: SubmissionRecord = serde_json::from_value(old).unwrap();
    assert_eq!(old.chain, ChainSide::Relay);
}

/// A state store whose saves fail from the `fail_at`-th on, as a full disk
/// (`Io`) or a lost Lease (`Fenced`) would.
struct FailingStore {
    inner: LocalStateStore,
    saves: AtomicUsize,
    fail_at: usize,
    fenced: bool,
}

#[async_trait::async_trait]
impl StateStore for FailingStore {
    async fn lock(
        &self,
        info: crate::state::LockInfo,
    ) -> Result<Box<dyn crate::state::LockGuard>, crate::state::StateError> {
        self.inner.lock(info).await
    }
    async fn lock_status(
        &self,
    ) -> Result<Option<crate::state::LockInfo>, crate::state::StateError> {
        self.inner.lock_status().await
    }
    async fn force_unlock(
        &self,
        id: &str,
    ) -> Result<crate::state::LockInfo, crate::state::StateError> {
        self.inner.force_unlock(id).await
    }
    async fn load(&self) -> Result<State, crate::state::StateError> {
        self.inner.load().await
    }
    async fn save(&self, state: &State) -> Result<(), crate::state::StateError> {
        let n = self.saves.fetch_add(1, Ordering::SeqCst) + 1;
        if n < self.fail_at {
            return self.inner.save(state).await;
        }
        Err(if self.fenced {
            crate::state::StateError::Fenced {
                network: "local".into(),
                reason: "the Lease was taken over".into(),
            }
        } else {
            crate::state::StateError::Io {
                what: "writing",
                path: "state.json".into(),
                source: std::io::Error::other("disk full"),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_that_cannot_be_journaled_is_never_sent() {
    let d = desired();
    let plan = fresh_plan(&d);
    // Count the saves of a clean run, and which of them journal a submission.
    let (p, c) = (ProviderDouble::default(), ChainDouble::live());
    let (_dir, store) = new_store();
    let counting = FailingStore {
        inner: store,
        saves: AtomicUsize::new(0),
        fail_at: usize::MAX,
        fenced: false,
    };
    assert!(run(&plan, &d, &p, &c, &counting).await.ok());
    let total = counting.saves.load(Ordering::SeqCst);
    let sent = c.landed.lock().unwrap().len();
    assert!(total > sent && sent >= 4, "{total} saves, {sent} sent");

    // Fail at every save in turn: whatever is sent was journaled first, so
    // the saved journal lists every extrinsic that left, and the apply fails.
    for fail_at in 1..=total {
        for fenced in [false, true] {
            let (p, c) = (ProviderDouble::default(), ChainDouble::live());
            let (_dir, store) = new_store();
            let failing = FailingStore {
                inner: store,
                saves: AtomicUsize::new(0),
                fail_at,
                fenced,
            };
            let r = run(&plan, &d, &p, &c, &failing).await;
            assert!(!r.ok(), "save #{fail_at} failed but the apply succeeded");
            let saved = failing.inner.load().await.unwrap();
            let journaled: BTreeSet<String> = saved
                .journal
                .iter()
                .flat_map(|e| e.submissions.iter().map(|s| s.intent_id.clone()))
                .collect();
            let landed = c.landed.lock().unwrap().clone();
            for (id, intent) in &landed {
                assert!(
                    journaled.contains(id),
                    "save #{fail_at} (fenced: {fenced}): {} was sent unjournaled",
                    intent.describe()
                );
            }
            if fenced {
                assert!(
                    r.failures
                        .iter()
                        .any(|(_, e)| e.contains("lock on local was lost")),
                    "{:?}",
                    r.failures
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_submits_the_genesis_and_a_rerun_does_nothing() {
    let d = desired();
    let c = chain_with_paras(&[PARA]);
    let p = ProviderDouble::default();
    let (_dir, store) = new_store();
    let plan = plan_of(vec![onboard_step(
        PARA,
        OnboardMode::Parachain,
        GenesisSource::Collator,
    )]);
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(
        landed_intents(&c, "onboard"),
        vec![Intent::OnboardPara {
            para: PARA,
            kind: crate::chain::calls::ParaKind::Parachain,
            genesis_head: genesis_of(PARA).head,
            validation_code: genesis_of(PARA).code,
        }],
        "block #0 of the para's node"
    );
    assert_eq!(
        c.landed_of("assign_core"),
        0,
        "the runtime gave the parachain a core itself"
    );
    let saved = store.load().await.unwrap();
    let e = saved.entry(&StepId::para_onboard(PARA)).unwrap();
    assert_eq!(e.status, JournalStatus::Done);
    assert_eq!(e.resolved["genesis_head"], "0xd0010203");
    assert!(e.resolved["validation_code"].ends_with("(14 bytes)"));
    assert!(e.resolved["genesis_from"].contains("node RPC"));

    // Again: registered (Onboarding) with a core: nothing is submitted.
    let r2 = run(&plan, &d, &p, &c, &store).await;
    assert!(r2.ok(), "{:?}", r2.failures);
    assert!(matches!(
        r2.results[&StepId::para_onboard(PARA)],
        StepResult::AlreadyDone { .. }
    ));
    assert_eq!(c.landed.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_the_runtime_assigns_no_core_each_parachain_gets_its_own() {
    let d = desired();
    let (a, b) = (PARA, ParaId(2001));
    let c = chain_with_paras(&[a, b, ParaId(3000)]);
    c.auto_core.store(false, Ordering::SeqCst);
    let p = ProviderDouble::default();
    let (_dir, store) = new_store();
    // Two parachains and a parathread, run in parallel: the parachains must
    // not both pick core 0; the parathread gets none.
    let plan = plan_of(vec![
        onboard_step(a, OnboardMode::Parachain, GenesisSource::Collator),
        onboard_step(b, OnboardMode::Parachain, GenesisSource::Collator),
        onboard_step(
            ParaId(3000),
            OnboardMode::Parathread,
            GenesisSource::Collator,
        ),
    ]);
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(c.landed_of("onboard"), 3);
    let mut cores = BTreeSet::new();
    for i in landed_intents(&c, "assign_core") {
        let Intent::AssignCore { para, core } = i else {
            unreachable!()
        };
        assert!(para == a || para == b, "{para}");
        assert_eq!(core.begin, 3, "finalized block 1 + 2");
        assert_eq!(core.set_cores, Some(core.core as u32 + 1), "core created");
        cores.insert(core.core);
    }
    assert_eq!(cores, BTreeSet::from([0, 1]), "distinct cores");
    let saved = store.load().await.unwrap();
    assert!(saved
        .entry(&StepId::para_onboard(a))
        .unwrap()
        .resolved
        .contains_key("core"));
    let r2 = run(&plan, &d, &p, &c, &store).await;
    for s in &plan.steps {
        assert!(
            matches!(r2.results[&s.id], StepResult::AlreadyDone { .. }),
            "{}: {:?}",
            s.id,
            r2.results[&s.id]
        );
    }
    assert_eq!(c.landed.lock().unwrap().len(), 5);

    // Registered without a core (e.g. a crash between the two extrinsics):
    // only the core is assigned, the genesis is not read again.
    let c = chain_with_paras(&[]);
    c.auto_core.store(false, Ordering::SeqCst);
    c.state.lock().unwrap().as_mut().unwrap().paras.insert(
        a,
        ParaState {
            lifecycle: ParaLifecycle::Onboarding,
            head: None,
            code_hash: None,
            has_core: Some(false),
        },
    );
    let (_d2, store2) = new_store();
    let plan = plan_of(vec![onboard_step(
        a,
        OnboardMode::Parachain,
        GenesisSource::Collator,
    )]);
    let r = run(&plan, &d, &p, &c, &store2).await;
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!((c.landed_of("onboard"), c.landed_of("assign_core")), (0, 1));
}

#[test]
fn a_free_core_is_reused_and_one_is_added_only_when_all_are_taken() {
    let mut s = live_state();
    s.block_number = 100;
    s.paras.insert(
        ParaId(1),
        ParaState {
            lifecycle: ParaLifecycle::Parachain,
            head: None,
            code_hash: None,
            has_core: Some(true),
        },
    );
    let mut d = RelayDetails {
        coretime_cores: Some(2),
        ..Default::default()
    };
    d.para_cores.insert(ParaId(1), BTreeSet::from([0]));
    // Core 1 belongs to a para that was removed: free.
    d.para_cores.insert(ParaId(9), BTreeSet::from([1]));
    let c = steps::paras::free_core(PARA, &s, &d).unwrap();
    assert_eq!(
        c,
        CoreAssignment {
            core: 1,
            begin: 102,
            set_cores: None
        }
    );
    d.para_cores.insert(ParaId(9), BTreeSet::from([1]));
    s.paras.insert(ParaId(9), s.paras[&ParaId(1)].clone());
    let c = steps::paras::free_core(PARA, &s, &d).unwrap();
    assert_eq!((c.core, c.set_cores), (2, Some(3)), "all taken: one more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_onboarding_lost_in_flight_lands_once_and_a_refused_one_fails() {
    let d = desired();
    let c = chain_with_paras(&[PARA]);
    let p = ProviderDouble::default();
    let (_dir, store) = new_store();
    let plan = plan_of(vec![onboard_step(
        PARA,
        OnboardMode::Parachain,
        GenesisSource::Collator,
    )]);
    for _ in 0..3 {
        c.inject("onboard", Fault::LostAfterSend);
    }
    // The first send is lost; the executor's retry settles it (it landed)
    // and finds the para registered: nothing is sent again.
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    assert!(matches!(
        r.results[&StepId::para_onboard(PARA)],
        StepResult::AlreadyDone { .. }
    ));
    assert_eq!(c.landed_of("onboard"), 1);
    assert_eq!(
        c.faults.lock().unwrap()["onboard"].len(),
        2,
        "one send only"
    );
    assert!(c.in_flight.lock().unwrap().is_empty());
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(
        c.landed_of("onboard"),
        1,
        "exactly one onboarding extrinsic"
    );

    // A chain verdict is not retried.
    let c = chain_with_paras(&[PARA]);
    let (_dir2, store2) = new_store();
    c.inject("onboard", Fault::Dispatch);
    let r = run(&plan, &d, &p, &c, &store2).await;
    assert_eq!(r.failures.len(), 1);
    assert!(r.failures[0].1.contains("X.Nope"), "{}", r.failures[0].1);
    assert_eq!(c.landed_of("onboard"), 0);
}

/// A collator group `para-collator` of PARA (a copy of the first group).
fn add_collator_group(d: &mut Desired) {
    let mut group = d.groups[0].clone();
    group.name = GroupName::new("para-collator");
    group.chain = ChainSide::Para(PARA);
    group.role = crate::spec::model::Role::Collator;
    d.groups.push(group);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_without_an_obtainable_genesis_fails_saying_what_to_configure() {
    let mut d = desired();
    let c = chain_with_paras(&[]);
    let p = ProviderDouble::default();
    let mut o = opts();
    o.attempts = 1;
    // One onboarding step of PARA, on a fresh journal.
    let onboard = |genesis: GenesisSource, d: Desired| {
        let (c, p, o) = (&c, &p, o.clone());
        async move {
            let (_dir, store) = new_store();
            let plan = plan_of(vec![onboard_step(PARA, OnboardMode::Parachain, genesis)]);
            let journal = Journal::new(&store, store.load().await.unwrap());
            let progress = Progress::quiet();
            Executor {
                plan: &plan,
                desired: &d,
                provider: p,
                chain: c,
                journal: &journal,
                options: o,
                progress: &progress,
            }
            .run()
            .await
        }
    };
    // No node of the para answers and no collator group could export it.
    let r = onboard(GenesisSource::Collator, d.clone()).await;
    assert_eq!(r.failures.len(), 1);
    let e = &r.failures[0].1;
    assert!(
        e.contains("no collator group") && e.contains("raw chain spec"),
        "{e}"
    );

    // A raw spec: the code comes from the file, the head needs the state
    // root, which only the collator binary exports — no group, no head.
    let dir = tempfile::tempdir().unwrap();
    let spec = serde_json::json!({"genesis": {"raw": {"top": {"0x3a636f6465": "0x0061736d01"}}}});
    std::fs::write(dir.path().join("para.raw.json"), spec.to_string()).unwrap();
    d.source.dir = dir.path().to_path_buf();
    let raw = GenesisSource::RawSpec {
        path: "para.raw.json".into(),
    };
    let r = onboard(raw.clone(), d.clone()).await;
    let e = &r.failures[0].1;
    assert!(
        e.contains("genesis state root") && e.contains("genesis = \"collator\""),
        "{e}"
    );

    // With a collator group whose binary cannot export: the failure says so.
    add_collator_group(&mut d);
    d.groups.last_mut().unwrap().command = "polkadot-parachain".into();
    let r = onboard(raw.clone(), d.clone()).await;
    let e = &r.failures[0].1;
    assert!(
        e.contains("polkadot-parachain export-genesis-head --chain para.raw.json"),
        "{e}"
    );
    assert_eq!(c.landed_of("onboard"), 0, "nothing reached the chain");

    // The binary exports the head: code from the spec, head from the binary.
    p.exports
        .lock()
        .unwrap()
        .insert("export-genesis-head".into(), b"0xabcdef\n".to_vec());
    let r = onboard(raw, d.clone()).await;
    assert!(r.ok(), "{:?}", r.failures);
    match &landed_intents(&c, "onboard")[..] {
        [Intent::OnboardPara {
            genesis_head,
            validation_code,
            ..
        }] => {
            assert_eq!(genesis_head, &vec![0xab, 0xcd, 0xef]);
            assert_eq!(validation_code, &vec![0, 0x61, 0x73, 0x6d, 1]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesis_from_a_collator_falls_back_to_the_binarys_export_and_says_so() {
    let mut d = desired();
    add_collator_group(&mut d);
    let c = chain_with_paras(&[]);
    let p = ProviderDouble::default();
    p.exports
        .lock()
        .unwrap()
        .insert("export-genesis-head".into(), b"0x0102".to_vec());
    p.exports
        .lock()
        .unwrap()
        .insert("export-genesis-wasm".into(), b"0x0061736d".to_vec());
    let (_dir, store) = new_store();
    let plan = plan_of(vec![onboard_step(
        PARA,
        OnboardMode::Parathread,
        GenesisSource::Collator,
    )]);
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    let ran = p.ran.lock().unwrap().clone();
    assert!(ran.iter().any(|a| a[0] == "export-genesis-wasm"), "{ran:?}");
    let e = store.load().await.unwrap();
    let from = &e.entry(&StepId::para_onboard(PARA)).unwrap().resolved["genesis_from"];
    assert!(from.contains("export-genesis-head/-wasm"), "{from}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_waits_for_an_onboarded_para_and_runs_once() {
    let d = desired();
    let c = chain_with_paras(&[]);
    let p = ProviderDouble::default();
    let (_dir, store) = new_store();
    let plan = plan_of(vec![step(
        StepId::para_offboard(PARA),
        Action::Delete,
        StepKind::OffboardPara { para: PARA },
    )]);
    // Not registered: nothing to do.
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(matches!(
        r.results[&StepId::para_offboard(PARA)],
        StepResult::AlreadyDone { .. }
    ));
    // Still onboarding: the runtime would refuse; the step says when to retry.
    let mut ps = ParaState {
        lifecycle: ParaLifecycle::Onboarding,
        head: None,
        code_hash: None,
        has_core: Some(true),
    };
    c.state
        .lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .paras
        .insert(PARA, ps.clone());
    let r = run(&plan, &d, &p, &c, &store).await;
    assert_eq!(r.failures.len(), 1);
    assert!(
        r.failures[0].1.contains("still onboarding"),
        "{}",
        r.failures[0].1
    );
    assert_eq!(c.landed_of("offboard"), 0);
    // A parachain: offboarded once, then already offboarding.
    ps.lifecycle = ParaLifecycle::Parachain;
    c.state
        .lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .paras
        .insert(PARA, ps);
    c.inject("offboard", Fault::TransientBeforeSend);
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(
        landed_intents(&c, "offboard"),
        vec![Intent::OffboardPara(PARA)]
    );
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(matches!(
        r.results[&StepId::para_offboard(PARA)],
        StepResult::AlreadyDone { .. }
    ));
    assert_eq!(c.landed_of("offboard"), 1);
}

fn members(nodes: &[&str], account: impl Fn(&NodeName) -> AccountId) -> Vec<Member> {
    nodes
        .iter()
        .map(|n| {
            let node = NodeName::new(*n);
            Member {
                account: account(&node),
                node,
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invulnerables_are_added_through_the_paras_sudo_once() {
    let d = desired();
    let c = chain_with_paras(&[PARA]);
    let p = ProviderDouble::default();
    let (_dir, store) = new_store();
    let ms = members(&["c-0", "c-1"], collator_of);
    // c-0 is already invulnerable: only c-1 is added.
    c.para_chains
        .lock()
        .unwrap()
        .get_mut(&PARA)
        .unwrap()
        .0
        .invulnerables = vec![ms[0].account.clone()];
    let plan = plan_of(vec![step(
        StepId::collators_register(PARA),
        Action::Create,
        StepKind::RegisterCollators {
            para: PARA,
            invulnerable: true,
            members: ms.clone(),
        },
    )]);
    // Lost after sending: the next attempt settles it on the para, no resend.
    c.inject("add_invulnerables", Fault::LostAfterSend);
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(
        landed_intents(&c, "add_invulnerables"),
        vec![Intent::AddInvulnerables {
            para: PARA,
            who: vec![ms[1].account.clone()]
        }]
    );
    assert!(matches!(
        r.results[&StepId::collators_register(PARA)],
        StepResult::AlreadyDone { .. }
    ));
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(matches!(
        r.results[&StepId::collators_register(PARA)],
        StepResult::AlreadyDone { .. }
    ));
    assert_eq!(c.landed_of("add_invulnerables"), 1);

    // Another account holds the para's sudo: refused before anything is sent.
    let c = chain_with_paras(&[PARA]);
    c.para_chains
        .lock()
        .unwrap()
        .get_mut(&PARA)
        .unwrap()
        .0
        .sudo_key = Some(stash_of(&NodeName::new("x")));
    let (_d2, store2) = new_store();
    let r = run(&plan, &d, &p, &c, &store2).await;
    assert_eq!(r.failures.len(), 1);
    assert!(r.failures[0].1.contains("Sudo.Key"), "{}", r.failures[0].1);
    assert_eq!(c.landed_of("add_invulnerables"), 0);

    // The runtime refuses collators without session keys: the error says why.
    let c = chain_with_paras(&[PARA]);
    c.inject(
        "add_invulnerables",
        Fault::Refused("ValidatorNotRegistered"),
    );
    let (_d3, store3) = new_store();
    let r = run(&plan, &d, &p, &c, &store3).await;
    let e = &r.failures[0].1;
    assert!(
        e.contains("ValidatorNotRegistered") && e.contains("session keys are not set on para 2000"),
        "{e}"
    );
    // The para is down: a connection error, retried, then reported.
    let c = chain_with_paras(&[]);
    let (_d4, store4) = new_store();
    let r = run(&plan, &d, &p, &c, &store4).await;
    assert!(r.failures[0].1.contains("para 2000"), "{}", r.failures[0].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_register_themselves_signed_by_their_collator_accounts() {
    let d = desired();
    let c = chain_with_paras(&[PARA]);
    let p = ProviderDouble::default();
    let (_dir, store) = new_store();
    let ms = members(&["c-0", "c-1", "c-2"], collator_of);
    c.para_chains
        .lock()
        .unwrap()
        .get_mut(&PARA)
        .unwrap()
        .0
        .candidates = vec![ms[2].account.clone()];
    let plan = plan_of(vec![step(
        StepId::collators_register_candidates(PARA),
        Action::Create,
        StepKind::RegisterCollators {
            para: PARA,
            invulnerable: false,
            members: ms.clone(),
        },
    )]);
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    let cands = c.para_chains.lock().unwrap()[&PARA].0.candidates.clone();
    assert_eq!(
        cands,
        vec![
            ms[2].account.clone(),
            ms[0].account.clone(),
            ms[1].account.clone()
        ],
        "each signed by itself"
    );
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(matches!(
        r.results[&StepId::collators_register_candidates(PARA)],
        StepResult::AlreadyDone { .. }
    ));
    assert_eq!(c.landed_of("candidate"), 2);

    // A plan made with another derivation root: refused, nothing signed.
    let wrong = members(&["c-3"], stash_of);
    let plan = plan_of(vec![step(
        StepId::collators_register_candidates(PARA),
        Action::Create,
        StepKind::RegisterCollators {
            para: PARA,
            invulnerable: false,
            members: wrong,
        },
    )]);
    let (_d2, store2) = new_store();
    let r = run(&plan, &d, &p, &c, &store2).await;
    assert!(
        r.failures[0].1.contains("another root"),
        "{}",
        r.failures[0].1
    );
    assert_eq!(c.landed_of("candidate"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deregistration_removes_only_invulnerables_once() {
    let d = desired();
    let c = chain_with_paras(&[PARA]);
    let p = ProviderDouble::default();
    let (_dir, store) = new_store();
    let ms = members(&["c-0", "c-1"], collator_of);
    {
        let mut paras = c.para_chains.lock().unwrap();
        let s = &mut paras.get_mut(&PARA).unwrap().0;
        s.invulnerables = vec![sudo_account(), ms[0].account.clone()];
        s.candidates = vec![ms[1].account.clone()];
    }
    let plan = plan_of(vec![step(
        StepId::collators_deregister(PARA),
        Action::Delete,
        StepKind::DeregisterCollators {
            para: PARA,
            members: ms.clone(),
        },
    )]);
    c.inject("remove_invulnerables", Fault::TransientBeforeSend);
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(
        landed_intents(&c, "remove_invulnerables"),
        vec![Intent::RemoveInvulnerables {
            para: PARA,
            who: vec![ms[0].account.clone()]
        }]
    );
    assert_eq!(
        c.para_chains.lock().unwrap()[&PARA].0.invulnerables,
        vec![sudo_account()]
    );
    let r = run(&plan, &d, &p, &c, &store).await;
    assert!(matches!(
        r.results[&StepId::collators_deregister(PARA)],
        StepResult::AlreadyDone { .. }
    ));
    assert_eq!(c.landed_of("remove_invulnerables"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_starts_no_new_step_and_lets_running_ones_finish_within_the_grace() {
    use crate::apply::interrupt::{Interrupt, Signal};
    let d = desired();
    let plan = fresh_plan(&d);
    for (grace, abandoned) in [(Duration::from_millis(500), false), (Duration::ZERO, true)] {
        let (p, c) = (ProviderDouble::default(), ChainDouble::live());
        let (_dir, store) = new_store();
        let journal = Journal::new(&store, store.load().await.unwrap());
        let progress = Progress::quiet();
        let (trigger, interrupt) = Interrupt::channel();
        let ex = Executor {
            plan: &plan,
            desired: &d,
            provider: &p,
            chain: &c,
            journal: &journal,
            options: ExecOptions {
                interrupt,
                interrupt_grace: grace,
                ..opts()
            },
            progress: &progress,
        };
        // Workload steps take 50 ms each: the signal comes while the first run.
        let fire = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            trigger.fire(Signal::Term);
            trigger.fire(Signal::Int); // only the first counts
        };
        let (r, ()) = tokio::join!(ex.run(), fire);
        assert_eq!(r.interrupted, Some(Signal::Term));
        assert!(!r.ok());
        let started: Vec<&StepId> = r
            .results
            .iter()
            .filter(|(_, res)| !matches!(res, StepResult::Interrupted { started: false }))
            .map(|(id, _)| id)
            .collect();
        assert!(
            !started.is_empty()
                && started
                    .iter()
                    .all(|id| id.as_str().starts_with("workload.")),
            "only the first workload steps ran: {started:?}"
        );
        assert_eq!(
            r.undone().iter().any(|(_, s)| *s),
            abandoned,
            "grace {grace:?}: {:?}",
            r.results
        );
        assert_eq!(r.results.len(), plan.steps.len(), "every step has a result");
        assert_eq!(
            c.landed_of("set_keys") + c.landed_of("register") + c.landed_of("fund"),
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_apply_marks_the_state_dirty_names_what_is_undone_and_releases_the_lock() {
    use crate::apply::interrupt::{Interrupt, Signal};
    use crate::apply::workflow::{self, Live, PlanSource, Policy, Review, WorkflowError};
    struct Yes;
    impl Review for Yes {
        fn show(&self, _: &Plan) -> std::io::Result<()> {
            Ok(())
        }
        fn approve(&self, _: &Plan) -> std::io::Result<bool> {
            Ok(true)
        }
    }
    let d = desired();
    let (p, c) = (ProviderDouble::default(), ChainDouble::live());
    let (_dir, store) = new_store();
    let (trigger, interrupt) = Interrupt::channel();
    let policy = Policy {
        exec: ExecOptions {
            interrupt,
            ..opts()
        },
        ..Default::default()
    };
    let live = Live {
        provider: &p,
        store: &store,
        chain: &c,
    };
    let progress = Progress::quiet();
    let fire = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        trigger.fire(Signal::Int);
    };
    let (r, ()) = tokio::join!(
        workflow::apply(&live, &d, PlanSource::Desired, &policy, &Yes, &progress),
        fire
    );
    match r {
        Err(WorkflowError::Interrupted {
            signal: Signal::Int,
            undone,
            ..
        }) => assert!(!undone.is_empty()),
        other => panic!("{other:?}"),
    }
    let s = store.load().await.unwrap();
    assert!(s.dirty, "{s:?}");
    assert!(
        s.dirty_reason
            .as_deref()
            .is_some_and(|r| r.contains("interrupted by SIGINT")),
        "{:?}",
        s.dirty_reason
    );
    assert!(
        store.lock_status().await.unwrap().is_none(),
        "lock released"
    );
}
