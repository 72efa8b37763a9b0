//! Recognisers for every event but the OOM kill: one key line each, plus the few lines after it
//! that complete it (the `Oops:` and `CPU: .. PID: ..` lines after a `BUG:` line, the rest of a
//! machine-check report). The format strings quoted are from the kernel source.

use std::sync::LazyLock;

use regex::Regex;

use super::events::{
    ConntrackFull, EventKind, FileMax, ForkRejected, HardwareError, HungTask, IoError, IoErrorKind,
    KernelEvent, LostEvent, Oops, OopsKind, PageFaultError, Segfault, SynFlood, TcpMem,
};
use super::helpers::{group, hex_number, kernel_release, number, rx};
use super::record::LogRecord;

/// The number of records after an oops's first line in which its `Oops:`, `CPU:` and `RIP:` lines
/// are looked for. An oops prints them within a dozen lines; the module list can be long.
const OOPS_FOLLOW_UP_RECORDS: usize = 40;
/// XFS prints three or four lines for one shutdown; they are one event.
const SHUTDOWN_MERGE_RECORDS: usize = 10;
/// A page either side of sp: what the guard gap below a stack catches first.
const STACK_GUARD_BYTES: u64 = 4096;

/// Feeds records one by one and pushes the events it recognises.
#[derive(Debug, Default)]
pub(super) struct LineScanner {
    /// The last oops (event index, record index), to attach its follow-up lines.
    open_oops: Option<(usize, usize)>,
    /// The last hardware error report (event index, record index of its last line, line prefix).
    open_hardware: Option<(usize, usize, String)>,
    /// The last filesystem shutdown (event index, record index, device).
    last_shutdown: Option<(usize, usize, Option<String>)>,
    /// The last arm64 user fault (event index, record index): its `sp : ` line comes later.
    open_arm64_fault: Option<(usize, usize)>,
}

impl LineScanner {
    pub(super) fn feed(
        &mut self,
        index: usize,
        record: &LogRecord,
        text: &str,
        events: &mut Vec<KernelEvent>,
    ) {
        if self.continue_oops(index, text, events)
            || self.continue_hardware(index, text, events)
            || self.continue_arm64_fault(index, text, events)
        {
            return;
        }
        let Some(kind) = recognise(text) else {
            return;
        };
        if let EventKind::IoError(e) = &kind
            && e.what == IoErrorKind::FsShutdown
        {
            if let Some((_, at, device)) = &self.last_shutdown
                && index - at <= SHUTDOWN_MERGE_RECORDS
                && *device == e.device
            {
                return;
            }
            self.last_shutdown = Some((events.len(), index, e.device.clone()));
        }
        match &kind {
            EventKind::Oops(_) => self.open_oops = Some((events.len(), index)),
            EventKind::Segfault(s) if s.esr.is_some() => self.open_arm64_fault = Some((events.len(), index)),
            EventKind::HardwareError(h) => {
                self.open_hardware = Some((events.len(), index, hardware_prefix(text, &h.source)));
            }
            _ => {}
        }
        events.push(KernelEvent::at(kind, record, index));
    }

    /// Lines that complete the open oops: the die line after a `BUG:` line, the task and the
    /// faulting function.
    fn continue_oops(&mut self, index: usize, text: &str, events: &mut [KernelEvent]) -> bool {
        let Some((event_index, start)) = self.open_oops else {
            return false;
        };
        if index - start > OOPS_FOLLOW_UP_RECORDS {
            self.open_oops = None;
            return false;
        }
        let Some(EventKind::Oops(oops)) = events.get_mut(event_index).map(|e| &mut e.kind) else {
            return false;
        };
        if let Some(c) = OOPS_DIE.captures(text) {
            let follows_bug_line = matches!(
                oops.what,
                OopsKind::NullPointerDereference
                    | OopsKind::PagingRequest
                    | OopsKind::KernelBug
                    | OopsKind::Bug
            );
            if follows_bug_line && oops.die.is_none() {
                oops.die = Some(strip_repeated_oops(group(&c, 1)).to_string());
                return true;
            }
            return false;
        }
        if text.starts_with("general protection fault")
            && oops.what == OopsKind::KernelBug
            && oops.die.is_none()
        {
            oops.die = Some(text.to_string());
            return true;
        }
        if let Some(c) = CPU_LINE.captures(text) {
            if oops.pid.is_none() {
                oops.pid = number(&c, 2);
                oops.comm = c.get(3).map(|m| m.as_str().to_string());
            }
            oops.cpu = oops.cpu.or(number(&c, 1));
            oops.kernel = oops.kernel.take().or_else(|| kernel_release(text));
            return true;
        }
        if let Some(c) = KERNEL_IP.captures(text) {
            if oops.function.is_none() {
                oops.function = c.get(1).map(|m| m.as_str().to_string());
            }
            return true;
        }
        false
    }

    /// arm64 prints the registers after an unhandled user fault; with sp and the ESR's write bit
    /// the stack-overflow check can be made as on x86.
    fn continue_arm64_fault(&mut self, index: usize, text: &str, events: &mut [KernelEvent]) -> bool {
        let Some((event_index, start)) = self.open_arm64_fault else {
            return false;
        };
        if index - start > OOPS_FOLLOW_UP_RECORDS {
            self.open_arm64_fault = None;
            return false;
        }
        let Some(c) = ARM64_SP.captures(text) else {
            return false;
        };
        if let Some(EventKind::Segfault(fault)) = events.get_mut(event_index).map(|e| &mut e.kind) {
            fault.sp = hex_number(group(&c, 1));
            fault.likely_stack_overflow = match (fault.esr, fault.address, fault.sp) {
                (Some(esr), Some(address), Some(sp)) => {
                    arm64_user_write(esr) && address.abs_diff(sp) <= STACK_GUARD_BYTES
                }
                _ => false,
            };
        }
        self.open_arm64_fault = None;
        true
    }

    /// The further lines of one machine-check or CPER report, printed back to back with the same
    /// prefix.
    fn continue_hardware(&mut self, index: usize, text: &str, events: &mut [KernelEvent]) -> bool {
        let Some((event_index, last, prefix)) = &mut self.open_hardware else {
            return false;
        };
        if index != *last + 1 || !text.starts_with(prefix.as_str()) {
            self.open_hardware = None;
            return false;
        }
        let Some(EventKind::HardwareError(hw)) = events.get_mut(*event_index).map(|e| &mut e.kind) else {
            return false;
        };
        hw.lines += 1;
        hw.severity = hw.severity.take().or_else(|| hardware_severity(text));
        if let Some(c) = MCE_BANK.captures(text) {
            hw.cpu = hw.cpu.or(number(&c, 1));
            hw.bank = hw.bank.or(number(&c, 2));
        }
        *last = index;
        true
    }
}

