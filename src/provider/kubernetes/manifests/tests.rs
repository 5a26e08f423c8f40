use super::*;
use crate::spec::model::{Desired, Group};
use crate::spec::GroupName;
use serde_json::json;

fn load(dir: &str) -> Desired {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    crate::spec::load::load_dir(&path).unwrap_or_else(|e| panic!("{dir} loads: {e:?}"))
}

struct Fixture {
    desired: Desired,
    spec: WorkloadSpec,
    nodes: Vec<NodeName>,
    dev_keys: BTreeMap<NodeName, String>,
    keys: BTreeMap<NodeName, NodeKey>,
    chain: ChainSource,
    relay: Option<ChainSource>,
    addrs: BTreeMap<String, String>,
    options: RenderOptions,
}

impl Fixture {
    fn new(group: &str) -> Self {
        Self::of("networks/rococo-k8s", group)
    }

    fn of(dir: &str, group: &str) -> Self {
        let desired = load(dir);
        let g: &Group = desired.group(&GroupName::new(group)).expect("group");
        let spec = WorkloadSpec::for_group(&desired, g);
        let nodes: Vec<NodeName> = g.nodes.iter().map(|n| n.name.clone()).collect();
        let dev_keys = g
            .nodes
            .iter()
            .filter_map(|n| Some((n.name.clone(), n.dev_key.clone()?)))
            .collect();
        let keys = nodes
            .iter()
            .map(|n| (n.clone(), NodeKey::derived(&desired.network, n)))
            .collect();
        let chain =
            chain_source(&spec.chain, |_| Err(std::io::ErrorKind::NotFound.into())).expect("chain");
        let relay = spec
            .relay_chain
            .as_ref()
            .map(|r| chain_source(r, |_| Err(std::io::ErrorKind::NotFound.into())).expect("relay"));
        Fixture {
            desired,
            spec,
            nodes,
            dev_keys,
            keys,
            chain,
            relay,
            addrs: BTreeMap::new(),
            options: RenderOptions::default(),
        }
    }

    fn render(&self) -> Result<Vec<Manifest>, RenderError> {
        let accounts = BTreeMap::new();
        let para_id = match self.spec.chain_side {
            crate::spec::ChainSide::Para(id) => Some(id),
            _ => None,
        };
        render_group(&RenderInput {
            network: &self.desired.network,
            namespace: "rococo",
            spec: &self.spec,
            nodes: &self.nodes,
            para_id,
            dev_keys: &self.dev_keys,
            accounts: &accounts,
            node_keys: &self.keys,
            chain: &self.chain,
            relay_chain: self.relay.as_ref(),
            bootnodes: &[
                "/dns4/bootnode-0.bootnode.rococo.svc.cluster.local/tcp/30333/p2p/12D3KooW"
                    .to_string(),
            ],
            relay_bootnodes: &[],
            public_addrs: &self.addrs,
            max_unavailable: 3,
            options: &self.options,
        })
    }
}

fn find<'a>(ms: &'a [Manifest], kind: Kind, name: &str) -> &'a Manifest {
    ms.iter()
        .find(|m| m.kind == kind && m.name == name)
        .unwrap_or_else(|| {
            panic!(
                "{kind}/{name} not rendered; have {:?}",
                ms.iter().map(Manifest::id).collect::<Vec<_>>()
            )
        })
}

