//! The process's memory as Linux reports it in /proc/self.
//!
//! * `statm`: sizes in pages; the second field is the resident set. It is the
//!   cheapest file to read, so the sampler reads it (proc(5)).
//! * `status`: `VmRSS` and `VmHWM` (the resident set's high-water mark) in kB,
//!   and `Threads`.
//! * `clear_refs`: writing `5` resets `VmHWM` to the current `VmRSS`
//!   (Linux >= 4.0, Documentation/admin-guide/mm/soft-dirty.rst and proc.rst).
//!
//! The parsers are plain functions on text, tested below on sample files.
//! Elsewhere (macOS, Windows) `read_status` and `reset_peak` are those of
//! [`super::os`].

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use super::error::{MemError, Result};

pub const STATM: &str = "/proc/self/statm";
pub const STATUS: &str = "/proc/self/status";
pub const CLEAR_REFS: &str = "/proc/self/clear_refs";

/// What /proc/self/status says about memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub vm_rss: u64,
    pub vm_hwm: u64,
    pub threads: u64,
}

/// The resident set in pages: the second field of /proc/self/statm
/// ("size resident shared text lib data dt").
pub fn parse_statm_resident(text: &str) -> Result<u64> {
    let field = text
        .split_ascii_whitespace()
        .nth(1)
        .ok_or_else(|| MemError::Parse { path: STATM, what: format!("expected at least 2 fields, got {text:?}") })?;
    field
        .parse()
        .map_err(|_| MemError::Parse { path: STATM, what: format!("resident field {field:?} is not a number") })
}

/// VmRSS, VmHWM and Threads from the text of /proc/self/status.
pub fn parse_status(text: &str) -> Result<Status> {
    let mut vm_rss = None;
    let mut vm_hwm = None;
    let mut threads = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "VmRSS" => vm_rss = Some(parse_kb(key, value)?),
            "VmHWM" => vm_hwm = Some(parse_kb(key, value)?),
            "Threads" => threads = Some(parse_number(key, value.trim())?),
            _ => {}
        }
    }
    let missing = |key: &str| MemError::Parse { path: STATUS, what: format!("no {key} line") };
    Ok(Status {
        vm_rss: vm_rss.ok_or_else(|| missing("VmRSS"))?,
        vm_hwm: vm_hwm.ok_or_else(|| missing("VmHWM"))?,
        threads: threads.ok_or_else(|| missing("Threads"))?,
    })
}

/// A value such as "   13556 kB" in bytes. The kernel's "kB" is 1024 bytes
/// (fs/proc/task_mmu.c, `SEQ_PUT_DEC(" kB\n...")` of pages << (PAGE_SHIFT-10)).
fn parse_kb(key: &str, value: &str) -> Result<u64> {
    let number = value
        .trim()
        .strip_suffix("kB")
        .ok_or_else(|| MemError::Parse { path: STATUS, what: format!("{key} {value:?} is not in kB") })?;
    let kb = parse_number(key, number.trim())?;
    kb.checked_mul(1024).ok_or_else(|| MemError::Parse { path: STATUS, what: format!("{key} {value:?} is too large") })
}

fn parse_number(key: &str, number: &str) -> Result<u64> {
    number.parse().map_err(|_| MemError::Parse { path: STATUS, what: format!("{key} {number:?} is not a number") })
}

/// Where there is no /proc: the same readings from the system's own calls.
#[cfg(not(target_os = "linux"))]
pub use super::os::{read_status, reset_peak};

/// Reads and parses /proc/self/status.
#[cfg(target_os = "linux")]
pub fn read_status() -> Result<Status> {
    let text =
        std::fs::read_to_string(STATUS).map_err(|source| MemError::Proc { action: "read", path: STATUS, source })?;
    parse_status(&text)
}

/// How far VmHWM may lie above VmRSS right after a reset: RSS may move a
/// little between the write and the read that follows it.
#[cfg(target_os = "linux")]
const RESET_SLACK: u64 = 1 << 20;

/// Resets VmHWM to the current VmRSS and checks that the reset took effect;
/// returns the status read right after it.
#[cfg(target_os = "linux")]
pub fn reset_peak() -> Result<Status> {
    use std::io::Write;
    let write = |source| MemError::Proc { action: "write", path: CLEAR_REFS, source };
    let mut file = File::options().write(true).open(CLEAR_REFS).map_err(write)?;
    file.write_all(b"5").map_err(write)?;
    drop(file);
    let status = read_status()?;
    if status.vm_hwm > status.vm_rss.saturating_add(RESET_SLACK) {
        return Err(MemError::ResetIgnored { hwm: status.vm_hwm, rss: status.vm_rss });
    }
    Ok(status)
}

