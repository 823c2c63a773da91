//! Writing into a file in place, as `saveRDS()` does: for what cannot be
//! replaced by a rename without changing what the user sees (a device, a
//! FIFO, a file with other hard links or mounted on its path, ...; see
//! [`super::target`]).
//!
//! The path is opened as `saveRDS()`'s `file(path, "wb")` opens it (created
//! if missing, truncated), and the stream goes straight into it, so a
//! failure midway leaves it partly written, as it leaves `saveRDS()`'s. A
//! regular file is synced when complete.
//!
//! A FIFO or a pipe whose reader has gone raises `SIGPIPE` at the next
//! write, and R's handler for it raises an R error from within that write,
//! which would jump over the Rust frames that made it. So while a file that
//! is not a regular file is open, `SIGPIPE` is blocked in the thread (and
//! in the threads it starts, such as gzip's workers): the write fails with
//! `EPIPE` instead, an I/O error like any other. A signal that became
//! pending meanwhile is taken before the mask is restored. Windows has no
//! `SIGPIPE`: a write to a pipe whose reader has gone fails with
//! `ERROR_NO_DATA` (a broken pipe), so there is nothing to block.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct InPlace {
    target: PathBuf,
    /// Blocks SIGPIPE until dropped, for what is not a regular file.
    _pipe_guard: Option<PipeSignalBlocked>,
}

impl InPlace {
    pub fn open(target: &Path) -> Result<(Self, File)> {
        let io_err = |source| Error::Io { path: target.display().to_string(), source };
        // Blocked before the open, so that nothing written to the file
        // could raise it.
        let guard = PipeSignalBlocked::new();
        let file = OpenOptions::new().write(true).create(true).truncate(true).open(target).map_err(io_err)?;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        let pipe_guard = if regular { None } else { Some(guard) };
        Ok((Self { target: target.to_path_buf(), _pipe_guard: pipe_guard }, file))
    }

    /// Syncs `file` if it is a regular file, fully written, and closes it.
    pub fn commit(self, file: File) -> Result<()> {
        let io_err = |source| Error::Io { path: self.target.display().to_string(), source };
        if file.metadata().map(|m| m.is_file()).unwrap_or(false) {
            file.sync_all().map_err(io_err)?;
        }
        drop(file);
        Ok(())
    }

    pub fn target(&self) -> &Path {
        &self.target
    }
}

/// Nothing to block where there is no `SIGPIPE` (Windows).
#[cfg(not(unix))]
#[derive(Debug)]
struct PipeSignalBlocked;

#[cfg(not(unix))]
impl PipeSignalBlocked {
    fn new() -> Self {
        PipeSignalBlocked
    }
}

/// `SIGPIPE` blocked in the calling thread until dropped (on that thread).
#[cfg(unix)]
struct PipeSignalBlocked {
    old: libc::sigset_t,
}

#[cfg(unix)]
impl std::fmt::Debug for PipeSignalBlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PipeSignalBlocked")
    }
}

#[cfg(unix)]
fn sigpipe_set() -> libc::sigset_t {
    // SAFETY: sigemptyset and sigaddset initialise the set they are given.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        set
    }
}

#[cfg(unix)]
impl PipeSignalBlocked {
    fn new() -> Self {
        let set = sigpipe_set();
        // SAFETY: pthread_sigmask reads `set` and writes `old`.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) };
        PipeSignalBlocked { old }
    }
}

#[cfg(unix)]
impl Drop for PipeSignalBlocked {
    fn drop(&mut self) {
        let set = sigpipe_set();
        // SAFETY: signal-set calls on sets owned here; sigwait returns at
        // once, since it is only called for a pending signal.
        unsafe {
            if libc::sigismember(&self.old, libc::SIGPIPE) == 0 {
                let mut pending: libc::sigset_t = std::mem::zeroed();
                while libc::sigpending(&mut pending) == 0 && libc::sigismember(&pending, libc::SIGPIPE) == 1 {
                    let mut taken = 0;
                    libc::sigwait(&set, &mut taken);
                }
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;

    #[cfg(unix)] // FIFOs and SIGPIPE
    #[test]
    fn a_fifo_without_reader_is_broken_pipe_not_a_signal() {
        let dir = std::env::temp_dir().join(format!("lowmem-inplace-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // A reader that opens the FIFO and goes away at once.
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || drop(File::open(fifo).unwrap()))
        };
        let (in_place, mut file) = InPlace::open(&fifo).unwrap();
        reader.join().unwrap();
        let err = loop {
            if let Err(e) = file.write_all(&[0u8; 65536]) {
                break e;
            }
        };
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{err}");
        drop(file);
        drop(in_place); // the pending SIGPIPE is taken, not delivered
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_is_written_in_place_and_synced() {
        let dir = std::env::temp_dir().join(format!("lowmem-inplace-file-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("x");
        fs::write(&target, b"an old, longer content").unwrap();
        let (in_place, mut file) = InPlace::open(&target).unwrap();
        file.write_all(b"new").unwrap();
        in_place.commit(file).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }
}
