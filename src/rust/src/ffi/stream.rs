//! The sinks' C ABI (`src/lowmem.h`): `src/serialize.c` drives R's
//! `R_Serialize` and forwards each `OutBytes`/`OutChar` call to
//! [`lowmem_stream_write`]. The first error is kept in the handle (see the
//! unwind rule in [`super`]).

use std::ffi::{c_char, c_int};

use super::{borrowed_buffer, borrowed_bytes, c_path, copy_message, guard, ErrorKind, Status};
use crate::error::Error;
use crate::sink::{BlockSink, ChunkBuffer, CountSink, FileSink, Sink, Slice};

const OK: Status = Status::Done;
const FAILED: Status = Status::Failed;

/// Where a stream's bytes go: a sink that does its own I/O (or none), or a
/// chunk buffer that C drains into an R connection.
enum Target {
    Sink(Box<dyn Sink>),
    Chunks(ChunkBuffer<'static>),
    Blocks(BlockSink),
}

/// A target plus the first error it met.
pub struct Stream {
    target: Target,
    error: Option<Error>,
}

impl Stream {
    pub(super) fn new(sink: Box<dyn Sink>) -> *mut Stream {
        Self::boxed(Target::Sink(sink), None)
    }

    fn boxed(target: Target, error: Option<Error>) -> *mut Stream {
        Box::into_raw(Box::new(Stream { target, error }))
    }

    fn bytes(&self) -> u64 {
        match &self.target {
            Target::Sink(sink) => sink.bytes_written(),
            Target::Chunks(chunks) => chunks.total(),
            Target::Blocks(blocks) => blocks.bytes_written(),
        }
    }

    /// Runs `op` on the sink unless the stream already failed; keeps its first error.
    fn run(&mut self, op: impl FnOnce(&mut dyn Sink) -> crate::error::Result<()>) -> Status {
        if self.error.is_some() {
            return FAILED;
        }
        let sink: &mut dyn Sink = match &mut self.target {
            Target::Sink(sink) => &mut **sink,
            Target::Blocks(blocks) => blocks,
            // A chunk stream has nothing to finish: C drains it.
            Target::Chunks(_) => return OK,
        };
        match guard(|| op(sink)) {
            Ok(()) => OK,
            Err(e) => {
                self.error = Some(e);
                FAILED
            }
        }
    }
}

/// Turns a raw handle into a reference; `None` for a null pointer.
///
/// # Safety
/// `stream` is null or a live handle from one of the constructors below.
unsafe fn handle<'a>(stream: *mut Stream) -> Option<&'a mut Stream> {
    // SAFETY: the caller passes null or a pointer from Box::into_raw that has
    // not been freed; C uses each handle from R's main thread only.
    unsafe { stream.as_mut() }
}

/// A stream that only counts bytes.
#[no_mangle]
pub extern "C" fn lowmem_stream_count_new() -> *mut Stream {
    Stream::new(Box::new(CountSink::new()))
}

/// A stream that writes into `len` bytes at `buf`, which must stay valid and
/// untouched by anyone else until the handle is freed.
///
/// # Safety
/// `buf` points to `len` writable bytes (or `len` is 0) that outlive the handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_slice_new(buf: *mut u8, len: usize) -> *mut Stream {
    // SAFETY: forwarded to the caller's guarantee.
    let slice = unsafe { borrowed_buffer(buf, len) };
    Stream::new(Box::new(Slice::new(slice)))
}

/// A stream that writes, optionally compressed, to a temporary file next to
/// `path` and renames it over `path` on [`lowmem_stream_finish`]; freeing an
/// unfinished stream removes the temporary file. `codec`: 0 none, 1 gzip,
/// 2 bzip2, 3 xz. If the file cannot be created, the handle carries the error.
///
/// # Safety
/// `path` is a NUL-terminated string (bytes of a Unix path).
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_file_new(
    path: *const c_char,
    codec: c_int,
    level: c_int,
    chunk: usize,
) -> *mut Stream {
    // SAFETY: forwarded to the caller's guarantee.
    let path = unsafe { c_path(path) };
    match guard(|| FileSink::from_c(path, codec, level, chunk)) {
        Ok(sink) => Stream::new(Box::new(sink)),
        Err(e) => Stream::boxed(Target::Sink(Box::new(CountSink::new())), Some(e)),
    }
}

