//! One bad network per rule under tests/spec/bad/<case>/: the rendered report
//! is snapshot-tested and must name the file and line of each problem.

use super::render;
use paraform::spec::load_dir;
use std::path::Path;

/// (case, rule every report must contain, file:line of the first located problem)
const CASES: &[(&str, &str, &str)] = &[
    ("syntax", "syntax", "network.toml:6"),
    ("unknown_field", "unknown_field", "network.toml:15"),
    ("wrong_type", "wrong_type", "network.toml:15"),
    ("bad_enum_value", "bad_value", "network.toml:14"),
    ("missing_network", "missing_network", "relay.toml:2"),
    ("missing_relay", "missing_relay", "network.toml:2"),
    ("duplicate_group", "duplicate_group", "b-para.toml:7"),
    (
        "duplicate_definition",
        "duplicate_definition",
        "other.toml:2",
    ),
    ("duplicate_para_id", "duplicate_para_id", "network.toml:18"),
    ("bad_para_id", "bad_para_id", "network.toml:13"),
    (
        "full_with_genesis_authorities",
        "role_mismatch",
        "network.toml:16",
    ),
    ("collator_in_relay", "role_mismatch", "network.toml:14"),
    ("validator_in_para", "role_mismatch", "network.toml:18"),
    ("collator_mode_on_rpc", "role_mismatch", "network.toml:20"),
    ("relay_flags_in_relay", "role_mismatch", "network.toml:15"),
    (
        "unknown_secret_scheme",
        "unknown_secret_scheme",
        "network.toml:6",
    ),
    ("inline_secret", "inline_secret", "network.toml:6"),
    (
        "replicas_out_of_range",
        "replicas_out_of_range",
        "network.toml:15",
    ),
    (
        "too_many_genesis_authorities",
        "too_many_genesis_authorities",
        "network.toml:21",
    ),
    ("owned_flags", "owned_flag", "network.toml:15"),
    ("unknown_chain", "unknown_chain", "network.toml:6"),
    (
        "kubernetes_without_namespace",
        "missing_namespace",
        "network.toml:3",
    ),
    ("missing_chain_spec", "missing_file", "network.toml:6"),
    ("missing_secrets", "missing_secret", "network.toml:9"),
    ("bad_names", "bad_name", "network.toml:2"),
    (
        "session_keys_on_rpc",
        "session_keys_unused",
        "network.toml:21",
    ),
    ("k8s_toleration_operator", "bad_value", "network.toml:19"),
    ("k8s_unknown_field", "unknown_field", "network.toml:16"),
    ("k8s_on_local", "kubernetes_only", "network.toml:18"),
    ("pos_consensus", "unsupported_consensus", "network.toml:11"),
    (
        "k8s_secret_on_local",
        "k8s_secret_on_local",
        "network.toml:6",
    ),
    ("k8s_bad_settings", "bad_value", "network.toml:15"),
    ("k8s_ingress_collision", "name_collision", "network.toml:13"),
    ("hrmp_bad", "hrmp_unknown_para", "network.toml:18"),
    (
        "chain_spec_genesis_para_id",
        "chain_spec_para_id",
        "network.toml:22",
    ),
];

#[test]
fn every_rule_has_a_golden_report() {
    let mut failures = Vec::new();
    for (case, rule, first_at) in CASES {
        let dir = format!("tests/spec/bad/{case}");
        let errors = match load_dir(Path::new(&dir)) {
            Ok(_) => {
                failures.push(format!("{case}: loaded, but should fail"));
                continue;
            }
            Err(e) => e,
        };
        let report = super::render(&errors);
        if !errors.rules().contains(rule) {
            failures.push(format!(
                "{case}: no `{rule}` problem in {:?}",
                errors.rules()
            ));
        }
        if !report.contains(&format!("{dir}/{first_at}:")) {
            failures.push(format!(
                "{case}: report does not point at {dir}/{first_at}:\n{report}"
            ));
        }
        for p in &errors.problems {
            match p.location() {
                Some((file, line)) => {
                    if !report.contains(&format!("[{file}:{line}:")) {
                        failures.push(format!("{case}: `{p}` is not shown at {file}:{line}"));
                    }
                }
                None => failures.push(format!("{case}: `{p}` has no file and line")),
            }
        }
        insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(*case, report);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let dir = "tests/spec/bad/multi";
    let errors = load_dir(Path::new(dir)).expect_err("multi is bad");
    let report = render(&errors);
    let rules = errors.rules();
    for rule in [
        "unknown_field",
        "missing_namespace",
        "inline_secret",
        "unknown_chain",
        "replicas_out_of_range",
        "owned_flag",
        "role_mismatch",
        "bad_para_id",
        "missing_file",
        "duplicate_group",
    ] {
        assert!(rules.contains(&rule), "missing {rule} in {rules:?}");
    }
    assert!(
        report.contains(&format!("{} problems in {dir}", errors.len())),
        "{report}"
    );
    for f in [
        "10-network.toml",
        "20-validators.toml",
        "30-para.toml",
        "40-broken.toml",
    ] {
        assert!(
            report.contains(&format!("[{dir}/{f}:")),
            "{f} not in report"
        );
    }
    // the inline 0x seed is masked in the snippet
    assert!(!report.contains("0123456789abcdef0123"), "{report}");
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("multi", report);
    });
}

#[test]
fn missing_directory_and_empty_directory_are_diagnostics() {
    let e = load_dir(Path::new("tests/spec/bad/does-not-exist")).expect_err("missing dir");
    assert_eq!(e.to_string(), "1 problem in tests/spec/bad/does-not-exist");
    let tmp = tempfile::tempdir().expect("tempdir");
    let e = load_dir(tmp.path()).expect_err("empty dir");
    assert_eq!(e.rules(), ["no_files"]);
}
