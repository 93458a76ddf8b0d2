//! Conv2d at batch 1, NCHW fp32, any square kernel `k`, stride and zero
//! padding; weights `cout x cin x k x k`. No bias.
//!
//! Paths ([`ConvPath`], picked per shape by [`ConvPlan::auto_path`]):
//! * direct: implicit GEMM over a register tile of 6 output channels x 16
//!   output positions (12 AVX2 accumulators; each reduction step (ci, kh,
//!   kw) loads 2 input vectors and broadcasts 6 weights). The input is
//!   copied once into zero-padded planes, split into `stride x stride`
//!   phase planes, so for any stride the input of a step is a contiguous,
//!   shifted vector. Flat variant: positions are flat on the phase-plane
//!   width (junk columns dropped on copy-out, output computed in row chunks
//!   that stay in L2); row variant: tiles follow output rows and are stored
//!   straight into the output (for `ow` a multiple of 16).
//! * gather: 16 output channels (2 vectors) x 6 pixels of the flattened
//!   `oh*ow` plane; each step loads 2 weight vectors and broadcasts one
//!   input per pixel from the padded plane, so small planes (14x14, 7x7)
//!   get full tiles, and stride 2 needs no packing.
//! * pointwise: 1x1 stride 1 without padding; the input is used as is.
//! * im2col: a packed panel per call (reference path, not picked by Auto).
//!
//! Weights are packed once per plan into channel panels (zero-padded).

use super::Isa;
use crate::bench::buffer::AlignedBuf;
use crate::bench::error::{check_len, shape_err, BenchError};

/// Output channels per register tile.
pub const TILE_CO: usize = 6;
/// AVX2 vectors of output positions per register tile.
pub const TILE_V: usize = 2;
/// Output positions per register tile.
pub const TILE_P: usize = 8 * TILE_V;
/// Shortest reduction (cin * k * k) `Auto` runs on the gather path (on
/// 3->64 and the 7x7 stem, 27 and 147 steps, direct was faster).
const GATHER_MIN_KRED: usize = 256;
/// Largest output (floats) `Auto` runs on the gather path (64->64 at 224,
/// 3.2 M floats, was faster direct; 64->128 at 112, 1.6 M, gather).
const GATHER_MAX_OUT: usize = 2 << 20;
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
    /// the output (no junk columns, no copy-out; wastes the `ow % 16` tail
    /// of each row).
    DirectRows,
    /// 1x1, stride 1, no padding only: the input is the GEMM operand.
    Pointwise,
    /// Packed im2col panel (kept as a reference path; not picked by `Auto`).
    Im2col,
    /// Register tile of 16 output channels (in vectors) x 6 output pixels
    /// of the flattened `oh*ow` plane, inputs broadcast from the padded
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

/// Output channels per gather tile (two AVX2 vectors).
pub const GATHER_CO: usize = 16;
/// Output pixels per gather tile.
pub const GATHER_P: usize = 6;
/// Floats of the direct-mode output chunk kept in L2 (single reduction block).
const DIRECT_CHUNK_FLOATS: usize = 64 << 10;

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Phase planes of width `wq` and `plane` floats (stride 1: the padded
    /// plane); output chunks of `chunk` rows.
    Direct {
        wq: usize,
        plane: usize,
        chunk: usize,
        rows: bool,
    },
    /// 1x1, stride 1, no padding: the input is the GEMM operand.
    Pointwise,
    /// General: packed im2col panel with `p_pad` columns.
    Im2col,
    /// Padded plane of width `wp` and `plane` floats; `ntiles` pixel tiles.
    Gather {
        wp: usize,
        plane: usize,
        ntiles: usize,
    },
}