// Segfaults and traps (arch/x86/mm/fault.c show_signal_msg, arch/x86/kernel/traps.c,
// arch/arm64/mm/fault.c).
static SEGFAULT: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^(.*)\[([0-9]+)\]: segfault at ([0-9a-fA-F]+) ip (\S+) sp (\S+) error ([0-9a-fA-F]+)(.*)$")
});
static TRAP: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^(?:traps: )?(.*)\[([0-9]+)\] (general protection(?: fault)?|trap (.+?)) ip:(\S+) sp:(\S+) error:([0-9a-fA-F]+)(.*)$",
    )
});
static ARM64_FAULT: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^(.*)\[([0-9]+)\]: unhandled (.+?) \(([0-9]+)\) at 0x([0-9a-fA-F]+), esr 0x([0-9a-fA-F]+)(.*)$")
});
/// The stack pointer in an arm64 register dump: `sp : 0000ffffcd913020`.
static ARM64_SP: LazyLock<Regex> = LazyLock::new(|| rx(r"^sp : ([0-9a-fA-F]+)"));
/// print_vma_addr: ` in <file>[<start>+<size>]`, since 6.x ` in <file>[<ip offset>,<start>+<size>]`.
static VMA: LazyLock<Regex> =
    LazyLock::new(|| rx(r" in (.+?)\[(?:([0-9a-fA-F]+),)?([0-9a-fA-F]+)\+([0-9a-fA-F]+)\]"));
static LIKELY_CPU: LazyLock<Regex> =
    LazyLock::new(|| rx(r" likely on CPU ([0-9]+) \(core ([0-9]+), socket ([0-9]+)\)"));

static HUNG_TASK: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^INFO: task (.+):([0-9]+) blocked for more than ([0-9]+) seconds"));

// Oopses, BUGs, lockups, stalls and panics.
static SOFT_LOCKUP: LazyLock<Regex> =
    LazyLock::new(|| rx(r"BUG: soft lockup - CPU#([0-9]+) stuck for ([0-9]+)s! \[(.*):([0-9]+)\]"));
static HARD_LOCKUP: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(?i)watchdog:? detected hard LOCKUP on cpu ([0-9]+)"));
static RCU_STALL: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^(?:rcu: )?INFO: ((?:rcu_[a-z_]+|rcu_preempt|rcu_sched|rcu_bh) (?:self-detected stall|detected (?:expedited )?stall).*)$",
    )
});
static PANIC: LazyLock<Regex> = LazyLock::new(|| rx(r"^Kernel panic - not syncing:\s*(.*)$"));
static KERNEL_BUG: LazyLock<Regex> = LazyLock::new(|| rx(r"^kernel BUG at (.+?)!?$"));
static NULL_DEREF: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^(?:BUG: kernel NULL pointer dereference, address:|BUG: unable to handle kernel NULL pointer dereference at|Unable to handle kernel NULL pointer dereference at virtual address)\s*(\S*)",
    )
});
static PAGING: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^(?:BUG: unable to handle (?:kernel paging request at|page fault for address:)|Unable to handle kernel .+? at virtual address)\s*(\S*)",
    )
});
/// `Oops: 0000 [#1] SMP`, 6.x `Oops: Oops: 0002 [#1]`, arm `Internal error: Oops: 96000004 [#1]`.
static OOPS_DIE: LazyLock<Regex> = LazyLock::new(|| rx(r"^(?:Internal error: )?Oops(?: - BUG)?: (.*)$"));
static CPU_LINE: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^CPU: ([0-9]+) (?:UID: [0-9]+ )?PID: ([0-9]+) Comm: (.+?) (?:Kdump: loaded )?(?:Not tainted|Tainted:)",
    )
});
static KERNEL_IP: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^(?:RIP: 0010:|IP: (?:\[<[0-9a-f]+>\]\s*)?|pc : )([A-Za-z_.][\w.]*\+0x[0-9a-f]+/0x[0-9a-f]+)")
});

// Block devices and filesystems.
static BLOCK_IO: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^(?:[A-Za-z_]+: )?([A-Za-z/ -]+?) error, dev ([^,\s]+), sector ([0-9]+)(?: op 0x[0-9a-fA-F]+:\(([A-Z_]+)\))?",
    )
});
static BUFFER_IO: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^Buffer I/O error on dev(?:ice)? ([^,\s]+)(?:, logical block ([0-9]+))?(?:, (.*))?$")
});
static EXT_ERROR: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^(EXT[234])-fs error \(device ([^)]+)\)(?: in)?:?\s*(.*)$"));
static FS_PREFIX: LazyLock<Regex> = LazyLock::new(|| rx(r"^(\S+?)(?:-fs)? \(([^)\s]+)[^)]*\):"));
static JOURNAL_ABORT: LazyLock<Regex> = LazyLock::new(|| rx(r"^Aborting journal on device (\S+?)\.?$"));
static XFS: LazyLock<Regex> = LazyLock::new(|| rx(r"^XFS \(([^)]+)\): (.*)$"));
static BTRFS_READONLY: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^BTRFS (?:info|error|warning|critical) \(device ([^)\s]+)[^)]*\):? forced readonly")
});
static BTRFS_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^BTRFS(?: (?:error|critical)|: error) \(device ([^)\s]+)[^)]*\)(?: in)?:?\s*(.*)$")
});
static NVME_TIMEOUT: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^nvme (nvme[0-9]+): I/O .*?QID ([0-9]+) timeout, (.*)$"));
static NVME_RESET: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^nvme (nvme[0-9]+): (controller is down; will reset.*|Device not ready; aborting reset.*)$")
});

// Hardware errors (arch/x86/kernel/cpu/mce, drivers/acpi/apei/ghes.c, drivers/edac).
static MCE_BANK: LazyLock<Regex> =
    LazyLock::new(|| rx(r"CPU ([0-9]+): Machine Check(?: Exception)?: [0-9a-fA-F]+ Bank ([0-9]+)"));
