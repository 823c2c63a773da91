//! `digest()`'s hash (`src/lowmem.h`): a handle C makes for the call and
//! frees in its unwind cleanup, fed by either writer through a sink, then
//! asked for the result digest::digest() returns.
//!
//! * R's serializer writes into a stream over the hash
//!   ([`lowmem_stream_digest_new`]), as it writes into a file's.
//! * The native writer's streaming pass stages its chunks into the hash
//!   ([`lowmem_native_begin_digest`]).
//! * digest's `serialize = FALSE`: a string's or raw vector's bytes
//!   ([`lowmem_digest_bytes`]); `file = TRUE`: a file's, read in chunks
//!   ([`lowmem_digest_file`]).

use std::cell::RefCell;
use std::ffi::{c_char, c_int};
use std::fs::File;
use std::io::{ErrorKind as IoKind, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::rc::Rc;

use super::job::{format_of, with_job};
use super::stream::Stream;
use super::{copy_message, guard, Status};
use crate::error::Error;
use crate::format::job::Job;
use crate::hash::{Algo, Digester, Hash, Skip};
use crate::sink::HashSink;

/// The native writer's staging chunk for a hash: small enough that a
/// chunk is still in the CPU's cache when it is hashed.
const HASH_CHUNK: usize = 256 * 1024;

pub struct DigestStream {
    digester: Rc<RefCell<Digester>>,
    hash: Option<Hash>,
}

impl DigestStream {
    fn sink(&self) -> HashSink {
        HashSink::new(Rc::clone(&self.digester))
    }
}

/// A digest handle for digest's algorithm `algo` (its `algo_int` codes),
/// `seed`, a skip of `skip` bytes (nothing if `skip <= 0`) or, if
/// `ascii_header` is non-zero, of the ASCII header (see [`Skip`]), and at
/// most `length` bytes hashed (all if `length < 0`). Null for an unknown
/// algorithm.
#[no_mangle]
pub extern "C" fn lowmem_digest_new(
    algo: c_int,
    seed: c_int,
    skip: c_int,
    ascii_header: c_int,
    length: c_int,
) -> *mut DigestStream {
    let made = guard(|| {
        let algo = Algo::from_code(algo).ok_or_else(|| Error::Internal(format!("unknown hash {algo}")))?;
        let skip = if ascii_header != 0 { Skip::AsciiHeader } else { Skip::Bytes(skip.max(0) as u64) };
        let length = u64::try_from(length).ok();
        let digester = Rc::new(RefCell::new(Digester::new(algo, seed, skip, length)));
        Ok(Box::into_raw(Box::new(DigestStream { digester, hash: None })))
    });
    made.unwrap_or(std::ptr::null_mut())
}

/// A stream (for R's serializer) whose bytes go to the hash; null for a
/// null handle. Freed with `lowmem_stream_free`; the hash stays with `d`.
///
/// # Safety
/// `d` is null or a live handle.
#[no_mangle]
pub unsafe extern "C" fn lowmem_stream_digest_new(d: *mut DigestStream) -> *mut Stream {
    // SAFETY: see the function's contract.
    match unsafe { d.as_ref() } {
        Some(d) => Stream::new(Box::new(d.sink())),
        None => std::ptr::null_mut(),
    }
}

/// Starts the job's streaming pass in `format` into the hash (C then
/// steps it to its end). DONE or FAILED (the job has the error).
///
/// # Safety
/// `job` and `d` are live handles.
#[no_mangle]
pub unsafe extern "C" fn lowmem_native_begin_digest(job: *mut Job, format: c_int, d: *mut DigestStream) -> Status {
    // SAFETY: see the function's contract.
    let Some(d) = (unsafe { d.as_ref() }) else {
        return Status::Failed;
    };
    let sink = d.sink();
    with_job(job, |job| job.begin_hash(format_of(format)?, HASH_CHUNK, sink).map(|()| Status::Done))
}

/// Hashes `len` bytes at `bytes` (digest's `serialize = FALSE`: the
/// handle's skip and length window them as digest's C code does a string
/// or raw vector). DONE, or FAILED for a dead handle.
///
/// # Safety
/// `d` is null or a live handle; `bytes` points to `len` readable bytes
/// (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn lowmem_digest_bytes(d: *mut DigestStream, bytes: *const u8, len: usize) -> Status {
    // SAFETY: see the function's contract.
    let Some(d) = (unsafe { d.as_ref() }) else {
        return Status::Failed;
    };
    if len > 0 && bytes.is_null() {
        return Status::Failed;
    }
    let slice = if len == 0 {
        &[][..]
    } else {
        // SAFETY: `bytes` points to `len` readable bytes.
        unsafe { std::slice::from_raw_parts(bytes, len) }
    };
    match guard(|| {
        d.digester.borrow_mut().write(slice);
        Ok(())
    }) {
        Ok(()) => Status::Done,
        Err(_) => Status::Failed,
    }
}

/// The chunk a file is read in.
const FILE_CHUNK: usize = 64 * 1024;

