//! A linear layer whose weights are packed once, when its plan is made, as
//! a conv's are: C = A Wᵀ with W (`n x k`, PyTorch's layout) copied into
//! panels of two vectors of output channels, `k`-major, in blocks of `KC`
//! of the reduction, in huge pages, so that one call reads the packed
//! weights front to back as one stream.
//!
//! The register tile is `MR` batch rows x 2 vectors of channels: per step
//! of k it loads the panel's two vectors, broadcasts one float of each batch
//! row (read from A's own rows) and runs `2 * MR` FMAs into as many
//! accumulators, no horizontal sums; C's rows are written as whole vectors.
//! The panels are prefetched into L2, `PF` floats ahead.
//!
//! [`PackedLinear::for_batch`] makes one for batches of 2 to 8 (portable
//! code has no prefetch and never gets one); [`linear`] runs the layer on
//! it, or on the outer-product GEMM (W streamed unpacked) without one. A
//! batch runs in tiles of up to 8 rows with AVX-512 and 6 with AVX2, each
//! on the smallest instantiation that covers it (2, 4, 6 or 8 rows), so
//! that no tile computes more than one row of zeros; the panels are read
//! once per tile of rows, the later tiles' from cache.
//!
//! Figures, fc6, release builds, alternating pairs of two builds:
//! - Zen 4 VM, AVX-512: batch 8 took 15.8-16.1 ms against 21.5 ms on the
//!   outer product (1.35x), within 1.1x of the batch-1 GEMV; batch 16
//!   (two tiles) 0.97x, so packing stops at 8.
//! - Zen 1 VM, AVX2 (2026-12-05): one 6-row tile for every batch computed
//!   6 rows at batch 2 and 4 too, which on this CPU's one 256-bit FMA per
//!   cycle is the time: sized tiles ran batch 2 1.35x and batch 4 1.50x
//!   faster. Batch 8 as a 6-row and a 2-row tile then beat the outer
//!   product 1.20x (51.3 vs 62.6 ms), and two tiles of 4 rows ran 0.91x
//!   of that. Tiles of 2 and 4 rows then read each block as two streams
//!   (2026-12-06, [`TWO_STREAMS_MAX_ROWS`]): batch 2 1.24x [1.22-1.27]
//!   (24.6 vs 30.3 ms), batch 4 and 8 level (0.95-1.05x over four runs).
//! - Huge pages and the L2 prefetch each mattered on Zen 4: in 4 KiB pages,
//!   or without the prefetch, batch 8 took 20-22 ms; in 4 KiB pages,
//!   prefetching into L1 (or non-temporally) ran 22-29 ms, and A's block
//!   copied k-major, so that a step's broadcasts share a line, 1.15-1.35x
//!   slower than reading A's rows. On Zen 1 the prefetch ran level.

use super::gemm::gemm;
use super::simd::{entry_points, Simd};
use super::Isa;
use crate::bench::buffer::AlignedBuf;
use crate::bench::error::{check_len, shape_err, BenchError};

/// Reduction block, in floats of k: a tile's rows of A (`MR` rows of `KC`
/// floats, 16 KiB) stay in L1 over the block.
const KC: usize = 512;
/// Prefetch distance along the packed weights, in floats (16 KiB; 16 K
/// floats ran level, and 1 K 1.1x slower in 4 KiB pages).
const PF: usize = 4096;
/// Vectors of channels per panel (in 4 KiB pages three ran level, one 1.7x
/// slower).
const NV: usize = 2;
/// Batch rows per register tile: 8 with AVX-512 (16 of 32 registers
/// accumulate), 6 with AVX2 and portable code (12 of 16).
const MR_WIDE: usize = 8;
const MR_NARROW: usize = 6;
/// Tiles of at most this many rows read each block of a panel as two
/// streams, its halves in turn: with few FMAs per line the tile waits on
/// the panel's lines (Zen 1, AVX2, fc6: batch 2 1.24x, batch 4 1.00-1.05x; a
/// 6-row tile, compute-bound there, ran 0.97x and reads one stream).
const TWO_STREAMS_MAX_ROWS: usize = 4;

/// W packed for one instruction set.
pub struct PackedLinear {
    isa: Isa,
    n: usize,
    k: usize,
    /// Channels per panel (`NV` vectors of the ISA).
    nr: usize,
    /// Block b (k from `pc`, `kb` long), panel p, step kk, channel c lies
    /// at `pc * npad + p * kb * nr + kk * nr + c` (zero past n).
    data: AlignedBuf,
}

