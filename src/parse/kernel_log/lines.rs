//! The line scanner: runs the per-line recognisers (process faults, storage, hardware, limits) over
//! records, one key line each, and joins the few lines after a key line that complete its event
//! (the `Oops:` and `CPU: .. PID: ..` lines after a `BUG:` line, the rest of a machine-check
//! report, an arm64 fault's register dump), and merges the lines of one XFS shutdown.

use super::events::{EventKind, IoError, IoErrorKind, KernelEvent, OopsKind, Segfault};
use super::record::LogRecord;
use super::{hardware, limits, process, storage};

/// The number of records after an oops's first line in which its `Oops:`, `CPU:` and `RIP:` lines
/// are looked for. An oops prints them within a dozen lines; the module list can be long.
const OOPS_FOLLOW_UP_RECORDS: usize = 40;
/// XFS prints three or four lines for one shutdown; they are one event.
const SHUTDOWN_MERGE_RECORDS: usize = 10;
/// ext4 prints its error summary's three lines back to back.
const SUMMARY_MERGE_RECORDS: usize = 3;

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
    /// The last ext4 error summary (event index, record index, device): its `initial error` and
    /// `last error` lines are added to it.
    open_fs_summary: Option<(usize, usize, Option<String>)>,
    /// The record index of an RCU stall's `Task dump for CPU N:` line: the task line follows it.
    task_dump_at: Option<usize>,
    /// A 32-bit ARM user fault waiting for the `CPU: .. PID: ..` line that names its pid (the
    /// fault, its record and record index). No pid, no event.
    pending_arm32_fault: Option<(Segfault, LogRecord, usize)>,
}

impl LineScanner {
    /// Whether the line was understood: it is an event's key line or completes one.
    pub(super) fn feed(
        &mut self,
        index: usize,
        record: &LogRecord,
        text: &str,
        events: &mut Vec<KernelEvent>,
    ) -> bool {
        if self.complete_arm32_fault(index, text, events) {
            return true;
        }
        if let Some(fault) = process::arm32_fault(text) {
            self.pending_arm32_fault = Some((fault, record.clone(), index));
            return true;
        }
        if self.continue_oops(index, text, events)
            || self.continue_hardware(index, text, events)
            || self.continue_arm64_fault(index, text, events)
        {
            return true;
        }
        let Some(kind) = recognise(text) else {
            return false;
        };
        if let EventKind::IoError(e) = &kind
            && e.what == IoErrorKind::FsError
            && self.continue_fs_summary(index, e, events)
        {
            return true;
        }
        if let EventKind::IoError(e) = &kind
            && e.what == IoErrorKind::FsShutdown
        {
            if let Some((_, at, device)) = &self.last_shutdown
                && index - at <= SHUTDOWN_MERGE_RECORDS
                && *device == e.device
            {
                return true;
            }
            self.last_shutdown = Some((events.len(), index, e.device.clone()));
        }
        match &kind {
            EventKind::Oops(_) => {
                self.open_oops = Some((events.len(), index));
                self.task_dump_at = None;
            }
            EventKind::Segfault(s) if s.esr.is_some() => self.open_arm64_fault = Some((events.len(), index)),
            EventKind::HardwareError(h) => {
                self.open_hardware = Some((events.len(), index, hardware::hardware_prefix(text, &h.source)));
            }
            EventKind::IoError(e)
                if e.detail
                    .as_deref()
                    .is_some_and(|d| d.starts_with(storage::EXT_SUMMARY_START)) =>
            {
                self.open_fs_summary = Some((events.len(), index, e.device.clone()));
            }
            _ => {}
        }
        events.push(KernelEvent::at(kind, record, index));
        true
    }

    /// The `initial error` and `last error` lines of an ext4 error summary: added to the summary's
    /// detail rather than counted as further errors.
    fn continue_fs_summary(&mut self, index: usize, error: &IoError, events: &mut [KernelEvent]) -> bool {
        let Some((event_index, last, device)) = &mut self.open_fs_summary else {
            return false;
        };
        if !storage::is_summary_line(error)
            || index - *last > SUMMARY_MERGE_RECORDS
            || *device != error.device
        {
            return false;
        }
        let Some(EventKind::IoError(summary)) = events.get_mut(*event_index).map(|e| &mut e.kind) else {
            return false;
        };
        if let (Some(detail), Some(more)) = (&mut summary.detail, &error.detail) {
            detail.push_str("; ");
            detail.push_str(more);
        }
        *last = index;
        true
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
        // An RCU stall names the stalled task in the line after `Task dump for CPU N:` (the grace-period
        // kthread's dump, also printed, is not it).
        if oops.what == OopsKind::RcuStall && oops.pid.is_none() {
            if text.starts_with("Task dump for CPU ") {
                self.task_dump_at = Some(index);
                return true;
            }
            if self.task_dump_at.is_some_and(|at| at + 1 == index) {
                self.task_dump_at = None;
                if process::complete_task_dump(oops, text) {
                    return true;
                }
            }
        }
        process::complete_oops(oops, text)
    }

