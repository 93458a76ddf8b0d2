//! Machine ceilings: peak FMA throughput (SIMD and scalar), memory read
//! bandwidth with several streams, and the STREAM-style triad.
//!
//! Each function does the work and returns a value that depends on it (so
//! the optimiser cannot drop it); the harness times the calls.

use super::Isa;

/// Independent accumulators in the FMA peak loops (latency 4 x 2 pipes needs >= 8).
pub const FMA_ACCUMULATORS: usize = 12;

/// FLOPs done by [`fma_peak`] for `iters` iterations with `isa`.
pub fn fma_peak_flops(isa: Isa, iters: u64) -> f64 {
    let lanes = match isa.narrow() {
        Isa::Avx2Fma | Isa::Avx512 => 8.0,
        Isa::Portable => 4.0,
    };
    iters as f64 * FMA_ACCUMULATORS as f64 * lanes * 2.0
}

/// Run `iters` iterations of 12 independent vector FMAs.
pub fn fma_peak(isa: Isa, iters: u64) -> f32 {
    match isa.narrow() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avx2+fma checked by usable().
        Isa::Avx2Fma => unsafe { avx2::fma_peak(iters) },
        _ => portable_peak(iters),
    }
}

/// Whether this machine runs AVX-512F.
pub fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// FLOPs done by [`fma_peak_avx512`] for `iters` iterations.
pub fn fma_peak_avx512_flops(iters: u64) -> f64 {
    iters as f64 * FMA_ACCUMULATORS as f64 * 16.0 * 2.0
}

/// Run `iters` iterations of 12 independent 512-bit FMAs; `None` without AVX-512F.
pub fn fma_peak_avx512(iters: u64) -> Option<f32> {
    #[cfg(target_arch = "x86_64")]
    if avx512_available() {
        // SAFETY: avx512f checked just above.
        return Some(unsafe { avx512::fma_peak(iters) });
    }
    let _ = iters;
    None
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::FMA_ACCUMULATORS;
    use std::arch::x86_64::*;

    /// 12 independent `vfmadd` on zmm registers per iteration.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn fma_peak(iters: u64) -> f32 {
        let b = _mm512_set1_ps(std::hint::black_box(0.999));
        let c = _mm512_set1_ps(std::hint::black_box(0.001));
        let mut acc = [_mm512_setzero_ps(); FMA_ACCUMULATORS];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = _mm512_fmadd_ps(*a, b, c);
            }
        }
        let mut s = _mm512_setzero_ps();
        for a in acc {
            s = _mm512_add_ps(s, a);
        }
        _mm512_reduce_add_ps(s)
    }
}

/// FLOPs done by [`fma_scalar`] for `iters` iterations.
pub fn fma_scalar_flops(iters: u64) -> f64 {
    iters as f64 * FMA_ACCUMULATORS as f64 * 2.0
}

/// Run `iters` iterations of 12 independent scalar multiply-adds (hardware
/// FMA where available).
pub fn fma_scalar(iters: u64) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if Isa::Avx2Fma.available() {
        // SAFETY: fma checked.
        return unsafe { avx2::fma_scalar(iters) };
    }
    scalar_mul_add(iters)
}

fn portable_peak(iters: u64) -> f32 {
    let mut acc = [[0.0f32; 4]; FMA_ACCUMULATORS];
    let b = std::hint::black_box([0.999_f32; 4]);
    let c = std::hint::black_box([0.001_f32; 4]);
    for _ in 0..iters {
        for a in acc.iter_mut() {
            for l in 0..4 {
                a[l] = a[l] * b[l] + c[l];
            }
        }
    }
    acc.iter().flatten().sum()
}

fn scalar_mul_add(iters: u64) -> f32 {
    let mut acc = [0.0f32; FMA_ACCUMULATORS];
    let b = std::hint::black_box(0.999_f32);
    let c = std::hint::black_box(0.001_f32);
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = *a * b + c;
        }
        acc = std::hint::black_box(acc);
    }
    acc.iter().sum()
}

