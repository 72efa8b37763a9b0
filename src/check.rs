//! `osdoctor check`: open the source, take two samples under a deadline, derive facts, run the rules,
//! and build the report.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};

use crate::clock::monotonic_secs;
use crate::collect::SystemInfo;
use crate::collect::cgroup;
use crate::collect::host::{self, Pass};
use crate::collect::process::{self, PassClock, ProcessSample, ScanProgress};
use crate::coverage::{Coverage, ProblemKind};
use crate::facts::{Facts, Subject, SubjectId, SubjectKind};
use crate::report::{CoverageReport, HostInfo, Report, SCHEMA_VERSION, Tool, use_matrix};
use crate::root::{Root, RootError};
use crate::rules::eval::{self, subject_key};
use crate::rules::{Rule, Severity};
use crate::sample::Sample;
use crate::snapshot::{self, SnapshotMeta};
use crate::state::State;

/// Where the samples come from.
pub enum Source {
    /// The running system: sample twice, `interval` apart.
    Live(Root),
    /// A root-like tree (DIR/proc, DIR/sys): a host's root mounted in a debug container, or a copy.
    /// Sampled twice like the live system.
    Tree(Root),
    /// A snapshot written by `osdoctor snapshot`: both samples replayed with their recorded times.
    Snapshot {
        meta: Box<SnapshotMeta>,
        first: Root,
        second: Option<Root>,
        display: String,
        _unpacked: Option<snapshot::TempDir>,
    },
}

impl Source {
    /// `--root`: none is the live system; a directory holding `osdoctor-snapshot.json` (or a
    /// `.tar.gz` of one) is a snapshot; any other directory is a root-like tree.
    pub fn open(root: Option<&Path>) -> Result<Source, SourceError> {
        let Some(path) = root else {
            return Ok(Source::Live(Root::live()));
        };
        if path.is_file() && snapshot::is_archive(path) {
            let unpacked =
                snapshot::unpack(path).map_err(|e| SourceError::Snapshot(path.to_path_buf(), e))?;
            let dir = unpacked.path().to_path_buf();
            let mut src = Source::open_dir(&dir, path.display().to_string())?;
            if let Source::Snapshot { _unpacked, .. } = &mut src {
                *_unpacked = Some(unpacked);
            }
            return Ok(src);
        }
        Source::open_dir(path, path.display().to_string())
    }

    fn open_dir(path: &Path, display: String) -> Result<Source, SourceError> {
        let dir = Root::dir(path)?;
        if !path.join(snapshot::META_FILE).is_file() {
            if !path.join("proc").is_dir() {
                return Err(SourceError::NotARoot(path.to_path_buf()));
            }
            return Ok(Source::Tree(dir));
        }
        let meta = SnapshotMeta::read(path).map_err(|e| SourceError::Snapshot(path.to_path_buf(), e))?;
        let first = Root::dir(path.join(&meta.samples[0].dir))?;
        let second = match meta.samples.get(1) {
            Some(s) => Some(Root::dir(path.join(&s.dir))?),
            None => None,
        };
        Ok(Source::Snapshot {
            meta: Box::new(meta),
            first,
            second,
            display,
            _unpacked: None,
        })
    }

    pub fn display(&self) -> String {
        match self {
            Source::Live(r) | Source::Tree(r) => r.display(),
            Source::Snapshot { display, .. } => display.clone(),
        }
    }
}

/// Why `--root` cannot be used (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(
        "--root {0}: neither a snapshot (no osdoctor-snapshot.json) nor a root tree (no proc/ directory)"
    )]
    NotARoot(PathBuf),
    #[error("--root {0}: not a usable snapshot: {1}")]
    Snapshot(PathBuf, String),
}

/// What the collectors produced.
#[derive(Debug, Clone)]
pub struct Collected {
    pub si: SystemInfo,
    pub first: Option<Sample>,
    pub second: Option<Sample>,
    pub coverage: Coverage,
    /// A read did not finish before the deadline.
    pub partial: bool,
    /// Seconds between the samples as recorded.
    pub interval_s: f64,
    /// Where reads made after the rules ran (command lines of the processes named in findings) go:
    /// the live system, or the snapshot's last sample. A snapshot being captured records them there.
    pub late_root: Option<Root>,
    /// When the whole check must be done (`--interval` + `--timeout` after it started), for those reads.
    pub deadline: Option<std::time::Instant>,
}

