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

mod reader;
mod types;

pub use types::{
    Blocked, CgroupLine, FdCount, MountUsage, PassClock, PerThread, ProcLimits, ProcSample, ProcessSample,
    ScanProgress, ThreadSched, Threads,
};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use procfs_core::process::{Schedstat, Stat};
use procfs_core::{FromRead, ProcessCGroups};

use super::host::Pass;
use super::proc_net_tcp::{self, Listener};
use super::proc_pid;
use crate::cgroupfs::FileProblem;
use crate::coverage::{Coverage, ProblemKind};
use crate::root::{ReadError, Root};
use crate::sample::HostSample;
use reader::{Reader, Skip, classify, procfs};

/// PF_KTHREAD in include/linux/sched.h: the task is a kernel thread.
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// Host context switches per second across the first scan above which per-thread status files are read.
pub const CTXT_TRIGGER_PER_SEC: f64 = 10_000.0;
/// The shortest window the trigger is measured over (the scan of a small host takes milliseconds).
pub const CTXT_WINDOW_SECS: f64 = 0.05;
/// Threads per CPU from which a process's threads are read (proc.thread_explosion).
pub const THREADS_PER_CPU_TRIGGER: u64 = 50;
/// Soft RLIMIT_NOFILE at or below which a process's sockets are matched with listeners.
pub const NOFILE_LOW: u64 = 1024;
/// A filesystem this full makes deleted-but-open files worth finding.
pub const FS_FULL_TRIGGER: f64 = 0.90;
/// The file the scan's decisions are recorded in (inside a sample of a snapshot).
pub const SCAN_FILE: &str = "/osdoctor/process-scan";
/// Filesystem capacity, recorded because a directory cannot replay `statvfs`.
pub const STATVFS_FILE: &str = "/osdoctor/statvfs";
/// Sizes of deleted files held open (`stat()` through /proc/PID/fd/N cannot be replayed either).
pub const DELETED_FILE: &str = "/osdoctor/deleted-fds";

/// CPUs' worth a process must have used over the interval for the second pass to re-read its schedstat
/// (proc.runqueue_latency's guard: a process that hardly ran has no run-queue latency worth naming).
pub const SCHEDSTAT_MIN_CORES: f64 = 0.1;

/// `6.18.44-fc` -> (6, 18).
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(['.', '-']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The `ctxt` line of /proc/stat.
fn ctxt_of(stat: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(stat).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("ctxt "))
        .and_then(|v| v.trim().parse().ok())
}

/// Read the processes. Never fails: what cannot be read is in `cov`. `prev` is the first pass's
/// result when this is the second pass.
pub fn collect(
    root: &Root,
    pass: Pass,
    host: &HostSample,
    clock: &PassClock,
    prev: Option<&ProcessSample>,
    cov: &mut Coverage,
    progress: &ScanProgress,
) -> ProcessSample {
    let mut r = Reader::new(root);
    let out = match (pass, prev) {
        (Pass::RatesOnly, Some(prev)) => second_pass(&mut r, prev, clock, cov, progress),
        (Pass::RatesOnly, None) => ProcessSample::default(),
        (Pass::Full, _) => first_pass(&mut r, host, clock, cov, progress),
    };
    let denied = out.denied;
    r.problems.report(cov, denied);
    out
}

/// How the open-fd count is taken in this root; `kernel_release` is /proc/sys/kernel/osrelease.
pub fn fd_count_mode(root: &Root, kernel_release: Option<&str>) -> FdCount {
    if root.is_recording() {
        return FdCount::ListWithLinks;
    }
    let new_kernel = kernel_release
        .and_then(kernel_version)
        .is_some_and(|v| v >= (6, 2));
    if !root.is_live() {
        // A snapshot's fd/ is a directory of links: count them. A host's real /proc under --root
        // (a debug container) answers stat() like the live one.
        return if new_kernel && root.is_procfs("/proc") {
            FdCount::StatSize
        } else {
            FdCount::List
        };
    }
    if new_kernel {
        FdCount::StatSize
    } else {
        FdCount::ListIfNear
    }
}

