//! Lines from kernel logs pasted into public bug reports (saved whole in
//! `tests/data/kernel_log/public-*.log`) that the parser once got wrong: one test per fix, with the
//! exact lines.

use super::*;

fn events(text: &str) -> Vec<KernelEvent> {
    diagnose(&parse_text(text, Some(2026)).records).events
}

fn oops(e: &KernelEvent) -> &Oops {
    match &e.kind {
        EventKind::Oops(o) => o,
        other => panic!("{other:?}"),
    }
}

#[test]
fn stamps_whose_fraction_was_cut_off_still_count() {
    // MIPS/CI20_linux#8 (3.0.8): the reporter cut the stamps' fractions, leaving `[  240.]`.
    let text = "[  240.] INFO: task kinteractiveup:64 blocked for more than 120 seconds.\n\
                [  240.] \"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.\n\
                [  240.] kinteractiveup  D 00000000     0    64      2 0x00100000\n";
    let log = parse_text(text, Some(2026));
    let diagnosis = diagnose(&log.records);
    assert_eq!(
        diagnosis.unrecognised.count, 0,
        "{:?}",
        diagnosis.unrecognised.examples
    );
    let events = diagnosis.events;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].kind_name(),
            events[0].pid(),
            events[0].comm(),
            events[0].mono_usec
        ),
        ("hung_task", Some(64), Some("kinteractiveup"), Some(240_000_000))
    );
}

#[test]
fn ext4_errors_name_their_task() {
    // voidlinux/void-packages#4804: a comm with blanks; stec-inc/EnhanceIO#106: plain comms.
    let text = "2016-09-12T14:15:22.100770+01:00 ok kernel: [ 1099.228378] EXT4-fs error (device sda1): ext4_lookup:1607: inode #525615: comm Cache2 I/O: deleted inode referenced: 530632\n\
                [  148.106508] EXT4-fs error (device sdb1): ext4_lookup:1584: inode #30805974: comm pacman: deleted inode referenced: 30808259\n\
                [   10.408000] EXT2-fs error (device sda1): ext2_lookup: deleted inode referenced: 8426\n";
    let events = events(text);
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind_name(), e.pid(), e.comm()))
            .collect::<Vec<_>>(),
        [
            ("io_error", None, Some("Cache2 I/O")),
            ("io_error", None, Some("pacman")),
            // ext2 prints no task: none is made up.
            ("io_error", None, None),
        ]
    );
}

#[test]
fn an_rcu_stall_names_the_task_of_its_task_dump() {
    // raspberrypi/linux#1777 (32-bit ARM, 4.x): sched_show_task's line after `Task dump for CPU 1:`.
    let text = "[  324.072607] INFO: rcu_sched self-detected stall on CPU\n\
                [  324.072632] \t1-...: (1 GPs behind) idle=7db/2/0 softirq=4884/4886 fqs=6999 \n\
                [  324.072638] \t (t=21000 jiffies g=962 c=961 q=108)\n\
                [  324.072645] Task dump for CPU 1:\n\
                [  324.072650] swapper/1       R running      0     0      1 0x00000002\n";
    let events = events(text);
    assert_eq!(events.len(), 1);
    assert_eq!(
        (oops(&events[0]).what, events[0].pid(), events[0].comm()),
        (OopsKind::RcuStall, Some(0), Some("swapper/1"))
    );
    // 5.14+ prints `task:<comm> state:<c> ... pid:<n>`; 4.14-5.13 ` running task `.
    let newer = "[  5.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n\
                 [  5.000001] Task dump for CPU 3:\n\
                 [  5.000002] task:java            state:R  running task     stack:    0 pid: 4321 ppid:  4300 flags:0x00004008\n\
                 [  6.000000] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:\n\
                 [  6.000001] Task dump for CPU 2:\n\
                 [  6.000002] kworker/2:1 R  running task        0  1234      2 0x80000008\n";
    let events = self::events(newer);
    assert_eq!(
        events.iter().map(|e| (e.pid(), e.comm())).collect::<Vec<_>>(),
        [(Some(4321), Some("java")), (Some(1234), Some("kworker/2:1"))]
    );
    // cilium/tetragon#328: the grace-period kthread's own dump is not the stalled task.
    let kthread = "[  103.087243] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:\n\
                   [  103.087821] \t(detected by 0, t=38227 jiffies, g=-1127, q=10)\n\
                   [  103.088153] rcu: RCU grace-period kthread stack dump:\n\
                   [  103.088153] rcu_sched       I15016    11      2 0x80004000\n";
    let events = self::events(kthread);
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].pid(), events[0].comm()), (None, None));
}

