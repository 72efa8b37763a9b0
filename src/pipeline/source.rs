//! Where a run reads from: the live system, a root-like tree (a host's / mounted at /host, a copy), a
//! snapshot written by `osdoctor snapshot` (a directory or a `.tar.gz`), or a sosreport (a directory
//! or its `.tar.xz`/`.tar.gz`/`.tar.bz2`, [`super::sosreport`]), and the [`Plan`] of passes each
//! gives: which root each pass reads, how long to wait between them, and the recorded times of a
//! replay.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::snapshot::{self, SnapshotMeta};
use super::sosreport::{self, SosData, SosReport};
use crate::collect::SystemInfo;
use crate::root::{Root, RootError};

/// Where the samples come from.
pub enum Source {
    /// The running system: sample twice, `interval` apart.
    Live(Root),
    /// A root-like tree (DIR/proc, DIR/sys): a host's root mounted in a debug container, or a copy.
    /// Sampled twice like the live system.
    Tree(Root),
    /// A snapshot written by `osdoctor snapshot`: both samples replayed with their recorded times.
    Snapshot {
        meta: Box<SnapshotMeta>,
        first: Root,
        second: Option<Root>,
        display: String,
        _unpacked: Option<snapshot::TempDir>,
    },
    /// A sosreport: one sample, at its capture time, its command outputs standing for what it did
    /// not copy.
    Sosreport { report: Box<SosReport>, display: String },
}

impl Source {
    /// `--root`: none is the live system; a directory holding `osdoctor-snapshot.json` (or a
    /// `.tar.gz` of one) is a snapshot; a sosreport directory (its `sos_commands/` and markers) or
    /// archive is a sosreport; any other directory is a root-like tree.
    pub fn open(root: Option<&Path>) -> Result<Source, SourceError> {
        let Some(path) = root else {
            return Ok(Source::Live(Root::live()));
        };
        let display = path.display().to_string();
        if path.is_file() && sosreport::is_archive(path) {
            match sosreport::open_archive(path).map_err(|e| SourceError::Sosreport(path.to_path_buf(), e))? {
                Some(report) => {
                    return Ok(Source::Sosreport {
                        report: Box::new(report),
                        display,
                    });
                }
                None if snapshot::is_archive(path) => {}
                None => return Err(SourceError::NotARoot(path.to_path_buf())),
            }
        }
        if path.is_dir() && sosreport::is_sosreport(path) {
            let report =
                sosreport::open_dir(path, None).map_err(|e| SourceError::Sosreport(path.to_path_buf(), e))?;
            return Ok(Source::Sosreport {
                report: Box::new(report),
                display,
            });
        }
        if path.is_file() && snapshot::is_archive(path) {
            let unpacked =
                snapshot::unpack(path).map_err(|e| SourceError::Snapshot(path.to_path_buf(), e))?;
            let dir = unpacked.path().to_path_buf();
            let mut src = Source::open_dir(&dir, path.display().to_string())?;
            if let Source::Snapshot { _unpacked, .. } = &mut src {
                *_unpacked = Some(unpacked);
            }
            return Ok(src);
        }
        Source::open_dir(path, path.display().to_string())
    }

    fn open_dir(path: &Path, display: String) -> Result<Source, SourceError> {
        let dir = Root::dir(path)?;
        if !path.join(snapshot::META_FILE).is_file() {
            if !path.join("proc").is_dir() {
                return Err(SourceError::NotARoot(path.to_path_buf()));
            }
            return Ok(Source::Tree(dir));
        }
        let meta = SnapshotMeta::read(path).map_err(|e| SourceError::Snapshot(path.to_path_buf(), e))?;
        let first = Root::dir(path.join(&meta.samples[0].dir))?;
        let second = match meta.samples.get(1) {
            Some(s) => Some(Root::dir(path.join(&s.dir))?),
            None => None,
        };
        Ok(Source::Snapshot {
            meta: Box::new(meta),
            first,
            second,
            display,
            _unpacked: None,
        })
    }

