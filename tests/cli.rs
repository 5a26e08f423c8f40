//! The `paraform` binary: exit codes, messages, formats, saved plans, secrets.
//! Plans run offline against observed snapshots (`--observed`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use assert_cmd::Command;
use paraform::observe::*;
use paraform::plan::artifact::SavedPlan;
use paraform::spec::*;
use predicates::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ROOT_VAR: &str = "PARAFORM_DERIVATION_ROOT";
const SUDO_VAR: &str = "PARAFORM_SUDO_SURI";
/// A derivation root used by these tests (recognizable, so leaks can be found).
const ROOT: &str = "//ParaformCliTestRootQx7";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn local() -> PathBuf {
    repo().join("networks/local")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(name)
}

/// The binary with a clean environment for our variables.
fn paraform() -> Command {
    let mut cmd = Command::cargo_bin("paraform").expect("binary");
    cmd.env_remove(ROOT_VAR)
        .env_remove(SUDO_VAR)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .current_dir(repo());
    cmd
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---- validate ---------------------------------------------------------------

#[test]
fn validate_example_networks() {
    for net in ["local", "rococo-k8s"] {
        paraform()
            .args(["validate", &format!("networks/{net}")])
            .assert()
            .code(0)
            .stdout(predicate::str::starts_with(format!(
                "Success! The network {net} is valid ("
            )));
    }
}

#[test]
fn validate_reports_the_broken_file_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("network.toml"),
        "[network]\nname = \"broken\"\nprovider = \"local\"\n\n[relay]\nchain = \"rococo-local\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("groups.toml"),
        "[[relay.group]]\nname = \"v\"\nrole = \"validator\"\nreplicas = 2\nbogus_field = 1\n",
    )
    .unwrap();
    let out = paraform().arg("validate").arg(dir.path()).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("groups.toml"), "names the file: {err}");
    assert!(err.contains("bogus_field"), "names the field: {err}");
    assert!(stdout_of(&out).is_empty());
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn validate_missing_dir_exits_1() {
    let out = paraform()
        .args(["validate", "networks/does-not-exist"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("networks/does-not-exist"),
        "{}",
        stderr_of(&out)
    );
}

// ---- usage ------------------------------------------------------------------

#[test]
fn usage_errors_exit_1_not_2() {
    // clap's default would be 2, which CI reads as "changes pending".
    let out = paraform()
        .args(["plan", "networks/local", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("--no-such-flag"),
        "{}",
        stderr_of(&out)
    );

    let out = paraform().args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));

    paraform()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Exit codes"));
    paraform().arg("--version").assert().code(0);
}

// ---- plan -------------------------------------------------------------------

fn plan_cmd(observed: &Path) -> Command {
    let mut cmd = paraform();
    cmd.env(ROOT_VAR, ROOT)
        .args(["plan", "networks/local", "--observed"])
        .arg(observed);
    cmd
}

#[test]
fn plan_fresh_network_exit_codes() {
    let fresh = fixture("observed/local-fresh.json");
    let out = plan_cmd(&fresh)
        .arg("--detailed-exitcode")
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(2), "{text}{}", stderr_of(&out));
    assert!(text.contains("+ workload.validator"), "{text}");
    assert!(text.contains("(known after apply)"), "{text}");
    assert!(
        text.contains("to add, 0 to change, 0 to destroy."),
        "{text}"
    );

    // Without --detailed-exitcode, changes are still success.
    plan_cmd(&fresh).assert().code(0);
}

#[test]
fn plan_in_sync_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("in-sync.json");
    std::fs::write(
        &snapshot,
        serde_json::to_string_pretty(&in_sync_observed()).unwrap(),
    )
    .unwrap();

    let out = plan_cmd(&snapshot)
        .arg("--detailed-exitcode")
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr_of(&out));
    assert!(
        text.contains("No changes. Your network matches the desired state."),
        "{text}"
    );
}

