use std::path::Path;

use super::target::Destination;
use super::{DirectFile, Sink};
use crate::codec::{Codec, Encoder};
use crate::error::{Error, Result};

/// Writes a stream, optionally compressed, to a file that appears only when
/// the stream is complete (see [`super::AtomicFile`]), or into a file that
/// cannot be replaced so (see [`Destination`]).
pub struct FileSink {
    // Dropped in this order: an encoder may write its tail when dropped
    // (bzip2's and xz's do), and the destination must still be there for
    // that (an in-place pipe's SIGPIPE still blocked).
    encoder: Option<Encoder<DirectFile>>,
    dest: Option<Destination>,
    written: u64,
}

impl FileSink {
    pub fn create(path: &Path, codec: Codec, level: i32, chunk: usize) -> Result<Self> {
        let (dest, file) = Destination::open(path)?;
        let encoder = Encoder::<DirectFile>::new(codec, level, chunk, file).map_err(|e| io_error(&dest, e))?;
        Ok(Self { encoder: Some(encoder), dest: Some(dest), written: 0 })
    }

    /// The same from C's arguments (`crate::ffi::c_path`, a codec code of
    /// `src/lowmem.h`): a missing path or an unknown codec is an internal
    /// error.
    pub fn from_c(path: Option<&Path>, codec: i32, level: i32, chunk: usize) -> Result<Self> {
        let path = path.ok_or_else(|| Error::Internal("no path".into()))?;
        let codec = Codec::from_code(codec).ok_or_else(|| Error::Internal(format!("unknown codec {codec}")))?;
        FileSink::create(path, codec, level, chunk)
    }

    fn closed() -> Error {
        Error::Internal("write to a finished file".to_string())
    }
}

fn io_error(dest: &Destination, source: std::io::Error) -> Error {
    Error::Io { path: dest.target().display().to_string(), source }
}

impl Sink for FileSink {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let (Some(dest), Some(encoder)) = (&self.dest, &mut self.encoder) else {
            return Err(Self::closed());
        };
        encoder.write_all(bytes).map_err(|e| io_error(dest, e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let (Some(dest), Some(encoder)) = (self.dest.take(), self.encoder.take()) else {
            return Err(Self::closed());
        };
        let file = encoder.finish().map_err(|e| io_error(&dest, e))?;
        dest.commit(file)
    }

    fn bytes_written(&self) -> u64 {
        self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn plain_file_appears_on_finish_only() {
        let dir = std::env::temp_dir().join(format!("lowmem-filesink-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.bin");
        let _ = fs::remove_file(&path);
        let mut sink = FileSink::create(&path, Codec::None, 0, 4096).unwrap();
        sink.write(b"X\n").unwrap();
        sink.write(&[1, 2, 3]).unwrap();
        assert!(!path.exists());
        sink.finish().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"X\n\x01\x02\x03");
        assert!(sink.write(b"more").is_err(), "a finished sink takes no more");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")] // /dev/full (wine would open Linux's, and say ERROR_DISK_FULL)
    #[test]
    fn disk_full_is_an_io_error_naming_the_path() {
        // /dev/full is not a directory we can create temp files in, so
        // write through the encoder directly to see ENOSPC surface.
        let Ok(file) = fs::OpenOptions::new().write(true).open("/dev/full") else { return };
        let mut enc = Encoder::<DirectFile>::new(Codec::None, 0, 4096, file).unwrap();
        let res = enc.write_all(&vec![0u8; 1 << 16]).and_then(|_| enc.finish().map(|_| ()));
        let err = res.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28), "{err}");
    }
}
