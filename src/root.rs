//! File access relative to a root: the live system (`/`) or a directory (a snapshot, or a host's root
//! mounted at `/host` in a debug container). This is the only module that opens files.
//!
//! Inside a directory root, paths resolve as `openat2(RESOLVE_IN_ROOT)` does: a symlink such as
//! `proc/mounts -> self/mounts` works, and an absolute link to `/etc/shadow` stays inside the root.
//! Every open is non-blocking and only regular files are read (plus character devices where a caller
//! asks for one explicitly, such as `/dev/kmsg`), so a FIFO planted in a tree never hangs a read.
//!
//! A directory root can carry files of its own that answer reads of their paths before the directory
//! does ([`Root::dir_with_files`]): a sosreport's `sysctl -a` output read as /proc/sys files.
//!
//! A root can also record: every successful read is copied into a snapshot directory, which is how
//! `osdoctor snapshot` captures exactly the files `check` reads.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};

/// The most we read of one file. /proc and /sys files are small; the cap keeps a hostile or broken
/// tree from exhausting memory on a host that is already short of it.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A failed read, carrying the path as the caller named it.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not a regular file (refusing to read a {kind})")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path}: larger than {limit} bytes")]
    TooLarge { path: String, limit: u64 },
}

impl ReadError {
    pub fn path(&self) -> &str {
        match self {
            ReadError::Io { path, .. }
            | ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. } => path,
        }
    }

    /// True when the file does not exist (or the process owning it exited: ESRCH).
    pub fn is_not_found(&self) -> bool {
        match self {
            ReadError::Io { source, .. } => {
                source.kind() == io::ErrorKind::NotFound || source.raw_os_error() == Some(libc_esrch())
            }
            _ => false,
        }
    }

    pub fn is_permission_denied(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied)
    }

    /// A short reason for coverage listings ("not found", "permission denied", ...).
    pub fn reason(&self) -> String {
        match self {
            ReadError::Io { source, .. } if self.is_not_found() => {
                let _ = source;
                "not found".to_string()
            }
            ReadError::Io { source, .. } => match source.kind() {
                io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => source.to_string(),
            },
            ReadError::NotRegular { kind, .. } => format!("not a regular file ({kind})"),
            ReadError::TooLarge { limit, .. } => format!("larger than {limit} bytes"),
        }
    }
}

const fn libc_esrch() -> i32 {
    3 // ESRCH on every Linux architecture
}

/// Why a root could not be opened at all (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("--root {0}: no such directory")]
    Missing(PathBuf),
    #[error("--root {0}: not a directory")]
    NotADirectory(PathBuf),
    #[error("--root {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
}

/// Where the files come from.
#[derive(Clone)]
pub struct Root {
    inner: Arc<RootInner>,
}

struct RootInner {
    /// `None` for the live system; otherwise the directory that stands for `/`.
    dir: Option<PathBuf>,
    dir_fd: Option<OwnedFd>,
    recorder: Option<Mutex<Recorder>>,
    /// Files that answer reads of their paths before the directory does ([`Root::dir_with_files`]).
    files: BTreeMap<String, Vec<u8>>,
}

struct Recorder {
    into: PathBuf,
    /// The first recording error, reported once by the snapshot command.
    error: Option<String>,
}

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Root").field("dir", &self.inner.dir).finish()
    }
}

impl Root {
    /// The running system.
    pub fn live() -> Root {
        Root {
            inner: Arc::new(RootInner {
                dir: None,
                dir_fd: None,
                recorder: None,
                files: BTreeMap::new(),
            }),
        }
    }

