//! Tests on real kernel logs: records captured on this project's 6.18 test machine from induced
//! events, and excerpts of logs people pasted into bug reports, from kernels 2.6.32 to 6.16
//! (tests/data/kernel_log/README.md says where each came from).

use super::*;
use chrono::DateTime;

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/kernel_log/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A pasted excerpt without its `#` provenance header, parsed as text and diagnosed.
fn pasted(name: &str, year: i32) -> Vec<KernelEvent> {
    let bytes = data(name);
    let text = String::from_utf8_lossy(&bytes);
    let body: String = text
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    diagnose(&parse_text(&body, Some(year)).records).events
}

fn kills(events: &[KernelEvent]) -> Vec<&OomKill> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::OomKill(k) => Some(k),
            _ => None,
        })
        .collect()
}

fn victims(events: &[KernelEvent]) -> Vec<(u32, &str)> {
    kills(events).iter().map(|k| (k.pid, k.comm.as_str())).collect()
}

fn kinds(events: &[KernelEvent]) -> Vec<&'static str> {
    events.iter().map(KernelEvent::kind_name).collect()
}

const KIB: u64 = 1024;

// ---------------------------------------------------------------------------------------------
// Induced on the test machine (Linux 6.18, cgroup v1 memory controller).

/// A 64 MiB v1 memory cgroup, python3 allocating 256 MiB: the raw /dev/kmsg records.
#[test]
fn induced_memcg_oom_from_kmsg() {
    let parsed = parse_kmsg(&data("induced-6.18-memcg-v1-oom.kmsg"));
    assert_eq!(parsed.records.len(), 82);
    assert_eq!(parsed.skipped_lines, 0);
    assert!(parsed.lost.is_empty());
    // The virtio record carries its dictionary.
    assert!(
        parsed.records[0]
            .dict
            .contains(&("SUBSYSTEM".to_string(), "virtio".to_string()))
    );
    let diagnosis = diagnose(&parsed.records);
    assert_eq!(kinds(&diagnosis.events), ["oom_kill"]);
    let event = &diagnosis.events[0];
    assert_eq!((event.seq, event.mono_usec), (Some(416), Some(401_343_231)));
    let EventKind::OomKill(k) = &event.kind else {
        unreachable!()
    };
    assert_eq!((k.pid, k.comm.as_str(), k.uid), (8060, "python3", Some(0)));
    assert_eq!(k.global, Some(false));
    assert_eq!(k.constraint.as_deref(), Some("CONSTRAINT_MEMCG"));
    assert_eq!(k.oom_memcg.as_deref(), Some("/osdoctor-oomtest"));
    assert_eq!(k.task_memcg.as_deref(), Some("/osdoctor-oomtest"));
    assert_eq!(k.total_vm_bytes, Some(278_712 * KIB));
    assert_eq!(k.anon_rss_bytes, Some(65_124 * KIB));
    assert_eq!(k.file_rss_bytes, Some(6_436 * KIB));
    assert_eq!(k.shmem_rss_bytes, Some(0));
    assert_eq!(k.rss_bytes, Some((65_124 + 6_436) * KIB));
    assert_eq!(k.pgtables_bytes, Some(196 * KIB));
    assert_eq!(k.oom_score_adj, Some(0));
    assert_eq!(
        (k.trigger_comm.as_deref(), k.trigger_pid),
        (Some("python3"), Some(8060))
    );
    assert_eq!(
        (k.gfp_mask.as_deref(), k.order),
        (Some("0xcc0(GFP_KERNEL)"), Some(0))
    );
    assert_eq!(k.memcg_usage_bytes, Some(64 << 20));
    assert_eq!(k.memcg_limit_bytes, Some(64 << 20));
    assert_eq!(k.memcg_failcnt, Some(0));
    assert_eq!(k.kernel.as_deref(), Some("6.18.44-fc-v657"));
    assert!(k.kill_line_seen && !k.reaped);
    assert_eq!(
        event.to_string(),
        "oom_kill       pid 8060 (python3) rss 69.9 MiB, memcg /osdoctor-oomtest, global=false"
    );
}

/// The same OOM as `dmesg` and `dmesg -T` printed it: the same victim, with the text's times.
#[test]
fn induced_memcg_oom_from_dmesg_text() {
    let kmsg = diagnose(&parse_kmsg(&data("induced-6.18-memcg-v1-oom.kmsg")).records).events;
    let dmesg = diagnose(&parse_text_bytes(&data("induced-6.18-memcg-v1-oom.dmesg"), None).records).events;
    let ctime = diagnose(&parse_text_bytes(&data("induced-6.18-memcg-v1-oom.dmesg-T"), None).records).events;
    let (k, d, t) = (kills(&kmsg)[0], kills(&dmesg)[0], kills(&ctime)[0]);
    assert_eq!(d, k);
    assert_eq!(t, k);
    assert_eq!(dmesg[0].mono_usec, Some(401_343_231));
    assert_eq!(
        ctime[0].time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-23T16:01:00+00:00")
    );
    assert_eq!(ctime[0].time_source, Some(TimeSource::LoggedZoneAssumed));
}

/// A stack overflow (infinite recursion), then an OOM kill of a task whose comm is `a (b) c) d`,
/// then a fork rejected by a v1 pids cgroup.
#[test]
fn induced_stack_overflow_odd_comm_oom_and_pids() {
    for events in [
        diagnose(&parse_kmsg(&data("induced-6.18-segfault-oddcomm-oom-pids.kmsg")).records).events,
        diagnose(&parse_text_bytes(&data("induced-6.18-segfault-oddcomm-oom-pids.dmesg"), None).records)
            .events,
        diagnose(&parse_text_bytes(&data("induced-6.18-segfault-oddcomm-oom-pids.dmesg-T"), None).records)
            .events,
    ] {
        assert_eq!(kinds(&events), ["segfault", "oom_kill", "fork_rejected"]);
        let EventKind::Segfault(s) = &events[0].kind else {
            unreachable!()
        };
        assert_eq!((s.pid, s.comm.as_str()), (8238, "stackhog"));
        assert_eq!((s.address, s.sp), (Some(0x7ffcd5af7efc), Some(0x7ffcd5af7ef0)));
        assert_eq!(s.error_code, Some(6));
        assert!(s.error.is_some_and(|e| e.user && e.write && !e.protection));
        assert_eq!(
            (s.object.as_deref(), s.ip_offset),
            (Some("stackhog"), Some(0x1134))
        );
        assert_eq!((s.cpu, s.core, s.socket), (Some(1), Some(1), Some(0)));
        assert!(s.likely_stack_overflow);

        let k = kills(&events)[0];
        assert_eq!((k.pid, k.comm.as_str()), (8240, "a (b) c) d"));
        assert_eq!(k.trigger_comm.as_deref(), Some("a (b) c) d"));
        assert_eq!(k.task_memcg.as_deref(), Some("/osdoctor-oomtest"));
        assert_eq!(k.global, Some(false));

        let EventKind::ForkRejected(f) = &events[2].kind else {
            unreachable!()
        };
        assert_eq!(f.cgroup, "/osdoctor-pidstest");
    }
}

