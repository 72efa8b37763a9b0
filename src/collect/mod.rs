//! Collectors: one module per kernel source. They read through [`crate::root::Root`], fill typed
//! samples and record what they could not read in [`crate::coverage::Coverage`]. They know nothing of rules.

pub mod cgroup;
pub mod cgroup_processes;
pub mod container;
pub mod disk;
pub mod filesystem;
pub mod host;
pub mod kmsg;
pub mod kubelet_logs;
pub mod listen;
pub mod netstack;
pub mod nic;
pub mod numa;
pub mod process;
pub mod tcp;

use serde::{Deserialize, Serialize};

use crate::coverage::Coverage;
use crate::root::{ReadError, Root};

/// Facts about the machine that parsers need and a snapshot must carry (the replaying host may differ).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// USER_HZ: the unit of /proc/stat and /proc/PID/stat CPU times.
    pub ticks_per_second: u64,
    pub page_size: u64,
    /// Boot time, seconds since the epoch (`btime` in /proc/stat).
    pub boot_time_secs: Option<u64>,
}

impl SystemInfo {
    /// The running system's values.
    pub fn live() -> SystemInfo {
        SystemInfo {
            ticks_per_second: rustix::param::clock_ticks_per_second(),
            page_size: rustix::param::page_size() as u64,
            boot_time_secs: None,
        }
    }

    pub(crate) fn procfs(&self) -> procfs_core::ExplicitSystemInfo {
        procfs_core::ExplicitSystemInfo {
            boot_time_secs: self.boot_time_secs.unwrap_or(0),
            ticks_per_second: self.ticks_per_second,
            page_size: self.page_size,
            is_little_endian: cfg!(target_endian = "little"),
        }
    }
}

/// Read `path` and parse it; a failure is recorded in coverage and gives `None`.
pub(crate) fn read_parsed<T>(
    root: &Root,
    path: &str,
    cov: &mut Coverage,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    parsed(root.read_string(path).as_ref(), path, cov, parse)
}

/// [`read_parsed`] of a file already read (whose text another reader of the pass shares).
pub(crate) fn parsed<T>(
    read: Result<&String, &ReadError>,
    path: &str,
    cov: &mut Coverage,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    match read {
        Ok(text) => match parse(text) {
            Ok(v) => {
                cov.read_ok(path);
                Some(v)
            }
            Err(why) => {
                cov.malformed(path, why);
                None
            }
        },
        Err(e) => {
            cov.read_failed(e);
            None
        }
    }
}
