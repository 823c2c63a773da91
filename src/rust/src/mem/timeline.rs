//! The timeline handle behind `mem_timeline()` and `mem_peak()`'s fallback:
//! a sampler with its arguments checked, owned by an R external pointer
//! (`crate::entry`). Plain Rust: nothing here calls R.
//!
//! Stopping joins the thread and keeps the samples until R has copied
//! them; dropping the handle (the external pointer's finalizer, if R code
//! lost it before stopping it) stops and joins the thread too, so no
//! sampler thread outlives its handle.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use super::error::{MemError, Result};
#[cfg(target_os = "linux")]
use super::procfs::StatmReader;
use super::sampler::{panic_message, Sampler};
use super::series::Series;

/// What the sampler reads: /proc/self/statm on Linux, the system's own
/// call elsewhere ([`super::os`]).
#[cfg(target_os = "linux")]
type Reader = StatmReader;
#[cfg(not(target_os = "linux"))]
type Reader = super::os::UsageReader;

pub struct Timeline {
    /// `None` once the samples have been handed over ([`Timeline::release`]).
    sampler: Option<Sampler<Reader>>,
}

/// Runs `op`, turning a panic into an error.
pub fn guarded<T>(op: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(op)).unwrap_or_else(|panic| Err(MemError::Internal(panic_message(&panic))))
}

impl Timeline {
    /// Takes a first sample and starts sampling /proc/self/statm every
    /// `interval` seconds, storing at most about `max_rows` rows.
    pub fn start(interval: f64, page_size: f64, max_rows: f64) -> Result<Timeline> {
        guarded(|| {
            let interval = Duration::try_from_secs_f64(interval)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| MemError::Argument(format!("sampling interval {interval}")))?;
            if !(page_size >= 1.0 && max_rows >= 1.0) {
                return Err(MemError::Argument(format!("page size {page_size} or row cap {max_rows}")));
            }
            #[cfg(target_os = "linux")]
            let reader = StatmReader::open(page_size as u64)?;
            #[cfg(not(target_os = "linux"))]
            let reader = {
                let mut reader = super::os::UsageReader;
                reader.rss()?; // fails here, not in the thread, where there is no reading
                reader
            };
            let sampler = Sampler::start(reader, interval, max_rows as usize)?;
            Ok(Timeline { sampler: Some(sampler) })
        })
    }

    /// Stops and joins the thread and takes the closing sample: the
    /// samples or why there are none (a message), or `None` if they were
    /// already handed over. Calling it again before [`Timeline::release`]
    /// returns the same.
    pub fn stop(&mut self) -> Option<std::result::Result<&Series, String>> {
        let sampler = self.sampler.as_mut()?;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| {
            sampler.stop();
        })) {
            return Some(Err(MemError::Internal(panic_message(&panic)).to_string()));
        }
        Some(sampler.stop().as_ref().map_err(|e| e.to_string()))
    }

    /// Frees the samples (the thread is gone once [`Timeline::stop`] has
    /// returned); `stop` then returns `None`.
    pub fn release(&mut self) {
        if let Some(sampler) = self.sampler.take() {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(sampler)));
        }
    }
}

/// The finalizer of the external pointer drops the handle from a C
/// callback, where a panic would abort the process: nothing here panics.
impl Drop for Timeline {
    fn drop(&mut self) {
        self.release();
    }
}

/// The system's page size (statm counts pages).
#[cfg(unix)]
pub fn page_size() -> f64 {
    // SAFETY: sysconf takes a constant and only returns a number.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as f64
    } else {
        4096.0
    }
}

/// The system's page size (for the arguments' check only: the readings
/// are in bytes).
#[cfg(windows)]
pub fn page_size() -> f64 {
    #[repr(C)]
    struct SystemInfo {
        processor_architecture: u16,
        reserved: u16,
        page_size: u32,
        minimum_application_address: *mut std::ffi::c_void,
        maximum_application_address: *mut std::ffi::c_void,
        active_processor_mask: usize,
        number_of_processors: u32,
        processor_type: u32,
        allocation_granularity: u32,
        processor_level: u16,
        processor_revision: u16,
    }
    #[link(name = "kernel32")]
    extern "system" {
        fn GetSystemInfo(info: *mut SystemInfo);
    }
    // SAFETY: fills a SYSTEM_INFO that outlives the call.
    let mut info: SystemInfo = unsafe { std::mem::zeroed() };
    unsafe { GetSystemInfo(&mut info) };
    if info.page_size > 0 {
        f64::from(info.page_size)
    } else {
        4096.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_arguments_are_errors_not_panics() {
        for (interval, page, rows) in
            [(-1.0, 4096.0, 10.0), (f64::NAN, 4096.0, 10.0), (0.0, 4096.0, 10.0), (0.01, 0.0, 10.0)]
        {
            let e = Timeline::start(interval, page, rows).err().expect("an error");
            assert!(e.to_string().starts_with("invalid "), "{e}");
            assert_eq!(e.class(), "lowmem_error_argument");
        }
    }

    // Linux, macOS and Windows have a reading.
    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    #[test]
    fn timeline_round_trip() {
        let mut t = Timeline::start(0.001, page_size(), 100.0).expect("started");
        std::thread::sleep(Duration::from_millis(20));
        let rows = t.stop().expect("not released").expect("stopped").rows().to_vec();
        assert!(rows.len() >= 2, "{} rows", rows.len());
        let again = t.stop().expect("not released").expect("stopped").rows().len();
        assert_eq!(again, rows.len(), "stop is idempotent");
        t.release();
        assert!(t.stop().is_none());
        assert_eq!(rows[0].0, 0.0);
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(rows.iter().all(|&(_, r)| r > 0));
    }

    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    #[test]
    fn status_and_reset() {
        let status = super::super::procfs::read_status().expect("read");
        assert!(status.vm_rss > 0 && status.vm_hwm >= status.vm_rss && status.threads >= 1, "{status:?}");
        // The reset may be refused (read-only /proc); then it says why.
        // Elsewhere it is always refused, saying so.
        if let Err(e) = super::super::procfs::reset_peak() {
            let why = if cfg!(target_os = "linux") { "clear_refs" } else { "cannot be reset" };
            assert!(e.to_string().contains(why), "{e}");
            assert_eq!(e.class(), "lowmem_error_unsupported");
        }
        assert!(page_size() >= 4096.0);
    }
}
