//! Cgroup facts: one subject per cgroup read, from the first pass's reading and the second pass's
//! counters.

use super::{FactSet, Subject, SubjectId, SubjectKind};
use crate::clock::rate;
use crate::collect::cgroup::CgroupReading;
use crate::collect::cgroup::{CgroupCounters, CgroupSample};
use crate::parse::cgroup::Limit;
use crate::sample::Sample;

/// The facts this module derives (from cgroup files).
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    // cgroups (v2 files, or their v1 equivalents)
    fact!("cgroup.memory.current_bytes", Bytes, Cgroup, [], "memory.current (v1: memory.usage_in_bytes)"),
    fact!("cgroup.memory.working_set_bytes", Bytes, Cgroup, [], "working set: memory usage minus inactive_file, as kubelet counts it"),
    fact!("cgroup.memory.limited", Number, Cgroup, [], "1 when memory.max (v1 memory.limit_in_bytes) is set, 0 when unlimited"),
    fact!("cgroup.cpu.limited", Number, Cgroup, [], "1 when a CPU quota is set (cpu.max, v1 cpu.cfs_quota_us), 0 when unlimited"),
    fact!("cgroup.pids.limited", Number, Cgroup, [], "1 when pids.max is set, 0 when unlimited"),
    fact!("cgroup.memory.max_bytes", Bytes, Cgroup, [], "memory.max (v1: memory.limit_in_bytes); absent when unlimited"),
    fact!("cgroup.memory.working_set_ratio", Ratio, Cgroup, [], "working set / memory.max"),
    fact!("cgroup.memory.oom_kill_total", Count, Cgroup, [], "OOM kills of this cgroup's processes (memory.events.local oom_kill, memory.events, or v1 memory.oom_control)"),
    fact!("cgroup.memory.oom_kill_since_last_run", Count, Cgroup, [], "OOM kills since the previous --state run"),
    fact!("cgroup.memory.oom_kill_delta", Count, Cgroup, rate, [], "OOM kills during the interval"),
    fact!("cgroup.memory.high_events_delta", Count, Cgroup, rate, [], "times memory.high throttled the cgroup during the interval (memory.events high)"),
    fact!("cgroup.cpu.quota_cores", Number, Cgroup, [], "CPU quota in CPUs (cpu.max, v1 cpu.cfs_quota_us/cfs_period_us); absent when unlimited"),
    fact!("cgroup.cpu.share_of_host_busy", Ratio, Cgroup, rate, ["/proc/stat"], "its CPU time / the host's busy CPU time over the interval"),
    fact!("cgroup.cpu.usage_cores", Number, Cgroup, rate, [], "CPUs used over the interval (cpu.stat usage_usec)"),
    fact!("cgroup.cpu.quota_used_ratio", Ratio, Cgroup, rate, [], "CPU used / CPU quota over the interval (v1 without cpuacct: a lower bound from throttled periods)"),
    fact!("cgroup.cpu.throttled_ratio", Ratio, Cgroup, rate, [], "throttled periods / periods over the interval (cpu.stat nr_throttled / nr_periods)"),
    fact!("cgroup.cpu.throttled_periods", Count, Cgroup, rate, [], "periods throttled during the interval"),
    fact!("cgroup.cpu.throttled_seconds_per_second", Number, Cgroup, rate, [], "seconds of throttling per second (throttled_usec; v1 throttled_time)"),
    fact!("cgroup.pids.current", Count, Cgroup, [], "pids.current: tasks (threads) in the cgroup"),
    fact!("cgroup.pids.max", Count, Cgroup, [], "pids.max; absent when unlimited"),
    fact!("cgroup.pids.used_ratio", Ratio, Cgroup, [], "pids.current / pids.max"),
    fact!("cgroup.pids.events_max_total", Count, Cgroup, [], "times a fork was refused at pids.max (pids.events max)"),
    fact!("cgroup.pids.events_max_delta", Count, Cgroup, rate, [], "forks refused at pids.max during the interval"),
    fact!("cgroup.psi.cpu.some_avg10", Percent, Cgroup, [], "cpu.pressure some avg10"),
    fact!("cgroup.psi.memory.some_avg10", Percent, Cgroup, [], "memory.pressure some avg10"),
    fact!("cgroup.psi.memory.full_avg10", Percent, Cgroup, [], "memory.pressure full avg10"),
    fact!("cgroup.psi.io.some_avg10", Percent, Cgroup, [], "io.pressure some avg10"),
    fact!("cgroup.psi.io.full_avg10", Percent, Cgroup, [], "io.pressure full avg10"),
    fact!("cgroup.psi.worst_some_avg10", Percent, Cgroup, [], "the highest some avg10 of cpu, memory and io pressure"),
    fact!("cgroup.psi.worst_resource", Text, Cgroup, [], "which of cpu, memory, io has the highest some avg10"),
    fact!("cgroup.psi.worst_full_avg10", Percent, Cgroup, [], "the highest full avg10 of cpu, memory and io pressure"),
    fact!("cgroup.procs", Count, Cgroup, [], "processes in the cgroup (cgroup.procs)"),
    fact!("cgroup.container_own", Number, Cgroup, ["/proc/self/cgroup"], "1 on the cgroup of the container osdoctor runs in (the namespace root in a private cgroup namespace)"),
];

