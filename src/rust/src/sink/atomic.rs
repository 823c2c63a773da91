//! Writing a file so that it appears whole or not at all.
//!
//! The data goes to a temporary file in the target's directory (so the final
//! rename stays on one file system); `commit` syncs it to disk and renames it
//! over the target. Dropping an uncommitted [`AtomicFile`] removes the
//! temporary file, so a failure (disk full, an R error, an interrupt) leaves
//! an existing target byte-for-byte untouched and no debris behind.
//!
//! A target that is a symbolic link is written through, as `saveRDS()`
//! writes: the temporary file goes next to the file the link points to, and
//! replaces that file, not the link.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

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
        let name = dest
            .file_name()
            .ok_or_else(|| io_err(io::Error::new(io::ErrorKind::InvalidInput, "not a file name")))?;
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if fs::metadata(&dest).map(|m| m.is_dir()).unwrap_or(false) {
            return Err(io_err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory")));
        }
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(
            ".lowmem-{}-{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let temp = dir.join(temp_name);
        let file = OpenOptions::new().write(true).create_new(true).open(&temp).map_err(io_err)?;
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
}
