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
    #[error("cannot write '{path}': {source}")]
    Io {
        path: String,
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
            Error::Io { source, .. } if is_out_of_memory(source) => ErrorKind::Memory,
            Error::Io { .. } => ErrorKind::Io,
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
}
