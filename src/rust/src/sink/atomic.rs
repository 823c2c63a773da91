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
//! left by a process killed mid-write blocks nothing); the letters come
//! from the OS's random generator (the `getrandom` crate: getrandom(2) on
//! Linux, getentropy on macOS, ProcessPrng on Windows). On Unix a file that
//! is replaced passes on its mode, owner and group to its successor; on
//! Windows, which has no POSIX owner (a new file takes its directory's
//! inherited access rules), its read-only attribute.
//!
//! On Windows the rename is `MoveFileEx` with replacement (std's
//! `fs::rename`), which fails while another process holds the target open
//! without sharing it for deletion (R's own connections do): the error says
//! so, and the target and its directory are left as they were.
//!
//! Which paths are written so is for [`super::target`] to say; `dest` is
//! the target with symbolic links followed (the link stays, the file it
//! points to is replaced, as `saveRDS()` writes through it).

use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions};
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

impl AtomicFile {
    /// Creates the temporary file next to `dest`, which replaces `existing`
    /// (its metadata), if any; returns it open for writing, or `None` if
    /// the owner or group of `existing` could not be passed on (the caller
    /// then writes in place). `target` is the path as given, for messages;
    /// a temporary file that cannot be created is an [`Error::TempFile`]
    /// naming it.
    pub fn create(target: &Path, dest: &Path, existing: Option<&Metadata>) -> Result<Option<(Self, File)>> {
        if dest.file_name().is_none() {
            let source = io::Error::new(io::ErrorKind::InvalidInput, "not a file name");
            return Err(Error::Io { path: target.display().to_string(), source });
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let (temp, file) = create_temp(dir, temp_name).map_err(|(temp, source)| Error::TempFile {
            target: target.display().to_string(),
            temp: temp.display().to_string(),
            source,
        })?;
        let atomic = Self { target: target.to_path_buf(), dest: dest.to_path_buf(), temp, committed: false };
        if let Some(meta) = existing {
            // The owner first: a change of owner may clear set-user-ID bits.
            if !keep_owner(&file, meta) {
                return Ok(None); // `atomic` removes the temporary file
            }
            let _ = file.set_permissions(meta.permissions());
        }
        Ok(Some((atomic, file)))
    }

    /// Syncs `file` (which must be the temporary file, fully written) and
    /// renames it over the target.
    pub fn commit(mut self, file: File) -> Result<()> {
        let io_err = |source| Error::Io { path: self.target.display().to_string(), source };
        file.sync_all().map_err(io_err)?;
        drop(file);
        match fs::rename(&self.temp, &self.dest) {
            Ok(()) => self.committed = true,
            // A mount point (a bind-mounted file) cannot be renamed over:
            // write it in place, as saveRDS() would have; the complete
            // temporary file is the source, and is removed on drop.
            #[cfg(unix)]
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                return copy_into(&self.temp, &self.target).map_err(io_err);
            }
            // A directory that keeps its names (append-only, immutable)
            // that `super::target` did not see as such (its attribute set
            // since): written in place the same way (the temporary file,
            // which cannot be removed there, is emptied on drop). Any other
            // EPERM (a sticky directory, another user's target) is an error
            // that leaves the target as it was.
            #[cfg(unix)]
            Err(e)
                if e.raw_os_error() == Some(libc::EPERM)
                    && super::target::keeps_its_names(super::target::dir_of(&self.dest)) =>
            {
                return copy_into(&self.temp, &self.target).map_err(io_err);
            }
            Err(e) => return Err(io_err(rename_error(e))),
        }
        // Make the rename itself durable; a failure here does not undo it.
        // (Windows opens no directory as a file; NTFS journals the rename.)
        #[cfg(unix)]
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
        if !self.committed && fs::remove_file(&self.temp).is_err() {
            // Where it cannot be removed, it at least holds no data.
            let _ = OpenOptions::new().write(true).truncate(true).open(&self.temp);
        }
    }
}

/// The error of a failed rename over the target, explained where the OS's
/// own words would not say why: on Windows a target another process holds
/// open cannot be replaced (ERROR_ACCESS_DENIED or ERROR_SHARING_VIOLATION).
fn rename_error(e: io::Error) -> io::Error {
    #[cfg(windows)]
    if matches!(e.raw_os_error(), Some(5) | Some(32)) {
        return io::Error::new(
            e.kind(),
            format!("{e}; Windows cannot replace a file that another process (or R connection) holds open"),
        );
    }
    e
}

