//! Process and user facts from one or two samples, and the host facts that name processes (zombie
//! parents, tasks in D state, top processes by CPU, context switches, major faults and swap).
//!
//! A process is identified by (pid, start time): the second pass drops a PID whose start time changed,
//! so a rate is only ever taken between two readings of the same process.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{FactSet, Subject, SubjectId, SubjectKind, Value};
use crate::clock::rate;
use crate::collect::process::{CTXT_TRIGGER_PER_SEC, ProcSample, ProcessSample};
use crate::sample::Sample;
use crate::units::format_number;

/// The facts this module derives (from the process scan).
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    // processes
    fact!("host.cpu.idle_cpus", Number, Host, rate, ["/proc/stat"], "idle CPUs' worth over the interval ((1 - busy) x CPUs)"),
    fact!("host.procs.count", Count, Host, ["/proc/[pid]/stat"], "processes read (kernel threads included)"),
    fact!("host.procs.denied", Count, Host, ["/proc/[pid]/fd"], "processes something could not be read of (permission)"),
    fact!("host.tasks.zombies", Count, Host, ["/proc/[pid]/stat"], "zombie processes (in both samples when there are two)"),
    fact!("host.zombie_parents", Text, Host, ["/proc/[pid]/stat"], "the parents that do not reap their zombies, with counts"),
    fact!("host.tasks.d_state", Count, Host, rate, ["/proc/[pid]/stat"], "tasks (threads) in D state in both samples"),
    fact!("host.d_state_tasks", Text, Host, rate, ["/proc/[pid]/stat", "/proc/[pid]/wchan"], "the tasks in D state in both samples, with their wait channel"),
    fact!("host.d_state_when", Text, Host, rate, ["/proc/[pid]/stat"], "when the D-state tasks were seen: in both samples, or at capture in a sosreport's one sample"),
    fact!("host.top_cpu_processes", Text, Host, rate, ["/proc/[pid]/stat"], "the processes using the most CPU over the interval"),
    fact!("host.top_ctxt_processes", Text, Host, rate, ["/proc/[pid]/task/[tid]/status"], "the processes switching context most (all threads), voluntary share"),
    fact!("host.top_majflt_processes", Text, Host, rate, ["/proc/[pid]/stat"], "the processes with the most major faults per second"),
    fact!("host.top_swap_processes", Text, Host, ["/proc/[pid]/status"], "the processes with the most memory in swap (VmSwap)"),
    fact!("host.fs.max_used_ratio", Ratio, Host, ["/proc/self/mountinfo"], "the fullest filesystem's used share (df-style, statvfs)"),
    fact!("host.fs.fullest_mount", Text, Host, ["/proc/self/mountinfo"], "the fullest filesystem"),
    fact!("host.databases", Text, Host, ["/proc/[pid]/stat"], "database servers running (postgres, mysqld, mariadbd, mongod, redis-server; cassandra, kafka, elasticsearch by their Java main class)"),
    fact!("host.databases.count", Count, Host, ["/proc/[pid]/stat"], "database server processes running"),
    fact!("proc.threads", Count, Process, ["/proc/[pid]/stat"], "threads of the process"),
    fact!("proc.threads_per_cpu", Number, Process, ["/proc/[pid]/stat"], "threads per CPU"),
    fact!("proc.runnable_threads", Count, Process, ["/proc/[pid]/task/[tid]/stat"], "threads in state R (the lower of both samples; read for processes with >= 50 threads per CPU or when tasks are blocked)"),
    fact!("proc.runnable_threads_per_cpu", Number, Process, ["/proc/[pid]/task/[tid]/stat"], "runnable threads per CPU"),
    fact!("proc.cpu.cores", Number, Process, rate, ["/proc/[pid]/stat"], "CPUs' worth used over the interval, all threads (1.0 = one CPU fully)"),
    fact!("proc.majflt_rate", PerSecond, Process, rate, ["/proc/[pid]/stat"], "major page faults per second, all threads"),
    fact!("proc.swap_bytes", Bytes, Process, ["/proc/[pid]/status"], "memory of the process in swap (VmSwap)"),
    fact!("proc.oom_score", Number, Process, ["/proc/[pid]/oom_score"], "the OOM killer's badness score (0-2000)"),
    fact!("proc.ctxt_rate", PerSecond, Process, rate, ["/proc/[pid]/task/[tid]/status"], "context switches per second, all threads"),
    fact!("proc.voluntary_ctxt_rate", PerSecond, Process, rate, ["/proc/[pid]/task/[tid]/status"], "voluntary context switches per second (the thread blocked), all threads"),
    fact!("proc.nonvoluntary_ctxt_rate", PerSecond, Process, rate, ["/proc/[pid]/task/[tid]/status"], "involuntary context switches per second (the thread was preempted), all threads"),
    fact!("proc.ctxt_voluntary_share", Ratio, Process, rate, ["/proc/[pid]/task/[tid]/status"], "voluntary share of the context switches"),
    fact!("proc.ctxt_kind", Text, Process, rate, ["/proc/[pid]/task/[tid]/status"], "whether the switches are mostly voluntary or involuntary, and what that means"),
    fact!("proc.runqueue_wait_ratio", Ratio, Process, rate, ["/proc/[pid]/task/[tid]/schedstat"], "share of the interval its threads that ran spent waiting on a run queue (schedstat run_delay, averaged over those threads)"),
    fact!("proc.fd.open", Count, Process, ["/proc/[pid]/fd"], "open file descriptors"),
    fact!("proc.rss_bytes", Bytes, Process, ["/proc/[pid]/status"], "resident memory (VmRSS)"),
    // Shares of the host's totals, for causal links ("this process makes most of the host's switches").
    fact!("proc.ctxt_share_of_host", Ratio, Process, rate, ["/proc/[pid]/task/[tid]/status", "/proc/stat"], "its context switches / the host's (proc.ctxt_rate / host.cpu.ctxt_rate)"),
    fact!("proc.cpu_share_of_busy", Ratio, Process, rate, ["/proc/[pid]/stat", "/proc/stat"], "its CPU time / the host's busy CPU time over the interval"),
    fact!("proc.fd_share_of_host", Ratio, Process, ["/proc/[pid]/fd", "/proc/sys/fs/file-nr"], "its open fds / the host's allocated file handles"),
    fact!("proc.fd_share_of_file_max", Ratio, Process, ["/proc/[pid]/fd", "/proc/sys/fs/file-nr"], "its open fds / fs.file-max"),
    fact!("proc.tasks_share_of_host", Ratio, Process, ["/proc/[pid]/stat", "/proc/loadavg"], "its threads / the host's tasks"),
    fact!("host.cpu.top_share_of_busy", Ratio, Host, rate, ["/proc/[pid]/stat", "/proc/stat"], "the busy CPU time of the top CPU consumers (host.top_cpu_processes) / the host's"),
    fact!("proc.fd.limit_soft", Count, Process, ["/proc/[pid]/limits"], "soft RLIMIT_NOFILE (ulimit -n)"),
    fact!("proc.fd.used_ratio", Ratio, Process, ["/proc/[pid]/fd", "/proc/[pid]/limits"], "open fds / soft RLIMIT_NOFILE"),
    fact!("proc.fd.capacity_ratio", Ratio, Process, ["/proc/[pid]/status", "/proc/[pid]/limits"], "FDSize (the fd table's capacity, >= the open count) / soft RLIMIT_NOFILE"),
    fact!("proc.listen_sockets", Count, Process, ["/proc/[pid]/fd", "/proc/net/tcp"], "listening TCP sockets it holds (read for processes whose soft RLIMIT_NOFILE <= 1024)"),
    fact!("proc.listen_ports", Text, Process, ["/proc/[pid]/fd", "/proc/net/tcp"], "the TCP ports it listens on"),
    fact!("proc.fd.breakdown", Text, Process, ["/proc/[pid]/fd", "/proc/[pid]/net/tcp"], "what its fds are, in one line (read for processes near their fd limit or holding CLOSE_WAIT sockets)"),
    fact!("proc.fd.tcp", Count, Process, ["/proc/[pid]/fd", "/proc/[pid]/net/tcp"], "TCP sockets among its fds"),
    fact!("proc.fd.tcp_close_wait", Count, Process, ["/proc/[pid]/fd", "/proc/[pid]/net/tcp"], "TCP sockets in CLOSE_WAIT among its fds (the peer closed, it did not): counted where its fd links were read, else an upper bound below 40 (fewer fds, or fewer CLOSE_WAIT sockets in its network namespace)"),
    fact!("proc.fd.close_wait_peers", Text, Process, ["/proc/[pid]/fd", "/proc/[pid]/net/tcp"], "the remote endpoints of its CLOSE_WAIT sockets, most first"),
    fact!("proc.fd.other_sockets", Count, Process, ["/proc/[pid]/fd"], "sockets not in the TCP tables (UDP, unix, netlink)"),
    fact!("proc.fd.files", Count, Process, ["/proc/[pid]/fd"], "regular files among its fds"),
    fact!("proc.fd.top_files", Text, Process, ["/proc/[pid]/fd"], "the paths it holds most often (redacted)"),
    fact!("proc.fd.deleted", Count, Process, ["/proc/[pid]/fd"], "deleted files among its fds"),
    fact!("proc.fd.pipes", Count, Process, ["/proc/[pid]/fd"], "pipes among its fds"),
    fact!("proc.fd.anon_inodes", Count, Process, ["/proc/[pid]/fd"], "anon inodes among its fds (eventfd, epoll, timerfd, inotify, signalfd, ...)"),
    fact!("proc.fd.other", Count, Process, ["/proc/[pid]/fd"], "fds of no class above (namespaces, bpf objects, ...): with the other classes, they sum to the table's count"),
    fact!("proc.fd.deleted_bytes", Bytes, Process, ["/proc/[pid]/fd"], "size of deleted files it still holds open (read when a filesystem is >= 90% full)"),
    fact!("proc.fd.deleted_files", Count, Process, ["/proc/[pid]/fd"], "deleted files it still holds open"),
    fact!("proc.fd.deleted_paths", Text, Process, ["/proc/[pid]/fd"], "the largest deleted files it holds open"),
    fact!("proc.pidns_depth", Count, Process, ["/proc/[pid]/status"], "PID namespace levels (NSpid entries): 1 on the host, 2 or more in a container"),
    fact!("proc.cap_eff_full", Number, Process, ["/proc/[pid]/status", "/proc/sys/kernel/cap_last_cap"], "1 when CapEff holds every capability the kernel knows"),
    fact!("user.tasks", Count, User, ["/proc/[pid]/stat", "/proc/[pid]/status"], "tasks (threads) of the processes whose real uid is this user"),
    fact!("user.processes", Count, User, ["/proc/[pid]/status"], "processes of this user"),
    fact!("user.nproc_soft", Count, User, ["/proc/[pid]/limits"], "the lowest soft RLIMIT_NPROC among the user's processes (ulimit -u)"),
    fact!("user.nproc_used_ratio", Ratio, User, ["/proc/[pid]/limits"], "user.tasks / user.nproc_soft"),
    fact!("user.top_processes", Text, User, ["/proc/[pid]/stat"], "the user's processes with the most threads"),
];

