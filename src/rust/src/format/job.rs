//! A native serialization job and its C ABI (declared in `src/lowmem.h`,
//! driven by `src/native.c` and, for files and connections, by
//! `src/serialize.c`).
//!
//! A job serializes one object in passes: a counting pass (which also finds
//! out whether the object is covered), then a writing pass into the raw
//! vector C allocated at the counted size, or a streaming pass into a file
//! or through C to a connection (see [`super::stage`]). Each pass runs in
//! steps of about `budget` bytes so that C can check for interrupts in
//! between.
//!
//! As in `ffi.rs`: no panic crosses into C (every entry point runs under
//! `catch_unwind`), errors are kept in the handle and raised by C after the
//! Rust call has returned, and the handle is owned by C, which frees it in
//! an unwind-protect cleanup. The Rust code calls only the non-jumping
//! accessors of `rapi`.

use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use super::encode::{Ascii, Count, Encoder, Native, Slice, Xdr};
use super::header::Header;
use super::stage::Staged;
use super::tap::{self, Grown, Outcome, Tap};
use super::walk::{Step, Walk};
use crate::error::{Error, Result};
use crate::rapi::Sexp;
use crate::sink::{CallbackSink, FileSink, Sink, WriteFn};

/// A compressed file takes the stream in pieces of any size (its codec keeps
/// its own blocks), so it is staged in slices of at most this much: a step
/// of the walk then hands the codec a bounded amount of work, and control
/// comes back to C, which checks for interrupts, at least that often
/// however slow the codec (xz at level 9 takes about a second per MB).
const CODEC_SLICE: usize = 64 * 1024;

/// Status codes shared with `src/lowmem.h`.
pub const DONE: c_int = 0;
pub const MORE: c_int = 1;
pub const UNCOVERED: c_int = 2;
pub const FAILED: c_int = -1;

/// R's stream formats (`R_pstream_format_t` in Rinternals.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ascii,
    Binary,
    Xdr,
    AsciiHex,
}

impl Format {
    pub fn from_code(code: c_int) -> Option<Format> {
        match code {
            1 => Some(Format::Ascii),
            2 => Some(Format::Binary),
            3 => Some(Format::Xdr),
            4 => Some(Format::AsciiHex),
            _ => None,
        }
    }
}

/// One pass of a walk through one encoder.
trait Pass {
    fn step(&mut self, budget: u64) -> Result<Step>;
    fn position(&self) -> u64;
    /// Checks the finished output (a writing pass must fill its buffer) or
    /// completes it (a streaming pass writes out the rest).
    fn finish(&mut self) -> Result<()>;
    /// See [`Walk::take_pins`].
    fn take_pins(&mut self) -> Vec<Sexp>;
}

struct PassOf<E> {
    walk: Walk,
    enc: E,
    finish: fn(&mut E) -> Result<()>,
}

impl<E: Encoder> Pass for PassOf<E> {
    fn step(&mut self, budget: u64) -> Result<Step> {
        self.walk.step(&mut self.enc, budget)
    }

    fn position(&self) -> u64 {
        self.enc.position()
    }

    fn finish(&mut self) -> Result<()> {
        (self.finish)(&mut self.enc)
    }

    fn take_pins(&mut self) -> Vec<Sexp> {
        self.walk.take_pins()
    }
}

fn pass<E: Encoder + 'static>(walk: Walk, enc: E, finish: fn(&mut E) -> Result<()>) -> Box<dyn Pass> {
    Box::new(PassOf { walk, enc, finish })
}

fn counted<E>(_: &mut E) -> Result<()> {
    Ok(())
}

/// The state of one job.
pub struct Job {
    root: Sexp,
    header: Header,
    rules: super::flags::Rules,
    pass: Option<Box<dyn Pass>>,
    /// Why the object is not covered, or what went wrong.
    message: Option<String>,
    /// The kind of the error in `message` ([`Error::kind_code`]), 0 if none.
    kind: c_int,
    /// The droppable ALTREP states of the object, as the last finished
    /// pass met them (see [`lowmem_native_pin`]).
    pins: Vec<Sexp>,
    /// The vectors R writes with the GROWABLE bit, as the tap found them
    /// (empty without a tap): every later pass writes their bit.
    grown: Rc<Grown>,
    /// The tap under way (see [`lowmem_native_tap_begin`]).
    tap: Option<Tap<Walk>>,
    /// The tap under way has hit an error (kept in `message`): the rest
    /// of R's bytes are ignored, and the tap's end reports it.
    tap_error: bool,
}

