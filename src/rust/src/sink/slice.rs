use super::Sink;
use crate::error::{Error, Result};

/// A buffer whose size was counted beforehand, filled from its start: the
/// native writer's destination (as a `format::encode::Dest`) and R's
/// serializer's (as a [`Sink`]) for a result vector.
///
/// It never writes past the end: a piece that does not fit is refused whole
/// and reported as [`Error::Overflow`], and `finish` reports a stream that
/// came out shorter than the buffer as [`Error::Underflow`]. Either would be
/// a bug: counting and writing disagree.
#[derive(Debug)]
pub struct Slice<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Slice<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The written part of the buffer.
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.pos]
    }

    /// The next `n` bytes of the buffer, or an overflow error.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&mut [u8]> {
        let start = self.pos;
        let end = start
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or(Error::Overflow { expected: self.buf.len() as u64, attempted: start as u64 + n as u64 })?;
        self.pos = end;
        Ok(&mut self.buf[start..end])
    }

    /// Checks that the buffer was filled exactly.
    pub fn finish(&self) -> Result<()> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(Error::Underflow { expected: self.buf.len() as u64, written: self.pos as u64 })
        }
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }
}

impl Sink for Slice<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.take(bytes.len())?.copy_from_slice(bytes);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Slice::finish(self)
    }

    fn bytes_written(&self) -> u64 {
        self.position()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_exactly() {
        let mut buf = [0u8; 6];
        let mut sink = Slice::new(&mut buf);
        sink.write(b"X\n").unwrap();
        sink.write(&[0, 0, 0, 3]).unwrap();
        sink.finish().unwrap();
        assert_eq!(&buf, b"X\n\0\0\0\x03");
    }

    #[test]
    fn refuses_to_write_past_the_end() {
        let mut buf = [0u8; 4];
        let mut sink = Slice::new(&mut buf);
        sink.write(b"abc").unwrap();
        let err = sink.write(b"de").unwrap_err();
        assert!(matches!(err, Error::Overflow { expected: 4, attempted: 5 }));
        assert_eq!(sink.bytes_written(), 3);
        assert_eq!(&buf, b"abc\0", "nothing of the refused piece is written");
    }

    #[test]
    fn reports_a_short_stream() {
        let mut buf = [0u8; 4];
        let mut sink = Slice::new(&mut buf);
        sink.write(b"ab").unwrap();
        assert!(matches!(sink.finish(), Err(Error::Underflow { expected: 4, written: 2 })));
    }
}
