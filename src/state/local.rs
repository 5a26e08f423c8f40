//! Local state backend: `.paraform/<net>/state.json` (atomic writes) and an
//! `fd-lock` (flock) lock file `.paraform/<net>/lock` whose holder is described
//! in `lock.json`.
//!
//! The kernel releases the flock when the holder exits, however it exits, so
//! a crashed apply never leaves the network locked; `lock.json` then merely
//! names the last holder. `force-unlock` (for a holder that hangs) removes the
//! lock file: the hung process keeps a lock on a file that no longer has a
//! name, and the next apply locks a fresh one.

use super::{LockGuard, LockInfo, State, StateError, StateStore, STATE_FORMAT};
use crate::provider::local::layout::write_atomic;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

pub struct LocalStateStore {
    root: PathBuf,
    network: String,
}

impl LocalStateStore {
    /// `root` is `.paraform/<net>/`.
    pub fn new(root: impl Into<PathBuf>, network: impl Into<String>) -> Self {
        LocalStateStore {
            root: root.into(),
            network: network.into(),
        }
    }

    fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }
    fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }
    fn lock_json(&self) -> PathBuf {
        self.root.join("lock.json")
    }

    fn io<'p>(
        what: &'static str,
        path: &'p Path,
    ) -> impl FnOnce(std::io::Error) -> StateError + 'p {
        move |source| StateError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    fn read_lock_json(&self) -> Option<LockInfo> {
        std::fs::read(self.lock_json())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Whether someone holds the flock right now (probe with a shared try-lock).
    fn held(&self) -> Result<bool, StateError> {
        let path = self.lock_file();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Self::io("cannot open", &path)(e)),
        };
        let mut l = fd_lock::RwLock::new(file);
        let free = l.try_write().is_ok();
        Ok(!free)
    }

    fn try_lock(&self, info: &LockInfo) -> Result<LocalLock, StateError> {
        std::fs::create_dir_all(&self.root).map_err(Self::io("cannot create", &self.root))?;
        let path = self.lock_file();
        for _ in 0..3 {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(Self::io("cannot open", &path))?;
            let opened = file.metadata().map_err(Self::io("cannot stat", &path))?;
            let mut lock = Box::new(fd_lock::RwLock::new(file));
            match lock.try_write() {
                Ok(guard) => {
                    // Keep the flock for as long as the file stays open (it
                    // is released when `lock` is dropped and the fd closes).
                    std::mem::forget(guard);
                }
                Err(_) => {
                    return Err(StateError::Locked {
                        network: self.network.clone(),
                        holder: self.read_lock_json(),
                    })
                }
            }
            // A force-unlock may have removed the file between open and lock:
            // then we locked a nameless file; try again on the new one.
            let same = std::fs::metadata(&path)
                .is_ok_and(|a| a.ino() == opened.ino() && a.dev() == opened.dev());
            if !same {
                continue;
            }
            let json = serde_json::to_vec_pretty(info).map_err(|e| StateError::Corrupt {
                path: self.lock_json(),
                reason: e.to_string(),
            })?;
            let lj = self.lock_json();
            write_atomic(&lj, &json).map_err(Self::io("cannot write", &lj))?;
            return Ok(LocalLock {
                _file: lock,
                info: info.clone(),
                lock_json: lj,
            });
        }
        Err(StateError::Locked {
            network: self.network.clone(),
            holder: self.read_lock_json(),
        })
    }
}

/// The held lock: the open, flocked file.
struct LocalLock {
    _file: Box<fd_lock::RwLock<File>>,
    info: LockInfo,
    lock_json: PathBuf,
}

impl LockGuard for LocalLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for LocalLock {
    fn drop(&mut self) {
        // Only remove the holder info if it is still ours.
        let ours = std::fs::read(&self.lock_json)
            .ok()
            .and_then(|b| serde_json::from_slice::<LockInfo>(&b).ok())
            .is_some_and(|i| i.id == self.info.id);
        if ours {
            let _ = std::fs::remove_file(&self.lock_json);
        }
    }
}

#[async_trait::async_trait]
impl StateStore for LocalStateStore {
    async fn lock(&self, info: LockInfo) -> Result<Box<dyn LockGuard>, StateError> {
        Ok(Box::new(self.try_lock(&info)?))
    }