static CPER_PREFIX: LazyLock<Regex> = LazyLock::new(|| rx(r"^\{([0-9]+)\}\[Hardware Error\]: "));
static CPER_SEVERITY: LazyLock<Regex> = LazyLock::new(|| rx(r"event severity: (\w+)"));
static EDAC: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^EDAC (?:\S+ )?(MC[0-9]+): (?:([0-9]+) )?(CE|UE)\b\s*(.*)$"));

// Networking and limits.
static SYN_FLOOD: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(?i)possible SYN flooding on port (\S+)\. (Sending cookies|Dropping request)"));
static CONNTRACK: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(?:^|\s)([a-z_]*conntrack): table full, dropping packet"));
static FILE_MAX: LazyLock<Regex> = LazyLock::new(|| rx(r"VFS: file-max limit ([0-9]+) reached"));
static ORPHANS: LazyLock<Regex> = LazyLock::new(|| rx(r"too many (?:of )?orphaned sockets"));
static FORK_REJECTED: LazyLock<Regex> =
    LazyLock::new(|| rx(r"cgroup: fork rejected by pids controller in (.+)$"));
static SUPPRESSED: LazyLock<Regex> = LazyLock::new(|| rx(r"^(.+?): ([0-9]+) callbacks suppressed$"));
static PRINTK_DROPPED: LazyLock<Regex> = LazyLock::new(|| rx(r"^\*\* ([0-9]+) printk messages dropped \*\*"));

/// The event a single line shows, if any. Cheap substring tests guard the regexes, so that the
/// thousands of stack-trace and task-table lines of a big log cost little.
fn recognise(text: &str) -> Option<EventKind> {
    if text.contains("]: segfault at ") {
        return segfault(text);
    }
    if text.contains(" ip:") && (text.contains("] general protection") || text.contains("] trap ")) {
        return trap(text);
    }
    if text.contains("]: unhandled ") && text.contains(", esr 0x") {
        return arm64_fault(text);
    }
    if text.starts_with("INFO: task ") {
        return HUNG_TASK.captures(text).and_then(|c| {
            Some(EventKind::HungTask(HungTask {
                pid: number(&c, 2)?,
                comm: group(&c, 1).to_string(),
                blocked_secs: number(&c, 3)?,
            }))
        });
    }
    if might_be_oops(text)
        && let Some(oops) = oops(text)
    {
        return Some(EventKind::Oops(oops));
    }
    if (text.contains("rror")
        || text.contains("Remounting")
        || text.starts_with("XFS")
        || text.starts_with("Aborting journal")
        || text.starts_with("nvme")
        || text.starts_with("BTRFS"))
        && let Some(io) = io_error(text)
    {
        return Some(EventKind::IoError(io));
    }
    if text.contains("[Hardware Error]")
        || text.starts_with("Machine check events logged")
        || text.starts_with("EDAC ")
    {
        return hardware_error(text).map(EventKind::HardwareError);
    }
    if text.contains("SYN flooding") {
        return SYN_FLOOD.captures(text).map(|c| {
            let before = c.get(0).map_or("", |m| &text[..m.start()]);
            let port = group(&c, 1).to_string();
            EventKind::SynFlood(SynFlood {
                ipv6: before.contains("v6") || port.starts_with('['),
                port,
                action: c
                    .get(2)
                    .map(|m| m.as_str().to_ascii_lowercase().replace(' ', "_")),
            })
        });
    }
    if text.contains("table full, dropping packet") {
        return CONNTRACK.captures(text).map(|c| {
            EventKind::ConntrackFull(ConntrackFull {
                table: group(&c, 1).to_string(),
            })
        });
    }
    if text.contains("file-max limit") {
        return FILE_MAX
            .captures(text)
            .map(|c| EventKind::FileMax(FileMax { limit: number(&c, 1) }));
    }
    if text.contains("consider tuning tcp_mem") || text.starts_with("Out of socket memory") {
        return Some(EventKind::TcpMem(TcpMem {
            variant: "out_of_memory".to_string(),
        }));
    }
    if text.contains("orphaned sockets") && ORPHANS.is_match(text) {
        return Some(EventKind::TcpMem(TcpMem {
            variant: "too_many_orphaned_sockets".to_string(),
        }));
    }
    if text.contains("fork rejected by pids controller") {
        return FORK_REJECTED.captures(text).map(|c| {
            EventKind::ForkRejected(ForkRejected {
                cgroup: group(&c, 1).to_string(),
            })
        });
    }
    if text.ends_with("callbacks suppressed") {
        return SUPPRESSED.captures(text).and_then(|c| {
            Some(EventKind::Lost(LostEvent {
                what: "callbacks_suppressed".to_string(),
                name: Some(group(&c, 1).to_string()),
                count: number(&c, 2)?,
                after_seq: None,
            }))
        });
    }
    if text.starts_with("** ") {
        return PRINTK_DROPPED.captures(text).and_then(|c| {
            Some(EventKind::Lost(LostEvent {
                what: "printk_dropped".to_string(),
                name: None,
                count: number(&c, 1)?,
                after_seq: None,
            }))
        });
    }
    None
}

/// `%s%s[%d]: segfault at %lx ip %px sp %px error %lx` + print_vma_addr + ` likely on CPU ...`.
fn segfault(text: &str) -> Option<EventKind> {
    let c = SEGFAULT.captures(text)?;
    let address = hex_number(group(&c, 3));
    let ip = hex_number(group(&c, 4));
    let sp = hex_number(group(&c, 5));
    let error_code = hex_number(group(&c, 6));
    let error = error_code.map(PageFaultError::from_code);
    let likely_stack_overflow = match (error, address, sp) {
        (Some(bits), Some(address), Some(sp)) => {
            bits.user && bits.write && address.abs_diff(sp) <= STACK_GUARD_BYTES
        }
        _ => false,
    };
    let mut fault = Segfault {
        pid: number(&c, 2)?,
        comm: group(&c, 1).to_string(),
        fault: "segfault".to_string(),
        address,
        ip,
        sp,
        error_code,
        error,
        likely_stack_overflow,
        ..Segfault::default()
    };
    add_vma_and_cpu(&mut fault, group(&c, 7));
    Some(EventKind::Segfault(fault))
}

