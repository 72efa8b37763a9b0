//! Pure parsers for cgroupfs interface files (v1 and v2), the cgroup mount table, and Kubernetes
//! path recognition. Nothing here opens a file: reading is [`crate::collect::cgroup`]'s.
//!
//! Parsers take `&str` and return typed values, one module per kernel file they parse
//! ([`flat_keyed`], [`memory_stat`], [`memory_events`], [`memory_oom_control`], [`cpu_stat`],
//! [`cpu_max`], [`cpuacct`], [`io_stat`], [`blkio`] (v1's I/O counts, as [`IoStat`]), [`pids_events`], [`cgroup_events`], [`cgroup_stat`],
//! [`cgroup_procs`], [`single_value`], [`proc_pid_cgroup`]). Errors carry the 1-based line
//! ([`ParseError`]). PSI files go through [`crate::parse::pressure::parse`].
//!
//! [`layout`] reads a mount table ([`detect_from_text`]) and tells v1, v2 and hybrid hosts apart;
//! [`CgroupLayout::dirs_for_path`] and [`CgroupLayout::dirs_for_process`] give the directory of each
//! controller of one cgroup ([`dirs`]). [`identify`] names the Kubernetes pod (UID, QoS class) and
//! container (ID, runtime) of a cgroup path, for the systemd and cgroupfs drivers under any prefix.

pub mod blkio;
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
pub mod single_value;

#[cfg(test)]
pub(crate) mod tests;

pub use dirs::{CgroupDirs, ControllerDir};
pub use error::ParseError;
pub use io_stat::IoStat;
pub use kubernetes::{ContainerIdentity, QosClass, Runtime, identify};
pub use layout::{CgroupLayout, CgroupMode, CgroupMount, CgroupVersion, V1Hierarchy, detect_from_text};
pub use memory_events::{MemoryEvents, MemorySwapEvents};
pub use memory_stat::MemoryStat;
pub use proc_pid_cgroup::{ProcessCgroups, V1Membership};
pub use single_value::Limit;

/// Parse the text of `/proc/PID/cgroup` (see [`proc_pid_cgroup`]).
pub fn process_cgroups(text: &str) -> Result<ProcessCgroups, ParseError> {
    proc_pid_cgroup::parse(text)
}