fn first_pass(
    r: &mut Reader,
    host: &HostSample,
    clock: &PassClock,
    cov: &mut Coverage,
    progress: &ScanProgress,
) -> ProcessSample {
    let mut out = ProcessSample::default();
    let names = match r.root.list_dir("/proc") {
        Ok(n) => n,
        Err(e) => {
            cov.read_failed(&e);
            return out;
        }
    };
    let mut pids: Vec<i32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    pids.sort_unstable();
    out.scanned = true;
    let mode = fd_count_mode(r.root, host.kernel_release.as_deref());
    out.fd_count_mode = Some(mode);
    let mut stat_denied = 0usize;
    for pid in pids {
        progress.at(format!("/proc/{pid}"));
        match read_process(r, pid, mode, cov) {
            // Not even its stat could be read (hidepid=1): counted, not a subject.
            Some(p) if !p.has_stat() => stat_denied += 1,
            Some(p) => progress.push(p),
            None => out.gone += 1,
        }
    }
    let mut procs = progress.take();
    // The steps below work on this list; a deadline meanwhile keeps every process read so far.
    progress.replace(&procs);
    if procs.is_empty() {
        note_no_processes(cov);
    } else {
        for f in [
            "/proc/[pid]/stat",
            "/proc/[pid]/status",
            "/proc/[pid]/limits",
            "/proc/[pid]/schedstat",
            "/proc/[pid]/cgroup",
            "/proc/[pid]/oom_score",
            "/proc/[pid]/fd",
        ] {
            cov.read_ok(f);
        }
    }

    // Per-thread files, only where a symptom asks.
    let (rate, recorded) = scan_ctxt_rate(r.root, host, clock);
    out.scan_ctxt_rate = rate;
    let cpus = host
        .stat
        .as_ref()
        .map(|s| s.cpu_time.len().max(1) as u64)
        .unwrap_or(1);
    let per_thread = match recorded {
        Some(p) => p,
        None => decide_per_thread(host, rate, &procs, cpus),
    };
    out.per_thread = per_thread;
    r.root.record_file(
        SCAN_FILE,
        format!(
            "ctxt_rate_during_scan {}\nper_thread {}\n",
            rate.map(|r| format!("{r:.0}"))
                .unwrap_or_else(|| "unknown".into()),
            per_thread.names().join(",")
        )
        .as_bytes(),
    );
    // Uptime in clock ticks, from the boot time in /proc/stat and the clock now. Not for a directory
    // root: a replay reads the task files the capture recorded, whatever the clock says now.
    let uptime_ticks = host.stat.as_ref().filter(|_| r.root.is_live()).and_then(|st| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some((now.as_secs_f64() - st.btime as f64).max(0.0) as u64 * clock.ticks_per_second)
    });
    let mut threaded: BTreeMap<&'static str, usize> = BTreeMap::new();
    for p in procs.iter_mut() {
        let want = threads_wanted(p, per_thread, cpus, uptime_ticks);
        if want.any() {
            progress.at(format!("/proc/{}/task", p.pid));
            p.threads = read_threads(r, p.pid, want, cov);
            for name in want.names() {
                *threaded.entry(name).or_default() += 1;
            }
        }
    }
    if !threaded.is_empty() {
        let why = per_thread_reasons(host, out.scan_ctxt_rate, per_thread);
        let list: Vec<String> = threaded
            .iter()
            .map(|(f, n)| format!("task/*/{f} of {n} process{}", if *n == 1 { "" } else { "es" }))
            .collect();
        cov.notes
            .push(format!("per-thread files read: {} ({why})", list.join(", ")));
    }

    // Listening sockets of processes with a low fd limit.
    listeners(r, &mut procs, cov);

    // Deleted files still open, when a filesystem is nearly full.
    out.mounts = mount_usage(r.root, cov);
    if out.mounts.iter().any(|m| m.used_ratio >= FS_FULL_TRIGGER) {
        deleted_files(r, &mut procs, cov);
    }

    if !procs.is_empty() {
        out.users = read_users(r.root, cov);
        out.cap_last_cap = crate::collect::read_parsed(r.root, "/proc/sys/kernel/cap_last_cap", cov, |t| {
            t.trim().parse::<u32>().map_err(|e| e.to_string())
        });
    }
    for p in procs.iter_mut() {
        p.database = database_of(r.root, p);
    }
    out.denied = procs.iter().filter(|p| p.denied).count() + stat_denied;
    progress.take();
    out.procs = procs;
    out.complete = true;
    out
}

fn note_no_processes(cov: &mut Coverage) {
    let note = "no /proc/PID directories were found: per-process rules are not evaluated".to_string();
    if !cov.notes.contains(&note) {
        cov.notes.push(note);
    }
}

