//! A sink whose writes are made by C.
//!
//! The native writer streams to an R connection through this sink: each
//! piece goes to a C function (src/native.c, `native_write`), which writes
//! it with an R call and catches R's jumps itself (the unwind rule:
//! `crate::ffi`), reporting one as a non-zero status.

use std::ffi::{c_int, c_void};

use super::Sink;
use crate::error::{Error, Result};

/// Writes `len` bytes at `bytes` for the context `ctx`. Returns 0, or
/// non-zero if R stopped the write (C keeps the condition).
pub type WriteFn = unsafe extern "C" fn(ctx: *mut c_void, bytes: *const u8, len: usize) -> c_int;

pub struct CallbackSink {
    write: WriteFn,
    ctx: *mut c_void,
    written: u64,
    /// Set once a write was stopped: nothing more is written.
    stopped: bool,
}

impl CallbackSink {
    /// # Safety
    /// `write` may be called with `ctx` for as long as the sink lives; it
    /// must not unwind or jump.
    pub unsafe fn new(write: WriteFn, ctx: *mut c_void) -> CallbackSink {
        CallbackSink { write, ctx, written: 0, stopped: false }
    }
}

impl Sink for CallbackSink {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.stopped {
            return Err(Error::Stopped);
        }
        // SAFETY: the caller of `new` vouched for `write` and `ctx`; the
        // bytes are valid for the call.
        if unsafe { (self.write)(self.ctx, bytes.as_ptr(), bytes.len()) } != 0 {
            self.stopped = true;
            return Err(Error::Stopped);
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.stopped {
            return Err(Error::Stopped);
        }
        Ok(())
    }

    fn bytes_written(&self) -> u64 {
        self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn collect(ctx: *mut c_void, bytes: *const u8, len: usize) -> c_int {
        let out = unsafe { &mut *ctx.cast::<Vec<u8>>() };
        out.extend_from_slice(unsafe { std::slice::from_raw_parts(bytes, len) });
        if out.len() > 10 {
            1
        } else {
            0
        }
    }

    #[test]
    fn writes_go_to_the_function_until_it_stops() {
        let mut out: Vec<u8> = Vec::new();
        let mut sink = unsafe { CallbackSink::new(collect, (&mut out as *mut Vec<u8>).cast()) };
        sink.write(b"hello").unwrap();
        assert_eq!(sink.bytes_written(), 5);
        assert!(matches!(sink.write(b"world!"), Err(Error::Stopped)));
        assert!(matches!(sink.write(b"more"), Err(Error::Stopped)));
        assert!(matches!(sink.finish(), Err(Error::Stopped)));
        assert_eq!(out, b"helloworld!");
    }
}