    /// A directory that stands for `/`.
    pub fn dir(path: impl AsRef<Path>) -> Result<Root, RootError> {
        let path = path.as_ref().to_path_buf();
        let meta = std::fs::metadata(&path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                RootError::Missing(path.clone())
            } else {
                RootError::Open {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        if !meta.is_dir() {
            return Err(RootError::NotADirectory(path));
        }
        if path == Path::new("/") {
            return Ok(Root::live());
        }
        let fd = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| RootError::Open {
            path: path.clone(),
            source: e.into(),
        })?;
        Ok(Root {
            inner: Arc::new(RootInner {
                dir: Some(path),
                dir_fd: Some(fd),
                recorder: None,
                files: BTreeMap::new(),
            }),
        })
    }

    /// A directory standing for `/`, with `files` (absolute paths) answering reads of those paths
    /// before the directory does: what a sosreport holds in another form, such as its `sysctl -a`
    /// output as /proc/sys files, shown where the collectors read it.
    pub fn dir_with_files(
        path: impl AsRef<Path>,
        files: BTreeMap<String, Vec<u8>>,
    ) -> Result<Root, RootError> {
        let mut root = Root::dir(path)?;
        match Arc::get_mut(&mut root.inner) {
            Some(inner) if inner.dir.is_some() => inner.files = files,
            _ => {
                return Err(RootError::NotADirectory(PathBuf::from("/")));
            }
        }
        Ok(root)
    }

    /// The live system, copying every file it reads under `into` (the snapshot directory of one sample).
    pub fn live_recording(into: impl AsRef<Path>) -> Root {
        Root {
            inner: Arc::new(RootInner {
                dir: None,
                dir_fd: None,
                recorder: Some(Mutex::new(Recorder {
                    into: into.as_ref().to_path_buf(),
                    error: None,
                })),
                files: BTreeMap::new(),
            }),
        }
    }

    /// True for the running system (reads may be live-only tricks such as `stat()` of /proc/PID/fd).
    pub fn is_live(&self) -> bool {
        self.inner.dir.is_none()
    }

    /// True when every read is being copied into a snapshot (`osdoctor snapshot`). Collectors then
    /// read the files a replay needs rather than live-only shortcuts (they list /proc/PID/fd instead of
    /// taking its count from `stat()`, which a directory cannot replay).
    pub fn is_recording(&self) -> bool {
        self.inner.recorder.is_some()
    }

    /// The directory standing for `/`, or `None` for the live system.
    pub fn dir_path(&self) -> Option<&Path> {
        self.inner.dir.as_deref()
    }

    /// How this root is shown in reports: `/` or the directory.
    pub fn display(&self) -> String {
        match &self.inner.dir {
            None => "/".to_string(),
            Some(d) => d.display().to_string(),
        }
    }

    /// The first error met while recording, if any.
    pub fn recording_error(&self) -> Option<String> {
        self.inner
            .recorder
            .as_ref()
            .and_then(|r| r.lock().ok().and_then(|r| r.error.clone()))
    }

    /// The last `max` bytes of a regular file (a saved log larger than what is read of it: its newest
    /// part). Not for /proc files, whose size says nothing; not recorded.
    pub fn read_tail(&self, path: &str, max: u64) -> Result<Vec<u8>, ReadError> {
        use std::io::Seek;
        if let Some(content) = self.inner.files.get(path) {
            let from = content.len().saturating_sub(max as usize);
            return Ok(content[from..].to_vec());
        }
        let fd = self.open_fd(path)?;
        regular_file(&fd, path)?;
        let mut file = File::from(fd);
        let len = file.metadata().map_err(|e| io_err(path, e))?.len();
        file.seek(io::SeekFrom::Start(len.saturating_sub(max)))
            .map_err(|e| io_err(path, e))?;
        let mut buf = Vec::new();
        file.take(max)
            .read_to_end(&mut buf)
            .map_err(|e| io_err(path, e))?;
        Ok(buf)
    }

    /// Read a whole regular file (`path` is absolute within the root, e.g. `/proc/meminfo`).
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ReadError> {
        if let Some(content) = self.inner.files.get(path) {
            return Ok(content.clone());
        }
        let fd = self.open_fd(path)?;
        regular_file(&fd, path)?;
        // /proc and /sys files report size 0 (or 4096): always read to EOF, up to the cap.
        let mut buf = Vec::with_capacity(4096);
        read_capped(File::from(fd), path, &mut buf)?;
        self.record(|into| write_recorded(into, path, &buf));
        Ok(buf)
    }

    /// Read a whole file as text (invalid UTF-8 is replaced, never an error: kernel text can hold any byte).
    pub fn read_string(&self, path: &str) -> Result<String, ReadError> {
        let bytes = self.read(path)?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Open a file for streaming reads, allowing a character device (for `/dev/kmsg`).
    /// The file is opened non-blocking: a read with nothing left returns `WouldBlock`.
    pub fn open_device(&self, path: &str) -> Result<File, ReadError> {
        let fd = self.open_fd(path)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| io_err(path, e.into()))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile | FileType::CharacterDevice => Ok(File::from(fd)),
            other => Err(ReadError::NotRegular {
                path: path.to_string(),
                kind: file_type_name(other),
            }),
        }
    }