impl Job {
    /// A walk over the object for a native pass, with what the tap found.
    fn walk(&self) -> Walk {
        Walk::new(self.root, self.header.clone(), self.rules).with_grown(Rc::clone(&self.grown))
    }

    /// Starts a tap: the walker's ops (in native binary and version 3,
    /// with `header`, whatever the job writes: the flags words are the
    /// same in every format and version) against R's stream, which C
    /// feeds in.
    fn tap_begin(&mut self, header: Header) {
        self.pass = None;
        self.grown = Rc::default();
        let walk = Walk::new(self.root, header, self.rules);
        self.tap = Some(Tap::new(walk, tap::mode() == tap::Mode::Fail));
        self.tap_error = false;
        self.message = None;
        self.kind = 0;
        tap::count_pass();
    }

    fn tap_end(&mut self) -> Result<c_int> {
        let Some(tap) = self.tap.take() else {
            return Err(Error::Internal("native writer: the tap ended before it began".into()));
        };
        match tap.finish()? {
            Outcome::Agrees(grown) => {
                self.grown = Rc::new(grown);
                Ok(DONE)
            }
            Outcome::Failed(why) => {
                self.message = Some(format!("R's writer and the native writer disagree (the tap): {why}"));
                Ok(UNCOVERED)
            }
        }
    }

    fn begin(&mut self, format: Format, buf: Option<&'static mut [u8]>) {
        let walk = self.walk();
        let hex = format == Format::AsciiHex;
        self.pass = Some(match (format, buf) {
            // XDR and native binary have the same sizes; count in native.
            (Format::Xdr | Format::Binary, None) => pass(walk, Native(Count::default()), counted),
            (Format::Ascii | Format::AsciiHex, None) => pass(walk, Ascii { dest: Count::default(), hex }, counted),
            (Format::Xdr, Some(buf)) => pass(walk, Xdr(Slice::new(buf)), |e| e.0.finish()),
            (Format::Binary, Some(buf)) => pass(walk, Native(Slice::new(buf)), |e| e.0.finish()),
            (Format::Ascii | Format::AsciiHex, Some(buf)) => {
                pass(walk, Ascii { dest: Slice::new(buf), hex }, |e| e.dest.finish())
            }
        });
        self.message = None;
        self.kind = 0;
    }

    /// Starts a streaming pass in `format` through `staged`.
    fn begin_stream(&mut self, format: Format, staged: Staged) {
        let walk = self.walk();
        let hex = format == Format::AsciiHex;
        self.pass = Some(match format {
            Format::Xdr => pass(walk, Xdr(staged), |e| e.0.finish()),
            Format::Binary => pass(walk, Native(staged), |e| e.0.finish()),
            Format::Ascii | Format::AsciiHex => pass(walk, Ascii { dest: staged, hex }, |e| e.dest.finish()),
        });
        self.message = None;
        self.kind = 0;
    }

    /// Ends the current pass (a streaming pass drops its sink: an
    /// unfinished file is removed), then streams to `sink`.
    fn stream_to(
        &mut self,
        format: c_int,
        chunk: usize,
        sink: impl FnOnce() -> Result<Box<dyn Sink>>,
    ) -> Result<c_int> {
        let format = format_of(format)?;
        self.pass = None;
        let staged = Staged::new(sink()?, chunk)?;
        self.begin_stream(format, staged);
        Ok(DONE)
    }

    fn step(&mut self, budget: u64) -> Result<c_int> {
        let Some(pass) = self.pass.as_mut() else {
            return Err(Error::Internal("native writer: step before begin".into()));
        };
        match pass.step(budget.max(1))? {
            Step::More => Ok(MORE),
            Step::Done => {
                pass.finish()?;
                self.pins = pass.take_pins();
                Ok(DONE)
            }
            Step::Uncovered(reason) => {
                self.message = Some(reason.to_string());
                Ok(UNCOVERED)
            }
        }
    }
}

