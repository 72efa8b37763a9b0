//! Kernel-event facts: the events of the kernel log within the `--since` window, grouped into subjects
//! (one per OOM victim; one per program for segfaults; one per device for I/O errors; ...). Rules on
//! the `kernel_event` subject read `event.kind` to pick theirs.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{FactSet, Subject, SubjectId, SubjectKind};
use crate::collect::kmsg::KernelLog;
use crate::parse::kernel_log::{EventKind, KernelEvent};

/// The facts this module derives (from the kernel log).
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    // kernel-log events, grouped (subject kernel_event)
    fact!("event.kind", Text, KernelEvent, ["/dev/kmsg"], "oom_kill, segfault, hung_task, oops, io_error, hardware_error, syn_flood, conntrack_full, file_max, tcp_mem, fork_rejected"),
    fact!("event.count", Count, KernelEvent, ["/dev/kmsg"], "events in the group within --since"),
    fact!("event.age_s", Seconds, KernelEvent, ["/dev/kmsg"], "how long ago the newest event of the group happened"),
    fact!("event.line", Text, KernelEvent, ["/dev/kmsg"], "the newest event's key log line"),
    fact!("event.rss_bytes", Bytes, KernelEvent, ["/dev/kmsg"], "OOM victim's RSS (anon + file + shmem) when killed"),
    fact!("event.memcg_limit_bytes", Bytes, KernelEvent, ["/dev/kmsg"], "memcg OOM: the limit of the memory cgroup that was hit (memory.max or limit_in_bytes), from the kernel's \"memory: usage X, limit Y\" line; osdoctor cgroup takes it from the cgroup when the log lost that line"),
    fact!("event.memcg_usage_bytes", Bytes, KernelEvent, ["/dev/kmsg"], "memcg OOM: the memory cgroup's usage when the OOM killer ran"),
    fact!("event.global", Number, KernelEvent, ["/dev/kmsg"], "1 for a global OOM, 0 when a memory cgroup hit its limit"),
    fact!("event.oom_scope", Text, KernelEvent, ["/dev/kmsg"], "whose memory ran out: the host, or which memory cgroup"),
    fact!("event.trigger", Text, KernelEvent, ["/dev/kmsg"], "the task whose allocation invoked the OOM killer"),
    fact!("event.likely_stack_overflow", Number, KernelEvent, ["/dev/kmsg"], "1 when a segfault was a user-mode write within a page of the stack pointer"),
    fact!("event.fault", Text, KernelEvent, ["/dev/kmsg"], "segfault: the fault, address, stack pointer and object"),
    fact!("event.hint", Text, KernelEvent, ["/dev/kmsg"], "what the fault suggests (stack overflow)"),
    fact!("event.signal", Text, KernelEvent, ["/dev/kmsg"], "segfault: the signal the fault sends (SIGSEGV; SIGILL for an invalid opcode, SIGFPE for a divide error, SIGBUS, SIGTRAP)"),
    fact!("event.blocked_s", Seconds, KernelEvent, ["/dev/kmsg"], "hung task: the longest time blocked the kernel reported"),
    fact!("event.what", Text, KernelEvent, ["/dev/kmsg"], "oops / I/O error / hardware error: which kind"),
    fact!("event.filesystem", Text, KernelEvent, ["/dev/kmsg"], "I/O error: the filesystem that reported it"),
    fact!("event.port", Text, KernelEvent, ["/dev/kmsg"], "SYN flood: the listening port"),
    fact!("event.limit", Number, KernelEvent, ["/dev/kmsg"], "file-max reached: the limit printed"),
    fact!("event.cgroup", Text, KernelEvent, ["/dev/kmsg"], "fork rejected: the pids cgroup"),
    fact!("cgroup.memory.last_oom_kill_age_s", Seconds, Cgroup, ["/dev/kmsg"], "how long ago the kernel log shows the newest OOM kill in this cgroup"),
];