    /// Read a record-oriented device such as `/dev/kmsg` until it has nothing more (EAGAIN) or `max`
    /// bytes; each read() returns one record. A record overwritten while reading (EPIPE) is skipped:
    /// the sequence numbers show the gap. In a directory root the same path is a regular file holding
    /// the records, as the snapshot recorded them.
    pub fn read_records(&self, path: &str, max: usize) -> Result<Vec<u8>, ReadError> {
        if let Some(content) = self.inner.files.get(path) {
            return Ok(content[..content.len().min(max)].to_vec());
        }
        let mut file = self.open_device(path)?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        while out.len() < max {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.raw_os_error() == Some(32) => continue, // EPIPE: record overwritten
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(path, e)),
            }
        }
        self.record_file(path, &out);
        Ok(out)
    }

    /// The target of a symlink, recording `transform(target)` as the link's target instead (fd links
    /// of regular files are recorded without their paths). The caller gets the real target.
    pub fn read_link_recorded_as(
        &self,
        path: &str,
        transform: impl Fn(&str) -> String,
    ) -> Result<String, ReadError> {
        let target = self.unrecorded().read_link(path)?;
        if self.is_recording() {
            let recorded = transform(&target);
            self.record(|into| write_link(into, path, &recorded));
        }
        Ok(target)
    }

    /// The target of a symlink, not copied into the recording.
    pub fn read_link_unrecorded(&self, path: &str) -> Result<String, ReadError> {
        self.unrecorded().read_link(path)
    }

    /// The target of a symlink (e.g. `/proc/PID/fd/3` -> `socket:[1234]`).
    pub fn read_link(&self, path: &str) -> Result<String, ReadError> {
        let target = match &self.inner.dir {
            None => std::fs::read_link(path).map_err(|e| io_err(path, e))?,
            Some(_) => {
                let (parent, name) = split_parent(path);
                let parent_fd = self.open_dir_fd(parent)?;
                let t = rustix::fs::readlinkat(&parent_fd, name, Vec::new())
                    .map_err(|e| io_err(path, e.into()))?;
                PathBuf::from(t.to_string_lossy().into_owned())
            }
        };
        let target = target.to_string_lossy().into_owned();
        self.record(|into| write_link(into, path, &target));
        Ok(target)
    }

    /// The names in a directory, unsorted.
    pub fn list_dir(&self, path: &str) -> Result<Vec<String>, ReadError> {
        let fd = self.open_dir_fd(path)?;
        let dir = rustix::fs::Dir::read_from(&fd).map_err(|e| io_err(path, e.into()))?;
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| io_err(path, e.into()))?;
            let name = entry.file_name().to_string_lossy();
            if name != "." && name != ".." {
                names.push(name.into_owned());
            }
        }
        self.record(|into| std::fs::create_dir_all(into.join(relative(path))));
        Ok(names)
    }

    /// `stat()` of a path inside the root (follows symlinks inside the root). On the live system this
    /// is one `stat()` call: `/proc/PID/fd` then reports the number of open fds in `st_size` (6.2+),
    /// and `/proc/PID/fd/N` the size of the open file.
    pub fn stat(&self, path: &str) -> Result<rustix::fs::Stat, ReadError> {
        if self.inner.dir_fd.is_none() {
            return rustix::fs::stat(path).map_err(|e| io_err(path, e.into()));
        }
        let fd = self.open_path_fd(path)?;
        rustix::fs::fstat(&fd).map_err(|e| io_err(path, e.into()))
    }

    /// True when `path` inside the root is on a real procfs mount (a host's /proc seen at /host/proc
    /// from a debug container), not a copy: live-only tricks such as the fd count in `st_size` work there.
    pub fn is_procfs(&self, path: &str) -> bool {
        self.open_path_fd(path)
            .ok()
            .and_then(|fd| rustix::fs::fstatfs(&fd).ok())
            .is_some_and(|s| s.f_type == rustix::fs::PROC_SUPER_MAGIC)
    }

    /// Filesystem capacity of the filesystem holding `path` (`statvfs`). Inside a directory root the
    /// path is resolved inside it; a snapshot cannot replay this (collectors record what they need in
    /// a file of their own, see [`Root::record_file`]).
    pub fn statvfs(&self, path: &str) -> Result<rustix::fs::StatVfs, ReadError> {
        if self.inner.dir_fd.is_none() {
            return rustix::fs::statvfs(path).map_err(|e| io_err(path, e.into()));
        }
        let fd = self.open_path_fd(path)?;
        rustix::fs::fstatvfs(&fd).map_err(|e| io_err(path, e.into()))
    }

    /// Read a small file into `buf` (cleared first), reusing its allocation: the per-process scan reads
    /// thousands of files. Same safety as [`Root::read`]; on the live system a file under `/proc/` is
    /// not `fstat`ed first (procfs holds no FIFOs or devices there, and the open is non-blocking anyway).
    pub fn read_into(&self, path: &str, buf: &mut Vec<u8>) -> Result<(), ReadError> {
        buf.clear();
        if let Some(content) = self.inner.files.get(path) {
            buf.extend_from_slice(content);
            return Ok(());
        }
        let fd = self.open_fd(path)?;
        if self.inner.dir_fd.is_some() || !path.starts_with("/proc/") {
            regular_file(&fd, path)?;
        }
        let mut file = File::from(fd);
        if self.inner.dir_fd.is_none() && is_pid_file(path) {
            // Files under /proc/PID are seq_file single-record files: the kernel renders the whole file
            // and a read returns all of it when the buffer is large enough, so a short read is the end
            // (one read() instead of read_to_end's two).
            let room = buf.capacity().max(8192);
            buf.resize(room, 0);
            match file.read(&mut buf[..]) {
                Ok(n) if n < room => {
                    buf.truncate(n);
                    self.record(|into| write_recorded(into, path, buf));
                    return Ok(());
                }
                Ok(n) => buf.truncate(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.clear(),
                Err(e) => {
                    buf.clear();
                    return Err(io_err(path, e));
                }
            }
        } else if buf.capacity() < 4096 {
            buf.reserve(4096);
        }
        read_capped(file, path, buf)?;
        self.record(|into| write_recorded(into, path, buf));
        Ok(())
    }

    /// Read a file, recording `transform(content)` instead of the content itself (command lines are
    /// recorded with their secrets redacted). The caller gets the real content.
    pub fn read_recorded_as(
        &self,
        path: &str,
        transform: impl Fn(&[u8]) -> Vec<u8>,
    ) -> Result<Vec<u8>, ReadError> {
        let mut buf = Vec::new();
        self.unrecorded().read_into(path, &mut buf)?;
        if self.is_recording() {
            let recorded = transform(&buf);
            self.record(|into| write_recorded(into, path, &recorded));
        }
        Ok(buf)
    }

    /// Read a file without copying it into the recording: a second look at a file whose recorded copy
    /// must stay the one the pass read (e.g. /proc/stat again after the process scan).
    pub fn read_unrecorded(&self, path: &str) -> Result<Vec<u8>, ReadError> {
        self.unrecorded().read(path)
    }

    /// This root without its recorder: reads that must not go into a snapshot being written.
    pub fn without_recording(&self) -> Root {
        self.unrecorded()
    }

    /// This root without its recorder (only the live system records).
    fn unrecorded(&self) -> Root {
        if self.is_recording() {
            Root::live()
        } else {
            self.clone()
        }
    }

    /// Add a file of the collector's own to the recording (no-op unless recording): values a
    /// directory cannot replay, such as filesystem capacity, written where a replay reads them back.
    pub fn record_file(&self, path: &str, content: &[u8]) {
        self.record(|into| write_recorded(into, path, content));
    }

    /// Whether a path exists inside the root.
    pub fn exists(&self, path: &str) -> bool {
        self.inner.files.contains_key(path) || self.open_path_fd(path).is_ok()
    }

    fn open_fd(&self, path: &str) -> Result<OwnedFd, ReadError> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        self.open_with(path, flags)
    }

    fn open_dir_fd(&self, path: &str) -> Result<OwnedFd, ReadError> {
        self.open_with(path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC)
    }

    fn open_path_fd(&self, path: &str) -> Result<OwnedFd, ReadError> {
        self.open_with(path, OFlags::PATH | OFlags::CLOEXEC)
    }

    fn open_with(&self, path: &str, flags: OFlags) -> Result<OwnedFd, ReadError> {
        match &self.inner.dir_fd {
            None => rustix::fs::open(path, flags, Mode::empty()).map_err(|e| io_err(path, e.into())),
            Some(dir_fd) => open_in_root(dir_fd.as_fd(), path, flags).map_err(|e| io_err(path, e)),
        }
    }

    fn record(&self, write: impl FnOnce(&Path) -> io::Result<()>) {
        let Some(recorder) = &self.inner.recorder else {
            return;
        };
        let Ok(mut rec) = recorder.lock() else { return };
        let into = rec.into.clone();
        if let Err(e) = write(&into)
            && rec.error.is_none()
        {
            rec.error = Some(format!("{}: {e}", into.display()));
        }
    }
}

