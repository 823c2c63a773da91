//! Page-aligned buffers of anonymous memory.
//!
//! The streaming buffers (the native writer's staging buffer, the direct
//! file writer's block) are mapped with `mmap`: the memory is page-aligned,
//! as direct I/O needs, comes zeroed from the kernel, and is only touched
//! where it is written (a `chunk_size` far above the stream costs address
//! space, not memory), and unmapping returns it to the system at once.

use std::ops::{Deref, DerefMut};

use crate::error::{Error, Result};

pub struct Pages {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a mapping is owned by its `Pages` alone; moving it to another
// thread moves that ownership.
unsafe impl Send for Pages {}

impl Pages {
    /// `len` zero bytes, page-aligned (at least one page is mapped).
    pub fn new(len: usize) -> Result<Pages> {
        let map_len = len.max(1);
        // SAFETY: an anonymous private mapping with no address hint.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::OutOfMemory { bytes: map_len as u64 });
        }
        Ok(Pages { ptr: ptr.cast(), len })
    }
}

impl Deref for Pages {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the mapping holds `len` readable bytes until drop.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl DerefMut for Pages {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, writable; `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`, once.
        unsafe { libc::munmap(self.ptr.cast(), self.len.max(1)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_page_aligned_and_writable() {
        let mut p = Pages::new(10_000).unwrap();
        assert_eq!(p.len(), 10_000);
        assert_eq!(p.as_ptr() as usize % 4096, 0);
        assert!(p.iter().all(|&b| b == 0));
        p[9_999] = 7;
        assert_eq!(p[9_999], 7);
        assert!(Pages::new(0).unwrap().is_empty());
    }

    #[test]
    fn an_impossible_size_is_an_error() {
        assert!(matches!(Pages::new(usize::MAX / 2), Err(Error::OutOfMemory { .. })));
    }
}
