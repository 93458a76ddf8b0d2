//! The `netledger` binary as a user runs it: `count` and `models`, their
//! formats, and what they say (and exit with) when something is wrong.
//!
//! Every test runs the real binary from the crate root, through [`netledger`]:
//! `netledger(&["count", "resnet34"]).succeeds().prints("...")`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One run of the binary, already finished.
struct Run {
    args: Vec<String>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `netledger ARGS...` in the crate root and waits for it.
fn netledger(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_netledger"))
        .args(args)
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .output()
        .expect("the netledger binary runs");
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

impl Run {
    fn context(&self) -> String {
        format!(
            "netledger {}\n--- exit: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }

    /// Exits with `code`.
    #[track_caller]
    fn exits(self, code: i32) -> Run {
        assert_eq!(self.code, Some(code), "{}", self.context());
        assert!(
            !self.stderr.contains("panicked"),
            "a panic:\n{}",
            self.context()
        );
        self
    }

    /// Exits with 0 and prints nothing on stderr.
    #[track_caller]
    fn succeeds(self) -> Run {
        let run = self.exits(0);
        assert_eq!(run.stderr, "", "{}", run.context());
        run
    }

    /// Fails as a bad input does: exit 1, nothing on stdout.
    #[track_caller]
    fn fails(self) -> Run {
        let run = self.exits(1);
        assert_eq!(run.stdout, "", "{}", run.context());
        run
    }

    /// Is refused as a misuse of the command line: exit 2.
    #[track_caller]
    fn misused(self) -> Run {
        self.exits(2)
    }

    /// Stdout contains `text`.
    #[track_caller]
    fn prints(self, text: &str) -> Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.context()
        );
        self
    }

    /// Stderr contains `text`.
    #[track_caller]
    fn complains(self, text: &str) -> Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.context()
        );
        self
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", self.context()))
    }
}

fn reference() -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join("tests/fixtures/reference.json"))
        .expect("tests/fixtures/reference.json");
    serde_json::from_str(&text).unwrap()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is not an integer in {v}"))
}

/// A scratch folder for files a test writes, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("netledger-cli-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The shipped models, from the folder itself.
fn shipped() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("content/models"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "toml" || p.extension()? == "onnx")
                .then(|| p.file_stem().unwrap().to_str().unwrap().into())
        })
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------
// count: the table
// ---------------------------------------------------------------------------

#[test]
fn count_prints_a_torchinfo_like_table_with_thousands_separators() {
    let run = netledger(&["count", "resnet34"])
        .succeeds()
        .prints("ResNet-34 (resnet34), input 1x3x224x224\n")
        .prints("Total params:        21,797,672\n")
        .prints("Buffers:             17,060\n")
        .prints("MACs:                3,663,761,408\n")
        .prints("Layer")
        .prints("Output shape");
    // The stem convolution: 64 x 3 x 7 x 7 weights, 118,013,952 MACs.
    let stem = run
        .stdout
        .lines()
        .find(|l| l.starts_with("stem/conv1 "))
        .unwrap_or_else(|| panic!("no stem/conv1 row\n{}", run.context()));
    assert!(stem.contains("1x64x112x112"), "{stem}");
    assert!(stem.contains("9,408"), "{stem}");
    assert!(stem.contains("118,013,952"), "{stem}");
    // Every layer row is there, named by its path inside the model.
    assert!(run.stdout.contains("stage3/block0/shortcut/conv1 "));
    assert!(run.stdout.contains("head/fc "));
    // The convention is stated under the table.
    assert!(run.stdout.contains("Convention: MACs = "));
}

#[test]
fn table_rows_are_aligned() {
    let run = netledger(&["count", "vgg11"]).succeeds();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let rule = lines.iter().position(|l| l.starts_with("---")).unwrap();
    let header = lines[rule - 1];
    let end = lines
        .iter()
        .skip(rule)
        .position(|l| l.starts_with("==="))
        .unwrap()
        + rule;
    // Params and MACs are right-aligned: every row ends where the header ends.
    let width = header.chars().count();
    for row in &lines[rule + 1..end] {
        assert_eq!(row.chars().count(), width, "misaligned row {row:?}");
    }
    assert_eq!(end - rule - 1, 30, "vgg11 has 30 layers");
}

