//! Reading one cgroup: every file osdoctor uses, cgroup v1 or v2, into one [`CgroupReading`].
//!
//! The reader never fails as a whole. A file that is missing (controller not enabled here, older
//! kernel, root cgroup, swap accounting off) or does not parse leaves its fields `None` and is listed
//! in [`CgroupReading::unreadable`] with the reason, for the report's coverage section.
//!
//! Units are converted here, once: memory in bytes, CPU times in microseconds (v1 `cpu.stat` and
//! `cpuacct.*` count nanoseconds).

use std::fmt::Display;

use serde::Serialize;

use crate::parse::pressure::{self, Pressure};
use crate::root::Root;

use crate::parse::cgroup::dirs::{CgroupDirs, ControllerDir};
use crate::parse::cgroup::io_stat::IoStat;
use crate::parse::cgroup::kubernetes::{ContainerIdentity, identify};
use crate::parse::cgroup::layout::{CgroupLayout, CgroupVersion};
use crate::parse::cgroup::memory_events::{MemoryEvents, MemorySwapEvents};
use crate::parse::cgroup::memory_stat::MemoryStat;
use crate::parse::cgroup::single_value::{Limit, parse_limit, parse_value};
use crate::parse::cgroup::{
    blkio, cgroup_events, cgroup_procs, cgroup_stat, cpu_max, cpu_stat, cpuacct, io_stat, memory_events,
    memory_oom_control, memory_stat, pids_events,
};

/// A file (or directory) that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileProblem {
    pub path: String,
    /// "not found", "permission denied", "line 3: expected a non-negative integer, found \"x\"", ...
    pub reason: String,
}

/// Memory usage, limits and events of a cgroup. v2 from memory.*; v1 from memory.usage_in_bytes,
/// memory.limit_in_bytes, memory.max_usage_in_bytes, memory.failcnt, memory.oom_control and the
/// hierarchical (`total_`) figures of memory.stat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryReading {
    /// Which interface filled this (v1 and v2 differ in meaning for some fields).
    pub version: Option<CgroupVersion>,
    /// Usage of the cgroup and its descendants, bytes (v1: usage_in_bytes, a "fuzz" value).
    pub current: Option<u64>,
    /// Hard limit: OOM killer at this point (v1: limit_in_bytes).
    pub max: Option<Limit>,
    /// Throttle limit: reclaim and throttling, never OOM (v2 only).
    pub high: Option<Limit>,
    /// Best-effort and hard protection (v2 only).
    pub low: Option<Limit>,
    pub min: Option<Limit>,
    /// High-water mark of usage (v2 memory.peak, 5.19+; v1 max_usage_in_bytes).
    pub peak: Option<u64>,
    /// Swap in use, bytes (v2 memory.swap.current; v1 memory.stat total_swap with swap accounting).
    pub swap_current: Option<u64>,
    /// v2 memory.swap.max.
    pub swap_max: Option<Limit>,
    /// Hierarchical events (v2 memory.events; v1 fills only oom_kill, from memory.oom_control).
    pub events: MemoryEvents,
    /// This cgroup's own events (v2 memory.events.local, 5.2+).
    pub events_local: MemoryEvents,
    pub swap_events: MemorySwapEvents,
    pub stat: MemoryStat,
    /// current − inactive_file, saturating at 0: the figure kubelet and cAdvisor compare with the
    /// limit. `None` unless both are known.
    pub working_set: Option<u64>,
    /// v1 memory.failcnt: times usage hit the limit. Unreliable (stays 0 when memsw.limit equals the
    /// limit); count OOM kills from `events.oom_kill`.
    pub failcnt: Option<u64>,
    /// v1 memory.oom_control under_oom: the cgroup is OOM right now.
    pub under_oom: Option<bool>,
    /// v1 memory.oom_control oom_kill_disable: tasks hang at the limit instead of being killed.
    pub oom_kill_disable: Option<bool>,
    /// v1 memory.stat hierarchical_memory_limit: the tightest limit of this cgroup and its ancestors.
    pub hierarchical_max: Option<Limit>,
}

/// CPU usage, limit and throttling, times in microseconds. v2 from cpu.stat and cpu.max; v1 from
/// cpu.stat, cpu.cfs_quota_us, cpu.cfs_period_us and cpuacct.usage(_user, _sys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuReading {
    pub version: Option<CgroupVersion>,
    pub usage_usec: Option<u64>,
    pub user_usec: Option<u64>,
    pub system_usec: Option<u64>,
    pub nr_periods: Option<u64>,
    pub nr_throttled: Option<u64>,
    pub throttled_usec: Option<u64>,
    pub nr_bursts: Option<u64>,
    pub burst_usec: Option<u64>,
    /// CPU time allowed per period. `Some(Unlimited)` means no quota; `None` means not read.
    pub quota_usec: Option<Limit>,
    pub period_usec: Option<u64>,
}