/// Everything of one process the first pass reads. `None` when it exited.
fn read_process(r: &mut Reader, pid: i32, mode: FdCount, cov: &mut Coverage) -> Option<ProcSample> {
    let mut p = ProcSample {
        pid,
        ..ProcSample::default()
    };
    let stat = match r.parse(pid, "stat", |b| procfs(Stat::from_read(b))) {
        Ok(s) => s,
        Err(Skip::Gone) => return None,
        Err(s) => {
            // Without stat there is no identity: count it and move on.
            r.skipped(s, "stat", &mut p, cov);
            return p.denied.then_some(p);
        }
    };
    apply_stat(&mut p, &stat);
    if p.kthread || p.is_zombie() {
        return Some(p);
    }
    match r.parse(pid, "status", proc_pid::parse_status) {
        Ok(s) => apply_status(&mut p, &s),
        Err(s) => {
            if r.skipped(s, "status", &mut p, cov) {
                return None;
            }
        }
    }
    match r.parse(pid, "limits", proc_pid::parse_limits) {
        Ok(l) => {
            p.limits = Some(ProcLimits {
                nofile_soft: l.nofile_soft,
                nofile_hard: l.nofile_hard,
                nproc_soft: l.nproc_soft,
            })
        }
        Err(s) => {
            if r.skipped(s, "limits", &mut p, cov) {
                return None;
            }
        }
    }
    match r.parse(pid, "schedstat", |b| procfs(Schedstat::from_read(b))) {
        Ok(s) => p.schedstat = Some((s.sum_exec_runtime, s.run_delay, s.pcount)),
        Err(s) => {
            if r.skipped(s, "schedstat", &mut p, cov) {
                return None;
            }
        }
    }
    let mut seen = std::mem::take(&mut r.cgroups);
    let parsed = r.parse(pid, "cgroup", |b| {
        if let Some(lines) = seen.get(b) {
            return Ok(Arc::clone(lines));
        }
        let lines: Arc<[CgroupLine]> = procfs(ProcessCGroups::from_read(b))?
            .0
            .into_iter()
            .map(|c| CgroupLine {
                hierarchy: c.hierarchy,
                controllers: c.controllers.join(","),
                path: c.pathname,
            })
            .collect();
        seen.insert(b.to_vec(), Arc::clone(&lines));
        Ok(lines)
    });
    r.cgroups = seen;
    match parsed {
        Ok(c) => p.cgroups = c,
        Err(s) => {
            if r.skipped(s, "cgroup", &mut p, cov) {
                return None;
            }
        }
    }
    match r.parse(pid, "oom_score", |b| {
        std::str::from_utf8(b)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .ok_or_else(|| "expected one number".to_string())
    }) {
        Ok(v) => p.oom_score = Some(v),
        Err(s) => {
            if r.skipped(s, "oom_score", &mut p, cov) {
                return None;
            }
        }
    }
    if !count_fds(r, &mut p, mode, cov) {
        return None;
    }
    Some(p)
}

/// A process's `stat`, `status` and open-fd count, read with the scan's parsers and fd counting, for
/// a caller that looks at a few processes rather than all of /proc (`osdoctor cgroup`: the processes
/// of one cgroup). `mode` is [`fd_count_mode`]'s answer for `root`.
///
/// `None` when the process is gone: its stat is absent or empty (it exited), or cannot be read or
/// parsed. Unlike the scan, an absent status or fd directory only leaves those fields `None` (a
/// snapshot holds neither for kernel threads and zombies). What exists but cannot be read or parsed
/// is listed in `problems`.
pub fn read_stat_status_fds(
    root: &Root,
    pid: i32,
    mode: FdCount,
    problems: &mut Vec<FileProblem>,
) -> Option<ProcSample> {
    let mut unusable = |path: &str, skip: Skip| {
        let reason = match skip {
            Skip::Gone => return,
            Skip::Denied => "permission denied".to_string(),
            Skip::Other(e) => e.reason(),
            Skip::Unparsable(why) => format!("does not parse: {why}"),
        };
        problems.push(FileProblem {
            path: path.to_string(),
            reason,
        });
    };
    let mut r = Reader::new(root);
    let mut p = ProcSample {
        pid,
        ..ProcSample::default()
    };
    match r.parse(pid, "stat", |b| procfs(Stat::from_read(b))) {
        Ok(s) => apply_stat(&mut p, &s),
        Err(skip) => {
            unusable(&r.path, skip);
            return None;
        }
    }
    match r.parse(pid, "status", proc_pid::parse_status) {
        Ok(s) => apply_status(&mut p, &s),
        Err(skip) => unusable(&r.path, skip),
    }
    if let Err(e) = take_fd_count(root, &mut p, mode) {
        let path = e.path().to_string();
        unusable(&path, classify(e));
    }
    Some(p)
}

fn apply_stat(p: &mut ProcSample, s: &Stat) {
    p.starttime = s.starttime;
    p.comm = s.comm.clone();
    p.state = s.state;
    p.ppid = s.ppid;
    p.kthread = s.flags & PF_KTHREAD != 0;
    p.utime = s.utime;
    p.stime = s.stime;
    p.majflt = s.majflt;
    p.num_threads = s.num_threads.max(0) as u64;
    p.rss_pages = s.rss;
}

fn apply_status(p: &mut ProcSample, s: &proc_pid::StatusFields) {
    p.uid = Some(s.ruid);
    p.fdsize = s.fdsize;
    p.swap_kb = s.vmswap_kb;
    p.cap_eff = s.capeff;
    p.pidns_depth = s.nspid_levels;
    p.vmrss_kb = s.vmrss_kb;
    p.status_threads = s.threads;
    if let (Some(v), Some(n)) = (s.voluntary_ctxt_switches, s.nonvoluntary_ctxt_switches) {
        p.ctxt_main = Some((v, n));
    }
}

/// The open-fd count; `false` when the process is gone.
fn count_fds(r: &mut Reader, p: &mut ProcSample, mode: FdCount, cov: &mut Coverage) -> bool {
    match take_fd_count(r.root, p, mode) {
        Ok(()) => true,
        Err(e) => !r.skipped(classify(e), "fd", p, cov),
    }
}

