//! The kernel events (types only): what the recognisers produce, their JSON form and their
//! one-line text. Imports no other part of the module.
//!
//! Every event carries the time and text of the record that shows it best (the kill line of an OOM
//! report, the first line of an oops), and the fields of its kind. The JSON shape is specified in
//! the module documentation of [`crate::parse::kernel_log`].

use std::fmt;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::{Serialize, Serializer};

/// One thing the kernel reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KernelEvent {
    /// What happened, with the fields of that kind (`kind` in JSON).
    #[serde(flatten)]
    pub kind: EventKind,
    /// Wall-clock time, RFC 3339 in JSON. From the log when it printed one, else from
    /// [`resolve_wall_times`](crate::parse::kernel_log::resolve_wall_times); `null` until then.
    #[serde(serialize_with = "rfc3339")]
    pub time: Option<DateTime<FixedOffset>>,
    pub time_source: Option<TimeSource>,
    /// Microseconds since boot on the printk clock, when the log printed it.
    pub mono_usec: Option<u64>,
    /// /dev/kmsg sequence number of the key record.
    pub seq: Option<u64>,
    /// The key log line, as the kernel wrote it (without the source's prefix).
    pub line: String,
    /// Position of the key record in the input, to keep events in log order.
    #[serde(skip)]
    pub(super) record_index: usize,
}

/// Where [`KernelEvent::time`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// Printed by the source with its zone (RFC 3339 syslog, journalctl short-iso).
    Logged,
    /// Printed without a zone (classic syslog, `dmesg -T`); the parser assumed an offset.
    LoggedZoneAssumed,
    /// Boot time plus the monotonic printk timestamp. Wrong by the time spent suspended, as
    /// `dmesg -T` is.
    BootTimePlusMonotonic,
}

/// The kinds of event, tagged `kind` in JSON.
// An OOM kill is several times bigger than the other kinds; events are few (one per kernel report),
// so a box per kill would buy nothing but noisier matches.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    OomKill(OomKill),
    Segfault(Segfault),
    HungTask(HungTask),
    Oops(Oops),
    IoError(IoError),
    HardwareError(HardwareError),
    SynFlood(SynFlood),
    ConntrackFull(ConntrackFull),
    FileMax(FileMax),
    TcpMem(TcpMem),
    ForkRejected(ForkRejected),
    Lost(LostEvent),
}

