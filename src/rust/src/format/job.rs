//! A native serialization job (its C ABI: `crate::ffi::job`, driven by
//! `src/native.c`).
//!
//! A job serializes one object in passes: a counting pass (which also finds
//! out whether the object is covered), then a writing pass into the raw
//! vector C allocated at the counted size, or a streaming pass into a file
//! or through C to a connection (see [`super::stage`]). Each pass runs in
//! steps of about `budget` bytes so that C can check for interrupts in
//! between.
//! Errors are kept in the job for C (see the unwind rule in `crate::ffi`).

use std::path::Path;
use std::rc::Rc;

use super::encode::{Ascii, Count, Encoder, Native, Slice, Xdr};
use super::header::Header;
use super::learned::Learned;
use super::stage::Staged;
use super::tap::{self, Outcome, Tap};
use super::walk::{Step, Walk};
pub use crate::codes::{ErrorKind, Format, Status};
use crate::error::{Error, Result};
use crate::rapi::Sexp;
use crate::sink::{CallbackSink, FileSink, HashSink, Sink};

/// A compressed file takes the stream in pieces of any size (its codec keeps
/// its own blocks), so it is staged in slices of at most this much: a step
/// of the walk then hands the codec a bounded amount of work, and control
/// comes back to C, which checks for interrupts, at least that often
/// however slow the codec (xz at level 9 takes about a second per MB).
const CODEC_SLICE: usize = 64 * 1024;

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
    /// The kind of the error in `message`.
    kind: ErrorKind,
    /// The droppable ALTREP states of the object, as the last finished
    /// pass met them (see [`Job::pin`]).
    pins: Vec<Sexp>,
    /// The flags R writes where the API does not tell them, as the tap
    /// learnt them (empty without a tap): every later pass writes them.
    learned: Rc<Learned>,
    /// The tap under way (see [`Job::tap_begin`]).
    tap: Option<Tap<Walk>>,
    /// The tap under way has hit an error (kept in `message`): the rest
    /// of R's bytes are ignored, and the tap's end reports it.
    tap_error: bool,
}

impl Job {
    /// A walk over the object for a native pass, with what the tap found.
    fn walk(&self) -> Walk {
        Walk::new(self.root, self.header.clone(), self.rules).with_learned(Rc::clone(&self.learned))
    }

    /// Starts a tap: the walker's ops (in native binary and version 3,
    /// with `header`, whatever the job writes: the flags words are the
    /// same in every format and version) against R's stream, which C
    /// feeds in.
    fn tap_start(&mut self, header: Header) {
        self.pass = None;
        self.learned = Rc::default();
        let walk = Walk::new(self.root, header, self.rules);
        self.tap = Some(Tap::new(walk, tap::mode() == tap::Mode::Fail));
        self.tap_error = false;
        self.message = None;
        self.kind = ErrorKind::None;
        tap::count_pass();
    }

    fn tap_finish(&mut self) -> Result<Status> {
        let Some(tap) = self.tap.take() else {
            return Err(Error::Internal("native writer: the tap ended before it began".into()));
        };
        let outcome = tap.finish()?;
        tap::note(&outcome);
        match outcome {
            Outcome::Agrees(learned) => {
                self.learned = Rc::new(learned);
                Ok(Status::Done)
            }
            Outcome::Failed(why) => {
                self.message = Some(format!("R's writer and the native writer disagree (the tap): {why}"));
                Ok(Status::Uncovered)
            }
        }
    }

    /// Starts a pass in `format`: counting if `buf` is `None`, else writing
    /// exactly into `buf`.
    pub fn begin(&mut self, format: Format, buf: Option<&'static mut [u8]>) {
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
        self.kind = ErrorKind::None;
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
        self.kind = ErrorKind::None;
    }

    /// Ends the current pass (a streaming pass drops its sink: an
    /// unfinished file is removed), then streams to `sink`.
    fn stream_to(&mut self, format: Format, chunk: usize, sink: impl FnOnce() -> Result<Box<dyn Sink>>) -> Result<()> {
        self.pass = None;
        let staged = Staged::new(sink()?, chunk)?;
        self.begin_stream(format, staged);
        Ok(())
    }

    /// Does about `budget` bytes of the pass.
    pub fn step(&mut self, budget: u64) -> Result<Status> {
        let Some(pass) = self.pass.as_mut() else {
            return Err(Error::Internal("native writer: step before begin".into()));
        };
        match pass.step(budget.max(1))? {
            Step::More => Ok(Status::More),
            Step::Done => {
                pass.finish()?;
                self.pins = pass.take_pins();
                Ok(Status::Done)
            }
            Step::Uncovered(reason) => {
                self.message = Some(reason.to_string());
                Ok(Status::Uncovered)
            }
        }
    }