/// Fill `p.fd_count` (and `p.fd_links` when listing with links) as `mode` says. `ListIfNear` lists
/// only when FDSize (the fd table's capacity, an upper bound on the count) reaches 75% of the soft
/// RLIMIT_NOFILE, or when either is unknown.
fn take_fd_count(root: &Root, p: &mut ProcSample, mode: FdCount) -> Result<(), ReadError> {
    let near = || match (p.fdsize, p.limits.and_then(|l| l.nofile_soft)) {
        (Some(size), Some(soft)) if soft > 0 => size as f64 >= 0.75 * soft as f64,
        _ => true,
    };
    match mode {
        FdCount::StatSize => {
            let st = root.stat(&format!("/proc/{}/fd", p.pid))?;
            p.fd_count = Some(st.st_size.max(0) as u64);
        }
        FdCount::ListIfNear if !near() => {}
        FdCount::List | FdCount::ListIfNear | FdCount::ListWithLinks => {
            let (count, links) = read_fd_dir(root, p.pid, mode == FdCount::ListWithLinks)?;
            p.fd_count = Some(count);
            p.fd_links = links;
        }
    }
    Ok(())
}

/// fd number and link target.
pub type FdLinks = Vec<(u32, String)>;

/// List /proc/PID/fd; with `links`, read every link target too.
fn read_fd_dir(root: &Root, pid: i32, links: bool) -> Result<(u64, Option<FdLinks>), ReadError> {
    let dir = format!("/proc/{pid}/fd");
    let names = root.list_dir(&dir)?;
    let fds: Vec<u32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    if !links {
        return Ok((fds.len() as u64, None));
    }
    let mut out = Vec::with_capacity(fds.len());
    for fd in fds {
        match root.read_link(&format!("{dir}/{fd}")) {
            Ok(t) => out.push((fd, t)),
            // Closed between the listing and the read.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    out.sort();
    Ok((out.len() as u64, Some(out)))
}

/// The host context-switch rate across the first scan, and the per-thread decision a snapshot
/// recorded (replayed as it was taken).
fn scan_ctxt_rate(root: &Root, host: &HostSample, clock: &PassClock) -> (Option<f64>, Option<PerThread>) {
    if !root.is_live()
        && let Ok(text) = root.read_string(SCAN_FILE)
    {
        let mut rate = None;
        let mut per = PerThread::default();
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("ctxt_rate_during_scan ") {
                rate = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("per_thread ") {
                per = PerThread::parse(v);
            }
        }
        return (rate, Some(per));
    }
    let Some(c0) = host.stat.as_ref().map(|s| s.ctxt) else {
        return (None, None);
    };
    let elapsed = crate::sample::monotonic_secs() - clock.stat_read_at;
    if root.is_live() && elapsed < CTXT_WINDOW_SECS {
        std::thread::sleep(std::time::Duration::from_secs_f64(CTXT_WINDOW_SECS - elapsed));
    }
    let Ok(bytes) = root.read_unrecorded("/proc/stat") else {
        return (None, None);
    };
    let dt = crate::sample::monotonic_secs() - clock.stat_read_at;
    let rate = ctxt_of(&bytes).and_then(|c1| crate::sample::rate(c0, c1, dt));
    (rate, None)
}

fn decide_per_thread(
    host: &HostSample,
    ctxt_rate: Option<f64>,
    procs: &[ProcSample],
    cpus: u64,
) -> PerThread {
    let stat = host.stat.as_ref();
    let running = stat.and_then(|s| s.procs_running).unwrap_or(0).saturating_sub(1) as u64;
    let psi = host.psi_cpu.and_then(|p| p.some).map(|s| s.avg10).unwrap_or(0.0);
    let blocked = stat.and_then(|s| s.procs_blocked).unwrap_or(0);
    PerThread {
        status: ctxt_rate.is_some_and(|r| r >= CTXT_TRIGGER_PER_SEC),
        schedstat: psi >= 5.0 || running > cpus,
        stat: blocked > 0 || procs.iter().any(|p| p.state == 'D'),
    }
}

/// A process whose CPU time over its life is at least this share of one CPU counts as busy.
pub const LIFETIME_BUSY: f64 = 0.01;

/// Why per-thread files were read, in words for the coverage note.
fn per_thread_reasons(host: &HostSample, ctxt_rate: Option<f64>, p: PerThread) -> String {
    let mut why = Vec::new();
    if p.status {
        why.push(format!(
            "the host switched context {}/s during the first scan",
            ctxt_rate.map(|r| format!("{r:.0}")).unwrap_or_else(|| "?".into())
        ));
    }
    if p.schedstat {
        why.push("CPUs are contended".to_string());
    }
    if p.stat {
        why.push(format!(
            "tasks are blocked (procs_blocked {})",
            host.stat.as_ref().and_then(|s| s.procs_blocked).unwrap_or(0)
        ));
    }
    if why.is_empty() {
        why.push(format!(">= {THREADS_PER_CPU_TRIGGER} threads per CPU"));
    }
    why.join("; ")
}

/// The per-thread files to read for one process.
fn threads_wanted(p: &ProcSample, per_thread: PerThread, cpus: u64, uptime_ticks: Option<u64>) -> PerThread {
    if p.kthread || p.is_zombie() {
        return PerThread::default();
    }
    // Context switches and run-queue waits need CPU time: a process that is not running now and has used
    // less than 1% of a CPU over its life is not read thread by thread (an idle pool of thousands of
    // threads would otherwise cost more than the whole scan).
    let mut per_thread = per_thread;
    let lifetime_busy = match uptime_ticks {
        Some(up) if up > p.starttime => {
            (p.utime + p.stime) as f64 / (up - p.starttime) as f64 >= LIFETIME_BUSY
        }
        _ => true,
    };
    if p.state != 'R' && !lifetime_busy {
        per_thread.status = false;
        per_thread.schedstat = false;
    }
    let explosion = PerThread {
        status: true,
        schedstat: false,
        stat: true,
    };
    let mut want = PerThread::default();
    if p.num_threads > 1 {
        want = per_thread;
    }
    if p.num_threads >= THREADS_PER_CPU_TRIGGER * cpus {
        want = want.union(explosion);
    }
    want
}

/// Read /proc/PID/task/*/{status,schedstat,stat} as asked. `None` when the process is gone or its
/// task directory cannot be listed.
fn read_threads(r: &mut Reader, pid: i32, want: PerThread, cov: &mut Coverage) -> Option<Threads> {
    let names = match r.root.list_dir(&format!("/proc/{pid}/task")) {
        Ok(n) => n,
        Err(e) => {
            if !e.is_not_found() {
                cov.read_failed(&e);
            }
            return None;
        }
    };
    let mut tids: Vec<i32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    tids.sort_unstable();
    let mut t = Threads {
        read: want,
        ..Threads::default()
    };
    let mut ctxt = (0u64, 0u64);
    let mut ctxt_ok = want.status;
    for tid in tids {
        let mut seen = false;
        if want.status {
            match r.parse(pid, &format!("task/{tid}/status"), |b| {
                proc_pid::parse_ctxt(b).ok_or_else(|| "no context-switch counters".to_string())
            }) {
                Ok((v, n)) => {
                    ctxt.0 += v;
                    ctxt.1 += n;
                    seen = true;
                }
                // A thread that exited between the listing and the read.
                Err(Skip::Gone) => continue,
                Err(_) => ctxt_ok = false,
            }
        }
        if want.schedstat {
            match r.parse(pid, &format!("task/{tid}/schedstat"), |b| {
                procfs(Schedstat::from_read(b))
            }) {
                Ok(s) => {
                    t.sched.push(ThreadSched {
                        tid,
                        exec_ns: s.sum_exec_runtime,
                        delay_ns: s.run_delay,
                    });
                    seen = true;
                }
                Err(Skip::Gone) => continue,
                Err(_) => {}
            }
        }
        if want.stat {
            match r.parse(pid, &format!("task/{tid}/stat"), |b| procfs(Stat::from_read(b))) {
                Ok(s) => {
                    t.states.push((tid, s.state));
                    seen = true;
                }
                Err(Skip::Gone) => continue,
                Err(_) => {}
            }
        }
        t.count += usize::from(seen);
    }
    if ctxt_ok && t.count > 0 {
        t.ctxt = Some(ctxt);
    }
    Some(t)
}

/// Match the sockets of processes with a low soft RLIMIT_NOFILE against the listening sockets of their
/// network namespace.
fn listeners(r: &mut Reader, procs: &mut [ProcSample], cov: &mut Coverage) {
    let candidates: Vec<usize> = procs
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            !p.kthread
                && !p.is_zombie()
                && p.limits
                    .and_then(|l| l.nofile_soft)
                    .is_some_and(|s| s <= NOFILE_LOW)
        })
        .map(|(i, _)| i)
        .collect();
    if candidates.is_empty() {
        return;
    }
    let own_ns = r.root.read_link("/proc/self/ns/net").ok();
    // netns link -> listeners of that namespace
    let mut tables: HashMap<String, std::collections::BTreeMap<u64, Listener>> = HashMap::new();
    for i in candidates {
        let pid = procs[i].pid;
        if procs[i].fd_links.is_none() {
            match read_fd_dir(r.root, pid, true) {
                Ok((_, links)) => procs[i].fd_links = links,
                Err(e) => {
                    match classify(e) {
                        Skip::Denied => {
                            r.problems.denied("fd");
                            procs[i].denied = true;
                        }
                        Skip::Other(e) => cov.read_failed(&e),
                        _ => {}
                    }
                    continue;
                }
            }
        }
        let sockets: Vec<u64> = procs[i]
            .fd_links
            .iter()
            .flatten()
            .filter_map(|(_, t)| proc_net_tcp::socket_inode(t))
            .collect();
        if sockets.is_empty() {
            procs[i].listen_ports = Some(Vec::new());
            continue;
        }
        let ns = r.root.read_link(&format!("/proc/{pid}/ns/net")).ok();
        let own = ns.is_none() || ns == own_ns;
        let key = if own {
            "own".to_string()
        } else {
            ns.clone().unwrap_or_default()
        };
        let table = tables.entry(key).or_insert_with(|| {
            let base = if own {
                "/proc/net".to_string()
            } else {
                format!("/proc/{pid}/net")
            };
            let mut all = BTreeMap::new();
            for f in ["tcp", "tcp6"] {
                let path = format!("{base}/{f}");
                match r.root.read_string(&path) {
                    Ok(text) => {
                        let (l, bad) = proc_net_tcp::parse_listeners(&text);
                        if bad > 0 {
                            cov.add(
                                &path,
                                ProblemKind::Unreadable,
                                format!("{bad} lines did not parse"),
                            );
                        }
                        all.extend(l);
                        cov.read_ok(&path);
                    }
                    Err(e) if e.is_not_found() && f == "tcp6" => {} // IPv6 disabled
                    Err(e) => cov.read_failed(&e),
                }
            }
            all
        });
        let mut ports: Vec<u16> = sockets
            .iter()
            .filter_map(|ino| table.get(ino).map(|l| l.port))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        procs[i].listen_ports = Some(ports);
    }
}

