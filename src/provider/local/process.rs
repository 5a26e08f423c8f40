//! Detached node processes: started in their own session (they outlive the
//! CLI and ignore its terminal's signals), found again through `/proc` by
//! the `--base-path` they were started with (so a process is only ever
//! considered ours when its command line names our directory).

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A running process found in `/proc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub args: Vec<String>,
}

impl Proc {
    /// The value of `--base-path` in its command line.
    pub fn base_path(&self) -> Option<&str> {
        let i = self.args.iter().position(|a| a == "--base-path")?;
        self.args.get(i + 1).map(String::as_str)
    }
}

/// Every live (non-zombie) process whose command line we can read.
pub fn scan() -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(p) = read_proc(pid) {
            out.push(p);
        }
    }
    out
}

/// One process, if it is alive and not a zombie.
pub fn read_proc(pid: u32) -> Option<Proc> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if raw.is_empty() || is_zombie(pid) {
        return None;
    }
    let args = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(Proc { pid, args })
}

fn is_zombie(pid: u32) -> bool {
    // /proc/<pid>/stat: "pid (comm) S …": the state follows the last ')'.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(true)
}

/// The live process started with `--base-path <base>`, if any.
pub fn find_by_base(procs: &[Proc], base: &Path) -> Option<u32> {
    let base = base.to_string_lossy();
    procs
        .iter()
        .find(|p| p.base_path() == Some(base.as_ref()))
        .map(|p| p.pid)
}

/// Whether `pid` is alive and was started with `--base-path <base>`.
pub fn is_ours(pid: u32, base: &Path) -> bool {
    read_proc(pid).is_some_and(|p| p.base_path() == Some(base.to_string_lossy().as_ref()))
}

/// Start `bin args…` in a new session with stdin closed and stdout/stderr
/// appended to `log`. A thread reaps it if it exits while we still run; the
/// process itself outlives us.
pub fn spawn_detached(
    bin: &Path,
    args: &[OsString],
    log: &Path,
    cwd: &Path,
) -> std::io::Result<u32> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(pid)
}

/// SIGTERM the process group of `pid` (the node and its PVF workers), wait
/// up to `grace`, then SIGKILL. Returns once the process is gone.
pub async fn stop(pid: u32, base: &Path, grace: Duration) -> bool {
    if !is_ours(pid, base) {
        return true;
    }
    signal_group(pid, libc::SIGTERM);
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline {
        if !is_ours(pid, base) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal_group(pid, libc::SIGKILL);
    for _ in 0..50 {
        if !is_ours(pid, base) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn signal_group(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: plain syscalls on a pid we verified is ours.
    unsafe {
        if libc::kill(-pid, sig) != 0 {
            libc::kill(pid, sig);
        }
    }
}

/// The last `n` lines of a log file (for start failures).
pub fn log_tail(log: &Path, n: usize) -> String {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_process_with_our_base_path_is_found_and_others_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("node-a");
        let log = dir.path().join("log");
        // The arguments after the script become $0, $1 …: they stay in cmdline.
        let args: Vec<OsString> = vec![
            "-c".into(),
            "sleep 30".into(),
            "sh".into(),
            "--base-path".into(),
            base.clone().into(),
        ];
        let pid = spawn_detached(Path::new("/bin/sh"), &args, &log, dir.path()).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // SAFETY: getsid on a pid we started.
        let sid = unsafe { libc::getsid(pid as libc::pid_t) };
        assert_eq!(sid, pid as libc::pid_t, "runs in its own session");
        let procs = scan();
        assert_eq!(find_by_base(&procs, &base), Some(pid));
        assert_eq!(find_by_base(&procs, &dir.path().join("node-b")), None);
        assert!(is_ours(pid, &base));
        assert!(!is_ours(pid, &dir.path().join("node-b")));
        assert!(stop(pid, &base, Duration::from_secs(5)).await);
        assert_eq!(find_by_base(&scan(), &base), None);
    }
}
