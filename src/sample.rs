//! Samples: what one pass of the collectors read, typed and timestamped, with nothing computed yet.

use chrono::{DateTime, Utc};

use crate::collect::cgroup::{CgroupCounters, CgroupSample};
pub use crate::collect::host::HostSample;
use crate::collect::kmsg::KernelLog;
// Until the process collector imports these from their homes (collect::host, clock).
pub use crate::clock::{monotonic_secs, rate};

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
