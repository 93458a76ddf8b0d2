//! Properties of the counting engine, checked on random models (proptest):
//!
//! - a fully convolutional model's parameters do not depend on its input size;
//! - a convolution's MACs are `Cout x Cin/g x kh x kw x Hout x Wout` and
//!   scale exactly with `Hout x Wout`;
//! - an `extends` variant has the base's parameters, less the replaced
//!   section's, plus the new section's;
//! - elaboration never panics, whatever the layer strings and shapes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use netledger::count::{analyze, Analysis};
use netledger::model::{load_path, ModelSpec};
use netledger::Error;
use proptest::prelude::*;

/// A folder for one test's model files, under the system's temp folder,
/// removed when dropped (each case makes and removes its own).
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "netledger-properties-{test}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A TOML string literal (JSON's escapes are all valid TOML escapes).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A one-section model file.
fn model_text(input: &[u64], layers: &[String]) -> String {
    let layers: Vec<String> = layers.iter().map(|l| quote(l)).collect();
    format!(
        "name = \"random\"\ninput = {input:?}\n\n[[section]]\nname = \"body\"\nlayers = [{}]\n",
        layers.join(", ")
    )
}

fn load(dir: &Path, file: &str, text: &str) -> ModelSpec {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    load_path(&path).unwrap_or_else(|e| panic!("{}\n{text}", e.render()))
}

