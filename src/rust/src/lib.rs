//! Rust core of the lowmem R package.
//!
//! * [`sink`]: where serialized bytes go (count, exactly-sized buffer, ...).
//! * [`codec`]: gzip and zstd (block-parallel), bzip2 and xz encoders for
//!   files.
//! * [`ffi`]: the C ABI (`src/lowmem.h`) of the sinks and the native writer,
//!   and the unwind rule.
//! * [`codes`]: the codes of that ABI (a leaf).
//! * [`entry`]: the `.Call` entry points written with extendr (memory
//!   tools, diagnostics): those that never call back into R.
//! * [`hash`]: the hashes of `digest()`, as digest::digest() computes them.
//! * [`mem`]: memory tracking (RSS peak and timeline) for `mem_peak()` and
//!   `mem_timeline()` (plain Rust; its entry points are in [`entry`]).
//! * [`error`]: the error type; errors reach R as conditions raised by C
//!   after Rust has returned.
//! * [`format`]: a native writer of the format for plain data.
//! * [`rapi`]: read access to R objects for the native writer (R's C API
//!   from libR-sys).
//! * [`types`]: R's type codes (a leaf, used by `rapi` and `format`).

pub mod codec;
pub mod codes;
pub mod entry;
pub mod error;
pub mod ffi;
pub mod format;
pub mod hash;
pub mod mem;
pub mod rapi;
pub mod sink;
pub mod types;
