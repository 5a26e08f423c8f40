//! One batched fund step: top up the derived accounts that are about to sign
//! (stashes that set keys or register, collators that register).
//!
//! Only accounts with work ahead are funded: an account that paid its fees
//! and is done is below the target afterwards, and must not be topped up on
//! every plan.

use super::builder::StepSet;
use super::context::Ctx;
use super::step::{Action, Member, Step, StepId, StepKind, Transfer};
use crate::spec::ids::AccountId;
use std::collections::BTreeSet;

/// Emit the fund step (if any account is short); returns the accounts it funds.
pub(crate) fn emit(
    ctx: &Ctx<'_>,
    accounts: Vec<Member>,
    steps: &mut StepSet,
) -> BTreeSet<AccountId> {
    let target = ctx.desired.funding.amount;
    let mut seen = BTreeSet::new();
    let mut transfers: Vec<Transfer> = accounts
        .into_iter()
        .filter(|m| seen.insert(m.account.clone()))
        .filter_map(|m| {
            // Chain not observable: balances are unknown, send the full amount.
            let free = ctx
                .chain
                .and_then(|c| c.balances.get(&m.account).copied())
                .unwrap_or(0);
            (free < target).then(|| Transfer {
                node: m.node,
                to: m.account,
                amount: target - free,
            })
        })
        .collect();
    if transfers.is_empty() {
        return BTreeSet::new();
    }
    transfers.sort_by(|a, b| a.node.cmp(&b.node));
    let funded = transfers.iter().map(|t| t.to.clone()).collect();
    let reason = match ctx.chain {
        Some(_) => format!(
            "{} below the funding target of {target}",
            accounts_phrase(transfers.len())
        ),
        None => format!(
            "{}: {} to fund",
            ctx.chain_unknown_reason(),
            accounts_phrase(transfers.len())
        ),
    };
    steps.insert(Step {
        id: StepId::fund(),
        action: Action::Create,
        kind: StepKind::Fund { transfers },
        reason,
        depends_on: vec![],
        eta: None,
    });
    funded
}

fn accounts_phrase(n: usize) -> String {
    if n == 1 {
        "1 account".to_string()
    } else {
        format!("{n} accounts")
    }
}