/// Runs `op` on a live job, catching panics and keeping errors.
fn with_job(job: *mut Job, op: impl FnOnce(&mut Job) -> Result<c_int>) -> c_int {
    // SAFETY: C passes null or a live handle from lowmem_native_new, used
    // from R's main thread only.
    let Some(job) = (unsafe { job.as_mut() }) else {
        return FAILED;
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| op(job)))
        .unwrap_or_else(|_| Err(Error::Internal("a panic in the native writer".into())));
    outcome.unwrap_or_else(|e| {
        job.message = Some(e.to_string());
        job.kind = e.kind_code();
        FAILED
    })
}

/// A job for `object`, whose header is taken from `capture`: R's own
/// native-binary serialization of `NULL` with the requested version (see
/// `Header::from_binary_capture`). Returns null if the capture is not
/// understood, or if the format probes have not found that the native
/// writer writes what this R writes (`lowmem_session_refusal` says why),
/// unless `probe` is non-zero: the probes' own jobs.
///
/// # Safety
/// `object` is a valid R object that the caller keeps protected and
/// unmodified until the job is freed; `capture` points to `capture_len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_new(
    object: *mut c_void,
    capture: *const u8,
    capture_len: usize,
    probe: c_int,
) -> *mut Job {
    if object.is_null() || capture.is_null() {
        return std::ptr::null_mut();
    }
    let made = catch_unwind(AssertUnwindSafe(|| {
        if probe == 0 && super::session::refusal().is_some() {
            return None;
        }
        // SAFETY: see the function's contract.
        let capture = unsafe { std::slice::from_raw_parts(capture, capture_len) };
        let header = Header::from_binary_capture(capture)?;
        // SAFETY: see the function's contract.
        let root = unsafe { Sexp::from_raw(object) };
        let rules = super::session::rules();
        Some(Box::into_raw(Box::new(Job {
            root,
            header,
            rules,
            pass: None,
            message: None,
            kind: 0,
            pins: Vec::new(),
            grown: Rc::default(),
            tap: None,
            tap_error: false,
        })))
    }));
    made.ok().flatten().unwrap_or(std::ptr::null_mut())
}

/// Starts a pass in `format` (an `R_pstream_format_t` code): counting if
/// `buf` is null, else writing exactly `len` bytes at `buf`. Returns DONE
/// (the pass is ready to step) or FAILED.
///
/// # Safety
/// `job` is a live handle; `buf` is null or points to `len` writable bytes
/// that stay valid, and are written by nobody else, until the job is freed
/// or another pass begins.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_begin(job: *mut Job, format: c_int, buf: *mut u8, len: usize) -> c_int {
    with_job(job, |job| {
        let format = format_of(format)?;
        let buf: Option<&'static mut [u8]> = match (buf.is_null(), len) {
            (true, _) => None,
            (false, 0) => Some(&mut []),
            // SAFETY: see the function's contract; C keeps the raw vector
            // behind `buf` protected for the life of the job.
            (false, len) => Some(unsafe { std::slice::from_raw_parts_mut(buf, len) }),
        };
        job.begin(format, buf);
        Ok(DONE)
    })
}

fn format_of(code: c_int) -> Result<Format> {
    Format::from_code(code).ok_or_else(|| Error::Internal(format!("unknown format {code}")))
}

/// Starts a streaming pass in `format` to a file: a temporary file next to
/// `path`, compressed with `codec` (0 none, 1 gzip, 2 bzip2, 3 xz) at
/// `level`, written in chunks of `chunk` bytes, and synced and renamed over
/// `path` when the pass is done; freeing the job before removes it. Returns
/// DONE, or FAILED (e.g. the file cannot be created: kind 2, I/O).
///
/// # Safety
/// `job` is a live handle; `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_begin_file(
    job: *mut Job,
    format: c_int,
    path: *const c_char,
    codec: c_int,
    level: c_int,
    chunk: usize,
) -> c_int {
    // SAFETY: forwarded to the caller's guarantee.
    let path = unsafe { crate::ffi::c_path(path) };
    // Codec 0 (none) is written by direct I/O, from whole staged chunks.
    let staging = if codec == 0 { chunk } else { chunk.min(CODEC_SLICE) };
    with_job(job, |job| job.stream_to(format, staging, || Ok(Box::new(FileSink::from_c(path, codec, level, chunk)?))))
}