/// A stream of unknown length, kept in blocks until
/// [`lowmem_stream_blocks_move`] moves it into its final buffer.
#[no_mangle]
pub extern "C" fn lowmem_stream_blocks_new() -> *mut Stream {
    Stream::boxed(Target::Blocks(BlockSink::new()), None)
}

/// Moves a block stream into `len` bytes at `buf` (exactly its length),
/// releasing its blocks. 0 on success, -1 on failure.
///
/// # Safety
/// `stream` is a live handle; `buf` points to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_blocks_move(stream: *mut Stream, buf: *mut u8, len: usize) -> Status {
    // SAFETY: see `handle`.
    let Some(stream) = (unsafe { handle(stream) }) else {
        return FAILED;
    };
    // SAFETY: forwarded to the caller's guarantee; used only in this call.
    let out = unsafe { borrowed_buffer(buf, len) };
    let Target::Blocks(blocks) = &mut stream.target else {
        stream.error = Some(Error::Internal("not a block stream".into()));
        return FAILED;
    };
    match blocks.move_into(out) {
        Ok(()) => OK,
        Err(e) => {
            stream.error = Some(e);
            FAILED
        }
    }
}

/// A stream that collects bytes in chunks of `chunk` bytes, for C to write
/// out, in `len` bytes at `buf`; when those are full short of a chunk
/// ([`lowmem_stream_fill`] takes nothing), C moves them into a larger buffer
/// with [`lowmem_stream_chunks_move`].
///
/// # Safety
/// As for [`lowmem_stream_slice_new`]: `buf` points to `len` writable bytes
/// that outlive the handle (or until they are moved).
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_chunks_new(buf: *mut u8, len: usize, chunk: usize) -> *mut Stream {
    // SAFETY: forwarded to the caller's guarantee.
    let slice = unsafe { borrowed_buffer(buf, len) };
    Stream::boxed(Target::Chunks(ChunkBuffer::new(slice, chunk)), None)
}

/// Moves a chunk stream's bytes into `len` bytes at `buf`, where it
/// collects from now on (the old buffer is no longer used). 0 on success,
/// -1 if `buf` cannot hold them (the stream then carries the error).
///
/// # Safety
/// `stream` is a live handle; `buf` points to `len` writable bytes that
/// outlive the handle (or until they are moved again).
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_chunks_move(stream: *mut Stream, buf: *mut u8, len: usize) -> Status {
    // SAFETY: see `handle`.
    let Some(stream) = (unsafe { handle(stream) }) else {
        return FAILED;
    };
    // SAFETY: forwarded to the caller's guarantee.
    let bigger = unsafe { borrowed_buffer(buf, len) };
    let Target::Chunks(chunks) = &mut stream.target else {
        stream.error = Some(Error::Internal("not a chunk stream".into()));
        return FAILED;
    };
    match chunks.move_to(bigger) {
        Ok(()) => OK,
        Err(e) => {
            stream.error = Some(Error::Internal(e.into()));
            FAILED
        }
    }
}

/// Copies as much of `len` bytes at `buf` as fits into a chunk stream's
/// buffer; returns how many it took (0 when full: drain it first).
///
/// # Safety
/// `stream` is a live handle; `buf` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_fill(stream: *mut Stream, buf: *const u8, len: usize) -> usize {
    // SAFETY: see `handle`.
    let Some(Stream { target: Target::Chunks(chunks), .. }) = (unsafe { handle(stream) }) else {
        return 0;
    };
    // SAFETY: R passes a buffer of `len` bytes that lives for this call.
    chunks.fill(unsafe { borrowed_bytes(buf, len) })
}

