//! The loop nests that walk a convolution in register tiles; the tiles
//! themselves, one per instruction set, are in `tiles.rs`.

use super::tiles::{GatherOut, Tiles};
use super::*;

/// Input operand of the tiles: reduction step `kk` of the tile at position `p`
/// reads `inp[p + offs[kk] .. p + offs[kk] + tp]` (`tp` the tiles' positions).
pub(super) struct Operand<'a> {
    pub(super) inp: &'a [f32],
    pub(super) offs: &'a [usize],
}

/// Output of the tiles: rows (channels) of length `ld`; `rows` and `cols`
/// bound what is written; output column `q` is operand position `origin + q`,
/// or, with `wrap`, output pixel `y * ow + x` at operand position `y * wq + x`.
pub(super) struct Dest<'a> {
    pub(super) out: &'a mut [f32],
    pub(super) ld: usize,
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) origin: usize,
    pub(super) wrap: Option<Rows>,
}

/// Tiles that follow output rows (they never straddle one).
pub(super) struct Rows {
    /// Output pixels per row.
    pub(super) ow: usize,
    /// Operand positions per row.
    pub(super) wq: usize,
    /// Rows walked together: every channel block over the group's tiles
    /// before the next block ([`ROW_GROUP_MAX_KRED`]), or `None`: every
    /// channel block over one tile before the next tile.
    pub(super) group: Option<usize>,
}

/// Reduction geometry shared by the operands.
#[derive(Clone, Copy)]
pub(super) struct Geometry {
    /// Reduction length cin * k * k.
    pub(super) kred: usize,
    /// Steps per input channel (k * k).
    pub(super) kk: usize,
    /// Largest offset of the main operand (bounds check).
    pub(super) max_off: usize,
    /// Output channels.
    pub(super) cout: usize,
}

/// Reduction steps per cache block: one tile's input lines stay in L1, and
/// 3x3 layers with 64 input channels (576 steps) need a single block.
pub(super) const KC_STEPS: usize = 640;
/// Packed-weight floats per cache block (kept in L2).
pub(super) const W_BLOCK_FLOATS: usize = 128 << 10;

/// Loop over cache blocks and tiles: reduction blocks outermost (partial
/// sums accumulate in the output), then blocks of output channels whose
/// weights fit in L2, then positions, then channels innermost so one tile's
/// input lines stay in L1 for every channel block. With row groups
/// ([`Rows::group`]), channel blocks go outside the tiles of a group.
pub(super) fn drive(tiles: &Tiles, op: &Operand<'_>, wpk: &[f32], g: &Geometry, d: Dest<'_>) {
    let kstep = kstep(g.kk);
    let co = tiles.co;
    let cb_blk = (W_BLOCK_FLOATS / (kstep * co)).max(1);
    let ncb = d.rows.div_ceil(co);
    // Tiles never straddle a row of `row_len` columns (flat: one row).
    let row_len = d.wrap.as_ref().map_or(d.cols, |r| r.ow).max(1);
    let per_row = row_len.div_ceil(tiles.tp);
    let ntiles = d.cols / row_len * per_row;
    let group = match &d.wrap {
        Some(Rows { group: Some(n), .. }) => (*n).max(1) * per_row,
        _ => 1,
    };
    let mut k0 = 0;
    while k0 < g.kred {
        let k1 = (k0 + kstep).min(g.kred);
        let kb = k1 - k0;
        let mut cb0 = 0;
        while cb0 < ncb {
            let cb1 = (cb0 + cb_blk).min(ncb);
            for g0 in (0..ntiles).step_by(group) {
                for cb in cb0..cb1 {
                    let c0 = cb * co;
                    let w = block_weights(wpk, (ncb, co), k0, kb, cb);
                    for i in g0..(g0 + group).min(ntiles) {
                        let (y, x) = (i / per_row, i % per_row * tiles.tp);
                        let p = y * row_len + x;
                        let base = match &d.wrap {
                            Some(r) => y * r.wq + x,
                            None => d.origin + p,
                        };
                        let t = Tile {
                            base,
                            max_off: g.max_off,
                            o0: c0 * d.ld + p,
                            ld: d.ld,
                            cov: co.min(d.rows - c0),
                            pv: tiles.tp.min(row_len - x),
                            accumulate: k0 > 0,
                        };
                        run_tile(tiles, op.inp, &op.offs[k0..k1], w, d.out, &t);
                    }
                }
            }
            cb0 = cb1;
        }
        k0 = k1;
    }
}

