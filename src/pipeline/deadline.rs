//! The one deadline worker every command samples through.
//!
//! Both passes run in a worker thread; the caller waits at most the plan's sleep plus `--timeout`. If a
//! read blocks (a task in D state holding a lock /proc needs, a dead NFS mount), the deadline passes
//! and the run goes on with what the worker published by then, marked partial, with the file it was
//! stuck on named in coverage. The blocked worker is left behind (the process exits soon).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::collectors::{PassInput, PassProgress, Scope, run_pass};
use super::source::Plan;
use crate::collect::SystemInfo;
use crate::collect::host::Pass;
use crate::coverage::{Coverage, ProblemKind};
use crate::sample::{Collected, Sample};

/// The pass function the worker runs ([`run_pass`], or a stand-in in tests).
pub type PassFn = fn(&PassInput, &mut Coverage, &PassProgress) -> Sample;

/// Take the plan's samples of `scope` under the deadline.
pub fn collect(plan: Plan, scope: Scope, timeout: Duration) -> Collected {
    collect_with(plan, scope, timeout, run_pass)
}

#[derive(Default)]
struct Progress {
    /// Shared with the worker (which still needs it for the second pass) rather than copied: a scan of
    /// thousands of processes is the biggest thing in memory.
    first: Option<Arc<Sample>>,
    second: Option<Sample>,
    coverage: Coverage,
    si: Option<SystemInfo>,
    /// What the worker is reading now, named in the timeout message.
    stage: &'static str,
    /// The pass being read, with what it published so far.
    current: Option<Arc<PassProgress>>,
    done: bool,
}

/// A replay's recorded time replaces the clock's.
fn recorded_time(sample: &mut Sample, plan: &Plan, index: usize) {
    if let Some(&(mono, wall)) = plan.recorded.get(index) {
        sample.mono_secs = mono;
        sample.wall = wall;
    }
}