/// Capacity of the mounted filesystems that hold files (pseudo filesystems skipped, one entry per
/// device). A snapshot records them in [`STATVFS_FILE`]; a replay reads that file back.
fn mount_usage(root: &Root, cov: &mut Coverage) -> Vec<MountUsage> {
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
    let text = match root.read_string(mountinfo) {
        Ok(t) => t,
        Err(e) => {
            if !e.is_not_found() || root.is_live() {
                cov.read_failed(&e);
            }
            return Vec::new();
        }
    };
    cov.read_ok(mountinfo);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for m in parse_mountinfo(&text) {
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
            mount_point: crate::cgroupfs::layout::unescape_octal(&mi.mount_point.to_string_lossy()),
            fstype: mi.fs_type,
        })
        .collect()
}

/// Filesystems whose fullness matters for deleted files (pseudo and read-only image filesystems skipped).
fn holds_files(fstype: &str) -> bool {
    !matches!(
        fstype,
        "proc"
            | "sysfs"
            | "cgroup"
            | "cgroup2"
            | "devpts"
            | "devtmpfs"
            | "mqueue"
            | "debugfs"
            | "tracefs"
            | "securityfs"
            | "pstore"
            | "bpf"
            | "configfs"
            | "fusectl"
            | "hugetlbfs"
            | "autofs"
            | "binfmt_misc"
            | "nsfs"
            | "rpc_pipefs"
            | "squashfs"
            | "iso9660"
            | "efivarfs"
            | "ramfs"
    )
}

