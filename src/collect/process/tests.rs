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
    let s = collect(&root, Pass::Full, &host, &clock, None, &mut cov, &progress);
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
    );
    assert!(s.scanned);
    assert!(s.procs.is_empty());
    assert!(
        cov.notes.iter().any(|n| n.contains("no /proc/PID")),
        "{:?}",
        cov.notes
    );
}
