//! Recognisers of process faults: a user process's fatal signal (segfault, trap, arm64 fault), a
//! hung task, and kernel oopses, BUGs, lockups, RCU stalls and panics, with the lines after an
//! oops that complete it. The format strings quoted are from the kernel source.

use std::sync::LazyLock;

use regex::Regex;

use super::events::{EventKind, HungTask, Oops, OopsKind, PageFaultError, Segfault};
use super::helpers::{group, hex_number, kernel_release, number, rx};

/// A page either side of sp: what the guard gap below a stack catches first.
const STACK_GUARD_BYTES: u64 = 4096;

// Segfaults and traps (arch/x86/mm/fault.c show_signal_msg, arch/x86/kernel/traps.c,
// arch/arm64/mm/fault.c).
/// The comm is what comes before `[pid]` back to a bracket: a printk caller id (`[T5006]`) or
/// anything else bracketed in front is not part of it. Before 2.6.29 x86 named the registers: `rip`/`rsp` (x86-64), `eip`/`esp` (i386), and printed no
/// ` in <file>` part.
static SEGFAULT: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"([^\[\]]+)\[([0-9]+)\]: segfault at ([0-9a-fA-F]+) [re]?ip (\S+) [re]?sp (\S+) error ([0-9a-fA-F]+)(.*)$",
    )
});
/// `traps: %s[%d] %s ip:%lx sp:%lx error:%lx` + print_vma_addr (arch/x86/kernel/traps.c). A line
/// hard-wrapped after `sp:` (a terminal or a mail client) keeps the trap without its error code.
static TRAP: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"(?:traps: )?([^\[\]]+)\[([0-9]+)\] (general protection(?: fault)?|trap (.+?)) ip:(\S+) sp:(\S+)(?: error:([0-9a-fA-F]+)(.*))?$",
    )
});
static ARM64_FAULT: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"([^\[\]]+)\[([0-9]+)\]: unhandled (.+?) \(([0-9]+)\) at 0x([0-9a-fA-F]+), esr 0x([0-9a-fA-F]+)(.*)$")
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
/// x86/arm64 `NMI watchdog: Watchdog detected hard LOCKUP on cpu N`; powerpc (arch/powerpc/kernel/watchdog.c)
/// `Watchdog CPU:N Hard LOCKUP`, `Watchdog CPU:N detected Hard LOCKUP other CPUS:...` (4.13-5.x) and
/// `CPU N self-detected hard LOCKUP @ func`, `CPU N detected hard LOCKUP on other CPUs ...` (later).
static HARD_LOCKUP: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"(?i)watchdog:? detected hard LOCKUP on cpu ([0-9]+)|^Watchdog CPU: ?([0-9]+) (?:detected )?Hard LOCKUP|^CPU ([0-9]+) (?:self-)?detected hard LOCKUP",
    )
});
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
/// Before 3.x (2.6.32, RHEL 6): `Pid: 2013, comm: badproc Tainted: G W 2.6.32-431.el6.x86_64 #1`.
static PID_LINE: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^Pid: ([0-9]+), comm: (.{1,64}?) (?:Not tainted|Tainted:)"));
/// 32-bit ARM's report of a user fault (arch/arm/mm/fault.c `__do_user_fault`, with `user_debug`):
/// `m.android.phone: unhandled page fault (11) at 0x00000000, code 0x005`. It names no pid: the
/// register dump's `CPU: N PID: P Comm: C` line that follows does.
static ARM32_FAULT: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^(\S.{0,15}?): unhandled page fault \(([0-9]+)\) at 0x([0-9a-f]+), code 0x([0-9a-f]+)$")
});
/// The task line of `sched_show_task` after an RCU stall's `Task dump for CPU N:`. Up to 5.13:
/// `%-15.15s %c` (comm, state), ` running  `, ` running task    ` or the saved pc, then free stack,
/// pid, ppid and flags: `swapper/1       R running      0     0      1 0x00000002`. From 5.14:
/// `task:%-15.15s state:%c ... pid:%-5d ...`.
static TASK_DUMP_OLD: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^(\S.{0,14}?)\s+[A-Za-z]\s+(?:running(?: task)?|[0-9a-f]{8,16})\s+[0-9]+\s+([0-9]+)\s+[0-9]+\s+0x[0-9a-f]+\s*$",
    )
});
static TASK_DUMP_NEW: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^task:(\S.{0,14}?)\s+state:[A-Za-z]\b.{0,80}?\bpid:\s*([0-9]+)\b"));
static KERNEL_IP: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^(?:RIP: 0010:|IP: (?:\[<[0-9a-f]+>\]\s*)?|pc : )([A-Za-z_.][\w.]*\+0x[0-9a-f]+/0x[0-9a-f]+)")
});

/// `INFO: task %s:%d blocked for more than %ld seconds.` (kernel/hung_task.c).
pub(super) fn hung_task(text: &str) -> Option<EventKind> {
    HUNG_TASK.captures(text).and_then(|c| {
        Some(EventKind::HungTask(HungTask {
            pid: number(&c, 2)?,
            comm: group(&c, 1).to_string(),
            blocked_secs: number(&c, 3)?,
        }))
    })
}