#[test]
fn count_by_section_and_by_kind_print_one_row_each() {
    let run = netledger(&["count", "resnet34", "--by", "section"])
        .succeeds()
        .prints("Section")
        .prints("Total params:        21,797,672");
    for section in ["stem", "stage1", "stage2", "stage3", "stage4", "head"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{section} "))),
            "no row for {section}\n{}",
            run.context()
        );
    }
    let run = netledger(&["count", "vgg16_bn", "--by", "kind"])
        .succeeds()
        .prints("Kind");
    for kind in ["conv", "linear", "norm", "other"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{kind} "))),
            "no row for {kind}\n{}",
            run.context()
        );
    }
    // Shares: the linear layers of VGG-16 hold most of its parameters.
    assert!(run.stdout.contains("Params by kind:      conv "));
}

// ---------------------------------------------------------------------------
// count: JSON, the contract
// ---------------------------------------------------------------------------

#[test]
fn json_has_the_contract_fields_and_layers_add_up() {
    let run = netledger(&["count", "resnet34", "--format", "json"]).succeeds();
    let doc = run.json();
    let r = &reference()["models"]["resnet34"];
    assert_eq!(u(&doc, "params"), u(r, "params"));
    assert_eq!(u(&doc, "buffers"), u(r, "buffers"));
    assert_eq!(u(&doc, "macs"), u(r, "core_macs"));
    assert!(u(&doc, "flops") > 2 * u(&doc, "macs"));
    assert_eq!(doc["input_shape"], serde_json::json!([1, 3, 224, 224]));
    assert_eq!(doc["convention"], "torchvision");
    assert_eq!(u(&doc, "convention_total"), u(&doc, "macs"));

    let layers = doc["layers"].as_array().expect("layers is an array");
    assert!(!layers.is_empty());
    for layer in layers {
        let path = layer["path"].as_str().expect("path");
        assert!(path.starts_with("resnet34/"), "{path}");
        let kind = layer["kind"].as_str().expect("kind");
        assert!(
            ["conv", "linear", "norm", "other"].contains(&kind),
            "{kind}"
        );
        let shape = layer["output_shape"].as_array().expect("output_shape");
        assert_eq!(shape[0], 1, "batch first in {path}");
        assert!(
            layer["params"].is_u64() && layer["macs"].is_u64(),
            "{layer}"
        );
    }
    let sum = |key: &str| layers.iter().map(|l| u(l, key)).sum::<u64>();
    assert_eq!(sum("params"), u(&doc, "params"));
    assert_eq!(sum("macs"), u(&doc, "macs"));
    assert_eq!(sum("flops"), u(&doc, "flops"));
    assert_eq!(sum("buffers"), u(&doc, "buffers"));
    // Paths are unique.
    let mut paths: Vec<&str> = layers.iter().map(|l| l["path"].as_str().unwrap()).collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), layers.len());
    // The last layer produces the logits.
    let last = layers.last().unwrap();
    assert_eq!(last["path"], "resnet34/head/fc");
    assert_eq!(last["output_shape"], serde_json::json!([1, 1000]));
}

#[test]
fn json_of_every_shipped_model_keeps_the_contract() {
    for name in shipped() {
        let doc = netledger(&["count", &name, "--format", "json"])
            .succeeds()
            .json();
        for key in ["params", "buffers", "macs", "flops", "convention_total"] {
            assert!(doc[key].is_u64(), "{name}: {key}");
        }
        assert!(doc["input_shape"].is_array(), "{name}");
        assert!(doc["convention"].is_string(), "{name}");
        let layers = doc["layers"].as_array().unwrap();
        let params: u64 = layers.iter().map(|l| u(l, "params")).sum();
        assert_eq!(params, u(&doc, "params"), "{name}");
    }
}

#[test]
fn input_override_changes_macs_but_not_params() {
    let at = |input: Option<&str>| {
        let mut args = vec!["count", "resnet34", "--format", "json"];
        if let Some(i) = input {
            args.extend(["--input", i]);
        }
        netledger(&args).succeeds().json()
    };
    let base = at(None);
    let big = at(Some("3x320x320"));
    let sweep = &reference()["resolution_sweep_core_macs"]["resnet34"];
    assert_eq!(u(&big, "params"), u(&base, "params"));
    assert_eq!(u(&big, "macs"), u(sweep, "320"));
    assert_ne!(u(&big, "macs"), u(&base, "macs"));
    assert_eq!(big["input_shape"], serde_json::json!([1, 3, 320, 320]));
    // The table says which input it counted.
    netledger(&["count", "resnet34", "--input", "3x320x320"])
        .succeeds()
        .prints("input 1x3x320x320")
        .prints("MACs:                7,476,531,200");
}

