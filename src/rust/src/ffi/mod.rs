//! The C ABI of the Rust core, declared in `src/lowmem.h`: [`stream`], the
//! sinks R's serializer writes into (driven by `src/serialize.c`),
//! [`job`], the native writer (driven by `src/native.c`), and [`digest`],
//! the hash either of them feeds for `digest()`. (The memory tools and
//! diagnostics are extendr entry points: `crate::entry`.)
//!
//! # The unwind rule
//!
//! Neither an R error nor a panic may cross a Rust frame. Enforced here:
//!
//! * Rust never calls into R code that can jump (`rapi` has only the
//!   non-jumping accessors); a C callback that does (a connection write)
//!   catches the jump itself and returns a status.
//! * Every entry point runs its work under [`guard`], which turns a panic
//!   into an [`Error`]; errors are kept in the handle and handed to C as an
//!   [`ErrorKind`] and a message ([`copy_message`]). C raises the R
//!   condition (`src/errors.c`) after the Rust call has returned.
//! * Handles are made here, owned by C, and freed with [`free`] from an
//!   `R_UnwindProtect` cleanup, so they are freed whether R returns or jumps.
//!
//! Everything else in the crate points here instead of restating it.

pub mod digest;
pub mod job;
pub mod stream;

use std::any::Any;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub use crate::codes::{ErrorKind, Format, Status};
use crate::error::{Error, Result};

/// Runs `op`, turning a panic into [`Error::Internal`]: the one place a
/// panic is stopped before it reaches C.
pub fn guard<T>(op: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(op)).unwrap_or_else(|panic| Err(Error::Internal(panic_message(&panic))))
}

/// Releases a handle made with `Box::into_raw` (null is ignored); a panic
/// in a destructor is swallowed.
///
/// # Safety
/// `handle` is null or a live handle of type `T`, not used again afterwards.
pub unsafe fn free<T>(handle: *mut T) {
    if !handle.is_null() {
        // SAFETY: the pointer came from Box::into_raw and is freed once.
        let boxed = unsafe { Box::from_raw(handle) };
        let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
    }
}

/// The text of a caught panic, for an error message.
pub(crate) fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic in the Rust core".to_string()
    }
}

/// Copies `message`, NUL-terminated and cut at a character boundary to fit,
/// into `out` (ignored when `out` is null or `size` is 0): how every C
/// entry point hands over a message.
///
/// # Safety
/// `out` is null or points to `size` writable bytes.
pub unsafe fn copy_message(message: &str, out: *mut c_char, size: usize) {
    if out.is_null() || size == 0 {
        return;
    }
    let mut end = message.len().min(size - 1);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    // SAFETY: `out` has room for `size` bytes and `end < size`.
    unsafe {
        std::ptr::copy_nonoverlapping(message.as_ptr(), out.cast::<u8>(), end);
        *out.add(end) = 0;
    }
}

/// A path from C: `None` for a null pointer (or, on Windows, bytes that
/// are not UTF-8).
///
/// On Unix a path is bytes, and C passes the native encoding's
/// (`Rf_translateChar`); on Windows a path is UTF-16, and C passes UTF-8
/// (`Rf_translateCharUTF8`, src/entrypoint.c), which std converts.
///
/// # Safety
/// `path` is null or a NUL-terminated string that outlives the returned
/// reference.
pub(crate) unsafe fn c_path<'a>(path: *const c_char) -> Option<&'a std::path::Path> {
    if path.is_null() {
        return None;
    }
    // SAFETY: see the function's contract.
    let bytes = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
    #[cfg(unix)]
    let os = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes);
    #[cfg(not(unix))]
    let os = std::ffi::OsStr::new(std::str::from_utf8(bytes).ok()?);
    Some(std::path::Path::new(os))
}

/// A buffer C lends for the life of a handle.
///
/// # Safety
/// `buf` points to `len` writable bytes (or `len` is 0) that outlive every
/// use of the returned slice and that nobody else writes meanwhile.
pub(crate) unsafe fn borrowed_buffer(buf: *mut u8, len: usize) -> &'static mut [u8] {
    if len == 0 || buf.is_null() {
        &mut []
    } else {
        // SAFETY: the C caller keeps the R raw vector behind `buf` protected
        // for the whole life of the handle and writes to it only through it.
        unsafe { std::slice::from_raw_parts_mut(buf, len) }
    }
}

/// Bytes C hands over for the length of one call.
///
/// # Safety
/// `buf` is null or points to `len` readable bytes.
pub(crate) unsafe fn borrowed_bytes<'a>(buf: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || buf.is_null() {
        &[]
    } else {
        // SAFETY: see the function's contract.
        unsafe { std::slice::from_raw_parts(buf, len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_truncated_safely() {
        let mut buf = [1 as c_char; 3];
        unsafe { copy_message("héllo", buf.as_mut_ptr(), buf.len()) };
        assert_eq!(buf[..2], [b'h' as c_char, 0], "cut before the two-byte é");
    }

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let e = guard::<()>(|| panic!("boom")).unwrap_err();
        assert!(matches!(e, Error::Internal(ref m) if m == "boom"), "{e}");
    }

    #[test]
    fn a_path_from_c() {
        assert!(unsafe { c_path(std::ptr::null()) }.is_none());
        let utf8 = std::ffi::CString::new("dir/caf\u{e9}.rds").unwrap();
        let path = unsafe { c_path(utf8.as_ptr()) }.unwrap();
        assert_eq!(path.to_str(), Some("dir/caf\u{e9}.rds"));
        assert_eq!(path.file_name().unwrap(), "caf\u{e9}.rds");
    }
}
