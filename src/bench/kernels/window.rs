//! Window pooling on CxHxW planes, with torch's rules: max and average
//! pooling with a fixed window (stride, zero padding, dilation for max,
//! `ceil_mode` through the given output size, `count_include_pad`), and
//! adaptive pooling to a fixed output size. Plain loops: pooling moves
//! little data next to the convolutions around it.

use crate::bench::error::{check_len, shape_err, BenchError};

/// A fixed pooling window on one CxHxW image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Channels.
    pub c: usize,
    /// Input height, width.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output height (as the count engine derived it, `ceil_mode` included).
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    /// Window height, width.
    pub k: [usize; 2],
    /// Stride height, width.
    pub stride: [usize; 2],
    /// Padding height, width.
    pub pad: [usize; 2],
    /// Dilation height, width (1 for average pooling).
    pub dilation: [usize; 2],
}

impl Window {
    fn validate(&self, input: &[f32], out: &[f32]) -> Result<(), BenchError> {
        let dims = [self.c, self.h, self.w, self.oh, self.ow];
        let steps = [self.k, self.stride, self.dilation].concat();
        if dims.contains(&0) || steps.contains(&0) {
            return Err(shape_err(
                "pool",
                "sizes, strides and dilations must be positive",
            ));
        }
        let over = || shape_err("pool", "size overflows");
        let n_in = self
            .c
            .checked_mul(self.h)
            .and_then(|v| v.checked_mul(self.w));
        let n_out = self
            .c
            .checked_mul(self.oh)
            .and_then(|v| v.checked_mul(self.ow));
        check_len("input", input.len(), n_in.ok_or_else(over)?)?;
        check_len("output", out.len(), n_out.ok_or_else(over)?)
    }

    /// Input rows (or columns) of output row `o` on axis `a`: the window
    /// clipped to the input, and the padded window's length (torch's
    /// average-pool divisor: the window clipped to the padded input).
    fn span(&self, a: usize, o: usize) -> (usize, usize, usize) {
        let size = [self.h, self.w][a];
        let start = (o * self.stride[a]) as isize - self.pad[a] as isize;
        let end = (start + self.k[a] as isize).min((size + self.pad[a]) as isize);
        let padded = (end - start).max(0) as usize;
        let lo = start.max(0) as usize;
        let hi = (end.max(0) as usize).min(size);
        (lo, hi.max(lo), padded)
    }
}

