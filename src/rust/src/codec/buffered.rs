//! A fixed-size write buffer whose memory is allocated fallibly.
//!
//! `std::io::BufWriter` allocates its buffer infallibly: a `chunk_size` the
//! process cannot get would abort R. Here a failed allocation is an
//! ordinary error, which reaches R as a condition.

use std::io::{self, Write};

/// Reserves exactly `bytes` of capacity, or says it cannot.
pub fn try_buffer(bytes: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(bytes).map_err(|_| out_of_memory(bytes))?;
    Ok(buf)
}

/// `bytes` zero bytes, or `None` if they cannot be allocated. The memory
/// comes zeroed from the allocator (for a large buffer, fresh pages from
/// the kernel), so pages that are never written are never touched: a
/// `chunk_size` far larger than the stream costs address space, not memory.
pub fn try_zeroed(bytes: usize) -> Option<Vec<u8>> {
    if bytes == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(bytes).ok()?;
    // SAFETY: a non-zero-sized layout.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout
    // of `bytes` u8s, all initialised (zeroed); the Vec takes ownership.
    Some(unsafe { Vec::from_raw_parts(ptr, bytes, bytes) })
}

pub fn out_of_memory(bytes: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("cannot allocate a buffer of {bytes} bytes (try a smaller chunk_size)"),
    )
}

pub struct Buffered<W: Write> {
    buf: Vec<u8>,
    capacity: usize,
    inner: W,
}

impl<W: Write> Buffered<W> {
    pub fn with_capacity(capacity: usize, inner: W) -> io::Result<Self> {
        let capacity = capacity.max(1);
        Ok(Self { buf: try_buffer(capacity)?, capacity, inner })
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes out what is buffered and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.flush_buf()?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Buffered<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buf.len() + bytes.len() > self.capacity {
            self.flush_buf()?;
        }
        if bytes.len() >= self.capacity {
            self.inner.write_all(bytes)?;
        } else {
            self.buf.extend_from_slice(bytes); // within capacity: no reallocation
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_small_writes_and_passes_large_ones() {
        let mut w = Buffered::with_capacity(4, Vec::new()).unwrap();
        w.write_all(b"ab").unwrap();
        assert!(w.inner.is_empty());
        w.write_all(b"cde").unwrap(); // does not fit: flush "ab", buffer "cde"
        assert_eq!(w.inner, b"ab");
        w.write_all(b"fghij").unwrap(); // larger than the buffer: straight through
        assert_eq!(w.inner, b"abcdefghij");
        assert_eq!(w.buf.capacity(), 4);
        assert_eq!(w.into_inner().unwrap(), b"abcdefghij");
    }

    #[test]
    fn zeroed_buffers() {
        assert!(try_zeroed(0).unwrap().is_empty());
        let v = try_zeroed(1 << 20).unwrap();
        assert_eq!(v.len(), 1 << 20);
        assert!(v.iter().all(|&b| b == 0));
        // black_box: an allocation nothing looks at may be elided, as if it succeeded.
        assert!(std::hint::black_box(try_zeroed(std::hint::black_box(usize::MAX / 2))).is_none());
    }

    #[test]
    fn an_impossible_buffer_is_an_error_not_an_abort() {
        let err = Buffered::with_capacity(usize::MAX / 2, Vec::new()).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
        assert!(err.to_string().contains("chunk_size"));
    }
}
