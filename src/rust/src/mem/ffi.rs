//! The C ABI of the memory tools (declared in `src/mem.h`, called from
//! `src/mem.c`). As in `crate::ffi`: every entry point runs under
//! `catch_unwind`, reports failure as a status code plus a message copied into
//! a caller's buffer, and never calls R; C raises the R error afterwards.
//!
//! The sampler handle is owned by an R external pointer. C calls
//! [`lowmem_sampler_free`] either right after copying the samples out or,
//! failing that, from the pointer's finalizer; freeing stops and joins the
//! thread, so no sampler thread outlives its handle.

use std::ffi::{c_char, c_int};

use crate::ffi::copy_message;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use super::error::{MemError, Result};
use super::procfs::{self, StatmReader, Status};
use super::sampler::{panic_message, Sampler};

const OK: c_int = 0;
const FAILED: c_int = -1;

/// The handle C holds: the sampler, and the message of its failure.
pub struct MemSampler {
    sampler: Sampler<StatmReader>,
    error: Option<String>,
}

/// Runs `op`, turning a panic into an error.
fn guarded<T>(op: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(op)).unwrap_or_else(|panic| Err(MemError::Internal(panic_message(&panic))))
}

/// Writes a status as (VmRSS, VmHWM, Threads) into `out[0..3]`.
///
/// # Safety
/// `out` points to 3 writable doubles.
unsafe fn write_status(status: Status, out: *mut f64) {
    // SAFETY: the caller passes room for three doubles.
    unsafe {
        *out = status.vm_rss as f64;
        *out.add(1) = status.vm_hwm as f64;
        *out.add(2) = status.threads as f64;
    }
}

/// Reports `outcome` through `out` (3 doubles) or the message buffer.
///
/// # Safety
/// As [`write_status`] and [`copy_message`].
unsafe fn report_status(outcome: Result<Status>, out: *mut f64, msg: *mut c_char, size: usize) -> c_int {
    match outcome {
        Ok(status) if !out.is_null() => {
            // SAFETY: see the function's contract.
            unsafe { write_status(status, out) };
            OK
        }
        Ok(_) => FAILED,
        Err(e) => {
            // SAFETY: see the function's contract.
            unsafe { copy_message(&e.to_string(), msg, size) };
            FAILED
        }
    }
}

/// Reads /proc/self/status: VmRSS and VmHWM in bytes and the thread count go
/// to `out[0..3]`. Returns 0, or -1 with a message in `msg`.
///
/// # Safety
/// `out` points to 3 writable doubles; `msg` to `size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_mem_status(out: *mut f64, msg: *mut c_char, size: usize) -> c_int {
    let outcome = guarded(procfs::read_status);
    // SAFETY: the caller's buffers, as documented.
    unsafe { report_status(outcome, out, msg, size) }
}

/// Resets VmHWM to the current VmRSS and checks that it took effect; the
/// status read right after goes to `out[0..3]`. Returns 0, or -1 with a message.
///
/// # Safety
/// As [`lowmem_mem_status`].
#[no_mangle]
pub unsafe extern "C" fn lowmem_mem_reset_peak(out: *mut f64, msg: *mut c_char, size: usize) -> c_int {
    let outcome = guarded(procfs::reset_peak);
    // SAFETY: the caller's buffers, as documented.
    unsafe { report_status(outcome, out, msg, size) }
}

/// Takes a first sample and starts sampling /proc/self/statm every `interval`
/// seconds, storing at most about `max_rows` rows. Returns the handle, or null
/// with a message in `msg` and its kind in `kind` ([`MemError::kind_code`]).
///
/// # Safety
/// `msg` points to `size` writable bytes; `kind` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn lowmem_sampler_start(
    interval: f64,
    page_size: f64,
    max_rows: f64,
    msg: *mut c_char,
    size: usize,
    kind: *mut c_int,
) -> *mut MemSampler {
    let started = guarded(|| {
        let interval = Duration::try_from_secs_f64(interval)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| MemError::Argument(format!("sampling interval {interval}")))?;
        if !(page_size >= 1.0 && max_rows >= 1.0) {
            return Err(MemError::Argument(format!("page size {page_size} or row cap {max_rows}")));
        }
        let reader = StatmReader::open(page_size as u64)?;
        Sampler::start(reader, interval, max_rows as usize)
    });
    match started {
        Ok(sampler) => Box::into_raw(Box::new(MemSampler { sampler, error: None })),
        Err(e) => {
            // SAFETY: the caller's buffer, as documented.
            unsafe { copy_message(&e.to_string(), msg, size) };
            // SAFETY: null or writable, as documented.
            if let Some(kind) = unsafe { kind.as_mut() } {
                *kind = e.kind_code();
            }
            std::ptr::null_mut()
        }
    }
}

/// Turns a raw handle into a reference; `None` for a null pointer.
///
/// # Safety
/// `handle` is null or a live handle from [`lowmem_sampler_start`].
unsafe fn handle<'a>(handle: *mut MemSampler) -> Option<&'a mut MemSampler> {
    // SAFETY: the caller passes null or a pointer from Box::into_raw that has
    // not been freed; C uses handles from R's main thread only.
    unsafe { handle.as_mut() }
}

/// Stops and joins the sampler thread and takes the closing sample. Returns
/// the number of rows, or -1 (the message is then kept for
/// [`lowmem_sampler_message`]). Calling it again returns the same.
///
/// # Safety
/// `sampler` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_sampler_stop(sampler: *mut MemSampler) -> f64 {
    // SAFETY: see `handle`.
    let Some(handle) = (unsafe { handle(sampler) }) else {
        return -1.0;
    };
    let rows = catch_unwind(AssertUnwindSafe(|| match handle.sampler.stop() {
        Ok(series) => Ok(series.rows().len() as f64),
        Err(e) => Err(e.to_string()),
    }))
    .unwrap_or_else(|panic| Err(MemError::Internal(panic_message(&panic)).to_string()));
    rows.unwrap_or_else(|message| {
        handle.error = Some(message);
        -1.0
    })
}

