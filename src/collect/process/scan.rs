//! The scan: the first pass (every process of /proc, then the per-thread files, listeners, deleted
//! files, users and databases it calls for), the second pass (only what rates need), and reading one
//! process's own files.

use std::collections::BTreeMap;
use std::sync::Arc;

use procfs_core::process::{Schedstat, Stat};
use procfs_core::{FromRead, ProcessCGroups};

use super::databases::database_of;
use super::deleted::{FS_FULL_TRIGGER, deleted_files};
use super::fd_table::fd_tables;
use super::fds::{count_fds, fd_count_mode, take_fd_count};
use super::listeners::listeners;
use super::live;
use super::mounts::mount_usage;
use super::reader::{Reader, Skip, classify, procfs};
use super::threads::{
    decide_per_thread, per_thread_reasons, read_threads, record_decision, scan_ctxt_rate, threads_wanted,
};
use super::types::{
    Blocked, CgroupLine, FdCount, PassClock, PerThread, ProcLimits, ProcSample, ProcessSample, ScanProgress,
};
use super::users::read_users;
use crate::collect::cgroup::FileProblem;
use crate::collect::host::HostSample;
use crate::coverage::Coverage;
use crate::parse::proc_pid;
use crate::root::Root;

/// PF_KTHREAD in include/linux/sched.h: the task is a kernel thread.
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// CPUs' worth a process must have used over the interval for the second pass to re-read its schedstat
/// (proc.runqueue_latency's guard: a process that hardly ran has no run-queue latency worth naming).
pub const SCHEDSTAT_MIN_CORES: f64 = 0.1;

pub(super) fn first_pass(
    r: &mut Reader,
    host: &HostSample,
    clock: &PassClock,
    cov: &mut Coverage,
    progress: &ScanProgress,
    only: Option<&[i32]>,
    container_threads: bool,
) -> ProcessSample {
    let mut out = ProcessSample::default();
    let mut pids: Vec<i32> = match only {
        Some(pids) => pids.to_vec(),
        None => match r.root.list_dir("/proc") {
            Ok(names) => names.iter().filter_map(|n| n.parse().ok()).collect(),
            Err(e) => {
                cov.read_failed(&e);
                return out;
            }
        },
    };
    pids.sort_unstable();
    pids.dedup();
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
        if only.is_none() {
            note_no_processes(cov);
        }
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
        None => decide_per_thread(host, rate, &procs, cpus, container_threads),
    };
    out.per_thread = per_thread;
    if only.is_none() {
        record_decision(r.root, rate, per_thread);
    }
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

    // Deleted files still open, when a filesystem is nearly full (a whole-host scan only: a few
    // processes' rules need no statvfs() of every mount).
    if only.is_none() {
        out.mounts = mount_usage(r.root, host.mountinfo.as_deref(), cov);
        if out.mounts.iter().any(|m| m.used_ratio >= FS_FULL_TRIGGER) {
            deleted_files(r, &mut procs, cov);
        }
    }

    // What the descriptors are, for the processes an fd finding will name.
    fd_tables(r, &mut procs, cov, progress, only.is_some());

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
    // Before stat: if it has not moved by the second pass, nothing in this stat has changed then.
    if r.shortcuts {
        p.cpu_ns = live::cpu_ns(pid);
    }
    let stat = match r.parse(pid, "stat", crate::parse::proc_pid::parse_stat) {
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
    if r.shortcuts
        && let Some(l) = live::limits(pid)
    {
        p.limits = Some(l);
    } else {
        read_limits(r, &mut p, cov)?;
    }
    // The main thread's schedstat is the process's run-queue wait only when it has one thread; a
    // multi-threaded process's comes from its threads' files (facts::process), so live it is not read.
    if !(r.shortcuts && p.num_threads > 1) {
        match r.parse(pid, "schedstat", |b| procfs(Schedstat::from_read(b))) {
            Ok(s) => p.schedstat = Some((s.sum_exec_runtime, s.run_delay, s.pcount)),
            Err(s) => {
                if r.skipped(s, "schedstat", &mut p, cov) {
                    return None;
                }
            }
        }
    }
    read_cgroup_oom_fds(r, p, mode, cov)
}

/// /proc/PID/limits; `None` when the process is gone.
fn read_limits(r: &mut Reader, p: &mut ProcSample, cov: &mut Coverage) -> Option<()> {
    match r.parse(p.pid, "limits", proc_pid::parse_limits) {
        Ok(l) => {
            p.limits = Some(ProcLimits {
                nofile_soft: l.nofile_soft,
                nofile_hard: l.nofile_hard,
                nproc_soft: l.nproc_soft,
            })
        }
        Err(s) => {
            if r.skipped(s, "limits", p, cov) {
                return None;
            }
        }
    }
    Some(())
}

/// The rest of the first pass's files of one process: cgroup, oom_score and the open-fd count.
fn read_cgroup_oom_fds(
    r: &mut Reader,
    mut p: ProcSample,
    mode: FdCount,
    cov: &mut Coverage,
) -> Option<ProcSample> {
    let pid = p.pid;
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
    match r.parse(pid, "stat", crate::parse::proc_pid::parse_stat) {
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
    p.processor = s.processor.and_then(|c| u32::try_from(c).ok());
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

pub(super) fn second_pass(
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
    let mut p = ProcSample {
        pid,
        ..ProcSample::default()
    };
    if ran_nothing_since(r, old) {
        // Its stat would read as in the first pass: every field the facts use moves only when a thread
        // of the process runs (CPU ticks, major faults, threads, comm, the state of a sleeping task
        // turning zombie, stopped or D). A PID reused since would not have the same clock to the ns.
        copy_stat(&mut p, old);
    } else {
        let stat = r.parse(pid, "stat", crate::parse::proc_pid::parse_stat).ok()?;
        if stat.starttime != old.starttime {
            return None; // the PID was reused: a different process
        }
        apply_stat(&mut p, &stat);
    }
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
    // As in the first pass: the main thread's schedstat is unused for a multi-threaded process.
    if ran && !(r.shortcuts && old.num_threads > 1) {
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

/// Live: whether no thread of the process ran since the first pass took its stat (its process CPU
/// clock, taken just before that stat, has not moved), for a task that was sleeping or idle then with
/// no thread in D state. Such a task's stat is not read again.
fn ran_nothing_since(r: &Reader, old: &ProcSample) -> bool {
    r.shortcuts
        && matches!(old.state, 'S' | 'I')
        && old.d_tids().is_empty()
        && old.cpu_ns.is_some()
        && live::cpu_ns(old.pid) == old.cpu_ns
}

/// The fields [`apply_stat`] sets, from the first pass.
fn copy_stat(p: &mut ProcSample, old: &ProcSample) {
    p.starttime = old.starttime;
    p.comm = old.comm.clone();
    p.state = old.state;
    p.ppid = old.ppid;
    p.kthread = old.kthread;
    p.utime = old.utime;
    p.stime = old.stime;
    p.majflt = old.majflt;
    p.num_threads = old.num_threads;
    p.rss_pages = old.rss_pages;
    p.processor = old.processor;
    p.cpu_ns = old.cpu_ns;
}

/// /proc/PID/wchan: the kernel function the task sleeps in (`0` when running). Safe for a D-state task.
fn read_wchan(root: &Root, path: &str) -> Option<String> {
    let w = root.read_string(path).ok()?;
    let w = w.trim();
    (!w.is_empty() && w != "0").then(|| w.to_string())
}
