//! The processes inside one cgroup, for `osdoctor cgroup`: PID, command, state, RSS, threads and open
//! file descriptors, read by the process collector ([`crate::collect::process::read_stat_status_fds`]:
//! `/proc/PID/stat`, `/proc/PID/status` and the fd count, through the [`Root`]). A process that exits
//! between `cgroup.procs` and its own files is skipped and counted.

use serde::Serialize;

use crate::collect::SystemInfo;
use crate::collect::cgroup::FileProblem;
use crate::collect::process::{self as collector, FdCount, ProcSample};
use crate::root::Root;

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
    /// Open file descriptors (the count of /proc/PID/fd); `null` when it cannot be taken (another
    /// user's process without root, or a snapshot that did not capture it).
    pub fds: Option<u64>,
    /// What the fds are (the process collector's classified table, [`crate::parse::fd_table::FdTable`]'s
    /// JSON), for the processes with the most fds (at most 20 of the target); `null` where not read.
    pub fd_table: Option<crate::parse::fd_table::FdTable>,
}

impl ProcessView {
    fn of(p: ProcSample, si: &SystemInfo) -> ProcessView {
        let rss_bytes = match p.vmrss_kb {
            Some(kb) => kb.saturating_mul(1024),
            None => p.rss_pages.saturating_mul(si.page_size),
        };
        ProcessView {
            pid: p.pid,
            comm: p.comm,
            state: p.state.to_string(),
            rss_bytes: Some(rss_bytes),
            threads: Some(p.status_threads.unwrap_or(p.num_threads)),
            fds: p.fd_count,
            fd_table: None,
        }
    }
}

impl ProcessList {
    /// Attach the fd tables the process collector read (`procs`, the rules' view of the same
    /// processes), by pid.
    pub fn attach_fd_tables(&mut self, procs: &[ProcSample]) {
        for view in &mut self.shown {
            view.fd_table = procs
                .iter()
                .find(|p| p.pid == view.pid)
                .and_then(|p| p.fd_table.clone());
        }
    }
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

/// How the fd count is taken in `root`, as the process collector decides it for `check`.
pub fn fd_count_mode(root: &Root) -> FdCount {
    let release = root.read_string("/proc/sys/kernel/osrelease").ok();
    collector::fd_count_mode(root, release.as_deref().map(str::trim))
}

/// Read the processes `pids` (a cgroup's cgroup.procs) and keep the largest by RSS.
pub fn read_processes(root: &Root, si: &SystemInfo, fds: FdCount, pids: Option<&[i32]>) -> ProcessList {
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
        match collector::read_stat_status_fds(root, pid, fds, &mut list.problems) {
            Some(p) => all.push(ProcessView::of(p, si)),
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
        let list = read_processes(&root, &si, fd_count_mode(&root), Some(&[10, 20, 30]));
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

        // A stat that is not a process's is listed as a problem, and the process counted as gone;
        // a malformed status is listed too, and the process still shown from its stat.
        w("proc/40/stat", "garbage\n");
        w("proc/50/stat", &stat_line(50, "odd", 1, 1));
        w("proc/50/status", "Name:\todd\n");
        let list = read_processes(&root, &si, fd_count_mode(&root), Some(&[40, 50]));
        assert_eq!(list.vanished, 1);
        assert_eq!(list.shown.len(), 1);
        let paths: Vec<&str> = list.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["/proc/40/stat", "/proc/50/status"]);
        assert!(
            list.problems
                .iter()
                .all(|p| p.reason.starts_with("does not parse")),
            "{:?}",
            list.problems
        );
    }
}