/// Group key and the subject of an event; `None` for events that are not findings (lost messages).
fn group(e: &KernelEvent) -> Option<(String, SubjectId)> {
    let process = |pid: u32, comm: &str| SubjectId {
        kind: SubjectKind::Process,
        pid: Some(pid as i32),
        comm: Some(comm.to_string()),
        ..SubjectId::default()
    };
    Some(match &e.kind {
        // One subject per victim: pid plus time keeps two kills of a recycled pid apart.
        EventKind::OomKill(k) => {
            let mut id = process(k.pid, &k.comm);
            if let Some(cg) = k.task_memcg.as_deref().or(k.oom_memcg.as_deref()) {
                id.cgroup = Some(cg.to_string());
                let ident = crate::parse::cgroup::identify(cg);
                id.pod_uid = ident.as_ref().and_then(|i| i.pod_uid.clone());
                id.container_id = ident.and_then(|i| i.container_id);
            }
            let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
            let key = format!(
                "oom_kill:{}:{}:{}",
                k.pid,
                or_dash(e.mono_usec.map(|u| u.to_string())),
                or_dash(e.time.map(|t| t.to_rfc3339()))
            );
            (key, id)
        }
        // A crash loop segfaults with a new pid each time: one subject per program (and one finding,
        // new when one of its crashes is).
        EventKind::Segfault(s) => (format!("segfault:{}", s.comm), process(s.pid, &s.comm)),
        EventKind::HungTask(h) => (format!("hung_task:{}:{}", h.comm, h.pid), process(h.pid, &h.comm)),
        EventKind::Oops(o) => (format!("oops:{:?}", o.what), SubjectId::host()),
        EventKind::IoError(io) => {
            let dev = io.device.clone().unwrap_or_else(|| "?".to_string());
            (
                format!("io_error:{dev}"),
                SubjectId {
                    kind: SubjectKind::Disk,
                    device: Some(dev),
                    ..SubjectId::default()
                },
            )
        }
        EventKind::HardwareError(_) => ("hardware_error".to_string(), SubjectId::host()),
        EventKind::SynFlood(s) => (format!("syn_flood:{}", s.port), SubjectId::host()),
        EventKind::ConntrackFull(_) => ("conntrack_full".to_string(), SubjectId::host()),
        EventKind::FileMax(_) => ("file_max".to_string(), SubjectId::host()),
        EventKind::TcpMem(_) => ("tcp_mem".to_string(), SubjectId::host()),
        EventKind::ForkRejected(f) => {
            // The same identity as an OOM kill's memcg: a container's pids cgroup names it.
            let ident = crate::parse::cgroup::identify(&f.cgroup);
            (
                format!("fork_rejected:{}", f.cgroup),
                SubjectId {
                    kind: SubjectKind::Cgroup,
                    cgroup: Some(f.cgroup.clone()),
                    pod_uid: ident.as_ref().and_then(|i| i.pod_uid.clone()),
                    container_id: ident.and_then(|i| i.container_id),
                    ..SubjectId::default()
                },
            )
        }
        EventKind::Lost(_) => return None,
    })
}

/// Who an event is, across runs: for a /dev/kmsg record, the boot (`boot`: the boot id, or what
/// stands for it) and the record's sequence number, which the kernel never reuses within a boot; for a
/// text log, which has no sequence, a hash of its time, pid and line. Two crashes of one program are two
/// events, the same record read again is the same one.
pub fn event_id(e: &KernelEvent, boot: &str) -> String {
    if let Some(seq) = e.seq {
        return format!("{boot}/{seq}");
    }
    let time = match (e.time, e.mono_usec) {
        (Some(t), _) => t.timestamp_micros().to_string(),
        (None, Some(us)) => format!("m{us}"),
        (None, None) => String::new(),
    };
    let pid = e.pid().map(|p| p.to_string()).unwrap_or_default();
    format!("text/{:016x}", fnv1a(&format!("{time}|{pid}|{}", e.line)))
}

