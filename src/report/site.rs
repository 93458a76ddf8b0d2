//! Writing the site safely: which folder may be replaced, and the swap.
//!
//! A build fills a temporary folder beside the output and swaps it in with
//! one atomic exchange (Linux `renameat2(RENAME_EXCHANGE)`), so a kill at
//! any moment leaves either the old or the new complete site. Only a folder
//! that is empty, missing, or marked as a netledger site ([`MARKER`]) is ever
//! replaced, and never one that is or holds the project's own inputs.
//! Builds into the same parent folder take turns under one lock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::parallel::in_parallel;
use crate::error::{Error, Result};

/// File written at the top of every site: a folder holding it may be replaced.
pub const MARKER: &str = ".netledger-site";

/// What the marker file says (fixed, so sites stay byte-identical).
const MARKER_TEXT: &str =
    "This folder was written by `netledger build` and is replaced whole by the next build.\n";

/// How long a build waits for another build of the same folder to finish.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// Where a site may be written, and whether an unmarked folder may be replaced.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The folder to (re)place.
    pub out: &'a Path,
    /// Folders the build reads: `out` must neither be, hold, nor lie inside one.
    pub inputs: &'a [&'a Path],
    /// Replace a non-empty folder that has no marker (its files are deleted).
    pub force: bool,
}

fn refuse(message: String) -> Error {
    Error::Render {
        message,
        span: None,
        location: None,
    }
}

/// Writes `files` (relative path -> bytes) as the folder `target.out`,
/// atomically replacing it, and returns the paths of the files that were
/// unchanged since the previous site (see `reuse`).
pub fn write(target: &Target, files: &BTreeMap<String, Vec<u8>>) -> Result<BTreeSet<String>> {
    let out = target.out;
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| {
            refuse(format!(
                "output folder `{}` needs a plain name as its last part",
                out.display()
            ))
        })?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io("create folder", &parent, e))?;
    check_inputs(out, &parent, name, target.inputs)?;
    let _lock = DirLock::acquire(&parent, out)?;
    check_replaceable(out, target.force)?;
    remove_stale(&parent, name);

    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.building-{pid}"));
    let previous = (out.is_dir() && is_ours(out)).then_some(out);
    let result =
        fill(&tmp, files, previous).and_then(|kept| swap(&tmp, out, &parent, name).map(|()| kept));
    if result.is_err() && tmp.is_dir() && is_ours(&tmp) {
        let _ = remove_site(&tmp);
    }
    result
}

/// `out` must not be, contain, or lie inside a folder the build reads.
fn check_inputs(out: &Path, parent: &Path, name: &str, inputs: &[&Path]) -> Result<()> {
    let Ok(parent) = parent.canonicalize() else {
        return Ok(());
    };
    let resolved = out.canonicalize().unwrap_or_else(|_| parent.join(name));
    for input in inputs {
        let Ok(input_abs) = input.canonicalize() else {
            continue;
        };
        let clash = if input_abs.starts_with(&resolved) {
            Some("is or contains")
        } else if resolved.starts_with(&input_abs) {
            Some("lies inside")
        } else {
            None
        };
        if let Some(how) = clash {
            return Err(refuse(format!(
                "refusing to write the site into `{}`: it {how} `{}`, which the build reads\n  = hint: choose another --out, e.g. `--out site`",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// Only a missing or empty folder, a previous site, or (forced) any folder may be replaced.
fn check_replaceable(out: &Path, force: bool) -> Result<()> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("inspect", out, e)),
    };
    if !meta.is_dir() {
        return Err(refuse(format!(
            "refusing to replace `{}`: it is {}, not a folder",
            out.display(),
            if meta.file_type().is_symlink() {
                "a symbolic link"
            } else {
                "a file"
            }
        )));
    }
    let empty = std::fs::read_dir(out)
        .map_err(|e| Error::io("read folder", out, e))?
        .next()
        .is_none();
    if empty || is_ours(out) || force {
        return Ok(());
    }
    Err(refuse(format!(
        "refusing to replace `{}`: it is not empty and holds no `{MARKER}` file, so it is not a site that netledger wrote\n  = hint: pick an empty or new folder, or pass --force to delete its contents and write the site there",
        out.display()
    )))
}

/// True when `dir` is a site netledger wrote (or began to write).
fn is_ours(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file())
}

/// Removes temporary folders of this output left by killed builds.
///
/// Called under the lock, so no live build of this output owns one. Only
/// folders that are empty or carry the marker are removed.
fn remove_stale(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let prefixes = [format!(".{name}.building-"), format!(".{name}.previous-")];
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let Some(pid) = prefixes
            .iter()
            .find_map(|p| file_name.strip_prefix(p.as_str()))
        else {
            continue;
        };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let path = entry.path();
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        let empty = std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none());
        if is_dir && (empty || is_ours(&path)) {
            if empty {
                let _ = std::fs::remove_dir(&path);
            } else {
                let _ = remove_site(&path);
            }
        }
    }
}

/// Threads that write (and delete) the site's files: file creation, not
/// bandwidth, is what a big site waits for, and it overlaps well.
const WRITERS: usize = 4;