    pub fn display(&self) -> String {
        match self {
            Source::Live(r) | Source::Tree(r) => r.display(),
            Source::Snapshot { display, .. } | Source::Sosreport { display, .. } => display.clone(),
        }
    }

    /// What was read, as the report's `host.source` says: "live", "tree", "snapshot" or "sosreport".
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Live(_) => "live",
            Source::Tree(_) => "tree",
            Source::Snapshot { .. } => "snapshot",
            Source::Sosreport { .. } => "sosreport",
        }
    }
}

/// Why `--root` cannot be used (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(
        "--root {0}: neither a snapshot (no osdoctor-snapshot.json), a sosreport (no sos_commands/ with version.txt, sos_reports/ or sos_logs/) nor a root tree (no proc/ directory)"
    )]
    NotARoot(PathBuf),
    #[error("--root {0}: not a usable snapshot: {1}")]
    Snapshot(PathBuf, String),
    #[error("--root {0}: not a usable sosreport: {1}")]
    Sosreport(PathBuf, String),
}

/// How the passes of one run are taken.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The root the first pass reads.
    pub first: Root,
    /// The root the second pass reads (the same root for live and tree sources); `None`: one sample.
    pub second: Option<Root>,
    /// How long to wait between the passes (live and tree sources; a replay does not wait).
    pub sleep: Duration,
    /// A replay's recorded (monotonic seconds, wall time) of each sample, which replace the clock's.
    pub recorded: Vec<(f64, DateTime<Utc>)>,
    pub si: SystemInfo,
    /// Where reads made after the rules ran go (see [`crate::sample::Collected::late_root`]).
    pub late_root: Root,
    /// A replayed snapshot whose capture was cut at its deadline: the run is partial too.
    pub recorded_partial: bool,
    /// A sosreport: its processes and kernel log from its command outputs (one sample).
    pub sosreport: Option<Arc<SosData>>,
}

impl Plan {
    /// Two passes of `root`, `interval` apart (one when it is zero), as the live system is read.
    pub fn live(root: Root, interval: Duration) -> Plan {
        Plan {
            first: root.clone(),
            second: (!interval.is_zero()).then(|| root.clone()),
            sleep: interval,
            recorded: Vec::new(),
            si: SystemInfo::live(),
            late_root: root,
            recorded_partial: false,
            sosreport: None,
        }
    }
}

impl Source {
    /// The passes this source gives: live and tree sources are sampled twice, `interval` apart; a
    /// snapshot replays the samples it holds with their recorded times.
    pub fn plan(&self, interval: Duration) -> Plan {
        match self {
            Source::Live(root) | Source::Tree(root) => Plan::live(root.clone(), interval),
            Source::Snapshot {
                meta, first, second, ..
            } => Plan {
                first: first.clone(),
                second: second.clone(),
                sleep: Duration::ZERO,
                recorded: meta.samples.iter().map(|s| (s.mono_secs, s.wall)).collect(),
                si: meta.system_info(),
                late_root: second.clone().unwrap_or_else(|| first.clone()),
                recorded_partial: meta.partial,
                sosreport: None,
            },
            // One sample at the capture time, whatever --interval says.
            Source::Sosreport { report, .. } => Plan {
                first: report.root.clone(),
                second: None,
                sleep: Duration::ZERO,
                recorded: vec![(report.mono_secs, report.data.captured)],
                si: report.si,
                late_root: report.root.clone(),
                recorded_partial: false,
                sosreport: Some(Arc::clone(&report.data)),
            },
        }
    }

    /// A snapshot's metadata (the host it was taken on).
    pub fn meta(&self) -> Option<&SnapshotMeta> {
        match self {
            Source::Snapshot { meta, .. } => Some(meta),
            _ => None,
        }
    }
}
