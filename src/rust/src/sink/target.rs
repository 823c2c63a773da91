//! Where a file path leads, and how `serialize_to_file()` writes there.
//!
//! A file is written atomically — under a temporary name next to it, then
//! renamed over it ([`AtomicFile`]) — only where the rename changes nothing
//! but the content for a `saveRDS()` user. Anywhere else the path is written
//! in place, opened as `saveRDS()` opens it ([`InPlace`]), or the call fails
//! with the reason `saveRDS()`'s open would give:
//!
//! * a path that does not resolve (a loop of symbolic links, a missing or
//!   unsearchable directory): that error; a directory: an error;
//! * not a regular file (a character or block device, a FIFO, `/dev/stdout`
//!   on a terminal or a pipe): in place;
//! * a regular file reached through a link of `/proc` (`/dev/stdout` or
//!   `/dev/fd/N` redirected to a file), with more than one hard link, or
//!   that is a mount point (a bind-mounted file): in place;
//! * a regular file in `/proc` (no file can be created beside it): in
//!   place;
//! * any path in a directory that keeps its names (append-only or
//!   immutable, `chattr +a`/`+i`: a temporary file there could be neither
//!   renamed nor removed): in place (a new file fails there as
//!   `saveRDS()`'s open fails);
//! * a regular file the process may not write: the OS's reason
//!   ("Permission denied");
//! * any other regular file is replaced, keeping its mode, owner and group;
//!   where the owner or group cannot be kept, or no temporary file can be
//!   made in its directory, it is written in place;
//! * a new file (or the missing file a dangling link points to) is created
//!   atomically.
//!
//! Per platform: the hard-link count and the device of a file are read on
//! Unix from `stat`, on Windows from `GetFileInformationByHandle` (its
//! `nNumberOfLinks`; NTFS has hard links, but no file is a mount point, so
//! that test does not apply); the mount root (statx) and `/proc` links are
//! Linux's alone. Whether the process may write a file: `faccessat` with
//! the effective IDs on Linux, `access` on other Unix, the read-only
//! attribute on Windows (its access rules are checked by the open itself).

use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use super::atomic::AtomicFile;
use super::inplace::InPlace;
use crate::error::{Error, Result};

/// How a path is written.
#[derive(Debug)]
enum Plan {
    /// Atomically, over `dest` (the path with symbolic links followed);
    /// `existing` is the file replaced, if any.
    Replace { dest: PathBuf, existing: Option<Metadata> },
    /// In place, through the path as given.
    InPlace,
}

/// An open destination: the file to write and what finishing it takes.
#[derive(Debug)]
pub enum Destination {
    Atomic(AtomicFile),
    InPlace(InPlace),
}

impl Destination {
    /// Opens `target` for writing, as the module's rules say.
    pub fn open(target: &Path) -> Result<(Destination, File)> {
        let io_err = |source| Error::Io { path: target.display().to_string(), source };
        let (dest, existing) = match plan(target).map_err(io_err)? {
            Plan::InPlace => return in_place(target),
            Plan::Replace { dest, existing } => (dest, existing),
        };
        // A temporary file there could be neither renamed nor removed.
        if keeps_its_names(dir_of(&dest)) {
            return in_place(target);
        }
        match AtomicFile::create(target, &dest, existing.as_ref()) {
            Ok(Some((atomic, file))) => Ok((Destination::Atomic(atomic), file)),
            // The owner or group of the file would change.
            Ok(None) => in_place(target),
            // The directory takes no new file, but the file may be written.
            Err(Error::TempFile { source, .. }) if existing.is_some() && is_permission(&source) => in_place(target),
            Err(e) => Err(e),
        }
    }

    /// Completes the write of `file`, fully written.
    pub fn commit(self, file: File) -> Result<()> {
        match self {
            Destination::Atomic(atomic) => atomic.commit(file),
            Destination::InPlace(in_place) => in_place.commit(file),
        }
    }

    /// The path as given, for messages.
    pub fn target(&self) -> &Path {
        match self {
            Destination::Atomic(atomic) => atomic.target(),
            Destination::InPlace(in_place) => in_place.target(),
        }
    }

    /// Whether the file is written in place (for tests).
    #[cfg(test)]
    pub fn is_in_place(&self) -> bool {
        matches!(self, Destination::InPlace(_))
    }
}

fn in_place(target: &Path) -> Result<(Destination, File)> {
    let (in_place, file) = InPlace::open(target)?;
    Ok((Destination::InPlace(in_place), file))
}

