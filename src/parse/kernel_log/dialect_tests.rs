//! Other people's kernel logs: one real-looking excerpt per dialect (printk caller ids, short
//! stamps, pre-2.6.29 segfaults, syslogd wall messages, RFC 5424, OpenWrt, localised `dmesg -T`,
//! `dmesg -H`, mail-wrapped lines, `journalctl -o json`, ext4 error summaries, pasted prompts), the
//! events each gives, and the lines that name an event no parser understood.

use super::*;

fn parsed(text: &str) -> ParsedLog {
    parse_text(text, Some(2026))
}

fn events(text: &str) -> Vec<KernelEvent> {
    diagnose(&parsed(text).records).events
}

fn wall(e: &KernelEvent) -> String {
    e.time.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn segfault(e: &KernelEvent) -> &Segfault {
    match &e.kind {
        EventKind::Segfault(s) => s,
        other => panic!("{other:?}"),
    }
}

fn hung(e: &KernelEvent) -> (u32, &str, u64) {
    match &e.kind {
        EventKind::HungTask(h) => (h.pid, h.comm.as_str(), h.blocked_secs),
        other => panic!("{other:?}"),
    }
}

fn io(e: &KernelEvent) -> &IoError {
    match &e.kind {
        EventKind::IoError(io) => io,
        other => panic!("{other:?}"),
    }
}

#[test]
fn printk_caller_ids_after_the_stamp() {
    // syzbot / Android: CONFIG_PRINTK_CALLER pads the id to six columns.
    let text = "[  401.343231][  T902] Memory cgroup out of memory: Killed process 8060 (python3) total-vm:278712kB, anon-rss:65124kB, file-rss:6436kB, shmem-rss:0kB, UID:0 pgtables:196kB oom_score_adj:0\n\
                [  402.000001] [    C0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [kworker/0:1:31]\n";
    let log = parsed(text);
    assert_eq!(log.records[0].caller.as_deref(), Some("T902"));
    assert_eq!(log.records[1].caller.as_deref(), Some("C0"));
    let events = diagnose(&log.records).events;
    assert_eq!(
        events.iter().map(KernelEvent::kind_name).collect::<Vec<_>>(),
        ["oom_kill", "oops"]
    );
    assert_eq!(
        (events[0].pid(), events[0].mono_usec),
        (Some(8060), Some(401_343_231))
    );
    let EventKind::Oops(oops) = &events[1].kind else {
        unreachable!()
    };
    assert_eq!(oops.what, OopsKind::SoftLockup);
    assert_eq!((oops.pid, oops.comm.as_deref()), (Some(31), Some("kworker/0:1")));
}

#[test]
fn stamps_with_few_fraction_digits_or_none() {
    let events = events(
        "[   12.3] INFO: task jbd2/sda1-8:312 blocked for more than 120 seconds.\n\
         [12] INFO: task kworker/u8:2:97 blocked for more than 241 seconds.\n\
         [ 8060]     0  8060    69678    17890   200704        0             0 python3\n",
    );
    assert_eq!(events.len(), 2);
    assert_eq!(hung(&events[0]), (312, "jbd2/sda1-8", 120));
    assert_eq!(events[0].mono_usec, Some(12_300_000));
    assert_eq!(hung(&events[1]), (97, "kworker/u8:2", 241));
    assert_eq!(events[1].mono_usec, Some(12_000_000));
    // The task-table row keeps its pid: it is no stamp.
    let log = parsed("[ 8060]     0  8060    69678 python3");
    assert_eq!(log.records[0].mono_usec, None);
}

#[test]
fn pre_2_6_29_segfaults_name_rip_and_rsp() {
    let events = events(
        "[ 3021.123456] foo[1234]: segfault at 0000000000000000 rip 00000000004004b4 rsp 00007fff5fbff7a0 error 4\n\
         Jun  3 10:12:01 box kernel: httpd[2211]: segfault at 00000000 eip 08048384 esp bfb7c7d0 error 6\n",
    );
    assert_eq!(events.len(), 2);
    let s = segfault(&events[0]);
    assert_eq!((s.pid, s.comm.as_str()), (1234, "foo"));
    assert_eq!(
        (s.address, s.ip, s.sp),
        (Some(0), Some(0x4004b4), Some(0x7fff5fbff7a0))
    );
    assert_eq!((s.error_code, s.object.as_deref()), (Some(4), None));
    let s = segfault(&events[1]);
    assert_eq!((s.pid, s.comm.as_str(), s.ip), (2211, "httpd", Some(0x8048384)));
}

#[test]
fn syslogd_wall_message_glues_the_stamp_to_the_tag() {
    let text = "Message from syslogd@db1 at Nov 23 15:54:01 ...\n\
                \x20kernel:[ 1234.5678] Kernel panic - not syncing: Fatal exception\n\
                Nov 23 15:54:02 db1 kernel:[ 1235.000001] mysqld[4242]: segfault at 8 ip 00007f3a2b1c0d9e sp 00007ffd1e2f3a40 error 4 in libc-2.17.so[7f3a2b000000+1c4000]\n";
    let log = parsed(text);
    assert_eq!(log.skipped_lines, 1);
    assert_eq!(log.records[0].text, "Kernel panic - not syncing: Fatal exception");
    assert_eq!(log.records[0].mono_usec, Some(1_234_567_800));
    let events = diagnose(&log.records).events;
    assert_eq!(events.len(), 2);
    let EventKind::Oops(panic) = &events[0].kind else {
        unreachable!()
    };
    assert_eq!(panic.what, OopsKind::Panic);
    let s = segfault(&events[1]);
    assert_eq!((s.pid, s.comm.as_str()), (4242, "mysqld"));
    assert_eq!(events[1].mono_usec, Some(1_235_000_001));
    assert_eq!(wall(&events[1]), "2026-11-23T15:54:02+00:00");
}

#[test]
fn rfc5424_lines_of_the_kernel_only() {
    let text = "<4>1 2026-11-23T15:54:01.123456+00:00 node-7 kernel - - - [ 9120.000123] nginx[3300]: segfault at 0 ip 000055d0c0ffee00 sp 00007ffe12345670 error 4 in nginx[55d0c0f00000+100000]\n\
                <3>1 2026-11-23T15:54:02+01:00 node-7 kernel - - [meta sequenceId=\"7\"] INFO: task dockerd:812 blocked for more than 120 seconds.\n\
                <30>1 2026-11-23T15:54:03Z node-7 systemd 1 - - Killed process 1 (x)\n";
    let log = parsed(text);
    assert_eq!((log.records.len(), log.skipped_lines), (2, 1));
    assert_eq!(
        (log.records[0].facility, log.records[0].level),
        (Some(0), Some(4))
    );
    let events = diagnose(&log.records).events;
    assert_eq!(events.len(), 2);
    let s = segfault(&events[0]);
    assert_eq!((s.pid, s.comm.as_str()), (3300, "nginx"));
    assert_eq!(events[0].mono_usec, Some(9_120_000_123));
    assert_eq!(wall(&events[0]), "2026-11-23T15:54:01.123456+00:00");
    assert_eq!(events[0].time_source, Some(TimeSource::Logged));
    assert_eq!(hung(&events[1]), (812, "dockerd", 120));
    assert_eq!(wall(&events[1]), "2026-11-23T15:54:02+01:00");
}

#[test]
fn rsyslog_iso_8601_with_priority() {
    let events = events(
        "<3>2026-11-23T15:54:01.000001+00:00 node-7 kernel: [ 77.000001] INFO: task kswapd0:88 blocked for more than 122 seconds.\n",
    );
    assert_eq!(events.len(), 1);
    assert_eq!(hung(&events[0]), (88, "kswapd0", 122));
    assert_eq!(wall(&events[0]), "2026-11-23T15:54:01.000001+00:00");
}

#[test]
fn openwrt_logread() {
    let text = "Sat Nov 21 09:14:07 2026 kern.err kernel: [1718245.210000] Out of memory: Killed process 2315 (dnsmasq) total-vm:2800kB, anon-rss:1024kB, file-rss:512kB, shmem-rss:0kB, UID:453 pgtables:20kB oom_score_adj:0\n\
                Sat Nov 21 09:14:08 2026 daemon.info dnsmasq[1]: started\n\
                Sat Nov 21 09:14:09 2026 kern.info kernel: [1718247.400000] hostapd[1610]: segfault at 0 ip 77f0a2b4 sp 7fd1e8a0 error 6 in libubox.so[77f00000+10000]\n";
    let log = parsed(text);
    assert_eq!((log.records.len(), log.skipped_lines), (2, 1));
    assert_eq!(log.records[0].level, Some(3));
    let events = diagnose(&log.records).events;
    assert_eq!(events.len(), 2);
    assert_eq!((events[0].pid(), events[0].comm()), (Some(2315), Some("dnsmasq")));
    assert_eq!(wall(&events[0]), "2026-11-21T09:14:07+00:00");
    let s = segfault(&events[1]);
    assert_eq!(
        (s.pid, s.comm.as_str(), s.object.as_deref()),
        (1610, "hostapd", Some("libubox.so"))
    );
}

#[test]
fn dmesg_ctime_in_the_common_locales() {
    let lines = [
        ("[Mo Nov 23 15:54:01 2026]", "2026-11-23T15:54:01+00:00"),
        ("[Di Dez  1 08:00:00 2026]", "2026-12-01T08:00:00+00:00"),
        ("[Mi Mär  4 10:00:00 2026]", "2026-03-04T10:00:00+00:00"),
        ("[lun. nov. 23 15:54:01 2026]", "2026-11-23T15:54:01+00:00"),
        ("[mer. févr. 11 12:00:00 2026]", "2026-02-11T12:00:00+00:00"),
        ("[mer. juin 10 12:00:00 2026]", "2026-06-10T12:00:00+00:00"),
        ("[ven. juil. 10 12:00:00 2026]", "2026-07-10T12:00:00+00:00"),
        ("[jeu. août 13 12:00:00 2026]", "2026-08-13T12:00:00+00:00"),
        ("[mié ene 14 12:00:00 2026]", "2026-01-14T12:00:00+00:00"),
        ("[sáb ago 15 12:00:00 2026]", "2026-08-15T12:00:00+00:00"),
        ("[lun dic 28 12:00:00 2026]", "2026-12-28T12:00:00+00:00"),
        ("[gio giu 11 12:00:00 2026]", "2026-06-11T12:00:00+00:00"),
        ("[ven lug 10 12:00:00 2026]", "2026-07-10T12:00:00+00:00"),
        ("[mar ott 13 12:00:00 2026]", "2026-10-13T12:00:00+00:00"),
        ("[qua set 16 12:00:00 2026]", "2026-09-16T12:00:00+00:00"),
        ("[sex out 16 12:00:00 2026]", "2026-10-16T12:00:00+00:00"),
        ("[seg fev  2 12:00:00 2026]", "2026-02-02T12:00:00+00:00"),
        ("[Пн ноя 23 15:54:01 2026]", "2026-11-23T15:54:01+00:00"),
        ("[Пт мая 15 12:00:00 2026]", "2026-05-15T12:00:00+00:00"),
        ("[Вт дек  1 12:00:00 2026]", "2026-12-01T12:00:00+00:00"),
        // glibc's ja_JP and ko_KR pad the month to two columns; zh_CN does not.
        ("[月  1月  5 12:00:00 2026]", "2026-01-05T12:00:00+00:00"),
        ("[木 12月  3 12:00:00 2026]", "2026-12-03T12:00:00+00:00"),
        ("[一 12月  7 10:00:00 2026]", "2026-12-07T10:00:00+00:00"),
        ("[월 12월  7 10:00:00 2026]", "2026-12-07T10:00:00+00:00"),
        ("[화  3월 10 10:00:00 2026]", "2026-03-10T10:00:00+00:00"),
    ];
    for (stamp, expected) in lines {
        let events = events(&format!(
            "{stamp} java[4321]: segfault at 0 ip 00007f0000001000 sp 00007ffc00002000 error 4"
        ));
        assert_eq!(events.len(), 1, "{stamp}");
        assert_eq!(segfault(&events[0]).pid, 4321, "{stamp}");
        assert_eq!(wall(&events[0]), expected, "{stamp}");
    }
}

#[test]
fn dmesg_human_keeps_order_without_inventing_times() {
    let events = events(
        "[Nov23 15:54] INFO: task khugepaged:66 blocked for more than 120 seconds.\n\
         [  +0.000123] INFO: task kcompactd0:65 blocked for more than 120 seconds.\n\
         [  +5.100000] python3[900]: segfault at 0 ip 0000000000401000 sp 00007ffc00002000 error 4\n",
    );
    assert_eq!(events.len(), 3);
    assert_eq!(hung(&events[0]), (66, "khugepaged", 120));
    assert_eq!(hung(&events[1]), (65, "kcompactd0", 120));
    assert_eq!(segfault(&events[2]).pid, 900);
    assert!(events.iter().all(|e| e.time.is_none() && e.mono_usec.is_none()));
    let order: Vec<usize> = events.iter().map(|e| e.record_index).collect();
    assert_eq!(order, [0, 1, 2]);
}

#[test]
fn mail_wrapped_lines_are_joined_and_short_ones_are_not() {
    // Wrapped at 72 columns by a mail client: at spaces, without a prefix on the continuation.
    let text = "[ 5193.506728] Memory cgroup out of memory: Killed process 4111 (java)\n\
                total-vm:8123456kB, anon-rss:4123456kB, file-rss:0kB, shmem-rss:0kB,\n\
                UID:1000 pgtables:9000kB oom_score_adj:0\n\
                [ 5194.000000] INFO: task postgres:2201 blocked for more than 120\n\
                seconds.\n\
                [ 5195.000000] a short line\n\
                oom_reaper: reaped process 4111 (java), now anon-rss:0kB\n";
    let log = parsed(text);
    let texts: Vec<&str> = log.records.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Memory cgroup out of memory: Killed process 4111 (java) total-vm:8123456kB, anon-rss:4123456kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:9000kB oom_score_adj:0",
            "INFO: task postgres:2201 blocked for more than 120 seconds.",
            "a short line",
            "oom_reaper: reaped process 4111 (java), now anon-rss:0kB",
        ]
    );
    let events = diagnose(&log.records).events;
    assert_eq!(events.len(), 2);
    let EventKind::OomKill(k) = &events[0].kind else {
        unreachable!()
    };
    assert_eq!((k.pid, k.comm.as_str(), k.uid), (4111, "java", Some(1000)));
    assert_eq!(k.anon_rss_bytes, Some(4_123_456 * 1024));
    assert!(k.reaped);
    assert_eq!(hung(&events[1]), (2201, "postgres", 120));
}

