//! Correctness of the benchmark kernels: every SIMD and portable kernel
//! against the scalar reference on random inputs (odd sizes, remainders,
//! tiny shapes, stride 2, padding), and the results file contract.
//! Nothing here is timed.

use netledger::bench::buffer::random_vec;
use netledger::bench::kernels::conv::{conv2d, conv2d_scalar, ConvPath, ConvPlan, ConvShape};
use netledger::bench::kernels::gemm::{gemm, gemm_scalar};
use netledger::bench::kernels::gemv::{gemv, gemv_scalar};
use netledger::bench::kernels::packed::{linear, PackedLinear};
use netledger::bench::kernels::pool::{global_avg_pool, global_avg_pool_scalar};
use netledger::bench::kernels::{ceilings, check_close, Isa};
use netledger::bench::{self, BenchError, BenchOptions, KernelCase, Workload};
use proptest::prelude::*;

/// Instruction sets to test: each one this machine runs (portable always,
/// AVX2+FMA and AVX-512 where present), each forced in turn.
fn isas() -> Vec<Isa> {
    Isa::all_available()
}

fn abs(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| x.abs()).collect()
}

fn check_gemv(rows: usize, cols: usize, seed: u64) {
    let w = random_vec(rows * cols, seed);
    let x = random_vec(cols, seed + 1);
    let mut want = vec![0.0; rows];
    gemv_scalar(&w, &x, &mut want, rows, cols).unwrap();
    let mut bound = vec![0.0; rows];
    gemv_scalar(&abs(&w), &abs(&x), &mut bound, rows, cols).unwrap();
    for isa in isas() {
        let mut got = vec![f32::NAN; rows];
        gemv(isa, &w, &x, &mut got, rows, cols).unwrap();
        check_close(&got, &want, &bound, cols)
            .unwrap_or_else(|e| panic!("{isa:?} gemv {rows}x{cols}: {e:?}"));
    }
}

fn check_gemm(m: usize, k: usize, n: usize, seed: u64) {
    let a = random_vec(m * k, seed);
    let w = random_vec(n * k, seed + 1);
    let mut want = vec![0.0; m * n];
    gemm_scalar(&a, &w, &mut want, m, k, n).unwrap();
    let mut bound = vec![0.0; m * n];
    gemm_scalar(&abs(&a), &abs(&w), &mut bound, m, k, n).unwrap();
    for isa in isas() {
        let mut got = vec![f32::NAN; m * n];
        gemm(isa, &a, &w, &mut got, m, k, n).unwrap();
        check_close(&got, &want, &bound, k)
            .unwrap_or_else(|e| panic!("{isa:?} gemm {m}x{k}x{n}: {e:?}"));
        // The packed weights, on every ISA whatever the batch, and as
        // `linear` chooses them.
        let packed = PackedLinear::new(isa, &w, n, k).unwrap();
        let mut got = vec![f32::NAN; m * n];
        packed.gemm(&a, &mut got, m).unwrap();
        check_close(&got, &want, &bound, k)
            .unwrap_or_else(|e| panic!("{isa:?} packed {m}x{k}x{n}: {e:?}"));
        let chosen = PackedLinear::for_batch(isa, &w, n, k, m).unwrap();
        let mut got = vec![f32::NAN; m * n];
        linear(isa, chosen.as_ref(), &a, &w, &mut got, m, k, n).unwrap();
        check_close(&got, &want, &bound, k)
            .unwrap_or_else(|e| panic!("{isa:?} linear {m}x{k}x{n}: {e:?}"));
    }
}

