use super::Sink;
use crate::error::{Error, Result};

/// Writes a stream into a buffer whose size was counted beforehand.
///
/// It never writes past the end: a piece that does not fit is refused whole
/// and reported as [`Error::Overflow`], and `finish` reports a stream that
/// came out shorter than the buffer as [`Error::Underflow`].
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> SliceSink<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }
}

impl Sink for SliceSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .filter(|&end| end <= self.buf.len())
            .ok_or(Error::Overflow {
                expected: self.buf.len() as u64,
                attempted: self.pos as u64 + bytes.len() as u64,
            })?;
        self.buf[self.pos..end].copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(Error::Underflow {
                expected: self.buf.len() as u64,
                written: self.pos as u64,
            })
        }
    }

    fn bytes_written(&self) -> u64 {
        self.pos as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_exactly() {
        let mut buf = [0u8; 6];
        let mut sink = SliceSink::new(&mut buf);
        sink.write(b"X\n").unwrap();
        sink.write(&[0, 0, 0, 3]).unwrap();
        sink.finish().unwrap();
        assert_eq!(&buf, b"X\n\0\0\0\x03");
    }

    #[test]
    fn refuses_to_write_past_the_end() {
        let mut buf = [0u8; 4];
        let mut sink = SliceSink::new(&mut buf);
        sink.write(b"abc").unwrap();
        let err = sink.write(b"de").unwrap_err();
        assert!(matches!(err, Error::Overflow { expected: 4, attempted: 5 }));
        assert_eq!(sink.bytes_written(), 3);
        assert_eq!(&buf, b"abc\0", "nothing of the refused piece is written");
    }

    #[test]
    fn reports_a_short_stream() {
        let mut buf = [0u8; 4];
        let mut sink = SliceSink::new(&mut buf);
        sink.write(b"ab").unwrap();
        assert!(matches!(
            sink.finish(),
            Err(Error::Underflow { expected: 4, written: 2 })
        ));
    }
}
