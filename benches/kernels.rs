//! criterion benches of the SIMD kernels, with the `gemm` crate as the peer
//! on the same GEMM shapes in the same run (`cargo bench --bench kernels`).
//!
//! Throughput is reported in FLOPs ("elements" = FLOPs), so criterion's
//! "elem/s" reads as FLOP/s.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use netledger::bench::buffer::{random_vec, AlignedBuf};
use netledger::bench::kernels::conv::{ConvPlan, ConvShape};
use netledger::bench::kernels::gemm::gemm;
use netledger::bench::kernels::gemv::gemv;
use netledger::bench::Isa;

#[path = "support/peer.rs"]
mod peer;
use peer::peer_gemm;

fn big(len: usize, seed: u64) -> AlignedBuf {
    let mut b = AlignedBuf::new(len).expect("allocation");
    b.fill_random(seed);
    b
}

fn bench_gemv(c: &mut Criterion) {
    let isa = Isa::detect();
    let (rows, cols) = (4096, 25088);
    let w = big(rows * cols, 1);
    let x = random_vec(cols, 2);
    let mut y = vec![0.0; rows];
    let mut g = c.benchmark_group("gemv");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes((rows * cols * 4) as u64));
    g.bench_function("fc6 4096x25088", |b| {
        b.iter(|| gemv(isa, black_box(&w), black_box(&x), &mut y, rows, cols).expect("gemv"))
    });
    g.finish();
}

fn bench_gemm(c: &mut Criterion) {
    let isa = Isa::detect();
    let mut g = c.benchmark_group("gemm");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    // (name, m, k, n): fc shapes C[m x n] = A[m x k] Wᵀ, and square n.
    let shapes = [
        ("fc6 b8", 8, 25088, 4096),
        ("fc6 b64", 64, 25088, 4096),
        ("fc7 b8", 8, 4096, 4096),
        ("fc7 b64", 64, 4096, 4096),
        ("fc8 b64", 64, 4096, 1000),
        ("square 256", 256, 256, 256),
        ("square 1024", 1024, 1024, 1024),
    ];
    for (name, m, k, n) in shapes {
        let a = random_vec(m * k, 3);
        let w = big(n * k, 4);
        let mut out = vec![0.0; m * n];
        g.throughput(Throughput::Elements((2 * m * k * n) as u64));
        g.bench_with_input(BenchmarkId::new("netledger", name), &(), |b, _| {
            b.iter(|| gemm(isa, black_box(&a), black_box(&w), &mut out, m, k, n).expect("gemm"))
        });
        g.bench_with_input(BenchmarkId::new("gemm-crate", name), &(), |b, _| {
            b.iter(|| peer_gemm(black_box(&a), black_box(&w), &mut out, m, k, n))
        });
    }
    g.finish();
}

fn bench_conv(c: &mut Criterion) {
    let isa = Isa::detect();
    let mut g = c.benchmark_group("conv3x3");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    for (name, ch, hw) in [("vgg 64->64 @224", 64, 224), ("vgg 512->512 @14", 512, 14)] {
        let s = ConvShape {
            cin: ch,
            cout: ch,
            h: hw,
            w: hw,
            k: 3,
            stride: 1,
            pad: 1,
        };
        let input = random_vec(s.input_len(), 5);
        let weights = random_vec(s.weight_len(), 6);
        let mut out = vec![0.0; s.output_len()];
        let mut plan = ConvPlan::new(isa, &s, &weights).expect("plan");
        g.throughput(Throughput::Elements(
            (2 * s.output_len() * s.reduction_len()) as u64,
        ));
        g.bench_function(name, |b| {
            b.iter(|| plan.run(black_box(&input), &mut out).expect("conv"))
        });
    }
    g.finish();
}

criterion_group!(kernels, bench_gemv, bench_gemm, bench_conv);
criterion_main!(kernels);
