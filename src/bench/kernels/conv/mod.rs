//! Conv2d at batch 1, NCHW fp32, any square kernel `k`, stride and zero
//! padding; weights `cout x cin x k x k`. No bias.
//!
//! Paths ([`ConvPath`], picked per shape by [`ConvPlan::auto_path`]):
//! * direct: implicit GEMM over a register tile of output channels x
//!   output positions (AVX2: 6 x 16, AVX-512: 8 x 32; each reduction step
//!   (ci, kh, kw) loads two vectors of inputs and broadcasts one weight per
//!   channel). The input is
//!   copied once into zero-padded planes, split into `stride x stride`
//!   phase planes, so for any stride the input of a step is a contiguous,
//!   shifted vector. Flat variant: positions are flat on the phase-plane
//!   width (junk columns dropped on copy-out, output computed in row chunks
//!   that stay in L2); row variant: tiles follow output rows and are stored
//!   straight into the output (when a row fills its tiles, the last one
//!   perhaps the short one-vector tile, at least as well as flat does).
//! * gather: 16 (AVX2) or 32 (AVX-512) output channels x 6 (AVX2) or 14
//!   or 7 (AVX-512) pixels of the flattened `oh*ow` plane; each step loads
//!   2 weight vectors and broadcasts one input per pixel from the padded
//!   plane, so small planes (14x14, 7x7) get full tiles, and stride 2 needs
//!   no packing.
//! * pointwise: 1x1 stride 1 without padding; the direct tiles run on a
//!   panel of every input channel's next positions, copied contiguous.
//! * im2col: a packed panel per call (reference path, not picked by Auto).
//!
//! Weights are packed once per plan into channel panels (zero-padded).
//!
//! Files: this one holds the shapes, the scalar reference and the paths;
//! `plan.rs` chooses a path for a shape, packs and lays out, and runs;
//! `drive.rs` holds the loop nests over register tiles; `tiles.rs` the
//! tiles, written once over the `Simd` trait and instantiated for
//! AVX-512, AVX2 and portable code.

use super::Isa;
use crate::bench::buffer::AlignedBuf;
use crate::bench::error::{check_len, shape_err, BenchError};

/// Shortest reduction (cin * k * k) `Auto` runs on the gather path (on
/// 3->64 and the 7x7 stem, 27 and 147 steps, direct was faster).
const GATHER_MIN_KRED: usize = 256;
/// Largest output (floats) `Auto` runs on the gather path, for every
/// instruction set: 64 M, 20 times VGG-19's largest output (the bound keeps
/// the partial sums of a layer too deep for spans within reason). The
/// AVX-512 tiles had a bound of 2 M while the gather path streamed every
/// layer's partial sums through the L3 once per reduction block: VGG-19's
/// 64->64 at 224 (3.2 M) then ran 0.89x on gather on the Emerald Rapids VM.
/// With spans of one run ([`drive::GatherBlocking`]) it ran 1.03x and 1.17x
/// faster on gather than row-tiled direct on the Sapphire Rapids VM (15 and
/// 21 pinned pairs), as it did with AVX2 on the Zen 3 VM (1.12x, 21 pairs),
/// where a direct tile's input lines and weights do not fit a 32 KiB L1.
const GATHER_MAX_OUT: usize = 64 << 20;
/// Largest buffer (in floats) a plan may allocate.
const MAX_FLOATS: usize = 1 << 31;

/// Shape of one NCHW convolution at batch 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Kernel size (k x k).
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub pad: usize,
}

impl ConvShape {
    /// Check the shape; returns (out_h, out_w).
    pub fn validate(&self) -> Result<(usize, usize), BenchError> {
        let s = self;
        if s.cin == 0 || s.cout == 0 || s.h == 0 || s.w == 0 || s.k == 0 || s.stride == 0 {
            return Err(shape_err(
                "conv",
                "cin, cout, h, w, k and stride must be positive",
            ));
        }
        let over = || shape_err("conv", "size overflows");
        let hp = s
            .pad
            .checked_mul(2)
            .and_then(|p| p.checked_add(s.h))
            .ok_or_else(over)?;
        let wp = s
            .pad
            .checked_mul(2)
            .and_then(|p| p.checked_add(s.w))
            .ok_or_else(over)?;
        if hp < s.k || wp < s.k {
            return Err(shape_err(
                "conv",
                format!("kernel {} larger than padded input {hp}x{wp}", s.k),
            ));
        }
        let oh = (hp - s.k) / s.stride + 1;
        let ow = (wp - s.k) / s.stride + 1;
        let big = |v: Option<usize>| v.filter(|&x| x <= MAX_FLOATS).ok_or_else(over);
        big(s.cin.checked_mul(hp).and_then(|v| v.checked_mul(wp)))?;
        big(s.cout.checked_mul(oh).and_then(|v| v.checked_mul(ow)))?;
        let kk = big(s.cin.checked_mul(s.k).and_then(|v| v.checked_mul(s.k)))?;
        big(kk.checked_mul(s.cout))?;
        big(kk.checked_mul(oh).and_then(|v| v.checked_mul(ow)))?;
        Ok((oh, ow))
    }

