//! Files a build produces besides pages (charts, CSV/JSON downloads, CSS),
//! collected in memory and written together at the end.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Output files by path relative to the site root, in sorted order.
#[derive(Debug, Default)]
pub struct Assets {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl Assets {
    /// Adds (or replaces) the file at `path`.
    pub fn put(&self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.lock().insert(path.into(), bytes.into());
    }

    /// Whether a file was put at `path`.
    pub fn has(&self, path: &str) -> bool {
        self.lock().contains_key(path)
    }

    /// Takes every file out, sorted by path.
    pub fn take(&self) -> BTreeMap<String, Vec<u8>> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub use crate::escape::escape;