impl PackedLinear {
    /// W (`n x k`, row-major) packed for a batch of `m` rows, where packing
    /// pays: batches of 2 up to [`Self::max_batch`].
    /// `None` elsewhere.
    pub fn for_batch(
        isa: Isa,
        w: &[f32],
        n: usize,
        k: usize,
        m: usize,
    ) -> Result<Option<Self>, BenchError> {
        if !(2..=Self::max_batch(isa)).contains(&m) {
            return Ok(None);
        }
        Self::new(isa, w, n, k).map(Some)
    }

    /// The largest batch that `isa` runs on packed weights: 8 with AVX-512
    /// (one tile of rows) or AVX2 (two), none (0) in portable code.
    pub fn max_batch(isa: Isa) -> usize {
        match isa.usable() {
            Isa::Portable => 0,
            _ => MR_WIDE,
        }
    }

    /// W (`n x k`, row-major) packed for `isa` (the best one at or below it
    /// that this CPU has), whatever the batch.
    pub fn new(isa: Isa, w: &[f32], n: usize, k: usize) -> Result<Self, BenchError> {
        if n == 0 || k == 0 {
            return Err(shape_err("linear", "in and out must be positive"));
        }
        let over = || shape_err("linear", "size overflows");
        check_len("w", w.len(), n.checked_mul(k).ok_or_else(over)?)?;
        let isa = isa.usable();
        let nr = NV * lanes(isa);
        let npad = n.div_ceil(nr) * nr;
        let mut data = AlignedBuf::new(npad.checked_mul(k).ok_or_else(over)?)?;
        let mut pc = 0;
        while pc < k {
            let kb = KC.min(k - pc);
            let block = &mut data[pc * npad..(pc + kb) * npad];
            for (p, panel) in block.chunks_exact_mut(kb * nr).enumerate() {
                for (c, j) in (p * nr..(p * nr + nr).min(n)).enumerate() {
                    let row = &w[j * k + pc..j * k + pc + kb];
                    for (kk, x) in row.iter().enumerate() {
                        panel[kk * nr + c] = *x;
                    }
                }
            }
            pc += kb;
        }
        Ok(PackedLinear {
            isa,
            n,
            k,
            nr,
            data,
        })
    }

    /// C = A Wᵀ for a batch of `m` rows (A `m x k`, C `m x n`).
    pub fn gemm(&self, a: &[f32], c: &mut [f32], m: usize) -> Result<(), BenchError> {
        let (n, k, nr) = (self.n, self.k, self.nr);
        if m == 0 {
            return Err(shape_err("linear", "the batch must be positive"));
        }
        let over = || shape_err("linear", "size overflows");
        check_len("a", a.len(), m.checked_mul(k).ok_or_else(over)?)?;
        check_len("c", c.len(), m.checked_mul(n).ok_or_else(over)?)?;
        let mr = tile_rows(self.isa);
        let npad = n.div_ceil(nr) * nr;
        // The last panel's channels past n go to `edge` (m x nr), then to C.
        let full = n / nr;
        let mut edge = vec![0.0f32; if full < npad / nr { m * nr } else { 0 }];
        // Rows of a tile past the batch read zeros.
        let zeros = vec![0.0f32; KC.min(k)];
        let mut pc = 0;
        while pc < k {
            let kb = KC.min(k - pc);
            for p in 0..npad / nr {
                let panel = self.data[pc * npad + p * kb * nr..].as_ptr();
                for i0 in (0..m).step_by(mr) {
                    let cov = mr.min(m - i0);
                    let mut rows = [zeros.as_ptr(); MR_WIDE];
                    for (r, row) in rows.iter_mut().enumerate().take(cov) {
                        *row = a[(i0 + r) * k + pc..].as_ptr();
                    }
                    let (dst, ld) = if p < full {
                        (c[i0 * n + p * nr..].as_mut_ptr(), n)
                    } else {
                        (edge[i0 * nr..].as_mut_ptr(), nr)
                    };
                    let t = Tile {
                        panel,
                        rows,
                        kb,
                        dst,
                        ld,
                        cov,
                        accumulate: pc > 0,
                    };
                    // SAFETY: the panel holds kb x nr floats, each row kb
                    // (zeros: KC >= kb), dst rows r < cov hold nr floats
                    // `ld` apart; `cov <= mr`, the ISA's tile rows; `on`
                    // checks the ISA, whose nr packed the panels.
                    unsafe { run_tile(self.isa, &t) };
                }
            }
            pc += kb;
        }
        if full < npad / nr {
            let w = n - full * nr;
            for (cr, er) in c.chunks_exact_mut(n).zip(edge.chunks_exact(nr)) {
                cr[full * nr..].copy_from_slice(&er[..w]);
            }
        }
        Ok(())
    }
}

