//! Linear layer at batch N: C = A Wᵀ with A `m x k` (batch x in), W `n x k`
//! (out x in, PyTorch layout, so B = Wᵀ is `in x out`), C `m x n`, all
//! row-major fp32.
//!
//! The SIMD kernel has two paths, one body each over the `Simd` trait:
//! * small batch (2 to 8, `BCAST_MAX_M`), broadcast outer product: W
//!   streamed once, 8 rows at a time; A packed transposed per block, one
//!   vector holding `G` consecutive k of every batch row (`G` = lanes / the
//!   batch rounded up to a power of two: 2 for batch 8 with AVX-512, 1 with
//!   AVX2, more for smaller batches). `G` floats of a W row are broadcast in
//!   one load into one FMA per row, one accumulator per W row, no
//!   horizontal sums. This replaced a streaming dot-product path (3 W rows x
//!   4 batch rows along k) that was slower at every batch from 2 to 8.
//! * larger batch (from 9): C^T = W A^T as an outer-product GEMM. A block of A is
//!   packed transposed into 16-wide panels (in L2); the register tile is
//!   W rows (broadcast straight from W, no packing of the weights) x 16
//!   batch columns, no horizontal sums; the tiles accumulate into a C^T
//!   scratch that is transposed into C at the end. The first panel of each
//!   row group prefetches the next group's W rows. 6 rows x 2 vectors with
//!   AVX2, 8 rows x 1 vector with AVX-512.
//!
//! The portable fallback is a blocked dot-product GEMM (3 W rows x 4 A
//! rows). At batch 1 every instruction set uses the GEMV kernel.

use std::cell::RefCell;

use super::simd::{entry_points, Simd};
use super::Isa;
use crate::bench::error::{check_len, shape_err, BenchError};

/// W rows per register tile (portable path).
pub const TILE_N: usize = 3;
/// A rows (batch rows) per register tile (portable path).
pub const TILE_M: usize = 4;
/// Largest batch served by the broadcast path (one vector of batch lanes).
pub const BCAST_MAX_M: usize = 8;
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
    match isa.usable() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: usable() confirmed avx512f; lengths validated above.
        Isa::Avx512 => unsafe {
            if m <= BCAST_MAX_M {
                bcast::avx512(a, w, c, m, k, n)
            } else {
                packed::avx512(a, w, c, m, k, n)
            }
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: usable() confirmed avx2+fma; lengths validated above.
        Isa::Avx2Fma => unsafe {
            if m <= BCAST_MAX_M {
                bcast::avx2(a, w, c, m, k, n)
            } else {
                packed::avx2(a, w, c, m, k, n)
            }
        },
        _ => gemm_portable(a, w, c, m, k, n),
    }
    Ok(())
}

/// Portable blocked dot-product GEMM (lengths already validated).
fn gemm_portable(a: &[f32], w: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    c.fill(0.0);
    let (kc, mc) = blocking(m, k);
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
                    portable_dispatch(r, t, a, w, c, &blk);
                    ib += t;
                }
                jg += r;
            }
            ic += mb;
        }
        pc += kb;
    }
}

