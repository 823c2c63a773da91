//! Writing a file with direct I/O.
//!
//! `serialize_to_file()` syncs its file before renaming it into place, so
//! every byte must reach the disk before the call returns. Through the page
//! cache that means copying the stream into the cache, then waiting for the
//! cache to be written back; here, 1.6 GB written and synced through the
//! cache took 0.9-3.9 s (`dd conv=fsync`), written with `O_DIRECT` in 1 MiB
//! blocks 0.8-0.9 s (`dd oflag=direct`). So the file is written with
//! `O_DIRECT`: from the caller's memory when a write is a whole number of
//! aligned blocks (the native writer's chunks, from its page-aligned
//! staging buffer), else through one aligned block of [`BLOCK`] bytes.
//! What is written so is not left in the page cache: a `readRDS()` right
//! after reads it from the disk.
//!
//! Per platform: `O_DIRECT` on Linux; on macOS `F_NOCACHE` (the writes
//! still pass through the kernel's buffers but are not kept cached, and
//! need no alignment); on Windows none, the file is written through the
//! cache in blocks (`FILE_FLAG_NO_BUFFERING` can only be chosen when the
//! file is opened, and is not measured to be worth it here).
//!
//! Direct I/O is only an optimisation. Where the file system refuses it
//! (tmpfs before Linux 6.6, some network file systems), or a direct write fails with
//! `EINVAL` or comes back short, the rest of the file is written through
//! the page cache, as any file. The tail, less than one aligned block, is
//! always written that way.

use std::fs::File;
use std::io::{self, Write};

use super::Pages;
use crate::codec::FileOut;

/// Alignment of memory, lengths and file offsets for direct writes: the
/// largest logical block size of common devices.
pub const ALIGN: usize = 4096;

/// The block that collects writes that are not aligned.
pub const BLOCK: usize = 1 << 20;

pub struct DirectFile {
    file: File,
    /// Writes go around the page cache.
    direct: bool,
    /// Collects unaligned writes; touched only where written.
    block: Pages,
    /// Bytes in `block`.
    len: usize,
    /// A write failed: where the file stands is unknown, so nothing more
    /// is written (a temporary file is discarded: see `AtomicFile`).
    failed: bool,
}

impl DirectFile {
    /// Writes `file`, open for writing and empty, with direct I/O if it is
    /// a regular file and the file system allows it. (On a pipe, `O_DIRECT`
    /// means packet mode; a device has its own rules.)
    pub fn new(file: File) -> io::Result<DirectFile> {
        let mut writer = DirectFile::buffered(file)?;
        let regular = writer.file.metadata().map(|m| m.is_file()).unwrap_or(false);
        writer.direct = regular && set_direct(&writer.file, true);
        Ok(writer)
    }

    /// Writes `file` through the page cache, in blocks of [`BLOCK`] bytes
    /// (for the compressed formats, whose output is a quarter or less of
    /// the stream and comes in pieces of any size).
    pub fn buffered(file: File) -> io::Result<DirectFile> {
        let block = Pages::new(BLOCK).map_err(|_| crate::codec::out_of_memory(BLOCK))?;
        Ok(DirectFile { file, direct: false, block, len: 0, failed: false })
    }

    /// Whether writes still go around the page cache (for tests).
    #[cfg(test)]
    fn is_direct(&self) -> bool {
        self.direct
    }

    /// Writes out what the block holds and returns the file, fully
    /// written (to be synced by the caller).
    pub fn into_inner(mut self) -> io::Result<File> {
        self.check()?;
        let whole = self.len / ALIGN * ALIGN;
        write_out(&self.file, &mut self.direct, &self.block[..whole])?;
        if self.direct {
            set_direct(&self.file, false);
            self.direct = false;
        }
        (&self.file).write_all(&self.block[whole..self.len])?;
        Ok(self.file)
    }

    fn check(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other("an earlier write to the file failed"));
        }
        Ok(())
    }

    /// Writes out `from`, or the block if `from` is `None`; the block is
    /// empty afterwards, and after an error the writer takes nothing more.
    fn flush_out(&mut self, from: Option<&[u8]>) -> io::Result<()> {
        let bytes = from.unwrap_or(&self.block[..self.len]);
        let result = write_out(&self.file, &mut self.direct, bytes);
        self.failed = result.is_err();
        self.len = 0;
        result
    }
}

/// The codecs' file writer (see `crate::codec`).
impl FileOut for DirectFile {
    fn direct(file: File) -> io::Result<Self> {
        DirectFile::new(file)
    }

    fn buffered(file: File) -> io::Result<Self> {
        DirectFile::buffered(file)
    }

    fn into_file(self) -> io::Result<File> {
        self.into_inner()
    }
}

