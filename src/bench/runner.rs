//! [`run`]: ceilings, then each case in scalar and SIMD variants, checked
//! against each other; and [`summary_table`] for the command line.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};

use super::buffer::{AlignedBuf, Pages};
use super::error::{shape_err, BenchError};
use super::harness::{
    allowed_cpus, load_average, measure, measure_paired, quartiles, Budget, Measurement, Turn,
};
use super::kernels::conv::{conv2d_scalar, ConvShape};
use super::kernels::gemm::gemm_scalar;
use super::kernels::gemv::gemv_scalar;
use super::kernels::pool::global_avg_pool_scalar;
use super::kernels::{ceilings as ceil, check_close, Isa};
use super::prepared::{Prepared, WeightCache};
use super::results::{
    BenchReport, Bound, Ceilings, KernelResult, Machine, Variant, SCHEMA_VERSION,
};
use super::{BenchOptions, KernelCase, Workload};

/// fc6's weight matrix: 4096 x 25088 fp32, the DRAM ceiling's buffer size.
const FC6_ROWS: usize = 4096;
const FC6_COLS: usize = 25088;

/// What the kernels of `isa` use, plus the wider set the ceiling is measured with.
fn features(isa: Isa) -> Vec<String> {
    let mut f = isa.usable().features();
    if ceil::avx512_available() && !f.iter().any(|x| x == "avx512f") {
        f.push("avx512f".into());
    }
    f
}

/// Logical CPUs online: the machine's, not this process's share, so that a
/// run pinned to one CPU (`taskset`) still writes the machine's own file.
fn cores() -> usize {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf only reads a system value.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        if let Ok(n) = usize::try_from(n) {
            if n > 0 {
                return n;
            }
        }
    }
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The key of this machine's results file ([`Machine::key`]), known before
/// anything is measured.
pub fn machine_key() -> String {
    machine(Isa::detect(), None, None, false).key()
}

/// This machine as a results file records it, `isa` being what the kernels ran.
pub(crate) fn machine(
    isa: Isa,
    load_avg_start: Option<[f64; 3]>,
    load_avg_end: Option<[f64; 3]>,
    huge_pages: bool,
) -> Machine {
    Machine {
        cpu_model: cpu_model(),
        cpu_family_model: cpu_family_model(),
        features: features(isa),
        cores: cores(),
        date: utc_now_rfc3339(),
        build_profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .to_string(),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        load_avg_start,
        load_avg_end,
        huge_pages,
        pinned_cpu: match allowed_cpus().as_deref() {
            Some(&[cpu]) if cores() > 1 => Some(cpu),
            _ => None,
        },
    }
}

/// Measure the ceilings and every case (filtered) with the best available ISA.
pub fn run(cases: &[KernelCase], opts: &BenchOptions) -> Result<BenchReport, BenchError> {
    run_with_isa(cases, opts, opts.isa.unwrap_or_else(Isa::detect))
}

/// As [`run`], forcing an instruction set (the portable one always works).
pub fn run_with_isa(
    cases: &[KernelCase],
    opts: &BenchOptions,
    isa: Isa,
) -> Result<BenchReport, BenchError> {
    let isa = isa.usable();
    let selected = select(cases, opts.filter.as_deref())?;
    for c in &selected {
        validate_case(c)?;
    }
    let load_start = load_average();
    let pb = if opts.progress {
        let pb = ProgressBar::new(selected.len() as u64 + 1);
        if let Ok(style) = ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {msg}")
        {
            pb.set_style(style.progress_chars("=> "));
        }
        pb
    } else {
        ProgressBar::hidden()
    };
    pb.set_message("ceilings");
    let (ceilings, huge) = measure_ceilings(isa, opts.quick)?;
    pb.inc(1);
    let mut ctx = Ctx {
        isa,
        quick: opts.quick,
        cache: WeightCache::default(),
        ceilings: ceilings.clone(),
    };
    let mut kernels = Vec::new();
    for case in selected {
        pb.set_message(case.name.clone());
        let r = run_case(case, &mut ctx)?;
        kernels.extend(results_for(case, &r, &ceilings));
        pb.inc(1);
    }
    pb.finish_and_clear();
    let machine = machine(isa, load_start, load_average(), huge);
    Ok(BenchReport {
        schema: SCHEMA_VERSION,
        machine,
        ceilings,
        kernels,
        quick: opts.quick,
        networks: Vec::new(),
    })
}

