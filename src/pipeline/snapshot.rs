//! The snapshot format: what `osdoctor snapshot` writes (exactly the files `check` reads, both samples
//! with their timestamps, and a metadata file, in a directory or a `.tar.gz`) and `check --root
//! SNAPSHOT` replays. Capturing is `osdoctor snapshot`'s (src/cmd/snapshot.rs); reading one back is
//! [`super::source::Source::open`]'s.
//!
//! Layout:
//!
//! ```text
//! SNAPSHOT/osdoctor-snapshot.json   metadata (SnapshotMeta): host, kernel, clock ticks, page size,
//!                                   boot time, realtime-minus-monotonic offset, both samples' times
//! SNAPSHOT/sample1/proc/...         what the first pass read, paths as on the host
//! SNAPSHOT/sample2/proc/...         what the second pass read (only what rates need, and dev/kmsg)
//! SNAPSHOT/report.json              the report of the live run it captured, with the built-in rules:
//!                                   `check --root SNAPSHOT` must give the same findings
//! ```
//!
//! Per process, `sampleN/proc/PID/...` holds what the scan read, including the entries of `fd/` as
//! symlinks (recording lists them rather than taking the count from `stat()`, which a directory cannot
//! replay). Their targets are kept for sockets, pipes, anon inodes and deleted files; a link to any
//! other path is recorded as `[file]`: a snapshot does not list which files every process holds open.
//! Command lines of processes named in findings are recorded redacted.
//!
//! `sample1/osdoctor/fd-tables` is what the fd-table pass concluded: one JSON object per line for each
//! process whose fd table was read (the counts per class, TCP states, CLOSE_WAIT peers and redacted top
//! paths) or whose CLOSE_WAIT bound came from its network namespace's survey
//! ([`crate::collect::process::FD_TABLES_FILE`]). A replay takes these as they are; the namespaces'
//! TCP tables and `ns/net` links the pass read are not recorded. A snapshot without the file (taken by
//! an older osdoctor) replays by classifying its recorded links. Values a directory
//! cannot replay are recorded in files of osdoctor's own: `sample1/osdoctor/process-scan` (the host
//! context-switch rate across the first scan and the per-thread files it chose), `sample1/osdoctor/statvfs`
//! (`MOUNTPOINT\tFSTYPE\tUSED_RATIO\tSIZE_BYTES` lines: the process scan's trigger for deleted files)
//! and `sample1/osdoctor/deleted-fds` (`PID FD BYTES`).
//!
//! On a Kubernetes node (the cgroups hold pods), `sample1/var/log/pods/<namespace>_<pod>_<uid>/<container>/`
//! holds each container's newest `N.log` as an **empty** file (its name gives the restart count; no log
//! line is ever copied) and `sample1/var/log/containers/` the links that map container IDs to names
//! (`collect/kubelet_logs.rs`).
//!
//! `osdoctor/filesystems`, in the sample of the last pass (`sample2/`, or `sample1/` with one sample),
//! holds what `statvfs()` said of each filesystem the filesystem collector judged, one line per mount
//! point, tab-separated, in statvfs's own units:
//!
//! ```text
//! MOUNT_POINT  F_FRSIZE  F_BLOCKS  F_BFREE  F_BAVAIL  F_FILES  F_FFREE
//! MOUNT_POINT  error     REASON
//! ```
//!
//! Mount points carry mountinfo's octal escapes for tab, newline and backslash (`\011`, `\012`,
//! `\134`). An `error` line is a `statvfs()` that failed; a capture stuck on a mount (a dead NFS
//! server) leaves that mount's line as `error` with "statvfs() did not return before the deadline",
//! and the metadata marks the snapshot partial. Which filesystems there are comes from the recorded
//! `sample1/proc/self/mountinfo`, so a replay judges the same rows with the same numbers. A snapshot
//! without this file (taken by an older osdoctor) replays with the mount rules not evaluated.
//!
//! `osdoctor/listen-backlogs`, in the second sample, is what sock_diag said of the LISTEN TCP sockets
//! when listeners dropped connections during the interval (`collect/listen.rs`): one
//! `INODE\tQUEUE\tBACKLOG\tPORT` line per listener, or `error\tREASON` when the kernel refused. The
//! same pass recorded `sample2/proc/net/tcp{,6}` and, when a listener's queue was at its limit, the
//! fd links of every process (`sample2/proc/PID/fd/`), so a replay names the same listener, backlog
//! and process. A snapshot without it replays with the backlog "at most" net.core.somaxconn.
//!
//! Disks need no file of osdoctor's own: `sampleN/proc/diskstats` has the counters, and
//! `sample1/sys/block/NAME/dev` is recorded for each device that is a whole disk (the test of
//! wholeness is reading that file: a partition has none), `sample1/sys/block/dm-N/dm/name` for
//! device-mapper names.
//!
//! NUMA needs none either: `sample1/sys/devices/system/node/online` says how many nodes there are
//! (one: nothing more is read or recorded); on a multi-node host `sampleN/.../nodeN/{meminfo,numastat}`
//! have the counters, `sample1/.../nodeN/{cpulist,distance}` the layout, and
//! `sample1/proc/PID/numa_maps` the placement of the few largest processes.
//!
//! `sample1/proc/sys/kernel/random/boot_id` says which boot the kernel log's sequence numbers count
//! in (a kernel event's identity for `--state`); a snapshot without it replays with the boot time
//! standing for it.
//!
//! `sample1/osdoctor/container` (`collect/container`) holds the container signs a directory cannot
//! replay: the markers seen only by their existence (`exists /.dockerenv`, `exists` the Kubernetes
//! service-account mount) and two of osdoctor's own environment (`env KUBERNETES_SERVICE_HOST`, that
//! it is set, and `env container=VALUE`). The namespace links (`sample1/proc/self/ns/{cgroup,pid}`)
//! are recorded as links.
//!
//! Environment variables are never captured otherwise (no pass reads /proc/PID/environ).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::collect::SystemInfo;

