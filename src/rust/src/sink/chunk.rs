/// A fixed-size buffer that coalesces the many small pieces R's serializer
/// emits (a 4-byte length, a 1-byte string, ...) into chunks of one size.
///
/// It never performs I/O itself: the owner drains a full chunk (for R
/// connections that is C code: see the unwind rule in `crate::ffi`) and
/// then clears it.
/// The memory is the owner's too: for connections, an R raw vector that is
/// handed to `writeBin()` as it is, without a copy. It may start shorter
/// than a chunk, so that a short stream with a huge `chunk_size` allocates
/// only what it uses: when it is full short of a chunk, the owner moves the
/// bytes into a larger buffer ([`ChunkBuffer::move_to`]).
#[derive(Debug)]
pub struct ChunkBuffer<'a> {
    buf: &'a mut [u8],
    chunk: usize,
    len: usize,
    total: u64,
}

impl<'a> ChunkBuffer<'a> {
    /// Chunks of `chunk` bytes, collected in `buf` (an empty `buf` takes
    /// nothing); a `buf` longer than a chunk is used up to a chunk.
    pub fn new(buf: &'a mut [u8], chunk: usize) -> Self {
        let chunk = chunk.max(1);
        let buf = if buf.len() > chunk { &mut buf[..chunk] } else { buf };
        Self { buf, chunk, len: 0, total: 0 }
    }

    /// Moves the buffered bytes into `bigger` and collects in it from now
    /// on. Fails, leaving everything as it was, if `bigger` cannot hold them.
    pub fn move_to(&mut self, bigger: &'a mut [u8]) -> Result<(), &'static str> {
        if bigger.len() < self.len {
            return Err("the new chunk buffer is shorter than what it must hold");
        }
        let bigger = if bigger.len() > self.chunk { &mut bigger[..self.chunk] } else { bigger };
        bigger[..self.len].copy_from_slice(&self.buf[..self.len]);
        self.buf = bigger;
        Ok(())
    }

    /// Copies as much of `bytes` as fits; returns how many bytes it took
    /// (0 when the buffer is full: drain a chunk, or move to a larger one).
    pub fn fill(&mut self, bytes: &[u8]) -> usize {
        let take = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
        self.total += take as u64;
        take
    }

    /// A whole chunk is buffered: it is due for writing.
    pub fn is_full(&self) -> bool {
        self.len == self.chunk
    }

    /// The buffered bytes, to be written out by the owner.
    pub fn pending(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Forgets the buffered bytes after the owner wrote them.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Bytes taken since creation.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drains like the C side does and returns the chunks written.
    fn drain_all(chunk: usize, pieces: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut mem = vec![0u8; chunk];
        let mut cb = ChunkBuffer::new(&mut mem, chunk);
        let mut out = Vec::new();
        for piece in pieces {
            let mut rest = *piece;
            while !rest.is_empty() {
                let took = cb.fill(rest);
                rest = &rest[took..];
                if cb.is_full() {
                    out.push(cb.pending().to_vec());
                    cb.clear();
                }
            }
        }
        if !cb.pending().is_empty() {
            out.push(cb.pending().to_vec());
        }
        out
    }

    #[test]
    fn chunks_are_full_except_the_last() {
        let chunks = drain_all(4, &[b"ab", b"cdefghij", b"k"]);
        assert_eq!(chunks, vec![b"abcd".to_vec(), b"efgh".to_vec(), b"ijk".to_vec()]);
    }

    #[test]
    fn never_holds_more_than_its_memory() {
        let mut mem = [0u8; 3];
        let mut cb = ChunkBuffer::new(&mut mem, 3);
        assert_eq!(cb.fill(b"abcdef"), 3);
        assert!(cb.is_full());
        assert_eq!(cb.fill(b"x"), 0);
        assert_eq!(cb.total(), 3);
        assert_eq!(&mem, b"abc");
    }

    #[test]
    fn a_short_buffer_moves_into_a_larger_one_until_a_chunk_fits() {
        let mut small = [0u8; 2];
        let mut big = vec![0u8; 8];
        let mut cb = ChunkBuffer::new(&mut small, 5);
        assert_eq!(cb.fill(b"abc"), 2);
        assert!(!cb.is_full(), "full short of a chunk: not due");
        assert_eq!(cb.fill(b"c"), 0);
        let mut tiny = [0u8; 1];
        assert!(cb.move_to(&mut tiny).is_err());
        cb.move_to(&mut big).unwrap();
        assert_eq!(cb.fill(b"cdefg"), 3, "used up to a chunk");
        assert!(cb.is_full());
        assert_eq!(cb.pending(), b"abcde");
        assert_eq!(cb.total(), 5);
    }
}