fn count(spec: &ModelSpec, input: &[u64]) -> Analysis {
    analyze(spec, Some(input)).unwrap_or_else(|e| panic!("{}", e.render()))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn divisors(n: u64) -> Vec<u64> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

/// Output length of a sliding window, PyTorch's formula (floor mode).
fn torch_out(len: u64, k: u64, s: u64, p: u64, d: u64) -> u64 {
    (len + 2 * p - d * (k - 1) - 1) / s + 1
}

// ---------------------------------------------------------------------------
// (a) Parameters of a fully convolutional model do not depend on input size
// ---------------------------------------------------------------------------

/// A layer as drawn, before channels are known.
#[derive(Debug, Clone)]
enum Draw {
    Conv {
        out: u64,
        k: u64,
        s: u64,
        p: u64,
        d: u64,
        group_pick: usize,
        depthwise: bool,
        bias: bool,
    },
    Bn,
    Relu,
    Pool {
        max: bool,
        k: u64,
        s: u64,
        p: u64,
        ceil: bool,
    },
}

fn draw() -> impl Strategy<Value = Draw> {
    prop_oneof![
        3 => (
            prop::sample::select(vec![4u64, 6, 8, 12, 16, 24, 32]),
            1u64..=5,
            1u64..=2,
            0u64..=2,
            1u64..=2,
            0usize..8,
            prop::bool::weighted(0.2),
            any::<bool>(),
        )
            .prop_map(|(out, k, s, p, d, group_pick, depthwise, bias)| Draw::Conv {
                out,
                k,
                s,
                p,
                d,
                group_pick,
                depthwise,
                bias,
            }),
        1 => Just(Draw::Bn),
        1 => Just(Draw::Relu),
        1 => (any::<bool>(), 1u64..=3, 1u64..=2, 0u64..=1, any::<bool>()).prop_map(
            |(max, k, s, p, ceil)| Draw::Pool {
                max,
                k,
                s,
                p: p.min(k / 2),
                ceil,
            }
        ),
    ]
}

/// Layer strings for `draws` from `channels` input channels, the smallest
/// input size for which every layer is valid, and the expected parameters.
fn realize(draws: &[Draw], mut channels: u64) -> (Vec<String>, u64, u64) {
    let mut layers = Vec::new();
    // (effective window, stride) of each spatial layer, for the bound.
    let mut windows = Vec::new();
    let mut params = 0;
    for d in draws {
        match *d {
            Draw::Conv {
                out,
                k,
                s,
                p,
                d,
                group_pick,
                depthwise,
                bias,
            } => {
                let (out, groups, flag) = if depthwise {
                    let out = channels * (1 + out % 3);
                    (out, channels, " dw".to_string())
                } else {
                    let options = divisors(gcd(channels, out));
                    let g = options[group_pick % options.len()];
                    (out, g, format!(" g{g}"))
                };
                let nobias = if bias { "" } else { " nobias" };
                layers.push(format!("conv {out} k{k} s{s} p{p} d{d}{flag}{nobias}"));
                params += out * (channels / groups) * k * k + if bias { out } else { 0 };
                windows.push((d * (k - 1) + 1, s));
                channels = out;
            }
            Draw::Bn => {
                layers.push("bn".into());
                params += 2 * channels;
            }
            Draw::Relu => layers.push("relu".into()),
            Draw::Pool { max, k, s, p, ceil } => {
                let kind = if max { "maxpool" } else { "avgpool" };
                let ceil = if ceil { " ceil" } else { "" };
                layers.push(format!("{kind} k{k} s{s} p{p}{ceil}"));
                windows.push((k, s));
            }
        }
    }
    layers.extend(["gap".into(), "flatten".into(), "linear 10".into()]);
    params += channels * 10 + 10;
    // Walking back from the end: a layer needs s x (next - 1) + window rows
    // (padding only adds), and the last needs 1 output row.
    let min = windows
        .iter()
        .rev()
        .fold(1, |next, &(window, s)| s * (next - 1) + window);
    (layers, min, params)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn params_of_a_fully_convolutional_model_ignore_the_input_size(
        draws in prop::collection::vec(draw(), 1..8),
        sizes in prop::collection::vec((0u64..40, 0u64..40), 3),
    ) {
        let dir = Scratch::new("fully_conv");
        let (layers, min, params) = realize(&draws, 3);
        let spec = load(&dir, "fc.toml", &model_text(&[3, min, min], &layers));
        let base = count(&spec, &[3, min, min]);
        prop_assert_eq!(base.total.params, params, "{:?}", layers);
        for (dh, dw) in sizes {
            let a = count(&spec, &[3, min + dh, min + dw]);
            prop_assert_eq!(a.total.params, base.total.params, "{:?} at {}x{}", layers, min + dh, min + dw);
            prop_assert_eq!(a.total.buffers, base.total.buffers);
            prop_assert_eq!(a.layers.len(), base.layers.len());
            prop_assert_eq!(&a.layers.last().unwrap().cost.output, &vec![10]);
        }
        // Below the bound a layer may run out of rows: an answer, never a panic.
        let smaller = catch_unwind(AssertUnwindSafe(|| analyze(&spec, Some(&[3, min - 1, min]))));
        prop_assert!(smaller.is_ok());
    }
}

// ---------------------------------------------------------------------------
// (b) Convolution MACs
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn conv_macs_are_the_formula_and_scale_with_output_area(
        g in 1u64..=4,
        cin_per_group in 1u64..=6,
        cout_per_group in 1u64..=6,
        (kh, kw) in (1u64..=5, 1u64..=5),
        (sh, sw) in (1u64..=3, 1u64..=3),
        (ph, pw) in (0u64..=3, 0u64..=3),
        (dh, dw) in (1u64..=2, 1u64..=2),
        bias in any::<bool>(),
        (extra_h, extra_w) in (0u64..48, 0u64..48),
        (more_h, more_w) in (1u64..32, 1u64..32),
    ) {
        let dir = Scratch::new("conv_macs");
        let (cin, cout) = (g * cin_per_group, g * cout_per_group);
        let nobias = if bias { "" } else { " nobias" };
        let layer = format!("conv {cout} k{kh}x{kw} s{sh}x{sw} p{ph}x{pw} d{dh}x{dw} g{g}{nobias}");
        // The smallest input with one output row and column, plus some.
        let h = (dh * (kh - 1) + 1).saturating_sub(2 * ph).max(1) + extra_h;
        let w = (dw * (kw - 1) + 1).saturating_sub(2 * pw).max(1) + extra_w;
        let spec = load(&dir, "conv.toml", &model_text(&[cin, h, w], std::slice::from_ref(&layer)));

        let at = |h: u64, w: u64| {
            let a = count(&spec, &[cin, h, w]);
            assert_eq!(a.layers.len(), 1);
            a.layers[0].clone()
        };
        let (ho, wo) = (torch_out(h, kh, sh, ph, dh), torch_out(w, kw, sw, pw, dw));
        let conv = at(h, w);
        prop_assert_eq!(&conv.cost.output, &vec![cout, ho, wo], "{}", layer);
        prop_assert_eq!(conv.cost.macs, cout * (cin / g) * kh * kw * ho * wo, "{}", layer);
        prop_assert_eq!(conv.params(), cout * (cin / g) * kh * kw + if bias { cout } else { 0 });

        // A larger input: MACs per output position stay the same.
        let (h2, w2) = (h + more_h, w + more_w);
        let (ho2, wo2) = (torch_out(h2, kh, sh, ph, dh), torch_out(w2, kw, sw, pw, dw));
        let bigger = at(h2, w2);
        prop_assert_eq!(&bigger.cost.output, &vec![cout, ho2, wo2]);
        prop_assert_eq!(bigger.cost.macs * (ho * wo), conv.cost.macs * (ho2 * wo2));
        prop_assert_eq!(bigger.params(), conv.params());
    }
}