/// A NULL read, a non-canonical address (#GP) and an integer division by zero.
#[test]
fn induced_null_read_gp_and_divide_error() {
    let events = diagnose(&parse_kmsg(&data("induced-6.18-null-gp-div.kmsg")).records).events;
    let dmesg = diagnose(&parse_text_bytes(&data("induced-6.18-null-gp-div.dmesg"), None).records).events;
    assert_eq!(kinds(&events), ["segfault", "segfault", "segfault"]);
    assert_eq!(kinds(&dmesg), kinds(&events));
    let faults: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Segfault(s) => {
                Some((s.pid, s.comm.as_str(), s.fault.as_str(), s.likely_stack_overflow))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        faults,
        [
            (12418, "faulty", "segfault", false),
            (12419, "faulty", "general protection fault", false),
            (12551, "divz", "divide error", false),
        ]
    );
    let EventKind::Segfault(null) = &events[0].kind else {
        unreachable!()
    };
    assert_eq!((null.address, null.error_code), (Some(0), Some(4)));
    assert_eq!(
        null.error.map(|e| e.to_string()).as_deref(),
        Some("user read, page not mapped")
    );
}

// ---------------------------------------------------------------------------------------------
// OOM reports people pasted, oldest kernels first.

#[test]
fn centos7_3_10_memcg_report_with_chosen_thread_and_cut_off_reports() {
    let events = pasted("paste-3.10-centos7-memcg-dmesg-T.log", 2017);
    // Two later reports are cut off before their kill lines: they yield nothing.
    assert_eq!(victims(&events), [(28438, "java")]);
    let k = kills(&events)[0];
    assert_eq!(k.chosen_pid, Some(24572));
    assert_eq!(k.global, Some(false));
    // The "Task in" line is not in the excerpt; the first stats line names the OOM memcg.
    assert_eq!(
        k.oom_memcg.as_deref(),
        Some(
            "/kubepods/pod95387fa4-da9c-11e7-9d36-5254b24cbf5e/6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b"
        )
    );
    assert_eq!(k.task_memcg, None);
    // uid and oom_score_adj come from the task table (3.10 kill lines print neither).
    assert_eq!((k.uid, k.oom_score_adj), (Some(0), Some(-998)));
    assert_eq!(k.total_vm_bytes, Some(20_255_636 * KIB));
    assert_eq!(k.rss_bytes, Some((466_160 + 13_684) * KIB));
    assert_eq!(k.shmem_rss_bytes, None);
    assert_eq!(
        events[0].time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2017-12-07T00:05:15+00:00")
    );
}

#[test]
fn centos7_3_10_global_kill_without_header_and_truncated_report() {
    let events = pasted("paste-3.10-centos7-global-dmesg.log", 2019);
    assert_eq!(victims(&events), [(5100, "fio")]);
    let k = kills(&events)[0];
    // The line has no prefix and its report is not shown: memcg or not is unknown.
    assert_eq!(k.global, None);
    assert_eq!(k.trigger_comm, None);
}

#[test]
fn header_only_reports_yield_no_kill() {
    assert!(pasted("paste-3.10-kernel-prefix-header-only.log", 2016).is_empty());
    assert!(pasted("paste-5.3-syslog-header-only.log", 2020).is_empty());
}

#[test]
fn vendor_uid_kill_line_with_sacrificed_child_among_other_programs_lines() {
    let events = pasted("paste-3.10-syslog-vendor-uid-sacrifice.log", 2020);
    assert_eq!(victims(&events), [(18177, "palo_be")]);
    let k = kills(&events)[0];
    assert_eq!(
        (k.uid, k.chosen_pid, k.score, k.global),
        (Some(0), Some(24984), Some(968), Some(false))
    );
    assert_eq!(k.anon_rss_bytes, Some(45_563_572 * KIB));
}

#[test]
fn ltp_pairs_and_a_chosen_line_without_its_kill() {
    let events = pasted("paste-ltp-syslog-vendor-uid-pairs.log", 2019);
    let pids: Vec<u32> = kills(&events).iter().map(|k| k.pid).collect();
    // 42469 was chosen but its kill line is cut off: not reported.
    assert_eq!(pids, [42452, 42453, 42474, 42471, 42468]);
    assert!(
        kills(&events)
            .iter()
            .all(|k| k.uid == Some(0) && k.comm == "memcg_test_1")
    );
    // The first kill line's "Kill process" line is not in the paste.
    assert_eq!(
        (kills(&events)[0].global, kills(&events)[0].chosen_pid),
        (None, None)
    );
    assert!(
        kills(&events)[1..]
            .iter()
            .all(|k| k.global == Some(false) && k.chosen_pid == Some(k.pid))
    );
}

#[test]
fn vendor_uid_variants_quoted_and_rhel6() {
    let events = pasted("paste-vendor-uid-quoted-syslog.log", 2020);
    let got: Vec<(u32, &str, Option<u32>)> = kills(&events)
        .iter()
        .map(|k| (k.pid, k.comm.as_str(), k.uid))
        .collect();
    assert_eq!(
        got,
        [
            (799153, "node", Some(1000)),
            (799402, "node", Some(1000)),
            (799889, "node", Some(1000)),
            (799707, "node", Some(1000)),
            (799791, "node", Some(1000)),
            (800660, "node", Some(1000)),
            (800329, "node", Some(1000)),
            (801542, "node", Some(1000)),
            (11726, "mysqld", Some(498)),
        ]
    );
    let mysqld = kills(&events)[8];
    assert_eq!(mysqld.rss_bytes, Some((2_539_268 + 768) * KIB));
    assert_eq!(events[8].mono_usec, Some(2_858_609_598_568));
}

