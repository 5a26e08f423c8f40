//! Loading a network directory (from disk, or from a git revision without
//! checking it out) into `Desired`: read every `*.toml` in name order, parse,
//! merge, validate, expand. All problems are collected into one `SpecErrors`.

use super::diagnostic::{Loc, SourceFile, SpecDiagnostic, SpecErrors};
use super::model::Desired;
use super::schema::RawFile;
use super::secrets::looks_like_secret;
use super::{expand, validate};
use std::path::{Component, Path, PathBuf};

/// A file of the network directory, parsed if it could be.
pub(crate) struct ParsedFile {
    pub file: SourceFile,
    pub raw: Option<RawFile>,
}

/// What the validator may ask of the place the files came from.
pub(crate) struct Origin<'a> {
    /// The directory as the user named it (for messages).
    pub dir_label: String,
    /// Whether a path relative to the network directory exists there.
    pub exists: &'a dyn Fn(&str) -> bool,
    /// The contents of such a path (local files only), for checks that look
    /// inside referenced files (a para chain spec's `para_id`).
    pub read: &'a dyn Fn(&str) -> Option<Vec<u8>>,
}

/// Load `dir/*.toml` (sorted by name) into a validated, expanded `Desired`.
/// When `dir` is inside a git checkout whose files under `dir` are all
/// committed, HEAD's commit id is recorded (best effort; never fails the load).
pub fn load_dir(dir: &Path) -> Result<Desired, SpecErrors> {
    let label = dir.display().to_string();
    let fail = |d: SpecDiagnostic| SpecErrors {
        dir: label.clone(),
        problems: vec![d],
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        fail(
            SpecDiagnostic::new(
                "io",
                format!("cannot read the network directory {label}: {e}"),
            )
            .help("pass the directory that holds the network's *.toml files, e.g. networks/local"),
        )
    })?;
    let mut names = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            names.push(entry.file_name());
        }
    }
    names.sort();
    let mut texts = Vec::new();
    for name in &names {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => texts.push((path, bytes)),
            Err(e) => {
                return Err(fail(SpecDiagnostic::new(
                    "io",
                    format!("cannot read {}: {e}", path.display()),
                )));
            }
        }
    }
    let base = dir.to_path_buf();
    let exists = |rel: &str| is_url(rel) || base.join(rel).exists();
    let read = |rel: &str| (!is_url(rel)).then(|| std::fs::read(base.join(rel)).ok())?;
    let origin = Origin {
        dir_label: label.clone(),
        exists: &exists,
        read: &read,
    };
    let mut desired = load_texts(texts, &origin)?;
    desired.source.dir = dir.to_path_buf();
    desired.source.commit = clean_head_commit(dir);
    Ok(desired)
}

/// Load the network directory `net_dir` as it is in git revision `rev` of the
/// repository at (or above) `repo_dir`, without touching the working tree.
/// `net_dir` is relative to the repository root, or an absolute path inside
/// its working directory. The commit id is recorded in `source.commit`.
pub fn load_git(repo_dir: &Path, rev: &str, net_dir: &Path) -> Result<Desired, SpecErrors> {
    let label = format!("{}@{rev}", net_dir.display());
    let fail = |d: SpecDiagnostic| SpecErrors {
        dir: label.clone(),
        problems: vec![d],
    };
    let git_err = |what: String, e: git2::Error| {
        fail(SpecDiagnostic::new(
            "git",
            format!("{what}: {}", e.message()),
        ))
    };
    let repo = git2::Repository::discover(repo_dir)
        .map_err(|e| git_err(format!("no git repository at {}", repo_dir.display()), e))?;
    let commit = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| git_err(format!("cannot resolve git revision `{rev}`"), e))?;
    let rel = repo_relative(&repo, repo_dir, net_dir);
    let root = commit
        .tree()
        .map_err(|e| git_err("cannot read the commit's tree".into(), e))?;
    let dir_tree = root
        .get_path(&rel)
        .and_then(|entry| entry.to_object(&repo))
        .and_then(|o| o.peel_to_tree())
        .map_err(|e| git_err(format!("{} is not a directory in {rev}", rel.display()), e))?;

    let mut entries: Vec<(String, git2::Oid)> = dir_tree
        .iter()
        .filter(|e| e.kind() == Some(git2::ObjectType::Blob))
        .filter_map(|e| e.name().map(|n| (n.to_string(), e.id())))
        .filter(|(n, _)| n.ends_with(".toml"))
        .collect();
    entries.sort();
    let mut texts = Vec::new();
    for (name, oid) in entries {
        let blob = repo
            .find_blob(oid)
            .map_err(|e| git_err(format!("cannot read {name} in {rev}"), e))?;
        texts.push((net_dir.join(&name), blob.content().to_vec()));
    }
    let exists = |p: &str| {
        if is_url(p) {
            return true;
        }
        if Path::new(p).is_absolute() {
            return Path::new(p).exists();
        }
        normalize(&rel.join(p)).is_some_and(|full| root.get_path(&full).is_ok())
    };
    let read = |p: &str| {
        if is_url(p) {
            return None;
        }
        if Path::new(p).is_absolute() {
            return std::fs::read(p).ok();
        }
        let entry = root.get_path(&normalize(&rel.join(p))?).ok()?;
        Some(repo.find_blob(entry.id()).ok()?.content().to_vec())
    };
    let origin = Origin {
        dir_label: label.clone(),
        exists: &exists,
        read: &read,
    };
    let mut desired = load_texts(texts, &origin)?;
    desired.source.dir = net_dir.to_path_buf();
    desired.source.commit = Some(commit.id().to_string());
    Ok(desired)
}