// ---------------------------------------------------------------------------
// (c) extends: base - replaced section + new section
// ---------------------------------------------------------------------------

/// ResNet-34 as shipped, copied next to the variants that extend it.
fn resnet34_base(dir: &Path) -> Analysis {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("content/models/resnet34.toml");
    let text = std::fs::read_to_string(shipped).unwrap();
    let spec = load(dir, "resnet34.toml", &text);
    analyze(&spec, None).unwrap()
}

#[derive(Debug, Clone)]
struct Head {
    /// 0: gap; 1..=3: adaptive average pool to n x n; 4: a 1x1 conv then gap.
    pool: u64,
    conv_out: u64,
    hidden: Vec<(u64, bool)>,
    classes: u64,
}

fn head() -> impl Strategy<Value = Head> {
    (
        0u64..=4,
        1u64..=64,
        prop::collection::vec((1u64..=300, any::<bool>()), 0..3),
        1u64..=1000,
    )
        .prop_map(|(pool, conv_out, hidden, classes)| Head {
            pool,
            conv_out,
            hidden,
            classes,
        })
}

impl Head {
    /// Layer strings and their parameters, counted here from the definition.
    fn layers(&self) -> (Vec<String>, u64) {
        let mut layers = Vec::new();
        let mut params = 0;
        let mut features = match self.pool {
            0 => {
                layers.push("gap".to_string());
                512
            }
            4 => {
                layers.push(format!("conv {} k1", self.conv_out));
                params += 512 * self.conv_out + self.conv_out;
                layers.push("gap".to_string());
                self.conv_out
            }
            n => {
                layers.push(format!("adaptiveavgpool {n}"));
                512 * n * n
            }
        };
        layers.push("flatten".to_string());
        for &(width, bias) in &self.hidden {
            layers.push(format!(
                "linear {width}{}",
                if bias { "" } else { " nobias" }
            ));
            layers.push("relu".to_string());
            layers.push("dropout 0.5".to_string());
            params += features * width + if bias { width } else { 0 };
            features = width;
        }
        layers.push(format!("logits: linear {}", self.classes));
        params += features * self.classes + self.classes;
        (layers, params)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn extends_params_are_base_minus_replaced_plus_new(head in head()) {
        let dir = Scratch::new("extends_head");
        let base = resnet34_base(&dir);
        let (layers, head_params) = head.layers();
        let quoted: Vec<String> = layers.iter().map(|l| quote(l)).collect();
        let text = format!(
            "extends = \"resnet34\"\nname = \"variant\"\n\n[[section]]\nname = \"head\"\nlayers = [{}]\n",
            quoted.join(", ")
        );
        let spec = load(&dir, "variant.toml", &text);
        let v = analyze(&spec, None).unwrap();
        let old_head = base.section("head").unwrap().params;
        prop_assert_eq!(v.section("head").unwrap().params, head_params, "{:?}", layers);
        prop_assert_eq!(v.total.params, base.total.params - old_head + head_params);
        // Every other section is the base's, in the base's order.
        let names = |a: &Analysis| a.sections.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        prop_assert_eq!(names(&v), names(&base));
        for (name, totals) in &base.sections {
            if name != "head" {
                prop_assert_eq!(v.section(name).unwrap(), *totals, "{}", name);
            }
        }
        prop_assert_eq!(&v.layers.last().unwrap().cost.output, &vec![head.classes]);
    }

    #[test]
    fn extends_replacing_a_middle_section_keeps_the_rest(blocks in 1u64..=6) {
        let dir = Scratch::new("extends_stage");
        let base = resnet34_base(&dir);
        let text = format!(
            "extends = \"resnet34\"\n\n[[section]]\nname = \"stage1\"\nlayers = [\"basic 64 1 *{blocks}\"]\n"
        );
        let spec = load(&dir, "shallow.toml", &text);
        let v = analyze(&spec, None).unwrap();
        // A basic block at 64 channels: two 3x3 convs without bias, two BNs.
        let per_block = 2 * (64 * 64 * 9) + 2 * (2 * 64);
        prop_assert_eq!(v.section("stage1").unwrap().params, blocks * per_block);
        prop_assert_eq!(
            v.total.params,
            base.total.params - base.section("stage1").unwrap().params + blocks * per_block
        );
        prop_assert_eq!(v.name.as_str(), "ResNet-34 (shallow)");
    }
}

// ---------------------------------------------------------------------------
// (d) Elaboration never panics
// ---------------------------------------------------------------------------

/// Numbers at the edges: zero, 2^32, 2^63, u64::MAX, too large, expressions.
fn number() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "0",
        "4294967296",
        "9223372036854775808",
        "18446744073709551615",
        "99999999999999999999",
        "$c",
        "$c*2",
        "$c-9",
        "$c/0",
        "($c+1)",
        "$d",
        "1x7",
    ])
    .prop_map(String::from)
}