#[test]
fn pre_5_1_memcg_sacrifice_and_reaper_do_not_double_count() {
    let events = pasted("paste-4.15-syslog-memcg-sacrifice-reaper.log", 2020);
    assert_eq!(victims(&events), [(4254, "python3"), (4255, "python3")]);
    for k in kills(&events) {
        assert_eq!(
            (k.chosen_pid, k.global, k.reaped),
            (Some(4142), Some(false), true)
        );
        // The headers were ratelimited away: nothing is borrowed from elsewhere.
        assert_eq!((k.task_memcg.as_deref(), k.cpuset.as_deref()), (None, None));
    }
}

#[test]
fn global_kills_5_1_format_with_reaper_and_parenthesised_comm() {
    let events = pasted("paste-5.x-syslog-global-reaper.log", 2020);
    assert_eq!(
        victims(&events),
        [
            (15784, "python3"),
            (15925, "(resolved)"),
            (15783, "python3"),
            (15934, "(resolved)")
        ]
    );
    assert!(kills(&events).iter().all(|k| k.global == Some(true) && k.reaped));
    assert_eq!(kills(&events)[1].shmem_rss_bytes, Some(0));
}

#[test]
fn kernel_5_4_kill_then_truncated_report() {
    let events = pasted("paste-5.4-dmesg-memcg-truncated.log", 2021);
    assert_eq!(victims(&events), [(63214, "uwsgi")]);
    let k = kills(&events)[0];
    assert_eq!(
        (k.uid, k.oom_score_adj, k.global, k.reaped),
        (Some(0), Some(986), Some(false), true)
    );
    assert_eq!(k.pgtables_bytes, Some(1372 * KIB));
    assert_eq!(k.shmem_rss_bytes, Some(92 * KIB));
}

#[test]
fn grep_output_of_global_kills() {
    let events = pasted("paste-5.x-dmesg-T-grep-global.log", 2021);
    assert_eq!(
        victims(&events),
        [(1483, "uvicorn"), (3455, "uvicorn"), (2485, "uvicorn")]
    );
    assert!(
        kills(&events)
            .iter()
            .all(|k| k.global == Some(true) && k.uid == Some(0))
    );
}

#[test]
fn newest_first_export_does_not_borrow_other_reports_cgroups() {
    let events = pasted("paste-5.x-kibana-newest-first.log", 2021);
    assert_eq!(
        victims(&events),
        [
            (1949510, "envoy"),
            (2009943, "envoy"),
            (2856839, "envoy"),
            (1948188, "envoy")
        ]
    );
    for k in kills(&events) {
        assert_eq!((k.global, k.oom_memcg.as_deref()), (Some(false), None));
        assert_eq!(k.uid, Some(4_294_967_294));
    }
    assert_eq!(events[0].mono_usec, Some(113_782_638_786));
}

#[test]
fn summary_pasted_after_its_kill_line_is_merged() {
    let events = pasted("paste-6.1-journal-nohost-out-of-order.log", 2023);
    assert_eq!(victims(&events), [(569725, "uvicorn")]);
    let k = kills(&events)[0];
    assert_eq!(
        (k.global, k.constraint.as_deref()),
        (Some(true), Some("CONSTRAINT_NONE"))
    );
    assert_eq!(
        k.task_memcg.as_deref(),
        Some("/user.slice/user-1000.slice/session-1.scope")
    );
    assert_eq!((k.uid, k.kill_line_seen), (Some(1000), true));
    assert_eq!(k.rss_bytes, Some((19_645_212 + 200_140 + 16_384) * KIB));
}

#[test]
fn kernel_6_16_global_kill_and_a_truncated_report() {
    let events = pasted("paste-6.16-dmesg-T-global.log", 2025);
    assert_eq!(victims(&events), [(3581527, "uwsgi")]);
    let k = kills(&events)[0];
    assert_eq!((k.uid, k.global), (Some(33), Some(true)));
}

/// The kill line is cut off after `total-`; the 5.0+ summary line says who was killed.
#[test]
fn summary_line_alone_is_a_kill() {
    let events = pasted("paste-6.x-dmesg-T-summary-only-kind.log", 2026);
    assert_eq!(victims(&events), [(32550, "uvicorn")]);
    let k = kills(&events)[0];
    assert!(!k.kill_line_seen);
    assert_eq!((k.global, k.uid), (Some(false), Some(525_287)));
    let pod = "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-11017d9ed95ddc35b24735fce395331554737a0676defb9930e07b0ee6d802e5.scope/container/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod17d1d0b1_bbeb_4252_a45c_c9f426d1cb34.slice";
    assert_eq!(k.oom_memcg.as_deref(), Some(pod));
    assert_eq!(
        k.task_memcg.as_deref(),
        Some(
            format!(
                "{pod}/cri-containerd-799855c3e9e23ea07677c581b96f444dffb0932d7a907973bb08a8391803c559.scope"
            )
            .as_str()
        )
    );
    // From the task table (6.8+ columns).
    assert_eq!((k.oom_score_adj, k.pgtables_bytes), (Some(992), Some(4_608_000)));
    assert_eq!(k.rss_bytes, None);

    let events = pasted("paste-summary-lxc-quoted.log", 2024);
    assert_eq!(victims(&events), [(461754, "pt_main_thread")]);
    let k = kills(&events)[0];
    assert_eq!(k.mems_allowed.as_deref(), Some("0-1"));
    assert!(
        k.task_memcg
            .as_deref()
            .is_some_and(|t| t.starts_with("/lxc.payload.ny2g2r5hh3-lxc/kubepods.slice/"))
    );
}

