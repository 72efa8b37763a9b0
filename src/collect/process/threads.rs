//! The per-thread policy: which /proc/PID/task/*/ files a symptom asks for (decided once after the
//! first scan from the host's context-switch rate, CPU contention and blocked tasks, recorded in
//! [`SCAN_FILE`] and replayed from it), which processes they are read for, and reading them.

use procfs_core::FromRead;
use procfs_core::process::Schedstat;

use super::reader::{Reader, Skip, procfs};
use super::types::{PassClock, PerThread, ProcSample, ThreadSched, Threads};
use crate::collect::host::HostSample;
use crate::coverage::Coverage;
use crate::parse::proc_pid;
use crate::root::Root;

/// Host context switches per second across the first scan above which per-thread status files are read.
pub const CTXT_TRIGGER_PER_SEC: f64 = 10_000.0;
/// The shortest window the trigger is measured over (the scan of a small host takes milliseconds).
pub const CTXT_WINDOW_SECS: f64 = 0.05;
/// Threads per CPU from which a process's threads are read (proc.thread_explosion).
pub const THREADS_PER_CPU_TRIGGER: u64 = 50;
/// The file the scan's decisions are recorded in (inside a sample of a snapshot).
pub const SCAN_FILE: &str = "/osdoctor/process-scan";

/// The `ctxt` line of /proc/stat.
fn ctxt_of(stat: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(stat).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("ctxt "))
        .and_then(|v| v.trim().parse().ok())
}

/// Record the scan's context-switch rate and per-thread decision in [`SCAN_FILE`] (a replay reads
/// them back in [`scan_ctxt_rate`]).
pub(super) fn record_decision(root: &Root, rate: Option<f64>, per_thread: PerThread) {
    root.record_file(
        SCAN_FILE,
        format!(
            "ctxt_rate_during_scan {}\nper_thread {}\n",
            rate.map(|r| format!("{r:.0}"))
                .unwrap_or_else(|| "unknown".into()),
            per_thread.names().join(",")
        )
        .as_bytes(),
    );
}

/// The host context-switch rate across the first scan, and the per-thread decision a snapshot
/// recorded (replayed as it was taken).
pub(super) fn scan_ctxt_rate(
    root: &Root,
    host: &HostSample,
    clock: &PassClock,
) -> (Option<f64>, Option<PerThread>) {
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
    let elapsed = crate::clock::monotonic_secs() - clock.stat_read_at;
    if root.is_live() && elapsed < CTXT_WINDOW_SECS {
        std::thread::sleep(std::time::Duration::from_secs_f64(CTXT_WINDOW_SECS - elapsed));
    }
    let Ok(bytes) = root.read_unrecorded("/proc/stat") else {
        return (None, None);
    };
    let dt = crate::clock::monotonic_secs() - clock.stat_read_at;
    let rate = ctxt_of(&bytes).and_then(|c1| crate::clock::rate(c0, c1, dt));
    (rate, None)
}

pub(super) fn decide_per_thread(
    host: &HostSample,
    ctxt_rate: Option<f64>,
    procs: &[ProcSample],
    cpus: u64,
    container_threads: bool,
) -> PerThread {
    let stat = host.stat.as_ref();
    let running = stat.and_then(|s| s.procs_running).unwrap_or(0).saturating_sub(1) as u64;
    let psi = host.psi_cpu.and_then(|p| p.some).map(|s| s.avg10).unwrap_or(0.0);
    let blocked = stat.and_then(|s| s.procs_blocked).unwrap_or(0);
    PerThread {
        status: ctxt_rate.is_some_and(|r| r >= CTXT_TRIGGER_PER_SEC),
        schedstat: psi >= 5.0 || running > cpus,
        stat: container_threads || blocked > 0 || procs.iter().any(|p| p.state == 'D'),
    }
}

/// A process whose CPU time over its life is at least this share of one CPU counts as busy.
pub const LIFETIME_BUSY: f64 = 0.01;

/// Why per-thread files were read, in words for the coverage note.
pub(super) fn per_thread_reasons(host: &HostSample, ctxt_rate: Option<f64>, p: PerThread) -> String {
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
        let blocked = host.stat.as_ref().and_then(|s| s.procs_blocked).unwrap_or(0);
        why.push(if blocked > 0 {
            format!("tasks are blocked (procs_blocked {blocked})")
        } else {
            "tasks are blocked, or a CPU-limited container's runnable threads are counted".to_string()
        });
    }
    if why.is_empty() {
        why.push(format!(">= {THREADS_PER_CPU_TRIGGER} threads per CPU"));
    }
    why.join("; ")
}

/// The per-thread files to read for one process.
pub(super) fn threads_wanted(
    p: &ProcSample,
    per_thread: PerThread,
    cpus: u64,
    uptime_ticks: Option<u64>,
) -> PerThread {
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
pub(super) fn read_threads(r: &mut Reader, pid: i32, want: PerThread, cov: &mut Coverage) -> Option<Threads> {
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
            match r.parse(
                pid,
                &format!("task/{tid}/stat"),
                crate::parse::proc_pid::parse_stat,
            ) {
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
