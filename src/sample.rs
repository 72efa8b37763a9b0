//! Samples: typed, timestamped readings with nothing computed yet, and the rate arithmetic over two of them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use procfs_core::{KernelStats, LoadAverage, Meminfo};
use serde::{Deserialize, Serialize};

use crate::collect::cgroup::{CgroupCounters, CgroupSample};
use crate::collect::kmsg::KernelLog;
use crate::psi::Pressure;

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

/// /proc/sys/fs/file-nr: "the number of allocated file handles, the number of allocated but unused file
/// handles, and the maximum number of file handles" (Documentation/admin-guide/sysctl/fs.rst).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FileNr {
    pub allocated: u64,
    pub unused: u64,
    pub max: u64,
}

/// Host-wide readings from one pass.
#[derive(Debug, Clone, Default)]
pub struct HostSample {
    pub meminfo: Option<Meminfo>,
    pub vmstat: Option<HashMap<String, i64>>,
    pub stat: Option<KernelStats>,
    pub loadavg: Option<LoadAverage>,
    pub psi_cpu: Option<Pressure>,
    pub psi_memory: Option<Pressure>,
    pub psi_io: Option<Pressure>,
    pub file_nr: Option<FileNr>,
    /// Sysctls by their /proc/sys path below /proc/sys, e.g. `kernel/pid_max`.
    pub sysctls: BTreeMap<&'static str, i64>,
    pub hostname: Option<String>,
    pub kernel_release: Option<String>,
}

/// Everything read in one pass, with when it was read.
#[derive(Debug, Clone)]
pub struct Sample {
    /// CLOCK_MONOTONIC seconds when the pass started: deltas between samples divide by this.
    pub mono_secs: f64,
    pub wall: DateTime<Utc>,
    pub host: HostSample,
    /// First pass: the cgroup layout and the cgroups read.
    pub cgroups: Option<CgroupSample>,
    /// Second pass: the counters of the same cgroups.
    pub cgroup_counters: Option<Vec<CgroupCounters>>,
    /// First pass: the kernel log and the events in it (None when it could not be read).
    pub kernel_log: Option<KernelLog>,
    /// Every process (`scanned` is false when /proc could not be listed).
    pub processes: crate::collect::process::ProcessSample,
}

impl Sample {
    pub fn new(mono_secs: f64, wall: DateTime<Utc>) -> Sample {
        Sample {
            mono_secs,
            wall,
            host: HostSample::default(),
            cgroups: None,
            cgroup_counters: None,
            kernel_log: None,
            processes: Default::default(),
        }
    }
}

/// The monotonic clock in seconds.
pub fn monotonic_secs() -> f64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Change per second of a monotonic counter; `None` when it went backwards (a reset, a wrap, a
/// recreated cgroup) or no time passed: a rate is never guessed and never negative.
pub fn rate(before: u64, after: u64, elapsed_secs: f64) -> Option<f64> {
    if after < before || elapsed_secs.is_nan() || elapsed_secs <= 0.0 {
        return None;
    }
    Some((after - before) as f64 / elapsed_secs)
}

/// The same for signed counters as /proc/vmstat prints them.
pub fn rate_i64(before: i64, after: i64, elapsed_secs: f64) -> Option<f64> {
    if before < 0 || after < 0 {
        return None;
    }
    rate(before as u64, after as u64, elapsed_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_never_go_negative() {
        assert_eq!(rate(100, 300, 2.0), Some(100.0));
        assert_eq!(rate(300, 100, 2.0), None);
        assert_eq!(rate(1, 2, 0.0), None);
        assert_eq!(rate(1, 2, f64::NAN), None);
        assert_eq!(rate_i64(-1, 5, 1.0), None);
        assert_eq!(rate_i64(5, 5, 1.0), Some(0.0));
    }
}