fn select<'a>(
    cases: &'a [KernelCase],
    filter: Option<&str>,
) -> Result<Vec<&'a KernelCase>, BenchError> {
    let Some(f) = filter else {
        return Ok(cases.iter().collect());
    };
    let f = f.to_lowercase();
    let hit = |c: &KernelCase| {
        c.name.to_lowercase().contains(&f)
            || c.layer
                .as_deref()
                .is_some_and(|l| l.to_lowercase().contains(&f))
    };
    let v: Vec<_> = cases.iter().filter(|c| hit(c)).collect();
    if v.is_empty() {
        return Err(BenchError::NoMatch(f));
    }
    Ok(v)
}

/// Largest float count any single buffer of a case may need (16 GiB).
const MAX_CASE_FLOATS: usize = 1 << 32;

fn validate_case(c: &KernelCase) -> Result<(), BenchError> {
    let what = format!("case `{}`", c.name);
    let err = |r: &str| shape_err(&what, r);
    if c.batch == 0 {
        return Err(err("batch must be positive"));
    }
    let prod = |xs: &[usize]| {
        xs.iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .filter(|&n| n <= MAX_CASE_FLOATS)
            .ok_or_else(|| err("buffer too large"))
    };
    match c.workload {
        Workload::Gemv { rows, cols } => {
            if c.batch != 1 {
                return Err(err("gemv needs batch 1"));
            }
            if rows == 0 || cols == 0 {
                return Err(err("rows and cols must be positive"));
            }
            prod(&[rows, cols])?;
        }
        Workload::Gemm { batch, inp, out } => {
            if batch != c.batch {
                return Err(err("workload batch differs from case batch"));
            }
            if inp == 0 || out == 0 {
                return Err(err("in and out must be positive"));
            }
            prod(&[batch, inp])?;
            prod(&[inp, out])?;
            prod(&[batch, out])?;
        }
        Workload::Conv { .. } => {
            let s = c.workload.conv_shape().ok_or_else(|| err("not a conv"))?;
            s.validate().map_err(|e| err(&e.to_string()))?;
        }
        Workload::GlobalAvgPool { c: ch, h, w } => {
            if ch == 0 || h == 0 || w == 0 {
                return Err(err("c, h and w must be positive"));
            }
            prod(&[ch, h, w])?;
        }
    }
    Ok(())
}

/// Work and traffic model of a case: (FLOPs, minimum bytes).
fn work(c: &KernelCase) -> (f64, f64) {
    let b = c.batch as f64;
    match c.workload {
        Workload::Gemv { rows, cols } => {
            let (r, k) = (rows as f64, cols as f64);
            (2.0 * r * k, 4.0 * (r * k + r + k))
        }
        Workload::Gemm { inp, out, .. } => {
            let (k, n) = (inp as f64, out as f64);
            (2.0 * b * k * n, 4.0 * (k * n + b * k + b * n))
        }
        Workload::Conv { .. } => {
            let s = c.workload.conv_shape().unwrap_or(ConvShape {
                cin: 0,
                cout: 0,
                h: 0,
                w: 0,
                k: 0,
                stride: 1,
                pad: 0,
            });
            let outs = s.output_len() as f64;
            let flops = 2.0 * outs * s.reduction_len() as f64;
            let bytes = 4.0 * (s.weight_len() as f64 + b * (s.input_len() as f64 + outs));
            (b * flops, bytes)
        }
        Workload::GlobalAvgPool { c: ch, h, w } => {
            let n = (ch * h * w) as f64;
            (b * n, 4.0 * b * (n + ch as f64))
        }
    }
}

fn gbs(bytes: f64, m: &Measurement) -> f64 {
    bytes / m.best_s / 1e9
}

fn gflops_best(flops: f64, m: &Measurement) -> f64 {
    flops / m.best_s / 1e9
}