/// The directory a file is created in: its path's parent, or `.`.
pub(super) fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Whether no name in the directory `dir` may be removed or renamed: its
/// append-only attribute (`chattr +a`: new names only) or its immutable
/// one (`chattr +i`: no change at all) is set. A temporary file made there
/// could not be renamed over the target, nor removed: such a directory is
/// written in place, as `saveRDS()` writes (a new file is created, as
/// `saveRDS()` creates it, or fails as its open fails). Read with the
/// FS_IOC_GETFLAGS ioctl (ext2/3/4, XFS, Btrfs, F2FS, ...); where the file
/// system has no such attributes the ioctl fails, and the answer is no.
#[cfg(target_os = "linux")]
pub(super) fn keeps_its_names(dir: &Path) -> bool {
    use std::os::fd::AsRawFd;
    const FS_IMMUTABLE_FL: libc::c_int = 0x10;
    const FS_APPEND_FL: libc::c_int = 0x20;
    let Ok(d) = File::open(dir) else { return false };
    // The kernel writes an int, whatever size the request's number
    // encodes; room for a long all the same, the int at its start.
    let mut buf: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS on a descriptor `d` keeps open writes at
    // most the bytes of `buf`, which outlives the call.
    let rc = unsafe { libc::ioctl(d.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut buf as *mut libc::c_long) };
    // SAFETY: `buf` is initialised and at least as large as an int.
    let flags = unsafe { *(&buf as *const libc::c_long).cast::<libc::c_int>() };
    rc == 0 && flags & (FS_APPEND_FL | FS_IMMUTABLE_FL) != 0
}

#[cfg(not(target_os = "linux"))]
pub(super) fn keeps_its_names(_dir: &Path) -> bool {
    false
}

/// EACCES or EPERM on Unix, ERROR_ACCESS_DENIED on Windows.
fn is_permission(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
}

fn plan(target: &Path) -> io::Result<Plan> {
    // What an open of the path reaches: the kernel follows the links (and
    // fails on a loop, as saveRDS()'s open would).
    let meta = match fs::metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (dest, through_proc) = follow_links(target);
            return Ok(if through_proc { Plan::InPlace } else { Plan::Replace { dest, existing: None } });
        }
        Err(e) => return Err(e),
    };
    if meta.is_dir() {
        return Err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory"));
    }
    if !meta.is_file() {
        return Ok(Plan::InPlace);
    }
    let (dest, through_proc) = follow_links(target);
    // A file of /proc takes no new file beside it: written in place, as
    // saveRDS() writes it.
    if through_proc || links(&dest, &meta) > 1 || is_mount_point(&dest, &meta) || on_procfs(dir_of(&dest)) {
        return Ok(Plan::InPlace);
    }
    may_write(&dest)?;
    Ok(Plan::Replace { dest, existing: Some(meta) })
}

/// Follows symbolic links (at most 40, as the kernel does) to the file a
/// write to `path` reaches; a dangling link gives the path it points to.
/// Also says whether a link on the way lives in `/proc` (`/dev/stdout` is
/// one to `/proc/self/fd/1`): such a link names an open file, not a path,
/// and what it seems to point to need not be that file.
fn follow_links(path: &Path) -> (PathBuf, bool) {
    let mut p = path.to_path_buf();
    let mut through_proc = false;
    for _ in 0..40 {
        let is_link = fs::symlink_metadata(&p).map(|m| m.file_type().is_symlink()).unwrap_or(false);
        let Some(link) = is_link.then(|| fs::read_link(&p).ok()).flatten() else {
            break;
        };
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        through_proc |= on_procfs(dir);
        p = if link.is_relative() { dir.join(link) } else { link };
    }
    (p, through_proc)
}

// The type of `f_type` differs between architectures, hence the casts.
#[cfg(target_os = "linux")]
#[allow(clippy::unnecessary_cast)]
fn on_procfs(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_dir) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return false };
    // SAFETY: a NUL-terminated path and a struct statfs that outlives the call.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::statfs(c_dir.as_ptr(), &mut st) } == 0;
    ok && st.f_type as i64 == libc::PROC_SUPER_MAGIC as i64
}

#[cfg(not(target_os = "linux"))]
fn on_procfs(_dir: &Path) -> bool {
    false
}

/// How many hard links the file `dest` (whose metadata is `meta`) has.
#[cfg(unix)]
fn links(_dest: &Path, meta: &Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.nlink()
}

/// How many hard links the file `dest` has (1 if that cannot be read).
#[cfg(windows)]
fn links(dest: &Path, _meta: &Metadata) -> u64 {
    win::file_info(dest).map(|info| u64::from(info.links)).unwrap_or(1)
}