/// FNV-1a, 64 bits: stable across builds and Rust versions, as a key in a file must be.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether an event falls in the window. Events the log gives no time for are kept: a pasted line
/// without a stamp is still evidence.
pub fn in_window(e: &KernelEvent, window_start: Option<DateTime<Utc>>) -> bool {
    match (window_start, e.time) {
        (Some(start), Some(t)) => t.with_timezone(&Utc) >= start,
        _ => true,
    }
}

/// Subjects for the events of `log` newer than `window_start`, ages taken at `now`; `boot` names the
/// boot for the events' identities ([`event_id`]).
pub fn derive(
    log: &KernelLog,
    now: DateTime<Utc>,
    window_start: Option<DateTime<Utc>>,
    boot: &str,
) -> Vec<Subject> {
    let mut groups: BTreeMap<String, (SubjectId, Vec<&KernelEvent>)> = BTreeMap::new();
    for e in log.events.iter().filter(|e| in_window(e, window_start)) {
        if let Some((key, id)) = group(e) {
            let mut id = id;
            id.event_group = Some(key.clone());
            let entry = groups.entry(key).or_insert_with(|| (id.clone(), Vec::new()));
            // The newest event names the subject (its pid, for a program that crashed repeatedly).
            id.events = std::mem::take(&mut entry.0.events);
            id.events.push(event_id(e, boot));
            entry.0 = id;
            entry.1.push(e);
        }
    }
    // Newest first: the table shows the first few findings of a rule in full.
    let mut groups: Vec<(SubjectId, Vec<&KernelEvent>)> = groups.into_values().collect();
    groups.sort_by_key(|(_, events)| {
        std::cmp::Reverse(events.last().and_then(|e| e.time).map(|t| t.timestamp_millis()))
    });
    groups
        .into_iter()
        .map(|(id, events)| Subject {
            id,
            facts: facts_of(&events, now),
        })
        .collect()
}

/// The snake_case name serde gives an enum value (`soft_lockup`).
fn serde_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn facts_of(events: &[&KernelEvent], now: DateTime<Utc>) -> FactSet {
    let mut f = FactSet::default();
    let newest = events.last().expect("a group has at least one event");
    f.text("event.kind", newest.kind_name());
    f.num("event.count", events.len() as f64);
    f.text("event.line", newest.line.clone());
    match newest.time {
        Some(t) => f.num(
            "event.age_s",
            (now - t.with_timezone(&Utc)).num_milliseconds().max(0) as f64 / 1000.0,
        ),
        None => f.absent("event.age_s", "the log gives no time for this event"),
    }
    match &newest.kind {
        EventKind::OomKill(k) => {
            f.opt("event.rss_bytes", k.rss_bytes.map(|b| b as f64));
            f.opt("event.global", k.global.map(flag));
            // Only a memcg OOM's limit: a global OOM's report prints no memcg usage line.
            if k.global != Some(true) {
                f.opt("event.memcg_limit_bytes", k.memcg_limit_bytes.map(|b| b as f64));
                f.opt("event.memcg_usage_bytes", k.memcg_usage_bytes.map(|b| b as f64));
            }
            let scope = match (k.global, k.oom_memcg.as_deref()) {
                (Some(true), _) => "the whole host ran out of memory (global OOM)".to_string(),
                (_, Some(memcg)) => format!("memory cgroup {memcg} hit its limit"),
                (Some(false), None) => "a memory cgroup hit its limit".to_string(),
                (None, None) => "the log does not say whether a cgroup limit was hit".to_string(),
            };
            f.text("event.oom_scope", scope);
            if let Some(t) = &k.trigger_comm {
                f.text("event.trigger", t.clone());
            }
        }
        EventKind::Segfault(s) => {
            let any_overflow = events
                .iter()
                .any(|e| matches!(&e.kind, EventKind::Segfault(s) if s.likely_stack_overflow));
            f.num("event.likely_stack_overflow", flag(any_overflow));
            let mut fault = s.fault.clone();
            if let Some(a) = s.address {
                fault.push_str(&format!(" at {a:#x}"));
            }
            if let Some(sp) = s.sp {
                fault.push_str(&format!(", sp {sp:#x}"));
            }
            if let Some(obj) = &s.object {
                fault.push_str(&format!(" in {obj}"));
            }
            f.text("event.fault", fault);
            f.text("event.signal", signal_of(&s.fault));
            if any_overflow {
                f.text(
                    "event.hint",
                    "the fault is a write within a page of the stack pointer: most likely a stack overflow \
                     (deep recursion, or a thread stack smaller than it needs; see ulimit -s / RLIMIT_STACK)",
                );
            }
        }
        EventKind::HungTask(h) => {
            let longest = events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::HungTask(h) => Some(h.blocked_secs),
                    _ => None,
                })
                .max()
                .unwrap_or(h.blocked_secs);
            f.num("event.blocked_s", longest as f64);
        }
        EventKind::Oops(o) => f.text("event.what", serde_name(&o.what)),
        EventKind::IoError(io) => {
            f.text("event.what", serde_name(&io.what));
            if let Some(fs) = &io.filesystem {
                f.text("event.filesystem", fs.clone());
            }
        }
        EventKind::HardwareError(h) => f.text("event.what", h.source.clone()),
        EventKind::SynFlood(s) => f.text("event.port", s.port.clone()),
        EventKind::FileMax(m) => f.opt("event.limit", m.limit.map(|l| l as f64)),
        EventKind::ForkRejected(fr) => f.text("event.cgroup", fr.cgroup.clone()),
        EventKind::ConntrackFull(_) | EventKind::TcpMem(_) | EventKind::Lost(_) => {}
    }
    f
}

