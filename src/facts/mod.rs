//! Facts: the flat, named view of samples and rates that rules read.
//!
//! Every name a rule may use is in [`CATALOG`], with its unit, the files it comes from and whether it
//! needs two samples. A rule naming anything else does not load. A fact that could not be computed on
//! this host is absent, and [`Facts::why_missing`] says why (the file that could not be read, one sample
//! only, a feature this kernel lacks), so the rule is reported as not evaluated rather than guessed.

pub mod cgroup;
pub mod derive;
pub mod host;
pub mod kernel;
pub mod process;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::coverage::Coverage;
use crate::units::Unit;

/// The catalogue entry of one fact.
#[derive(Debug, Clone, Copy)]
pub struct FactDef {
    pub name: &'static str,
    pub unit: Unit,
    /// The subject kind whose facts carry it (`host`, `process`, `cgroup`, ...).
    pub subject: SubjectKind,
    /// Needs two samples (a rate or a delta over the interval).
    pub rate: bool,
    /// Files it is computed from, to explain a missing value.
    pub sources: &'static [&'static str],
    pub help: &'static str,
}

macro_rules! fact {
    ($name:literal, $unit:ident, $subject:ident, rate, [$($src:literal),*], $help:literal) => {
        FactDef { name: $name, unit: Unit::$unit, subject: SubjectKind::$subject, rate: true, sources: &[$($src),*], help: $help }
    };
    ($name:literal, $unit:ident, $subject:ident, [$($src:literal),*], $help:literal) => {
        FactDef { name: $name, unit: Unit::$unit, subject: SubjectKind::$subject, rate: false, sources: &[$($src),*], help: $help }
    };
}