impl CpuReading {
    /// The quota in CPUs (0.2 for 20000/100000); `None` when unlimited or unknown.
    pub fn quota_cores(&self) -> Option<f64> {
        let quota = self.quota_usec?.value()?;
        let period = self.period_usec.filter(|p| *p > 0)?;
        Some(quota as f64 / period as f64)
    }
}

/// Task count and limit (pids controller; "PIDs" are threads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PidsReading {
    pub current: Option<u64>,
    pub max: Option<Limit>,
    /// pids.peak (6.1+).
    pub peak: Option<u64>,
    /// pids.events max: forks rejected at the limit.
    pub events_max: Option<u64>,
}

/// The cgroup's pressure stall information (cgroup2 only; on hybrid hosts from the cgroup2 mount).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PressureReading {
    pub cpu: Option<Pressure>,
    pub memory: Option<Pressure>,
    pub io: Option<Pressure>,
}

/// Everything osdoctor reads about one cgroup at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CgroupReading {
    /// Path relative to the hierarchy root, e.g. `/kubepods.slice/…`.
    pub path: String,
    /// Where each controller's files were read from.
    pub dirs: CgroupDirs,
    /// The pod and container this cgroup belongs to, when its path says.
    pub identity: Option<ContainerIdentity>,
    pub memory: MemoryReading,
    pub cpu: CpuReading,
    pub pids: PidsReading,
    /// Per-device I/O: cgroup2 io.stat, or on v1 and hybrid hosts the blkio throttle counts
    /// (`_recursive` forms where present, so both include descendants). `None` when there is no
    /// io/blkio hierarchy or the files are unreadable. v1 does not charge buffered writes to the
    /// cgroup: see [`crate::parse::cgroup::blkio`].
    pub io: Option<Vec<IoStat>>,
    /// Which interface `io` came from.
    pub io_version: Option<CgroupVersion>,
    pub pressure: PressureReading,
    /// cgroup.events populated: a live process in this cgroup or below (cgroup2 only).
    pub populated: Option<bool>,
    pub frozen: Option<bool>,
    /// cgroup.stat (cgroup2 only).
    pub nr_descendants: Option<u64>,
    pub nr_dying_descendants: Option<u64>,
    /// cgroup.procs of this cgroup alone (not descendants), sorted and deduplicated.
    pub procs: Option<Vec<i32>>,
    /// Files that could not be read, and why.
    pub unreadable: Vec<FileProblem>,
}

/// Read the cgroup at `cgroup_path` (relative to the hierarchy root) in every hierarchy of `layout`.
pub fn read_cgroup(root: &Root, layout: &CgroupLayout, cgroup_path: &str) -> CgroupReading {
    read_cgroup_dirs(root, &layout.dirs_for_path(cgroup_path))
}