#[test]
fn an_amd_machine_check_and_its_decoded_lines_are_one_report() {
    // henrygd/beszel#1558: two machine checks, each decoded by mce_amd on `[Hardware Error]: ` lines.
    let text = "[  333.277343] mce: [Hardware Error]: Machine check events logged\n\
                [  333.277362] [Hardware Error]: Corrected error, no action required.\n\
                [  333.277420] [Hardware Error]: CPU:1 (19:18:1) MC17_STATUS[Over|CE|MiscV|-|-|-|SyndV|-|-|-]: 0xd820000000060150\n\
                [  333.277673] mce: [Hardware Error]: Machine check events logged\n\
                [  333.277680] [Hardware Error]: Corrected error, no action required.\n\
                [  333.277838] [Hardware Error]: cache level: RESV, tx: INSN\n";
    let events = events(text);
    let reports = events
        .iter()
        .map(|e| match &e.kind {
            EventKind::HardwareError(h) => (h.source.as_str(), h.severity.as_deref(), h.lines),
            other => panic!("{other:?}"),
        })
        .collect::<Vec<_>>();
    assert_eq!(
        reports,
        [("mce", Some("corrected"), 3), ("mce", Some("corrected"), 3)]
    );
}

#[test]
fn powerpc_hard_lockups_are_lockups() {
    // open-power/skiboot#194 (4.15 ppc64le): the task is on the `CPU:` line that follows.
    let text = "[  252.718655] Watchdog CPU:59 Hard LOCKUP\n\
                [  252.718697] CPU: 59 PID: 363 Comm: watchdog/59 Tainted: G      D          4.15.0-33-generic #36-Ubuntu\n\
                [  300.000000] CPU 3 self-detected hard LOCKUP @ snooze_loop+0x60/0x1a0\n";
    let events = events(text);
    assert_eq!(
        events
            .iter()
            .map(|e| (oops(e).what, oops(e).cpu, e.pid(), e.comm()))
            .collect::<Vec<_>>(),
        [
            (OopsKind::HardLockup, Some(59), Some(363), Some("watchdog/59")),
            (OopsKind::HardLockup, Some(3), None, None),
        ]
    );
    // The panic a hard lockup causes stays a panic (alibaba/diagnose-tools#107).
    let panic = self::events("[46223316.649832] Kernel panic - not syncing: Hard LOCKUP\n");
    assert_eq!(
        (oops(&panic[0]).what, oops(&panic[0]).detail.as_str()),
        (OopsKind::Panic, "Hard LOCKUP")
    );
}

#[test]
fn xfs_corruption_in_lower_case_and_without_a_device_is_an_fs_error() {
    // vitalif/vitastor#14 (5.x) and mattshma/docs#10 (2.6.32).
    let text = "[Mon Jul 19 10:37:35 2021] XFS (nbd0): Metadata corruption detected at xfs_dinode_verify.part.0+0x172/0x640 [xfs], inode 0x14506b6d dinode\n\
                [Mon Jul 19 10:37:36 2021] XFS (vda4): Metadata CRC error detected at xfs_dquot_buf_verify_crc+0xe6/0x120 [xfs], xfs_dquot block 0x1478 xfs_dquot_buf_verify_crc\n\
                Oct 14 15:00:04 bd15-076 kernel: XFS: Internal error XFS_WANT_CORRUPTED_RETURN at line 342 of file fs/xfs/xfs_alloc.c.  Caller 0xffffffffa01e76c2\n\
                [Mon Jul 19 10:37:37 2021] XFS (nbd0): Unmount and run xfs_repair\n";
    let errors = events(text)
        .iter()
        .map(|e| match &e.kind {
            EventKind::IoError(io) => (io.what, io.filesystem.clone(), io.device.clone()),
            other => panic!("{other:?}"),
        })
        .collect::<Vec<_>>();
    let xfs = || Some("xfs".to_string());
    assert_eq!(
        errors,
        [
            (IoErrorKind::FsError, xfs(), Some("nbd0".to_string())),
            (IoErrorKind::FsError, xfs(), Some("vda4".to_string())),
            (IoErrorKind::FsError, xfs(), None),
        ]
    );
}

