//! Zstandard on several cores, a frame per block.
//!
//! The stream is cut into blocks of a fixed size (codec/parallel.rs);
//! worker threads compress each block into a complete zstd frame (RFC 8878)
//! with a content checksum and without its content size, as R's
//! `zstdfile()` writes its one frame (`ZSTD_c_checksumFlag`, R's
//! `src/main/connections.c`): R's `memDecompress(type = "zstd")` sizes its
//! output by the first frame's content size where there is one, which would
//! cut a file of several frames short, and by a bound on all frames where
//! there is none. The frames are written in stream order. Concatenated frames are one valid zstd file:
//! the format says a decoder decodes frames one after the other
//! (RFC 8878, section 3.1), and R's `zstdfile()` reads them so, as
//! `zstd -d` does; `readRDS()` of R >= 4.5 reads the file.
//!
//! Unlike gzip's blocks (codec/gzip.rs), a frame cannot refer to the bytes
//! before it without every decoder being handed the same prefix, so each
//! block is compressed on its own. zstd adapts its tables to the block's
//! known size; their size is further capped at 2^19 entries (see
//! [`TABLE_LOG`]), which bounds each worker's memory.
//!
//! The worker pool, its memory bound and its threads' lifetime are those
//! of codec/parallel.rs; this file holds zstd's part.

use std::io::{self, Write};
use std::panic::catch_unwind;

use zstd::bulk::Compressor;
use zstd::zstd_safe::CParameter;

use super::parallel::{BlockCodec, ParallelBlocks};

/// R's range for `zstdfile(compression = )`: `abs(compress) > 19` is an
/// error there (`do_gzfile`, R's `src/main/connections.c`); negative levels
/// are zstd's fast ones, 0 is zstd's default (3).
pub const MIN_LEVEL: i32 = -19;
pub const MAX_LEVEL: i32 = 19;

/// The largest hash and chain tables a worker uses: 2^19 entries of 4
/// bytes. At R's default level 9, zstd gives a 1 MiB block a hash table of
/// 2^21 entries (10.5 MiB of context per worker); with 2^19 the context is
/// 3 MiB, and the output of a frame per 1 MiB block of the seed data frame
/// and of the string frame (inst/bench/objects.R) changed by -0.1 % and
/// +0.1 %. Levels whose tables are smaller keep theirs.
const TABLE_LOG: u32 = 19;

/// A zstd encoder over `out`; see the module's documentation.
pub struct ParallelZstd<W: Write>(ParallelBlocks<W, Zstd>);

impl<W: Write> ParallelZstd<W> {
    /// Starts the workers. Fails if the first block's buffer cannot be
    /// allocated or a thread cannot be started.
    pub fn new(out: W, level: i32, block_size: usize, workers: usize) -> io::Result<Self> {
        let zstd = Zstd { level: level.clamp(MIN_LEVEL, MAX_LEVEL), block_size };
        Ok(Self(ParallelBlocks::new(zstd, out, block_size, workers)?))
    }

    /// Compresses what is left, writes every frame and returns the output.
    /// A stream that ended on a block boundary needs no further frame; an
    /// empty stream is one empty frame, so that the file is a zstd file.
    pub fn finish(self) -> io::Result<W> {
        self.0.finish()
    }
}

impl<W: Write> Write for ParallelZstd<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    /// Blocks are compressed whole; a flush does not cut one short.
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Zstd's part of the pipeline: a frame per block, nothing around them.
#[derive(Clone, Copy)]
struct Zstd {
    level: i32,
    block_size: usize,
}

impl BlockCodec for Zstd {
    type Summary = ();
    /// A worker that cannot get its context reports that on every job it
    /// takes (the writer waits for every job, so none may be lost).
    type Worker = io::Result<Compressor<'static>>;
    type Params = Zstd;
    const NAME: &'static str = "zstd";
    const THREAD: &'static str = "lowmem-zstd";
    const ALWAYS_LAST_BLOCK: bool = false;

    fn params(&self) -> Zstd {
        *self
    }

    fn new_worker(p: &Zstd) -> Option<Self::Worker> {
        Some(
            catch_unwind(|| compressor(p.level, p.block_size))
                .unwrap_or_else(|_| Err(io::Error::other("zstd compression failed (a panic)"))),
        )
    }