/// A path from C's bytes: the native encoding's on Unix, UTF-8 elsewhere
/// (R/digest.R converts it with `enc2utf8()` on Windows, as digest does).
fn path_of(bytes: &[u8]) -> Option<PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(bytes).ok().map(PathBuf::from)
    }
}

/// An I/O error's text without Rust's " (os error N)".
fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Hashes the file at `path` (`path_len` bytes, not NUL-terminated), read
/// in chunks, from byte `skip` (if `skip > 0`) on: digest's `file = TRUE`,
/// which `fseek`s past the skipped bytes (a skip beyond the end hashes
/// nothing) and then reads at most the handle's `length`. The handle must
/// have been made with no skip of its own. A directory opens and reads as
/// nothing, as `fopen()`/`fread()` give digest on Unix (digest's R code
/// has refused it unless `errormode` says otherwise). DONE, or FAILED with
/// the message in `msg`: 1 if the file cannot be opened, 2 if a read
/// failed, 3 for anything else (`*why`).
///
/// # Safety
/// `d` is null or a live handle; `path` points to `path_len` readable
/// bytes; `msg` to `msg_size` writable bytes; `why` is writable.
#[no_mangle]
pub unsafe extern "C" fn lowmem_digest_file(
    d: *mut DigestStream,
    path: *const c_char,
    path_len: usize,
    skip: c_int,
    msg: *mut c_char,
    msg_size: usize,
    why: *mut c_int,
) -> Status {
    // SAFETY: see the function's contract.
    let (Some(d), false, false) = (unsafe { d.as_ref() }, path.is_null(), why.is_null()) else {
        return Status::Failed;
    };
    // SAFETY: `path` points to `path_len` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(path.cast::<u8>(), path_len) };
    let shown = String::from_utf8_lossy(bytes).into_owned();
    let made = guard(|| {
        let Some(path) = path_of(bytes) else {
            return Ok(Err((1, format!("Cannot open input file: {shown}"))));
        };
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => return Ok(Err((1, format!("Cannot open input file: {shown} ({})", io_text(&e))))),
        };
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Ok(Ok(()));
        }
        if skip > 0 {
            if let Err(e) = file.seek(SeekFrom::Start(skip as u64)) {
                return Ok(Err((2, format!("cannot read file '{shown}': {}", io_text(&e)))));
            }
        }
        let mut buf = vec![0u8; FILE_CHUNK];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return Ok(Ok(())),
                Ok(n) => d.digester.borrow_mut().write(&buf[..n]),
                Err(e) if e.kind() == IoKind::Interrupted => {}
                Err(e) => return Ok(Err((2, format!("cannot read file '{shown}': {}", io_text(&e))))),
            }
        }
    });
    let (code, text) = match made {
        Ok(Ok(())) => return Status::Done,
        Ok(Err((code, text))) => (code, text),
        Err(e) => (3, e.to_string()),
    };
    // SAFETY: `msg` has room for `msg_size` bytes; `why` is writable.
    unsafe {
        copy_message(&text, msg, msg_size);
        *why = code;
    }
    Status::Failed
}

/// Finishes the hash (once; later calls give the same) and copies what
/// digest returns into `out`: its bytes if `raw` is non-zero (`*is_raw` =
/// 1), else the hex text (`*is_raw` = 0, not NUL-terminated). Returns the
/// length, or -1 if it does not fit in `size` bytes or the handle is dead.
///
/// # Safety
/// `d` is a live handle; `out` points to `size` writable bytes; `is_raw`
/// is writable.
#[no_mangle]
pub unsafe extern "C" fn lowmem_digest_result(
    d: *mut DigestStream,
    raw: c_int,
    out: *mut u8,
    size: usize,
    is_raw: *mut c_int,
) -> isize {
    // SAFETY: see the function's contract.
    let Some(d) = (unsafe { d.as_mut() }) else {
        return -1;
    };
    if out.is_null() || is_raw.is_null() {
        return -1;
    }
    let made = guard(|| {
        if d.hash.is_none() {
            d.hash = d.digester.borrow_mut().finish();
        }
        Ok(d.hash.as_ref().map(|hash| hash.output(raw != 0)))
    });
    let Ok(Some(output)) = made else {
        return -1;
    };
    let (bytes, flag) = match &output {
        Ok(bytes) => (bytes.as_slice(), 1),
        Err(text) => (text.as_bytes(), 0),
    };
    if bytes.len() > size {
        return -1;
    }
    // SAFETY: `out` has room for `size >= bytes.len()` bytes; `is_raw` is writable.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len());
        *is_raw = flag;
    }
    bytes.len() as isize
}

/// Releases a handle (null is ignored).
///
/// # Safety
/// `d` is null or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn lowmem_digest_free(d: *mut DigestStream) {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { super::free(d) }
}

#[cfg(test)]
mod tests {
    use super::super::stream::{lowmem_stream_free, lowmem_stream_write};
    use super::*;

