//! What a [`ConvPlan`] does: choose a path for a shape, pack the weights,
//! lay the input out, and run.

use super::drive::*;
use super::tiles::Tiles;
use super::*;

impl ConvPlan {
    /// Validate the shape, pack the weights and allocate scratch buffers;
    /// the path is chosen per shape.
    pub fn new(isa: Isa, s: &ConvShape, weights: &[f32]) -> Result<Self, BenchError> {
        Self::with_path(isa, s, weights, ConvPath::Auto)
    }

    /// The path `Auto` picks for a shape (thresholds measured on the dev
    /// machine, see the bench README): pointwise where it applies; gather
    /// for reductions of at least `GATHER_MIN_KRED` steps whose output fits
    /// `GATHER_MAX_OUT`; else
    /// direct, row-tiled when that wastes no more tile slots than flat.
    pub fn auto_path(isa: Isa, s: &ConvShape) -> Result<ConvPath, BenchError> {
        let (oh, ow) = s.validate()?;
        let tiles = Tiles::of(isa);
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
        let flat = (oh * ow) as f64 / ((oh * wq).div_ceil(tiles.tp) * tiles.tp) as f64;
        let rows = ow as f64 / tiles.row_slots(ow) as f64;
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
            ConvPath::Auto => Self::auto_path(isa, s)?,
            p if p.applies(s) => p,
            p => return Err(shape_err("conv", format!("path {p:?} does not apply"))),
        };
        let tiles = match path {
            ConvPath::Gather => Tiles::of(isa).for_pixels(oh * ow),
            _ => Tiles::of(isa),
        };
        let kred = s.reduction_len();
        let (k, st, pad) = (s.k, s.stride, s.pad);
        let (hp, wp) = (s.h + 2 * pad, s.w + 2 * pad);
        let cpad = s.cout.div_ceil(tiles.co) * tiles.co;
        let mut offs = Vec::with_capacity(kred);
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
                let cols = (chunk * wq).div_ceil(tiles.tp) * tiles.tp;
                // Short reductions walk groups of rows whose input stays in
                // L2 (input rows: `st` per output row, each `wp` floats over
                // its phase planes, for every input channel).
                let group = (rows && kred <= ROW_GROUP_MAX_KRED)
                    .then(|| (ROW_GROUP_BYTES / (s.cin * st * wp * 4)).max(1));
                mode = Mode::Direct {
                    wq,
                    plane,
                    chunk,
                    rows,
                    group,
                };
                scratch_len =
                    s.cin * st * st * plane + npos.div_ceil(tiles.tp) * tiles.tp + tiles.tp;
                out_len = cpad * cols;
                wpk = pack_weights(s, weights, tiles.co, kstep(k * k))?;
            }
            ConvPath::Pointwise => {
                npos = oh * ow;
                offs.extend((0..s.cin).map(|ci| ci * tiles.tp));
                mode = Mode::Pointwise;
                (scratch_len, out_len) = (s.cin * tiles.tp, 0);
                wpk = pack_weights(s, weights, tiles.co, kstep(k * k))?;
            }
            ConvPath::Im2col => {
                npos = oh * ow;
                let p_pad = npos.div_ceil(tiles.tp) * tiles.tp;
                offs.extend((0..kred).map(|kk| kk * p_pad));
                mode = Mode::Im2col;
                (scratch_len, out_len) = (kred * p_pad, 0);
                wpk = pack_weights(s, weights, tiles.co, kstep(k * k))?;
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
                let ntiles = npos.div_ceil(tiles.gp);
                bases = (0..ntiles * tiles.gp)
                    .map(|q| if q < npos { q } else { 0 })
                    .map(|q| (q / ow) * st * wp + (q % ow) * st)
                    .collect();
                mode = Mode::Gather { wp, plane };
                scratch_len = s.cin * plane;
                let blocking = GatherBlocking::of(&tiles, kred, k * k, ntiles);
                out_len = blocking.partial_len(&tiles, s.cout.div_ceil(tiles.gco));
                wpk = pack_weights(s, weights, tiles.gco, blocking.kstep)?;
            }
        }
        let p_pad = npos.div_ceil(tiles.tp) * tiles.tp;
        let too_big = |n: usize| n > MAX_FLOATS;
        if too_big(scratch_len) || too_big(out_len) {
            return Err(shape_err("conv", "scratch buffers too large"));
        }
        Ok(Self {
            shape: *s,
            tiles,
            mode,
            oh,
            ow,
            npos,
            p_pad,
            wpk,
            offs,
            scratch: AlignedBuf::new(scratch_len)?,
            outbuf: AlignedBuf::new(out_len)?,
            bases,
        })
    }

    /// The instruction set the plan's tiles run on.
    pub fn isa(&self) -> Isa {
        self.tiles.isa
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
        let cpad = s.cout.div_ceil(self.tiles.co) * self.tiles.co;
        let g = Geometry {
            kred: self.offs.len(),
            kk: s.k * s.k,
            max_off: self.offs.iter().copied().max().unwrap_or(0),
            cout: s.cout,
        };
        match self.mode {
            Mode::Direct {
                wq,
                plane,
                rows: true,
                group,
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
                    wrap: Some(Rows {
                        ow: self.ow,
                        wq,
                        group,
                    }),
                };
                drive(&self.tiles, &main, &self.wpk, &g, dst);
            }
            Mode::Direct {
                wq, plane, chunk, ..
            } => {
                self.copy_padded(input, s.stride, wq, plane);
                let ld = (chunk * wq).div_ceil(self.tiles.tp) * self.tiles.tp;
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
                    drive(&self.tiles, &main, &self.wpk, &g, dst);
                    for co in 0..s.cout {
                        for y in 0..rows {
                            let src = co * ld + y * wq;
                            output[(co * self.oh + y0 + y) * self.ow..][..self.ow]
                                .copy_from_slice(&self.outbuf[src..src + self.ow]);
                        }
                    }
                }
            }
            Mode::Gather { wp, plane } => {
                self.copy_padded(input, 1, wp, plane);
                gather_drive(
                    &self.tiles,
                    &self.scratch,
                    &self.offs,
                    &self.bases,
                    &self.wpk,
                    &g,
                    &mut self.outbuf,
                    output,
                );
            }
            Mode::Pointwise => {
                // A panel of every input channel's next `tp` positions, then
                // every output channel over it: the panel is contiguous, where
                // the input's channels lie `npos` floats apart and, at 56x56,
                // fall into a few L1 sets (each tile re-read them from L2).
                let tp = self.tiles.tp;
                let g = Geometry {
                    max_off: self.offs.last().copied().unwrap_or(0),
                    ..g
                };
                for q0 in (0..self.npos).step_by(tp) {
                    let nq = tp.min(self.npos - q0);
                    for (ci, dst) in self.scratch.chunks_exact_mut(tp).take(s.cin).enumerate() {
                        dst[..nq].copy_from_slice(&input[ci * self.npos + q0..][..nq]);
                        dst[nq..].fill(0.0);
                    }
                    let panel = Operand {
                        inp: &self.scratch,
                        offs: &self.offs,
                    };
                    let dst = Dest {
                        out: &mut output[q0..],
                        ld: self.npos,
                        rows: s.cout,
                        cols: nq,
                        origin: 0,
                        wrap: None,
                    };
                    drive(&self.tiles, &panel, &self.wpk, &g, dst);
                }
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
                drive(&self.tiles, &main, &self.wpk, &g, dst);
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