/// The subject identifying a cgroup, with its pod and container when the path names them.
pub fn subject_id(path: &str) -> SubjectId {
    let identity = crate::parse::cgroup::identify(path);
    SubjectId {
        kind: SubjectKind::Cgroup,
        cgroup: Some(path.to_string()),
        pod_uid: identity.as_ref().and_then(|i| i.pod_uid.clone()),
        container_id: identity.and_then(|i| i.container_id),
        ..SubjectId::default()
    }
}

/// Subjects for every cgroup the first pass read.
pub fn derive(first: &Sample, second: Option<&Sample>) -> Vec<Subject> {
    let Some(CgroupSample { readings, .. }) = &first.cgroups else {
        return Vec::new();
    };
    let elapsed = second.map(|s| s.mono_secs - first.mono_secs);
    let counters: Vec<&CgroupCounters> = second
        .and_then(|s| s.cgroup_counters.as_ref())
        .into_iter()
        .flatten()
        .collect();
    let mut subjects: Vec<Subject> = readings
        .iter()
        .map(|r| {
            let after = counters.iter().find(|c| c.path == r.path).copied();
            Subject {
                id: subject_id(&r.path),
                facts: facts_of(r, after, elapsed),
            }
        })
        .collect();
    attribute_hierarchical_oom_kills(readings, &counters, &mut subjects);
    subjects
}

/// The OOM-kill counter that belongs to this cgroup: memory.events.local on v2 when present (5.2+),
/// else memory.events (hierarchical on v2) or v1 memory.oom_control (local).
/// Each cgroup's share of the host's busy CPU time (for causal links: host pressure is the throttled
/// cgroup's only when its tasks account for it).
pub fn shares_of_host(cgroups: &mut [Subject], host: &FactSet) {
    let busy = match (host.get_f64("host.cpu.busy_ratio"), host.get_f64("host.cpus")) {
        (Some(b), Some(n)) if b * n > 0.0 => b * n,
        _ => return,
    };
    for s in cgroups {
        if let Some(cores) = s.facts.get_f64("cgroup.cpu.usage_cores") {
            s.facts
                .num("cgroup.cpu.share_of_host_busy", (cores / busy).min(1.0));
        }
    }
}

fn own_oom_kills(c: &CgroupCounters) -> Option<u64> {
    c.oom_kill_local.or(c.oom_kill)
}

/// On v1 a cgroup may exist in one controller's hierarchy and not in another's: its tasks then sit in
/// an ancestor there, and no limit of that controller applies at this path.
fn absent_in_hierarchy(r: &CgroupReading, dir: &Option<crate::parse::cgroup::ControllerDir>) -> bool {
    dir.as_ref().is_some_and(|d| {
        r.unreadable
            .iter()
            .any(|p| p.path == d.dir && p.reason == "cgroup directory not found")
    })
}

