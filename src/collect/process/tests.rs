//! Whole scans of small root trees, through [`collect`].

use super::*;
use crate::coverage::ProblemKind;

#[test]
fn reads_the_processes_of_a_root_tree_and_skips_the_unreadable() {
    let tmp = tempfile::tempdir().unwrap();
    let proc_ = tmp.path().join("proc");
    let me = std::process::id();
    // A copy of this test process's own files, and a pid whose status is a FIFO.
    for (pid, fifo) in [(me, false), (4242, true)] {
        let d = proc_.join(pid.to_string());
        std::fs::create_dir_all(d.join("fd")).unwrap();
        for f in ["stat", "status", "limits", "schedstat", "cgroup", "oom_score"] {
            let text = std::fs::read(format!("/proc/self/{f}")).unwrap();
            if f == "status" && fifo {
                rustix::fs::mknodat(
                    rustix::fs::CWD,
                    d.join(f),
                    rustix::fs::FileType::Fifo,
                    rustix::fs::Mode::from_raw_mode(0o600),
                    0,
                )
                .unwrap();
            } else {
                std::fs::write(d.join(f), text).unwrap();
            }
        }
        std::os::unix::fs::symlink("/dev/null", d.join("fd/0")).unwrap();
        std::os::unix::fs::symlink("socket:[1]", d.join("fd/1")).unwrap();
    }
    let root = Root::dir(tmp.path()).unwrap();
    let mut cov = Coverage::default();
    let host = HostSample::default();
    let clock = PassClock {
        stat_read_at: crate::clock::monotonic_secs(),
        prev_stat_read_at: None,
        ticks_per_second: 100,
    };
    let progress = ScanProgress::default();
    let s = collect(&root, Pass::Full, &host, &clock, None, &mut cov, &progress, None);
    assert!(s.scanned && s.complete);
    assert_eq!(s.procs.len(), 2);
    assert_eq!(s.fd_count_mode, Some(FdCount::List));
    let p = s.procs.iter().find(|p| p.pid == me as i32).unwrap();
    assert_eq!(p.fd_count, Some(2));
    assert!(
        p.limits.is_some() && p.uid.is_some() && p.oom_score.is_some(),
        "{p:?} {cov:?}"
    );
    let fifo = cov.problem_for("/proc/4242/status").expect("FIFO listed");
    assert_eq!(fifo.kind, ProblemKind::Unreadable);
    assert!(fifo.reason.contains("FIFO"), "{fifo:?}");

    // The second pass re-reads what rates need; a changed start time is a different process.
    let mut prev = s.clone();
    prev.procs.iter_mut().find(|p| p.pid == 4242).unwrap().starttime += 1;
    let s2 = collect(
        &root,
        Pass::RatesOnly,
        &host,
        &clock,
        Some(&prev),
        &mut cov,
        &progress,
        None,
    );
    assert_eq!(s2.procs.len(), 1);
    assert_eq!(s2.gone, 1);
    assert!(s2.procs[0].schedstat.is_some());
}

#[test]
fn an_empty_proc_is_zero_processes_and_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("proc")).unwrap();
    std::fs::write(tmp.path().join("proc/meminfo"), "MemTotal: 1 kB\n").unwrap();
    let root = Root::dir(tmp.path()).unwrap();
    let mut cov = Coverage::default();
    let clock = PassClock {
        stat_read_at: 0.0,
        prev_stat_read_at: None,
        ticks_per_second: 100,
    };
    let s = collect(
        &root,
        Pass::Full,
        &HostSample::default(),
        &clock,
        None,
        &mut cov,
        &ScanProgress::default(),
        None,
    );
    assert!(s.scanned);
    assert!(s.procs.is_empty());
    assert!(
        cov.notes.iter().any(|n| n.contains("no /proc/PID")),
        "{:?}",
        cov.notes
    );
}

/// A process's files copied from this test process, with `links` as its fd table and `netns` as its
/// network namespace; `net` (sockstat, tcp) written into its /proc/PID/net when given.
fn fake_process(proc_: &std::path::Path, pid: u32, links: &[String], netns: &str, net: Option<(&str, &str)>) {
    let d = proc_.join(pid.to_string());
    std::fs::create_dir_all(d.join("fd")).unwrap();
    std::fs::create_dir_all(d.join("ns")).unwrap();
    for f in ["stat", "status", "limits", "schedstat", "cgroup", "oom_score"] {
        let mut text = std::fs::read_to_string(format!("/proc/self/{f}")).unwrap();
        if f == "stat" {
            // The scan checks that stat speaks of the pid it read.
            text = format!("{pid}{}", &text[text.find(' ').unwrap()..]);
        }
        std::fs::write(d.join(f), text).unwrap();
    }
    for (fd, target) in links.iter().enumerate() {
        std::os::unix::fs::symlink(target, d.join(format!("fd/{fd}"))).unwrap();
    }
    std::os::unix::fs::symlink(netns, d.join("ns/net")).unwrap();
    if let Some((sockstat, tcp)) = net {
        std::fs::create_dir_all(d.join("net")).unwrap();
        std::fs::write(d.join("net/sockstat"), sockstat).unwrap();
        std::fs::write(d.join("net/tcp"), tcp).unwrap();
    }
}