/// Copies the first `n` rows of a stopped sampler into `time` (seconds since
/// the start) and `rss` (bytes), and returns how many samples each row stands
/// for (1 unless the row cap was reached). Returns -1 if the sampler is not
/// stopped or failed.
///
/// # Safety
/// `sampler` is a live handle; `time` and `rss` point to `n` writable doubles.
#[no_mangle]
pub unsafe extern "C" fn lowmem_sampler_copy(sampler: *mut MemSampler, time: *mut f64, rss: *mut f64, n: usize) -> f64 {
    // SAFETY: see `handle`.
    let Some(handle) = (unsafe { handle(sampler) }) else {
        return -1.0;
    };
    let Ok(series) = handle.sampler.stop() else {
        return -1.0;
    };
    if n > 0 && (time.is_null() || rss.is_null()) {
        return -1.0;
    }
    for (i, &(t, r)) in series.rows().iter().take(n).enumerate() {
        // SAFETY: `i < n` and both buffers hold `n` doubles.
        unsafe {
            *time.add(i) = t;
            *rss.add(i) = r as f64;
        }
    }
    series.stride() as f64
}

/// Copies the handle's error message into `out` (see `copy_message`).
/// Returns 1 if there is an error, 0 if not.
///
/// # Safety
/// `sampler` is a live handle; `out` points to `size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_sampler_message(sampler: *mut MemSampler, out: *mut c_char, size: usize) -> c_int {
    // SAFETY: see `handle`.
    let Some(error) = (unsafe { handle(sampler) }).and_then(|h| h.error.as_ref()) else {
        return 0;
    };
    // SAFETY: the caller's buffer, as documented.
    unsafe { copy_message(error, out, size) };
    1
}

/// Stops and joins the thread if it still runs, and frees the handle (null
/// is ignored).
///
/// # Safety
/// `sampler` is null or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn lowmem_sampler_free(sampler: *mut MemSampler) {
    if !sampler.is_null() {
        // SAFETY: the pointer came from Box::into_raw and is freed once.
        let boxed = unsafe { Box::from_raw(sampler) };
        let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn text(buf: &[c_char]) -> String {
        // SAFETY: copy_message NUL-terminates within the buffer.
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn messages_are_cut_safely() {
        let mut buf = [1 as c_char; 3];
        unsafe { copy_message("héllo", buf.as_mut_ptr(), buf.len()) };
        assert_eq!(text(&buf), "h");
        unsafe { copy_message("x", std::ptr::null_mut(), 0) };
    }

    #[test]
    fn bad_arguments_are_errors_not_panics() {
        let mut msg = [0 as c_char; 256];
        for (interval, page, rows) in
            [(-1.0, 4096.0, 10.0), (f64::NAN, 4096.0, 10.0), (0.0, 4096.0, 10.0), (0.01, 0.0, 10.0)]
        {
            let mut kind = -1;
            let s = unsafe { lowmem_sampler_start(interval, page, rows, msg.as_mut_ptr(), msg.len(), &mut kind) };
            assert!(s.is_null());
            assert!(text(&msg).starts_with("invalid "), "{}", text(&msg));
            assert_eq!(kind, 1, "an argument error");
        }
        unsafe {
            assert_eq!(lowmem_sampler_stop(std::ptr::null_mut()), -1.0);
            assert_eq!(lowmem_sampler_copy(std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0), -1.0);
            assert_eq!(lowmem_sampler_message(std::ptr::null_mut(), msg.as_mut_ptr(), msg.len()), 0);
            lowmem_sampler_free(std::ptr::null_mut());
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sampler_round_trip() {
        let page = crate::mem::procfs::tests::page_size() as f64;
        let mut msg = [0 as c_char; 256];
        unsafe {
            let s = lowmem_sampler_start(0.001, page, 100.0, msg.as_mut_ptr(), msg.len(), std::ptr::null_mut());
            assert!(!s.is_null(), "{}", text(&msg));
            std::thread::sleep(Duration::from_millis(20));
            let n = lowmem_sampler_stop(s);
            assert!(n >= 2.0, "{n} rows");
            assert_eq!(lowmem_sampler_stop(s), n, "stop is idempotent");
            let mut time = vec![0.0; n as usize];
            let mut rss = vec![0.0; n as usize];
            assert_eq!(lowmem_sampler_copy(s, time.as_mut_ptr(), rss.as_mut_ptr(), n as usize), 1.0);
            assert_eq!(lowmem_sampler_message(s, msg.as_mut_ptr(), msg.len()), 0);
            lowmem_sampler_free(s);
            assert_eq!(time[0], 0.0);
            assert!(time.windows(2).all(|w| w[0] < w[1]));
            assert!(rss.iter().all(|&r| r > 0.0));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn status_and_reset() {
        let mut out = [0.0; 3];
        let mut msg = [0 as c_char; 256];
        unsafe {
            assert_eq!(lowmem_mem_status(out.as_mut_ptr(), msg.as_mut_ptr(), msg.len()), OK, "{}", text(&msg));
            assert!(out[0] > 0.0 && out[1] >= out[0] && out[2] >= 1.0, "{out:?}");
            // The reset may be refused (read-only /proc); then it says why.
            if lowmem_mem_reset_peak(out.as_mut_ptr(), msg.as_mut_ptr(), msg.len()) != OK {
                assert!(text(&msg).contains("clear_refs"), "{}", text(&msg));
            }
        }
    }
}
