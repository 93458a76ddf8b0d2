//! ONNX exports of torchvision models count what torch counts.
//!
//! The fixtures in `tests/fixtures/onnx/` are weightless exports (their
//! external `.data` files were deleted) made by
//! `tests/fixtures/make_onnx_fixtures.py` with torch 2.15 from both of its
//! exporters; `reference.json` holds torch's figures for each.

use std::path::Path;

use netledger::onnx::{self, proto};
use serde_json::Value;

fn reference() -> Value {
    let text = std::fs::read_to_string("tests/fixtures/onnx/reference.json").unwrap();
    serde_json::from_str(&text).unwrap()
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn every_fixture_counts_what_torch_counts() {
    let r = reference();
    let files = r["files"].as_object().unwrap();
    assert!(files.len() >= 20);
    let mut wrong = Vec::new();
    for (file, want) in files {
        let path = Path::new("tests/fixtures/onnx").join(file);
        let m = match onnx::load(&path, file.trim_end_matches(".onnx")) {
            Ok(m) => m,
            Err(e) => {
                wrong.push(format!("{file}: {}", e.render()));
                continue;
            }
        };
        let a = m.analyze().unwrap();
        let mut check = |what: &str, ours: u64, torch: u64| {
            if ours != torch {
                wrong.push(format!("{file}: {what} {ours}, torch {torch}"));
            }
        };
        check("macs", a.total.macs, n(&want["macs"]));
        check("params in file", a.total.params, n(&want["params_in_file"]));
        let folded = want["bn_folded"].as_bool().unwrap();
        if !folded {
            check("params", a.total.params, n(&want["params"]));
        }
        let says_folded = a.notes.iter().any(|n| n.contains("folded batch norm"));
        if says_folded != (folded && n(&want["torch_bn_modules"]) > 0) {
            wrong.push(format!(
                "{file}: folding note {says_folded}, folded {folded}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// (kind, params, macs) of every layer that holds parameters or does MACs.
fn counted(layers: &[netledger::count::Layer]) -> Vec<(&'static str, u64, u64)> {
    layers
        .iter()
        .filter(|l| l.params() > 0 || l.cost.macs > 0)
        .map(|l| (l.op.kind().as_str(), l.params(), l.cost.macs))
        .collect()
}

#[test]
fn an_export_equals_its_model_file_layer_for_layer() {
    use netledger::catalog::Model;
    for (onnx_file, toml, dir) in [
        ("resnet18.ts13-bn", "resnet18", "content/models"),
        (
            "mobilenet_v2.ts13-bn",
            "mobilenet_v2",
            "tests/fixtures/models",
        ),
        (
            "convnext_tiny.dynamo",
            "convnext_tiny",
            "tests/fixtures/models",
        ),
        ("vit_b_16.ts17", "vit_b_16", "tests/fixtures/models"),
        (
            "efficientnet_b0.dynamo",
            "efficientnet_b0",
            "tests/fixtures/models",
        ),
    ] {
        let path = format!("tests/fixtures/onnx/{onnx_file}.onnx");
        let graph = Model::load(&path, Path::new(dir))
            .unwrap()
            .analyze(None)
            .unwrap();
        let file = Model::load(toml, Path::new(dir))
            .unwrap()
            .analyze(None)
            .unwrap();
        let (g, f) = (counted(&graph.layers), counted(&file.layers));
        if onnx_file.ends_with("-bn") {
            assert_eq!(g, f, "{onnx_file}");
            assert_eq!(graph.total.buffers, file.total.buffers, "{onnx_file}");
        } else {
            // Folded or decomposed exports agree on every conv, linear and matmul.
            let core = |v: &[(&'static str, u64, u64)]| -> Vec<u64> {
                v.iter().filter(|l| l.2 > 0).map(|l| l.2).collect()
            };
            assert_eq!(core(&g), core(&f), "{onnx_file}");
        }
        assert_eq!(graph.total.macs, file.total.macs, "{onnx_file}");
    }
}

#[test]
fn layer_paths_come_from_node_scopes() {
    let m = onnx::load(
        Path::new("tests/fixtures/onnx/resnet18.ts13-bn.onnx"),
        "r18",
    )
    .unwrap();
    let paths: Vec<&str> = m.layers.iter().take(12).map(|l| l.local_path()).collect();
    assert_eq!(
        paths,
        [
            "conv1",
            "bn1",
            "relu",
            "maxpool",
            "layer1/layer1.0/conv1",
            "layer1/layer1.0/bn1",
            "layer1/layer1.0/relu",
            "layer1/layer1.0/conv2",
            "layer1/layer1.0/bn2",
            "layer1/layer1.0/add",
            "layer1/layer1.0/relu_1",
            "layer1/layer1.1/conv1",
        ]
    );
    assert_eq!(m.sections[..3], ["conv1", "bn1", "relu"]);
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netledger-onnx-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The rendered error for a file holding `bytes`, with its folder as DIR.
fn error_of(bytes: &[u8]) -> String {
    // A folder per call: tests run in parallel and must not share a file.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = scratch(&format!("err{n}"));
    let path = dir.join("bad.onnx");
    std::fs::write(&path, bytes).unwrap();
    let err = onnx::load(&path, "bad").unwrap_err().render();
    err.replace(&dir.display().to_string(), "DIR")
}

fn tensor_type(dims: &[Option<i64>]) -> Option<proto::Type> {
    Some(proto::Type {
        tensor_type: Some(proto::TensorType {
            elem_type: proto::FLOAT,
            shape: Some(proto::Shape {
                dim: dims
                    .iter()
                    .map(|d| proto::Dim {
                        dim_value: *d,
                        dim_param: if d.is_none() {
                            Some("height".into())
                        } else {
                            None
                        },
                    })
                    .collect(),
            }),
        }),
    })
}

/// A one-conv graph, with `op` as its second node.
fn graph(opset: i64, input: &[Option<i64>], op: &str) -> Vec<u8> {
    use prost::Message;
    let weight = proto::Tensor {
        dims: vec![8, 3, 3, 3],
        data_type: proto::FLOAT,
        name: "w".into(),
        data_location: 1,
        ..Default::default()
    };
    let node = |name: &str, op: &str, input: Vec<&str>, output: &str| proto::Node {
        input: input.into_iter().map(String::from).collect(),
        output: vec![output.into()],
        name: name.into(),
        op_type: op.into(),
        ..Default::default()
    };
    let model = proto::Model {
        ir_version: 8,
        producer_name: "test".into(),
        opset_import: vec![proto::OpsetId {
            domain: String::new(),
            version: opset,
        }],
        graph: Some(proto::Graph {
            node: vec![
                node("/conv/Conv", "Conv", vec!["x", "w"], "y"),
                node("/act/Act", op, vec!["y"], "z"),
            ],
            name: "tiny".into(),
            initializer: vec![weight],
            input: vec![proto::ValueInfo {
                name: "x".into(),
                r#type: tensor_type(input),
            }],
            output: vec![proto::ValueInfo {
                name: "z".into(),
                r#type: None,
            }],
            value_info: vec![],
        }),
    };
    model.encode_to_vec()
}

#[test]
fn a_built_graph_counts_without_its_weights() {
    let dir = scratch("tiny");
    let path = dir.join("tiny.onnx");
    std::fs::write(
        &path,
        graph(17, &[Some(1), Some(3), Some(8), Some(8)], "Relu"),
    )
    .unwrap();
    let a = onnx::load(&path, "tiny").unwrap().analyze().unwrap();
    assert_eq!((a.total.params, a.total.macs), (8 * 27, 8 * 27 * 36));
    assert_eq!(a.name, "tiny");
}

#[test]
fn unsupported_input_is_a_clear_error() {
    let full = [Some(1), Some(3), Some(8), Some(8)];
    let err = error_of(&graph(17, &full, "NonMaxSuppression"));
    assert_eq!(
        err,
        format!(
            "error: op `NonMaxSuppression` is not supported\n  = hint: supported ops: {}\n --> DIR/bad.onnx, node 1 `/act/Act` (NonMaxSuppression)\n",
            onnx::SUPPORTED.join(", ")
        )
    );
    assert_eq!(
        error_of(&graph(11, &full, "Relu")),
        "error: opset 11 is not supported: netledger reads opsets 13 to 20; export with opset_version=13\n --> DIR/bad.onnx, graph\n"
    );
    assert_eq!(
        error_of(&graph(17, &[Some(1), Some(3), None, Some(8)], "Relu")),
        "error: input `x` has a dynamic size `height` at dimension 2 with no static value; export with a fixed input shape (no dynamic_axes or dynamic_shapes)\n --> DIR/bad.onnx, graph\n"
    );
    // A dynamic batch is counted as 1, and said.
    let dir = scratch("batch");
    let path = dir.join("b.onnx");
    std::fs::write(&path, graph(17, &[None, Some(3), Some(8), Some(8)], "Relu")).unwrap();
    let a = onnx::load(&path, "b").unwrap().analyze().unwrap();
    assert_eq!(a.notes, ["the batch dimension `height` is counted as 1"]);
}

#[test]
fn truncated_and_corrupt_files_are_errors_not_panics() {
    let good = std::fs::read("tests/fixtures/onnx/resnet18.ts17.onnx").unwrap();
    for cut in [1, 10, 100, good.len() / 2, good.len() - 1] {
        let err = error_of(&good[..cut]);
        assert!(err.starts_with("error: "), "{err}");
        assert!(
            err.ends_with(" --> DIR/bad.onnx\n") || err.contains("DIR/bad.onnx, "),
            "{err}"
        );
    }
    let err = error_of(b"name = \"not onnx\"\n");
    assert!(
        err.starts_with("error: not a readable ONNX model ("),
        "{err}"
    );
    assert!(
        err.ends_with("); the file may be truncated or not ONNX at all\n --> DIR/bad.onnx\n"),
        "{err}"
    );
    // Every byte of the first 2 KB flipped in turn: an error or a count, never a panic.
    let dir = scratch("flip");
    let path = dir.join("x.onnx");
    for at in 0..good.len().min(2048) {
        let mut bad = good.clone();
        bad[at] ^= 0xff;
        std::fs::write(&path, &bad).unwrap();
        if let Ok(m) = onnx::load(&path, "x") {
            let _ = m.analyze();
        }
    }
}