/// Starts a streaming pass in `format` whose output goes, in chunks of
/// exactly `chunk` bytes (the last one shorter), to `write(ctx, ...)`. A
/// non-zero status from `write` stops the pass: the step fails with kind 4
/// and C raises the condition it kept. Returns DONE or FAILED.
///
/// # Safety
/// `job` is a live handle; `write` may be called with `ctx` until the job
/// is freed or another pass begins, and never unwinds or jumps.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_begin_callback(
    job: *mut Job,
    format: c_int,
    chunk: usize,
    write: Option<WriteFn>,
    ctx: *mut c_void,
) -> c_int {
    with_job(job, |job| {
        let write = write.ok_or_else(|| Error::Internal("no write function".into()))?;
        // SAFETY: forwarded to the caller's guarantee.
        job.stream_to(format, chunk, || Ok(Box::new(unsafe { CallbackSink::new(write, ctx) })))
    })
}

/// Starts a streaming pass in `format` into `sink`, staged in chunks of
/// `chunk` bytes: for the C ABIs of other modules (`hash::ffi`). DONE or
/// FAILED (the job keeps the error).
///
/// # Safety
/// `job` is null or a live handle.
pub(crate) unsafe fn begin_stream_into(job: *mut Job, format: c_int, chunk: usize, sink: Box<dyn Sink>) -> c_int {
    with_job(job, |job| job.stream_to(format, chunk, || Ok(sink)))
}

/// Whether the job taps R's own writer before its native passes (see
/// [`super::tap`]): 1 where this build cannot read gp bits and this R
/// writes the GROWABLE bit (or a test asks for it), else 0.
///
/// # Safety
/// `job` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_tap_wanted(job: *mut Job) -> c_int {
    // SAFETY: see the function's contract.
    let rules = unsafe { job.as_ref() }.map(|job| job.rules);
    catch_unwind(|| rules.is_some_and(tap::wanted)).map_or(0, c_int::from)
}

/// Starts a tap; C then runs R's writer over the object in native binary
/// and version 3 (`capture`: R's serialization of `NULL` so, as for
/// [`lowmem_native_new`]), hands every byte to [`lowmem_native_tap_bytes`]
/// and ends with [`lowmem_native_tap_end`]. Returns DONE or FAILED.
///
/// # Safety
/// `job` is a live handle; `capture` points to `capture_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_tap_begin(job: *mut Job, capture: *const u8, capture_len: usize) -> c_int {
    with_job(job, |job| {
        if capture.is_null() {
            return Err(Error::Internal("native writer: no header for the tap".into()));
        }
        // SAFETY: see the function's contract.
        let capture = unsafe { std::slice::from_raw_parts(capture, capture_len) };
        let header = Header::from_binary_capture(capture)
            .filter(|h| h.version == 3)
            .ok_or_else(|| Error::Internal("native writer: unexpected header for the tap".into()))?;
        job.tap_begin(header);
        Ok(DONE)
    })
}

/// The next `len` bytes of R's stream. Never fails: a disagreement fails
/// the tap, an error is kept for [`lowmem_native_tap_end`] to report, and
/// either way the rest of R's bytes are ignored.
///
/// # Safety
/// `job` is a live handle with a tap under way; `buf` points to `len`
/// readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_tap_bytes(job: *mut Job, buf: *const u8, len: usize) {
    if buf.is_null() || len == 0 {
        return;
    }
    // SAFETY: see the function's contract.
    let bytes = unsafe { std::slice::from_raw_parts(buf, len) };
    let status = with_job(job, |job| {
        if job.tap_error {
            return Ok(DONE);
        }
        match job.tap.as_mut() {
            Some(tap) => tap.feed(bytes).map(|()| DONE),
            None => Err(Error::Internal("native writer: tap bytes without a tap".into())),
        }
    });
    if status == FAILED {
        // SAFETY: see the function's contract (with_job found it live).
        if let Some(job) = unsafe { job.as_mut() } {
            job.tap_error = true;
            let tap = job.tap.take();
            let _ = catch_unwind(AssertUnwindSafe(move || drop(tap)));
        }
    }
}

