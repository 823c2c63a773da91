//! The native writer's C ABI (`src/lowmem.h`), driven by `src/native.c`:
//! jobs ([`crate::format::job`]) and the session the format probes set up
//! ([`crate::format::session`]). The unwind rule: see [`super`].

use std::ffi::{c_char, c_int, c_void, CStr};

use super::{borrowed_bytes, c_path, copy_message, guard, ErrorKind, Format, Status};
use crate::error::{Error, Result};
use crate::format::flags::Rules;
use crate::format::job::Job;
use crate::format::session;
use crate::rapi::Sexp;
use crate::sink::{CallbackSink, WriteFn};

/// Runs `op` on a live job under [`guard`], keeping its error in the job.
pub(super) fn with_job(job: *mut Job, op: impl FnOnce(&mut Job) -> Result<Status>) -> Status {
    // SAFETY: C passes null or a live handle from lowmem_native_new, used
    // from R's main thread only.
    let Some(job) = (unsafe { job.as_mut() }) else {
        return Status::Failed;
    };
    guard(|| op(job)).unwrap_or_else(|e| {
        job.fail(e);
        Status::Failed
    })
}

pub(super) fn format_of(code: c_int) -> Result<Format> {
    Format::from_code(code).ok_or_else(|| Error::Internal(format!("unknown format {code}")))
}

/// A job for `object`, or null (see [`Job::new`]; `probe` non-zero: a
/// format probe's job). `*tap` is set to 1 if the job taps R's writer
/// before its native passes, 3 if before a binary size too
/// ([`Job::tap_wanted`]), else 0.
///
/// # Safety
/// `object` is a valid R object that the caller keeps protected and
/// unmodified until the job is freed; `capture` points to `capture_len`
/// readable bytes; `tap` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_new(
    object: *mut c_void,
    capture: *const u8,
    capture_len: usize,
    probe: c_int,
    tap: *mut c_int,
) -> *mut Job {
    if object.is_null() || capture.is_null() {
        return std::ptr::null_mut();
    }
    let made = guard(|| {
        // SAFETY: see the function's contract.
        let (root, capture) = unsafe { (Sexp::from_raw(object), borrowed_bytes(capture, capture_len)) };
        Ok(Job::new(root, capture, probe != 0))
    });
    let Ok(Some(job)) = made else {
        return std::ptr::null_mut();
    };
    if !tap.is_null() {
        // SAFETY: see the function's contract.
        unsafe { *tap = guard(|| Ok(job.tap_wanted())).unwrap_or(0) };
    }
    Box::into_raw(Box::new(job))
}

/// Starts a pass in `format` (an `lm_format`): counting if `buf` is null,
/// else writing exactly `len` bytes at `buf`. Returns DONE or FAILED.
///
/// # Safety
/// `job` is a live handle; `buf` is null or points to `len` writable bytes
/// that stay valid, and are written by nobody else, until the job is freed
/// or another pass begins.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_begin(job: *mut Job, format: c_int, buf: *mut u8, len: usize) -> Status {
    with_job(job, |job| {
        let format = format_of(format)?;
        // SAFETY: see the function's contract; C keeps the raw vector
        // behind `buf` protected for the life of the job.
        let buf = (!buf.is_null()).then(|| unsafe { super::borrowed_buffer(buf, len) });
        job.begin(format, buf);
        Ok(Status::Done)
    })
}

/// Starts a streaming pass to a file (see [`Job::begin_file`]; `codec` as
/// `sink::FileSink::from_c`). Returns DONE, or FAILED (e.g. the file
/// cannot be created: an I/O error).
///
/// # Safety
/// `job` is a live handle; `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_begin_file(
    job: *mut Job,
    format: c_int,
    path: *const c_char,
    codec: c_int,
    level: c_int,
    chunk: usize,
) -> Status {
    // SAFETY: forwarded to the caller's guarantee.
    let path = unsafe { c_path(path) };
    with_job(job, |job| job.begin_file(format_of(format)?, path, codec, level, chunk).map(|()| Status::Done))
}

/// Starts a streaming pass whose output goes, in chunks of exactly `chunk`
/// bytes (the last one shorter), to `write(ctx, ...)`. A non-zero status
/// from `write` stops the pass: the step fails with [`ErrorKind::Stopped`]
/// and C raises the condition it kept. Returns DONE or FAILED.
///
/// # Safety
/// `job` is a live handle; `write` may be called with `ctx` until the job
/// is freed or another pass begins, and never unwinds or jumps.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_begin_callback(
    job: *mut Job,
    format: c_int,
    chunk: usize,
    write: Option<WriteFn>,
    ctx: *mut c_void,
) -> Status {
    with_job(job, |job| {
        let write = write.ok_or_else(|| Error::Internal("no write function".into()))?;
        // SAFETY: forwarded to the caller's guarantee.
        let sink = unsafe { CallbackSink::new(write, ctx) };
        job.begin_callback(format_of(format)?, chunk, sink).map(|()| Status::Done)
    })
}

/// Does about `budget` bytes of the pass and stores the bytes the pass has
/// produced (or counted) so far in `*bytes`. Returns DONE, MORE, UNCOVERED
/// (the message says why) or FAILED (the message says what).
///
/// # Safety
/// `job` is a live handle on which a pass has begun; `bytes` is null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_step(job: *mut Job, budget: usize, bytes: *mut f64) -> Status {
    let status = with_job(job, |job| job.step(budget as u64));
    if !bytes.is_null() {
        // SAFETY: see the function's contract (null handles are -1).
        let position = unsafe { job.as_ref() }.and_then(Job::position).map_or(-1.0, |n| n as f64);
        // SAFETY: see the function's contract.
        unsafe { *bytes = position };
    }
    status
}

