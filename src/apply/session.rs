//! The pieces an `apply`/`destroy`/`status` invocation works with on the
//! local provider: the provider, the state store and the live chain, all
//! rooted at `.paraform/<net>/`. (The Kubernetes provider builds the same
//! set from a Lease store and its own provider.)

use super::live::LiveChain;
use crate::observe::live::relay_preference;
use crate::observe::Observed;
use crate::plan::{Action, Member, Plan, Step, StepId, StepKind, WorkloadOp};
use crate::provider::local::LocalProvider;
use crate::provider::Provider;
use crate::spec::ids::ChainSide;
use crate::spec::model::{Consensus, Desired, ProviderKind, Role};
use crate::state::local::LocalStateStore;
use secrecy::SecretString;
use std::sync::Arc;

pub struct LocalSession {
    pub provider: Arc<LocalProvider>,
    pub store: LocalStateStore,
    pub chain: LiveChain,
}

#[derive(Debug, thiserror::Error)]
#[error("the {0} provider is not supported by this command yet; only provider = \"local\" is")]
pub struct UnsupportedProvider(pub String);

impl LocalSession {
    pub fn new(
        desired: &Desired,
        sudo: Option<SecretString>,
        root: Option<SecretString>,
    ) -> Result<Self, UnsupportedProvider> {
        if let ProviderKind::Kubernetes { .. } = desired.provider {
            return Err(UnsupportedProvider("kubernetes".into()));
        }
        let provider = Arc::new(LocalProvider::for_network(desired));
        let store = LocalStateStore::new(
            provider.layout().root().to_path_buf(),
            desired.network.as_str(),
        );
        let dyn_provider: Arc<dyn Provider> = provider.clone();
        let chain = LiveChain::new(dyn_provider, relay_preference(desired), sudo, root);
        Ok(LocalSession {
            provider,
            store,
            chain,
        })
    }
}

/// The plan of `destroy`: deregister the managed validators that are in (or
/// queued for) the active set, then delete every workload — deletions wait
/// for the deregistration. Genesis authorities are left in the set (the
/// chain goes with them).
pub fn destroy_plan(desired: &Desired, observed: &Observed) -> Plan {
    let mut steps = Vec::new();
    let mut members = Vec::new();
    if let Some(chain) = observed.relay_state() {
        for w in observed.workloads.values() {
            let managed_validator = match (&w.spec, desired.group(&w.group)) {
                (Some(s), _) => {
                    s.role == Role::Validator
                        && !s.genesis_authorities
                        && s.chain_side == ChainSide::Relay
                }
                (None, Some(g)) => {
                    g.role == Role::Validator
                        && !g.genesis_authorities
                        && g.chain == ChainSide::Relay
                }
                (None, None) => false,
            };
            if !managed_validator {
                continue;
            }
            for n in &w.nodes {
                if let Some(a) = &n.account {
                    let in_set = (super::steps::staying(chain, a) || chain.pending_add.contains(a))
                        && !chain.pending_retire.contains(a);
                    if in_set {
                        members.push(Member {
                            node: n.name.clone(),
                            account: a.clone(),
                        });
                    }
                }
            }
        }
    }
    let dereg = StepId::validators_deregister();
    if !members.is_empty() {
        steps.push(Step {
            id: dereg.clone(),
            action: Action::Delete,
            kind: StepKind::DeregisterValidators {
                consensus: Consensus::Poa,
                members,
            },
            reason: "destroy: leave the validator set before stopping".into(),
            depends_on: vec![],
            eta: None,
            known_after_apply: vec![],
        });
    }
    for w in observed.workloads.values() {
        steps.push(Step {
            id: StepId::workload(&w.group),
            action: Action::Delete,
            kind: StepKind::Workload {
                group: w.group.clone(),
                op: WorkloadOp::Delete,
                nodes: w.nodes.iter().map(|n| n.name.clone()).collect(),
                from: w.spec.clone(),
                to: None,
                max_unavailable: w.replicas.max(1),
            },
            reason: "destroy".into(),
            depends_on: if steps.first().is_some_and(|s| s.id == dereg) {
                vec![dereg.clone()]
            } else {
                vec![]
            },
            eta: None,
            known_after_apply: vec![],
        });
    }
    Plan {
        format_version: crate::plan::PLAN_FORMAT_VERSION,
        network: desired.network.clone(),
        steps,
        pending: vec![],
        safety: vec![],
        fingerprint: Default::default(),
    }
}