#[test]
fn plan_json_is_versioned() {
    let out = plan_cmd(&fixture("observed/local-fresh.json"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["network"], "local");
    assert!(v["summary"]["add"].as_u64().unwrap_or(0) > 0, "{v}");
    assert!(v["steps"].as_array().is_some_and(|s| !s.is_empty()), "{v}");
}

#[test]
fn plan_markdown_and_dot() {
    let fresh = fixture("observed/local-fresh.json");
    let md = plan_cmd(&fresh)
        .args(["--format", "markdown"])
        .output()
        .unwrap();
    assert_eq!(md.status.code(), Some(0));
    let md = stdout_of(&md);
    assert!(md.starts_with("## paraform plan for `local`"), "{md}");
    assert!(md.contains("<details>"), "{md}");

    let dot = plan_cmd(&fresh).args(["--format", "dot"]).output().unwrap();
    assert_eq!(dot.status.code(), Some(0));
    let dot = stdout_of(&dot);
    assert!(dot.starts_with("digraph "), "{dot}");
    assert!(dot.contains("\"workload.validator\" -> "), "{dot}");
}

#[test]
fn plan_out_writes_a_saved_plan() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("plans/local.plan.json");
    let out = plan_cmd(&fixture("observed/local-fresh.json"))
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("Saved the plan to"),
        "{}",
        stderr_of(&out)
    );
    let saved = SavedPlan::from_json(&std::fs::read_to_string(&out_file).unwrap()).expect("loads");
    assert_eq!(saved.network.as_str(), "local");
    assert_eq!(saved.paraform_version, env!("CARGO_PKG_VERSION"));
    assert!(!saved.plan.steps.is_empty());
    assert_eq!(saved.desired_digest.len(), 64);
    assert!(saved.created_by.contains("plan"), "{}", saved.created_by);
}

