//! Measure the kernels in release and print the summary (developer tool).
//!
//! `cargo run --release --example bench_demo -- [--quick] [--full-list] [--filter X] [--out FILE] [--no-peer]`
//!
//! `--full-list` uses about 25 cases like the product's list; the default is
//! `demo_cases()`. Peer rows (the `gemm` crate, a dev-dependency) are added
//! for every GEMM case with `variant: "peer"`.

use std::path::PathBuf;

use netledger::bench::buffer::{random_vec, AlignedBuf};
use netledger::bench::harness::{measure, Budget};
use netledger::bench::{self, BenchOptions, KernelCase, Variant, Workload};

#[path = "../benches/support/peer.rs"]
mod peer;
use peer::peer_gemm;

fn full_list() -> Vec<KernelCase> {
    let mut v = Vec::new();
    let mut add = |name: String, layer: &str, batch: usize, workload: Workload| {
        v.push(KernelCase {
            name,
            layer: Some(layer.to_string()),
            batch,
            workload,
        })
    };
    add(
        "fc6-gemv".into(),
        "vgg19/classifier.0",
        1,
        Workload::Gemv {
            rows: 4096,
            cols: 25088,
        },
    );
    for b in [2, 4, 8, 16, 32, 64] {
        add(
            format!("fc6-b{b}"),
            "vgg19/classifier.0",
            b,
            Workload::Gemm {
                batch: b,
                inp: 25088,
                out: 4096,
            },
        );
    }
    add(
        "fc7-gemv".into(),
        "vgg19/classifier.3",
        1,
        Workload::Gemv {
            rows: 4096,
            cols: 4096,
        },
    );
    add(
        "fc8-gemv".into(),
        "vgg19/classifier.6",
        1,
        Workload::Gemv {
            rows: 1000,
            cols: 4096,
        },
    );
    for b in [8, 64] {
        add(
            format!("fc7-b{b}"),
            "vgg19/classifier.3",
            b,
            Workload::Gemm {
                batch: b,
                inp: 4096,
                out: 4096,
            },
        );
        add(
            format!("fc8-b{b}"),
            "vgg19/classifier.6",
            b,
            Workload::Gemm {
                batch: b,
                inp: 4096,
                out: 1000,
            },
        );
    }
    add(
        "resnet-head".into(),
        "resnet34/fc",
        1,
        Workload::Gemv {
            rows: 1000,
            cols: 512,
        },
    );
    let conv = |cin, cout, h, stride| Workload::Conv {
        cin,
        cout,
        h,
        w: h,
        k: 3,
        stride,
        pad: 1,
    };
    for (cin, cout, h) in [
        (3, 64, 224),
        (64, 64, 224),
        (64, 128, 112),
        (128, 128, 112),
        (128, 256, 56),
        (256, 256, 56),
        (256, 512, 28),
        (512, 512, 28),
        (512, 512, 14),
    ] {
        add(
            format!("vgg-c{cin}-{cout}@{h}"),
            "vgg19/features",
            1,
            conv(cin, cout, h, 1),
        );
    }
    for (c, h) in [(64, 56), (128, 28), (256, 14), (512, 7)] {
        add(
            format!("r34-c{c}@{h}"),
            "resnet34/layer",
            1,
            conv(c, c, h, 1),
        );
    }
    for (cin, cout, h) in [(64, 128, 56), (128, 256, 28), (256, 512, 14)] {
        add(
            format!("r34-c{cin}-{cout}s2@{h}"),
            "resnet34/layer",
            1,
            conv(cin, cout, h, 2),
        );
    }
    let pw = |cin, cout| Workload::Conv {
        cin,
        cout,
        h: 56,
        w: 56,
        k: 1,
        stride: 1,
        pad: 0,
    };
    add(
        "r50-1x1-256-64@56".into(),
        "resnet50/layer1.0.conv1",
        1,
        pw(256, 64),
    );
    add(
        "r50-1x1-64-256@56".into(),
        "resnet50/layer1.0.conv3",
        1,
        pw(64, 256),
    );
    add(
        "gap-512x7x7".into(),
        "resnet34/avgpool",
        1,
        Workload::GlobalAvgPool { c: 512, h: 7, w: 7 },
    );
    v
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |f: &str| args.iter().any(|a| a == f);
    let value = |f: &str| {
        args.iter()
            .position(|a| a == f)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let opts = BenchOptions {
        quick: has("--quick"),
        filter: value("--filter"),
        progress: true,
        isa: value("--isa").and_then(|s| netledger::bench::Isa::parse(&s)),
    };
    let cases = if has("--full-list") {
        full_list()
    } else {
        bench::demo_cases()
    };
    let t0 = std::time::Instant::now();
    let mut report = match bench::run(&cases, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("run took {:.1} s", t0.elapsed().as_secs_f64());
    if !has("--no-peer") {
        let budget = if opts.quick {
            Budget::quick()
        } else {
            Budget::full()
        };
        let filter = opts.filter.as_deref().unwrap_or("").to_lowercase();
        for case in cases
            .iter()
            .filter(|c| c.name.to_lowercase().contains(&filter))
        {
            if let Workload::Gemm { batch, inp, out } = case.workload {
                let a = random_vec(batch * inp, 1);
                let mut w = AlignedBuf::new(inp * out).expect("alloc");
                w.fill_random(2);
                let mut c = vec![0.0; batch * out];
                let m = measure(&budget, || peer_gemm(&a, &w, &mut c, batch, inp, out));
                let (flops, bytes) = bench::case_work(case);
                let mut r = report
                    .kernels
                    .iter()
                    .find(|k| k.name == case.name && k.variant == Variant::Simd)
                    .cloned()
                    .expect("simd row");
                r.variant = Variant::Peer;
                r.median_s = m.median_s;
                r.best_s = m.best_s;
                r.worst_s = m.worst_s;
                r.mad_s = m.mad_s;
                r.samples = m.samples.len();
                r.cpu_s = m.cpu_s;
                r.gflops = flops / m.median_s / 1e9;
                r.gbs = bytes / m.median_s / 1e9;
                r.fraction_of_ceiling = match r.bound {
                    bench::Bound::Compute => r.gflops / report.ceilings.fma_peak_gflops,
                    bench::Bound::Memory => r.gbs / report.ceilings.read_bandwidth_gbs,
                };
                r.speedup_vs_scalar = None;
                r.fraction_of_ceiling_paired = None;
                report.kernels.push(r);
            }
        }
    }
    print!("{}", bench::summary_table(&report));
    if let Some(out) = value("--out") {
        if let Err(e) = bench::save(&report, &PathBuf::from(out)) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