/// Whether `dest` (whose metadata is `meta`) is a mount point: the root of
/// a mount says so (Linux 5.8 and later), a file mounted from another file
/// system has another device than its directory. A rename over a mount
/// point fails with `EBUSY`; [`AtomicFile::commit`] still copes with one
/// that is not seen here. Windows mounts volumes on directories only.
#[cfg(not(unix))]
fn is_mount_point(_dest: &Path, _meta: &Metadata) -> bool {
    false
}

#[cfg(unix)]
fn is_mount_point(dest: &Path, meta: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let other_device = fs::metadata(dir).map(|d| d.dev() != meta.dev()).unwrap_or(false);
    other_device || is_mount_root(dest)
}

#[cfg(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))]
fn is_mount_root(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: the statx system call (by number, so that no C library
    // wrapper is needed) with a NUL-terminated path and a struct statx that
    // outlives the call; an old kernel fails with ENOSYS.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::syscall(libc::SYS_statx, libc::AT_FDCWD, c_path.as_ptr(), 0, libc::STATX_TYPE, &mut stx) };
    let flag = libc::STATX_ATTR_MOUNT_ROOT as u64;
    rc == 0 && stx.stx_attributes_mask & flag != 0 && stx.stx_attributes & flag != 0
}

#[cfg(all(unix, not(all(target_os = "linux", any(target_env = "gnu", target_env = "musl")))))]
fn is_mount_root(_path: &Path) -> bool {
    false
}

/// Fails with the OS's reason if the process may not write `path`: on
/// Windows, a file with the read-only attribute (ERROR_ACCESS_DENIED, what
/// an open for writing would give).
#[cfg(windows)]
fn may_write(path: &Path) -> io::Result<()> {
    if fs::metadata(path)?.permissions().readonly() {
        return Err(io::Error::from_raw_os_error(5));
    }
    Ok(())
}

/// Windows' file information: what `std::fs::Metadata` does not offer on
/// stable Rust.
#[cfg(windows)]
mod win {
    use std::ffi::c_void;
    use std::os::windows::io::AsRawHandle;
    use std::path::Path;

    #[repr(C)]
    struct FileTime {
        low: u32,
        high: u32,
    }

    /// BY_HANDLE_FILE_INFORMATION.
    #[repr(C)]
    struct ByHandleFileInformation {
        attributes: u32,
        creation: FileTime,
        last_access: FileTime,
        last_write: FileTime,
        volume_serial: u32,
        size_high: u32,
        size_low: u32,
        links: u32,
        index_high: u32,
        index_low: u32,
    }

    #[link(name = "kernel32")]
    extern "system" {
        fn GetFileInformationByHandle(file: *mut c_void, info: *mut ByHandleFileInformation) -> i32;
    }

    pub struct FileInfo {
        pub links: u32,
    }

    /// The file's information, through a handle opened for no access (so
    /// that no sharing mode of another open is in the way).
    pub fn file_info(path: &Path) -> std::io::Result<FileInfo> {
        use std::os::windows::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new().access_mode(0).share_mode(7).open(path)?;
        // SAFETY: a handle `file` keeps open and a struct that outlives the call.
        let mut info: ByHandleFileInformation = unsafe { std::mem::zeroed() };
        if unsafe { GetFileInformationByHandle(file.as_raw_handle().cast(), &mut info) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(FileInfo { links: info.links })
    }
}

/// Fails with the OS's reason if the process may not write `path` (with
/// its effective user and groups, as an open would check).
#[cfg(unix)]
fn may_write(path: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))?;
    // SAFETY: a NUL-terminated path; no memory is written.
    #[cfg(target_os = "linux")]
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c_path.as_ptr(), libc::W_OK, libc::AT_EACCESS) };
    #[cfg(not(target_os = "linux"))]
    let rc = unsafe { libc::access(c_path.as_ptr(), libc::W_OK) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lowmem-target-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(target: &Path, bytes: &[u8]) -> Result<bool> {
        let (dest, mut file) = Destination::open(target)?;
        let in_place = dest.is_in_place();
        file.write_all(bytes).unwrap();
        dest.commit(file)?;
        Ok(in_place)
    }

    #[test]
    fn a_new_or_plain_file_is_replaced() {
        let dir = scratch("plain");
        let target = dir.join("x");
        assert!(!write(&target, b"one").unwrap());
        assert!(!write(&target, b"two").unwrap());
        assert_eq!(fs::read(&target).unwrap(), b"two");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)] // symbolic links need a privilege on Windows
    #[test]
    fn a_symbolic_link_is_written_through() {
        let dir = scratch("symlink");
        fs::create_dir_all(dir.join("real")).unwrap();
        let real = dir.join("real/out.rds");
        fs::write(&real, b"old").unwrap();
        let link = dir.join("link.rds");
        std::os::unix::fs::symlink("real/out.rds", &link).unwrap();
        assert!(!write(&link, b"new").unwrap());
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays");
        assert_eq!(fs::read(&real).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.join("real")).unwrap().count(), 1, "no debris");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = scratch("isdir");
        let err = write(&dir, b"x").unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        assert!(dir.is_dir());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_path() {
        let dir = scratch("missing");
        let err = write(&dir.join("no/such/dir/out.rds"), b"x").unwrap_err().to_string();
        assert!(err.contains(&dir.join("no/such/dir/out.rds").display().to_string()), "{err}");
        #[cfg(unix)]
        assert!(err.contains("No such file or directory"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_hard_link_is_written_in_place() {
        let dir = scratch("hardlink");
        let target = dir.join("x");
        fs::write(&target, b"old").unwrap();
        fs::hard_link(&target, dir.join("y")).unwrap();
        assert!(write(&target, b"new").unwrap());
        assert_eq!(fs::read(dir.join("y")).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)] // /dev/null
    #[test]
    fn a_character_device_is_written_in_place() {
        assert!(write(Path::new("/dev/null"), b"nothing").unwrap());
        assert!(!fs::metadata("/dev/null").unwrap().file_type().is_file());
    }

    #[cfg(unix)] // symbolic links
    #[test]
    fn a_loop_of_links_is_the_kernels_error() {
        let dir = scratch("loop");
        std::os::unix::fs::symlink("b", dir.join("a")).unwrap();
        std::os::unix::fs::symlink("a", dir.join("b")).unwrap();
        let err = write(&dir.join("a"), b"x").unwrap_err().to_string();
        assert!(err.contains("Too many levels of symbolic links"), "{err}");
        assert!(fs::symlink_metadata(dir.join("a")).unwrap().file_type().is_symlink());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")] // chattr
    #[test]
    fn a_directory_that_keeps_its_names_is_written_in_place() {
        let dir = scratch("append-only");
        fs::write(dir.join("old"), b"old").unwrap();
        for flag in ["a", "i"] {
            if !super::super::chattr(&format!("+{flag}"), &dir) {
                fs::remove_dir_all(&dir).unwrap();
                return; // needs root, chattr and a file system with the attribute
            }
            assert!(keeps_its_names(&dir));
            let old = write(&dir.join("old"), flag.as_bytes());
            let new = write(&dir.join(format!("new-{flag}")), b"new");
            assert!(super::super::chattr(&format!("-{flag}"), &dir));
            assert!(old.unwrap(), "in place");
            assert_eq!(fs::read(dir.join("old")).unwrap(), flag.as_bytes());
            match flag {
                "a" => assert!(new.unwrap(), "a new file, in place"),
                _ => assert!(new.unwrap_err().to_string().ends_with("Operation not permitted")),
            }
        }
        assert!(!keeps_its_names(&dir));
        let mut names: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["new-a", "old"], "no temporary file left");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")] // /proc
    #[test]
    fn a_file_of_proc_is_written_in_place() {
        let version = Path::new("/proc/version");
        if fs::metadata(version).is_err() || may_write(version).is_err() {
            return; // no /proc, or not root
        }
        assert!(matches!(plan(version), Ok(Plan::InPlace)));
    }

    #[cfg(target_os = "linux")] // /proc
    #[test]
    fn a_proc_fd_link_is_written_in_place() {
        let dir = scratch("procfd");
        let target = dir.join("x");
        fs::write(&target, b"old").unwrap();
        let held = File::options().write(true).open(&target).unwrap();
        use std::os::fd::AsRawFd;
        let link = PathBuf::from(format!("/proc/self/fd/{}", held.as_raw_fd()));
        if fs::metadata(&link).is_err() {
            return; // no /proc
        }
        assert!(write(&link, b"new").unwrap());
        assert_eq!(fs::read(&target).unwrap(), b"new");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_read_only_file_is_refused_and_kept() {
        let dir = scratch("readonly");
        let target = dir.join("x");
        fs::write(&target, b"old").unwrap();
        let mut perms = fs::metadata(&target).unwrap().permissions();
        perms.set_readonly(true);
        fs::set_permissions(&target, perms.clone()).unwrap();
        // Root may write any file on Unix: nothing to refuse there.
        #[cfg(unix)]
        let refused = unsafe { libc::geteuid() } != 0;
        #[cfg(not(unix))]
        let refused = true;
        let result = write(&target, b"new");
        if refused {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Io { ref source, .. } if is_permission(source)), "{err}");
            assert_eq!(fs::read(&target).unwrap(), b"old");
        }
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&target, perms).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
