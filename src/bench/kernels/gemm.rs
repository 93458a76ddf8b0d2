//! Linear layer at batch N: C = A Wᵀ with A `m x k` (batch x in), W `n x k`
//! (out x in, PyTorch layout, so B = Wᵀ is `in x out`), C `m x n`, all
//! row-major fp32.
//!
//! The SIMD kernel is a blocked "dot-product" GEMM: a register tile of
//! 3 W rows x 4 A rows keeps 12 AVX2 accumulators (enough to hide FMA
//! latency), both operands are read along k so neither needs packing (rows
//! are contiguous), and blocking over k (A block in L2) and batch rows (W
//! chunk in L1) gives reuse. The weights stream from memory exactly once,
//! which is what makes batch 8 cost about the same as batch 1 on fc6.
//! At batch 1 it is the GEMV kernel.

use super::Isa;
use crate::bench::error::{check_len, shape_err, BenchError};

/// W rows per register tile.
pub const TILE_N: usize = 3;
/// A rows (batch rows) per register tile.
pub const TILE_M: usize = 4;
/// Byte budget for the A block kept in L2.
const A_BLOCK_BYTES: usize = 256 << 10;

fn validate(
    a: &[f32],
    w: &[f32],
    c: &[f32],
    m: usize,
    k: usize,
    n: usize,
) -> Result<(), BenchError> {
    if m == 0 || k == 0 || n == 0 {
        return Err(shape_err("gemm", "m, k and n must be positive"));
    }
    let over = || shape_err("gemm", "size overflows");
    check_len("a", a.len(), m.checked_mul(k).ok_or_else(over)?)?;
    check_len("w", w.len(), n.checked_mul(k).ok_or_else(over)?)?;
    check_len("c", c.len(), m.checked_mul(n).ok_or_else(over)?)
}

/// Scalar reference: each C[i][j] is one dot product summed left to right.
pub fn gemm_scalar(
    a: &[f32],
    w: &[f32],
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) -> Result<(), BenchError> {
    validate(a, w, c, m, k, n)?;
    for (ar, cr) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)) {
        for (cv, wr) in cr.iter_mut().zip(w.chunks_exact(k)) {
            let mut s = 0.0f32;
            for (x, y) in ar.iter().zip(wr) {
                s += x * y;
            }
            *cv = s;
        }
    }
    Ok(())
}

/// Block sizes (kc, mc) for a problem; kc is a multiple of 8 unless it is k.
pub(crate) fn blocking(m: usize, k: usize) -> (usize, usize) {
    if m <= TILE_M {
        return (k, m);
    }
    let target = (A_BLOCK_BYTES / (4 * m)).max(512);
    let kc = if target >= k {
        k
    } else {
        let blocks = k.div_ceil(target);
        k.div_ceil(blocks).div_ceil(8) * 8
    };
    let mc = (A_BLOCK_BYTES / (4 * kc)).max(TILE_M) / TILE_M * TILE_M;
    (kc, mc.min(m))
}

/// C = A Wᵀ with the given instruction set (portable if unavailable).
pub fn gemm(
    isa: Isa,
    a: &[f32],
    w: &[f32],
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) -> Result<(), BenchError> {
    validate(a, w, c, m, k, n)?;
    if m == 1 {
        return super::gemv::gemv(isa, w, a, c, n, k);
    }
    c.fill(0.0);
    let (kc, mc) = blocking(m, k);
    let isa = isa.usable();
    let mut pc = 0;
    while pc < k {
        let kb = kc.min(k - pc);
        let mut ic = 0;
        while ic < m {
            let mb = mc.min(m - ic);
            let mut jg = 0;
            while jg < n {
                let r = TILE_N.min(n - jg);
                let mut ib = ic;
                while ib < ic + mb {
                    let t = TILE_M.min(ic + mb - ib);
                    let blk = Block {
                        a_off: ib * k + pc,
                        w_off: jg * k + pc,
                        c_off: ib * n + jg,
                        ld: k,
                        ldc: n,
                        kb,
                    };
                    match isa {
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: avx2+fma checked by usable(); block inside validated buffers.
                        Isa::Avx2Fma => unsafe { avx2::tile_dispatch(r, t, a, w, c, &blk) },
                        _ => portable_dispatch(r, t, a, w, c, &blk),
                    }
                    ib += t;
                }
                jg += r;
            }
            ic += mb;
        }
        pc += kb;
    }
    Ok(())
}

/// One register tile's location: offsets of its first elements and strides.
pub(crate) struct Block {
    a_off: usize,
    w_off: usize,
    c_off: usize,
    ld: usize,
    ldc: usize,
    kb: usize,
}

