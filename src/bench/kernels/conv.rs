//! Conv2d at batch 1, NCHW fp32, any square kernel `k`, stride and zero
//! padding; weights `cout x cin x k x k`. No bias.
//!
//! The SIMD path is an implicit GEMM over a register tile of 4 output
//! channels x 24 output positions (12 AVX2 accumulators). Every reduction
//! step (ci, kh, kw) loads 3 input vectors and broadcasts 4 weights:
//! * stride 1 ("direct"): the input is copied once into a zero-padded
//!   plane of width `W + 2 pad`; output positions are then flat indices on
//!   that padded width, so the input of any (kh, kw) is a contiguous,
//!   shifted vector. The `k - 1` junk columns per row are dropped on copy-out.
//! * 1x1 stride 1 without padding ("pointwise"): the input is used as is.
//! * otherwise (stride 2, ...): an im2col panel is packed per call.
//!
//! Weights are packed once per plan into 4-channel panels (zero-padded).

use super::Isa;
use crate::bench::buffer::AlignedBuf;
use crate::bench::error::{check_len, shape_err, BenchError};

/// Output channels per register tile.
pub const TILE_CO: usize = 4;
/// Output positions per register tile (3 AVX2 vectors).
pub const TILE_P: usize = 24;
/// Input floats kept in L2 per block of tiles.
const L2_FLOATS: usize = 128 << 10;
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

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Stride 1: zero-padded planes, flat positions on the padded width.
    Direct { wp: usize, plane: usize },
    /// 1x1, stride 1, no padding: the input is the GEMM operand.
    Pointwise,
    /// General: packed im2col panel with `p_pad` columns.
    Im2col,
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
    /// Packed weights: [cout_pad/4][cin*k*k][4].
    wpk: Vec<f32>,
    /// Offset of each reduction step in the input operand.
    offs: Vec<usize>,
    /// Padded input (direct), im2col panel, or tail scratch (pointwise).
    scratch: AlignedBuf,
    /// Output of direct mode: [cout_pad][p_pad].
    outbuf: AlignedBuf,
    /// Tiles per cache block.
    block_tiles: usize,
}

