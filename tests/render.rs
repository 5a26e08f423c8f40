//! Renderer tests: insta snapshots of all four formats for hand-built plans
//! (independent of the planner), plus structural checks (JSON round trip,
//! Markdown size limit, DOT shape, colour only when asked).

use paraform::chain::keys::{account, dev_suri};
use paraform::plan::*;
use paraform::render::{self, markdown, Format, Options};
use paraform::spec::model::*;
use paraform::spec::*;
use std::collections::BTreeMap;

fn dev(name: &str) -> AccountId {
    account(&dev_suri(name), "test").expect("dev key")
}

fn spec(group: &str, role: Role, replicas: u32, image: &str) -> WorkloadSpec {
    WorkloadSpec {
        group: GroupName::new(group),
        chain_side: ChainSide::Relay,
        role,
        replicas,
        command: "polkadot".into(),
        image: Some(image.into()),
        chain: ChainRef::BuiltIn {
            name: "rococo-local".into(),
        },
        relay_chain: None,
        genesis_authorities: false,
        flags: vec!["--rpc-max-connections=200".into()],
        log: vec!["parachain=debug".into()],
        resources: Resources::default(),
        storage: Storage {
            database: "paritydb".into(),
            pruning: Some("archive".into()),
            size: "20Gi".into(),
            class: None,
        },
        keystore: KeystoreKind::Memory,
        node_key: NodeKeyPolicy::Derived,
        p2p: Exposure::ClusterIP,
        rpc: Exposure::ClusterIP,
        relay_flags: vec![],
        kubernetes: Default::default(),
        relay_node: Default::default(),
    }
}

fn nodes(group: &str, n: u32) -> Vec<NodeName> {
    (0..n)
        .map(|i| NodeName::of(&GroupName::new(group), i))
        .collect()
}

fn step(id: &str, action: Action, kind: StepKind, reason: &str, deps: &[&str]) -> Step {
    Step {
        id: StepId(id.into()),
        action,
        kind,
        reason: reason.into(),
        depends_on: deps.iter().map(|d| StepId((*d).into())).collect(),
        eta: None,
    }
}

fn plan(
    steps: Vec<Step>,
    pending: Vec<Pending>,
    safety: Vec<SafetyViolation>,
    fingerprint: Fingerprint,
) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        network: NetworkName::new("rococo-local"),
        steps,
        pending,
        safety,
        fingerprint,
    }
}

fn live_fingerprint() -> Fingerprint {
    Fingerprint {
        block_hash: Some(HexHash(
            "0x9f2c1e0d6b5a4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918070605a4b3c".into(),
        )),
        block_number: Some(1234),
        workloads: BTreeMap::from([
            (GroupName::new("genesis"), 1),
            (GroupName::new("validator-a"), 3),
        ]),
        objects: Default::default(),
        digest: "5d41402abc4b2a76b9719d911017c592".into(),
    }
}