/// Every fact rules may name.
#[rustfmt::skip]
pub static CATALOG: &[FactDef] = &[
    // CPU and scheduling
    fact!("host.cpus", Count, Host, ["/proc/stat"], "online CPUs (cpuN lines in /proc/stat)"),
    fact!("host.cpu.busy_ratio", Ratio, Host, rate, ["/proc/stat"], "share of all CPU time busy over the interval: user+nice+system+irq+softirq+steal"),
    fact!("host.cpu.user_ratio", Ratio, Host, rate, ["/proc/stat"], "share of CPU time in user mode (user+nice)"),
    fact!("host.cpu.system_ratio", Ratio, Host, rate, ["/proc/stat"], "share of CPU time in the kernel (system+irq+softirq)"),
    fact!("host.cpu.iowait_ratio", Ratio, Host, rate, ["/proc/stat"], "share of CPU time idle while I/O was outstanding"),
    fact!("host.cpu.steal_ratio", Ratio, Host, rate, ["/proc/stat"], "share of CPU time the hypervisor gave to others"),
    fact!("host.cpu.procs_running", Count, Host, ["/proc/stat"], "runnable tasks, the lower of both samples, not counting osdoctor itself"),
    fact!("host.cpu.runnable_per_cpu", Number, Host, ["/proc/stat"], "runnable tasks per CPU (host.cpu.procs_running / host.cpus)"),
    fact!("host.cpu.procs_blocked", Count, Host, ["/proc/stat"], "tasks blocked on I/O (procs_blocked)"),
    fact!("host.cpu.ctxt_rate", PerSecond, Host, rate, ["/proc/stat"], "context switches per second, all CPUs"),
    fact!("host.cpu.ctxt_per_cpu_rate", PerSecond, Host, rate, ["/proc/stat"], "context switches per second per CPU"),
    fact!("host.load1", Number, Host, ["/proc/loadavg"], "1-minute load average (lags by minutes)"),
    fact!("host.load1_per_cpu", Number, Host, ["/proc/loadavg", "/proc/stat"], "1-minute load average per CPU"),
    fact!("host.psi.cpu.some_avg10", Percent, Host, ["/proc/pressure/cpu"], "PSI: share of the last 10 s some task waited for a CPU"),
    // Memory and swap
    fact!("host.mem.total_bytes", Bytes, Host, ["/proc/meminfo"], "MemTotal"),
    fact!("host.mem.available_bytes", Bytes, Host, ["/proc/meminfo"], "MemAvailable: memory available for new work without swapping"),
    fact!("host.mem.available_ratio", Ratio, Host, ["/proc/meminfo"], "MemAvailable / MemTotal"),
    fact!("host.psi.memory.some_avg10", Percent, Host, ["/proc/pressure/memory"], "PSI: share of the last 10 s some task stalled on memory"),
    fact!("host.psi.memory.full_avg10", Percent, Host, ["/proc/pressure/memory"], "PSI: share of the last 10 s all non-idle tasks stalled on memory"),
    fact!("host.swap.total_bytes", Bytes, Host, ["/proc/meminfo"], "SwapTotal"),
    fact!("host.swap.used_bytes", Bytes, Host, ["/proc/meminfo"], "SwapTotal - SwapFree"),
    fact!("host.swap.used_ratio", Ratio, Host, ["/proc/meminfo"], "swap used / swap total (absent without swap)"),
    fact!("host.vm.pswpin_rate", PagesPerSecond, Host, rate, ["/proc/vmstat"], "pages swapped in per second"),
    fact!("host.vm.pswpout_rate", PagesPerSecond, Host, rate, ["/proc/vmstat"], "pages swapped out per second"),
    fact!("host.vm.swap_io_rate", PagesPerSecond, Host, rate, ["/proc/vmstat"], "pages swapped in plus out per second"),
    fact!("host.vm.pgmajfault_rate", PerSecond, Host, rate, ["/proc/vmstat"], "major page faults per second (a page read from disk or swap)"),
    fact!("host.vm.allocstall_rate", PerSecond, Host, rate, ["/proc/vmstat"], "allocations that stalled in direct reclaim per second (allocstall_*)"),
    fact!("host.vm.refault_file_rate", PagesPerSecond, Host, rate, ["/proc/vmstat"], "page-cache refaults per second (workingset_refault_file, or workingset_refault before 5.9)"),
    fact!("host.vm.oom_kill_total", Count, Host, ["/proc/vmstat"], "OOM kills since boot (vmstat oom_kill, 4.13+)"),
    fact!("host.vm.oom_kill_delta", Count, Host, rate, ["/proc/vmstat"], "OOM kills during the interval"),
    fact!("host.mem.overcommit_memory", Number, Host, ["/proc/sys/vm/overcommit_memory"], "vm.overcommit_memory (2 = strict accounting)"),
    fact!("host.mem.committed_as_bytes", Bytes, Host, ["/proc/meminfo"], "Committed_AS"),
    fact!("host.mem.commit_limit_bytes", Bytes, Host, ["/proc/meminfo"], "CommitLimit"),
    fact!("host.mem.commit_ratio", Ratio, Host, ["/proc/meminfo"], "Committed_AS / CommitLimit"),
    fact!("host.mem.hugepages_bytes", Bytes, Host, ["/proc/meminfo"], "static huge pages reserved (HugePages_Total x Hugepagesize)"),
    fact!("host.mem.hugepages_ram_ratio", Ratio, Host, ["/proc/meminfo"], "static huge pages / MemTotal"),
    fact!("host.mem.hugepages_free_ratio", Ratio, Host, ["/proc/meminfo"], "HugePages_Free / HugePages_Total (absent without huge pages)"),
    fact!("host.vm.swappiness", Number, Host, ["/proc/sys/vm/swappiness"], "vm.swappiness"),
    // File descriptors and tasks
    fact!("host.fd.allocated", Count, Host, ["/proc/sys/fs/file-nr"], "file handles allocated (file-nr first field minus unused)"),
    fact!("host.fd.max", Count, Host, ["/proc/sys/fs/file-nr"], "fs.file-max"),
    fact!("host.fd.used_ratio", Ratio, Host, ["/proc/sys/fs/file-nr"], "allocated file handles / fs.file-max"),
    fact!("host.tasks.count", Count, Host, ["/proc/loadavg"], "tasks (threads) that exist (4th field of /proc/loadavg)"),
    fact!("host.tasks.limit", Count, Host, ["/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"], "min(kernel.pid_max, kernel.threads-max)"),
    fact!("host.tasks.used_ratio", Ratio, Host, [ "/proc/loadavg", "/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max" ], "tasks / min(pid_max, threads-max)"),
    fact!("host.psi.io.some_avg10", Percent, Host, ["/proc/pressure/io"], "PSI: share of the last 10 s some task stalled on I/O"),
    fact!("host.psi.io.full_avg10", Percent, Host, ["/proc/pressure/io"], "PSI: share of the last 10 s all non-idle tasks stalled on I/O"),
    fact!("host.net.somaxconn", Number, Host, ["/proc/sys/net/core/somaxconn"], "net.core.somaxconn: the cap on a listening socket's accept queue"),
    fact!("host.net.tcp_max_syn_backlog", Number, Host, ["/proc/sys/net/ipv4/tcp_max_syn_backlog"], "net.ipv4.tcp_max_syn_backlog: half-open connections kept per listener"),
    fact!("host.kernel_log.readable", Number, Host, ["/dev/kmsg"], "1 when the kernel log could be read (/dev/kmsg needs CAP_SYSLOG when kernel.dmesg_restrict = 1)"),
    // kernel-log events, grouped (subject kernel_event)
    fact!("event.kind", Text, KernelEvent, ["/dev/kmsg"], "oom_kill, segfault, hung_task, oops, io_error, hardware_error, syn_flood, conntrack_full, file_max, tcp_mem, fork_rejected"),
    fact!("event.count", Count, KernelEvent, ["/dev/kmsg"], "events in the group within --since"),
    fact!("event.age_s", Seconds, KernelEvent, ["/dev/kmsg"], "how long ago the newest event of the group happened"),
    fact!("event.line", Text, KernelEvent, ["/dev/kmsg"], "the newest event's key log line"),
    fact!("event.rss_bytes", Bytes, KernelEvent, ["/dev/kmsg"], "OOM victim's RSS (anon + file + shmem) when killed"),
    fact!("event.global", Number, KernelEvent, ["/dev/kmsg"], "1 for a global OOM, 0 when a memory cgroup hit its limit"),
    fact!("event.oom_scope", Text, KernelEvent, ["/dev/kmsg"], "whose memory ran out: the host, or which memory cgroup"),
    fact!("event.trigger", Text, KernelEvent, ["/dev/kmsg"], "the task whose allocation invoked the OOM killer"),
    fact!("event.likely_stack_overflow", Number, KernelEvent, ["/dev/kmsg"], "1 when a segfault was a user-mode write within a page of the stack pointer"),
    fact!("event.fault", Text, KernelEvent, ["/dev/kmsg"], "segfault: the fault, address, stack pointer and object"),
    fact!("event.hint", Text, KernelEvent, ["/dev/kmsg"], "what the fault suggests (stack overflow)"),
    fact!("event.blocked_s", Seconds, KernelEvent, ["/dev/kmsg"], "hung task: the longest time blocked the kernel reported"),
    fact!("event.what", Text, KernelEvent, ["/dev/kmsg"], "oops / I/O error / hardware error: which kind"),
    fact!("event.filesystem", Text, KernelEvent, ["/dev/kmsg"], "I/O error: the filesystem that reported it"),
    fact!("event.port", Text, KernelEvent, ["/dev/kmsg"], "SYN flood: the listening port"),
    fact!("event.limit", Number, KernelEvent, ["/dev/kmsg"], "file-max reached: the limit printed"),
    fact!("event.cgroup", Text, KernelEvent, ["/dev/kmsg"], "fork rejected: the pids cgroup"),
    fact!("cgroup.memory.last_oom_kill_age_s", Seconds, Cgroup, ["/dev/kmsg"], "how long ago the kernel log shows the newest OOM kill in this cgroup"),
    // cgroups (v2 files, or their v1 equivalents)
    fact!("cgroup.memory.current_bytes", Bytes, Cgroup, [], "memory.current (v1: memory.usage_in_bytes)"),
    fact!("cgroup.memory.working_set_bytes", Bytes, Cgroup, [], "working set: memory usage minus inactive_file, as kubelet counts it"),
    fact!("cgroup.memory.limited", Number, Cgroup, [], "1 when memory.max (v1 memory.limit_in_bytes) is set, 0 when unlimited"),
    fact!("cgroup.cpu.limited", Number, Cgroup, [], "1 when a CPU quota is set (cpu.max, v1 cpu.cfs_quota_us), 0 when unlimited"),
    fact!("cgroup.pids.limited", Number, Cgroup, [], "1 when pids.max is set, 0 when unlimited"),
    fact!("cgroup.memory.max_bytes", Bytes, Cgroup, [], "memory.max (v1: memory.limit_in_bytes); absent when unlimited"),
    fact!("cgroup.memory.working_set_ratio", Ratio, Cgroup, [], "working set / memory.max"),
    fact!("cgroup.memory.oom_kill_total", Count, Cgroup, [], "OOM kills of this cgroup's processes (memory.events.local oom_kill, memory.events, or v1 memory.oom_control)"),
    fact!("cgroup.memory.oom_kill_since_last_run", Count, Cgroup, [], "OOM kills since the previous --state run"),
    fact!("cgroup.memory.oom_kill_delta", Count, Cgroup, rate, [], "OOM kills during the interval"),
    fact!("cgroup.memory.high_events_delta", Count, Cgroup, rate, [], "times memory.high throttled the cgroup during the interval (memory.events high)"),
    fact!("cgroup.cpu.quota_cores", Number, Cgroup, [], "CPU quota in CPUs (cpu.max, v1 cpu.cfs_quota_us/cfs_period_us); absent when unlimited"),
    fact!("cgroup.cpu.usage_cores", Number, Cgroup, rate, [], "CPUs used over the interval (cpu.stat usage_usec)"),
    fact!("cgroup.cpu.quota_used_ratio", Ratio, Cgroup, rate, [], "CPU used / CPU quota over the interval (v1 without cpuacct: a lower bound from throttled periods)"),
    fact!("cgroup.cpu.throttled_ratio", Ratio, Cgroup, rate, [], "throttled periods / periods over the interval (cpu.stat nr_throttled / nr_periods)"),
    fact!("cgroup.cpu.throttled_periods", Count, Cgroup, rate, [], "periods throttled during the interval"),
    fact!("cgroup.cpu.throttled_seconds_per_second", Number, Cgroup, rate, [], "seconds of throttling per second (throttled_usec; v1 throttled_time)"),
    fact!("cgroup.pids.current", Count, Cgroup, [], "pids.current: tasks (threads) in the cgroup"),
    fact!("cgroup.pids.max", Count, Cgroup, [], "pids.max; absent when unlimited"),
    fact!("cgroup.pids.used_ratio", Ratio, Cgroup, [], "pids.current / pids.max"),
    fact!("cgroup.pids.events_max_total", Count, Cgroup, [], "times a fork was refused at pids.max (pids.events max)"),
    fact!("cgroup.pids.events_max_delta", Count, Cgroup, rate, [], "forks refused at pids.max during the interval"),
    fact!("cgroup.psi.cpu.some_avg10", Percent, Cgroup, [], "cpu.pressure some avg10"),
    fact!("cgroup.psi.memory.some_avg10", Percent, Cgroup, [], "memory.pressure some avg10"),
    fact!("cgroup.psi.memory.full_avg10", Percent, Cgroup, [], "memory.pressure full avg10"),
    fact!("cgroup.psi.io.some_avg10", Percent, Cgroup, [], "io.pressure some avg10"),
    fact!("cgroup.psi.io.full_avg10", Percent, Cgroup, [], "io.pressure full avg10"),
    fact!("cgroup.psi.worst_some_avg10", Percent, Cgroup, [], "the highest some avg10 of cpu, memory and io pressure"),
    fact!("cgroup.psi.worst_resource", Text, Cgroup, [], "which of cpu, memory, io has the highest some avg10"),
    fact!("cgroup.psi.worst_full_avg10", Percent, Cgroup, [], "the highest full avg10 of cpu, memory and io pressure"),
    fact!("cgroup.procs", Count, Cgroup, [], "processes in the cgroup (cgroup.procs)"),
    // processes
    fact!("host.cpu.idle_cpus", Number, Host, rate, ["/proc/stat"], "idle CPUs' worth over the interval ((1 - busy) x CPUs)"),
    fact!("host.procs.count", Count, Host, ["/proc/[pid]/stat"], "processes read (kernel threads included)"),
    fact!("host.procs.denied", Count, Host, ["/proc/[pid]/fd"], "processes something could not be read of (permission)"),
    fact!("host.tasks.zombies", Count, Host, ["/proc/[pid]/stat"], "zombie processes (in both samples when there are two)"),
    fact!("host.zombie_parents", Text, Host, ["/proc/[pid]/stat"], "the parents that do not reap their zombies, with counts"),
    fact!("host.tasks.d_state", Count, Host, rate, ["/proc/[pid]/stat"], "tasks (threads) in D state in both samples"),
    fact!("host.d_state_tasks", Text, Host, rate, ["/proc/[pid]/stat", "/proc/[pid]/wchan"], "the tasks in D state in both samples, with their wait channel"),
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
    fact!("proc.fd.limit_soft", Count, Process, ["/proc/[pid]/limits"], "soft RLIMIT_NOFILE (ulimit -n)"),
    fact!("proc.fd.used_ratio", Ratio, Process, ["/proc/[pid]/fd", "/proc/[pid]/limits"], "open fds / soft RLIMIT_NOFILE"),
    fact!("proc.fd.capacity_ratio", Ratio, Process, ["/proc/[pid]/status", "/proc/[pid]/limits"], "FDSize (the fd table's capacity, >= the open count) / soft RLIMIT_NOFILE"),
    fact!("proc.listen_sockets", Count, Process, ["/proc/[pid]/fd", "/proc/net/tcp"], "listening TCP sockets it holds (read for processes whose soft RLIMIT_NOFILE <= 1024)"),
    fact!("proc.listen_ports", Text, Process, ["/proc/[pid]/fd", "/proc/net/tcp"], "the TCP ports it listens on"),
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

/// The catalogue entry for a name.
pub fn lookup(name: &str) -> Option<&'static FactDef> {
    CATALOG.iter().find(|f| f.name == name)
}

