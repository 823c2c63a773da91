//! The process's memory where there is no /proc: macOS and Windows.
//!
//! * macOS: `task_info(MACH_TASK_BASIC_INFO)` gives the resident size and
//!   its maximum over the task's life (`resident_size`,
//!   `resident_size_max`); `proc_pidinfo(PROC_PIDTASKINFO)` the threads.
//! * Windows: `K32GetProcessMemoryInfo` gives the working set (the
//!   resident pages) and its peak (`WorkingSetSize`,
//!   `PeakWorkingSetSize`); a Toolhelp snapshot counts the threads.
//!
//! Neither system lets a process reset its peak, so [`reset_peak`] fails
//! with a message saying so, and `mem_peak()` samples instead (its
//! `method` is then `"sampled"` and its `reason` carries that message).
//! The sampler ([`UsageReader`]) reads the same call as [`read_status`].

use super::error::{MemError, Result};
use super::procfs::Status;

/// Resident bytes now and at their peak so far.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub resident: u64,
    pub peak: u64,
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
mod imp {
    use super::{MemError, Result, Usage};

    pub const SOURCE: &str = "task_info(MACH_TASK_BASIC_INFO)";
    pub const NO_RESET: &str =
        "macOS keeps the resident size's maximum for the life of the process and offers no reset";

    #[allow(deprecated)] // libc points to the mach2 crate for mach_task_self
    pub fn usage() -> Result<Usage> {
        // SAFETY: task_info fills at most `count` 32-bit words of `info`,
        // which has room for MACH_TASK_BASIC_INFO_COUNT of them.
        let mut info: libc::mach_task_basic_info = unsafe { std::mem::zeroed() };
        let mut count = libc::MACH_TASK_BASIC_INFO_COUNT;
        let rc = unsafe {
            libc::task_info(
                libc::mach_task_self(),
                libc::MACH_TASK_BASIC_INFO,
                (&mut info as *mut libc::mach_task_basic_info).cast(),
                &mut count,
            )
        };
        if rc != libc::KERN_SUCCESS {
            return Err(MemError::Os { call: SOURCE, what: format!("kern_return_t {rc}") });
        }
        let (resident, peak) = (info.resident_size, info.resident_size_max);
        Ok(Usage { resident, peak: peak.max(resident) })
    }

    pub fn threads() -> Result<u64> {
        // SAFETY: proc_pidinfo writes at most `size` bytes into `info`.
        let mut info: libc::proc_taskinfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::proc_taskinfo>() as libc::c_int;
        let n = unsafe {
            libc::proc_pidinfo(
                libc::getpid(),
                libc::PROC_PIDTASKINFO,
                0,
                (&mut info as *mut libc::proc_taskinfo).cast(),
                size,
            )
        };
        if n != size {
            return Err(MemError::Os {
                call: "proc_pidinfo(PROC_PIDTASKINFO)",
                what: std::io::Error::last_os_error().to_string(),
            });
        }
        Ok(u64::try_from(info.pti_threadnum).unwrap_or(0))
    }
}

#[cfg(windows)]
mod imp {
    use super::{MemError, Result, Usage};
    use std::ffi::c_void;

    pub const SOURCE: &str = "K32GetProcessMemoryInfo";
    pub const NO_RESET: &str = "Windows keeps the working set's peak for the life of the process and offers no reset";

    /// PROCESS_MEMORY_COUNTERS.
    #[repr(C)]
    #[derive(Default)]
    struct Counters {
        cb: u32,
        page_fault_count: u32,
        peak_working_set_size: usize,
        working_set_size: usize,
        quota_peak_paged_pool_usage: usize,
        quota_paged_pool_usage: usize,
        quota_peak_non_paged_pool_usage: usize,
        quota_non_paged_pool_usage: usize,
        pagefile_usage: usize,
        peak_pagefile_usage: usize,
    }

    /// THREADENTRY32.
    #[repr(C)]
    #[derive(Default)]
    struct ThreadEntry {
        size: u32,
        usage: u32,
        thread_id: u32,
        owner_process_id: u32,
        base_priority: i32,
        delta_priority: i32,
        flags: u32,
    }

    const TH32CS_SNAPTHREAD: u32 = 0x4;
    const INVALID_HANDLE_VALUE: *mut c_void = -1isize as *mut c_void;

    // kernel32.dll (K32GetProcessMemoryInfo since Windows 7, which is
    // psapi's GetProcessMemoryInfo), which every process links.
    #[link(name = "kernel32")]
    extern "system" {
        fn GetCurrentProcess() -> *mut c_void;
        fn GetCurrentProcessId() -> u32;
        fn K32GetProcessMemoryInfo(process: *mut c_void, counters: *mut Counters, cb: u32) -> i32;
        fn CreateToolhelp32Snapshot(flags: u32, process: u32) -> *mut c_void;
        fn Thread32First(snapshot: *mut c_void, entry: *mut ThreadEntry) -> i32;
        fn Thread32Next(snapshot: *mut c_void, entry: *mut ThreadEntry) -> i32;
        fn CloseHandle(handle: *mut c_void) -> i32;
    }