/// How many processes a `host.top_*` text fact names.
pub const TOP_N: usize = 3;

/// Subjects derived from the processes.
#[derive(Debug, Default)]
pub struct Derived {
    pub processes: Vec<Subject>,
    pub users: Vec<Subject>,
}

/// `pid 123 (comm, user alice, cgroup /system.slice/x.service)`.
pub fn describe(p: &ProcSample, s: &ProcessSample) -> String {
    let mut out = format!("pid {} ({}", p.pid, p.comm);
    if let Some(uid) = p.uid {
        out.push_str(&format!(", user {}", s.user_name(uid)));
    }
    if let Some(cg) = p.cgroup_path() {
        out.push_str(&format!(", cgroup {cg}"));
    }
    out.push(')');
    out
}

/// Why per-process facts that need a scan are absent on the host.
fn absent_all(host: &mut FactSet, why: &str) {
    for name in [
        "host.procs.count",
        "host.tasks.zombies",
        "host.zombie_parents",
        "host.tasks.d_state",
        "host.d_state_tasks",
        "host.d_state_when",
        "host.top_cpu_processes",
        "host.top_ctxt_processes",
        "host.top_majflt_processes",
        "host.top_swap_processes",
        "host.databases",
        "host.databases.count",
        "host.fs.max_used_ratio",
        "host.fs.fullest_mount",
    ] {
        host.absent(name, why);
    }
}

