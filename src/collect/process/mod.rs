//! Per-process sources: for every /proc/PID, stat, status, limits, schedstat, cgroup, oom_score and
//! the open-fd count; per-thread files, listening sockets, deleted files and command lines only when a
//! symptom or a finding asks for them.
//!
//! # What is read, and when
//!
//! First pass (every process):
//! - `/proc/PID/stat` (all of it, for every task including kernel threads: state, CPU ticks summed over
//!   threads, major faults, threads, start time). Kernel threads stop here.
//! - `status` (uid, FDSize, VmSwap, CapEff, NSpid, the **main thread's** context-switch counters),
//!   `limits`, `schedstat` (main thread), `cgroup` (raw lines, kept for later attribution), `oom_score`.
//! - the open-fd count: on the live system with Linux 6.2+, `stat("/proc/PID/fd").st_size` (O(1), no
//!   listing). When recording a snapshot, the fd directory is listed and every link read, so the
//!   snapshot holds the entries (a replay counts them). In a directory root, the entries are counted.
//!   On an older live kernel the directory is listed only when `FDSize` (the fd table's capacity, an
//!   upper bound on the count that costs nothing) reaches 75% of the soft RLIMIT_NOFILE.
//!
//! Then, only when a symptom asks (decided once, after the first scan, and reused by the second pass):
//! - per-thread `task/TID/status` of multi-threaded processes when the host switched context >= 10,000
//!   times a second across the first scan ([`CTXT_TRIGGER_PER_SEC`]): /proc/PID/status counts the main
//!   thread only, and below that host rate no process can reach the 20,000/s of
//!   proc.context_switch_storm;
//! - per-thread `task/TID/schedstat` when CPUs are contended (PSI cpu some avg10 >= 5%, or more runnable
//!   tasks than CPUs): /proc/PID/schedstat is the main thread's too;
//! - per-thread `task/TID/stat` when tasks are blocked (procs_blocked > 0 or a main thread in D state),
//!   to find the threads in D state;
//! - per-thread stat and status for any process with >= 50 threads per CPU (proc.thread_explosion);
//! - the fd links of processes whose soft RLIMIT_NOFILE is <= 1024, matched with the listening sockets of
//!   /proc/net/tcp{,6} (of their own network namespace);
//! - the fd table, classified ([`crate::parse::fd_table`]), of at most 20 processes: those whose
//!   open-fd count is >= 80% of their soft RLIMIT_NOFILE, those a targeted scan asks about, and those
//!   holding >= 40 CLOSE_WAIT sockets, joined with /proc/PID/net/tcp{,6} of their own namespace
//!   (`ns/net`); not for more than 10,000 fds. Finding CLOSE_WAIT holders reads `ns/net` of processes
//!   with >= 40 fds (at most 256, the most fds first), `net/sockstat{,6}` once per namespace, the TCP
//!   tables only of namespaces with >= 40 TCP sockets in use, and fd links only in namespaces whose
//!   tables hold >= 40 in CLOSE_WAIT (at most 50,000 links; `close_wait`'s docs);
//! - the fd links of every process, with the size of deleted files still open, when a filesystem is
//!   >= 90% full (`statvfs` of the mounts in mountinfo).
//!
//! Second pass: only what rates need, for the processes of the first pass: `stat` (a changed start
//! time means the PID was reused: no rate), `schedstat`, and the per-thread files chosen above; `wchan`
//! of tasks in D state in both samples.
//!
//! Never read on this path: /proc/PID/{cmdline,environ,maps,numa_maps} of a task in D state (they take
//! the task's mmap lock). Command lines are read after the rules ran, only for processes named in
//! findings ([`read_cmdlines`]), and for `java` processes to tell a database (cassandra, kafka,
//! elasticsearch) from other Java.
//!
//! A process that exits mid-read is skipped silently (ENOENT, ESRCH); permission denied is counted and
//! reported once.
//!
//! # Layout
//!
//! - `types`: the samples ([`ProcSample`], [`ProcessSample`], ...); imports no sibling.
//! - `reader`: reading /proc/PID files for a scan, and counting what could not be read.
//! - `scan`: the first and second pass, and reading one process ([`read_stat_status_fds`]).
//! - `fds`: the open-fd count and the fd directory; `threads`: the per-thread policy and reading;
//!   `listeners`: listening sockets; `fd_table`: classified fd tables, with `close_wait` (who holds
//!   CLOSE_WAIT sockets), `netns` (the TCP tables of a process's network namespace) and `fd_record`
//!   (what a snapshot records of them); `mounts`: mountinfo and statvfs;
//!   `deleted`: deleted files held open; `users`: /etc/passwd; `databases`: which processes are
//!   databases; `cmdline`: command lines.
//!
//! Imports run one way: this file uses `scan` and `reader` (for [`collect`]); `scan` uses the concern
//! files; `listeners`, `deleted`, `fd_table` and `close_wait` use `fds`; `fd_table` uses
//! `close_wait`, `netns` and `fd_record`, `close_wait` uses `fd_table`'s helpers; the concern files
//! use `reader` and `types`; `reader` uses `types`; `types` uses none.

