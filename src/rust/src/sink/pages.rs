//! Page-aligned buffers of anonymous memory.
//!
//! The streaming buffers (the native writer's staging buffer, the direct
//! file writer's block) are mapped with `mmap` (Unix: Linux, macOS) or
//! reserved and committed with `VirtualAlloc` (Windows): the memory is
//! page-aligned, as direct I/O needs, comes zeroed from the kernel, and is
//! only touched where it is written (a `chunk_size` far above the stream
//! costs address space, not memory), and unmapping (`munmap`,
//! `VirtualFree`) returns it to the system at once.

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
        match os::map(map_len) {
            Some(ptr) => Ok(Pages { ptr, len }),
            None => Err(Error::OutOfMemory { bytes: map_len as u64 }),
        }
    }
}

#[cfg(unix)]
mod os {
    /// `len` (> 0) zeroed, page-aligned bytes, or `None`.
    pub fn map(len: usize) -> Option<*mut u8> {
        // SAFETY: an anonymous private mapping with no address hint.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (ptr != libc::MAP_FAILED).then_some(ptr.cast())
    }

    /// Returns the `len` bytes at `ptr`, as `map` gave them.
    ///
    /// # Safety
    /// `ptr` and `len` are those of one `map` call, unmapped only once.
    pub unsafe fn unmap(ptr: *mut u8, len: usize) {
        // SAFETY: see the function's contract.
        unsafe { libc::munmap(ptr.cast(), len) };
    }
}

#[cfg(windows)]
mod os {
    use std::ffi::c_void;

    const MEM_COMMIT: u32 = 0x1000;
    const MEM_RESERVE: u32 = 0x2000;
    const MEM_RELEASE: u32 = 0x8000;
    const PAGE_READWRITE: u32 = 0x04;

    // kernel32.dll, which every Windows process (and Rust's std) links;
    // declared here rather than through a bindings crate for two functions.
    #[link(name = "kernel32")]
    extern "system" {
        fn VirtualAlloc(address: *mut c_void, size: usize, kind: u32, protect: u32) -> *mut c_void;
        fn VirtualFree(address: *mut c_void, size: usize, kind: u32) -> i32;
    }

    /// `len` (> 0) zeroed bytes, aligned to the allocation granularity
    /// (64 KiB, a multiple of the page), or `None`.
    pub fn map(len: usize) -> Option<*mut u8> {
        // SAFETY: reserves and commits fresh memory, no address hint.
        let ptr = unsafe { VirtualAlloc(std::ptr::null_mut(), len, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE) };
        (!ptr.is_null()).then_some(ptr.cast())
    }

    /// Releases the memory at `ptr`, as `map` gave it.
    ///
    /// # Safety
    /// `ptr` is from one `map` call, released only once.
    pub unsafe fn unmap(ptr: *mut u8, _len: usize) {
        // SAFETY: see the function's contract; MEM_RELEASE takes size 0.
        unsafe { VirtualFree(ptr.cast(), 0, MEM_RELEASE) };
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
        unsafe { os::unmap(self.ptr, self.len.max(1)) };
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
    fn many_buffers_come_and_go() {
        // Each is returned on drop (4 GiB of address space in all); only
        // the pages written are ever touched.
        for i in 0..64 {
            let mut p = Pages::new(64 << 20).unwrap();
            assert_eq!(p.as_ptr() as usize % 4096, 0);
            assert_eq!(p[i << 20], 0);
            p[i << 20] = 1;
        }
    }

    #[test]
    fn an_impossible_size_is_an_error() {
        assert!(matches!(Pages::new(usize::MAX / 2), Err(Error::OutOfMemory { .. })));
    }
}