/// Derive the process facts; add the host facts that come from processes to `host`. `None` when no
/// process was read (the subjects kinds are then left out, so process rules are "not evaluated").
pub fn derive(
    first: &Sample,
    second: Option<&Sample>,
    ticks_per_second: u64,
    host: &mut FactSet,
    focus: &[i32],
) -> Option<Derived> {
    let s1 = &first.processes;
    if !s1.scanned || s1.procs.is_empty() {
        absent_all(
            host,
            if s1.scanned {
                "no /proc/PID directories were read (a snapshot made before per-process collection?)"
            } else {
                "/proc could not be listed"
            },
        );
        return None;
    }
    let cpus = host.get_f64("host.cpus").unwrap_or(1.0).max(1.0);
    let s2 = second.map(|s| &s.processes).filter(|s| s.scanned);
    let dt = second.map(|s| s.mono_secs - first.mono_secs).filter(|d| *d > 0.0);
    let later: HashMap<i32, &ProcSample> = s2
        .map(|s| s.procs.iter().map(|p| (p.pid, p)).collect())
        .unwrap_or_default();

    host.num("host.procs.count", s1.procs.len() as f64);
    host.num("host.procs.denied", s1.denied as f64);
    mounts(host, s1);
    zombies(host, s1, s2.map(|_| &later));
    blocked(host, s1, s2, &later);
    // A sosreport's ps listing: one sample, and only what ps shows of each process.
    let listed: Option<Arc<str>> = s1.listing.as_deref().map(|l| super::listing::reason(l).into());
    if s2.is_none()
        && let Some(l) = &s1.listing
    {
        super::listing::d_state_at_capture(host, s1, l);
    }
    databases(host, s1);
    if let Some(busy) = host.get_f64("host.cpu.busy_ratio") {
        host.num("host.cpu.idle_cpus", (1.0 - busy) * cpus);
    }

    let reasons = Reasons::new(s1);
    let mut derived = Derived::default();
    let mut tops: Tops = Tops::default();
    for p1 in &s1.procs {
        if p1.kthread || p1.is_zombie() {
            continue;
        }
        let p2 = later
            .get(&p1.pid)
            .copied()
            .filter(|p| p.starttime == p1.starttime);
        let mut facts = process_facts(p1, p2, s1, dt, cpus, ticks_per_second, &reasons, &mut tops);
        if let Some(why) = &listed {
            super::listing::fill_reasons(&mut facts, SubjectKind::Process, why);
        }
        if !focus.is_empty() && !focus.contains(&p1.pid) {
            continue;
        }
        let latest = p2.unwrap_or(p1);
        let identity = p1.container_identity();
        derived.processes.push(Subject {
            id: SubjectId {
                kind: SubjectKind::Process,
                pid: Some(p1.pid),
                start_time: Some(p1.starttime),
                comm: Some(latest.comm.clone()),
                user: p1.uid.map(|u| s1.user_name(u)),
                cgroup: p1.cgroup_path(),
                cgroups: p1.cgroup_paths(),
                pod_uid: identity.as_ref().and_then(|i| i.pod_uid.clone()),
                container_id: identity.and_then(|i| i.container_id),
                ..SubjectId::default()
            },
            facts,
        });
    }
    tops.publish(host, s1, dt.is_some());
    shares_of_host(&mut derived.processes, host);
    derived.users = users(s1);
    if let Some(why) = &listed {
        for u in &mut derived.users {
            super::listing::fill_reasons(&mut u.facts, SubjectKind::User, why);
        }
    }
    Some(derived)
}