/// C = A Wᵀ (A `m x k`, W `n x k`, C `m x n`) on `packed` where the plan
/// made it ([`PackedLinear::for_batch`]), else on [`gemm`].
#[allow(clippy::too_many_arguments)]
pub fn linear(
    isa: Isa,
    packed: Option<&PackedLinear>,
    a: &[f32],
    w: &[f32],
    c: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
) -> Result<(), BenchError> {
    match packed {
        Some(p) if (p.n, p.k) == (n, k) => p.gemm(a, c, m),
        Some(_) => Err(shape_err("linear", "packed for another shape")),
        None => gemm(isa, a, w, c, m, k, n),
    }
}

/// Batch rows of a register tile of an instruction set (as `usable()`
/// resolves it): the `MR` of its [`tile()`] instantiation.
fn tile_rows(isa: Isa) -> usize {
    if isa == Isa::Avx512 {
        MR_WIDE
    } else {
        MR_NARROW
    }
}

/// Floats per vector of an instruction set (as `usable()` resolves it).
fn lanes(isa: Isa) -> usize {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => super::simd::Avx512::LANES,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => super::simd::Avx2::LANES,
        _ => super::simd::Portable::LANES,
    }
}

/// One register tile's work.
pub(crate) struct Tile {
    panel: *const f32,
    /// A's rows from the block's first k (the zero row past the batch).
    rows: [*const f32; MR_WIDE],
    kb: usize,
    dst: *mut f32,
    ld: usize,
    cov: usize,
    accumulate: bool,
}

/// `dst[r * ld + c] (+)= sum_kk rows[r][kk] * panel[kk * NV * LANES + c]`
/// for r < cov.
///
/// # Safety
/// The CPU has `S`'s ISA; the panel holds kb x NV x LANES floats, every row
/// kb floats, dst rows r < cov NV x LANES floats.
#[inline(always)]
unsafe fn tile<S: Simd, const MR: usize>(t: &Tile) {
    let l = S::LANES;
    // SAFETY (whole body): the caller's contract.
    unsafe {
        let mut acc = [[S::zero(); NV]; MR];
        if MR <= TWO_STREAMS_MAX_ROWS {
            // A step of the block's first half, then one of its second, so
            // that two lines of the panel are in flight, not one.
            let h = t.kb / 2;
            for kk in 0..h {
                step::<S, MR>(t, &mut acc, kk);
                step::<S, MR>(t, &mut acc, kk + h);
            }
            if t.kb % 2 == 1 {
                step::<S, MR>(t, &mut acc, t.kb - 1);
            }
        } else {
            for kk in 0..t.kb {
                step::<S, MR>(t, &mut acc, kk);
            }
        }
        for (r, ar) in acc.iter().enumerate().take(t.cov) {
            for (v, av) in ar.iter().enumerate() {
                let o = t.dst.add(r * t.ld + v * l);
                let out = if t.accumulate {
                    S::add(*av, S::load(o))
                } else {
                    *av
                };
                S::store(o, out);
            }
        }
    }
}

/// One step kk of [`tile()`]: the panel's two vectors at kk, times each
/// row's float at kk, into `acc`.
///
/// # Safety
/// [`tile()`]'s, with kk < kb.
#[inline(always)]
unsafe fn step<S: Simd, const MR: usize>(t: &Tile, acc: &mut [[S::V; NV]; MR], kk: usize) {
    let l = S::LANES;
    let nr = NV * l;
    // SAFETY: the caller's contract.
    unsafe {
        let p = t.panel.add(kk * nr);
        // One step reads nr floats: two lines with AVX-512.
        for line in (0..nr).step_by(16) {
            S::prefetch_l2(p.wrapping_add(PF + line));
        }
        let mut wv = [S::zero(); NV];
        for (v, x) in wv.iter_mut().enumerate() {
            *x = S::load(p.add(v * l));
        }
        for (ar, row) in acc.iter_mut().zip(&t.rows) {
            let b = S::splat(row.add(kk));
            for (av, x) in ar.iter_mut().zip(&wv) {
                *av = S::fma(*x, b, *av);
            }
        }
    }
}

