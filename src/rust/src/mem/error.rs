//! Errors of the memory tools. Like the crate's other errors they never
//! cross the FFI boundary as panics: `ffi.rs` turns them into a status code
//! and a message, and C raises the R condition after Rust has returned.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum MemError {
    /// A /proc file could not be opened, read or written: not Linux, /proc
    /// not mounted, or not writable (containers often mount it read-only).
    #[error("cannot {action} {path}: {source}")]
    Proc {
        action: &'static str,
        path: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A /proc file did not have the expected layout.
    #[error("cannot parse {path}: {what}")]
    Parse { path: &'static str, what: String },

    /// Writing to clear_refs was accepted but VmHWM stayed above VmRSS, so
    /// the kernel (or a sandbox emulating /proc) ignored the reset.
    #[error("writing 5 to /proc/self/clear_refs did not reset VmHWM ({hwm} bytes, VmRSS {rss} bytes)")]
    ResetIgnored { hwm: u64, rss: u64 },

    /// The sampler thread could not be started.
    #[error("cannot start the sampler thread: {0}")]
    Spawn(#[source] std::io::Error),

    /// A panic caught at the FFI boundary or in the sampler thread; should never happen.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, MemError>;