#[test]
fn the_close_wait_survey_reads_only_the_tables_it_needs_and_bounds_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let proc_ = tmp.path().join("proc");
    let sockets = |r: std::ops::Range<u32>| -> Vec<String> { r.map(|i| format!("socket:[{i}]")).collect() };
    // Namespace A: 120 CLOSE_WAIT sockets to 10.0.0.9:5432 (inodes 1000..1120), 45 ESTABLISHED.
    let mut tcp = String::from(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    );
    for (n, ino) in (1000..1120).chain(2000..2045).enumerate() {
        let st = if ino < 2000 { "08" } else { "01" };
        tcp.push_str(&format!(
            "{n}: 0100007F:{:04X} 0900000A:1538 {st} 00000000:00000000 00:00000000 00000000 0 0 {ino} 1 0 20 4 30 10 -1\n",
            30000 + n
        ));
    }
    let sockstat_a = "sockets: used 170\nTCP: inuse 165 orphan 0 tw 0 alloc 165 mem 1\n";
    // The leaker: 120 CLOSE_WAIT and 5 ESTABLISHED sockets, and two files.
    let mut leak = sockets(1000..1120);
    leak.extend(sockets(2000..2005));
    leak.extend(["/var/lib/app/data".to_string(), "/var/lib/app/data".to_string()]);
    fake_process(&proc_, 100, &leak, "net:[1]", Some((sockstat_a, &tcp)));
    // Healthy: 40 ESTABLISHED. Its table is not read once the leaker accounts for the pile.
    fake_process(&proc_, 101, &sockets(2005..2045), "net:[1]", None);
    // Namespace B: 60 fds but only 10 TCP sockets in use there: its tables are not read.
    let sockstat_b = "sockets: used 12\nTCP: inuse 10 orphan 0 tw 0 alloc 10 mem 1\n";
    fake_process(
        &proc_,
        200,
        &sockets(5000..5060),
        "net:[2]",
        Some((sockstat_b, "")),
    );
    // Few fds: ruled out by its count.
    fake_process(&proc_, 300, &sockets(6000..6005), "net:[1]", None);
    // A forked child holding its parent's 120 CLOSE_WAIT sockets: each holder counts them.
    let mut child = sockets(1000..1120);
    child.extend(std::iter::repeat_n("/dev/null".to_string(), 10));
    fake_process(&proc_, 102, &child, "net:[1]", None);

    let root = Root::dir(tmp.path()).unwrap();
    let mut cov = Coverage::default();
    let clock = PassClock {
        stat_read_at: crate::clock::monotonic_secs(),
        prev_stat_read_at: None,
        ticks_per_second: 100,
    };
    let s = collect(
        &root,
        Pass::Full,
        &HostSample::default(),
        &clock,
        None,
        &mut cov,
        &ScanProgress::default(),
        None,
    );
    let p = |pid: i32| {
        s.procs
            .iter()
            .find(|p| p.pid == pid)
            .unwrap_or_else(|| panic!("{pid}: {cov:?}"))
    };
    let table = p(100)
        .fd_table
        .as_ref()
        .unwrap_or_else(|| panic!("{:?} {cov:?}", p(100)));
    assert_eq!(table.total, 127);
    assert_eq!(table.close_wait(), 120);
    assert_eq!(table.tcp["ESTABLISHED"], 5);
    assert_eq!(table.close_wait_peers, vec![("10.0.0.9:5432".to_string(), 120)]);
    assert_eq!(table.files, 2);
    assert_eq!(
        p(102).fd_table.as_ref().map(|t| t.close_wait()),
        Some(120),
        "{:?}",
        p(102)
    );
    // The healthy process: its links were counted (none in CLOSE_WAIT), its table not classified.
    assert!(p(101).fd_table.is_none());
    assert_eq!(p(101).close_wait_at_most, Some(0));
    // Namespace B: at most its 10 sockets in use.
    assert!(p(200).fd_table.is_none());
    assert_eq!(p(200).close_wait_at_most, Some(10));
    assert_eq!(p(300).close_wait_at_most, Some(5));
}
