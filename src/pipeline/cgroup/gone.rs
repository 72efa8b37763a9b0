//! A target no cgroup matches now but the kernel log names: its events alone make the report.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use super::CgroupOptions;
use super::judged::{JudgedSubjects, event_in_target, within};
use crate::collect::cgroup::TargetKind;
use crate::collect::kubelet_logs::{KubeletNames, NameMatch};
use crate::facts::FactSet;
use crate::pipeline::collectors::Scope;
use crate::pipeline::deadline;
use crate::pipeline::source::Source;
use crate::report::cgroup::{CGROUP_SCHEMA_VERSION, CgroupCoverage, CgroupReport, TargetInfo};
use crate::report::{Report, Tool};

/// What a gone target is looked for as in the kernel log's cgroup paths.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum GoneKey {
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
pub(super) fn event_cgroups(e: &crate::parse::kernel_log::KernelEvent) -> Vec<&str> {
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
pub(super) fn gone(
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
    crate::pipeline::enrich::add_pod_names(&mut outcome.findings, kubelet);
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