/// A prepared convolution: packed weights, offsets and scratch buffers.
#[derive(Debug)]
pub struct ConvPlan {
    shape: ConvShape,
    isa: Isa,
    mode: Mode,
    oh: usize,
    ow: usize,
    /// Flat output positions computed (incl. junk columns in direct mode).
    npos: usize,
    /// npos rounded up to a multiple of TILE_P.
    p_pad: usize,
    /// Packed weights: [cout_pad/TILE_CO][cin*k*k][TILE_CO] (gather:
    /// [cout_pad/GATHER_CO][cin*k*k][GATHER_CO]).
    wpk: Vec<f32>,
    /// Offset of each reduction step in the input operand.
    offs: Vec<usize>,
    /// Padded input (direct, gather), im2col panel, or tail scratch (pointwise).
    scratch: AlignedBuf,
    /// Output of direct mode ([cout_pad][chunk columns]) or of gather mode
    /// ([cout_pad/16][ntiles][GATHER_P][16]).
    outbuf: AlignedBuf,
    /// Pointwise mode: offset of each input channel in the caller's input.
    offs_in: Vec<usize>,
    /// Gather mode: padded-plane position of each output pixel (padded to
    /// whole tiles by repeating pixel 0).
    bases: Vec<usize>,
}

fn pack_weights(s: &ConvShape, weights: &[f32], tc: usize) -> Vec<f32> {
    let kred = s.reduction_len();
    let cpad = s.cout.div_ceil(tc) * tc;
    let mut wpk = vec![0.0f32; cpad * kred];
    for co in 0..s.cout {
        let (cb, c) = (co / tc, co % tc);
        for (kk, &v) in weights[co * kred..(co + 1) * kred].iter().enumerate() {
            wpk[(cb * kred + kk) * tc + c] = v;
        }
    }
    wpk
}

/// Reduction steps per cache block for a kernel of `kk` taps per channel.
fn kstep(kk: usize) -> usize {
    (KC_STEPS / kk).max(1) * kk
}

impl ConvPlan {
    /// Validate the shape, pack the weights and allocate scratch buffers;
    /// the path is chosen per shape.
    pub fn new(isa: Isa, s: &ConvShape, weights: &[f32]) -> Result<Self, BenchError> {
        Self::with_path(isa, s, weights, ConvPath::Auto)
    }

    /// The path `Auto` picks for a shape (thresholds measured on the dev
    /// machine, see the bench README): pointwise where it applies; gather
    /// for reductions of at least `GATHER_MIN_KRED` steps whose output fits
    /// `GATHER_MAX_OUT` (its result is transposed once at the end); else
    /// direct, row-tiled when that wastes no more tile slots than flat.
    pub fn auto_path(s: &ConvShape) -> Result<ConvPath, BenchError> {
        let (oh, ow) = s.validate()?;
        if ConvPath::Pointwise.applies(s) {
            return Ok(ConvPath::Pointwise);
        }
        // Strided 1x1 (projection shortcuts) gathers its pixels: splitting the
        // input into phase planes costs more than the short reduction saves.
        let gather_fits = s.cout * oh * ow <= GATHER_MAX_OUT;
        if gather_fits && (s.reduction_len() >= GATHER_MIN_KRED || s.k == 1) {
            return Ok(ConvPath::Gather);
        }
        let wq = (s.w + 2 * s.pad).div_ceil(s.stride);
        let flat = (oh * ow) as f64 / ((oh * wq).div_ceil(TILE_P) * TILE_P) as f64;
        let rows = ow as f64 / (ow.div_ceil(TILE_P) * TILE_P) as f64;
        Ok(if rows >= flat {
            ConvPath::DirectRows
        } else {
            ConvPath::Direct
        })
    }

