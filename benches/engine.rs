//! Engine speed: analysing every shipped model (the work done on each page build).
//!
//! `analyze_all` counts the already-loaded specs (what a rebuild with
//! unchanged model files costs); `load_and_analyze_all` also reads and
//! parses every TOML file. `analyze/NAME` is one model, the largest of each
//! family (goal: under 1 ms each). `onnx/NAME` reads, decodes and imports an
//! ONNX file, the largest fixture and a generated 1 MB graph (goal: under
//! 20 ms for 1 MB).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use netledger::count::analyze;
use netledger::model;

fn engine(c: &mut Criterion) {
    let dir = Path::new("content/models");
    let names = model::model_names(dir).unwrap();
    let specs: Vec<_> = names.iter().map(|n| model::load(n, dir).unwrap()).collect();
    c.bench_function("analyze_all", |b| {
        b.iter(|| {
            let mut layers = 0;
            for spec in &specs {
                layers += analyze(spec, None).unwrap().layers.len();
            }
            std::hint::black_box(layers)
        })
    });
    c.bench_function("load_and_analyze_all", |b| {
        b.iter(|| {
            let mut params = 0;
            for name in &names {
                let spec = model::load(name, dir).unwrap();
                params += analyze(&spec, None).unwrap().total.params;
            }
            std::hint::black_box(params)
        })
    });
}

fn per_model(c: &mut Criterion) {
    let mut group = c.benchmark_group("analyze");
    for (name, dir) in [
        ("resnet152", "content/models"),
        ("vgg19_bn", "content/models"),
        ("efficientnet_b0", "tests/fixtures/models"),
        ("swin_t", "tests/fixtures/models"),
        ("vit_b_16", "tests/fixtures/models"),
    ] {
        let spec = model::load(name, Path::new(dir)).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| std::hint::black_box(analyze(&spec, None).unwrap().total.macs))
        });
    }
    group.finish();
}

/// A chain of 3x3 convolutions and ReLUs, written as the TorchScript
/// exporter writes them (scoped node and value names, all five Conv
/// attributes, a weight and a folded bias per convolution), whose encoding
/// passes 1 MB: about 3,700 nodes, as a weightless export of that size has.
fn megabyte_graph() -> Vec<u8> {
    use netledger::onnx::proto;
    use prost::Message;
    let ints = |name: &str, ints: Vec<i64>| proto::Attribute {
        name: name.into(),
        ints,
        ..Default::default()
    };
    let weight = |name: String, dims: Vec<i64>| proto::Tensor {
        dims,
        data_type: proto::FLOAT,
        name,
        data_location: 1,
        ..Default::default()
    };
    let mut graph = proto::Graph {
        name: "main_graph".into(),
        input: vec![proto::ValueInfo {
            name: "input.1".into(),
            r#type: Some(proto::Type {
                tensor_type: Some(proto::TensorType {
                    elem_type: proto::FLOAT,
                    shape: Some(proto::Shape {
                        dim: [1, 16, 32, 32]
                            .map(|d| proto::Dim {
                                dim_value: Some(d),
                                dim_param: None,
                            })
                            .to_vec(),
                    }),
                }),
            }),
        }],
        ..Default::default()
    };
    let mut last = "input.1".to_string();
    let mut size = 0;
    let mut i = 0;
    while size < 1 << 20 {
        let scope = format!("/features/features.{}/block.{}", i / 8, i % 8);
        let (w, b) = (
            format!("features.{}.block.{}.conv.weight", i / 8, i % 8),
            format!("onnx::Conv_{}", 1000 + i),
        );
        let conv_out = format!("{scope}/conv/Conv_output_0");
        let relu_out = format!("{scope}/relu/Relu_output_0");
        let conv = proto::Node {
            input: vec![last.clone(), w.clone(), b.clone()],
            output: vec![conv_out.clone()],
            name: format!("{scope}/conv/Conv"),
            op_type: "Conv".into(),
            attribute: vec![
                ints("dilations", vec![1, 1]),
                proto::Attribute {
                    name: "group".into(),
                    i: 1,
                    ..Default::default()
                },
                ints("kernel_shape", vec![3, 3]),
                ints("pads", vec![1, 1, 1, 1]),
                ints("strides", vec![1, 1]),
            ],
            ..Default::default()
        };
        let relu = proto::Node {
            input: vec![conv_out],
            output: vec![relu_out.clone()],
            name: format!("{scope}/relu/Relu"),
            op_type: "Relu".into(),
            ..Default::default()
        };
        let tensors = [weight(w, vec![16, 16, 3, 3]), weight(b, vec![16])];
        size += conv.encoded_len() + relu.encoded_len();
        size += tensors.iter().map(|t| t.encoded_len() + 3).sum::<usize>() + 6;
        graph.initializer.extend(tensors);
        graph.node.extend([conv, relu]);
        last = relu_out;
        i += 1;
    }
    proto::Model {
        ir_version: 8,
        producer_name: "pytorch".into(),
        graph: Some(graph),
        opset_import: vec![proto::OpsetId {
            domain: String::new(),
            version: 17,
        }],
    }
    .encode_to_vec()
}

fn onnx_import(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("netledger-bench-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("chain_1mb.onnx");
    std::fs::write(&big, megabyte_graph()).unwrap();
    let mut group = c.benchmark_group("onnx");
    let bytes = std::fs::read(&big).unwrap();
    group.bench_function(
        "1 MB TorchScript-style graph, protobuf decoding only",
        |b| {
            use prost::Message;
            b.iter(|| {
                std::hint::black_box(
                    netledger::onnx::proto::Model::decode(bytes.as_slice())
                        .unwrap()
                        .graph
                        .map(|g| g.node.len()),
                )
            })
        },
    );
    for (name, path) in [
        (
            "vit_b_16.ts17 (247 KB)",
            Path::new("tests/fixtures/onnx/vit_b_16.ts17.onnx").to_path_buf(),
        ),
        ("1 MB TorchScript-style graph", big.clone()),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| std::hint::black_box(netledger::onnx::load(&path, "m").unwrap().layers.len()))
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

fn site(c: &mut Criterion) {
    let out = std::env::temp_dir().join(format!("netledger-bench-site-{}", std::process::id()));
    let opts =
        netledger::report::BuildOptions::new("content".into(), "templates".into(), out.clone());
    let mut group = c.benchmark_group("site");
    group.sample_size(20);
    group.bench_function("render_default_site_in_memory", |b| {
        b.iter(|| std::hint::black_box(netledger::report::render(&opts).unwrap().0.len()))
    });
    group.bench_function("build_default_site_to_disk", |b| {
        b.iter(|| std::hint::black_box(netledger::report::build(&opts).unwrap().files))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(out);
}

criterion_group!(benches, engine, per_model, onnx_import, site);
criterion_main!(benches);
