//! Mounted filesystems: which ones (mountinfo, as the host collector read it) and how full they are
//! (`statvfs()` of each row's mount point, space and inodes).
//!
//! `statvfs()` of a mount whose server is gone (a hard NFS mount) never returns, so it is read last:
//! in the last pass, after every other collector, with each mount published as it is read. A mount
//! that blocks holds up only itself and the mounts after it: the deadline worker abandons the pass,
//! the report keeps both samples and the mounts read by then, and the stuck mount is named in coverage.
//!
//! A directory cannot replay `statvfs()`, so the results are recorded in [`RECORD_FILE`] (format in
//! [`crate::parse::filesystems::format_record`]); a snapshot's replay reads that file instead. A root
//! tree that is not a snapshot (a host's / at /host) is statvfs'd inside the tree, through its
//! mountinfo of init (/proc/1/mountinfo: /proc/self there would be the reader's own namespace).

use std::sync::Mutex;

use crate::coverage::{Coverage, ProblemKind};
use crate::parse::filesystems::{self, FilesystemRow, StatvfsNumbers, StatvfsRecord};
use crate::root::{ReadError, Root};

/// The statvfs results a snapshot records (in the sample of the pass that read them: the last).
pub const RECORD_FILE: &str = "/osdoctor/filesystems";

/// What a snapshot records for a mount whose `statvfs()` was still running when the capture ended.
const HUNG: &str = "statvfs() did not return before the deadline";

/// One filesystem with what `statvfs()` said of it (`None`: not read, see coverage).
#[derive(Debug, Clone, PartialEq)]
pub struct FilesystemReading {
    pub row: FilesystemRow,
    pub statvfs: Option<StatvfsNumbers>,
}

/// The filesystems of a run: the rows of the mount table and their capacity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilesystemSample {
    pub filesystems: Vec<FilesystemReading>,
    /// Where the mount table came from.
    pub mountinfo_path: String,
    /// A replayed snapshot that holds no statvfs record (taken before osdoctor recorded one).
    pub not_recorded: bool,
    /// The deadline cut the reading short: the mounts after the stuck one were not read.
    pub cut_short: bool,
}

/// What the collector publishes as it goes, so a deadline keeps what was read.
#[derive(Debug, Default)]
pub struct FilesystemProgress {
    pub read: Mutex<Option<FilesystemSample>>,
    /// The mount point being statvfs'd now.
    pub at: Mutex<Option<String>>,
}

impl FilesystemProgress {
    fn publish(&self, sample: &FilesystemSample, at: Option<&str>) {
        if let Ok(mut r) = self.read.lock() {
            *r = Some(sample.clone());
        }
        if let Ok(mut a) = self.at.lock() {
            *a = at.map(str::to_string);
        }
    }

    /// What was read before the deadline, with the stuck mount in coverage.
    pub fn so_far(&self, cov: &mut Coverage) -> Option<FilesystemSample> {
        let mut sample = self.read.lock().ok()?.take()?;
        if let Some(at) = self.at.lock().ok().and_then(|a| a.clone()) {
            sample.cut_short = true;
            cov.add(
                &at,
                ProblemKind::Timeout,
                "statvfs() did not return before the deadline (a network filesystem whose server \
                 does not answer?); this mount and those after it were not checked"
                    .to_string(),
            );
        }
        Some(sample)
    }
}

/// The filesystems and their capacity. `mountinfo`: /proc/self/mountinfo as this run's first pass
/// read it; `replay`: the root is a recorded snapshot sample.
pub fn collect(
    root: &Root,
    mountinfo: Option<&Result<String, ReadError>>,
    replay: bool,
    cov: &mut Coverage,
    progress: &FilesystemProgress,
) -> Option<FilesystemSample> {
    // A root tree sees the host's mounts through init's mountinfo.
    let path = if root.is_live() || replay {
        crate::collect::host::MOUNTINFO
    } else {
        "/proc/1/mountinfo"
    };
    let read;
    let text = match mountinfo {
        Some(shared) if path == crate::collect::host::MOUNTINFO => shared.as_ref(),
        _ => {
            read = root.read_string(path);
            read.as_ref()
        }
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            cov.read_failed(e);
            return None;
        }
    };
    cov.read_ok(path);
    let (rows, problems) = filesystems::rows(text);
    for p in problems {
        cov.notes.push(format!("{path}: {p}"));
    }
    let mut sample = FilesystemSample {
        mountinfo_path: path.to_string(),
        ..FilesystemSample::default()
    };
    if !root.is_live() && replay {
        let recorded = match root.read_string(RECORD_FILE) {
            Ok(t) => {
                cov.read_ok(RECORD_FILE);
                let (entries, problems) = filesystems::parse_record(&t);
                if !problems.is_empty() {
                    cov.malformed(RECORD_FILE, problems.join("; "));
                }
                Some(entries)
            }
            Err(_) => None,
        };
        sample.not_recorded = recorded.is_none();
        let recorded = recorded.unwrap_or_default();
        sample.filesystems =
            rows.into_iter()
                .map(|row| {
                    let statvfs = recorded
                        .iter()
                        .find(|(p, _)| *p == row.mount_point)
                        .and_then(|(p, r)| match r {
                            StatvfsRecord::Numbers(n) => Some(*n),
                            StatvfsRecord::Failed(why) => {
                                let kind = if why == HUNG {
                                    ProblemKind::Timeout
                                } else {
                                    ProblemKind::Unreadable
                                };
                                cov.add(p, kind, format!("statvfs: {why}"));
                                None
                            }
                        });
                    FilesystemReading { row, statvfs }
                })
                .collect();
        return Some(sample);
    }
    // Live, or a tree: statvfs each mount point, publishing each result before the next call.
    let mut record = Vec::new();
    progress.publish(&sample, None);
    for row in rows {
        progress.publish(&sample, Some(&row.mount_point));
        if root.is_recording() {
            // Should this call never return, the snapshot still says which mount hung.
            let mut hung = record.clone();
            hung.push((row.mount_point.clone(), StatvfsRecord::Failed(HUNG.to_string())));
            root.record_file(RECORD_FILE, filesystems::format_record(&hung).as_bytes());
        }
        let statvfs = match root.statvfs(&row.mount_point) {
            Ok(v) => {
                let n = StatvfsNumbers {
                    fragment_size: v.f_frsize,
                    blocks: v.f_blocks,
                    blocks_free: v.f_bfree,
                    blocks_available: v.f_bavail,
                    files: v.f_files,
                    files_free: v.f_ffree,
                };
                record.push((row.mount_point.clone(), StatvfsRecord::Numbers(n)));
                Some(n)
            }
            Err(e) => {
                record.push((row.mount_point.clone(), StatvfsRecord::Failed(e.reason())));
                cov.add(
                    &row.mount_point,
                    ProblemKind::Unreadable,
                    format!("statvfs: {}", e.reason()),
                );
                None
            }
        };
        sample.filesystems.push(FilesystemReading { row, statvfs });
    }
    progress.publish(&sample, None);
    root.record_file(RECORD_FILE, filesystems::format_record(&record).as_bytes());
    Some(sample)
}
