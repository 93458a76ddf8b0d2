//! The register tiles of the direct and gather paths, written once over
//! [`Simd`] and instantiated per instruction set; [`Tiles::of`] picks an
//! instruction set's tiles and sizes once, when a plan is made.
//!
//! | ISA      | direct tile (channels x positions) | gather tile (pixels x channels) | registers |
//! |----------|------------------------------------|---------------------------------|-----------|
//! | AVX-512  | 8 x 32 (16 accumulators)           | 14 or 7 x 32 (28 or 14 accumulators) | 18 and 30 of 32 |
//! | AVX2     | 6 x 16 (12 accumulators)           | 6 x 16 (12 accumulators)        | 14 of 16  |
//! | portable | 6 x 16                             | 6 x 16                          |           |
//!
//! Every AVX-512 tile has two vectors of the operand it loads, each used by
//! 8 or 14 broadcasts: 10 loads per 16 FMAs (direct), 16 per 28 (gather).
//! That lets a core with two 512-bit FMA units run near its peak. On a Xeon
//! with two, tiles with one vector (16 x 16 direct, 14 x 16 gather: a load
//! per FMA) ran VGG-19's 3x3 convs at 63-70% of the peak; these ran them
//! 1.17-1.44x faster.
//!
//! Each instruction set also has a short direct tile, one vector of
//! positions, for the last tile of a row that fits in it: with it, the
//! ResNet stem's rows of 112 positions take 3 x 32 + 16 slots on AVX-512,
//! where 4 x 32 wasted an eighth, so the stem runs row-tiled (no copy-out
//! of row chunks): 1.10x median, 1.18x best over 15 pinned samples.
//!
//! An instruction set may have two gather tiles, a long and a short one:
//! [`Tiles::for_pixels`] takes the one that pads a layer's pixels to the
//! fewest tile slots (ResNet's 7x7 maps fill 7-pixel tiles exactly, where
//! 14-pixel ones waste 7 of 56 slots).

use super::drive::Tile;
use crate::bench::kernels::simd::{entry_points, Portable, Simd};
#[cfg(target_arch = "x86_64")]
use crate::bench::kernels::simd::{Avx2, Avx512};
use crate::bench::kernels::Isa;

/// AVX-512 tiles: 8 channels x 2 vectors of positions (direct); 14 or 7
/// pixels x 2 vectors of channels (gather; 7 x 4 vectors would need 33
/// registers).
const WIDE_CO: usize = 8;
const WIDE_DV: usize = 2;
const WIDE_GP: usize = 14;
const WIDE_GP_SHORT: usize = 7;
const WIDE_GV: usize = 2;
/// AVX2 and portable tiles: 6 channels x 2 vectors of positions (direct);
/// 6 pixels x 2 vectors of channels (gather).
const NARROW_CO: usize = 6;
const NARROW_DV: usize = 2;
const NARROW_GP: usize = 6;
const NARROW_GV: usize = 2;
/// Most positions a direct tile may have (its partial-tile buffer).
const MAX_TP: usize = 64;

/// A direct tile: `out[c * ld + q] (+)= sum_kk w[kk * co + c] * inp[offs[kk] + q]`.
type DirectFn = unsafe fn(*const f32, &[usize], *const f32, *mut f32, &Tile);
/// A gather tile of `gco` channels:
/// `out[j * gco + c] (+)= sum_kk w[kk * gco + c] * inp[bases[j] + offs[kk]]`.
type GatherFn = unsafe fn(*const f32, &[usize], &[usize], *const f32, GatherOut);

/// Where a gather tile writes: its `gp x gco` partial sums `out`, which it
/// adds to with `accumulate`, and the next tile's sums, which it prefetches
/// (`next`, any address).
#[derive(Clone, Copy)]
pub(crate) struct GatherOut {
    pub(crate) out: *mut f32,
    pub(crate) accumulate: bool,
    pub(crate) next: *const f32,
}
/// Writes finished gather tiles into a channel-major output ([`write_run()`]).
type WriteRunFn = unsafe fn(&[f32], usize, (usize, usize), usize, usize, &mut [f32]);

