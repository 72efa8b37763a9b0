//! `osdoctor cgroup TARGET`: ask one pod's, container's or cgroup's own accounting what is wrong.
//!
//! The flow mirrors `check`, narrowed to the target:
//!
//! 1. resolve TARGET ([`crate::collect::cgroup::resolve_target`]): a cgroup path, a PID, a container ID (or a
//!    unique prefix of at least 12 hex digits) or a Kubernetes pod UID; with the kubelet's log tree
//!    ([`crate::collect::kubelet_logs`], read first: one failed open on other hosts) also
//!    `namespace/pod-name` or a pod or container name unique on the node. A pod brings its container
//!    cgroups, the pause (sandbox) container marked when its processes say so, and the tree's names and
//!    restart counts;
//! 2. sample twice: the first pass reads every file of each cgroup
//!    ([`crate::collect::cgroup::read_cgroup_dirs`]) and the processes inside; after `--interval` the second
//!    pass re-reads only the counters rates need ([`crate::collect::cgroup::read_counters`]). A
//!    snapshot replays its two recorded samples instead; a root-like tree is sampled like the live
//!    system (its files do not change, so its rates are zero);
//! 3. derive the cgroup facts ([`crate::facts::cgroup::derive`]), the process facts of the processes read
//!    in the target's cgroups (the process collector scans only those pids,
//!    [`crate::collect::process::collect_pids`]) and the kernel-event facts of the last day's events
//!    whose cgroup is the target or inside it; evaluate the cgroup, process and kernel-event rules;
//! 4. build a [`CgroupReport`], rendered by [`crate::report::render`]: findings carry the pod's
//!    `namespace/name` and the container's name where the tree gives them, and a container's last OOM
//!    kill is joined from the kernel log (its cgroup, or any instance the tree links).
//!
//! A target no cgroup matches but the kernel log names (a container ID or prefix, a pod UID, a path,
//! a name the kubelet's log tree gives) is reported from those events alone (`target.gone`).
//!
//! Reads run in a worker thread under a deadline (`--interval` + `--timeout`), as in `check`: a read
//! that blocks leaves a report of what was read by then, marked partial.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use super::collectors::Scope;
use super::deadline;
use super::source::Source;
use crate::collect::cgroup::{CgroupCounters, CgroupReading, FileProblem, Resolved, TargetError, TargetKind};
use crate::collect::cgroup_processes::ProcessList;
use crate::collect::kubelet_logs::{self, KubeletNames, NameMatch};
use crate::coverage::ProblemKind;
use crate::facts::FactSet;
use crate::parse::cgroup::{CgroupDirs, CgroupLayout, Limit, Runtime};
use crate::report::cgroup::{
    CGROUP_SCHEMA_VERSION, CgroupCoverage, CgroupReport, CgroupView, CpuIntervalView, CpuView, IoView,
    MemoryEventsView, MemoryView, PidsView, PressureView, PsiView, Role, TargetInfo,
};
use crate::report::{Report, Tool};
use crate::rules::Rule;
use crate::rules::eval;
use crate::rules::finding::Finding;
use crate::sample::Sample;

/// Why `osdoctor cgroup` could not report (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error(transparent)]
    Target(#[from] TargetError),
}

/// Options of one `osdoctor cgroup` run.
pub struct CgroupOptions<'a> {
    /// Seconds between the samples of a live system or root tree; 0 takes one sample. A snapshot
    /// replays its recorded samples whatever this says.
    pub interval: Duration,
    /// How long reads may take beyond the interval before the report is built from what was read.
    pub timeout: Duration,
    /// All rules; those whose subject is `cgroup`, `process` or `kernel_event` are evaluated.
    pub rules: &'a [Rule],
}

/// One cgroup to read.
#[derive(Debug, Clone)]
struct Member {
    role: Role,
    dirs: CgroupDirs,
    container_id: Option<String>,
    runtime: Option<Runtime>,
    is_pause: Option<bool>,
}

fn members_of(resolved: &Resolved) -> Vec<Member> {
    let identity = resolved.identity.as_ref();
    let own_container = identity.and_then(|i| i.container_id.clone());
    let is_pod = identity.is_some_and(|i| i.pod_uid.is_some()) && own_container.is_none();
    let role = if is_pod || !resolved.containers.is_empty() {
        Role::Pod
    } else if own_container.is_some() {
        Role::Container
    } else {
        Role::Cgroup
    };
    let mut members = vec![Member {
        role,
        dirs: resolved.cgroup.clone(),
        container_id: own_container,
        runtime: identity
            .and_then(|i| i.runtime)
            .or_else(|| (role == Role::Pod).then(|| pod_runtime(resolved)).flatten()),
        is_pause: None,
    }];
    // App containers first, the pause (sandbox) container last; otherwise in name order.
    let mut containers: Vec<&crate::collect::cgroup::PodContainer> = resolved.containers.iter().collect();
    containers.sort_by_key(|c| c.is_pause == Some(true));
    members.extend(containers.into_iter().map(|c| Member {
        role: Role::Container,
        dirs: c.cgroup.clone(),
        container_id: Some(c.container_id.clone()),
        runtime: c.runtime,
        is_pause: c.is_pause,
    }));
    members
}

