//! Gzip on several cores, as one gzip member.
//!
//! The stream is cut into blocks of a fixed size (codec/parallel.rs);
//! worker threads compress each block into raw deflate (RFC 1951), as pigz
//! does: every block but the last ends with a sync flush (an empty stored
//! block), so it is not final and ends on a byte boundary, and the last
//! block is final. Concatenated,
//! the blocks are one deflate stream, written behind one gzip header and
//! followed by one trailer: a single gzip member (RFC 1952), which every
//! reader takes, also those that stop after the first member (`gzcon()`,
//! `memDecompress()`).
//!
//! Each block is compressed with the last 32 KiB of the stream before it
//! as a preset dictionary, so that matches may reach back across a block
//! boundary as in a serial deflate: the ratio stays that of one stream.
//! The trailer's CRC-32 is combined from the blocks' CRCs (computed by the
//! workers) in stream order, which costs the writer thread microseconds
//! (a CRC of the whole stream in the writer thread, at 4-5 GB/s, would
//! cost it 0.1 s per 400 MB); its ISIZE is the length modulo 2^32.
//!
//! The worker pool, its memory bound and its threads' lifetime are those
//! of codec/parallel.rs; this file holds gzip's part.

use std::io::{self, Write};
use std::panic::catch_unwind;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

use super::parallel::{BlockCodec, ParallelBlocks};

/// Deflate's window: how far back a match may reach.
const WINDOW: usize = 32 * 1024;

/// A gzip encoder over `out`; see the module's documentation.
pub struct ParallelGzip<W: Write>(ParallelBlocks<W, Gzip>);

impl<W: Write> ParallelGzip<W> {
    /// Writes the gzip header. Fails if it cannot be written, if the first
    /// block's buffer cannot be allocated or a thread cannot be started.
    pub fn new(out: W, level: u32, block_size: usize, workers: usize) -> io::Result<Self> {
        let gzip = Gzip { level: level.min(9), crc: Crc::new() };
        Ok(Self(ParallelBlocks::new(gzip, out, block_size, workers)?))
    }

    /// Compresses what is left as the final block, writes every block and
    /// the trailer, and returns the output.
    pub fn finish(self) -> io::Result<W> {
        self.0.finish()
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    /// Blocks are compressed whole; a flush does not cut one short.
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Gzip's part of the pipeline: the header, the CRC and length of the
/// blocks written so far, and the trailer.
struct Gzip {
    level: u32,
    crc: Crc,
}

impl BlockCodec for Gzip {
    /// The block's CRC-32 and length.
    type Summary = Crc;
    type Worker = Compress;
    type Params = u32;
    const NAME: &'static str = "gzip";
    const THREAD: &'static str = "lowmem-gzip";
    const TAIL: usize = WINDOW;
    // The final block, empty if the stream ended on a block boundary (a
    // final empty block is two bytes).
    const ALWAYS_LAST_BLOCK: bool = true;

    fn params(&self) -> u32 {
        self.level
    }

    /// Stored blocks (level 0) refer to nothing: no dictionary to copy.
    fn uses_tail(&self) -> bool {
        self.level > 0
    }

    /// Raw deflate with deflate's largest window (32 KiB), as gzip's. A
    /// worker that cannot get its state leaves the jobs to the others (with
    /// none left, the writer sees the queue closed).
    fn new_worker(level: &u32) -> Option<Compress> {
        catch_unwind(|| Compress::new(Compression::new(*level), false)).ok()
    }

    fn compress(deflate: &mut Compress, block: &[u8], dict: &[u8], last: bool, out: &mut Vec<u8>) -> io::Result<Crc> {
        deflate_block(deflate, block, dict, last, out)
    }

    fn start<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(&header(self.level))
    }

    fn written(&mut self, crc: Crc) {
        self.crc.combine(&crc);
    }

    fn end<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(&trailer(&self.crc))
    }
}

/// RFC 1952's header: deflate, no name, no time (as R's `gzfile()`), the
/// extra flags for the slowest and fastest levels, Unix.
fn header(level: u32) -> [u8; 10] {
    let xfl = match level {
        9 => 2,
        0 | 1 => 4,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]
}

/// RFC 1952's trailer: the CRC-32 and the length modulo 2^32, little-endian.
fn trailer(crc: &Crc) -> [u8; 8] {
    let mut t = [0u8; 8];
    t[..4].copy_from_slice(&crc.sum().to_le_bytes());
    t[4..].copy_from_slice(&crc.amount().to_le_bytes());
    t
}

