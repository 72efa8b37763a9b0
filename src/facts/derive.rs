//! Facts from what the collectors produced: the host's, and each subject kind's from its samples.

use chrono::Utc;

use super::{Facts, Subject, SubjectId, SubjectKind};
use crate::sample::Collected;

/// Facts from what was collected.
pub fn derive(c: &Collected, since: Option<chrono::Duration>) -> Facts {
    derive_for(c, &[], since)
}

/// Facts, with process subjects only for the `focus` pids (all when empty), kernel events within
/// `since` of the first sample.
pub fn derive_for(c: &Collected, focus: &[i32], since: Option<chrono::Duration>) -> Facts {
    let mut host_facts = match &c.first {
        Some(first) => super::host::derive(first, c.second.as_ref(), c.si.page_size),
        None => Default::default(),
    };
    if let Some(first) = &c.first {
        super::tcp::derive(first, c.second.as_ref(), &mut host_facts);
        super::netstack::derive(first, c.second.as_ref(), c.si.page_size, &mut host_facts);
    }
    if let Some(why) = c
        .first
        .as_ref()
        .and_then(|f| f.numa.as_ref())
        .and_then(|n| n.absent.clone())
    {
        // No NUMA: process placement is absent for the host as a whole, processes read or not.
        super::numa::host_lacks(&mut host_facts, &why);
    }
    let mut subjects = std::collections::BTreeMap::new();
    let mut missing_subjects = std::collections::BTreeMap::new();
    let mut coverage = c.coverage.clone();
    if let Some(first) = &c.first
        && let Some(d) = super::process::derive(
            first,
            c.second.as_ref(),
            c.si.ticks_per_second,
            &mut host_facts,
            focus,
        )
    {
        let mut processes = d.processes;
        super::numa::attach_processes(&mut processes, first);
        subjects.insert(SubjectKind::Process, processes);
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
            let mut cgroups = super::cgroup::derive(first, c.second.as_ref());
            super::cgroup::shares_of_host(&mut cgroups, &host_facts);
            let processes = subjects.get(&SubjectKind::Process).map(Vec::as_slice);
            if let Some(note) =
                super::container::derive(first, c.second.as_ref(), &mut cgroups, processes, &mut host_facts)
            {
                coverage.notes.push(note);
            }
            subjects.insert(SubjectKind::Cgroup, cgroups);
        } else {
            missing_subjects.insert(SubjectKind::Cgroup, "no cgroup filesystem was found".to_string());
        }

        // Kernel events within --since, ages taken when the log was (last) read.
        let log = c.kernel_log();
        host_facts.num("host.kernel_log.readable", if log.is_some() { 1.0 } else { 0.0 });
        match log {
            Some((log, now)) => {
                let window_start = since.map(|d| now - d);
                // The boot the records' sequence numbers count in: its id, else its time.
                let boot = first
                    .host
                    .boot_id
                    .clone()
                    .or_else(|| first.host.btime.map(|b| format!("btime-{b}")))
                    .unwrap_or_else(|| "boot".to_string());
                let events = super::kernel::derive(log, now, window_start, &boot);
                if let Some(cgroups) = subjects.get_mut(&SubjectKind::Cgroup) {
                    attach_oom_recency(cgroups, log, now, window_start);
                }
                subjects.insert(SubjectKind::KernelEvent, events);
            }
            None => {
                let mut why = match c.coverage.problem_for("/dev/kmsg") {
                    Some(p) => format!("the kernel log could not be read: /dev/kmsg: {}", p.reason),
                    None => "the kernel log was not read".to_string(),
                };
                // Inside a container the kernel log is the node's: read it there.
                if let Some(ctr) = first.container.as_ref().filter(|c| c.inside()) {
                    why.push_str(&format!(
                        "; cannot be seen from inside a container: on the node run `osdoctor kernel-log`, or `osdoctor cgroup {}` for this container's OOM kills",
                        ctr.node_target()
                    ));
                }
                missing_subjects.insert(SubjectKind::KernelEvent, why);
            }
        }
    }
    let mut absent_subjects = std::collections::BTreeSet::new();
    if let Some(first) = &c.first {
        // Disks from both samples; filesystems from the last pass, which read them.
        let mut add = |kind: SubjectKind, result: Result<Vec<Subject>, (String, bool)>| match result {
            Ok(s) => {
                subjects.insert(kind, s);
            }
            Err((why, absent)) => {
                if absent {
                    absent_subjects.insert(kind);
                }
                missing_subjects.insert(kind, why);
            }
        };
        let disks = super::disk::derive(first, c.second.as_ref()).map_err(|(why, absent)| {
            match c.coverage.problem_for(crate::collect::disk::DISKSTATS) {
                Some(p) => (format!("{}: {}", p.path, p.reason), false),
                None => (why, absent),
            }
        });
        add(SubjectKind::Disk, disks);
        let nics = super::nic::derive(first, c.second.as_ref()).map_err(|(why, absent)| {
            match c.coverage.problem_for(crate::collect::nic::NET_DEV) {
                Some(p) => (format!("{}: {}", p.path, p.reason), false),
                None => (why, absent),
            }
        });
        add(SubjectKind::Nic, nics);
        add(
            SubjectKind::NumaNode,
            super::numa::derive(first, c.second.as_ref()),
        );
        let last = c.second.as_ref().unwrap_or(first);
        let mounts = match last.filesystems.as_ref() {
            None if c.partial => Err((
                "the run stopped at the deadline before the filesystems were read".to_string(),
                false,
            )),
            fs => {
                // Every block device diskstats lists, partitions included, by MAJ:MIN.
                let kernel_names = first
                    .disks
                    .iter()
                    .flat_map(|d| &d.devices)
                    .map(|d| {
                        let c = &d.counters;
                        (format!("{}:{}", c.major, c.minor), c.name.clone())
                    })
                    .collect();
                super::mount::derive(fs, &kernel_names)
            }
        };
        add(SubjectKind::Mount, mounts);
        if let (Some(mounts), Some(procs)) = (
            subjects.get(&SubjectKind::Mount).cloned(),
            subjects.get_mut(&SubjectKind::Process),
        ) {
            attach_deleted_mounts(procs, &mounts, first);
        }
    }
    if host_facts.get_f64("host.net.init_namespace") != Some(1.0)
        && let Some(crate::facts::Value::Text(ns)) = host_facts.get("host.net.namespace")
    {
        coverage.notes.push(format!(
            "/proc/net (the TCP counters, listeners and interfaces the net rules judge) was read in network namespace {ns}"
        ));
    }
    let mut host_id = SubjectId::host();
    if let Some(listen) = c.second.as_ref().and_then(|s| s.listen.as_ref()) {
        host_id.listeners = listener_holders(listen, subjects.get(&SubjectKind::Process));
    }
    Facts {
        host: Subject {
            id: host_id,
            facts: host_facts,
        },
        subjects,
        single_sample: c.second.is_none(),
        coverage: coverage.clone(),
        missing_subjects,
        absent_subjects,
    }
}