/// One pass of every collector over `root`. The snapshot command runs exactly this with a recording
/// root, which is why a snapshot holds exactly the files `check` reads. `prev` is the first sample when
/// this is the second pass (which re-reads only what rates need, for the processes it found).
pub fn collect_pass(
    root: &Root,
    si: &SystemInfo,
    pass: Pass,
    prev: Option<&Sample>,
    cov: &mut Coverage,
) -> Sample {
    collect_pass_with(root, si, pass, prev, cov, &PassProgress::default())
}

/// What a pass publishes while it runs, so a deadline keeps what was read: the host part once it is
/// read, then each process as it is read.
#[derive(Debug, Default)]
pub struct PassProgress {
    host: Mutex<Option<(Sample, Coverage)>>,
    pub scan: ScanProgress,
}

impl PassProgress {
    /// Publish the host part of the pass (before the process scan starts).
    pub fn publish_host(&self, sample: &Sample, cov: &Coverage) {
        if let Ok(mut h) = self.host.lock() {
            *h = Some((sample.clone(), cov.clone()));
        }
    }

    /// What was read so far: the host part with the processes read by now, marked incomplete.
    fn so_far(&self) -> Option<(Sample, Coverage)> {
        let (mut sample, cov) = self.host.lock().ok()?.take()?;
        sample.processes = ProcessSample {
            scanned: true,
            complete: false,
            procs: self.scan.take(),
            ..ProcessSample::default()
        };
        Some((sample, cov))
    }

