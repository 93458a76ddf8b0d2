//! GEMV y = W x with W row-major `rows x cols` (fp32): scalar reference,
//! and one SIMD body streaming 8 blocks of rows at once, instantiated for
//! AVX-512, AVX2 and portable code.

use super::simd::{entry_points, Simd};
use super::Isa;
use crate::bench::error::{check_len, shape_err, BenchError};

/// Rows of W read together in one pass, one from each block (8 DRAM
/// streams: 1.14x 4 on fc6, level with 12; 8 alternating rounds).
pub const ROWS_PER_PASS: usize = 8;
/// Weights larger than this (the dev machine's L3, 32 MiB) are streamed
/// from DRAM.
const DRAM_W_BYTES: usize = 32 << 20;
/// Vectors of each row per step.
const PASS_VECTORS: usize = 1;

fn validate(w: &[f32], x: &[f32], y: &[f32], rows: usize, cols: usize) -> Result<(), BenchError> {
    if rows == 0 || cols == 0 {
        return Err(shape_err("gemv", "rows and cols must be positive"));
    }
    let n = rows
        .checked_mul(cols)
        .ok_or_else(|| shape_err("gemv", "rows*cols overflows"))?;
    check_len("w", w.len(), n)?;
    check_len("x", x.len(), cols)?;
    check_len("y", y.len(), rows)
}

/// Scalar reference: one dot product per row, summed left to right.
pub fn gemv_scalar(
    w: &[f32],
    x: &[f32],
    y: &mut [f32],
    rows: usize,
    cols: usize,
) -> Result<(), BenchError> {
    validate(w, x, y, rows, cols)?;
    for (yr, wr) in y.iter_mut().zip(w.chunks_exact(cols)) {
        let mut s = 0.0f32;
        for (a, b) in wr.iter().zip(x) {
            s += a * b;
        }
        *yr = s;
    }
    Ok(())
}

/// GEMV with the given instruction set (the best one at or below it that
/// this CPU has).
pub fn gemv(
    isa: Isa,
    w: &[f32],
    x: &[f32],
    y: &mut [f32],
    rows: usize,
    cols: usize,
) -> Result<(), BenchError> {
    validate(w, x, y, rows, cols)?;
    // A W streamed from DRAM runs the AVX2 instantiation on AVX-512 CPUs
    // too. On the dev machine (Zen 4) its 256-bit loads read fc6 1.04-1.22x
    // and fc7 0.88-1.26x as fast as 512-bit ones (four sessions of 5-8
    // alternating rounds), while fc8 and ResNet's fc, whose W fits the L3,
    // ran 0.88x with them. `gemv_rows::avx512` stays tested.
    let isa = if rows * cols * 4 > DRAM_W_BYTES {
        isa.narrow()
    } else {
        isa
    };
    // SAFETY: lengths validated above; the ISA is checked by `on`.
    unsafe { gemv_rows::on(isa, w.as_ptr(), x.as_ptr(), y.as_mut_ptr(), rows, cols) };
    Ok(())
}

/// y = W x over pointers: W is cut into 8 blocks of whole rows, and each
/// pass takes the next row of every block; the rows left over run alone.
///
/// The 8 streams so run on unbroken through their blocks. Taking 8
/// consecutive rows per pass instead restarts every stream each pass (a
/// jump of 7 rows), and each restart costs the hardware prefetcher its
/// ramp-up.
///
/// # Safety
/// `w` holds rows x cols floats, `x` cols, `y` rows; the CPU has `S`'s ISA.
#[inline(always)]
unsafe fn gemv_rows<S: Simd>(w: *const f32, x: *const f32, y: *mut f32, rows: usize, cols: usize) {
    let block = rows / ROWS_PER_PASS;
    // SAFETY (whole body): row offsets stay inside w and y.
    unsafe {
        for i in 0..block {
            let mut starts = [w; ROWS_PER_PASS];
            for (b, p) in starts.iter_mut().enumerate() {
                *p = w.add((b * block + i) * cols);
            }
            let s = rows_dot::<S, ROWS_PER_PASS, PASS_VECTORS>(&starts, cols, x);
            for (b, v) in s.iter().enumerate() {
                *y.add(b * block + i) = *v;
            }
        }
        for r in block * ROWS_PER_PASS..rows {
            *y.add(r) = dot::<S>(w.add(r * cols), x, cols);
        }
    }
}

entry_points!(
    /// Entry points of [`gemv_rows()`].
    fn gemv_rows(w: *const f32, x: *const f32, y: *mut f32, rows: usize, cols: usize)
);