/// One instruction set's conv tiles and their sizes.
#[derive(Clone, Copy)]
pub(crate) struct Tiles {
    /// The instruction set they run on.
    pub(crate) isa: Isa,
    /// Output channels of a direct tile (its broadcast dimension).
    pub(crate) co: usize,
    /// Output positions of a direct tile (its vector dimension).
    pub(crate) tp: usize,
    /// Output pixels of a gather tile (its broadcast dimension).
    pub(crate) gp: usize,
    /// Output channels of a gather tile (its vector dimension).
    pub(crate) gco: usize,
    direct: DirectFn,
    gather: GatherFn,
    /// The short gather tile: pixels and entry point.
    short: (usize, GatherFn),
    /// The short direct tile (one vector of positions): positions and
    /// entry point, for tiles with no more positions than it has.
    short_direct: (usize, DirectFn),
    write_run: WriteRunFn,
}

impl std::fmt::Debug for Tiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiles")
            .field("isa", &self.isa)
            .field("co", &self.co)
            .field("tp", &self.tp)
            .field("gp", &self.gp)
            .field("gco", &self.gco)
            .finish()
    }
}

impl Tiles {
    /// The tiles of `isa` (of the best one below it this CPU has).
    pub(crate) fn of(isa: Isa) -> Tiles {
        match isa.usable() {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Tiles {
                isa: Isa::Avx512,
                co: WIDE_CO,
                tp: WIDE_DV * Avx512::LANES,
                gp: WIDE_GP,
                gco: WIDE_GV * Avx512::LANES,
                direct: direct::avx512,
                gather: gather::avx512,
                short: (WIDE_GP_SHORT, gather_short::avx512),
                short_direct: (Avx512::LANES, direct_short::avx512),
                write_run: write_run::avx512,
            },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => Tiles {
                isa: Isa::Avx2Fma,
                co: NARROW_CO,
                tp: NARROW_DV * Avx2::LANES,
                gp: NARROW_GP,
                gco: NARROW_GV * Avx2::LANES,
                direct: direct::avx2,
                gather: gather::avx2,
                short: (NARROW_GP, gather::avx2),
                short_direct: (Avx2::LANES, direct_short::avx2),
                write_run: write_run::avx2,
            },
            _ => Tiles {
                isa: Isa::Portable,
                co: NARROW_CO,
                tp: NARROW_DV * Portable::LANES,
                gp: NARROW_GP,
                gco: NARROW_GV * Portable::LANES,
                direct: direct::portable,
                gather: gather::portable,
                short: (NARROW_GP, gather::portable),
                short_direct: (Portable::LANES, direct_short::portable),
                write_run: write_run::portable,
            },
        }
    }

    /// These tiles with the gather tile that pads `npos` pixels to the
    /// fewest slots (the long one when both pad alike).
    pub(crate) fn for_pixels(self, npos: usize) -> Tiles {
        let slots = |gp: usize| npos.div_ceil(gp) * gp;
        let (gp, gather) = self.short;
        if slots(gp) < slots(self.gp) {
            Tiles { gp, gather, ..self }
        } else {
            self
        }
    }

    /// Tile slots a row of `n` positions takes in direct tiles: whole tiles,
    /// and a last one that is short where the short tile holds the rest.
    pub(crate) fn row_slots(&self, n: usize) -> usize {
        let rest = n % self.tp;
        n - rest
            + match rest {
                0 => 0,
                r if r <= self.short_direct.0 => self.short_direct.0,
                _ => self.tp,
            }
    }

    /// Runs one direct tile.
    ///
    /// # Safety
    /// `inp + off + q` readable for every off in offs and q < `tp`; `w`
    /// holds `co` floats per offset; `out + c * ld + q` readable and
    /// writable for c < cov, q < pv.
    pub(crate) unsafe fn direct(
        &self,
        inp: *const f32,
        offs: &[usize],
        w: *const f32,
        out: *mut f32,
        t: &Tile,
    ) {
        let (short, short_fn) = self.short_direct;
        let f = if t.pv <= short { short_fn } else { self.direct };
        // SAFETY: the CPU has the tiles' ISA (Tiles::of); the short tile
        // reads fewer positions; the rest is the caller's.
        unsafe { f(inp, offs, w, out, t) }
    }