/// Ends the tap, after R's pass: DONE (the native passes that follow
/// write the GROWABLE bit of the vectors R wrote with it), UNCOVERED (R's
/// stream is not the native writer's: the message says where; the object
/// goes to R's writer) or FAILED (an error, in the message).
///
/// # Safety
/// `job` is a live handle on which a tap has begun.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_tap_end(job: *mut Job) -> c_int {
    with_job(job, |job| {
        if job.tap_error {
            job.tap_error = false;
            return Ok(FAILED);
        }
        job.tap_end()
    })
}

/// Taps so far in this session (diagnostics).
#[no_mangle]
pub extern "C" fn lowmem_native_tap_passes() -> f64 {
    catch_unwind(tap::passes).unwrap_or(0) as f64
}

/// Sets when the tap runs (0 where needed, 1 always, 2 always and failing:
/// tests); any other code leaves it. Returns the previous mode.
#[no_mangle]
pub extern "C" fn lowmem_native_tap_mode(mode: c_int) -> c_int {
    catch_unwind(|| tap::set_mode(mode) as c_int).unwrap_or(0)
}

/// The kind of the job's error: 0 none, 1 internal, 2 I/O, 3 memory, 4 a
/// write R stopped.
///
/// # Safety
/// `job` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_error_kind(job: *mut Job) -> c_int {
    // SAFETY: see the function's contract.
    unsafe { job.as_ref() }.map_or(1, |job| job.kind)
}

/// Does about `budget` bytes of the pass. Returns DONE, MORE, UNCOVERED
/// (the message says why) or FAILED (the message says what).
///
/// # Safety
/// `job` is a live handle on which a pass has begun.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_step(job: *mut Job, budget: usize) -> c_int {
    with_job(job, |job| job.step(budget as u64))
}

/// Bytes the current pass has produced (or counted) so far.
///
/// # Safety
/// `job` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_bytes(job: *mut Job) -> f64 {
    // SAFETY: see the function's contract.
    match unsafe { job.as_ref() } {
        Some(Job { pass: Some(pass), .. }) => pass.position() as f64,
        _ => -1.0,
    }
}

/// The `i`-th droppable ALTREP state that the last finished pass met, or
/// null past the last. A deferred string's state can be dropped by R code
/// that expands the string (a connection's write, a progress callback, a
/// finalizer) while a later pass is still reading it: C keeps these states
/// protected from the end of the counting pass to the end of the job.
///
/// # Safety
/// `job` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_pin(job: *mut Job, i: usize) -> *mut c_void {
    // SAFETY: see the function's contract.
    unsafe { job.as_ref() }.and_then(|job| job.pins.get(i)).map_or(std::ptr::null_mut(), |x| x.as_ptr())
}

/// Copies the job's message (why it is not covered, or its error),
/// NUL-terminated and truncated to `size` bytes. Returns 1 if there is one.
///
/// # Safety
/// `job` is a live handle; `out` points to `size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_message(job: *mut Job, out: *mut c_char, size: usize) -> c_int {
    // SAFETY: see the function's contract.
    let Some(message) = (unsafe { job.as_ref() }).and_then(|job| job.message.as_deref()) else {
        return 0;
    };
    // SAFETY: see the function's contract.
    unsafe { crate::ffi::copy_message(message, out, size) };
    1
}

/// Releases a job (null is ignored).
///
/// # Safety
/// `job` is null or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_free(job: *mut Job) {
    if !job.is_null() {
        // SAFETY: the pointer came from Box::into_raw and is freed once.
        let boxed = unsafe { Box::from_raw(job) };
        let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
    }
}

/// XDR-encodes `n` doubles from `src` into `dst` (8n bytes): the encoder's
/// inner loop, exported for the benchmark's "floor".
///
/// # Safety
/// `src` points to `n` doubles, `dst` to `8n` writable bytes, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn lowmem_xdr_doubles(src: *const f64, n: usize, dst: *mut u8) {
    if n == 0 || src.is_null() || dst.is_null() {
        return;
    }
    // SAFETY: see the function's contract.
    let (src, dst) = unsafe { (std::slice::from_raw_parts(src, n), std::slice::from_raw_parts_mut(dst, n * 8)) };
    super::encode::xdr_doubles(src, dst);
}
