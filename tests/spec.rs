//! Desired state: loading the examples, merging, expansion, git revisions,
//! secrets, and golden `miette` reports for every validation rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use paraform::spec::{
    self, load_dir, load_git, ChainSide, Desired, ParaId, Role, SecretRef, SpecErrors,
};
use std::path::Path;

#[path = "spec/golden.rs"]
mod golden;

pub(crate) fn render(e: &SpecErrors) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, e)
        .expect("rendering into a String cannot fail");
    out
}

fn load_ok(dir: &str) -> Desired {
    match load_dir(Path::new(dir)) {
        Ok(d) => d,
        Err(e) => panic!("{dir} should load:\n{}", render(&e)),
    }
}

fn node_names(d: &Desired) -> Vec<String> {
    d.nodes().map(|n| n.name.to_string()).collect()
}

#[test]
fn example_local_loads_and_expands() {
    let d = load_ok("networks/local");
    assert_eq!(d.network.as_str(), "local");
    assert_eq!(d.provider, spec::ProviderKind::Local);
    assert_eq!(
        d.relay.chain,
        spec::ChainRef::BuiltIn {
            name: "rococo-local".into()
        }
    );
    assert_eq!(d.relay.consensus, spec::Consensus::Poa);
    assert_eq!(
        d.source.files.len(),
        2,
        "the example is split over two files"
    );
    assert_eq!(
        node_names(&d),
        [
            "rpc-0",
            "genesis-0",
            "genesis-1",
            "validator-0",
            "validator-1"
        ]
    );
    let dev: Vec<_> = d.nodes().filter_map(|n| n.dev_key.clone()).collect();
    assert_eq!(dev, ["alice", "bob"]);
    assert_eq!(d.managed_validators().count(), 2);
    assert_eq!(d.all_validators().count(), 4);
    assert!(
        d.nodes().all(|n| n.account.is_none()),
        "accounts are derived later"
    );
    assert_eq!(
        d.secrets.sudo,
        Some(SecretRef::Env {
            name: "PARAFORM_SUDO_SURI".into()
        })
    );
    assert_eq!(
        d.secrets.derivation_root,
        Some(SecretRef::Env {
            name: "PARAFORM_DERIVATION_ROOT".into()
        })
    );
    let rpc = d.group(&"rpc".into()).expect("rpc group");
    assert_eq!(rpc.role, Role::Rpc);
    assert_eq!(rpc.keystore, spec::KeystoreKind::Memory);
    let v = d.group(&"validator".into()).expect("validator group");
    assert_eq!(
        v.keystore,
        spec::KeystoreKind::Volume,
        "key holders keep their keystore"
    );
    assert_eq!(v.command, "polkadot");
    assert_eq!(d.funding.amount, 1_000_000_000_000_000);
}

#[test]
fn example_rococo_k8s_loads_and_expands() {
    let d = load_ok("networks/rococo-k8s");
    assert_eq!(
        d.provider,
        spec::ProviderKind::Kubernetes {
            namespace: "rococo".into()
        }
    );
    let v = d.group(&"validator".into()).expect("validator group");
    assert_eq!(v.replicas, 10);
    assert_eq!(v.nodes.len(), 10);
    assert_eq!(v.nodes[9].name.as_str(), "validator-9");
    assert_eq!(v.keystore, spec::KeystoreKind::Volume);
    assert_eq!(v.node_key, spec::NodeKeyPolicy::Derived);
    assert_eq!(v.p2p, spec::Exposure::LoadBalancer);
    assert_eq!(v.resources.memory_limit.as_deref(), Some("4Gi"));
    assert_eq!(v.storage.database, "paritydb");
    assert_eq!(
        v.image.as_deref(),
        Some("docker.io/parity/polkadot:stable2509"),
        "inherited from [relay]"
    );
    assert_eq!(d.managed_validators().count(), 10);

    let para = d.parachain(ParaId(1000)).expect("para 1000");
    assert_eq!(
        para.groups,
        vec![spec::GroupName::new("asset-hub-collator")]
    );
    assert_eq!(para.onboard, spec::OnboardMode::Parachain);
    assert_eq!(para.genesis, spec::GenesisSource::Collator);
    let c = d.group(&para.groups[0]).expect("collator group");
    assert_eq!(c.chain, ChainSide::Para(ParaId(1000)));
    assert_eq!(c.role, Role::Collator);
    assert_eq!(c.replicas, 4);
    assert_eq!(c.collator, Some(spec::CollatorMode::Invulnerable));
    assert_eq!(
        c.command, "polkadot-parachain",
        "inherited from [[parachain]]"
    );
    assert!(!c.relay_flags.is_empty(), "embedded relay node flags");
    assert_eq!(d.funding.amount, 10_000_000_000_000_000);
    let rpc = d.group(&"rpc".into()).expect("rpc group");
    assert_eq!(rpc.storage.pruning.as_deref(), Some("archive"));
    let boot = d.group(&"bootnode".into()).expect("bootnodes");
    assert_eq!(boot.storage.pruning.as_deref(), Some("1000"));
}

