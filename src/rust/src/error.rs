//! Errors raised inside the Rust core; how they reach R: see `crate::ffi`.

use thiserror::Error;

use crate::codes::ErrorKind;

#[derive(Debug, Error)]
pub enum Error {
    /// The writing pass produced more bytes than the counting pass announced.
    /// This would be a bug in lowmem or a change of the object between passes.
    #[error("internal error: the serialized stream is longer than the {expected} bytes counted (wrote past byte {attempted})")]
    Overflow { expected: u64, attempted: u64 },

    /// The writing pass produced fewer bytes than counted.
    #[error("internal error: the serialized stream has {written} bytes, but {expected} were counted")]
    Underflow { expected: u64, written: u64 },

    /// An I/O failure of a file sink, with the path it concerns.
    #[error("cannot write '{path}': {}", os_reason(source))]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The temporary file a file is written to first (`sink::atomic`)
    /// could not be created: R's words for a failed open, naming that file
    /// (so its directory), after the path written.
    #[error("cannot write '{target}': cannot open file '{temp}': {}", os_reason(source))]
    TempFile {
        target: String,
        temp: String,
        #[source]
        source: std::io::Error,
    },

    /// Memory the Rust core asked the OS for and did not get.
    #[error("cannot allocate {bytes} bytes")]
    OutOfMemory { bytes: u64 },

    /// R stopped a write that C made for the Rust core (an error or an
    /// interrupt while writing to a connection); C holds the condition and
    /// raises it once every Rust frame has returned.
    #[error("the write was stopped by R")]
    Stopped,

    /// A panic caught at the FFI boundary (should never happen), or a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The kind of R condition the error becomes (`src/errors.c`). A writing
    /// pass that disagrees with its count is [`ErrorKind::Miscounted`]: C
    /// starts over where R code may have changed the object between the
    /// passes. An I/O error that is a failed allocation (a buffer, or xz's
    /// encoder at a high level) is a memory error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { source, .. } | Error::TempFile { source, .. } if is_out_of_memory(source) => ErrorKind::Memory,
            Error::Io { .. } | Error::TempFile { .. } => ErrorKind::Io,
            Error::OutOfMemory { .. } => ErrorKind::Memory,
            Error::Stopped => ErrorKind::Stopped,
            Error::Overflow { .. } | Error::Underflow { .. } => ErrorKind::Miscounted,
            _ => ErrorKind::Internal,
        }
    }
}

/// Whether an I/O error is a failed allocation: one of ours
/// (`codec::try_buffer`), or liblzma's, which reaches us as `Other`.
fn is_out_of_memory(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::OutOfMemory
        || matches!(
            e.get_ref().and_then(|inner| inner.downcast_ref::<liblzma::stream::Error>()),
            Some(liblzma::stream::Error::Mem)
        )
}

pub type Result<T> = std::result::Result<T, Error>;

/// The reason an I/O error gives, in the words R uses for the same
/// failure: an error of the OS is its `strerror()` text ("No such file or
/// directory"), without the " (os error N)" that Rust's `Display` adds (also
/// where such an error was wrapped into another); any other error as it
/// displays. Every message lowmem raises for an I/O error goes through it.
pub fn os_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text[at + 11..].strip_suffix(')').is_some_and(|n| n.parse::<i32>().is_ok()) => {
            text[..at].to_string()
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_allocation_is_a_memory_error() {
        let io = |source| Error::Io { path: "f".into(), source };
        assert_eq!(io(std::io::Error::from(liblzma::stream::Error::Mem)).kind(), ErrorKind::Memory);
        assert_eq!(io(std::io::Error::other(liblzma::stream::Error::Mem)).kind(), ErrorKind::Memory);
        assert_eq!(io(crate::codec::out_of_memory(10)).kind(), ErrorKind::Memory);
        assert_eq!(io(std::io::Error::other(liblzma::stream::Error::Data)).kind(), ErrorKind::Io);
        assert_eq!(io(std::io::Error::from(std::io::ErrorKind::PermissionDenied)).kind(), ErrorKind::Io);
        assert_eq!(Error::Underflow { expected: 2, written: 1 }.kind(), ErrorKind::Miscounted);
    }

    /// On every platform: the OS's own words, without Rust's suffix.
    #[test]
    fn os_errors_lose_rusts_suffix() {
        for code in [2, 5, 13] {
            let e = std::io::Error::from_raw_os_error(code);
            let reason = os_reason(&e);
            assert!(!reason.is_empty() && !reason.contains("os error"), "{reason}");
            assert_eq!(format!("{reason} (os error {code})"), e.to_string());
        }
    }

    #[cfg(unix)] // the texts are the C library's strerror (Windows words them otherwise)
    #[test]
    fn os_errors_read_as_r_words_them() {
        let enoent = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(os_reason(&enoent), "No such file or directory");
        let e = Error::Io { path: "/x/y".into(), source: std::io::Error::from_raw_os_error(libc::EPERM) };
        assert_eq!(e.to_string(), "cannot write '/x/y': Operation not permitted");
        let custom = std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory");
        assert_eq!(os_reason(&custom), "is a directory");
        let wrapped = std::io::Error::other(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(os_reason(&wrapped), "No space left on device");
        let temp = Error::TempFile {
            target: "/proc/version".into(),
            temp: "/proc/.lowmem-a.tmp".into(),
            source: std::io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert_eq!(
            temp.to_string(),
            "cannot write '/proc/version': cannot open file '/proc/.lowmem-a.tmp': No such file or directory"
        );
        assert_eq!(temp.kind(), ErrorKind::Io);
        let proc = crate::mem::error::MemError::Proc {
            action: "read",
            path: "/proc/self/statm",
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        };
        assert_eq!(proc.to_string(), "cannot read /proc/self/statm: Permission denied");
        let spawn = crate::mem::error::MemError::Spawn(std::io::Error::from_raw_os_error(libc::EAGAIN));
        assert_eq!(spawn.to_string(), "cannot start the sampler thread: Resource temporarily unavailable");
    }
}