    fn compress(cctx: &mut Self::Worker, block: &[u8], _: &[u8], _: bool, out: &mut Vec<u8>) -> io::Result<()> {
        match cctx {
            Ok(c) => compress_block(c, block, out),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

/// A compressor at `level` for blocks of `block_size` bytes that writes a
/// checksum and no content size into every frame, its tables capped at
/// [`TABLE_LOG`].
fn compressor(level: i32, block_size: usize) -> io::Result<Compressor<'static>> {
    let mut c = Compressor::new(level)?;
    c.set_parameter(CParameter::ChecksumFlag(true))?;
    c.set_parameter(CParameter::ContentSizeFlag(false))?;
    // SAFETY: ZSTD_getCParams only computes parameters from its arguments.
    let params = unsafe { zstd::zstd_safe::zstd_sys::ZSTD_getCParams(level, block_size as u64, 0) };
    c.set_parameter(CParameter::HashLog(params.hashLog.min(TABLE_LOG)))?;
    c.set_parameter(CParameter::ChainLog(params.chainLog.min(TABLE_LOG)))?;
    Ok(c)
}

/// Compresses `block` into `out` as one frame.
fn compress_block(c: &mut Compressor<'static>, block: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    let want = zstd::zstd_safe::compress_bound(block.len());
    out.clear();
    if out.capacity() < want {
        out.try_reserve_exact(want).map_err(|_| super::out_of_memory(want))?;
    }
    c.compress_to_buffer(block, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes with zstd's own streaming decoder, which reads frame after
    /// frame as every zstd reader must.
    fn unzstd(bytes: &[u8]) -> Vec<u8> {
        zstd::stream::decode_all(bytes).unwrap()
    }

    /// Decodes with the system's zstd, an independent decoder, if present.
    fn unzstd_cli(bytes: &[u8]) -> Option<Vec<u8>> {
        use std::process::{Command, Stdio};
        let mut child =
            Command::new("zstd").args(["-dcq"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().ok()?;
        let mut stdin = child.stdin.take().unwrap();
        let input = bytes.to_vec();
        let feeder = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(out.status.success(), "zstd -dc failed");
        Some(out.stdout)
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((i * 7919) % 251) as u8 ^ ((i / 4000) as u8)).collect()
    }

    fn compress(input: &[u8], level: i32, block: usize, workers: usize, piece: usize) -> Vec<u8> {
        let mut z = ParallelZstd::new(Vec::new(), level, block, workers).unwrap();
        for p in input.chunks(piece.max(1)) {
            z.write_all(p).unwrap();
        }
        z.finish().unwrap()
    }

    /// The frames' decompressed sizes, in order; none has its content size
    /// in its header.
    fn frame_sizes(mut bytes: &[u8]) -> Vec<u64> {
        let mut sizes = Vec::new();
        while !bytes.is_empty() {
            let n = zstd::zstd_safe::find_frame_compressed_size(bytes).unwrap();
            assert_eq!(zstd::zstd_safe::get_frame_content_size(&bytes[..n]).unwrap(), None);
            sizes.push(unzstd(&bytes[..n]).len() as u64);
            bytes = &bytes[n..];
        }
        sizes
    }

    #[test]
    fn frames_decode_to_the_input_at_every_level() {
        let input = data(100_000);
        for level in [MIN_LEVEL, -1, 0, 1, 3, 9, MAX_LEVEL] {
            for block in [4096, 10_000, 65_536] {
                let out = compress(&input, level, block, 3, 333);
                assert_eq!(unzstd(&out), input, "level {level}, block {block}");
                if let Some(cli) = unzstd_cli(&out) {
                    assert_eq!(cli, input);
                }
            }
        }
    }

    #[test]
    fn a_frame_per_block_in_order() {
        let input = data(10_000);
        let out = compress(&input, 3, 4096, 2, 1000);
        assert_eq!(frame_sizes(&out), [4096, 4096, 1808]);
    }

    #[test]
    fn a_stream_ending_on_a_block_boundary_has_no_empty_frame_after_it() {
        let input = data(4 * 4096);
        let out = compress(&input, 9, 4096, 2, 4096);
        assert_eq!(frame_sizes(&out), [4096; 4]);
        assert_eq!(unzstd(&out), input);
    }

    #[test]
    fn an_empty_stream_is_one_empty_frame() {
        let out = ParallelZstd::new(Vec::new(), 9, 1024, 2).unwrap().finish().unwrap();
        assert_eq!(frame_sizes(&out), [0]);
        assert_eq!(unzstd(&out), Vec::<u8>::new());
        if let Some(cli) = unzstd_cli(&out) {
            assert!(cli.is_empty());
        }
    }

    #[test]
    fn a_worker_context_stays_small_at_r_s_default_level() {
        // The context after a 1 MiB block at level 9: capped, and (the
        // control) as zstd sizes it on its own.
        let block = data(1 << 20);
        let mut capped = compressor(9, block.len()).unwrap();
        let mut plain = Compressor::new(9).unwrap();
        assert_eq!(unzstd(&capped.compress(&block).unwrap()), block);
        plain.compress(&block).unwrap();
        let (capped, plain) = (capped.context_mut().sizeof(), plain.context_mut().sizeof());
        assert!(capped < 4 << 20, "capped context: {capped} bytes");
        assert!(plain > 8 << 20, "zstd's own context: {plain} bytes");
        // Levels with smaller tables keep theirs: no larger context.
        let mut fast = compressor(1, block.len()).unwrap();
        let mut fast_plain = Compressor::new(1).unwrap();
        fast.compress(&block).unwrap();
        fast_plain.compress(&block).unwrap();
        assert!(fast.context_mut().sizeof() <= fast_plain.context_mut().sizeof());
    }

    #[test]
    fn frames_carry_a_checksum() {
        let out = compress(b"abc", 9, 4096, 1, 3);
        // Frame header descriptor: bit 2 is the content checksum flag.
        assert_eq!(&out[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
        assert_ne!(out[4] & 0x04, 0);
    }

    #[test]
    fn a_write_error_surfaces_and_dropping_unfinished_joins_the_workers() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(28))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut z = ParallelZstd::new(Full, 1, 64, 2).unwrap();
        let err = z.write_all(&data(10_000)).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28));
        drop(z); // must not hang or panic
        let mut z = ParallelZstd::new(Vec::new(), 1, 64, 2).unwrap();
        z.write_all(&data(1000)).unwrap();
        drop(z);
    }
}