#[test]
fn kubernetes_settings_merge_group_over_network_defaults() {
    use std::collections::BTreeMap;
    let d = load_ok("tests/fixtures/chart-k8s");
    let v = &d.group(&"validator".into()).expect("validator").kubernetes;
    let map = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    // Maps merge key by key.
    assert_eq!(
        v.node_selector,
        map(&[
            ("cloud.google.com/gke-nodepool", "polkadot"),
            ("kubernetes.io/arch", "amd64")
        ])
    );
    assert_eq!(
        v.env.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "LOG_TARGETS",
            "RUST_BACKTRACE",
            "RUST_LOG_STYLE",
            "TELEMETRY_TOKEN"
        ]
    );
    assert_eq!(
        v.env["TELEMETRY_TOKEN"],
        spec::EnvValue::Secret {
            name: "telemetry".into(),
            key: "token".into()
        }
    );
    // Other values are inherited unless the group sets them.
    assert_eq!(v.tolerations.len(), 1);
    assert_eq!(v.image_pull_secrets, ["regcred"]);
    assert_eq!(v.service_account.as_deref(), Some("polkadot-node"));
    assert_eq!(v.termination_grace_period, Some(60));
    assert_eq!(v.anti_affinity, spec::AntiAffinity::Required);
    assert_eq!(
        v.external_dns.as_ref().map(|e| (e.prefix.as_str(), e.ttl)),
        Some(("validator", 60))
    );
    assert!(v.ingress.is_none());
    let r = &d.group(&"rpc".into()).expect("rpc").kubernetes;
    assert!(
        r.tolerations.is_empty(),
        "an empty list replaces the default"
    );
    assert_eq!(r.anti_affinity, spec::AntiAffinity::Preferred);
    let ing = r.ingress.as_ref().expect("ingress");
    assert_eq!(
        (ing.host.as_str(), ing.path.as_str(), ing.class.as_deref()),
        ("rpc.example.org", "/", Some("nginx"))
    );
    // The settings are part of the workload spec (and so of plan diffs) …
    let spec_of = |g: &str| spec::WorkloadSpec::for_group(&d, d.group(&g.into()).expect("group"));
    let text = spec_of("validator").to_text();
    assert!(text.contains("anti_affinity = \"required\""), "{text}");
    assert!(text.contains("TELEMETRY_TOKEN"), "{text}");
    // … while a group without any leaves the encoding, hence the hash of
    // live workloads, as it was before these settings existed.
    let plain = load_ok("networks/rococo-k8s");
    let g = plain.group(&"rpc".into()).expect("rpc");
    let json = serde_json::to_string(&spec::WorkloadSpec::for_group(&plain, g)).unwrap();
    assert!(!json.contains("kubernetes"), "{json}");
}