/// Runs `t` on the smallest tile that covers its rows, so that a batch, or
/// its last tile of rows, computes no rows of zeros but at most one.
///
/// # Safety
/// [`tile()`]'s, with `t.cov` at most [`tile_rows`] of `isa`.
unsafe fn run_tile(isa: Isa, t: &Tile) {
    // SAFETY: the caller's; `on` checks the ISA.
    unsafe {
        match t.cov {
            0..=2 => tile_2::on(isa, t),
            3..=4 => tile_4::on(isa, t),
            5..=6 => tile_6::on(isa, t),
            _ => tile_wide::on(isa, t),
        }
    }
}

entry_points!(
    /// Entry points of [`tile()`] for up to 2 rows.
    mod tile_2 = fn tile(t: &Tile);
    [2] [2] [2]
);
entry_points!(
    /// Entry points of [`tile()`] for up to 4 rows.
    mod tile_4 = fn tile(t: &Tile);
    [4] [4] [4]
);
entry_points!(
    /// Entry points of [`tile()`] for up to 6 rows.
    mod tile_6 = fn tile(t: &Tile);
    [MR_NARROW] [MR_NARROW] [MR_NARROW]
);
entry_points!(
    /// Entry points of [`tile()`] for up to 8 rows: AVX-512 only, as AVX2
    /// and portable code never cover more than 6.
    mod tile_wide = fn tile(t: &Tile);
    [MR_NARROW] [MR_NARROW] [MR_WIDE]
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::buffer::random_vec;
    use crate::bench::kernels::check_close;
    use crate::bench::kernels::gemm::gemm_scalar;

    /// Batches within and past one tile of rows (each tile size, as the
    /// last tile or the only one), n not a multiple of any panel, k over several blocks and with a short last block, on every
    /// instruction set this CPU has (packed whatever the batch).
    #[test]
    fn every_instantiation_agrees_with_the_scalar_reference() {
        for (m, k, n) in [
            (1, 3, 1),
            (2, 37, 9),
            (3, 70, 31),
            (5, KC + 7, 40),
            (8, 3 * KC, 33),
            (9, 100, 17),
            (14, 2 * KC + 1, 64),
        ] {
            let a = random_vec(m * k, 1);
            let w = random_vec(n * k, 2);
            let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
            let (mut want, mut bound) = (vec![0.0; m * n], vec![0.0; m * n]);
            gemm_scalar(&a, &w, &mut want, m, k, n).unwrap();
            gemm_scalar(&abs(&a), &abs(&w), &mut bound, m, k, n).unwrap();
            for isa in Isa::all_available() {
                let p = PackedLinear::new(isa, &w, n, k).unwrap();
                let mut got = vec![f32::NAN; m * n];
                p.gemm(&a, &mut got, m).unwrap();
                check_close(&got, &want, &bound, k)
                    .unwrap_or_else(|e| panic!("{isa:?} {m}x{k}x{n}: {e:?}"));
            }
        }
    }

    #[test]
    fn batches_from_2_to_8_are_packed() {
        let w = [0.5; 6];
        let packed = |isa, m| PackedLinear::for_batch(isa, &w, 2, 3, m).unwrap().is_some();
        for isa in Isa::all_available() {
            let want = match isa {
                Isa::Avx512 => [false, true, true, true, false],
                Isa::Avx2Fma => [false, true, true, true, false],
                Isa::Portable => [false; 5],
            };
            assert_eq!([1, 2, 6, 8, 9].map(|m| packed(isa, m)), want, "{isa:?}");
        }
    }

    #[test]
    fn wrong_lengths_and_shapes_are_errors() {
        assert!(PackedLinear::new(Isa::Portable, &[0.0; 5], 2, 3).is_err());
        assert!(PackedLinear::new(Isa::Portable, &[], 0, 3).is_err());
        let p = PackedLinear::new(Isa::Portable, &[0.0; 6], 2, 3).unwrap();
        assert!(p.gemm(&[0.0; 5], &mut [0.0; 4], 2).is_err());
        assert!(p.gemm(&[0.0; 6], &mut [0.0; 3], 2).is_err());
        assert!(p.gemm(&[], &mut [], 0).is_err());
        let err = linear(
            Isa::Portable,
            Some(&p),
            &[0.0; 6],
            &[0.0; 6],
            &mut [0.0; 6],
            2,
            3,
            3,
        );
        assert!(err.is_err());
    }
}
