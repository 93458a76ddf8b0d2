//! Global average pooling: `out[c]` = mean of the `h x w` plane of channel c.

use super::simd::{entry_points, Simd};
use super::Isa;
use crate::bench::error::{check_len, shape_err, BenchError};

fn validate(input: &[f32], out: &[f32], c: usize, hw: usize) -> Result<(), BenchError> {
    if c == 0 || hw == 0 {
        return Err(shape_err(
            "global_avg_pool",
            "channels and plane size must be positive",
        ));
    }
    let n = c
        .checked_mul(hw)
        .ok_or_else(|| shape_err("global_avg_pool", "size overflows"))?;
    check_len("input", input.len(), n)?;
    check_len("output", out.len(), c)
}

/// Scalar reference: sum each plane left to right, divide by its size.
pub fn global_avg_pool_scalar(
    input: &[f32],
    out: &mut [f32],
    c: usize,
    hw: usize,
) -> Result<(), BenchError> {
    validate(input, out, c, hw)?;
    let inv = 1.0 / hw as f32;
    for (o, plane) in out.iter_mut().zip(input.chunks_exact(hw)) {
        let mut s = 0.0f32;
        for &v in plane {
            s += v;
        }
        *o = s * inv;
    }
    Ok(())
}

/// Global average pooling with the given instruction set.
pub fn global_avg_pool(
    isa: Isa,
    input: &[f32],
    out: &mut [f32],
    c: usize,
    hw: usize,
) -> Result<(), BenchError> {
    validate(input, out, c, hw)?;
    // SAFETY: input holds c planes of hw floats and out c floats
    // (validated); `on` checks the ISA.
    unsafe { plane_means::on(isa, input.as_ptr(), out.as_mut_ptr(), c, hw) };
    Ok(())
}

/// `out[i]` = mean of the `n` floats of plane i, for `c` planes: two vector
/// accumulators per plane and a partial tail.
///
/// # Safety
/// `x` holds c x n floats and `out` c; the CPU has `S`'s ISA.
#[inline(always)]
unsafe fn plane_means<S: Simd>(x: *const f32, out: *mut f32, c: usize, n: usize) {
    let l = S::LANES;
    let inv = 1.0 / n as f32;
    // SAFETY (whole body): offsets stay below c x n and c.
    unsafe {
        for i in 0..c {
            let p = x.add(i * n);
            let (mut a0, mut a1) = (S::zero(), S::zero());
            let mut k = 0;
            while k + 2 * l <= n {
                a0 = S::add(a0, S::load(p.add(k)));
                a1 = S::add(a1, S::load(p.add(k + l)));
                k += 2 * l;
            }
            if k + l <= n {
                a0 = S::add(a0, S::load(p.add(k)));
                k += l;
            }
            if k < n {
                a1 = S::add(a1, S::load_partial(p.add(k), n - k));
            }
            *out.add(i) = S::sum(S::add(a0, a1)) * inv;
        }
    }
}

entry_points!(
    /// Entry points of [`plane_means()`].
    fn plane_means(x: *const f32, out: *mut f32, c: usize, n: usize)
);
