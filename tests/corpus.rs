//! The regression corpus (`fuzz/seeds/`): inputs that once crashed, aborted
//! or hung netledger, run through the real binary. Each must end within the
//! deadline with exit 0 or a rendered error and exit 1. The same files seed
//! the cargo-fuzz targets of the same names.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::Project;

const DEADLINE: Duration = Duration::from_secs(60);

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
}

/// Runs the binary; returns (exit code, stderr), failing on a hang or a signal.
fn run(dir: &Path, args: &[&str], what: &Path) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netledger"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("{}: still running after {DEADLINE:?}", what.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let code = status
        .code()
        .unwrap_or_else(|| panic!("{}: killed by a signal: {status}\n{err}", what.display()));
    assert!(
        code == 0 || code == 1,
        "{}: exit {code}\n{err}",
        what.display()
    );
    if code == 1 {
        assert!(err.starts_with("error: "), "{}: {err}", what.display());
    }
    assert!(!err.contains("panicked"), "{}: {err}", what.display());
    (code, err)
}

fn toml_literal(text: &str) -> String {
    format!("'''{text}'''")
}

#[test]
fn expression_and_layer_seeds() {
    let p = Project::new("corpus-layers", &[]);
    for (target, wrap) in [("expr", true), ("layer", false)] {
        for seed in seeds(target) {
            let text = std::fs::read_to_string(&seed).unwrap();
            let layer = if wrap {
                format!("conv {text} k1")
            } else {
                text
            };
            p.write(
                "m.toml",
                &format!(
                    "name = \"m\"\ninput = [3, 8, 8]\n\n[[section]]\nname = \"s\"\nlayers = [{}]\n",
                    toml_literal(&layer)
                ),
            );
            run(&p.root, &["count", "m.toml"], &seed);
        }
    }
}

#[test]
fn model_file_seeds() {
    let p = Project::new("corpus-models", &[]);
    for seed in seeds("model_file") {
        let name = seed.file_name().unwrap().to_str().unwrap();
        std::fs::copy(&seed, p.root.join(name)).unwrap();
        run(&p.root, &["count", name, "--convention", "thop"], &seed);
    }
}

#[test]
fn onnx_seeds() {
    let p = Project::new("corpus-onnx", &[]);
    for seed in seeds("onnx") {
        let name = format!("{}.onnx", seed.file_stem().unwrap().to_str().unwrap());
        std::fs::copy(&seed, p.root.join(&name)).unwrap();
        for convention in ["fvcore", "thop"] {
            run(
                &p.root,
                &["count", &name, "--convention", convention],
                &seed,
            );
        }
    }
}

#[test]
fn page_seeds() {
    for seed in seeds("page_render") {
        let p = Project::new("corpus-pages", &[]);
        std::fs::copy(&seed, p.root.join("content/index.md")).unwrap();
        let (code, _) = run(&p.root, &["build"], &seed);
        assert_eq!(p.site().exists(), code == 0, "{}", seed.display());
    }
}

#[test]
fn bench_json_seeds() {
    for seed in seeds("bench_json") {
        let p = Project::new(
            "corpus-bench",
            &[("index.md", "+++\ntitle = \"P\"\n+++\nx\n")],
        );
        std::fs::create_dir_all(p.root.join("content/data")).unwrap();
        std::fs::copy(&seed, p.root.join("content/data/bench.json")).unwrap();
        let (code, err) = run(&p.root, &["build"], &seed);
        assert_eq!(
            code,
            1,
            "{}: every bench seed is out of range\n{err}",
            seed.display()
        );
        assert!(err.contains(" --> content/data/bench.json:"), "{err}");
    }
}