/// Parse, validate and expand the given files (already in load order).
fn load_texts(texts: Vec<(PathBuf, Vec<u8>)>, origin: &Origin<'_>) -> Result<Desired, SpecErrors> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    let mut paths = Vec::new();
    for (path, bytes) in texts {
        let name = path.display().to_string();
        paths.push(path);
        let Ok(text) = String::from_utf8(bytes) else {
            problems.push(SpecDiagnostic::new(
                "io",
                format!("{name} is not UTF-8 text"),
            ));
            continue;
        };
        files.push(parse_file(name, &text, &mut problems));
    }
    if files.is_empty() && problems.is_empty() {
        problems.push(
            SpecDiagnostic::new(
                "no_files",
                format!("no *.toml files in {}", origin.dir_label),
            )
            .help("a network directory holds at least one TOML file with [network] and [relay]"),
        );
    }
    let parse_failed = !problems.is_empty();
    let merged = if files.is_empty() {
        None
    } else {
        validate::check(&files, origin, parse_failed, &mut problems)
    };
    if problems.is_empty() {
        if let Some(mut d) = merged.as_ref().and_then(expand::expand) {
            d.source.files = paths;
            return Ok(d);
        }
        problems.push(SpecDiagnostic::new(
            "internal",
            "the desired state passed validation but could not be expanded; please report this",
        ));
    }
    validate::sort(&mut problems);
    Err(SpecErrors {
        dir: origin.dir_label.clone(),
        problems,
    })
}

/// Parse one file. The text kept for reports has inline secrets masked.
fn parse_file(name: String, text: &str, problems: &mut Vec<SpecDiagnostic>) -> ParsedFile {
    let (masked, secrets) = mask_secrets(text);
    let file = SourceFile::new(name, masked);
    let raw = match toml::from_str::<RawFile>(text) {
        Ok(raw) => Some(raw),
        Err(e) => {
            // serde names Rust types; say what the user writes instead.
            let mut message = e
                .message()
                .trim()
                .replace("expected i64", "expected an integer")
                .replace("expected u64", "expected an integer");
            for s in &secrets {
                message = message.replace(s.as_str(), "***");
            }
            let (rule, help) = classify(&message);
            let span = e.span().unwrap_or(0..0);
            let first_line = message.lines().next().unwrap_or("invalid TOML").to_string();
            let label = match rule {
                "unknown_field" => "not a field of this table".to_string(),
                "bad_value" => "not one of the allowed values".to_string(),
                // "invalid type: string \"two\", expected i64" → "expected i64"
                "wrong_type" => first_line
                    .rsplit(", ")
                    .next()
                    .unwrap_or(&first_line)
                    .to_string(),
                _ => first_line.clone(),
            };
            problems.push(
                SpecDiagnostic::new(rule, first_line)
                    .at(Loc::new(&file, span), label)
                    .help(help),
            );
            None
        }
    };
    ParsedFile { file, raw }
}