    pub fn usage() -> Result<Usage> {
        let mut c = Counters { cb: std::mem::size_of::<Counters>() as u32, ..Counters::default() };
        // SAFETY: the pseudo-handle of this process and a struct of `cb`
        // bytes that outlives the call.
        if unsafe { K32GetProcessMemoryInfo(GetCurrentProcess(), &mut c, c.cb) } == 0 {
            return Err(MemError::Os { call: SOURCE, what: std::io::Error::last_os_error().to_string() });
        }
        let (resident, peak) = (c.working_set_size as u64, c.peak_working_set_size as u64);
        Ok(Usage { resident, peak: peak.max(resident) })
    }

    pub fn threads() -> Result<u64> {
        let call = "CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD)";
        // SAFETY: a snapshot handle closed below, and entries of the size
        // they say.
        unsafe {
            let snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
            if snapshot == INVALID_HANDLE_VALUE || snapshot.is_null() {
                return Err(MemError::Os { call, what: std::io::Error::last_os_error().to_string() });
            }
            let me = GetCurrentProcessId();
            let mut entry = ThreadEntry { size: std::mem::size_of::<ThreadEntry>() as u32, ..ThreadEntry::default() };
            let mut n = 0;
            let mut more = Thread32First(snapshot, &mut entry) != 0;
            while more {
                if entry.owner_process_id == me {
                    n += 1;
                }
                entry.size = std::mem::size_of::<ThreadEntry>() as u32;
                more = Thread32Next(snapshot, &mut entry) != 0;
            }
            CloseHandle(snapshot);
            Ok(n)
        }
    }
}

#[cfg(not(any(target_os = "macos", target_os = "ios", windows)))]
mod imp {
    use super::{MemError, Result, Usage};

    pub const SOURCE: &str = "/proc/self";
    pub const NO_RESET: &str = "no reading of the peak on this system";

    pub fn usage() -> Result<Usage> {
        Err(MemError::Os { call: SOURCE, what: "no memory reading on this system".to_string() })
    }

    pub fn threads() -> Result<u64> {
        Err(MemError::Os { call: SOURCE, what: "no thread count on this system".to_string() })
    }
}

/// Where the readings come from (for messages).
#[allow(dead_code)]
pub const SOURCE: &str = imp::SOURCE;

/// The resident size now and its peak so far.
pub fn usage() -> Result<Usage> {
    imp::usage()
}

/// What /proc/self/status would say: resident bytes, their peak, threads.
pub fn read_status() -> Result<Status> {
    let Usage { resident, peak } = usage()?;
    Ok(Status { vm_rss: resident, vm_hwm: peak, threads: imp::threads()? })
}

/// The peak cannot be reset here: an error that says so (`mem_peak()`
/// then samples, and its `reason` gives this message).
pub fn reset_peak() -> Result<Status> {
    Err(MemError::NoReset(imp::NO_RESET))
}

/// The sampler's source where there is no /proc/self/statm.
pub struct UsageReader;

impl UsageReader {
    pub fn rss(&mut self) -> Result<u64> {
        usage().map(|u| u.resident)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs on Linux too where the platform has a reading (macOS,
    /// Windows): the resident size grows by what is touched, and the peak
    /// stays at or above it.
    #[cfg(any(target_os = "macos", windows))]
    #[test]
    fn readings_follow_touched_memory() {
        if !crate::mem::procfs::tests::run_alone("mem::os::tests::readings_follow_touched_memory") {
            return;
        }
        let before = usage().unwrap();
        assert!(before.resident > 0 && before.peak >= before.resident, "{before:?}");
        let mut block = crate::sink::Pages::new(64 << 20).unwrap();
        for i in (0..block.len()).step_by(4096) {
            block[i] = 1;
        }
        let during = usage().unwrap();
        drop(block);
        let after = usage().unwrap();
        // Wine fills these counters from its own approximations (seen: the
        // working set falling while 64 MiB were touched); Windows and
        // macOS count the pages themselves.
        if !under_wine() {
            assert!(during.resident >= before.resident + (48 << 20), "{before:?} {during:?}");
            assert!(after.peak >= during.resident, "{during:?} {after:?}");
        }
        assert!(during.resident > 0 && during.peak >= during.resident, "{during:?}");
        let status = read_status().unwrap();
        assert!(status.threads >= 1, "{status:?}");
        assert!(reset_peak().unwrap_err().to_string().contains("no reset"));
        let mut reader = UsageReader;
        assert!(reader.rss().unwrap() > 0);
    }

    /// Whether this is wine, whose ntdll exports `wine_get_version`.
    #[cfg(windows)]
    fn under_wine() -> bool {
        #[link(name = "kernel32")]
        extern "system" {
            fn GetModuleHandleA(name: *const std::ffi::c_char) -> *mut std::ffi::c_void;
            fn GetProcAddress(module: *mut std::ffi::c_void, name: *const std::ffi::c_char) -> *mut std::ffi::c_void;
        }
        // SAFETY: NUL-terminated names; the module handle is not freed.
        unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr());
            !ntdll.is_null() && !GetProcAddress(ntdll, c"wine_get_version".as_ptr()).is_null()
        }
    }

    #[cfg(not(windows))]
    fn under_wine() -> bool {
        false
    }
}