/// The OOM killer killed a process: one event per victim.
///
/// Kernel formats (mm/oom_kill.c), oldest first:
///
/// ```text
/// <prefix>: Kill process <pid> (<comm>) score <n> or sacrifice child          before 5.1
/// Killed process <pid> (<comm>) total-vm:<n>kB, anon-rss:<n>kB, file-rss:<n>kB[, shmem-rss:<n>kB]
/// Killed process 11726, UID 498, (mysqld) total-vm:...                        RHEL 6 vendor variant
/// Killed process 799153 (node), UID 1000, total-vm:...                        other vendor variant
/// oom-kill:constraint=<C>,nodemask=<n>,cpuset=<c>,mems_allowed=<m>,oom_memcg=<path>|global_oom,
///     task_memcg=<path>,task=<comm>,pid=<pid>,uid=<uid>                        5.0+ summary
/// <prefix>: Killed process <pid> (<comm>) total-vm:..kB, anon-rss:..kB, file-rss:..kB, shmem-rss:..kB   5.1-5.3
///     [, UID:<uid> pgtables:<n>kB oom_score_adj:<n>]                          5.4+
/// ```
///
/// `<prefix>` is `Out of memory`, `Out of memory (oom_kill_allocating_task)` or
/// `Memory cgroup out of memory`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OomKill {
    pub pid: u32,
    /// May contain spaces and parentheses (`((resolved))`, `runc:[1:CHILD]`).
    pub comm: String,
    pub uid: Option<u32>,
    pub total_vm_bytes: Option<u64>,
    pub anon_rss_bytes: Option<u64>,
    pub file_rss_bytes: Option<u64>,
    pub shmem_rss_bytes: Option<u64>,
    /// anon + file + shmem, as far as printed.
    pub rss_bytes: Option<u64>,
    pub pgtables_bytes: Option<u64>,
    pub oom_score_adj: Option<i32>,
    /// True: no memory cgroup limit was hit (the machine, or a cpuset/mempolicy node set, ran out).
    /// False: a memory cgroup hit its limit. Decided from `oom_memcg=` vs `global_oom` (5.0+),
    /// then "Task in ... killed as a result of limit of ..." (before 5.0), then the kill line's
    /// prefix; `null` when the log shows none of them.
    pub global: Option<bool>,
    /// `CONSTRAINT_NONE`, `CONSTRAINT_CPUSET`, `CONSTRAINT_MEMORY_POLICY`, `CONSTRAINT_MEMCG` (5.0+).
    /// Early 5.0/5.1 kernels printed CONSTRAINT_NONE for memcg OOMs, so it does not decide
    /// [`global`](Self::global).
    pub constraint: Option<String>,
    /// The cgroup whose limit was hit (may be the pod rather than the container).
    pub oom_memcg: Option<String>,
    /// The victim's memory cgroup. Before 5.1, when the kernel sacrificed a child of the task it
    /// chose, this is the chosen task's cgroup.
    pub task_memcg: Option<String>,
    /// The cpuset (leaf name) and allowed memory nodes of the task that invoked the OOM killer:
    /// both the summary's `cpuset=` and the pre-5.0 `<comm> cpuset=` line print the current
    /// task's, not the victim's.
    pub cpuset: Option<String>,
    pub mems_allowed: Option<String>,
    /// Set when the victim was killed with its whole cgroup (memory.oom.group): that cgroup.
    pub oom_group: Option<String>,
    /// The task whose allocation invoked the OOM killer.
    pub trigger_comm: Option<String>,
    pub trigger_pid: Option<u32>,
    /// As printed: `0xcc0(GFP_KERNEL)`, or `0xd0` on 3.x.
    pub gfp_mask: Option<String>,
    /// Allocation order; -1 means the OOM killer was triggered from sysrq.
    pub order: Option<i32>,
    /// From `memory: usage NkB, limit NkB, failcnt N` (memcg OOMs).
    pub memcg_usage_bytes: Option<u64>,
    pub memcg_limit_bytes: Option<u64>,
    pub memcg_failcnt: Option<u64>,
    /// Before 5.1: the task the kernel chose ("Kill process P ... or sacrifice child"); the victim
    /// can be one of its children.
    pub chosen_pid: Option<u32>,
    pub chosen_comm: Option<String>,
    pub score: Option<u64>,
    /// Kernel release from the report's `CPU: .. PID: .. Comm: ..` line.
    pub kernel: Option<String>,
    /// False when only the 5.0+ `oom-kill:` summary line names the victim (the kill line was cut
    /// off, filtered by level, or lost).
    pub kill_line_seen: bool,
    /// `oom_reaper: reaped process <pid>` followed: the victim's memory was reclaimed.
    pub reaped: bool,
}

/// A user process died of a fatal signal the kernel logged (debug.exception-trace=1).
///
/// ```text
/// <comm>[<pid>]: segfault at <addr> ip <ip> sp <sp> error <code>[ in <file>[<start>+<size>]]      x86
///     6.x: ` in <file>[<ip offset>,<start>+<size>]` and ` likely on CPU <n> (core <n>, socket <n>)`
/// traps: <comm>[<pid>] general protection fault ip:<ip> sp:<sp> error:<code>[ in ...]              x86
/// traps: <comm>[<pid>] trap divide error ip:<ip> sp:<sp> error:<code>[ in ...]                     x86
/// <comm>[<pid>]: unhandled level 2 translation fault (11) at 0x<addr>, esr 0x<esr>[, in ...]     arm64
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Segfault {
    pub pid: u32,
    pub comm: String,
    /// `segfault`, `general protection fault`, `divide error`, `invalid opcode`, or the arm64 text
    /// (`level 3 translation fault`).
    pub fault: String,
    #[serde(serialize_with = "hex")]
    pub address: Option<u64>,
    #[serde(serialize_with = "hex")]
    pub ip: Option<u64>,
    #[serde(serialize_with = "hex")]
    pub sp: Option<u64>,
    pub error_code: Option<u64>,
    /// The x86 page-fault error code decoded (segfault lines only).
    pub error: Option<PageFaultError>,
    #[serde(serialize_with = "hex")]
    pub esr: Option<u64>,
    /// The file mapped where ip points (basename), when the fault was in a file mapping.
    pub object: Option<String>,
    #[serde(serialize_with = "hex")]
    pub object_start: Option<u64>,
    #[serde(serialize_with = "hex")]
    pub object_size: Option<u64>,
    /// ip as an offset for `addr2line -e <object>`: printed by 6.x kernels (file offset), otherwise
    /// ip - start (offset into the mapping).
    #[serde(serialize_with = "hex")]
    pub ip_offset: Option<u64>,
    pub cpu: Option<u32>,
    pub core: Option<u32>,
    pub socket: Option<u32>,
    /// A user-mode write that faulted within one page (4096 bytes) of the stack pointer, either
    /// side: the stack ran into its guard gap. The kernel prints no "stack overflow" text.
    pub likely_stack_overflow: bool,
}

