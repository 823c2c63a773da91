//! What the running R writes, as the format probes found out (R/probe.R),
//! and whether the native writer may run in this session.
//!
//! The probes run once, when the package loads: they serialize a few small
//! objects with base R and with the native writer (jobs made with
//! `probe = 1`, which ignore this state) and compare the bytes. Until they
//! have agreed, and after any disagreement, every job is refused and R's
//! own serializer writes everything.

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use super::flags::Rules;

struct Session {
    rules: Rules,
    /// `None` when the native writer may run, else why not.
    off: Option<String>,
}

static SESSION: Mutex<Session> = Mutex::new(Session { rules: Rules { writes_growable: true }, off: None });

/// Whether the probes have run (`off` is meaningful only after that).
static PROBED: Mutex<bool> = Mutex::new(false);

fn session() -> std::sync::MutexGuard<'static, Session> {
    SESSION.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The rules jobs follow.
pub fn rules() -> Rules {
    session().rules
}

/// Why the native writer may not run, if it may not.
pub fn refusal() -> Option<String> {
    if !*PROBED.lock().unwrap_or_else(|p| p.into_inner()) {
        return Some("the format probes have not run in this session".into());
    }
    session().off.clone()
}

pub fn set(rules: Rules, off: Option<String>) {
    *session() = Session { rules, off };
    *PROBED.lock().unwrap_or_else(|p| p.into_inner()) = true;
}

/// Sets the rules (`writes_growable` 0 or 1) and turns the native writer
/// on (`reason` null) or off for the session (`reason`, why).
///
/// # Safety
/// `reason` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lowmem_session_set(writes_growable: c_int, reason: *const c_char) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: see the function's contract.
        let off = (!reason.is_null()).then(|| unsafe { CStr::from_ptr(reason) }.to_string_lossy().into_owned());
        set(Rules { writes_growable: writes_growable != 0 }, off);
    }));
}

/// Copies why the native writer is off into `out` (NUL-terminated, cut to
/// `size`) and returns 1; returns 0 if it is on.
///
/// # Safety
/// `out` points to `size` writable bytes (`size` >= 1).
#[no_mangle]
pub unsafe extern "C" fn lowmem_session_refusal(out: *mut c_char, size: usize) -> c_int {
    catch_unwind(AssertUnwindSafe(|| match refusal() {
        None => 0,
        Some(reason) => {
            // SAFETY: see the function's contract.
            unsafe { crate::ffi::copy_message(&reason, out, size) };
            1
        }
    }))
    .unwrap_or(1)
}

/// Which accessors this build calls (src/rust/src/rapi.rs): bit 0 set if
/// the gp bits come from API predicates (feature `api-gp`), bit 1 if
/// attributes come from `R_mapAttrib` (feature `map-attrib`). Bit 2: the
/// rules' `writes_growable`. Bit 3: the session taps R's writer to learn
/// the GROWABLE bits (`api-gp` and `writes_growable`; see `super::tap`).
#[no_mangle]
pub extern "C" fn lowmem_native_build() -> c_int {
    let rules = catch_unwind(rules).unwrap_or(Rules { writes_growable: false });
    c_int::from(cfg!(feature = "api-gp"))
        | c_int::from(cfg!(feature = "map-attrib")) << 1
        | c_int::from(rules.writes_growable) << 2
        | c_int::from(super::tap::needed(rules)) << 3
}