/// [`collect`] with the pass function given.
pub fn collect_with(plan: Plan, scope: Scope, timeout: Duration, pass: PassFn) -> Collected {
    let progress = Arc::new(Mutex::new(Progress {
        stage: "the first sample",
        ..Progress::default()
    }));
    let worker_progress = Arc::clone(&progress);
    let late_root = plan.late_root.clone();
    let recorded_partial = plan.recorded_partial;
    let wait = plan.sleep + timeout;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("osdoctor-collect".into())
        .spawn(move || {
            let publish = |f: &mut dyn FnMut(&mut Progress)| {
                if let Ok(mut p) = worker_progress.lock() {
                    f(&mut p);
                }
            };
            let mut cov = Coverage::default();
            let mut si = plan.si;
            let p1 = Arc::new(PassProgress::default());
            publish(&mut |p| p.current = Some(Arc::clone(&p1)));
            let input = PassInput {
                root: &plan.first,
                si: &si,
                pass: Pass::Full,
                prev: None,
                scope: &scope,
                last: plan.second.is_none(),
                replay: !plan.recorded.is_empty(),
                sosreport: plan.sosreport.as_deref(),
            };
            let mut s1 = pass(&input, &mut cov, &p1);
            recorded_time(&mut s1, &plan, 0);
            // The first pass establishes the boot time the parsers need.
            if si.boot_time_secs.is_none() {
                si.boot_time_secs = s1.host.stat.as_ref().map(|st| st.btime).or(s1.host.btime);
            }
            let s1 = Arc::new(s1);
            publish(&mut |p| {
                p.si = Some(si);
                p.first = Some(Arc::clone(&s1));
                p.coverage = cov.clone();
                p.stage = "the second sample";
                p.current = None;
            });
            if let Some(second_root) = &plan.second {
                std::thread::sleep(plan.sleep);
                let p2 = Arc::new(PassProgress::default());
                publish(&mut |p| p.current = Some(Arc::clone(&p2)));
                let input = PassInput {
                    root: second_root,
                    si: &si,
                    pass: Pass::RatesOnly,
                    prev: Some(&s1),
                    scope: &scope,
                    last: true,
                    replay: !plan.recorded.is_empty(),
                    sosreport: plan.sosreport.as_deref(),
                };
                let mut s2 = pass(&input, &mut cov, &p2);
                recorded_time(&mut s2, &plan, 1);
                drop(s1);
                let mut s2 = Some(s2);
                publish(&mut |p| {
                    p.second = s2.take();
                    p.coverage = cov.clone();
                    p.current = None;
                });
            } else {
                drop(s1);
            }
            publish(&mut |p| p.done = true);
            let _ = tx.send(());
        });
    let started_at = Instant::now();
    let finished = spawned.is_ok() && rx.recv_timeout(wait).is_ok();
    let mut p = match progress.lock() {
        Ok(p) => p,
        Err(poisoned) => poisoned.into_inner(),
    };
    let partial = !finished || !p.done;
    let mut stuck_at = String::new();
    if partial && let Some(current) = p.current.take() {
        stuck_at = current.at();
        // The pass that did not finish: keep what it published and the processes read so far.
        if let Some((sample, cov)) = current.so_far() {
            if p.first.is_none() {
                p.first = Some(Arc::new(sample));
            } else {
                p.second = Some(sample);
            }
            p.coverage = cov;
        }
    }
    let mut coverage = std::mem::take(&mut p.coverage);
    if recorded_partial {
        coverage.add(
            "the snapshot",
            ProblemKind::Timeout,
            "its capture did not finish within the capture's deadline; it holds what was read by then"
                .to_string(),
        );
    }
    if partial {
        let at = if stuck_at.is_empty() {
            String::new()
        } else {
            format!(" (stuck reading {stuck_at})")
        };
        coverage.add(
            p.stage,
            ProblemKind::Timeout,
            format!(
                "reading {}{at} did not finish within --timeout {}s; reported what was read by then",
                p.stage,
                timeout.as_secs_f64()
            ),
        );
    }
    let first = p
        .first
        .take()
        .map(|a| Arc::try_unwrap(a).unwrap_or_else(|shared| (*shared).clone()));
    let second = p.second.take();
    let interval_s = match (&first, &second) {
        (Some(a), Some(b)) => b.mono_secs - a.mono_secs,
        _ => 0.0,
    };
    Collected {
        si: p.si.unwrap_or_else(SystemInfo::live),
        first,
        second,
        coverage,
        partial: partial || recorded_partial,
        interval_s,
        late_root: Some(late_root),
        deadline: Some(started_at + wait),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::clock::monotonic_secs;
    use crate::collect::host;
    use crate::facts::derive::derive;
    use crate::root::Root;

    /// A pass whose second round blocks as a read of a stuck task's /proc file would.
    fn blocks_on_second_pass(input: &PassInput, cov: &mut Coverage, progress: &PassProgress) -> Sample {
        if input.pass == Pass::RatesOnly {
            std::thread::sleep(Duration::from_secs(30));
        }
        run_pass(input, cov, progress)
    }

    /// A pass that reads the host files and one process, then blocks reading the next process's
    /// status (as a read can block behind a task in D state); on the first pass when `FIRST` is true.
    fn blocks_mid_scan<const FIRST: bool>(
        input: &PassInput,
        cov: &mut Coverage,
        progress: &PassProgress,
    ) -> Sample {
        if FIRST != (input.pass == Pass::Full) {
            return run_pass(input, cov, progress);
        }
        let mut s = Sample::new(monotonic_secs(), Utc::now());
        s.host = host::collect(input.root, input.si, input.pass, cov);
        progress.publish_host(&s, cov);
        progress.scan.push(crate::collect::process::ProcSample {
            pid: 1,
            comm: "init".into(),
            state: 'S',
            ..Default::default()
        });
        progress.scan.at("/proc/4242/status");
        std::thread::sleep(Duration::from_secs(30));
        s
    }

    /// A pass whose filesystem collector (last in the second pass) has read one mount and then hangs
    /// in `statvfs()` of the next, as on a hard NFS mount whose server is gone.
    fn statvfs_hangs(input: &PassInput, cov: &mut Coverage, progress: &PassProgress) -> Sample {
        if input.pass == Pass::Full {
            return run_pass(input, cov, progress);
        }
        let mut s = Sample::new(monotonic_secs(), Utc::now());
        s.host = host::collect(input.root, input.si, input.pass, cov);
        s.processes.scanned = true;
        s.processes.complete = true;
        progress.publish_host(&s, cov);
        let (rows, _) = crate::parse::filesystems::rows(
            "27 1 254:0 / / rw - ext4 /dev/vda rw\n40 27 0:50 / /mnt/nfs rw - nfs4 srv:/x rw\n",
        );
        let read = crate::collect::filesystem::FilesystemSample {
            filesystems: vec![crate::collect::filesystem::FilesystemReading {
                row: rows[0].clone(),
                statvfs: Some(Default::default()),
            }],
            ..Default::default()
        };
        *progress.filesystems.read.lock().unwrap() = Some(read);
        *progress.filesystems.at.lock().unwrap() = Some("/mnt/nfs".to_string());
        std::thread::sleep(Duration::from_secs(30));
        s
    }

    #[test]
    fn a_statvfs_that_hangs_is_abandoned_and_the_rest_of_the_run_is_kept() {
        let c = collect_soon(
            Duration::from_millis(50),
            Duration::from_millis(600),
            statvfs_hangs,
        );
        assert!(c.partial);
        let second = c.second.as_ref().expect("the second sample is kept");
        assert!(second.host.stat.is_some());
        assert!(
            second.processes.complete,
            "the scan had finished: it is kept whole"
        );
        let fs = second.filesystems.as_ref().expect("the mounts read by then");
        assert!(fs.cut_short);
        assert_eq!(fs.filesystems.len(), 1);
        let stuck = c
            .coverage
            .problems
            .iter()
            .find(|p| p.path == "/mnt/nfs")
            .expect("the mount is listed");
        assert_eq!(stuck.kind, ProblemKind::Timeout);
        let pass = c
            .coverage
            .problems
            .iter()
            .find(|p| p.path == "the second sample")
            .expect("the pass is listed");
        assert!(
            pass.reason.contains("stuck reading statvfs(/mnt/nfs)"),
            "{pass:?}"
        );
        // The mount read before the hang is judged.
        let facts = derive(&c, None);
        assert_eq!(facts.subjects[&crate::facts::SubjectKind::Mount].len(), 1);
    }

    /// `collect_with` on a recorded root, checked to return well before the blocked read would.
    fn collect_soon(interval: Duration, timeout: Duration, pass: PassFn) -> Collected {
        let started = std::time::Instant::now();
        // A recorded root of 87 processes: a pass over it is quick even on a loaded machine, so only
        // the stand-in's block can run into the deadline.
        let root = Root::dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/fd-near-limit/sample1"
        ))
        .expect("fixture");
        let c = collect_with(Plan::live(root, interval), Scope::Host, timeout, pass);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
        c
    }

    fn timeout_problem(c: &Collected) -> &crate::coverage::Problem {
        c.coverage
            .problems
            .iter()
            .find(|p| p.kind == ProblemKind::Timeout)
            .expect("a timeout in coverage")
    }

    #[test]
    fn a_scan_that_blocks_keeps_the_processes_read_so_far() {
        for first in [true, false] {
            let f: PassFn = if first {
                blocks_mid_scan::<true>
            } else {
                blocks_mid_scan::<false>
            };
            let c = collect_soon(Duration::from_millis(50), Duration::from_millis(600), f);
            assert!(c.partial);
            let stuck = if first {
                c.first.as_ref()
            } else {
                c.second.as_ref()
            }
            .expect("the stuck pass is kept");
            assert!(stuck.host.stat.is_some());
            assert!(!stuck.processes.complete);
            assert_eq!(stuck.processes.procs.len(), 1);
            let timeout = timeout_problem(&c);
            assert!(
                timeout.reason.contains("stuck reading /proc/4242/status"),
                "{timeout:?}"
            );
            if !first {
                assert!(c.first.as_ref().unwrap().processes.complete);
            }
            let facts = derive(&c, None);
            assert!(
                facts
                    .coverage
                    .notes
                    .iter()
                    .any(|n| n.contains("stopped at the deadline after 1 processes")),
                "{:?}",
                facts.coverage.notes
            );
        }
    }

    #[test]
    fn a_blocked_read_is_abandoned_at_the_deadline_and_the_report_is_partial() {
        let c = collect_soon(
            Duration::from_millis(100),
            Duration::from_millis(400),
            blocks_on_second_pass,
        );
        assert!(c.partial);
        assert!(
            c.first.as_ref().is_some_and(|s| s.host.stat.is_some()),
            "the first sample is kept"
        );
        assert!(c.second.is_none());
        assert_eq!(timeout_problem(&c).path, "the second sample");
        // Facts and rules still run on what was read; rate facts say why they are missing.
        let facts = derive(&c, None);
        assert!(facts.host.facts.get_f64("host.mem.total_bytes").is_some());
        assert!(facts.host.facts.get_f64("host.cpu.busy_ratio").is_none());
    }

    #[test]
    fn a_quick_run_is_complete() {
        let c = collect(
            Plan::live(Root::live(), Duration::from_millis(50)),
            Scope::Host,
            Duration::from_secs(5),
        );
        assert!(!c.partial);
        assert!(c.second.is_some());
        assert!(c.interval_s >= 0.05);
    }
}
