//! Where the local provider keeps a network: `.paraform/<net>/`.
//!
//! ```text
//! .paraform/<net>/
//!   state.json  lock  lock.json          state store (src/state/local.rs)
//!   ports.json                           node → port slot (see ports.rs)
//!   workloads/<group>.json               applied spec + hash + generation + nodes
//!   nodes/<node>/data/                   --base-path (chain database)
//!   nodes/<node>/keystore/               --keystore-path
//!   nodes/<node>/node-key                ed25519 node key (hex), --node-key-file
//!   nodes/<node>/node.log                stdout + stderr of the process
//!   nodes/<node>/pid                     pid of the running process
//!   nodes/<node>/spec-hash               hash of the spec it was started with
//! ```
//!
//! The `.paraform` directory is `$PARAFORM_DIR` when set, else next to the
//! root of the git work tree holding the network directory, else in the
//! current directory (a network directory outside any repository).

use crate::spec::ids::{GroupName, NetworkName, NodeName};
use std::path::{Path, PathBuf};

/// The `.paraform` directory for a network directory (see module docs).
pub fn paraform_dir(net_dir: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("PARAFORM_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let abs = std::path::absolute(net_dir).unwrap_or_else(|_| net_dir.to_path_buf());
    if let Ok(repo) = git2::Repository::discover(&abs) {
        if let Some(workdir) = repo.workdir() {
            return workdir.join(".paraform");
        }
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.join(".paraform")
}

/// `.paraform/<net>/` for a network directory.
pub fn network_dir(net_dir: &Path, network: &NetworkName) -> PathBuf {
    paraform_dir(net_dir).join(network.as_str())
}

/// Paths of one network's local files.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// `root` is `.paraform/<net>/`; stored absolute so that processes and
    /// `/proc/<pid>/cmdline` checks see the same paths from any directory.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = std::path::absolute(&root).unwrap_or(root);
        Layout { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn workloads_dir(&self) -> PathBuf {
        self.root.join("workloads")
    }

    pub fn workload_record(&self, group: &GroupName) -> PathBuf {
        self.workloads_dir().join(format!("{group}.json"))
    }

    pub fn ports_file(&self) -> PathBuf {
        self.root.join("ports.json")
    }

    pub fn nodes_dir(&self) -> PathBuf {
        self.root.join("nodes")
    }

    pub fn node_dir(&self, node: &NodeName) -> PathBuf {
        self.nodes_dir().join(node.as_str())
    }

    pub fn base_path(&self, node: &NodeName) -> PathBuf {
        self.node_dir(node).join("data")
    }

    pub fn keystore(&self, node: &NodeName) -> PathBuf {
        self.node_dir(node).join("keystore")
    }

    pub fn node_key(&self, node: &NodeName) -> PathBuf {
        self.node_dir(node).join("node-key")
    }

    pub fn log(&self, node: &NodeName) -> PathBuf {
        self.node_dir(node).join("node.log")
    }

    pub fn pid(&self, node: &NodeName) -> PathBuf {
        self.node_dir(node).join("pid")
    }

    pub fn started_hash(&self, node: &NodeName) -> PathBuf {
        self.node_dir(node).join("spec-hash")
    }
}

/// Write `contents` to `path` atomically: temp file in the same directory,
/// fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
