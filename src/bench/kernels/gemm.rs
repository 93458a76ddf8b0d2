//! Linear layer at batch N: C = A Wᵀ with A `m x k` (batch x in), W `n x k`
//! (out x in, PyTorch layout, so B = Wᵀ is `in x out`), C `m x n`, all
//! row-major fp32.
//!
//! The SIMD kernel at batch 2 and up is one outer-product body over the
//! `Simd` trait (`outer`): C^T = W A^T, one panel of batch rows at a
//! time. A is packed transposed per block of k (whole W rows, unless the
//! block would not stay in L2; in AVX-512's wide panels, blocks that stay in
//! L1), the register tile is 8 W rows (6 for the
//! two- and four-vector tiles) x the panel, W elements
//! are broadcast straight from the rows (W is never packed: it is streamed
//! from DRAM once per panel), no horizontal sums. When the batch is
//! smaller than a vector, each vector holds several consecutive k of every
//! batch row, so no lane is idle. AVX-512 runs one 16-lane vector per
//! panel up to batch 16, two up to 32 and four (6 W rows x 64 batch rows,
//! 24 accumulators) above; AVX2 one 8-lane vector up to batch 8 and two
//! from batch 9.
//!
//! This one body replaced three paths (2026-12-02): a streaming
//! dot-product path for batch 2-7, a broadcast path for batch 8 and a
//! packed path that cut the rows into blocks of 512 k from batch 9. At
//! batch 16 to 64 whole rows measured 1.07-1.44x those blocks, at batch 2
//! to 4 the broadcast 1.3-1.45x the dot products.
//!
//! Portable code runs the same body (8 lanes as plain arrays, one vector
//! per panel). At batch 1 every instruction set uses the GEMV kernel.

use std::cell::RefCell;

use super::simd::{entry_points, Simd};
use super::Isa;
use crate::bench::error::{check_len, shape_err, BenchError};

/// Largest batch that AVX2 runs with one vector of batch lanes per tile
/// (two vectors above it).
pub const ONE_VECTOR_MAX_M: usize = 8;
/// Largest batch that AVX-512 runs with one vector of batch lanes per tile;
/// two vectors up to twice that, four above.
pub const S512_ONE_VECTOR_MAX_M: usize = 16;

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

/// Scalar reference: each `C[i][j]` is one dot product summed left to right.
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
    match isa.usable() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: usable() confirmed avx512f; lengths validated above.
        Isa::Avx512 => unsafe {
            if m <= S512_ONE_VECTOR_MAX_M {
                outer::avx512(a, w, c, m, k, n)
            } else if m <= 2 * S512_ONE_VECTOR_MAX_M {
                outer_two::avx512(a, w, c, m, k, n)
            } else {
                outer_four::avx512(a, w, c, m, k, n)
            }
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: usable() confirmed avx2+fma; lengths validated above.
        Isa::Avx2Fma => unsafe {
            if m <= ONE_VECTOR_MAX_M {
                outer::avx2(a, w, c, m, k, n)
            } else {
                outer_two::avx2(a, w, c, m, k, n)
            }
        },
        // SAFETY: portable code runs anywhere; lengths validated above.
        _ => unsafe { outer::portable(a, w, c, m, k, n) },
    }
    Ok(())
}

