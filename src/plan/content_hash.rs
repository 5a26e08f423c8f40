//! `Plan::content_hash`: the identity of what a reviewer approves.
//!
//! CI's apply-on-merge re-plans at the merge commit and refuses to apply when
//! this hash differs from the one shown on the pull request. It therefore
//! covers what the plan *does* (network, steps with their kinds, inputs,
//! reasons and edges, safety violations) and leaves out what only says *when*:
//! the observed fingerprint (block hash and number move every few seconds),
//! pending effects, and each step's ETA (a session index, which advances
//! between review and merge without changing any action).

use super::{Plan, Step};
use sha2::{Digest, Sha256};

impl Plan {
    /// sha256 (lowercase hex) of the canonical JSON of the network name, the
    /// steps without their ETAs, and the safety violations.
    pub fn content_hash(&self) -> String {
        let steps: Vec<Step> = self
            .steps
            .iter()
            .map(|s| Step {
                eta: None,
                ..s.clone()
            })
            .collect();
        // Plain data with string keys: serialization cannot fail in practice;
        // should it, an empty input still gives a stable hash, not a panic.
        let bytes = serde_json::to_vec(&(&self.network, &steps, &self.safety)).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::{
        Action, Eta, Fingerprint, Plan, Step, StepId, StepKind, PLAN_FORMAT_VERSION,
    };
    use crate::spec::ids::{HexHash, NetworkName, ParaId};

    fn plan(session: u32, block: u64) -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            network: NetworkName::new("net"),
            steps: vec![Step {
                id: StepId::para_offboard(ParaId(2000)),
                action: Action::Delete,
                kind: StepKind::OffboardPara { para: ParaId(2000) },
                reason: "not in desired state".into(),
                depends_on: vec![],
                eta: Some(Eta {
                    session: Some(session),
                    text: format!("removed at session {session}"),
                }),
            }],
            pending: vec![],
            safety: vec![],
            fingerprint: Fingerprint {
                block_hash: Some(HexHash(format!("0x{block:064x}"))),
                block_number: Some(block),
                workloads: Default::default(),
                objects: Default::default(),
                digest: format!("{block}"),
            },
        }
    }

    #[test]
    fn independent_of_time_but_not_of_content() {
        let a = plan(10, 100);
        assert_eq!(a.content_hash(), plan(12, 250).content_hash());
        assert_eq!(a.content_hash().len(), 64);
        let mut b = plan(10, 100);
        b.steps[0].reason = "other".into();
        assert_ne!(a.content_hash(), b.content_hash());
        let mut c = plan(10, 100);
        c.network = NetworkName::new("other");
        assert_ne!(a.content_hash(), c.content_hash());
        let mut d = plan(10, 100);
        d.steps.clear();
        assert_ne!(a.content_hash(), d.content_hash());
    }
}
