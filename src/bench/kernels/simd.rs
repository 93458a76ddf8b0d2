//! One instruction set's vector operations, as a trait: a loop nest or a
//! register tile is written once, generic over [`Simd`], and instantiated
//! per instruction set inside an entry point compiled for it
//! (`#[target_feature]`), which [`Isa`](super::Isa) picks once, at plan
//! time.
//!
//! * [`Avx512`]: 16 lanes (`__m512`), AVX-512F.
//! * [`Avx2`]: 8 lanes (`__m256`), AVX2 + FMA.
//! * [`Portable`]: 8 lanes as a plain array; the compiler vectorises it for
//!   the baseline target (SSE2 on x86-64), and it runs anywhere.
//!
//! Every method is `#[inline(always)]`: it must melt into the entry point
//! that enables its instruction set, or the intrinsics would be calls.
//! [`entry_points!`] writes those entry points.

/// Vector operations on `LANES` floats.
///
/// # Safety
/// The methods may only run where the instruction set is available, and
/// pointers must be valid for `LANES` floats.
pub(crate) trait Simd: Copy {
    /// Floats per vector.
    const LANES: usize;
    /// A vector register.
    type V: Copy;
    /// All lanes zero.
    unsafe fn zero() -> Self::V;
    /// Lanes from `p[0..LANES]` (unaligned).
    unsafe fn load(p: *const f32) -> Self::V;
    /// Lanes from `p[0..n]` and zeros above (`n < LANES`); reads only `n`.
    unsafe fn load_partial(p: *const f32, n: usize) -> Self::V;
    /// `*p` in every lane.
    unsafe fn splat(p: *const f32) -> Self::V;
    /// `p[0..G]` repeated across the lanes (`G` a power of two, at most
    /// `LANES`): lane `q` holds `p[q % G]`. One broadcast load.
    unsafe fn splat_group<const G: usize>(p: *const f32) -> Self::V;
    /// Stores the lanes to `p[0..LANES]` (unaligned).
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `a * b + c`, fused where the instruction set fuses.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a + b`.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// Sum of the lanes.
    unsafe fn sum(v: Self::V) -> f32;
    /// Asks for the cache line of `p` in L1 (no access: any address).
    #[inline(always)]
    fn prefetch(p: *const f32) {
        let _ = p;
    }
    /// Asks for the cache line of `p` in L2 (no access: any address).
    #[inline(always)]
    fn prefetch_l2(p: *const f32) {
        let _ = p;
    }
    /// Writes the transpose of the `LANES x LANES` block at `src` (rows
    /// `src_ld` floats apart) to `dst` (rows `dst_ld` apart): `dst[j *
    /// dst_ld + i] = src[i * src_ld + j]`. The blocks must not overlap.
    #[inline(always)]
    unsafe fn transpose(src: *const f32, src_ld: usize, dst: *mut f32, dst_ld: usize) {
        for i in 0..Self::LANES {
            for j in 0..Self::LANES {
                // SAFETY: both blocks valid (trait contract).
                unsafe { *dst.add(j * dst_ld + i) = *src.add(i * src_ld + j) };
            }
        }
    }
}

/// Plain Rust, 8 lanes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable;

impl Simd for Portable {
    const LANES: usize = 8;
    type V = [f32; 8];
    #[inline(always)]
    unsafe fn zero() -> Self::V {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: p valid for 8 floats (trait contract).
        unsafe { p.cast::<[f32; 8]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self::V {
        // SAFETY: p valid for n floats (trait contract).
        let mut v = [0.0; 8];
        for (i, x) in v.iter_mut().enumerate().take(n) {
            // SAFETY: i < n, p valid for n floats (trait contract).
            *x = unsafe { *p.add(i) };
        }
        v
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self::V {
        // SAFETY: p valid (trait contract).
        [unsafe { *p }; 8]
    }
    #[inline(always)]
    unsafe fn splat_group<const G: usize>(p: *const f32) -> Self::V {
        let mut v = [0.0; 8];
        for (q, x) in v.iter_mut().enumerate() {
            // SAFETY: q % G < G, p valid for G floats (trait contract).
            *x = unsafe { *p.add(q % G) };
        }
        v
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: p valid for 8 floats (trait contract).
        unsafe { p.cast::<[f32; 8]>().write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        // Plain loops (not `array::from_fn`), which always inline.
        let mut r = c;
        for i in 0..8 {
            r[i] += a[i] * b[i];
        }
        r
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        let mut r = a;
        for i in 0..8 {
            r[i] += b[i];
        }
        r
    }
    #[inline(always)]
    unsafe fn sum(v: Self::V) -> f32 {
        ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Simd;
    use std::arch::x86_64::*;

    /// AVX2 + FMA, 8 lanes.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Avx2;

    // SAFETY (every method): the caller runs on a CPU with AVX2 and FMA and
    // passes pointers valid for 8 floats (trait contract).
    impl Simd for Avx2 {
        const LANES: usize = 8;
        type V = __m256;
        #[inline(always)]
        unsafe fn zero() -> __m256 {
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m256 {
            const MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
            // SAFETY: n < 8, so 8 ints from 8 - n are inside MASKS; the
            // masked load reads only the first n floats.
            unsafe {
                let m = _mm256_loadu_si256(MASKS.as_ptr().add(8 - n).cast::<__m256i>());
                _mm256_maskload_ps(p, m)
            }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> __m256 {
            unsafe { _mm256_broadcast_ss(&*p) }
        }
        #[inline(always)]
        unsafe fn splat_group<const G: usize>(p: *const f32) -> __m256 {
            // Unaligned reads, which fold into the broadcast's memory operand.
            unsafe {
                match G {
                    1 => _mm256_broadcast_ss(&*p),
                    2 => _mm256_castpd_ps(_mm256_set1_pd(p.cast::<f64>().read_unaligned())),
                    4 => {
                        let h = _mm_loadu_ps(p);
                        _mm256_set_m128(h, h)
                    }
                    8 => _mm256_loadu_ps(p),
                    _ => unreachable!("group of {G} floats"),
                }
            }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        fn prefetch(p: *const f32) {
            // SAFETY: a prefetch accesses nothing; SSE is baseline on x86-64.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) }
        }
        #[inline(always)]
        fn prefetch_l2(p: *const f32) {
            // SAFETY: a prefetch accesses nothing; SSE is baseline on x86-64.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(p.cast::<i8>()) }
        }
        #[inline(always)]
        unsafe fn transpose(src: *const f32, src_ld: usize, dst: *mut f32, dst_ld: usize) {
            unsafe {
                // Loops, not `array::from_fn`, which may stay a call.
                let mut r = [_mm256_setzero_ps(); 8];
                for (i, x) in r.iter_mut().enumerate() {
                    *x = _mm256_loadu_ps(src.add(i * src_ld));
                }
                // Pairs of rows interleaved, then groups of four rows: u[4g + m]
                // holds columns m (low half) and 4 + m (high half) of rows
                // 4g..4g+4.
                let mut t = [_mm256_setzero_ps(); 8];
                for k in 0..4 {
                    t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
                    t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
                }
                let mut u = [_mm256_setzero_ps(); 8];
                for g in 0..2 {
                    let (lo, hi) = (t[4 * g], t[4 * g + 1]);
                    let (lo2, hi2) = (t[4 * g + 2], t[4 * g + 3]);
                    u[4 * g] = _mm256_shuffle_ps::<0x44>(lo, lo2);
                    u[4 * g + 1] = _mm256_shuffle_ps::<0xEE>(lo, lo2);
                    u[4 * g + 2] = _mm256_shuffle_ps::<0x44>(hi, hi2);
                    u[4 * g + 3] = _mm256_shuffle_ps::<0xEE>(hi, hi2);
                }
                for m in 0..4 {
                    let col = _mm256_permute2f128_ps::<0x20>(u[m], u[4 + m]);
                    _mm256_storeu_ps(dst.add(m * dst_ld), col);
                    let col = _mm256_permute2f128_ps::<0x31>(u[m], u[4 + m]);
                    _mm256_storeu_ps(dst.add((4 + m) * dst_ld), col);
                }
            }
        }
        #[inline(always)]
        unsafe fn sum(v: __m256) -> f32 {
            unsafe {
                let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
            }
        }
    }

    /// AVX-512F, 16 lanes.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Avx512;

    // SAFETY (every method): the caller runs on a CPU with AVX-512F and
    // passes pointers valid for 16 floats (trait contract).
    impl Simd for Avx512 {
        const LANES: usize = 16;
        type V = __m512;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m512 {
            // SAFETY: the masked load reads only the first n (< 16) floats.
            unsafe { _mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, p) }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> __m512 {
            unsafe { _mm512_set1_ps(*p) }
        }
        #[inline(always)]
        unsafe fn splat_group<const G: usize>(p: *const f32) -> __m512 {
            // Unaligned reads, which fold into the broadcast's memory operand.
            unsafe {
                match G {
                    1 => _mm512_set1_ps(*p),
                    2 => _mm512_castpd_ps(_mm512_set1_pd(p.cast::<f64>().read_unaligned())),
                    4 => _mm512_broadcast_f32x4(_mm_loadu_ps(p)),
                    8 => _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_loadu_pd(p.cast::<f64>()))),
                    16 => _mm512_loadu_ps(p),
                    _ => unreachable!("group of {G} floats"),
                }
            }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        fn prefetch(p: *const f32) {
            // SAFETY: a prefetch accesses nothing; SSE is baseline on x86-64.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) }
        }
        #[inline(always)]
        fn prefetch_l2(p: *const f32) {
            // SAFETY: a prefetch accesses nothing; SSE is baseline on x86-64.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(p.cast::<i8>()) }
        }
        #[inline(always)]
        unsafe fn transpose(src: *const f32, src_ld: usize, dst: *mut f32, dst_ld: usize) {
            unsafe {
                // Loops, not `array::from_fn`, which may stay a call.
                let mut r = [_mm512_setzero_ps(); 16];
                for (i, x) in r.iter_mut().enumerate() {
                    *x = _mm512_loadu_ps(src.add(i * src_ld));
                }
                // Pairs of rows interleaved, then groups of four rows: u[4g + m]
                // holds, in 128-bit lane l, column 4l + m of rows 4g..4g+4.
                let mut t = [_mm512_setzero_ps(); 16];
                for k in 0..8 {
                    t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
                    t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
                }
                let pd = _mm512_castps_pd;
                let ps = _mm512_castpd_ps;
                let mut u = [_mm512_setzero_ps(); 16];
                for g in 0..4 {
                    let (lo, hi) = (pd(t[4 * g]), pd(t[4 * g + 1]));
                    let (lo2, hi2) = (pd(t[4 * g + 2]), pd(t[4 * g + 3]));
                    u[4 * g] = ps(_mm512_unpacklo_pd(lo, lo2));
                    u[4 * g + 1] = ps(_mm512_unpackhi_pd(lo, lo2));
                    u[4 * g + 2] = ps(_mm512_unpacklo_pd(hi, hi2));
                    u[4 * g + 3] = ps(_mm512_unpackhi_pd(hi, hi2));
                }
                // Lanes of groups 0, 1 (v) and 2, 3 (w): 0x88 takes lanes 0
                // and 2 of each operand, 0xdd lanes 1 and 3.
                for m in 0..4 {
                    let v88 = _mm512_shuffle_f32x4::<0x88>(u[m], u[4 + m]);
                    let vdd = _mm512_shuffle_f32x4::<0xdd>(u[m], u[4 + m]);
                    let w88 = _mm512_shuffle_f32x4::<0x88>(u[8 + m], u[12 + m]);
                    let wdd = _mm512_shuffle_f32x4::<0xdd>(u[8 + m], u[12 + m]);
                    let cols = [
                        (m, _mm512_shuffle_f32x4::<0x88>(v88, w88)),
                        (8 + m, _mm512_shuffle_f32x4::<0xdd>(v88, w88)),
                        (4 + m, _mm512_shuffle_f32x4::<0x88>(vdd, wdd)),
                        (12 + m, _mm512_shuffle_f32x4::<0xdd>(vdd, wdd)),
                    ];
                    for (j, col) in cols {
                        _mm512_storeu_ps(dst.add(j * dst_ld), col);
                    }
                }
            }
        }
        #[inline(always)]
        unsafe fn sum(v: __m512) -> f32 {
            unsafe { _mm512_reduce_add_ps(v) }
        }
    }
}

/// Writes, for a generic body `$body::<S: Simd, ...>(args) -> ret`, one
/// entry point per instruction set in a module named after the body:
/// `portable` (runs anywhere), and on x86-64 `avx2` and `avx512`, compiled
/// with their target features, and `on(isa, args)`, which picks one. After
/// a `;`, three bracketed lists give each instantiation's further generic
/// arguments (portable, AVX2, AVX-512), e.g. its tile sizes. A further `;
/// mod NAME [..] [..] [..]` adds a second module of entry points of the
/// same body with other arguments.
macro_rules! entry_points {
    ($(#[$doc:meta])* fn $body:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;
     [$($pg:tt),*] [$($ag:tt),*] [$($wg:tt),*];
     $(#[$doc2:meta])* mod $name2:ident [$($pg2:tt),*] [$($ag2:tt),*] [$($wg2:tt),*]) => {
        $crate::bench::kernels::simd::entry_points!(
            $(#[$doc])* mod $body = fn $body($($arg: $ty),*) $(-> $ret)?;
            [$($pg),*] [$($ag),*] [$($wg),*]
        );
        $crate::bench::kernels::simd::entry_points!(
            $(#[$doc2])* mod $name2 = fn $body($($arg: $ty),*) $(-> $ret)?;
            [$($pg2),*] [$($ag2),*] [$($wg2),*]
        );
    };
    ($(#[$doc:meta])* fn $body:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?) => {
        $crate::bench::kernels::simd::entry_points!(
            $(#[$doc])* mod $body = fn $body($($arg: $ty),*) $(-> $ret)?; [] [] []
        );
    };
    ($(#[$doc:meta])* fn $body:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;
     [$($pg:tt),*] [$($ag:tt),*] [$($wg:tt),*]) => {
        $crate::bench::kernels::simd::entry_points!(
            $(#[$doc])* mod $body = fn $body($($arg: $ty),*) $(-> $ret)?;
            [$($pg),*] [$($ag),*] [$($wg),*]
        );
    };
    ($(#[$doc:meta])* mod $name:ident = fn $body:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;
     [$($pg:tt),*] [$($ag:tt),*] [$($wg:tt),*]) => {
        $(#[$doc])*
        #[allow(dead_code)]
        pub(crate) mod $name {
            #[allow(unused_imports)]
            use super::*;

            /// The portable instantiation.
            ///
            /// # Safety
            /// The body's pointer contract.
            pub(crate) unsafe fn portable($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller's; portable code runs anywhere.
                unsafe {
                    super::$body::<$crate::bench::kernels::simd::Portable $(, $pg)*>($($arg),*)
                }
            }

            /// The AVX2+FMA instantiation.
            ///
            /// # Safety
            /// AVX2 and FMA available, and the body's pointer contract.
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            pub(crate) unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller's.
                unsafe { super::$body::<$crate::bench::kernels::simd::Avx2 $(, $ag)*>($($arg),*) }
            }

            /// The AVX-512F instantiation.
            ///
            /// # Safety
            /// AVX-512F available, and the body's pointer contract.
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            pub(crate) unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller's.
                unsafe { super::$body::<$crate::bench::kernels::simd::Avx512 $(, $wg)*>($($arg),*) }
            }

            /// The instantiation for `isa` (the best one at or below it).
            ///
            /// # Safety
            /// The body's pointer contract (the ISA is checked here).
            pub(crate) unsafe fn on(isa: $crate::bench::kernels::Isa, $($arg: $ty),*) $(-> $ret)? {
                use $crate::bench::kernels::Isa;
                // SAFETY: usable() confirmed the ISA; the rest is the caller's.
                unsafe {
                    match isa.usable() {
                        #[cfg(target_arch = "x86_64")]
                        Isa::Avx512 => avx512($($arg),*),
                        #[cfg(target_arch = "x86_64")]
                        Isa::Avx2Fma => avx2($($arg),*),
                        _ => portable($($arg),*),
                    }
                }
            }
        }
    };
}
pub(crate) use entry_points;