/// What the worker read.
#[derive(Default)]
struct Progress {
    first: Option<Sample>,
    processes: Vec<ProcessList>,
    second: Option<Sample>,
    /// The sample the deadline cut short.
    stage: String,
    /// Names from the kubelet's log tree, read when TARGET was resolved.
    kubelet: Option<KubeletNames>,
    /// Clock ticks per second, for the process facts.
    ticks_per_second: u64,
    done: bool,
}

/// Resolve TARGET in `source` and report on it.
pub fn run(source: &Source, target: &str, opts: &CgroupOptions) -> Result<CgroupReport, CgroupError> {
    let started = Utc::now();
    let plan = source.plan(opts.interval);
    let layout = crate::collect::cgroup::layout::detect(&plan.first);
    // Names from the kubelet's log tree: one failed open on a host that is not a Kubernetes node.
    let mut kubelet_cov = crate::coverage::Coverage::default();
    let kubelet = kubelet_logs::collect(&plan.first, &mut kubelet_cov);
    let mut resolved = match resolve(&plan.first, &layout, target, kubelet.as_ref()) {
        Ok(r) => r,
        // No cgroup matches: a container or pod that is gone (an OOM-killed container's cgroup goes
        // with it) may still be named by the kernel log.
        Err(TargetError::NotFound { searched, .. })
            if let Some(report) = gone(source, target, &searched, kubelet.as_ref(), opts, started) =>
        {
            return Ok(report);
        }
        Err(e) => return Err(e.into()),
    };
    resolved.notes.extend(kubelet_cov.notes);
    resolved.notes.extend(kubelet_cov.problems.iter().map(|p| {
        format!(
            "could not read {}: {} (pods and containers are named by their IDs)",
            p.path, p.reason
        )
    }));
    let members = members_of(&resolved);
    let scope = Scope::Cgroups {
        layout: layout.clone(),
        dirs: members.iter().map(|m| m.dirs.clone()).collect(),
        pids: match resolved.kind {
            TargetKind::Pid => resolved.target.trim().parse().into_iter().collect(),
            _ => Vec::new(),
        },
    };
    let mut collected = deadline::collect(plan, scope, opts.timeout);
    let stage = collected
        .coverage
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::Timeout)
        .map(|p| p.path.clone())
        .unwrap_or_default();
    let progress = Progress {
        processes: collected
            .first
            .as_mut()
            .and_then(|s| s.cgroup_processes.take())
            .unwrap_or_default(),
        first: collected.first,
        second: collected.second,
        stage,
        done: !collected.partial,
        kubelet,
        ticks_per_second: collected.si.ticks_per_second,
    };
    Ok(build(
        source, &layout, &resolved, &members, progress, opts, started,
    ))
}

