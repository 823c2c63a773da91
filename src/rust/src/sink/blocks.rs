//! A one-pass sink for streams whose size cannot be counted beforehand.
//!
//! With a `refhook`, lowmem runs R's serializer once, as base R does: the
//! hook is user code that may change the object while it is being written,
//! so a counting pass followed by a writing pass could write something else
//! than the count saw, or than base R writes. The stream goes into blocks of
//! [`BLOCK_SIZE`] bytes of anonymous memory ([`Pages`]); then [`BlockSink::move_into`]
//! copies them into the exactly-sized result, unmapping each block as soon
//! as it is copied. Only the result's pages become resident as blocks are
//! released, so the peak is the output plus one block, not twice the output.

use super::{Pages, Sink};
use crate::error::{Error, Result};

pub const BLOCK_SIZE: usize = 1 << 20;

#[derive(Default)]
pub struct BlockSink {
    /// Full blocks, then the block being filled.
    blocks: std::collections::VecDeque<Pages>,
    /// Bytes used in the last block.
    last_len: usize,
    total: u64,
}

impl BlockSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies the whole stream into `out`, which must be exactly its size,
    /// releasing each block once copied.
    pub fn move_into(&mut self, out: &mut [u8]) -> Result<()> {
        if out.len() as u64 != self.total {
            return Err(Error::Underflow { expected: self.total, written: out.len() as u64 });
        }
        let mut pos = 0;
        while let Some(block) = self.blocks.pop_front() {
            let len = if self.blocks.is_empty() { self.last_len } else { BLOCK_SIZE };
            out[pos..pos + len].copy_from_slice(&block[..len]);
            pos += len;
        }
        self.total = 0;
        self.last_len = 0;
        Ok(())
    }
}

impl Sink for BlockSink {
    fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            if self.blocks.is_empty() || self.last_len == BLOCK_SIZE {
                self.blocks.push_back(Pages::new(BLOCK_SIZE)?);
                self.last_len = 0;
            }
            let last = self.blocks.back_mut().expect("a block was just ensured");
            let take = bytes.len().min(BLOCK_SIZE - self.last_len);
            last[self.last_len..self.last_len + take].copy_from_slice(&bytes[..take]);
            self.last_len += take;
            self.total += take as u64;
            bytes = &bytes[take..];
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn bytes_written(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 253) as u8).collect()
    }

    #[test]
    fn moves_the_stream_across_block_boundaries() {
        let input = pattern(2 * BLOCK_SIZE + 12345);
        let mut sink = BlockSink::new();
        for piece in input.chunks(70_001) {
            sink.write(piece).unwrap();
        }
        assert_eq!(sink.bytes_written(), input.len() as u64);
        assert_eq!(sink.blocks.len(), 3);
        let mut out = vec![0u8; input.len()];
        sink.move_into(&mut out).unwrap();
        assert_eq!(out, input);
        assert!(sink.blocks.is_empty(), "blocks released");
    }

    #[test]
    fn an_exact_multiple_of_the_block_size() {
        let input = pattern(BLOCK_SIZE);
        let mut sink = BlockSink::new();
        sink.write(&input).unwrap();
        let mut out = vec![0u8; BLOCK_SIZE];
        sink.move_into(&mut out).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn a_wrong_size_is_refused() {
        let mut sink = BlockSink::new();
        sink.write(b"abc").unwrap();
        assert!(sink.move_into(&mut [0u8; 2]).is_err());
        let mut empty = BlockSink::new();
        empty.move_into(&mut []).unwrap();
    }
}
