//! Samples: what one pass of the collectors read, typed and timestamped, with nothing computed yet.

use chrono::{DateTime, Utc};

use crate::collect::SystemInfo;
use crate::collect::cgroup::{CgroupCounters, CgroupSample};
use crate::collect::cgroup_processes::ProcessList;
use crate::collect::disk::DiskSample;
use crate::collect::filesystem::FilesystemSample;
pub use crate::collect::host::HostSample;
use crate::collect::kmsg::KernelLog;
use crate::collect::netstack::NetStackSample;
use crate::collect::nic::NicSample;
use crate::collect::numa::NumaSample;
use crate::collect::tcp::TcpSample;
use crate::coverage::Coverage;
use crate::root::Root;
// Until the process collector imports these from their homes (collect::host, clock).
pub use crate::clock::{monotonic_secs, rate};

/// Everything read in one pass, with when it was read.
#[derive(Debug, Clone)]
pub struct Sample {
    /// CLOCK_MONOTONIC seconds when the pass started: deltas between samples divide by this.
    pub mono_secs: f64,
    pub wall: DateTime<Utc>,
    pub host: HostSample,
    /// First pass (check): whether osdoctor runs in a container, which one, and its limits (None: not
    /// looked at, or a host seen from outside through a mounted /proc).
    pub container: Option<crate::collect::container::ContainerSample>,
    /// First pass: the cgroup layout and the cgroups read.
    pub cgroups: Option<CgroupSample>,
    /// Second pass: the counters of the same cgroups.
    pub cgroup_counters: Option<Vec<CgroupCounters>>,
    /// The kernel log and the events in it (None when it could not be read). Read on both passes of
    /// `check` and `osdoctor cgroup`, so that a kill during the interval is seen: use
    /// [`Collected::kernel_log`], the last one read.
    pub kernel_log: Option<KernelLog>,
    /// First pass (check, when the cgroups hold pods): pod and container names from the kubelet's
    /// log tree (None: not read, or no /var/log/pods).
    pub kubelet: Option<crate::collect::kubelet_logs::KubeletNames>,
    /// Every process (`scanned` is false when /proc could not be listed).
    pub processes: crate::collect::process::ProcessSample,
    /// `osdoctor cgroup`: the processes of each cgroup read, in the order of `cgroups.readings`.
    pub cgroup_processes: Option<Vec<ProcessList>>,
    /// Every pass (check): /proc/diskstats (None when it could not be read).
    pub disks: Option<DiskSample>,
    /// Every pass (check): /proc/net/dev, and on the first the link states (None when unreadable).
    pub nics: Option<NicSample>,
    /// Every pass (check): the TCP counters of /proc/net/snmp and /proc/net/netstat.
    pub tcp: Option<TcpSample>,
    /// Every pass (check): socket memory, conntrack, ephemeral ports (first pass), softnet_stat.
    pub netstack: Option<NetStackSample>,
    /// Every pass (check): the NUMA nodes' memory and counters, or why NUMA is absent; on the first,
    /// after the process scan, the largest processes' numa_maps (None: not collected).
    pub numa: Option<NumaSample>,
    /// Second pass (check), only when listeners dropped connections during the interval: the LISTEN
    /// sockets, their backlogs and the holders of those at their limit.
    pub listen: Option<crate::collect::listen::ListenSample>,
    /// The last pass (check): the filesystems and their statvfs (None when mountinfo was unreadable).
    pub filesystems: Option<FilesystemSample>,
}

impl Sample {
    pub fn new(mono_secs: f64, wall: DateTime<Utc>) -> Sample {
        Sample {
            mono_secs,
            wall,
            host: HostSample::default(),
            container: None,
            cgroups: None,
            cgroup_counters: None,
            kernel_log: None,
            kubelet: None,
            processes: Default::default(),
            cgroup_processes: None,
            disks: None,
            nics: None,
            tcp: None,
            netstack: None,
            numa: None,
            listen: None,
            filesystems: None,
        }
    }
}

/// What the collectors produced over a run: the samples, what could not be read, and whether the
/// deadline cut a pass short.
#[derive(Debug, Clone)]
pub struct Collected {
    pub si: SystemInfo,
    pub first: Option<Sample>,
    pub second: Option<Sample>,
    pub coverage: Coverage,
    /// A read did not finish before the deadline.
    pub partial: bool,
    /// Seconds between the samples as recorded.
    pub interval_s: f64,
    /// Where reads made after the rules ran (command lines of the processes named in findings) go:
    /// the live system, or the snapshot's last sample. A snapshot being captured records them there.
    pub late_root: Option<Root>,
    /// When the whole run must be done (`--interval` + `--timeout` after it started), for those reads.
    pub deadline: Option<std::time::Instant>,
}

impl Collected {
    /// The kernel log as last read, with the time of the sample that read it (ages are taken then):
    /// the second sample's when its pass read one (a kill during the interval is only there), else the
    /// first's (a single sample, a pass cut by the deadline, a snapshot taken before both were read).
    pub fn kernel_log(&self) -> Option<(&KernelLog, DateTime<Utc>)> {
        last_kernel_log(self.first.as_ref(), self.second.as_ref())
    }
}

/// [`Collected::kernel_log`] of two samples.
pub fn last_kernel_log<'a>(
    first: Option<&'a Sample>,
    second: Option<&'a Sample>,
) -> Option<(&'a KernelLog, DateTime<Utc>)> {
    [second, first]
        .into_iter()
        .flatten()
        .find_map(|s| s.kernel_log.as_ref().map(|log| (log, s.wall)))
}
