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
//! Here the flow; in `judged.rs` which subjects are judged with the target, in `gone.rs` the report of a
//! target that is gone, in `views.rs` the report's per-cgroup views.
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
use crate::parse::cgroup::{CgroupDirs, CgroupLayout, Runtime};
use crate::report::cgroup::{
    CGROUP_SCHEMA_VERSION, CgroupCoverage, CgroupReport, CgroupView, Role, TargetInfo,
};
use crate::report::{Report, Tool};
use crate::rules::Rule;
use crate::rules::finding::Finding;
use crate::sample::Sample;

mod gone;
mod judged;
mod views;

use gone::gone;
use judged::JudgedSubjects;
pub use views::V1_BLKIO_NOTE;
use views::{cpu_view, dirs_map, io_view, memory_view, pids_view, pod_runtime, pressure_view};

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
        let mut processes = progress.processes.get(i).cloned().unwrap_or_default();
        if let Some(first) = &progress.first {
            processes.attach_fd_tables(&first.processes.procs);
        }
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
