//! Global average pooling: out[c] = mean of the `h x w` plane of channel c.

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
    let inv = 1.0 / hw as f32;
    for (o, plane) in out.iter_mut().zip(input.chunks_exact(hw)) {
        let s = match isa.usable() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: avx2+fma checked; plane has hw floats.
            Isa::Avx2Fma => unsafe { avx2::sum(plane) },
            _ => portable_sum(plane),
        };
        *o = s * inv;
    }
    Ok(())
}

fn portable_sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut it = x.chunks_exact(8);
    for ch in &mut it {
        for l in 0..8 {
            acc[l] += ch[l];
        }
    }
    acc.iter().sum::<f32>() + it.remainder().iter().sum::<f32>()
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! AVX2 plane sum.
    use crate::bench::kernels::gemv::avx2::{hsum, tail_mask};
    use std::arch::x86_64::*;

    /// Sum of a slice with two vector accumulators and a masked tail.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn sum(x: &[f32]) -> f32 {
        let n = x.len();
        let p = x.as_ptr();
        // SAFETY: all offsets < n; the tail uses a masked load.
        unsafe {
            let mut a0 = _mm256_setzero_ps();
            let mut a1 = _mm256_setzero_ps();
            let mut k = 0;
            while k + 16 <= n {
                a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p.add(k)));
                a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p.add(k + 8)));
                k += 16;
            }
            if k + 8 <= n {
                a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p.add(k)));
                k += 8;
            }
            if k < n {
                a1 = _mm256_add_ps(a1, _mm256_maskload_ps(p.add(k), tail_mask(n - k)));
            }
            hsum(_mm256_add_ps(a0, a1))
        }
    }
}
