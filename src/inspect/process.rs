//! The processes inside one cgroup, for `osdoctor cgroup`: PID, command, state, RSS, threads and open
//! file descriptors, read from `/proc/PID/stat`, `/proc/PID/status` and `/proc/PID/fd/` through the
//! [`Root`]. A process that exits between `cgroup.procs` and its own files is skipped and counted.

use procfs_core::FromRead;
use procfs_core::process::{Stat, Status};
use serde::Serialize;

use crate::cgroupfs::FileProblem;
use crate::root::Root;
use crate::sample::SystemInfo;

/// The processes shown per cgroup, largest RSS first.
pub const MAX_SHOWN: usize = 10;

/// At most this many processes of one cgroup are read (a cgroup of thousands is summarised).
pub const MAX_READ: usize = 2000;

/// One process of a cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessView {
    pub pid: i32,
    /// `/proc/PID/stat` comm (at most 15 bytes, as the kernel keeps it).
    pub comm: String,
    /// The scheduler state letter: R running, S sleeping, D uninterruptible, Z zombie, ...
    pub state: String,
    /// Resident memory, bytes (`VmRSS` of /proc/PID/status, else stat's rss × page size).
    pub rss_bytes: Option<u64>,
    /// Threads (status `Threads`, else stat num_threads).
    pub threads: Option<u64>,
    /// Open file descriptors (entries of /proc/PID/fd); `null` when that directory cannot be read
    /// (another user's process without root, or a snapshot that did not capture it).
    pub fds: Option<u64>,
}

/// What was read of a cgroup's processes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProcessList {
    /// PIDs listed in the cgroup's own `cgroup.procs` (not its descendants'); `null` when that file
    /// could not be read.
    pub total: Option<usize>,
    /// The largest by RSS, at most [`MAX_SHOWN`].
    pub shown: Vec<ProcessView>,
    /// Listed in cgroup.procs but gone (or absent from a snapshot) by the time their files were read.
    pub vanished: usize,
    /// Not read because the cgroup has more than [`MAX_READ`] processes.
    pub not_read: usize,
    /// Whether every process read is named `pause` (a pod sandbox); `None` when none could be read.
    #[serde(skip)]
    pub all_pause: Option<bool>,
    /// Files that exist but could not be read (permission denied, malformed).
    #[serde(skip)]
    pub problems: Vec<FileProblem>,
}

/// Read the processes `pids` (a cgroup's cgroup.procs) and keep the largest by RSS.
pub fn read_processes(root: &Root, si: &SystemInfo, pids: Option<&[i32]>) -> ProcessList {
    let Some(pids) = pids else {
        return ProcessList::default();
    };
    let mut list = ProcessList {
        total: Some(pids.len()),
        not_read: pids.len().saturating_sub(MAX_READ),
        ..ProcessList::default()
    };
    let mut all: Vec<ProcessView> = Vec::new();
    for &pid in pids.iter().take(MAX_READ) {
        match read_one(root, si, pid, &mut list.problems) {
            Some(p) => all.push(p),
            None => list.vanished += 1,
        }
    }
    if !all.is_empty() {
        list.all_pause = Some(all.iter().all(|p| p.comm == "pause"));
    }
    all.sort_by(|a, b| b.rss_bytes.cmp(&a.rss_bytes).then(a.pid.cmp(&b.pid)));
    all.truncate(MAX_SHOWN);
    list.shown = all;
    list
}