    /// A job for `object`, whose header is taken from `capture`: R's own
    /// native-binary serialization of `NULL` with the requested version (see
    /// `Header::from_binary_capture`). `None` if the capture is not
    /// understood, or if the format probes have not found that the native
    /// writer writes what this R writes, unless `probe`: the probes' own jobs.
    pub fn new(root: Sexp, capture: &[u8], probe: bool) -> Option<Job> {
        if !probe && super::session::refusal().is_some() {
            return None;
        }
        let header = Header::from_binary_capture(capture)?;
        Some(Job {
            root,
            header,
            rules: super::session::rules(),
            pass: None,
            message: None,
            kind: ErrorKind::None,
            pins: Vec::new(),
            learned: Rc::default(),
            tap: None,
            tap_error: false,
        })
    }

    /// Keeps `e` for C.
    pub fn fail(&mut self, e: Error) {
        self.message = Some(e.to_string());
        self.kind = e.kind();
    }

    /// Why the object is not covered, or the error.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Bytes the current pass has produced (or counted) so far.
    pub fn position(&self) -> Option<u64> {
        self.pass.as_ref().map(|pass| pass.position())
    }

    /// The `i`-th droppable ALTREP state that the last finished pass met.
    /// A deferred string's state can be dropped by R code that expands the
    /// string (a connection's write, a progress callback, a finalizer) while
    /// a later pass is still reading it: C keeps these states protected
    /// from the end of the counting pass to the end of the job.
    pub fn pin(&self, i: usize) -> Option<Sexp> {
        self.pins.get(i).copied()
    }

    /// Starts a streaming pass to a file: a temporary file next to `path`,
    /// compressed with `codec` at `level`, written in chunks of `chunk`
    /// bytes, and synced and renamed over `path` when the pass is done;
    /// dropping the job before removes it.
    pub fn begin_file(
        &mut self,
        format: Format,
        path: Option<&Path>,
        codec: i32,
        level: i32,
        chunk: usize,
    ) -> Result<()> {
        // Codec 0 (none) is written by direct I/O, from whole staged chunks.
        let staging = if codec == 0 { chunk } else { chunk.min(CODEC_SLICE) };
        self.stream_to(format, staging, || Ok(Box::new(FileSink::from_c(path, codec, level, chunk)?)))
    }

    /// Starts a streaming pass whose output goes, in chunks of exactly
    /// `chunk` bytes (the last one shorter), to `sink`.
    pub fn begin_callback(&mut self, format: Format, chunk: usize, sink: CallbackSink) -> Result<()> {
        self.stream_to(format, chunk, || Ok(Box::new(sink)))
    }

    /// Starts a streaming pass into a hash (`digest()`), staged in chunks
    /// of `chunk` bytes.
    pub fn begin_hash(&mut self, format: Format, chunk: usize, sink: HashSink) -> Result<()> {
        self.stream_to(format, chunk, || Ok(Box::new(sink)))
    }

    /// Whether the job taps R's own writer before its native passes (see
    /// [`super::tap`]): where this build cannot read gp bits (or a test
    /// asks for it); 1 before writing passes, 3 before a binary size too
    /// (a build that cannot see attribute cells' attributes), else 0.
    pub fn tap_wanted(&self) -> i32 {
        if tap::wanted_for_size() {
            3
        } else {
            i32::from(tap::wanted())
        }
    }

    /// Starts a tap; C then runs R's writer over the object in native binary
    /// and version 3 (`capture`: R's serialization of `NULL` so, as for
    /// [`Job::new`]), hands every byte to [`Job::tap_feed`] and ends with
    /// [`Job::tap_end`].
    pub fn tap_begin(&mut self, capture: &[u8]) -> Result<()> {
        let header = Header::from_binary_capture(capture)
            .filter(|h| h.version == 3)
            .ok_or_else(|| Error::Internal("native writer: unexpected header for the tap".into()))?;
        self.tap_start(header);
        Ok(())
    }

    /// The next bytes of R's stream. Never fails: a disagreement fails the
    /// tap, an error is kept for [`Job::tap_end`] to report, and either way
    /// the rest of R's bytes are ignored.
    pub fn tap_feed(&mut self, bytes: &[u8]) {
        if self.tap_error {
            return;
        }
        let fed = match self.tap.as_mut() {
            Some(tap) => crate::ffi::guard(|| tap.feed(bytes)),
            None => Err(Error::Internal("native writer: tap bytes without a tap".into())),
        };
        if let Err(e) = fed {
            self.fail(e);
            self.tap_error = true;
            let tap = self.tap.take();
            let _ = crate::ffi::guard(move || {
                drop(tap);
                Ok(())
            });
        }
    }

    /// Ends the tap, after R's pass: `Done` (the native passes that follow
    /// write the flags R wrote where the walker's differ), `Uncovered`
    /// (R's stream is not the native writer's: the message says where; the
    /// object goes to R's writer) or `Failed` (an error, in the message).
    pub fn tap_end(&mut self) -> Result<Status> {
        if self.tap_error {
            self.tap_error = false;
            return Ok(Status::Failed);
        }
        self.tap_finish()
    }
}