/// A fresh network: everything created, chain values known after apply.
fn fresh_plan() -> Plan {
    let va = nodes("validator-a", 2);
    let (s0, s1) = (dev("dave"), dev("eve"));
    let keys0 = step(
        "keys.validator-a-0",
        Action::Create,
        StepKind::SetKeys {
            node: va[0].clone(),
            stash: s0.clone(),
        },
        "no session keys in Session.NextKeys",
        &["health.validator-a", "fund.accounts"],
    );
    let keys1 = step(
        "keys.validator-a-1",
        Action::Create,
        StepKind::SetKeys {
            node: va[1].clone(),
            stash: s1.clone(),
        },
        "no session keys in Session.NextKeys",
        &["health.validator-a", "fund.accounts"],
    );
    let mut register = step(
        "validators.register",
        Action::Create,
        StepKind::RegisterValidators {
            consensus: Consensus::Poa,
            members: vec![
                Member {
                    node: va[0].clone(),
                    account: s0.clone(),
                },
                Member {
                    node: va[1].clone(),
                    account: s1.clone(),
                },
            ],
        },
        "not in Session.Validators",
        &["keys.validator-a-0", "keys.validator-a-1"],
    );
    register.eta = Some(Eta {
        session: None,
        text: "effective 2 sessions after apply".into(),
    });
    let onboard = step(
        "para.2000.onboard",
        Action::Create,
        StepKind::OnboardPara {
            para: ParaId(2000),
            mode: OnboardMode::Parachain,
            genesis: GenesisSource::Collator,
        },
        "para 2000 is not registered",
        &["health.collator"],
    );
    let mut collator = spec(
        "collator",
        Role::Collator,
        2,
        "parity/polkadot-parachain:stable2509",
    );
    collator.chain_side = ChainSide::Para(ParaId(2000));
    collator.command = "polkadot-omni-node".into();
    collator.chain = ChainRef::Spec {
        path: "specs/para-2000.json".into(),
    };
    collator.relay_chain = Some(ChainRef::BuiltIn {
        name: "rococo-local".into(),
    });
    plan(
        vec![
            step(
                "workload.validator-a",
                Action::Create,
                StepKind::Workload {
                    group: GroupName::new("validator-a"),
                    op: WorkloadOp::Create,
                    nodes: va.clone(),
                    from: None,
                    to: Some(spec(
                        "validator-a",
                        Role::Validator,
                        2,
                        "parity/polkadot:stable2509",
                    )),
                    max_unavailable: 1,
                },
                "not in the cluster",
                &[],
            ),
            step(
                "workload.collator",
                Action::Create,
                StepKind::Workload {
                    group: GroupName::new("collator"),
                    op: WorkloadOp::Create,
                    nodes: nodes("collator", 2),
                    from: None,
                    to: Some(collator),
                    max_unavailable: 1,
                },
                "not in the cluster",
                &[],
            ),
            step(
                "health.validator-a",
                Action::Wait,
                StepKind::HealthGate {
                    group: GroupName::new("validator-a"),
                    nodes: va.clone(),
                },
                "new nodes must be up, synced and peered",
                &["workload.validator-a"],
            ),
            step(
                "health.collator",
                Action::Wait,
                StepKind::HealthGate {
                    group: GroupName::new("collator"),
                    nodes: nodes("collator", 2),
                },
                "new nodes must be up, synced and peered",
                &["workload.collator"],
            ),
            step(
                "fund.accounts",
                Action::Create,
                StepKind::Fund {
                    transfers: vec![
                        Transfer {
                            node: va[0].clone(),
                            to: s0,
                            amount: 1_000_000_000_000_000,
                        },
                        Transfer {
                            node: va[1].clone(),
                            to: s1,
                            amount: 1_000_000_000_000_000,
                        },
                    ],
                },
                "balance below the funding target",
                &[],
            ),
            keys0,
            keys1,
            register,
            onboard,
            step(
                "collators.2000.register",
                Action::Create,
                StepKind::RegisterCollators {
                    para: ParaId(2000),
                    invulnerable: true,
                    members: vec![
                        Member {
                            node: NodeName::new("collator-0"),
                            account: dev("ferdie"),
                        },
                        Member {
                            node: NodeName::new("collator-1"),
                            account: dev("charlie"),
                        },
                    ],
                },
                "not in CollatorSelection.Invulnerables",
                &["para.2000.onboard"],
            ),
        ],
        vec![],
        vec![],
        Fingerprint::default(),
    )
}

/// A running network whose validator image changed, with pending effects.
fn update_plan() -> Plan {
    let from = spec(
        "validator-a",
        Role::Validator,
        2,
        "parity/polkadot:stable2506",
    );
    let mut to = spec(
        "validator-a",
        Role::Validator,
        3,
        "parity/polkadot:stable2509",
    );
    to.flags.push("--max-runtime-instances=16".into());
    let keys = step(
        "keys.validator-a-2",
        Action::Create,
        StepKind::SetKeys {
            node: NodeName::new("validator-a-2"),
            stash: dev("ferdie"),
        },
        "no session keys in Session.NextKeys",
        &["workload.validator-a"],
    );
    plan(
        vec![
            step(
                "workload.validator-a",
                Action::Update,
                StepKind::Workload {
                    group: GroupName::new("validator-a"),
                    op: WorkloadOp::Update,
                    nodes: nodes("validator-a", 3),
                    from: Some(from),
                    to: Some(to),
                    max_unavailable: 1,
                },
                "spec changed: image, replicas, flags",
                &[],
            ),
            keys,
        ],
        vec![Pending {
            subject: "validator-a-1".into(),
            what: "joins the active set (in ValidatorManager.ValidatorsToAdd)".into(),
            eta: Some(Eta {
                session: Some(14),
                text: "effective at session 14 (~1 min)".into(),
            }),
        }],
        vec![],
        live_fingerprint(),
    )
}