/// W rows per register tile: 8 with one vector of batch lanes, 6 with two
/// (AVX2 from batch 9, where 12 of its 16 registers accumulate). More rows
/// ran slower, even with AVX-512's 32 registers: 12 or 16 rows lost 8-17%
/// on fc6 at batch 8, and up to 2.7x on fc7 and fc8, whose 16 KiB rows all
/// fall in the same L1 sets (5 alternating rounds, 2026-12-02).
const ROWS_ONE: usize = 8;
const ROWS_TWO: usize = 6;
/// Reduction block, in floats of k: whole rows up to this length, so the
/// W streams run the length of their rows without restarting (1.10x a
/// block of 4,096 on fc6 at batch 8; 15 alternating rounds, 2026-12-01)...
const OUTER_KC: usize = 32768;
/// ... unless the panel's packed block of A would pass this many floats
/// (1 MiB, half the L2 of the Xeon it was measured on): it is read once per
/// tile of W rows, so it must stay in L2. Wide panels take shorter blocks
/// (4,096 k at batch 64 with AVX-512), which ran fc6 at batch 16 to 64
/// 1.3-1.7x faster than whole rows (3 alternating rounds, 2026-12-02).
const OUTER_A_FLOATS: usize = 256 << 10;
/// Panels this wide (floats: AVX-512's two- and four-vector ones, batch 17
/// and up) take blocks of A that stay in L1 instead ([`OUTER_L1_A_FLOATS`]).
/// Each tile reads its block of A once, a vector per `R` FMAs: with
/// 64-byte vectors, two FMAs a cycle need 21 bytes a cycle from where the
/// block lies, about all an L2 gives; 32-byte vectors need half that.
const OUTER_L1_MIN_PANEL: usize = 32;
/// Floats of A per block in wide panels: 32 KiB, 128 k at batch 64. On the
/// Sapphire Rapids-class Xeon VM (48 KiB L1) the L2-sized block's time at
/// batch 64 swung with the host's load (fc6 107 to 270 ms within an hour),
/// this one's much less (125 to 167 ms): 1.42-1.58x faster on fc6, fc7 and
/// fc8 at batch 64 when the host was busy, 1.0-1.17x slower when it was
/// quiet (5-9 pinned pairs a session), and fc6 at batch 64 went from 0.74x
/// PyTorch's speed to 1.40x in runs side by side. 16 and 4 K floats were
/// 1.05-1.20x slower than 8 K. The AVX2 panels (16 floats) on the same VM
/// gained at batch 16 and lost up to 7% at 32 and 64, so they keep the L2
/// block. W is then read in chunks of 128 floats per row, every row of the
/// layer per block, with the prefetch one tile of rows ahead.
const OUTER_L1_A_FLOATS: usize = 8 << 10;
/// Prefetch distance along the W rows, in floats (a block's length if it is
/// shorter: then the prefetch reads the next tile's rows at the same k).
const OUTER_PF: usize = 256;