/// The signal a user-mode fault sends, from the kernel's name for it: x86's do_error_trap table
/// (arch/x86/kernel/traps.c: invalid opcode SIGILL, divide error SIGFPE, int3 SIGTRAP, segment not
/// present, stack segment and alignment check SIGBUS), arm64's alignment fault SIGBUS; any other
/// fault (a segfault, a general protection fault, a translation or permission fault) SIGSEGV.
pub fn signal_of(fault: &str) -> &'static str {
    let f = fault.to_ascii_lowercase();
    if f.contains("invalid opcode") || f.contains("undefined instruction") {
        "SIGILL"
    } else if f.contains("divide error") {
        "SIGFPE"
    } else if f.contains("int3") {
        "SIGTRAP"
    } else if f.contains("segment not present") || f.contains("stack segment") || f.contains("alignment") {
        "SIGBUS"
    } else {
        "SIGSEGV"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_names_the_signal_it_sends() {
        for (fault, signal) in [
            ("segfault", "SIGSEGV"),
            ("general protection fault", "SIGSEGV"),
            ("invalid opcode", "SIGILL"),
            ("divide error", "SIGFPE"),
            ("int3", "SIGTRAP"),
            ("stack segment", "SIGBUS"),
            ("level 2 translation fault", "SIGSEGV"),
            ("alignment fault", "SIGBUS"),
            ("unhandled page fault (11)", "SIGSEGV"),
        ] {
            assert_eq!(signal_of(fault), signal, "{fault}");
        }
    }
    use crate::parse::kernel_log::{diagnose, parse_kmsg, parse_text_bytes};

    const SEGV: &str =
        "segfault at 2d0 ip 00007b49bd09a8fd sp 00007fff39e19e80 error 4 in libc.so.6[7b49bd028000+188000]";

    fn kmsg(text: &str) -> Vec<KernelEvent> {
        diagnose(&parse_kmsg(text.as_bytes()).records).events
    }

    fn text(text: &str) -> Vec<KernelEvent> {
        diagnose(&parse_text_bytes(text.as_bytes(), None).records).events
    }

    #[test]
    fn a_kmsg_event_is_its_boot_and_sequence_number() {
        let events = kmsg(&format!(
            "6,417,1000,-;iperf3[10]: {SEGV}\n6,418,2000,-;iperf3[11]: {SEGV}\n"
        ));
        assert_eq!(events.len(), 2, "{events:#?}");
        assert_eq!(event_id(&events[0], "b00t"), "b00t/417");
        assert_eq!(event_id(&events[1], "b00t"), "b00t/418");
        // The same sequence number after a reboot is another event.
        assert_ne!(event_id(&events[0], "b00t"), event_id(&events[0], "other"));
    }

    #[test]
    fn a_text_log_event_is_its_time_pid_and_line() {
        let a = text(&format!("[  100.000001] iperf3[10]: {SEGV}\n"));
        let again = text(&format!("[  100.000001] iperf3[10]: {SEGV}\n"));
        let later = text(&format!("[  100.500000] iperf3[10]: {SEGV}\n"));
        let other_pid = text(&format!("[  100.000001] iperf3[12]: {SEGV}\n"));
        let id = |e: &[KernelEvent]| event_id(&e[0], "ignored for text");
        assert!(id(&a).starts_with("text/"), "{}", id(&a));
        assert_eq!(id(&a), id(&again));
        assert_ne!(id(&a), id(&later));
        assert_ne!(id(&a), id(&other_pid));
    }

    #[test]
    fn a_group_carries_every_events_identity_and_its_group_key() {
        let log = KernelLog {
            source: "/dev/kmsg".to_string(),
            records: 2,
            events: kmsg(&format!(
                "6,417,1000,-;iperf3[10]: {SEGV}\n6,418,2000,-;iperf3[11]: {SEGV}\n"
            )),
            lost: Vec::new(),
            unrecognised: Default::default(),
        };
        let subjects = derive(&log, Utc::now(), None, "b");
        assert_eq!(subjects.len(), 1);
        let id = &subjects[0].id;
        assert_eq!(id.events, ["b/417", "b/418"]);
        assert_eq!(id.event_group.as_deref(), Some("segfault:iperf3"));
        assert_eq!(id.pid, Some(11), "named by the newest crash");
        assert_eq!(
            crate::pipeline::enrich::key_of(id),
            "kernel_event:segfault:iperf3"
        );
    }
    #[test]
    fn a_refused_fork_and_an_oom_kill_in_a_container_carry_its_id_and_the_limit_hit() {
        let id = "4f1a9c3e8b2d7f60a5c4e3b2d1f0e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2";
        let cg = format!("/libpod_parent/libpod-{id}");
        let log = KernelLog {
            source: "/dev/kmsg".to_string(),
            records: 5,
            events: kmsg(&format!(
                "6,10,1000,-;cgroup: fork rejected by pids controller in {cg}\n\
                 4,11,2000,-;ctrhog invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n\
                 6,12,2001,-;memory: usage 65536kB, limit 65536kB, failcnt 12\n\
                 6,13,2002,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg={cg},task_memcg={cg},task=ctrhog,pid=77,uid=0\n\
                 3,14,2003,-;Memory cgroup out of memory: Killed process 77 (ctrhog) total-vm:70000kB, anon-rss:64700kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:200kB oom_score_adj:0\n"
            )),
            lost: Vec::new(),
            unrecognised: Default::default(),
        };
        let subjects = derive(&log, Utc::now(), None, "b");
        assert_eq!(subjects.len(), 2, "{subjects:#?}");
        for s in &subjects {
            assert_eq!(s.id.cgroup.as_deref(), Some(cg.as_str()));
            assert_eq!(s.id.container_id.as_deref(), Some(id), "{:?}", s.id);
        }
        let fork = subjects
            .iter()
            .find(|s| s.id.kind == SubjectKind::Cgroup)
            .unwrap();
        assert!(
            matches!(fork.facts.get("event.kind"), Some(super::super::Value::Text(k)) if k == "fork_rejected")
        );
        let kill = subjects
            .iter()
            .find(|s| s.id.kind == SubjectKind::Process)
            .unwrap();
        assert_eq!(
            kill.facts.get_f64("event.memcg_limit_bytes"),
            Some(64.0 * 1048576.0)
        );
        assert_eq!(
            kill.facts.get_f64("event.memcg_usage_bytes"),
            Some(64.0 * 1048576.0)
        );
        assert_eq!(kill.facts.get_f64("event.rss_bytes"), Some(64700.0 * 1024.0));
    }
}