/// Fills `tmp` with `files`; a file whose bytes equal the one at the same
/// path in `previous` (the site being replaced) is linked, not written.
fn fill(
    tmp: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    previous: Option<&Path>,
) -> Result<BTreeSet<String>> {
    std::fs::create_dir(tmp).map_err(|e| Error::io("create folder", tmp, e))?;
    // The marker first: a half-filled folder left by a kill is recognisably ours.
    let marker = tmp.join(MARKER);
    std::fs::write(&marker, MARKER_TEXT).map_err(|e| Error::io("write", &marker, e))?;
    let mut made = std::collections::BTreeSet::new();
    let mut jobs = Vec::with_capacity(files.len());
    for (rel, bytes) in files {
        if rel == MARKER || rel.split('/').any(|part| part.is_empty() || part == "..") {
            return Err(refuse(format!(
                "refusing to write outside the site: `{rel}`"
            )));
        }
        let path = tmp.join(rel);
        if let Some(dir) = path.parent() {
            if made.insert(dir.to_path_buf()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
            }
        }
        jobs.push((rel, path, bytes.as_slice()));
    }
    // Folders exist; the files are written by a few threads.
    let kept = in_parallel(&jobs, WRITERS, |(rel, path, bytes)| {
        if previous.is_some_and(|old| reuse(&old.join(rel), bytes, path)) {
            return Ok(true);
        }
        std::fs::write(path, bytes).map_err(|e| Error::io("write", path, e))?;
        Ok(false)
    })?;
    Ok(jobs
        .iter()
        .zip(kept)
        .filter(|(_, kept)| *kept)
        .map(|((rel, _, _), _)| (*rel).clone())
        .collect())
}

/// Links `old` (a file of the site being replaced) as `new` when it holds
/// exactly `bytes`, and says whether it did.
///
/// A rebuild mostly produces the files it produced before. A link costs a
/// folder entry, where a write also allocates an inode and data blocks and
/// later deletes the old copy's: on a busy disk that is 3 to 30 times
/// slower. The old site is only read, never changed, so a kill at any
/// moment still leaves it whole. Only a plain file with no other name is
/// linked (never a symbolic link, nor a file also linked from elsewhere),
/// and any failure (another file system, a refused link) falls back to
/// writing. The output lock keeps other builds from changing `old` between
/// the comparison and the link.
#[cfg(unix)]
fn reuse(old: &Path, bytes: &[u8], new: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let same_size = std::fs::symlink_metadata(old)
        .is_ok_and(|m| m.is_file() && m.nlink() == 1 && m.len() == bytes.len() as u64);
    same_size
        && std::fs::read(old).is_ok_and(|held| held == bytes)
        && std::fs::hard_link(old, new).is_ok()
}

#[cfg(not(unix))]
fn reuse(_old: &Path, _bytes: &[u8], _new: &Path) -> bool {
    false
}

/// Puts `tmp` in place of `out` in one step; the old site is then removed.
fn swap(tmp: &Path, out: &Path, parent: &Path, name: &str) -> Result<()> {
    if !out.exists() {
        return std::fs::rename(tmp, out).map_err(|e| Error::io("create", out, e));
    }
    exchange(tmp, out, parent, name)?;
    // `tmp` now holds the previous site; a kill here leaves it for `remove_stale`.
    remove_site(tmp)
}

/// Deletes a site folder of ours with its marker last, so that a kill
/// part-way leaves a folder that `remove_stale` still recognises.
fn remove_site(dir: &Path) -> Result<()> {
    let marker = dir.join(MARKER);
    if !is_ours(dir) {
        // A forced replacement's old folder: mark it before emptying it.
        std::fs::write(&marker, MARKER_TEXT).map_err(|e| Error::io("write", &marker, e))?;
    }
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))? {
        let path = entry.map_err(|e| Error::io("read folder", dir, e))?.path();
        if path != marker {
            entries.push(path);
        }
    }
    in_parallel(&entries, WRITERS, |path| {
        let removed = if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        removed.map_err(|e| Error::io("remove", path, e))
    })?;
    std::fs::remove_file(&marker).map_err(|e| Error::io("remove", &marker, e))?;
    std::fs::remove_dir(dir).map_err(|e| Error::io("remove", dir, e))
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path, _parent: &Path, _name: &str) -> Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes()).map_err(|_| {
            Error::io(
                "replace",
                p,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "path holds a NUL byte"),
            )
        })
    };
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::io("swap in", b, std::io::Error::last_os_error()))
    }
}

/// Elsewhere: two renames, with a short window in which `out` is missing.
#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path, parent: &Path, name: &str) -> Result<()> {
    let old = parent.join(format!(".{name}.previous-{}", std::process::id()));
    std::fs::rename(b, &old).map_err(|e| Error::io("move aside", b, e))?;
    if let Err(e) = std::fs::rename(a, b) {
        let _ = std::fs::rename(&old, b);
        return Err(Error::io("replace", b, e));
    }
    std::fs::rename(&old, a).map_err(|e| Error::io("move", &old, e))
}

/// An exclusive `flock` on the output's parent folder, released on drop.
struct DirLock {
    #[cfg(unix)]
    _file: std::fs::File,
}

impl DirLock {
    #[cfg(unix)]
    fn acquire(parent: &Path, out: &Path) -> Result<DirLock> {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::File::open(parent).map_err(|e| Error::io("open", parent, e))?;
        let started = Instant::now();
        loop {
            // SAFETY: the descriptor belongs to `file`, which is alive.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                return Ok(DirLock { _file: file });
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(Error::io("lock", parent, err));
            }
            if started.elapsed() > LOCK_WAIT {
                return Err(refuse(format!(
                    "another netledger build has been writing beside `{}` for over {} s; try again when it ends",
                    out.display(),
                    LOCK_WAIT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[cfg(not(unix))]
    fn acquire(_parent: &Path, _out: &Path) -> Result<DirLock> {
        Ok(DirLock {})
    }
}