impl ConvPlan {
    /// Validate the shape, pack the weights and allocate scratch buffers.
    pub fn new(isa: Isa, s: &ConvShape, weights: &[f32]) -> Result<Self, BenchError> {
        let (oh, ow) = s.validate()?;
        check_len("weights", weights.len(), s.weight_len())?;
        let isa = isa.usable();
        let kred = s.reduction_len();
        let cpad = s.cout.div_ceil(TILE_CO) * TILE_CO;
        let mut wpk = vec![0.0f32; cpad * kred];
        for co in 0..s.cout {
            let (cb, c) = (co / TILE_CO, co % TILE_CO);
            for (kk, &v) in weights[co * kred..(co + 1) * kred].iter().enumerate() {
                wpk[(cb * kred + kk) * TILE_CO + c] = v;
            }
        }
        let k = s.k;
        let (mode, npos) = if s.stride == 1 && (k > 1 || s.pad > 0) {
            let wp = s.w + 2 * s.pad;
            let plane = (s.h + 2 * s.pad) * wp;
            (Mode::Direct { wp, plane }, oh * wp)
        } else if s.stride == 1 {
            (Mode::Pointwise, oh * ow)
        } else {
            (Mode::Im2col, oh * ow)
        };
        let p_pad = npos.div_ceil(TILE_P) * TILE_P;
        let mut offs = Vec::with_capacity(kred);
        let (scratch_len, out_len, footprint) = match mode {
            Mode::Direct { wp, plane } => {
                for ci in 0..s.cin {
                    for kh in 0..k {
                        for kw in 0..k {
                            offs.push(ci * plane + kh * wp + kw);
                        }
                    }
                }
                let len = s.cin * plane + p_pad + k * wp + k + TILE_P;
                (len, cpad * p_pad, 0)
            }
            Mode::Pointwise => {
                offs.extend((0..s.cin).map(|ci| ci * TILE_P));
                (s.cin * TILE_P, 0, s.cin * TILE_P)
            }
            Mode::Im2col => {
                offs.extend((0..kred).map(|kk| kk * p_pad));
                (kred * p_pad, 0, kred * TILE_P)
            }
        };
        let block_tiles = match mode {
            Mode::Direct { wp, .. } => (L2_FLOATS / s.cin).saturating_sub(k * wp) / TILE_P,
            _ => L2_FLOATS / footprint.max(1),
        }
        .max(1);
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
            block_tiles,
        })
    }

    /// Output height and width.
    pub fn out_hw(&self) -> (usize, usize) {
        (self.oh, self.ow)
    }

    /// Compute `output` (cout x oh x ow) from `input` (cin x h x w).
    pub fn run(&mut self, input: &[f32], output: &mut [f32]) -> Result<(), BenchError> {
        let s = self.shape;
        check_len("input", input.len(), s.input_len())?;
        check_len("output", output.len(), s.cout * self.oh * self.ow)?;
        match self.mode {
            Mode::Direct { wp, plane } => {
                let p = s.pad;
                for ci in 0..s.cin {
                    for y in 0..s.h {
                        let dst = ci * plane + (y + p) * wp + p;
                        self.scratch[dst..dst + s.w]
                            .copy_from_slice(&input[(ci * s.h + y) * s.w..][..s.w]);
                    }
                }
                let ld = self.p_pad;
                self.tiles(Out::Buf, ld);
                for co in 0..s.cout {
                    for y in 0..self.oh {
                        let src = co * ld + y * wp;
                        output[(co * self.oh + y) * self.ow..][..self.ow]
                            .copy_from_slice(&self.outbuf[src..src + self.ow]);
                    }
                }
            }
            Mode::Pointwise => {
                let ld = self.npos;
                self.tiles_pointwise(input, output, ld);
            }
            Mode::Im2col => {
                self.pack_im2col(input);
                let ld = self.npos;
                self.tiles(Out::Slice(output), ld);
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
                    for y in 0..oh {
                        let ih = (y * st + kh).wrapping_sub(p);
                        let dst = &mut row[y * ow..(y + 1) * ow];
                        if ih >= s.h {
                            dst.fill(0.0);
                            continue;
                        }
                        let irow = &input[(ci * s.h + ih) * s.w..][..s.w];
                        for (x, d) in dst.iter_mut().enumerate() {
                            let iw = (x * st + kw).wrapping_sub(p);
                            *d = if iw < s.w { irow[iw] } else { 0.0 };
                        }
                    }
                }
            }
        }
    }

    /// Pointwise: full tiles read the input in place; the last partial tile
    /// goes through a zero-padded copy so no read passes the input's end.
    fn tiles_pointwise(&mut self, input: &[f32], output: &mut [f32], ld: usize) {
        let s = self.shape;
        let full = self.npos / TILE_P * TILE_P;
        let offs_in: Vec<usize> = (0..s.cin).map(|ci| ci * self.npos).collect();
        let cpad = s.cout.div_ceil(TILE_CO) * TILE_CO;
        let kred = self.offs.len();
        let step = self.block_tiles * TILE_P;
        let mut p0 = 0;
        while p0 < full {
            let p1 = (p0 + step).min(full);
            for cb in (0..cpad).step_by(TILE_CO) {
                let cov = TILE_CO.min(s.cout - cb);
                let w = &self.wpk[cb * kred..(cb + TILE_CO) * kred];
                for p in (p0..p1).step_by(TILE_P) {
                    run_tile(
                        self.isa,
                        input,
                        p,
                        &offs_in,
                        w,
                        output,
                        cb * ld + p,
                        ld,
                        cov,
                        TILE_P,
                    );
                }
            }
            p0 = p1;
        }
        if full < self.npos {
            let rem = self.npos - full;
            for ci in 0..s.cin {
                let dst = &mut self.scratch[ci * TILE_P..(ci + 1) * TILE_P];
                dst[..rem].copy_from_slice(&input[ci * self.npos + full..][..rem]);
                dst[rem..].fill(0.0);
            }
            for cb in (0..cpad).step_by(TILE_CO) {
                let cov = TILE_CO.min(s.cout - cb);
                let w = &self.wpk[cb * kred..(cb + TILE_CO) * kred];
                run_tile(
                    self.isa,
                    &self.scratch,
                    0,
                    &self.offs,
                    w,
                    output,
                    cb * ld + full,
                    ld,
                    cov,
                    rem,
                );
            }
        }
    }

    fn tiles(&mut self, out: Out<'_>, ld: usize) {
        let s = self.shape;
        let cpad = s.cout.div_ceil(TILE_CO) * TILE_CO;
        let kred = self.offs.len();
        let step = self.block_tiles * TILE_P;
        // The padded buffer takes whole tiles; a caller's slice only valid rows and columns.
        let (dst, rows, cols): (&mut [f32], usize, usize) = match out {
            Out::Buf => (&mut self.outbuf[..], cpad, self.p_pad),
            Out::Slice(o) => (o, s.cout, self.npos),
        };
        let mut p0 = 0;
        while p0 < self.npos {
            let p1 = (p0 + step).min(self.npos);
            for cb in (0..cpad).step_by(TILE_CO) {
                let cov = TILE_CO.min(rows - cb);
                let w = &self.wpk[cb * kred..(cb + TILE_CO) * kred];
                for p in (p0..p1).step_by(TILE_P) {
                    let pv = TILE_P.min(cols - p);
                    run_tile(
                        self.isa,
                        &self.scratch,
                        p,
                        &self.offs,
                        w,
                        dst,
                        cb * ld + p,
                        ld,
                        cov,
                        pv,
                    );
                }
            }
            p0 = p1;
        }
    }
}

