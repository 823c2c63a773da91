/// A fixed-size buffer that coalesces the many small pieces R's serializer
/// emits (a 4-byte length, a 1-byte string, ...) into chunks of one size.
///
/// It never performs I/O itself: the owner drains a full chunk (for R
/// connections that is C code, since writing to a connection can raise an R
/// error, which must never unwind through Rust frames) and then clears it.
/// The memory is the owner's too: for connections, an R raw vector that is
/// handed to `writeBin()` as it is, without a copy.
#[derive(Debug)]
pub struct ChunkBuffer<'a> {
    buf: &'a mut [u8],
    len: usize,
    total: u64,
}

impl<'a> ChunkBuffer<'a> {
    /// Chunks of `buf.len()` bytes (an empty `buf` takes nothing).
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0, total: 0 }
    }

    /// Copies as much of `bytes` as fits; returns how many bytes it took.
    pub fn fill(&mut self, bytes: &[u8]) -> usize {
        let take = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
        self.total += take as u64;
        take
    }

    pub fn is_full(&self) -> bool {
        self.len == self.buf.len()
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
        let mut cb = ChunkBuffer::new(&mut mem);
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
        let mut cb = ChunkBuffer::new(&mut mem);
        assert_eq!(cb.fill(b"abcdef"), 3);
        assert!(cb.is_full());
        assert_eq!(cb.fill(b"x"), 0);
        assert_eq!(cb.total(), 3);
        assert_eq!(&mem, b"abc");
    }
}