    fn at(&self) -> String {
        self.scan.at.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

/// [`collect_pass`], publishing progress.
pub fn collect_pass_with(
    root: &Root,
    si: &SystemInfo,
    pass: Pass,
    prev: Option<&Sample>,
    cov: &mut Coverage,
    progress: &PassProgress,
) -> Sample {
    let mut sample = Sample::new(monotonic_secs(), Utc::now());
    sample.host = host::collect(root, si, pass, cov);
    match (pass, prev.and_then(|f| f.cgroups.as_ref())) {
        (Pass::Full, _) => {
            sample.cgroups = Some(cgroup::collect(root, cov));
            let btime = sample.host.stat.as_ref().map(|s| s.btime);
            sample.kernel_log = crate::collect::kmsg::collect(root, btime, cov);
        }
        (Pass::RatesOnly, Some(first_cgroups)) => {
            sample.cgroup_counters = Some(cgroup::collect_counters(root, first_cgroups))
        }
        (Pass::RatesOnly, None) => {}
    }
    progress.publish_host(&sample, cov);
    let clock = PassClock {
        stat_read_at: sample.mono_secs,
        prev_stat_read_at: prev.map(|p| p.mono_secs),
        ticks_per_second: si.ticks_per_second,
    };
    sample.processes = process::collect(
        root,
        pass,
        &sample.host,
        &clock,
        prev.map(|p| &p.processes),
        cov,
        &progress.scan,
    );
    sample
}

/// The first pass also establishes the boot time the parsers need.
fn with_boot_time(mut si: SystemInfo, s: &Sample) -> SystemInfo {
    if si.boot_time_secs.is_none() {
        si.boot_time_secs = s.host.stat.as_ref().map(|st| st.btime);
    }
    si
}

/// Take the samples. Live sources run in a worker thread: if a read blocks (a task in D state holding a
/// lock /proc needs), the deadline passes, and the report is built from what was read, marked partial.
pub fn collect(source: &Source, interval: Duration, timeout: Duration) -> Collected {
    match source {
        Source::Snapshot {
            meta, first, second, ..
        } => {
            let si = meta.system_info();
            let mut coverage = Coverage::default();
            let mut s1 = collect_pass(first, &si, Pass::Full, None, &mut coverage);
            s1.mono_secs = meta.samples[0].mono_secs;
            s1.wall = meta.samples[0].wall;
            let s2 = second.as_ref().map(|root| {
                let mut s = collect_pass(root, &si, Pass::RatesOnly, Some(&s1), &mut coverage);
                s.mono_secs = meta.samples[1].mono_secs;
                s.wall = meta.samples[1].wall;
                s
            });
            let interval_s = s2.as_ref().map(|s| s.mono_secs - s1.mono_secs).unwrap_or(0.0);
            Collected {
                si,
                first: Some(s1),
                second: s2,
                coverage,
                partial: false,
                interval_s,
                late_root: Some(second.clone().unwrap_or_else(|| first.clone())),
                deadline: None,
            }
        }
        Source::Live(root) | Source::Tree(root) => {
            collect_with_deadline(root.clone(), interval, timeout, collect_pass_with)
        }
    }
}

/// The pass function `collect_with_deadline` runs (`collect_pass_with`, or a stand-in in tests).
pub type PassFn = fn(&Root, &SystemInfo, Pass, Option<&Sample>, &mut Coverage, &PassProgress) -> Sample;

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

/// Run both passes in a worker thread and wait at most `interval + timeout`. What the worker published
/// by then is the result; a worker still blocked in a read is left behind (the process exits soon).
fn collect_with_deadline(root: Root, interval: Duration, timeout: Duration, pass: PassFn) -> Collected {
    let progress = Arc::new(Mutex::new(Progress {
        stage: "the first sample",
        ..Progress::default()
    }));
    let worker_progress = Arc::clone(&progress);
    let root_clone = root.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("osdoctor-collect".into())
        .spawn(move || {
            let publish = |f: &dyn Fn(&mut Progress)| {
                if let Ok(mut p) = worker_progress.lock() {
                    f(&mut p);
                }
            };
            let mut cov = Coverage::default();
            let si = SystemInfo::live();
            let p1 = Arc::new(PassProgress::default());
            publish(&|p| p.current = Some(Arc::clone(&p1)));
            let s1 = Arc::new(pass(&root, &si, Pass::Full, None, &mut cov, &p1));
            let si = with_boot_time(si, &s1);
            let cov1 = cov.clone();
            publish(&|p| {
                p.si = Some(si);
                p.first = Some(Arc::clone(&s1));
                p.coverage = cov1.clone();
                p.stage = "the second sample";
                p.current = None;
            });
            if !interval.is_zero() {
                std::thread::sleep(interval);
                let p2 = Arc::new(PassProgress::default());
                publish(&|p| p.current = Some(Arc::clone(&p2)));
                let s2 = pass(&root, &si, Pass::RatesOnly, Some(&s1), &mut cov, &p2);
                drop(s1);
                let mut s2 = Some(s2);
                let cov = &cov;
                let s2_slot = Mutex::new(s2.take());
                publish(&|p| {
                    p.second = s2_slot.lock().ok().and_then(|mut s| s.take());
                    p.coverage = cov.clone();
                    p.current = None;
                });
            } else {
                drop(s1);
            }
            publish(&|p| p.done = true);
            let _ = tx.send(());
        });
    let root_for_late = root_clone;
    let started_at = std::time::Instant::now();
    let deadline = interval + timeout;
    let finished = spawned.is_ok() && rx.recv_timeout(deadline).is_ok();
    let mut p = match progress.lock() {
        Ok(p) => p,
        Err(poisoned) => poisoned.into_inner(),
    };
    let partial = !finished || !p.done;
    let mut stuck_at = String::new();
    if partial && let Some(current) = p.current.take() {
        stuck_at = current.at();
        // The pass that did not finish: keep its host part and the processes read so far.
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
        partial,
        interval_s,
        late_root: Some(root_for_late),
        deadline: Some(started_at + deadline),
    }
}

/// Facts from what was collected.
pub fn derive_facts(c: &Collected, since: Option<chrono::Duration>) -> Facts {
    derive_facts_for(c, &[], since)
}

/// Facts, with process subjects only for the `focus` pids (all when empty), kernel events within
/// `since` of the first sample.
pub fn derive_facts_for(c: &Collected, focus: &[i32], since: Option<chrono::Duration>) -> Facts {
    let mut host_facts = match &c.first {
        Some(first) => crate::facts::host::derive(first, c.second.as_ref()),
        None => Default::default(),
    };
    let mut subjects = std::collections::BTreeMap::new();
    let mut missing_subjects = std::collections::BTreeMap::new();
    let mut coverage = c.coverage.clone();
    if let Some(first) = &c.first
        && let Some(d) = crate::facts::process::derive(
            first,
            c.second.as_ref(),
            c.si.ticks_per_second,
            &mut host_facts,
            focus,
        )
    {
        subjects.insert(SubjectKind::Process, d.processes);
        subjects.insert(SubjectKind::User, d.users);
    }
    for (i, s) in [&c.first, &c.second].into_iter().enumerate() {
        if let Some(s) = s
            && s.processes.scanned
            && !s.processes.complete
        {
            coverage.notes.push(format!(
                "the {} sample's process scan stopped at the deadline after {} processes",
                if i == 0 { "first" } else { "second" },
                s.processes.procs.len()
            ));
        }
    }
    // What needs the first sample: the --pid notes, the cgroup and kernel-event subjects.
    if let Some(first) = &c.first {
        let read: std::collections::BTreeSet<i32> = first.processes.procs.iter().map(|p| p.pid).collect();
        for pid in focus.iter().filter(|p| !read.contains(p)) {
            coverage
                .notes
                .push(format!("--pid {pid}: no such process was read"));
        }

        let layout_mode = first
            .cgroups
            .as_ref()
            .and_then(|cg| cg.layout.as_ref())
            .and_then(|l| l.mode);
        if layout_mode.is_some() {
            subjects.insert(
                SubjectKind::Cgroup,
                crate::facts::cgroup::derive(first, c.second.as_ref()),
            );
        } else {
            missing_subjects.insert(SubjectKind::Cgroup, "no cgroup filesystem was found".to_string());
        }

        // Kernel events within --since, ages taken at the first sample.
        let now = first.wall;
        let window_start = since.map(|d| now - d);
        host_facts.num(
            "host.kernel_log.readable",
            if first.kernel_log.is_some() { 1.0 } else { 0.0 },
        );
        match &first.kernel_log {
            Some(log) => {
                let events = crate::facts::kernel::derive(log, now, window_start);
                if let Some(cgroups) = subjects.get_mut(&SubjectKind::Cgroup) {
                    attach_oom_recency(cgroups, log, now, window_start);
                }
                subjects.insert(SubjectKind::KernelEvent, events);
            }
            None => {
                let why = match c.coverage.problem_for("/dev/kmsg") {
                    Some(p) => format!("the kernel log could not be read: /dev/kmsg: {}", p.reason),
                    None => "the kernel log was not read".to_string(),
                };
                missing_subjects.insert(SubjectKind::KernelEvent, why);
            }
        }
    }
    Facts {
        host: Subject {
            id: SubjectId::host(),
            facts: host_facts,
        },
        subjects,
        single_sample: c.second.is_none(),
        coverage: coverage.clone(),
        missing_subjects,
    }
}

/// The newest OOM kill the kernel log shows in each cgroup (its victim's memcg, or the memcg whose
/// limit was hit), as `cgroup.memory.last_oom_kill_age_s`.
pub fn attach_oom_recency(
    cgroups: &mut [Subject],
    log: &crate::collect::kmsg::KernelLog,
    now: chrono::DateTime<Utc>,
    window_start: Option<chrono::DateTime<Utc>>,
) {
    use crate::kernel_log::EventKind;
    for subject in cgroups.iter_mut() {
        let Some(path) = subject.id.cgroup.clone() else {
            continue;
        };
        let newest = log
            .events
            .iter()
            .filter(|e| crate::facts::kernel::in_window(e, window_start))
            .filter_map(|e| match &e.kind {
                EventKind::OomKill(k)
                    if k.task_memcg.as_deref() == Some(path.as_str())
                        || k.oom_memcg.as_deref() == Some(path.as_str()) =>
                {
                    e.time
                }
                _ => None,
            })
            .max();
        if let Some(t) = newest {
            let age = (now - t.with_timezone(&Utc)).num_milliseconds().max(0) as f64 / 1000.0;
            subject.facts.num("cgroup.memory.last_oom_kill_age_s", age);
        }
    }
}

/// Options of one check run.
pub struct CheckOptions<'a> {
    pub interval: Duration,
    pub timeout: Duration,
    pub rules: &'a [Rule],
    pub state: Option<&'a Path>,
    pub min_severity: Severity,
    /// `--pid`: process rules only for these processes (host rules still run); empty = all.
    pub pids: &'a [i32],
    /// Redact secrets from command lines (false with `--no-redact`).
    pub redact: bool,
    /// Kernel-log window (`--since`); `None` takes every event still in the log.
    pub since: Option<chrono::Duration>,
}

/// Run the whole check on a source and build the report. Writes the state file when asked.
pub fn run(source: &Source, opts: &CheckOptions) -> Result<Report, crate::state::StateError> {
    let started = Utc::now();
    let collected = collect(source, opts.interval, opts.timeout);
    build_report(&source.display(), host_meta(source), &collected, opts, started)
}

fn host_meta(source: &Source) -> Option<&SnapshotMeta> {
    match source {
        Source::Snapshot { meta, .. } => Some(meta),
        _ => None,
    }
}

/// Facts, rules and the report from what was collected.
pub fn build_report(
    root_display: &str,
    meta: Option<&SnapshotMeta>,
    collected: &Collected,
    opts: &CheckOptions,
    started: chrono::DateTime<Utc>,
) -> Result<Report, crate::state::StateError> {
    let mut facts = derive_facts_for(collected, opts.pids, opts.since);
    let previous = match opts.state {
        Some(p) => State::load(p)?,
        None => State::default(),
    };
    let counters = since_last_run(&mut facts, &previous);
    let outcome = eval::evaluate(opts.rules, &facts, &|rule, key| previous.severity(rule, key));
    if let Some(path) = opts.state {
        let mut next = previous.clone();
        next.record_run(
            started,
            outcome
                .findings
                .iter()
                .map(|f| (f.rule.clone(), key_of(&f.subject), f.severity)),
        );
        next.counters = counters;
        next.save(path)?;
    }
    let host = host_info(root_display, meta, collected, &facts);
    let nothing_read = collected
        .first
        .as_ref()
        .is_none_or(|s| s.host.stat.is_none() && s.host.meminfo.is_none());
    let untrustworthy = collected.partial || collected.coverage.has_data_errors() || nothing_read;
    let status = Report::compute_status(&outcome.findings, untrustworthy);
    let mut notes = facts.coverage.notes.clone();
    if nothing_read {
        notes.push("neither /proc/stat nor /proc/meminfo could be read: nothing to judge".to_string());
    }
    if let Some(log) = collected.first.as_ref().and_then(|s| s.kernel_log.as_ref()) {
        let lost = log.lost_messages();
        if lost > 0 {
            notes.push(format!(
                "the kernel log dropped or suppressed {lost} messages: event counts are lower bounds"
            ));
        }
    }
    let matrix = use_matrix(opts.rules, &outcome.evaluated, &outcome.findings);
    let mut findings: Vec<_> = outcome
        .findings
        .into_iter()
        .filter(|f| f.severity >= opts.min_severity)
        .collect();
    if let Some(note) = add_cmdlines(&mut findings, collected, opts) {
        notes.push(note);
    }
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool::default(),
        host,
        started_at: started.to_rfc3339_opts(SecondsFormat::Secs, true),
        interval_s: (collected.interval_s * 1000.0).round() / 1000.0,
        status,
        partial: collected.partial,
        findings,
        use_matrix: matrix,
        coverage: CoverageReport {
            read: collected.coverage.read.iter().cloned().collect(),
            unreadable: collected.coverage.problems.clone(),
            rules_evaluated: outcome.evaluated.len(),
            not_evaluated: outcome.not_evaluated,
            notes,
        },
    })
}