fn check_conv(s: ConvShape, seed: u64) {
    let input = random_vec(s.input_len(), seed);
    let weights = random_vec(s.weight_len(), seed + 1);
    let mut want = vec![0.0; s.output_len()];
    conv2d_scalar(&s, &input, &weights, &mut want).unwrap();
    let mut bound = vec![0.0; s.output_len()];
    conv2d_scalar(&s, &abs(&input), &abs(&weights), &mut bound).unwrap();
    for isa in isas() {
        let mut got = vec![f32::NAN; s.output_len()];
        conv2d(isa, &s, &input, &weights, &mut got).unwrap();
        check_close(&got, &want, &bound, s.reduction_len())
            .unwrap_or_else(|e| panic!("{isa:?} conv {s:?}: {e:?}"));
        // Every path that applies, forced, twice on the same plan (scratch
        // reuse must not leak between runs).
        for path in ConvPath::ALL {
            if !path.applies(&s) {
                assert!(ConvPlan::with_path(isa, &s, &weights, path).is_err());
                continue;
            }
            let mut plan = ConvPlan::with_path(isa, &s, &weights, path).unwrap();
            assert_eq!(plan.path(), path);
            assert_eq!(plan.isa(), isa, "the forced instruction set runs");
            for _ in 0..2 {
                let mut got = vec![f32::NAN; s.output_len()];
                plan.run(&input, &mut got).unwrap();
                check_close(&got, &want, &bound, s.reduction_len())
                    .unwrap_or_else(|e| panic!("{isa:?} {path:?} conv {s:?}: {e:?}"));
            }
        }
    }
}

#[test]
fn instruction_sets_are_detected_named_and_fall_back() {
    let all = Isa::all_available();
    assert_eq!(all.first(), Some(&Isa::detect()), "the best one first");
    assert_eq!(all.last(), Some(&Isa::Portable), "portable runs anywhere");
    for isa in [Isa::Avx512, Isa::Avx2Fma, Isa::Portable] {
        assert_eq!(Isa::parse(isa.name()), Some(isa));
    }
    assert_eq!(Isa::parse("avx512"), Some(Isa::Avx512));
    assert_eq!(Isa::parse("sse9"), None);
    // A plan asked for an instruction set the CPU lacks runs the best one below it.
    let s = ConvShape {
        cin: 2,
        cout: 3,
        h: 5,
        w: 5,
        k: 3,
        stride: 1,
        pad: 1,
    };
    let plan = ConvPlan::new(Isa::Avx512, &s, &vec![0.0; s.weight_len()]).unwrap();
    assert_eq!(plan.isa(), Isa::detect());
}

/// Direct check of one conv output against a hand-computed sum.
#[test]
fn conv_reference_matches_definition() {
    let s = ConvShape {
        cin: 2,
        cout: 3,
        h: 5,
        w: 4,
        k: 3,
        stride: 2,
        pad: 1,
    };
    let input = random_vec(s.input_len(), 3);
    let weights = random_vec(s.weight_len(), 4);
    let mut out = vec![0.0; s.output_len()];
    conv2d_scalar(&s, &input, &weights, &mut out).unwrap();
    let (oh, ow) = s.validate().unwrap();
    assert_eq!((oh, ow), (3, 2));
    for co in 0..3 {
        for y in 0..oh {
            for x in 0..ow {
                let mut sum = 0.0f64;
                for ci in 0..2 {
                    for kh in 0..3 {
                        for kw in 0..3 {
                            let ih = (y * 2 + kh) as isize - 1;
                            let iw = (x * 2 + kw) as isize - 1;
                            if ih >= 0 && iw >= 0 && (ih as usize) < 5 && (iw as usize) < 4 {
                                sum += f64::from(input[(ci * 5 + ih as usize) * 4 + iw as usize])
                                    * f64::from(weights[((co * 2 + ci) * 3 + kh) * 3 + kw]);
                            }
                        }
                    }
                }
                let got = f64::from(out[(co * oh + y) * ow + x]);
                assert!((got - sum).abs() < 1e-5, "{co} {y} {x}: {got} vs {sum}");
            }
        }
    }
}

#[test]
fn gemv_fixed_shapes() {
    for &(r, c) in &[
        (1, 1),
        (1, 7),
        (3, 8),
        (4, 16),
        (5, 17),
        (9, 33),
        (13, 100),
        (8, 3),
    ] {
        check_gemv(r, c, (r * 100 + c) as u64);
    }
}

