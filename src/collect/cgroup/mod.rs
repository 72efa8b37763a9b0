//! The cgroups `check` looks at: the layout (v1, v2 or hybrid), one walk of the primary hierarchy, a
//! full reading of the cgroups that matter (leaves, where processes live; pod-level cgroups; the
//! top-level slices that usually carry limits), and on the second pass only the counters rates need.

pub mod layout;
pub mod reading;
pub mod target;
pub mod walk;

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::coverage::{Coverage, ProblemKind};
use crate::parse::cgroup::{
    CgroupDirs, CgroupLayout, CgroupVersion, ControllerDir, cpu_stat, memory_events, memory_oom_control,
    pids_events,
};

use crate::root::{ReadError, Root};
pub use reading::{
    CgroupReading, CpuReading, FileProblem, MemoryReading, PidsReading, PressureReading, read_cgroup,
    read_cgroup_dirs,
};
pub use target::{PodContainer, Resolved, TargetError, TargetKind, resolve_target, resolve_target_with};
pub use walk::{CgroupTree, WalkLimits, walk};

/// At most this many cgroups are read fully; a node with more is summarised with a note.
pub const MAX_READ: usize = 3000;

/// The first pass.
#[derive(Debug, Clone, Default)]
pub struct CgroupSample {
    pub layout: Option<CgroupLayout>,
    pub readings: Vec<CgroupReading>,
}

/// The counters the second pass re-reads for one cgroup.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CgroupCounters {
    pub path: String,
    pub usage_usec: Option<u64>,
    pub nr_periods: Option<u64>,
    pub nr_throttled: Option<u64>,
    pub throttled_usec: Option<u64>,
    pub oom_kill: Option<u64>,
    pub oom_kill_local: Option<u64>,
    pub memory_high_events: Option<u64>,
    pub pids_events_max: Option<u64>,
}

impl CgroupCounters {
    /// The same counters from a full reading (the first pass).
    pub fn of(r: &CgroupReading) -> CgroupCounters {
        CgroupCounters {
            path: r.path.clone(),
            usage_usec: r.cpu.usage_usec,
            nr_periods: r.cpu.nr_periods,
            nr_throttled: r.cpu.nr_throttled,
            throttled_usec: r.cpu.throttled_usec,
            oom_kill: r.memory.events.oom_kill,
            oom_kill_local: r.memory.events_local.oom_kill,
            memory_high_events: r.memory.events.high,
            pids_events_max: r.pids.events_max,
        }
    }
}

/// Which walked cgroups to read: leaves, pod-level cgroups and the root's children.
pub fn select(paths: &[String]) -> Vec<String> {
    let is_parent = |p: &str| {
        let prefix = if p == "/" {
            "/".to_string()
        } else {
            format!("{p}/")
        };
        paths
            .iter()
            .any(|q| q.len() > prefix.len() && q.starts_with(&prefix))
    };
    paths
        .iter()
        .filter(|p| p.as_str() != "/")
        .filter(|p| {
            let depth = p.matches('/').count();
            let pod_level = crate::parse::cgroup::identify(p)
                .is_some_and(|id| id.pod_uid.is_some() && id.container_id.is_none());
            depth == 1 || pod_level || !is_parent(p)
        })
        .cloned()
        .collect()
}