/// Max pooling (padding counts as minus infinity).
pub fn max_pool(win: &Window, input: &[f32], out: &mut [f32]) -> Result<(), BenchError> {
    win.validate(input, out)?;
    let (h, w) = (win.h, win.w);
    let ([kh_n, kw_n], [sh, sw], [ph, pw], [dh, dw]) = (win.k, win.stride, win.pad, win.dilation);
    // Output columns whose window lies inside the row: no bounds checks.
    let inside = |x: usize| x * sw >= pw && x * sw + (kw_n - 1) * dw < w + pw;
    let x_lo = (0..win.ow).find(|&x| inside(x)).unwrap_or(win.ow);
    let x_hi = (x_lo..win.ow).find(|&x| !inside(x)).unwrap_or(win.ow);
    for (plane, oplane) in input
        .chunks_exact(h * w)
        .zip(out.chunks_exact_mut(win.oh * win.ow))
    {
        for (y, orow) in oplane.chunks_exact_mut(win.ow).enumerate() {
            orow.fill(f32::NEG_INFINITY);
            for kh in 0..kh_n {
                let ih = (y * sh + kh * dh) as isize - ph as isize;
                if ih < 0 || ih as usize >= h {
                    continue;
                }
                let row = &plane[ih as usize * w..][..w];
                for kw in 0..kw_n {
                    let col = |x: usize| (x * sw + kw * dw) as isize - pw as isize;
                    for x in (0..x_lo).chain(x_hi..win.ow) {
                        let iw = col(x);
                        if iw >= 0 && (iw as usize) < w {
                            orow[x] = orow[x].max(row[iw as usize]);
                        }
                    }
                    if x_lo < x_hi {
                        let first = col(x_lo) as usize;
                        let taps = row[first..].iter().step_by(sw);
                        for (o, &v) in orow[x_lo..x_hi].iter_mut().zip(taps) {
                            *o = o.max(v);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Average pooling, padding counted in the divisor (torch's default
/// `count_include_pad=True`).
pub fn avg_pool(win: &Window, input: &[f32], out: &mut [f32]) -> Result<(), BenchError> {
    win.validate(input, out)?;
    let (h, w) = (win.h, win.w);
    for (plane, oplane) in input
        .chunks_exact(h * w)
        .zip(out.chunks_exact_mut(win.oh * win.ow))
    {
        for y in 0..win.oh {
            let (y0, y1, ny) = win.span(0, y);
            for x in 0..win.ow {
                let (x0, x1, nx) = win.span(1, x);
                let mut s = 0.0f32;
                for row in plane[y0 * w..y1 * w].chunks_exact(w) {
                    s += row[x0..x1].iter().sum::<f32>();
                }
                oplane[y * win.ow + x] = s / (ny * nx).max(1) as f32;
            }
        }
    }
    Ok(())
}

/// Adaptive pooling of `c` planes of `h x w` to `oh x ow`: output cell i
/// covers input rows floor(i h / oh) .. ceil((i + 1) h / oh), as in torch.
pub fn adaptive_pool(
    max: bool,
    (c, h, w): (usize, usize, usize),
    (oh, ow): (usize, usize),
    input: &[f32],
    out: &mut [f32],
) -> Result<(), BenchError> {
    if [c, h, w, oh, ow].contains(&0) {
        return Err(shape_err("adaptive pool", "sizes must be positive"));
    }
    let over = || shape_err("adaptive pool", "size overflows");
    let n_in = c.checked_mul(h).and_then(|v| v.checked_mul(w));
    let n_out = c.checked_mul(oh).and_then(|v| v.checked_mul(ow));
    check_len("input", input.len(), n_in.ok_or_else(over)?)?;
    check_len("output", out.len(), n_out.ok_or_else(over)?)?;
    let bin = |i: usize, n: usize, size: usize| (i * size / n, ((i + 1) * size).div_ceil(n));
    for (plane, oplane) in input.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)) {
        for y in 0..oh {
            let (y0, y1) = bin(y, oh, h);
            for x in 0..ow {
                let (x0, x1) = bin(x, ow, w);
                let cells = plane[y0 * w..y1 * w]
                    .chunks_exact(w)
                    .flat_map(|row| &row[x0..x1]);
                oplane[y * ow + x] = if max {
                    cells.fold(f32::NEG_INFINITY, |m, &v| m.max(v))
                } else {
                    cells.sum::<f32>() / ((y1 - y0) * (x1 - x0)) as f32
                };
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(h: usize, oh: usize, k: usize, stride: usize, pad: usize) -> Window {
        Window {
            c: 1,
            h,
            w: h,
            oh,
            ow: oh,
            k: [k; 2],
            stride: [stride; 2],
            pad: [pad; 2],
            dilation: [1; 2],
        }
    }

    #[test]
    fn max_pool_takes_the_window_maximum_and_ignores_padding() {
        // 4x4 ramp, 3x3 window, stride 2, padding 1: torch gives [[5,7],[13,15]].
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mut y = vec![0.0; 4];
        max_pool(&win(4, 2, 3, 2, 1), &x, &mut y).unwrap();
        assert_eq!(y, [5.0, 7.0, 13.0, 15.0]);
        // All negative: padding must not win with a zero.
        let neg: Vec<f32> = x.iter().map(|v| -v - 1.0).collect();
        max_pool(&win(4, 2, 3, 2, 1), &neg, &mut y).unwrap();
        assert_eq!(y, [-1.0, -2.0, -5.0, -6.0]);
    }

    #[test]
    fn avg_pool_counts_padding_in_the_divisor_as_torch_does() {
        // torch.nn.AvgPool2d(3, 2, 1)(arange(16).view(1,1,4,4)):
        // [[10/9, 24/9], [51/9, 90/9]] (count_include_pad=True).
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mut y = vec![0.0; 4];
        avg_pool(&win(4, 2, 3, 2, 1), &x, &mut y).unwrap();
        let want = [10.0 / 9.0, 24.0 / 9.0, 51.0 / 9.0, 90.0 / 9.0];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{y:?}");
        }
    }

    #[test]
    fn adaptive_pool_bins_overlap_and_upsample_like_torch() {
        // AdaptiveAvgPool2d(2) on 3x3 arange: bins rows 0..2 and 1..3.
        let x: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let mut y = vec![0.0; 4];
        adaptive_pool(false, (1, 3, 3), (2, 2), &x, &mut y).unwrap();
        assert_eq!(y, [2.0, 3.0, 5.0, 6.0]);
        adaptive_pool(true, (1, 3, 3), (2, 2), &x, &mut y).unwrap();
        assert_eq!(y, [4.0, 5.0, 7.0, 8.0]);
        // 1x1 to 2x2 repeats the value (VGG's pool at a small input).
        let mut up = vec![0.0; 4];
        adaptive_pool(false, (1, 1, 1), (2, 2), &[7.0], &mut up).unwrap();
        assert_eq!(up, [7.0; 4]);
    }

    #[test]
    fn max_pool_agrees_with_the_window_definition_on_odd_shapes() {
        // Every output against a direct evaluation of its window, for
        // strides, paddings, dilations and sizes that leave edges.
        for (h, k, s, p, d) in [
            (7, 3, 2, 1, 1),
            (8, 2, 2, 0, 1),
            (9, 3, 1, 1, 2),
            (5, 5, 3, 2, 1),
        ] {
            let oh = (h + 2 * p - d * (k - 1) - 1) / s + 1;
            let win = Window {
                dilation: [d; 2],
                ..Window {
                    c: 2,
                    ..win(h, oh, k, s, p)
                }
            };
            let x: Vec<f32> = (0..2 * h * h)
                .map(|i| ((i * 7919) % 101) as f32 - 50.0)
                .collect();
            let mut y = vec![0.0; 2 * oh * oh];
            max_pool(&win, &x, &mut y).unwrap();
            for c in 0..2 {
                for oy in 0..oh {
                    for ox in 0..oh {
                        let mut m = f32::NEG_INFINITY;
                        for a in 0..k {
                            for b in 0..k {
                                let iy = (oy * s + a * d) as isize - p as isize;
                                let ix = (ox * s + b * d) as isize - p as isize;
                                if (0..h as isize).contains(&iy) && (0..h as isize).contains(&ix) {
                                    m = m.max(x[c * h * h + iy as usize * h + ix as usize]);
                                }
                            }
                        }
                        assert_eq!(y[(c * oh + oy) * oh + ox], m, "{h} {k} {s} {p} {d}");
                    }
                }
            }
        }
    }

    #[test]
    fn bad_sizes_are_errors() {
        let mut y = vec![0.0; 4];
        assert!(max_pool(&win(4, 2, 3, 0, 1), &[0.0; 16], &mut y).is_err());
        assert!(avg_pool(&win(4, 2, 3, 2, 1), &[0.0; 15], &mut y).is_err());
        assert!(adaptive_pool(false, (1, 0, 3), (2, 2), &[], &mut y).is_err());
    }
}
