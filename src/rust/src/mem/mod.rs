//! Memory tracking: how much memory the process uses while R evaluates an
//! expression (`lowmem::mem_peak()`, `lowmem::mem_timeline()`, R/mem.R).
//!
//! * [`procfs`]: reads /proc/self/{statm,status} and resets the high-water
//!   mark through /proc/self/clear_refs; the parsers are plain functions.
//! * [`series`]: the sampled (time, RSS) rows, bounded for long runs.
//! * [`sampler`]: the background thread that fills a series.
//! * [`ffi`]: the C ABI used by `src/mem.c`; the only unsafe code here.
//! * [`error`]: this module's errors, reported to C as messages.

pub mod error;
pub mod ffi;
pub mod procfs;
pub mod sampler;
pub mod series;