/// How long reading command lines after the rules may take (they can block on a process's mmap lock
/// even when its main thread is not in D state).
const CMDLINE_DEADLINE: Duration = Duration::from_secs(2);

/// Fill `subject.cmdline` of process findings, reading /proc/PID/cmdline now, only for those processes
/// and never for a task in D state. Returns a coverage note when the reads did not finish in time.
fn add_cmdlines(
    findings: &mut [crate::rules::finding::Finding],
    c: &Collected,
    opts: &CheckOptions,
) -> Option<String> {
    let root = c.late_root.clone()?;
    let latest = c.second.as_ref().or(c.first.as_ref())?;
    let from_kernel_log = |rule: &str| {
        opts.rules
            .iter()
            .any(|r| r.id == rule && r.subject == SubjectKind::KernelEvent)
    };
    let mut wanted: Vec<(i32, char)> = findings
        .iter()
        .filter(|f| f.subject.kind == SubjectKind::Process && !from_kernel_log(&f.rule))
        .filter_map(|f| f.subject.pid)
        .map(|pid| {
            let state = latest
                .processes
                .procs
                .iter()
                .find(|p| p.pid == pid)
                .map(|p| p.state)
                .unwrap_or('?');
            (pid, state)
        })
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return None;
    }
    // Within what is left of --timeout, and never more than CMDLINE_DEADLINE.
    let left = c
        .deadline
        .map(|d| d.saturating_duration_since(std::time::Instant::now()))
        .unwrap_or(opts.timeout);
    let limit = CMDLINE_DEADLINE.min(opts.timeout).min(left);
    if limit.is_zero() {
        return Some(
            "command lines are not shown: --timeout was reached before they could be read".to_string(),
        );
    }
    let redact = opts.redact;
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("osdoctor-cmdline".into())
        .spawn(move || {
            let _ = tx.send(process::read_cmdlines(&root, &wanted, redact));
        });
    let Ok(cmdlines) = spawned
        .map_err(|_| ())
        .and_then(|_| rx.recv_timeout(limit).map_err(|_| ()))
    else {
        return Some(format!(
            "command lines are not shown: reading them did not finish within {}s",
            limit.as_secs_f64()
        ));
    };
    for f in findings.iter_mut() {
        if let Some(pid) = f
            .subject
            .pid
            .filter(|_| f.subject.kind == SubjectKind::Process && !from_kernel_log(&f.rule))
        {
            f.subject.cmdline = cmdlines.get(&pid).cloned();
        }
    }
    None
}