/// Reduction steps per cache block of the gather path: one channel group's
/// weights for the block (18 KB with AVX-512's 32-channel groups) stay in L1
/// while a run of tiles uses them, next to the run's input lines. On the
/// Sapphire Rapids-class Xeon VM (48 KiB L1) 144 steps with channel groups
/// outside the tiles ran VGG-19's and ResNet-34's 3x3 convs 1.01-1.12x faster
/// than 288 steps with the groups innermost (AVX-512 tiles, 11 pinned pairs;
/// the AVX2 tiles there 1.01-1.08x); 72 steps ran 2-5% slower than 144.
pub(super) const GATHER_KC: usize = 144;

/// Reduction steps per cache block of the gather path, whole channels of
/// `kk` taps.
pub(super) fn gather_kstep(kk: usize) -> usize {
    (GATHER_KC / kk).max(1) * kk
}

/// How the gather path blocks a layer (and so packs its weights):
/// reduction blocks of `kstep` steps, runs of `run` tiles (one channel
/// group's weights for a reduction block stay in L1 over a run), spans of
/// `span` tiles whose partial sums stay cached over every reduction block,
/// and blocks of `groups` channel groups whose weights stay in L2 over the
/// spans.
pub(super) struct GatherBlocking {
    pub(super) kstep: usize,
    run: usize,
    span: usize,
    groups: usize,
}

impl GatherBlocking {
    /// Where one channel group's weights over the whole reduction fit in half
    /// of an L2 weight block (at most 2048 steps with AVX-512's 32-channel
    /// groups), a span is one run: the run's partial sums stay in L1/L2 over
    /// all reduction blocks, and its input lines in L2. Otherwise a span is the
    /// whole layer, with one reduction block's weights in L2 and the partial
    /// sums of all tiles streamed through once per block. On the Sapphire
    /// Rapids-class Xeon VM, runs as spans ran VGG-19's 112-pixel convs and its
    /// 128->256 conv at 56 1.01-1.04x faster than spans of the whole layer (13
    /// pinned pairs, AVX2 tiles level), and the partial sums of VGG-19's 64->64
    /// conv at 224 take 28 KB instead of 12.8 MB; spans of the whole layer ran
    /// its 512-channel convs (4608 steps) and ResNet-34's 256->256 conv 2-3%
    /// faster than runs (15 pairs). A span's tiles that went through the whole
    /// reduction in one call each (their sums in registers, the group's weights
    /// streamed from L2) were level (9 pairs).
    pub(super) fn of(tiles: &Tiles, kred: usize, kk: usize, ntiles: usize) -> Self {
        let (kstep, gco) = (gather_kstep(kk), tiles.gco.max(1));
        let run = (RUN_PIXELS / tiles.gp.max(1)).max(1);
        let whole = kred.max(1) * gco;
        let (span, wfloats) = match whole <= W_BLOCK_FLOATS / 2 {
            true => (run, whole),
            false => (ntiles.max(1), kstep * gco),
        };
        let groups = (W_BLOCK_FLOATS / wfloats).max(1);
        Self {
            kstep,
            run,
            span,
            groups,
        }
    }

    /// Floats of partial sums: one span of tiles for each channel group of
    /// a block (`[group][span][gp][gco]`), `ncb` groups in all.
    pub(super) fn partial_len(&self, tiles: &Tiles, ncb: usize) -> usize {
        self.groups.min(ncb) * self.span * tiles.gp * tiles.gco
    }
}

