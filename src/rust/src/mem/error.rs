//! Errors of the memory tools. Like the crate's other errors they never
//! cross the FFI boundary as panics: `crate::entry` returns them to R as an
//! error record (class, message), which the R wrapper raises as a condition
//! after Rust has returned.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum MemError {
    /// A /proc file could not be opened, read or written: not Linux, /proc
    /// not mounted, or not writable (containers often mount it read-only).
    #[error("cannot {action} {path}: {}", crate::error::os_reason(source))]
    Proc {
        action: &'static str,
        path: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A system call that reads the process's memory failed (macOS, Windows).
    #[error("{call} failed: {what}")]
    Os { call: &'static str, what: String },

    /// The peak resident size cannot be reset on this system (macOS,
    /// Windows): `mem_peak()` samples instead and gives this as its reason.
    #[error("the peak resident size cannot be reset: {0}")]
    NoReset(&'static str),

    /// A /proc file did not have the expected layout.
    #[error("cannot parse {path}: {what}")]
    Parse { path: &'static str, what: String },

    /// Writing to clear_refs was accepted but VmHWM stayed above VmRSS, so
    /// the kernel (or a sandbox emulating /proc) ignored the reset.
    #[error("writing 5 to /proc/self/clear_refs did not reset VmHWM ({hwm} bytes, VmRSS {rss} bytes)")]
    ResetIgnored { hwm: u64, rss: u64 },

    /// The sample storage could not be reserved (a very large row cap).
    #[error("cannot reserve memory for {rows} samples")]
    Reserve { rows: usize },

    /// The sampler's owner is a forked copy of the process that started it:
    /// the thread exists only in the parent, so it cannot be joined here.
    #[error("the sampler was started by process {parent}, not this one ({this}); its samples stay there")]
    Forked { parent: u32, this: u32 },

    /// The sampler thread could not be started.
    #[error("cannot start the sampler thread: {}", crate::error::os_reason(.0))]
    Spawn(#[source] std::io::Error),

    /// An argument R code should have refused (R/mem-timeline.R checks them first).
    #[error("invalid {0}")]
    Argument(String),

    /// A panic caught at the FFI boundary or in the sampler thread; should never happen.
    #[error("internal error: {0}")]
    Internal(String),
}

impl MemError {
    /// The class of the R condition the R wrapper raises for it (R/mem-measure.R):
    /// a bad argument, memory that could not be had, or else what this
    /// platform or sandbox does not offer.
    pub fn class(&self) -> &'static str {
        match self {
            MemError::Argument(_) => "lowmem_error_argument",
            MemError::Reserve { .. } => "lowmem_error_memory",
            _ => "lowmem_error_unsupported",
        }
    }
}

pub type Result<T> = std::result::Result<T, MemError>;