/// Read a cgroup whose directories are already resolved (a process's cgroups may sit at different
/// paths in different v1 hierarchies: see [`CgroupLayout::dirs_for_process`]).
pub fn read_cgroup_dirs(root: &Root, dirs: &CgroupDirs) -> CgroupReading {
    let mut r = Reader {
        root,
        unreadable: Vec::new(),
        absent_dirs: Vec::new(),
    };
    let mut out = CgroupReading {
        path: dirs.path.clone(),
        dirs: dirs.clone(),
        identity: identify(&dirs.path),
        ..CgroupReading::default()
    };

    match &dirs.memory {
        Some(ControllerDir {
            dir,
            version: CgroupVersion::V2,
        }) => out.memory = r.memory_v2(dir),
        Some(ControllerDir {
            dir,
            version: CgroupVersion::V1,
        }) => out.memory = r.memory_v1(dir),
        None => r.no_hierarchy(&dirs.path, "memory"),
    }
    match &dirs.cpu {
        Some(ControllerDir {
            dir,
            version: CgroupVersion::V2,
        }) => r.cpu_v2(dir, &mut out.cpu),
        Some(ControllerDir {
            dir,
            version: CgroupVersion::V1,
        }) => r.cpu_v1(dir, &mut out.cpu),
        None => r.no_hierarchy(&dirs.path, "cpu"),
    }
    match (&dirs.cpuacct, out.cpu.version) {
        (
            Some(ControllerDir {
                dir,
                version: CgroupVersion::V1,
            }),
            _,
        ) => r.cpuacct_v1(dir, &mut out.cpu),
        // cpu on v1 without a cpuacct hierarchy: cgroup2's cpu.stat has usage whether or not the
        // controller is enabled there.
        (
            Some(ControllerDir {
                dir,
                version: CgroupVersion::V2,
            }),
            Some(CgroupVersion::V1),
        ) => {
            if let Some(s) = r.read(dir, "cpu.stat", cpu_stat::parse_v2) {
                out.cpu.usage_usec = s.usage_usec;
                out.cpu.user_usec = s.user_usec;
                out.cpu.system_usec = s.system_usec;
            }
        }
        _ => {}
    }
    match &dirs.pids {
        Some(ControllerDir { dir, .. }) => out.pids = r.pids(dir),
        None => r.no_hierarchy(&dirs.path, "pids"),
    }
    match &dirs.io {
        Some(ControllerDir {
            dir,
            version: CgroupVersion::V2,
        }) => {
            out.io = r.io_v2(dir);
            out.io_version = out.io.as_ref().map(|_| CgroupVersion::V2);
        }
        Some(ControllerDir {
            dir,
            version: CgroupVersion::V1,
        }) => {
            out.io = r.blkio_v1(dir);
            out.io_version = out.io.as_ref().map(|_| CgroupVersion::V1);
        }
        None => {}
    }
    if let Some(dir) = &dirs.unified {
        out.pressure = PressureReading {
            cpu: r.read(dir, "cpu.pressure", pressure::parse),
            memory: r.read(dir, "memory.pressure", pressure::parse),
            io: r.read(dir, "io.pressure", pressure::parse),
        };
        if let Some(e) = r.read(dir, "cgroup.events", cgroup_events::parse) {
            out.populated = e.populated;
            out.frozen = e.frozen;
        }
        if let Some(s) = r.read(dir, "cgroup.stat", cgroup_stat::parse) {
            out.nr_descendants = s.nr_descendants;
            out.nr_dying_descendants = s.nr_dying_descendants;
        }
    }
    out.procs = r.procs(dirs);
    out.unreadable = r.unreadable;
    if out.path == "/" {
        // cgroup-v2.rst: "The root cgroup should be exempt from resource control and thus shouldn't
        // have resource control interface files." Say so rather than leave a bare "not found".
        for p in out.unreadable.iter_mut().filter(|p| p.reason == "not found") {
            p.reason = "not found (the root cgroup lacks most controller files; host-wide figures come \
                        from /proc)"
                .to_string();
        }
    }
    out
}

struct Reader<'a> {
    root: &'a Root,
    unreadable: Vec<FileProblem>,
    /// Directories found missing: reported once, their other files not tried.
    absent_dirs: Vec<String>,
}