/// One process; `None` when it is gone (its stat file does not exist or cannot be parsed as a
/// process's).
fn read_one(root: &Root, si: &SystemInfo, pid: i32, problems: &mut Vec<FileProblem>) -> Option<ProcessView> {
    let stat_path = format!("/proc/{pid}/stat");
    let stat = match root.read(&stat_path) {
        Ok(bytes) => match Stat::from_read(&bytes[..]) {
            Ok(s) => s,
            Err(e) => {
                problems.push(FileProblem {
                    path: stat_path,
                    reason: format!("does not parse: {e}"),
                });
                return None;
            }
        },
        Err(e) if e.is_not_found() => return None,
        Err(e) => {
            problems.push(FileProblem {
                path: stat_path,
                reason: e.reason(),
            });
            return None;
        }
    };
    let status_path = format!("/proc/{pid}/status");
    let status = match root.read(&status_path) {
        Ok(bytes) => Status::from_read(&bytes[..])
            .map_err(|e| {
                problems.push(FileProblem {
                    path: status_path.clone(),
                    reason: format!("does not parse: {e}"),
                })
            })
            .ok(),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            problems.push(FileProblem {
                path: status_path,
                reason: e.reason(),
            });
            None
        }
    };
    let fd_dir = format!("/proc/{pid}/fd");
    let fds = match root.list_dir(&fd_dir) {
        Ok(names) => Some(names.len() as u64),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            problems.push(FileProblem {
                path: fd_dir,
                reason: e.reason(),
            });
            None
        }
    };
    let rss_bytes = status
        .as_ref()
        .and_then(|s| s.vmrss)
        .map(|kb| kb * 1024)
        .or_else(|| Some(stat.rss.saturating_mul(si.page_size)));
    let threads = status
        .as_ref()
        .map(|s| s.threads)
        .or_else(|| u64::try_from(stat.num_threads).ok());
    Some(ProcessView {
        pid,
        comm: stat.comm,
        state: stat.state.to_string(),
        rss_bytes,
        threads,
        fds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat_line(pid: i32, comm: &str, threads: u32, rss_pages: u64) -> String {
        format!(
            "{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 1200 0 0 0 150 40 0 0 20 0 {threads} 0 51234 \
             104857600 {rss_pages} 18446744073709551615 1 1 0 0 0 0 0 4096 16384 0 0 0 17 1 0 0 0 0 0 \
             0 0 0 0 0 0 0 0\n"
        )
    }

    #[test]
    fn largest_first_vanished_skipped_status_preferred() {
        let dir = tempfile::tempdir().unwrap();
        let w = |rel: &str, text: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        w("proc/10/stat", &stat_line(10, "small", 1, 10));
        w("proc/20/stat", &stat_line(20, "big proc", 3, 5000));
        w(
            "proc/20/status",
            "Name:\tbig proc\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t20\nNgid:\t0\nPid:\t20\nPPid:\t1\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nVmRSS:\t  30000 kB\nThreads:\t4\nSigQ:\t0/1\nSigPnd:\t0\nShdPnd:\t0\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t0\nCapAmb:\t0\n",
        );
        std::fs::create_dir_all(dir.path().join("proc/20/fd")).unwrap();
        for fd in ["0", "1", "2"] {
            std::os::unix::fs::symlink("/dev/null", dir.path().join("proc/20/fd").join(fd)).unwrap();
        }
        let root = Root::dir(dir.path()).unwrap();
        let si = SystemInfo {
            ticks_per_second: 100,
            page_size: 4096,
            boot_time_secs: None,
        };
        let list = read_processes(&root, &si, Some(&[10, 20, 30]));
        assert_eq!(list.total, Some(3));
        assert_eq!(list.vanished, 1, "pid 30 has no files");
        let big = &list.shown[0];
        assert_eq!((big.pid, big.comm.as_str()), (20, "big proc"));
        assert_eq!(
            (big.rss_bytes, big.threads, big.fds),
            (Some(30000 * 1024), Some(4), Some(3)),
            "VmRSS and Threads of status win over stat"
        );
        let small = &list.shown[1];
        assert_eq!((small.pid, small.comm.as_str()), (10, "small"));
        assert_eq!(
            (small.rss_bytes, small.threads, small.fds),
            (Some(10 * 4096), Some(1), None),
            "no status, no fd directory: stat's rss x page size"
        );
        assert_eq!(list.all_pause, Some(false));
        assert!(list.problems.is_empty(), "{:?}", list.problems);
    }
}