/// The bytes a chunk stream holds, if it must be drained now: when its
/// buffer is full, or when `last` is non-zero and it holds anything. Returns
/// their count and stores their address in `out`; 0 when nothing is due.
///
/// # Safety
/// `stream` is a live handle; `out` is writable. The bytes stay valid until
/// the next call on the handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_pending(stream: *mut Stream, last: c_int, out: *mut *const u8) -> usize {
    // SAFETY: see `handle`.
    let Some(Stream { target: Target::Chunks(chunks), .. }) = (unsafe { handle(stream) }) else {
        return 0;
    };
    let pending = chunks.pending();
    if out.is_null() || pending.is_empty() || !(chunks.is_full() || last != 0) {
        return 0;
    }
    // SAFETY: `out` is writable (checked non-null above).
    unsafe { *out = pending.as_ptr() };
    pending.len()
}

/// Empties a chunk stream's buffer once C has written it out.
///
/// # Safety
/// `stream` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_clear(stream: *mut Stream) {
    // SAFETY: see `handle`.
    if let Some(Stream { target: Target::Chunks(chunks), .. }) = unsafe { handle(stream) } {
        chunks.clear();
    }
}

/// Hands `len` bytes at `buf` to the stream. Returns 0, or -1 once the stream
/// has failed (then the bytes are dropped and the error is kept).
///
/// # Safety
/// `stream` is a live handle; `buf` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_write(stream: *mut Stream, buf: *const u8, len: c_int) -> Status {
    // SAFETY: see `handle`.
    let Some(stream) = (unsafe { handle(stream) }) else {
        return FAILED;
    };
    let bytes: &[u8] = match usize::try_from(len) {
        Ok(0) => &[],
        Ok(n) if !buf.is_null() => {
            // SAFETY: R passes a buffer of `len` bytes that lives for this call.
            unsafe { std::slice::from_raw_parts(buf, n) }
        }
        _ => {
            stream.error = Some(Error::Internal(format!("invalid write of {len} bytes")));
            return FAILED;
        }
    };
    stream.run(|sink| sink.write(bytes))
}

/// Completes the stream (checks its length, flushes). 0 on success, -1 on failure.
///
/// # Safety
/// `stream` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_finish(stream: *mut Stream) -> Status {
    // SAFETY: see `handle`.
    match unsafe { handle(stream) } {
        Some(stream) => stream.run(|sink| sink.finish()),
        None => FAILED,
    }
}

/// Bytes the stream has taken so far (as a double: it may exceed 2^53 only in theory).
///
/// # Safety
/// `stream` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_bytes(stream: *mut Stream) -> f64 {
    // SAFETY: see `handle`.
    unsafe { handle(stream) }.map_or(-1.0, |s| s.bytes() as f64)
}

/// Copies the stream's error message, NUL-terminated and truncated to `size`
/// bytes, into `out`. Returns the error's kind, [`ErrorKind::None`] if
/// there is none.
///
/// # Safety
/// `stream` is a live handle; `out` points to `size` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_message(stream: *mut Stream, out: *mut c_char, size: usize) -> ErrorKind {
    // SAFETY: see `handle`.
    let Some(error) = (unsafe { handle(stream) }).and_then(|s| s.error.as_ref()) else {
        return ErrorKind::None;
    };
    let kind = error.kind();
    // SAFETY: see the function's contract.
    unsafe { copy_message(&error.to_string(), out, size) };
    kind
}