/// First pass: detect, walk, read. `mountinfo`: /proc/self/mountinfo as the host collector read it
/// in this pass (`None`: read it here). `own`: the cgroup of the container osdoctor runs in, read
/// whatever the selection (in a private cgroup namespace its root, `/`, which is otherwise never read).
pub fn collect(
    root: &Root,
    mountinfo: Option<&Result<String, ReadError>>,
    own: Option<&str>,
    cov: &mut Coverage,
) -> CgroupSample {
    let layout = layout::detect_with(root, mountinfo);
    if layout.mode.is_none() {
        cov.notes
            .push("no cgroup filesystem found: cgroup rules are not evaluated".to_string());
        return CgroupSample {
            layout: Some(layout),
            readings: Vec::new(),
        };
    }
    // On v2 one hierarchy holds everything. On v1 and hybrid hosts each controller has its own tree,
    // and a cgroup may exist in one only (a cpu-only group with a quota): walk memory, cpu and pids.
    let mut mounts = Vec::new();
    if let Some((mount, version)) = layout.primary() {
        mounts.push((mount.clone(), version));
    }
    for ctrl in ["cpu", "pids"] {
        if let Some((mount, version)) = layout.controller_mount(ctrl)
            && !mounts.iter().any(|(m, _)| m.mount_point == mount.mount_point)
        {
            mounts.push((mount.clone(), version));
        }
    }
    let mut paths: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (mount, version) in &mounts {
        let tree = walk::walk_mount(root, mount, *version, WalkLimits::default());
        for p in &tree.unreadable {
            cov.add(&p.path, ProblemKind::Unreadable, p.reason.clone());
        }
        if let Some(why) = &tree.truncated {
            cov.notes.push(format!(
                "cgroup walk of {} stopped early: {why}",
                mount.mount_point
            ));
        }
        for p in tree.paths {
            if seen.insert(p.clone()) {
                paths.push(p);
            }
        }
    }
    let mut chosen = select(&paths);
    if let Some(own) = own
        && paths.iter().any(|p| p == own)
        && !chosen.iter().any(|p| p == own)
    {
        chosen.insert(0, own.to_string());
    }
    if chosen.len() > MAX_READ {
        cov.notes.push(format!(
            "{} cgroups selected; only the first {MAX_READ} were read",
            chosen.len()
        ));
        chosen.truncate(MAX_READ);
    }
    let readings: Vec<CgroupReading> = chosen.iter().map(|p| read_cgroup(root, &layout, p)).collect();
    let denied = readings
        .iter()
        .flat_map(|r| &r.unreadable)
        .filter(|p| p.reason.contains("permission denied"))
        .count();
    if denied > 0 {
        cov.notes.push(format!(
            "{denied} cgroup files could not be read: permission denied"
        ));
    }
    CgroupSample {
        layout: Some(layout),
        readings,
    }
}

/// Second pass: only the counters rates need, for the cgroups the first pass read.
pub fn collect_counters(root: &Root, first: &CgroupSample) -> Vec<CgroupCounters> {
    first
        .readings
        .iter()
        .map(|r| read_counters(root, &r.dirs))
        .collect()
}

/// The counters rates need, for one cgroup whose directories are known (the second pass of `check`
/// and of `osdoctor cgroup`).
pub fn read_counters(root: &Root, dirs: &CgroupDirs) -> CgroupCounters {
    let read = |dir: &str, file: &str| {
        root.read_string(&format!("{}/{file}", dir.trim_end_matches('/')))
            .ok()
    };
    let mut c = CgroupCounters {
        path: dirs.path.clone(),
        ..CgroupCounters::default()
    };
    if let Some(ControllerDir { dir, version }) = &dirs.cpu {
        let parsed = read(dir, "cpu.stat").and_then(|t| match version {
            CgroupVersion::V2 => cpu_stat::parse_v2(&t).ok(),
            CgroupVersion::V1 => cpu_stat::parse_v1(&t).ok(),
        });
        if let Some(s) = parsed {
            c.nr_periods = s.nr_periods;
            c.nr_throttled = s.nr_throttled;
            c.throttled_usec = s.throttled_usec;
            c.usage_usec = s.usage_usec;
        }
        if c.usage_usec.is_none()
            && let Some(ControllerDir {
                dir,
                version: CgroupVersion::V1,
            }) = &dirs.cpuacct
        {
            c.usage_usec = read(dir, "cpuacct.usage")
                .and_then(|t| crate::parse::cgroup::cpuacct::parse_usage_ns(&t).ok())
                .map(crate::parse::cgroup::cpuacct::ns_to_usec);
        }
    }
    match &dirs.memory {
        Some(ControllerDir {
            dir,
            version: CgroupVersion::V2,
        }) => {
            if let Some(e) = read(dir, "memory.events").and_then(|t| memory_events::parse(&t).ok()) {
                c.oom_kill = e.oom_kill;
                c.memory_high_events = e.high;
            }
            c.oom_kill_local = read(dir, "memory.events.local")
                .and_then(|t| memory_events::parse(&t).ok())
                .and_then(|e| e.oom_kill);
        }
        Some(ControllerDir {
            dir,
            version: CgroupVersion::V1,
        }) => {
            c.oom_kill = read(dir, "memory.oom_control")
                .and_then(|t| memory_oom_control::parse(&t).ok())
                .and_then(|o| o.oom_kill);
        }
        None => {}
    }
    if let Some(ControllerDir { dir, .. }) = &dirs.pids {
        c.pids_events_max = read(dir, "pids.events")
            .and_then(|t| pids_events::parse(&t).ok())
            .and_then(|e| e.max);
    }
    c
}
