//! Rust core of the lowmem R package.
//!
//! * [`sink`]: where serialized bytes go (count, exactly-sized buffer, ...).
//! * [`codec`]: gzip (parallel), bzip2 and xz encoders for files.
//! * [`ffi`]: the C ABI (`src/lowmem.h`) of the sinks and the native writer,
//!   and the unwind rule.
//! * [`codes`]: the codes of that ABI (a leaf).
//! * [`mem`]: memory tracking (RSS peak and timeline) for `mem_peak()` and
//!   `mem_timeline()`, with its own C ABI (`src/mem.h`).
//! * [`error`]: the error type; errors reach R as conditions raised by C
//!   after Rust has returned.
//! * [`format`]: a native writer of the format for plain data.
//! * [`rapi`]: read access to R objects for the native writer; the only
//!   module that calls R.
//! * [`types`]: R's type codes (a leaf, used by `rapi` and `format`).

pub mod codec;
pub mod codes;
pub mod error;
pub mod ffi;
pub mod format;
pub mod mem;
pub mod rapi;
pub mod sink;
pub mod types;