/// Measure the machine ceilings; ceilings use the best sample (what the
/// machine can do), kernels are reported at their median.
fn measure_ceilings(isa: Isa, quick: bool) -> Result<(Ceilings, bool), BenchError> {
    let b = if quick {
        Budget {
            warmup: 1,
            min_samples: 3,
            max_samples: 10,
            max_time: Duration::from_millis(150),
            min_sample_time: Duration::from_millis(5),
        }
    } else {
        Budget {
            warmup: 1,
            min_samples: 10,
            max_samples: 40,
            max_time: Duration::from_millis(800),
            min_sample_time: Duration::from_millis(10),
        }
    };
    let iters = 2_000_000u64;
    let m = measure(&b, || {
        std::hint::black_box(ceil::fma_peak(isa, iters));
    });
    let fma_kernel_isa = gflops_best(ceil::fma_peak_flops(isa, iters), &m);
    // The ceiling is the best instruction set's, even where the kernels use
    // a narrower one: "% of peak" must never flatter them.
    let fma_avx512 = if ceil::avx512_available() {
        let m = measure(&b, || {
            std::hint::black_box(ceil::fma_peak_avx512(iters));
        });
        Some(gflops_best(ceil::fma_peak_avx512_flops(iters), &m))
    } else {
        None
    };
    let fma_peak = fma_avx512.map_or(fma_kernel_isa, |p| p.max(fma_kernel_isa));
    let m = measure(&b, || {
        std::hint::black_box(ceil::fma_scalar(iters));
    });
    let fma_scalar = gflops_best(ceil::fma_scalar_flops(iters), &m);

    let n = FC6_ROWS * FC6_COLS;
    let bytes = (n * 4) as f64;
    let mut big = AlignedBuf::new(n)?;
    big.fill(1.0);
    let huge = big.huge_pages_requested();
    let read = |buf: &[f32], streams: usize| {
        let m = measure(&b, || {
            std::hint::black_box(ceil::read_sum(isa, std::hint::black_box(buf), streams));
        });
        gbs((ceil::read_sum_len(isa, buf.len(), streams) * 4) as f64, &m)
    };
    let m = measure(&b, || {
        std::hint::black_box(ceil::read_rows(
            isa,
            std::hint::black_box(&big),
            FC6_ROWS,
            FC6_COLS,
        ));
    });
    let fc6 = gbs(bytes, &m);
    let one = read(&big, 1);
    let four = read(&big, 4);
    let third = n / 3;
    let (x, rest) = big.split_at_mut(third);
    let (y, z) = rest.split_at_mut(third);
    let m = measure(&b, || ceil::triad(isa, x, y, &z[..third], 0.5));
    let triad = gbs((third * 12) as f64, &m);
    drop(big);
    let mut small = AlignedBuf::with_pages(n, Pages::Normal)?;
    small.fill(1.0);
    let four_small = read(&small, 4);
    drop(small);
    let caches = cache_sizes();
    let l1 = read(&vec![1.0f32; 4096], 4);
    let l2 = read(&vec![1.0f32; 96 << 10], 4);
    // A quarter of the L3: well above the L2, well inside the L3.
    let l3 = caches
        .get(2)
        .map(|&l3| (l3 / 4 / 4) as usize)
        .filter(|&n| n * 4 > caches.get(1).copied().unwrap_or(1 << 20) as usize * 2)
        .map(|n| read(&vec![1.0f32; n], 4));
    Ok((
        Ceilings {
            fma_peak_gflops: fma_peak,
            fma_peak_avx2_gflops: (isa.narrow() == Isa::Avx2Fma).then_some(fma_kernel_isa),
            fma_peak_avx512_gflops: fma_avx512,
            fma_scalar_gflops: fma_scalar,
            read_bandwidth_gbs: fc6,
            triad_bandwidth_gbs: triad,
            read_bandwidth_1stream_gbs: one,
            read_bandwidth_4stream_gbs: four,
            read_bandwidth_4stream_small_pages_gbs: four_small,
            read_bandwidth_fc6_gbs: fc6,
            read_bandwidth_l1_gbs: l1,
            read_bandwidth_l2_gbs: l2,
            read_bandwidth_l3_gbs: l3,
            cache_bytes: caches,
            dram_buffer_bytes: bytes as u64,
        },
        huge,
    ))
}

