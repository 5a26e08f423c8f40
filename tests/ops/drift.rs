//! Drift classification: cluster / chain / pending, the verdict, the
//! Prometheus metrics (parsed by a strict exposition-format reader) and the
//! Markdown report's size bound.

use super::prom;
use super::world::*;
use paraform::drift::*;
use paraform::observe::*;
use paraform::plan::*;
use paraform::spec::*;

fn report(desired: &Desired, observed: &Observed) -> (Plan, DriftReport) {
    let plan = plan(desired, observed);
    let r = DriftReport::classify(&plan, observed);
    (plan, r)
}

fn steps(items: &[DriftItem]) -> Vec<&str> {
    items.iter().map(|i| i.step.as_str()).collect()
}

#[test]
fn in_sync_world_has_no_drift() {
    let d = paras();
    let (plan, r) = report(&d, &in_sync(&d));
    assert!(plan.is_empty(), "{:#?}", plan.steps);
    assert_eq!(r.verdict, Verdict::InSync);
    assert!(r.cluster.is_empty() && r.chain.is_empty() && r.pending.is_empty());
    assert_eq!(r.block_number, Some(118));
    assert_eq!(
        r.summary_line(),
        "In sync: 0 cluster, 0 chain; 0 pending (not drift)."
    );
}

#[test]
fn a_stopped_node_is_cluster_drift() {
    let d = paras();
    let mut o = in_sync(&d);
    let rpc = GroupName::new("rpc");
    if let Some(w) = o.workloads.get_mut(&rpc) {
        w.nodes[0].running = false;
        w.ready_replicas = 0;
    }
    let (_, r) = report(&d, &o);
    assert_eq!(r.verdict, Verdict::Drift);
    assert!(r.chain.is_empty(), "{:#?}", r.chain);
    assert!(
        steps(&r.cluster).contains(&"workload.rpc"),
        "{:#?}",
        r.cluster
    );
    assert!(r.cluster.iter().all(|i| i.class == DriftClass::Cluster));
}

#[test]
fn missing_keys_and_registration_are_chain_drift() {
    let d = paras();
    let mut o = in_sync(&d);
    let a2 = account_of(&d, "validator-a-2");
    let ah1 = account_of(&d, "ah-collator-1");
    {
        let c = chain_mut(&mut o);
        c.next_keys.remove(&a2);
        c.validators.retain(|a| a != &a2);
        c.queued.retain(|a| a != &a2);
    }
    para_mut(&mut o, 1000).invulnerables.retain(|a| a != &ah1);
    let (_, r) = report(&d, &o);
    assert_eq!(r.verdict, Verdict::Drift);
    assert!(r.cluster.is_empty(), "{:#?}", r.cluster);
    let chain = steps(&r.chain);
    for id in [
        "keys.validator-a-2",
        "validators.register",
        "collators.1000.register",
    ] {
        assert!(chain.contains(&id), "{id} in {chain:?}");
    }
    let resource = |id: &str| {
        r.chain
            .iter()
            .find(|i| i.step.as_str() == id)
            .map(|i| i.resource)
    };
    assert_eq!(resource("keys.validator-a-2"), Some("session keys"));
    assert_eq!(resource("collators.1000.register"), Some("collators"));
}

#[test]
fn a_submitted_registration_is_pending_not_drift() {
    let d = paras();
    let mut o = in_sync(&d);
    let a2 = account_of(&d, "validator-a-2");
    {
        let c = chain_mut(&mut o);
        c.validators.retain(|a| a != &a2);
        c.queued.retain(|a| a != &a2);
        c.pending_add.push(a2);
    }
    let (plan, r) = report(&d, &o);
    assert!(plan.is_empty(), "{:#?}", plan.steps);
    assert_eq!(r.pending.len(), 1, "{:#?}", r.pending);
    assert_eq!(r.verdict, Verdict::InSync);
    assert!(r.summary_line().contains("1 pending (not drift)"));
}

#[test]
fn an_unreadable_chain_makes_the_check_incomplete() {
    let d = paras();
    let (_, r) = report(&d, &relay_unreachable(&d));
    assert_eq!(r.verdict, Verdict::Incomplete);
    assert_eq!(r.unobserved.len(), 1);
    assert_eq!(r.unobserved[0].endpoint, "ws://127.0.0.1:9944");
    assert_eq!(r.block_number, None);

    let mut o = in_sync(&d);
    o.parachains.insert(
        ParaId(2000),
        ParachainView::Unreachable {
            endpoint: "ws://127.0.0.1:9990".into(),
            error: "refused".into(),
        },
    );
    let (_, r) = report(&d, &o);
    assert_eq!(r.verdict, Verdict::Incomplete);
    assert_eq!(r.unobserved[0].chain, "para 2000");
}

