//! Pure parsers for cgroupfs interface files (v1 and v2), cgroup mode detection and Kubernetes path recognition.
//!
//! Parsers take `&str` and return typed values, one module per kernel file they parse
//! ([`flat_keyed`], [`memory_stat`], [`memory_events`], [`memory_oom_control`], [`cpu_stat`],
//! [`cpu_max`], [`cpuacct`], [`io_stat`], [`pids_events`], [`cgroup_events`], [`cgroup_stat`],
//! [`cgroup_procs`], [`single_value`]). Errors carry the 1-based line ([`ParseError`]). PSI files go
//! through [`crate::psi::parse`].
//!
//! [`CgroupLayout::detect`] finds the cgroup mounts through [`crate::root::Root`] and tells v1, v2
//! and hybrid hosts apart; [`CgroupLayout::dirs_for_path`] and [`CgroupLayout::dirs_for_process`]
//! give the directory of each controller of one cgroup; [`read_cgroup`] reads one cgroup, v1 or v2,
//! into a [`CgroupReading`] whose every figure is an `Option`, never failing as a whole.
//!
//! [`identify`] names the Kubernetes pod (UID, QoS class) and container (ID, runtime) of a cgroup
//! path, for the systemd and cgroupfs drivers under any prefix; [`walk()`] lists the cgroup tree once,
//! bounded; [`resolve_target`] turns what a person typed after `osdoctor cgroup` (a path, PID,
//! container ID or pod UID) into cgroup directories, or a message saying what was searched and what
//! matched.

pub mod cgroup_events;
pub mod cgroup_procs;
pub mod cgroup_stat;
pub mod cpu_max;
pub mod cpu_stat;
pub mod cpuacct;
pub mod dirs;
pub mod error;
pub mod flat_keyed;
pub mod io_stat;
pub mod kubernetes;
pub mod layout;
pub mod memory_events;
pub mod memory_oom_control;
pub mod memory_stat;
pub mod pids_events;
pub mod proc_pid_cgroup;
pub mod reading;
pub mod single_value;
pub mod target;
pub mod walk;

#[cfg(test)]
mod tests;

pub use dirs::{CgroupDirs, ControllerDir};
pub use error::ParseError;
pub use io_stat::IoStat;
pub use kubernetes::{ContainerIdentity, QosClass, Runtime, identify};
pub use layout::{CgroupLayout, CgroupMode, CgroupMount, CgroupVersion, V1Hierarchy, detect_from_text};
pub use memory_events::{MemoryEvents, MemorySwapEvents};
pub use memory_stat::MemoryStat;
pub use proc_pid_cgroup::{ProcessCgroups, V1Membership};
pub use reading::{
    CgroupReading, CpuReading, FileProblem, MemoryReading, PidsReading, PressureReading, read_cgroup,
    read_cgroup_dirs,
};
pub use single_value::Limit;
pub use target::{PodContainer, Resolved, TargetError, TargetKind, resolve_target, resolve_target_with};
pub use walk::{CgroupTree, WalkLimits, walk};

/// Parse the text of `/proc/PID/cgroup` (see [`proc_pid_cgroup`]).
pub fn process_cgroups(text: &str) -> Result<ProcessCgroups, ParseError> {
    proc_pid_cgroup::parse(text)
}