/// x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PageFaultError {
    /// Bit 0: the page was present (a protection violation); clear: the page was not mapped.
    pub protection: bool,
    /// Bit 1: the access was a write.
    pub write: bool,
    /// Bit 2: the access came from user mode.
    pub user: bool,
    /// Bit 3: a reserved bit was set in a page-table entry.
    pub reserved: bool,
    /// Bit 4: the access was an instruction fetch.
    pub instruction_fetch: bool,
    /// Bit 5: protection-key violation.
    pub protection_key: bool,
}

impl PageFaultError {
    pub fn from_code(code: u64) -> Self {
        PageFaultError {
            protection: code & 1 != 0,
            write: code & 2 != 0,
            user: code & 4 != 0,
            reserved: code & 8 != 0,
            instruction_fetch: code & 16 != 0,
            protection_key: code & 32 != 0,
        }
    }
}

impl fmt::Display for PageFaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.user { "user" } else { "kernel" };
        let access = if self.instruction_fetch {
            "instruction fetch"
        } else if self.write {
            "write"
        } else {
            "read"
        };
        let page = if self.protection {
            "protection violation"
        } else {
            "page not mapped"
        };
        write!(f, "{mode} {access}, {page}")?;
        if self.reserved {
            write!(f, ", reserved bit set")?;
        }
        if self.protection_key {
            write!(f, ", protection key")?;
        }
        Ok(())
    }
}

/// `INFO: task <comm>:<pid> blocked for more than <n> seconds.` (kernel/hung_task.c). The number
/// is how long it has been blocked (e.g. 122), not the configured timeout.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct HungTask {
    pub pid: u32,
    pub comm: String,
    pub blocked_secs: u64,
}

/// The kernel hit a bug in itself or lost control of a CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Oops {
    pub what: OopsKind,
    /// The rest of the key line (the panic reason, the stall text, `0000 [#1] SMP`).
    pub detail: String,
    /// The task that was running (from `[comm:pid]` or the `CPU: N PID: P Comm: C` line).
    pub pid: Option<u32>,
    pub comm: Option<String>,
    pub cpu: Option<u32>,
    /// Soft lockups: how long the CPU was stuck.
    pub stuck_secs: Option<u64>,
    /// The faulting address of a NULL dereference or bad paging request.
    #[serde(serialize_with = "hex")]
    pub address: Option<u64>,
    /// `file:line` of `kernel BUG at file:line!`.
    pub location: Option<String>,
    /// Kernel function from the `RIP: 0010:` / `IP:` line.
    pub function: Option<String>,
    /// `Oops: 0000 [#1] SMP PTI` that followed a `BUG:` line.
    pub die: Option<String>,
    pub kernel: Option<String>,
}

