//! Defects a review found in the text parser, each from the exact input it was found with: the
//! events (kind, pid, comm) that must come out, and nothing invented.

use super::*;

/// An event's kind, pid and comm.
type Event = (&'static str, Option<u32>, Option<String>);

/// (kind, pid, comm) of each event, and the unrecognised count.
fn events_of(text: &str) -> (Vec<Event>, usize) {
    let d = diagnose(&parse_text(text, Some(2026)).records);
    let events = d
        .events
        .iter()
        .map(|e| {
            let (pid, comm) = match &e.kind {
                EventKind::OomKill(k) => (Some(k.pid), Some(k.comm.clone())),
                EventKind::Segfault(s) => (Some(s.pid), Some(s.comm.clone())),
                EventKind::HungTask(h) => (Some(h.pid), Some(h.comm.clone())),
                EventKind::Oops(o) => (o.pid, o.comm.clone()),
                _ => (None, None),
            };
            (e.kind_name(), pid, comm)
        })
        .collect();
    (events, d.unrecognised.count)
}

fn ev(kind: &'static str, pid: u32, comm: &str) -> Event {
    (kind, Some(pid), Some(comm.to_string()))
}

const KILL_TAIL: &str = "total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB";

#[test]
fn lines_after_a_long_line_are_not_swallowed() {
    let input = "/var/log/messages-20261201:Dec  1 10:00:00 host kernel: Out of memory: Killed process 9302 (db) total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB
/var/log/messages:Dec  7 10:00:01 host sshd[1]: Killed process 9303 (cmd)
echo \"INFO: task e:9305 blocked for more than 120 seconds.\"
";
    // The sshd line is another program's (skipped); the echo is a pasted command, no record of a
    // hung task, but a line of its own that names an event (so counted, not swallowed).
    assert_eq!(events_of(input), (vec![ev("oom_kill", 9302, "db")], 1));
    let parsed = parse_text(input, Some(2026));
    assert_eq!(parsed.records.len(), 2);
    assert_eq!(parsed.skipped_lines, 1);
    assert!(parsed.records[1].text.starts_with("echo "));
}

#[test]
fn a_bare_kill_line_after_a_long_stamped_one_is_its_own() {
    let input = format!(
        "[ 100.000000] Out of memory: Killed process 6008 (real) {KILL_TAIL}\nKilled process 6009 (bare) {KILL_TAIL}\n"
    );
    assert_eq!(
        events_of(&input),
        (
            vec![ev("oom_kill", 6008, "real"), ev("oom_kill", 6009, "bare")],
            0
        )
    );
}

#[test]
fn a_terminal_wrapped_line_is_still_joined() {
    // 80 columns wide, cut by the terminal, and the rest on the next line.
    let first = "[ 100.000000] Out of memory: Killed process 6008 (real) total-vm:1000kB, anon-rs";
    assert_eq!(first.len(), 80);
    let input = format!("{first}\ns:500kB, file-rss:0kB, shmem-rss:0kB\n");
    let parsed = parse_text(&input, Some(2026));
    assert_eq!(parsed.records.len(), 1);
    assert!(
        parsed.records[0]
            .text
            .ends_with("anon-rss:500kB, file-rss:0kB, shmem-rss:0kB")
    );
    assert_eq!(events_of(&input), (vec![ev("oom_kill", 6008, "real")], 0));
}

#[test]
fn wrap_chains_keep_the_terminal_width() {
    // A joined continuation 80+ wide but narrower than the first line was not cut by the same
    // terminal: what follows it is a line of its own.
    let first = format!("[ 100.000000] {}", "x".repeat(86));
    let second = "y".repeat(82);
    let input = format!("{first}\n{second}\nsome other line\n");
    let parsed = parse_text(&input, Some(2026));
    assert_eq!(parsed.records.len(), 2, "{parsed:?}");
    // The same width: cut again by the same terminal.
    let second = "y".repeat(first.len());
    let input = format!("{first}\n{second}\nzz\n");
    let parsed = parse_text(&input, Some(2026));
    assert_eq!(parsed.records.len(), 1, "{parsed:?}");
}

#[test]
fn grep_filename_prefixes_are_recognised() {
    let parsed = parse_text(
        "/var/log/messages:Dec  7 10:00:01 host kernel: hello\nkern.log:12:Dec  7 10:00:02 host kernel: [ 5.000000] there\n",
        Some(2026),
    );
    let texts: Vec<_> = parsed.records.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, ["hello", "there"]);
    assert!(parsed.records.iter().all(|r| r.wall.is_some()));
}