/// Deleted files still held open (`/path (deleted)` links), with their sizes. A snapshot records the
/// sizes in [`DELETED_FILE`].
fn deleted_files(r: &mut Reader, procs: &mut [ProcSample], cov: &mut Coverage) {
    let recorded: Option<HashMap<(i32, u32), u64>> = if r.root.is_live() {
        None
    } else {
        r.root.read_string(DELETED_FILE).ok().map(|t| {
            t.lines()
                .filter_map(|l| {
                    let mut w = l.split_ascii_whitespace();
                    Some((
                        (w.next()?.parse().ok()?, w.next()?.parse().ok()?),
                        w.next()?.parse().ok()?,
                    ))
                })
                .collect()
        })
    };
    let mut record = String::new();
    for p in procs.iter_mut().filter(|p| !p.kthread && !p.is_zombie()) {
        if p.fd_links.is_none() {
            match read_fd_dir(r.root, p.pid, true) {
                Ok((_, links)) => p.fd_links = links,
                Err(e) => {
                    if let Skip::Denied = classify(e) {
                        r.problems.denied("fd");
                        p.denied = true;
                    }
                    continue;
                }
            }
        }
        let mut deleted = Vec::new();
        for (fd, target) in p.fd_links.iter().flatten() {
            let Some(path) = target.strip_suffix(" (deleted)") else {
                continue;
            };
            if !path.starts_with('/') || path.starts_with("/memfd:") {
                continue;
            }
            let size = match &recorded {
                Some(map) => map.get(&(p.pid, *fd)).copied(),
                None => r
                    .root
                    .stat(&format!("/proc/{}/fd/{fd}", p.pid))
                    .ok()
                    .map(|st| st.st_size.max(0) as u64),
            };
            if let Some(size) = size {
                record.push_str(&format!("{} {fd} {size}\n", p.pid));
                deleted.push((path.to_string(), size));
            }
        }
        p.deleted = Some(deleted);
    }
    r.root.record_file(DELETED_FILE, record.as_bytes());
    cov.read_ok("/proc/[pid]/fd/*");
}

/// uid -> name from /etc/passwd (absent: names are shown as numbers).
fn read_users(root: &Root, cov: &mut Coverage) -> BTreeMap<u32, String> {
    match root.read_string("/etc/passwd") {
        Ok(text) => {
            cov.read_ok("/etc/passwd");
            text.lines()
                .filter_map(|l| {
                    let w: Vec<&str> = l.split(':').collect();
                    Some((w.get(2)?.parse().ok()?, w.first()?.to_string()))
                })
                .collect()
        }
        Err(_) => BTreeMap::new(),
    }
}