/// Sizes of the L1 data, L2 and L3 caches of CPU 0 in bytes, as Linux
/// reports them in sysfs (fewer, or none, elsewhere).
fn cache_sizes() -> Vec<u64> {
    let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let mut by_level: Vec<(u64, u64)> = Vec::new();
    for i in 0..8 {
        let read = |f: &str| std::fs::read_to_string(dir.join(format!("index{i}/{f}"))).ok();
        let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size"))
        else {
            continue;
        };
        if kind.trim() == "Instruction" {
            continue;
        }
        let size = size.trim();
        let bytes = match size.strip_suffix('K') {
            Some(k) => k.parse::<u64>().ok().map(|k| k << 10),
            None => match size.strip_suffix('M') {
                Some(m) => m.parse::<u64>().ok().map(|m| m << 20),
                None => size.parse().ok(),
            },
        };
        if let (Ok(level), Some(bytes)) = (level.trim().parse::<u64>(), bytes) {
            by_level.push((level, bytes));
        }
    }
    by_level.sort_unstable();
    by_level.dedup_by_key(|l| l.0);
    by_level
        .iter()
        .enumerate()
        .take_while(|(i, l)| l.0 == *i as u64 + 1)
        .map(|(_, l)| l.1)
        .collect()
}

struct Ctx {
    isa: Isa,
    quick: bool,
    cache: WeightCache,
    ceilings: Ceilings,
}

impl Ctx {
    fn simd_budget(&self) -> Budget {
        if self.quick {
            Budget {
                max_time: Duration::from_millis(150),
                ..Budget::quick()
            }
        } else {
            Budget::full()
        }
    }

    /// Seconds one FMA probe takes (it follows every SIMD sample).
    fn probe_seconds(&self) -> f64 {
        if self.quick {
            1e-3
        } else {
            2e-3
        }
    }

    /// Seconds the scalar reference may take per sample.
    fn scalar_target(&self) -> f64 {
        if self.quick {
            0.04
        } else {
            0.6
        }
    }

    fn scalar_budget(&self) -> Budget {
        Budget {
            warmup: 0,
            min_samples: 1,
            max_samples: if self.quick { 1 } else { 5 },
            max_time: Duration::from_secs_f64(self.scalar_target() * 2.0),
            min_sample_time: Duration::ZERO,
        }
    }
}

/// Measurements of one case.
struct CaseRun {
    simd: Measurement,
    /// Quartiles of the SIMD samples' fractions of their ceiling, each
    /// measured right after its sample ([`Probe`]); `None` where a share
    /// came out unusable (a zero time or amount of work).
    paired: Option<[f64; 3]>,
    scalar: Measurement,
    /// Fraction of the output units the scalar variant computed.
    fraction: f64,
}

/// The ceiling a kernel's samples are paired with, measured once right
/// after each sample: the FMA peak loop that set the compute ceiling for a
/// compute-bound kernel, or, for a memory-bound one, a pure read of the
/// operand it streams ([`Prepared::operand_bytes`]: GEMV and GEMM the
/// weights, row blocks as the GEMV reads them; a conv the larger of input
/// and weights; pooling the input), wherever that operand lives. A
/// memory-bound share compares the operand's bytes over the kernel's time
/// with the same bytes over the read's.
enum Probe {
    /// `iters` rounds of the FMA peak loop, AVX-512 where the machine has it.
    Fma { iters: u64, avx512: bool },
    /// [`Prepared::read_operand`].
    Read,
}

/// Shortest time of one read probe (it reads its operand that long).
const READ_PROBE_S: f64 = 5e-4;

impl Probe {
    /// The probe of `bound`'s ceiling; an FMA probe takes about `seconds`.
    fn of(bound: Bound, c: &Ceilings, isa: Isa, seconds: f64) -> Probe {
        match bound {
            Bound::Memory => Probe::Read,
            Bound::Compute => {
                // The loop that set the ceiling (AVX-512 unless it was slower).
                let avx512 = c
                    .fma_peak_avx512_gflops
                    .is_some_and(|p| p >= c.fma_peak_gflops)
                    && ceil::avx512_available();
                let per_iter = Probe::fma_flops(avx512, isa, 1);
                let iters = seconds * c.fma_peak_gflops * 1e9 / per_iter.max(1.0);
                Probe::Fma {
                    iters: (iters as u64).clamp(1000, 50_000_000),
                    avx512,
                }
            }
        }
    }