/// Compresses `block` into `out` with `dict` (the stream's last bytes
/// before it) as preset dictionary: a deflate stream's piece that starts
/// and ends on a byte boundary, final only if `last`.
fn deflate_block(deflate: &mut Compress, block: &[u8], dict: &[u8], last: bool, out: &mut Vec<u8>) -> io::Result<Crc> {
    let mut crc = Crc::new();
    crc.update(block);
    deflate.reset();
    if !dict.is_empty() {
        deflate.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let flush = if last { FlushCompress::Finish } else { FlushCompress::Sync };
    out.clear();
    let mut input = block;
    // Room for incompressible data: stored blocks add 5 bytes per 64 KiB,
    // the flush and the final block a few more. More is reserved if needed.
    let mut want = input.len() + (input.len() >> 10) + 64;
    loop {
        if out.capacity() - out.len() < want {
            out.try_reserve(want).map_err(|_| super::out_of_memory(want))?;
        }
        let before = deflate.total_in();
        let status = deflate.compress_vec(input, out, flush).map_err(io::Error::other)?;
        input = &input[(deflate.total_in() - before) as usize..];
        let room_left = out.len() < out.capacity();
        // A sync flush is complete once deflate returns with output room
        // to spare; a finish once it says the stream ended.
        let complete = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => input.is_empty() && room_left,
        };
        if complete {
            return Ok(crc);
        }
        want = 64 * 1024;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;

    /// Decodes with the system's gzip, an independent decoder.
    #[cfg(unix)]
    fn gunzip_all(bytes: &[u8]) -> Vec<u8> {
        use std::process::{Command, Stdio};
        let mut child = Command::new("gzip")
            .args(["-dc"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gzip(1) is needed for this test");
        let mut stdin = child.stdin.take().unwrap();
        let input = bytes.to_vec();
        let feeder = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(out.status.success(), "gzip -dc failed");
        out.stdout
    }

    /// Decodes the first gzip member only, and says how many bytes follow
    /// it: a multi-member file would decode short or leave bytes behind.
    fn first_member(bytes: &[u8]) -> (Vec<u8>, usize) {
        let mut decoder = GzDecoder::new(bytes);
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).unwrap();
        (out, decoder.into_inner().len())
    }

    fn data(n: usize) -> Vec<u8> {
        // Compressible, with matches that reach back across blocks.
        (0..n).map(|i| ((i * 7919) % 251) as u8 ^ ((i / 4000) as u8)).collect()
    }

    fn compress(input: &[u8], level: u32, block: usize, workers: usize, piece: usize) -> Vec<u8> {
        let mut gz = ParallelGzip::new(Vec::new(), level, block, workers).unwrap();
        for p in input.chunks(piece.max(1)) {
            gz.write_all(p).unwrap();
        }
        gz.finish().unwrap()
    }

    #[cfg(unix)] // decodes with gzip(1), which Windows lacks
    #[test]
    fn blocks_make_one_member_that_decodes_to_the_input() {
        let input = data(100_000);
        for level in [0, 1, 6, 9] {
            for block in [4096, 10_000, 65_536] {
                let out = compress(&input, level, block, 3, 333);
                let (decoded, rest) = first_member(&out);
                assert_eq!(decoded, input, "level {level}, block {block}");
                assert_eq!(rest, 0, "one member: nothing after it");
                assert_eq!(gunzip_all(&out), input);
            }
        }
    }

    #[test]
    fn the_trailer_has_the_crc_and_length_of_the_stream() {
        let input = data(50_000);
        let out = compress(&input, 6, 4096, 2, 1000);
        let mut crc = Crc::new();
        crc.update(&input);
        let n = out.len();
        assert_eq!(&out[n - 8..n - 4], &crc.sum().to_le_bytes());
        assert_eq!(&out[n - 4..], &(input.len() as u32).to_le_bytes());
    }

    #[test]
    fn a_stream_ending_on_a_block_boundary_has_an_empty_final_block() {
        let input = data(4 * 4096);
        let out = compress(&input, 6, 4096, 2, 4096);
        assert_eq!(first_member(&out), (input, 0));
        // The last deflate bytes before the trailer: a final empty block.
        assert_eq!(&out[out.len() - 10..out.len() - 8], &[0x03, 0x00]);
    }

    #[cfg(unix)] // decodes with gzip(1), which Windows lacks
    #[test]
    fn an_empty_stream_is_one_empty_member() {
        let out = ParallelGzip::new(Vec::new(), 6, 1024, 2).unwrap().finish().unwrap();
        assert_eq!(out, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(gunzip_all(&out), Vec::<u8>::new());
    }

    #[test]
    fn the_dictionary_keeps_the_ratio_of_one_stream() {
        // Small blocks of data that repeats with a period of 3000 bytes:
        // without a dictionary every block would start from nothing.
        let unit: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
        let input: Vec<u8> = unit.iter().cycle().take(400_000).copied().collect();
        let parallel = compress(&input, 6, 4096, 2, 4096).len();
        let mut serial = flate2::write::GzEncoder::new(Vec::new(), Compression::new(6));
        serial.write_all(&input).unwrap();
        let serial = serial.finish().unwrap().len();
        assert!(parallel < serial + serial / 10 + 600, "parallel {parallel}, serial {serial}");
    }

    #[test]
    fn dropping_unfinished_joins_the_workers() {
        let mut gz = ParallelGzip::new(Vec::new(), 1, 64, 2).unwrap();
        gz.write_all(&data(1000)).unwrap();
        drop(gz); // must not hang or panic
    }
}