mod close_wait;
mod cmdline;
mod databases;
mod deleted;
mod fd_record;
mod fd_table;
mod fds;
mod listeners;
mod live;
mod mounts;
mod netns;
mod reader;
mod scan;
mod threads;
mod types;
mod users;

#[cfg(test)]
mod tests;

pub use cmdline::read_cmdlines;
pub use deleted::{DELETED_FILE, FS_FULL_TRIGGER};
pub use fd_record::RECORD_FILE as FD_TABLES_FILE;
pub use fd_table::read_fd_tables;
pub use fds::{FdLinks, fd_count_mode, kernel_version};
pub use listeners::{NOFILE_LOW, holders_of};
pub use mounts::{MountLine, STATVFS_FILE, parse_mountinfo, parse_statvfs_file};
pub use scan::{PF_KTHREAD, SCHEDSTAT_MIN_CORES, read_stat_status_fds};
pub use threads::{
    CTXT_TRIGGER_PER_SEC, CTXT_WINDOW_SECS, LIFETIME_BUSY, SCAN_FILE, THREADS_PER_CPU_TRIGGER,
};
pub use types::{
    Blocked, CgroupLine, FdCount, MountUsage, PassClock, PerThread, ProcLimits, ProcSample, ProcessSample,
    ScanProgress, ThreadSched, Threads,
};

use super::container::ContainerSample;
use super::host::Pass;
use crate::collect::host::HostSample;
use crate::coverage::Coverage;
use crate::root::Root;
use reader::Reader;
use scan::{first_pass, second_pass};

/// Read the processes. Never fails: what cannot be read is in `cov`. `prev` is the first pass's
/// result when this is the second pass.
#[allow(clippy::too_many_arguments)]
pub fn collect(
    root: &Root,
    pass: Pass,
    host: &HostSample,
    clock: &PassClock,
    prev: Option<&ProcessSample>,
    cov: &mut Coverage,
    progress: &ScanProgress,
    container: Option<&ContainerSample>,
) -> ProcessSample {
    collect_pids(root, pass, host, clock, prev, cov, progress, None, container)
}

/// [`collect`], the first pass reading only the processes `only` (a cgroup's, for `osdoctor cgroup`)
/// when given, and no mount usage; the second pass re-reads the first pass's processes as always.
#[allow(clippy::too_many_arguments)]
pub fn collect_pids(
    root: &Root,
    pass: Pass,
    host: &HostSample,
    clock: &PassClock,
    prev: Option<&ProcessSample>,
    cov: &mut Coverage,
    progress: &ScanProgress,
    only: Option<&[i32]>,
    container: Option<&ContainerSample>,
) -> ProcessSample {
    let mut r = Reader::new(root);
    // Inside a container with a CPU limit, whose PID namespace holds only its own processes, every
    // busy process's threads' states are read: its runnable tasks are judged against that limit.
    let container_threads = container.is_some_and(|c| {
        c.inside() && c.private_pidns && (c.limits.cpu_quota.is_some() || c.limits.cpus.is_some())
    });
    let out = match (pass, prev) {
        (Pass::RatesOnly, Some(prev)) => second_pass(&mut r, prev, clock, cov, progress),
        (Pass::RatesOnly, None) => ProcessSample::default(),
        (Pass::Full, _) => first_pass(&mut r, host, clock, cov, progress, only, container_threads),
    };
    let denied = out.denied;
    r.problems.report(cov, denied);
    out
}