/// Refuse anything but a regular file (a FIFO planted in a tree would block a read).
fn regular_file(fd: &OwnedFd, path: &str) -> Result<(), ReadError> {
    let st = rustix::fs::fstat(fd).map_err(|e| io_err(path, e.into()))?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Ok(()),
        other => Err(ReadError::NotRegular {
            path: path.to_string(),
            kind: file_type_name(other),
        }),
    }
}

/// Append the rest of `file` to `buf`, up to [`MAX_FILE_BYTES`].
fn read_capped(file: File, path: &str, buf: &mut Vec<u8>) -> Result<(), ReadError> {
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(buf)
        .map_err(|e| io_err(path, e))?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge {
            path: path.to_string(),
            limit: MAX_FILE_BYTES,
        });
    }
    Ok(())
}

/// `/proc/1234/...`: a file of one process (or one of its threads).
fn is_pid_file(path: &str) -> bool {
    path.strip_prefix("/proc/")
        .is_some_and(|rest| rest.as_bytes().first().is_some_and(u8::is_ascii_digit))
}

fn write_link(into: &Path, path: &str, target: &str) -> io::Result<()> {
    let dest = into.join(relative(path));
    if let Some(p) = dest.parent() {
        std::fs::create_dir_all(p)?;
    }
    let _ = std::fs::remove_file(&dest);
    std::os::unix::fs::symlink(target, &dest)
}