    /// Number of input floats.
    pub fn input_len(&self) -> usize {
        self.cin * self.h * self.w
    }

    /// Number of weight floats.
    pub fn weight_len(&self) -> usize {
        self.cout * self.cin * self.k * self.k
    }

    /// Number of output floats (0 if the shape is invalid).
    pub fn output_len(&self) -> usize {
        self.validate()
            .map(|(oh, ow)| self.cout * oh * ow)
            .unwrap_or(0)
    }

    /// Reduction length per output (cin * k * k).
    pub fn reduction_len(&self) -> usize {
        self.cin * self.k * self.k
    }
}

fn validate_bufs(
    s: &ConvShape,
    input: &[f32],
    weights: &[f32],
    output: &[f32],
) -> Result<(usize, usize), BenchError> {
    let (oh, ow) = s.validate()?;
    check_len("input", input.len(), s.input_len())?;
    check_len("weights", weights.len(), s.weight_len())?;
    check_len("output", output.len(), s.cout * oh * ow)?;
    Ok((oh, ow))
}

/// Scalar reference: for each (co, ci, kh, kw), a weight times a row of input
/// added into a row of output; each output sums in (ci, kh, kw) order.
pub fn conv2d_scalar(
    s: &ConvShape,
    input: &[f32],
    weights: &[f32],
    output: &mut [f32],
) -> Result<(), BenchError> {
    let (oh, ow) = validate_bufs(s, input, weights, output)?;
    output.fill(0.0);
    let (k, st, p) = (s.k, s.stride, s.pad);
    for co in 0..s.cout {
        let out = &mut output[co * oh * ow..(co + 1) * oh * ow];
        for ci in 0..s.cin {
            let inp = &input[ci * s.h * s.w..(ci + 1) * s.h * s.w];
            for kh in 0..k {
                for kw in 0..k {
                    let wv = weights[((co * s.cin + ci) * k + kh) * k + kw];
                    // valid ow: 0 <= ow*st + kw - p < w
                    let lo = p.saturating_sub(kw).div_ceil(st);
                    let hi = ((s.w + p).saturating_sub(kw)).div_ceil(st).min(ow);
                    for y in 0..oh {
                        let ih = y * st + kh;
                        if ih < p || ih - p >= s.h {
                            continue;
                        }
                        let irow = &inp[(ih - p) * s.w..(ih - p + 1) * s.w];
                        let orow = &mut out[y * ow..(y + 1) * ow];
                        for x in lo..hi {
                            orow[x] += wv * irow[x * st + kw - p];
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Convenience: plan and run one convolution with the given instruction set.
pub fn conv2d(
    isa: Isa,
    s: &ConvShape,
    input: &[f32],
    weights: &[f32],
    output: &mut [f32],
) -> Result<(), BenchError> {
    let mut plan = ConvPlan::new(isa, s, weights)?;
    plan.run(input, output)
}

/// How a plan computes the convolution. [`ConvPlan::new`] picks one per
/// shape ([`ConvPath::Auto`]); the others can be forced (tests, tuning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvPath {
    /// Pick per shape, see [`ConvPlan::auto_path`].
    Auto,
    /// Zero-padded input split into `stride x stride` phase planes; output
    /// positions are flat on the phase-plane width (junk columns dropped).
    Direct,
    /// Direct, but tiles follow output rows and are written straight into
    /// the output (no junk columns, no copy-out; a row's last tile is the
    /// short one-vector tile where the rest fits it, else a padded one);
    /// short reductions walk groups of rows (`ROW_GROUP_MAX_KRED`).
    DirectRows,
    /// 1x1, stride 1, no padding only: a GEMM over contiguous panels of the input.
    Pointwise,
    /// Packed im2col panel (kept as a reference path; not picked by `Auto`).
    Im2col,
    /// Register tile of 16 or 32 output channels (in vectors) x 6, 7 or 14
    /// output pixels of the flattened `oh*ow` plane, inputs broadcast from the padded
    /// plane: no junk columns, full tiles on 14x14 and 7x7 outputs.
    Gather,
}

impl ConvPath {
    /// Every concrete path (not `Auto`).
    pub const ALL: [ConvPath; 5] = [
        ConvPath::Direct,
        ConvPath::DirectRows,
        ConvPath::Pointwise,
        ConvPath::Im2col,
        ConvPath::Gather,
    ];

    /// Whether this path can compute the shape.
    pub fn applies(self, s: &ConvShape) -> bool {
        match self {
            ConvPath::Pointwise => s.k == 1 && s.stride == 1 && s.pad == 0,
            _ => true,
        }
    }
}

/// Floats of the direct-mode output chunk kept in L2 (single reduction block).
const DIRECT_CHUNK_FLOATS: usize = 64 << 10;

/// Longest reduction whose row-tiled direct plans walk their tiles in
/// groups of rows, each channel block over the whole group: a short
/// reduction makes a tile's stores a large part of its work, and walking
/// every channel block over one tile first spreads them over all the output
/// channels' rows (the stem's 64 rows lie 50 KB apart, in 4 of the L1's 64
/// sets). On the AMD EPYC (Zen 3, AVX2) dev machine, VGG-19's 3->64 conv (27
/// steps) ran 1.8x faster and the ResNet stem (147) 1.16x; its 64->64 conv
/// (576 steps, whose tile keeps 24 KB of input lines in L1 for every block)
/// ran 1.1x slower, so it keeps the tile-by-tile walk.
const ROW_GROUP_MAX_KRED: usize = 256;
/// Input bytes a group of rows reads (kept in L2, which is 512 KB on Zen 3).
const ROW_GROUP_BYTES: usize = 128 << 10;

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Phase planes of width `wq` and `plane` floats (stride 1: the padded
    /// plane); output chunks of `chunk` rows, or tiles along output rows
    /// (`rows`), walked in groups of `group` rows ([`drive::Rows::group`]).
    Direct {
        wq: usize,
        plane: usize,
        chunk: usize,
        rows: bool,
        group: Option<usize>,
    },
    /// 1x1, stride 1, no padding: a GEMM over contiguous panels of the input.
    Pointwise,
    /// General: packed im2col panel with `p_pad` columns.
    Im2col,
    /// Padded plane of width `wp` and `plane` floats.
    Gather { wp: usize, plane: usize },
}

/// A prepared convolution: packed weights, offsets and scratch buffers.
#[derive(Debug)]
pub struct ConvPlan {
    shape: ConvShape,
    tiles: tiles::Tiles,
    mode: Mode,
    oh: usize,
    ow: usize,
    /// Flat output positions computed (incl. junk columns in direct mode).
    npos: usize,
    /// npos rounded up to a multiple of the direct tile's positions.
    p_pad: usize,
    /// Packed weights by reduction block (`pack_weights`):
    /// `[block][cout_pad/co][steps][co]` with `co` the tiles' channels
    /// (gather: `gco`).
    wpk: AlignedBuf,
    /// Offset of each reduction step in the input operand.
    offs: Vec<usize>,
    /// Padded input (direct, gather), im2col panel, or the panel of `tp`
    /// positions of every input channel (pointwise).
    scratch: AlignedBuf,
    /// Output of direct mode (`[cout_pad][chunk columns]`) or partial sums of
    /// gather mode (`[groups][span][gp][gco]`, drive::GatherBlocking).
    outbuf: AlignedBuf,
    /// Gather mode: padded-plane position of each output pixel (padded to
    /// whole tiles by repeating pixel 0).
    bases: Vec<usize>,
}

/// The weights of channel group `cb` (of `ncb`, `tc` channels each) for the
/// reduction block of `kb` steps from step `k0`, as [`pack_weights`] lays
/// them out.
fn block_weights(
    wpk: &[f32],
    (ncb, tc): (usize, usize),
    k0: usize,
    kb: usize,
    cb: usize,
) -> &[f32] {
    &wpk[k0 * ncb * tc + cb * kb * tc..][..kb * tc]
}

/// Packs weights as `[reduction block][cout_pad / tc][steps of the block][tc]`
/// (blocks of `kstep` steps): the weights one reduction block reads for all
/// its channel groups lie in one run, which streams from memory without
/// restarting at every group.
fn pack_weights(
    s: &ConvShape,
    weights: &[f32],
    tc: usize,
    kstep: usize,
) -> Result<AlignedBuf, BenchError> {
    let kred = s.reduction_len();
    let cpad = s.cout.div_ceil(tc) * tc;
    let mut wpk = AlignedBuf::new(cpad * kred)?;
    for co in 0..s.cout {
        let (cb, c) = (co / tc, co % tc);
        for (kk, &v) in weights[co * kred..(co + 1) * kred].iter().enumerate() {
            let k0 = kk / kstep * kstep;
            let kb = kstep.min(kred - k0);
            wpk[k0 * cpad + (cb * kb + kk - k0) * tc + c] = v;
        }
    }
    Ok(wpk)
}

/// Reduction steps per cache block for a kernel of `kk` taps per channel.
fn kstep(kk: usize) -> usize {
    (drive::KC_STEPS / kk).max(1) * kk
}

mod drive;
mod plan;
mod tiles;
