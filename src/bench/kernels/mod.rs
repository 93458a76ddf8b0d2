//! Compute kernels: scalar references, explicit SIMD versions for AVX-512
//! and AVX2+FMA behind runtime detection, and portable fallbacks that
//! compile everywhere. Register tiles are written once over the `simd`
//! trait and instantiated per instruction set.
//!
//! * [`gemv`]: y = W x, W row-major `rows x cols`.
//! * [`gemm`]: linear layer at batch N, C = A Wᵀ (A `batch x in`, W `out x in`
//!   as stored by PyTorch, i.e. B = Wᵀ is `in x out`).
//! * [`packed`]: the same with W packed once per plan (batches 2 to 8 with
//!   AVX-512, 2 to 6 with AVX2), and [`packed::linear`], which picks it or
//!   [`gemm`].
//! * [`conv`]: NCHW conv2d at batch 1, any k, stride, padding.
//! * [`pool`]: global average pooling.
//! * [`ceilings`]: FMA peak, memory read and triad bandwidth.
//!
//! The "scalar" references are plain Rust loops without `std::arch`; the
//! compiler may auto-vectorise them for the baseline target (SSE2 on x86-64),
//! so "SIMD over scalar" means "hand-written AVX2+FMA over straightforward code".

pub mod ceilings;
pub mod conv;
pub mod gemm;
pub mod gemv;
pub mod packed;
pub mod pool;
pub(crate) mod simd;
pub mod window;

/// Instruction set used by a kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// x86-64 AVX-512F (with AVX2 + FMA), checked at run time. Kernels
    /// without a 512-bit version yet run their AVX2 one.
    Avx512,
    /// x86-64 AVX2 + FMA intrinsics (checked at run time).
    Avx2Fma,
    /// Portable Rust (blocked loops the compiler vectorises for the baseline target).
    Portable,
}

impl Isa {
    /// Best instruction set available on this CPU.
    pub fn detect() -> Isa {
        Isa::Avx512.usable()
    }

    /// Every instruction set this CPU can run, best first (tests force each).
    pub fn all_available() -> Vec<Isa> {
        [Isa::Avx512, Isa::Avx2Fma, Isa::Portable]
            .into_iter()
            .filter(|i| i.available())
            .collect()
    }

    /// Whether this instruction set can run on this CPU.
    pub fn available(self) -> bool {
        match self {
            Isa::Portable => true,
            Isa::Avx2Fma => avx2_fma_available(),
            Isa::Avx512 => avx2_fma_available() && avx512_available(),
        }
    }

    /// Feature names recorded in results (`["avx2","fma","avx512f"]`,
    /// `["avx2","fma"]` or `["portable"]`).
    pub fn features(self) -> Vec<String> {
        match self {
            Isa::Avx512 => vec!["avx2".into(), "fma".into(), "avx512f".into()],
            Isa::Avx2Fma => vec!["avx2".into(), "fma".into()],
            Isa::Portable => vec!["portable".into()],
        }
    }

    /// The instruction set of a short name (as [`Isa::name`] gives, or
    /// `avx512`, `avx2`).
    pub fn parse(name: &str) -> Option<Isa> {
        match name {
            "avx512" | "avx512f" => Some(Isa::Avx512),
            "avx2" | "avx2+fma" => Some(Isa::Avx2Fma),
            "portable" => Some(Isa::Portable),
            _ => None,
        }
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512f",
            Isa::Avx2Fma => "avx2+fma",
            Isa::Portable => "portable",
        }
    }

    /// The best instruction set at or below this one that the CPU has
    /// (AVX-512, then AVX2, then portable).
    pub(crate) fn usable(self) -> Isa {
        match self {
            _ if self.available() => self,
            Isa::Avx512 => Isa::Avx2Fma.usable(),
            _ => Isa::Portable,
        }
    }

    /// The instruction set of kernels that have no AVX-512 version yet.
    pub(crate) fn narrow(self) -> Isa {
        match self.usable() {
            Isa::Avx512 => Isa::Avx2Fma,
            other => other,
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2_fma_available() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx2_fma_available() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn avx512_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(not(target_arch = "x86_64"))]
fn avx512_available() -> bool {
    false
}

/// Error-bound helper for tests and run-time checks.
///
/// Tolerance for comparing two summation orders of an `n`-term dot product:
/// `|a - b| <= 8 * eps * sqrt(n) * sum|x_i y_i| + tiny`. The rigorous
/// worst case is `2 n eps sum|x_i y_i|`; rounding errors of random-sign
/// terms grow like `sqrt(n)`, and the factor 8 leaves margin, while any
/// indexing bug gives errors of the order of the sum itself.
pub fn dot_tolerance(n: usize, abs_sum: f32) -> f32 {
    8.0 * f32::EPSILON * (n.max(1) as f32).sqrt() * abs_sum + 1e-30
}

/// Compare `got` against `want` with per-element bounds from `abs_ref`
/// (the same computation on absolute values); returns the index of the first
/// violation and its absolute error.
pub fn check_close(
    got: &[f32],
    want: &[f32],
    abs_ref: &[f32],
    n: usize,
) -> Result<(), (usize, f64)> {
    if got.len() != want.len() || want.len() != abs_ref.len() {
        return Err((0, f64::INFINITY));
    }
    for (i, ((&g, &w), &a)) in got.iter().zip(want).zip(abs_ref).enumerate() {
        let err = (g - w).abs();
        // NaN errors must fail too, hence the explicit NaN test.
        if err.is_nan() || err > dot_tolerance(n, a) {
            return Err((i, f64::from(err)));
        }
    }
    Ok(())
}
