//! Change detection by polling: a sorted list of (path, size, mtime).

use std::path::PathBuf;
use std::time::SystemTime;

/// Every file under the given folders with its size and modification time.
pub fn fingerprint(dirs: &[PathBuf]) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut files = Vec::new();
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            // Follow links, so that a linked file's edits are seen too.
            let meta = std::fs::metadata(entry.path()).or_else(|_| entry.metadata());
            if let Ok(meta) = meta {
                if !meta.is_dir() {
                    files.push((entry.path().to_path_buf(), meta.len(), meta.modified().ok()));
                }
            }
        }
    }
    files
}
