//! End to end on the local provider with REAL polkadot processes (loopback
//! only): `paraform apply networks/local` from nothing, crash recovery with
//! no duplicate extrinsics, the lock, drift of a killed process, a changed
//! desired state converging with one more apply (after a first try stopped
//! by SIGTERM), and destroy.
//!
//! One network is shared by the scenarios, in order (starting a network
//! costs about a minute on two cores; registration takes two sessions).
//! The binary comes from tests/support (POLKADOT_BIN, PATH or ../shared/bin):
//! never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod support;

#[path = "e2e/harness.rs"]
mod harness;

use harness::Net;
use std::time::{Duration, Instant};

#[test]
fn local_network_end_to_end() {
    let t0 = Instant::now();
    let net = Net::new();

    // 1. Two applies at once, the first killed (-9) after its processes
    //    start: exactly one holds the lock, the other exits 1 naming it.
    let first = net.spawn_apply(Some("gate.genesis/done"));
    let holder = net.wait_for_lock_holder(Duration::from_secs(30));
    let second = net.run(&["apply", "net", "--auto-approve"], None);
    assert_eq!(
        second.code,
        Some(1),
        "second apply must fail: {}",
        second.all()
    );
    assert!(second.stderr.contains("is locked"), "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("pid {}", holder.pid)),
        "names the holder: {}",
        second.stderr
    );
    assert!(
        second.stderr.contains(&holder.id),
        "names the lock id: {}",
        second.stderr
    );
    let first = net.finish(first, Duration::from_secs(400));
    assert_eq!(
        first.signal,
        Some(9),
        "killed after gate.genesis: {}",
        first.all()
    );
    assert!(
        net.node_running("genesis-0") && net.node_running("validator-0"),
        "processes outlive the CLI"
    );
    eprintln!(
        "[e2e] crash after processes started: ok ({:?})",
        t0.elapsed()
    );

    // 2. Killed right after Session.set_keys of validator-0 was sent.
    let r = net.run(
        &["apply", "net", "--auto-approve"],
        Some("keys.validator-0/submitted"),
    );
    assert_eq!(r.signal, Some(9), "{}", r.all());
    let state = net.state_json();
    assert!(
        state.contains("keys.validator-0") && state.contains("\"submitted\""),
        "journaled in flight: {state}"
    );
    eprintln!(
        "[e2e] crash after set_keys submitted: ok ({:?})",
        t0.elapsed()
    );

    // 3. Killed right after the registration batch was sent.
    let r = net.run(
        &["apply", "net", "--auto-approve"],
        Some("validators.register/submitted"),
    );
    assert_eq!(r.signal, Some(9), "{}", r.all());
    eprintln!(
        "[e2e] crash after register submitted: ok ({:?})",
        t0.elapsed()
    );

    // 4. Re-run converges.
    let r = net.run(&["apply", "net", "--auto-approve"], None);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let r = net.run(&["plan", "net", "--detailed-exitcode"], None);
    assert_eq!(
        r.code,
        Some(0),
        "registered-but-pending is pending, not a change: {}",
        r.all()
    );

    // No duplicate extrinsics: each stash signed exactly one transaction
    // (its set_keys), the sudo key exactly two (fund, register).
    let stashes = net.stashes(&["validator-0", "validator-1"]);
    let alice = net.account("//Alice");
    let chain = net.chain();
    let nonces = chain.nonces(&[stashes.clone(), vec![alice.clone()]].concat());
    let signed = chain.signed_extrinsics();
    eprintln!("[e2e] signed extrinsics: {signed:?}");
    let by = |a: &paraform::spec::ids::AccountId| -> Vec<String> {
        signed
            .iter()
            .filter(|(_, s, _)| s == a)
            .map(|(n, _, c)| format!("#{n} {c}"))
            .collect()
    };
    for s in &stashes {
        assert_eq!(
            by(s).len(),
            1,
            "stash {s} signed exactly one extrinsic (set_keys): {:?}",
            by(s)
        );
    }
    // The sudo key signs the registration once, and each fund step that ran
    // (the planner tops stashes up again after they paid set_keys fees)
    // exactly once: one extrinsic per executed intent, none repeated.
    let transcript = net.transcript();
    let funds_run = transcript.matches("fund: done").count();
    let alice_calls = by(&alice);
    assert_eq!(
        alice_calls
            .iter()
            .filter(|c| c.ends_with("Sudo.sudo"))
            .count(),
        1,
        "one registration: {alice_calls:?}"
    );
    assert_eq!(
        alice_calls
            .iter()
            .filter(|c| c.ends_with("Utility.batch_all"))
            .count(),
        funds_run,
        "one funding batch per fund step run ({funds_run}): {alice_calls:?}"
    );
    assert_eq!(alice_calls.len(), funds_run + 1, "{alice_calls:?}");
    for s in &stashes {
        assert_eq!(
            nonces.get(s),
            Some(&1),
            "stash {s} signed exactly one set_keys: {nonces:?}"
        );
    }
    let st = chain.relay();
    for s in &stashes {
        assert!(st.next_keys.contains_key(s), "NextKeys of {s}");
        assert!(
            st.pending_add.contains(s) || st.validators.contains(s),
            "{s} registered"
        );
    }
    eprintln!("[e2e] converged, no duplicates: ok ({:?})", t0.elapsed());

    // 5. A process killed behind paraform's back is drift, and apply restores it.
    let pid = net.node_pid("validator-1").expect("validator-1 runs");
    support::signal(pid, "KILL");
    net.wait_until(Duration::from_secs(10), || !net.node_running("validator-1"));
    let r = net.run(&["plan", "net", "--detailed-exitcode"], None);
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(r.stdout.contains("validator-1 not running"), "{}", r.stdout);
    let r = net.run(&["apply", "net", "--auto-approve"], None);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        net.node_pid("validator-1").is_some_and(|p| p != pid),
        "restarted"
    );
    assert_eq!(
        net.run(&["plan", "net", "--detailed-exitcode"], None).code,
        Some(0)
    );
    eprintln!("[e2e] drift restored: ok ({:?})", t0.elapsed());

    // 6. Changed desired state: remove a validator (once it is active, so
    //    the removal is a real deregistration).
    let v1 = stashes[1].clone();
    net.wait_until(Duration::from_secs(240), || {
        chain.relay().validators.contains(&v1)
    });
    net.edit(
        "validators.toml",
        "replicas = 2                 # validator-0",
        "replicas = 1                 # validator-0",
    );
    let r = net.run(&["apply", "net", "--auto-approve"], None);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(!net.node_running("validator-1"), "validator-1 stopped");
    let st = chain.relay();
    assert!(
        st.pending_retire.contains(&v1) || !st.validators.contains(&v1),
        "validator-1 deregistered"
    );
    assert_eq!(
        net.run(&["plan", "net", "--detailed-exitcode"], None).code,
        Some(0)
    );
    eprintln!("[e2e] validator removed: ok ({:?})", t0.elapsed());

    // 7. Add a validator and change a flag of another group in one apply.
    let rpc_pid = net.node_pid("rpc-0").expect("rpc-0 runs");
    net.edit(
        "validators.toml",
        "replicas = 1                 # validator-0",
        "replicas = 3                 # validator-0",
    );
    net.edit(
        "network.toml",
        "role = \"rpc\"\nreplicas = 1",
        "role = \"rpc\"\nreplicas = 1\nflags = [\"--rpc-max-connections=200\"]",
    );
    //    The first try is stopped by SIGTERM (a cancelled CI job) once the
    //    new validator's keys step has begun: it exits 143 naming what was
    //    left undone, releases the lock, and the next apply finishes the job
    //    without a second set_keys.
    let child = net.spawn_apply(None);
    let pid = child.id();
    net.wait_until(Duration::from_secs(240), || {
        net.state_json().contains("keys.validator-2")
    });
    support::signal(pid, "TERM");
    let t_term = Instant::now();
    let r = net.finish(child, Duration::from_secs(60));
    assert_eq!(r.code, Some(143), "SIGTERM exits 143: {}", r.all());
    assert!(
        t_term.elapsed() < Duration::from_secs(30),
        "stopped within the grace: {:?}",
        t_term.elapsed()
    );
    assert!(
        r.stderr.contains("interrupted by SIGTERM") && r.stderr.contains("validators.register"),
        "says what was left undone: {}",
        r.stderr
    );
    let r = net.run(&["lock", "status", "net"], None);
    assert!(
        r.stdout.contains("Not locked"),
        "lock released: {}",
        r.all()
    );
    assert!(
        r.stdout.contains("DIRTY") && r.stdout.contains("interrupted by SIGTERM"),
        "{}",
        r.all()
    );
    eprintln!("[e2e] SIGTERM mid-apply: ok ({:?})", t0.elapsed());
    let r = net.run(&["apply", "net", "--auto-approve"], None);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(!r.stderr.contains("locked"), "{}", r.stderr);
    let new_rpc = net.node_pid("rpc-0").expect("rpc-0 runs");
    assert_ne!(new_rpc, rpc_pid, "rpc-0 restarted for its new flag");
    assert!(net.cmdline(new_rpc).contains("--rpc-max-connections=200"));
    assert!(
        net.node_pid("genesis-0").is_some(),
        "other groups untouched"
    );
    let v2 = net.stashes(&["validator-2"]).remove(0);
    // rpc-0 restarted: a new connection.
    let chain = net.chain();
    let st = chain.relay();
    assert!(
        st.next_keys.contains_key(&v2)
            && (st.pending_add.contains(&v2) || st.validators.contains(&v2))
    );
    assert_eq!(
        chain.nonces(std::slice::from_ref(&v2)).get(&v2),
        Some(&1),
        "validator-2's stash signed one set_keys across the interrupted and the next apply"
    );
    let r = net.run(&["plan", "net", "--detailed-exitcode"], None);
    assert_eq!(r.code, Some(0), "one apply converged: {}", r.all());
    eprintln!(
        "[e2e] validator added + flag changed: ok ({:?})",
        t0.elapsed()
    );

    // 8. lock status / destroy.
    let r = net.run(&["lock", "status", "net"], None);
    assert!(r.stdout.contains("Not locked"), "{}", r.all());
    let r = net.run(&["destroy", "net", "--auto-approve"], None);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains("validators.deregister"),
        "destroy deregisters first: {}",
        r.stdout
    );
    assert!(!net.node_running("genesis-0") && !net.node_running("validator-0"));
    eprintln!("[e2e] destroyed: ok ({:?})", t0.elapsed());
}