/// Which kind of kernel failure an [`Oops`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OopsKind {
    /// `Oops: ...`, `Internal error: Oops: ...`.
    Oops,
    /// `BUG: kernel NULL pointer dereference, address: ...` (5.x+),
    /// `BUG: unable to handle kernel NULL pointer dereference at ...` (older),
    /// `Unable to handle kernel NULL pointer dereference at virtual address ...` (arm).
    NullPointerDereference,
    /// `BUG: unable to handle page fault for address: ...`, `... kernel paging request at ...`.
    PagingRequest,
    /// `general protection fault: ...` in kernel mode (the user-mode `traps:` line is a segfault).
    GeneralProtectionFault,
    /// `kernel BUG at file:line!`.
    KernelBug,
    /// Any other `BUG: ...` line (`scheduling while atomic`, `Bad page state`, KASAN...).
    Bug,
    /// `watchdog: BUG: soft lockup - CPU#N stuck for Ns! [comm:pid]`.
    SoftLockup,
    /// `Watchdog detected hard LOCKUP on cpu N`.
    HardLockup,
    /// `rcu: INFO: rcu_sched self-detected stall on CPU`, `rcu_preempt detected stalls on CPUs/tasks`.
    RcuStall,
    /// `Kernel panic - not syncing: <reason>`.
    Panic,
}

/// A block device or filesystem reported an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IoError {
    pub what: IoErrorKind,
    /// `sda`, `sda1`, `nvme0`, `dm-0`: as printed.
    pub device: Option<String>,
    /// `ext4`, `xfs`, `btrfs` for filesystem errors.
    pub filesystem: Option<String>,
    pub sector: Option<u64>,
    /// `Buffer I/O error`: the logical block.
    pub block: Option<u64>,
    /// `READ`, `WRITE`, `FLUSH`, `DISCARD` (5.x block layer).
    pub op: Option<String>,
    /// The block layer's error name: `I/O`, `critical medium`, `critical target`, `timeout`...
    pub error: Option<String>,
    pub detail: Option<String>,
    /// ext2/3/4 errors: the task that hit it (`comm <name>:`; the kernel prints no pid).
    pub comm: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IoErrorKind {
    /// `blk_update_request: I/O error, dev sda, sector N`, and the 5.x+
    /// `I/O error, dev sda, sector N op 0x1:(WRITE) flags ...`.
    BlockIo,
    /// `Buffer I/O error on dev sda1, logical block N, ...`.
    BufferIo,
    /// `EXT4-fs error (device sda1): ...`, `BTRFS error (device ...)`, XFS corruption.
    FsError,
    /// XFS `xfs_do_force_shutdown` / `Shutting down filesystem` / `Filesystem has been shut down`.
    FsShutdown,
    /// `... Remounting filesystem read-only`, `BTRFS ... forced readonly`.
    RemountReadOnly,
    /// `Aborting journal on device sda1-8.` (jbd2).
    JournalAborted,
    /// `XFS (dev): metadata I/O error in ...`.
    MetadataIo,
    /// `nvme nvme0: I/O 123 QID 4 timeout, aborting`.
    NvmeTimeout,
    /// `nvme nvme0: controller is down; will reset`.
    NvmeReset,
}

/// Machine check, firmware-first (CPER/GHES) or EDAC memory error report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HardwareError {
    /// `mce`, `cper`, `edac`, or `other` for other `[Hardware Error]:` lines.
    pub source: String,
    /// `corrected`, `uncorrected`, `fatal`, `recoverable`... when the log says.
    pub severity: Option<String>,
    pub cpu: Option<u32>,
    pub bank: Option<u32>,
    /// EDAC: how many errors the line reports.
    pub count: Option<u64>,
    /// Memory controller (`MC0`) for EDAC.
    pub controller: Option<String>,
    pub detail: String,
    /// How many consecutive lines this report spans.
    pub lines: u32,
}

/// `TCP: request_sock_TCP: Possible SYN flooding on port 80. Sending cookies.  Check SNMP counters.`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SynFlood {
    /// The port, or `addr:port` where the kernel prints the listener's address.
    pub port: String,
    /// `sending_cookies` or `dropping_request`.
    pub action: Option<String>,
    pub ipv6: bool,
}

/// `nf_conntrack: table full, dropping packet` (the prefix is printed twice on newer kernels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConntrackFull {
    /// `nf_conntrack`, or `ip_conntrack` on old kernels.
    pub table: String,
    /// The network namespace's inode number, which newer kernels name ("table full in netns
    /// 4026532174, dropping packet"; the namespace is `net:[4026532174]` in /proc/PID/ns/net).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<u64>,
}