/// Why facts are absent, shared by every process (thousands of copies of the same sentence otherwise).
struct Reasons {
    ctxt: Arc<str>,
    did_not_run: Arc<str>,
    no_sched: Arc<str>,
    unlimited: Arc<str>,
    fd_denied: Arc<str>,
    fd_not_counted: Arc<str>,
    no_swap_line: Arc<str>,
}

impl Reasons {
    fn new(s1: &ProcessSample) -> Reasons {
        Reasons {
            ctxt: format!(
                "per-thread context switches were not read (/proc/PID/status counts the main thread only; they are \
                 read when the host switches >= {}/s during the first scan, it switched {})",
                format_number(CTXT_TRIGGER_PER_SEC),
                s1.scan_ctxt_rate
                    .map(|r| format!("{}/s", format_number(r)))
                    .unwrap_or_else(|| "an unknown number of times".into())
            )
            .into(),
            did_not_run: "it did not run during the interval".into(),
            no_sched: "its run-queue wait was not read: it used less than 0.1 CPU, or its threads' schedstat was \
                       not read (/proc/PID/schedstat is the main thread's; threads are read when CPUs are contended)"
                .into(),
            unlimited: "RLIMIT_NOFILE is unlimited".into(),
            fd_denied: "permission denied reading /proc/PID/fd".into(),
            fd_not_counted: "not counted: FDSize (the fd table's capacity) is below 75% of the soft limit".into(),
            no_swap_line: "no VmSwap line in /proc/PID/status".into(),
        }
    }
}