    /// Writes a run of finished gather tiles (`[pixel][gco]`, channels from
    /// `c0`, pixels from `q0`) into the channel-major output (`cout x
    /// npix`), dropping padding channels and pixels.
    pub(crate) fn write_run(
        &self,
        tiles: &[f32],
        c0: usize,
        q0: usize,
        cout: usize,
        npix: usize,
        output: &mut [f32],
    ) {
        // SAFETY: the CPU has the tiles' ISA (Tiles::of); `write_run` checks
        // the lengths.
        unsafe { (self.write_run)(tiles, self.gco, (c0, q0), cout, npix, output) }
    }

    /// Runs one gather tile, prefetching the `gp * gco` floats at `o.next`.
    ///
    /// # Safety
    /// `bases.len() == gp`; `inp + bases[j] + off` readable for every j and
    /// off in offs; `w` holds `gco` floats per offset; `o.out` holds
    /// `gp * gco` floats.
    pub(crate) unsafe fn gather(
        &self,
        inp: *const f32,
        bases: &[usize],
        offs: &[usize],
        w: *const f32,
        o: GatherOut,
    ) {
        debug_assert_eq!(bases.len(), self.gp);
        // SAFETY: as for `direct`.
        unsafe { (self.gather)(inp, bases, offs, w, o) }
    }
}

/// Direct tile of `CO` channels x `NV` vectors of positions: each reduction
/// step loads `NV` input vectors and broadcasts `CO` weights.
///
/// # Safety
/// As [`Tiles::direct`], and the CPU has `S`'s instruction set.
#[inline(always)]
unsafe fn direct<S: Simd, const CO: usize, const NV: usize>(
    inp: *const f32,
    offs: &[usize],
    w: *const f32,
    out: *mut f32,
    t: &Tile,
) {
    let tp = NV * S::LANES;
    debug_assert!(tp <= MAX_TP);
    let (ld, cov, pv) = (t.ld, t.cov, t.pv);
    // SAFETY (whole body): guaranteed by the caller as documented.
    unsafe {
        let mut acc = [[S::zero(); NV]; CO];
        // Partial tiles go through `tmp`, made only where one is needed:
        // zeroing it on every call cost the stem 8 stores a tile.
        if t.accumulate {
            let mut tmp = [0.0f32; MAX_TP];
            for (c, a) in acc.iter_mut().enumerate().take(cov) {
                let src = if pv == tp {
                    out.add(c * ld).cast_const()
                } else {
                    std::ptr::copy_nonoverlapping(out.add(c * ld), tmp.as_mut_ptr(), pv);
                    tmp.as_ptr()
                };
                for (v, av) in a.iter_mut().enumerate() {
                    *av = S::load(src.add(S::LANES * v));
                }
            }
        }
        let mut wp = w;
        for &off in offs {
            let ip = inp.add(off);
            let mut x = [S::zero(); NV];
            for (v, xv) in x.iter_mut().enumerate() {
                *xv = S::load(ip.add(S::LANES * v));
            }
            for (c, a) in acc.iter_mut().enumerate() {
                let b = S::splat(wp.add(c));
                for (av, xv) in a.iter_mut().zip(&x) {
                    *av = S::fma(b, *xv, *av);
                }
            }
            wp = wp.add(CO);
        }
        if cov == CO && pv == tp {
            for (c, a) in acc.iter().enumerate() {
                let o = out.add(c * ld);
                for (v, av) in a.iter().enumerate() {
                    S::store(o.add(S::LANES * v), *av);
                }
            }
        } else {
            let mut tmp = [0.0f32; MAX_TP];
            for (c, a) in acc.iter().enumerate().take(cov) {
                for (v, av) in a.iter().enumerate() {
                    S::store(tmp.as_mut_ptr().add(S::LANES * v), *av);
                }
                std::ptr::copy_nonoverlapping(tmp.as_ptr(), out.add(c * ld), pv);
            }
        }
    }
}