#[test]
fn examples_hold_no_secret_values() {
    for dir in ["networks/local", "networks/rococo-k8s"] {
        for entry in std::fs::read_dir(dir).expect("example dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            for line in text.lines() {
                let code = line.split('#').next().unwrap_or("");
                for value in code.split('"').skip(1).step_by(2) {
                    assert!(
                        !spec::secrets::looks_like_secret(value),
                        "{} holds something that looks like a key",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn expansion_is_deterministic() {
    let a = load_ok("networks/rococo-k8s");
    let b = load_ok("networks/rococo-k8s");
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).expect("json"),
        serde_json::to_string(&b).expect("json")
    );
    // The same groups written in one file give the same nodes and workloads.
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut all = String::new();
    for f in &a.source.files {
        all.push_str(&std::fs::read_to_string(f).expect("read"));
        all.push('\n');
    }
    std::fs::write(tmp.path().join("all.toml"), all).expect("write");
    let c = load_dir(tmp.path()).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(a.groups, c.groups);
    assert_eq!(a.parachains, c.parachains);
    for (ga, gc) in a.groups.iter().zip(&c.groups) {
        let wa = spec::WorkloadSpec::for_group(&a, ga);
        let wc = spec::WorkloadSpec::for_group(&c, gc);
        assert_eq!(wa.hash(), wc.hash());
    }
}

#[test]
fn files_merge_in_name_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = |name: &str, text: &str| std::fs::write(tmp.path().join(name), text).expect("write");
    w(
        "b-validators.toml",
        "[[relay.group]]\nname = \"v\"\nrole = \"validator\"\nreplicas = 3\n",
    );
    w(
        "a-network.toml",
        "[network]\nname = \"m\"\nprovider = \"local\"\n[relay]\nchain = \"westend-local\"\n\
         [[relay.group]]\nname = \"g\"\nrole = \"validator\"\nreplicas = 2\ngenesis_authorities = true\n",
    );
    w(
        "c-secrets.toml",
        "[secrets]\nsudo = \"env:S\"\nderivation_root = \"file:root.txt\"\nextra = \"k8s:s/k\"\n",
    );
    w(
        "d-para.toml",
        "[relay]\nconsensus = \"poa\"\n[[parachain]]\nid = 2000\nchain_spec = \"p.json\"\n\
         [[parachain.group]]\nname = \"c\"\nreplicas = 2\n",
    );
    w("p.json", "{}");
    w("notes.txt", "not toml, ignored");
    let d = load_dir(tmp.path()).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(
        node_names(&d),
        ["g-0", "g-1", "v-0", "v-1", "v-2", "c-0", "c-1"]
    );
    assert_eq!(
        d.relay.consensus,
        spec::Consensus::Poa,
        "relay scalars merge across files"
    );
    assert_eq!(
        d.secrets.other.get("extra"),
        Some(&SecretRef::K8s {
            secret: "s".into(),
            key: "k".into()
        })
    );
    let names: Vec<_> = d
        .source
        .files
        .iter()
        .map(|f| {
            f.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "a-network.toml",
            "b-validators.toml",
            "c-secrets.toml",
            "d-para.toml"
        ]
    );
    let c = d.group(&"c".into()).expect("collators");
    assert_eq!(
        (c.role, c.chain),
        (Role::Collator, ChainSide::Para(ParaId(2000))),
        "role defaults to collator"
    );
    assert_eq!(c.collator, Some(spec::CollatorMode::Invulnerable));
    assert_eq!(c.command, "polkadot-omni-node");
    assert_eq!(d.parachains[0].groups, vec![spec::GroupName::new("c")]);
    assert_eq!(d.source.commit, None, "not in a git checkout");
}

#[test]
fn genesis_authorities_take_dev_keys_in_order_per_chain() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        tmp.path().join("n.toml"),
        r#"
[network]
name = "dev"
provider = "local"
[secrets]
sudo = "env:S"
derivation_root = "env:R"
[relay]
chain = "rococo-local"
[[relay.group]]
name = "a"
role = "validator"
replicas = 2
genesis_authorities = true
[[relay.group]]
name = "b"
role = "validator"
replicas = 3
genesis_authorities = true
[[relay.group]]
name = "c"
role = "validator"
replicas = 1
[[parachain]]
id = 1000
chain = "asset-hub-rococo-local"
command = "polkadot-parachain"
[[parachain.group]]
name = "col"
replicas = 2
genesis_authorities = true
"#,
    )
    .expect("write");
    let d = load_dir(tmp.path()).unwrap_or_else(|e| panic!("{}", render(&e)));
    let keys: Vec<_> = d
        .nodes()
        .map(|n| (n.name.to_string(), n.dev_key.clone()))
        .collect();
    let k = |n: &str, k: Option<&str>| (n.to_string(), k.map(str::to_string));
    assert_eq!(
        keys,
        [
            k("a-0", Some("alice")),
            k("a-1", Some("bob")),
            k("b-0", Some("charlie")),
            k("b-1", Some("dave")),
            k("b-2", Some("eve")),
            k("c-0", None),
            k("col-0", Some("alice")),
            k("col-1", Some("bob")),
        ]
    );
}