/// A fact's value. Whole numbers serialise as JSON integers.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Num(f64),
    Text(String),
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Num(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => s.serialize_i64(*n as i64),
            Value::Num(n) => s.serialize_f64(*n),
            Value::Text(t) => s.serialize_str(t),
        }
    }
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Text(_) => None,
        }
    }
}

/// The facts of one subject.
#[derive(Debug, Clone, Default)]
pub struct FactSet {
    values: BTreeMap<&'static str, Value>,
    /// Why a fact is absent, when the deriving code knows better than the catalogue (no swap, ...).
    missing: BTreeMap<&'static str, std::sync::Arc<str>>,
}

impl FactSet {
    /// Set a number; NaN and infinities are not facts (a division by zero upstream) and are dropped.
    pub fn num(&mut self, name: &'static str, v: f64) {
        debug_assert!(lookup(name).is_some(), "fact {name} is not in the catalogue");
        if v.is_finite() {
            self.values.insert(name, Value::Num(v));
        }
    }

    pub fn opt(&mut self, name: &'static str, v: Option<f64>) {
        if let Some(v) = v {
            self.num(name, v);
        }
    }

    pub fn text(&mut self, name: &'static str, v: impl Into<String>) {
        debug_assert!(lookup(name).is_some(), "fact {name} is not in the catalogue");
        self.values.insert(name, Value::Text(v.into()));
    }