    /// The `CPU: N PID: P Comm: C` line of the register dump after a 32-bit ARM user fault, with the
    /// same comm, within [`OOPS_FOLLOW_UP_RECORDS`]: the fault becomes a segfault event with that pid.
    fn complete_arm32_fault(&mut self, index: usize, text: &str, events: &mut Vec<KernelEvent>) -> bool {
        let Some((_, _, start)) = &self.pending_arm32_fault else {
            return false;
        };
        if index - start > OOPS_FOLLOW_UP_RECORDS {
            self.pending_arm32_fault = None;
            return false;
        }
        let Some((pid, comm)) = process::cpu_line_task(text) else {
            return false;
        };
        let Some((mut fault, record, start)) = self.pending_arm32_fault.take() else {
            return false;
        };
        if comm != fault.comm {
            return false;
        }
        fault.pid = pid;
        events.push(KernelEvent::at(EventKind::Segfault(fault), &record, start));
        true
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
        let fault = match events.get_mut(event_index).map(|e| &mut e.kind) {
            Some(EventKind::Segfault(fault)) => Some(fault),
            _ => None,
        };
        if !process::complete_arm64_fault(fault, text) {
            return false;
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
        // The AMD decoder (drivers/edac/mce_amd.c) prints its lines of the same machine check with
        // `[Hardware Error]: ` alone, right after `mce: [Hardware Error]: Machine check events logged`.
        let amd_decoded =
            prefix.as_str() == "mce: [Hardware Error]: " && text.starts_with("[Hardware Error]: ");
        // Each `Machine check events logged` starts a report of its own.
        let next_report = text.ends_with("Machine check events logged");
        if index != *last + 1 || next_report || !(text.starts_with(prefix.as_str()) || amd_decoded) {
            self.open_hardware = None;
            return false;
        }
        let Some(EventKind::HardwareError(hw)) = events.get_mut(*event_index).map(|e| &mut e.kind) else {
            return false;
        };
        hardware::continue_report(hw, text);
        *last = index;
        true
    }
}

/// The event a single line shows, if any. Cheap substring tests guard the regexes, so that the
/// thousands of stack-trace and task-table lines of a big log cost little.
fn recognise(text: &str) -> Option<EventKind> {
    if text.contains("]: segfault at ") {
        return process::segfault(text);
    }
    if text.contains(" ip:") && (text.contains("] general protection") || text.contains("] trap ")) {
        return process::trap(text);
    }
    if text.contains("]: unhandled ") && text.contains(", esr 0x") {
        return process::arm64_fault(text);
    }
    if text.starts_with("INFO: task ") {
        return process::hung_task(text);
    }
    if process::might_be_oops(text)
        && let Some(oops) = process::oops(text)
    {
        return Some(EventKind::Oops(oops));
    }
    if (text.contains("rror")
        || text.contains("Remounting")
        || text.starts_with("XFS")
        || text.starts_with("Aborting journal")
        || text.starts_with("nvme")
        || text.starts_with("BTRFS"))
        && let Some(io) = storage::io_error(text)
    {
        return Some(EventKind::IoError(io));
    }
    if text.contains("[Hardware Error]")
        || text.starts_with("Machine check events logged")
        || text.starts_with("EDAC ")
    {
        return hardware::hardware_error(text).map(EventKind::HardwareError);
    }
    limits::recognise(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::kernel_log::events::{IoError, Oops, OopsKind, Segfault};

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
        assert_eq!(c.netns, None);
        // Linux 6.18 on the project VM names the network namespace.
        let EventKind::ConntrackFull(c) =
            kind("nf_conntrack: nf_conntrack: table full in netns 4026532174, dropping packet")
        else {
            panic!()
        };
        assert_eq!((c.table.as_str(), c.netns), ("nf_conntrack", Some(4026532174)));
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
}