fn facts_of(r: &CgroupReading, after: Option<&CgroupCounters>, elapsed: Option<f64>) -> FactSet {
    let mut f = FactSet::default();
    for (name, dir) in [
        ("cgroup.memory.limited", &r.dirs.memory),
        ("cgroup.cpu.limited", &r.dirs.cpu),
        ("cgroup.pids.limited", &r.dirs.pids),
    ] {
        if absent_in_hierarchy(r, dir) {
            f.num(name, 0.0);
        }
    }
    if absent_in_hierarchy(r, &r.dirs.memory) {
        for name in ["cgroup.memory.oom_kill_total", "cgroup.memory.oom_kill_delta"] {
            f.absent(
                name,
                "the cgroup is not in the memory hierarchy (its tasks are counted in an ancestor's)",
            );
        }
    }
    let before = CgroupCounters::of(r);
    let m = &r.memory;

    // Memory.
    f.opt("cgroup.memory.current_bytes", m.current.map(|v| v as f64));
    f.opt("cgroup.memory.working_set_bytes", m.working_set.map(|v| v as f64));
    f.opt(
        "cgroup.memory.limited",
        m.max.map(|l| if l.is_unlimited() { 0.0 } else { 1.0 }),
    );
    if m.version == Some(crate::parse::cgroup::CgroupVersion::V1) {
        f.absent(
            "cgroup.memory.high_events_delta",
            "memory.high exists only in cgroup v2",
        );
    }
    match m.max {
        Some(Limit::Value(max)) => {
            f.num("cgroup.memory.max_bytes", max as f64);
            if let Some(ws) = m.working_set.filter(|_| max > 0) {
                f.num("cgroup.memory.working_set_ratio", ws as f64 / max as f64);
            }
        }
        Some(Limit::Unlimited) => {
            f.absent("cgroup.memory.max_bytes", "no memory limit on this cgroup");
            f.absent(
                "cgroup.memory.working_set_ratio",
                "no memory limit on this cgroup",
            );
        }
        None => {}
    }
    // The latest count: a kill during the interval is in the second sample only.
    f.opt(
        "cgroup.memory.oom_kill_total",
        after
            .and_then(own_oom_kills)
            .or(own_oom_kills(&before))
            .map(|v| v as f64),
    );
    if let Some(a) = after {
        if let (Some(x), Some(y)) = (own_oom_kills(&before), own_oom_kills(a))
            && y >= x
        {
            f.num("cgroup.memory.oom_kill_delta", (y - x) as f64);
        }
        if let (Some(x), Some(y)) = (before.memory_high_events, a.memory_high_events)
            && y >= x
        {
            f.num("cgroup.memory.high_events_delta", (y - x) as f64);
        }
    }

    // CPU.
    let quota_cores = r.cpu.quota_cores();
    f.opt(
        "cgroup.cpu.limited",
        r.cpu.quota_usec.map(|l| if l.is_unlimited() { 0.0 } else { 1.0 }),
    );
    match r.cpu.quota_usec {
        Some(Limit::Unlimited) => f.absent("cgroup.cpu.quota_cores", "no CPU quota on this cgroup"),
        _ => f.opt("cgroup.cpu.quota_cores", quota_cores),
    }
    if let (Some(a), Some(dt)) = (after, elapsed) {
        let usage_cores = before
            .usage_usec
            .zip(a.usage_usec)
            .and_then(|(x, y)| rate(x, y, dt))
            .map(|us| us / 1e6);
        f.opt("cgroup.cpu.usage_cores", usage_cores);
        if let (Some(u), Some(q)) = (usage_cores, quota_cores.filter(|q| *q > 0.0)) {
            f.num("cgroup.cpu.quota_used_ratio", u / q);
        } else if let (Some(t0), Some(t1), Some(period), Some(_)) = (
            before.nr_throttled,
            a.nr_throttled,
            r.cpu.period_usec,
            quota_cores,
        ) && t1 >= t0
            && dt > 0.0
        {
            // No usage counter (v1 cpu group outside any cpuacct group): every throttled period used its
            // whole quota, which gives a lower bound of the share of the quota used.
            f.num(
                "cgroup.cpu.quota_used_ratio",
                ((t1 - t0) as f64 * period as f64 / 1e6 / dt).min(1.0),
            );
        }
        if let (Some(p0), Some(p1), Some(t0), Some(t1)) = (
            before.nr_periods,
            a.nr_periods,
            before.nr_throttled,
            a.nr_throttled,
        ) && p1 >= p0
            && t1 >= t0
        {
            let periods = p1 - p0;
            // No period ran: nothing was throttled.
            f.num(
                "cgroup.cpu.throttled_ratio",
                if periods == 0 {
                    0.0
                } else {
                    (t1 - t0) as f64 / periods as f64
                },
            );
            f.num("cgroup.cpu.throttled_periods", (t1 - t0) as f64);
        }
        if let Some(r) = before
            .throttled_usec
            .zip(a.throttled_usec)
            .and_then(|(x, y)| rate(x, y, dt))
        {
            f.num("cgroup.cpu.throttled_seconds_per_second", r / 1e6);
        }
    }

    // Pids.
    let p = &r.pids;
    f.opt("cgroup.pids.current", p.current.map(|v| v as f64));
    f.opt(
        "cgroup.pids.limited",
        p.max.map(|l| if l.is_unlimited() { 0.0 } else { 1.0 }),
    );
    match p.max {
        Some(Limit::Value(max)) => {
            f.num("cgroup.pids.max", max as f64);
            if let Some(cur) = p.current.filter(|_| max > 0) {
                f.num("cgroup.pids.used_ratio", cur as f64 / max as f64);
            }
        }
        Some(Limit::Unlimited) => {
            f.absent("cgroup.pids.max", "no pids limit on this cgroup");
            f.absent("cgroup.pids.used_ratio", "no pids limit on this cgroup");
        }
        None => {}
    }
    f.opt(
        "cgroup.pids.events_max_total",
        after
            .and_then(|a| a.pids_events_max)
            .or(p.events_max)
            .map(|v| v as f64),
    );
    if let Some(a) = after
        && let (Some(x), Some(y)) = (before.pids_events_max, a.pids_events_max)
        && y >= x
    {
        f.num("cgroup.pids.events_max_delta", (y - x) as f64);
    }

    // Pressure (cgroup2 files, also on hybrid hosts).
    let pr = &r.pressure;
    let some = |p: &Option<crate::parse::pressure::Pressure>| p.and_then(|p| p.some).map(|l| l.avg10);
    let full = |p: &Option<crate::parse::pressure::Pressure>| p.and_then(|p| p.full).map(|l| l.avg10);
    f.opt("cgroup.psi.cpu.some_avg10", some(&pr.cpu));
    f.opt("cgroup.psi.memory.some_avg10", some(&pr.memory));
    f.opt("cgroup.psi.memory.full_avg10", full(&pr.memory));
    f.opt("cgroup.psi.io.some_avg10", some(&pr.io));
    f.opt("cgroup.psi.io.full_avg10", full(&pr.io));
    let worst_some = [
        ("cpu", some(&pr.cpu)),
        ("memory", some(&pr.memory)),
        ("io", some(&pr.io)),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.map(|v| (n, v)))
    .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((name, v)) = worst_some {
        f.num("cgroup.psi.worst_some_avg10", v);
        f.text("cgroup.psi.worst_resource", name);
    }
    if pr.cpu.is_none() && pr.memory.is_none() && pr.io.is_none() {
        let why = "no cgroup2 pressure files for this cgroup (PSI off, or the cgroup exists only in v1 hierarchies)";
        for name in [
            "cgroup.psi.worst_some_avg10",
            "cgroup.psi.worst_full_avg10",
            "cgroup.psi.worst_resource",
        ] {
            f.absent(name, why);
        }
    }
    let worst_full = [full(&pr.cpu), full(&pr.memory), full(&pr.io)]
        .into_iter()
        .flatten()
        .max_by(|a, b| a.total_cmp(b));
    f.opt("cgroup.psi.worst_full_avg10", worst_full);

    if let Some(procs) = &r.procs {
        f.num("cgroup.procs", procs.len() as f64);
    }
    f
}

