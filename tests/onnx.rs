//! ONNX exports of torchvision models count what torch counts.
//!
//! The fixtures in `tests/fixtures/onnx/` are weightless exports (their
//! external `.data` files were deleted) made by
//! `tests/fixtures/make_onnx_fixtures.py` with torch 2.15 from both of its
//! exporters; `reference.json` holds torch's figures for each.

use std::path::Path;

use netledger::onnx;
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