/// `%s%s[%d]: segfault at %lx ip %px sp %px error %lx` + print_vma_addr + ` likely on CPU ...`.
pub(super) fn segfault(text: &str) -> Option<EventKind> {
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
        comm: group(&c, 1).trim().to_string(),
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
pub(super) fn trap(text: &str) -> Option<EventKind> {
    let c = TRAP.captures(text)?;
    let fault = match c.get(4) {
        Some(name) => name.as_str().to_string(),
        None => "general protection fault".to_string(),
    };
    let mut segfault = Segfault {
        pid: number(&c, 2)?,
        comm: group(&c, 1).trim().to_string(),
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
pub(super) fn arm64_fault(text: &str) -> Option<EventKind> {
    let c = ARM64_FAULT.captures(text)?;
    let mut segfault = Segfault {
        pid: number(&c, 2)?,
        comm: group(&c, 1).trim().to_string(),
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

pub(super) fn oops(text: &str) -> Option<Oops> {
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
    if (text.contains("hard LOCKUP") || text.contains("Hard LOCKUP"))
        && let Some(c) = HARD_LOCKUP.captures(text)
    {
        return Some(Oops {
            cpu: number(&c, 1).or(number(&c, 2)).or(number(&c, 3)),
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
pub(super) fn might_be_oops(text: &str) -> bool {
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
    STARTS.iter().any(|s| text.starts_with(s)) || (text.starts_with("CPU ") && text.contains(" hard LOCKUP"))
}

fn strip_repeated_oops(detail: &str) -> &str {
    let mut detail = detail;
    while let Some(rest) = detail.strip_prefix("Oops: ") {
        detail = rest;
    }
    detail
}

/// A line that completes an oops whose first line came before: the die line after a `BUG:` line,
/// the task (`CPU: N PID: P Comm: C`, 2.6's `Pid: P, comm: C`) and the faulting function. False
/// when `text` is none of them.
pub(super) fn complete_oops(oops: &mut Oops, text: &str) -> bool {
    if let Some(c) = OOPS_DIE.captures(text) {
        let follows_bug_line = matches!(
            oops.what,
            OopsKind::NullPointerDereference | OopsKind::PagingRequest | OopsKind::KernelBug | OopsKind::Bug
        );
        if follows_bug_line && oops.die.is_none() {
            oops.die = Some(strip_repeated_oops(group(&c, 1)).to_string());
            return true;
        }
        return false;
    }
    if text.starts_with("general protection fault") && oops.what == OopsKind::KernelBug && oops.die.is_none()
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
    if let Some(c) = PID_LINE.captures(text) {
        if oops.pid.is_none() {
            oops.pid = number(&c, 1);
            oops.comm = c.get(2).map(|m| m.as_str().to_string());
        }
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

/// A 32-bit ARM user fault line (see [`ARM32_FAULT`]): the fault without its pid.
pub(super) fn arm32_fault(text: &str) -> Option<Segfault> {
    let c = ARM32_FAULT.captures(text)?;
    Some(Segfault {
        comm: group(&c, 1).to_string(),
        fault: format!("unhandled page fault ({})", group(&c, 2)),
        address: hex_number(group(&c, 3)),
        error_code: u64::from_str_radix(group(&c, 4), 16).ok(),
        ..Segfault::default()
    })
}

/// The task of a `CPU: N PID: P Comm: C ...` line.
pub(super) fn cpu_line_task(text: &str) -> Option<(u32, &str)> {
    let c = CPU_LINE.captures(text)?;
    Some((number(&c, 2)?, c.get(3)?.as_str()))
}

/// The task line after an RCU stall's `Task dump for CPU N:` (see [`TASK_DUMP_OLD`]): the stalled
/// task's pid and comm. False when `text` is not that line.
pub(super) fn complete_task_dump(oops: &mut Oops, text: &str) -> bool {
    let Some(c) = TASK_DUMP_NEW
        .captures(text)
        .or_else(|| TASK_DUMP_OLD.captures(text))
    else {
        return false;
    };
    oops.pid = number(&c, 2);
    oops.comm = Some(group(&c, 1).to_string());
    true
}

/// The `sp : ` line of the register dump arm64 prints after an unhandled user fault: with sp and
/// the ESR's write bit the stack-overflow check can be made as on x86. False when `text` is not
/// that line; `fault` is the open fault, if it is still there.
pub(super) fn complete_arm64_fault(fault: Option<&mut Segfault>, text: &str) -> bool {
    let Some(c) = ARM64_SP.captures(text) else {
        return false;
    };
    if let Some(fault) = fault {
        fault.sp = hex_number(group(&c, 1));
        fault.likely_stack_overflow = match (fault.esr, fault.address, fault.sp) {
            (Some(esr), Some(address), Some(sp)) => {
                arm64_user_write(esr) && address.abs_diff(sp) <= STACK_GUARD_BYTES
            }
            _ => false,
        };
    }
    true
}
