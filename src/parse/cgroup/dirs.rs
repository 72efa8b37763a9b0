//! Where one cgroup's files are, controller by controller.
//!
//! On a v2 host every controller's files sit in one directory. On v1 and hybrid hosts each controller
//! has its own hierarchy (`/sys/fs/cgroup/memory/<path>`, `/sys/fs/cgroup/cpu,cpuacct/<path>`, ...),
//! and a process may even sit at different paths in different hierarchies (this machine's test
//! processes do: /proc/PID/cgroup shows `4:memory:/a` next to `1:cpu:/`). [`CgroupDirs`] holds the
//! resolved directory of each controller so the reader never guesses.

use serde::Serialize;

use super::layout::{CgroupLayout, CgroupVersion, normalize_cgroup_path};
use super::proc_pid_cgroup::ProcessCgroups;

/// A controller's directory for one cgroup, and which interface its files follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControllerDir {
    /// The directory inside the osdoctor root, e.g. `/sys/fs/cgroup/memory/kubepods/pod…`.
    pub dir: String,
    pub version: CgroupVersion,
}

/// The directories of one cgroup. A controller is `None` when no hierarchy carries it (or the cgroup
/// lies outside what its mount shows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CgroupDirs {
    /// The cgroup's path relative to its hierarchy root (`/kubepods.slice/…`), as /proc/PID/cgroup and
    /// the kernel log print it. On v1 hosts, the memory hierarchy's path.
    pub path: String,
    /// The cgroup2 directory: v2 controllers, and on hybrid hosts the PSI files and cgroup.events.
    pub unified: Option<String>,
    pub memory: Option<ControllerDir>,
    pub cpu: Option<ControllerDir>,
    /// v1 cpuacct (often the same directory as cpu, `cpu,cpuacct`); on v2 the same as `cpu`.
    pub cpuacct: Option<ControllerDir>,
    pub pids: Option<ControllerDir>,
    /// I/O counts: the v1 blkio hierarchy's directory where blkio is bound to v1 (v1 and hybrid
    /// hosts), otherwise the cgroup2 directory (io.stat). `None` on a v1 host without blkio.
    pub io: Option<ControllerDir>,
}

impl CgroupLayout {
    /// The directories of the cgroup at `cgroup_path` (relative to the hierarchy root), taking the
    /// same path in every hierarchy.
    pub fn dirs_for_path(&self, cgroup_path: &str) -> CgroupDirs {
        let path = normalize_cgroup_path(cgroup_path).unwrap_or_else(|| cgroup_path.to_string());
        self.dirs_with(path.clone(), |_| Some(path.clone()), Some(path.as_str()))
    }

    /// The directories of a process's cgroups, from its parsed /proc/PID/cgroup: each controller at
    /// the path its own hierarchy line names.
    pub fn dirs_for_process(&self, cgroups: &ProcessCgroups) -> CgroupDirs {
        let label = match self.primary() {
            Some((_, CgroupVersion::V2)) => cgroups.unified.clone(),
            _ => cgroups
                .v1_path("memory")
                .or_else(|| cgroups.v1.first().map(|m| m.path.as_str()))
                .map(str::to_string)
                .or_else(|| cgroups.unified.clone()),
        }
        .unwrap_or_else(|| "/".to_string());
        self.dirs_with(
            label,
            |controller| cgroups.v1_path(controller).map(str::to_string),
            cgroups.unified.as_deref(),
        )
    }

    fn dirs_with(
        &self,
        path: String,
        v1_path: impl Fn(&str) -> Option<String>,
        unified_path: Option<&str>,
    ) -> CgroupDirs {
        let unified = self
            .unified
            .as_ref()
            .zip(unified_path)
            .and_then(|(m, p)| m.dir_of(p));
        let controller = |name: &str| -> Option<ControllerDir> {
            match self.v1_hierarchy(name) {
                Some(h) => v1_path(name)
                    .and_then(|p| h.mount.dir_of(&p))
                    .map(|dir| ControllerDir {
                        dir,
                        version: CgroupVersion::V1,
                    }),
                None => unified.clone().map(|dir| ControllerDir {
                    dir,
                    version: CgroupVersion::V2,
                }),
            }
        };
        CgroupDirs {
            memory: controller("memory"),
            cpu: controller("cpu"),
            cpuacct: match self.v1_hierarchy("cpuacct") {
                Some(_) => controller("cpuacct"),
                None => controller("cpu"),
            },
            pids: controller("pids"),
            io: controller("blkio"),
            unified,
            path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::detect_from_text;
    use super::super::proc_pid_cgroup;
    use super::*;

    const HYBRID: &str = "\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn same_path_everywhere() {
        let l = detect_from_text(HYBRID);
        let d = l.dirs_for_path("/kubepods/pod1/");
        assert_eq!(d.path, "/kubepods/pod1");
        assert_eq!(d.memory.unwrap().dir, "/sys/fs/cgroup/memory/kubepods/pod1");
        assert_eq!(d.cpuacct.unwrap().dir, "/sys/fs/cgroup/cpuacct/kubepods/pod1");
        assert_eq!(d.unified.as_deref(), Some("/sys/fs/cgroup/unified/kubepods/pod1"));
        // blkio is bound to v1: io.stat cannot exist in cgroup2 here, the v1 blkio files are read.
        let io = d.io.unwrap();
        assert_eq!(
            (io.dir.as_str(), io.version),
            ("/sys/fs/cgroup/blkio/kubepods/pod1", CgroupVersion::V1)
        );
    }

    #[test]
    fn a_process_at_different_paths_per_hierarchy() {
        let l = detect_from_text(HYBRID);
        let p = proc_pid_cgroup::parse("8:pids:/p\n4:memory:/m\n2:cpuacct:/\n1:cpu:/c\n0::/u\n").unwrap();
        let d = l.dirs_for_process(&p);
        assert_eq!(d.path, "/m");
        assert_eq!(d.memory.unwrap().dir, "/sys/fs/cgroup/memory/m");
        assert_eq!(d.cpu.unwrap().dir, "/sys/fs/cgroup/cpu/c");
        assert_eq!(d.cpuacct.unwrap().dir, "/sys/fs/cgroup/cpuacct");
        assert_eq!(d.pids.unwrap().dir, "/sys/fs/cgroup/pids/p");
        assert_eq!(d.unified.as_deref(), Some("/sys/fs/cgroup/unified/u"));
    }

    #[test]
    fn pure_v2() {
        let l = detect_from_text("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let p = proc_pid_cgroup::parse("0::/system.slice/x.service\n").unwrap();
        let d = l.dirs_for_process(&p);
        assert_eq!(d.path, "/system.slice/x.service");
        let m = d.memory.unwrap();
        assert_eq!(
            (m.dir.as_str(), m.version),
            ("/sys/fs/cgroup/system.slice/x.service", CgroupVersion::V2)
        );
        assert_eq!(d.cpuacct.unwrap().dir, "/sys/fs/cgroup/system.slice/x.service");
        assert_eq!(d.io.unwrap().version, CgroupVersion::V2);
    }

    #[test]
    fn v1_without_blkio_has_no_io_dir() {
        let l = detect_from_text("35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        assert_eq!(l.dirs_for_path("/a").io, None);
    }
}