fn token() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "conv",
        "linear",
        "bn",
        "relu",
        "relu6",
        "prelu",
        "maxpool",
        "avgpool",
        "adaptiveavgpool",
        "adaptivemaxpool",
        "gap",
        "flatten",
        "dropout",
        "b",
        "nobias",
        "noaffine",
        "ceil",
        "dw",
        "fn",
        "*2",
        "*0",
        "x:",
        "0.5",
        "",
        "é",
        "k",
        "$",
        "(",
    ])
    .prop_map(String::from);
    prop_oneof![
        3 => word,
        3 => number(),
        3 => (prop::sample::select(vec!["k", "s", "p", "d", "g", "*"]), number())
            .prop_map(|(o, n)| format!("{o}{n}")),
        1 => "[ -~]{0,6}",
        1 => any::<String>().prop_map(|s| s.chars().take(4).collect()),
    ]
}

/// Mostly small, valid numbers; sometimes zero, huge or an expression.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec!["1", "2", "3", "7", "8"]).prop_map(String::from),
        1 => number(),
    ]
}

/// An optional ` <letter><value>`.
fn opt(letter: &'static str) -> impl Strategy<Value = String> {
    prop::option::weighted(0.4, value()).prop_map(move |v| match v {
        Some(v) => format!(" {letter}{v}"),
        None => String::new(),
    })
}

fn flag(word: &'static str) -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", "", word])
}