#[test]
fn thousands_separators_and_markdown_backticks() {
    let events = pasted("paste-5.4plus-dmesg-T-commas-backticks.log", 2025);
    assert_eq!(victims(&events), [(7899, "python")]);
    let k = kills(&events)[0];
    assert_eq!(k.total_vm_bytes, Some(26_184_840 * KIB));
    assert_eq!(k.anon_rss_bytes, Some(15_370_088 * KIB));
    assert_eq!(
        (k.global, k.task_memcg.as_deref()),
        (Some(true), Some("/init.scope"))
    );
}

// ---------------------------------------------------------------------------------------------
// Other events people pasted.

#[test]
fn pasted_segfaults() {
    let events = pasted("paste-6.8-dmesg-segfault-libc.log", 2024);
    assert_eq!(kinds(&events), ["segfault", "segfault"]);
    let EventKind::Segfault(s) = &events[0].kind else {
        unreachable!()
    };
    assert_eq!(
        (s.pid, s.comm.as_str(), s.object.as_deref()),
        (1525756, "iperf3", Some("libc.so.6"))
    );
    assert_eq!((s.ip_offset, s.cpu, s.core), (Some(0x728fd), Some(12), Some(24)));
    assert!(!s.likely_stack_overflow);

    // A call that pushed its return address below the end of the stack.
    let events = pasted("paste-rfc3339-syslog-segfault-suppressed.log", 2024);
    assert_eq!(kinds(&events), ["segfault", "lost", "segfault"]);
    let EventKind::Segfault(s) = &events[0].kind else {
        unreachable!()
    };
    assert_eq!((s.pid, s.object.as_deref()), (7180, None));
    assert!(s.likely_stack_overflow);
    assert_eq!(
        events[0].time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-08-20T17:38:27.488639+00:00")
    );
    assert_eq!(events[0].time_source, Some(TimeSource::Logged));
    let EventKind::Lost(l) = &events[1].kind else {
        unreachable!()
    };
    assert_eq!((l.name.as_deref(), l.count), (Some("show_signal_msg"), 1));

    let events = pasted("paste-4.9-arm64-unhandled-fault.log", 2018);
    assert_eq!(kinds(&events), ["segfault"]);
    let EventKind::Segfault(s) = &events[0].kind else {
        unreachable!()
    };
    assert_eq!(
        (s.pid, s.comm.as_str(), s.fault.as_str()),
        (1657, "polipo", "level 3 translation fault")
    );
    assert_eq!((s.sp, s.esr), (Some(0xffffcd913020), Some(0x92000047)));
    assert!(s.likely_stack_overflow);
}

#[test]
fn pasted_hung_tasks() {
    let events = pasted("paste-4.19-dmesg-hung-tasks.log", 2020);
    let hung: Vec<(u32, &str, u64)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::HungTask(h) => Some((h.pid, h.comm.as_str(), h.blocked_secs)),
            _ => None,
        })
        .collect();
    assert_eq!(
        hung,
        [
            (5747, "kworker/2:1", 120),
            (11794, "ntpd", 120),
            (12767, "snmpd", 120),
            (13083, "zebra", 120),
            (13094, "fpmsyncd", 120)
        ]
    );
    let events = pasted("paste-5.18-journal-hung-task-122s.log", 2022);
    assert_eq!(kinds(&events), ["hung_task"]);
    assert_eq!(
        events[0].to_string(),
        "hung_task      pid 113 (kworker/u32:2) blocked for 122 s"
    );
}

#[test]
fn pasted_soft_lockup_and_panic() {
    let events = pasted("paste-6.5-dmesg-soft-lockup-panic.log", 2023);
    assert_eq!(kinds(&events), ["oops", "oops"]);
    let EventKind::Oops(lockup) = &events[0].kind else {
        unreachable!()
    };
    assert_eq!(
        (lockup.what, lockup.cpu, lockup.stuck_secs),
        (OopsKind::SoftLockup, Some(3), Some(27))
    );
    assert_eq!((lockup.pid, lockup.comm.as_deref()), (Some(0), Some("swapper/3")));
    let EventKind::Oops(panic) = &events[1].kind else {
        unreachable!()
    };
    assert_eq!(
        (panic.what, panic.detail.as_str()),
        (OopsKind::Panic, "softlockup: hung tasks")
    );
    assert_eq!(panic.kernel.as_deref(), Some("6.5.3-arch1-1"));
    assert_eq!(panic.function.as_deref(), Some("__do_softirq+0x7c/0x2c8"));
}