/// Reads the resident set from /proc/self/statm, keeping the file open: one
/// seek and one read per sample, into a fixed buffer (no allocation, so the
/// sampler does not disturb what it measures).
pub struct StatmReader {
    file: File,
    page_size: u64,
}

impl StatmReader {
    pub fn open(page_size: u64) -> Result<StatmReader> {
        let file = File::open(STATM).map_err(|source| MemError::Proc { action: "open", path: STATM, source })?;
        Ok(StatmReader { file, page_size })
    }

    /// The resident set in bytes.
    pub fn rss(&mut self) -> Result<u64> {
        let read = |source| MemError::Proc { action: "read", path: STATM, source };
        // statm is seven numbers; 160 bytes hold seven 20-digit ones.
        let mut buf = [0u8; 160];
        self.file.seek(SeekFrom::Start(0)).map_err(read)?;
        let mut len = 0;
        while len < buf.len() {
            match self.file.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read(e)),
            }
        }
        let text = std::str::from_utf8(&buf[..len])
            .map_err(|_| MemError::Parse { path: STATM, what: "not UTF-8".to_string() })?;
        Ok(parse_statm_resident(text)?.saturating_mul(self.page_size))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const STATUS_SAMPLE: &str = "Name:\tR\nUmask:\t0022\nState:\tR (running)\n\
        VmPeak:\t  752908 kB\nVmSize:\t  687372 kB\nVmLck:\t       0 kB\n\
        VmHWM:\t  443212 kB\nVmRSS:\t  431004 kB\nRssAnon:\t  420000 kB\n\
        VmSwap:\t       0 kB\nThreads:\t2\nSigQ:\t0/63499\n";

    /// The page size, for tests only.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn page_size() -> u64 {
        crate::mem::timeline::page_size() as u64
    }

    #[test]
    fn statm_resident_is_the_second_field() {
        assert_eq!(parse_statm_resident("171843 107751 2114 1 0 104500 0\n").unwrap(), 107751);
        assert_eq!(parse_statm_resident("1 2").unwrap(), 2);
    }

    #[test]
    fn statm_errors_are_described() {
        let short = parse_statm_resident("171843\n").unwrap_err().to_string();
        assert!(short.contains("at least 2 fields"), "{short}");
        let bad = parse_statm_resident("1 x 3").unwrap_err().to_string();
        assert!(bad.contains("\"x\" is not a number"), "{bad}");
    }

    #[test]
    fn status_fields_in_bytes() {
        let status = parse_status(STATUS_SAMPLE).unwrap();
        assert_eq!(status, Status { vm_rss: 431_004 * 1024, vm_hwm: 443_212 * 1024, threads: 2 });
    }

    #[test]
    fn status_errors_are_described() {
        let missing = parse_status("VmRSS:\t 1 kB\nThreads:\t1\n").unwrap_err().to_string();
        assert!(missing.contains("no VmHWM line"), "{missing}");
        let unit = parse_status("VmHWM:\t 1 MB\n").unwrap_err().to_string();
        assert!(unit.contains("not in kB"), "{unit}");
        let number = parse_status("Threads:\tmany\n").unwrap_err().to_string();
        assert!(number.contains("\"many\" is not a number"), "{number}");
        let huge = parse_status("VmHWM:\t 18446744073709551615 kB\n").unwrap_err().to_string();
        assert!(huge.contains("too large"), "{huge}");
    }

    /// For tests that read this process's RSS: other tests, on parallel
    /// threads, allocate and free memory and move it, the more the longer a
    /// loaded machine stretches the test. So the test runs in a child
    /// process of its own (the test binary again, with only this test):
    /// returns true in that child, where the caller runs the test's body;
    /// in the parent it runs the child, asserts it passed and returns false.
    pub(crate) fn run_alone(name: &str) -> bool {
        if std::env::var_os("LOWMEM_TEST_CHILD").is_some_and(|child| child == name) {
            return true;
        }
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--test-threads=1", "--quiet"])
            .env("LOWMEM_TEST_CHILD", name)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&child.stdout);
        assert!(child.status.success() && out.contains("1 passed"), "the child test failed: {out}");
        false
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn live_statm_agrees_with_status() {
        if !run_alone("mem::procfs::tests::live_statm_agrees_with_status") {
            return;
        }
        let mut reader = StatmReader::open(page_size()).unwrap();
        let before = read_status().unwrap().vm_rss;
        let rss = reader.rss().unwrap();
        let after = read_status().unwrap().vm_rss;
        // Alone in its process, nothing allocates between the reads; the
        // kernel's batched per-CPU counters still let them differ a little.
        let (lo, hi) = (before.min(after), before.max(after));
        assert!(rss + (1 << 20) >= lo && rss <= hi + (1 << 20), "{lo} <= {rss} <= {hi}");
        assert!(reader.rss().unwrap() > 0, "the file can be read again");
    }
}