/// TARGET through the kubelet's log tree first (`namespace/pod-name`, a pod or container name unique
/// on the node), then as [`crate::collect::cgroup::resolve_target`] takes it.
fn resolve(
    root: &crate::root::Root,
    layout: &CgroupLayout,
    target: &str,
    kubelet: Option<&KubeletNames>,
) -> Result<Resolved, TargetError> {
    let t = target.trim();
    let by_name = match kubelet {
        Some(k) if !t.starts_with('/') && !t.bytes().all(|b| b.is_ascii_digit()) => k.find(t),
        _ => NameMatch::None,
    };
    let named = |r: Result<Resolved, TargetError>, kind: TargetKind| match r {
        Ok(mut r) => {
            r.target = target.to_string();
            r.kind = kind;
            Ok(r)
        }
        // The pod is in the log tree but its cgroup is gone: say so under the name typed.
        Err(TargetError::NotFound { target: id, searched }) => Err(TargetError::NotFound {
            target: target.to_string(),
            searched: format!(
                "the kubelet log tree gives its UID {id} (the pod may be gone), but {searched}"
            ),
        }),
        Err(e) => Err(e),
    };
    match by_name {
        NameMatch::None => crate::collect::cgroup::resolve_target(root, layout, target),
        NameMatch::Pod(uid) => named(
            crate::collect::cgroup::resolve_target(root, layout, &uid),
            TargetKind::PodName,
        ),
        NameMatch::Container { ids, label } => {
            let mut last = None;
            for id in ids.iter().rev() {
                match crate::collect::cgroup::resolve_target(root, layout, id) {
                    Ok(r) => return named(Ok(r), TargetKind::ContainerName),
                    Err(e) => last = Some(e),
                }
            }
            Err(match last {
                Some(TargetError::NotFound { .. }) | None if ids.is_empty() => TargetError::NotFound {
                    target: target.to_string(),
                    searched: format!(
                        "container {label} is in /var/log/pods but no /var/log/containers link gives its ID; \
                         give its container ID (crictl ps --name {})",
                        label.rsplit('/').next().unwrap_or_default()
                    ),
                },
                Some(TargetError::NotFound { .. }) | None => TargetError::NotFound {
                    target: target.to_string(),
                    searched: format!(
                        "container {label} ({}) has no cgroup: it is not running",
                        ids.iter()
                            .map(|i| &i[..i.len().min(12)])
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
                Some(e) => e,
            })
        }
        NameMatch::Ambiguous(matches) => Err(TargetError::Ambiguous {
            target: target.to_string(),
            what: "pods or containers by name".to_string(),
            matches,
            hint: "Give namespace/pod-name, the pod UID or the container ID.".to_string(),
        }),
    }
}

/// The names and the last OOM kill of one member.
#[derive(Default)]
struct Named {
    namespace: Option<String>,
    name: Option<String>,
    restarts: Option<u32>,
    /// The container IDs of every instance the log tree links (the OOM-killed one may be gone).
    ids: Vec<String>,
}

fn named(member: &Member, pod_uid: Option<&str>, kubelet: Option<&KubeletNames>) -> Named {
    let Some(k) = kubelet else {
        return Named::default();
    };
    match (member.role, &member.container_id) {
        (Role::Container, Some(id)) => match k.container(id) {
            Some((_, c)) => Named {
                namespace: None,
                name: Some(c.name.clone()),
                restarts: c.restarts,
                ids: c.ids.clone(),
            },
            None => Named::default(),
        },
        (Role::Pod, _) => match pod_uid.and_then(|u| k.pod(u)) {
            Some(p) => Named {
                namespace: Some(p.namespace.clone()),
                name: Some(p.name.clone()),
                ..Named::default()
            },
            None => Named::default(),
        },
        _ => Named::default(),
    }
}

/// Seconds since the kernel log's newest OOM kill whose memcg is `path` or one of the container's
/// instances (`ids`).
fn last_oom_kill_age(
    log: Option<(&crate::collect::kmsg::KernelLog, DateTime<Utc>)>,
    path: &str,
    ids: &[String],
) -> Option<f64> {
    use crate::parse::kernel_log::EventKind;
    let (log, read_at) = log?;
    let matches = |memcg: Option<&str>| {
        memcg.is_some_and(|m| {
            m == path
                || crate::parse::cgroup::identify(m)
                    .and_then(|i| i.container_id)
                    .is_some_and(|id| ids.contains(&id))
        })
    };
    let newest = log
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::OomKill(k) if matches(k.task_memcg.as_deref()) || matches(k.oom_memcg.as_deref()) => {
                e.time
            }
            _ => None,
        })
        .max()?;
    Some((read_at - newest.with_timezone(&Utc)).num_milliseconds().max(0) as f64 / 1000.0)
}