/// One register tile's location: offsets of its first elements and strides.
struct Block {
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

/// W rows per broadcast tile (8 measured faster than 10, 12 and 14).
const BR: usize = 8;
/// Reduction block of the broadcast path (the packed A^T block: up to 1 MiB
/// with 8 lanes). It holds the whole of fc6's 25,088, so the 8 W streams
/// run the length of their rows without restarting: 1.10x a block of 4,096
/// on fc6 at batch 8 (15 alternating rounds, 2026-12-01).
const BC_KC: usize = 32768;
/// Prefetch distance of the broadcast path's W rows, in floats.
const BC_PF: usize = 256;

thread_local! {
    /// Scratch of the broadcast path: (packed A^T block, C^T).
    static BCAST_SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Small batch, outer-product form: C^T = W A^T with a block of A packed
/// transposed and kept in L2; the register tile is BR W rows x one vector,
/// one accumulator per row, W elements broadcast straight from the rows.
///
/// A vector holds `G` consecutive k of each of `MP` batch rows (`MP` = m
/// rounded up to a power of two, `G = LANES / MP`): lane `i * G + g` is
/// A[i][k + g], zero past m. Each W row's `G` floats at k are broadcast in
/// one load (`splat_group`), so one FMA does the work of `G` k steps; the
/// `G` partial sums of a lane group are added when C is written. AVX2 at
/// batch 8 has `G` = 1; AVX-512 at batch 8, `G` = 2, which halves the
/// broadcasts per FMA. Per group: 1 A load, BR broadcasts, BR FMAs, no
/// horizontal sums. Rows are swept block by block of BC_KC floats; the
/// prefetch runs ahead into the next tile's rows.
///
/// # Safety
/// The CPU has `S`'s ISA; buffers validated for (m, k, n), m <= LANES.
#[inline(always)]
unsafe fn bcast<S: Simd>(a: &[f32], w: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    debug_assert!((1..=S::LANES).contains(&m));
    // SAFETY: the caller's contract, and G * MP = LANES.
    unsafe {
        match S::LANES / m.next_power_of_two() {
            1 => bcast_groups::<S, 1>(a, w, c, m, k, n),
            2 => bcast_groups::<S, 2>(a, w, c, m, k, n),
            4 => bcast_groups::<S, 4>(a, w, c, m, k, n),
            8 => bcast_groups::<S, 8>(a, w, c, m, k, n),
            _ => bcast_groups::<S, 16>(a, w, c, m, k, n),
        }
    }
}

entry_points!(
    /// Entry points of [`bcast`].
    fn bcast(a: &[f32], w: &[f32], c: &mut [f32], m: usize, k: usize, n: usize)
);

/// [`bcast`] with `G` k per lane group.
///
/// # Safety
/// As [`bcast`]; G * m.next_power_of_two() = LANES.
#[inline(always)]
unsafe fn bcast_groups<S: Simd, const G: usize>(
    a: &[f32],
    w: &[f32],
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    let bl = S::LANES;
    let kc = BC_KC.min(k);
    // Out of the thread-local for the work, as in `packed`.
    let (mut at, mut ct) = BCAST_SCRATCH.with(RefCell::take);
    let at_len = kc.div_ceil(G) * bl;
    if at.len() < at_len + kc {
        at.resize(at_len + kc, 0.0);
    }
    if ct.len() < n * bl {
        ct.resize(n * bl, 0.0);
    }
    {
        // at = [packed A^T block | zero row read for rows past n].
        let (at, zeros) = at.split_at_mut(at_len);
        zeros[..kc].fill(0.0);
        let mut pc = 0;
        while pc < k {
            let kb = kc.min(k - pc);
            for (kp, v) in at[..kb.div_ceil(G) * bl].chunks_exact_mut(bl).enumerate() {
                for (q, x) in v.iter_mut().enumerate() {
                    let (i, kk) = (q / G, kp * G + q % G);
                    *x = if i < m && kk < kb {
                        a[i * k + pc + kk]
                    } else {
                        0.0
                    };
                }
            }
            let mut j0 = 0;
            while j0 < n {
                let cov = BR.min(n - j0);
                let mut rows = [zeros.as_ptr(); BR];
                for (r, row) in rows.iter_mut().enumerate().take(cov) {
                    *row = w[(j0 + r) * k + pc..].as_ptr();
                }
                // The next tile's rows, where the prefetch runs on to.
                let next = w.as_ptr().wrapping_add((j0 + BR) * k + pc);
                // SAFETY: rows hold kb floats, at holds kb.div_ceil(G)
                // vectors, C^T rows j0..j0+cov < n hold LANES floats each.
                unsafe {
                    bcast_tile::<S, G>(
                        &rows,
                        at.as_ptr(),
                        kb,
                        ct.as_mut_ptr().add(j0 * bl),
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
        for (i, cr) in c.chunks_exact_mut(n).enumerate() {
            for (j, x) in cr.iter_mut().enumerate() {
                let o = j * bl + i * G;
                *x = ct[o..o + G].iter().sum();
            }
        }
    }
    BCAST_SCRATCH.with(|cell| cell.replace((at, ct)));
}

/// Broadcast tile: for r < cov, ct[r * LANES + q] (+)= sum over groups kp
/// of rows[r][kp * G + q % G] * at[kp * LANES + q]; prefetch `BC_PF`
/// floats ahead along the rows, then into the rows at `next` (row stride
/// `ld`).
///
/// # Safety
/// The CPU has `S`'s ISA; every rows[r] holds kb floats, at holds
/// kb.div_ceil(G) vectors, ct rows r < cov hold LANES floats.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn bcast_tile<S: Simd, const G: usize>(
    rows: &[*const f32; BR],
    at: *const f32,
    kb: usize,
    ct: *mut f32,
    cov: usize,
    accumulate: bool,
    next: *const f32,
    ld: usize,
) {
    let bl = S::LANES;
    // SAFETY (whole body): guaranteed by the caller as documented.
    unsafe {
        let mut acc = [S::zero(); BR];
        let full = kb / G * G;
        let mut kk = 0;
        while kk < full {
            // 16 floats of every row (one cache line) per prefetch.
            let end = (kk + 16).min(full);
            let p = kk + BC_PF;
            for (r, row) in rows.iter().enumerate() {
                S::prefetch(if p < kb {
                    row.wrapping_add(p)
                } else {
                    next.wrapping_add(r * ld + p - kb)
                });
            }
            while kk < end {
                let av = S::load(at.add(kk / G * bl));
                for (a, row) in acc.iter_mut().zip(rows) {
                    *a = S::fma(S::splat_group::<G>(row.add(kk)), av, *a);
                }
                kk += G;
            }
        }
        if full < kb {
            // The last group is short: its missing k read zeros (A's lanes
            // for them are zero too).
            let av = S::load(at.add(full / G * bl));
            for (a, row) in acc.iter_mut().zip(rows) {
                let mut tail = [0.0f32; G];
                for (g, t) in tail.iter_mut().enumerate().take(kb - full) {
                    *t = *row.add(full + g);
                }
                *a = S::fma(S::splat_group::<G>(tail.as_ptr()), av, *a);
            }
        }
        for (r, a) in acc.iter().enumerate().take(cov) {
            let o = ct.add(r * bl);
            let v = if accumulate {
                S::add(*a, S::load(o))
            } else {
                *a
            };
            S::store(o, v);
        }
    }
}

/// Batch columns per outer-product tile (two AVX2 vectors, one AVX-512).
const PV: usize = 16;
/// Floats of packed A kept in L2 per block (256 KiB).
const APACK_FLOATS: usize = 64 << 10;
/// Longest reduction block of the packed path.
const PACK_KC: usize = 512;
/// W rows per outer-product tile: AVX2 (12 of 16 registers accumulate) and
/// AVX-512. Not more than 8 with AVX-512, although 32 registers would hold
/// 16: the rows are read straight from W, and when a row is a multiple of
/// 4 KiB long (fc7 and fc8: 4096 floats) all of them fall in the same L1
/// set, which has 8 ways. 16 rows ran fc7 and fc8 at batch 64 at half speed.
const PR_NARROW: usize = 6;
const PR_WIDE: usize = 8;

thread_local! {
    /// Scratch of the packed path: (packed A block, C^T).
    static PACK_SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Larger batch: C^T = W A^T with packed A panels and broadcast W, `PR` W
/// rows x `NV` vectors (16 batch columns) per register tile.
///
/// # Safety
/// The CPU has `S`'s ISA; buffers validated for (m, k, n).
#[inline(always)]
unsafe fn packed<S: Simd, const PR: usize, const NV: usize>(
    a: &[f32],
    w: &[f32],
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) {
    debug_assert_eq!(NV * S::LANES, PV);
    let mp = m.div_ceil(PV) * PV;
    let kc = k.div_ceil(k.div_ceil(PACK_KC));
    let mc = (APACK_FLOATS / kc / PV * PV).clamp(PV, mp);
    // The scratch leaves its thread-local for the work: code inside a
    // closure would not inherit the caller's target features, and every
    // vector operation in it would become a call.
    let (mut apack, mut ct) = PACK_SCRATCH.with(RefCell::take);
    {
        if apack.len() < mc * kc {
            apack.resize(mc * kc, 0.0);
        }
        if ct.len() < n * mp {
            ct.resize(n * mp, 0.0);
        }
        // Rows past n (last W group) read this zero row instead.
        let zeros = vec![0.0f32; kc];
        let mut pc = 0;
        while pc < k {
            let kb = kc.min(k - pc);
            let mut ic = 0;
            while ic < mp {
                let mb = mc.min(mp - ic);
                pack_a(a, m, k, pc, kb, ic, mb, &mut apack);
                let mut j0 = 0;
                while j0 < n {
                    let cov = PR.min(n - j0);
                    let mut rows = [zeros.as_ptr(); PR];
                    for (r, row) in rows.iter_mut().enumerate().take(cov) {
                        *row = w[(j0 + r) * k + pc..].as_ptr();
                    }
                    // The next group's rows, prefetched by the first panel.
                    let next = w.as_ptr().wrapping_add((j0 + PR) * k + pc);
                    for p in 0..mb / PV {
                        // SAFETY: rows hold kb floats; the panel holds
                        // kb * PV floats; C^T rows j0..j0+cov < n and
                        // columns ic + p*PV + 16 <= mp.
                        unsafe {
                            outer_tile::<S, PR, NV>(
                                &rows,
                                apack.as_ptr().add(p * kb * PV),
                                kb,
                                ct.as_mut_ptr().add(j0 * mp + ic + p * PV),
                                mp,
                                cov,
                                pc > 0,
                                (p == 0 && j0 + PR < n).then_some((next, k)),
                            );
                        }
                    }
                    j0 += cov;
                }
                ic += mb;
            }
            pc += kb;
        }
        // C[i][j] = C^T[j][i], in blocks of 8 x 8.
        for j0 in (0..n).step_by(8) {
            for i0 in (0..m).step_by(8) {
                for i in i0..(i0 + 8).min(m) {
                    for j in j0..(j0 + 8).min(n) {
                        c[i * n + j] = ct[j * mp + i];
                    }
                }
            }
        }
    }
    PACK_SCRATCH.with(|cell| cell.replace((apack, ct)));
}

/// Pack rows ic..ic+mb of A (zero beyond m), columns pc..pc+kb, as
/// panels of PV rows: apack[p][kk][q] = A[ic + p*PV + q][pc + kk].
#[allow(clippy::too_many_arguments)]
fn pack_a(
    a: &[f32],
    m: usize,
    k: usize,
    pc: usize,
    kb: usize,
    ic: usize,
    mb: usize,
    apack: &mut [f32],
) {
    for p in 0..mb / PV {
        let panel = &mut apack[p * kb * PV..(p + 1) * kb * PV];
        for q in 0..PV {
            let i = ic + p * PV + q;
            if i < m {
                let row = &a[i * k + pc..i * k + pc + kb];
                for (kk, &v) in row.iter().enumerate() {
                    panel[kk * PV + q] = v;
                }
            } else {
                for kk in 0..kb {
                    panel[kk * PV + q] = 0.0;
                }
            }
        }
    }
}

/// Outer-product tile: for r < cov, q < PV,
/// ct[r * ldct + q] (+)= sum_kk rows[r][kk] * ap[kk * PV + q];
/// `prefetch` = (first row, row stride) of rows to prefetch along.
///
/// # Safety
/// The CPU has `S`'s ISA; every rows[r] holds kb floats, ap holds kb * PV,
/// ct rows r < cov hold PV floats at stride ldct.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn outer_tile<S: Simd, const PR: usize, const NV: usize>(
    rows: &[*const f32; PR],
    ap: *const f32,
    kb: usize,
    ct: *mut f32,
    ldct: usize,
    cov: usize,
    accumulate: bool,
    prefetch: Option<(*const f32, usize)>,
) {
    // SAFETY (whole body): guaranteed by the caller as documented.
    unsafe {
        let mut acc = [[S::zero(); NV]; PR];
        let mut x = ap;
        for kk in 0..kb {
            if let Some((pf, ld)) = prefetch {
                if kk % 16 == 0 {
                    for r in 0..PR {
                        S::prefetch(pf.wrapping_add(r * ld + kk));
                    }
                }
            }
            let mut xv = [S::zero(); NV];
            for (v, xq) in xv.iter_mut().enumerate() {
                *xq = S::load(x.add(v * S::LANES));
            }
            for (a, row) in acc.iter_mut().zip(rows) {
                let b = S::splat(row.add(kk));
                for (av, xq) in a.iter_mut().zip(&xv) {
                    *av = S::fma(b, *xq, *av);
                }
            }
            x = x.add(PV);
        }
        for (r, a) in acc.iter().enumerate().take(cov) {
            let o = ct.add(r * ldct);
            for (v, av) in a.iter().enumerate() {
                let p = o.add(v * S::LANES);
                let out = if accumulate {
                    S::add(*av, S::load(p))
                } else {
                    *av
                };
                S::store(p, out);
            }
        }
    }
}

entry_points!(
    /// Entry points of [`packed`]: 6 W rows x 2 vectors (portable, AVX2),
    /// 8 W rows x 1 vector (AVX-512).
    fn packed(a: &[f32], w: &[f32], c: &mut [f32], m: usize, k: usize, n: usize);
    [PR_NARROW, 2] [PR_NARROW, 2] [PR_WIDE, 1]
);

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

    /// Every batch from 1 to 8, so every lane group (1 to 16 k per group
    /// of lanes); n not a multiple of the 8-row tile; k over one reduction
    /// block, and with tails shorter than every group.
    #[test]
    fn every_broadcast_instantiation_agrees_with_the_scalar_reference() {
        let shapes = [
            (1, 3, 1),
            (2, 37, 9),
            (3, 2 * BC_KC + 5, 9),
            (4, 1031, 17),
            (5, 40, 8),
            (6, 15, 3),
            (7, 101, 8),
            (8, 777, 11),
            (8, BC_KC + 3, 13),
        ];
        check_every_isa("bcast", &shapes, bcast::on);
    }

    #[test]
    fn every_packed_instantiation_agrees_with_the_scalar_reference() {
        let shapes = [(9, 600, 8), (17, 70, 13), (33, 1100, 7), (16, 3, 6)];
        check_every_isa("packed", &shapes, packed::on);
    }
}