/// The processes holding the listeners at their limit, as process subjects (with their cgroups) where
/// the facts have them, for `listener` links.
fn listener_holders(
    listen: &crate::collect::listen::ListenSample,
    procs: Option<&Vec<Subject>>,
) -> Vec<SubjectId> {
    let mut out: Vec<SubjectId> = Vec::new();
    for h in listen
        .listeners
        .iter()
        .filter(|l| l.at_limit())
        .flat_map(|l| l.holders.iter().flatten())
    {
        if out.iter().any(|o| o.pid == Some(h.pid)) {
            continue;
        }
        let known = procs.and_then(|ps| {
            ps.iter()
                .find(|p| p.id.pid == Some(h.pid) && p.id.start_time.is_none_or(|t| t == h.start_time))
        });
        out.push(match known {
            Some(p) => SubjectId {
                listeners: Vec::new(),
                ..p.id.clone()
            },
            None => SubjectId {
                kind: SubjectKind::Process,
                pid: Some(h.pid),
                start_time: Some(h.start_time),
                comm: Some(h.comm.clone()),
                ..SubjectId::default()
            },
        });
    }
    out
}

/// The filesystems each process holds deleted files on (for `same_mount` links from fs.capacity).
fn attach_deleted_mounts(procs: &mut [Subject], mounts: &[Subject], first: &crate::sample::Sample) {
    let mut held: std::collections::HashMap<i32, Vec<String>> = Default::default();
    for p in &first.processes.procs {
        for (path, _) in p.deleted.iter().flatten() {
            if let Some(m) = super::mount::mount_of(path, mounts) {
                let on = held.entry(p.pid).or_default();
                if !on.iter().any(|have| have == m) {
                    on.push(m.to_string());
                }
            }
        }
    }
    if held.is_empty() {
        return;
    }
    for subject in procs.iter_mut() {
        if let Some(on) = subject.id.pid.and_then(|pid| held.get(&pid)) {
            subject.id.mounts = on.clone();
        }
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
    use crate::parse::kernel_log::EventKind;
    for subject in cgroups.iter_mut() {
        let Some(path) = subject.id.cgroup.clone() else {
            continue;
        };
        let newest = log
            .events
            .iter()
            .filter(|e| super::kernel::in_window(e, window_start))
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
