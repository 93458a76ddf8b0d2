//! Writing the site: into a temporary folder beside the output, then
//! swapped in whole, so a failed build never leaves a half-written site.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `files` (relative path -> bytes) as the folder `out`, atomically replacing it.
pub fn write(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| Error::Render {
            message: format!(
                "output folder `{}` needs a plain name as its last part",
                out.display()
            ),
            span: None,
            location: None,
        })?;
    if out.exists() && !out.is_dir() {
        return Err(Error::io(
            "replace",
            out,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "it is a file, not a folder",
            ),
        ));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io("create folder", &parent, e))?;
    let pid = std::process::id();
    let tmp = parent.join(format!(".{name}.building-{pid}"));
    let old = parent.join(format!(".{name}.previous-{pid}"));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = fill(&tmp, files).and_then(|()| swap(&tmp, out, &old));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn fill(tmp: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
    std::fs::create_dir(tmp).map_err(|e| Error::io("create folder", tmp, e))?;
    let mut made = std::collections::BTreeSet::new();
    for (rel, bytes) in files {
        if rel.split('/').any(|part| part.is_empty() || part == "..") {
            return Err(Error::Render {
                message: format!("refusing to write outside the site: `{rel}`"),
                span: None,
                location: None,
            });
        }
        let path = tmp.join(rel);
        if let Some(dir) = path.parent() {
            if made.insert(dir.to_path_buf()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
            }
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io("write", &path, e))?;
    }
    Ok(())
}

fn swap(tmp: &Path, out: &Path, old: &Path) -> Result<()> {
    if out.exists() {
        let _ = std::fs::remove_dir_all(old);
        std::fs::rename(out, old).map_err(|e| Error::io("move aside", out, e))?;
        if let Err(e) = std::fs::rename(tmp, out) {
            let _ = std::fs::rename(old, out);
            return Err(Error::io("replace", out, e));
        }
        std::fs::remove_dir_all(old).map_err(|e| Error::io("remove", old, e))?;
    } else {
        std::fs::rename(tmp, out).map_err(|e| Error::io("create", out, e))?;
    }
    Ok(())
}