/// `VFS: file-max limit <n> reached`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileMax {
    pub limit: Option<u64>,
}

/// `TCP: out of memory -- consider tuning tcp_mem`, `TCP: too many orphaned sockets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpMem {
    /// `out_of_memory` or `too_many_orphaned_sockets`.
    pub variant: String,
}

/// `cgroup: fork rejected by pids controller in <path>` (once per cgroup lifetime).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForkRejected {
    pub cgroup: String,
}

/// Messages the log does not have: ratelimited by the kernel, or records overwritten in the ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostEvent {
    /// `callbacks_suppressed` (`<name>: N callbacks suppressed`), `printk_dropped`
    /// (`** N printk messages dropped **`) or `kmsg_gap` (a /dev/kmsg sequence gap).
    pub what: String,
    /// The ratelimited function or subsystem (`show_signal_msg`, `EXT4-fs error`).
    pub name: Option<String>,
    pub count: u64,
    pub after_seq: Option<u64>,
}

impl KernelEvent {
    /// The JSON `kind` name.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            EventKind::OomKill(_) => "oom_kill",
            EventKind::Segfault(_) => "segfault",
            EventKind::HungTask(_) => "hung_task",
            EventKind::Oops(_) => "oops",
            EventKind::IoError(_) => "io_error",
            EventKind::HardwareError(_) => "hardware_error",
            EventKind::SynFlood(_) => "syn_flood",
            EventKind::ConntrackFull(_) => "conntrack_full",
            EventKind::FileMax(_) => "file_max",
            EventKind::TcpMem(_) => "tcp_mem",
            EventKind::ForkRejected(_) => "fork_rejected",
            EventKind::Lost(_) => "lost",
        }
    }

    /// The task the event names, if any.
    pub fn pid(&self) -> Option<u32> {
        match &self.kind {
            EventKind::OomKill(k) => Some(k.pid),
            EventKind::Segfault(s) => Some(s.pid),
            EventKind::HungTask(h) => Some(h.pid),
            EventKind::Oops(o) => o.pid,
            _ => None,
        }
    }

    pub fn comm(&self) -> Option<&str> {
        match &self.kind {
            EventKind::OomKill(k) => Some(&k.comm),
            EventKind::Segfault(s) => Some(&s.comm),
            EventKind::HungTask(h) => Some(&h.comm),
            EventKind::Oops(o) => o.comm.as_deref(),
            EventKind::IoError(e) => e.comm.as_deref(),
            _ => None,
        }
    }

    /// One line for humans, without the time: `oom_kill  pid 4321 (java) rss 1.9 GiB, ...`.
    pub fn one_line(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for KernelEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<15}", self.kind_name())?;
        match &self.kind {
            EventKind::OomKill(k) => {
                write!(f, "pid {} ({})", k.pid, k.comm)?;
                if let Some(rss) = k.rss_bytes {
                    write!(f, " rss {}", human_bytes(rss))?;
                }
                match k.task_memcg.as_deref().or(k.oom_memcg.as_deref()) {
                    Some(memcg) => write!(f, ", memcg {memcg}")?,
                    None if k.global == Some(true) => write!(f, ", global OOM")?,
                    None => {}
                }
                if let Some(limit) = k.oom_memcg.as_deref()
                    && k.task_memcg.as_deref().is_some_and(|t| t != limit)
                {
                    write!(f, " (limit hit in {limit})")?;
                }
                match k.global {
                    Some(global) => write!(f, ", global={global}")?,
                    None => write!(f, ", global=?")?,
                }
                if let Some(group) = &k.oom_group {
                    write!(f, ", oom.group {group}")?;
                }
                if !k.kill_line_seen {
                    write!(f, " (summary line only)")?;
                }
                Ok(())
            }
            EventKind::Segfault(s) => {
                write!(f, "pid {} ({}) {}", s.pid, s.comm, s.fault)?;
                if let Some(addr) = s.address {
                    write!(f, " at {addr:#x}")?;
                }
                if let Some(ip) = s.ip {
                    write!(f, " ip {ip:#x}")?;
                }
                if let Some(code) = s.error_code {
                    write!(f, " error {code}")?;
                    if let Some(bits) = s.error {
                        write!(f, " ({bits})")?;
                    }
                }
                if let Some(object) = &s.object {
                    write!(f, " in {object}")?;
                    if let Some(off) = s.ip_offset {
                        write!(f, "+{off:#x}")?;
                    }
                }
                if s.likely_stack_overflow {
                    write!(f, ", likely stack overflow")?;
                }
                Ok(())
            }
            EventKind::HungTask(h) => {
                write!(f, "pid {} ({}) blocked for {} s", h.pid, h.comm, h.blocked_secs)
            }
            EventKind::Oops(o) => {
                write!(f, "{}", snake(&o.what))?;
                if let (Some(pid), Some(comm)) = (o.pid, &o.comm) {
                    write!(f, " pid {pid} ({comm})")?;
                }
                if let Some(cpu) = o.cpu {
                    write!(f, " cpu {cpu}")?;
                }
                if let Some(secs) = o.stuck_secs {
                    write!(f, " stuck {secs} s")?;
                }
                if let Some(location) = &o.location {
                    write!(f, " at {location}")?;
                }
                if let Some(function) = &o.function {
                    write!(f, " in {function}")?;
                }
                if !o.detail.is_empty() {
                    write!(f, ": {}", o.detail)?;
                }
                Ok(())
            }
            EventKind::IoError(e) => {
                write!(f, "{}", snake(&e.what))?;
                if let Some(fs) = &e.filesystem {
                    write!(f, " {fs}")?;
                }
                if let Some(dev) = &e.device {
                    write!(f, " dev {dev}")?;
                }
                if let Some(sector) = e.sector {
                    write!(f, " sector {sector}")?;
                }
                if let Some(block) = e.block {
                    write!(f, " block {block}")?;
                }
                if let Some(op) = &e.op {
                    write!(f, " ({op})")?;
                }
                if let Some(error) = &e.error {
                    write!(f, ": {error} error")?;
                } else if let Some(detail) = &e.detail {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            EventKind::HardwareError(h) => {
                write!(f, "{}", h.source)?;
                if let Some(severity) = &h.severity {
                    write!(f, " {severity}")?;
                }
                if let Some(cpu) = h.cpu {
                    write!(f, " cpu {cpu}")?;
                }
                if let Some(bank) = h.bank {
                    write!(f, " bank {bank}")?;
                }
                write!(f, ": {}", h.detail)
            }
            EventKind::SynFlood(s) => {
                write!(f, "port {}{}", s.port, if s.ipv6 { " (IPv6)" } else { "" })?;
                if let Some(action) = &s.action {
                    write!(f, ", {}", action.replace('_', " "))?;
                }
                Ok(())
            }
            EventKind::ConntrackFull(c) => match c.netns {
                Some(ns) => write!(
                    f,
                    "{} table full in network namespace {ns}, dropping packets",
                    c.table
                ),
                None => write!(f, "{} table full, dropping packets", c.table),
            },
            EventKind::FileMax(m) => match m.limit {
                Some(limit) => write!(f, "file-max limit {limit} reached"),
                None => write!(f, "file-max limit reached"),
            },
            EventKind::TcpMem(t) => write!(f, "{}", t.variant.replace('_', " ")),
            EventKind::ForkRejected(r) => write!(f, "fork rejected by pids controller in {}", r.cgroup),
            EventKind::Lost(l) => match (&l.name, l.after_seq) {
                (Some(name), _) => write!(f, "{} {} ({name})", l.count, l.what.replace('_', " ")),
                (None, Some(seq)) => write!(f, "{} records lost after seq {seq}", l.count),
                (None, None) => write!(f, "{} {}", l.count, l.what.replace('_', " ")),
            },
        }
    }
}

/// The serde name of a unit enum variant (`null_pointer_dereference`).
fn snake<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// `1.9 GiB`, `69.4 MiB`, `512 B`.
pub(super) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn rfc3339<S: Serializer>(time: &Option<DateTime<FixedOffset>>, s: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => s.serialize_none(),
    }
}

fn hex<S: Serializer>(value: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_str(&format!("{v:#x}")),
        None => s.serialize_none(),
    }
}