fn args_of(sts: &Manifest) -> Vec<String> {
    let c = &sts.object["spec"]["template"]["spec"]["containers"][0];
    let mut v: Vec<String> = c["command"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(c["args"].as_array().into_iter().flatten())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    v.retain(|a| !a.is_empty());
    v
}

#[test]
fn validator_group_renders_every_object() {
    let f = Fixture::new("validator");
    let ms = f.render().unwrap();
    // Secret + public-addrs ConfigMap + headless + 10 RPC + 10 p2p Services + StatefulSet.
    assert_eq!(
        ms.len(),
        1 + 1 + 1 + 10 + 10 + 1,
        "{:?}",
        ms.iter().map(Manifest::id).collect::<Vec<_>>()
    );
    let sts = find(&ms, Kind::StatefulSet, "validator");
    let s = &sts.object["spec"];
    assert_eq!(s["serviceName"], "validator");
    assert_eq!(s["podManagementPolicy"], "Parallel");
    assert_eq!(s["replicas"], 10);
    assert_eq!(s["updateStrategy"]["type"], "RollingUpdate");
    assert_eq!(
        s["updateStrategy"]["rollingUpdate"],
        json!({"partition": 0}),
        "no maxUnavailable on a 1.20 server"
    );
    let claims: Vec<&str> = s["volumeClaimTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(claims, ["chain-data", "keystore"]);
    let data = &s["volumeClaimTemplates"][0]["spec"];
    assert_eq!(data["resources"]["requests"]["storage"], "50Gi");
    assert_eq!(data["storageClassName"], "ssd");
    let c = &s["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "docker.io/parity/polkadot:stable2509");
    assert_eq!(c["resources"]["limits"]["memory"], "4Gi");
    assert_eq!(c["resources"]["requests"]["cpu"], "1");
    let args = args_of(sts);
    for want in [
        "--chain=rococo-local",
        "--name=$(POD_NAME)",
        "--node-key-file=/node-keys/$(POD_NAME)",
        "--database=paritydb",
        "--validator",
        "--log=parachain=debug,babe=info",
        "--rpc-methods=unsafe",
    ] {
        assert!(args.iter().any(|a| a == want), "missing {want} in {args:?}");
    }
    // Per-pod RPC Service named like the pod, selecting exactly that pod.
    let svc = find(&ms, Kind::Service, "validator-3");
    assert_eq!(
        svc.object["spec"]["selector"][LABEL_POD_NAME],
        "validator-3"
    );
    assert_eq!(svc.object["spec"]["type"], "ClusterIP");
    assert_eq!(svc.object["spec"]["ports"][0]["port"], 9944);
    // p2p Service: LoadBalancer, published before readiness.
    let p2p = find(&ms, Kind::Service, "validator-3-p2p");
    assert_eq!(p2p.object["spec"]["type"], "LoadBalancer");
    assert_eq!(p2p.object["spec"]["publishNotReadyAddresses"], true);
    let headless = find(&ms, Kind::Service, "validator");
    assert_eq!(headless.object["spec"]["clusterIP"], "None");
}

#[test]
fn every_object_carries_chart_and_ownership_labels() {
    let f = Fixture::new("asset-hub-collator");
    let ms = f.render().unwrap();
    for m in &ms {
        let l = &m.object["metadata"]["labels"];
        assert_eq!(l[LABEL_NAME], "node", "{}", m.id());
        assert_eq!(l[LABEL_INSTANCE], "asset-hub-collator");
        assert_eq!(l[LABEL_MANAGED_BY], "paraform");
        assert_eq!(l["role"], "collator");
        assert_eq!(l["paraId"], "1000");
        assert_eq!(l["chain"], "asset-hub-rococo-local");
        assert_eq!(l[LABEL_NETWORK], "rococo-k8s");
        assert_eq!(l[LABEL_GROUP], "asset-hub-collator");
        assert_eq!(m.object["metadata"]["namespace"], "rococo");
    }
    // The selector is a subset of the pod template's labels.
    let sts = find(&ms, Kind::StatefulSet, "asset-hub-collator");
    let sel = sts.object["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    let tpl = &sts.object["spec"]["template"]["metadata"]["labels"];
    for (k, v) in sel {
        assert_eq!(&tpl[k], v, "selector label {k}");
    }
}

#[test]
fn collator_embeds_a_relay_node() {
    let f = Fixture::new("asset-hub-collator");
    let ms = f.render().unwrap();
    let sts = find(&ms, Kind::StatefulSet, "asset-hub-collator");
    let args = args_of(sts);
    let sep = args
        .iter()
        .position(|a| a == "--")
        .expect("`--` before relay args");
    assert!(args[..sep].iter().any(|a| a == "--collator"));
    assert!(args[..sep]
        .iter()
        .any(|a| a == "--chain=asset-hub-rococo-local"));
    assert!(args[..sep].iter().any(|a| a == "--pool-limit=10000"));
    let relay = &args[sep..];
    assert!(relay.iter().any(|a| a == "--chain=rococo-local"));
    assert!(relay.iter().any(|a| a == "--base-path=/relay-data"));
    assert!(relay.iter().any(|a| a == "--rpc-max-connections=100"));
    let claims = sts.object["spec"]["volumeClaimTemplates"]
        .as_array()
        .unwrap();
    assert!(claims
        .iter()
        .any(|c| c["metadata"]["name"] == "relay-chain-data"));
    find(&ms, Kind::Service, "asset-hub-collator-0-relay-p2p");
    // The relay node's public address is appended after its own flags.
    let script = sts.object["spec"]["template"]["spec"]["containers"][0]["command"][2]
        .as_str()
        .unwrap();
    assert!(script.contains("set -- \"$@\" --public-addr"), "{script}");
}

#[test]
fn genesis_authorities_get_their_dev_key_per_pod() {
    let f = Fixture::new("genesis");
    let ms = f.render().unwrap();
    let sts = find(&ms, Kind::StatefulSet, "genesis");
    let c = &sts.object["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["command"][0], "/bin/sh");
    let script = c["command"][2].as_str().unwrap();
    assert!(
        script.contains("genesis-0) set -- --alice \"$@\" ;;"),
        "{script}"
    );
    assert!(
        script.contains("genesis-1) set -- --bob \"$@\" ;;"),
        "{script}"
    );
    assert!(script.trim_end().ends_with("exec polkadot \"$@\""));
    // Dev-key nodes do not also get `--validator` (the dev flag implies it).
    assert!(!args_of(sts).iter().any(|a| a == "--validator"));
}

#[test]
fn node_keys_are_stable_sensitive_and_per_pod() {
    let f = Fixture::new("bootnode");
    let a = f.render().unwrap();
    let b = f.render().unwrap();
    assert_eq!(a, b, "rendering is deterministic");
    let secret = find(&a, Kind::Secret, "bootnode-node-keys");
    assert!(secret.sensitive);
    let data = secret.object["data"].as_object().unwrap();
    assert_eq!(data.len(), 2);
    let want = NodeKey::derived(&f.desired.network, &NodeName::new("bootnode-0")).to_hex();
    let got = data["bootnode-0"].as_str().unwrap();
    let decoded: k8s_openapi::ByteString = serde_json::from_value(json!(got)).unwrap();
    assert_eq!(decoded.0, want.as_bytes());
    // `rpc = "None"`: no per-pod RPC Service, only p2p.
    assert!(!a
        .iter()
        .any(|m| m.kind == Kind::Service && m.name == "bootnode-0"));
    find(&a, Kind::Service, "bootnode-0-p2p");
}

#[test]
fn memory_keystore_and_state_pruning() {
    let f = Fixture::new("bootnode");
    let ms = f.render().unwrap();
    let sts = find(&ms, Kind::StatefulSet, "bootnode");
    let vols = sts.object["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    let ks = vols
        .iter()
        .find(|v| v["name"] == "keystore")
        .expect("keystore volume");
    assert_eq!(ks["emptyDir"]["medium"], "Memory");
    assert!(args_of(sts).iter().any(|a| a == "--state-pruning=1000"));
}

#[test]
fn public_addresses_flow_into_the_configmap_and_restart_pods() {
    let mut f = Fixture::new("validator");
    let before = f.render().unwrap();
    f.addrs
        .insert("validator-0".into(), "/ip4/203.0.113.7/tcp/30333".into());
    f.addrs
        .insert("other-0".into(), "/ip4/203.0.113.8/tcp/30333".into());
    let after = f.render().unwrap();
    let cm = find(&after, Kind::ConfigMap, "validator-public-addrs");
    assert_eq!(
        cm.object["data"],
        json!({"validator-0": "/ip4/203.0.113.7/tcp/30333"})
    );
    let hash = |ms: &[Manifest]| {
        find(ms, Kind::StatefulSet, "validator").object["spec"]["template"]["metadata"]
            ["annotations"][ANN_PUBLIC_ADDRS_HASH]
            .clone()
    };
    assert_ne!(hash(&before), hash(&after));
}

#[test]
fn max_unavailable_only_when_the_server_supports_it() {
    let mut f = Fixture::new("validator");
    f.options.caps.statefulset_max_unavailable = true;
    let ms = f.render().unwrap();
    let sts = find(&ms, Kind::StatefulSet, "validator");
    assert_eq!(
        sts.object["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"],
        3
    );
}

#[test]
fn chain_spec_urls_are_downloaded_and_files_inlined() {
    let mut f = Fixture::new("rpc");
    f.chain = ChainSource::Url("https://example.org/specs/relay.raw.json".into());
    let ms = f.render().unwrap();
    let sts = find(&ms, Kind::StatefulSet, "rpc");
    let init = &sts.object["spec"]["template"]["spec"]["initContainers"][0];
    assert_eq!(init["name"], "download-chain-spec");
    assert!(init["command"][2]
        .as_str()
        .unwrap()
        .contains("https://example.org/specs/relay.raw.json"));
    assert!(args_of(sts)
        .iter()
        .any(|a| a == "--chain=/chain-spec/chain.json"));
    assert_eq!(sts.object["metadata"]["labels"]["chain"], "relay");

    let small = chain_source(
        &ChainRef::Spec {
            path: "specs/para 7.json".into(),
        },
        |_| Ok("{}".into()),
    )
    .unwrap();
    assert_eq!(
        small,
        ChainSource::Inline {
            file_name: "para-7.json".into(),
            content: "{}".into()
        }
    );
    f.chain = small;
    let ms = f.render().unwrap();
    let cm = find(&ms, Kind::ConfigMap, "rpc-chain-spec");
    assert_eq!(cm.object["data"]["para-7.json"], "{}");
    let big = chain_source(
        &ChainRef::Spec {
            path: "big.json".into(),
        },
        |_| Ok("x".repeat(2 << 20)),
    );
    assert!(big.unwrap_err().contains("too large for a ConfigMap"));
}

#[test]
fn invalid_names_and_missing_inputs_are_errors() {
    let mut f = Fixture::new("rpc");
    f.spec.group = GroupName::new("Bad_Group");
    assert!(matches!(f.render(), Err(RenderError::BadName { .. })));
    let mut f = Fixture::new("rpc");
    f.keys.clear();
    assert!(matches!(
        f.render(),
        Err(RenderError::MissingNodeKey { .. })
    ));
    let mut f = Fixture::new("rpc");
    f.spec.image = None;
    assert!(matches!(f.render(), Err(RenderError::NoImage { .. })));
}

#[test]
fn public_addr_of_each_service_type() {
    let cip = json!({"spec": {"type": "ClusterIP", "clusterIP": "10.96.0.12"}});
    assert_eq!(
        public_addr_of_service(&cip, 30333).as_deref(),
        Some("/ip4/10.96.0.12/tcp/30333")
    );
    let np = json!({"spec": {"type": "NodePort", "ports": [{"port": 30333, "nodePort": 31001}]}});
    assert_eq!(
        public_addr_of_service(&np, 30333).as_deref(),
        Some("/ip4/@HOST_IP@/tcp/31001")
    );
    let lb_pending = json!({"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {}}});
    assert_eq!(public_addr_of_service(&lb_pending, 30333), None);
    let lb = json!({"spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"hostname": "a.elb.example"}]}}});
    assert_eq!(
        public_addr_of_service(&lb, 30333).as_deref(),
        Some("/dns4/a.elb.example/tcp/30333")
    );
}

#[test]
fn label_values_are_sanitised() {
    assert_eq!(label_value("specs/para 2000.json"), "specs-para-2000.json");
    assert_eq!(label_value("-x-"), "x");
    assert_eq!(label_value(&"a".repeat(80)).len(), 63);
}

#[test]
fn chart_pod_settings_reach_the_pod_template() {
    let f = Fixture::of("tests/fixtures/chart-k8s", "validator");
    let ms = f.render().unwrap();
    let sts = find(&ms, Kind::StatefulSet, "validator");
    let tpl = &sts.object["spec"]["template"];
    let pod = &tpl["spec"];
    assert_eq!(
        pod["nodeSelector"],
        json!({"cloud.google.com/gke-nodepool": "polkadot", "kubernetes.io/arch": "amd64"})
    );
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "dedicated", "operator": "Equal", "value": "polkadot", "effect": "NoSchedule"}])
    );
    assert_eq!(pod["imagePullSecrets"], json!([{"name": "regcred"}]));
    assert_eq!(pod["serviceAccountName"], "polkadot-node");
    assert_eq!(pod["priorityClassName"], "polkadot-node");
    assert_eq!(pod["terminationGracePeriodSeconds"], 60);
    // The user's security context over paraform's (Helm merges values so).
    assert_eq!(
        pod["securityContext"],
        json!({"runAsUser": 1001, "runAsGroup": 1000, "fsGroup": 1000, "runAsNonRoot": true})
    );
    // The written affinity, plus the anti-affinity switch's term on the
    // StatefulSet's selector labels.
    let aff = &pod["affinity"];
    assert_eq!(
        aff["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchExpressions"][0]["key"],
        "topology.kubernetes.io/zone"
    );
    let anti = &aff["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(anti["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(
        anti["labelSelector"]["matchLabels"],
        sts.object["spec"]["selector"]["matchLabels"]
    );
    let env = &pod["containers"][0]["env"];
    assert_eq!(env[0]["name"], "POD_NAME", "paraform's variables first");
    let by_name = |n: &str| {
        env.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("no {n} in {env}"))
    };
    assert_eq!(by_name("RUST_BACKTRACE")["value"], "1");
    assert_eq!(
        by_name("TELEMETRY_TOKEN")["valueFrom"],
        json!({"secretKeyRef": {"name": "telemetry", "key": "token"}})
    );
    assert_eq!(
        by_name("LOG_TARGETS")["valueFrom"],
        json!({"configMapKeyRef": {"name": "node-config", "key": "log"}})
    );
    // Pod labels and annotations on the template, never in the selector.
    assert_eq!(tpl["metadata"]["labels"]["team"], "parachains");
    assert_eq!(tpl["metadata"]["labels"][LABEL_NAME], "node");
    assert!(sts.object["spec"]["selector"]["matchLabels"]
        .get("team")
        .is_none());
    assert_eq!(
        tpl["metadata"]["annotations"]["prometheus.io/scrape"],
        "true"
    );
    assert!(tpl["metadata"]["annotations"]
        .get(ANN_PUBLIC_ADDRS_HASH)
        .is_some());
}

#[test]
fn chart_service_settings_and_external_dns() {
    let f = Fixture::of("tests/fixtures/chart-k8s", "validator");
    let ms = f.render().unwrap();
    for m in ms.iter().filter(|m| m.kind == Kind::Service) {
        let meta = &m.object["metadata"];
        assert_eq!(meta["labels"]["team"], "parachains", "{}", m.id());
        assert_eq!(
            meta["annotations"]["example.org/owner"],
            "parachains",
            "{}",
            m.id()
        );
    }
    // Pods never get Service labels' owner annotation, Services never the pod's.
    let p2p = find(&ms, Kind::Service, "validator-1-p2p");
    assert_eq!(
        p2p.object["metadata"]["annotations"][ANN_DNS_HOSTNAME],
        "validator-1.p2p.example.org"
    );
    assert_eq!(p2p.object["metadata"]["annotations"][ANN_DNS_TTL], "60");
    let rpc = find(&ms, Kind::Service, "validator-1");
    assert!(rpc.object["metadata"]["annotations"]
        .get(ANN_DNS_HOSTNAME)
        .is_none());
    // The name external-dns publishes is the announced address, known
    // before the load balancer has one.
    let mut live = p2p.object.clone();
    live["status"] = json!({"loadBalancer": {}});
    assert_eq!(
        public_addr_of_service(&live, P2P_PORT).as_deref(),
        Some("/dns4/validator-1.p2p.example.org/tcp/30333")
    );
    live["spec"]["type"] = json!("NodePort");
    live["spec"]["ports"][0]["nodePort"] = json!(31007);
    assert_eq!(
        public_addr_of_service(&live, P2P_PORT).as_deref(),
        Some("/dns4/validator-1.p2p.example.org/tcp/31007")
    );
}

#[test]
fn ingress_routes_a_host_to_the_groups_ready_pods() {
    let f = Fixture::of("tests/fixtures/chart-k8s", "rpc");
    let ms = f.render().unwrap();
    let svc = find(&ms, Kind::Service, "rpc-rpc");
    assert_eq!(svc.object["spec"]["type"], "ClusterIP");
    assert!(
        svc.object["spec"].get("publishNotReadyAddresses").is_none(),
        "only ready (RPC answering) pods serve"
    );
    let sts = find(&ms, Kind::StatefulSet, "rpc");
    assert_eq!(
        svc.object["spec"]["selector"],
        sts.object["spec"]["selector"]["matchLabels"]
    );
    let ing = find(&ms, Kind::Ingress, "rpc");
    assert_eq!(ing.object["apiVersion"], "networking.k8s.io/v1");
    let spec = &ing.object["spec"];
    assert_eq!(spec["ingressClassName"], "nginx");
    assert_eq!(
        spec["tls"],
        json!([{"hosts": ["rpc.example.org"], "secretName": "rpc-example-org-tls"}])
    );
    let rule = &spec["rules"][0];
    assert_eq!(rule["host"], "rpc.example.org");
    assert_eq!(
        rule["http"]["paths"][0],
        json!({"path": "/", "pathType": "Prefix",
               "backend": {"service": {"name": "rpc-rpc", "port": {"number": 9944}}}})
    );
    assert_eq!(
        ing.object["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"],
        "3600"
    );
    // `tolerations = []` replaced the default; `preferred` spreads softly.
    let pod = &sts.object["spec"]["template"]["spec"];
    assert!(pod.get("tolerations").is_none(), "{pod}");
    let pref =
        &pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(pref[0]["weight"], 100);
    // Groups without the settings render as before (no new fields).
    let plain = Fixture::new("rpc").render().unwrap();
    let p = &find(&plain, Kind::StatefulSet, "rpc").object["spec"]["template"]["spec"];
    for absent in [
        "nodeSelector",
        "tolerations",
        "affinity",
        "serviceAccountName",
    ] {
        assert!(p.get(absent).is_none(), "{absent}");
    }
    assert!(!plain.iter().any(|m| m.kind == Kind::Ingress));
}

#[test]
fn service_monitor_only_where_the_cluster_serves_it() {
    let mut f = Fixture::of("tests/fixtures/chart-k8s", "validator");
    f.spec.kubernetes.service_monitor = Some(crate::spec::model::ServiceMonitor {
        interval: "15s".into(),
        scrape_timeout: "5s".into(),
    });
    assert!(
        !f.render()
            .unwrap()
            .iter()
            .any(|m| m.kind == Kind::ServiceMonitor),
        "no CRD, no object (the provider adds a skip note to the plan)"
    );
    f.options.caps.service_monitor = true;
    let ms = f.render().unwrap();
    let sm = find(&ms, Kind::ServiceMonitor, "validator");
    assert_eq!(sm.object["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(
        sm.object["spec"]["endpoints"],
        json!([{"port": "prometheus", "interval": "15s", "scrapeTimeout": "5s"}])
    );
    let sts = find(&ms, Kind::StatefulSet, "validator");
    assert_eq!(
        sm.object["spec"]["selector"]["matchLabels"],
        sts.object["spec"]["selector"]["matchLabels"]
    );
    // Only the headless Service has the port it scrapes.
    let with_port: Vec<&str> = ms
        .iter()
        .filter(|m| m.kind == Kind::Service)
        .filter(|m| {
            m.object["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "prometheus")
        })
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(with_port, ["validator"]);
}