fn build(
    source: &Source,
    layout: &CgroupLayout,
    resolved: &Resolved,
    members: &[Member],
    mut progress: Progress,
    opts: &CgroupOptions,
    started: DateTime<Utc>,
) -> CgroupReport {
    let kubelet = progress.kubelet.take();
    let kubelet = kubelet.as_ref();
    let partial = !progress.done;
    let mut notes = resolved.notes.clone();
    // A process's cgroup2 group may be the root while its memory cgroup is not (hybrid hosts): the
    // root's pressure files are host-wide, and must not read as this cgroup's stalls.
    if let Some(unified_root) = layout.unified.as_ref().map(|m| m.mount_point.as_str())
        && let Some(cg) = progress.first.as_mut().and_then(|s| s.cgroups.as_mut())
    {
        for r in cg.readings.iter_mut().filter(|r| r.path != "/") {
            if r.dirs.unified.as_deref() == Some(unified_root) && r.pressure != Default::default() {
                r.pressure = Default::default();
                notes.push(format!(
                    "{}: its cgroup2 group is the root, whose pressure is host-wide (osdoctor check reports it)",
                    r.path
                ));
            }
        }
    }
    if partial {
        notes.push(format!(
            "reading {} did not finish within --timeout {}s; this report holds what was read by then",
            progress.stage,
            opts.timeout.as_secs_f64()
        ));
    }
    let mut subjects = match &progress.first {
        Some(first) => crate::facts::cgroup::derive(first, progress.second.as_ref()),
        None => Vec::new(),
    };
    if let Some((log, read_at)) =
        crate::sample::last_kernel_log(progress.first.as_ref(), progress.second.as_ref())
    {
        let window = Some(read_at - chrono::Duration::hours(24));
        crate::facts::derive::attach_oom_recency(&mut subjects, log, read_at, window);
    }
    let readings: &[CgroupReading] = progress
        .first
        .as_ref()
        .and_then(|s| s.cgroups.as_ref())
        .map(|c| c.readings.as_slice())
        .unwrap_or_default();
    let counters: &[CgroupCounters] = progress
        .second
        .as_ref()
        .and_then(|s| s.cgroup_counters.as_deref())
        .unwrap_or_default();
    let interval_s = match (&progress.first, &progress.second) {
        (Some(a), Some(b)) => b.mono_secs - a.mono_secs,
        _ => 0.0,
    };

    let target_paths: Vec<&str> = std::iter::once(resolved.cgroup.path.as_str())
        .chain(members.iter().map(|m| m.dirs.path.as_str()))
        .collect();
    let instance_ids: Vec<String> = members.iter().flat_map(|m| named(m, None, kubelet).ids).collect();
    let judged = JudgedSubjects::of(
        subjects.clone(),
        progress.first.as_ref(),
        progress.second.as_ref(),
        progress.ticks_per_second,
        &target_paths,
        &instance_ids,
    );
    let mut judged = judged;
    judged.limits_from_cgroups(readings);
    if let Some(why) = &judged.kernel_log_missing {
        notes.push(why.clone());
    }
    let mut outcome = judged.evaluate(opts.rules, progress.second.is_none());

    super::enrich::add_pod_names(&mut outcome.findings, kubelet);
    let kernel_log = crate::sample::last_kernel_log(progress.first.as_ref(), progress.second.as_ref());
    let mut unreadable: Vec<FileProblem> = Vec::new();
    let mut views = Vec::new();
    let mut vanished = 0;
    let mut from_snapshot_without_procs = 0;
    for (i, member) in members.iter().enumerate() {
        let Some(reading) = readings.get(i) else {
            continue;
        };
        let facts = subjects.get(i).map(|s| &s.facts);
        let after = counters.iter().find(|c| c.path == reading.path);
        let processes = progress.processes.get(i).cloned().unwrap_or_default();
        for p in reading.unreadable.iter().chain(&processes.problems) {
            if !unreadable.contains(p) {
                unreadable.push(p.clone());
            }
        }
        vanished += processes.vanished;
        if processes.vanished > 0 && processes.shown.is_empty() && !matches!(source, Source::Live(_)) {
            from_snapshot_without_procs += processes.vanished;
        }
        let findings: Vec<Finding> = outcome
            .findings
            .iter()
            .filter(|f| f.subject.cgroup.as_deref() == Some(reading.path.as_str()))
            .cloned()
            .collect();
        let is_pause = match member.role {
            Role::Container => member.is_pause.or(processes.all_pause),
            _ => None,
        };
        let identity = reading.identity.as_ref();
        let pod_uid = identity.and_then(|i| i.pod_uid.clone());
        let names = named(member, pod_uid.as_deref(), kubelet);
        if kubelet.is_some()
            && member.role == Role::Container
            && is_pause != Some(true)
            && names.name.is_none()
            && let Some(id) = &member.container_id
        {
            notes.push(format!(
                "container {} has no /var/log/containers link: its name and restarts are unknown",
                &id[..id.len().min(12)]
            ));
        }
        let last_oom_kill_age_s = match member.role {
            Role::Container => last_oom_kill_age(kernel_log, &reading.path, &names.ids),
            _ => None,
        };
        views.push(CgroupView {
            role: member.role,
            path: reading.path.clone(),
            dirs: dirs_map(&reading.dirs),
            pod_uid,
            container_id: member.container_id.clone(),
            namespace: names.namespace,
            name: names.name,
            restarts: names.restarts,
            last_oom_kill_age_s,
            runtime: member.runtime,
            is_pause,
            memory: memory_view(reading, facts, after),
            cpu: cpu_view(reading, facts, after),
            pids: pids_view(reading, facts, after),
            io: io_view(reading),
            pressure: pressure_view(reading),
            processes,
            findings,
        });
    }
    if from_snapshot_without_procs > 0 {
        notes.push(format!(
            "{from_snapshot_without_procs} processes listed in cgroup.procs have no /proc/PID files under --root \
             (a snapshot only holds the files `check` reads, and they may have exited)"
        ));
    } else if vanished > 0 {
        notes.push(format!(
            "{vanished} processes listed in cgroup.procs exited before their files were read"
        ));
    }
    if matches!(source, Source::Tree(_))
        && !counters.is_empty()
        && readings.iter().all(|r| {
            counters
                .iter()
                .find(|c| c.path == r.path)
                .is_none_or(|c| *c == CgroupCounters::of(r))
        })
    {
        notes.push(
            "no counter changed between the two reads of this root tree (a copy, not a live host's root), \
             so every rate is zero; a snapshot replays real rates"
                .to_string(),
        );
    }
    if views.iter().any(|v| v.cpu.interval.quota_used_is_lower_bound) {
        notes.push(
            "CPU usage of a cgroup found only in the v1 cpu hierarchy (no cpuacct group at the same path) \
             is a lower bound counted from throttled periods"
                .to_string(),
        );
    }
    let nothing_read = views.iter().all(|v| {
        v.memory.usage_bytes.is_none()
            && v.memory.events.oom_kill.is_none()
            && v.cpu.limited.is_none()
            && v.cpu.usage_seconds_total.is_none()
            && v.pids.current.is_none()
    });
    if nothing_read {
        notes.push(format!(
            "no memory, cpu or pids file of {} could be read: nothing to judge{}",
            resolved.cgroup.path,
            if matches!(source, Source::Snapshot { .. }) {
                " (a snapshot holds the cgroups `check` reads: leaves, pods and top-level cgroups)"
            } else {
                ""
            }
        ));
    }
    let malformed = unreadable.iter().any(|p| p.reason.starts_with("does not parse"));
    let status = Report::compute_status(&outcome.findings, partial || malformed || nothing_read);
    let identity = resolved.identity.as_ref();
    let target_names = kubelet.map_or((None, None), |k| {
        k.names(
            identity.and_then(|i| i.pod_uid.as_deref()),
            identity.and_then(|i| i.container_id.as_deref()),
        )
    });
    CgroupReport {
        schema_version: CGROUP_SCHEMA_VERSION,
        tool: Tool::default(),
        root: source.display(),
        cgroup_mode: layout.mode.map(|m| m.name().to_string()),
        started_at: started.to_rfc3339_opts(SecondsFormat::Secs, true),
        sampled_at: progress
            .first
            .as_ref()
            .map(|s| s.wall.to_rfc3339_opts(SecondsFormat::Secs, true)),
        interval_s: (interval_s * 1000.0).round() / 1000.0,
        target: TargetInfo {
            input: resolved.target.clone(),
            kind: resolved.kind,
            cgroup: resolved.cgroup.path.clone(),
            pod_uid: identity.and_then(|i| i.pod_uid.clone()),
            container_id: identity.and_then(|i| i.container_id.clone()),
            pod: target_names.0,
            container: target_names.1,
            runtime: identity.and_then(|i| i.runtime).or_else(|| pod_runtime(resolved)),
            qos: identity.and_then(|i| i.qos),
            gone: false,
            last_seen: None,
        },
        status,
        partial,
        cgroups: views,
        findings: outcome.findings,
        coverage: CgroupCoverage {
            unreadable,
            not_evaluated: outcome.not_evaluated,
            notes,
        },
    }
}

