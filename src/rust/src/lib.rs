//! Rust core of the lowmem R package.
//!
//! * [`sink`]: where serialized bytes go (count, exactly-sized buffer, ...).
//! * [`ffi`]: the C ABI of the sinks, which the package's C layer calls.
//! * [`error`]: the error type; errors reach R as conditions raised by C
//!   after Rust has returned.
//! * [`format`]: a native writer of the format for plain data (its C ABI
//!   in `format::job`).
//! * [`rapi`]: read access to R objects for the native writer; the only
//!   module that calls R.

pub mod error;
pub mod ffi;
pub mod format;
pub mod rapi;
pub mod sink;
