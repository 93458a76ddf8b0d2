//! Other CNN families, written in netledger's format from torchvision's
//! definitions (`tests/fixtures/models/*.toml`): grouped and depthwise
//! convolutions, dense concatenation, Inception branches, Fire modules,
//! ceil-mode pooling, functional ops. Their parameters must equal
//! torchvision's published `num_params` exactly, and their MACs its published
//! "GFLOPS" (rounded there to 3 decimals, so within 0.0005 G here).

use std::path::Path;

use netledger::count::{analyze, Analysis, Kind};
use netledger::model::load_path;

fn count(name: &str) -> Analysis {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(format!("{name}.toml"));
    let spec = load_path(&path).unwrap_or_else(|e| panic!("{}", e.render()));
    analyze(&spec, None).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// MACs equal a figure published in GMACs with 3 decimals.
#[track_caller]
fn macs_round_to(a: &Analysis, published_g: f64) {
    let g = a.total.macs as f64 / 1e9;
    assert!(
        (g - published_g).abs() <= 0.0005,
        "{}: {} MACs = {g:.6} G, torchvision publishes {published_g:.3}",
        a.id,
        a.total.macs
    );
}

/// Number of layers of one operation (`conv`, `linear`, `bn`, ...).
fn ops(a: &Analysis, op: &str) -> usize {
    a.layers.iter().filter(|l| l.op.name() == op).count()
}

fn logits(a: &Analysis) -> &[u64] {
    &a.layers.last().unwrap().cost.output
}

#[test]
fn alexnet() {
    let a = count("alexnet");
    assert_eq!(a.total.params, 61_100_840);
    macs_round_to(&a, 0.714);
    assert_eq!((ops(&a, "conv"), ops(&a, "linear")), (5, 3));
    // 256 x 6 x 6 features into the classifier.
    assert_eq!(a.layer("head/fc6").unwrap().inputs, vec![vec![9216]]);
    assert_eq!(
        a.layer("features/conv1").unwrap().cost.output,
        vec![64, 55, 55]
    );
    assert_eq!(a.total.buffers, 0);
    assert_eq!(logits(&a), [1000]);
}

#[test]
fn squeezenet1_0() {
    let a = count("squeezenet1_0");
    assert_eq!(a.total.params, 1_248_424);
    macs_round_to(&a, 0.819);
    // conv1, 8 Fire modules of 3 convolutions, the classifier convolution.
    assert_eq!(ops(&a, "conv"), 26);
    assert_eq!(ops(&a, "linear"), 0);
    assert_eq!(ops(&a, "concat"), 8);
    // Ceil-mode pools: 109 -> 54 -> 27 -> 13.
    assert_eq!(a.layer("stem/pool1").unwrap().cost.output, vec![96, 54, 54]);
    assert_eq!(
        a.layer("fires/pool1").unwrap().cost.output,
        vec![256, 27, 27]
    );
    assert_eq!(
        a.layer("fires/pool2").unwrap().cost.output,
        vec![512, 13, 13]
    );
    let fire2 = a.layer("squeezenet1_0/fires/block0/block0/concat").unwrap();
    assert_eq!(fire2.cost.output, vec![128, 54, 54]);
    assert_eq!(logits(&a), [1000]);
}

#[test]
fn googlenet() {
    let a = count("googlenet");
    assert_eq!(a.total.params, 6_624_904);
    macs_round_to(&a, 1.498);
    // 3 stem convolutions + 9 Inception modules of 6.
    assert_eq!(ops(&a, "conv"), 57);
    assert_eq!(ops(&a, "bn"), 57);
    assert_eq!(ops(&a, "concat"), 9);
    // BasicConv2d's ReLU is F.relu: invisible to module hooks.
    assert!(a
        .layers
        .iter()
        .filter(|l| l.op.name() == "relu")
        .all(|l| l.functional));
    // Inception 3a: 64 + 128 + 32 + 32 channels at 28x28.
    let cat = a.layer("googlenet/inception3/a/concat").unwrap();
    assert_eq!(cat.inputs.len(), 4);
    assert_eq!(cat.cost.output, vec![256, 28, 28]);
    assert_eq!(
        a.layer("googlenet/inception5/b/concat")
            .unwrap()
            .cost
            .output,
        vec![1024, 7, 7]
    );
    // Each BN: weight, bias, running mean, running var, num_batches_tracked.
    let bn_channels: u64 = a
        .layers
        .iter()
        .filter(|l| l.op.name() == "bn")
        .map(|l| l.cost.output[0])
        .sum();
    assert_eq!(a.total.buffers, 2 * bn_channels + 57);
    assert_eq!(logits(&a), [1000]);
}

#[test]
fn mobilenet_v2() {
    let a = count("mobilenet_v2");
    assert_eq!(a.total.params, 3_504_872);
    macs_round_to(&a, 0.301);
    // Stem, 2 + 16 x 3 in the inverted residuals, the last 1x1.
    assert_eq!(ops(&a, "conv"), 52);
    assert_eq!(ops(&a, "relu6"), 35);
    // Residual adds: 1 + 2 + 3 + 2 + 2 blocks keep stride 1 and width.
    assert_eq!(ops(&a, "add"), 10);
    // Depthwise: 17 convolutions with one input channel per group.
    let depthwise = a
        .layers
        .iter()
        .filter(|l| {
            matches!(l.op, netledger::count::Op::Conv { groups, .. } if groups > 1 && groups == l.inputs[0][0])
        })
        .count();
    assert_eq!(depthwise, 17);
    let last = a.layer("mobilenet_v2/last/conv1").unwrap();
    assert_eq!(last.cost.output, vec![1280, 7, 7]);
    assert!(a.layer("mobilenet_v2/head/pool1").unwrap().functional);
    assert_eq!(logits(&a), [1000]);
}

#[test]
fn resnext50_32x4d() {
    let a = count("resnext50_32x4d");
    assert_eq!(a.total.params, 25_028_904);
    macs_round_to(&a, 4.230);
    // ResNet-50's 53 convolutions, 16 of them grouped.
    assert_eq!(ops(&a, "conv"), 53);
    let grouped = a
        .layers
        .iter()
        .filter(|l| matches!(l.op, netledger::count::Op::Conv { groups: 32, .. }))
        .count();
    assert_eq!(grouped, 16);
    // The grouped 3x3 of stage 4: 1024 -> 1024 in 32 groups of 32.
    let conv2 = a.layer("resnext50_32x4d/stage4/block0/conv2").unwrap();
    assert_eq!(conv2.params(), 1024 * 32 * 9);
    assert_eq!(conv2.cost.output, vec![1024, 7, 7]);
    assert_eq!(a.kind(Kind::Linear).params, 2048 * 1000 + 1000);
    assert_eq!(logits(&a), [1000]);
}

#[test]
fn densenet121() {
    let a = count("densenet121");
    assert_eq!(a.total.params, 7_978_856);
    macs_round_to(&a, 2.834);
    // 1 + 58 dense layers x 2 + 3 transitions: 120 convolutions, + 1 linear = 121.
    assert_eq!(ops(&a, "conv"), 120);
    assert_eq!(ops(&a, "linear"), 1);
    assert_eq!(ops(&a, "concat"), 58);
    // Channels grow by 32 per layer and halve at each transition.
    let ends = [
        ("denseblock1/block5/concat", 256, 56),
        ("denseblock2/block11/concat", 512, 28),
        ("denseblock3/block23/concat", 1024, 14),
        ("denseblock4/block15/concat", 1024, 7),
    ];
    for (path, channels, size) in ends {
        let layer = a.layer(path).unwrap_or_else(|| panic!("no {path}"));
        assert_eq!(layer.cost.output, vec![channels, size, size], "{path}");
    }
    let t = a.layer("densenet121/denseblock3/block24/conv1").unwrap();
    assert_eq!(t.cost.output, vec![512, 14, 14]);
    assert_eq!(a.layer("head/classifier").unwrap().inputs, vec![vec![1024]]);
    assert_eq!(logits(&a), [1000]);
}