    async fn lock_status(&self) -> Result<Option<LockInfo>, StateError> {
        if !self.held()? {
            return Ok(None);
        }
        Ok(Some(self.read_lock_json().unwrap_or(LockInfo {
            id: "unknown".into(),
            operation: "unknown".into(),
            user: "unknown".into(),
            host: "unknown".into(),
            pid: 0,
            command: String::new(),
            commit: None,
            started_unix: 0,
        })))
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StateError> {
        let current = self.read_lock_json();
        match &current {
            Some(c) if c.id == id => {}
            _ => {
                return Err(StateError::WrongLockId {
                    given: id.to_string(),
                    current,
                })
            }
        }
        for p in [self.lock_file(), self.lock_json()] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Self::io("cannot remove", &p)(e)),
            }
        }
        Ok(current.unwrap_or_else(|| unreachable_info(id)))
    }

    async fn load(&self) -> Result<State, StateError> {
        let path = self.state_file();
        match std::fs::read(&path) {
            Ok(b) => {
                let s: State = serde_json::from_slice(&b).map_err(|e| StateError::Corrupt {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                if s.format != STATE_FORMAT {
                    return Err(StateError::Corrupt {
                        path,
                        reason: format!(
                            "state format {} (this paraform reads {STATE_FORMAT})",
                            s.format
                        ),
                    });
                }
                Ok(s)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::new()),
            Err(e) => Err(Self::io("cannot read", &path)(e)),
        }
    }

    async fn save(&self, state: &State) -> Result<(), StateError> {
        let path = self.state_file();
        let json = serde_json::to_vec_pretty(state).map_err(|e| StateError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, &json).map_err(Self::io("cannot write", &path))
    }
}

// `force_unlock` matched `Some(c)` above; this only satisfies the types.
fn unreachable_info(id: &str) -> LockInfo {
    LockInfo {
        id: id.to_string(),
        operation: String::new(),
        user: String::new(),
        host: String::new(),
        pid: 0,
        command: String::new(),
        commit: None,
        started_unix: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::StepId;
    use crate::state::JournalStatus;

    fn info(op: &str) -> LockInfo {
        LockInfo::for_this_process(op, Some("abc123".into()))
    }

    #[tokio::test]
    async fn second_lock_fails_naming_the_holder_and_drop_releases() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStateStore::new(dir.path(), "net");
        let first = info("apply");
        let g = s.lock(first.clone()).await.unwrap();
        let err = s
            .lock(info("apply"))
            .await
            .err()
            .expect("second lock must fail");
        match &err {
            StateError::Locked {
                holder: Some(h), ..
            } => assert_eq!(h.id, first.id),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains(&first.id));
        assert_eq!(
            s.lock_status().await.unwrap().map(|i| i.id),
            Some(first.id.clone())
        );
        drop(g);
        assert_eq!(s.lock_status().await.unwrap(), None);
        s.lock(info("apply")).await.unwrap();
    }

    #[tokio::test]
    async fn force_unlock_needs_the_id_and_frees_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStateStore::new(dir.path(), "net");
        let first = info("apply");
        let _hung = s.lock(first.clone()).await.unwrap();
        assert!(matches!(
            s.force_unlock("nope").await,
            Err(StateError::WrongLockId { .. })
        ));
        assert_eq!(s.force_unlock(&first.id).await.unwrap().id, first.id);
        let second = s
            .lock(info("apply"))
            .await
            .expect("lock after force-unlock");
        assert_eq!(
            s.lock_status().await.unwrap().map(|i| i.id),
            Some(second.info().id.clone())
        );
    }

    #[tokio::test]
    async fn state_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStateStore::new(dir.path(), "net");
        assert_eq!(s.load().await.unwrap(), State::new());
        let mut st = State::new();
        st.dirty = true;
        st.entry_mut(&StepId("keys.v-0".into()), "set keys").status = JournalStatus::Submitted;
        s.save(&st).await.unwrap();
        assert_eq!(s.load().await.unwrap(), st);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::write(dir.path().join("state.json"), b"{not json").unwrap();
        assert!(matches!(s.load().await, Err(StateError::Corrupt { .. })));
    }
}