#[test]
fn syslogd_wall_message_without_a_printk_stamp() {
    let input = "Message from syslogd@localhost at Dec  7 10:00:09 ...
 kernel:NMI watchdog: BUG: soft lockup - CPU#2 stuck for 23s! [java:7777]
 kernel:Kernel panic - not syncing: Hard LOCKUP
";
    assert_eq!(
        events_of(input),
        (vec![ev("oops", 7777, "java"), ("oops", None, None)], 0)
    );
    let d = diagnose(&parse_text(input, Some(2026)).records);
    let whats: Vec<_> = d
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Oops(o) => Some(o.what),
            _ => None,
        })
        .collect();
    assert_eq!(whats, [OopsKind::SoftLockup, OopsKind::Panic]);
}

#[test]
fn old_oom_kill_lines() {
    for (line, pid, comm) in [
        ("Out of Memory: Killed process 2001 (httpd).", 2001, "httpd"),
        ("Out of memory: Killed process 2002 (mysqld).", 2002, "mysqld"),
        ("Killed process 2003 (java)", 2003, "java"),
        (
            "Out of memory: Killed process 2005, UID 27, (mysqld).",
            2005,
            "mysqld",
        ),
    ] {
        assert_eq!(events_of(line), (vec![ev("oom_kill", pid, comm)], 0), "{line}");
    }
    // 2.6's chosen victim, then the child actually killed: one kill.
    let input = "Out of memory: kill process 2003 (java) score 900 or a child\nKilled process 2004 (java)\n";
    assert_eq!(events_of(input), (vec![ev("oom_kill", 2004, "java")], 0));
}

#[test]
fn old_oops_task_line() {
    let input = "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008
IP: [<ffffffff8104b0e2>] foo+0x12/0x40
Oops: 0000 [#1] SMP
Pid: 2013, comm: badproc Tainted: G W 2.6.32-431.el6.x86_64 #1
";
    assert_eq!(events_of(input), (vec![ev("oops", 2013, "badproc")], 0));
    let d = diagnose(&parse_text(input, Some(2026)).records);
    let EventKind::Oops(o) = &d.events[0].kind else {
        panic!("{d:?}")
    };
    assert_eq!(o.what, OopsKind::NullPointerDereference);
    assert_eq!(o.function.as_deref(), Some("foo+0x12/0x40"));
    assert_eq!(o.kernel.as_deref(), Some("2.6.32-431.el6.x86_64"));
}

#[test]
fn old_oom_invoker_task_line() {
    let input = "java invoked oom-killer: gfp_mask=0x201da, order=0, oom_adj=0, oom_score_adj=0
java cpuset=/ mems_allowed=0
Pid: 2020, comm: java Not tainted 2.6.32-431.el6.x86_64 #1
Out of memory: Kill process 2021 (java) score 900 or sacrifice child
Killed process 2021, UID 0, (java) total-vm:1000kB, anon-rss:500kB, file-rss:0kB
";
    assert_eq!(events_of(input), (vec![ev("oom_kill", 2021, "java")], 0));
    let d = diagnose(&parse_text(input, Some(2026)).records);
    let EventKind::OomKill(k) = &d.events[0].kind else {
        panic!("{d:?}")
    };
    assert_eq!(k.trigger_pid, Some(2020));
    assert_eq!(k.kernel.as_deref(), Some("2.6.32-431.el6.x86_64"));
}

#[test]
fn caller_id_after_an_embedded_stamp_or_tag() {
    for input in [
        "Dec  7 10:00:08 host kernel: [  108.000000][  T5006] myproc[5006]: segfault at 0 ip 0000000000401136 sp 00007ffd0e0d3e10 error 6 in myproc[401000+1000]",
        "Dec  7 10:00:08 host kernel: [T5006] myproc[5006]: segfault at 0 ip 0000000000401136 sp 00007ffd0e0d3e10 error 6 in myproc[401000+1000]",
    ] {
        assert_eq!(
            events_of(input),
            (vec![ev("segfault", 5006, "myproc")], 0),
            "{input}"
        );
        let parsed = parse_text(input, Some(2026));
        assert_eq!(parsed.records[0].caller.as_deref(), Some("T5006"));
    }
    // Whatever the prefix, a comm with a bracket in it is not taken.
    assert_eq!(
        events_of("[x] myproc[5006]: segfault at 0 ip 0000000000401136 sp 00007ffd0e0d3e10 error 6"),
        (vec![ev("segfault", 5006, "myproc")], 0)
    );
}

#[test]
fn quoted_event_lines_are_read_and_powershell_prompts_are_not() {
    let line = format!("> Killed process 3001 (q) {KILL_TAIL}");
    assert_eq!(events_of(&line), (vec![ev("oom_kill", 3001, "q")], 0));
    let line = format!("PS C:\\> Killed process 3002 (ps) {KILL_TAIL}");
    assert_eq!(events_of(&line), (vec![], 0));
}
