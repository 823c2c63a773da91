//! Memory tracking: how much memory the process uses while R evaluates an
//! expression (`lowmem::mem_peak()`, `lowmem::mem_timeline()`, R/mem-*.R).
//!
//! * [`procfs`]: reads /proc/self/{statm,status} and resets the high-water
//!   mark through /proc/self/clear_refs (Linux); the parsers are plain
//!   functions.
//! * [`os`]: the same readings on macOS (task_info) and Windows
//!   (K32GetProcessMemoryInfo), where the peak cannot be reset.
//! * [`series`]: the sampled (time, RSS) rows, bounded for long runs.
//! * [`sampler`]: the background thread that fills a series.
//! * [`timeline`]: the sampler handle R holds (through `crate::entry`).
//! * [`error`]: this module's errors, each with the class of its R condition.

pub mod error;
#[cfg(not(target_os = "linux"))]
pub mod os;
pub mod procfs;
pub mod sampler;
pub mod series;
pub mod timeline;