    fn fma_flops(avx512: bool, isa: Isa, iters: u64) -> f64 {
        if avx512 {
            ceil::fma_peak_avx512_flops(iters)
        } else {
            ceil::fma_peak_flops(isa, iters)
        }
    }

    /// Runs the probe once; returns its work: FLOPs, or bytes read (the
    /// operand read again and again for at least [`READ_PROBE_S`], so that
    /// a read of a cached operand is not a few microseconds of clock noise).
    fn run(&self, p: &Prepared<'_>, isa: Isa) -> f64 {
        match *self {
            Probe::Fma { iters, avx512 } => {
                if avx512 {
                    std::hint::black_box(ceil::fma_peak_avx512(iters));
                } else {
                    std::hint::black_box(ceil::fma_peak(isa, iters));
                }
                Probe::fma_flops(avx512, isa, iters)
            }
            Probe::Read => {
                let (once, _) = p.operand_bytes(isa);
                let start = Instant::now();
                let mut reads = 0u32;
                while reads == 0 || start.elapsed().as_secs_f64() < READ_PROBE_S {
                    p.read_operand(isa);
                    reads += 1;
                }
                once * f64::from(reads)
            }
        }
    }
}

/// Which ceiling bounds a kernel of `flops` and `bytes`: compute at or
/// above the roofline's ridge, memory below it.
fn bound_of(flops: f64, bytes: f64, c: &Ceilings) -> Bound {
    let intensity = if bytes > 0.0 { flops / bytes } else { 0.0 };
    if intensity >= c.ridge_intensity() {
        Bound::Compute
    } else {
        Bound::Memory
    }
}

/// Find how many of `total` output units the scalar reference can compute
/// within the target time (doubling from one unit).
fn scalar_units(
    total: usize,
    target: f64,
    mut f: impl FnMut(usize) -> Result<(), BenchError>,
) -> Result<usize, BenchError> {
    let mut u = 1usize;
    loop {
        let t0 = Instant::now();
        f(u)?;
        let t = t0.elapsed().as_secs_f64();
        if u >= total {
            return Ok(total);
        }
        if t > target / 8.0 {
            let scaled = (u as f64 * target / t.max(1e-9)).floor() as usize;
            return Ok(scaled.clamp(u, total));
        }
        u = (u * 4).min(total);
    }
}

fn mismatch(case: &KernelCase, (index, err): (usize, f64)) -> BenchError {
    BenchError::Mismatch {
        name: case.name.clone(),
        variant: "simd".into(),
        max_err: err,
        index,
    }
}

fn abs_vec(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| x.abs()).collect()
}

