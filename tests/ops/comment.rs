//! The PR comment (`plan --format markdown`) and the content hash CI uses
//! to tie an apply to the plan approved on the pull request.

use super::world::*;
use paraform::observe::*;
use paraform::plan::*;
use paraform::render::{self, markdown, Format, Options};
use paraform::spec::*;

/// A large network being torn down and rebuilt: thousands of creates, with
/// the destroys and deregistrations at the *end* of the plan.
fn huge(n: u32) -> Plan {
    let mut steps: Vec<Step> = (0..n)
        .map(|i| Step {
            id: StepId(format!("keys.validator-{i}")),
            action: Action::Create,
            kind: StepKind::SetKeys {
                node: NodeName::new(format!("validator-{i}")),
                stash: external(9),
            },
            reason: "no Session.NextKeys for the stash".into(),
            depends_on: vec![StepId("gate.validator".into())],
            eta: None,
        })
        .collect();
    steps.push(Step {
        id: StepId::validators_deregister(),
        action: Action::Delete,
        kind: StepKind::DeregisterValidators {
            consensus: Consensus::Poa,
            members: vec![Member {
                node: NodeName::new("old-0"),
                account: external(8),
            }],
        },
        reason: "no longer desired validators: old-0".into(),
        depends_on: vec![],
        eta: None,
    });
    steps.push(Step {
        id: StepId::para_offboard(ParaId(3000)),
        action: Action::Delete,
        kind: StepKind::OffboardPara { para: ParaId(3000) },
        reason: "not in desired state".into(),
        depends_on: vec![],
        eta: None,
    });
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        network: NetworkName::new("huge"),
        steps,
        pending: vec![],
        safety: vec![],
        fingerprint: Fingerprint::default(),
    }
}

#[test]
fn huge_plan_comment_fits_and_calls_out_destroys_first() {
    for n in [50_000, 5_000] {
        let p = huge(n);
        let md = render::render(&p, Format::Markdown, Options::default());
        assert!(
            md.chars().count() <= markdown::GITHUB_COMMENT_LIMIT,
            "{n}: {} chars",
            md.chars().count()
        );
        assert!(md.contains("truncated"), "{n}: a truncation note");
        // Both destructive steps are named before the step table, although
        // they are the last two of the plan and the table/details are cut.
        let caution = md.find("[!CAUTION]").expect("caution block");
        let table = md.find("| | Step |").expect("table");
        assert!(caution < table);
        let head = &md[..table];
        assert!(
            head.contains("validators.deregister") && head.contains("para.3000.offboard"),
            "{head}"
        );
        assert!(md.contains("</details>"), "details closed");
    }
}

#[test]
fn content_hash_is_the_json_and_saved_plan_digest() {
    let d = paras();
    let o = Observed::empty();
    let p = plan(&d, &o);
    let json: serde_json::Value =
        serde_json::from_str(&render::render(&p, Format::Json, Options::default())).expect("json");
    assert_eq!(json["content_digest"], p.content_hash());
    let saved = artifact::SavedPlan::new(&d, p.clone(), "net", "test");
    assert_eq!(saved.content_digest, p.content_hash());
}

#[test]
fn content_hash_survives_the_chain_moving_on_but_not_a_changed_plan() {
    let d = paras();
    // A world with ETAs in the plan (a para to onboard, validators to register).
    let mut o = in_sync(&d);
    let a2 = account_of(&d, "validator-a-2");
    {
        let c = chain_mut(&mut o);
        c.validators.retain(|a| a != &a2);
        c.queued.retain(|a| a != &a2);
        c.paras.remove(&ParaId(2000));
    }
    let before = plan(&d, &o);
    assert!(
        before.steps.iter().any(|s| s.eta.is_some()),
        "{:#?}",
        before.steps
    );

    // Two sessions and 25 blocks later, nothing else changed.
    let mut later = o.clone();
    {
        let c = chain_mut(&mut later);
        c.block_number += 25;
        c.block_hash = hash(0xcd);
        c.session_index += 2;
    }
    let after = plan(&d, &later);
    assert_ne!(before.fingerprint, after.fingerprint);
    assert_ne!(
        serde_json::to_string(&before.steps).ok(),
        serde_json::to_string(&after.steps).ok(),
        "ETAs moved"
    );
    assert_eq!(before.content_hash(), after.content_hash());

    // Meanwhile someone onboarded para 2000: a different plan.
    let onboarded = chain_mut(&mut in_sync(&d)).paras[&ParaId(2000)].clone();
    chain_mut(&mut later).paras.insert(ParaId(2000), onboarded);
    let changed = plan(&d, &later);
    assert_ne!(before.content_hash(), changed.content_hash());
}

#[test]
fn expect_hash_refuses_another_plan() {
    let d = paras();
    let p = plan(&d, &Observed::empty());
    let h = p.content_hash();
    assert!(paraform::apply::workflow::check_expected_hash(&p, None).is_ok());
    assert!(paraform::apply::workflow::check_expected_hash(&p, Some(&h)).is_ok());
    assert!(paraform::apply::workflow::check_expected_hash(&p, Some(&h.to_uppercase())).is_ok());
    let err = paraform::apply::workflow::check_expected_hash(&p, Some("00")).expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains(&h) && msg.contains("changed since it was approved"),
        "{msg}"
    );
}
