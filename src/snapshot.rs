//! `osdoctor snapshot`: capture exactly the files `check` reads, both samples with their timestamps, and
//! a metadata file, to a directory or a `.tar.gz`. `check --root SNAPSHOT` replays it.
//!
//! Layout:
//!
//! ```text
//! SNAPSHOT/osdoctor-snapshot.json   metadata (SnapshotMeta): host, kernel, clock ticks, page size,
//!                                   boot time, realtime-minus-monotonic offset, both samples' times
//! SNAPSHOT/sample1/proc/...         what the first pass read, paths as on the host
//! SNAPSHOT/sample2/proc/...         what the second pass read (only what rates need)
//! SNAPSHOT/report.json              the report of the live run it captured, with the built-in rules:
//!                                   `check --root SNAPSHOT` must give the same findings
//! ```
//!
//! Per process, `sampleN/proc/PID/...` holds what the scan read, including the entries of `fd/` as
//! symlinks (recording lists them rather than taking the count from `stat()`, which a directory cannot
//! replay). Command lines of processes named in findings are recorded redacted. Values a directory
//! cannot replay are recorded in files of osdoctor's own: `sample1/osdoctor/process-scan` (the host
//! context-switch rate across the first scan and the per-thread files it chose), `sample1/osdoctor/statvfs`
//! (`MOUNTPOINT\tFSTYPE\tUSED_RATIO\tSIZE_BYTES` lines) and `sample1/osdoctor/deleted-fds` (`PID FD BYTES`).
//!
//! Environment variables are never captured (no pass reads /proc/PID/environ).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::check::{CheckOptions, Collected, build_report, collect_pass};
use crate::collect::SystemInfo;
use crate::collect::host::Pass;
use crate::coverage::Coverage;
use crate::report::Report;
use crate::root::Root;
use crate::rules::Rule;

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

/// Capture the live system into `out` (a directory, created; or a file ending in .tar.gz / .tgz).
pub fn capture(out: &Path, interval: Duration, rules: &[Rule]) -> anyhow::Result<(SnapshotMeta, Report)> {
    if is_archive(out) {
        let staging = TempDir::new("osdoctor-snapshot")?;
        let captured = capture_dir(staging.path(), interval, rules)?;
        pack(staging.path(), out)?;
        return Ok(captured);
    }
    capture_dir(out, interval, rules)
}

fn capture_dir(dir: &Path, interval: Duration, rules: &[Rule]) -> anyhow::Result<(SnapshotMeta, Report)> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!(
            "{}: exists and is not empty; choose a new directory",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let mut cov = Coverage::default();
    let mut si = SystemInfo::live();
    let offset = realtime_minus_monotonic();

    let started = Utc::now();
    let root1 = Root::live_recording(dir.join("sample1"));
    let s1 = collect_pass(&root1, &si, Pass::Full, None, &mut cov);
    si.boot_time_secs = s1.host.stat.as_ref().map(|s| s.btime);
    let mut samples = vec![SampleMeta {
        dir: "sample1".into(),
        mono_secs: s1.mono_secs,
        wall: s1.wall,
    }];
    let mut s2 = None;
    let mut late_root = root1.clone();
    if !interval.is_zero() {
        std::thread::sleep(interval);
        let root2 = Root::live_recording(dir.join("sample2"));
        let second = collect_pass(&root2, &si, Pass::RatesOnly, Some(&s1), &mut cov);
        samples.push(SampleMeta {
            dir: "sample2".into(),
            mono_secs: second.mono_secs,
            wall: second.wall,
        });
        if let Some(e) = root2.recording_error() {
            anyhow::bail!("writing the snapshot failed: {e}");
        }
        s2 = Some(second);
        late_root = root2;
    }
    if let Some(e) = root1.recording_error() {
        anyhow::bail!("writing the snapshot failed: {e}");
    }
    let meta = SnapshotMeta {
        format: "osdoctor-snapshot".into(),
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        created_at: s1.wall,
        hostname: s1.host.hostname.clone().unwrap_or_default(),
        kernel: s1.host.kernel_release.clone().unwrap_or_default(),
        ticks_per_second: si.ticks_per_second,
        page_size: si.page_size,
        boot_time_secs: si.boot_time_secs,
        realtime_minus_monotonic_secs: offset,
        interval_s: samples
            .get(1)
            .map(|s| s.mono_secs - samples[0].mono_secs)
            .unwrap_or(0.0),
        samples,
        unreadable: cov.problems.clone(),
    };
    std::fs::write(dir.join(META_FILE), serde_json::to_string_pretty(&meta)? + "\n")?;

    // The report of this live run, from the very samples just written.
    let collected = Collected {
        si,
        interval_s: meta.interval_s,
        first: Some(s1),
        second: s2,
        coverage: cov,
        partial: false,
        // Command lines of the processes the report names are read after the rules ran: recorded (redacted)
        // into the last sample, where a replay reads them back.
        late_root: Some(late_root),
        deadline: None,
    };
    let opts = CheckOptions {
        interval,
        timeout: Duration::from_secs(10),
        rules,
        state: None,
        min_severity: crate::rules::Severity::Info,
        since: Some(chrono::Duration::hours(24)),
        pids: &[],
        // A snapshot only ever holds redacted command lines (see Root::read_recorded_as).
        redact: true,
    };
    let report = build_report("/", None, &collected, &opts, started)?;
    std::fs::write(
        dir.join(REPORT_FILE),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    Ok((meta, report))
}

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

fn pack(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    // Symlinks (fd targets) are stored as links, never followed.
    tar.follow_symlinks(false);
    tar.append_dir_all(".", dir)?;
    tar.into_inner()?.finish()?;
    Ok(())
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
