//! Compression for files written by `serialize_to_file()`: the same choices
//! as `saveRDS(compress = )`, each readable by `readRDS()`.
//!
//! Codecs sit below the sinks: they write into any [`FileOut`], which the
//! sinks supply (`sink::DirectFile`), and know nothing of the sinks.

mod alloc;
mod gzip;
mod parallel;
mod zstd;

use std::fs::File;
use std::io::{self, Write};

pub use self::zstd::ParallelZstd;
pub use alloc::{out_of_memory, try_buffer};
pub use gzip::ParallelGzip;

/// The codec codes shared with R/file.R.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Codec {
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(Codec::None),
            1 => Some(Codec::Gzip),
            2 => Some(Codec::Bzip2),
            3 => Some(Codec::Xz),
            4 => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// Levels run 0 (fastest) ..= 9 for gzip, bzip2 and xz; out-of-range
    /// levels are clamped (zstd's range is its own, see codec/zstd.rs).
    fn level(level: i32) -> u32 {
        level.clamp(0, 9) as u32
    }
}

/// What a codec writes its output into: a writer over a file that hands the
/// file back once everything is written.
pub trait FileOut: Write + Sized {
    /// For an uncompressed stream, written as it comes (the sinks' writer
    /// uses direct I/O where possible).
    fn direct(file: File) -> io::Result<Self>;
    /// For a compressed stream, whose output comes in pieces of any size.
    fn buffered(file: File) -> io::Result<Self>;
    /// Writes out what is held and returns the file (to be synced).
    fn into_file(self) -> io::Result<File>;
}

/// A writer that encodes with one codec into a file; `finish` completes the
/// encoding and hands the file back (so it can be synced and renamed). An
/// uncompressed file goes to [`FileOut::direct`]; gzip writes each
/// compressed block as it comes.
pub enum Encoder<W: Write> {
    Plain(W),
    Gzip(ParallelGzip<File>),
    Bzip2(bzip2::write::BzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
    Zstd(ParallelZstd<File>),
}

impl<W: FileOut> Encoder<W> {
    /// `chunk` is the size of gzip's and zstd's blocks.
    pub fn new(codec: Codec, level: i32, chunk: usize, file: File) -> io::Result<Self> {
        let chunk = chunk.max(4096);
        if codec == Codec::Zstd {
            return Ok(Encoder::Zstd(ParallelZstd::new(file, level, chunk, parallel::default_workers())?));
        }
        let level = Codec::level(level);
        Ok(match codec {
            Codec::None => Encoder::Plain(W::direct(file)?),
            Codec::Gzip => Encoder::Gzip(ParallelGzip::new(file, level, chunk, parallel::default_workers())?),
            Codec::Bzip2 => {
                Encoder::Bzip2(bzip2::write::BzEncoder::new(W::buffered(file)?, bzip2::Compression::new(level.max(1))))
            }
            // CRC32 as R's xzfile() writes it (liblzma's default is CRC64).
            Codec::Xz => Encoder::Xz(liblzma::write::XzEncoder::new_stream(
                W::buffered(file)?,
                liblzma::stream::Stream::new_easy_encoder(level, liblzma::stream::Check::Crc32)
                    .map_err(io::Error::other)?,
            )),
            Codec::Zstd => unreachable!("handled above"),
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.write_all(bytes),
            Encoder::Gzip(w) => w.write_all(bytes),
            Encoder::Bzip2(w) => w.write_all(bytes),
            Encoder::Xz(w) => w.write_all(bytes),
            Encoder::Zstd(w) => w.write_all(bytes),
        }
    }

    pub fn finish(self) -> io::Result<File> {
        let file = match self {
            Encoder::Plain(w) => w,
            Encoder::Gzip(w) => return w.finish(),
            Encoder::Zstd(w) => return w.finish(),
            Encoder::Bzip2(w) => w.finish()?,
            Encoder::Xz(w) => w.finish()?,
        };
        file.into_file()
    }
}