/// A git repository with one commit holding `networks/n/`, whose working
/// tree is then changed; `load_git` must read the commit, not the tree.
#[test]
fn load_git_reads_a_revision_without_checkout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = git2::Repository::init(tmp.path()).expect("init");
    let net = tmp.path().join("networks/n");
    std::fs::create_dir_all(net.join("specs")).expect("mkdir");
    let committed = "[network]\nname = \"n\"\nprovider = \"local\"\n[relay]\nchain_spec = \"specs/relay.json\"\n\
                     [[relay.group]]\nname = \"full\"\nrole = \"full\"\nreplicas = 2\n";
    std::fs::write(net.join("network.toml"), committed).expect("write");
    std::fs::write(net.join("specs/relay.json"), "{}").expect("write");
    let commit_id = commit_all(&repo, "first");

    // Clean checkout: load_dir records HEAD.
    let d = load_dir(&net).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(d.source.commit.as_deref(), Some(commit_id.as_str()));

    // Change the working tree: more replicas, and a file that does not parse.
    let edited = committed.replace("replicas = 2", "replicas = 5");
    std::fs::write(net.join("network.toml"), &edited).expect("write");
    std::fs::write(net.join("broken.toml"), "[[[").expect("write");
    std::fs::remove_file(net.join("specs/relay.json")).expect("rm");
    assert!(load_dir(&net).is_err(), "the working tree is broken");

    // (repo dir, rev, net dir): relative to the root, absolute, and
    // discovered from inside the network dir (as the CLI does).
    let cases = [
        (tmp.path(), "HEAD", Path::new("networks/n")),
        (tmp.path(), commit_id.as_str(), net.as_path()),
        (net.as_path(), "HEAD", net.as_path()),
    ];
    for (repo_dir, rev, dir) in cases {
        let g = load_git(repo_dir, rev, dir).unwrap_or_else(|e| panic!("{}", render(&e)));
        assert_eq!(g.source.commit.as_deref(), Some(commit_id.as_str()));
        assert_eq!(
            g.group(&"full".into()).map(|g| g.replicas),
            Some(2),
            "read from the commit"
        );
    }
    // The working tree is untouched.
    assert_eq!(
        std::fs::read_to_string(net.join("network.toml")).expect("read"),
        edited
    );
    assert!(net.join("broken.toml").exists());
    assert!(!net.join("specs/relay.json").exists());

    // Dirty checkout: no commit recorded.
    std::fs::remove_file(net.join("broken.toml")).expect("rm");
    std::fs::write(net.join("specs/relay.json"), "{}").expect("write");
    let d = load_dir(&net).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(
        d.source.commit, None,
        "uncommitted changes under the network dir"
    );
    assert_eq!(d.group(&"full".into()).map(|g| g.replicas), Some(5));

    // Unknown revisions and directories are diagnostics, not panics.
    let e = load_git(tmp.path(), "no-such-rev", Path::new("networks/n")).expect_err("bad rev");
    assert!(render(&e).contains("no-such-rev"));
    let e = load_git(tmp.path(), "HEAD", Path::new("networks/missing")).expect_err("bad dir");
    assert!(render(&e).contains("networks/missing"));
}

