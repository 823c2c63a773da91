//! Rust core of the lowmem R package.
//!
//! * [`sink`]: where serialized bytes go (count, exactly-sized buffer, ...).
//! * [`codec`]: gzip (parallel), bzip2 and xz encoders for files.
//! * [`ffi`]: the C ABI of the sinks, which the package's C layer calls.
//! * [`hash`]: the hashes of `digest()`, as digest::digest() computes them,
//!   with their C ABI (`hash::ffi`).
//! * [`mem`]: memory tracking (RSS peak and timeline) for `mem_peak()` and
//!   `mem_timeline()`, with its own C ABI (`src/mem.h`).
//! * [`error`]: the error type; errors reach R as conditions raised by C
//!   after Rust has returned.
//! * [`format`]: a native writer of the format for plain data (its C ABI
//!   in `format::job`).
//! * [`rapi`]: read access to R objects for the native writer; the only
//!   module that calls R.
//! * [`types`]: R's type codes (a leaf, used by `rapi` and `format`).

pub mod codec;
pub mod error;
pub mod ffi;
pub mod format;
pub mod hash;
pub mod mem;
pub mod rapi;
pub mod sink;
pub mod types;