/// Removing a group and a para: deregistrations before deletions, and a
/// safety violation.
fn destroy_plan() -> Plan {
    let vb = nodes("validator-b", 2);
    plan(
        vec![
            step(
                "validators.deregister",
                Action::Delete,
                StepKind::DeregisterValidators {
                    consensus: Consensus::Poa,
                    members: vec![
                        Member {
                            node: vb[0].clone(),
                            account: dev("dave"),
                        },
                        Member {
                            node: vb[1].clone(),
                            account: dev("eve"),
                        },
                    ],
                },
                "not in desired state",
                &[],
            ),
            step(
                "workload.validator-b",
                Action::Delete,
                StepKind::Workload {
                    group: GroupName::new("validator-b"),
                    op: WorkloadOp::Delete,
                    nodes: vb,
                    from: Some(spec(
                        "validator-b",
                        Role::Validator,
                        2,
                        "parity/polkadot:stable2509",
                    )),
                    to: None,
                    max_unavailable: 2,
                },
                "not in desired state",
                &["validators.deregister"],
            ),
            step(
                "collators.2000.deregister",
                Action::Delete,
                StepKind::DeregisterCollators {
                    para: ParaId(2000),
                    members: vec![Member {
                        node: NodeName::new("collator-0"),
                        account: dev("ferdie"),
                    }],
                },
                "not in desired state",
                &[],
            ),
            step(
                "para.2000.offboard",
                Action::Delete,
                StepKind::OffboardPara { para: ParaId(2000) },
                "not in desired state | removed in PR #12",
                &["collators.2000.deregister"],
            ),
        ],
        vec![],
        vec![SafetyViolation {
            rule: SafetyRule::ByzantineBound,
            message: "takes 2 of 4 active validators out of the set at once (at most 1 may go)"
                .into(),
        }],
        live_fingerprint(),
    )
}

fn in_sync_plan() -> Plan {
    plan(
        vec![],
        vec![Pending {
            subject: "validator-a-0".into(),
            what: "leaves the active set (in ValidatorManager.ValidatorsToRetire)".into(),
            eta: Some(Eta {
                session: Some(9),
                text: "effective at session 9".into(),
            }),
        }],
        vec![],
        live_fingerprint(),
    )
}

fn all() -> Vec<(&'static str, Plan)> {
    vec![
        ("fresh", fresh_plan()),
        ("update", update_plan()),
        ("destroy", destroy_plan()),
        ("in_sync", in_sync_plan()),
    ]
}

fn plain() -> Options {
    Options { color: false }
}

#[test]
fn snapshots_text() {
    for (name, p) in all() {
        insta::assert_snapshot!(
            format!("text_{name}"),
            render::render(&p, Format::Text, plain())
        );
    }
}

#[test]
fn snapshots_json() {
    for (name, p) in all() {
        // The paraform version changes with releases; everything else is pinned.
        let json = render::render(&p, Format::Json, plain()).replace(
            concat!("\"paraform_version\": \"", env!("CARGO_PKG_VERSION"), "\""),
            "\"paraform_version\": \"[version]\"",
        );
        insta::assert_snapshot!(format!("json_{name}"), json);
    }
}

#[test]
fn snapshots_markdown() {
    for (name, p) in all() {
        insta::assert_snapshot!(
            format!("markdown_{name}"),
            render::render(&p, Format::Markdown, plain())
        );
    }
}

#[test]
fn snapshots_dot() {
    for (name, p) in all() {
        insta::assert_snapshot!(
            format!("dot_{name}"),
            render::render(&p, Format::Dot, plain())
        );
    }
}

#[test]
fn text_summary_lines() {
    let t = render::render(&fresh_plan(), Format::Text, plain());
    assert!(
        t.ends_with("Plan: 8 to add, 0 to change, 0 to destroy.\n"),
        "{t}"
    );
    let t = render::render(&destroy_plan(), Format::Text, plain());
    assert!(
        t.contains("Plan: 0 to add, 0 to change, 4 to destroy."),
        "{t}"
    );
    assert!(t.contains("! byzantine_bound: takes 2 of 4"), "{t}");
    let t = render::render(&in_sync_plan(), Format::Text, plain());
    assert!(t.starts_with("Network: rococo-local\n"), "{t}");
    assert!(
        t.contains("No changes. Your network matches the desired state."),
        "{t}"
    );
    assert!(t.contains("Pending (not drift)"), "{t}");
}

#[test]
fn text_shows_unified_diff_of_changed_spec() {
    let t = render::render(&update_plan(), Format::Text, plain());
    assert!(t.contains("--- live"), "{t}");
    assert!(t.contains("+++ desired"), "{t}");
    assert!(t.contains("-image = \"parity/polkadot:stable2506\""), "{t}");
    assert!(t.contains("+image = \"parity/polkadot:stable2509\""), "{t}");
    assert!(t.contains("+replicas = 3"), "{t}");
}

#[test]
fn text_members_show_ss58_addresses() {
    let t = render::render(&fresh_plan(), Format::Text, plain());
    let dave = dev("dave").to_string();
    assert!(dave.starts_with('5'), "{dave}");
    assert!(t.contains(&format!("validator-a-0  {dave}")), "{t}");
    assert!(t.contains("session_keys = (known after apply)"), "{t}");
    assert!(t.contains("ValidatorManager.register_validators"), "{t}");
}

#[test]
fn colour_only_when_asked() {
    let p = destroy_plan();
    let plain_text = render::render(&p, Format::Text, plain());
    let coloured = render::render(&p, Format::Text, Options { color: true });
    assert!(!plain_text.contains('\u{1b}'));
    assert!(coloured.contains("\u{1b}["));
    // Other formats never colour.
    for f in [Format::Json, Format::Markdown, Format::Dot] {
        assert!(!render::render(&p, f, Options { color: true }).contains('\u{1b}'));
    }
}