/// `traps: %s[%d] general protection fault ip:%lx sp:%lx error:%lx` (3.x: `general protection`),
/// `traps: %s[%d] trap %s ip:%lx sp:%lx error:%lx` (`divide error`, `invalid opcode`, ...).
fn trap(text: &str) -> Option<EventKind> {
    let c = TRAP.captures(text)?;
    let fault = match c.get(4) {
        Some(name) => name.as_str().to_string(),
        None => "general protection fault".to_string(),
    };
    let mut segfault = Segfault {
        pid: number(&c, 2)?,
        comm: group(&c, 1).to_string(),
        fault,
        ip: hex_number(group(&c, 5)),
        sp: hex_number(group(&c, 6)),
        error_code: hex_number(group(&c, 7)),
        ..Segfault::default()
    };
    add_vma_and_cpu(&mut segfault, group(&c, 8));
    Some(EventKind::Segfault(segfault))
}

/// arm64 before 4.19: `%s[%d]: unhandled %s (%d) at 0x%08lx, esr 0x%03x` + `, in ...`.
fn arm64_fault(text: &str) -> Option<EventKind> {
    let c = ARM64_FAULT.captures(text)?;
    let mut segfault = Segfault {
        pid: number(&c, 2)?,
        comm: group(&c, 1).to_string(),
        fault: group(&c, 3).to_string(),
        address: hex_number(group(&c, 5)),
        esr: hex_number(group(&c, 6)),
        ..Segfault::default()
    };
    add_vma_and_cpu(&mut segfault, group(&c, 7));
    Some(EventKind::Segfault(segfault))
}

/// ESR_ELx: exception class 0x24 is a data abort from a lower exception level (user mode), and for
/// data aborts bit 6 (WnR) says the access was a write.
fn arm64_user_write(esr: u64) -> bool {
    esr >> 26 == 0x24 && esr & (1 << 6) != 0
}

fn add_vma_and_cpu(fault: &mut Segfault, tail: &str) {
    if let Some(v) = VMA.captures(tail) {
        fault.object = Some(group(&v, 1).to_string());
        fault.object_start = hex_number(group(&v, 3));
        fault.object_size = hex_number(group(&v, 4));
        fault.ip_offset = match v.get(2) {
            Some(printed) => hex_number(printed.as_str()),
            None => fault
                .ip
                .zip(fault.object_start)
                .and_then(|(ip, start)| ip.checked_sub(start)),
        };
    }
    if let Some(cpu) = LIKELY_CPU.captures(tail) {
        fault.cpu = number(&cpu, 1);
        fault.core = number(&cpu, 2);
        fault.socket = number(&cpu, 3);
    }
}

fn oops(text: &str) -> Option<Oops> {
    let bare = |what: OopsKind, detail: &str| Oops {
        what,
        detail: detail.to_string(),
        pid: None,
        comm: None,
        cpu: None,
        stuck_secs: None,
        address: None,
        location: None,
        function: None,
        die: None,
        kernel: None,
    };
    if text.contains("BUG: soft lockup") {
        let c = SOFT_LOCKUP.captures(text)?;
        return Some(Oops {
            cpu: number(&c, 1),
            stuck_secs: number(&c, 2),
            comm: Some(group(&c, 3).to_string()),
            pid: number(&c, 4),
            ..bare(OopsKind::SoftLockup, c.get(0).map_or("", |m| m.as_str()))
        });
    }
    if text.contains("hard LOCKUP") {
        let c = HARD_LOCKUP.captures(text)?;
        return Some(Oops {
            cpu: number(&c, 1),
            ..bare(OopsKind::HardLockup, text)
        });
    }
    if text.contains("INFO: rcu") {
        let c = RCU_STALL.captures(text)?;
        return Some(bare(OopsKind::RcuStall, group(&c, 1)));
    }
    if let Some(c) = PANIC.captures(text) {
        return Some(bare(OopsKind::Panic, group(&c, 1)));
    }
    if let Some(c) = KERNEL_BUG.captures(text) {
        return Some(Oops {
            location: Some(group(&c, 1).to_string()),
            ..bare(OopsKind::KernelBug, text)
        });
    }
    if let Some(c) = NULL_DEREF.captures(text) {
        return Some(Oops {
            address: hex_number(group(&c, 1)),
            ..bare(OopsKind::NullPointerDereference, text)
        });
    }
    if let Some(c) = PAGING.captures(text) {
        return Some(Oops {
            address: hex_number(group(&c, 1)),
            ..bare(OopsKind::PagingRequest, text)
        });
    }
    if let Some(c) = OOPS_DIE.captures(text) {
        let detail = strip_repeated_oops(group(&c, 1));
        let what = if detail.starts_with("general protection fault") {
            OopsKind::GeneralProtectionFault
        } else {
            OopsKind::Oops
        };
        return Some(bare(what, detail));
    }
    // Kernel mode only: the user-mode trap starts with `traps:` or the task name.
    if let Some(detail) = text.strip_prefix("general protection fault") {
        return Some(bare(
            OopsKind::GeneralProtectionFault,
            detail.trim_start_matches([',', ':', ' ']),
        ));
    }
    // WARNING: splats are left out on purpose: WARN_ON fires for many recoverable driver
    // conditions, and kernel.oops is critical.
    if let Some(detail) = text.strip_prefix("BUG: ") {
        return Some(bare(OopsKind::Bug, detail));
    }
    None
}

/// The starts of the oops lines [`oops`] knows; everything else skips its regexes.
fn might_be_oops(text: &str) -> bool {
    const STARTS: [&str; 12] = [
        "BUG",
        "watchdog",
        "NMI watchdog",
        "Watchdog",
        "rcu: INFO",
        "INFO: rcu",
        "Kernel panic",
        "kernel BUG",
        "Unable to handle",
        "Oops",
        "Internal error",
        "general protection fault",
    ];
    STARTS.iter().any(|s| text.starts_with(s))
}

fn strip_repeated_oops(detail: &str) -> &str {
    let mut detail = detail;
    while let Some(rest) = detail.strip_prefix("Oops: ") {
        detail = rest;
    }
    detail
}