/// Sum a buffer reading `streams` equal contiguous segments concurrently
/// (streams in 1, 2, 4, 8; others are rounded down to one of these).
pub fn read_sum(isa: Isa, buf: &[f32], streams: usize) -> f32 {
    let s = stream_count(streams);
    match isa.narrow() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avx2 checked by usable().
        Isa::Avx2Fma => unsafe {
            match s {
                1 => avx2::read_streams::<1>(buf),
                2 => avx2::read_streams::<2>(buf),
                4 => avx2::read_streams::<4>(buf),
                _ => avx2::read_streams::<8>(buf),
            }
        },
        _ => {
            let seg = buf.len() / s;
            let mut acc = [[0.0f32; 8]; 8];
            for i in (0..seg - seg % 8).step_by(8) {
                for (j, a) in acc.iter_mut().enumerate().take(s) {
                    let v = &buf[j * seg + i..j * seg + i + 8];
                    for l in 0..8 {
                        a[l] += v[l];
                    }
                }
            }
            acc.iter().flatten().sum()
        }
    }
}

/// The streams [`read_sum`] runs for `streams` asked: 1, 2, 4 or 8.
fn stream_count(streams: usize) -> usize {
    match streams {
        0 | 1 => 1,
        2 | 3 => 2,
        4..=7 => 4,
        _ => 8,
    }
}

/// Floats [`read_sum`] reads of a buffer of `len` floats in `streams`
/// streams: whole vector chunks of each equal segment (16 floats with AVX2
/// or wider, 8 portable); the rest is left unread.
pub fn read_sum_len(isa: Isa, len: usize, streams: usize) -> usize {
    let s = stream_count(streams);
    let chunk = match isa.narrow() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => 16,
        _ => 8,
    };
    len / s / chunk * chunk * s
}

/// Floats [`read_rows`] reads of a `rows x cols` matrix.
pub fn read_rows_len(isa: Isa, len: usize, rows: usize, cols: usize) -> usize {
    let streams = super::gemv::ROWS_PER_PASS;
    let n = rows.min(len / cols.max(1));
    let split = n / streams * streams * cols;
    read_sum_len(isa, split, streams) + read_sum_len(isa, n * cols - split, 1)
}

/// Read a `rows x cols` matrix the way the GEMV does: its blocks of whole
/// rows (one per stream) side by side, then the rows left over.
pub fn read_rows(isa: Isa, buf: &[f32], rows: usize, cols: usize) -> f32 {
    let streams = super::gemv::ROWS_PER_PASS;
    let n = rows.min(buf.len() / cols.max(1));
    let split = n / streams * streams * cols;
    let mut s = 0.0;
    if split > 0 {
        s += read_sum(isa, &buf[..split], streams);
    }
    if split < n * cols {
        s += read_sum(isa, &buf[split..n * cols], 1);
    }
    s
}

