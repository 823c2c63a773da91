//! A destination that streams: the native writer's output for files and
//! connections.
//!
//! The encoders write into one staging buffer of `chunk + ROOM` bytes, and
//! every full chunk goes on to a [`Sink`] (a file, a codec, a connection
//! through C), exactly `chunk` bytes at a time; the last write holds the
//! rest. The buffer never grows: a [`Dest::take`] asks for at most
//! [`Dest::room`] bytes (the encoders cut longer vectors and strings into
//! pieces), so it always fits once the full chunks are out. It starts at
//! [`FIRST`] (plus the room) and doubles up to a chunk only as the stream
//! fills it: a short stream with a huge `chunk_size` maps only what it
//! uses, in address space as in memory.

use super::encode::{Dest, MIN_ROOM};
use crate::error::{Error, Result};
use crate::sink::{Pages, Sink};

/// The room of a staged destination: the largest piece an encoder asks for
/// at once. Also the most bytes moved back to the start of the buffer
/// after each chunk goes out (6% of a 1 MiB chunk).
pub const ROOM: usize = 64 * 1024;

/// The staging buffer's first size (plus [`ROOM`]), if the chunk is larger:
/// the default chunk, so that it never grows.
pub const FIRST: usize = 1 << 20;

pub struct Staged {
    /// Page-aligned: with a chunk size that is a multiple of the page size,
    /// every chunk handed on is aligned (a file takes it by direct I/O).
    buf: Pages,
    /// Bytes staged in `buf`.
    len: usize,
    chunk: usize,
    /// Bytes handed to the sink.
    flushed: u64,
    sink: Box<dyn Sink>,
}

impl Staged {
    /// Stages for `sink` in chunks of `chunk` bytes (at least one). Fails
    /// only if the buffer cannot be allocated.
    pub fn new(sink: Box<dyn Sink>, chunk: usize) -> Result<Staged> {
        let chunk = chunk.max(1);
        chunk.checked_add(ROOM).ok_or(Error::OutOfMemory { bytes: u64::MAX })?;
        let buf = Pages::new(chunk.min(FIRST) + ROOM)?;
        Ok(Staged { buf, len: 0, chunk, flushed: 0, sink })
    }

    /// Doubles the buffer (at most to a chunk plus the room), keeping what
    /// it holds. Only while less than a chunk is staged: growth stops at the
    /// chunk, whatever the size of the stream.
    fn grow(&mut self) -> Result<()> {
        let now = self.buf.len() - ROOM;
        if now >= self.chunk {
            return Err(Error::Internal("the staging buffer cannot grow past a chunk".into()));
        }
        let mut bigger = Pages::new(now.saturating_mul(2).min(self.chunk) + ROOM)?;
        bigger[..self.len].copy_from_slice(&self.buf[..self.len]);
        self.buf = bigger;
        Ok(())
    }

    /// Writes out every full chunk, and moves what is left to the start.
    fn flush_chunks(&mut self) -> Result<()> {
        let mut from = 0;
        while self.len - from >= self.chunk {
            self.sink.write(&self.buf[from..from + self.chunk])?;
            from += self.chunk;
        }
        self.buf.copy_within(from..self.len, 0);
        self.len -= from;
        self.flushed += from as u64;
        Ok(())
    }

    /// Writes out the rest and finishes the sink (a file is synced and
    /// renamed into place).
    pub fn finish(&mut self) -> Result<()> {
        self.flush_chunks()?;
        if self.len > 0 {
            self.sink.write(&self.buf[..self.len])?;
            self.flushed += self.len as u64;
            self.len = 0;
        }
        self.sink.finish()
    }
}

impl Dest for Staged {
    const COUNTS: bool = false;

    #[inline]
    fn take(&mut self, n: usize) -> Result<Option<&mut [u8]>> {
        if self.len + n > self.buf.len() {
            self.flush_chunks()?;
            if n > ROOM {
                return Err(Error::Internal(format!("a piece of {n} bytes is larger than the staging room")));
            }
            while self.len + n > self.buf.len() {
                self.grow()?;
            }
        }
        let start = self.len;
        self.len += n;
        Ok(Some(&mut self.buf[start..self.len]))
    }

    fn position(&self) -> u64 {
        self.flushed + self.len as u64
    }

    #[inline]
    fn room(&self) -> usize {
        ROOM
    }
}

