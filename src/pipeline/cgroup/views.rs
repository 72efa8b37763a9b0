//! The report's per-cgroup views (memory, CPU, pids, I/O, pressure) from a reading and its facts.

use crate::collect::cgroup::{CgroupCounters, CgroupReading, Resolved};
use crate::facts::FactSet;
use crate::parse::cgroup::{CgroupDirs, Limit, Runtime};
use crate::report::cgroup::{
    CpuIntervalView, CpuView, IoView, MemoryEventsView, MemoryView, PidsView, PressureView, PsiView,
};

/// A pod's runtime: its containers', when they all agree.
pub(super) fn pod_runtime(resolved: &Resolved) -> Option<Runtime> {
    let first = resolved.containers.first()?.runtime?;
    resolved
        .containers
        .iter()
        .all(|c| c.runtime == Some(first))
        .then_some(first)
}

pub(super) fn dirs_map(d: &CgroupDirs) -> std::collections::BTreeMap<&'static str, String> {
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
pub(super) fn absent(r: &CgroupReading, dir: Option<&crate::parse::cgroup::ControllerDir>) -> bool {
    dir.is_some_and(|d| {
        r.unreadable
            .iter()
            .any(|p| p.path == d.dir && p.reason == "cgroup directory not found")
    })
}

pub(super) fn fact(facts: Option<&FactSet>, name: &str) -> Option<f64> {
    facts.and_then(|f| f.get_f64(name))
}

pub(super) fn limited(l: Option<Limit>) -> Option<bool> {
    l.map(|l| !l.is_unlimited())
}

/// Event counts are the latest read: the second sample's when there is one.
pub(super) fn memory_view(
    r: &CgroupReading,
    facts: Option<&FactSet>,
    after: Option<&CgroupCounters>,
) -> MemoryView {
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

pub(super) fn cpu_view(
    r: &CgroupReading,
    facts: Option<&FactSet>,
    after: Option<&CgroupCounters>,
) -> CpuView {
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

pub(super) fn pids_view(
    r: &CgroupReading,
    facts: Option<&FactSet>,
    after: Option<&CgroupCounters>,
) -> PidsView {
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

pub(super) fn io_view(r: &CgroupReading) -> IoView {
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

pub(super) fn pressure_view(r: &CgroupReading) -> PressureView {
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