/// Gather tile of `GP` pixels x `NV` vectors of channels: each step loads
/// `NV` weight vectors and broadcasts one input per pixel.
///
/// The tile first asks for the lines of `next` (the partial sums of the
/// tile the loop runs after it): VGG-19's larger maps keep their partial
/// sums in the L3, and the tile's first loads waited on them (1.02-1.04x
/// on its 112- and 56-pixel convs on the Sapphire Rapids-class VM, 9 pinned
/// pairs; level where the sums stay in L2).
///
/// Pixels one or two floats apart (a tile inside one output row, stride 1
/// or 2) are addressed from one pointer with constant displacements; other
/// tiles keep a pointer per pixel, which on AVX-512 spills some of its 14
/// pointers to the stack and reloads them every step.
///
/// # Safety
/// As [`Tiles::gather`], and the CPU has `S`'s instruction set.
#[inline(always)]
unsafe fn gather<S: Simd, const GP: usize, const NV: usize>(
    inp: *const f32,
    bases: &[usize],
    offs: &[usize],
    w: *const f32,
    GatherOut {
        out,
        accumulate,
        next,
    }: GatherOut,
) {
    let gco = NV * S::LANES;
    // SAFETY (whole body): guaranteed by the caller as documented.
    unsafe {
        for line in 0..GP * gco / 16 {
            S::prefetch(next.wrapping_add(16 * line));
        }
        let mut acc = [[S::zero(); NV]; GP];
        if accumulate {
            for (j, a) in acc.iter_mut().enumerate() {
                for (v, av) in a.iter_mut().enumerate() {
                    *av = S::load(out.add(j * gco + S::LANES * v));
                }
            }
        }
        let run = |st: usize| (0..GP).all(|j| bases[j] == bases[0] + j * st);
        let ip = inp.add(bases[0]);
        if run(1) {
            gather_steps::<S, GP, NV>(offs, w, &mut acc, |j, off| ip.add(off + j));
        } else if run(2) {
            gather_steps::<S, GP, NV>(offs, w, &mut acc, |j, off| ip.add(off + 2 * j));
        } else {
            // Loops, not `array::from_fn` or `map`: those may stay calls,
            // and vectors passed through them would leave their registers.
            let mut px = [inp; GP];
            for (p, &b) in px.iter_mut().zip(bases) {
                *p = inp.add(b);
            }
            gather_steps::<S, GP, NV>(offs, w, &mut acc, |j, off| px[j].add(off));
        }
        for (j, a) in acc.iter().enumerate() {
            for (v, av) in a.iter().enumerate() {
                S::store(out.add(j * gco + S::LANES * v), *av);
            }
        }
    }
}

/// The reduction steps of a gather tile: step `off` of pixel `j` reads the
/// input at `pixel(j, off)`.
///
/// # Safety
/// As [`gather()`], for every address `pixel` gives.
#[inline(always)]
unsafe fn gather_steps<S: Simd, const GP: usize, const NV: usize>(
    offs: &[usize],
    w: *const f32,
    acc: &mut [[S::V; NV]; GP],
    pixel: impl Fn(usize, usize) -> *const f32,
) {
    // SAFETY (whole body): guaranteed by the caller as documented.
    unsafe {
        let mut wp = w;
        for &off in offs {
            let mut wv = [S::zero(); NV];
            for (v, x) in wv.iter_mut().enumerate() {
                *x = S::load(wp.add(S::LANES * v));
            }
            for (j, a) in acc.iter_mut().enumerate() {
                let b = S::splat(pixel(j, off));
                for (av, x) in a.iter_mut().zip(&wv) {
                    *av = S::fma(b, *x, *av);
                }
            }
            wp = wp.add(NV * S::LANES);
        }
    }
}

entry_points!(
    /// Entry points of [`direct()`]: 6 channels x 2 vectors (portable, AVX2),
    /// 8 channels x 2 vectors (AVX-512).
    fn direct(inp: *const f32, offs: &[usize], w: *const f32, out: *mut f32, t: &Tile);
    [NARROW_CO, NARROW_DV] [NARROW_CO, NARROW_DV] [WIDE_CO, WIDE_DV];
    /// Entry points of the short direct tile: one vector of positions.
    mod direct_short [NARROW_CO, 1] [NARROW_CO, 1] [WIDE_CO, 1]
);