const _: () = assert!(ROOM >= MIN_ROOM);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::encode::{Ascii, Encoder, Xdr};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Records every write and whether the sink was finished.
    #[derive(Default)]
    struct Log {
        writes: Vec<Vec<u8>>,
        finished: bool,
    }

    struct LogSink(Rc<RefCell<Log>>);

    impl Sink for LogSink {
        fn write(&mut self, bytes: &[u8]) -> Result<()> {
            self.0.borrow_mut().writes.push(bytes.to_vec());
            Ok(())
        }
        fn finish(&mut self) -> Result<()> {
            self.0.borrow_mut().finished = true;
            Ok(())
        }
        fn bytes_written(&self) -> u64 {
            self.0.borrow().writes.iter().map(|w| w.len() as u64).sum()
        }
    }

    fn staged(chunk: usize) -> (Staged, Rc<RefCell<Log>>) {
        let log = Rc::new(RefCell::new(Log::default()));
        (Staged::new(Box::new(LogSink(Rc::clone(&log))), chunk).unwrap(), log)
    }

    /// What the same script writes into an unbounded buffer.
    fn expected(script: impl Fn(&mut Xdr<crate::sink::Slice>) -> Result<()>, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        script(&mut Xdr(crate::sink::Slice::new(&mut buf))).unwrap();
        buf
    }

    #[test]
    fn chunks_are_exact_and_the_buffer_never_grows() {
        let doubles: Vec<f64> = (0..100_000).map(|i| i as f64 * 0.5).collect();
        let long = vec![b'x'; 3 * ROOM + 17];
        for chunk in [1usize, 7, 4096, 1 << 20] {
            let (mut dest, log) = staged(chunk);
            let capacity = dest.buf.len();
            let mut enc = Xdr(dest);
            enc.int(5).unwrap();
            enc.doubles(&doubles).unwrap();
            enc.charsxp(0x40009, Some(&long)).unwrap();
            enc.raw(&long).unwrap();
            enc.charsxp(9, None).unwrap();
            dest = enc.0;
            assert_eq!(dest.buf.len(), capacity, "chunk {chunk}");
            let total = dest.position();
            dest.finish().unwrap();
            let log = log.borrow();
            assert!(log.finished);
            let (last, full) = log.writes.split_last().unwrap();
            assert!(full.iter().all(|w| w.len() == chunk), "chunk {chunk}");
            assert!(!last.is_empty() && last.len() <= chunk);
            let all: Vec<u8> = log.writes.concat();
            assert_eq!(all.len() as u64, total);
            let want = expected(
                |e| {
                    e.int(5)?;
                    e.doubles(&doubles)?;
                    e.charsxp(0x40009, Some(&long))?;
                    e.raw(&long)?;
                    e.charsxp(9, None)
                },
                all.len(),
            );
            assert_eq!(all, want, "chunk {chunk}");
        }
    }

    #[test]
    fn long_ascii_strings_are_escaped_in_pieces() {
        let text: Vec<u8> = (0..(5 * ROOM)).map(|i| (i % 256) as u8).collect();
        let (dest, log) = staged(1000);
        let mut enc = Ascii { dest, hex: false };
        enc.string(&text).unwrap();
        enc.raw(&text).unwrap();
        enc.dest.finish().unwrap();
        let all = log.borrow().writes.concat();
        let n = crate::format::ascii::string_text_len(&text);
        let mut want = vec![0u8; n];
        crate::format::ascii::string_text(&text, &mut want);
        for &b in &text {
            want.extend_from_slice(&crate::format::ascii::byte_text(b));
        }
        assert_eq!(all, want);
    }

    #[test]
    fn a_sink_error_is_returned() {
        struct Failing;
        impl Sink for Failing {
            fn write(&mut self, _: &[u8]) -> Result<()> {
                Err(Error::Internal("full".into()))
            }
            fn finish(&mut self) -> Result<()> {
                Ok(())
            }
            fn bytes_written(&self) -> u64 {
                0
            }
        }
        let mut enc = Xdr(Staged::new(Box::new(Failing), 4).unwrap());
        assert!(enc.doubles(&vec![1.0; 100_000]).is_err());
    }

    #[test]
    fn the_buffer_grows_to_a_chunk_only_as_the_stream_fills_it() {
        // A tiny stream with a huge chunk maps the first size only.
        let (mut dest, log) = staged(usize::MAX - ROOM);
        assert_eq!(dest.buf.len(), FIRST + ROOM);
        let mut enc = Xdr(dest);
        enc.int(3).unwrap();
        dest = enc.0;
        dest.finish().unwrap();
        assert_eq!(log.borrow().writes, vec![3i32.to_be_bytes().to_vec()]);
        // A stream longer than a chunk of 4 MiB grows to the chunk, and no more.
        let chunk = 4 * FIRST + 3;
        let doubles: Vec<f64> = (0..2_000_000).map(|i| i as f64).collect();
        let (dest, log) = staged(chunk);
        let mut enc = Xdr(dest);
        enc.doubles(&doubles).unwrap();
        let grown = enc.0.buf.len();
        assert!(grown > chunk && grown <= chunk + ROOM, "{grown}");
        enc.doubles(&doubles).unwrap();
        assert_eq!(enc.0.buf.len(), grown, "no growth past a chunk");
        enc.0.finish().unwrap();
        let log = log.borrow();
        let (last, full) = log.writes.split_last().unwrap();
        assert!(full.iter().all(|w| w.len() == chunk));
        assert_eq!(full.len(), 2 * 16_000_000 / chunk);
        let all: Vec<u8> = log.writes.concat();
        assert_eq!(all.len(), 32_000_000);
        assert!(!last.is_empty());
        let want = expected(
            |e| {
                e.doubles(&doubles)?;
                e.doubles(&doubles)
            },
            all.len(),
        );
        assert!(all == want);
    }
}