/// A layer of a known kind with options it accepts, mostly well-formed.
fn shaped_layer() -> impl Strategy<Value = String> {
    let repeat = prop::sample::select(vec!["", "", "", "", "", "", " *2", " *3", " *0"]);
    let layer = prop_oneof![
        3 => (value(), value(), opt("s"), opt("p"), opt("d"), prop_oneof![opt("g"), Just(" dw".to_string())], flag(" nobias"), flag(" fn"))
            .prop_map(|(o, k, s, p, d, g, b, f)| format!("conv {o} k{k}{s}{p}{d}{g}{b}{f}")),
        2 => (prop::sample::select(vec!["maxpool", "avgpool"]), value(), opt("s"), opt("p"), opt("d"), flag(" ceil"))
            .prop_map(|(kind, k, s, p, d, c)| {
                let d = if kind == "maxpool" { d } else { String::new() };
                format!("{kind} k{k}{s}{p}{d}{c}")
            }),
        1 => (prop::sample::select(vec!["adaptiveavgpool", "adaptivemaxpool"]), value(), prop::option::of(value()))
            .prop_map(|(kind, h, w)| match w {
                Some(w) => format!("{kind} {h}x{w}"),
                None => format!("{kind} {h}"),
            }),
        1 => (value(), flag(" nobias")).prop_map(|(o, b)| format!("linear {o}{b}")),
        1 => value().prop_map(|n| format!("prelu {n}")),
        1 => value().prop_map(|n| format!("b {n}")),
        3 => prop::sample::select(vec!["bn", "bn noaffine", "relu", "relu fn", "gap", "flatten", "dropout 0.2", "b $c"]).prop_map(String::from),
    ];
    (layer, repeat).prop_map(|(l, r)| format!("{l}{r}"))
}

fn layer_string() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => shaped_layer(),
        1 => prop::collection::vec(token(), 0..6).prop_map(|t| t.join(" ")),
    ]
}

fn shape() -> impl Strategy<Value = Vec<u64>> {
    let dim = || {
        prop_oneof![
            4 => prop::sample::select(vec![1u64, 2, 3, 8, 224]),
            1 => prop::sample::select(vec![0u64, 1 << 32, 1 << 62, u64::MAX]),
        ]
    };
    prop_oneof![
        1 => prop::collection::vec(dim(), 0..5),
        3 => prop::collection::vec(dim(), 3),
    ]
}

/// Loads and counts, or fails; a panic becomes the property's failure.
fn never_panics(path: &Path, input: Option<&[u64]>) -> Result<Result<Analysis, Error>, String> {
    catch_unwind(AssertUnwindSafe(|| {
        let out = load_path(path).and_then(|spec| analyze(&spec, input));
        if let Err(e) = &out {
            // Rendering the error must not panic either.
            let _ = e.render();
        }
        out
    }))
    .map_err(|_| "the engine panicked".to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn elaboration_never_panics(
        section in prop::collection::vec(layer_string(), 1..6),
        body in prop::collection::vec(layer_string(), 1..4),
        merge in prop::sample::select(vec!["", "add", "concat"]),
        input in shape(),
        override_input in any::<bool>(),
    ) {
        let dir = Scratch::new("never_panics");
        let quoted = |items: &[String]| items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
        let file_input: Vec<u64> = input.iter().map(|&d| d.clamp(1, i64::MAX as u64)).collect();
        let file_input = if file_input.is_empty() { vec![3, 8, 8] } else { file_input };
        let mut text = format!("name = \"fuzz\"\ninput = {file_input:?}\n\n[blocks.b]\nargs = [\"c\"]\nbody = [{}]\n", quoted(&body));
        if !merge.is_empty() {
            text.push_str(&format!("merge = \"{merge}\"\nshortcut = \"identity\"\n"));
        }
        text.push_str(&format!("\n[[section]]\nname = \"s\"\nlayers = [{}]\n", quoted(&section)));
        let path = dir.join("fuzz.toml");
        std::fs::write(&path, &text).unwrap();
        let input = override_input.then_some(input.as_slice());
        let outcome = never_panics(&path, input);
        prop_assert!(outcome.is_ok(), "panicked on\n{}\ninput {:?}", text, input);
        if let Ok(Ok(a)) = outcome {
            // A successful count is self-consistent.
            let params: u64 = a.layers.iter().map(|l| l.params()).sum();
            prop_assert_eq!(params, a.total.params);
            let macs: u64 = a.layers.iter().map(|l| l.cost.macs).sum();
            prop_assert_eq!(macs, a.total.macs);
        }
    }

    #[test]
    fn random_shapes_into_real_models_never_panic(
        input in shape(),
        model in prop::sample::select(vec!["resnet18", "resnet50", "vgg11_bn", "vgg19_gap", "resnet34_flatten"]),
    ) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("content/models/{model}.toml"));
        let outcome = never_panics(&path, Some(&input));
        prop_assert!(outcome.is_ok(), "{} panicked at input {:?}", model, input);
    }
}
