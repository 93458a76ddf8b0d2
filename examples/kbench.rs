//! Quick timing of GEMM (with the `gemm` crate as peer) and conv shapes,
//! without the scalar references (developer tool for tuning).
//!
//! `cargo run --release --example kbench -- [FILTER] [--reps N] [--no-peer] [--paired-peak]`
//! (`KBENCH_SHAPE=cin,cout,hw,k,stride,pad` adds a conv shape named `shape`;
//! `KBENCH_ISA=avx2|portable` runs a narrower instruction set than the CPU's best)
//!
//! Prints best and median milliseconds, GFLOP/s at the best sample, and for
//! GEMM the peer's figures and the ratio peer/ours (> 1: ours is faster).
//! With `--paired-peak`, each conv sample is followed by one of the best
//! instruction set's FMA peak loop, and the conv's share of the peak is
//! reported pair by pair. `fc6-read` alternates the batch-1 fc6 GEMV with a
//! pure read of the same matrix in the same order (`bench`'s DRAM ceiling),
//! sample by sample: on a shared host the two drift apart when timed minutes
//! apart.

use std::hint::black_box;
use std::time::Instant;

use netledger::bench::buffer::{random_vec, AlignedBuf};
use netledger::bench::kernels::ceilings::{self, read_rows};
use netledger::bench::kernels::conv::{ConvPath, ConvPlan, ConvShape};
use netledger::bench::kernels::gemv::gemv;
use netledger::bench::kernels::packed::{linear, PackedLinear};
use netledger::bench::Isa;

#[path = "../benches/support/peer.rs"]
mod peer;
use peer::peer_gemm;