fn run_case(case: &KernelCase, ctx: &mut Ctx) -> Result<CaseRun, BenchError> {
    let isa = ctx.isa;
    let sb = ctx.simd_budget();
    let qb = ctx.scalar_budget();
    let target = ctx.scalar_target();
    let (flops, bytes) = work(case);
    let bound = bound_of(flops, bytes, &ctx.ceilings);
    let probe = Probe::of(bound, &ctx.ceilings, isa, ctx.probe_seconds());
    let mut p = Prepared::new(case, isa, &mut ctx.cache)?;
    let mut probe_work = 0.0;
    let (simd, probe_s) = measure_paired(&sb, |turn| match turn {
        Turn::Kernel => {
            let _ = p.run(isa);
        }
        Turn::Probe => probe_work = probe.run(&p, isa),
    });
    // Like with like: the FLOPs of the kernel, or the bytes of the operand
    // it streams (its other operands are not in the probe's read).
    let kernel_work = match bound {
        Bound::Compute => flops,
        Bound::Memory => p.operand_bytes(isa).1,
    };
    let pairs: Vec<f64> = simd
        .samples
        .iter()
        .zip(&probe_s)
        .map(|(&t, &tp)| (kernel_work / t) / (probe_work / tp))
        .collect();
    // Only shares the result file can hold (a reader refuses others).
    let plausible = |x: &f64| x.is_finite() && (1e-9..=1e9).contains(x);
    let paired = (!pairs.is_empty() && pairs.iter().all(plausible)).then(|| quartiles(&pairs));
    // The scalar reference computes a prefix of the output units within
    // its time target, and the SIMD output is checked on that prefix.
    let (scalar, fraction) = match &p {
        Prepared::Gemv {
            w,
            x,
            y,
            rows,
            cols,
        } => {
            let (rows, cols) = (*rows, *cols);
            let mut ys = vec![0.0; rows];
            let u = scalar_units(rows, target, |u| {
                gemv_scalar(&w[..u * cols], x, &mut ys[..u], u, cols)
            })?;
            let scalar = measure(&qb, || {
                let _ = gemv_scalar(&w[..u * cols], x, &mut ys[..u], u, cols);
            });
            let mut ya = vec![0.0; u];
            gemv_scalar(&abs_vec(&w[..u * cols]), &abs_vec(x), &mut ya, u, cols)?;
            check_close(&y[..u], &ys[..u], &ya, cols).map_err(|e| mismatch(case, e))?;
            (scalar, u as f64 / rows as f64)
        }
        Prepared::Gemm {
            a,
            w,
            c,
            batch,
            inp,
            out,
            ..
        } => {
            let (batch, inp, out) = (*batch, *inp, *out);
            let mut cs = vec![0.0; batch * out];
            let u = scalar_units(out, target, |u| {
                gemm_scalar(a, &w[..u * inp], &mut cs[..batch * u], batch, inp, u)
            })?;
            let scalar = measure(&qb, || {
                let _ = gemm_scalar(a, &w[..u * inp], &mut cs[..batch * u], batch, inp, u);
            });
            let mut ca = vec![0.0; batch * u];
            gemm_scalar(&abs_vec(a), &abs_vec(&w[..u * inp]), &mut ca, batch, inp, u)?;
            let got: Vec<f32> = c
                .chunks_exact(out)
                .flat_map(|r| r[..u].iter().copied())
                .collect();
            check_close(&got, &cs[..batch * u], &ca, inp).map_err(|e| mismatch(case, e))?;
            (scalar, u as f64 / out as f64)
        }
        Prepared::Conv {
            shape: s,
            plan,
            weights,
            input,
            output,
            batch,
        } => {
            let (s, batch) = (*s, *batch);
            let (oh, ow) = plan.out_hw();
            let plane = oh * ow;
            let kred = s.reduction_len();
            let sub = |u: usize| ConvShape { cout: u, ..s };
            let mut os = vec![0.0; s.output_len()];
            let u = scalar_units(s.cout, target / batch as f64, |u| {
                conv2d_scalar(&sub(u), input, &weights[..u * kred], &mut os[..u * plane])
            })?;
            let scalar = measure(&qb, || {
                for _ in 0..batch {
                    let _ =
                        conv2d_scalar(&sub(u), input, &weights[..u * kred], &mut os[..u * plane]);
                }
            });
            let mut oa = vec![0.0; u * plane];
            conv2d_scalar(
                &sub(u),
                &abs_vec(input),
                &abs_vec(&weights[..u * kred]),
                &mut oa,
            )?;
            check_close(&output[..u * plane], &os[..u * plane], &oa, kred)
                .map_err(|e| mismatch(case, e))?;
            (scalar, u as f64 / s.cout as f64)
        }
        Prepared::Pool {
            input,
            out,
            c,
            hw,
            batch,
        } => {
            let (c, hw, batch) = (*c, *hw, *batch);
            let mut os = vec![0.0; c];
            let scalar = measure(&sb, || {
                for _ in 0..batch {
                    let _ = global_avg_pool_scalar(input, &mut os, c, hw);
                }
            });
            let mut oa = vec![0.0; c];
            global_avg_pool_scalar(&abs_vec(input), &mut oa, c, hw)?;
            check_close(out, &os, &oa, hw).map_err(|e| mismatch(case, e))?;
            (scalar, 1.0)
        }
    };
    Ok(CaseRun {
        simd,
        paired,
        scalar,
        fraction,
    })
}

fn scaled(m: &Measurement, fraction: f64) -> Measurement {
    let f = 1.0 / fraction.max(1e-12);
    Measurement {
        samples: m.samples.iter().map(|s| s * f).collect(),
        median_s: m.median_s * f,
        best_s: m.best_s * f,
        worst_s: m.worst_s * f,
        mad_s: m.mad_s * f,
        cpu_s: m.cpu_s * f,
        reps: m.reps,
    }
}