#[test]
fn cluster_drift_is_drift_even_when_a_chain_is_unread() {
    let d = paras();
    let mut o = relay_unreachable(&d);
    // A workload whose nodes all stopped: provider-side, certain.
    let w = o.workloads.values_mut().next().expect("a workload");
    for n in &mut w.nodes {
        n.running = false;
    }
    let (_, r) = report(&d, &o);
    assert_eq!(r.verdict, Verdict::Drift);
    assert!(!r.cluster.is_empty());
    assert_eq!(r.unobserved.len(), 1, "the unread chain is still reported");
}

#[test]
fn a_fresh_network_is_drift_not_an_error() {
    let d = paras();
    let (plan, r) = report(&d, &Observed::empty());
    assert_eq!(r.verdict, Verdict::Drift);
    assert_eq!(r.cluster.len() + r.chain.len(), plan.steps.len());
    assert!(!r.cluster.is_empty() && !r.chain.is_empty());
}

fn step(id: &str, action: Action, kind: StepKind) -> Step {
    Step {
        id: StepId(id.into()),
        action,
        kind,
        reason: format!("reason of {id}"),
        depends_on: vec![],
        eta: None,
    }
}

/// Every step kind has a class: the provider side is cluster, everything
/// submitted to a chain is chain.
#[test]
fn every_step_kind_is_classified() {
    let g = GroupName::new("g");
    let n = NodeName::new("g-0");
    let a = external(1);
    let member = Member {
        node: n.clone(),
        account: a.clone(),
    };
    let cases = [
        (
            StepKind::Workload {
                group: g.clone(),
                op: WorkloadOp::Delete,
                nodes: vec![n.clone()],
                from: None,
                to: None,
                max_unavailable: 1,
            },
            DriftClass::Cluster,
        ),
        (
            StepKind::HealthGate {
                group: g.clone(),
                nodes: vec![n.clone()],
            },
            DriftClass::Cluster,
        ),
        (StepKind::Fund { transfers: vec![] }, DriftClass::Chain),
        (
            StepKind::SetKeys {
                node: n.clone(),
                stash: a.clone(),
            },
            DriftClass::Chain,
        ),
        (
            StepKind::RegisterValidators {
                consensus: Consensus::Poa,
                members: vec![member.clone()],
            },
            DriftClass::Chain,
        ),
        (
            StepKind::DeregisterValidators {
                consensus: Consensus::Pos,
                members: vec![member.clone()],
            },
            DriftClass::Chain,
        ),
        (
            StepKind::OnboardPara {
                para: ParaId(2000),
                mode: OnboardMode::Parachain,
                genesis: GenesisSource::Collator,
            },
            DriftClass::Chain,
        ),
        (
            StepKind::OffboardPara { para: ParaId(2000) },
            DriftClass::Chain,
        ),
        (
            StepKind::RegisterCollators {
                para: ParaId(2000),
                invulnerable: true,
                members: vec![member.clone()],
            },
            DriftClass::Chain,
        ),
        (
            StepKind::DeregisterCollators {
                para: ParaId(2000),
                members: vec![member],
            },
            DriftClass::Chain,
        ),
    ];
    for (kind, class) in cases {
        assert_eq!(kind.describe().area, class, "{kind:?}");
        // It agrees with what the executor considers a chain submission.
        assert_eq!(kind.submits(), class == DriftClass::Chain, "{kind:?}");
    }
}

fn synthetic(n: usize, destroy_every: usize) -> Plan {
    let steps = (0..n)
        .map(|i| {
            if destroy_every > 0 && i % destroy_every == destroy_every - 1 {
                step(
                    &format!("workload.old-{i}"),
                    Action::Delete,
                    StepKind::Workload {
                        group: GroupName::new(format!("old-{i}")),
                        op: WorkloadOp::Delete,
                        nodes: vec![],
                        from: None,
                        to: None,
                        max_unavailable: 1,
                    },
                )
            } else {
                step(
                    &format!("keys.validator-{i}"),
                    Action::Create,
                    StepKind::SetKeys {
                        node: NodeName::new(format!("validator-{i}")),
                        stash: external(7),
                    },
                )
            }
        })
        .collect();
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        network: NetworkName::new("big"),
        steps,
        pending: (0..n / 10)
            .map(|i| Pending {
                subject: format!("validator-{i}"),
                what: "registered".into(),
                eta: Some(Eta {
                    session: Some(13),
                    text: "effective at session 13".into(),
                }),
            })
            .collect(),
        safety: vec![],
        fingerprint: Fingerprint::default(),
    }
}

