//! The `.Call` entry points written with extendr-api: those that never call
//! back into R (no R code, no connection, no refhook), so no R error can
//! jump over them. The serializer's entry points stay in C (src/*.c); why,
//! and what extendr 0.7.1 does that forces these rules, is in
//! inst/notes/r-boundary.md.
//!
//! | R wrapper | entry point | returns |
//! |---|---|---|
//! | `rss_status()` (R/mem-measure.R) | [`lowmem_rss_status`] | `c(rss, hwm, threads)` |
//! | `rss_reset_peak()` | [`lowmem_rss_reset_peak`] | the same, read after the reset |
//! | `timeline_start()` | [`lowmem_timeline_start`] | the sampler, an external pointer |
//! | `timeline_stop()` | [`lowmem_timeline_stop`] | `list(time, rss, stride)`, or `NULL` once stopped |
//! | `native_status()` (R/probe.R) | [`lowmem_native_status`] | a list of nine, unnamed |
//! | `tap_mode()` (R/probe.R) | [`lowmem_tap_mode`] | the previous mode |
//!
//! The rules, each forced by a fact of extendr 0.7.1:
//! * A failure is returned as an *error record*, `c(class, message)` (a
//!   character vector, which no entry point here returns otherwise), and
//!   the R wrapper raises it as a classed condition (`rust_value()` in
//!   R/rust.R): a returned `Err` would become a panic and reach R as "User
//!   function panicked", its class and message lost.
//! * No attributes are set here (names and classes are the R wrapper's):
//!   `set_attrib` and the like run under `catch_r_error`, which panics in an
//!   `extern "C"` callback and so aborts the process.
//! * Arguments are taken as `Robj` and checked here: a failed conversion
//!   would raise an R error from inside the generated wrapper.
//! * Nothing here runs on another thread, nor is any of this called from
//!   one (the sampler thread only reads /proc): extendr's API lock stays
//!   held if R ever jumps out of a call, and another thread asking for it
//!   would then wait forever.
//!
//! Registration: src/entrypoint.c lists the generated `wrap__*` functions
//! in the package's one routine table (R_forceSymbols is on, and a second
//! `R_registerRoutines` call would replace the first, so extendr's own
//! module registration is not used).

use std::sync::{Mutex, MutexGuard};

use extendr_api::prelude::*;

use crate::format::{session, tap};
use crate::mem::error::MemError;
use crate::mem::procfs::{self, Status};
use crate::mem::timeline::{self, guarded, Timeline};

/// The error record the R wrapper raises as a condition of `class`.
fn error_record(class: &str, message: &str) -> Robj {
    Robj::from([class, message])
}

fn status_value(status: std::result::Result<Status, MemError>) -> Robj {
    match status {
        // Bytes and a count as doubles: R's integers stop at 2^31.
        Ok(s) => Robj::from([s.vm_rss as f64, s.vm_hwm as f64, s.threads as f64]),
        // Whatever went wrong, /proc does not offer this here.
        Err(e) => error_record("lowmem_error_unsupported", &e.to_string()),
    }
}

/// /proc/self/status: VmRSS and VmHWM in bytes, and the thread count.
#[extendr]
fn lowmem_rss_status() -> Robj {
    status_value(guarded(procfs::read_status))
}

/// Resets VmHWM to VmRSS (/proc/self/clear_refs), checks that it took
/// effect, and reads the status right after.
#[extendr]
fn lowmem_rss_reset_peak() -> Robj {
    status_value(guarded(procfs::reset_peak))
}

/// A double or integer scalar as a double (`NA` an integer NA), as
/// `Rf_asReal` reads it.
fn number(x: &Robj) -> Option<f64> {
    x.as_real().or_else(|| x.as_integer().map(|i| if i == i32::MIN { f64::NAN } else { f64::from(i) }))
}

/// The sampler an external pointer of [`lowmem_timeline_start`] owns.
/// While it lives, its address is in [`SAMPLERS`]; its drop (the pointer's
/// finalizer) takes it out.
struct SamplerHandle(Timeline);

/// The addresses of the live samplers: the only addresses
/// [`lowmem_timeline_stop`] dereferences. extendr checks no more than that
/// a handle is an external pointer, and tags its pointers with the type's
/// name, a string any other pointer may carry; an address compared with
/// those lowmem made and has not freed cannot be forged by R code, be it
/// a pointer of another package, `new("externalptr")`, or one of lowmem's
/// of another kind.
static SAMPLERS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn samplers() -> MutexGuard<'static, Vec<usize>> {
    // Nothing panics with the lock held; should something, the list is
    // still consistent.
    SAMPLERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for SamplerHandle {
    fn drop(&mut self) {
        let me = self as *const SamplerHandle as usize;
        samplers().retain(|&a| a != me);
    }
}

