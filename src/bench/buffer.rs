//! Aligned `f32` buffers for kernels; big ones are 2 MiB aligned and ask the
//! kernel for transparent huge pages (`madvise(MADV_HUGEPAGE)`), since THP is
//! in `madvise` mode on the dev machines and a plain `Vec` gets 4 KiB pages.
//!
//! On Linux a huge-page buffer is its own anonymous mapping, advised before
//! anything touches it: the kernel's zero pages need no memset, and its first
//! touch faults in 2 MiB pages. (`alloc_zeroed` with a 2 MiB alignment
//! zeroes the memory itself, so every page was already a 4 KiB one when the
//! advice came: a 411 MB fc6 matrix got 16 MB of huge pages.)

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::error::BenchError;

/// Size of a transparent huge page on x86-64 Linux.
pub const HUGE_PAGE: usize = 2 << 20;
/// Alignment of small buffers (a cache line).
const SMALL_ALIGN: usize = 64;

/// Which page policy to request for a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pages {
    /// Huge pages when the buffer is at least one huge page long.
    Huge,
    /// Normal 4 KiB pages (64-byte alignment, no madvise).
    Normal,
}

/// A zero-initialised, aligned, fixed-length `f32` buffer.
pub struct AlignedBuf {
    ptr: NonNull<f32>,
    len: usize,
    memory: Memory,
    huge: bool,
}

/// Where a buffer's memory came from, to give it back.
enum Memory {
    /// Nothing allocated (length 0).
    None,
    /// The global allocator, with this layout.
    Heap(Layout),
    /// An anonymous mapping of `len` bytes at `base`.
    #[cfg(target_os = "linux")]
    Mapped { base: *mut libc::c_void, len: usize },
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<f32>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only hands out &[f32].
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// Allocate `len` zeroed floats, requesting huge pages for large buffers.
    pub fn new(len: usize) -> Result<Self, BenchError> {
        Self::with_pages(len, Pages::Huge)
    }

    /// Allocate `len` zeroed floats with the given page policy.
    pub fn with_pages(len: usize, pages: Pages) -> Result<Self, BenchError> {
        let bytes = len
            .checked_mul(std::mem::size_of::<f32>())
            .ok_or(BenchError::Alloc { bytes: usize::MAX })?;
        if bytes == 0 {
            return Ok(Self {
                ptr: NonNull::dangling(),
                len: 0,
                memory: Memory::None,
                huge: false,
            });
        }
        let want_huge = pages == Pages::Huge && bytes >= HUGE_PAGE;
        #[cfg(target_os = "linux")]
        if want_huge {
            return Self::mapped(len, bytes);
        }
        let (size, align) = if want_huge {
            (bytes.div_ceil(HUGE_PAGE) * HUGE_PAGE, HUGE_PAGE)
        } else {
            (bytes, SMALL_ALIGN)
        };
        let layout =
            Layout::from_size_align(size, align).map_err(|_| BenchError::Alloc { bytes })?;
        // SAFETY: layout has non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(raw.cast::<f32>()).ok_or(BenchError::Alloc { bytes })?;
        Ok(Self {
            ptr,
            len,
            memory: Memory::Heap(layout),
            huge: false,
        })
    }

    /// `len` floats (`bytes` bytes) in a fresh anonymous mapping, 2 MiB
    /// aligned and advised to use huge pages before its first touch.
    #[cfg(target_os = "linux")]
    fn mapped(len: usize, bytes: usize) -> Result<Self, BenchError> {
        let size = bytes.div_ceil(HUGE_PAGE) * HUGE_PAGE;
        let map_len = size
            .checked_add(HUGE_PAGE)
            .ok_or(BenchError::Alloc { bytes })?;
        // SAFETY: a private anonymous mapping at an address of the kernel's
        // choosing touches no existing memory.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(BenchError::Alloc { bytes });
        }
        let start = (base as usize).div_ceil(HUGE_PAGE) * HUGE_PAGE;
        let raw = start as *mut u8;
        // SAFETY: [raw, raw + size) lies inside the mapping just made (the
        // mapping has a huge page of slack for the alignment); madvise only
        // changes its paging policy.
        let huge =
            unsafe { libc::madvise(raw.cast::<libc::c_void>(), size, libc::MADV_HUGEPAGE) == 0 };
        let ptr = NonNull::new(raw.cast::<f32>()).ok_or(BenchError::Alloc { bytes })?;
        Ok(Self {
            ptr,
            len,
            memory: Memory::Mapped { base, len: map_len },
            huge,
        })
    }

    /// Whether `madvise(MADV_HUGEPAGE)` was accepted for this buffer.
    pub fn huge_pages_requested(&self) -> bool {
        self.huge
    }

    /// Fill with pseudo-random values in [-1, 1) from `seed`.
    pub fn fill_random(&mut self, seed: u64) {
        fill_random(self, seed);
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        match self.memory {
            Memory::None => {}
            // SAFETY: allocated in `with_pages` with exactly this layout.
            Memory::Heap(layout) => unsafe { dealloc(self.ptr.as_ptr().cast::<u8>(), layout) },
            // SAFETY: the whole mapping made in `mapped`, unmapped once.
            #[cfg(target_os = "linux")]
            Memory::Mapped { base, len } => unsafe {
                libc::munmap(base, len);
            },
        }
    }
}

impl Deref for AlignedBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: ptr is valid for len initialised floats (or dangling with len 0).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in deref, and we hold &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .field("huge", &self.huge)
            .finish()
    }
}

/// Fill a slice with pseudo-random values in [-1, 1) (xorshift64*, deterministic).
pub fn fill_random(out: &mut [f32], seed: u64) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for v in out.iter_mut() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
        // 24 random mantissa bits -> [0, 1) -> [-1, 1)
        *v = ((r >> 40) as f32) * (2.0 / 16_777_216.0) - 1.0;
    }
}

/// A `Vec<f32>` of pseudo-random values in [-1, 1).
pub fn random_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut v = vec![0.0; len];
    fill_random(&mut v, seed);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_huge_buffers() {
        let b = AlignedBuf::new(10).unwrap();
        assert_eq!(b.len(), 10);
        assert_eq!(b.as_ptr() as usize % 64, 0);
        assert!(b.iter().all(|&v| v == 0.0));
        let mut h = AlignedBuf::new(HUGE_PAGE / 4 + 3).unwrap();
        assert_eq!(h.as_ptr() as usize % HUGE_PAGE, 0);
        assert!(
            h.iter().all(|&v| v == 0.0),
            "a fresh mapping reads as zeros"
        );
        h.fill_random(7);
        assert!(h.iter().all(|&v| (-1.0..1.0).contains(&v)));
        let e = AlignedBuf::new(0).unwrap();
        assert!(e.is_empty());
        assert!(AlignedBuf::new(usize::MAX / 2).is_err());
    }
}