    /// Like [`ConvPlan::new`] with a forced path (an error if it does not
    /// apply to the shape).
    pub fn with_path(
        isa: Isa,
        s: &ConvShape,
        weights: &[f32],
        path: ConvPath,
    ) -> Result<Self, BenchError> {
        let (oh, ow) = s.validate()?;
        check_len("weights", weights.len(), s.weight_len())?;
        let path = match path {
            ConvPath::Auto => Self::auto_path(s)?,
            p if p.applies(s) => p,
            p => return Err(shape_err("conv", format!("path {p:?} does not apply"))),
        };
        let isa = isa.usable();
        let kred = s.reduction_len();
        let (k, st, pad) = (s.k, s.stride, s.pad);
        let (hp, wp) = (s.h + 2 * pad, s.w + 2 * pad);
        let cpad = s.cout.div_ceil(TILE_CO) * TILE_CO;
        let mut offs = Vec::with_capacity(kred);
        let mut offs_in = Vec::new();
        let mut bases = Vec::new();
        let wpk;
        let (mode, npos, scratch_len, out_len);
        match path {
            ConvPath::Direct | ConvPath::DirectRows => {
                let (hq, wq) = (hp.div_ceil(st), wp.div_ceil(st));
                let plane = hq * wq;
                for ci in 0..s.cin {
                    for kh in 0..k {
                        for kw in 0..k {
                            let ph = (kh % st) * st + kw % st;
                            offs.push((ci * st * st + ph) * plane + kh / st * wq + kw / st);
                        }
                    }
                }
                npos = oh * wq;
                // One reduction block: compute the output in row chunks that
                // stay in L2 and are copied out while hot.
                let rows = path == ConvPath::DirectRows;
                let chunk = if rows {
                    0
                } else if kred <= kstep(k * k) {
                    (DIRECT_CHUNK_FLOATS / (cpad * wq)).clamp(1, oh)
                } else {
                    oh
                };
                let cols = (chunk * wq).div_ceil(TILE_P) * TILE_P;
                mode = Mode::Direct {
                    wq,
                    plane,
                    chunk,
                    rows,
                };
                scratch_len = s.cin * st * st * plane + npos.div_ceil(TILE_P) * TILE_P + TILE_P;
                out_len = cpad * cols;
                wpk = pack_weights(s, weights, TILE_CO);
            }
            ConvPath::Pointwise => {
                npos = oh * ow;
                offs.extend((0..s.cin).map(|ci| ci * TILE_P));
                offs_in = (0..s.cin).map(|ci| ci * npos).collect();
                mode = Mode::Pointwise;
                (scratch_len, out_len) = (s.cin * TILE_P, 0);
                wpk = pack_weights(s, weights, TILE_CO);
            }
            ConvPath::Im2col => {
                npos = oh * ow;
                let p_pad = npos.div_ceil(TILE_P) * TILE_P;
                offs.extend((0..kred).map(|kk| kk * p_pad));
                mode = Mode::Im2col;
                (scratch_len, out_len) = (kred * p_pad, 0);
                wpk = pack_weights(s, weights, TILE_CO);
            }
            ConvPath::Gather | ConvPath::Auto => {
                let plane = hp * wp;
                for ci in 0..s.cin {
                    for kh in 0..k {
                        for kw in 0..k {
                            offs.push(ci * plane + kh * wp + kw);
                        }
                    }
                }
                npos = oh * ow;
                let ntiles = npos.div_ceil(GATHER_P);
                bases = (0..ntiles * GATHER_P)
                    .map(|q| if q < npos { q } else { 0 })
                    .map(|q| (q / ow) * st * wp + (q % ow) * st)
                    .collect();
                mode = Mode::Gather { wp, plane, ntiles };
                scratch_len = s.cin * plane;
                out_len = s.cout.div_ceil(GATHER_CO) * GATHER_CO * ntiles * GATHER_P;
                wpk = pack_weights(s, weights, GATHER_CO);
            }
        }
        let p_pad = npos.div_ceil(TILE_P) * TILE_P;
        let too_big = |n: usize| n > MAX_FLOATS;
        if too_big(scratch_len) || too_big(out_len) {
            return Err(shape_err("conv", "scratch buffers too large"));
        }
        Ok(Self {
            shape: *s,
            isa,
            mode,
            oh,
            ow,
            npos,
            p_pad,
            wpk,
            offs,
            scratch: AlignedBuf::new(scratch_len)?,
            outbuf: AlignedBuf::new(out_len)?,
            offs_in,
            bases,
        })
    }

    /// Output height and width.
    pub fn out_hw(&self) -> (usize, usize) {
        (self.oh, self.ow)
    }

    /// The path this plan computes with.
    pub fn path(&self) -> ConvPath {
        match self.mode {
            Mode::Direct { rows: false, .. } => ConvPath::Direct,
            Mode::Direct { rows: true, .. } => ConvPath::DirectRows,
            Mode::Pointwise => ConvPath::Pointwise,
            Mode::Im2col => ConvPath::Im2col,
            Mode::Gather { .. } => ConvPath::Gather,
        }
    }