#[test]
fn missing_secret_names_the_reference() {
    let out = paraform()
        .args(["plan", "networks/local", "--observed"])
        .arg(fixture("observed/local-fresh.json"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("env:PARAFORM_DERIVATION_ROOT is not set"),
        "{err}"
    );
    assert!(stdout_of(&out).is_empty());
}

#[test]
fn live_observation_is_a_clear_error_until_a_provider_exists() {
    let out = paraform()
        .env(ROOT_VAR, ROOT)
        .args(["plan", "networks/local"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    // Either a provider observed the (absent) network, or a one-line error.
    if out.status.code() == Some(1) {
        assert!(
            err.contains("--observed") || err.contains("observ"),
            "{err}"
        );
        assert!(stdout_of(&out).is_empty(), "no fake output");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn observed_parse_errors_point_into_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-snapshot.json");
    std::fs::write(
        &bad,
        "{\n  \"format_version\": 1,\n  \"relay\": { \"status\": \"exploded\" }\n}\n",
    )
    .unwrap();
    let out = plan_cmd(&bad).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad-snapshot.json"), "{err}");
    assert!(err.contains("exploded"), "{err}");
    assert!(
        err.contains("bad-snapshot.json:3:"),
        "points at line 3: {err}"
    );

    std::fs::write(
        &bad,
        "{\"format_version\": 7, \"relay\": {\"status\": \"not_running\"}}",
    )
    .unwrap();
    let out = plan_cmd(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("version 7"), "{}", stderr_of(&out));
}

#[test]
fn unsafe_plans_are_refused_naming_the_rule() {
    // Two active validators run by a group that is no longer desired: taking
    // both out of a 4-validator set breaks the ⌊(n−1)/3⌋ bound.
    let mut observed = in_sync_observed();
    let old = GroupName::new("old");
    let olds: Vec<(NodeName, AccountId)> = (0..2)
        .map(|i| {
            let node = NodeName::of(&old, i);
            let suri = secrecy::SecretString::from(format!("{ROOT}//old-{i}//stash"));
            (node, paraform::chain::keys::account(&suri, "t").unwrap())
        })
        .collect();
    observed.workloads.insert(
        old.clone(),
        ObservedWorkload {
            group: old.clone(),
            spec_hash: "0".repeat(64),
            spec: None,
            generation: 1,
            nodes: olds
                .iter()
                .map(|(n, a)| ObservedNodeProcess {
                    name: n.clone(),
                    running: true,
                    account: Some(a.clone()),
                })
                .collect(),
            replicas: 2,
            ready_replicas: 2,
            out_of_sync: vec![],
            objects_digest: None,
        },
    );
    if let ChainView::Live(chain) = &mut observed.relay {
        for (_, a) in &olds {
            chain.validators.push(a.clone());
            chain.next_keys.insert(a.clone(), "0x01".into());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("unsafe.json");
    std::fs::write(&snapshot, serde_json::to_string_pretty(&observed).unwrap()).unwrap();
    let out_file = dir.path().join("unsafe.plan.json");

    let out = plan_cmd(&snapshot)
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{}{err}", stdout_of(&out));
    assert!(err.contains("byzantine_bound"), "{err}");
    assert!(err.contains("--allow-unsafe"), "{err}");
    assert!(
        stdout_of(&out).contains("Safety violations"),
        "the refused plan is shown"
    );
    assert!(!out_file.exists(), "a refused plan is not saved");

    let out = plan_cmd(&snapshot)
        .args(["--allow-unsafe", "--detailed-exitcode"])
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(out_file.exists());
}

#[test]
fn plan_from_a_git_revision() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("networks/local");
    std::fs::create_dir_all(&net).unwrap();
    for entry in std::fs::read_dir(local()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), net.join(entry.file_name())).unwrap();
    }
    let repo = git2::Repository::init(dir.path()).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["networks"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("test", "test@example.com").unwrap();
    let commit = repo
        .commit(Some("HEAD"), &sig, &sig, "network", &tree, &[])
        .unwrap();

    // Break the working tree: --rev must not read it.
    std::fs::write(net.join("zz-broken.toml"), "this is not toml [").unwrap();
    paraform().arg("validate").arg(&net).assert().code(1);

    let out_file = dir.path().join("rev.plan.json");
    let out = paraform()
        .env(ROOT_VAR, ROOT)
        .current_dir(dir.path())
        .args(["plan", "networks/local", "--rev", "HEAD", "--observed"])
        .arg(fixture("observed/local-fresh.json"))
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let saved = SavedPlan::from_json(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(
        saved.git_commit.as_deref(),
        Some(commit.to_string().as_str())
    );
    assert!(
        saved.created_by.contains("--rev HEAD"),
        "{}",
        saved.created_by
    );
}

/// No secret value appears in any output format, the saved plan, or logs.
#[test]
fn secrets_never_appear() {
    let root = "//CanaryRootVx93";
    let sudo = "//CanarySudoKp27";
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("in-sync-but-one.json");
    // A snapshot with chain state so that funding/keys/registration steps
    // carrying accounts (derived from the secret) are rendered.
    let mut observed = in_sync_observed();
    if let ChainView::Live(chain) = &mut observed.relay {
        chain.validators.truncate(2);
        chain.balances.clear();
    }
    std::fs::write(&snapshot, serde_json::to_string(&observed).unwrap()).unwrap();

    for (i, format) in ["text", "json", "markdown", "dot"].iter().enumerate() {
        for obs in [fixture("observed/local-fresh.json"), snapshot.clone()] {
            let out_file = dir.path().join(format!("p{i}.json"));
            let out = paraform()
                .env(ROOT_VAR, root)
                .env(SUDO_VAR, sudo)
                .env("RUST_LOG", "trace")
                .args([
                    "-vvv",
                    "plan",
                    "networks/local",
                    "--format",
                    format,
                    "--observed",
                ])
                .arg(&obs)
                .arg("--out")
                .arg(&out_file)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
            let saved = std::fs::read_to_string(&out_file).unwrap();
            for (what, text) in [
                ("stdout", stdout_of(&out)),
                ("stderr", stderr_of(&out)),
                ("saved plan", saved),
            ] {
                for secret in ["CanaryRoot", "CanarySudo", "Vx93", "Kp27"] {
                    assert!(
                        !text.contains(secret),
                        "{format}: {secret} leaked into {what}:\n{text}"
                    );
                }
            }
        }
    }
}

// ---- commands that need later issues ---------------------------------------

#[test]
fn other_commands_never_panic() {
    let fresh = fixture("observed/local-fresh.json");
    for args in [
        vec!["apply", "networks/does-not-exist"],
        vec!["drift", "networks/does-not-exist"],
        vec!["status", "networks/does-not-exist", "validators"],
        vec!["lock", "status", "networks/does-not-exist"],
        vec!["destroy", "networks/does-not-exist"],
    ] {
        let out = paraform().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(!stderr_of(&out).contains("panicked"), "{args:?}");
    }
    // A file that is not a saved plan is reported as such.
    let out = paraform().arg("apply").arg(&fresh).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("local-fresh.json"),
        "{}",
        stderr_of(&out)
    );
}

// ---- an in-sync snapshot of networks/local -----------------------------------

/// What a running `networks/local` looks like once applied: every workload at
/// its desired spec, nodes healthy, derived validators active with keys and
/// funds. Built from the desired state (so spec hashes follow `WorkloadSpec`).
fn in_sync_observed() -> Observed {
    let mut desired = load_dir(&local()).expect("networks/local loads");
    let root = secrecy::SecretString::from(ROOT.to_string());
    paraform::chain::keys::derive_accounts(&mut desired, Some(&root)).expect("accounts");

    let mut workloads = BTreeMap::new();
    let mut nodes = BTreeMap::new();
    for group in &desired.groups {
        workloads.insert(
            group.name.clone(),
            ObservedWorkload::converged(&desired, group),
        );
        for n in &group.nodes {
            nodes.insert(
                n.name.clone(),
                ObservedNode {
                    name: n.name.clone(),
                    rpc_reachable: true,
                    endpoint: Some("ws://127.0.0.1:9944".into()),
                    syncing: Some(false),
                    peers: Some(4),
                    peer_id: None,
                    version: Some("1.25.1".into()),
                    best_block: Some(120),
                    finalized_block: Some(118),
                    has_session_keys: Some(true),
                },
            );
        }
    }
    let validators: Vec<AccountId> = desired
        .all_validators()
        .filter_map(|n| n.account.clone())
        .collect();
    let balances = desired
        .nodes()
        .filter_map(|n| n.account.clone())
        .map(|a| (a, desired.funding.amount))
        .collect();
    Observed {
        format_version: OBSERVED_FORMAT_VERSION,
        workloads,
        nodes,
        relay: ChainView::Live(ChainState {
            block_hash: HexHash(format!("0x{}", "ab".repeat(32))),
            block_number: 118,
            session_index: 11,
            session_length: Some(10),
            next_keys: validators
                .iter()
                .map(|a| (a.clone(), "0x01".to_string()))
                .collect(),
            validators,
            queued: vec![],
            pending_add: vec![],
            pending_retire: vec![],
            staking_validators: vec![],
            bonded: vec![],
            paras: BTreeMap::new(),
            balances,
            existential_deposit: 1_000_000_000,
            sudo_key: None,
            ss58_prefix: 42,
            hrmp: vec![],
        }),
        parachains: BTreeMap::new(),
    }
}

/// `tests/fixtures/observed/local-running.json`: networks/local running, with
/// a hand-edited rpc workload (drift: an extra flag), validator-0 registered
/// but only pending (lands next session), validator-1 not funded, keyed or
/// registered. Built from `in_sync_observed` so it follows the model; this
/// test fails when the checked-in file is out of date. Regenerate with
/// `PARAFORM_BLESS=1 cargo test --test cli fixture_local_running`.
fn local_running_observed() -> Observed {
    let mut observed = in_sync_observed();
    let rpc = GroupName::new("rpc");
    if let Some(w) = observed.workloads.get_mut(&rpc) {
        if let Some(spec) = &mut w.spec {
            spec.flags.push("--rpc-cors=all".into());
            w.spec_hash = spec.hash();
            w.generation = 2;
        }
    }
    let account = |group: &str, node: &str| {
        observed.workloads[&GroupName::new(group)]
            .nodes
            .iter()
            .find(|n| n.name.as_str() == node)
            .and_then(|n| n.account.clone())
            .expect("account")
    };
    let (v0, v1) = (
        account("validator", "validator-0"),
        account("validator", "validator-1"),
    );
    if let Some(n) = observed.nodes.get_mut(&NodeName::new("validator-1")) {
        n.has_session_keys = None;
    }
    if let ChainView::Live(chain) = &mut observed.relay {
        chain.validators.retain(|a| a != &v0 && a != &v1);
        chain.pending_add.push(v0.clone());
        chain.next_keys.remove(&v1);
        chain.balances.remove(&v1);
    }
    observed
}

#[test]
fn fixture_local_running() {
    let path = fixture("observed/local-running.json");
    let want = serde_json::to_string_pretty(&local_running_observed()).unwrap() + "\n";
    if std::env::var_os("PARAFORM_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date: regenerate with PARAFORM_BLESS=1 cargo test --test cli fixture_local_running",
        path.display()
    );

    let out = plan_cmd(&path).arg("--detailed-exitcode").output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(2), "{text}{}", stderr_of(&out));
    assert!(text.contains("~ workload.rpc"), "{text}");
    assert!(text.contains("-flags = [\"--rpc-cors=all\"]"), "{text}");
    assert!(text.contains("+ validators.register"), "{text}");
    assert!(text.contains("Pending (not drift)"), "{text}");
    assert!(!text.contains("workload.validator "), "{text}");
}

/// A kubernetes network `name` in `dir/net` and a kubeconfig whose API
/// server is port 9 (discard) on loopback: nothing listens there.
fn unreachable_cluster(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let net = dir.join("net");
    std::fs::create_dir_all(&net).unwrap();
    std::fs::write(
        net.join("network.toml"),
        format!(
            r#"
[network]
name = "{name}"
provider = "kubernetes"
namespace = "{name}"

[relay]
chain = "rococo-local"
image = "docker.io/parity/polkadot:stable2509"

[[relay.group]]
name = "rpc"
role = "rpc"
"#
        ),
    )
    .unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            r#"apiVersion: v1
kind: Config
clusters:
- name: {name}
  cluster: {{server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}
contexts:
- name: {name}
  context: {{cluster: {name}, user: ci}}
current-context: {name}
users:
- name: ci
  user: {{token: not-a-real-token}}
"#
        ),
    )
    .unwrap();
    (net, kubeconfig)
}

/// A kubernetes network whose cluster does not answer: one clear error
/// naming the API server, exit 1, nothing on stdout, no panic.
#[test]
fn an_unreachable_cluster_is_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (net, kubeconfig) = unreachable_cluster(tmp.path(), "gone");
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["lock", "status"],
    ] {
        let out = paraform()
            .args(args)
            .arg(&net)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: nothing planned or applied"
        );
        assert!(
            err.contains("https://127.0.0.1:9") && err.contains("--kubeconfig"),
            "{args:?}: {err}"
        );
        assert_eq!(err.matches("Connect").count(), 1, "reported once: {err}");
    }
}

/// `--in-cluster` uses the pod's service account only: outside a pod it is
/// one clear error saying what it needs, and a kubeconfig in the
/// environment (one baked into an image) is not used instead.
#[test]
fn in_cluster_outside_a_pod_never_falls_back_to_a_kubeconfig() {
    let tmp = tempfile::tempdir().unwrap();
    let (net, kubeconfig) = unreachable_cluster(tmp.path(), "inpod");
    let out = paraform()
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .args(["--in-cluster", "drift"])
        .arg(&net)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty(), "{}", stdout_of(&out));
    assert!(
        err.contains("--in-cluster") && err.contains("service account"),
        "{err}"
    );
    assert!(!err.contains("127.0.0.1:9"), "used the kubeconfig: {err}");
}
