//! The peer for GEMM comparisons: the `gemm` crate (a dev-dependency), called
//! on the same memory layout as netledger's kernels. Shared by the criterion
//! benches and the developer examples.

/// The `gemm` crate on C = A Wᵀ with W stored `n x k` (same memory as ours).
pub fn peer_gemm(a: &[f32], w: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    assert!(a.len() == m * k && w.len() == n * k && c.len() == m * n);
    // SAFETY: the strides describe the three buffers, whose lengths are checked above.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}
