//! `digest()`'s hash (`src/lowmem.h`): a handle C makes for the call and
//! frees in its unwind cleanup, fed by either writer through a sink, then
//! asked for the result digest::digest() returns.
//!
//! * R's serializer writes into a stream over the hash
//!   ([`lowmem_stream_digest_new`]), as it writes into a file's.
//! * The native writer's streaming pass stages its chunks into the hash
//!   ([`lowmem_native_begin_digest`]).

use std::cell::RefCell;
use std::ffi::c_int;
use std::rc::Rc;

use super::job::{format_of, with_job};
use super::stream::Stream;
use super::{guard, Status};
use crate::error::Error;
use crate::format::job::Job;
use crate::hash::{Algo, Digester, Hash, Skip};
use crate::sink::HashSink;

/// The native writer's staging chunk for a hash: small enough that a
/// chunk is still in the CPU's cache when it is hashed.
const HASH_CHUNK: usize = 256 * 1024;

pub struct DigestStream {
    digester: Rc<RefCell<Digester>>,
    hash: Option<Hash>,
}

impl DigestStream {
    fn sink(&self) -> HashSink {
        HashSink::new(Rc::clone(&self.digester))
    }
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
    let made = guard(|| {
        let algo = Algo::from_code(algo).ok_or_else(|| Error::Internal(format!("unknown hash {algo}")))?;
        let skip = if ascii_header != 0 { Skip::AsciiHeader } else { Skip::Bytes(skip.max(0) as u64) };
        let length = u64::try_from(length).ok();
        let digester = Rc::new(RefCell::new(Digester::new(algo, seed, skip, length)));
        Ok(Box::into_raw(Box::new(DigestStream { digester, hash: None })))
    });
    made.unwrap_or(std::ptr::null_mut())
}

/// A stream (for R's serializer) whose bytes go to the hash; null for a
/// null handle. Freed with `lowmem_stream_free`; the hash stays with `d`.
///
/// # Safety
/// `d` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_digest_new(d: *mut DigestStream) -> *mut Stream {
    // SAFETY: see the function's contract.
    match unsafe { d.as_ref() } {
        Some(d) => Stream::new(Box::new(d.sink())),
        None => std::ptr::null_mut(),
    }
}

/// Starts the job's streaming pass in `format` into the hash (C then
/// steps it to its end). DONE or FAILED (the job has the error).
///
/// # Safety
/// `job` and `d` are live handles.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_begin_digest(job: *mut Job, format: c_int, d: *mut DigestStream) -> Status {
    // SAFETY: see the function's contract.
    let Some(d) = (unsafe { d.as_ref() }) else {
        return Status::Failed;
    };
    let sink = d.sink();
    with_job(job, |job| job.begin_hash(format_of(format)?, HASH_CHUNK, sink).map(|()| Status::Done))
}

/// Finishes the hash (once; later calls give the same) and copies what
/// digest returns into `out`: its bytes if `raw` is non-zero (`*is_raw` =
/// 1), else the hex text (`*is_raw` = 0, not NUL-terminated). Returns the
/// length, or -1 if it does not fit in `size` bytes or the handle is dead.
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
    let Some(d) = (unsafe { d.as_mut() }) else {
        return -1;
    };
    if out.is_null() || is_raw.is_null() {
        return -1;
    }
    let made = guard(|| {
        if d.hash.is_none() {
            d.hash = d.digester.borrow_mut().finish();
        }
        Ok(d.hash.as_ref().map(|hash| hash.output(raw != 0)))
    });
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
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { super::free(d) }
}

#[cfg(test)]
mod tests {
    use super::super::stream::{lowmem_stream_free, lowmem_stream_write};
    use super::*;

    #[test]
    fn a_handle_hashes_what_its_stream_is_given() {
        let mut out = [0u8; 128];
        let mut is_raw = -1;
        unsafe {
            assert!(lowmem_digest_new(9, 0, 0, 0, -1).is_null(), "spookyhash is not here");
            let d = lowmem_digest_new(1, 0, 1, 0, -1);
            let s = lowmem_stream_digest_new(d);
            assert_eq!(lowmem_stream_write(s, b"xab".as_ptr(), 3), Status::Done);
            assert_eq!(lowmem_stream_write(s, b"c".as_ptr(), 1), Status::Done);
            lowmem_stream_free(s);
            let n = lowmem_digest_result(d, 0, out.as_mut_ptr(), out.len(), &mut is_raw);
            assert_eq!(&out[..n as usize], b"900150983cd24fb0d6963f7d28e17f72");
            assert_eq!(is_raw, 0);
            let n = lowmem_digest_result(d, 1, out.as_mut_ptr(), out.len(), &mut is_raw);
            assert_eq!((n, is_raw), (16, 1), "the same hash, as bytes");
            assert_eq!(lowmem_digest_result(d, 0, out.as_mut_ptr(), 4, &mut is_raw), -1, "too small");
            lowmem_digest_free(d);
            lowmem_digest_free(std::ptr::null_mut());
            assert!(lowmem_stream_digest_new(std::ptr::null_mut()).is_null());
        }
    }
}
