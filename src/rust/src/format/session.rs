//! What the running R writes, as the format probes found out (R/probe.R),
//! and whether the native writer may run in this session.
//!
//! The probes run once, when the package loads: they serialize a few small
//! objects with base R and with the native writer (jobs made with
//! `probe = 1`, which ignore this state) and compare the bytes. Until they
//! have agreed, and after any disagreement, every job is refused and R's
//! own serializer writes everything. (Its C ABI: `crate::ffi::job`.)

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
