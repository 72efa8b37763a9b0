//! Pure parsers for cgroupfs interface files (v1 and v2), cgroup mode detection and Kubernetes path recognition.
//!
//! Parsers take `&str` and return typed values, one module per kernel file they parse
//! ([`flat_keyed`], [`memory_stat`], [`memory_events`], [`memory_oom_control`], [`cpu_stat`],
//! [`cpu_max`], [`cpuacct`], [`io_stat`], [`pids_events`], [`cgroup_events`], [`cgroup_stat`],
//! [`cgroup_procs`], [`single_value`]). Errors carry the 1-based line ([`ParseError`]). PSI files go
//! through [`crate::psi::parse`].

pub mod cgroup_events;
pub mod cgroup_procs;
pub mod cgroup_stat;
pub mod cpu_max;
pub mod cpu_stat;
pub mod cpuacct;
pub mod error;
pub mod flat_keyed;
pub mod io_stat;
pub mod memory_events;
pub mod memory_oom_control;
pub mod memory_stat;
pub mod pids_events;
pub mod single_value;

pub use error::ParseError;
pub use io_stat::IoStat;
pub use memory_events::{MemoryEvents, MemorySwapEvents};
pub use memory_stat::MemoryStat;
pub use single_value::Limit;
