//! The C ABI of `digest()` (`src/lowmem.h`, driven by `src/digest.c`).
//!
//! A digest handle holds the hash in the making. C feeds it either from
//! R's serializer, piece by piece ([`lowmem_digest_write`]), or through a
//! native writer's streaming pass ([`lowmem_native_begin_digest`]), then
//! takes the result ([`lowmem_digest_result`]). As everywhere in the Rust
//! core: no panic crosses into C, and nothing here calls R. The handle is
//! owned by C and freed in an unwind-protect cleanup.

use std::cell::RefCell;
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use super::{Algo, Digester, Hash, Skip};
use crate::format::job::{begin_stream_into, Job, DONE, FAILED};
use crate::sink::HashSink;

/// The native writer's staging chunk for a hash: small enough that a
/// chunk is still in the CPU's cache when it is hashed.
const HASH_CHUNK: usize = 256 * 1024;

pub struct DigestStream {
    digester: Rc<RefCell<Digester>>,
    hash: Option<Hash>,
}

/// A digest handle for digest's algorithm `algo` (its `algo_int` codes),
/// `seed`, a skip of `skip` bytes (nothing if `skip <= 0`) or, if
/// `ascii_header` is non-zero, of the ASCII header (see [`Skip`]), and at
/// most `length` bytes hashed (all if `length < 0`). Null for an unknown
/// algorithm.
#[no_mangle]
pub extern "C" fn lowmem_digest_new(
    algo: c_int,
    seed: c_int,
    skip: c_int,
    ascii_header: c_int,
    length: c_int,
) -> *mut DigestStream {
    let made = catch_unwind(|| {
        let algo = Algo::from_code(algo)?;
        let skip = if ascii_header != 0 { Skip::AsciiHeader } else { Skip::Bytes(skip.max(0) as u64) };
        let length = u64::try_from(length).ok();
        let digester = Rc::new(RefCell::new(Digester::new(algo, seed, skip, length)));
        Some(Box::into_raw(Box::new(DigestStream { digester, hash: None })))
    });
    made.ok().flatten().unwrap_or(std::ptr::null_mut())
}

/// # Safety
/// `d` is null or a live handle, used from R's main thread only.
unsafe fn handle<'a>(d: *mut DigestStream) -> Option<&'a mut DigestStream> {
    // SAFETY: see the function's contract.
    unsafe { d.as_mut() }
}

/// Hashes the next `len` bytes at `buf`. 0, or -1 for a dead handle.
///
/// # Safety
/// `d` is a live handle; `buf` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_digest_write(d: *mut DigestStream, buf: *const u8, len: usize) -> c_int {
    // SAFETY: see the function's contract.
    let Some(d) = (unsafe { handle(d) }) else {
        return FAILED;
    };
    if len == 0 || buf.is_null() {
        return DONE;
    }
    // SAFETY: see the function's contract.
    let bytes = unsafe { std::slice::from_raw_parts(buf, len) };
    let ok = catch_unwind(AssertUnwindSafe(|| d.digester.borrow_mut().write(bytes))).is_ok();
    if ok {
        DONE
    } else {
        FAILED
    }
}

/// Starts the job's streaming pass in `format` into the digest handle
/// (C then steps it to its end). DONE or FAILED (the job has the error).
///
/// # Safety
/// `job` and `d` are live handles.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_begin_digest(job: *mut Job, format: c_int, d: *mut DigestStream) -> c_int {
    // SAFETY: see the function's contract.
    let Some(d) = (unsafe { handle(d) }) else {
        return FAILED;
    };
    let sink = HashSink::new(Rc::clone(&d.digester));
    // SAFETY: see the function's contract.
    unsafe { begin_stream_into(job, format, HASH_CHUNK, Box::new(sink)) }
}

/// Bytes of the stream the handle has seen (hashed or skipped).
///
/// # Safety
/// `d` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_digest_bytes(d: *mut DigestStream) -> f64 {
    // SAFETY: see the function's contract.
    unsafe { handle(d) }.map_or(-1.0, |d| d.digester.borrow().seen() as f64)
}

/// Finishes the hash (once; later calls give the same) and copies what
/// digest returns into `out`: its bytes if `raw` is non-zero (`*is_raw` =
/// 1), else the hex text (`*is_raw` = 0, not NUL-terminated). Returns the length, or -1 if it does not fit
/// in `size` bytes or the handle is dead.
///
/// # Safety
/// `d` is a live handle; `out` points to `size` writable bytes; `is_raw`
/// is writable.
#[no_mangle]
pub unsafe extern "C" fn lowmem_digest_result(
    d: *mut DigestStream,
    raw: c_int,
    out: *mut u8,
    size: usize,
    is_raw: *mut c_int,
) -> isize {
    // SAFETY: see the function's contract.
    let Some(d) = (unsafe { handle(d) }) else {
        return -1;
    };
    if out.is_null() || is_raw.is_null() {
        return -1;
    }
    let made = catch_unwind(AssertUnwindSafe(|| {
        if d.hash.is_none() {
            d.hash = d.digester.borrow_mut().finish();
        }
        d.hash.as_ref().map(|hash| hash.output(raw != 0))
    }));
    let Ok(Some(output)) = made else {
        return -1;
    };
    let (bytes, flag) = match &output {
        Ok(bytes) => (bytes.as_slice(), 1),
        Err(text) => (text.as_bytes(), 0),
    };
    if bytes.len() > size {
        return -1;
    }
    // SAFETY: `out` has room for `size >= bytes.len()` bytes; `is_raw` is writable.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len());
        *is_raw = flag;
    }
    bytes.len() as isize
}

/// Releases a handle (null is ignored).
///
/// # Safety
/// `d` is null or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn lowmem_digest_free(d: *mut DigestStream) {
    if !d.is_null() {
        // SAFETY: the pointer came from Box::into_raw and is freed once.
        let boxed = unsafe { Box::from_raw(d) };
        let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_hashes_what_it_is_given() {
        let mut out = [0u8; 128];
        let mut is_raw = -1;
        unsafe {
            assert!(lowmem_digest_new(9, 0, 0, 0, -1).is_null(), "spookyhash is not here");
            let d = lowmem_digest_new(1, 0, 1, 0, -1);
            assert_eq!(lowmem_digest_write(d, b"xab".as_ptr(), 3), DONE);
            assert_eq!(lowmem_digest_write(d, b"c".as_ptr(), 1), DONE);
            assert_eq!(lowmem_digest_bytes(d), 4.0);
            let n = lowmem_digest_result(d, 0, out.as_mut_ptr(), out.len(), &mut is_raw);
            assert_eq!(&out[..n as usize], b"900150983cd24fb0d6963f7d28e17f72");
            assert_eq!(is_raw, 0);
            let n = lowmem_digest_result(d, 1, out.as_mut_ptr(), out.len(), &mut is_raw);
            assert_eq!((n, is_raw), (16, 1), "the same hash, as bytes");
            assert_eq!(lowmem_digest_result(d, 0, out.as_mut_ptr(), 4, &mut is_raw), -1, "too small");
            lowmem_digest_free(d);
            lowmem_digest_free(std::ptr::null_mut());
            assert_eq!(lowmem_digest_write(std::ptr::null_mut(), b"a".as_ptr(), 1), FAILED);
        }
    }
}