    /// Drop a value (a later step found it belongs elsewhere).
    pub fn remove(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// Say why a fact is absent on this subject.
    pub fn absent(&mut self, name: &'static str, why: impl Into<std::sync::Arc<str>>) {
        self.missing.insert(name, why.into());
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    pub fn get_f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    pub fn stated_reason(&self, name: &str) -> Option<&str> {
        self.missing.get(name).map(|r| &**r)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.values.iter().map(|(k, v)| (*k, v))
    }
}

/// The parts of a subject that summaries and next steps can name as `{pid}`, `{comm}`, ... (besides
/// `{subject}`, its label); also the Prometheus labels of a finding, in this order.
pub const SUBJECT_FIELDS: [&str; 8] = [
    "pid",
    "comm",
    "user",
    "cgroup",
    "pod_uid",
    "container_id",
    "device",
    "path",
];

/// What a subject is: the kinds of things rules judge (a rule file's `subject`, a finding's
/// `subject.kind`). `KernelEvent` is the collection of kernel-log events: its findings name the
/// process, cgroup or device an event was about. A new kind is one variant here plus the collector
/// that produces its subjects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    #[default]
    Host,
    Process,
    Cgroup,
    User,
    Disk,
    Nic,
    Mount,
    NumaNode,
    KernelEvent,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 9] = [
        SubjectKind::Host,
        SubjectKind::Process,
        SubjectKind::Cgroup,
        SubjectKind::User,
        SubjectKind::Disk,
        SubjectKind::Nic,
        SubjectKind::Mount,
        SubjectKind::NumaNode,
        SubjectKind::KernelEvent,
    ];

