//! Every shipped model counts exactly what torchvision, fvcore, ptflops and thop report.
//!
//! Reference figures live in `tests/fixtures/reference.json` (copied from
//! measurements with torch 2.15 / torchvision 0.29.2; see its `about`).

use std::path::Path;

use netledger::count::{analyze, Analysis, Convention, Kind};
use netledger::model;
use serde_json::Value;

fn reference() -> Value {
    let text = std::fs::read_to_string("tests/fixtures/reference.json").unwrap();
    serde_json::from_str(&text).unwrap()
}

fn count(name: &str, input: Option<&[u64]>) -> Analysis {
    let spec = model::load(name, Path::new("content/models")).unwrap();
    analyze(&spec, input).unwrap()
}

fn field(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("missing {key} in {v}"))
}

const BASE_MODELS: [&str; 13] = [
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "vgg11_bn",
    "vgg13_bn",
    "vgg16_bn",
    "vgg19_bn",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
];

#[test]
fn reference_covers_every_base_model() {
    let r = reference();
    let listed: Vec<&String> = r["models"].as_object().unwrap().keys().collect();
    assert_eq!(listed.len(), BASE_MODELS.len());
    for m in BASE_MODELS {
        assert!(r["models"].get(m).is_some(), "{m}");
    }
}

#[test]
fn params_buffers_and_macs_equal_torchvision() {
    let r = reference();
    for name in BASE_MODELS {
        let a = count(name, None);
        let want = &r["models"][name];
        assert_eq!(a.total.params, field(want, "params"), "{name} params");
        assert_eq!(a.total.buffers, field(want, "buffers"), "{name} buffers");
        assert_eq!(a.total.macs, field(want, "core_macs"), "{name} MACs");
    }
}

#[test]
fn params_split_by_kind_equal_torchvision() {
    let r = reference();
    for name in BASE_MODELS {
        let a = count(name, None);
        let want = &r["models"][name]["params_by_kind"];
        let conv = a.kind(Kind::Conv);
        let linear = a.kind(Kind::Linear);
        let norm = a.kind(Kind::Norm);
        assert_eq!(conv.weight, field(want, "conv_weight"), "{name}");
        assert_eq!(conv.bias, field(want, "conv_bias"), "{name}");
        assert_eq!(linear.weight, field(want, "linear_weight"), "{name}");
        assert_eq!(linear.bias, field(want, "linear_bias"), "{name}");
        assert_eq!(norm.params, field(want, "bn_total"), "{name}");
        assert_eq!(a.kind(Kind::Other).params, 0, "{name}");
    }
}

#[test]
fn every_tool_convention_is_reproduced_to_the_unit() {
    let r = reference();
    let tools = [
        (Convention::Torchvision, "core_macs"),
        (Convention::Fvcore, "fvcore"),
        (Convention::Ptflops, "ptflops"),
        (Convention::PtflopsDefault, "ptflops_default"),
        (Convention::Thop, "thop"),
    ];
    for name in BASE_MODELS {
        let a = count(name, None);
        for (convention, key) in tools {
            assert_eq!(
                a.convention_total(convention).unwrap(),
                field(&r["models"][name], key),
                "{name} under {}",
                convention.name()
            );
        }
    }
}

#[test]
fn counterfactual_heads_match_their_definitions() {
    let r = reference();
    for name in ["vgg19_gap", "resnet34_flatten", "resnet34_vgg_head"] {
        let a = count(name, None);
        let want = &r["counterfactuals"][name];
        assert_eq!(a.total.params, field(want, "params"), "{name}");
        assert_eq!(a.total.macs, field(want, "core_macs"), "{name}");
    }
}

#[test]
fn resolution_sweep_scales_macs_and_not_params() {
    let r = reference();
    for name in ["vgg19", "resnet34"] {
        let base = count(name, None).total.params;
        for (size, macs) in r["resolution_sweep_core_macs"][name].as_object().unwrap() {
            let s: u64 = size.parse().unwrap();
            let a = count(name, Some(&[3, s, s]));
            assert_eq!(a.total.macs, macs.as_u64().unwrap(), "{name} at {s}");
            assert_eq!(a.total.params, base, "{name} params at {s}");
        }
    }
}

#[test]
fn vgg_without_adaptive_pool_grows_with_resolution() {
    let r = reference();
    for (size, params) in r["vgg_params_without_adaptive_pool"]["vgg19"]
        .as_object()
        .unwrap()
    {
        let s: u64 = size.parse().unwrap();
        let a = count("vgg19_nopool", Some(&[3, s, s]));
        assert_eq!(
            a.total.params,
            params.as_u64().unwrap(),
            "vgg19_nopool at {s}"
        );
    }
}

#[test]
fn fc6_is_25088_by_4096() {
    let a = count("vgg19", None);
    let fc6 = a.layer("head/fc6").unwrap();
    assert_eq!(fc6.inputs, vec![vec![25088]]);
    assert_eq!(fc6.params(), 25088 * 4096 + 4096);
    assert_eq!(a.section("head").unwrap().params, 123_642_856);
}

#[test]
fn residual_paths_are_named_and_projections_counted() {
    let a = count("resnet34", None);
    let proj = a.layer("resnet34/stage3/block0/shortcut/conv1").unwrap();
    assert_eq!(proj.params(), 128 * 256);
    assert_eq!(proj.cost.output, vec![256, 14, 14]);
    let add = a.layer("resnet34/stage3/block0/add").unwrap();
    assert_eq!(add.inputs.len(), 2);
    assert_eq!(add.params(), 0);
    assert!(
        a.layer("resnet34/stage3/block1/shortcut/conv1").is_none(),
        "identity shortcut"
    );
    let shortcut_params: u64 = a
        .layers
        .iter()
        .filter(|l| l.path.contains("/shortcut/"))
        .map(|l| l.params())
        .sum();
    assert_eq!(
        shortcut_params,
        (64 * 128 + 256) + (128 * 256 + 512) + (256 * 512 + 1024)
    );
}

#[test]
fn counterfactuals_equal_torch() {
    // tests/fixtures/counterfactual_reference.json: the torchvision models
    // modified the same way, counted by torch (make_counterfactual_reference.py).
    let text = std::fs::read_to_string("tests/fixtures/counterfactual_reference.json").unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    for name in [
        "resnet34_no_downsample",
        "vgg19_early_downsample",
        "resnet34_concat",
    ] {
        let a = count(name, None);
        assert_eq!(a.total.params, field(&r[name], "params"), "{name} params");
        assert_eq!(
            a.total.buffers,
            field(&r[name], "buffers"),
            "{name} buffers"
        );
        assert_eq!(a.total.macs, field(&r[name], "macs"), "{name} macs");
    }
    // The parameters are their base's; only the operations move.
    assert_eq!(
        count("resnet34_no_downsample", None).total.params,
        count("resnet34", None).total.params
    );
    assert_eq!(
        count("vgg19_early_downsample", None).total.params,
        count("vgg19", None).total.params
    );
}