#[test]
fn journalctl_json_lines() {
    let text = r#"{"__CURSOR":"s=9f;i=1","__REALTIME_TIMESTAMP":"1795449241123456","__MONOTONIC_TIMESTAMP":"401400000","_BOOT_ID":"0c4e","_TRANSPORT":"kernel","PRIORITY":"6","SYSLOG_FACILITY":"0","SYSLOG_IDENTIFIER":"kernel","_SOURCE_MONOTONIC_TIMESTAMP":"401343231","MESSAGE":"stackhog[8238]: segfault at 7ffcd5af7efc ip 000055a463fca134 sp 00007ffcd5af7ef0 error 6 in stackhog[1134,55a463fca000+1000] likely on CPU 1 (core 1, socket 0)"}
{"__REALTIME_TIMESTAMP":"1795449242000000","_TRANSPORT":"kernel","PRIORITY":"3","SYSLOG_IDENTIFIER":"kernel","_SOURCE_MONOTONIC_TIMESTAMP":"402000000","MESSAGE":[73,78,70,79,58,32,116,97,115,107,32,120,58,55,32,98,108,111,99,107,101,100,32,102,111,114,32,109,111,114,101,32,116,104,97,110,32,49,50,48,32,115,101,99,111,110,100,115,46,255]}
{"__REALTIME_TIMESTAMP":"1795449243000000","_TRANSPORT":"syslog","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"Killed process 1 (x)"}
{"__REALTIME_TIMESTAMP":"1795449244000000","_TRANSPORT":"kernel","SYSLOG_FACILITY":"3","SYSLOG_IDENTIFIER":"systemd","MESSAGE":"Killed process 2 (y)"}
"#;
    let log = parsed(text);
    assert_eq!((log.records.len(), log.skipped_lines), (3, 1));
    assert_eq!(log.records[0].level, Some(6));
    let events = diagnose(&log.records).events;
    assert_eq!(events.len(), 2, "{events:#?}");
    let s = segfault(&events[0]);
    assert_eq!(
        (s.pid, s.comm.as_str(), s.likely_stack_overflow),
        (8238, "stackhog", true)
    );
    assert_eq!(events[0].mono_usec, Some(401_343_231));
    assert_eq!(wall(&events[0]), "2026-11-23T15:54:01.123456+00:00");
    assert_eq!(events[0].time_source, Some(TimeSource::Logged));
    // MESSAGE as bytes (not UTF-8: a stray 0xff).
    assert_eq!(hung(&events[1]), (7, "x", 120));
}

#[test]
fn journalctl_json_pretty_objects() {
    // `journalctl -k -o json-pretty`: one object over many lines, a tab before each member.
    let text = "{\n\
        \t\"__CURSOR\" : \"s=9f;i=1\",\n\
        \t\"__REALTIME_TIMESTAMP\" : \"1795449241123456\",\n\
        \t\"_TRANSPORT\" : \"kernel\",\n\
        \t\"SYSLOG_IDENTIFIER\" : \"kernel\",\n\
        \t\"_SOURCE_MONOTONIC_TIMESTAMP\" : \"401343231\",\n\
        \t\"MESSAGE\" : \"Out of memory: Killed process 8060 (python3) total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0\"\n\
        }\n\
        {\n\
        \t\"__REALTIME_TIMESTAMP\" : \"1795449243000000\",\n\
        \t\"_TRANSPORT\" : \"syslog\",\n\
        \t\"SYSLOG_IDENTIFIER\" : \"sshd\",\n\
        \t\"MESSAGE\" : \"Killed process 1 (x)\"\n\
        }\n";
    let log = parsed(text);
    assert_eq!((log.records.len(), log.skipped_lines), (1, 1));
    let events = diagnose(&log.records).events;
    let names: Vec<&str> = events.iter().map(|e| e.kind_name()).collect();
    assert_eq!(names, ["oom_kill"]);
    assert_eq!(wall(&events[0]), "2026-11-23T15:54:01.123456+00:00");
    // A `{` that opens no object (a stack dump's brace, a pasted snippet) leaves its lines as text.
    let log = parsed(
        "{\n[  12.000000] java[4321]: segfault at 0 ip 00007f0000001000 sp 00007ffc00002000 error 4\n}\n",
    );
    let events = diagnose(&log.records).events;
    assert_eq!(events.len(), 1);
    assert_eq!(segfault(&events[0]).pid, 4321);
}

#[test]
fn ext4_error_summaries_are_filesystem_errors() {
    let events = events(
        "[86400.000001] EXT4-fs (sda1): error count since last fsck: 12\n\
         [86400.000002] EXT4-fs (sda1): initial error at time 1700000000: ext4_find_entry:1455: inode 2\n\
         [86400.000003] EXT4-fs (sda1): last error at time 1700000100: ext4_journal_check_start:83\n\
         [86500.000000] EXT4-fs (dm-0): error count since last fsck: 1\n",
    );
    assert_eq!(events.len(), 2, "{events:#?}");
    let e = io(&events[0]);
    assert_eq!(e.what, IoErrorKind::FsError);
    assert_eq!(
        (e.filesystem.as_deref(), e.device.as_deref()),
        (Some("ext4"), Some("sda1"))
    );
    assert_eq!(
        e.detail.as_deref(),
        Some(
            "error count since last fsck: 12; initial error at time 1700000000: ext4_find_entry:1455: inode 2; last error at time 1700000100: ext4_journal_check_start:83"
        )
    );
    assert_eq!(io(&events[1]).device.as_deref(), Some("dm-0"));
}

#[test]
fn pasted_prompts_and_commands_are_not_records() {
    let text = "# grep 'TCP: out of memory' /var/log/messages\n\
                $ dmesg | grep -i oom\n\
                root@host:~# dmesg -T | grep -i 'Killed process'\n\
                [root@db1 ~]# journalctl -k | grep segfault\n\
                % dmesg | grep 'I/O error'\n\
                [ 5.000000] TCP: out of memory -- consider tuning tcp_mem\n";
    let log = parsed(text);
    assert_eq!((log.records.len(), log.skipped_lines), (1, 5));
    let diagnosis = diagnose(&log.records);
    assert_eq!(diagnosis.events.len(), 1);
    assert_eq!(diagnosis.events[0].kind_name(), "tcp_mem");
    assert_eq!(diagnosis.unrecognised.count, 0);
    // Console output glued to a busybox prompt is still read.
    let events =
        events("/ # [90216.140000] watchdog: BUG: soft lockup - CPU#0 stuck for 186s! [kworker/u3:3:2073]");
    assert_eq!(events.len(), 1);
}

#[test]
fn lines_naming_events_that_no_parser_understood_are_counted() {
    let text = "[  100.000000] EXT4-fs warning (device sda1): ext4_end_bio:323: I/O error 10 writing to inode 12 starting block 100)\n\
                [  101.000000] foo[9]: segfault at 0 ip 0000000000401000 sp 00007ffc00002000 error 4 in libc.so.6[7f00+1000]\n\
                [  102.000000] XFS (dm-3): log I/O error -5\n\
                [  103.000000] Kernel panic - not syncing: Fatal exception\n\
                [  103.000001] ---[ end Kernel panic - not syncing: Fatal exception ]---\n\
                [  104.000000] usb 1-1: new high-speed USB device number 2 using xhci_hcd\n";
    let diagnosis = diagnose(&parsed(text).records);
    assert_eq!(
        diagnosis
            .events
            .iter()
            .map(KernelEvent::kind_name)
            .collect::<Vec<_>>(),
        ["segfault", "oops"]
    );
    assert_eq!(diagnosis.unrecognised.count, 2);
    assert_eq!(
        diagnosis.unrecognised.examples,
        [
            "EXT4-fs warning (device sda1): ext4_end_bio:323: I/O error 10 writing to inode 12 starting block 100)",
            "XFS (dm-3): log I/O error -5",
        ]
    );
    let note = diagnosis.unrecognised.note().unwrap_or_default();
    assert!(note.starts_with("2 kernel log lines named an event"), "{note}");
    // A clean log has none, and no note.
    let clean = diagnose(&parsed("[ 1.000000] usb 1-1: new device\n").records);
    assert_eq!((clean.unrecognised.count, clean.unrecognised.note()), (0, None));
}

#[test]
fn examples_are_few_and_short() {
    let line = format!("[ 1.000000] Machine check: {}\n", "x".repeat(400));
    let diagnosis = diagnose(&parsed(&line.repeat(8)).records);
    assert_eq!(diagnosis.unrecognised.count, 8);
    assert_eq!(diagnosis.unrecognised.examples.len(), MAX_EXAMPLES);
    assert_eq!(diagnosis.unrecognised.examples[0].chars().count(), 201);
}

#[test]
fn every_event_keyword_is_found_once_listed() {
    for keyword in EVENT_KEYWORDS {
        assert_eq!(keyword_of(&format!("x {keyword} y")), Some(*keyword));
    }
    assert_eq!(keyword_of("usb 1-1: new high-speed USB device"), None);
}