impl Reader<'_> {
    /// Read and parse `dir/file`, recording any failure.
    fn read<T, E: Display>(
        &mut self,
        dir: &str,
        file: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match self.try_read(dir, file, parse) {
            Ok(v) => Some(v),
            Err(Some(problem)) => {
                self.unreadable.push(problem);
                None
            }
            Err(None) => None,
        }
    }

    /// Like `read`, but hand the failure back; `Err(None)` when the directory is already known absent.
    fn try_read<T, E: Display>(
        &mut self,
        dir: &str,
        file: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, Option<FileProblem>> {
        if self.absent_dirs.iter().any(|d| d == dir) {
            return Err(None);
        }
        let path = format!("{}/{file}", dir.trim_end_matches('/'));
        let text = match self.root.read_string(&path) {
            Ok(text) => text,
            Err(e) if e.is_not_found() && !self.root.exists(dir) => {
                self.absent_dirs.push(dir.to_string());
                return Err(Some(FileProblem {
                    path: dir.to_string(),
                    reason: "cgroup directory not found".to_string(),
                }));
            }
            Err(e) => {
                return Err(Some(FileProblem {
                    path,
                    reason: e.reason(),
                }));
            }
        };
        parse(&text).map_err(|e| {
            Some(FileProblem {
                path,
                reason: format!("does not parse: {e}"),
            })
        })
    }

    fn no_hierarchy(&mut self, cgroup_path: &str, controller: &str) {
        self.unreadable.push(FileProblem {
            path: cgroup_path.to_string(),
            reason: format!("no mounted hierarchy carries the {controller} controller"),
        });
    }

    fn memory_v2(&mut self, dir: &str) -> MemoryReading {
        let mut m = MemoryReading {
            version: Some(CgroupVersion::V2),
            current: self.read(dir, "memory.current", parse_value),
            max: self.read(dir, "memory.max", parse_limit),
            high: self.read(dir, "memory.high", parse_limit),
            low: self.read(dir, "memory.low", parse_limit),
            min: self.read(dir, "memory.min", parse_limit),
            peak: self.read(dir, "memory.peak", parse_value),
            swap_current: self.read(dir, "memory.swap.current", parse_value),
            swap_max: self.read(dir, "memory.swap.max", parse_limit),
            events: self
                .read(dir, "memory.events", memory_events::parse)
                .unwrap_or_default(),
            events_local: self
                .read(dir, "memory.events.local", memory_events::parse)
                .unwrap_or_default(),
            swap_events: self
                .read(dir, "memory.swap.events", memory_events::parse_swap)
                .unwrap_or_default(),
            stat: self
                .read(dir, "memory.stat", memory_stat::parse_v2)
                .unwrap_or_default(),
            ..MemoryReading::default()
        };
        m.working_set = working_set(m.current, m.stat.inactive_file);
        m
    }

    fn memory_v1(&mut self, dir: &str) -> MemoryReading {
        let mut m = MemoryReading {
            version: Some(CgroupVersion::V1),
            current: self.read(dir, "memory.usage_in_bytes", parse_value),
            max: self.read(dir, "memory.limit_in_bytes", parse_limit),
            peak: self.read(dir, "memory.max_usage_in_bytes", parse_value),
            failcnt: self.read(dir, "memory.failcnt", parse_value),
            ..MemoryReading::default()
        };
        if let Some(c) = self.read(dir, "memory.oom_control", memory_oom_control::parse) {
            m.events.oom_kill = c.oom_kill;
            m.under_oom = c.under_oom;
            m.oom_kill_disable = c.oom_kill_disable;
        }
        if let Some(s) = self.read(dir, "memory.stat", memory_stat::parse_v1) {
            m.stat = s.stat;
            m.swap_current = s.swap;
            m.hierarchical_max = s.hierarchical_memory_limit;
        }
        m.working_set = working_set(m.current, m.stat.inactive_file);
        m
    }

    fn cpu_v2(&mut self, dir: &str, cpu: &mut CpuReading) {
        cpu.version = Some(CgroupVersion::V2);
        if let Some(s) = self.read(dir, "cpu.stat", cpu_stat::parse_v2) {
            fill_cpu_stat(cpu, &s);
        }
        if let Some(max) = self.read(dir, "cpu.max", cpu_max::parse) {
            cpu.quota_usec = Some(max.quota_usec);
            cpu.period_usec = Some(max.period_usec);
        }
    }

    fn cpu_v1(&mut self, dir: &str, cpu: &mut CpuReading) {
        cpu.version = Some(CgroupVersion::V1);
        if let Some(s) = self.read(dir, "cpu.stat", cpu_stat::parse_v1) {
            fill_cpu_stat(cpu, &s);
        }
        cpu.quota_usec = self.read(dir, "cpu.cfs_quota_us", cpu_max::parse_cfs_quota_us);
        cpu.period_usec = self.read(dir, "cpu.cfs_period_us", parse_value);
    }

    fn cpuacct_v1(&mut self, dir: &str, cpu: &mut CpuReading) {
        let usec = cpuacct::ns_to_usec;
        cpu.usage_usec = self.read(dir, "cpuacct.usage", cpuacct::parse_usage_ns).map(usec);
        cpu.user_usec = self
            .read(dir, "cpuacct.usage_user", cpuacct::parse_usage_ns)
            .map(usec);
        cpu.system_usec = self
            .read(dir, "cpuacct.usage_sys", cpuacct::parse_usage_ns)
            .map(usec);
    }

    /// io.stat. Its absence where the io controller is not enabled for this cgroup (the parent's
    /// cgroup.subtree_control lacks `io`, so cgroup.controllers does not list it) is how the kernel
    /// says "not controlled here", not a file osdoctor failed to read: it is not listed.
    fn io_v2(&mut self, dir: &str) -> Option<Vec<IoStat>> {
        match self.try_read(dir, "io.stat", io_stat::parse) {
            Ok(v) => Some(v),
            Err(Some(problem)) => {
                let io_not_enabled = problem.reason == "not found"
                    && self
                        .root
                        .read_string(&format!("{}/cgroup.controllers", dir.trim_end_matches('/')))
                        .is_ok_and(|c| !c.split_ascii_whitespace().any(|w| w == "io"));
                if !io_not_enabled {
                    self.unreadable.push(problem);
                }
                None
            }
            Err(None) => None,
        }
    }

    /// v1 blkio: the throttle files' `_recursive` forms (4.13+) where present, else the plain ones.
    fn blkio_v1(&mut self, dir: &str) -> Option<Vec<IoStat>> {
        let mut text = |name: &str| -> Option<String> {
            let recursive = format!("{name}_recursive");
            match self.try_read(dir, &recursive, |t| Ok::<_, String>(t.to_string())) {
                Ok(t) => Some(t),
                Err(Some(p)) if p.reason == "not found" => {
                    self.read(dir, name, |t| Ok::<_, String>(t.to_string()))
                }
                Err(Some(p)) => {
                    self.unreadable.push(p);
                    None
                }
                Err(None) => None,
            }
        };
        let bytes = text("blkio.throttle.io_service_bytes");
        let ios = text("blkio.throttle.io_serviced");
        if bytes.is_none() && ios.is_none() {
            return None;
        }
        match blkio::parse(bytes.as_deref(), ios.as_deref()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.unreadable.push(FileProblem {
                    path: format!("{}/blkio.throttle.*", dir.trim_end_matches('/')),
                    reason: format!("does not parse: {e}"),
                });
                None
            }
        }
    }

    fn pids(&mut self, dir: &str) -> PidsReading {
        PidsReading {
            current: self.read(dir, "pids.current", parse_value),
            max: self.read(dir, "pids.max", parse_limit),
            peak: self.read(dir, "pids.peak", parse_value),
            events_max: self
                .read(dir, "pids.events", pids_events::parse)
                .and_then(|e| e.max),
        }
    }

    /// cgroup.procs from the first hierarchy that has this cgroup: memory (the primary one on v1 and
    /// hybrid hosts, the only directory on v2), then cgroup2, cpu, pids.
    fn procs(&mut self, dirs: &CgroupDirs) -> Option<Vec<i32>> {
        let mut candidates: Vec<&str> = Vec::new();
        for dir in [
            dirs.memory.as_ref().map(|d| d.dir.as_str()),
            dirs.unified.as_deref(),
            dirs.cpu.as_ref().map(|d| d.dir.as_str()),
            dirs.pids.as_ref().map(|d| d.dir.as_str()),
        ]
        .into_iter()
        .flatten()
        {
            if !candidates.contains(&dir) {
                candidates.push(dir);
            }
        }
        let mut first_problem = None;
        for dir in candidates {
            match self.try_read(dir, "cgroup.procs", cgroup_procs::parse) {
                Ok(pids) => return Some(pids),
                Err(problem) => first_problem = first_problem.or(problem),
            }
        }
        // Directories already reported absent produce no second entry.
        if let Some(p) = first_problem.filter(|p| !self.unreadable.contains(p)) {
            self.unreadable.push(p);
        }
        None
    }
}