/// The metadata file's name inside a snapshot.
pub const META_FILE: &str = "osdoctor-snapshot.json";
/// Bumped when the layout changes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleMeta {
    /// Directory of this sample inside the snapshot.
    pub dir: String,
    /// CLOCK_MONOTONIC seconds when the pass started.
    pub mono_secs: f64,
    pub wall: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotMeta {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    pub created_at: DateTime<Utc>,
    pub hostname: String,
    pub kernel: String,
    pub ticks_per_second: u64,
    pub page_size: u64,
    pub boot_time_secs: Option<u64>,
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC at capture, in seconds: turns kernel-log timestamps into wall time.
    pub realtime_minus_monotonic_secs: f64,
    pub interval_s: f64,
    pub samples: Vec<SampleMeta>,
    /// Files the capture could not read (they are absent from the snapshot too).
    #[serde(default)]
    pub unreadable: Vec<crate::coverage::Problem>,
    /// A read did not finish before the capture's deadline: the snapshot holds what was read by then.
    #[serde(default)]
    pub partial: bool,
}

impl SnapshotMeta {
    pub fn system_info(&self) -> SystemInfo {
        SystemInfo {
            ticks_per_second: self.ticks_per_second,
            page_size: self.page_size,
            boot_time_secs: self.boot_time_secs,
        }
    }

    /// Read and check the metadata of the snapshot in `dir`.
    pub fn read(dir: &Path) -> Result<SnapshotMeta, String> {
        let path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let meta: SnapshotMeta =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.format != "osdoctor-snapshot" {
            return Err(format!(
                "{}: format is {:?}, not osdoctor-snapshot",
                path.display(),
                meta.format
            ));
        }
        if meta.format_version > FORMAT_VERSION {
            return Err(format!(
                "{}: format version {} is newer than this osdoctor reads ({FORMAT_VERSION}); upgrade osdoctor",
                path.display(),
                meta.format_version
            ));
        }
        if meta.samples.is_empty() {
            return Err(format!("{}: no samples", path.display()));
        }
        Ok(meta)
    }
}

/// The report file written beside the samples.
pub const REPORT_FILE: &str = "report.json";

/// CLOCK_REALTIME - CLOCK_MONOTONIC, seconds.
pub fn realtime_minus_monotonic() -> f64 {
    let rt = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    let mono = crate::clock::monotonic_secs();
    rt.tv_sec as f64 + rt.tv_nsec as f64 / 1e9 - mono
}

pub fn is_archive(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Pack the snapshot directory `dir` into the `.tar.gz` file `out`.
pub fn pack(dir: &Path, out: &Path) -> std::io::Result<()> {
    let with_path = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", out.display()));
    // Written as -o is: an archive someone copies off the host is never half of one.
    crate::atomic_file::write_atomic_with(out, |file| {
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        // Symlinks (fd targets) are stored as links, never followed.
        tar.follow_symlinks(false);
        tar.append_dir_all(".", dir)?;
        tar.into_inner()?.finish()?;
        Ok(())
    })
    .map_err(with_path)
}

/// Unpack a `.tar.gz` snapshot into a temporary directory (removed when dropped).
pub fn unpack(archive: &Path) -> Result<TempDir, String> {
    let dir = TempDir::new("osdoctor-replay").map_err(|e| e.to_string())?;
    let file = std::fs::File::open(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    // tar::Archive::unpack refuses entries that would land outside the directory.
    tar.unpack(dir.path())
        .map_err(|e| format!("{}: {e}", archive.display()))?;
    Ok(dir)
}

/// A directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let p = base.join(format!("{prefix}-{}-{nanos}-{attempt}", std::process::id()));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(TempDir(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("could not create a temporary directory"))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