/// Releases a handle (null is ignored).
///
/// # Safety
/// `stream` is null or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_free(stream: *mut Stream) {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { super::free(stream) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_stream_round_trip() {
        let mut buf = vec![0u8; 5];
        unsafe {
            let s = lowmem_stream_slice_new(buf.as_mut_ptr(), buf.len());
            assert_eq!(lowmem_stream_write(s, b"hel".as_ptr(), 3), OK);
            assert_eq!(lowmem_stream_write(s, b"lo".as_ptr(), 2), OK);
            assert_eq!(lowmem_stream_finish(s), OK);
            assert_eq!(lowmem_stream_bytes(s), 5.0);
            lowmem_stream_free(s);
        }
        assert_eq!(&buf, b"hello");
    }

    #[test]
    fn overflow_is_reported_and_sticky() {
        let mut buf = vec![0u8; 2];
        let mut msg = [0 as c_char; 256];
        unsafe {
            let s = lowmem_stream_slice_new(buf.as_mut_ptr(), buf.len());
            assert_eq!(lowmem_stream_write(s, b"abc".as_ptr(), 3), FAILED);
            assert_eq!(lowmem_stream_write(s, b"a".as_ptr(), 1), FAILED, "first error sticks");
            assert_eq!(lowmem_stream_message(s, msg.as_mut_ptr(), msg.len()), ErrorKind::Miscounted);
            lowmem_stream_free(s);
            let text = std::ffi::CStr::from_ptr(msg.as_ptr()).to_str().unwrap();
            assert!(text.contains("longer than the 2 bytes counted"), "{text}");
        }
    }

    #[test]
    fn message_is_truncated_safely() {
        let mut msg = [1 as c_char; 4];
        unsafe {
            let s = lowmem_stream_count_new();
            assert_eq!(lowmem_stream_message(s, msg.as_mut_ptr(), msg.len()), ErrorKind::None);
            assert_eq!(lowmem_stream_write(s, std::ptr::null(), -4), FAILED);
            assert_eq!(lowmem_stream_message(s, msg.as_mut_ptr(), msg.len()), ErrorKind::Internal);
            assert_eq!(msg[3], 0, "NUL-terminated within the buffer");
            lowmem_stream_free(s);
        }
    }

    #[test]
    fn chunk_stream_is_drained_by_the_caller() {
        let mut drained = Vec::new();
        let mut mem = [0u8; 4];
        unsafe {
            let s = lowmem_stream_chunks_new(mem.as_mut_ptr(), mem.len(), mem.len());
            let mut rest: &[u8] = b"abcdefghij";
            while !rest.is_empty() {
                let took = lowmem_stream_fill(s, rest.as_ptr(), rest.len());
                rest = &rest[took..];
                let mut p = std::ptr::null();
                let n = lowmem_stream_pending(s, 0, &mut p);
                if n > 0 {
                    drained.push(std::slice::from_raw_parts(p, n).to_vec());
                    lowmem_stream_clear(s);
                }
            }
            let mut p = std::ptr::null();
            let n = lowmem_stream_pending(s, 1, &mut p);
            drained.push(std::slice::from_raw_parts(p, n).to_vec());
            assert_eq!(lowmem_stream_bytes(s), 10.0);
            assert_eq!(lowmem_stream_finish(s), OK);
            lowmem_stream_free(s);
        }
        assert_eq!(drained, vec![b"abcd".to_vec(), b"efgh".to_vec(), b"ij".to_vec()]);
    }

    #[test]
    fn file_stream_that_cannot_open_carries_the_error() {
        let mut msg = [0 as c_char; 512];
        unsafe {
            let s = lowmem_stream_file_new(c"/nonexistent-dir/x.rds".as_ptr(), 0, 0, 1024);
            assert_eq!(lowmem_stream_write(s, b"a".as_ptr(), 1), FAILED);
            assert_eq!(lowmem_stream_message(s, msg.as_mut_ptr(), msg.len()), ErrorKind::Io);
            lowmem_stream_free(s);
            let text = std::ffi::CStr::from_ptr(msg.as_ptr()).to_str().unwrap();
            assert!(text.starts_with("cannot write '/nonexistent-dir/x.rds'"), "{text}");
        }
    }

    #[test]
    fn null_handles_are_harmless() {
        unsafe {
            assert_eq!(lowmem_stream_write(std::ptr::null_mut(), b"a".as_ptr(), 1), FAILED);
            assert_eq!(lowmem_stream_finish(std::ptr::null_mut()), FAILED);
            lowmem_stream_free(std::ptr::null_mut());
        }
    }
}