#[test]
fn gemm_fixed_shapes() {
    for &(m, k, n) in &[
        (1, 5, 3),
        (2, 8, 3),
        (3, 9, 4),
        (4, 16, 6),
        (5, 31, 7),
        (8, 64, 9),
        (13, 40, 5),
        (64, 24, 3),
    ] {
        check_gemm(m, k, n, (m * 1000 + k * 10 + n) as u64);
    }
}

#[test]
fn gemm_with_many_batch_panels() {
    // A batch over one panel of lanes, and one of 260 rows: many panels,
    // each sweeping W again.
    check_gemm(6, 1100, 5, 1);
    check_gemm(260, 1030, 4, 2);
}

#[test]
fn gemm_small_and_large_batches_with_remainders() {
    // Batch 2-7 (several k per lane group): odd k, so the last group is
    // short; n not a multiple of the 8-row tile.
    for &(m, k, n) in &[(2, 1037, 7), (5, 515, 13), (6, 777, 11), (7, 9, 1)] {
        check_gemm(m, k, n, (m * 7 + k + n) as u64);
    }
    // Batch 8: n not a multiple of the 8-row tile and below it, k tails not
    // a multiple of the 16-float prefetch step.
    for &(m, k, n) in &[
        (8, 1, 1),
        (8, 17, 3),
        (8, 777, 11),
        (8, 4099, 13),
        (8, 8211, 9),
        (8, 4096, 8),
    ] {
        check_gemm(m, k, n, (m * 7 + k + n) as u64);
    }
    // Batch 9 and up: batch not a multiple of the panel, n not a multiple
    // of the 6- or 8-row tile.
    for &(m, k, n) in &[
        (9, 600, 8),
        (17, 70, 13),
        (33, 1100, 7),
        (16, 3, 6),
        (40, 513, 1),
    ] {
        check_gemm(m, k, n, (m * 7 + k + n) as u64);
    }
}

#[test]
fn conv_fixed_shapes() {
    let shapes = [
        // (cin, cout, h, w, k, stride, pad)
        (1, 1, 1, 1, 1, 1, 0),
        (1, 1, 1, 1, 3, 1, 1),
        (3, 5, 7, 6, 3, 1, 1),
        (4, 4, 9, 9, 3, 2, 1),
        (2, 7, 8, 5, 3, 2, 0),
        (5, 3, 6, 6, 1, 1, 0),
        (6, 9, 5, 7, 1, 2, 0),
        (3, 4, 5, 5, 1, 1, 1),
        (2, 3, 11, 10, 5, 1, 2),
        (2, 2, 7, 7, 7, 2, 3),
        (8, 6, 14, 14, 3, 1, 1),
        (16, 8, 28, 3, 3, 1, 1),
        // Direct mode in several row chunks (one reduction block), stride 1
        // and stride 2 (phase planes), last chunk partial.
        (3, 64, 60, 61, 3, 1, 1),
        (3, 40, 97, 95, 7, 2, 3),
        // Several reduction blocks: direct (> 640 steps) and gather (> 288),
        // channel remainders (19, 35, 13 = not multiples of 6 or 16), pixel
        // remainders (16 and 30 pixels are not multiples of 6), stride 2.
        (75, 13, 6, 5, 3, 1, 1),
        (40, 19, 9, 8, 3, 1, 1),
        (37, 35, 7, 7, 3, 2, 1),
        (33, 17, 5, 6, 3, 1, 1),
        (20, 33, 14, 14, 3, 2, 1),
        (34, 18, 7, 7, 3, 1, 1),
        // AVX-512 tiles: 8 x 32 positions (direct) and 32 gather channels
        // (remainders 1, 6, 15, 17, 31) and 14 or 7 gather pixels (7x7 = 49
        // takes the short 7-pixel tile; 6x5 = 30 is a multiple of neither
        // and keeps the long one). Gather tiles inside one output row, at
        // stride 1 or 2, read from one pointer; tiles that wrap a row (20x19,
        // 6x5, 9x9) or hold padding pixels read a pointer per pixel.
        (9, 17, 7, 7, 3, 1, 1),
        (300, 31, 6, 5, 3, 1, 1),
        (12, 15, 9, 9, 1, 2, 0),
        (2, 33, 20, 19, 3, 1, 1),
        (40, 70, 28, 28, 3, 2, 1),
        // Short direct tiles (one vector of positions) at the end of a row:
        // 46 = 32 + 14 positions (AVX-512), 40 = 2 x 16 + 8 (AVX2), and a
        // stem-like 7x7 stride-2 layer with 46 output columns.
        (3, 9, 5, 46, 3, 1, 1),
        (4, 7, 6, 40, 3, 1, 1),
        (3, 10, 24, 92, 7, 2, 3),
        // Row groups (short reductions, row-tiled): 28 x 9 = 252 steps and
        // 28 channels of 66 floats a row make groups of 17 rows, so 40 rows
        // end in a short group; 13 channels end in a partial channel block.
        (28, 13, 40, 64, 3, 1, 1),
        // Gather blocks of channel groups: 576 steps keep a run's partial
        // sums over the reduction, 7 AVX-512 groups (224 channels) to a
        // block, so 232 channels take two blocks; 2070 steps stream every
        // tile's sums per reduction block, 28 groups (896 channels) to a
        // block, so 900 channels take two.
        (64, 232, 4, 5, 3, 1, 1),
        (230, 900, 3, 3, 3, 1, 1),
    ];
    for (i, &(cin, cout, h, w, k, stride, pad)) in shapes.iter().enumerate() {
        check_conv(
            ConvShape {
                cin,
                cout,
                h,
                w,
                k,
                stride,
                pad,
            },
            i as u64,
        );
    }
}