fn results_for(case: &KernelCase, r: &CaseRun, c: &Ceilings) -> Vec<KernelResult> {
    let (flops, bytes) = work(case);
    let scalar = scaled(&r.scalar, r.fraction);
    let speedup = if r.simd.median_s > 0.0 {
        Some(scalar.median_s / r.simd.median_s)
    } else {
        None
    };
    vec![
        kernel_result(
            case,
            Variant::Scalar,
            &scalar,
            flops,
            bytes,
            c,
            None,
            r.fraction,
        ),
        KernelResult {
            fraction_of_ceiling_paired: r.paired,
            ..kernel_result(case, Variant::Simd, &r.simd, flops, bytes, c, speedup, 1.0)
        },
    ]
}

/// Build one JSON record from a measurement of the whole problem.
#[allow(clippy::too_many_arguments)]
pub(crate) fn kernel_result(
    case: &KernelCase,
    variant: Variant,
    m: &Measurement,
    flops: f64,
    bytes: f64,
    c: &Ceilings,
    speedup: Option<f64>,
    fraction: f64,
) -> KernelResult {
    let t = m.median_s.max(1e-12);
    let gflops = flops / t / 1e9;
    let gbs = bytes / t / 1e9;
    let intensity = if bytes > 0.0 { flops / bytes } else { 0.0 };
    let bound = bound_of(flops, bytes, c);
    let fraction_of_ceiling = match bound {
        Bound::Compute if c.fma_peak_gflops > 0.0 => gflops / c.fma_peak_gflops,
        Bound::Memory if c.read_bandwidth_gbs > 0.0 => gbs / c.read_bandwidth_gbs,
        _ => 0.0,
    };
    KernelResult {
        name: case.name.clone(),
        layer: case.layer.clone(),
        variant,
        batch: case.batch,
        workload: case.workload.describe(),
        median_s: m.median_s,
        best_s: m.best_s,
        worst_s: m.worst_s,
        mad_s: m.mad_s,
        samples: m.samples.len(),
        cpu_s: m.cpu_s,
        flops,
        bytes,
        gflops,
        gbs,
        intensity,
        bound,
        fraction_of_ceiling,
        fraction_of_ceiling_paired: None,
        speedup_vs_scalar: speedup,
        measured_fraction: fraction,
    }
}

/// Work model of a case as (FLOPs, minimum bytes); public for peer comparisons.
pub fn case_work(case: &KernelCase) -> (f64, f64) {
    work(case)
}

/// A plain-text table of the ceilings and kernels for the terminal.
pub fn summary_table(r: &BenchReport) -> String {
    use std::fmt::Write;
    let c = &r.ceilings;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "machine: {} ({} cores, {}, {}, {}){}",
        r.machine.cpu(),
        r.machine.cores,
        r.machine.features.join("+"),
        r.machine.build_profile,
        r.machine.date,
        r.machine
            .load_avg_start
            .map(|l| format!(", load {:.2} {:.2} {:.2}", l[0], l[1], l[2]))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "ceilings: FMA peak {:.1} GFLOP/s (scalar {:.1}); read {:.1} GB/s (fc6 rows; 1 stream {:.1}, 4 streams {:.1}, 4 streams 4K pages {:.1}); triad {:.1} GB/s; L1 {:.0} GB/s, L2 {:.0} GB/s, L3 {}; ridge {:.1} FLOP/B",
        c.fma_peak_gflops,
        c.fma_scalar_gflops,
        c.read_bandwidth_gbs,
        c.read_bandwidth_1stream_gbs,
        c.read_bandwidth_4stream_gbs,
        c.read_bandwidth_4stream_small_pages_gbs,
        c.triad_bandwidth_gbs,
        c.read_bandwidth_l1_gbs,
        c.read_bandwidth_l2_gbs,
        c.read_bandwidth_l3_gbs
            .map_or_else(|| "not measured".to_string(), |g| format!("{g:.0} GB/s")),
        c.ridge_intensity()
    );
    let _ = writeln!(
        s,
        "{:<22} {:<6} {:>5} {:>11} {:>9} {:>8} {:>8} {:<7} {:>7} {:>7} {:>8}",
        "kernel",
        "var",
        "batch",
        "median ms",
        "GFLOP/s",
        "GB/s",
        "FLOP/B",
        "bound",
        "% ceil",
        "paired",
        "speedup"
    );
    for k in &r.kernels {
        let _ = writeln!(
            s,
            "{:<22} {:<6} {:>5} {:>11.3} {:>9.2} {:>8.2} {:>8.2} {:<7} {:>6.1}% {:>7} {:>8}",
            k.name,
            k.variant.as_str(),
            k.batch,
            k.median_s * 1e3,
            k.gflops,
            k.gbs,
            k.intensity,
            match k.bound {
                Bound::Compute => "compute",
                Bound::Memory => "memory",
            },
            k.fraction_of_ceiling * 100.0,
            k.fraction_of_ceiling_paired
                .map(|[_, m, _]| format!("{:.1}%", m * 100.0))
                .unwrap_or_default(),
            k.speedup_vs_scalar
                .map(|v| format!("{v:.1}x"))
                .unwrap_or_default()
        );
    }
    s
}