#[test]
fn markdown_report_fits_a_github_issue_and_lists_destroys_first() {
    let o = Observed::empty();
    for n in [10, 500, 5_000, 40_000] {
        let plan = synthetic(n, 7);
        let r = DriftReport::classify(&plan, &o);
        let md = markdown::render(&r);
        assert!(md.chars().count() < 65_536, "{n}: {}", md.chars().count());
        let cut = md.contains("cut to fit a GitHub issue");
        assert_eq!(cut, n > 300, "{n}");
        // The caution block (destroys) comes before any table.
        let caution = md.find("[!CAUTION]").expect("caution");
        let table = md.find("### ").expect("table");
        assert!(caution < table, "{n}");
        // Destructive rows first in the cluster table.
        let cluster = &md[md.find("### Cluster drift").expect("cluster section")..];
        let first_row = cluster.lines().nth(4).unwrap_or_default();
        assert!(
            first_row.starts_with("| `-` | `workload.old-"),
            "{n}: {first_row}"
        );
        assert!(md.contains(&r.content_hash), "{n}");
    }
    // A tiny limit still gives a bounded body.
    let r = DriftReport::classify(&synthetic(400, 3), &o);
    let md = markdown::render_with_limit(&r, 12_000);
    assert!(md.len() <= 12_000, "{}", md.len());
}

#[test]
fn markdown_report_in_sync_and_incomplete() {
    let d = paras();
    let o = in_sync(&d);
    let r = DriftReport::classify(&plan(&d, &o), &o);
    let md = markdown::render(&r);
    assert!(
        md.contains("The network matches its desired state."),
        "{md}"
    );
    assert!(!md.contains("[!CAUTION]"));

    let o = relay_unreachable(&d);
    let r = DriftReport::classify(&plan(&d, &o), &o);
    let md = markdown::render(&r);
    assert!(
        md.contains("[!WARNING]") && md.contains("ws://127.0.0.1:9944"),
        "{md}"
    );
}

#[test]
fn metrics_are_valid_exposition_format_with_the_counts() {
    let d = paras();
    let mut o = degraded(&d);
    // Make the check complete (degraded has an unreachable para) to see every family.
    o.parachains.remove(&ParaId(2000));
    let (plan, r) = report(&d, &o);
    let text = metrics::render(&r);
    let samples = prom::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let get = |name: &str, class: Option<&str>| -> f64 {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.get("network").map(String::as_str) == Some("ops-paras")
                    && s.labels.get("class").map(String::as_str) == class
            })
            .unwrap_or_else(|| panic!("no {name} {class:?} in\n{text}"))
            .value
    };
    assert_eq!(
        get("paraform_drift", Some("cluster")),
        r.cluster.len() as f64
    );
    assert_eq!(get("paraform_drift", Some("chain")), r.chain.len() as f64);
    assert_eq!(
        get("paraform_drift", Some("pending")),
        r.pending.len() as f64
    );
    assert!(r.cluster.len() + r.chain.len() > 0);
    assert_eq!(get("paraform_plan_steps", None), plan.steps.len() as f64);
    assert_eq!(get("paraform_last_observed_block", None), 118.0);
    assert_eq!(get("paraform_in_sync", None), 0.0);
    assert_eq!(get("paraform_observation_complete", None), 1.0);

    // In sync; and no block series when the relay chain was not read.
    let o = in_sync(&d);
    let r = DriftReport::classify(&plan_of(&d, &o), &o);
    let s = prom::parse(&metrics::render(&r)).expect("valid");
    assert!(s
        .iter()
        .any(|s| s.name == "paraform_in_sync" && s.value == 1.0));
    let o = relay_unreachable(&d);
    let text = metrics::render(&DriftReport::classify(&plan_of(&d, &o), &o));
    let s = prom::parse(&text).expect("valid");
    assert!(
        !s.iter().any(|s| s.name == "paraform_last_observed_block"),
        "{text}"
    );
    assert!(s
        .iter()
        .any(|s| s.name == "paraform_observation_complete" && s.value == 0.0));
}

fn plan_of(d: &Desired, o: &Observed) -> Plan {
    plan(d, o)
}

#[test]
fn metric_label_values_are_escaped() {
    let mut p = synthetic(1, 0);
    p.network = NetworkName::new("we\"ird\\net\nx");
    let r = DriftReport::classify(&p, &Observed::empty());
    let text = metrics::render(&r);
    let s = prom::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(s[0].labels["network"], "we\"ird\\net\nx");
}