#[test]
fn pool_shapes() {
    for &(c, hw) in &[(1, 1), (3, 7), (5, 49), (2, 8), (4, 17)] {
        let x = random_vec(c * hw, 9);
        let mut want = vec![0.0; c];
        global_avg_pool_scalar(&x, &mut want, c, hw).unwrap();
        let mut bound = vec![0.0; c];
        global_avg_pool_scalar(&abs(&x), &mut bound, c, hw).unwrap();
        for isa in isas() {
            let mut got = vec![0.0; c];
            global_avg_pool(isa, &x, &mut got, c, hw).unwrap();
            check_close(&got, &want, &bound, hw).unwrap();
        }
    }
}

#[test]
fn invalid_shapes_are_errors() {
    let mut y = vec![0.0; 2];
    assert!(gemv(Isa::detect(), &[0.0; 3], &[0.0; 2], &mut y, 2, 2).is_err());
    assert!(gemv(Isa::detect(), &[], &[], &mut [], 0, 2).is_err());
    assert!(gemm(Isa::detect(), &[0.0; 4], &[0.0; 4], &mut [0.0; 3], 2, 2, 2).is_err());
    assert!(gemm_scalar(&[], &[], &mut [], 0, 1, 1).is_err());
    let bad = ConvShape {
        cin: 1,
        cout: 1,
        h: 2,
        w: 2,
        k: 5,
        stride: 1,
        pad: 0,
    };
    assert!(conv2d(Isa::detect(), &bad, &[0.0; 4], &[0.0; 25], &mut []).is_err());
    let zero = ConvShape {
        stride: 0,
        k: 1,
        ..bad
    };
    assert!(zero.validate().is_err());
    let huge = ConvShape {
        cin: usize::MAX / 2,
        k: 1,
        ..bad
    };
    assert!(huge.validate().is_err());
    assert!(global_avg_pool(Isa::detect(), &[0.0; 3], &mut [0.0; 1], 1, 0).is_err());
}