impl Write for DirectFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.check()?;
        if self.len == 0 && self.direct && bytes.len() >= ALIGN && aligned(bytes.as_ptr() as usize) {
            // Whole aligned blocks, straight from the caller's memory.
            let whole = bytes.len() / ALIGN * ALIGN;
            self.flush_out(Some(&bytes[..whole]))?;
            return Ok(whole);
        }
        let take = bytes.len().min(BLOCK - self.len);
        self.block[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
        if self.len == BLOCK {
            self.flush_out(None)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes all of `bytes` (aligned, a whole number of blocks, at an aligned
/// offset, if `direct`). A direct write that is refused (`EINVAL`) or
/// comes back short turns direct I/O off and the rest goes through the
/// page cache.
fn write_out(mut file: &File, direct: &mut bool, mut bytes: &[u8]) -> io::Result<()> {
    while *direct && !bytes.is_empty() {
        match file.write(bytes) {
            Ok(n) if aligned(n) && n > 0 => bytes = &bytes[n..],
            Ok(n) => {
                bytes = &bytes[n..];
                set_direct(file, false);
                *direct = false;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            #[cfg(unix)]
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                set_direct(file, false);
                *direct = false;
            }
            Err(e) => return Err(e),
        }
    }
    file.write_all(bytes)
}

/// A multiple of [`ALIGN`]. (`usize::is_multiple_of` would need Rust 1.87;
/// nothing else in the crate needs more than 1.82.)
#[allow(clippy::manual_is_multiple_of)]
fn aligned(n: usize) -> bool {
    n % ALIGN == 0
}

/// Turns `O_DIRECT` (Linux) or `F_NOCACHE` (macOS) on or off for `file`;
/// returns whether it is now on (never, elsewhere).
fn set_direct(file: &File, on: bool) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor `file` keeps open; no memory is
        // passed.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return false;
        }
        let wanted = if on { flags | libc::O_DIRECT } else { flags & !libc::O_DIRECT };
        // SAFETY: as above.
        let set = unsafe { libc::fcntl(fd, libc::F_SETFL, wanted) } == 0;
        on && set
    }
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a descriptor `file` keeps open; no memory is
        // passed.
        let set = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_NOCACHE, libc::c_int::from(on)) } == 0;
        on && set
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios")))]
    {
        let _ = (file, on);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    fn scratch(dir: &str, name: &str) -> Option<PathBuf> {
        let dir = PathBuf::from(dir).join(format!("lowmem-direct-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).ok()?;
        Some(dir.join("f"))
    }

    /// Writes `data` in pieces of the given sizes, from page-aligned memory.
    fn write_in_pieces(path: &PathBuf, data: &[u8], pieces: &[usize]) -> bool {
        let mut w = DirectFile::new(File::create(path).unwrap()).unwrap();
        let mut src = Pages::new(data.len()).unwrap();
        src.copy_from_slice(data);
        let mut at = 0;
        let mut i = 0;
        while at < data.len() {
            let n = pieces[i % pieces.len()].min(data.len() - at);
            w.write_all(&src[at..at + n]).unwrap();
            at += n;
            i += 1;
        }
        let direct = w.is_direct();
        let file = w.into_inner().unwrap();
        file.sync_all().unwrap();
        direct
    }

    #[test]
    fn any_sequence_of_writes_gives_the_same_bytes() {
        let data: Vec<u8> = (0..(3 * BLOCK + 12_345)).map(|i| (i * 7 % 251) as u8).collect();
        // /tmp (a disk here) and /dev/shm (tmpfs: direct I/O since Linux
        // 6.6); elsewhere the temporary directory.
        let tmp = std::env::temp_dir();
        let dirs = if cfg!(target_os = "linux") { vec!["/tmp", "/dev/shm"] } else { vec![tmp.to_str().unwrap()] };
        for dir in dirs {
            let Some(path) = scratch(dir, "seq") else { continue };
            for pieces in [vec![1 << 20], vec![4096 * 3], vec![1000], vec![4096, 1, 8192, 777, BLOCK + 5]] {
                write_in_pieces(&path, &data, &pieces);
                assert_eq!(fs::read(&path).unwrap(), data, "{dir} {pieces:?}");
            }
            fs::remove_dir_all(path.parent().unwrap()).unwrap();
        }
    }

    #[cfg(target_os = "linux")] // /dev/full
    #[test]
    fn a_full_device_is_an_error_and_stays_one() {
        let Ok(file) = fs::OpenOptions::new().write(true).open("/dev/full") else { return };
        let mut w = DirectFile::new(file).unwrap();
        let err = w.write_all(&vec![0u8; 3 * BLOCK]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
        // Nothing more is taken: no Ok(0), no second try of the block.
        assert!(w.write(b"more").is_err());
        assert!(w.into_inner().is_err());
    }
}
