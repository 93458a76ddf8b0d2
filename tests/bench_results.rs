//! The benchmark results file: round trip, schema version, corrupt files,
//! and a tiny end-to-end run on the portable path (nothing is timed).

use std::path::Path;

use netledger::bench::results::{load, parse, save};
use netledger::bench::{self, BenchError, BenchOptions, Isa, KernelCase, Workload, SCHEMA_VERSION};

fn tiny_cases() -> Vec<KernelCase> {
    vec![
        KernelCase {
            name: "tiny-gemm".into(),
            layer: Some("net/fc".into()),
            batch: 3,
            workload: Workload::Gemm {
                batch: 3,
                inp: 20,
                out: 7,
            },
        },
        KernelCase {
            name: "tiny-conv".into(),
            layer: None,
            batch: 1,
            workload: Workload::Conv {
                cin: 3,
                cout: 5,
                h: 6,
                w: 6,
                k: 3,
                stride: 2,
                pad: 1,
            },
        },
    ]
}

#[test]
fn corrupt_and_old_files_name_the_file() {
    let dir = std::env::temp_dir().join(format!("netledger-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bench.json");
    std::fs::write(&p, "{\n  \"schema\": 1,\n  oops\n}").unwrap();
    let e = load(&p).unwrap_err();
    assert!(matches!(e, BenchError::Json { line: 3, .. }), "{e}");
    assert!(e.to_string().contains("bench.json:3:"), "{e}");
    std::fs::write(&p, "{\"schema\": 0, \"kernels\": []}").unwrap();
    let e = load(&p).unwrap_err();
    assert!(matches!(e, BenchError::Schema { found: 0, .. }), "{e}");
    assert!(e.to_string().contains("bench.json"), "{e}");
    let e = load(&dir.join("missing.json")).unwrap_err();
    assert!(e.to_string().contains("missing.json"), "{e}");
    let e = parse("{\"schema\": 1}", Path::new("x.json")).unwrap_err();
    assert!(e.to_string().starts_with("x.json:"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the real pipeline once, on tiny cases; the ceilings still allocate
/// an fc6-sized buffer, so this test takes a few seconds.
#[test]
fn run_save_load_round_trip() {
    let opts = BenchOptions {
        quick: true,
        filter: None,
        progress: false,
        isa: None,
    };
    let r = bench::run_with_isa(&tiny_cases(), &opts, Isa::Portable).unwrap();
    assert_eq!(r.schema, SCHEMA_VERSION);
    // The portable kernels, and the best set the ceiling was measured with.
    let mut want = vec!["portable".to_string()];
    if bench::kernels::ceilings::avx512_available() {
        want.push("avx512f".into());
        assert!(r.ceilings.fma_peak_avx512_gflops.is_some());
    }
    assert_eq!(r.machine.features, want);
    assert_eq!(r.kernels.len(), 4);
    for k in &r.kernels {
        assert!(
            k.median_s > 0.0 && k.gflops > 0.0 && k.intensity > 0.0,
            "{k:?}"
        );
    }
    let table = bench::summary_table(&r);
    assert!(table.contains("tiny-conv"));
    let dir = std::env::temp_dir().join(format!("netledger-bench-rt-{}", std::process::id()));
    let p = dir.join("sub/bench.json");
    save(&r, &p).unwrap();
    let back = load(&p).unwrap();
    assert_eq!(back.kernels.len(), r.kernels.len());
    assert_eq!(back.machine, r.machine);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    for key in [
        "fma_peak_gflops",
        "fma_scalar_gflops",
        "read_bandwidth_gbs",
        "triad_bandwidth_gbs",
    ] {
        assert!(v["ceilings"][key].is_number(), "{key}");
    }
    for key in [
        "name",
        "layer",
        "variant",
        "batch",
        "median_s",
        "gflops",
        "gbs",
        "intensity",
        "fraction_of_ceiling",
    ] {
        assert!(v["kernels"][0].get(key).is_some(), "{key}");
    }
    // Each SIMD row keeps its paired quartiles; a file whose quartiles are
    // out of order, out of range or not three is refused with its place.
    let simd = r
        .kernels
        .iter()
        .position(|k| k.variant == bench::Variant::Simd)
        .unwrap();
    // (serde_json may round the last bit of a float it reads back.)
    let (got, want) = (
        back.kernels[simd].fraction_of_ceiling_paired.unwrap(),
        r.kernels[simd].fraction_of_ceiling_paired.unwrap(),
    );
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-12 * w, "{got:?} {want:?}");
    }
    for (bad, says) in [
        (
            serde_json::json!([0.7, 0.6, 0.8]),
            "quartiles must be in order",
        ),
        (serde_json::json!([0.0, 1.0, 2.0]), "ratio"),
        (serde_json::json!([1.0, 2.0]), "array of length 3"),
    ] {
        let mut v = v.clone();
        v["kernels"][simd]["fraction_of_ceiling_paired"] = bad;
        let text = serde_json::to_string_pretty(&v).unwrap();
        let e = parse(&text, Path::new("x.json")).unwrap_err().to_string();
        assert!(e.starts_with("x.json:") && e.contains(says), "{e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let e = save(&r, Path::new("/proc/forbidden/bench.json")).unwrap_err();
    assert!(e.to_string().contains("/proc/forbidden"), "{e}");
}