#[derive(Default)]
struct Tops<'a> {
    cpu: Vec<(f64, &'a ProcSample, String)>,
    ctxt: Vec<(f64, &'a ProcSample, String)>,
    majflt: Vec<(f64, &'a ProcSample, String)>,
    swap: Vec<(f64, &'a ProcSample, String)>,
    ctxt_missing: bool,
}

impl<'a> Tops<'a> {
    fn publish(mut self, host: &mut FactSet, s: &ProcessSample, two: bool) {
        if two && let Some(busy) = busy_cores(host) {
            self.cpu.sort_by(|a, b| b.0.total_cmp(&a.0));
            let top: f64 = self.cpu.iter().take(TOP_N).map(|t| t.0).sum();
            host.num("host.cpu.top_share_of_busy", (top / busy).min(1.0));
        }
        let text = |list: &mut Vec<(f64, &ProcSample, String)>| -> Option<String> {
            list.sort_by(|a, b| b.0.total_cmp(&a.0));
            // Name the processes that matter: not those with a hundredth of the top one's value.
            let floor = list.first().map(|t| t.0 / 100.0).unwrap_or(0.0);
            let parts: Vec<String> = list
                .iter()
                .filter(|(v, _, _)| *v > 0.0 && *v >= floor)
                .take(TOP_N)
                .map(|(_, p, what)| format!("{} {what}", describe(p, s)))
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        };
        let none = "none".to_string();
        if two {
            host.text(
                "host.top_cpu_processes",
                text(&mut self.cpu).unwrap_or(none.clone()),
            );
            host.text(
                "host.top_majflt_processes",
                text(&mut self.majflt).unwrap_or(none.clone()),
            );
            match text(&mut self.ctxt) {
                Some(t) => host.text("host.top_ctxt_processes", t),
                None if self.ctxt_missing => {
                    let rate = s
                        .scan_ctxt_rate
                        .map(|r| format!("{}/s", format_number(r)))
                        .unwrap_or_else(|| "unknown".into());
                    host.absent(
                        "host.top_ctxt_processes",
                        format!(
                            "per-thread context switches were not read: the host switched {rate} during the first \
                             scan, below the {}/s that triggers them",
                            format_number(CTXT_TRIGGER_PER_SEC)
                        ),
                    );
                }
                None => host.text("host.top_ctxt_processes", none.clone()),
            }
        }
        host.text("host.top_swap_processes", text(&mut self.swap).unwrap_or(none));
    }
}

/// CPUs' worth the host was busy over the interval; `None` when idle or unknown.
fn busy_cores(host: &FactSet) -> Option<f64> {
    let busy = host.get_f64("host.cpu.busy_ratio")? * host.get_f64("host.cpus")?;
    (busy > 0.0).then_some(busy)
}

/// Each process's share of the host's switches, busy CPU time, file handles and tasks.
fn shares_of_host(processes: &mut [Subject], host: &FactSet) {
    let busy = busy_cores(host);
    let of = |part: Option<f64>, whole: Option<f64>| match (part, whole) {
        (Some(p), Some(w)) if w > 0.0 => Some((p / w).min(1.0)),
        _ => None,
    };
    for s in processes {
        let f = &mut s.facts;
        let ctxt = of(f.get_f64("proc.ctxt_rate"), host.get_f64("host.cpu.ctxt_rate"));
        let cpu = of(f.get_f64("proc.cpu.cores"), busy);
        let fds = of(f.get_f64("proc.fd.open"), host.get_f64("host.fd.allocated"));
        let fds_of_max = of(f.get_f64("proc.fd.open"), host.get_f64("host.fd.max"));
        let tasks = of(f.get_f64("proc.threads"), host.get_f64("host.tasks.count"));
        f.opt("proc.ctxt_share_of_host", ctxt);
        f.opt("proc.cpu_share_of_busy", cpu);
        f.opt("proc.fd_share_of_host", fds);
        f.opt("proc.fd_share_of_file_max", fds_of_max);
        f.opt("proc.tasks_share_of_host", tasks);
    }
}

/// The facts of one process (not a kernel thread, not a zombie).
#[allow(clippy::too_many_arguments)]
fn process_facts<'a>(
    p1: &'a ProcSample,
    p2: Option<&'a ProcSample>,
    s1: &ProcessSample,
    dt: Option<f64>,
    cpus: f64,
    ticks_per_second: u64,
    reasons: &Reasons,
    tops: &mut Tops<'a>,
) -> FactSet {
    let mut f = FactSet::default();
    let latest = p2.unwrap_or(p1);
    f.num("proc.threads", latest.num_threads as f64);
    f.num("proc.threads_per_cpu", latest.num_threads as f64 / cpus);
    if let Some(kb) = latest.vmrss_kb {
        f.num("proc.rss_bytes", kb as f64 * 1024.0);
    }
    if let Some(o) = p1.oom_score {
        f.num("proc.oom_score", o as f64);
    }
    match p1.swap_kb {
        Some(kb) => {
            let bytes = kb as f64 * 1024.0;
            f.num("proc.swap_bytes", bytes);
            tops.swap
                .push((bytes, p1, crate::units::format_bytes(bytes) + " swapped"));
        }
        None => f.absent("proc.swap_bytes", reasons.no_swap_line.clone()),
    }

    // File descriptors.
    let soft = p1.limits.map(|l| l.nofile_soft);
    match soft {
        Some(Some(soft)) => {
            f.num("proc.fd.limit_soft", soft as f64);
            if let Some(size) = p1.fdsize
                && soft > 0
            {
                f.num("proc.fd.capacity_ratio", size as f64 / soft as f64);
            }
            if let Some(n) = p1.fd_count
                && soft > 0
            {
                f.num("proc.fd.used_ratio", n as f64 / soft as f64);
            }
        }
        Some(None) => {
            f.absent("proc.fd.limit_soft", reasons.unlimited.clone());
            f.absent("proc.fd.used_ratio", reasons.unlimited.clone());
            f.absent("proc.fd.capacity_ratio", reasons.unlimited.clone());
        }
        None => {}
    }
    match p1.fd_count {
        Some(n) => f.num("proc.fd.open", n as f64),
        None if p1.denied => {
            f.absent("proc.fd.open", reasons.fd_denied.clone());
            f.absent("proc.fd.used_ratio", reasons.fd_denied.clone());
        }
        None => {
            f.absent("proc.fd.open", reasons.fd_not_counted.clone());
            f.absent("proc.fd.used_ratio", reasons.fd_not_counted.clone());
        }
    }
    if let Some(ports) = &p1.listen_ports {
        f.num("proc.listen_sockets", ports.len() as f64);
        if !ports.is_empty() {
            let list: Vec<String> = ports.iter().map(u16::to_string).collect();
            f.text("proc.listen_ports", list.join(", "));
        }
    }
    // Counted from the table; else the survey's count or bound (below net.close_wait_leak's clear level).
    if let Some(n) = p1
        .fd_table
        .as_ref()
        .filter(|t| t.tcp_read)
        .map(|t| t.close_wait())
        .or(p1.close_wait_at_most)
    {
        f.num("proc.fd.tcp_close_wait", n as f64);
    }
    if let Some(t) = &p1.fd_table {
        for (name, value) in fd_table_facts(t) {
            match value {
                Value::Num(n) => f.num(name, n),
                Value::Text(text) => f.text(name, text),
            }
        }
    }
    if let Some(deleted) = &p1.deleted {
        let bytes: u64 = deleted.iter().map(|(_, b)| *b).fold(0, u64::saturating_add);
        f.num("proc.fd.deleted_bytes", bytes as f64);
        f.num("proc.fd.deleted_files", deleted.len() as f64);
        if !deleted.is_empty() {
            let mut by_size = deleted.clone();
            by_size.sort_by_key(|d| std::cmp::Reverse(d.1));
            let list: Vec<String> = by_size
                .iter()
                .take(3)
                .map(|(p, b)| format!("{p} ({})", crate::units::format_bytes(*b as f64)))
                .collect();
            f.text("proc.fd.deleted_paths", list.join(", "));
        }
    }

    // Containers and capabilities.
    if let Some(depth) = p1.pidns_depth {
        f.num("proc.pidns_depth", depth as f64);
    }
    if let (Some(eff), Some(last)) = (p1.cap_eff, s1.cap_last_cap) {
        let full = if last >= 63 {
            u64::MAX
        } else {
            (1u64 << (last + 1)) - 1
        };
        f.num("proc.cap_eff_full", f64::from(u8::from(eff & full == full)));
    }

    // Runnable threads (per-thread stat, both samples: the lower count, as for procs_running).
    let runnable = |p: &ProcSample| {
        p.threads
            .as_ref()
            .filter(|t| !t.states.is_empty())
            .map(|t| t.states.iter().filter(|(_, s)| *s == 'R').count())
    };
    if let Some(r) = [Some(p1), p2].into_iter().flatten().filter_map(runnable).min() {
        f.num("proc.runnable_threads", r as f64);
        f.num("proc.runnable_threads_per_cpu", r as f64 / cpus);
    }

    let (Some(p2), Some(dt)) = (p2, dt) else {
        return f;
    };
    // CPU: utime and stime in /proc/PID/stat are summed over the threads.
    if let Some(ticks) = rate(p1.utime + p1.stime, p2.utime + p2.stime, dt) {
        let cores = ticks / ticks_per_second.max(1) as f64;
        f.num("proc.cpu.cores", cores);
        tops.cpu
            .push((cores, p1, format!("{:.0}% of a CPU", cores * 100.0)));
    }
    if let Some(m) = rate(p1.majflt, p2.majflt, dt) {
        f.num("proc.majflt_rate", m);
        tops.majflt
            .push((m, p1, format!("{} major faults/s", format_number(m))));
    }

    // Context switches of all threads.
    let counters = |p: &ProcSample, multi: bool| -> Option<(u64, u64)> {
        match &p.threads {
            Some(t) if t.read.status => t.ctxt,
            _ if !multi => p.ctxt_main,
            _ => None,
        }
    };
    let multi = p1.num_threads > 1 || p2.num_threads > 1;
    match (counters(p1, multi), counters(p2, multi)) {
        (Some(a), Some(b)) => {
            if let (Some(v), Some(n)) = (rate(a.0, b.0, dt), rate(a.1, b.1, dt)) {
                let total = v + n;
                f.num("proc.ctxt_rate", total);
                f.num("proc.voluntary_ctxt_rate", v);
                f.num("proc.nonvoluntary_ctxt_rate", n);
                if total > 0.0 {
                    f.num("proc.ctxt_voluntary_share", v / total);
                    let kind = if v >= n {
                        "mostly voluntary: threads block and wake each other (lock contention, tiny reads and writes, ping-pong over pipes or futexes)"
                    } else {
                        "mostly involuntary: threads are preempted because more of them are runnable than there are CPUs"
                    };
                    f.text("proc.ctxt_kind", kind);
                    tops.ctxt.push((
                        total,
                        p1,
                        format!("{}/s ({:.0}% voluntary)", format_number(total), 100.0 * v / total),
                    ));
                }
            }
        }
        _ => {
            tops.ctxt_missing = true;
            let why = reasons.ctxt.clone();
            for n in [
                "proc.ctxt_rate",
                "proc.voluntary_ctxt_rate",
                "proc.nonvoluntary_ctxt_rate",
                "proc.ctxt_voluntary_share",
                "proc.ctxt_kind",
            ] {
                f.absent(n, why.clone());
            }
        }
    }

    // Run-queue wait, averaged over the threads that ran.
    fn sched(p: &ProcSample) -> Option<&Vec<crate::collect::process::ThreadSched>> {
        p.threads.as_ref().filter(|t| t.read.schedstat).map(|t| &t.sched)
    }
    let wait = match (sched(p1), sched(p2)) {
        (Some(a), Some(b)) => {
            let before: HashMap<i32, (u64, u64)> =
                a.iter().map(|t| (t.tid, (t.exec_ns, t.delay_ns))).collect();
            let mut ran = 0usize;
            let mut delay = 0u64;
            for t in b {
                if let Some((e0, d0)) = before.get(&t.tid)
                    && t.exec_ns > *e0
                {
                    ran += 1;
                    delay += t.delay_ns.saturating_sub(*d0);
                }
            }
            Some((ran, delay))
        }
        _ if !multi => match (p1.schedstat, p2.schedstat) {
            (Some(a), Some(b)) => Some((usize::from(b.0 > a.0), b.1.saturating_sub(a.1))),
            _ => None,
        },
        _ => None,
    };
    match wait {
        Some((ran, delay)) if ran > 0 => {
            f.num("proc.runqueue_wait_ratio", delay as f64 / 1e9 / dt / ran as f64);
        }
        Some(_) => f.absent("proc.runqueue_wait_ratio", reasons.did_not_run.clone()),
        None => f.absent("proc.runqueue_wait_ratio", reasons.no_sched.clone()),
    }
    f
}

/// Mount capacity (the trigger of fd.deleted_open).
fn mounts(host: &mut FactSet, s: &ProcessSample) {
    match s
        .mounts
        .iter()
        .max_by(|a, b| a.used_ratio.total_cmp(&b.used_ratio))
    {
        Some(m) => {
            host.num("host.fs.max_used_ratio", m.used_ratio);
            host.text(
                "host.fs.fullest_mount",
                format!(
                    "{} ({}, {:.0}% of {} used)",
                    m.mount_point,
                    m.fstype,
                    m.used_ratio * 100.0,
                    crate::units::format_bytes(m.size_bytes as f64)
                ),
            );
        }
        None => {
            host.absent(
                "host.fs.max_used_ratio",
                "no filesystem capacity was read (mountinfo and statvfs)",
            );
        }
    }
}

/// Zombies (in both samples when there are two: a zombie its parent is about to reap is not a leak),
/// grouped by parent.
fn zombies(host: &mut FactSet, s1: &ProcessSample, later: Option<&HashMap<i32, &ProcSample>>) {
    let zs: Vec<&ProcSample> = s1
        .procs
        .iter()
        .filter(|p| p.is_zombie())
        .filter(|p| match later {
            Some(l) => l
                .get(&p.pid)
                .is_some_and(|q| q.is_zombie() && q.starttime == p.starttime),
            None => true,
        })
        .collect();
    host.num("host.tasks.zombies", zs.len() as f64);
    let mut by_parent: BTreeMap<i32, usize> = BTreeMap::new();
    for z in &zs {
        *by_parent.entry(z.ppid).or_default() += 1;
    }
    let mut parents: Vec<(i32, usize)> = by_parent.into_iter().collect();
    parents.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let parts: Vec<String> = parents
        .iter()
        .take(5)
        .map(|(ppid, n)| {
            let who = s1
                .procs
                .iter()
                .find(|p| p.pid == *ppid)
                .map(|p| describe(p, s1))
                .unwrap_or_else(|| format!("pid {ppid}"));
            format!(
                "{who} has {n} unreaped zombie child{}",
                if *n == 1 { "" } else { "ren" }
            )
        })
        .collect();
    host.text(
        "host.zombie_parents",
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join("; ")
        },
    );
}

/// Tasks in D state in both samples, with their wait channels.
fn blocked(
    host: &mut FactSet,
    s1: &ProcessSample,
    s2: Option<&ProcessSample>,
    later: &HashMap<i32, &ProcSample>,
) {
    let Some(_) = s2 else {
        return; // a rate-like fact: needs two samples
    };
    let mut n = 0usize;
    let mut parts = Vec::new();
    for p1 in &s1.procs {
        let Some(p2) = later.get(&p1.pid) else { continue };
        for b in &p2.blocked {
            n += 1;
            if parts.len() < 10 {
                let mut who = describe(p1, s1);
                if b.tid != p1.pid {
                    who.push_str(&format!(" thread {}", b.tid));
                }
                parts.push(format!("{who} in {}", b.wchan.as_deref().unwrap_or("?")));
            }
        }
    }
    host.num("host.tasks.d_state", n as f64);
    host.text("host.d_state_when", "in both samples");
    host.text(
        "host.d_state_tasks",
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join("; ")
        },
    );
}