fn io_error(text: &str) -> Option<IoError> {
    let base = |what: IoErrorKind| IoError {
        what,
        device: None,
        filesystem: None,
        sector: None,
        block: None,
        op: None,
        error: None,
        detail: None,
    };
    if text.contains(" error, dev ")
        && let Some(c) = BLOCK_IO.captures(text)
    {
        return Some(IoError {
            device: Some(group(&c, 2).to_string()),
            sector: number(&c, 3),
            op: c.get(4).map(|m| m.as_str().to_string()),
            error: Some(group(&c, 1).trim().to_string()),
            ..base(IoErrorKind::BlockIo)
        });
    }
    if let Some(c) = BUFFER_IO.captures(text) {
        return Some(IoError {
            device: Some(group(&c, 1).to_string()),
            block: number(&c, 2),
            detail: c.get(3).map(|m| m.as_str().to_string()),
            ..base(IoErrorKind::BufferIo)
        });
    }
    if let Some(c) = EXT_ERROR.captures(text) {
        return Some(IoError {
            filesystem: Some(group(&c, 1).to_ascii_lowercase()),
            device: Some(group(&c, 2).to_string()),
            detail: Some(group(&c, 3).to_string()),
            ..base(IoErrorKind::FsError)
        });
    }
    if text.contains("Remounting filesystem read-only") {
        let prefix = FS_PREFIX.captures(text);
        return Some(IoError {
            filesystem: prefix.as_ref().map(|c| group(c, 1).to_ascii_lowercase()),
            device: prefix.as_ref().map(|c| group(c, 2).to_string()),
            ..base(IoErrorKind::RemountReadOnly)
        });
    }
    if let Some(c) = JOURNAL_ABORT.captures(text) {
        // jbd2 names the journal `<dev>-<inode>`: sda1-8.
        let journal = group(&c, 1);
        let device = match journal.rsplit_once('-') {
            Some((dev, ino)) if !dev.is_empty() && ino.bytes().all(|b| b.is_ascii_digit()) => dev,
            _ => journal,
        };
        return Some(IoError {
            device: Some(device.to_string()),
            detail: Some(journal.to_string()),
            ..base(IoErrorKind::JournalAborted)
        });
    }
    if let Some(c) = XFS.captures(text) {
        let message = group(&c, 2);
        let what = if message.contains("xfs_do_force_shutdown")
            || message.contains("Shutting down filesystem")
            || message.contains("has been shut down")
        {
            IoErrorKind::FsShutdown
        } else if message.contains("metadata I/O error") {
            IoErrorKind::MetadataIo
        } else if message.contains("Corruption") || message.contains("Internal error") {
            IoErrorKind::FsError
        } else {
            return None;
        };
        return Some(IoError {
            filesystem: Some("xfs".to_string()),
            device: Some(group(&c, 1).to_string()),
            detail: Some(message.to_string()),
            ..base(what)
        });
    }
    if let Some(c) = BTRFS_READONLY.captures(text) {
        return Some(IoError {
            filesystem: Some("btrfs".to_string()),
            device: Some(group(&c, 1).to_string()),
            ..base(IoErrorKind::RemountReadOnly)
        });
    }
    if let Some(c) = BTRFS_ERROR.captures(text) {
        return Some(IoError {
            filesystem: Some("btrfs".to_string()),
            device: Some(group(&c, 1).to_string()),
            detail: Some(group(&c, 2).to_string()),
            ..base(IoErrorKind::FsError)
        });
    }
    if let Some(c) = NVME_TIMEOUT.captures(text) {
        return Some(IoError {
            device: Some(group(&c, 1).to_string()),
            detail: Some(format!("QID {}: {}", group(&c, 2), group(&c, 3))),
            ..base(IoErrorKind::NvmeTimeout)
        });
    }
    if let Some(c) = NVME_RESET.captures(text) {
        return Some(IoError {
            device: Some(group(&c, 1).to_string()),
            detail: Some(group(&c, 2).to_string()),
            ..base(IoErrorKind::NvmeReset)
        });
    }
    None
}

fn hardware_error(text: &str) -> Option<HardwareError> {
    let mut hw = HardwareError {
        source: "other".to_string(),
        severity: hardware_severity(text),
        cpu: None,
        bank: None,
        count: None,
        controller: None,
        detail: text.to_string(),
        lines: 1,
    };
    if let Some(c) = EDAC.captures(text) {
        hw.source = "edac".to_string();
        hw.controller = Some(group(&c, 1).to_string());
        hw.count = number(&c, 2).or(Some(1));
        hw.severity = Some(
            if group(&c, 3) == "UE" {
                "uncorrected"
            } else {
                "corrected"
            }
            .to_string(),
        );
        hw.detail = group(&c, 4).to_string();
        return Some(hw);
    }
    if text.starts_with("EDAC ") {
        return None;
    }
    if text.starts_with("mce: ") || text.starts_with("Machine check events logged") {
        hw.source = "mce".to_string();
    } else if CPER_PREFIX.is_match(text) {
        hw.source = "cper".to_string();
    }
    if let Some((_, detail)) = text.split_once("[Hardware Error]: ") {
        hw.detail = detail.to_string();
    }
    if let Some(c) = MCE_BANK.captures(text) {
        hw.cpu = number(&c, 1);
        hw.bank = number(&c, 2);
    }
    Some(hw)
}

/// What every line of one hardware report starts with: `mce: [Hardware Error]: `, `{3}[Hardware Error]: `.
fn hardware_prefix(text: &str, source: &str) -> String {
    match text.find("[Hardware Error]: ") {
        Some(at) if source != "edac" => text[..at + "[Hardware Error]: ".len()].to_string(),
        // EDAC lines are one event each; a prefix that no line starts with ends the report.
        _ => "\u{0}".to_string(),
    }
}