    /// Copy the input into the zero-padded planes of the scratch, split into
    /// `st x st` phase planes of width `wq` and `plane` floats (st = 1: the
    /// padded plane itself).
    fn copy_padded(&mut self, input: &[f32], st: usize, wq: usize, plane: usize) {
        let s = self.shape;
        let p = s.pad;
        for ci in 0..s.cin {
            for y in 0..s.h {
                let src = &input[(ci * s.h + y) * s.w..][..s.w];
                let pr = y + p;
                let row = (ci * st * st + (pr % st) * st) * plane + pr / st * wq;
                if st == 1 {
                    self.scratch[row + p..row + p + s.w].copy_from_slice(src);
                    continue;
                }
                for cph in 0..st {
                    // First input column x with (x + p) % st == cph.
                    let x0 = (cph + st - p % st) % st;
                    if x0 >= s.w {
                        continue;
                    }
                    let dst = row + cph * plane + (x0 + p) / st;
                    let n = (s.w - x0).div_ceil(st);
                    for (d, &v) in self.scratch[dst..dst + n]
                        .iter_mut()
                        .zip(src[x0..].iter().step_by(st))
                    {
                        *d = v;
                    }
                }
            }
        }
    }

    /// Compute `output` (cout x oh x ow) from `input` (cin x h x w).
    pub fn run(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), BenchError> {
        let s = self.shape;
        check_len("input", input.len(), s.input_len())?;
        check_len("output", output.len(), s.cout * self.oh * self.ow)?;
        let cpad = s.cout.div_ceil(TILE_CO) * TILE_CO;
        let g = Geometry {
            kred: self.offs.len(),
            kk: s.k * s.k,
            max_off: self.offs.iter().copied().max().unwrap_or(0),
        };
        match self.mode {
            Mode::Direct {
                wq,
                plane,
                rows: true,
                ..
            } => {
                self.copy_padded(input, s.stride, wq, plane);
                let main = Operand {
                    inp: &self.scratch,
                    offs: &self.offs,
                };
                let npix = self.oh * self.ow;
                let dst = Dest {
                    out: output,
                    ld: npix,
                    rows: s.cout,
                    cols: npix,
                    origin: 0,
                    wrap: Some((self.ow, wq)),
                };
                drive(self.isa, &main, None, &self.wpk, &g, dst);
            }
            Mode::Direct {
                wq, plane, chunk, ..
            } => {
                self.copy_padded(input, s.stride, wq, plane);
                let ld = (chunk * wq).div_ceil(TILE_P) * TILE_P;
                let main = Operand {
                    inp: &self.scratch,
                    offs: &self.offs,
                };
                for y0 in (0..self.oh).step_by(chunk) {
                    let rows = chunk.min(self.oh - y0);
                    let dst = Dest {
                        out: &mut self.outbuf,
                        ld,
                        rows: cpad,
                        cols: rows * wq,
                        origin: y0 * wq,
                        wrap: None,
                    };
                    drive(self.isa, &main, None, &self.wpk, &g, dst);
                    for co in 0..s.cout {
                        for y in 0..rows {
                            let src = co * ld + y * wq;
                            output[(co * self.oh + y0 + y) * self.ow..][..self.ow]
                                .copy_from_slice(&self.outbuf[src..src + self.ow]);
                        }
                    }
                }
            }
            Mode::Gather { wp, plane, ntiles } => {
                self.copy_padded(input, 1, wp, plane);
                gather_drive(
                    self.isa,
                    &self.scratch,
                    &self.offs,
                    &self.bases,
                    &self.wpk,
                    &g,
                    &mut self.outbuf,
                );
                let npix = self.npos;
                let tstride = ntiles * GATHER_P * GATHER_CO;
                for (co, orow) in output.chunks_exact_mut(npix).enumerate() {
                    let blk = &self.outbuf[(co / GATHER_CO) * tstride..][..tstride];
                    let c = co % GATHER_CO;
                    for (q, o) in orow.iter_mut().enumerate() {
                        *o = blk[q * GATHER_CO + c];
                    }
                }
            }
            Mode::Pointwise => {
                let full = self.npos / TILE_P * TILE_P;
                let rem = self.npos - full;
                if rem > 0 {
                    for ci in 0..s.cin {
                        let dst = &mut self.scratch[ci * TILE_P..(ci + 1) * TILE_P];
                        dst[..rem].copy_from_slice(&input[ci * self.npos + full..][..rem]);
                        dst[rem..].fill(0.0);
                    }
                }
                let main = Operand {
                    inp: input,
                    offs: &self.offs_in,
                };
                let tail = Operand {
                    inp: &self.scratch,
                    offs: &self.offs,
                };
                let dst = Dest {
                    out: output,
                    ld: self.npos,
                    rows: s.cout,
                    cols: self.npos,
                    origin: 0,
                    wrap: None,
                };
                let g = Geometry {
                    max_off: self.offs_in.last().copied().unwrap_or(0),
                    ..g
                };
                drive(self.isa, &main, Some((full, &tail)), &self.wpk, &g, dst);
            }
            Mode::Im2col => {
                self.pack_im2col(input);
                let main = Operand {
                    inp: &self.scratch,
                    offs: &self.offs,
                };
                let dst = Dest {
                    out: output,
                    ld: self.npos,
                    rows: s.cout,
                    cols: self.npos,
                    origin: 0,
                    wrap: None,
                };
                drive(self.isa, &main, None, &self.wpk, &g, dst);
            }
        }
        Ok(())
    }

