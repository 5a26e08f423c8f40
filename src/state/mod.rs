//! State and lock of a network: who is applying now, what was last applied,
//! and the journal of in-flight steps that lets a crashed apply resume
//! without submitting anything twice. Backends: [`local`] (files under
//! `.paraform/<net>/`); a Kubernetes Lease backend implements the same trait.

pub mod kubernetes;
pub mod local;

use crate::chain::submit::SubmissionRecord;
use crate::plan::StepId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const STATE_FORMAT: u32 = 1;

/// Who holds (or held) the lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random id; `paraform lock force-unlock <id>` names it.
    pub id: String,
    /// `apply`, `destroy`, …
    pub operation: String,
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// The command line.
    pub command: String,
    /// Git commit of the desired state being applied, when known.
    pub commit: Option<String>,
    /// Seconds since the Unix epoch.
    pub started_unix: u64,
}

impl LockInfo {
    /// Info for this process.
    pub fn for_this_process(operation: &str, commit: Option<String>) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let pid = std::process::id();
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .or_else(user_from_passwd)
            .unwrap_or_else(|| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        // Unique enough for a lock id: time, pid and a hash of both with the host.
        let id = {
            use sha2::{Digest, Sha256};
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let h = Sha256::digest(format!("{host}/{pid}/{nanos}").as_bytes());
            hex::encode(&h[..8])
        };
        LockInfo {
            id,
            operation: operation.into(),
            user,
            host,
            pid,
            command,
            commit,
            started_unix: now,
        }
    }

    /// `apply by alice@ci-7 (pid 4242) since 2025-…, commit abc123, id …`
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} by {}@{} (pid {}) since {}",
            self.operation,
            self.user,
            self.host,
            self.pid,
            format_unix(self.started_unix)
        );
        if let Some(c) = &self.commit {
            s.push_str(&format!(", commit {}", &c[..c.len().min(12)]));
        }
        s.push_str(&format!(", lock id {}", self.id));
        s
    }
}

/// The name of this process's uid in /etc/passwd.
fn user_from_passwd() -> Option<String> {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() }.to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.get(2) == Some(&uid.as_str())).then(|| f[0].to_string())
    })
}

/// `YYYY-MM-DD HH:MM:SS UTC` without a date crate.
pub fn format_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalStatus {
    /// The step began; nothing submitted yet.
    Started,
    /// A transaction was signed and (maybe) sent: see `submissions`.
    Submitted,
    /// Finalized and successful (or found already in effect).
    Done,
    Failed,
}

/// One step's progress, written before and after every effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub step: StepId,
    /// What the step does, for humans (`Session.set_keys for validator-0`).
    pub intent: String,
    /// Every transaction signed for this step, in order.
    #[serde(default)]
    pub submissions: Vec<SubmissionRecord>,
    pub status: JournalStatus,
    /// Values known after apply, resolved while the step ran (e.g. the
    /// session keys a node generated), so a resumed step reuses them.
    #[serde(default)]
    pub resolved: BTreeMap<String, String>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    pub last_applied_commit: Option<String>,
    /// Content digest of the last plan applied successfully.
    pub last_plan_hash: Option<String>,
    pub last_applied_unix: Option<u64>,
    /// In-flight and recent steps of the current (or last, crashed) apply.
    #[serde(default)]
    pub journal: Vec<JournalEntry>,
    /// The last apply failed or was interrupted.
    #[serde(default)]
    pub dirty: bool,
    #[serde(default)]
    pub dirty_reason: Option<String>,
}

impl State {
    pub fn new() -> Self {
        State {
            format: STATE_FORMAT,
            ..Default::default()
        }
    }

    /// Nothing in flight, nothing failed (an apply with nothing to do, a
    /// completed destroy).
    pub fn mark_clean(&mut self) {
        self.dirty = false;
        self.dirty_reason = None;
        self.journal.clear();
    }

    /// A successful apply of the plan with content digest `plan_hash`.
    pub fn mark_applied(&mut self, commit: Option<String>, plan_hash: String, unix: u64) {
        self.mark_clean();
        self.last_applied_commit = commit;
        self.last_plan_hash = Some(plan_hash);
        self.last_applied_unix = Some(unix);
    }

    /// A failed or interrupted apply: the journal stays for the next run.
    pub fn mark_dirty(&mut self, reason: String) {
        self.dirty = true;
        self.dirty_reason = Some(reason);
    }

    pub fn entry(&self, step: &StepId) -> Option<&JournalEntry> {
        self.journal.iter().find(|e| &e.step == step)
    }

    pub fn entry_mut(&mut self, step: &StepId, intent: &str) -> &mut JournalEntry {
        if let Some(i) = self.journal.iter().position(|e| &e.step == step) {
            return &mut self.journal[i];
        }
        self.journal.push(JournalEntry {
            step: step.clone(),
            intent: intent.to_string(),
            submissions: Vec::new(),
            status: JournalStatus::Started,
            resolved: BTreeMap::new(),
            error: None,
        });
        let last = self.journal.len() - 1;
        &mut self.journal[last]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the network {network} is locked: {}", holder.as_ref().map(|h| h.describe()).unwrap_or_else(|| "by an unknown process (no lock info)".into()))]
    Locked {
        network: String,
        holder: Option<LockInfo>,
    },
    #[error("the lock id {given} does not match the current lock ({})", current.as_ref().map(|c| c.id.as_str()).unwrap_or("none"))]
    WrongLockId {
        given: String,
        current: Option<LockInfo>,
    },
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt state {}: {reason}", path.display())]
    Corrupt {
        path: std::path::PathBuf,
        reason: String,
    },
    /// This process no longer holds the lock it took (its lease expired or
    /// was taken over): it must not write (fencing).
    #[error("the lock on {network} was lost: {reason}; nothing was written")]
    Fenced { network: String, reason: String },
    /// A state backend service (the Kubernetes API) failed.
    #[error("{what}: {reason}")]
    Backend { what: String, reason: String },
}

/// A held lock; dropping it releases the lock.
pub trait LockGuard: Send + Sync {
    fn info(&self) -> &LockInfo;
}

#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    /// Take the network's lock or fail with [`StateError::Locked`] naming the holder.
    async fn lock(&self, info: LockInfo) -> Result<Box<dyn LockGuard>, StateError>;
    /// The current holder, if the lock is held.
    async fn lock_status(&self) -> Result<Option<LockInfo>, StateError>;
    /// Break the lock held under `id` (break-glass).
    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError>;
    async fn load(&self) -> Result<State, StateError>;
    /// Atomic: a crash leaves the old or the new state, never a torn one.
    async fn save(&self, state: &State) -> Result<(), StateError>;
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_unix(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_unix(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_unix(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
