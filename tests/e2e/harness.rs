//! The e2e harness: a copy of networks/local in a temp dir, the paraform
//! binary run as a user would (env secrets, a port base), and read-back of
//! the real chain.

use paraform::chain::client::{ChainClient, ConnectOptions};
use paraform::chain::keys;
use paraform::chain::read;
use paraform::observe::model::ChainState;
use paraform::spec::ids::AccountId;
use paraform::state::LockInfo;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::NetDir;

pub const ROOT: &str = "//paraform-e2e";

pub struct Run {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!(
            "exit {:?} signal {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.signal, self.stdout, self.stderr
        )
    }
}

pub struct Net {
    transcript: std::cell::RefCell<String>,
    net: NetDir,
}

impl Net {
    pub fn new() -> Self {
        Net {
            transcript: Default::default(),
            net: NetDir::copy("local", |_| true),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.net.path().join(".paraform/local")
    }

    fn command(&self, args: &[&str], crash: Option<&str>) -> Command {
        let mut c = self.net.paraform(ROOT, args);
        c.env("PARAFORM_HEALTH_TIMEOUT_SECS", "240")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(c2) = crash {
            c.env("PARAFORM_TEST_CRASH_AFTER", c2);
        }
        c
    }

    pub fn run(&self, args: &[&str], crash: Option<&str>) -> Run {
        let out = self.command(args, crash).output().expect("run paraform");
        let r = Run {
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        eprintln!(
            "[e2e] paraform {} (crash={crash:?}) → {:?}/{:?}",
            args.join(" "),
            r.code,
            r.signal
        );
        self.log(
            &format!("paraform {} (crash={crash:?})", args.join(" ")),
            &r,
        );
        r
    }

    /// Every run's output, kept after the test (the temp dir is removed).
    pub fn log(&self, what: &str, r: &Run) {
        use std::io::Write as _;
        self.transcript
            .borrow_mut()
            .push_str(&format!("===== {what}\n{}\n", r.all()));
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-paraform.log");
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            let _ = writeln!(f, "===== {what}\n{}", r.all());
        }
    }

    /// Output of every paraform run so far.
    pub fn transcript(&self) -> String {
        self.transcript.borrow().clone()
    }

    pub fn spawn_apply(&self, crash: Option<&str>) -> Child {
        self.command(&["apply", "net", "--auto-approve"], crash)
            .spawn()
            .expect("spawn paraform")
    }

    pub fn finish(&self, child: Child, timeout: Duration) -> Run {
        let deadline = Instant::now() + timeout;
        let mut child = child;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let out = child.wait_with_output().expect("wait");
        let r = Run {
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.log("spawned apply", &r);
        r
    }

    pub fn wait_for_lock_holder(&self, timeout: Duration) -> LockInfo {
        let path = self.root().join("lock.json");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(info) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<LockInfo>(&b).ok())
            {
                return info;
            }
            assert!(
                Instant::now() < deadline,
                "no lock holder appeared in {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_until(&self, timeout: Duration, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !f() {
            assert!(
                Instant::now() < deadline,
                "condition not met within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn base_path(&self, node: &str) -> String {
        self.root()
            .join("nodes")
            .join(node)
            .join("data")
            .to_string_lossy()
            .into_owned()
    }

    pub fn cmdline(&self, pid: u32) -> String {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default()
    }

    /// The pid of the node's process, if one runs with its base path.
    pub fn node_pid(&self, node: &str) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.root().join("nodes").join(node).join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
        (!zombie
            && self
                .cmdline(pid)
                .contains(&format!("--base-path {} ", self.base_path(node))))
        .then_some(pid)
    }

    pub fn node_running(&self, node: &str) -> bool {
        self.node_pid(node).is_some()
    }

    pub fn state_json(&self) -> String {
        std::fs::read_to_string(self.root().join("state.json")).unwrap_or_default()
    }

    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let p = self.net.path().join("net").join(file);
        let s = std::fs::read_to_string(&p).expect("read");
        assert!(s.contains(from), "{file} does not contain {from:?}");
        std::fs::write(&p, s.replacen(from, to, 1)).expect("write");
    }

    pub fn account(&self, suri: &str) -> AccountId {
        keys::account(&SecretString::from(suri.to_string()), "test").expect("account")
    }

    pub fn stashes(&self, nodes: &[&str]) -> Vec<AccountId> {
        let root = SecretString::from(ROOT.to_string());
        nodes
            .iter()
            .map(|n| keys::account(&keys::stash_suri(&root, n), "test").expect("stash"))
            .collect()
    }

    /// A client of the relay chain through rpc-0 (its port from ports.json).
    pub fn chain(&self) -> Chain {
        let ports: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.root().join("ports.json")).expect("ports.json"),
        )
        .expect("json");
        let base = ports["base"].as_u64().expect("base") as u16;
        let slot = ports["slots"]["rpc-0"].as_u64().expect("rpc-0 slot") as u16;
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let endpoint = format!("ws://127.0.0.1:{}", base + 5 * slot);
        let client = rt
            .block_on(ChainClient::connect(&endpoint, &ConnectOptions::default()))
            .expect("connect rpc-0");
        Chain {
            rt,
            client,
            endpoint,
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Stop every process started under this temp dir, whatever happened.
        let marker = self.net.path().to_string_lossy().into_owned();
        if let Ok(d) = std::fs::read_dir("/proc") {
            for e in d.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                if self.cmdline(pid).contains(&marker) {
                    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                }
            }
        }
    }
}

pub struct Chain {
    rt: tokio::runtime::Runtime,
    client: ChainClient,
    #[allow(dead_code)]
    endpoint: String,
}

impl Chain {
    pub fn relay(&self) -> ChainState {
        self.rt
            .block_on(read::observe_relay(&self.client, &[]))
            .expect("observe relay")
    }

    /// Every signed extrinsic of the chain so far (finalized blocks), as
    /// (block number, signer, `Pallet.call`).
    pub fn signed_extrinsics(&self) -> Vec<(u64, AccountId, String)> {
        self.rt.block_on(async {
            let fin = self.client.finalized_head().await.expect("finalized head");
            let mut out = Vec::new();
            let mut hash = fin;
            loop {
                let block = self.client.api().blocks().at(hash).await.expect("block");
                let number = block.number() as u64;
                for ext in block.extrinsics().await.expect("extrinsics").iter() {
                    let Some(addr) = ext.address_bytes() else {
                        continue;
                    };
                    // MultiAddress::Id: variant 0 then 32 bytes.
                    if addr.len() == 33 && addr[0] == 0 {
                        let mut a = [0u8; 32];
                        a.copy_from_slice(&addr[1..]);
                        let name = format!(
                            "{}.{}",
                            ext.pallet_name().unwrap_or("?"),
                            ext.variant_name().unwrap_or("?")
                        );
                        out.push((number, AccountId(a), name));
                    }
                }
                if number == 0 {
                    break;
                }
                hash = block.header().parent_hash;
            }
            out.reverse();
            out
        })
    }

    pub fn nonces(&self, accounts: &[AccountId]) -> BTreeMap<AccountId, u32> {
        self.rt
            .block_on(read::observe_relay_detailed(&self.client, accounts))
            .expect("observe relay")
            .1
            .nonces
    }
}
