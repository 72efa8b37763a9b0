//! Which process and kernel-event subjects belong to the target, and are judged with its cgroups.

use crate::collect::cgroup::CgroupReading;
use crate::facts::FactSet;
use crate::parse::cgroup::Limit;
use crate::rules::Rule;
use crate::rules::eval;
use crate::sample::Sample;

/// The subjects `osdoctor cgroup` judges: the target's cgroups, the processes read in them, and the
/// kernel events whose cgroup is the target or inside it (or whose process is one of its processes).
pub(super) struct JudgedSubjects {
    pub(super) cgroups: Vec<crate::facts::Subject>,
    pub(super) processes: Option<Vec<crate::facts::Subject>>,
    pub(super) events: Option<Vec<crate::facts::Subject>>,
    pub(super) host: FactSet,
    /// Why the kernel events are not judged.
    pub(super) kernel_log_missing: Option<String>,
}

/// Kernel events are taken from the last day of the log, as the OOM recency of a cgroup is.
pub(super) const EVENT_WINDOW_HOURS: i64 = 24;

impl JudgedSubjects {
    pub(super) fn of(
        cgroups: Vec<crate::facts::Subject>,
        first: Option<&Sample>,
        second: Option<&Sample>,
        ticks_per_second: u64,
        paths: &[&str],
        instance_ids: &[String],
    ) -> JudgedSubjects {
        let mut host = FactSet::default();
        // Process subjects only when some process was read: an empty cgroup has no process to judge,
        // which is not a rule "not evaluated".
        let processes = first
            .filter(|f| !f.processes.procs.is_empty())
            .and_then(|f| crate::facts::process::derive(f, second, ticks_per_second, &mut host, &[]))
            .map(|d| d.processes);
        let pids: std::collections::BTreeSet<i32> = first
            .map(|f| f.processes.procs.iter().map(|p| p.pid).collect())
            .unwrap_or_default();
        let (events, kernel_log_missing) = match crate::sample::last_kernel_log(first, second) {
            Some((log, read_at)) => {
                let window = Some(read_at - chrono::Duration::hours(EVENT_WINDOW_HOURS));
                let boot = first
                    .and_then(|f| f.host.boot_id.clone())
                    .unwrap_or_else(|| "boot".to_string());
                let events = crate::facts::kernel::derive(log, read_at, window, &boot)
                    .into_iter()
                    .filter(|e| event_in_target(&e.id, paths, &pids, instance_ids))
                    .collect();
                (Some(events), None)
            }
            None if first.is_some() => (
                None,
                Some(
                    "the kernel log was not read (/dev/kmsg needs root; a snapshot holds it when its capture \
                     could read it): the target's OOM kills, refused forks and crashes are not judged"
                        .to_string(),
                ),
            ),
            None => (None, None),
        };
        JudgedSubjects {
            cgroups,
            processes,
            events,
            host,
            kernel_log_missing,
        }
    }

    /// An OOM kill whose report the log kept without its `memory: usage X, limit Y` line (lost
    /// records, a log cut short) gets the limit of the cgroup it hit from that cgroup, where it is one
    /// of the target's and still has one.
    pub(super) fn limits_from_cgroups(&mut self, readings: &[CgroupReading]) {
        for e in self.events.iter_mut().flatten() {
            let oom =
                matches!(e.facts.get("event.kind"), Some(crate::facts::Value::Text(k)) if k == "oom_kill");
            if !oom || e.facts.get_f64("event.memcg_limit_bytes").is_some() {
                continue;
            }
            let scope = match e.facts.get("event.oom_scope") {
                Some(crate::facts::Value::Text(t)) => t.clone(),
                _ => continue,
            };
            let limit = readings.iter().find_map(|r| {
                (scope == format!("memory cgroup {} hit its limit", r.path))
                    .then(|| r.memory.max.and_then(Limit::value))
                    .flatten()
            });
            if let Some(limit) = limit {
                e.facts.num("event.memcg_limit_bytes", limit as f64);
            }
        }
    }

    /// The cgroup rules, the process rules (when processes were read) and the kernel-event rules
    /// (when the log was).
    pub(super) fn evaluate(self, rules: &[Rule], single_sample: bool) -> eval::Outcome {
        use crate::facts::SubjectKind;
        let mut subjects = std::collections::BTreeMap::new();
        subjects.insert(SubjectKind::Cgroup, self.cgroups);
        if let Some(p) = self.processes {
            subjects.insert(SubjectKind::Process, p);
        }
        if let Some(e) = self.events {
            subjects.insert(SubjectKind::KernelEvent, e);
        }
        let rules: Vec<Rule> = rules
            .iter()
            .filter(|r| subjects.contains_key(&r.subject))
            .cloned()
            .collect();
        let facts = crate::facts::Facts {
            host: crate::facts::Subject {
                id: crate::facts::SubjectId::host(),
                facts: self.host,
            },
            subjects,
            single_sample,
            coverage: Default::default(),
            missing_subjects: Default::default(),
            absent_subjects: Default::default(),
        };
        let mut outcome = eval::evaluate(&rules, &facts, &|_, _| None);
        // A process rule on figures only `check` reads (host-wide rates, NUMA placement, the trend
        // history of --state) is not evaluated here for that reason, not for the host's lack of them.
        for n in outcome.not_evaluated.iter_mut() {
            let process_rule = rules
                .iter()
                .any(|r| r.id == n.rule && r.subject == SubjectKind::Process);
            if process_rule && let Some(fact) = n.reason.strip_suffix(" is not available on this host") {
                n.reason =
                    format!("{fact} is not read by osdoctor cgroup: osdoctor check --pid PID evaluates it");
            }
        }
        outcome
    }
}

/// Whether a kernel event belongs to the target: its cgroup is one of `paths` or below one, or is an
/// instance of one of its containers the log tree links (`ids`: a restarted container's OOM-killed
/// predecessor); an event that names no cgroup (a segfault) belongs when its process is one of the
/// target's.
pub(super) fn event_in_target(
    id: &crate::facts::SubjectId,
    paths: &[&str],
    pids: &std::collections::BTreeSet<i32>,
    ids: &[String],
) -> bool {
    match &id.cgroup {
        Some(cg) => {
            paths.iter().any(|p| within(cg, p)) || id.container_id.as_ref().is_some_and(|c| ids.contains(c))
        }
        None => id.pid.is_some_and(|p| pids.contains(&p)),
    }
}

/// `path` is `dir` or inside it.
pub(super) fn within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}