#[test]
fn json_is_versioned_and_deserializes_back_into_the_plan() {
    for (name, p) in all() {
        let json = render::render(&p, Format::Json, plain());
        let v: serde_json::Value =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v["format_version"], 1, "{name}");
        let keys: Vec<&str> = v
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert!(
            keys.contains(&"summary")
                && keys.contains(&"steps")
                && keys.contains(&"content_digest"),
            "{name}"
        );
        assert_eq!(v["summary"]["steps"], p.steps.len(), "{name}");
        let back: Plan = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, p, "{name}");
    }
}

#[test]
fn json_field_order_is_stable() {
    let json = render::render(&update_plan(), Format::Json, plain());
    // Top-level keys are the lines indented by exactly two spaces.
    let top: Vec<&str> = json
        .lines()
        .filter(|l| l.starts_with("  \""))
        .filter_map(|l| l.trim_start().split('"').nth(1))
        .collect();
    assert_eq!(
        top,
        [
            "format_version",
            "paraform_version",
            "network",
            "summary",
            "content_digest",
            "fingerprint",
            "steps",
            "pending",
            "safety"
        ]
    );
}

#[test]
fn markdown_warns_about_destroys_first() {
    let md = render::render(&destroy_plan(), Format::Markdown, plain());
    let caution = md.find("[!CAUTION]").expect("warning block");
    let table = md.find("| | Step |").expect("table");
    assert!(caution < table);
    assert!(md.contains("destroys or deregisters 4 resource(s)"), "{md}");
    assert!(md.contains("`validators.deregister`"), "{md}");
    assert!(md.contains("`byzantine_bound`"), "{md}");
    // A `|` inside a reason is escaped in the table.
    assert!(
        md.contains("not in desired state \\| removed in PR #12"),
        "{md}"
    );
    assert!(md.contains("<details>") && md.contains("```diff"), "{md}");

    let md = render::render(&update_plan(), Format::Markdown, plain());
    assert!(!md.contains("[!CAUTION]"), "{md}");
}

/// A synthetic plan far larger than a GitHub comment.
fn huge_plan(validators: u32) -> Plan {
    let alice = dev("alice");
    let steps = (0..validators)
        .map(|i| {
            step(
                &format!("keys.validator-{i}"),
                Action::Create,
                StepKind::SetKeys {
                    node: NodeName::new(format!("validator-{i}")),
                    stash: alice.clone(),
                },
                "no session keys in Session.NextKeys",
                &["health.validator"],
            )
        })
        .collect();
    plan(steps, vec![], vec![], live_fingerprint())
}

#[test]
fn markdown_fits_github_limit_with_a_note() {
    for n in [10, 300, 2_000, 20_000] {
        let p = huge_plan(n);
        let md = render::render(&p, Format::Markdown, plain());
        assert!(
            md.chars().count() < markdown::GITHUB_COMMENT_LIMIT,
            "{n}: {} chars",
            md.chars().count()
        );
        assert!(md.contains("</details>"), "{n}: details block closed");
        let full = render::render(&p, Format::Text, plain());
        if full.len() > markdown::GITHUB_COMMENT_LIMIT {
            assert!(md.contains("truncated"), "{n}");
        } else {
            assert!(!md.contains("truncated"), "{n}");
        }
    }
    // A tiny limit still yields a closed, well-formed comment.
    let md = markdown::render_with_limit(&huge_plan(50), 2_000);
    assert!(md.len() <= 2_000, "{}", md.len());
    assert!(
        md.contains("```diff")
            && md.trim_end().ends_with(
                "not shown. Run `paraform plan` locally or see the saved plan artifact."
            ),
        "{md}"
    );
}

#[test]
fn dot_has_a_node_per_step_and_an_edge_per_dependency() {
    for (name, p) in all() {
        let dot = render::render(&p, Format::Dot, plain());
        assert!(dot.starts_with("digraph "), "{name}");
        assert!(dot.trim_end().ends_with('}'), "{name}");
        let nodes = dot.lines().filter(|l| l.contains("[label=")).count();
        let edges = dot.lines().filter(|l| l.contains(" -> ")).count();
        assert_eq!(nodes, p.steps.len(), "{name}");
        assert_eq!(
            edges,
            p.steps.iter().map(|s| s.depends_on.len()).sum::<usize>(),
            "{name}"
        );
    }
}

#[test]
fn destructive_classification() {
    let d = destroy_plan();
    assert!(d.steps.iter().all(render::is_destructive));
    let f = fresh_plan();
    assert!(!f.steps.iter().any(render::is_destructive));
}