fn fill_cpu_stat(cpu: &mut CpuReading, s: &cpu_stat::CpuStat) {
    cpu.usage_usec = s.usage_usec;
    cpu.user_usec = s.user_usec;
    cpu.system_usec = s.system_usec;
    cpu.nr_periods = s.nr_periods;
    cpu.nr_throttled = s.nr_throttled;
    cpu.throttled_usec = s.throttled_usec;
    cpu.nr_bursts = s.nr_bursts;
    cpu.burst_usec = s.burst_usec;
}

/// current − inactive_file, saturating: inactive_file can briefly exceed a fuzzy v1 usage.
fn working_set(current: Option<u64>, inactive_file: Option<u64>) -> Option<u64> {
    Some(current?.saturating_sub(inactive_file?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_set_saturates() {
        assert_eq!(working_set(Some(100), Some(30)), Some(70));
        assert_eq!(working_set(Some(10), Some(30)), Some(0));
        assert_eq!(working_set(Some(10), None), None);
        assert_eq!(working_set(None, Some(1)), None);
    }

    #[test]
    fn quota_cores() {
        let cpu = CpuReading {
            quota_usec: Some(Limit::Value(20000)),
            period_usec: Some(100000),
            ..CpuReading::default()
        };
        assert_eq!(cpu.quota_cores(), Some(0.2));
        let unlimited = CpuReading {
            quota_usec: Some(Limit::Unlimited),
            period_usec: Some(100000),
            ..CpuReading::default()
        };
        assert_eq!(unlimited.quota_cores(), None);
    }
}