thread_local! {
    /// Scratch of the outer-product path: (packed A block, C^T of a panel).
    static OUTER_SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// C^T = W A^T as an outer product, one panel of batch rows at a time.
///
/// A panel is `NV` vectors wide. Its block of A is packed so that each
/// panel vector holds `G` consecutive k of `LANES / G` batch rows: lane `q`
/// of vector `v` is A[i][k + g] with `v * LANES + q = i * G + g` (zero past
/// m). `G` is 1 unless the whole batch fits one vector with room to spare
/// (`G` = lanes / the batch rounded up to a power of two: 2 for batch 8
/// with AVX-512, 4 for batch 4), so the lanes are never left empty. The
/// register tile is `R` W rows x `NV` vectors: `G` floats of a W row are
/// broadcast in one load (`splat_group`, which the FMA takes as its memory
/// operand when `G` is one) and multiply the panel's vectors, one
/// accumulator per row and vector, no horizontal sums; the `G` partial sums
/// of a lane group are added when C is written. Each panel sweeps W once,
/// in blocks of whole rows (`OUTER_KC`), `R` rows side by side; the
/// prefetch runs `OUTER_PF` floats ahead along the rows, and past their
/// end into the next tile's rows.
///
/// # Safety
/// The CPU has `S`'s ISA; buffers validated for (m, k, n).
#[inline(always)]
unsafe fn outer<S: Simd, const R: usize, const NV: usize>(
    a: &[f32],
    w: &[f32],
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    // SAFETY: the caller's contract; each G divides LANES.
    unsafe {
        if NV > 1 || m >= S::LANES {
            outer_panels::<S, R, NV, 1>(a, w, c, m, k, n)
        } else {
            match S::LANES / m.next_power_of_two() {
                1 => outer_panels::<S, R, NV, 1>(a, w, c, m, k, n),
                2 => outer_panels::<S, R, NV, 2>(a, w, c, m, k, n),
                4 => outer_panels::<S, R, NV, 4>(a, w, c, m, k, n),
                8 => outer_panels::<S, R, NV, 8>(a, w, c, m, k, n),
                _ => outer_panels::<S, R, NV, 16>(a, w, c, m, k, n),
            }
        }
    }
}

entry_points!(
    /// Entry points of [`outer()`] with one vector of batch lanes and 8 W
    /// rows per tile.
    fn outer(a: &[f32], w: &[f32], c: &mut [f32], m: usize, k: usize, n: usize);
    [ROWS_ONE, 1] [ROWS_ONE, 1] [ROWS_ONE, 1];
    /// Entry points of [`outer()`] with two vectors of batch lanes and 6 W
    /// rows per tile (AVX2 from batch 9, AVX-512 from batch 17).
    mod outer_two [ROWS_TWO, 2] [ROWS_TWO, 2] [ROWS_TWO, 2]
);

entry_points!(
    /// Entry points of [`outer()`] with four vectors of batch lanes and 6 W
    /// rows per tile (AVX-512 from batch 33; the others never call theirs,
    /// which are the two-vector tile).
    mod outer_four = fn outer(a: &[f32], w: &[f32], c: &mut [f32], m: usize, k: usize, n: usize);
    [ROWS_TWO, 2] [ROWS_TWO, 2] [ROWS_TWO, 4]
);

/// [`outer()`] with `G` consecutive k per lane group.
///
/// # Safety
/// As [`outer()`]; G divides LANES.
#[inline(always)]
unsafe fn outer_panels<S: Simd, const R: usize, const NV: usize, const G: usize>(
    a: &[f32],
    w: &[f32],
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    let pw = NV * S::LANES;
    let rows_per_panel = pw / G;
    let a_floats = if pw >= OUTER_L1_MIN_PANEL {
        OUTER_L1_A_FLOATS
    } else {
        OUTER_A_FLOATS
    };
    let kc = (a_floats * G / pw / 16 * 16).clamp(16, OUTER_KC).min(k);
    let at_len = kc.div_ceil(G) * pw;
    // Out of the thread-local for the work: code inside a closure would not
    // inherit the caller's target features, and every vector operation in
    // it would become a call.
    let (mut at, mut ct) = OUTER_SCRATCH.with(RefCell::take);
    if at.len() < at_len + kc {
        at.resize(at_len + kc, 0.0);
    }
    if ct.len() < n * pw {
        ct.resize(n * pw, 0.0);
    }
    {
        // at = [packed block of the panel | zero row read for rows past n].
        let (at, zeros) = at.split_at_mut(at_len);
        zeros[..kc].fill(0.0);
        for i0 in (0..m).step_by(rows_per_panel) {
            let mb = rows_per_panel.min(m - i0);
            let mut pc = 0;
            while pc < k {
                let kb = kc.min(k - pc);
                for (kp, v) in at[..kb.div_ceil(G) * pw].chunks_exact_mut(pw).enumerate() {
                    for (f, x) in v.iter_mut().enumerate() {
                        let (i, kk) = (f / G, kp * G + f % G);
                        *x = if i < mb && kk < kb {
                            a[(i0 + i) * k + pc + kk]
                        } else {
                            0.0
                        };
                    }
                }
                let mut j0 = 0;
                while j0 < n {
                    let cov = R.min(n - j0);
                    let mut rows = [zeros.as_ptr(); R];
                    for (r, row) in rows.iter_mut().enumerate().take(cov) {
                        *row = w[(j0 + r) * k + pc..].as_ptr();
                    }
                    // The next tile's rows, where the prefetch runs on to.
                    let next = w.as_ptr().wrapping_add((j0 + R) * k + pc);
                    // SAFETY: rows hold kb floats, at holds kb.div_ceil(G)
                    // groups of pw floats, C^T rows j0..j0+cov < n hold pw
                    // floats each.
                    unsafe {
                        outer_tile::<S, R, NV, G>(
                            &rows,
                            at.as_ptr(),
                            kb,
                            ct.as_mut_ptr().add(j0 * pw),
                            cov,
                            pc > 0,
                            next,
                            k,
                        );
                    }
                    j0 += cov;
                }
                pc += kb;
            }
            for (i, cr) in c.chunks_exact_mut(n).skip(i0).take(mb).enumerate() {
                for (j, x) in cr.iter_mut().enumerate() {
                    let o = j * pw + i * G;
                    *x = ct[o..o + G].iter().sum();
                }
            }
        }
    }
    OUTER_SCRATCH.with(|cell| cell.replace((at, ct)));
}

/// Outer-product tile: for r < cov and lane f < NV * LANES,
/// ct[r * NV * LANES + f] (+)= sum over groups kp of
/// rows[r][kp * G + f % G] * at[kp * NV * LANES + f]; prefetches
/// `OUTER_PF` floats ahead along the rows, then into the rows at `next`
/// (row stride `ld`).
///
/// # Safety
/// The CPU has `S`'s ISA; every `rows[r]` holds kb floats, at holds
/// kb.div_ceil(G) groups of NV vectors, ct rows r < cov hold NV vectors.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn outer_tile<S: Simd, const R: usize, const NV: usize, const G: usize>(
    rows: &[*const f32; R],
    at: *const f32,
    kb: usize,
    ct: *mut f32,
    cov: usize,
    accumulate: bool,
    next: *const f32,
    ld: usize,
) {
    let l = S::LANES;
    let pw = NV * l;
    // SAFETY (whole body): guaranteed by the caller as documented.
    unsafe {
        let mut acc = [[S::zero(); NV]; R];
        let full = kb / G * G;
        let mut kk = 0;
        while kk < full {
            // 16 floats of every row (one cache line) per prefetch.
            let end = (kk + 16).min(full);
            let p = kk + OUTER_PF.min(kb);
            for (r, row) in rows.iter().enumerate() {
                S::prefetch(if p < kb {
                    row.wrapping_add(p)
                } else {
                    next.wrapping_add(r * ld + p - kb)
                });
            }
            while kk < end {
                let x = at.add(kk / G * pw);
                let mut xv = [S::zero(); NV];
                for (v, xq) in xv.iter_mut().enumerate() {
                    *xq = S::load(x.add(v * l));
                }
                for (ar, row) in acc.iter_mut().zip(rows) {
                    let b = S::splat_group::<G>(row.add(kk));
                    for (av, xq) in ar.iter_mut().zip(&xv) {
                        *av = S::fma(b, *xq, *av);
                    }
                }
                kk += G;
            }
        }
        if full < kb {
            // The last group is short: its missing k read zeros (A's lanes
            // for them are zero too).
            let x = at.add(full / G * pw);
            for (ar, row) in acc.iter_mut().zip(rows) {
                let mut tail = [0.0f32; G];
                for (g, t) in tail.iter_mut().enumerate().take(kb - full) {
                    *t = *row.add(full + g);
                }
                let b = S::splat_group::<G>(tail.as_ptr());
                for (v, av) in ar.iter_mut().enumerate() {
                    *av = S::fma(b, S::load(x.add(v * l)), *av);
                }
            }
        }
        for (r, ar) in acc.iter().enumerate().take(cov) {
            for (v, av) in ar.iter().enumerate() {
                let o = ct.add(r * pw + v * l);
                let out = if accumulate {
                    S::add(*av, S::load(o))
                } else {
                    *av
                };
                S::store(o, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::buffer::random_vec;
    use crate::bench::kernels::check_close;

    /// A GEMM path's `on` entry point.
    type Path = unsafe fn(Isa, &[f32], &[f32], &mut [f32], usize, usize, usize);

    /// Runs `path` on every instruction set this CPU has, including those
    /// `gemm` does not pick, against the scalar reference.
    fn check_every_isa(name: &str, shapes: &[(usize, usize, usize)], path: Path) {
        for &(m, k, n) in shapes {
            let a = random_vec(m * k, 1);
            let w = random_vec(n * k, 2);
            let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
            let mut want = vec![0.0; m * n];
            let mut bound = vec![0.0; m * n];
            gemm_scalar(&a, &w, &mut want, m, k, n).unwrap();
            gemm_scalar(&abs(&a), &abs(&w), &mut bound, m, k, n).unwrap();
            for isa in Isa::all_available() {
                let mut got = vec![f32::NAN; m * n];
                // SAFETY: buffers sized for (m, k, n), within the path's
                // batch range; `on` checks the ISA.
                unsafe { path(isa, &a, &w, &mut got, m, k, n) };
                check_close(&got, &want, &bound, k)
                    .unwrap_or_else(|e| panic!("{isa:?} {name} {m}x{k}x{n}: {e:?}"));
            }
        }
    }

    /// Batches 1 to 8 (every lane group: 1 to 16 k per group of lanes)
    /// and past one panel (9, 17, 33, 65); n not a multiple of the row tile;
    /// k over one reduction block (whole rows, or the block that keeps A in
    /// L2), and with tails shorter than every group.
    const OUTER_SHAPES: [(usize, usize, usize); 15] = [
        (1, 3, 1),
        (2, 37, 9),
        (3, 2 * OUTER_KC + 5, 9),
        (4, 1031, 17),
        (5, 40, 8),
        (6, 15, 3),
        (7, 101, 8),
        (8, 777, 11),
        (8, OUTER_KC + 3, 13),
        (9, 600, 8),
        (16, 3, 6),
        (17, 70, 13),
        (33, 1100, 7),
        (20, OUTER_KC + 9, 7),
        (65, 130, 7),
    ];

    #[test]
    fn every_one_vector_outer_product_instantiation_agrees_with_the_scalar_reference() {
        check_every_isa("outer", &OUTER_SHAPES, outer::on);
    }

    #[test]
    fn every_two_vector_outer_product_instantiation_agrees_with_the_scalar_reference() {
        check_every_isa("outer_two", &OUTER_SHAPES, outer_two::on);
    }

    #[test]
    fn every_four_vector_outer_product_instantiation_agrees_with_the_scalar_reference() {
        check_every_isa("outer_four", &OUTER_SHAPES, outer_four::on);
    }
}