/// What a gone target is looked for as in the kernel log's cgroup paths.
#[derive(Debug, Clone, PartialEq)]
enum GoneKey {
    /// A cgroup path: the path or below it.
    Path(String),
    /// Hex: a container ID or a prefix of one (12+), or a static pod's 32-hex UID.
    Hex(String),
    /// A pod UID with dashes.
    PodUid(String),
    /// A pod or container name the kubelet's log tree resolves: its UID, or its instances' IDs.
    Named {
        pod_uid: Option<String>,
        ids: Vec<String>,
    },
}

impl GoneKey {
    fn of(target: &str, kubelet: Option<&KubeletNames>) -> Option<GoneKey> {
        let t = target.trim();
        if let Some(path) = t.strip_prefix("/sys/fs/cgroup") {
            // A v1 path names its controller first: /sys/fs/cgroup/memory/x is /x.
            let path = path.trim_start_matches('/');
            const V1: &[&str] = &[
                "memory",
                "pids",
                "cpu",
                "cpuacct",
                "cpu,cpuacct",
                "cpuacct,cpu",
                "blkio",
                "cpuset",
                "devices",
                "freezer",
                "net_cls",
                "net_prio",
                "net_cls,net_prio",
                "perf_event",
                "hugetlb",
                "rdma",
                "systemd",
                "unified",
                "misc",
            ];
            let path = match path.split_once('/') {
                Some((first, rest)) if V1.contains(&first) => rest,
                None if V1.contains(&path) => "",
                _ => path,
            };
            return Some(GoneKey::Path(format!("/{path}")));
        }
        if t.starts_with('/') {
            return Some(GoneKey::Path(t.trim_end_matches('/').to_string()));
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            // A PID: a process that is gone is not named by its cgroup.
            return None;
        }
        let lower = t.to_ascii_lowercase();
        if lower.len() >= 12 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(GoneKey::Hex(lower));
        }
        let dashed = lower.replace('_', "-");
        if dashed.len() == 36
            && dashed.bytes().enumerate().all(|(i, b)| {
                if [8, 13, 18, 23].contains(&i) {
                    b == b'-'
                } else {
                    b.is_ascii_hexdigit()
                }
            })
        {
            return Some(GoneKey::PodUid(dashed));
        }
        match kubelet.map(|k| k.find(t)) {
            Some(NameMatch::Pod(uid)) => Some(GoneKey::Named {
                pod_uid: Some(uid),
                ids: Vec::new(),
            }),
            Some(NameMatch::Container { ids, .. }) if !ids.is_empty() => {
                Some(GoneKey::Named { pod_uid: None, ids })
            }
            _ => None,
        }
    }

    /// Whether the cgroup `path` is the target's, and the cgroup that stands for the target then (a
    /// pod's cgroup for a pod, the path itself otherwise).
    fn matches(&self, path: &str) -> Option<String> {
        let ident = crate::parse::cgroup::identify(path);
        let pod = || ident.as_ref().and_then(|i| i.pod_path.clone());
        let id = ident.as_ref().and_then(|i| i.container_id.as_deref());
        let uid = ident.as_ref().and_then(|i| i.pod_uid.as_deref());
        match self {
            GoneKey::Path(p) => {
                within(path, p).then(|| if p.is_empty() { "/".to_string() } else { p.clone() })
            }
            GoneKey::Hex(h) => {
                if id.is_some_and(|id| id.starts_with(h.as_str())) {
                    Some(path.to_string())
                } else if uid == Some(h.as_str()) {
                    pod()
                } else {
                    None
                }
            }
            GoneKey::PodUid(u) => (uid == Some(u.as_str())).then(pod).flatten(),
            GoneKey::Named { pod_uid, ids } => {
                if id.is_some_and(|id| ids.iter().any(|i| i == id)) {
                    Some(path.to_string())
                } else if uid.is_some() && uid == pod_uid.as_deref() {
                    pod()
                } else {
                    None
                }
            }
        }
    }

    fn kind(&self) -> TargetKind {
        match self {
            GoneKey::Path(_) => TargetKind::CgroupPath,
            GoneKey::Hex(h) if h.len() == 32 => TargetKind::PodUid,
            GoneKey::Hex(_) => TargetKind::ContainerId,
            GoneKey::PodUid(_) => TargetKind::PodUid,
            GoneKey::Named { ids, .. } if !ids.is_empty() => TargetKind::ContainerName,
            GoneKey::Named { .. } => TargetKind::PodName,
        }
    }
}

