//! Mounted filesystems and how full they are: /proc/PID/mountinfo, `statvfs` of the mounts that hold
//! files, and the [`STATVFS_FILE`] a snapshot records them in (a directory cannot replay `statvfs`).

use super::types::MountUsage;
use crate::coverage::Coverage;
use crate::parse::filesystems::{SKIPPED_TYPES, is_network};
use crate::root::{ReadError, Root};

/// Filesystem capacity, recorded because a directory cannot replay `statvfs`.
pub const STATVFS_FILE: &str = "/osdoctor/statvfs";

/// Capacity of the mounted filesystems that hold files (pseudo filesystems skipped, one entry per
/// device). A snapshot records them in [`STATVFS_FILE`]; a replay reads that file back. `shared`: the
/// live /proc/self/mountinfo as the host collector read it in this pass (not read again).
pub(super) fn mount_usage(
    root: &Root,
    shared: Option<&Result<String, ReadError>>,
    cov: &mut Coverage,
) -> Vec<MountUsage> {
    if !root.is_live()
        && let Ok(text) = root.read_string(STATVFS_FILE)
    {
        cov.read_ok(STATVFS_FILE);
        return parse_statvfs_file(&text);
    }
    // A root tree (a host's / at /host) sees the host's mounts through init's mountinfo.
    let mountinfo = if root.is_live() {
        "/proc/self/mountinfo"
    } else {
        "/proc/1/mountinfo"
    };
    let read;
    let text = match shared {
        Some(shared) if root.is_live() && mountinfo == crate::collect::host::MOUNTINFO => shared.as_ref(),
        _ => {
            read = root.read_string(mountinfo);
            read.as_ref()
        }
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            if !e.is_not_found() || root.is_live() {
                cov.read_failed(e);
            }
            return Vec::new();
        }
    };
    cov.read_ok(mountinfo);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for m in parse_mountinfo(text) {
        if !holds_files(&m.fstype) || !seen.insert(m.device.clone()) {
            continue;
        }
        let Ok(vfs) = root.statvfs(&m.mount_point) else {
            continue;
        };
        let frsize = vfs.f_frsize.max(1);
        let used = vfs.f_blocks.saturating_sub(vfs.f_bfree);
        let denom = used + vfs.f_bavail;
        if vfs.f_blocks == 0 || denom == 0 {
            continue;
        }
        out.push(MountUsage {
            mount_point: m.mount_point,
            fstype: m.fstype,
            used_ratio: used as f64 / denom as f64,
            size_bytes: vfs.f_blocks.saturating_mul(frsize),
        });
    }
    let recorded: String = out
        .iter()
        .map(|m| {
            format!(
                "{}\t{}\t{:.6}\t{}\n",
                escape_tab(&m.mount_point),
                m.fstype,
                m.used_ratio,
                m.size_bytes
            )
        })
        .collect();
    root.record_file(STATVFS_FILE, recorded.as_bytes());
    out
}

fn escape_tab(s: &str) -> String {
    s.replace('\t', " ")
}

/// `MOUNTPOINT\tFSTYPE\tUSED_RATIO\tSIZE_BYTES` lines.
pub fn parse_statvfs_file(text: &str) -> Vec<MountUsage> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split('\t').collect();
            Some(MountUsage {
                mount_point: w.first()?.to_string(),
                fstype: w.get(1)?.to_string(),
                used_ratio: w.get(2)?.parse().ok()?,
                size_bytes: w.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

pub struct MountLine {
    pub device: String,
    pub mount_point: String,
    pub fstype: String,
}

/// /proc/PID/mountinfo through procfs-core's line parser (one line at a time: a line it cannot parse
/// is skipped, not the whole file), with the octal escapes (`\040`) undone as the cgroup layout does.
pub fn parse_mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .filter_map(|l| procfs_core::process::MountInfo::from_line(l).ok())
        .map(|mi| MountLine {
            device: mi.majmin,
            mount_point: crate::parse::cgroup::layout::unescape_octal(&mi.mount_point.to_string_lossy()),
            fstype: mi.fs_type,
        })
        .collect()
}

/// Filesystems whose fullness matters for deleted files (pseudo and read-only image filesystems
/// skipped). Filesystems whose `statvfs()` can wait on a server or a daemon are skipped too: this
/// `statvfs()` runs in the first pass, where a dead server or a hung FUSE daemon would block the whole
/// run (the filesystem collector reads them last, under the deadline); and an NFS client renames a
/// deleted file held open to `.nfsXXXX` instead of showing it deleted.
fn holds_files(fstype: &str) -> bool {
    !is_network(fstype)
        && !SKIPPED_TYPES.contains(&fstype)
        && !matches!(fstype, "rpc_pipefs" | "efivarfs" | "ramfs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines() {
        let text = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                    23 22 0:21 / /proc rw - proc proc rw\n\
                    24 22 8:2 / /mnt/with\\040space rw - xfs /dev/sda2 rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].mount_point, "/");
        assert_eq!(m[0].fstype, "ext4");
        assert_eq!(m[2].mount_point, "/mnt/with space");
        assert!(!holds_files(&m[1].fstype));
    }

    #[test]
    fn statvfs_file_round_trip() {
        let m = parse_statvfs_file("/\text4\t0.930000\t1000\n/data\txfs\t0.5\t2000\nbad line\n");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].used_ratio, 0.93);
        assert_eq!(m[1].size_bytes, 2000);
    }
}