    /// The name rule files and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            SubjectKind::Host => "host",
            SubjectKind::Process => "process",
            SubjectKind::Cgroup => "cgroup",
            SubjectKind::User => "user",
            SubjectKind::Disk => "disk",
            SubjectKind::Nic => "nic",
            SubjectKind::Mount => "mount",
            SubjectKind::NumaNode => "numa_node",
            SubjectKind::KernelEvent => "kernel_event",
        }
    }

    pub fn from_name(name: &str) -> Option<SubjectKind> {
        SubjectKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Who a finding is about (the JSON `subject`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SubjectId {
    pub kind: SubjectKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
    /// A process's command line (secrets redacted unless --no-redact), read after the rules ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
}

impl SubjectId {
    pub fn host() -> SubjectId {
        SubjectId {
            kind: SubjectKind::Host,
            ..SubjectId::default()
        }
    }

    /// One of [`SUBJECT_FIELDS`] as text; `None` when this subject has no such part.
    pub fn field(&self, name: &str) -> Option<String> {
        match name {
            "pid" => self.pid.map(|p| p.to_string()),
            "comm" => self.comm.clone(),
            "user" => self.user.clone(),
            "cgroup" => self.cgroup.clone(),
            "pod_uid" => self.pod_uid.clone(),
            "container_id" => self.container_id.clone(),
            "device" => self.device.clone(),
            "path" => self.path.clone(),
            _ => None,
        }
    }

    /// A short human label: `host`, `pid 123 (java)`, `cgroup /kubepods/...`.
    pub fn label(&self) -> String {
        match self.kind {
            SubjectKind::Host => "host".to_string(),
            SubjectKind::Process => match (&self.pid, &self.comm) {
                (Some(pid), Some(comm)) => format!("pid {pid} ({comm})"),
                (Some(pid), None) => format!("pid {pid}"),
                _ => "process".to_string(),
            },
            SubjectKind::Cgroup => format!("cgroup {}", self.cgroup.as_deref().unwrap_or("?")),
            SubjectKind::User => format!("user {}", self.user.as_deref().unwrap_or("?")),
            SubjectKind::Disk | SubjectKind::Nic => {
                format!("{} {}", self.kind, self.device.as_deref().unwrap_or("?"))
            }
            SubjectKind::Mount => format!("mount {}", self.path.as_deref().unwrap_or("?")),
            SubjectKind::NumaNode => format!("node {}", self.node.map(|n| n.to_string()).unwrap_or_default()),
            SubjectKind::KernelEvent => "kernel event".to_string(),
        }
    }
}

/// One thing rules are evaluated against, with its facts.
#[derive(Debug, Clone)]
pub struct Subject {
    pub id: SubjectId,
    pub facts: FactSet,
}

/// Everything rules can see from one run.
#[derive(Debug, Clone)]
pub struct Facts {
    pub host: Subject,
    /// Non-host subjects by kind (`process`, `cgroup`, ...). A kind that is absent was not collected.
    pub subjects: BTreeMap<SubjectKind, Vec<Subject>>,
    /// True when only one sample was taken (`--interval 0`): rate facts are absent for that reason.
    pub single_sample: bool,
    /// What could not be read, to explain absent facts.
    pub coverage: Coverage,
    /// Why a subject kind has no subjects at all (no cgroup filesystem, kernel log unreadable).
    pub missing_subjects: BTreeMap<SubjectKind, String>,
}

impl Facts {
    /// Why `name` is absent on `subject`: the subject's own reason, then an unreadable source file,
    /// then a missing second sample, then "not provided".
    pub fn why_missing(&self, subject: &Subject, name: &str) -> String {
        if let Some(r) = subject.facts.stated_reason(name) {
            return r.to_string();
        }
        let Some(def) = lookup(name) else {
            return format!("unknown fact {name}");
        };
        for src in def.sources {
            if let Some(p) = self.coverage.problem_for(src) {
                return format!("{}: {}", p.path, p.reason);
            }
        }
        if def.rate && self.single_sample {
            return "needs two samples (run with --interval greater than 0)".to_string();
        }
        format!("{name} is not available on this host")
    }
}