fn databases(host: &mut FactSet, s: &ProcessSample) {
    let dbs: Vec<String> = s
        .procs
        .iter()
        .filter_map(|p| p.database.as_ref().map(|db| format!("{db} (pid {})", p.pid)))
        .collect();
    host.num("host.databases.count", dbs.len() as f64);
    host.text(
        "host.databases",
        if dbs.is_empty() {
            "none".to_string()
        } else {
            dbs.into_iter().take(5).collect::<Vec<_>>().join(", ")
        },
    );
}

/// Tasks per user against the lowest soft RLIMIT_NPROC among the user's processes. Root is exempt:
/// the kernel does not apply RLIMIT_NPROC to uid 0 (or to CAP_SYS_ADMIN/CAP_SYS_RESOURCE holders).
fn users(s: &ProcessSample) -> Vec<Subject> {
    let mut by_uid: BTreeMap<u32, Vec<&ProcSample>> = BTreeMap::new();
    for p in s.procs.iter().filter(|p| !p.kthread) {
        if let Some(uid) = p.uid.filter(|u| *u != 0) {
            by_uid.entry(uid).or_default().push(p);
        }
    }
    by_uid
        .into_iter()
        .map(|(uid, procs)| {
            let mut f = FactSet::default();
            let tasks: u64 = procs
                .iter()
                .map(|p| p.num_threads.max(1))
                .fold(0, u64::saturating_add);
            f.num("user.tasks", tasks as f64);
            f.num("user.processes", procs.len() as f64);
            let soft = procs
                .iter()
                .filter_map(|p| p.limits.and_then(|l| l.nproc_soft))
                .min();
            match soft {
                Some(limit) if limit > 0 => {
                    f.num("user.nproc_soft", limit as f64);
                    f.num("user.nproc_used_ratio", tasks as f64 / limit as f64);
                }
                _ => f.absent(
                    "user.nproc_used_ratio",
                    "RLIMIT_NPROC is unlimited for this user's processes",
                ),
            }
            let mut top = procs.clone();
            top.sort_by_key(|p| std::cmp::Reverse(p.num_threads));
            let list: Vec<String> = top
                .iter()
                .take(TOP_N)
                .map(|p| format!("{} {} threads", describe(p, s), p.num_threads))
                .collect();
            f.text("user.top_processes", list.join("; "));
            Subject {
                id: SubjectId {
                    kind: SubjectKind::User,
                    user: Some(s.user_name(uid)),
                    ..SubjectId::default()
                },
                facts: f,
            }
        })
        .collect()
}