#[test]
fn ceilings_compute_something() {
    for isa in isas() {
        assert!(ceilings::fma_peak(isa, 10).is_finite());
        assert!(ceilings::fma_peak_flops(isa, 10) > 0.0);
        let buf = vec![1.0f32; 1000];
        for s in [1, 2, 3, 4, 8] {
            let got = ceilings::read_sum(isa, &buf, s);
            assert!(got > 0.0 && got <= 1000.0, "{isa:?} {s}: {got}");
        }
        // Every row is read once: the 8 blocks side by side, then the 2
        // rows left over (rows of 64 ones).
        let ones = vec![1.0f32; 10 * 64];
        assert_eq!(ceilings::read_rows(isa, &ones, 10, 64), 640.0, "{isa:?}");
        assert_eq!(ceilings::read_rows(isa, &ones, 16, 40), 640.0, "{isa:?}");
        let mut a = vec![0.0; 19];
        let b = vec![1.0; 19];
        let c = vec![2.0; 19];
        ceilings::triad(isa, &mut a, &b, &c, 0.5);
        assert!(a.iter().all(|&v| v == 2.0));
    }
    assert!(ceilings::fma_scalar(10).is_finite());
}

#[test]
fn run_rejects_unknown_filter_and_bad_cases() {
    let opts = BenchOptions {
        quick: true,
        filter: Some("no-such-layer".into()),
        progress: false,
        isa: None,
    };
    assert!(matches!(
        bench::run(&bench::demo_cases(), &opts),
        Err(BenchError::NoMatch(_))
    ));
    let bad = [KernelCase {
        name: "zero".into(),
        layer: None,
        batch: 1,
        workload: Workload::GlobalAvgPool { c: 0, h: 1, w: 1 },
    }];
    let opts = BenchOptions::default();
    assert!(matches!(
        bench::run(&bad, &opts),
        Err(BenchError::InvalidShape { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn prop_gemv(rows in 1usize..12, cols in 1usize..70, seed in 0u64..1000) {
        check_gemv(rows, cols, seed);
    }

    #[test]
    fn prop_gemm(m in 1usize..40, k in 1usize..70, n in 1usize..15, seed in 0u64..1000) {
        check_gemm(m, k, n, seed);
    }

    #[test]
    fn prop_conv(cin in 1usize..5, cout in 1usize..20, h in 1usize..12, w in 1usize..12,
                 k in prop_oneof![Just(1usize), Just(3usize), Just(5usize)],
                 stride in 1usize..3, pad in 0usize..3, seed in 0u64..1000) {
        let s = ConvShape { cin, cout, h, w, k, stride, pad };
        if s.validate().is_ok() {
            check_conv(s, seed);
        } else {
            prop_assert!(h + 2 * pad < k || w + 2 * pad < k);
        }
    }
}

#[test]
fn auto_picks_each_path_where_it_was_measured_fastest() {
    let conv = |cin, cout, hw, k, stride, pad| ConvShape {
        cin,
        cout,
        h: hw,
        w: hw,
        k,
        stride,
        pad,
    };
    for isa in isas() {
        let path = |s: ConvShape| ConvPlan::auto_path(isa, &s).unwrap();
        // Short reductions run direct, row-tiled (in row groups).
        assert_eq!(path(conv(3, 64, 224, 3, 1, 1)), ConvPath::DirectRows);
        assert_eq!(path(conv(3, 64, 224, 7, 2, 3)), ConvPath::DirectRows);
        // Long ones gather, and so do strided 1x1 projections.
        assert_eq!(path(conv(64, 128, 112, 3, 1, 1)), ConvPath::Gather);
        assert_eq!(path(conv(512, 512, 7, 3, 1, 1)), ConvPath::Gather);
        assert_eq!(path(conv(64, 128, 56, 1, 2, 0)), ConvPath::Gather);
        assert_eq!(path(conv(256, 64, 56, 1, 1, 0)), ConvPath::Pointwise);
        // 64->64 at 224 (3.2 M output floats) gathers too; an output above
        // 64 M floats (1,400 channels at 224) runs direct.
        assert_eq!(path(conv(64, 64, 224, 3, 1, 1)), ConvPath::Gather);
        assert_eq!(path(conv(64, 1400, 224, 3, 1, 1)), ConvPath::DirectRows);
    }
}