/// Triad `a[i] = b[i] + s * c[i]` over the common length.
pub fn triad(isa: Isa, a: &mut [f32], b: &[f32], c: &[f32], s: f32) {
    let n = a.len().min(b.len()).min(c.len());
    match isa.narrow() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avx2+fma checked; n bounds every slice.
        Isa::Avx2Fma => unsafe { avx2::triad(&mut a[..n], &b[..n], &c[..n], s) },
        _ => {
            for ((x, y), z) in a[..n].iter_mut().zip(&b[..n]).zip(&c[..n]) {
                *x = y + s * z;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! AVX2+FMA ceiling loops.
    use super::FMA_ACCUMULATORS;
    use crate::bench::kernels::gemv::avx2::hsum;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn fma_peak(iters: u64) -> f32 {
        let b = _mm256_set1_ps(std::hint::black_box(0.999));
        let c = _mm256_set1_ps(std::hint::black_box(0.001));
        let mut acc = [_mm256_setzero_ps(); FMA_ACCUMULATORS];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = _mm256_fmadd_ps(*a, b, c);
            }
        }
        let mut s = _mm256_setzero_ps();
        for a in acc {
            s = _mm256_add_ps(s, a);
        }
        hsum(s)
    }

    /// 12 independent scalar `vfmadd231ss` per iteration, written in asm so
    /// the compiler can neither vectorise nor drop them.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn fma_scalar(iters: u64) -> f32 {
        let b = _mm_set_ss(std::hint::black_box(0.999));
        let c = _mm_set_ss(std::hint::black_box(0.001));
        let mut a = [_mm_setzero_ps(); FMA_ACCUMULATORS];
        for _ in 0..iters {
            // SAFETY: register-only FMA instructions; fma is enabled.
            unsafe {
                std::arch::asm!(
                    "vfmadd231ss {a0}, {b}, {c}",
                    "vfmadd231ss {a1}, {b}, {c}",
                    "vfmadd231ss {a2}, {b}, {c}",
                    "vfmadd231ss {a3}, {b}, {c}",
                    "vfmadd231ss {a4}, {b}, {c}",
                    "vfmadd231ss {a5}, {b}, {c}",
                    "vfmadd231ss {a6}, {b}, {c}",
                    "vfmadd231ss {a7}, {b}, {c}",
                    "vfmadd231ss {a8}, {b}, {c}",
                    "vfmadd231ss {a9}, {b}, {c}",
                    "vfmadd231ss {a10}, {b}, {c}",
                    "vfmadd231ss {a11}, {b}, {c}",
                    a0 = inout(xmm_reg) a[0],
                    a1 = inout(xmm_reg) a[1],
                    a2 = inout(xmm_reg) a[2],
                    a3 = inout(xmm_reg) a[3],
                    a4 = inout(xmm_reg) a[4],
                    a5 = inout(xmm_reg) a[5],
                    a6 = inout(xmm_reg) a[6],
                    a7 = inout(xmm_reg) a[7],
                    a8 = inout(xmm_reg) a[8],
                    a9 = inout(xmm_reg) a[9],
                    a10 = inout(xmm_reg) a[10],
                    a11 = inout(xmm_reg) a[11],
                    b = in(xmm_reg) b,
                    c = in(xmm_reg) c,
                    options(pure, nomem, nostack),
                );
            }
        }
        a.iter().map(|v| _mm_cvtss_f32(*v)).sum()
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn read_streams<const S: usize>(buf: &[f32]) -> f32 {
        let seg = buf.len() / S;
        let p = buf.as_ptr();
        let mut acc = [[_mm256_setzero_ps(); 2]; S];
        let mut i = 0;
        // SAFETY: j * seg + i + 16 <= (j + 1) * seg <= len.
        unsafe {
            while i + 16 <= seg {
                for (j, a) in acc.iter_mut().enumerate() {
                    let q = p.add(j * seg + i);
                    a[0] = _mm256_add_ps(a[0], _mm256_loadu_ps(q));
                    a[1] = _mm256_add_ps(a[1], _mm256_loadu_ps(q.add(8)));
                }
                i += 16;
            }
        }
        let mut s = _mm256_setzero_ps();
        for a in acc {
            s = _mm256_add_ps(s, _mm256_add_ps(a[0], a[1]));
        }
        hsum(s)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn triad(a: &mut [f32], b: &[f32], c: &[f32], s: f32) {
        let n = a.len();
        let sv = _mm256_set1_ps(s);
        let mut i = 0;
        // SAFETY: all three slices have length n; i + 8 <= n.
        unsafe {
            while i + 8 <= n {
                let v = _mm256_fmadd_ps(
                    sv,
                    _mm256_loadu_ps(c.as_ptr().add(i)),
                    _mm256_loadu_ps(b.as_ptr().add(i)),
                );
                _mm256_storeu_ps(a.as_mut_ptr().add(i), v);
                i += 8;
            }
        }
        for j in i..n {
            a[j] = b[j] + s * c[j];
        }
    }
}