fn classify(message: &str) -> (&'static str, &'static str) {
    if message.contains("unknown field") {
        (
            "unknown_field",
            "check the spelling; docs/desired-state.md lists every field of every table",
        )
    } else if message.contains("unknown variant") {
        ("bad_value", "use one of the listed values")
    } else if message.contains("invalid type") || message.contains("invalid value") {
        (
            "wrong_type",
            "docs/desired-state.md gives each field's type and an example",
        )
    } else if message.contains("missing field") {
        (
            "missing_field",
            "add the field; docs/desired-state.md says which fields are required",
        )
    } else if message.contains("duplicate key") {
        ("duplicate_key", "a key may appear once per table")
    } else {
        ("syntax", "this is not valid TOML (https://toml.io)")
    }
}

/// Mask (with `*`, keeping byte offsets) every quoted string that looks like a
/// key, so that no snippet of a report can print one. Returns the masked text
/// and the masked values (to scrub them from parser messages too).
fn mask_secrets(text: &str) -> (String, Vec<String>) {
    let mut out = text.as_bytes().to_vec();
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let q = bytes[i];
        if q == b'#' {
            // A comment: mask key-like words in it too.
            let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            for (start, word) in words(&text[i..end]) {
                if looks_like_secret(word) {
                    found.push(word.to_string());
                    out[i + start..i + start + word.len()].fill(b'*');
                }
            }
            i = end;
            continue;
        }
        if q == b'"' || q == b'\'' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != q && bytes[j] != b'\n' {
                if q == b'"' && bytes[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            let end = j.min(bytes.len());
            if let Some(inner) = text.get(i + 1..end) {
                if looks_like_secret(inner) {
                    found.push(inner.to_string());
                    out[i + 1..end].fill(b'*');
                }
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    // Only ASCII `*` replaced whole UTF-8 sequences, so this cannot fail; fall
    // back to a fully masked text rather than panicking.
    let masked = String::from_utf8(out).unwrap_or_else(|_| "*".repeat(text.len()));
    (masked, found)
}

/// Whitespace-separated words with their byte offsets.
fn words(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split_whitespace()
        .map(move |w| (w.as_ptr() as usize - s.as_ptr() as usize, w))
}

pub(crate) fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Lexically resolve `.` and `..` (git trees have no symlinked dirs to follow).
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// `net_dir` relative to the repository root: absolute paths and paths
/// relative to `repo_dir` are mapped into the work tree when possible.
fn repo_relative(repo: &git2::Repository, repo_dir: &Path, net_dir: &Path) -> PathBuf {
    if let Some(workdir) = repo.workdir() {
        let joined = repo_dir.join(net_dir);
        let candidates = [
            std::path::absolute(&joined).ok(),
            std::fs::canonicalize(&joined).ok(),
        ];
        let roots = [
            std::path::absolute(workdir).ok(),
            std::fs::canonicalize(workdir).ok(),
        ];
        for c in candidates.iter().flatten() {
            for r in roots.iter().flatten() {
                if let Ok(rel) = c.strip_prefix(r) {
                    if let Some(n) = normalize(rel) {
                        return n;
                    }
                }
            }
        }
    }
    normalize(net_dir).unwrap_or_else(|| net_dir.to_path_buf())
}

/// HEAD's commit when every file under `dir` is committed; `None` otherwise
/// or when `dir` is not in a git work tree.
fn clean_head_commit(dir: &Path) -> Option<String> {
    let repo = git2::Repository::discover(dir).ok()?;
    let workdir = std::fs::canonicalize(repo.workdir()?).ok()?;
    let rel = std::fs::canonicalize(dir)
        .ok()?
        .strip_prefix(&workdir)
        .ok()?
        .to_path_buf();
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    if !rel.as_os_str().is_empty() {
        opts.pathspec(&rel);
    }
    let statuses = repo.statuses(Some(&mut opts)).ok()?;
    if !statuses.is_empty() {
        return None;
    }
    let head = repo.head().ok()?.peel_to_commit().ok()?;
    Some(head.id().to_string())
}
