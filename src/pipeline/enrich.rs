//! Enrichment after the rules ran: command lines of the processes findings name and the fd tables of
//! those fd findings name that the scan did not read (read late, under what is left of the deadline),
//! and counters kept across `--state` runs.

use std::time::Duration;

use crate::collect::process;
use crate::facts::{Facts, Subject, SubjectId, SubjectKind};
use crate::rules::Rule;
use crate::rules::eval::subject_key;
use crate::rules::finding::{Evidence, Finding};
use crate::sample::Collected;
use crate::state::State;

/// How long reading command lines after the rules may take (they can block on a process's mmap lock
/// even when its main thread is not in D state).
const CMDLINE_DEADLINE: Duration = Duration::from_secs(2);

/// Set `subject.pod` (`namespace/name`) and `subject.container` (the name) of every finding whose
/// subject has a pod UID or container ID the kubelet's log tree names; without the tree, nothing.
pub fn add_pod_names(findings: &mut [Finding], names: Option<&crate::collect::kubelet_logs::KubeletNames>) {
    let Some(names) = names else {
        return;
    };
    for f in findings {
        let s = &mut f.subject;
        let (pod, container) = names.names(s.pod_uid.as_deref(), s.container_id.as_deref());
        s.pod = pod;
        s.container = container;
    }
}

/// Fill `subject.cmdline` of process findings, reading /proc/PID/cmdline now, only for those processes
/// and never for a task in D state. Returns a coverage note when the reads did not finish in time.
pub fn add_cmdlines(
    findings: &mut [Finding],
    c: &Collected,
    rules: &[Rule],
    timeout: Duration,
    redact: bool,
) -> Option<String> {
    let root = c.late_root.clone()?;
    let latest = c.second.as_ref().or(c.first.as_ref())?;
    let from_kernel_log = |rule: &str| {
        rules
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
    let limit = time_left(c, timeout, CMDLINE_DEADLINE);
    if limit.is_zero() {
        return Some(
            "command lines are not shown: --timeout was reached before they could be read".to_string(),
        );
    }
    let Some(cmdlines) = within("osdoctor-cmdline", limit, move || {
        process::read_cmdlines(&root, &wanted, redact)
    }) else {
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

/// Run `read` on a thread of its own for at most `limit`: `None` when it did not finish (the thread is
/// abandoned, blocked in the kernel as it may be).
fn within<T: Send + 'static>(
    name: &str,
    limit: Duration,
    read: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tx.send(read());
        })
        .ok()?;
    rx.recv_timeout(limit).ok()
}

/// What is left of the run's deadline, at most `cap` and `timeout`.
fn time_left(c: &Collected, timeout: Duration, cap: Duration) -> Duration {
    let left = c
        .deadline
        .map(|d| d.saturating_duration_since(std::time::Instant::now()))
        .unwrap_or(timeout);
    cap.min(timeout).min(left)
}

/// Give the fd findings of processes whose fd table the scan did not read (fd.leak_trend is judged
/// from the runs before; a process past the scan's cap) their table, read now on the live system:
/// the breakdown and the counts per class their rule lists as evidence. Returns a coverage note when
/// the reads did not finish in time.
pub fn add_fd_tables(
    findings: &mut [Finding],
    c: &Collected,
    rules: &[Rule],
    timeout: Duration,
) -> Option<String> {
    let root = c.late_root.clone()?;
    let wants_table = |f: &Finding| {
        f.subject.kind == SubjectKind::Process
            && f.subject.pid.is_some()
            && !f.evidence.iter().any(|(n, _)| n == "proc.fd.breakdown")
            && rules
                .iter()
                .any(|r| r.id == f.rule && r.evidence.contains(&"proc.fd.breakdown"))
    };
    // Worst first (findings come so), each process once, with the start time it is known by.
    let mut pids: Vec<(i32, Option<u64>)> = Vec::new();
    for f in findings.iter().filter(|f| wants_table(f)) {
        if let Some(pid) = f.subject.pid
            && !pids.iter().any(|(p, _)| *p == pid)
        {
            pids.push((pid, f.subject.start_time));
        }
    }
    if pids.is_empty() || !root.is_live() {
        return None;
    }
    let limit = time_left(c, timeout, CMDLINE_DEADLINE);
    let tables = if limit.is_zero() {
        None
    } else {
        within("osdoctor-fd-tables", limit, move || {
            process::read_fd_tables(&root, &pids)
        })
    };
    let Some(tables) = tables else {
        return Some(
            "fd tables of the processes fd findings name were not read before the deadline".to_string(),
        );
    };
    for f in findings.iter_mut() {
        if !wants_table(f) {
            continue;
        }
        let Some(rule) = rules.iter().find(|r| r.id == f.rule) else {
            continue;
        };
        let Some(t) = f.subject.pid.and_then(|pid| tables.get(&pid)) else {
            continue;
        };
        for (name, value) in crate::facts::process::fd_table_facts(t) {
            if rule.evidence.contains(&name) {
                f.evidence.push((name.to_string(), Evidence::of(name, value)));
            }
        }
    }
    None
}

/// Counters kept across `--state` runs, the fact each one's growth since the last run becomes, and
/// the rules that alert on that growth: with `--state`, the same total as the last run is info
/// ([`counter_unchanged`]).
const TRACKED: &[(&str, &str, &[&str])] = &[(
    "cgroup.memory.oom_kill_total",
    "cgroup.memory.oom_kill_since_last_run",
    &["cgroup.oom_kill"],
)];

/// Whether `f` is a finding on a tracked counter that did not grow since the last `--state` run (it
/// reports a total already reported).
pub fn counter_unchanged(f: &Finding, facts: &Facts) -> bool {
    let Some(subject) = f
        .subject_index
        .and_then(|i| facts.subjects.get(&f.subject.kind)?.get(i))
        .filter(|s| s.id.cgroup == f.subject.cgroup && s.id.pid == f.subject.pid)
    else {
        return false;
    };
    TRACKED.iter().any(|(_, growth, rules)| {
        rules.contains(&f.rule.as_str()) && subject.facts.get_f64(growth) == Some(0.0)
    })
}

/// Set the since-last-run facts from the previous state's counters; return this run's counters.
pub fn since_last_run(facts: &mut Facts, previous: &State) -> std::collections::BTreeMap<String, f64> {
    let mut now = std::collections::BTreeMap::new();
    for subjects in facts.subjects.values_mut() {
        for s in subjects.iter_mut() {
            let key = subject_key(s);
            for (counter, growth, _) in TRACKED {
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

pub fn key_of(id: &SubjectId) -> String {
    subject_key(&Subject {
        id: id.clone(),
        facts: Default::default(),
    })
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
            absent_subjects: Default::default(),
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
}
