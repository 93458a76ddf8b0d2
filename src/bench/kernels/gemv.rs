//! GEMV y = W x with W row-major `rows x cols` (fp32): scalar reference,
//! AVX2+FMA kernel streaming 4 rows per pass, portable fallback.

use super::Isa;
use crate::bench::error::{check_len, shape_err, BenchError};

/// Rows of W read together in one pass (4 DRAM streams).
pub const ROWS_PER_PASS: usize = 4;

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

/// GEMV with the given instruction set (falls back to portable if unavailable).
pub fn gemv(
    isa: Isa,
    w: &[f32],
    x: &[f32],
    y: &mut [f32],
    rows: usize,
    cols: usize,
) -> Result<(), BenchError> {
    validate(w, x, y, rows, cols)?;
    match isa.usable() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: usable() confirmed avx2+fma; lengths validated above.
        Isa::Avx2Fma => unsafe { avx2::gemv(w, x, y, rows, cols) },
        _ => gemv_portable(w, x, y, cols),
    }
    Ok(())
}

/// Portable blocked GEMV: 4 rows per pass, 8 lane-wise partial sums per row.
fn gemv_portable(w: &[f32], x: &[f32], y: &mut [f32], cols: usize) {
    let mut row_blocks = w.chunks_exact(cols * ROWS_PER_PASS);
    let mut y_blocks = y.chunks_exact_mut(ROWS_PER_PASS);
    for (wb, yb) in (&mut row_blocks).zip(&mut y_blocks) {
        let mut acc = [[0.0f32; 8]; ROWS_PER_PASS];
        let main = cols - cols % 8;
        let mut k = 0;
        while k < main {
            let xv = &x[k..k + 8];
            for (r, a) in acc.iter_mut().enumerate() {
                let wv = &wb[r * cols + k..r * cols + k + 8];
                for l in 0..8 {
                    a[l] += wv[l] * xv[l];
                }
            }
            k += 8;
        }
        for (r, a) in acc.iter().enumerate() {
            let mut s: f32 = a.iter().sum();
            for kk in main..cols {
                s += wb[r * cols + kk] * x[kk];
            }
            yb[r] = s;
        }
    }
    for (wr, yr) in row_blocks
        .remainder()
        .chunks_exact(cols)
        .zip(y_blocks.into_remainder())
    {
        let mut acc = [0.0f32; 8];
        let main = cols - cols % 8;
        for (wc, xc) in wr[..main].chunks_exact(8).zip(x[..main].chunks_exact(8)) {
            for l in 0..8 {
                acc[l] += wc[l] * xc[l];
            }
        }
        let mut s: f32 = acc.iter().sum();
        for kk in main..cols {
            s += wr[kk] * x[kk];
        }
        *yr = s;
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    //! AVX2+FMA GEMV kernels and shared vector helpers.
    use std::arch::x86_64::*;

    const MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    /// Mask selecting the first `rem` (< 8) lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn tail_mask(rem: usize) -> __m256i {
        // SAFETY: 8 - rem is in 1..=8, so 8 ints starting there are in bounds.
        unsafe { _mm256_loadu_si256(MASKS.as_ptr().add(8 - rem).cast::<__m256i>()) }
    }

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

    /// y = W x; caller guarantees avx2+fma and validated lengths.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn gemv(w: &[f32], x: &[f32], y: &mut [f32], rows: usize, cols: usize) {
        let wp = w.as_ptr();
        let xp = x.as_ptr();
        let mut r = 0;
        while r + 4 <= rows {
            // SAFETY: rows r..r+4 are inside w (validated rows*cols).
            let s = unsafe { rows4(wp.add(r * cols), cols, xp) };
            y[r..r + 4].copy_from_slice(&s);
            r += 4;
        }
        while r < rows {
            // SAFETY: row r is inside w.
            y[r] = unsafe { row1(wp.add(r * cols), xp, cols) };
            r += 1;
        }
    }

    /// Dot products of 4 consecutive rows (stride `cols`) with x.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows4(w: *const f32, cols: usize, x: *const f32) -> [f32; 4] {
        // SAFETY (whole body): every pointer offset stays below 4*cols for w
        // and below cols for x; tails use masked loads.
        unsafe {
            let w0 = w;
            let w1 = w.add(cols);
            let w2 = w.add(2 * cols);
            let w3 = w.add(3 * cols);
            let mut a = [_mm256_setzero_ps(); 8];
            let mut k = 0;
            while k + 16 <= cols {
                let x0 = _mm256_loadu_ps(x.add(k));
                let x1 = _mm256_loadu_ps(x.add(k + 8));
                a[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w0.add(k)), x0, a[0]);
                a[1] = _mm256_fmadd_ps(_mm256_loadu_ps(w0.add(k + 8)), x1, a[1]);
                a[2] = _mm256_fmadd_ps(_mm256_loadu_ps(w1.add(k)), x0, a[2]);
                a[3] = _mm256_fmadd_ps(_mm256_loadu_ps(w1.add(k + 8)), x1, a[3]);
                a[4] = _mm256_fmadd_ps(_mm256_loadu_ps(w2.add(k)), x0, a[4]);
                a[5] = _mm256_fmadd_ps(_mm256_loadu_ps(w2.add(k + 8)), x1, a[5]);
                a[6] = _mm256_fmadd_ps(_mm256_loadu_ps(w3.add(k)), x0, a[6]);
                a[7] = _mm256_fmadd_ps(_mm256_loadu_ps(w3.add(k + 8)), x1, a[7]);
                k += 16;
            }
            while k + 8 <= cols {
                let x0 = _mm256_loadu_ps(x.add(k));
                a[0] = _mm256_fmadd_ps(_mm256_loadu_ps(w0.add(k)), x0, a[0]);
                a[2] = _mm256_fmadd_ps(_mm256_loadu_ps(w1.add(k)), x0, a[2]);
                a[4] = _mm256_fmadd_ps(_mm256_loadu_ps(w2.add(k)), x0, a[4]);
                a[6] = _mm256_fmadd_ps(_mm256_loadu_ps(w3.add(k)), x0, a[6]);
                k += 8;
            }
            if k < cols {
                let m = tail_mask(cols - k);
                let x0 = _mm256_maskload_ps(x.add(k), m);
                a[1] = _mm256_fmadd_ps(_mm256_maskload_ps(w0.add(k), m), x0, a[1]);
                a[3] = _mm256_fmadd_ps(_mm256_maskload_ps(w1.add(k), m), x0, a[3]);
                a[5] = _mm256_fmadd_ps(_mm256_maskload_ps(w2.add(k), m), x0, a[5]);
                a[7] = _mm256_fmadd_ps(_mm256_maskload_ps(w3.add(k), m), x0, a[7]);
            }
            [
                hsum(_mm256_add_ps(a[0], a[1])),
                hsum(_mm256_add_ps(a[2], a[3])),
                hsum(_mm256_add_ps(a[4], a[5])),
                hsum(_mm256_add_ps(a[6], a[7])),
            ]
        }
    }

    /// Dot product of one row with x.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn row1(w: *const f32, x: *const f32, n: usize) -> f32 {
        // SAFETY: offsets stay below n for both pointers; tail is masked.
        unsafe {
            let mut a0 = _mm256_setzero_ps();
            let mut a1 = _mm256_setzero_ps();
            let mut k = 0;
            while k + 16 <= n {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w.add(k)), _mm256_loadu_ps(x.add(k)), a0);
                a1 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(w.add(k + 8)),
                    _mm256_loadu_ps(x.add(k + 8)),
                    a1,
                );
                k += 16;
            }
            while k + 8 <= n {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w.add(k)), _mm256_loadu_ps(x.add(k)), a0);
                k += 8;
            }
            if k < n {
                let m = tail_mask(n - k);
                a1 = _mm256_fmadd_ps(
                    _mm256_maskload_ps(w.add(k), m),
                    _mm256_maskload_ps(x.add(k), m),
                    a1,
                );
            }
            hsum(_mm256_add_ps(a0, a1))
        }
    }
}