enum Out<'a> {
    Buf,
    Slice(&'a mut [f32]),
}

/// One 4 x 24 tile: out[c][q] (c < cov, q < pv) = sum_kk w[kk][c] * inp[base + offs[kk] + q].
///
/// Every read `inp[base + off + q]` for q < 24 must be in bounds; writes go to
/// `out[o0 + c * ld + q]`.
#[allow(clippy::too_many_arguments)]
fn run_tile(
    isa: Isa,
    inp: &[f32],
    base: usize,
    offs: &[usize],
    w: &[f32],
    out: &mut [f32],
    o0: usize,
    ld: usize,
    cov: usize,
    pv: usize,
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => {
            let max_off = offs.iter().copied().max().unwrap_or(0);
            let in_ok = base + max_off + TILE_P <= inp.len();
            let out_ok = cov >= 1 && pv >= 1 && o0 + (cov - 1) * ld + pv <= out.len();
            if in_ok && out_ok && w.len() >= offs.len() * TILE_CO {
                // SAFETY: avx2+fma checked by usable(); bounds checked just above.
                unsafe {
                    avx2::tile(
                        inp.as_ptr().add(base),
                        offs,
                        w.as_ptr(),
                        out.as_mut_ptr().add(o0),
                        ld,
                        cov,
                        pv,
                    )
                };
            } else {
                debug_assert!(false, "conv tile out of bounds");
            }
        }
        _ => portable_tile(inp, base, offs, w, out, o0, ld, cov, pv),
    }
}

#[allow(clippy::too_many_arguments)]
fn portable_tile(
    inp: &[f32],
    base: usize,
    offs: &[usize],
    w: &[f32],
    out: &mut [f32],
    o0: usize,
    ld: usize,
    cov: usize,
    pv: usize,
) {
    let mut acc = [[0.0f32; TILE_P]; TILE_CO];
    for (kk, &off) in offs.iter().enumerate() {
        let x = &inp[base + off..base + off + TILE_P];
        let wk = &w[kk * TILE_CO..kk * TILE_CO + TILE_CO];
        for (a, &wv) in acc.iter_mut().zip(wk) {
            for q in 0..TILE_P {
                a[q] += wv * x[q];
            }
        }
    }
    for (c, a) in acc.iter().enumerate().take(cov) {
        out[o0 + c * ld..o0 + c * ld + pv].copy_from_slice(&a[..pv]);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! AVX2+FMA 4x24 conv tile.
    use super::{TILE_CO, TILE_P};
    use std::arch::x86_64::*;

    /// # Safety
    /// avx2+fma available; `inp + off + q` readable for every off in offs and
    /// q < 24; `w` holds 4 floats per offset; out rows c < cov, q < pv writable.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile(
        inp: *const f32,
        offs: &[usize],
        w: *const f32,
        out: *mut f32,
        ld: usize,
        cov: usize,
        pv: usize,
    ) {
        // SAFETY (whole body): guaranteed by the caller as documented.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); 3]; TILE_CO];
            let mut wp = w;
            for &off in offs {
                let ip = inp.add(off);
                let x0 = _mm256_loadu_ps(ip);
                let x1 = _mm256_loadu_ps(ip.add(8));
                let x2 = _mm256_loadu_ps(ip.add(16));
                for (c, a) in acc.iter_mut().enumerate() {
                    let b = _mm256_broadcast_ss(&*wp.add(c));
                    a[0] = _mm256_fmadd_ps(b, x0, a[0]);
                    a[1] = _mm256_fmadd_ps(b, x1, a[1]);
                    a[2] = _mm256_fmadd_ps(b, x2, a[2]);
                }
                wp = wp.add(TILE_CO);
            }
            if cov == TILE_CO && pv == TILE_P {
                for (c, a) in acc.iter().enumerate() {
                    let o = out.add(c * ld);
                    _mm256_storeu_ps(o, a[0]);
                    _mm256_storeu_ps(o.add(8), a[1]);
                    _mm256_storeu_ps(o.add(16), a[2]);
                }
            } else {
                let mut tmp = [0.0f32; TILE_P];
                for (c, a) in acc.iter().enumerate().take(cov) {
                    _mm256_storeu_ps(tmp.as_mut_ptr(), a[0]);
                    _mm256_storeu_ps(tmp.as_mut_ptr().add(8), a[1]);
                    _mm256_storeu_ps(tmp.as_mut_ptr().add(16), a[2]);
                    std::ptr::copy_nonoverlapping(tmp.as_ptr(), out.add(c * ld), pv);
                }
            }
        }
    }
}