#[test]
fn conventions_reproduce_each_tool_total() {
    let r = reference();
    for (flag, key) in [
        ("fvcore", "fvcore"),
        ("ptflops", "ptflops"),
        ("ptflops-default", "ptflops_default"),
        ("thop", "thop"),
        ("torchvision", "core_macs"),
    ] {
        for model in ["resnet50", "vgg19_bn"] {
            let doc = netledger(&["count", model, "--format", "json", "--convention", flag])
                .succeeds()
                .json();
            assert_eq!(doc["convention"], flag, "{model}");
            assert_eq!(
                u(&doc, "convention_total"),
                u(&r["models"][model], key),
                "{model} under {flag}"
            );
            // `macs` stays the core figure whatever the convention.
            assert_eq!(u(&doc, "macs"), u(&r["models"][model], "core_macs"));
        }
    }
    netledger(&["count", "resnet34", "--convention", "fvcore"])
        .succeeds()
        .prints("fvcore:              3,671,262,720\n");
}

// ---------------------------------------------------------------------------
// count: CSV
// ---------------------------------------------------------------------------

#[test]
fn csv_by_section_has_a_header_and_one_row_per_section() {
    let run = netledger(&["count", "resnet50", "--format", "csv", "--by", "section"]).succeeds();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "name,layers,params,params_share,buffers,macs,macs_share,flops,flops_share"
    );
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    );
    let params: u64 = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(params, u(&reference()["models"]["resnet50"], "params"));
    let shares: f64 = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(3).unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-5, "{shares}");
}

#[test]
fn csv_by_kind_and_by_layer() {
    let run = netledger(&["count", "vgg19", "--format", "csv", "--by", "kind"]).succeeds();
    let names: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["conv", "linear", "other"],
        "kinds the model lacks are left out"
    );

    let run = netledger(&["count", "vgg19", "--format", "csv"]).succeeds();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("path,section,kind,op,input_shape,output_shape,params,"));
    let columns = lines[0].split(',').count();
    for line in &lines[1..] {
        assert_eq!(line.split(',').count(), columns, "{line}");
    }
    assert!(lines
        .iter()
        .any(|l| l.starts_with("vgg19/head/fc6,head,linear,linear,1x25088,1x4096,102764544,")));
}

// ---------------------------------------------------------------------------
// Model names and paths
// ---------------------------------------------------------------------------

#[test]
fn a_path_to_a_toml_file_works_like_a_name() {
    let by_name = netledger(&["count", "vgg19", "--format", "json"])
        .succeeds()
        .json();
    let by_path = netledger(&["count", "content/models/vgg19.toml", "--format", "json"])
        .succeeds()
        .json();
    assert_eq!(by_name["params"], by_path["params"]);
    assert_eq!(by_name["macs"], by_path["macs"]);

    let scratch = Scratch::new("path");
    let path = scratch.file(
        "tiny.toml",
        "name = \"Tiny\"\ninput = [3, 8, 8]\n\n[[section]]\nname = \"body\"\nlayers = [\"conv 4 k3 p1\", \"relu\", \"gap\", \"flatten\", \"linear 2\"]\n",
    );
    netledger(&["count", path.to_str().unwrap()])
        .succeeds()
        .prints("Tiny (tiny), input 1x3x8x8")
        // 4x3x3x3 + 4, then 4x2 + 2.
        .prints("Total params:        122\n");
}

#[test]
fn models_lists_every_shipped_model_with_its_totals() {
    let names = shipped();
    assert!(names.iter().any(|n| n == "resnet34"), "{names:?}");
    let run = netledger(&["models"]).succeeds();
    for name in &names {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{name} "))),
            "{name} missing\n{}",
            run.context()
        );
    }
    assert!(run.stdout.contains("21,797,672"), "resnet34's params");

    let list = netledger(&["models", "--format", "json"]).succeeds().json();
    let list = list.as_array().unwrap();
    let listed: Vec<&str> = list.iter().map(|m| m["model"].as_str().unwrap()).collect();
    assert_eq!(listed, names);
    let r = reference();
    for m in list {
        let name = m["model"].as_str().unwrap();
        if let Some(want) = r["models"].get(name) {
            assert_eq!(u(m, "params"), u(want, "params"), "{name}");
            assert_eq!(u(m, "macs"), u(want, "core_macs"), "{name}");
        }
    }
}

// ---------------------------------------------------------------------------
// Errors: exit 1 for bad input, 2 for misuse of the command line
// ---------------------------------------------------------------------------

#[test]
fn unknown_model_names_the_file_and_lists_the_known_models() {
    netledger(&["count", "resnet35"])
        .fails()
        .complains("error: unknown model `resnet35`")
        .complains("content/models/resnet35.toml")
        .complains("known models: resnet101, resnet152, resnet18, resnet34")
        .complains("vgg19_nopool");
}

