//! Shared by the integration tests: a scratch project run through the real binary.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch project: content/ with two models and the given pages.
pub struct Project {
    pub root: PathBuf,
}

impl Project {
    pub fn new(name: &str, pages: &[(&str, &str)]) -> Project {
        let root =
            std::env::temp_dir().join(format!("netledger-build-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("content/models")).unwrap();
        for model in ["resnet18", "vgg11"] {
            std::fs::copy(
                format!("content/models/{model}.toml"),
                root.join(format!("content/models/{model}.toml")),
            )
            .unwrap();
        }
        for (file, text) in pages {
            std::fs::write(root.join("content").join(file), text).unwrap();
        }
        Project { root }
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Runs `netledger build` in the project; returns (exit code, stderr).
    pub fn build(&self, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["build"];
        args.extend_from_slice(extra);
        let (code, _, err) = self.run(&args);
        (code, err)
    }

    /// Runs the real binary in the project; returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        run_in(&self.root, args)
    }

    pub fn site(&self) -> PathBuf {
        self.root.join("site")
    }
}

/// Runs the real binary in `dir`; returns (exit code, stdout, stderr).
pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netledger"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.insert(rel, std::fs::read(entry.path()).unwrap());
        }
    }
    files
}

/// The text of the first results file the repository ships in
/// `content/data/bench/` (one per measured machine).
pub fn shipped_bench() -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir("content/data/bench")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    std::fs::read_to_string(&files[0]).unwrap()
}