/// The facts of a classified fd table: the one-line breakdown and the counts per class (the near-limit
/// pass's, and the tables read after the rules for fd findings whose table the scan did not read).
pub fn fd_table_facts(t: &crate::parse::fd_table::FdTable) -> Vec<(&'static str, Value)> {
    let num = |n: u64| Value::Num(n as f64);
    let mut out = vec![
        ("proc.fd.breakdown", Value::Text(t.breakdown())),
        ("proc.fd.other_sockets", num(t.other_sockets)),
        ("proc.fd.files", num(t.files)),
        ("proc.fd.deleted", num(t.deleted)),
        ("proc.fd.pipes", num(t.pipes)),
        ("proc.fd.anon_inodes", num(t.anon_total())),
        ("proc.fd.other", num(t.other)),
    ];
    // Without the TCP tables, TCP sockets are among the other sockets: no TCP count is given.
    if t.tcp_read {
        out.push(("proc.fd.tcp", num(t.tcp_total())));
    }
    if !t.close_wait_peers.is_empty() {
        out.push(("proc.fd.close_wait_peers", Value::Text(t.close_wait_peers_text())));
    }
    if !t.top_files.is_empty() {
        let list: Vec<String> = t.top_files.iter().map(|(p, n)| format!("{p} ({n})")).collect();
        out.push(("proc.fd.top_files", Value::Text(list.join(", "))));
    }
    out
}