/// Native databases by comm; Java ones by their main class, which only the command line shows.
const DATABASES: &[&str] = &[
    "postgres",
    "postmaster",
    "mysqld",
    "mariadbd",
    "mongod",
    "redis-server",
];
const JAVA_DATABASES: &[(&str, &str)] = &[
    ("org.apache.cassandra", "cassandra"),
    ("kafka.Kafka", "kafka"),
    ("org.elasticsearch", "elasticsearch"),
    ("org.opensearch", "opensearch"),
];

fn database_of(root: &Root, p: &ProcSample) -> Option<String> {
    if p.kthread || p.is_zombie() {
        return None;
    }
    if DATABASES.contains(&p.comm.as_str()) {
        return Some(p.comm.clone());
    }
    if p.comm != "java" || p.state == 'D' {
        return None;
    }
    let path = format!("/proc/{}/cmdline", p.pid);
    let cmd = root.read_recorded_as(&path, crate::redact::cmdline_bytes).ok()?;
    let cmd = String::from_utf8_lossy(&cmd);
    JAVA_DATABASES
        .iter()
        .find(|(class, _)| cmd.contains(class))
        .map(|(_, name)| name.to_string())
}

fn second_pass(
    r: &mut Reader,
    prev: &ProcessSample,
    clock: &PassClock,
    cov: &mut Coverage,
    progress: &ScanProgress,
) -> ProcessSample {
    // Ticks of CPU time over the interval that make SCHEDSTAT_MIN_CORES. A directory root reads what it
    // holds: a snapshot recorded schedstat exactly for the processes that ran.
    let min_ticks = clock
        .prev_stat_read_at
        .filter(|_| r.root.is_live())
        .map(|t0| SCHEDSTAT_MIN_CORES * clock.ticks_per_second as f64 * (clock.stat_read_at - t0))
        .unwrap_or(0.0);
    let mut out = ProcessSample {
        scanned: prev.scanned,
        per_thread: prev.per_thread,
        fd_count_mode: prev.fd_count_mode,
        ..ProcessSample::default()
    };
    for old in &prev.procs {
        progress.at(format!("/proc/{}", old.pid));
        match reread(r, old, prev.per_thread, min_ticks, cov) {
            Some(p) => {
                out.denied += usize::from(p.denied);
                progress.push(p);
            }
            None => out.gone += 1,
        }
    }
    out.procs = progress.take();
    out.complete = true;
    out
}

/// What rates need, for one process of the first pass. `None` when it exited or its PID was reused.
fn reread(
    r: &mut Reader,
    old: &ProcSample,
    per_thread: PerThread,
    min_ticks: f64,
    cov: &mut Coverage,
) -> Option<ProcSample> {
    let pid = old.pid;
    let stat = r.parse(pid, "stat", |b| procfs(Stat::from_read(b))).ok()?;
    if stat.starttime != old.starttime {
        return None; // the PID was reused: a different process
    }
    let mut p = ProcSample {
        pid,
        ..ProcSample::default()
    };
    apply_stat(&mut p, &stat);
    if p.kthread || p.is_zombie() {
        if p.state == 'D' && old.state == 'D' {
            p.blocked = vec![Blocked {
                tid: pid,
                wchan: read_wchan(r.root, &format!("/proc/{pid}/wchan")),
            }];
        }
        return Some(p);
    }
    let ran = (p.utime + p.stime).saturating_sub(old.utime + old.stime) as f64 >= min_ticks;
    if ran {
        match r.parse(pid, "schedstat", |b| procfs(Schedstat::from_read(b))) {
            Ok(s) => p.schedstat = Some((s.sum_exec_runtime, s.run_delay, s.pcount)),
            // Exited since its stat was read, or (in a replay) not read by the capture: the rates
            // from stat still hold.
            Err(Skip::Gone) => {}
            Err(s) => {
                r.skipped(s, "schedstat", &mut p, cov);
            }
        }
    }
    let mut want = old.threads.as_ref().map(|t| t.read).unwrap_or_default();
    want.schedstat &= ran;
    // Single-threaded processes: their status is all of them.
    if per_thread.status && old.threads.is_none() && old.ctxt_main.is_some() {
        match r.parse(pid, "status", proc_pid::parse_status) {
            Ok(s) => apply_status(&mut p, &s),
            Err(s) => {
                if r.skipped(s, "status", &mut p, cov) {
                    return None;
                }
            }
        }
    }
    if want.any() {
        p.threads = read_threads(r, pid, want, cov);
    }
    // Tasks in D state in both samples, with their wait channel.
    let before: Vec<i32> = old.d_tids();
    if !before.is_empty() {
        let now = p.d_tids();
        p.blocked = now
            .into_iter()
            .filter(|t| before.contains(t))
            .map(|tid| Blocked {
                tid,
                wchan: read_wchan(
                    r.root,
                    &if tid == pid {
                        format!("/proc/{pid}/wchan")
                    } else {
                        format!("/proc/{pid}/task/{tid}/wchan")
                    },
                ),
            })
            .collect();
    }
    Some(p)
}