fn hardware_severity(text: &str) -> Option<String> {
    if let Some(c) = CPER_SEVERITY.captures(text) {
        return Some(group(&c, 1).to_ascii_lowercase());
    }
    if text.contains("Uncorrected") || text.contains("uncorrected") {
        return Some("uncorrected".to_string());
    }
    if text.contains("Corrected") || text.contains("corrected error") {
        return Some("corrected".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> EventKind {
        recognise(text).unwrap_or_else(|| panic!("not recognised: {text}"))
    }

    fn segv(text: &str) -> Segfault {
        match kind(text) {
            EventKind::Segfault(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn oops_of(text: &str) -> Oops {
        match kind(text) {
            EventKind::Oops(o) => o,
            other => panic!("{other:?}"),
        }
    }

    fn io(text: &str) -> IoError {
        match kind(text) {
            EventKind::IoError(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn segfault_6x_with_file_offset_and_cpu() {
        let s = segv(
            "stackhog[8238]: segfault at 7ffcd5af7efc ip 000055a463fca134 sp 00007ffcd5af7ef0 error 6 in stackhog[1134,55a463fca000+1000] likely on CPU 1 (core 1, socket 0)",
        );
        assert_eq!(
            (s.pid, s.comm.as_str(), s.fault.as_str()),
            (8238, "stackhog", "segfault")
        );
        assert_eq!(s.address, Some(0x7ffcd5af7efc));
        assert_eq!(s.ip, Some(0x55a463fca134));
        assert_eq!(s.sp, Some(0x7ffcd5af7ef0));
        assert_eq!(s.error_code, Some(6));
        let bits = s.error.unwrap_or_default();
        assert!(bits.user && bits.write && !bits.protection && !bits.instruction_fetch);
        assert_eq!(bits.to_string(), "user write, page not mapped");
        assert_eq!(s.object.as_deref(), Some("stackhog"));
        assert_eq!(
            (s.object_start, s.object_size, s.ip_offset),
            (Some(0x55a463fca000), Some(0x1000), Some(0x1134))
        );
        assert_eq!((s.cpu, s.core, s.socket), (Some(1), Some(1), Some(0)));
        assert!(s.likely_stack_overflow);
    }

    #[test]
    fn segfault_old_format_null_read_is_not_a_stack_overflow() {
        let s = segv(
            "sniproxy[7827]: segfault at 1000 ip 00007fbbeed70cba sp 00007fff7179ecc0 error 4 in libc-2.13.so[7fbbeed2b000+182000]",
        );
        assert_eq!(s.object.as_deref(), Some("libc-2.13.so"));
        assert_eq!(s.ip_offset, Some(0x7fbbeed70cba - 0x7fbbeed2b000));
        assert_eq!(s.cpu, None);
        assert!(!s.likely_stack_overflow);
        assert!(s.error.is_some_and(|e| e.user && !e.write));
        // A write below sp but further than a page away is not called a stack overflow either.
        let s = segv("a b[1]: segfault at 7ffc00000000 ip 0000000000401000 sp 00007ffc00002000 error 6");
        assert_eq!(s.comm, "a b");
        assert!(!s.likely_stack_overflow);
        assert_eq!(s.object, None);
    }

    #[test]
    fn traps_and_arm64_faults() {
        let s = segv(
            "traps: faulty[12419] general protection fault ip:5608940581b4 sp:7ffcacd3b7b0 error:0 in faulty[11b4,560894058000+1000]",
        );
        assert_eq!(
            (s.pid, s.fault.as_str(), s.ip_offset),
            (12419, "general protection fault", Some(0x11b4))
        );
        assert_eq!(s.error, None);
        let s = segv(
            "traps: divz[12551] trap divide error ip:55a3862b014b sp:7ffc89a89110 error:0 in divz[114b,55a3862b0000+1000]",
        );
        assert_eq!((s.comm.as_str(), s.fault.as_str()), ("divz", "divide error"));
        let s = segv("java[3021] general protection ip:7f3c sp:7ffd error:0 in libjvm.so[7f00+1000]");
        assert_eq!(s.fault, "general protection fault");
        let s =
            segv("polipo[1657]: unhandled level 3 translation fault (11) at 0xffffcd912fe0, esr 0x92000047");
        assert_eq!((s.pid, s.fault.as_str()), (1657, "level 3 translation fault"));
        assert_eq!((s.address, s.esr), (Some(0xffffcd912fe0), Some(0x92000047)));
    }

    #[test]
    fn hung_task_takes_the_printed_number() {
        let EventKind::HungTask(h) = kind("INFO: task kworker/u8:2:123 blocked for more than 122 seconds.")
        else {
            panic!()
        };
        assert_eq!(
            (h.pid, h.comm.as_str(), h.blocked_secs),
            (123, "kworker/u8:2", 122)
        );
    }

    #[test]
    fn oops_kinds() {
        let o = oops_of("watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:4567]");
        assert_eq!(
            (o.what, o.cpu, o.stuck_secs),
            (OopsKind::SoftLockup, Some(3), Some(23))
        );
        assert_eq!((o.pid, o.comm.as_deref()), (Some(4567), Some("kworker/3:1")));
        let o = oops_of("NMI watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [java:99]");
        assert_eq!(o.pid, Some(99));
        let o = oops_of("rcu: INFO: rcu_sched self-detected stall on CPU");
        assert_eq!(
            (o.what, o.detail.as_str()),
            (OopsKind::RcuStall, "rcu_sched self-detected stall on CPU")
        );
        assert_eq!(
            oops_of("INFO: rcu_preempt detected stalls on CPUs/tasks:").what,
            OopsKind::RcuStall
        );
        let o = oops_of("Kernel panic - not syncing: Fatal exception");
        assert_eq!((o.what, o.detail.as_str()), (OopsKind::Panic, "Fatal exception"));
        let o = oops_of("kernel BUG at mm/slub.c:3878!");
        assert_eq!(
            (o.what, o.location.as_deref()),
            (OopsKind::KernelBug, Some("mm/slub.c:3878"))
        );
        let o = oops_of("BUG: kernel NULL pointer dereference, address: 0000000000000008");
        assert_eq!((o.what, o.address), (OopsKind::NullPointerDereference, Some(8)));
        let o = oops_of("BUG: unable to handle kernel NULL pointer dereference at           (null)");
        assert_eq!((o.what, o.address), (OopsKind::NullPointerDereference, None));
        assert_eq!(
            oops_of("BUG: unable to handle page fault for address: ffffa0f5c0000000").address,
            Some(0xffffa0f5c0000000)
        );
        assert_eq!(
            oops_of("Unable to handle kernel paging request at virtual address dead").what,
            OopsKind::PagingRequest
        );
        let o = oops_of("general protection fault: 0000 [#1] SMP");
        assert_eq!(
            (o.what, o.detail.as_str()),
            (OopsKind::GeneralProtectionFault, "0000 [#1] SMP")
        );
        let o = oops_of(
            "Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1] PREEMPT SMP",
        );
        assert_eq!(o.what, OopsKind::GeneralProtectionFault);
        let o = oops_of("Oops: Oops: 0002 [#1] SMP NOPTI");
        assert_eq!(
            (o.what, o.detail.as_str()),
            (OopsKind::Oops, "0002 [#1] SMP NOPTI")
        );
        assert_eq!(
            oops_of("Internal error: Oops: 96000004 [#1] PREEMPT SMP").what,
            OopsKind::Oops
        );
        assert_eq!(
            oops_of("BUG: scheduling while atomic: swapper/0/0/0x00000002").what,
            OopsKind::Bug
        );
        assert_eq!(
            oops_of("NMI watchdog: Watchdog detected hard LOCKUP on cpu 5").cpu,
            Some(5)
        );
        assert!(recognise("WARNING: CPU: 3 PID: 1 at kernel/foo.c:12 bar+0x1/0x2").is_none());
        assert!(recognise("---[ end Kernel panic - not syncing: Fatal exception ]---").is_none());
    }

    #[test]
    fn io_errors() {
        let e = io("blk_update_request: I/O error, dev sda, sector 12345");
        assert_eq!(
            (e.what, e.device.as_deref(), e.sector),
            (IoErrorKind::BlockIo, Some("sda"), Some(12345))
        );
        assert_eq!(e.error.as_deref(), Some("I/O"));
        let e = io("I/O error, dev vda, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 2");
        assert_eq!(
            (e.device.as_deref(), e.op.as_deref()),
            (Some("vda"), Some("WRITE"))
        );
        let e = io("blk_update_request: critical medium error, dev sdb, sector 7654 op 0x0:(READ) flags 0x0");
        assert_eq!(e.error.as_deref(), Some("critical medium"));
        assert_eq!(
            io("end_request: I/O error, dev sdc, sector 0").device.as_deref(),
            Some("sdc")
        );
        let e = io("Buffer I/O error on dev sda1, logical block 1234, lost async page write");
        assert_eq!(
            (e.what, e.device.as_deref(), e.block),
            (IoErrorKind::BufferIo, Some("sda1"), Some(1234))
        );
        assert_eq!(
            io("Buffer I/O error on device dm-0, logical block 5")
                .device
                .as_deref(),
            Some("dm-0")
        );
        let e = io(
            "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0",
        );
        assert_eq!(
            (e.what, e.filesystem.as_deref(), e.device.as_deref()),
            (IoErrorKind::FsError, Some("ext4"), Some("sda1"))
        );
        let e = io("EXT4-fs (sda1): Remounting filesystem read-only");
        assert_eq!(
            (e.what, e.device.as_deref()),
            (IoErrorKind::RemountReadOnly, Some("sda1"))
        );
        let e = io("Aborting journal on device sda1-8.");
        assert_eq!(
            (e.what, e.device.as_deref()),
            (IoErrorKind::JournalAborted, Some("sda1"))
        );
        let e = io(
            "XFS (dm-0): xfs_do_force_shutdown(0x2) called from line 1271 of file fs/xfs/xfs_log.c. Return address = 0xffffffffc02d3c1b",
        );
        assert_eq!(
            (e.what, e.device.as_deref()),
            (IoErrorKind::FsShutdown, Some("dm-0"))
        );
        assert_eq!(
            io("XFS (sdb1): metadata I/O error in \"xfs_trans_read_buf_map\" at daddr 0x2 len 1 error 5")
                .what,
            IoErrorKind::MetadataIo
        );
        assert!(recognise("XFS (sda1): Mounting V5 Filesystem").is_none());
        let e = io(
            "BTRFS error (device sda1 state EA): bdev /dev/sda1 errs: wr 1, rd 0, flush 0, corrupt 0, gen 0",
        );
        assert_eq!(
            (e.what, e.device.as_deref()),
            (IoErrorKind::FsError, Some("sda1"))
        );
        assert_eq!(
            io("BTRFS: error (device dm-1) in __btrfs_free_extent:3092: errno=-5 IO failure")
                .device
                .as_deref(),
            Some("dm-1")
        );
        assert_eq!(
            io("BTRFS info (device dm-1): forced readonly").what,
            IoErrorKind::RemountReadOnly
        );
        let e = io("nvme nvme0: I/O 123 QID 4 timeout, aborting");
        assert_eq!(
            (e.what, e.device.as_deref()),
            (IoErrorKind::NvmeTimeout, Some("nvme0"))
        );
        assert_eq!(
            io("nvme nvme1: controller is down; will reset: CSTS=0x3, PCI_STATUS=0x10").what,
            IoErrorKind::NvmeReset
        );
        assert!(recognise("EXT4-fs (vda): mounted filesystem with ordered data mode").is_none());
    }

    #[test]
    fn hardware_errors() {
        let EventKind::HardwareError(h) =
            kind("mce: [Hardware Error]: CPU 2: Machine Check: 0 Bank 5: be00000000800400")
        else {
            panic!()
        };
        assert_eq!((h.source.as_str(), h.cpu, h.bank), ("mce", Some(2), Some(5)));
        let EventKind::HardwareError(h) = kind("{1}[Hardware Error]: event severity: corrected") else {
            panic!()
        };
        assert_eq!(
            (h.source.as_str(), h.severity.as_deref()),
            ("cper", Some("corrected"))
        );
        let EventKind::HardwareError(h) = kind(
            "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x1234)",
        ) else {
            panic!()
        };
        assert_eq!(
            (h.source.as_str(), h.count, h.severity.as_deref()),
            ("edac", Some(1), Some("corrected"))
        );
        assert_eq!(h.controller.as_deref(), Some("MC0"));
        let EventKind::HardwareError(h) = kind("EDAC sbridge MC1: 3 UE something") else {
            panic!()
        };
        assert_eq!((h.count, h.severity.as_deref()), (Some(3), Some("uncorrected")));
        assert!(recognise("EDAC MC: Ver: 3.0.0").is_none());
    }

    #[test]
    fn network_and_limits() {
        let EventKind::SynFlood(s) = kind(
            "TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.  Check SNMP counters.",
        ) else {
            panic!()
        };
        assert_eq!(
            (s.port.as_str(), s.action.as_deref(), s.ipv6),
            ("8080", Some("sending_cookies"), false)
        );
        let EventKind::SynFlood(s) = kind(
            "TCP: request_sock_TCPv6: Possible SYN flooding on port [::]:443. Dropping request.  Check SNMP counters.",
        ) else {
            panic!()
        };
        assert_eq!(
            (s.port.as_str(), s.action.as_deref(), s.ipv6),
            ("[::]:443", Some("dropping_request"), true)
        );
        let EventKind::SynFlood(s) = kind("TCP: Possible SYN flooding on port 0.0.0.0:80. Sending cookies.")
        else {
            panic!()
        };
        assert_eq!(s.port, "0.0.0.0:80");
        let EventKind::ConntrackFull(c) = kind("nf_conntrack: nf_conntrack: table full, dropping packet")
        else {
            panic!()
        };
        assert_eq!(c.table, "nf_conntrack");
        let EventKind::ConntrackFull(c) = kind("ip_conntrack: table full, dropping packet.") else {
            panic!()
        };
        assert_eq!(c.table, "ip_conntrack");
        let EventKind::FileMax(m) = kind("VFS: file-max limit 65536 reached") else {
            panic!()
        };
        assert_eq!(m.limit, Some(65536));
        let EventKind::TcpMem(t) = kind("TCP: out of memory -- consider tuning tcp_mem") else {
            panic!()
        };
        assert_eq!(t.variant, "out_of_memory");
        let EventKind::TcpMem(t) = kind("TCP: too many orphaned sockets") else {
            panic!()
        };
        assert_eq!(t.variant, "too_many_orphaned_sockets");
        let EventKind::ForkRejected(r) =
            kind("cgroup: fork rejected by pids controller in /kubepods/burstable/pod1/abc")
        else {
            panic!()
        };
        assert_eq!(r.cgroup, "/kubepods/burstable/pod1/abc");
        let EventKind::Lost(l) = kind("show_signal_msg: 1 callbacks suppressed") else {
            panic!()
        };
        assert_eq!((l.name.as_deref(), l.count), (Some("show_signal_msg"), 1));
        let EventKind::Lost(l) = kind("** 12 printk messages dropped **") else {
            panic!()
        };
        assert_eq!((l.what.as_str(), l.count), ("printk_dropped", 12));
    }

    fn diagnosed(text: &str) -> Vec<KernelEvent> {
        crate::kernel_log::diagnose(&crate::kernel_log::parse_text(text, Some(2026)).records).events
    }

    #[test]
    fn an_oops_and_its_follow_up_lines_are_one_event() {
        let events = diagnosed(
            "[  10.000000] BUG: kernel NULL pointer dereference, address: 0000000000000010\n\
             [  10.000001] #PF: supervisor read access in kernel mode\n\
             [  10.000002] Oops: 0000 [#1] PREEMPT SMP NOPTI\n\
             [  10.000003] CPU: 2 PID: 4242 Comm: kworker/2:0 Not tainted 6.1.0-13-amd64 #1 Debian 6.1.55-1\n\
             [  10.000004] RIP: 0010:blk_mq_run_hw_queue+0x1c/0x140\n\
             [  10.000005] Kernel panic - not syncing: Fatal exception\n\
             [  99.000000] Oops: 0002 [#2] SMP\n",
        );
        let oopses: Vec<&Oops> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Oops(o) => Some(o),
                _ => None,
            })
            .collect();
        assert_eq!(oopses.len(), 3);
        let o = oopses[0];
        assert_eq!(
            (o.what, o.address),
            (OopsKind::NullPointerDereference, Some(0x10))
        );
        assert_eq!(o.die.as_deref(), Some("0000 [#1] PREEMPT SMP NOPTI"));
        assert_eq!(
            (o.pid, o.comm.as_deref(), o.cpu),
            (Some(4242), Some("kworker/2:0"), Some(2))
        );
        assert_eq!(o.kernel.as_deref(), Some("6.1.0-13-amd64"));
        assert_eq!(o.function.as_deref(), Some("blk_mq_run_hw_queue+0x1c/0x140"));
        assert_eq!(oopses[1].what, OopsKind::Panic);
        // The next die line ([#2]) is a new oops.
        assert_eq!(
            (oopses[2].what, oopses[2].detail.as_str()),
            (OopsKind::Oops, "0002 [#2] SMP")
        );
    }

    #[test]
    fn a_machine_check_report_is_one_event() {
        let events = diagnosed(
            "[ 5.0] mce: [Hardware Error]: Machine check events logged\n\
             [ 6.0] mce: [Hardware Error]: CPU 3: Machine Check: 0 Bank 7: cc00008000010090\n\
             [ 6.1] mce: [Hardware Error]: TSC 0 ADDR 1f7d2b2c0 MISC 90840000000028c\n\
             [ 6.2] mce: [Hardware Error]: PROCESSOR 0:50657 TIME 1587046823 SOCKET 0 APIC 6 microcode 5000021\n\
             [ 7.0] {1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 1\n\
             [ 7.1] {1}[Hardware Error]: event severity: recoverable\n\
             [ 7.2] {1}[Hardware Error]:  Error 0, type: recoverable\n\
             [ 8.0] EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#0_DIMM#0\n\
             [ 8.1] EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#0_DIMM#0\n",
        );
        type Report<'a> = (&'a str, Option<&'a str>, Option<u32>, Option<u32>, u32);
        let reports: Vec<Report> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::HardwareError(h) => {
                    Some((h.source.as_str(), h.severity.as_deref(), h.cpu, h.bank, h.lines))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            reports,
            [
                ("mce", None, Some(3), Some(7), 4),
                ("cper", Some("recoverable"), None, None, 3),
                ("edac", Some("corrected"), None, None, 1),
                ("edac", Some("corrected"), None, None, 1),
            ]
        );
    }

    #[test]
    fn one_xfs_shutdown_is_one_event() {
        let events = diagnosed(
            "[ 1.0] XFS (dm-0): metadata I/O error in \"xfs_trans_read_buf_map\" at daddr 0x2 len 1 error 5\n\
             [ 1.1] XFS (dm-0): xfs_do_force_shutdown(0x1) called from line 299 of file fs/xfs/xfs_trans_buf.c.\n\
             [ 1.2] XFS (dm-0): I/O Error Detected. Shutting down filesystem\n\
             [ 1.3] XFS (dm-0): Please unmount the filesystem and rectify the problem(s)\n\
             [ 1.4] XFS (dm-1): Filesystem has been shut down due to log error (0x2).\n",
        );
        let got: Vec<(IoErrorKind, Option<&str>)> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::IoError(io) => Some((io.what, io.device.as_deref())),
                _ => None,
            })
            .collect();
        assert_eq!(
            got,
            [
                (IoErrorKind::MetadataIo, Some("dm-0")),
                (IoErrorKind::FsShutdown, Some("dm-0")),
                (IoErrorKind::FsShutdown, Some("dm-1")),
            ]
        );
    }
}