/// The `i`-th droppable ALTREP state that the last finished pass met
/// ([`Job::pin`]), or null past the last.
///
/// # Safety
/// `job` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_pin(job: *mut Job, i: usize) -> *mut c_void {
    // SAFETY: see the function's contract.
    unsafe { job.as_ref() }.and_then(|job| job.pin(i)).map_or(std::ptr::null_mut(), |x| x.as_ptr())
}

/// Copies the job's message (why it is not covered, or its error; empty if
/// none), NUL-terminated and truncated to `size` bytes. Returns the kind of
/// its error, [`ErrorKind::None`] if there is none.
///
/// # Safety
/// `job` is a live handle; `out` points to `size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_message(job: *mut Job, out: *mut c_char, size: usize) -> ErrorKind {
    // SAFETY: see the function's contract.
    let Some(job) = (unsafe { job.as_ref() }) else {
        return ErrorKind::Internal;
    };
    // SAFETY: see the function's contract.
    unsafe { copy_message(job.message().unwrap_or(""), out, size) };
    job.kind()
}

/// Releases a job (null is ignored); an unfinished file is removed.
///
/// # Safety
/// `job` is null or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_free(job: *mut Job) {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { super::free(job) }
}

/// Starts a tap (see [`Job::tap_begin`]). Returns DONE or FAILED.
///
/// # Safety
/// `job` is a live handle; `capture` points to `capture_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_tap_begin(job: *mut Job, capture: *const u8, capture_len: usize) -> Status {
    with_job(job, |job| {
        if capture.is_null() {
            return Err(Error::Internal("native writer: no header for the tap".into()));
        }
        // SAFETY: see the function's contract.
        job.tap_begin(unsafe { borrowed_bytes(capture, capture_len) }).map(|()| Status::Done)
    })
}

/// The next `len` bytes of R's stream (see [`Job::tap_feed`]; never fails).
///
/// # Safety
/// `job` is a live handle with a tap under way; `buf` points to `len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_tap_bytes(job: *mut Job, buf: *const u8, len: usize) {
    // SAFETY: see the function's contract.
    let bytes = unsafe { borrowed_bytes(buf, len) };
    if !bytes.is_empty() {
        with_job(job, |job| {
            job.tap_feed(bytes);
            Ok(Status::Done)
        });
    }
}

/// Ends the tap (see [`Job::tap_end`]): DONE, UNCOVERED or FAILED.
///
/// # Safety
/// `job` is a live handle on which a tap has begun.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_tap_end(job: *mut Job) -> Status {
    with_job(job, Job::tap_end)
}

/// XDR-encodes `n` doubles from `src` into `dst` (8n bytes): the encoder's
/// inner loop, exported for the benchmark's "floor".
///
/// # Safety
/// `src` points to `n` doubles, `dst` to `8n` writable bytes, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn lowmem_xdr_doubles(src: *const f64, n: usize, dst: *mut u8) {
    if n == 0 || src.is_null() || dst.is_null() {
        return;
    }
    // SAFETY: see the function's contract.
    let (src, dst) = unsafe { (std::slice::from_raw_parts(src, n), std::slice::from_raw_parts_mut(dst, n * 8)) };
    crate::format::encode::xdr_doubles(src, dst);
}

// ---- the session (what the format probes found) ----

/// Sets the rules (`writes_growable` 0 or 1) and turns the native writer
/// on (`reason` null) or off for the session (`reason`, why).
///
/// # Safety
/// `reason` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lowmem_session_set(writes_growable: c_int, reason: *const c_char) {
    let _ = guard(|| {
        // SAFETY: see the function's contract.
        let off = (!reason.is_null()).then(|| unsafe { CStr::from_ptr(reason) }.to_string_lossy().into_owned());
        session::set(Rules { writes_growable: writes_growable != 0 }, off);
        Ok(())
    });
}

/// Copies why the native writer is off into `out` (NUL-terminated, cut to
/// `size`) and returns 1; returns 0 if it is on.
///
/// # Safety
/// `out` points to `size` writable bytes (`size` >= 1).
#[no_mangle]
pub unsafe extern "C" fn lowmem_session_refusal(out: *mut c_char, size: usize) -> c_int {
    match guard(|| Ok(session::refusal())) {
        Ok(None) => 0,
        Ok(Some(reason)) => {
            // SAFETY: see the function's contract.
            unsafe { copy_message(&reason, out, size) };
            1
        }
        Err(_) => 1,
    }
}

/// Copies why the native writer leaves the ASCII formats to R's writer on
/// this platform (R's printf is not glibc's: `format::dtoa`) into `out`
/// and returns 1; returns 0 where it writes them.
///
/// # Safety
/// `out` points to `size` writable bytes (`size` >= 1).
#[no_mangle]
pub unsafe extern "C" fn lowmem_ascii_refusal(out: *mut c_char, size: usize) -> c_int {
    match crate::format::dtoa::platform_refusal() {
        None => 0,
        Some(reason) => {
            // SAFETY: see the function's contract.
            unsafe { copy_message(reason, out, size) };
            1
        }
    }
}