/// Counters kept across `--state` runs, and the fact each one's growth since the last run becomes.
const TRACKED: &[(&str, &str)] = &[(
    "cgroup.memory.oom_kill_total",
    "cgroup.memory.oom_kill_since_last_run",
)];

/// Set the since-last-run facts from the previous state's counters; return this run's counters.
fn since_last_run(facts: &mut Facts, previous: &State) -> std::collections::BTreeMap<String, f64> {
    let mut now = std::collections::BTreeMap::new();
    for subjects in facts.subjects.values_mut() {
        for s in subjects.iter_mut() {
            let key = subject_key(s);
            for (counter, growth) in TRACKED {
                let Some(v) = s.facts.get_f64(counter) else {
                    continue;
                };
                let name = format!("{key} {counter}");
                // A counter that went down was reset (a recreated cgroup): all of it is new.
                if let Some(before) = previous.counters.get(&name) {
                    s.facts.num(growth, if v >= *before { v - before } else { v });
                }
                now.insert(name, v);
            }
        }
    }
    now
}

fn key_of(id: &SubjectId) -> String {
    subject_key(&Subject {
        id: id.clone(),
        facts: Default::default(),
    })
}

fn host_info(root_display: &str, meta: Option<&SnapshotMeta>, c: &Collected, facts: &Facts) -> HostInfo {
    let host = c.first.as_ref().map(|s| &s.host);
    HostInfo {
        hostname: host
            .and_then(|h| h.hostname.clone())
            .or_else(|| meta.map(|m| m.hostname.clone())),
        kernel: host
            .and_then(|h| h.kernel_release.clone())
            .or_else(|| meta.map(|m| m.kernel.clone())),
        cpus: facts.host.facts.get_f64("host.cpus").map(|c| c as u32),
        memory_bytes: facts.host.facts.get_f64("host.mem.total_bytes").map(|m| m as u64),
        cgroup_mode: c
            .first
            .as_ref()
            .and_then(|s| s.cgroups.as_ref())
            .and_then(|cg| cg.layout.as_ref())
            .and_then(|l| l.mode)
            .map(|m| m.name().to_string()),
        root: root_display.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_grow_since_the_last_state_run() {
        let mut cg = crate::facts::FactSet::default();
        cg.num("cgroup.memory.oom_kill_total", 3.0);
        let mut facts = Facts {
            host: Subject {
                id: SubjectId::host(),
                facts: Default::default(),
            },
            subjects: [(
                SubjectKind::Cgroup,
                vec![Subject {
                    id: crate::facts::cgroup::subject_id("/app"),
                    facts: cg,
                }],
            )]
            .into_iter()
            .collect(),
            single_sample: false,
            coverage: Default::default(),
            missing_subjects: Default::default(),
        };
        const KEY: &str = "cgroup:/app cgroup.memory.oom_kill_total";
        let since = |facts: &Facts| {
            facts.subjects[&SubjectKind::Cgroup][0]
                .facts
                .get_f64("cgroup.memory.oom_kill_since_last_run")
        };
        // The state file of a run that counted `total`.
        let previous = |total: f64| State {
            counters: [(KEY.to_string(), total)].into_iter().collect(),
            ..State::default()
        };
        // First run: nothing to compare with.
        let first = since_last_run(&mut facts, &State::default());
        assert_eq!(first.get(KEY), Some(&3.0));
        assert_eq!(since(&facts), None);
        // Next run: one kill more.
        since_last_run(&mut facts, &previous(2.0));
        assert_eq!(since(&facts), Some(1.0));
        // A recreated cgroup starts from zero: everything counted now is new.
        since_last_run(&mut facts, &previous(10.0));
        assert_eq!(since(&facts), Some(3.0));
    }

    /// A pass whose second round blocks as a read of a stuck task's /proc file would.
    fn blocks_on_second_pass(
        root: &Root,
        si: &SystemInfo,
        pass: Pass,
        prev: Option<&Sample>,
        cov: &mut Coverage,
        progress: &PassProgress,
    ) -> Sample {
        if pass == Pass::RatesOnly {
            std::thread::sleep(Duration::from_secs(30));
        }
        collect_pass_with(root, si, pass, prev, cov, progress)
    }

    /// A pass that reads the host files and one process, then blocks reading the next process's
    /// status (as a read can block behind a task in D state); on the first pass when `FIRST` is true.
    fn blocks_mid_scan<const FIRST: bool>(
        root: &Root,
        si: &SystemInfo,
        pass: Pass,
        prev: Option<&Sample>,
        cov: &mut Coverage,
        progress: &PassProgress,
    ) -> Sample {
        if FIRST != (pass == Pass::Full) {
            return collect_pass_with(root, si, pass, prev, cov, progress);
        }
        let mut s = Sample::new(monotonic_secs(), Utc::now());
        s.host = host::collect(root, si, pass, cov);
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

    /// `collect_with_deadline` on the live root, checked to return well before the blocked read would.
    fn collect_soon(interval: Duration, timeout: Duration, pass: PassFn) -> Collected {
        let started = std::time::Instant::now();
        let c = collect_with_deadline(Root::live(), interval, timeout, pass);
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
            let facts = derive_facts(&c, None);
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
        let facts = derive_facts(&c, None);
        assert!(facts.host.facts.get_f64("host.mem.total_bytes").is_some());
        assert!(facts.host.facts.get_f64("host.cpu.busy_ratio").is_none());
    }

    #[test]
    fn a_quick_run_is_complete() {
        let c = collect_with_deadline(
            Root::live(),
            Duration::from_millis(50),
            Duration::from_secs(5),
            collect_pass_with,
        );
        assert!(!c.partial);
        assert!(c.second.is_some());
        assert!(c.interval_s >= 0.05);
    }
}
