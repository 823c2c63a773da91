//! Writing a file so that it appears whole or not at all.
//!
//! The data goes to a temporary file in the target's directory (so the final
//! rename stays on one file system); `commit` syncs it to disk and renames it
//! over the target. Dropping an uncommitted [`AtomicFile`] removes the
//! temporary file, so a failure (disk full, an R error, an interrupt) leaves
//! an existing target byte-for-byte untouched and no debris behind.
//!
//! The temporary name is `.lowmem-` and ten random letters and digits, then
//! `.tmp`: short, so that any name the directory takes can be the target's,
//! and created exclusively, another name being drawn if it exists (a file
//! left by a process killed mid-write blocks nothing).
//!
//! A target that is a symbolic link is written through, as `saveRDS()`
//! writes: the temporary file goes next to the file the link points to, and
//! replaces that file, not the link.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Names drawn before giving up on a directory full of them.
const ATTEMPTS: usize = 100;

#[derive(Debug)]
pub struct AtomicFile {
    /// The path as given, for messages.
    target: PathBuf,
    /// The file replaced: `target` with symbolic links followed.
    dest: PathBuf,
    temp: PathBuf,
    committed: bool,
}

/// Follows symbolic links (at most 40, as the kernel does) to the file a
/// write to `path` reaches; a dangling link gives the path it points to.
fn follow_links(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        let is_link = fs::symlink_metadata(&p).map(|m| m.file_type().is_symlink()).unwrap_or(false);
        let Some(link) = is_link.then(|| fs::read_link(&p).ok()).flatten() else {
            break;
        };
        p = match p.parent() {
            Some(dir) if link.is_relative() => dir.join(link),
            _ => link,
        };
    }
    p
}

impl AtomicFile {
    /// Creates the temporary file next to `target`; returns it open for writing.
    pub fn create(target: &Path) -> Result<(Self, File)> {
        let io_err = |source| Error::Io { path: target.display().to_string(), source };
        let dest = follow_links(target);
        if dest.file_name().is_none() {
            return Err(io_err(io::Error::new(io::ErrorKind::InvalidInput, "not a file name")));
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if fs::metadata(&dest).map(|m| m.is_dir()).unwrap_or(false) {
            return Err(io_err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory")));
        }
        let (temp, file) = create_temp(&dir, temp_name).map_err(io_err)?;
        // Keep the mode of a file we replace, as writing it in place would.
        if let Ok(meta) = fs::metadata(&dest) {
            let _ = file.set_permissions(meta.permissions());
        }
        Ok((Self { target: target.to_path_buf(), dest, temp, committed: false }, file))
    }

    /// Syncs `file` (which must be the temporary file, fully written) and
    /// renames it over the target.
    pub fn commit(mut self, file: File) -> Result<()> {
        let io_err = |source| Error::Io { path: self.target.display().to_string(), source };
        file.sync_all().map_err(io_err)?;
        drop(file);
        fs::rename(&self.temp, &self.dest).map_err(io_err)?;
        self.committed = true;
        // Make the rename itself durable; a failure here does not undo it.
        if let Some(dir) = self.dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    pub fn target(&self) -> &Path {
        &self.target
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Creates a new file in `dir` under the first name from `names` that does
/// not exist yet.
fn create_temp(dir: &Path, mut names: impl FnMut() -> OsString) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let path = dir.join(names());
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

/// `.lowmem-XXXXXXXXXX.tmp`, with ten random lower-case letters and digits.
fn temp_name() -> OsString {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bits = random_u64();
    let mut name = String::from(".lowmem-");
    for _ in 0..10 {
        name.push(ALPHABET[(bits % 36) as usize] as char);
        bits /= 36;
    }
    name.push_str(".tmp");
    name.into()
}

/// 64 random bits: from the kernel, or else (no getrandom(), no
/// /dev/urandom) mixed from the time, the process ID and a counter.
fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    if fill_random(&mut buf) {
        return u64::from_ne_bytes(buf);
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut z = nanos ^ (u64::from(std::process::id()) << 32) ^ count.rotate_left(17);
    // splitmix64's finalizer.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fill_random(buf: &mut [u8]) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), libc::GRND_NONBLOCK) };
        if n == buf.len() as isize {
            return true;
        }
    }
    use std::io::Read;
    File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lowmem-atomic-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn commit_replaces_the_target() {
        let dir = scratch("commit");
        let target = dir.join("out.rds");
        fs::write(&target, b"old").unwrap();
        let (atomic, mut file) = AtomicFile::create(&target).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"old", "untouched until commit");
        atomic.commit(file).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(entries(&dir), vec!["out.rds"]);
    }

    #[test]
    fn dropping_leaves_the_old_file_and_no_debris() {
        let dir = scratch("drop");
        let target = dir.join("out.rds");
        fs::write(&target, b"old").unwrap();
        {
            let (_atomic, mut file) = AtomicFile::create(&target).unwrap();
            file.write_all(b"half of the new").unwrap();
        }
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(entries(&dir), vec!["out.rds"]);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_path() {
        let target = scratch("missing").join("no/such/dir/out.rds");
        let err = AtomicFile::create(&target).unwrap_err().to_string();
        assert!(err.contains("no/such/dir/out.rds"), "{err}");
        assert!(err.contains("No such file or directory"), "{err}");
    }

    #[test]
    fn a_symbolic_link_is_written_through() {
        let dir = scratch("symlink");
        fs::create_dir_all(dir.join("real")).unwrap();
        let real = dir.join("real/out.rds");
        fs::write(&real, b"old").unwrap();
        let link = dir.join("link.rds");
        std::os::unix::fs::symlink("real/out.rds", &link).unwrap();
        let (atomic, mut file) = AtomicFile::create(&link).unwrap();
        file.write_all(b"new").unwrap();
        atomic.commit(file).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays");
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(entries(&dir.join("real")), vec!["out.rds"]);
    }

    #[test]
    fn a_directory_target_is_refused() {
        let dir = scratch("isdir");
        let err = AtomicFile::create(&dir).unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
    }

    #[test]
    fn temporary_names_are_short_and_random() {
        let names: Vec<String> = (0..100).map(|_| temp_name().into_string().unwrap()).collect();
        for name in &names {
            assert_eq!(name.len(), 22, "{name}");
            assert!(name.starts_with(".lowmem-") && name.ends_with(".tmp"), "{name}");
        }
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len());
    }

    #[test]
    fn an_existing_temporary_name_is_skipped() {
        let dir = scratch("collision");
        fs::write(dir.join(".lowmem-stale.tmp"), b"left by a killed process").unwrap();
        let mut drawn = vec![".lowmem-fresh.tmp", ".lowmem-stale.tmp"];
        let (path, _file) = create_temp(&dir, || drawn.pop().unwrap().into()).unwrap();
        assert_eq!(path, dir.join(".lowmem-fresh.tmp"));
        assert!(drawn.is_empty());
        // Only ever the same name: an error after a bounded number of tries.
        let err = create_temp(&dir, || ".lowmem-stale.tmp".into()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_name_of_255_bytes_is_a_target() {
        let dir = scratch("longname");
        let target = dir.join("n".repeat(255));
        for content in [&b"old"[..], b"new"] {
            let (atomic, mut file) = AtomicFile::create(&target).unwrap();
            file.write_all(content).unwrap();
            atomic.commit(file).unwrap();
        }
        assert_eq!(fs::read(&target).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }
}