/// Without memory.events.local (kernels before 5.2), v2 memory.events counts the whole subtree: a kill
/// in a container shows in its pod and in every ancestor. Keep the count on the deepest cgroups read.
/// A kill during the interval shows in the second sample's counters only.
fn attribute_hierarchical_oom_kills(
    readings: &[CgroupReading],
    counters: &[&CgroupCounters],
    subjects: &mut [Subject],
) {
    let hierarchical = |r: &CgroupReading| {
        r.memory.version == Some(crate::parse::cgroup::CgroupVersion::V2)
            && r.memory.events_local.oom_kill.is_none()
    };
    let with_kills: Vec<&str> = readings
        .iter()
        .filter(|r| {
            let after = counters
                .iter()
                .find(|c| c.path == r.path)
                .and_then(|c| c.oom_kill);
            after.or(r.memory.events.oom_kill).unwrap_or(0) > 0
        })
        .map(|r| r.path.as_str())
        .collect();
    for (r, s) in readings.iter().zip(subjects.iter_mut()) {
        if !hierarchical(r) {
            continue;
        }
        let prefix = format!("{}/", r.path.trim_end_matches('/'));
        if let Some(child) = with_kills.iter().find(|p| p.starts_with(&prefix)) {
            let why = format!("counted in the child cgroup {child} (memory.events is hierarchical)");
            let mut facts = std::mem::take(&mut s.facts);
            facts.remove("cgroup.memory.oom_kill_total");
            facts.remove("cgroup.memory.oom_kill_delta");
            facts.absent("cgroup.memory.oom_kill_total", why.clone());
            facts.absent("cgroup.memory.oom_kill_delta", why);
            s.facts = facts;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::cgroup::{FileProblem, MemoryReading};
    use crate::parse::cgroup::{CgroupDirs, CgroupVersion, ControllerDir};

    fn sample(mono: f64) -> Sample {
        Sample::new(mono, chrono::Utc::now())
    }

    fn v1_memory(path: &str, oom_kill: u64) -> CgroupReading {
        CgroupReading {
            path: path.to_string(),
            memory: MemoryReading {
                version: Some(CgroupVersion::V1),
                current: Some(0),
                max: Some(Limit::Value(64 << 20)),
                events: crate::parse::cgroup::MemoryEvents {
                    oom_kill: Some(oom_kill),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn derive_with(readings: Vec<CgroupReading>, after: Vec<CgroupCounters>) -> Vec<Subject> {
        let mut first = sample(100.0);
        first.cgroups = Some(CgroupSample {
            layout: None,
            readings,
        });
        let mut second = sample(102.0);
        second.cgroup_counters = Some(after);
        derive(&first, Some(&second))
    }

    #[test]
    fn a_kill_during_the_interval_counts_in_the_total() {
        // The first sample saw no kill, the second one: total 1, delta 1 (not "0 kills, 1 during").
        let subjects = derive_with(
            vec![v1_memory("/oom", 0)],
            vec![CgroupCounters {
                path: "/oom".into(),
                oom_kill: Some(1),
                ..Default::default()
            }],
        );
        let f = &subjects[0].facts;
        assert_eq!(f.get_f64("cgroup.memory.oom_kill_total"), Some(1.0));
        assert_eq!(f.get_f64("cgroup.memory.oom_kill_delta"), Some(1.0));
        // With one sample, the first sample's count.
        let mut first = sample(100.0);
        first.cgroups = Some(CgroupSample {
            layout: None,
            readings: vec![v1_memory("/oom", 3)],
        });
        let one = derive(&first, None);
        assert_eq!(one[0].facts.get_f64("cgroup.memory.oom_kill_total"), Some(3.0));
        assert_eq!(one[0].facts.get_f64("cgroup.memory.oom_kill_delta"), None);
    }

    #[test]
    fn a_cgroup_outside_the_memory_hierarchy_says_why_it_has_no_oom_count() {
        let dir = "/sys/fs/cgroup/memory/cpu-only";
        let reading = CgroupReading {
            path: "/cpu-only".into(),
            dirs: CgroupDirs {
                path: "/cpu-only".into(),
                memory: Some(ControllerDir {
                    dir: dir.into(),
                    version: CgroupVersion::V1,
                }),
                ..Default::default()
            },
            unreadable: vec![FileProblem {
                path: dir.into(),
                reason: "cgroup directory not found".into(),
            }],
            ..Default::default()
        };
        let subjects = derive_with(vec![reading], Vec::new());
        let f = &subjects[0].facts;
        assert_eq!(f.get_f64("cgroup.memory.limited"), Some(0.0));
        assert!(
            f.stated_reason("cgroup.memory.oom_kill_total")
                .is_some_and(|r| r.contains("not in the memory hierarchy"))
        );
    }

    #[test]
    fn a_v2_kill_during_the_interval_stays_on_the_child_without_events_local() {
        let v2 = |path: &str, kills: u64| {
            let mut r = v1_memory(path, kills);
            r.memory.version = Some(CgroupVersion::V2);
            r
        };
        let counters = |path: &str| CgroupCounters {
            path: path.into(),
            oom_kill: Some(1),
            ..Default::default()
        };
        let subjects = derive_with(
            vec![v2("/pod", 0), v2("/pod/ctr", 0)],
            vec![counters("/pod"), counters("/pod/ctr")],
        );
        assert_eq!(subjects[0].facts.get_f64("cgroup.memory.oom_kill_delta"), None);
        assert!(
            subjects[0]
                .facts
                .stated_reason("cgroup.memory.oom_kill_delta")
                .is_some_and(|r| r.contains("/pod/ctr"))
        );
        assert_eq!(
            subjects[1].facts.get_f64("cgroup.memory.oom_kill_delta"),
            Some(1.0)
        );
    }
}
