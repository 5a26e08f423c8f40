//! `paraform status` / `drift` / `apply --expect-hash` as a user runs them,
//! offline against observed snapshots: exit codes, files written, messages.

use super::prom;
use super::world::*;
use assert_cmd::Command;
use std::path::Path;

const ROOT_VAR: &str = "PARAFORM_DERIVATION_ROOT";
const SUDO_VAR: &str = "PARAFORM_SUDO_SURI";

fn paraform(state_dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("paraform").expect("binary");
    cmd.env_remove(ROOT_VAR)
        .env_remove(SUDO_VAR)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("PARAFORM_DIR", state_dir)
        .current_dir(repo());
    cmd
}

fn out(o: &std::process::Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn drift(tmp: &Path, snapshot: &Path) -> std::process::Output {
    paraform(tmp)
        .env(ROOT_VAR, ROOT)
        .arg("drift")
        .arg(paras_dir())
        .arg("--observed")
        .arg(snapshot)
        .arg("--report")
        .arg(tmp.join("drift.md"))
        .arg("--metrics")
        .arg(tmp.join("drift.prom"))
        .output()
        .expect("runs")
}

#[test]
fn drift_exit_codes_and_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = paras();

    // In sync: exit 0, both files written.
    let snap = write(tmp.path(), "in-sync.json", &in_sync(&d));
    let o = drift(tmp.path(), &snap);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("In sync: 0 cluster, 0 chain"));
    let md = std::fs::read_to_string(tmp.path().join("drift.md")).expect("report");
    assert!(md.contains("matches its desired state"), "{md}");
    let prom_text = std::fs::read_to_string(tmp.path().join("drift.prom")).expect("metrics");
    prom::parse(&prom_text).expect("valid metrics");

    // Drift: exit 2; the report lists it, the metrics count it.
    let mut degraded = degraded(&d);
    degraded.parachains.remove(&paraform::spec::ParaId(2000));
    let snap = write(tmp.path(), "degraded.json", &degraded);
    let o = drift(tmp.path(), &snap);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    let md = std::fs::read_to_string(tmp.path().join("drift.md")).expect("report");
    assert!(
        md.contains("### Cluster drift") && md.contains("### Chain drift"),
        "{md}"
    );
    let samples = prom::parse(&std::fs::read_to_string(tmp.path().join("drift.prom")).expect("m"))
        .expect("valid metrics");
    assert!(samples
        .iter()
        .any(|s| s.name == "paraform_in_sync" && s.value == 0.0));

    // Nothing written or printed carries the derivation root.
    for text in [
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        md.clone(),
        std::fs::read_to_string(tmp.path().join("drift.prom")).expect("m"),
    ] {
        assert!(
            !text.contains(ROOT.trim_start_matches('/')),
            "secret leaked:\n{text}"
        );
    }

    // A chain that cannot be read: exit 1 naming the endpoint, files still written.
    let snap = write(tmp.path(), "unreachable.json", &relay_unreachable(&d));
    std::fs::remove_file(tmp.path().join("drift.prom")).expect("rm");
    let o = drift(tmp.path(), &snap);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("ws://127.0.0.1:9944") && err.contains("relay chain"),
        "{err}"
    );
    let samples = prom::parse(&std::fs::read_to_string(tmp.path().join("drift.prom")).expect("m"))
        .expect("valid metrics");
    assert!(samples
        .iter()
        .any(|s| s.name == "paraform_observation_complete" && s.value == 0.0));
}