    fn pack_im2col(&mut self, input: &[f32]) {
        let s = self.shape;
        let (k, st, p) = (s.k, s.stride, s.pad);
        let (oh, ow, pp) = (self.oh, self.ow, self.p_pad);
        for ci in 0..s.cin {
            for kh in 0..k {
                for kw in 0..k {
                    let row = &mut self.scratch[((ci * k + kh) * k + kw) * pp..][..pp];
                    // Valid output columns: 0 <= x*st + kw - p < w (no
                    // per-element test inside the loop).
                    let lo = p.saturating_sub(kw).div_ceil(st).min(ow);
                    let hi = (s.w + p).saturating_sub(kw).div_ceil(st).clamp(lo, ow);
                    for y in 0..oh {
                        let ih = (y * st + kh).wrapping_sub(p);
                        let dst = &mut row[y * ow..(y + 1) * ow];
                        if ih >= s.h {
                            dst.fill(0.0);
                            continue;
                        }
                        let irow = &input[(ci * s.h + ih) * s.w..][..s.w];
                        dst[..lo].fill(0.0);
                        dst[hi..].fill(0.0);
                        if hi > lo {
                            // First input column read: lo*st + kw - p >= 0.
                            let i0 = lo * st + kw - p;
                            if st == 1 {
                                dst[lo..hi].copy_from_slice(&irow[i0..i0 + (hi - lo)]);
                            } else {
                                for (d, &v) in
                                    dst[lo..hi].iter_mut().zip(irow[i0..].iter().step_by(st))
                                {
                                    *d = v;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Input operand of the tiles: reduction step `kk` of the tile at position
/// `p` reads `inp[p + offs[kk] .. p + offs[kk] + TILE_P]`.
struct Operand<'a> {
    inp: &'a [f32],
    offs: &'a [usize],
}

/// Output of the tiles: rows (channels) of length `ld`; `rows` and `cols`
/// bound what is written; output column `q` is operand position `origin + q`.
/// With `wrap = Some((ow, wq))`, columns are output pixels `y * ow + x`
/// (tiles stay inside a row) at operand position `y * wq + x`.
struct Dest<'a> {
    out: &'a mut [f32],
    ld: usize,
    rows: usize,
    cols: usize,
    origin: usize,
    wrap: Option<(usize, usize)>,
}

/// Reduction geometry shared by the operands.
#[derive(Clone, Copy)]
struct Geometry {
    /// Reduction length cin * k * k.
    kred: usize,
    /// Steps per input channel (k * k).
    kk: usize,
    /// Largest offset of the main operand (bounds check).
    max_off: usize,
}

/// Reduction steps per cache block: one tile's input lines stay in L1, and
/// 3x3 layers with 64 input channels (576 steps) need a single block.
const KC_STEPS: usize = 640;
/// Packed-weight floats per cache block (kept in L2).
const W_BLOCK_FLOATS: usize = 128 << 10;

/// Loop over cache blocks and tiles: reduction blocks outermost (partial
/// sums accumulate in the output), then blocks of output channels whose
/// weights fit in L2, then positions, then channels innermost so one tile's
/// input lines stay in L1 for every channel block. A `tail` operand serves
/// positions from its start on (pointwise inputs without read slack).
fn drive(
    isa: Isa,
    main: &Operand<'_>,
    tail: Option<(usize, &Operand<'_>)>,
    wpk: &[f32],
    g: &Geometry,
    d: Dest<'_>,
) {
    let kstep = kstep(g.kk);
    let cb_blk = (W_BLOCK_FLOATS / (kstep * TILE_CO)).max(1);
    let ncb = d.rows.div_ceil(TILE_CO);
    let mut k0 = 0;
    while k0 < g.kred {
        let k1 = (k0 + kstep).min(g.kred);
        let mut cb0 = 0;
        while cb0 < ncb {
            let cb1 = (cb0 + cb_blk).min(ncb);
            // Tiles never straddle a row of `row_len` columns (flat: one row).
            let row_len = d.wrap.map_or(d.cols, |(ow, _)| ow);
            let tiles = (0..d.cols / row_len.max(1))
                .flat_map(|y| (0..row_len).step_by(TILE_P).map(move |x| (y, x)));
            for (y, x) in tiles {
                let p = y * row_len + x;
                let pos = match d.wrap {
                    Some((_, wq)) => y * wq + x,
                    None => d.origin + p,
                };
                let (op, base, max_off) = match tail {
                    Some((t0, t)) if p >= t0 => (t, p - t0, t.offs.last().copied().unwrap_or(0)),
                    _ => (main, pos, g.max_off),
                };
                let pv = TILE_P.min(row_len - x);
                for cb in cb0..cb1 {
                    let c0 = cb * TILE_CO;
                    let w = &wpk[(cb * g.kred + k0) * TILE_CO..(cb * g.kred + k1) * TILE_CO];
                    let t = Tile {
                        base,
                        max_off,
                        o0: c0 * d.ld + p,
                        ld: d.ld,
                        cov: TILE_CO.min(d.rows - c0),
                        pv,
                        accumulate: k0 > 0,
                    };
                    run_tile(isa, op.inp, &op.offs[k0..k1], w, d.out, &t);
                }
            }
            cb0 = cb1;
        }
        k0 = k1;
    }
}

/// Reduction steps per cache block of the gather path (the block's input
/// channels and one channel block's weights stay in L1/L2).
const GATHER_KC: usize = 288;

/// Gather-path loop: reduction blocks outermost (partial sums accumulate in
/// `out`), then blocks of 16-channel groups whose weights fit in L2, then
/// pixel tiles, then channel groups innermost (the tile's input lines stay
/// in L1). `out` is [cout_pad/16][ntiles][GATHER_P][16].
fn gather_drive(
    isa: Isa,
    inp: &[f32],
    offs: &[usize],
    bases: &[usize],
    wpk: &[f32],
    g: &Geometry,
    out: &mut [f32],
) {
    let kstep = (GATHER_KC / g.kk).max(1) * g.kk;
    let cb_blk = (W_BLOCK_FLOATS / (kstep * GATHER_CO)).max(1);
    let ntiles = bases.len() / GATHER_P;
    let tsz = GATHER_P * GATHER_CO;
    let ncb = wpk.len() / (g.kred * GATHER_CO);
    let max_base = bases.iter().copied().max().unwrap_or(0);
    if max_base + g.max_off >= inp.len() || out.len() < ncb * ntiles * tsz {
        debug_assert!(false, "gather operands out of bounds");
        return;
    }
    let mut k0 = 0;
    while k0 < g.kred {
        let k1 = (k0 + kstep).min(g.kred);
        let mut cb0 = 0;
        while cb0 < ncb {
            let cb1 = (cb0 + cb_blk).min(ncb);
            for (t, tb) in bases.chunks_exact(GATHER_P).enumerate() {
                let tb: &[usize; GATHER_P] = tb.try_into().expect("tile of bases");
                for cb in cb0..cb1 {
                    let w = &wpk[(cb * g.kred + k0) * GATHER_CO..(cb * g.kred + k1) * GATHER_CO];
                    let o = &mut out[(cb * ntiles + t) * tsz..][..tsz];
                    let offs = &offs[k0..k1];
                    match isa {
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: avx2+fma checked by usable(); every base +
                        // offset < inp.len() (checked above), w holds 16
                        // floats per offset and o holds one tile.
                        Isa::Avx2Fma => unsafe {
                            avx2::gather_tile(inp.as_ptr(), tb, offs, w.as_ptr(), o, k0 > 0)
                        },
                        _ => portable_gather_tile(inp, tb, offs, w, o, k0 > 0),
                    }
                }
            }
            cb0 = cb1;
        }
        k0 = k1;
    }
}

/// out[j][c] (+)= sum_kk w[kk][c] * inp[bases[j] + offs[kk]] for one tile of
/// GATHER_P pixels x GATHER_CO channels.
fn portable_gather_tile(
    inp: &[f32],
    bases: &[usize; GATHER_P],
    offs: &[usize],
    w: &[f32],
    out: &mut [f32],
    accumulate: bool,
) {
    let mut acc = [[0.0f32; GATHER_CO]; GATHER_P];
    if accumulate {
        for (a, o) in acc.iter_mut().zip(out.chunks_exact(GATHER_CO)) {
            a.copy_from_slice(o);
        }
    }
    for (&off, wk) in offs.iter().zip(w.chunks_exact(GATHER_CO)) {
        for (a, &b) in acc.iter_mut().zip(bases) {
            let x = inp[b + off];
            for (av, &wv) in a.iter_mut().zip(wk) {
                *av += x * wv;
            }
        }
    }
    for (a, o) in acc.iter().zip(out.chunks_exact_mut(GATHER_CO)) {
        o.copy_from_slice(a);
    }
}

/// Where one tile reads and writes.
struct Tile {
    /// Position of the tile in the operand.
    base: usize,
    /// Upper bound of the offsets (for the bounds check).
    max_off: usize,
    /// First output element.
    o0: usize,
    /// Output row stride.
    ld: usize,
    /// Valid output rows (channels).
    cov: usize,
    /// Valid output columns (positions).
    pv: usize,
    /// Add to the output instead of overwriting it.
    accumulate: bool,
}

/// One TILE_CO x TILE_P tile: out[c][q] (+)= sum_kk w[kk][c] * inp[base + offs[kk] + q]
/// for c < cov, q < pv. Reads past `pv` up to TILE_P must be in bounds.
fn run_tile(isa: Isa, inp: &[f32], offs: &[usize], w: &[f32], out: &mut [f32], t: &Tile) {
    let in_ok = t.base + t.max_off + TILE_P <= inp.len();
    let out_ok = t.cov >= 1 && t.pv >= 1 && t.o0 + (t.cov - 1) * t.ld + t.pv <= out.len();
    if !(in_ok && out_ok && w.len() >= offs.len() * TILE_CO) {
        debug_assert!(false, "conv tile out of bounds");
        return;
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: avx2+fma checked by usable(); bounds checked just above.
        Isa::Avx2Fma => unsafe {
            avx2::tile(
                inp.as_ptr().add(t.base),
                offs,
                w.as_ptr(),
                out.as_mut_ptr().add(t.o0),
                t,
            )
        },
        _ => portable_tile(inp, offs, w, out, t),
    }
}

fn portable_tile(inp: &[f32], offs: &[usize], w: &[f32], out: &mut [f32], t: &Tile) {
    let mut acc = [[0.0f32; TILE_P]; TILE_CO];
    if t.accumulate {
        for (c, a) in acc.iter_mut().enumerate().take(t.cov) {
            a[..t.pv].copy_from_slice(&out[t.o0 + c * t.ld..][..t.pv]);
        }
    }
    for (kk, &off) in offs.iter().enumerate() {
        let x = &inp[t.base + off..t.base + off + TILE_P];
        let wk = &w[kk * TILE_CO..kk * TILE_CO + TILE_CO];
        for (a, &wv) in acc.iter_mut().zip(wk) {
            for q in 0..TILE_P {
                a[q] += wv * x[q];
            }
        }
    }
    for (c, a) in acc.iter().enumerate().take(t.cov) {
        out[t.o0 + c * t.ld..][..t.pv].copy_from_slice(&a[..t.pv]);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! AVX2+FMA 6x16 conv tile.
    use super::{Tile, GATHER_CO, GATHER_P, TILE_CO, TILE_P, TILE_V};
    use std::arch::x86_64::*;

    /// Gather tile: 6 pixels x 16 channels, 12 accumulators; each step
    /// loads 2 weight vectors and broadcasts one input per pixel.
    ///
    /// # Safety
    /// avx2+fma available; `inp + bases[j] + off` readable for every j and
    /// off in offs; `w` holds GATHER_CO floats per offset; `out` holds
    /// GATHER_P * GATHER_CO floats.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gather_tile(
        inp: *const f32,
        bases: &[usize; GATHER_P],
        offs: &[usize],
        w: *const f32,
        out: &mut [f32],
        accumulate: bool,
    ) {
        debug_assert!(out.len() >= GATHER_P * GATHER_CO);
        // SAFETY (whole body): guaranteed by the caller as documented.
        unsafe {
            let px: [*const f32; GATHER_P] = std::array::from_fn(|j| inp.add(bases[j]));
            let o = out.as_mut_ptr();
            let mut acc = [[_mm256_setzero_ps(); 2]; GATHER_P];
            if accumulate {
                for (j, a) in acc.iter_mut().enumerate() {
                    a[0] = _mm256_loadu_ps(o.add(j * GATHER_CO));
                    a[1] = _mm256_loadu_ps(o.add(j * GATHER_CO + 8));
                }
            }
            let mut wp = w;
            for &off in offs {
                let w0 = _mm256_loadu_ps(wp);
                let w1 = _mm256_loadu_ps(wp.add(8));
                for (a, p) in acc.iter_mut().zip(&px) {
                    let b = _mm256_broadcast_ss(&*p.add(off));
                    a[0] = _mm256_fmadd_ps(b, w0, a[0]);
                    a[1] = _mm256_fmadd_ps(b, w1, a[1]);
                }
                wp = wp.add(GATHER_CO);
            }
            for (j, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(o.add(j * GATHER_CO), a[0]);
                _mm256_storeu_ps(o.add(j * GATHER_CO + 8), a[1]);
            }
        }
    }

    /// # Safety
    /// avx2+fma available; `inp + off + q` readable for every off in offs and
    /// q < TILE_P; `w` holds TILE_CO floats per offset; `out + c * ld + q`
    /// readable and writable for c < cov, q < pv.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile(
        inp: *const f32,
        offs: &[usize],
        w: *const f32,
        out: *mut f32,
        t: &Tile,
    ) {
        let (ld, cov, pv) = (t.ld, t.cov, t.pv);
        // SAFETY (whole body): guaranteed by the caller as documented.
        unsafe {
            // 6 x 2 accumulators + 2 inputs + 1 broadcast = 15 of 16 registers,
            // so nothing spills (a 4 x 3 tile needs all 16 and LLVM spills one).
            let mut acc = [[_mm256_setzero_ps(); TILE_V]; TILE_CO];
            if t.accumulate {
                let mut tmp = [0.0f32; TILE_P];
                for (c, a) in acc.iter_mut().enumerate().take(cov) {
                    let src = if pv == TILE_P {
                        out.add(c * ld).cast_const()
                    } else {
                        std::ptr::copy_nonoverlapping(out.add(c * ld), tmp.as_mut_ptr(), pv);
                        tmp.as_ptr()
                    };
                    for (v, av) in a.iter_mut().enumerate() {
                        *av = _mm256_loadu_ps(src.add(8 * v));
                    }
                }
            }
            let mut wp = w;
            for &off in offs {
                let ip = inp.add(off);
                let mut x = [_mm256_setzero_ps(); TILE_V];
                for (v, xv) in x.iter_mut().enumerate() {
                    *xv = _mm256_loadu_ps(ip.add(8 * v));
                }
                for (c, a) in acc.iter_mut().enumerate() {
                    let b = _mm256_broadcast_ss(&*wp.add(c));
                    for (av, xv) in a.iter_mut().zip(&x) {
                        *av = _mm256_fmadd_ps(b, *xv, *av);
                    }
                }
                wp = wp.add(TILE_CO);
            }
            if cov == TILE_CO && pv == TILE_P {
                for (c, a) in acc.iter().enumerate() {
                    let o = out.add(c * ld);
                    for (v, av) in a.iter().enumerate() {
                        _mm256_storeu_ps(o.add(8 * v), *av);
                    }
                }
            } else {
                let mut tmp = [0.0f32; TILE_P];
                for (c, a) in acc.iter().enumerate().take(cov) {
                    for (v, av) in a.iter().enumerate() {
                        _mm256_storeu_ps(tmp.as_mut_ptr().add(8 * v), *av);
                    }
                    std::ptr::copy_nonoverlapping(tmp.as_ptr(), out.add(c * ld), pv);
                }
            }
        }
    }
}
