//! The CI recipes in docs/ci/: each file is valid YAML shaped like a GitHub
//! Actions workflow, and every `paraform …` command its scripts run parses
//! with the real CLI definition (subcommand, flags, values).

use clap::CommandFactory;
use paraform::cli::Cli;
use serde_yaml::Value;
use std::path::PathBuf;

fn workflows() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/ci");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("docs/ci exists") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let doc: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name, doc));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `run:` scripts of every step, with their job.
fn scripts(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(jobs) = doc.get("jobs").and_then(Value::as_mapping) {
        for job in jobs.values() {
            for step in job
                .get("steps")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                if let Some(run) = step.get("run").and_then(Value::as_str) {
                    out.push(run.to_string());
                }
            }
        }
    }
    out
}

/// Split a shell line into words: quotes grouped, `\`-newlines joined.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut started = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                started = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    cur.push(q);
                }
            }
            ';' => {
                if started {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(";".into());
                started = false;
            }
            c if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            c => {
                started = true;
                cur.push(c);
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

/// Every `paraform …` command in a script, as argv (shell variables replaced
/// by plausible values so value parsers see something of the right shape).
fn paraform_commands(script: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let boundary = [
        "", ";", "&&", "||", "|", "then", "do", "else", "if", "!", "(",
    ];
    let stop = |w: &str| {
        [";", "&&", "||", "|", ")"].contains(&w)
            || w.starts_with('>')
            || w.starts_with("2>")
            || w.starts_with('<')
    };
    let mut out = Vec::new();
    for line in joined.lines() {
        let line = line.split(" #").next().unwrap_or_default();
        if line.trim_start().starts_with('#') {
            continue;
        }
        let w = words(line);
        for (i, word) in w.iter().enumerate() {
            let prev = if i == 0 { "" } else { w[i - 1].as_str() };
            if word != "paraform" || !boundary.contains(&prev) {
                continue;
            }
            let mut argv = vec!["paraform".to_string()];
            for arg in &w[i + 1..] {
                if stop(arg) {
                    break;
                }
                argv.push(substitute(arg));
            }
            out.push(argv);
        }
    }
    out
}

fn substitute(arg: &str) -> String {
    if !arg.contains('$') {
        return arg.to_string();
    }
    if arg.contains("hash") {
        return "0".repeat(64);
    }
    // Paths and names built from variables.
    arg.replace("${dir%/}", "networks/x")
        .replace("$dir", "networks/x")
        .replace("$net", "x")
        .replace("${", "")
        .replace('$', "")
}

#[test]
fn workflows_are_github_actions_files() {
    let all = workflows();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["apply-on-merge.yml", "drift.yml", "plan-on-pr.yml"]);
    for (name, doc) in &all {
        assert!(
            doc.get("name").and_then(Value::as_str).is_some(),
            "{name}: name"
        );
        // YAML 1.1 would read a bare `on` as a boolean; serde_yaml keeps the key.
        let on = doc
            .get("on")
            .unwrap_or_else(|| panic!("{name}: `on` trigger"));
        assert!(
            on.as_mapping().is_some_and(|m| !m.is_empty()),
            "{name}: triggers"
        );
        let jobs = doc.get("jobs").and_then(Value::as_mapping).expect("jobs");
        assert!(!jobs.is_empty(), "{name}");
        for (job_name, job) in jobs {
            assert!(job.get("runs-on").is_some(), "{name}: {job_name:?} runs-on");
            let steps = job
                .get("steps")
                .and_then(Value::as_sequence)
                .expect("steps");
            assert!(!steps.is_empty());
            for step in steps {
                assert!(
                    step.get("run").is_some() ^ step.get("uses").is_some(),
                    "{name}: a step has exactly one of run/uses: {step:?}"
                );
            }
        }
    }
}

#[test]
fn triggers_and_permissions_fit_each_job() {
    let all: std::collections::BTreeMap<_, _> = workflows().into_iter().collect();
    let plan = &all["plan-on-pr.yml"];
    assert!(plan["on"].get("pull_request").is_some());
    assert_eq!(plan["permissions"]["pull-requests"], "write");
    let apply = &all["apply-on-merge.yml"];
    assert_eq!(apply["on"]["push"]["branches"][0], "main");
    assert_eq!(apply["concurrency"]["cancel-in-progress"], false);
    let drift = &all["drift.yml"];
    assert!(drift["on"]["schedule"][0]["cron"].as_str().is_some());
    assert_eq!(drift["permissions"]["issues"], "write");
}

#[test]
fn every_paraform_command_exists_in_the_cli() {
    let mut used = std::collections::BTreeMap::<String, Vec<Vec<String>>>::new();
    for (name, doc) in workflows() {
        let commands: Vec<Vec<String>> = scripts(&doc)
            .iter()
            .flat_map(|s| paraform_commands(s))
            .collect();
        assert!(!commands.is_empty(), "{name} runs no paraform command");
        for argv in &commands {
            if let Err(e) = Cli::command().try_get_matches_from(argv) {
                panic!("{name}: `{}` does not parse:\n{e}", argv.join(" "));
            }
        }
        used.insert(name, commands);
    }
    let has = |file: &str, sub: &str, flag: &str| {
        used[file].iter().any(|a| {
            a.get(1).map(String::as_str) == Some(sub)
                && (flag.is_empty() || a.iter().any(|x| x == flag))
        })
    };
    // The contract between the files: the PR comment carries the hash of a
    // saved plan, the merge job applies only that hash, drift writes both outputs.
    assert!(has("plan-on-pr.yml", "plan", "--out"));
    assert!(has("plan-on-pr.yml", "plan", "--detailed-exitcode"));
    assert!(has("apply-on-merge.yml", "apply", "--expect-hash"));
    assert!(has("apply-on-merge.yml", "apply", "--auto-approve"));
    assert!(has("drift.yml", "drift", "--report"));
    assert!(has("drift.yml", "drift", "--metrics"));
}

/// The extractor itself: it finds commands after shell boundaries, not a
/// crate name in `cargo install … paraform`, and the CLI check rejects a
/// command that does not exist.
#[test]
fn command_extraction_and_rejection() {
    let script = "cargo install --locked paraform\nif paraform plan \"$dir\" --format markdown >x.md; then echo; fi\n\
                  x && paraform drift \"$dir\" \\\n  --report r.md 2>err\n# paraform nothing\n";
    let cmds = paraform_commands(script);
    assert_eq!(
        cmds,
        vec![
            vec!["paraform", "plan", "networks/x", "--format", "markdown"],
            vec!["paraform", "drift", "networks/x", "--report", "r.md"],
        ]
    );
    for bad in [
        vec!["paraform", "deploy", "networks/x"],
        vec!["paraform", "plan", "networks/x", "--format", "yaml"],
        vec!["paraform", "apply", "networks/x", "--expect-digest", "00"],
    ] {
        assert!(
            Cli::command().try_get_matches_from(&bad).is_err(),
            "{bad:?}"
        );
    }
}