#[test]
fn drift_errors_exit_1() {
    let tmp = tempfile::tempdir().expect("tmp");
    // No derivation root: the plan cannot be made.
    let snap = write(tmp.path(), "s.json", &in_sync(&paras()));
    let o = paraform(tmp.path())
        .args(["drift"])
        .arg(paras_dir())
        .arg("--observed")
        .arg(&snap)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    // An unreadable snapshot.
    let o = paraform(tmp.path())
        .env(ROOT_VAR, ROOT)
        .args(["drift"])
        .arg(paras_dir())
        .arg("--observed")
        .arg(tmp.path().join("missing.json"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
}

#[test]
fn status_views_from_a_snapshot() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = paras();
    let snap = write(tmp.path(), "degraded.json", &degraded(&d));
    for (view, expect) in [
        ("nodes", "validator-a-3*"),
        ("validators", "(external)"),
        ("parachains", "onboarding"),
        ("collators", "ah-collator-1"),
    ] {
        let o = paraform(tmp.path())
            .env(ROOT_VAR, ROOT)
            .arg("status")
            .arg(paras_dir())
            .arg(view)
            .arg("--observed")
            .arg(&snap)
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(0), "{view}: {}", out(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(expect), "{view}: {text}");

        let o = paraform(tmp.path())
            .env(ROOT_VAR, ROOT)
            .arg("status")
            .arg(paras_dir())
            .arg(view)
            .args(["--format", "json", "--observed"])
            .arg(&snap)
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(0), "{view}: {}", out(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        assert_eq!(v["view"], view);
    }
}

#[test]
fn status_without_the_derivation_root_uses_recorded_accounts() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = paras();
    let snap = write(tmp.path(), "s.json", &in_sync(&d));
    let o = paraform(tmp.path())
        .args(["status"])
        .arg(paras_dir())
        .args(["validators", "--format", "json", "--observed"])
        .arg(&snap)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let a0 = account_of(&d, "validator-a-0").to_string();
    assert!(
        v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .any(|r| r["node"] == "validator-a-0"
                && r["stash"] == a0.as_str()
                && r["state"] == "active"),
        "{v}"
    );
}

#[test]
fn status_previous_and_save_observed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = paras();
    let now = in_sync(&d);
    let mut earlier = now.clone();
    if let paraform::observe::ChainView::Live(c) = &mut earlier.relay {
        c.block_number = 90;
        for p in c.paras.values_mut() {
            p.head = Some(hash(0x01));
        }
    }
    let snap = write(tmp.path(), "now.json", &now);
    let prev = write(tmp.path(), "earlier.json", &earlier);
    let saved = tmp.path().join("saved.json");
    let o = paraform(tmp.path())
        .env(ROOT_VAR, ROOT)
        .arg("status")
        .arg(paras_dir())
        .args(["parachains", "--format", "json", "--observed"])
        .arg(&snap)
        .arg("--previous")
        .arg(&prev)
        .arg("--save-observed")
        .arg(&saved)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    assert!(rows.iter().all(|r| r["advancing"] == true), "{v}");
    let back: paraform::observe::Observed =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved")).expect("parses");
    assert_eq!(back, now);
}

/// `apply --expect-hash` refuses before doing anything when the fresh plan
/// is not the approved one. Nothing runs in the test's state dir: the
/// network has no processes, so the fresh plan creates everything.
#[test]
fn apply_refuses_an_unapproved_plan() {
    let tmp = tempfile::tempdir().expect("tmp");
    let o = paraform(tmp.path())
        .env(ROOT_VAR, ROOT)
        .env(SUDO_VAR, "//Alice")
        .arg("apply")
        .arg(paras_dir())
        .args([
            "--expect-hash",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ])
        .write_stdin("")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("changed since it was approved") && err.contains("Nothing was applied"),
        "{}",
        out(&o)
    );
    // The refusal names the fresh plan's hash: `plan --format json` reports the same.
    let p = paraform(tmp.path())
        .env(ROOT_VAR, ROOT)
        .arg("plan")
        .arg(paras_dir())
        .args(["--format", "json"])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("runs");
    assert_eq!(p.status.code(), Some(0), "{}", out(&p));
    let v: serde_json::Value = serde_json::from_slice(&p.stdout).expect("json");
    let hash = v["content_digest"].as_str().expect("content_digest");
    assert!(err.contains(hash), "{err}\nplan hash {hash}");
}