/// Starts a sampler thread (first sample taken at once) and hands it to
/// an external pointer, whose finalizer stops, joins and frees it should R
/// code lose it unstopped.
#[extendr]
fn lowmem_timeline_start(interval: Robj, max_rows: Robj) -> Robj {
    let (Some(interval), Some(max_rows)) = (number(&interval), number(&max_rows)) else {
        return error_record("lowmem_error_argument", "invalid sampling interval or row cap: not numbers");
    };
    match Timeline::start(interval, timeline::page_size(), max_rows) {
        Ok(t) => {
            let ptr = ExternalPtr::new(SamplerHandle(t));
            samplers().push(ptr.addr() as *const SamplerHandle as usize);
            ptr.into()
        }
        Err(e) => error_record(e.class(), &e.to_string()),
    }
}

/// The sampler behind `handle`, if it is one of lowmem's live samplers
/// (see [`SAMPLERS`]); its address is checked before anything reads it.
fn timeline_of(handle: &mut Robj) -> Option<&mut Timeline> {
    if handle.rtype() != Rtype::ExternalPtr {
        return None;
    }
    // SAFETY: an external pointer's address field, read, not followed.
    let addr = unsafe { libR_sys::R_ExternalPtrAddr(handle.get()) } as usize;
    if addr == 0 || !samplers().contains(&addr) {
        return None;
    }
    // SAFETY: the address is a live SamplerHandle that lowmem boxed; R's
    // main thread, the only one to touch it, is here.
    Some(unsafe { &mut (*(addr as *mut SamplerHandle)).0 })
}

/// Stops the sampler and hands over its samples: `list(time, rss, stride)`
/// (unnamed; seconds since the start, bytes, samples per row), `NULL` if
/// they were handed over already.
#[extendr]
fn lowmem_timeline_stop(mut handle: Robj) -> Robj {
    let Some(timeline) = timeline_of(&mut handle) else {
        return error_record("lowmem_error_argument", "not a lowmem sampler handle");
    };
    let value = match timeline.stop() {
        None => return Robj::from(()),
        Some(Err(message)) => error_record("lowmem_error_io", &message),
        Some(Ok(series)) => {
            // The vectors are allocated while the samples are still the
            // pointer's: were R to fail to allocate, its error would jump
            // over frames that own nothing but borrows.
            let rows = series.rows();
            let time = Doubles::from_values(rows.iter().map(|&(t, _)| t));
            let rss = Doubles::from_values(rows.iter().map(|&(_, r)| r as f64));
            List::from_values([time.into(), rss.into(), Robj::from(series.stride() as f64)]).into()
        }
    };
    timeline.release();
    value
}

/// What the probes found and what this build reads R objects with:
/// `list(refusal, writes_growable, gp_bits, attributes, tap, tap_passes,
/// tap_last, tap_learned, ascii_refusal)`
/// (unnamed; see `native_status()` in R/probe.R).
#[extendr]
fn lowmem_native_status() -> Robj {
    let rules = session::rules();
    let refusal = session::refusal().map_or_else(|| Robj::from(()), Robj::from);
    let gp_bits = if cfg!(feature = "api-gp") { "API predicates" } else { "LEVELS" };
    let attributes = if cfg!(feature = "map-attrib") { "R_mapAttrib" } else { "ATTRIB" };
    let (tap_last, tap_learned) = tap::last();
    List::from_values([
        refusal,
        Robj::from(rules.writes_growable),
        Robj::from(gp_bits),
        Robj::from(attributes),
        Robj::from(tap::needed()),
        Robj::from(tap::passes() as f64),
        tap_last.map_or_else(|| Robj::from(()), Robj::from),
        Robj::from(tap_learned as f64),
        crate::format::dtoa::platform_refusal().map_or_else(|| Robj::from(()), Robj::from),
    ])
    .into()
}

/// Sets when the tap runs (0 where the session needs it, 1 always, 2
/// always and failing: tests; 3 never: benchmarks); `NA` leaves it. Returns
/// the previous mode.
#[extendr]
fn lowmem_tap_mode(mode: Robj) -> Robj {
    let code = mode.as_integer().filter(|&m| m != i32::MIN).unwrap_or(-1);
    Robj::from(tap::set_mode(code) as i32)
}