fn commit_all(repo: &git2::Repository, msg: &str) -> String {
    let mut index = repo.index().expect("index");
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index.write().expect("write index");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("find tree");
    let sig = git2::Signature::now("test", "test@example.com").expect("sig");
    let parents: Vec<git2::Commit> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, msg, &tree, &parents)
        .expect("commit")
        .to_string()
}

#[test]
fn secrets_resolve_from_env_and_file_and_never_leak() {
    use secrecy::ExposeSecret;
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut errors = Vec::new();
    let value = "bottom drive obey lake curtain smoke basket hold race lonely fit walk//x";
    std::fs::write(tmp.path().join("root.txt"), format!("{value}\n")).expect("write");
    let r = SecretRef::File {
        path: "root.txt".into(),
    };
    assert_eq!(
        spec::resolve(&r, tmp.path()).expect("file").expose_secret(),
        value
    );

    // An env var the process already has (setting one would race other threads).
    let (name, expected) = std::env::vars()
        .find(|(k, v)| {
            !v.trim().is_empty()
                && !v.ends_with('\n')
                && k.starts_with(|c: char| c.is_ascii_alphabetic())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .expect("the test process has some environment");
    let r = SecretRef::Env { name: name.clone() };
    let s = spec::resolve(&r, tmp.path()).expect("env");
    assert_eq!(s.expose_secret(), expected);
    assert!(
        !format!("{s:?}").contains(&expected),
        "Debug of a secret hides it"
    );

    std::fs::write(tmp.path().join("bad.bin"), b"//Secret//Value\xff\xfe").expect("write");
    let e = spec::resolve(
        &SecretRef::File {
            path: "bad.bin".into(),
        },
        tmp.path(),
    )
    .expect_err("utf8");
    errors.push(e.to_string());
    assert_eq!(e.to_string(), "file:bad.bin is not valid UTF-8");

    let missing = SecretRef::Env {
        name: "PARAFORM_TEST_SPEC_UNSET".into(),
    };
    let e = spec::resolve(&missing, tmp.path()).expect_err("unset");
    errors.push(e.to_string());
    assert_eq!(e.to_string(), "env:PARAFORM_TEST_SPEC_UNSET is not set");

    let e = spec::resolve(
        &SecretRef::File {
            path: "nope.txt".into(),
        },
        tmp.path(),
    )
    .expect_err("no file");
    errors.push(e.to_string());
    assert!(
        e.to_string().starts_with("file:nope.txt could not be read"),
        "{e}"
    );

    std::fs::write(tmp.path().join("empty.txt"), "\n").expect("write");
    let e = spec::resolve(
        &SecretRef::File {
            path: "empty.txt".into(),
        },
        tmp.path(),
    )
    .expect_err("empty");
    errors.push(e.to_string());
    assert_eq!(e.to_string(), "file:empty.txt is empty");

    let e = spec::resolve(
        &SecretRef::K8s {
            secret: "s".into(),
            key: "k".into(),
        },
        tmp.path(),
    )
    .expect_err("k8s");
    errors.push(e.to_string());
    assert!(
        e.to_string().contains("k8s:s/k") && e.to_string().contains("provider = \"kubernetes\""),
        "{e}"
    );

    // No error carries a secret value: neither resolution errors nor the
    // report of a network with inline secrets.
    errors.push(render(
        &load_dir(Path::new("tests/spec/bad/inline_secret")).expect_err("inline"),
    ));
    assert_eq!(errors.len(), 6);
    for err in &errors {
        assert!(
            !err.contains("Secret//Value")
                && !err.contains("lonely fit walk")
                && !err.contains("Alice"),
            "{err}"
        );
    }
}

/// A para whose chain spec names another para id: one diagnostic naming the
/// file and line of the `chain_spec`, the id in the spec, and how to fix it.
#[test]
fn chain_spec_for_another_para_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = |name: &str, text: &str| std::fs::write(tmp.path().join(name), text).expect("write");
    w(
        "network.toml",
        "[network]\nname = \"p\"\nprovider = \"local\"\n[secrets]\nsudo = \"env:SUDO\"\n\
         [relay]\nchain = \"rococo-local\"\n\
         [[relay.group]]\nname = \"g\"\nrole = \"validator\"\nreplicas = 2\ngenesis_authorities = true\n",
    );
    w(
        "para.toml",
        "[[parachain]]\nid = 2000\nchain_spec = \"penpal-2001.json\"\n\
         [[parachain.group]]\nname = \"c\"\nrole = \"collator\"\nreplicas = 1\ngenesis_authorities = true\n",
    );
    w(
        "penpal-2001.json",
        r#"{"name":"Penpal","id":"penpal","para_id":2001,"relay_chain":"rococo-local","genesis":{"raw":{"top":{}}}}"#,
    );
    let e = load_dir(tmp.path()).expect_err("para id mismatch");
    let text = render(&e);
    assert!(text.contains("chain_spec_para_id"), "{text}");
    assert!(
        text.contains("the chain spec of parachain 2000 is for para 2001"),
        "{text}"
    );
    assert!(text.contains("para.toml:3"), "names file and line: {text}");
    assert!(text.contains("1 problem"), "only this problem: {text}");
    assert!(text.contains("set id = 2001"), "{text}");

    // The matching spec loads.
    w(
        "penpal-2001.json",
        r#"{"name":"Penpal","id":"penpal","para_id":2000,"genesis":{"raw":{"top":{}}}}"#,
    );
    load_dir(tmp.path()).unwrap_or_else(|e| panic!("{}", render(&e)));
}

/// `relay_node` belongs to collator groups; with "rpc" there is no embedded
/// relay node for `relay_flags`; kubernetes does not run it yet.
#[test]
fn relay_node_rules() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = |name: &str, text: &str| std::fs::write(tmp.path().join(name), text).expect("write");
    let net = |provider: &str| {
        format!(
            "[network]\nname = \"r\"\nprovider = \"{provider}\"\n{}[secrets]\nsudo = \"env:SUDO\"\n\
             [relay]\nchain = \"rococo-local\"\n\
             [[relay.group]]\nname = \"g\"\nrole = \"validator\"\nreplicas = 2\ngenesis_authorities = true\n",
            if provider == "kubernetes" { "namespace = \"r\"\n" } else { "" }
        )
    };
    let para = "[[parachain]]\nid = 2000\nchain = \"asset-hub-rococo-local\"\ncommand = \"polkadot-parachain\"\n\
                [[parachain.group]]\nname = \"c\"\nrole = \"collator\"\nreplicas = 1\ngenesis_authorities = true\n\
                relay_node = \"rpc\"\n";
    w("network.toml", &net("local"));
    w("para.toml", para);
    let d = load_dir(tmp.path()).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(d.groups[1].relay_node, spec::RelayNodeMode::Rpc);

    w(
        "para.toml",
        &format!("{para}relay_flags = [\"--rpc-max-connections=10\"]\n"),
    );
    let text = render(&load_dir(tmp.path()).expect_err("relay_flags with rpc"));
    assert!(text.contains("relay_flags_without_relay_node"), "{text}");

    w("network.toml", &net("kubernetes"));
    w("para.toml", para);
    let text = render(&load_dir(tmp.path()).expect_err("kubernetes"));
    assert!(
        text.contains("not supported by the kubernetes provider yet"),
        "{text}"
    );

    w(
        "network.toml",
        &format!("{}relay_node = \"rpc\"\n", net("local")),
    );
    w("para.toml", "");
    let text = render(&load_dir(tmp.path()).expect_err("relay group"));
    assert!(text.contains("is not a collator group"), "{text}");
}