/// Dot products of `R` rows with x: `NV` vectors of each row per step
/// (`R * NV` accumulators), partial loads for the tail.
///
/// # Safety
/// Each of `rows` holds cols floats, `x` cols; the CPU has `S`'s ISA.
#[inline(always)]
unsafe fn rows_dot<S: Simd, const R: usize, const NV: usize>(
    rows: &[*const f32; R],
    cols: usize,
    x: *const f32,
) -> [f32; R] {
    let l = S::LANES;
    // SAFETY (whole body): offsets stay below cols in every row.
    unsafe {
        let mut a = [[S::zero(); NV]; R];
        let mut k = 0;
        while k + NV * l <= cols {
            let mut xv = [S::zero(); NV];
            for (v, xx) in xv.iter_mut().enumerate() {
                *xx = S::load(x.add(k + v * l));
            }
            for (ar, wr) in a.iter_mut().zip(rows) {
                for (v, (av, xx)) in ar.iter_mut().zip(&xv).enumerate() {
                    *av = S::fma(S::load(wr.add(k + v * l)), *xx, *av);
                }
            }
            k += NV * l;
        }
        let mut v = 0;
        while k < cols {
            let n = l.min(cols - k);
            let xx = S::load_partial(x.add(k), n);
            for (ar, wr) in a.iter_mut().zip(rows) {
                ar[v] = S::fma(S::load_partial(wr.add(k), n), xx, ar[v]);
            }
            k += n;
            v = (v + 1) % NV;
        }
        // Loops, not `array::map`: that one is not inlined, and the
        // vector sums inside it would become calls.
        let mut out = [0.0f32; R];
        for (o, ar) in out.iter_mut().zip(&a) {
            let mut t = ar[0];
            for av in &ar[1..] {
                t = S::add(t, *av);
            }
            *o = S::sum(t);
        }
        out
    }
}

/// Dot product of `n` floats.
///
/// # Safety
/// `w` and `x` hold n floats; the CPU has `S`'s ISA.
#[inline(always)]
pub(crate) unsafe fn dot<S: Simd>(w: *const f32, x: *const f32, n: usize) -> f32 {
    let l = S::LANES;
    // SAFETY (whole body): offsets stay below n.
    unsafe {
        let (mut a0, mut a1) = (S::zero(), S::zero());
        let mut k = 0;
        while k + 2 * l <= n {
            a0 = S::fma(S::load(w.add(k)), S::load(x.add(k)), a0);
            a1 = S::fma(S::load(w.add(k + l)), S::load(x.add(k + l)), a1);
            k += 2 * l;
        }
        if k + l <= n {
            a0 = S::fma(S::load(w.add(k)), S::load(x.add(k)), a0);
            k += l;
        }
        if k < n {
            a1 = S::fma(
                S::load_partial(w.add(k), n - k),
                S::load_partial(x.add(k), n - k),
                a1,
            );
        }
        S::sum(S::add(a0, a1))
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    //! An AVX2 helper of the ceiling loops.
    use std::arch::x86_64::*;

    /// Horizontal sum of 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::buffer::random_vec;
    use crate::bench::kernels::check_close;

    /// Every instantiation, including the AVX-512 one that `gemv` does not
    /// pick: rows below, at and past the 8 blocks, columns with tails.
    #[test]
    fn every_gemv_instantiation_agrees_with_the_scalar_reference() {
        for (rows, cols) in [(1, 1), (7, 33), (8, 16), (17, 100), (64, 257), (3, 1000)] {
            let w = random_vec(rows * cols, 3);
            let x = random_vec(cols, 4);
            let abs = |v: &[f32]| v.iter().map(|a| a.abs()).collect::<Vec<_>>();
            let mut want = vec![0.0; rows];
            let mut bound = vec![0.0; rows];
            gemv_scalar(&w, &x, &mut want, rows, cols).unwrap();
            gemv_scalar(&abs(&w), &abs(&x), &mut bound, rows, cols).unwrap();
            for isa in Isa::all_available() {
                let mut got = vec![f32::NAN; rows];
                // SAFETY: buffers sized for rows x cols; `on` checks the ISA.
                unsafe { gemv_rows::on(isa, w.as_ptr(), x.as_ptr(), got.as_mut_ptr(), rows, cols) };
                check_close(&got, &want, &bound, cols)
                    .unwrap_or_else(|e| panic!("{isa:?} gemv {rows}x{cols}: {e:?}"));
            }
        }
    }
}