/// /proc/PID/wchan: the kernel function the task sleeps in (`0` when running). Safe for a D-state task.
fn read_wchan(root: &Root, path: &str) -> Option<String> {
    let w = root.read_string(path).ok()?;
    let w = w.trim();
    (!w.is_empty() && w != "0").then(|| w.to_string())
}

/// Command lines of the named processes, read after the rules ran; never of a task in D state (the
/// read takes its mmap lock). Secrets are redacted unless `redact` is false; a snapshot records the
/// redacted form whatever `redact` says.
pub fn read_cmdlines(root: &Root, procs: &[(i32, char)], redact: bool) -> BTreeMap<i32, String> {
    let mut out = BTreeMap::new();
    for (pid, state) in procs {
        if *state == 'D' {
            continue;
        }
        let path = format!("/proc/{pid}/cmdline");
        let Ok(bytes) = root.read_recorded_as(&path, crate::redact::cmdline_bytes) else {
            continue;
        };
        if bytes.is_empty() {
            continue;
        }
        let text = if redact {
            crate::redact::cmdline_text(&crate::redact::cmdline_bytes(&bytes))
        } else {
            crate::redact::cmdline_text(&bytes)
        };
        out.insert(*pid, text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(kernel_version("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(kernel_version("6.2-rc1"), Some((6, 2)));
        assert!(kernel_version("6.18.44").unwrap() >= (6, 2));
        assert!(kernel_version("5.15.0").unwrap() < (6, 2));
        assert_eq!(kernel_version("garbage"), None);
    }

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

    #[test]
    fn reads_the_processes_of_a_root_tree_and_skips_the_unreadable() {
        let tmp = tempfile::tempdir().unwrap();
        let proc_ = tmp.path().join("proc");
        let me = std::process::id();
        // A copy of this test process's own files, and a pid whose status is a FIFO.
        for (pid, fifo) in [(me, false), (4242, true)] {
            let d = proc_.join(pid.to_string());
            std::fs::create_dir_all(d.join("fd")).unwrap();
            for f in ["stat", "status", "limits", "schedstat", "cgroup", "oom_score"] {
                let text = std::fs::read(format!("/proc/self/{f}")).unwrap();
                if f == "status" && fifo {
                    rustix::fs::mknodat(
                        rustix::fs::CWD,
                        d.join(f),
                        rustix::fs::FileType::Fifo,
                        rustix::fs::Mode::from_raw_mode(0o600),
                        0,
                    )
                    .unwrap();
                } else {
                    std::fs::write(d.join(f), text).unwrap();
                }
            }
            std::os::unix::fs::symlink("/dev/null", d.join("fd/0")).unwrap();
            std::os::unix::fs::symlink("socket:[1]", d.join("fd/1")).unwrap();
        }
        let root = Root::dir(tmp.path()).unwrap();
        let mut cov = Coverage::default();
        let host = HostSample::default();
        let clock = PassClock {
            stat_read_at: crate::sample::monotonic_secs(),
            prev_stat_read_at: None,
            ticks_per_second: 100,
        };
        let progress = ScanProgress::default();
        let s = collect(&root, Pass::Full, &host, &clock, None, &mut cov, &progress);
        assert!(s.scanned && s.complete);
        assert_eq!(s.procs.len(), 2);
        assert_eq!(s.fd_count_mode, Some(FdCount::List));
        let p = s.procs.iter().find(|p| p.pid == me as i32).unwrap();
        assert_eq!(p.fd_count, Some(2));
        assert!(
            p.limits.is_some() && p.uid.is_some() && p.oom_score.is_some(),
            "{p:?} {cov:?}"
        );
        let fifo = cov.problem_for("/proc/4242/status").expect("FIFO listed");
        assert_eq!(fifo.kind, ProblemKind::Unreadable);
        assert!(fifo.reason.contains("FIFO"), "{fifo:?}");

        // The second pass re-reads what rates need; a changed start time is a different process.
        let mut prev = s.clone();
        prev.procs.iter_mut().find(|p| p.pid == 4242).unwrap().starttime += 1;
        let s2 = collect(
            &root,
            Pass::RatesOnly,
            &host,
            &clock,
            Some(&prev),
            &mut cov,
            &progress,
        );
        assert_eq!(s2.procs.len(), 1);
        assert_eq!(s2.gone, 1);
        assert!(s2.procs[0].schedstat.is_some());
    }

    #[test]
    fn an_empty_proc_is_zero_processes_and_a_note() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("proc")).unwrap();
        std::fs::write(tmp.path().join("proc/meminfo"), "MemTotal: 1 kB\n").unwrap();
        let root = Root::dir(tmp.path()).unwrap();
        let mut cov = Coverage::default();
        let clock = PassClock {
            stat_read_at: 0.0,
            prev_stat_read_at: None,
            ticks_per_second: 100,
        };
        let s = collect(
            &root,
            Pass::Full,
            &HostSample::default(),
            &clock,
            None,
            &mut cov,
            &ScanProgress::default(),
        );
        assert!(s.scanned);
        assert!(s.procs.is_empty());
        assert!(
            cov.notes.iter().any(|n| n.contains("no /proc/PID")),
            "{:?}",
            cov.notes
        );
    }
}
