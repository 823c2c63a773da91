//! Sinks: where the bytes of a serialized stream go.
//!
//! R's `R_Serialize` hands the stream over in pieces of any size through its
//! `OutBytes`/`OutChar` callbacks. A sink takes those pieces. Each sink holds
//! at most a fixed amount of memory of its own; none grows with the object.
//!
//! * [`CountSink`] only counts (the sizing pass).
//! * [`Slice`] copies into a preallocated, exactly-sized buffer and
//!   refuses to write past its end.
//! * [`BlockSink`] holds a stream of unknown size in released-as-copied
//!   blocks (the one-pass path for a refhook).
//! * [`FileSink`] writes (and compresses) to a file that appears atomically
//!   ([`AtomicFile`]), or in place where a rename would change more than
//!   the content (see `target`).
//! * [`ChunkBuffer`] coalesces pieces into fixed-size chunks for a writer
//!   that lives outside Rust (an R connection).
//! * [`CallbackSink`] hands each piece to a C function (the native writer's
//!   way to an R connection).
//! * [`HashSink`] feeds a hash (`digest()`).
//!
//! Under [`FileSink`]'s codecs, [`DirectFile`] writes the file (direct I/O
//! where possible); [`Pages`] are the page-aligned streaming buffers.

mod atomic;
mod blocks;
mod callback;
mod chunk;
mod count;
mod direct;
mod file;
mod hash;
mod inplace;
mod pages;
mod slice;
mod target;

pub use atomic::AtomicFile;
pub use blocks::BlockSink;
pub use callback::{CallbackSink, WriteFn};
pub use chunk::ChunkBuffer;
pub use count::CountSink;
pub use direct::DirectFile;
pub use file::FileSink;
pub use hash::HashSink;
pub use pages::Pages;
pub use slice::Slice;

use crate::error::Result;

/// A destination for serialized bytes.
pub trait Sink {
    /// Takes the next piece of the stream.
    fn write(&mut self, bytes: &[u8]) -> Result<()>;

    /// Called once after the last piece; checks that the stream is complete
    /// and flushes whatever the sink still holds.
    fn finish(&mut self) -> Result<()>;

    /// Bytes taken so far.
    fn bytes_written(&self) -> u64;
}

/// For tests: sets or clears (`flag` "+a", "-a", ...) an attribute with
/// chattr(1); false where that fails (not root, no chattr, no such
/// attribute on this file system).
#[cfg(all(test, target_os = "linux"))]
fn chattr(flag: &str, path: &std::path::Path) -> bool {
    std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