/// Creates a new file in `dir` under the first name from `names` that does
/// not exist yet; an error comes with the name last tried.
fn create_temp(
    dir: &Path,
    mut names: impl FnMut() -> OsString,
) -> std::result::Result<(PathBuf, File), (PathBuf, io::Error)> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let path = dir.join(names());
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some((path, e)),
            Err(e) => return Err((path, e)),
        }
    }
    Err(last.unwrap_or_else(|| (dir.to_path_buf(), io::Error::from(io::ErrorKind::AlreadyExists))))
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

/// 64 random bits: from the OS, or else (a sandbox that refuses it) mixed
/// from the time, the process ID and a counter.
fn random_u64() -> u64 {
    if let Ok(bits) = getrandom::u64() {
        return bits;
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut z = nanos ^ (u64::from(std::process::id()) << 32) ^ count.rotate_left(17);
    // splitmix64's finalizer.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Gives `file` the owner and group of `meta`; false if that is not
/// allowed (the process is neither root nor the owner and in the group).
#[cfg(unix)]
fn keep_owner(file: &File, meta: &Metadata) -> bool {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    if let Ok(own) = file.metadata() {
        if own.uid() == meta.uid() && own.gid() == meta.gid() {
            return true;
        }
    }
    // SAFETY: fchown on a descriptor `file` keeps open; no memory is passed.
    unsafe { libc::fchown(file.as_raw_fd(), meta.uid(), meta.gid()) == 0 }
}

/// Windows has no POSIX owner and group to keep: a new file's access rules
/// are inherited from its directory, as they are for `saveRDS()`'s file.
#[cfg(not(unix))]
fn keep_owner(_file: &File, _meta: &Metadata) -> bool {
    true
}

#[cfg(unix)]
/// Writes the content of `from` into the file at `to`, in place: what an
/// open of `to` for writing reaches is truncated and filled, then synced.
fn copy_into(from: &Path, to: &Path) -> io::Result<()> {
    let mut source = File::open(from)?;
    let mut sink = OpenOptions::new().write(true).truncate(true).open(to)?;
    io::copy(&mut source, &mut sink)?;
    sink.sync_all()
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

    fn create(target: &Path) -> Result<(AtomicFile, File)> {
        let existing = fs::metadata(target).ok();
        Ok(AtomicFile::create(target, target, existing.as_ref())?.expect("the owner is kept"))
    }

    #[test]
    fn commit_replaces_the_target() {
        let dir = scratch("commit");
        let target = dir.join("out.rds");
        fs::write(&target, b"old").unwrap();
        let (atomic, mut file) = create(&target).unwrap();
        file.write_all(b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"old", "untouched until commit");
        atomic.commit(file).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(entries(&dir), vec!["out.rds"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dropping_leaves_the_old_file_and_no_debris() {
        let dir = scratch("drop");
        let target = dir.join("out.rds");
        fs::write(&target, b"old").unwrap();
        {
            let (_atomic, mut file) = create(&target).unwrap();
            file.write_all(b"half of the new").unwrap();
        }
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(entries(&dir), vec!["out.rds"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = scratch("missing");
        let err = create(&dir.join("no/such/dir/out.rds")).unwrap_err();
        assert!(matches!(&err, Error::TempFile { source, .. } if source.kind() == io::ErrorKind::NotFound), "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot write '{}': cannot open file '",
                dir.join("no/such/dir/out.rds").display()
            )),
            "{text}"
        );
        assert!(text.contains(".tmp': ") && !text.contains("os error"), "{text}");
        // The C library's words on Unix; Windows has its own ("Path not found.").
        #[cfg(unix)]
        assert!(text.ends_with(".tmp': No such file or directory"), "{text}");
        fs::remove_dir_all(&dir).unwrap();
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
        let (path, file) = create_temp(&dir, || drawn.pop().unwrap().into()).map_err(|(_, e)| e).unwrap();
        drop(file); // Windows removes no open file
        assert_eq!(path, dir.join(".lowmem-fresh.tmp"));
        assert!(drawn.is_empty());
        // Only ever the same name: an error after a bounded number of tries.
        let (path, err) = create_temp(&dir, || ".lowmem-stale.tmp".into()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(path, dir.join(".lowmem-stale.tmp"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_name_of_255_bytes_is_a_target() {
        let dir = scratch("longname");
        let target = dir.join("n".repeat(255));
        for content in [&b"old"[..], b"new"] {
            let (atomic, mut file) = create(&target).unwrap();
            file.write_all(content).unwrap();
            atomic.commit(file).unwrap();
        }
        assert_eq!(fs::read(&target).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Unmounts on drop, also when a test fails.
    #[cfg(target_os = "linux")]
    struct Mounted(PathBuf);

    #[cfg(target_os = "linux")]
    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }

    #[cfg(target_os = "linux")] // bind mounts
    #[test]
    fn a_mount_point_that_cannot_be_renamed_over_is_written_in_place() {
        let dir = scratch("ebusy");
        let (source, target) = (dir.join("source"), dir.join("target"));
        fs::write(&source, b"source").unwrap();
        fs::write(&target, b"mount point").unwrap();
        let mounted = std::process::Command::new("mount")
            .arg("--bind")
            .args([&source, &target])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            fs::remove_dir_all(&dir).unwrap();
            return; // needs root and mount(8)
        }
        let guard = Mounted(target.clone());
        let (atomic, mut file) = create(&target).unwrap();
        file.write_all(b"new").unwrap();
        atomic.commit(file).unwrap(); // the rename fails with EBUSY
        assert_eq!(fs::read(&source).unwrap(), b"new");
        drop(guard);
        assert_eq!(fs::read(&target).unwrap(), b"mount point");
        assert_eq!(entries(&dir), vec!["source", "target"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")] // chattr
    #[test]
    fn a_rename_refused_by_an_append_only_directory_is_written_in_place() {
        let dir = scratch("append-only");
        let target = dir.join("out.rds");
        fs::write(&target, b"old").unwrap();
        let (atomic, mut file) = create(&target).unwrap();
        file.write_all(b"new").unwrap();
        if !super::super::chattr("+a", &dir) {
            drop((atomic, file));
            fs::remove_dir_all(&dir).unwrap();
            return; // needs root, chattr and a file system with the attribute
        }
        let temp = atomic.temp.clone();
        let committed = atomic.commit(file); // the rename fails with EPERM
        let left = fs::read(&temp);
        assert!(super::super::chattr("-a", &dir));
        committed.unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(left.unwrap(), b"", "the temporary file, which cannot be removed there, is emptied");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)] // POSIX modes and owners
    #[test]
    fn mode_owner_and_group_pass_on() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = scratch("owner");
        let target = dir.join("out.rds");
        fs::write(&target, b"old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        // SAFETY: plain system calls.
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            std::os::unix::fs::chown(&target, Some(65534), Some(65534)).unwrap();
        }
        let (atomic, file) = create(&target).unwrap();
        atomic.commit(file).unwrap();
        let meta = fs::metadata(&target).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        if root {
            assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A target another handle holds open: Unix replaces it (the open file
    /// lives on, unnamed); Windows refuses while the handle does not share
    /// deletion, and then the error says why and nothing changes.
    #[test]
    fn a_target_held_open() {
        let dir = scratch("held");
        let target = dir.join("out.rds");
        fs::write(&target, b"old").unwrap();
        #[cfg(windows)]
        let held = {
            use std::os::windows::fs::OpenOptionsExt;
            // FILE_SHARE_READ only, as the C runtime's fopen() shares.
            OpenOptions::new().read(true).share_mode(1).open(&target).unwrap()
        };
        #[cfg(not(windows))]
        let held = File::open(&target).unwrap();
        let (atomic, mut file) = create(&target).unwrap();
        file.write_all(b"new").unwrap();
        let result = atomic.commit(file);
        #[cfg(windows)]
        {
            let err = result.unwrap_err().to_string();
            assert!(err.contains("holds open") && err.contains("out.rds"), "{err}");
            drop(held);
            assert_eq!(fs::read(&target).unwrap(), b"old");
        }
        #[cfg(not(windows))]
        {
            result.unwrap();
            drop(held);
            assert_eq!(fs::read(&target).unwrap(), b"new");
        }
        assert_eq!(entries(&dir), vec!["out.rds"], "no debris");
        fs::remove_dir_all(&dir).unwrap();
    }
}