/// The value of the first /proc/cpuinfo line whose field is `field`.
fn cpuinfo(field: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == field)
        .map(|(_, v)| v.trim().to_string())
}

fn cpu_model() -> String {
    cpuinfo("model name").unwrap_or_else(|| "unknown".to_string())
}

fn cpu_family_model() -> Option<[u32; 2]> {
    Some([
        cpuinfo("cpu family")?.parse().ok()?,
        cpuinfo("model")?.parse().ok()?,
    ])
}

/// Current UTC time as RFC 3339 (civil-from-days conversion, no time zone data).
pub(crate) fn utc_now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Format seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // days since 1970-01-01 -> civil date (proleptic Gregorian)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn filter_and_validation() {
        let cases = super::super::demo_cases();
        assert!(matches!(
            select(&cases, Some("nope")),
            Err(BenchError::NoMatch(_))
        ));
        assert_eq!(select(&cases, Some("FC6")).unwrap().len(), 3);
        let bad = KernelCase {
            name: "bad".into(),
            layer: None,
            batch: 2,
            workload: Workload::Gemm {
                batch: 3,
                inp: 4,
                out: 5,
            },
        };
        assert!(validate_case(&bad).is_err());
        let bad = KernelCase {
            name: "bad".into(),
            layer: None,
            batch: 1,
            workload: Workload::Conv {
                cin: 1,
                cout: 1,
                h: 2,
                w: 2,
                k: 5,
                stride: 1,
                pad: 0,
            },
        };
        assert!(validate_case(&bad).is_err());
        for c in &cases {
            validate_case(c).unwrap();
        }
    }

    #[test]
    fn a_kernel_is_paired_with_the_ceiling_that_bounds_it() {
        let c = Ceilings {
            fma_peak_gflops: 100.0,
            fma_peak_avx2_gflops: None,
            fma_peak_avx512_gflops: None,
            fma_scalar_gflops: 5.0,
            read_bandwidth_gbs: 10.0,
            triad_bandwidth_gbs: 8.0,
            read_bandwidth_1stream_gbs: 6.0,
            read_bandwidth_4stream_gbs: 10.0,
            read_bandwidth_4stream_small_pages_gbs: 9.0,
            read_bandwidth_fc6_gbs: 10.0,
            read_bandwidth_l1_gbs: 200.0,
            read_bandwidth_l2_gbs: 100.0,
            read_bandwidth_l3_gbs: None,
            cache_bytes: Vec::new(),
            dram_buffer_bytes: 1,
        };
        // The ridge is 10 FLOP/B: at it a kernel is compute-bound.
        assert_eq!(bound_of(100.0, 10.0, &c), Bound::Compute);
        assert_eq!(bound_of(99.0, 10.0, &c), Bound::Memory);
        assert!(matches!(
            Probe::of(Bound::Memory, &c, Isa::Portable, 2e-3),
            Probe::Read
        ));
        // 2 ms of the peak loop at the measured 100 GFLOP/s (no AVX-512
        // peak was measured, so the kernels' own instruction set's loop).
        let Probe::Fma { iters, avx512 } = Probe::of(Bound::Compute, &c, Isa::Portable, 2e-3)
        else {
            panic!("a compute-bound kernel is paired with the FMA peak loop")
        };
        assert!(!avx512);
        let seconds = Probe::fma_flops(false, Isa::Portable, iters) / 100e9;
        assert!((seconds - 2e-3).abs() < 1e-5, "{seconds}");
    }
}