    #[test]
    fn bytes_and_files_are_windowed_as_digest_windows_them() {
        let mut out = [0u8; 128];
        let mut is_raw = -1;
        let mut msg = [0 as c_char; 256];
        let mut why = 0;
        let dir = std::env::temp_dir().join(format!("lowmem-digest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.txt");
        std::fs::write(&path, b"xxabcdef").unwrap();
        let p = path.to_str().unwrap();
        unsafe {
            let d = lowmem_digest_new(1, 0, 2, 0, 3);
            assert_eq!(lowmem_digest_bytes(d, b"xxab".as_ptr(), 4), Status::Done);
            assert_eq!(lowmem_digest_bytes(d, b"cdef".as_ptr(), 4), Status::Done);
            let n = lowmem_digest_result(d, 0, out.as_mut_ptr(), out.len(), &mut is_raw);
            assert_eq!(&out[..n as usize], b"900150983cd24fb0d6963f7d28e17f72", "md5 of abc");
            lowmem_digest_free(d);

            let d = lowmem_digest_new(1, 0, 0, 0, 3);
            let status = lowmem_digest_file(d, p.as_ptr().cast(), p.len(), 2, msg.as_mut_ptr(), msg.len(), &mut why);
            assert_eq!(status, Status::Done);
            let n = lowmem_digest_result(d, 0, out.as_mut_ptr(), out.len(), &mut is_raw);
            assert_eq!(&out[..n as usize], b"900150983cd24fb0d6963f7d28e17f72", "the file's abc");
            lowmem_digest_free(d);

            let empty = b"d41d8cd98f00b204e9800998ecf8427e";
            let d = lowmem_digest_new(1, 0, 0, 0, -1);
            let status = lowmem_digest_file(d, p.as_ptr().cast(), p.len(), 100, msg.as_mut_ptr(), msg.len(), &mut why);
            assert_eq!(status, Status::Done, "a skip past the end hashes nothing");
            let n = lowmem_digest_result(d, 0, out.as_mut_ptr(), out.len(), &mut is_raw);
            assert_eq!(&out[..n as usize], empty);
            lowmem_digest_free(d);

            // A directory opens and reads as nothing on Unix, as digest's
            // fopen() and fread() find it; Windows opens no directory as a
            // file (digest there fails to open it too).
            let dp = dir.to_str().unwrap();
            let d = lowmem_digest_new(1, 0, 0, 0, -1);
            let status = lowmem_digest_file(d, dp.as_ptr().cast(), dp.len(), 0, msg.as_mut_ptr(), msg.len(), &mut why);
            if cfg!(unix) {
                assert_eq!(status, Status::Done, "a directory reads as nothing");
                let n = lowmem_digest_result(d, 0, out.as_mut_ptr(), out.len(), &mut is_raw);
                assert_eq!(&out[..n as usize], empty);
            } else {
                assert_eq!(status, Status::Failed, "no directory opens as a file");
            }
            lowmem_digest_free(d);

            let missing = dir.join("none");
            let m = missing.to_str().unwrap();
            let d = lowmem_digest_new(1, 0, 0, 0, -1);
            let status = lowmem_digest_file(d, m.as_ptr().cast(), m.len(), 0, msg.as_mut_ptr(), msg.len(), &mut why);
            assert_eq!((status, why), (Status::Failed, 1));
            let text = std::ffi::CStr::from_ptr(msg.as_ptr()).to_str().unwrap();
            assert!(text.starts_with("Cannot open input file: "), "{text}");
            assert!(!text.contains("os error"), "{text}");
            lowmem_digest_free(d);
            assert_eq!(lowmem_digest_bytes(std::ptr::null_mut(), b"a".as_ptr(), 1), Status::Failed);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_handle_hashes_what_its_stream_is_given() {
        let mut out = [0u8; 128];
        let mut is_raw = -1;
        unsafe {
            assert!(lowmem_digest_new(14, 0, 0, 0, -1).is_null(), "no such algorithm");
            let d = lowmem_digest_new(1, 0, 1, 0, -1);
            let s = lowmem_stream_digest_new(d);
            assert_eq!(lowmem_stream_write(s, b"xab".as_ptr(), 3), Status::Done);
            assert_eq!(lowmem_stream_write(s, b"c".as_ptr(), 1), Status::Done);
            lowmem_stream_free(s);
            let n = lowmem_digest_result(d, 0, out.as_mut_ptr(), out.len(), &mut is_raw);
            assert_eq!(&out[..n as usize], b"900150983cd24fb0d6963f7d28e17f72");
            assert_eq!(is_raw, 0);
            let n = lowmem_digest_result(d, 1, out.as_mut_ptr(), out.len(), &mut is_raw);
            assert_eq!((n, is_raw), (16, 1), "the same hash, as bytes");
            assert_eq!(lowmem_digest_result(d, 0, out.as_mut_ptr(), 4, &mut is_raw), -1, "too small");
            lowmem_digest_free(d);
            lowmem_digest_free(std::ptr::null_mut());
            assert!(lowmem_stream_digest_new(std::ptr::null_mut()).is_null());
        }
    }
}