/// Thread CPU seconds (excludes time the thread waited for a core).
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Best and median wall seconds of `reps` calls (after one warm-up call);
/// with `KBENCH_CPU=1`, thread CPU seconds instead (for loaded machines).
fn time(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    let cpu = std::env::var("KBENCH_CPU").is_ok_and(|v| v == "1");
    f();
    let v: Vec<f64> = (0..reps)
        .map(|_| {
            let (t, c) = (Instant::now(), thread_cpu_s());
            f();
            if cpu {
                thread_cpu_s() - c
            } else {
                t.elapsed().as_secs_f64()
            }
        })
        .collect();
    let (median, best, _) = spread(v);
    (best, median)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reps = args
        .iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(7usize);
    let filter = args
        .iter()
        .find(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .cloned()
        .unwrap_or_default();
    let no_peer = args.iter().any(|a| a == "--no-peer");
    let paired_peak = args.iter().any(|a| a == "--paired-peak");
    // KBENCH_ISA=avx2|portable runs a narrower instruction set.
    let isa = match std::env::var("KBENCH_ISA").as_deref() {
        Err(_) | Ok("") => Isa::detect(),
        Ok("avx2") if Isa::Avx2Fma.available() => Isa::Avx2Fma,
        Ok("portable") => Isa::Portable,
        Ok(v) => {
            eprintln!("KBENCH_ISA={v}: want avx2 (on a CPU that has it) or portable");
            std::process::exit(2);
        }
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("isa {} load {}", isa.name(), load.trim());
    let gemms = [
        ("fc6-b1", 1, 25088, 4096),
        ("fc6-b2", 2, 25088, 4096),
        ("fc6-b4", 4, 25088, 4096),
        ("fc6-b8", 8, 25088, 4096),
        ("fc6-b16", 16, 25088, 4096),
        ("fc6-b32", 32, 25088, 4096),
        ("fc6-b64", 64, 25088, 4096),
        ("fc7-b8", 8, 4096, 4096),
        ("fc7-b64", 64, 4096, 4096),
        ("fc8-b8", 8, 4096, 1000),
        ("fc8-b64", 64, 4096, 1000),
        ("sq256", 256, 256, 256),
        ("sq1024", 1024, 1024, 1024),
    ];
    for (name, m, k, n) in gemms {
        if !name.contains(&filter) {
            continue;
        }
        let a = random_vec(m * k, 1);
        let mut w = AlignedBuf::new(n * k).expect("alloc");
        w.fill_random(2);
        let mut c = vec![0.0; m * n];
        let flop = 2.0 * (m * k * n) as f64;
        // What `bench` runs: W packed once where that pays.
        let packed = PackedLinear::for_batch(isa, &w, n, k, m).expect("pack");
        let (b, md) = time(reps, || {
            linear(
                isa,
                packed.as_ref(),
                black_box(&a),
                black_box(&w),
                &mut c,
                m,
                k,
                n,
            )
            .expect("gemm")
        });
        let (pb, pmd) = if no_peer {
            (f64::NAN, f64::NAN)
        } else {
            time(reps, || {
                peer_gemm(black_box(&a), black_box(&w), &mut c, m, k, n)
            })
        };
        println!(
            "{name:10} ours best {:8.2} ms med {:8.2} ms {:6.1} GF/s | peer best {:8.2} med {:8.2} ms {:6.1} GF/s | peer/ours best {:.2} med {:.2}",
            b * 1e3,
            md * 1e3,
            flop / b / 1e9,
            pb * 1e3,
            pmd * 1e3,
            flop / pb / 1e9,
            pb / b,
            pmd / md
        );
    }
    if "fc6-read".contains(&filter) {
        fc6_against_read(isa, reps);
    }
    let convs = [
        ("vgg-c3-64@224", 3, 64, 224, 3, 1, 1),
        ("vgg-c64-64@224", 64, 64, 224, 3, 1, 1),
        ("vgg-c64-128@112", 64, 128, 112, 3, 1, 1),
        ("vgg-c128-256@56", 128, 256, 56, 3, 1, 1),
        ("vgg-c256-256@56", 256, 256, 56, 3, 1, 1),
        ("vgg-c512-512@28", 512, 512, 28, 3, 1, 1),
        ("vgg-c512-512@14", 512, 512, 14, 3, 1, 1),
        ("r34-c64@56", 64, 64, 56, 3, 1, 1),
        ("r34-c512@7", 512, 512, 7, 3, 1, 1),
        ("r34-c64-128s2@56", 64, 128, 56, 3, 2, 1),
        ("r34-c128-256s2@28", 128, 256, 28, 3, 2, 1),
        ("r34-c256-512s2@14", 256, 512, 14, 3, 2, 1),
        ("r34-stem7x7s2@224", 3, 64, 224, 7, 2, 3),
        ("r34-proj64-128s2@56", 64, 128, 56, 1, 2, 0),
        ("r34-proj128-256s2@28", 128, 256, 28, 1, 2, 0),
        ("r34-proj256-512s2@14", 256, 512, 14, 1, 2, 0),
        ("r50-1x1-256-64@56", 256, 64, 56, 1, 1, 0),
        ("r50-1x1-64-256@56", 64, 256, 56, 1, 1, 0),
    ];
    // KBENCH_SHAPE=cin,cout,hw,k,stride,pad times one more conv shape.
    let extra = std::env::var("KBENCH_SHAPE").ok().map(|v| {
        let n: Result<Vec<usize>, _> = v.split(',').map(|x| x.trim().parse()).collect();
        match n.as_deref() {
            Ok(&[cin, cout, hw, k, stride, pad]) => ("shape", cin, cout, hw, k, stride, pad),
            _ => {
                eprintln!("KBENCH_SHAPE={v}: want six numbers, cin,cout,hw,k,stride,pad");
                std::process::exit(2);
            }
        }
    });
    for (name, cin, cout, h, k, stride, pad) in convs.into_iter().chain(extra) {
        if !name.contains(&filter) {
            continue;
        }
        let s = ConvShape {
            cin,
            cout,
            h,
            w: h,
            k,
            stride,
            pad,
        };
        let input = random_vec(s.input_len(), 5);
        let weights = random_vec(s.weight_len(), 6);
        let mut out = vec![0.0; s.output_len()];
        // KBENCH_PATH=direct|rows|gather|im2col|pointwise forces a conv path.
        let path = match std::env::var("KBENCH_PATH").as_deref() {
            Ok("direct") => ConvPath::Direct,
            Ok("rows") => ConvPath::DirectRows,
            Ok("gather") => ConvPath::Gather,
            Ok("im2col") => ConvPath::Im2col,
            Ok("pointwise") => ConvPath::Pointwise,
            _ => ConvPath::Auto,
        };
        let Ok(mut plan) = ConvPlan::with_path(isa, &s, &weights, path) else {
            println!("{name:18} path {path:?} does not apply");
            continue;
        };
        let flop = 2.0 * (s.output_len() * s.reduction_len()) as f64;
        let (b, md) = time(reps, || {
            plan.run(black_box(&input), &mut out).expect("conv")
        });
        println!(
            "{name:18} {:9} best {:8.3} ms med {:8.3} ms {:6.1} GF/s (best) {:6.1} (med)",
            format!("{:?}", plan.path()),
            b * 1e3,
            md * 1e3,
            flop / b / 1e9,
            flop / md / 1e9
        );
        if paired_peak {
            let (q, lo, hi) = fraction_of_paired_peak(reps, flop, || {
                plan.run(black_box(&input), &mut out).expect("conv")
            });
            println!("{name:18} of the FMA peak, pair by pair: med {q:.3} [{lo:.3}-{hi:.3}]");
        }
    }
}

/// fc6 at batch 1 against the read ceiling, one sample of each in turn.
fn fc6_against_read(isa: Isa, reps: usize) {
    let (rows, cols) = (4096, 25088);
    let mut w = AlignedBuf::new(rows * cols).expect("alloc");
    w.fill_random(2);
    let x = random_vec(cols, 1);
    let mut y = vec![0.0; rows];
    let secs = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    let pairs: Vec<(f64, f64)> = (0..reps.max(1))
        .map(|_| {
            let g = secs(&mut || gemv(isa, black_box(&w), &x, &mut y, rows, cols).expect("gemv"));
            let r = secs(&mut || {
                black_box(read_rows(isa, black_box(&w), rows, cols));
            });
            (g, r)
        })
        .collect();
    let gb = (rows * cols * 4) as f64 / 1e9;
    let (q, lo, hi) = spread(pairs.iter().map(|(g, r)| r / g).collect());
    let (g, _, _) = spread(pairs.iter().map(|p| p.0).collect());
    let (r, _, _) = spread(pairs.iter().map(|p| p.1).collect());
    println!(
        "fc6-read   gemv med {:8.2} ms {:5.1} GB/s | read med {:8.2} ms {:5.1} GB/s | read/gemv med {q:.3} [{lo:.3}-{hi:.3}]",
        g * 1e3,
        gb / g,
        r * 1e3,
        gb / r
    );
}

/// Median, lowest and highest of `flop / t(f)` over the FMA peak measured
/// right after each sample of `f`.
fn fraction_of_paired_peak(reps: usize, flop: f64, mut f: impl FnMut()) -> (f64, f64, f64) {
    let iters = 2_000_000u64;
    let (peak_flops, peak): (f64, fn(u64) -> f32) = match ceilings::avx512_available() {
        true => (ceilings::fma_peak_avx512_flops(iters), |n| {
            ceilings::fma_peak_avx512(n).unwrap_or(0.0)
        }),
        false => (ceilings::fma_peak_flops(Isa::Avx2Fma, iters), |n| {
            ceilings::fma_peak(Isa::Avx2Fma, n)
        }),
    };
    spread(
        (0..reps.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                let ours = flop / t.elapsed().as_secs_f64();
                let t = Instant::now();
                black_box(peak(iters));
                ours / (peak_flops / t.elapsed().as_secs_f64())
            })
            .collect(),
    )
}

/// Median, lowest and highest of a non-empty sample.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}