/// Writes finished gather tiles (`[pixel][gco]`, channels from `c0`,
/// pixels from `q0`: `at = (c0, q0)`) into the channel-major output (`cout x npix`, at least
/// that long), dropping padding channels and pixels: whole blocks of
/// `LANES` pixels and channels transposed in registers, the edges one float
/// at a time. One float at a time throughout, the transpose took a quarter
/// of the ResNet stem's time on the gather path.
///
/// # Safety
/// The CPU has `S`'s instruction set.
#[inline(always)]
unsafe fn write_run<S: Simd>(
    tiles: &[f32],
    gco: usize,
    (c0, q0): (usize, usize),
    cout: usize,
    npix: usize,
    output: &mut [f32],
) {
    let n = S::LANES;
    let pixels = (tiles.len() / gco.max(1)).min(npix.saturating_sub(q0));
    let channels = gco.min(cout.saturating_sub(c0));
    if output.len() < cout * npix {
        debug_assert!(false, "gather output too short");
        return;
    }
    let (full_c, full_p) = (channels / n * n, pixels / n * n);
    for c in (0..full_c).step_by(n) {
        for p in (0..full_p).step_by(n) {
            // SAFETY: rows p..p+n of the tiles hold gco >= c + n floats;
            // output rows c0+c..c0+c+n < cout hold npix >= q0 + p + n.
            unsafe {
                S::transpose(
                    tiles.as_ptr().add(p * gco + c),
                    gco,
                    output.as_mut_ptr().add((c0 + c) * npix + q0 + p),
                    npix,
                )
            }
        }
    }
    for c in 0..channels {
        let row = &mut output[(c0 + c) * npix + q0..][..pixels];
        let from = if c < full_c { full_p } else { 0 };
        for (p, o) in row.iter_mut().enumerate().skip(from) {
            *o = tiles[p * gco + c];
        }
    }
}

entry_points!(
    /// Entry points of [`write_run()`].
    fn write_run(
        tiles: &[f32],
        gco: usize,
        at: (usize, usize),
        cout: usize,
        npix: usize,
        output: &mut [f32]
    )
);

entry_points!(
    /// Entry points of [`gather()`]: 6 pixels x 2 vectors (portable, AVX2),
    /// 14 pixels x 2 vectors (AVX-512).
    fn gather(
        inp: *const f32,
        bases: &[usize],
        offs: &[usize],
        w: *const f32,
        o: GatherOut
    );
    [NARROW_GP, NARROW_GV] [NARROW_GP, NARROW_GV] [WIDE_GP, WIDE_GV];
    /// Entry points of the short gather tile: 7 pixels x 2 vectors on
    /// AVX-512 (the others have no short tile and never call theirs).
    mod gather_short [NARROW_GP, NARROW_GV] [NARROW_GP, NARROW_GV] [WIDE_GP_SHORT, WIDE_GV]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_gather_tiles_are_written_channel_major_without_padding() {
        // Runs with whole transposed blocks and edges of pixels and
        // channels: 40 or 7 pixels of a 45-pixel plane from pixel 3 or 38,
        // channels from 0 or from the last group (cout 2 * gco - 5).
        for isa in Isa::all_available() {
            let tiles = Tiles::of(isa);
            let gco = tiles.gco;
            let cout = 2 * gco - 5;
            let npix = 45;
            for (c0, q0, pixels) in [(0, 3, 40), (gco, 3, 40), (0, 38, 14), (gco, 38, 7)] {
                let run: Vec<f32> = (0..pixels * gco).map(|i| i as f32).collect();
                let mut got = vec![-1.0; cout * npix];
                tiles.write_run(&run, c0, q0, cout, npix, &mut got);
                let mut want = vec![-1.0; cout * npix];
                for c in c0..cout.min(c0 + gco) {
                    for p in 0..pixels.min(npix - q0) {
                        want[c * npix + q0 + p] = run[p * gco + c - c0];
                    }
                }
                assert_eq!(got, want, "{isa:?} c0 {c0} q0 {q0} pixels {pixels}");
            }
        }
    }

    #[test]
    fn the_gather_tile_is_the_one_that_pads_the_pixels_least() {
        for isa in Isa::all_available() {
            let tiles = Tiles::of(isa);
            let gp = |npos| tiles.for_pixels(npos).gp;
            if isa == Isa::Avx512 {
                // 7x7 fills 7-pixel tiles; 14x14 and 28x28 fill 14-pixel
                // ones; 50 pixels pad to 56 either way and keep the long tile.
                assert_eq!(
                    [gp(49), gp(196), gp(784), gp(50), gp(7)],
                    [7, 14, 14, 14, 7]
                );
            } else {
                assert_eq!([gp(49), gp(196)], [NARROW_GP, NARROW_GP], "{isa:?}");
            }
        }
    }
}