fn write_recorded(into: &Path, path: &str, content: &[u8]) -> io::Result<()> {
    let dest = into.join(relative(path));
    if let Some(p) = dest.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::write(dest, content)
}

/// Open `path` below `dir_fd` with every symlink resolved inside it.
fn open_in_root(dir_fd: std::os::fd::BorrowedFd<'_>, path: &str, flags: OFlags) -> io::Result<OwnedFd> {
    let rel = relative(path);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel.as_path()
    };
    match rustix::fs::openat2(
        dir_fd,
        rel,
        flags,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Err(rustix::io::Errno::NOSYS) => open_in_root_by_hand(dir_fd, rel, flags, 0),
        other => other.map_err(Into::into),
    }
}

/// For kernels before 5.6 (no openat2): walk the path one component at a time, resolving each symlink
/// against the root, never following `..` above it.
fn open_in_root_by_hand(
    dir_fd: std::os::fd::BorrowedFd<'_>,
    rel: &Path,
    flags: OFlags,
    depth: u32,
) -> io::Result<OwnedFd> {
    if depth > 40 {
        return Err(io::Error::from_raw_os_error(40)); // ELOOP
    }
    let mut parts: Vec<String> = Vec::new();
    let comps: Vec<Component> = rel.components().collect();
    for (i, comp) in comps.iter().enumerate() {
        match comp {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(name) => {
                let so_far: PathBuf = parts.iter().collect::<PathBuf>().join(name);
                let is_last = i + 1 == comps.len();
                match rustix::fs::readlinkat(dir_fd, &so_far, Vec::new()) {
                    Ok(target) => {
                        let target = PathBuf::from(target.to_string_lossy().into_owned());
                        let rest: PathBuf = comps[i + 1..].iter().collect();
                        let base: PathBuf = if target.is_absolute() {
                            target
                        } else {
                            parts.iter().collect::<PathBuf>().join(target)
                        };
                        return open_in_root_by_hand(dir_fd, &base.join(rest), flags, depth + 1);
                    }
                    Err(_) => {
                        parts.push(name.to_string_lossy().into_owned());
                        if is_last {
                            break;
                        }
                    }
                }
            }
        }
    }
    let joined: PathBuf = parts.iter().collect();
    let joined = if joined.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        joined
    };
    rustix::fs::openat(dir_fd, &joined, flags | OFlags::NOFOLLOW, Mode::empty()).map_err(Into::into)
}