#[test]
fn missing_toml_path_is_an_error_not_a_panic() {
    netledger(&["count", "no/such/model.toml"])
        .fails()
        .complains("no/such/model.toml");
}

#[test]
fn bad_model_file_points_at_line_and_column_with_a_caret() {
    let scratch = Scratch::new("bad_file");
    let path = scratch.file(
        "bad.toml",
        "name = \"Bad\"\ninput = [3, 8, 8]\n\n[[section]]\nname = \"s\"\nlayers = [\"conv 8 k3 p1\", \"conv 8 k3 q1\"]\n",
    );
    let run = netledger(&["count", path.to_str().unwrap()])
        .fails()
        .complains("error: unexpected `q1`")
        .complains(&format!(" --> {}:6:38\n", path.display()))
        .complains("6 | layers = [\"conv 8 k3 p1\", \"conv 8 k3 q1\"]\n");
    let caret = run
        .stderr
        .lines()
        .find(|l| l.contains('^'))
        .unwrap_or_else(|| panic!("no caret line\n{}", run.context()));
    assert_eq!(caret, format!("  | {}^^", " ".repeat(37)));
}

#[test]
fn shape_error_names_the_layer_path_and_shapes() {
    let scratch = Scratch::new("shape_error");
    let path = scratch.file(
        "wide.toml",
        "name = \"Wide\"\ninput = [64, 56, 56]\n\n[blocks.widen]\nargs = [\"c\"]\nbody = [\"conv $c k3 p1 nobias\", \"bn\"]\nmerge = \"add\"\nshortcut = \"identity\"\n\n[[section]]\nname = \"stage1\"\nlayers = [\"widen 128\"]\n",
    );
    netledger(&["count", path.to_str().unwrap()])
        .fails()
        .complains("error: wide/stage1/block0/add: cannot add tensors of different shapes")
        .complains("1x128x56x56")
        .complains("1x64x56x56")
        .complains(&format!(" --> {}:", path.display()));
}

#[test]
fn input_that_breaks_the_model_is_a_shape_error() {
    // Valid on the command line, too small for VGG's five poolings.
    netledger(&["count", "vgg11", "--input", "3x16x16"])
        .fails()
        .complains("vgg11/stage5/pool1")
        .complains("larger than the padded input");
}

#[test]
fn command_line_misuse_exits_with_2() {
    netledger(&["count", "resnet34", "--frobnicate"])
        .misused()
        .complains("--frobnicate");
    netledger(&["count", "resnet34", "--input", "3x0x2"])
        .misused()
        .complains("3x0x2");
    netledger(&["count", "resnet34", "--input", "3x224xabc"]).misused();
    netledger(&["count", "resnet34", "--input", "-3x224x224"]).misused();
    netledger(&["count", "resnet34", "--format", "yaml"])
        .misused()
        .complains("yaml");
    netledger(&["count", "resnet34", "--by", "stage"]).misused();
    netledger(&["count", "resnet34", "--convention", "tensorflow"]).misused();
    netledger(&["count"]).misused();
    netledger(&["counts", "resnet34"]).misused();
    netledger(&[]).misused();
}

#[test]
fn help_and_version_exit_0() {
    netledger(&["--help"])
        .succeeds()
        .prints("count")
        .prints("models");
    netledger(&["count", "--help"])
        .succeeds()
        .prints("--input")
        .prints("--format");
    netledger(&["--version"]).succeeds().prints("netledger ");
}

#[test]
fn output_into_a_closed_pipe_does_not_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netledger"))
        .args(["count", "resnet152"])
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end at once, as `netledger count ... | head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

#[test]
fn count_reads_an_onnx_file_and_says_what_its_export_folded() {
    netledger(&["count", "tests/fixtures/onnx/resnet18.ts17.onnx"])
        .succeeds()
        .prints("resnet18.ts17 (resnet18.ts17), input 1x3x224x224\n")
        .prints("Total params:        11,684,712\n")
        .prints("MACs:                1,814,073,344\n")
        .prints("Note: this export folded batch norm into 20 convolution(s)")
        .prints("training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False");
    let run = netledger(&[
        "count",
        "tests/fixtures/onnx/resnet18.ts17.onnx",
        "--input",
        "3x256x256",
    ])
    .fails();
    assert!(
        run.stderr.starts_with("error: an ONNX graph has static shapes, so `resnet18.ts17` counts only at its own input 3x224x224 (asked for 3x256x256)\n --> tests/fixtures/onnx/resnet18.ts17.onnx\n"),
        "{}",
        run.context()
    );
}