/// The cgroups an event names: an OOM kill's victim memcg and the memcg whose limit was hit, a refused
/// fork's pids cgroup.
fn event_cgroups(e: &crate::parse::kernel_log::KernelEvent) -> Vec<&str> {
    use crate::parse::kernel_log::EventKind;
    match &e.kind {
        EventKind::OomKill(k) => [k.task_memcg.as_deref(), k.oom_memcg.as_deref()]
            .into_iter()
            .flatten()
            .collect(),
        EventKind::ForkRejected(f) => vec![f.cgroup.as_str()],
        _ => Vec::new(),
    }
}

/// The report on a target no cgroup matches but the kernel log names: its events (every one still in
/// the log: they are all that is left of it) judged by the kernel-event rules, the target said to be
/// gone and when the log last saw it. `None` when the log is unreadable or does not name it.
fn gone(
    source: &Source,
    target: &str,
    searched: &str,
    kubelet: Option<&KubeletNames>,
    opts: &CgroupOptions,
    started: DateTime<Utc>,
) -> Option<CgroupReport> {
    let key = GoneKey::of(target, kubelet)?;
    let collected = deadline::collect(source.plan(Duration::ZERO), Scope::KernelLog, opts.timeout);
    let first = collected.first.as_ref()?;
    let (log, read_at) = crate::sample::last_kernel_log(Some(first), None)?;
    // The cgroups of the target the log names, and the newest event naming one.
    let mut paths: Vec<String> = Vec::new();
    let mut target_cgroup: Option<String> = None;
    let mut last_seen: Option<DateTime<chrono::FixedOffset>> = None;
    for e in &log.events {
        for cg in event_cgroups(e) {
            if let Some(stands_for) = key.matches(cg) {
                if !paths.iter().any(|p| p == cg) {
                    paths.push(cg.to_string());
                }
                target_cgroup = Some(stands_for);
                if let Some(t) = e.time
                    && last_seen.is_none_or(|l| t > l)
                {
                    last_seen = Some(t);
                }
            }
        }
    }
    let cgroup = target_cgroup?;
    let mut path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    path_refs.push(cgroup.as_str());
    let boot = first.host.boot_id.clone().unwrap_or_else(|| "boot".to_string());
    let events: Vec<crate::facts::Subject> = crate::facts::kernel::derive(log, read_at, None, &boot)
        .into_iter()
        .filter(|e| event_in_target(&e.id, &path_refs, &Default::default(), &[]))
        .collect();
    let judged = JudgedSubjects {
        cgroups: Vec::new(),
        processes: None,
        events: Some(events),
        host: FactSet::default(),
        kernel_log_missing: None,
    };
    let mut outcome = judged.evaluate(opts.rules, true);
    super::enrich::add_pod_names(&mut outcome.findings, kubelet);
    let identity = crate::parse::cgroup::identify(&cgroup);
    let (pod_uid, container_id) = (
        identity.as_ref().and_then(|i| i.pod_uid.clone()),
        identity.as_ref().and_then(|i| i.container_id.clone()),
    );
    let names = kubelet.map_or((None, None), |k| {
        k.names(pod_uid.as_deref(), container_id.as_deref())
    });
    let last_seen = last_seen.map(|t| t.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Secs, true));
    let notes = vec![format!(
        "the cgroup {cgroup} no longer exists ({searched}); the kernel log last saw it {}: this report is \
         built from the kernel log's events alone",
        match &last_seen {
            Some(t) => format!("at {t}"),
            None => "at a time it does not give".to_string(),
        }
    )];
    let layout = crate::collect::cgroup::layout::detect(&source.plan(Duration::ZERO).first);
    Some(CgroupReport {
        schema_version: CGROUP_SCHEMA_VERSION,
        tool: Tool::default(),
        root: source.display(),
        cgroup_mode: layout.mode.map(|m| m.name().to_string()),
        started_at: started.to_rfc3339_opts(SecondsFormat::Secs, true),
        sampled_at: Some(first.wall.to_rfc3339_opts(SecondsFormat::Secs, true)),
        interval_s: 0.0,
        target: TargetInfo {
            input: target.to_string(),
            kind: key.kind(),
            cgroup,
            pod_uid,
            container_id,
            pod: names.0,
            container: names.1,
            runtime: identity.as_ref().and_then(|i| i.runtime),
            qos: identity.as_ref().and_then(|i| i.qos),
            gone: true,
            last_seen,
        },
        status: Report::compute_status(&outcome.findings, collected.partial),
        partial: collected.partial,
        cgroups: Vec::new(),
        findings: outcome.findings,
        coverage: CgroupCoverage {
            unreadable: Vec::new(),
            not_evaluated: outcome.not_evaluated,
            notes,
        },
    })
}