#[test]
fn samsung_cpu_and_task_tags_are_caller_ids() {
    // pazos/android_kernel_samsung_goyawifi#1, ArchiDroid/android_device_samsung_i9300#149 and
    // tiann/KernelSU#260: `c0 1 (swapper/0) `, `c1 ` and `[7:weishu.kernelsu: 8408] ` after the stamp.
    let text = "[    0.693542] c0 1 (swapper/0) Unable to handle kernel paging request at virtual address 65776f70\n\
                [    0.694030] c0 1 (swapper/0) Internal error: Oops: 5 [#1] PREEMPT SMP ARM\n\
                        <1>[41740.112427] c1 Unable to handle kernel NULL pointer dereference at virtual address 00000000\n\
                [   40.055395] [7:weishu.kernelsu: 8408] KernelSU: option: 0xdeadbeef, cmd: 1\n\
                [   40.139008] [4:     libksud.so: 8487] audit: audit_lost=20 audit_rate_limit=5 audit_backlog_limit=64\n\
                [    1.000000] c2c_probe: done\n";
    let log = parse_text(text, Some(2026));
    assert_eq!(
        log.records
            .iter()
            .map(|r| (r.caller.as_deref(), r.text.as_str()))
            .collect::<Vec<_>>(),
        [
            (
                Some("T1"),
                "Unable to handle kernel paging request at virtual address 65776f70"
            ),
            (Some("T1"), "Internal error: Oops: 5 [#1] PREEMPT SMP ARM"),
            (
                Some("C1"),
                "Unable to handle kernel NULL pointer dereference at virtual address 00000000"
            ),
            (Some("T8408"), "KernelSU: option: 0xdeadbeef, cmd: 1"),
            (
                Some("T8487"),
                "audit: audit_lost=20 audit_rate_limit=5 audit_backlog_limit=64"
            ),
            (None, "c2c_probe: done"),
        ]
    );
    let diagnosis = diagnose(&log.records);
    assert_eq!(
        diagnosis.unrecognised.count, 0,
        "{:?}",
        diagnosis.unrecognised.examples
    );
    assert_eq!(
        diagnosis.events.iter().map(|e| oops(e).what).collect::<Vec<_>>(),
        [OopsKind::PagingRequest, OopsKind::NullPointerDereference]
    );
}

#[test]
fn a_32_bit_arm_user_fault_takes_its_pid_from_the_register_dump() {
    // piccolo-dev/android_device_bq_piccolo#22 (3.10 ARM): the fault line names no pid; the `CPU:` line does.
    let text = "<7>[  615.577828] m.android.phone: unhandled page fault (11) at 0x00000000, code 0x005\n\
                <1>[  615.577848] pgd = e7404000\n\
                <1>[  615.577857] [00000000] *pgd=00000000\n\
                <6>[  615.577877] CPU: 1 PID: 3262 Comm: m.android.phone Tainted: G        W    3.10.49-g28dadb3 #1\n\
                <6>[  615.577956] CPU: 1 PID: 3262 Comm: m.android.phone Tainted: G        W    3.10.49-g28dadb3 #1\n";
    let events = events(text);
    assert_eq!(events.len(), 1);
    let EventKind::Segfault(fault) = &events[0].kind else {
        panic!("{:?}", events[0]);
    };
    assert_eq!(
        (
            fault.pid,
            fault.comm.as_str(),
            fault.address,
            fault.error_code,
            events[0].mono_usec
        ),
        (3262, "m.android.phone", Some(0), Some(5), Some(615_577_828))
    );
    // Without its register dump (a cut paste), or with another task's, no pid is made up: no event.
    assert!(
        self::events(
            "<7>[  615.577828] m.android.phone: unhandled page fault (11) at 0x00000000, code 0x005\n"
        )
        .is_empty()
    );
    let other = "<7>[  615.577828] m.android.phone: unhandled page fault (11) at 0x00000000, code 0x005\n\
                 <6>[  615.577877] CPU: 1 PID: 77 Comm: kworker/1:1 Not tainted 3.10.49-g28dadb3 #1\n";
    assert!(self::events(other).is_empty());
}

#[test]
fn a_bare_iso_stamp_before_a_kernel_message_that_looks_like_a_tag() {
    // oracle/linux-uek#32 (6.12): a collector's export, ISO stamps and no host; `INFO:` is no program.
    let text = "2025-01-16T17:24:58.365Z INFO: task khugepaged:931 blocked for more than 1228 seconds.\n\
                2025-01-16T17:24:58.365Z Tainted: P OE 6.12.0-4.el9ueknext.x86_64 #1\n\
                2025-01-16T17:24:58.384Z task:khugepaged state:D stack:0 pid:931 tgid:931 ppid:2 flags:0x00004002\n\
                2025-01-16T17:25:00.000Z myapp[77]: segfault at 0 ip 0000000000401000 sp 00007ffd00000000 error 4 in myapp[400000+1000]\n";
    let events = events(text);
    assert_eq!(
        events
            .iter()
            .map(|e| (e.kind_name(), e.pid(), e.comm()))
            .collect::<Vec<_>>(),
        [("hung_task", Some(931), Some("khugepaged"))]
    );
    assert_eq!(
        events[0].time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2025-01-16T17:24:58.365+00:00")
    );
}
