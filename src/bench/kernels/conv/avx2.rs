//! AVX2+FMA 6x16 conv tile.
use super::drive::Tile;
use super::{GATHER_CO, GATHER_P, TILE_CO, TILE_P, TILE_V};
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
pub(super) unsafe fn tile(inp: *const f32, offs: &[usize], w: *const f32, out: *mut f32, t: &Tile) {
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