/// The subjects `osdoctor cgroup` judges: the target's cgroups, the processes read in them, and the
/// kernel events whose cgroup is the target or inside it (or whose process is one of its processes).
struct JudgedSubjects {
    cgroups: Vec<crate::facts::Subject>,
    processes: Option<Vec<crate::facts::Subject>>,
    events: Option<Vec<crate::facts::Subject>>,
    host: FactSet,
    /// Why the kernel events are not judged.
    kernel_log_missing: Option<String>,
}

/// Kernel events are taken from the last day of the log, as the OOM recency of a cgroup is.
const EVENT_WINDOW_HOURS: i64 = 24;

impl JudgedSubjects {
    fn of(
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
    fn limits_from_cgroups(&mut self, readings: &[CgroupReading]) {
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
    fn evaluate(self, rules: &[Rule], single_sample: bool) -> eval::Outcome {
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
fn event_in_target(
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
fn within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// A pod's runtime: its containers', when they all agree.
fn pod_runtime(resolved: &Resolved) -> Option<Runtime> {
    let first = resolved.containers.first()?.runtime?;
    resolved
        .containers
        .iter()
        .all(|c| c.runtime == Some(first))
        .then_some(first)
}

fn dirs_map(d: &CgroupDirs) -> std::collections::BTreeMap<&'static str, String> {
    let mut m = std::collections::BTreeMap::new();
    for (name, dir) in [
        ("memory", d.memory.as_ref().map(|c| &c.dir)),
        ("cpu", d.cpu.as_ref().map(|c| &c.dir)),
        ("cpuacct", d.cpuacct.as_ref().map(|c| &c.dir)),
        ("pids", d.pids.as_ref().map(|c| &c.dir)),
        (
            "blkio",
            d.io.as_ref()
                .filter(|c| c.version == crate::parse::cgroup::CgroupVersion::V1)
                .map(|c| &c.dir),
        ),
        ("unified", d.unified.as_ref()),
    ] {
        if let Some(dir) = dir {
            m.insert(name, dir.clone());
        }
    }
    m
}

/// The cgroup does not exist in this controller's hierarchy (v1: created in some hierarchies only).
fn absent(r: &CgroupReading, dir: Option<&crate::parse::cgroup::ControllerDir>) -> bool {
    dir.is_some_and(|d| {
        r.unreadable
            .iter()
            .any(|p| p.path == d.dir && p.reason == "cgroup directory not found")
    })
}

fn fact(facts: Option<&FactSet>, name: &str) -> Option<f64> {
    facts.and_then(|f| f.get_f64(name))
}

fn limited(l: Option<Limit>) -> Option<bool> {
    l.map(|l| !l.is_unlimited())
}

/// Event counts are the latest read: the second sample's when there is one.
fn memory_view(r: &CgroupReading, facts: Option<&FactSet>, after: Option<&CgroupCounters>) -> MemoryView {
    let m = &r.memory;
    MemoryView {
        version: m.version.filter(|_| !absent(r, r.dirs.memory.as_ref())),
        limited: limited(m.max).or_else(|| fact(facts, "cgroup.memory.limited").map(|v| v > 0.0)),
        limit_bytes: m.max.and_then(Limit::value),
        high_bytes: m.high.and_then(Limit::value),
        usage_bytes: m.current,
        inactive_file_bytes: m.stat.inactive_file,
        working_set_bytes: m.working_set,
        working_set_ratio: fact(facts, "cgroup.memory.working_set_ratio"),
        peak_bytes: m.peak,
        swap_bytes: m.swap_current,
        events: MemoryEventsView {
            oom: m.events.oom,
            oom_kill: after.and_then(|a| a.oom_kill).or(m.events.oom_kill),
            oom_kill_local: after.and_then(|a| a.oom_kill_local).or(m.events_local.oom_kill),
            max: m.events.max,
            high: after.and_then(|a| a.memory_high_events).or(m.events.high),
        },
        oom_kill_during_interval: fact(facts, "cgroup.memory.oom_kill_delta").map(|v| v as u64),
        high_events_during_interval: fact(facts, "cgroup.memory.high_events_delta").map(|v| v as u64),
        under_oom: m.under_oom,
    }
}

fn cpu_view(r: &CgroupReading, facts: Option<&FactSet>, after: Option<&CgroupCounters>) -> CpuView {
    let c = &r.cpu;
    let usec = |v: u64| v as f64 / 1e6;
    let usage_cores = fact(facts, "cgroup.cpu.usage_cores");
    let quota_used_ratio = fact(facts, "cgroup.cpu.quota_used_ratio");
    let periods = after
        .and_then(|a| a.nr_periods)
        .zip(c.nr_periods)
        .and_then(|(b, a)| b.checked_sub(a));
    let interval_s = fact(facts, "cgroup.cpu.throttled_seconds_per_second").and(
        after
            .and_then(|a| a.throttled_usec)
            .zip(c.throttled_usec)
            .and_then(|(b, a)| b.checked_sub(a)),
    );
    CpuView {
        version: c.version.filter(|_| !absent(r, r.dirs.cpu.as_ref())),
        limited: limited(c.quota_usec).or_else(|| fact(facts, "cgroup.cpu.limited").map(|v| v > 0.0)),
        quota_cores: c.quota_cores(),
        quota_seconds: c.quota_usec.and_then(Limit::value).map(usec),
        period_seconds: c.period_usec.map(usec),
        usage_seconds_total: c.usage_usec.map(usec),
        nr_periods_total: c.nr_periods,
        nr_throttled_total: c.nr_throttled,
        throttled_seconds_total: c.throttled_usec.map(usec),
        interval: CpuIntervalView {
            usage_cores,
            quota_used_ratio,
            quota_used_is_lower_bound: quota_used_ratio.is_some() && usage_cores.is_none(),
            periods,
            throttled_periods: fact(facts, "cgroup.cpu.throttled_periods").map(|v| v as u64),
            throttled_ratio: fact(facts, "cgroup.cpu.throttled_ratio"),
            throttled_seconds: interval_s.map(usec),
        },
    }
}

fn pids_view(r: &CgroupReading, facts: Option<&FactSet>, after: Option<&CgroupCounters>) -> PidsView {
    let p = &r.pids;
    PidsView {
        limited: limited(p.max).or_else(|| fact(facts, "cgroup.pids.limited").map(|v| v > 0.0)),
        current: p.current,
        max: p.max.and_then(Limit::value),
        peak: p.peak,
        forks_refused: after.and_then(|a| a.pids_events_max).or(p.events_max),
        forks_refused_during_interval: fact(facts, "cgroup.pids.events_max_delta").map(|v| v as u64),
    }
}

/// v1 blkio counts only the I/O the cgroup's tasks issue themselves.
pub const V1_BLKIO_NOTE: &str = "v1 blkio does not charge buffered writes to the cgroup (the kernel's \
     flusher writes the page cache back from the root cgroup), so writes through the page cache are missing; \
     on Linux 6.9+ nothing is counted until some cgroup sets a blkio throttle limit on the device";

fn io_view(r: &CgroupReading) -> IoView {
    let Some(devices) = r.io.clone() else {
        let why = match &r.dirs.io {
            Some(d) if absent(r, Some(d)) => Some(format!(
                "no cgroup at this path in the {} hierarchy",
                if d.version == crate::parse::cgroup::CgroupVersion::V1 {
                    "blkio"
                } else {
                    "cgroup2"
                }
            )),
            _ => None,
        };
        return IoView {
            note: why,
            ..IoView::default()
        };
    };
    let sum = |f: fn(&crate::parse::cgroup::IoStat) -> Option<u64>| -> Option<u64> {
        devices
            .iter()
            .filter_map(f)
            .reduce(u64::saturating_add)
            .or(Some(0))
    };
    IoView {
        version: r.io_version,
        read_bytes_total: sum(|d| d.rbytes),
        write_bytes_total: sum(|d| d.wbytes),
        reads_total: sum(|d| d.rios),
        writes_total: sum(|d| d.wios),
        note: (r.io_version == Some(crate::parse::cgroup::CgroupVersion::V1))
            .then(|| V1_BLKIO_NOTE.to_string()),
        devices,
    }
}

fn pressure_view(r: &CgroupReading) -> PressureView {
    let view = |p: &Option<crate::parse::pressure::Pressure>| {
        p.map(|p| PsiView {
            some_avg10: p.some.map(|l| l.avg10),
            full_avg10: p.full.map(|l| l.avg10),
        })
    };
    PressureView {
        cpu: view(&r.pressure.cpu),
        memory: view(&r.pressure.memory),
        io: view(&r.pressure.io),
    }
}