#[test]
fn pasted_io_errors() {
    let events = pasted("paste-4.x-dmesg-medium-error.log", 2018);
    type Row<'a> = (IoErrorKind, Option<&'a str>, Option<u64>, Option<u64>);
    let got: Vec<Row> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::IoError(io) => Some((io.what, io.device.as_deref(), io.sector, io.block)),
            _ => None,
        })
        .collect();
    use IoErrorKind::{BlockIo, BufferIo};
    assert_eq!(
        got,
        [
            (BlockIo, Some("sdb"), Some(0), None),
            (BufferIo, Some("sdb"), None, Some(0)),
            (BufferIo, Some("sdb"), None, Some(1)),
            (BlockIo, Some("sdb"), Some(2064), None),
            (BufferIo, Some("sdb"), None, Some(258)),
        ]
    );

    let events = pasted("paste-dmesg-x-reltime-ctime-caller-io.log", 2026);
    assert_eq!(kinds(&events), ["io_error", "io_error", "io_error"]);
    let EventKind::IoError(io) = &events[0].kind else {
        unreachable!()
    };
    assert_eq!(
        (io.sector, io.op.as_deref(), io.error.as_deref()),
        (Some(2466368), Some("WRITE"), Some("I/O"))
    );
    assert_eq!(
        events[0].time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-01-13T04:33:10+00:00")
    );

    let events = pasted("paste-journal-precise-ext4-abort-ro.log", 2025);
    let got: Vec<(IoErrorKind, Option<&str>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::IoError(io) => Some((io.what, io.device.as_deref())),
            _ => None,
        })
        .collect();
    use IoErrorKind::{FsError, JournalAborted, RemountReadOnly};
    assert_eq!(
        got,
        [
            (FsError, Some("sdm")),
            (BufferIo, Some("sdk")),
            (JournalAborted, Some("sdk")),
            (BufferIo, Some("sdk")),
            (FsError, Some("sdk")),
            (RemountReadOnly, Some("sdk")),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Made-up reports in the documented formats, for what the pastes above do not show.

fn text_events(text: &str) -> Vec<KernelEvent> {
    diagnose(&parse_text(text, Some(2026)).records).events
}

/// 5.0/5.1 kernels printed CONSTRAINT_NONE for memcg OOMs; `oom_memcg=` decides.
#[test]
fn early_5_x_constraint_none_in_a_memcg_oom() {
    let events = text_events(
        "[  10.000001] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod1,task_memcg=/kubepods/pod1/c1,task=java,pid=42,uid=0\n\
         [  10.000002] Memory cgroup out of memory: Killed process 42 (java) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, shmem-rss:0kB\n",
    );
    let k = kills(&events)[0];
    assert_eq!(
        (k.global, k.constraint.as_deref()),
        (Some(false), Some("CONSTRAINT_NONE"))
    );
    assert_eq!(k.oom_memcg.as_deref(), Some("/kubepods/pod1"));
}

/// memory.oom.group: the victim, the "Tasks in" line, the other members (the victim again too),
/// and oom_reaper lines in between. One event per victim.
#[test]
fn oom_group_kills_every_member_once() {
    let events = text_events(
        "[  20.000000] stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
         [  20.000100] memory: usage 102400kB, limit 102400kB, failcnt 7\n\
         [  20.000200] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/job,task_memcg=/job/a,task=stress,pid=100,uid=0\n\
         [  20.000300] Memory cgroup out of memory: Killed process 100 (stress) total-vm:200000kB, anon-rss:100000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:300kB oom_score_adj:0\n\
         [  20.000400] Tasks in /job are going to be killed due to memory.oom.group set\n\
         [  20.000500] Memory cgroup out of memory: Killed process 100 (stress) total-vm:200000kB, anon-rss:100000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:300kB oom_score_adj:0\n\
         [  20.000600] oom_reaper: reaped process 100 (stress), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB\n\
         [  20.000700] Memory cgroup out of memory: Killed process 101 (sidecar) total-vm:2000kB, anon-rss:1000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:30kB oom_score_adj:0\n\
         [  20.000800] Memory cgroup out of memory: Killed process 102 (sh) total-vm:2000kB, anon-rss:10kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:30kB oom_score_adj:0\n\
         [  20.100000] EXT4-fs (vda): mounted filesystem\n\
         [  21.000000] Memory cgroup out of memory: Killed process 103 (late) total-vm:2000kB, anon-rss:10kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:30kB oom_score_adj:0\n",
    );
    assert_eq!(
        victims(&events),
        [(100, "stress"), (101, "sidecar"), (102, "sh"), (103, "late")]
    );
    let k = kills(&events);
    assert_eq!(k[0].oom_group.as_deref(), Some("/job"));
    assert_eq!(k[0].task_memcg.as_deref(), Some("/job/a"));
    assert!(k[0].reaped);
    for member in &k[1..3] {
        assert_eq!(member.oom_group.as_deref(), Some("/job"));
        assert_eq!(
            (member.oom_memcg.as_deref(), member.task_memcg.as_deref()),
            (Some("/job"), None)
        );
        assert_eq!(member.memcg_limit_bytes, Some(100 << 20));
    }
    // After an unrelated line the group is over: a later kill (a ratelimited report) stands alone.
    assert_eq!(
        (k[3].oom_group.as_deref(), k[3].oom_memcg.as_deref()),
        (None, None)
    );
}

/// A report cut off after the `Kill process ... or sacrifice child` line: the victim could be a
/// child whose pid only the missing line says, so nothing is reported.
#[test]
fn chosen_line_without_kill_line_is_not_a_kill() {
    let events = text_events(
        "[  5.0] java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0\n\
         [  5.1] Task in /docker/abc killed as a result of limit of /docker/abc\n\
         [  5.2] Memory cgroup out of memory: Kill process 77 (java) score 990 or sacrifice child\n",
    );
    assert!(events.is_empty());
}

/// Since 5.1 a summary can be followed by "already exiting. Skip": no kill.
#[test]
fn summary_of_an_exiting_victim_is_not_a_kill() {
    let events = text_events(
        "[  5.0] a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
         [  5.1] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/x,task=a,pid=5,uid=0\n\
         [  5.2] Out of memory: OOM victim 5 (a) is already exiting. Skip\n",
    );
    assert!(events.is_empty());
}

/// The kernel kills another thread of the chosen process when the chosen one has no mm: the kill
/// line's pid differs from the summary's, on the very next line.
#[test]
fn summary_followed_by_another_threads_kill_line() {
    let events = text_events(
        "[  5.0] a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
         [  5.1] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/m,task_memcg=/m/c,task=app,pid=500,uid=3\n\
         [  5.2] Memory cgroup out of memory: Killed process 501 (app-worker) total-vm:10kB, anon-rss:1kB, file-rss:1kB, shmem-rss:0kB, UID:3 pgtables:4kB oom_score_adj:0\n",
    );
    assert_eq!(victims(&events), [(501, "app-worker")]);
    assert_eq!(kills(&events)[0].task_memcg.as_deref(), Some("/m/c"));
}

/// A summary for one pid and, far from it, a kill line for another: two victims, and the kill line
/// does not get the summary's cgroups.
#[test]
fn summary_and_unrelated_kill_line_are_two_victims() {
    let events = text_events(
        "[  5.0] a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
         [  5.1] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/m,task_memcg=/m/c,task=app,pid=500,uid=3\n\
         [  5.2] some other message\n\
         [  5.3] Memory cgroup out of memory: Killed process 900 (other) total-vm:10kB, anon-rss:1kB, file-rss:1kB, shmem-rss:0kB, UID:3 pgtables:4kB oom_score_adj:0\n",
    );
    assert_eq!(victims(&events), [(500, "app"), (900, "other")]);
    let k = kills(&events);
    assert!(!k[0].kill_line_seen && k[1].kill_line_seen);
    assert_eq!(
        (k[0].task_memcg.as_deref(), k[1].task_memcg.as_deref()),
        (Some("/m/c"), None)
    );
    assert_eq!(k[1].global, Some(false));
}

/// 5.0 printed the summary before picking a child: with a sacrificed child, the kill line decides.
#[test]
fn kernel_5_0_summary_then_sacrificed_child() {
    let events = text_events(
        "[  5.0] p invoked oom-killer: gfp_mask=0x6000c0(GFP_KERNEL), nodemask=(null), order=0, oom_score_adj=0\n\
         [  5.1] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/user.slice,task=parent,pid=10,uid=1000\n\
         [  5.2] Out of memory: Kill process 10 (parent) score 900 or sacrifice child\n\
         [  5.3] Killed process 11 (child) total-vm:10kB, anon-rss:8kB, file-rss:0kB, shmem-rss:0kB\n",
    );
    assert_eq!(victims(&events), [(11, "child")]);
    let k = kills(&events)[0];
    assert_eq!(
        (k.chosen_pid, k.global, k.uid),
        (Some(10), Some(true), Some(1000))
    );
    assert_eq!(k.task_memcg.as_deref(), Some("/user.slice"));
}

/// oom_kill_allocating_task, and Mem-Info as the only hint that an OOM was global.
#[test]
fn allocating_task_and_mem_info() {
    let events = text_events(
        "[  1.0] dd invoked oom-killer: gfp_mask=0x280da, order=0, oom_score_adj=0\n\
         [  1.1] Mem-Info:\n\
         [  1.2] Out of memory (oom_kill_allocating_task): Kill process 9 (dd) score 0 or sacrifice child\n\
         [  1.3] Killed process 9 (dd) total-vm:100kB, anon-rss:50kB, file-rss:4kB\n",
    );
    assert_eq!(victims(&events), [(9, "dd")]);
    assert_eq!(kills(&events)[0].global, Some(true));
    assert_eq!(kills(&events)[0].shmem_rss_bytes, None);
}

/// A 4.19-era memcg report copied from a terminal that wrapped long lines (as in
/// bluek8s/kubedirector#356, whose paste wraps the "Task in" line inside a cgroup path).
#[test]
fn terminal_wrapped_report() {
    let events = text_events(
        "[5193605.506728] Task in /kubepods/pod951f6bc5-c5a5-11ea-8707-80e455f266a2/0249 killed as a result of limit of /kubepo\n\
         ds/pod951f6bc5-c5a5-11ea-8707-80e455f266a2/0249\n\
         [5193605.506735] memory: usage 524288kB, limit 524288kB, failcnt 0\n\
         [5193605.506750] Tasks state (memory values in pages):\n\
         [5193605.506751] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name\n\
         [5193605.506952] [  62685]     0 62685     2925      679    65536        0          -998 bash\n\
         [5193605.506955] [  62769]     0 62769     4382      411    77824        0          -998 cp\n\
         [5193605.506956] Memory cgroup out of memory: Kill process 62685 (bash) score 0 or sacrifice child\n\
         [5193605.508964] Killed process 62769 (cp) total-vm:17528kB, anon-rss:1644kB, file-rss:0\n\
         kB, shmem-rss:0kB\n",
    );
    assert_eq!(victims(&events), [(62769, "cp")]);
    let k = kills(&events)[0];
    let container = "/kubepods/pod951f6bc5-c5a5-11ea-8707-80e455f266a2/0249";
    assert_eq!(
        (k.task_memcg.as_deref(), k.oom_memcg.as_deref()),
        (Some(container), Some(container))
    );
    assert_eq!(
        (k.chosen_pid, k.global, k.uid, k.oom_score_adj),
        (Some(62685), Some(false), Some(0), Some(-998))
    );
    assert_eq!((k.file_rss_bytes, k.shmem_rss_bytes), (Some(0), Some(0)));
    assert_eq!(k.pgtables_bytes, Some(77824));
}

#[test]
fn wall_times_from_boot_time() {
    let mut events = diagnose(&parse_kmsg(&data("induced-6.18-memcg-v1-oom.kmsg")).records).events;
    assert_eq!(events[0].time, None);
    // /proc/stat btime on the test machine when the capture was made.
    let boot = DateTime::from_timestamp(1_795_449_259, 0).map(|t| t.fixed_offset());
    resolve_wall_times(&mut events, boot.unwrap_or_default());
    assert_eq!(
        events[0].time.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-23T16:01:00.343231+00:00")
    );
    assert_eq!(events[0].time_source, Some(TimeSource::BootTimePlusMonotonic));
}

#[test]
fn kmsg_gaps_and_user_space_records() {
    let input = b"6,10,1000,-;Out of memory: Killed process 1 (a) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n\
                  12,11,1001,-;Out of memory: Killed process 2 (spoof) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n\
                  6,15,1002,-;VFS: file-max limit 1000 reached\n";
    let diagnosis = diagnose(&parse_kmsg(input).records);
    // The record a user-space program wrote (facility 1) is not a kill.
    assert_eq!(kinds(&diagnosis.events), ["oom_kill", "lost", "file_max"]);
    let EventKind::Lost(l) = &diagnosis.events[1].kind else {
        unreachable!()
    };
    assert_eq!((l.what.as_str(), l.count, l.after_seq), ("kmsg_gap", 3, Some(11)));
    assert_eq!(
        diagnosis.lost,
        vec![Lost {
            after_seq: 11,
            count: 3
        }]
    );
}

/// The JSON contract: `kind`, the kind's fields, sizes in bytes, addresses as hex strings, `time`.
#[test]
fn json_shape() {
    let events = diagnose(&parse_text_bytes(&data("induced-6.18-memcg-v1-oom.dmesg-T"), None).records).events;
    let json = serde_json::to_value(&events[0]).unwrap_or_default();
    assert_eq!(json["kind"], "oom_kill");
    assert_eq!(json["pid"], 8060);
    assert_eq!(json["comm"], "python3");
    assert_eq!(json["rss_bytes"], 73_277_440);
    assert_eq!(json["global"], false);
    assert_eq!(json["task_memcg"], "/osdoctor-oomtest");
    assert_eq!(json["time"], "2026-11-23T16:01:00Z");
    assert_eq!(json["time_source"], "logged_zone_assumed");
    assert!(
        json["line"]
            .as_str()
            .is_some_and(|l| l.starts_with("Memory cgroup out of memory: Killed process 8060"))
    );

    let events = diagnose(&parse_kmsg(&data("induced-6.18-segfault-oddcomm-oom-pids.kmsg")).records).events;
    let json = serde_json::to_value(&events[0]).unwrap_or_default();
    assert_eq!(json["kind"], "segfault");
    assert_eq!(json["address"], "0x7ffcd5af7efc");
    assert_eq!(json["error"]["write"], true);
    assert_eq!(json["likely_stack_overflow"], true);
    assert_eq!(json["seq"], 417);
    assert_eq!(json["time"], serde_json::Value::Null);
}

/// The line scanner's follow-up lines, through the driver: an oops, a machine-check report and an
/// XFS shutdown each span several records and are one event.
mod follow_up_lines {
    use super::*;

    fn diagnosed(text: &str) -> Vec<KernelEvent> {
        crate::parse::kernel_log::diagnose(&crate::parse::kernel_log::parse_text(text, Some(2026)).records)
            .events
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

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of real log lines, to build inputs that get past the first checks of each parser.
    const FRAGMENTS: &[&str] = &[
        "[  401.343231] ",
        "<3>",
        "kern  :err   : ",
        "[Mon Nov 23 15:54:01 2026] ",
        "Nov 23 15:54:01 host kernel: ",
        "2026-11-23T15:54:01.123+01:00 host kernel: ",
        "Feb 29 00:00:00 h kernel: ",
        "6,339,401336949,-;",
        "\\x",
        " KEY=",
        "python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,task=x,pid=",
        ",uid=",
        "Memory cgroup out of memory: Killed process ",
        "Killed process 1, UID 2, (",
        ") total-vm:",
        "kB, anon-rss:",
        "18446744073709551615",
        "99999999999999999999",
        "-1",
        "Kill process 3 (x) score 1 or sacrifice child",
        "Tasks in /g are going to be killed due to memory.oom.group set",
        "oom_reaper: reaped process 1 (x), now anon-rss:0kB",
        "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
        "[ 1]  0 1 2 3 4 5 -1000 x",
        "Task in /a killed as a result of limit of /b",
        "memory: usage 1kB, limit 2kB, failcnt 3",
        "x[1]: segfault at ffffffffffffffff ip 0 sp ffffffffffffffff error ffffffffffffffff in y[",
        "+",
        "] likely on CPU 1 (core 2, socket 3)",
        "traps: a[1] trap divide error ip:1 sp:2 error:0",
        "a[1]: unhandled level 3 translation fault (11) at 0x1, esr 0x92000047",
        "sp : ffff",
        "INFO: task a:1 blocked for more than 99999999999999999999 seconds.",
        "BUG: kernel NULL pointer dereference, address: ",
        "Oops: 0000 [#1] SMP",
        "CPU: 1 PID: 2 Comm: x Not tainted 6.1 #1",
        "RIP: 0010:f+0x1/0x2",
        "mce: [Hardware Error]: CPU 1: Machine Check: 0 Bank 2: 3",
        "{1}[Hardware Error]: event severity: fatal",
        "EDAC MC0: 1 UE x",
        "XFS (sda): Shutting down filesystem",
        "I/O error, dev sda, sector 1 op 0x1:(WRITE)",
        "Possible SYN flooding on port . Sending cookies.",
        "cgroup: fork rejected by pids controller in ",
        ": 1 callbacks suppressed",
        "\n",
        "\r\n",
        " ",
        "\u{fffd}",
        "é",
    ];

    fn log_like() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(FRAGMENTS).prop_map(str::to_string),
                "[ -~]{0,12}",
                "[0-9]{1,22}",
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let from_kmsg = parse_kmsg(&bytes);
            let from_text = parse_text_bytes(&bytes, None);
            let _ = diagnose(&from_kmsg.records);
            let _ = diagnose(&from_text.records);
        }

        #[test]
        fn log_like_strings(text in log_like(), year in -300_000i32..300_000) {
            let from_text = parse_text(&text, Some(year));
            let from_kmsg = parse_kmsg(text.as_bytes());
            for records in [&from_text.records, &from_kmsg.records] {
                let mut diagnosis = diagnose(records);
                for event in &diagnosis.events {
                    let _ = event.to_string();
                    let _ = serde_json::to_string(event);
                }
                resolve_wall_times(&mut diagnosis.events, DateTime::<chrono::Utc>::MAX_UTC.fixed_offset());
            }
        }
    }
}

/// A text log, diagnosed.
fn events_of(text: &str) -> Vec<KernelEvent> {
    diagnose(&parse_text(text, Some(2026)).records).events
}

#[test]
fn a_stall_reported_by_the_stalled_cpu_and_by_another_counts_once() {
    // zfs#557 (2.6 tree RCU): CPU 2 reports its own stall and CPU 7 reports it 8 ms later.
    let events = pasted("public-rcu-stall-2.6-syslog-zfs557.log", 2026);
    let details: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Oops(o) => Some(o.detail.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        details,
        [
            "rcu_sched_state detected stall on CPU 0 (t=105060 jiffies)",
            "rcu_sched_state detected stall on CPU 1 (t=15000 jiffies)",
            "rcu_sched_state detected stall on CPU 1 (t=60031 jiffies)",
            "rcu_sched_state detected stall on CPU 2 (t=15000 jiffies)",
            "rcu_sched_state detected stall on CPU 7 (t=15000 jiffies)",
        ]
    );
    // Another CPU's report of a stall no CPU reported itself stays; so do reports seconds apart,
    // of other CPUs, or of another flavour.
    let events = events_of(
        "[  100.000000] INFO: rcu_sched detected stalls on CPUs/tasks: { 3} (detected by 0, t=15002 jiffies)\n\
         [  100.001000] INFO: rcu_sched detected stall on CPU 1 (t=15000 jiffies)\n\
         [  200.000000] INFO: rcu_sched detected stall on CPU 4 (t=15000 jiffies)\n\
         [  205.000000] INFO: rcu_sched detected stalls on CPUs/tasks: { 4} (detected by 0, t=15502 jiffies)\n\
         [  300.000000] INFO: rcu_bh detected stall on CPU 5 (t=15000 jiffies)\n\
         [  300.000100] INFO: rcu_sched detected stalls on CPUs/tasks: { 5} (detected by 0, t=15002 jiffies)\n",
    );
    assert_eq!(events.len(), 6, "{events:#?}");
    // The other CPU's report first: the stalled CPU's own report is kept.
    let events = events_of(
        "[  100.000000] INFO: rcu_sched detected stalls on CPUs/tasks: { 3} (detected by 0, t=15002 jiffies)\n\
         [  100.001000] INFO: rcu_sched detected stall on CPU 3 (t=15000 jiffies)\n",
    );
    assert_eq!(events.len(), 1, "{events:#?}");
    assert!(
        events[0]
            .line
            .ends_with("detected stall on CPU 3 (t=15000 jiffies)")
    );
    // A report that names more CPUs than the stalled one is a stall of those too: kept.
    let events = events_of(
        "[  100.000000] INFO: rcu_sched detected stalls on CPUs/tasks: { 1 3} (detected by 0, t=15002 jiffies)\n\
         [  100.001000] INFO: rcu_sched detected stall on CPU 3 (t=15000 jiffies)\n",
    );
    assert_eq!(events.len(), 2, "{events:#?}");
    // Without timestamps: the same CPU 45,000 jiffies later is the same stall still going, reported
    // again: kept.
    let events = events_of(
        "INFO: rcu_sched detected stall on CPU 2 (t=15000 jiffies)\n\
         INFO: rcu_sched detected stalls on CPUs/tasks: { 2} (detected by 7, t=15002 jiffies)\n\
         INFO: rcu_sched detected stalls on CPUs/tasks: { 2} (detected by 5, t=60005 jiffies)\n",
    );
    assert_eq!(events.len(), 2, "{events:#?}");
}

#[test]
fn a_machine_check_notification_beside_its_decoded_error_counts_once() {
    // radiasoft/devops#134: the notifier's line, then the EDAC decode of the same error.
    let events = pasted("public-edac-sbridge-syslog-radiasoft134.log", 2026);
    assert_eq!(kinds(&events), ["hardware_error"]);
    assert!(
        events[0]
            .line
            .starts_with("EDAC MC1: 1 CE memory scrubbing error")
    );
    // A notification alone is a hardware error report of its own.
    let events = events_of(
        "[  10.000000] mce: [Hardware Error]: Machine check events logged\n\
         [  90.000000] mce: [Hardware Error]: Machine check events logged\n\
         [  90.500000] EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0\n",
    );
    assert_eq!(events.len(), 2, "{events:#?}");
    assert_eq!(
        events[0].line,
        "mce: [Hardware Error]: Machine check events logged"
    );
    // Grepped without timestamps: four notifications, one decoded error: one pair, three alone.
    let events = events_of(
        "mce: [Hardware Error]: Machine check events logged\n\
         mce: [Hardware Error]: Machine check events logged\n\
         mce: [Hardware Error]: Machine check events logged\n\
         mce: [Hardware Error]: Machine check events logged\n\
         EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0\n",
    );
    assert_eq!(events.len(), 4, "{events:#?}");
    // Another kind of hardware error (a PCIe AER record) does not take the notification.
    let events = events_of(
        "[ 5000.100000] mce: [Hardware Error]: Machine check events logged\n\
         [ 5000.900000] {1}[Hardware Error]: Hardware error from APEI Generic Hardware Error Source: 1\n\
         [ 5000.900100] {1}[Hardware Error]: event severity: corrected\n\
         [ 5000.900200] {1}[Hardware Error]:  section_type: PCIe error\n",
    );
    assert_eq!(events.len(), 2, "{events:#?}");
}

#[test]
fn a_trap_wrapped_after_its_stack_pointer_and_indented_after_a_prompt_is_found() {
    // abrt#1219: the journal line wrapped over three lines, indented by the reporter.
    let events = pasted("public-trap-invalid-opcode-wrapped-abrt1219.log", 2026);
    let faults: Vec<(u32, &str, &str, Option<u64>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Segfault(s) => Some((s.pid, s.comm.as_str(), s.fault.as_str(), s.error_code)),
            _ => None,
        })
        .collect();
    assert_eq!(faults, [(2979, "chrome", "invalid opcode", None)]);
    // Output pasted, indented, under the command that printed it.
    let events = events_of(
        "$ journalctl -k | grep traps\n    traps: app[77] trap divide error ip:4005d6 sp:7ffc8 error:0 in app[400000+1000]\n",
    );
    assert_eq!(kinds(&events), ["segfault"]);
    // But an indented comment inside another program's message is more of that message, and so is
    // what follows it.
    let events = events_of(
        "Nov 23 10:00:00 host backup.sh[4321]: running maintenance script:\n\
         \x20   # drop caches and check memory\n\
         \x20   Out of memory: Killed process 1234 (java) total-vm:1000kB, anon-rss:500kB, file-rss:0kB\n\
         \x20   segfault-test[77]: segfault at 0 ip 00000000004005d6 sp 00007ffc8 error 4 in a.out[400000+1000]\n",
    );
    assert_eq!(kinds(&events), Vec::<&str>::new(), "{events:#?}");
}

#[test]
fn an_oops_that_names_no_task_takes_its_callers() {
    // pazos/android_kernel_samsung_goyawifi#1: Samsung's `c0 1 (swapper/0)` tag is the only name of
    // the task (pid 1 before it execs init is still called swapper/0).
    let events = pasted(
        "public-oops-3.x-android-samsung-cpu-pid-comm-prefix-goyawifi1.log",
        2026,
    );
    let oopses: Vec<(Option<u32>, Option<&str>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Oops(o) => Some((o.pid, o.comm.as_deref())),
            _ => None,
        })
        .collect();
    assert_eq!(oopses, [(Some(1), Some("swapper/0"))]);
    // A CPU caller (interrupt context) names no task, and a stall is another context's report.
    let events = events_of(
        "[   10.000000] [    C1] BUG: kernel NULL pointer dereference, address: 0000000000000008\n\
         [   20.000000] [  T902] rcu: INFO: rcu_sched self-detected stall on CPU\n",
    );
    let pids: Vec<Option<u32>> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Oops(o) => Some(o.pid),
            _ => None,
        })
        .collect();
    assert_eq!(pids, [None, None]);
}