fn io_err(path: &str, source: io::Error) -> ReadError {
    ReadError::Io {
        path: path.to_string(),
        source,
    }
}

/// `/proc/meminfo` -> `proc/meminfo`.
fn relative(path: &str) -> PathBuf {
    PathBuf::from(path.trim_start_matches('/'))
}

fn split_parent(path: &str) -> (&str, &str) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => ("/", &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => ("/", trimmed),
    }
}

fn file_type_name(ft: FileType) -> &'static str {
    match ft {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Unknown => "file of unknown type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_a_directory_root_and_keeps_absolute_links_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        std::fs::create_dir_all(base.join("proc/self")).unwrap();
        std::fs::write(base.join("proc/self/mounts"), "inside\n").unwrap();
        std::os::unix::fs::symlink("self/mounts", base.join("proc/mounts")).unwrap();
        std::fs::create_dir_all(base.join("etc")).unwrap();
        std::fs::write(base.join("etc/hostname"), "snap-host\n").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", base.join("proc/escape")).unwrap();

        let root = Root::dir(base).unwrap();
        assert_eq!(root.read_string("/proc/mounts").unwrap(), "inside\n");
        // An absolute link resolves against the root, not the real /etc.
        assert_eq!(root.read_string("/proc/escape").unwrap(), "snap-host\n");
        let err = root.read("/proc/nothing").unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(err.path(), "/proc/nothing");
    }

    #[test]
    fn a_fifo_is_refused_not_waited_on() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("status");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let root = Root::dir(tmp.path()).unwrap();
        let err = root.read("/status").unwrap_err();
        assert!(matches!(err, ReadError::NotRegular { kind: "FIFO", .. }), "{err}");
    }

    #[test]
    fn the_by_hand_resolver_matches_openat2() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::fs::write(base.join("a/b/f"), "x").unwrap();
        std::os::unix::fs::symlink("/a", base.join("link")).unwrap();
        std::os::unix::fs::symlink("../../../../a/b/f", base.join("a/up")).unwrap();
        let dir = rustix::fs::open(base, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        for p in ["link/b/f", "a/up"] {
            let fd = open_in_root_by_hand(dir.as_fd(), Path::new(p), OFlags::RDONLY, 0).unwrap();
            let mut s = String::new();
            File::from(fd).read_to_string(&mut s).unwrap();
            assert_eq!(s, "x", "{p}");
        }
    }

    #[test]
    fn reads_kmsg_records_without_blocking() {
        let root = Root::live();
        match root.read_records("/dev/kmsg", 4 << 20) {
            Ok(bytes) => {
                // Records are `prio,seq,usec,flags;text`; reading stops at the end instead of waiting.
                let first = String::from_utf8_lossy(&bytes)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                assert!(first.contains(';') && first.split(',').count() >= 4, "{first}");
            }
            Err(e) => eprintln!("skipped: /dev/kmsg not readable here ({e})"),
        }
    }

    #[test]
    fn tells_a_real_procfs_from_a_copy() {
        assert!(Root::live().is_procfs("/proc"));
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("proc")).unwrap();
        assert!(!Root::dir(tmp.path()).unwrap().is_procfs("/proc"));
    }

    #[test]
    fn recording_copies_what_was_read() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::live_recording(tmp.path());
        let text = root.read_string("/proc/loadavg").unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("proc/loadavg")).unwrap(),
            text
        );
        let target = root.read_link("/proc/self/exe").unwrap();
        assert_eq!(
            std::fs::read_link(tmp.path().join("proc/self/exe"))
                .unwrap()
                .to_string_lossy(),
            target
        );
        assert_eq!(root.recording_error(), None);
    }
}