/// Gather-path loop: blocks of channel groups outermost, then spans of
/// tiles, reduction blocks (partial sums accumulate in `partial`), runs of
/// tiles, channel groups, and the run's tiles innermost (the group's weights
/// stay in L1 over the run, the run's input lines in L1/L2 over its groups).
/// See [`GatherBlocking`].
///
/// In the last reduction block, each run of tiles is written into `output`
/// (`cout x npix`, channel-major) as soon as it is final, while it is in
/// L1/L2, [`RUN_PIXELS`] contiguous floats per channel. Transposing all of
/// `partial` at the end read it back from the L3 with a stride of `gco`
/// floats (2.7 of 15.5 ms of VGG-19's 64->128 conv at 112x112 on the Xeon
/// VM). Writing each tile's 14 pixels straight out was no better: output
/// rows 50 KB apart share 4 of the L1's 64 sets, and each partly written
/// line was evicted before the next tile completed it.
#[allow(clippy::too_many_arguments)]
pub(super) fn gather_drive(
    tiles: &Tiles,
    inp: &[f32],
    offs: &[usize],
    bases: &[usize],
    wpk: &[f32],
    g: &Geometry,
    partial: &mut [f32],
    output: &mut [f32],
) {
    let (gp, gco) = (tiles.gp, tiles.gco);
    let ntiles = bases.len() / gp;
    let b = GatherBlocking::of(tiles, g.kred, g.kk, ntiles);
    let tsz = gp * gco;
    let ncb = wpk.len() / (g.kred * gco);
    let max_base = bases.iter().copied().max().unwrap_or(0);
    let npix = output.len() / g.cout.max(1);
    let ok = max_base + g.max_off < inp.len()
        && partial.len() >= b.partial_len(tiles, ncb)
        && g.cout <= ncb * gco
        && npix <= ntiles * gp
        && output.len() == g.cout * npix;
    if !ok {
        debug_assert!(false, "gather operands out of bounds");
        return;
    }
    for cb0 in (0..ncb).step_by(b.groups) {
        let cb1 = (cb0 + b.groups).min(ncb);
        for s0 in (0..ntiles).step_by(b.span) {
            let s1 = (s0 + b.span).min(ntiles);
            // Partial sums of group `cb`, tile `t`, in units of tiles.
            let slot = |cb: usize, t: usize| (cb - cb0) * b.span + t - s0;
            let mut k0 = 0;
            while k0 < g.kred {
                let k1 = (k0 + b.kstep).min(g.kred);
                let kb = k1 - k0;
                for r0 in (s0..s1).step_by(b.run) {
                    let r1 = (r0 + b.run).min(s1);
                    for cb in cb0..cb1 {
                        let w = block_weights(wpk, (ncb, gco), k0, kb, cb);
                        for (t, tb) in bases[r0 * gp..r1 * gp].chunks_exact(gp).enumerate() {
                            let t = r0 + t;
                            // The tile after this one, whose partial sums
                            // the tile prefetches.
                            let next = match () {
                                _ if t + 1 < r1 => slot(cb, t + 1),
                                _ if cb + 1 < cb1 => slot(cb + 1, r0),
                                _ if r1 < s1 => slot(cb0, r1),
                                _ => slot(cb0, s0),
                            };
                            let next = partial[next * tsz..].as_ptr();
                            let o = &mut partial[slot(cb, t) * tsz..][..tsz];
                            // SAFETY: the tiles' ISA is this CPU's; every
                            // base + offset < inp.len() (checked above), w
                            // holds gco floats per offset and o holds one
                            // tile of gp pixels.
                            unsafe {
                                tiles.gather(
                                    inp.as_ptr(),
                                    tb,
                                    &offs[k0..k1],
                                    w.as_ptr(),
                                    GatherOut {
                                        out: o.as_mut_ptr(),
                                        accumulate: k0 > 0,
                                        next,
                                    },
                                )
                            }
                        }
                    }
                    if k1 == g.kred {
                        for cb in cb0..cb1 {
                            let run = &partial[slot(cb, r0) * tsz..][..(r1 - r0) * tsz];
                            tiles.write_run(run, cb * gco, r0 * gp, g.cout, npix, output);
                        }
                    }
                }
                k0 = k1;
            }
        }
    }
}

/// Output pixels per run of gather tiles written out together (7 full lines per
/// channel); 56 ran 2-5% slower on the Sapphire Rapids-class VM, 224 level.
const RUN_PIXELS: usize = 112;

/// Where one tile reads and writes.
pub(super) struct Tile {
    /// Position of the tile in the operand.
    pub(super) base: usize,
    /// Upper bound of the offsets (for the bounds check).
    pub(super) max_off: usize,
    /// First output element.
    pub(super) o0: usize,
    /// Output row stride.
    pub(super) ld: usize,
    /// Valid output rows (channels).
    pub(super) cov: usize,
    /// Valid output columns (positions).
    pub(super) pv: usize,
    /// Add to the output instead of overwriting it.
    pub(super) accumulate: bool,
}

/// One `co x tp` tile: `out[c][q] (+)= sum_kk w[kk][c] * inp[base + offs[kk] + q]`
/// for c < cov, q < pv. Reads past `pv` up to `tp` must be in bounds.
pub(super) fn run_tile(
    tiles: &Tiles,
    inp: &[f32],
    offs: &[usize],
    w: &[f32],
    out: &mut [f32],
    t: &Tile,
) {
    let in_ok = t.base + t.max_off + tiles.tp <= inp.len();
    let out_ok = t.cov >= 1 && t.pv >= 1 && t.o0 + (t.cov - 1) * t.ld + t.pv <= out.len();
    if !(in_ok && out_ok && w.len() >= offs.len() * tiles.co) {
        debug_assert!(false, "conv tile out of bounds");
        return;
    }
    // SAFETY: the tiles' ISA is this CPU's; bounds checked just above.
    unsafe {
        tiles.direct(
            inp.as_ptr().add(t.base),
            offs,
            w.as_ptr(),
            out.as_mut_ptr().add(t.o0),
            t,
        )
    }
}