fn portable_dispatch(r: usize, t: usize, a: &[f32], w: &[f32], c: &mut [f32], b: &Block) {
    macro_rules! go {
        ($($rr:literal, $tt:literal);*) => {
            match (r, t) {
                $(($rr, $tt) => portable_tile::<$rr, $tt>(a, w, c, b),)*
                _ => unreachable!("tile shape out of range"),
            }
        };
    }
    go!(1,1; 1,2; 1,3; 1,4; 2,1; 2,2; 2,3; 2,4; 3,1; 3,2; 3,3; 3,4)
}

/// Portable register tile: lane-wise partial sums the compiler vectorises.
fn portable_tile<const R: usize, const T: usize>(a: &[f32], w: &[f32], c: &mut [f32], b: &Block) {
    let mut acc = [[[0.0f32; 8]; T]; R];
    let main = b.kb - b.kb % 8;
    let mut k = 0;
    while k < main {
        for (r, accr) in acc.iter_mut().enumerate() {
            let wo = b.w_off + r * b.ld + k;
            let wv = &w[wo..wo + 8];
            for (i, acci) in accr.iter_mut().enumerate() {
                let ao = b.a_off + i * b.ld + k;
                let av = &a[ao..ao + 8];
                for l in 0..8 {
                    acci[l] += wv[l] * av[l];
                }
            }
        }
        k += 8;
    }
    for (r, accr) in acc.iter().enumerate() {
        for (i, acci) in accr.iter().enumerate() {
            let mut s: f32 = acci.iter().sum();
            for kk in main..b.kb {
                s += w[b.w_off + r * b.ld + kk] * a[b.a_off + i * b.ld + kk];
            }
            c[b.c_off + i * b.ldc + r] += s;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! AVX2+FMA register tiles.
    use super::Block;
    use crate::bench::kernels::gemv::avx2::{hsum, tail_mask};
    use std::arch::x86_64::*;

    /// Run the tile of `r` W rows x `t` A rows.
    ///
    /// # Safety
    /// avx2+fma must be available and the block must lie inside the buffers.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile_dispatch(
        r: usize,
        t: usize,
        a: &[f32],
        w: &[f32],
        c: &mut [f32],
        b: &Block,
    ) {
        let (ap, wp) = (a.as_ptr(), w.as_ptr());
        let cp = c.as_mut_ptr();
        macro_rules! go {
            ($($rr:literal, $tt:literal);*) => {
                match (r, t) {
                    // SAFETY: forwarded from the caller.
                    $(($rr, $tt) => unsafe { tile::<$rr, $tt>(ap, wp, cp, b) },)*
                    _ => unreachable!("tile shape out of range"),
                }
            };
        }
        go!(1,1; 1,2; 1,3; 1,4; 2,1; 2,2; 2,3; 2,4; 3,1; 3,2; 3,3; 3,4)
    }

    #[inline]
    #[allow(clippy::needless_range_loop)]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<const R: usize, const T: usize>(
        a: *const f32,
        w: *const f32,
        c: *mut f32,
        b: &Block,
    ) {
        // SAFETY (whole body): all offsets are inside the validated block:
        // rows r < R of W and i < T of A, columns k < kb (tail masked).
        unsafe {
            let a = a.add(b.a_off);
            let w = w.add(b.w_off);
            let mut acc = [[_mm256_setzero_ps(); T]; R];
            let mut k = 0;
            while k + 8 <= b.kb {
                let mut wv = [_mm256_setzero_ps(); R];
                for (r, v) in wv.iter_mut().enumerate() {
                    *v = _mm256_loadu_ps(w.add(r * b.ld + k));
                }
                for i in 0..T {
                    let av = _mm256_loadu_ps(a.add(i * b.ld + k));
                    for r in 0..R {
                        acc[r][i] = _mm256_fmadd_ps(wv[r], av, acc[r][i]);
                    }
                }
                k += 8;
            }
            if k < b.kb {
                let m = tail_mask(b.kb - k);
                let mut wv = [_mm256_setzero_ps(); R];
                for (r, v) in wv.iter_mut().enumerate() {
                    *v = _mm256_maskload_ps(w.add(r * b.ld + k), m);
                }
                for i in 0..T {
                    let av = _mm256_maskload_ps(a.add(i * b.ld + k), m);
                    for r in 0..R {
                        acc[r][i] = _mm256_fmadd_ps(wv[r], av, acc[r][i]);
                    }
                }
            }
            for (r, accr) in acc.iter().enumerate() {
                for (i, v) in accr.iter().enumerate() {
                    *c.add(b.c_off + i * b.ldc + r) += hsum(*v);
                }
            }
        }
    }
}
