//! The report of `osdoctor cgroup TARGET`: what TARGET resolved to, each cgroup's limits, usage,
//! events, throttling, pids, pressure, processes and findings ([`CgroupReport`], its `--format json`
//! shape). Built by the pipeline (`pipeline::cgroup`); rendered by `cgroup_render.rs`.

use serde::Serialize;

use super::{Status, Tool};
use crate::collect::cgroup::{FileProblem, TargetKind};
use crate::collect::cgroup_processes::ProcessList;
use crate::parse::cgroup::{CgroupVersion, QosClass, Runtime};
use crate::rules::finding::{Finding, NotEvaluated};

/// Bumped on any change to the shape of [`CgroupReport`].
pub const CGROUP_SCHEMA_VERSION: u32 = 4;

/// What a cgroup is to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A Kubernetes pod's cgroup (its containers are listed after it).
    Pod,
    /// A container's cgroup (of a pod, or a bare docker/podman container).
    Container,
    /// Any other cgroup.
    Cgroup,
}

/// What TARGET was and what it resolved to.
#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    /// TARGET as typed.
    pub input: String,
    /// `cgroup_path`, `pid`, `container_id`, `pod_uid`, `pod_name` or `container_name`: what TARGET
    /// was taken for.
    pub kind: TargetKind,
    /// The cgroup it resolved to, relative to the hierarchy root (the memory hierarchy's path on v1).
    pub cgroup: String,
    pub pod_uid: Option<String>,
    pub container_id: Option<String>,
    /// The pod as `namespace/name`, from the kubelet's log tree (`null` without it).
    pub pod: Option<String>,
    /// The container's name, from the kubelet's log tree (`null` without it, or for a pod).
    pub container: Option<String>,
    /// `containerd`, `crio`, `docker`, `podman`, or `null` when the cgroup name does not say.
    pub runtime: Option<Runtime>,
    /// `guaranteed`, `burstable`, `besteffort`: where the pod's cgroup sits.
    pub qos: Option<QosClass>,
    /// True when no cgroup matches TARGET but the kernel log names it (a container whose only
    /// process was OOM-killed goes with its cgroup): the report is built from the log's events, and
    /// `cgroups` is empty. Schema 3.
    pub gone: bool,
    /// When the kernel log last saw a gone target (its newest event naming it, RFC 3339); `null`
    /// while the cgroup exists. Schema 3.
    pub last_seen: Option<String>,
}

/// Memory of one cgroup. Amounts in bytes; `events` are counts since the cgroup was created.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MemoryView {
    /// `v1` or `v2`: which interface the figures come from; `null` when the cgroup has no
    /// directory in the memory hierarchy (v1 hierarchies are separate trees) or none is mounted.
    pub version: Option<CgroupVersion>,
    /// `true` with a memory limit, `false` without, `null` when unknown.
    pub limited: Option<bool>,
    /// memory.max (v1 memory.limit_in_bytes); `null` when unlimited or unknown.
    pub limit_bytes: Option<u64>,
    /// memory.high (v2); `null` when unlimited, unknown, or on v1.
    pub high_bytes: Option<u64>,
    /// memory.current (v1 memory.usage_in_bytes).
    pub usage_bytes: Option<u64>,
    /// inactive_file of memory.stat (v1 total_inactive_file).
    pub inactive_file_bytes: Option<u64>,
    /// usage − inactive_file: what kubelet and cAdvisor compare with the limit.
    pub working_set_bytes: Option<u64>,
    /// working set / limit, 0 to 1.
    pub working_set_ratio: Option<f64>,
    /// memory.peak (v1 memory.max_usage_in_bytes).
    pub peak_bytes: Option<u64>,
    /// Swap in use.
    pub swap_bytes: Option<u64>,
    pub events: MemoryEventsView,
    /// OOM kills counted during the interval (this cgroup's own counter, as the rule reads it).
    pub oom_kill_during_interval: Option<u64>,
    /// memory.events high rises during the interval (v2).
    pub high_events_during_interval: Option<u64>,
    /// v1 memory.oom_control under_oom: the cgroup is out of memory right now.
    pub under_oom: Option<bool>,
}

/// memory.events (v2, hierarchical: counts include descendants) or, on v1, memory.oom_control's
/// oom_kill; the other v1 fields are `null`. `oom_kill`, `oom_kill_local` and `high` are the latest
/// read (the second sample's, when there is one); `oom` and `max` are the first sample's.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MemoryEventsView {
    /// Times usage hit the limit and an allocation was about to fail.
    pub oom: Option<u64>,
    /// Processes killed by an OOM killer.
    pub oom_kill: Option<u64>,
    /// memory.events.local oom_kill: kills of this cgroup's own processes (v2, 5.2+).
    pub oom_kill_local: Option<u64>,
    /// Times usage was about to go over memory.max (reclaim then ran).
    pub max: Option<u64>,
    /// Times memory.high was exceeded (throttling and forced reclaim).
    pub high: Option<u64>,
}

/// CPU quota, usage and throttling. Times in seconds; `interval` figures cover the time between the
/// two samples and are `null` with one sample.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuView {
    /// `null` when the cgroup has no directory in the cpu hierarchy.
    pub version: Option<CgroupVersion>,
    /// `true` with a CFS quota, `false` without, `null` when unknown.
    pub limited: Option<bool>,
    /// Quota in CPUs (quota / period).
    pub quota_cores: Option<f64>,
    /// CPU time allowed per period.
    pub quota_seconds: Option<f64>,
    pub period_seconds: Option<f64>,
    /// CPU time used since the cgroup was created (v2 cpu.stat usage_usec, v1 cpuacct.usage).
    pub usage_seconds_total: Option<f64>,
    pub nr_periods_total: Option<u64>,
    pub nr_throttled_total: Option<u64>,
    pub throttled_seconds_total: Option<f64>,
    pub interval: CpuIntervalView,
}

/// CPU over the interval.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuIntervalView {
    /// CPUs used on average.
    pub usage_cores: Option<f64>,
    /// Usage / quota, 0 to 1.
    pub quota_used_ratio: Option<f64>,
    /// True when `quota_used_ratio` is a lower bound counted from throttled periods (v1 cpu cgroup
    /// with no cpuacct usage at the same path).
    pub quota_used_is_lower_bound: bool,
    /// Enforcement periods that had runnable tasks.
    pub periods: Option<u64>,
    pub throttled_periods: Option<u64>,
    /// throttled periods / periods, 0 to 1.
    pub throttled_ratio: Option<f64>,
    /// Time the cgroup's threads spent throttled.
    pub throttled_seconds: Option<f64>,
}

/// Tasks (threads) against pids.max.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PidsView {
    pub limited: Option<bool>,
    pub current: Option<u64>,
    /// `null` when unlimited or unknown.
    pub max: Option<u64>,
    pub peak: Option<u64>,
    /// pids.events max: forks refused at the limit since the cgroup was created.
    pub forks_refused: Option<u64>,
    pub forks_refused_during_interval: Option<u64>,
}

/// I/O since the cgroup was created, summed over devices: cgroup2 io.stat, or v1 blkio throttle
/// counts (hierarchical where the `_recursive` files exist). `version` is `null` when neither could be
/// read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IoView {
    pub version: Option<CgroupVersion>,
    pub read_bytes_total: Option<u64>,
    pub write_bytes_total: Option<u64>,
    pub reads_total: Option<u64>,
    pub writes_total: Option<u64>,
    pub devices: Vec<crate::parse::cgroup::IoStat>,
    /// What the figures leave out (v1: buffered writes are not charged to the cgroup), or why there
    /// are none (the cgroup does not exist in the blkio hierarchy).
    pub note: Option<String>,
}

/// One PSI file's avg10 figures, percent of wall time over the last 10 s.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PsiView {
    pub some_avg10: Option<f64>,
    pub full_avg10: Option<f64>,
}

/// cgroup2 pressure files (on hybrid hosts from the cgroup2 mount); `null` where absent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PressureView {
    pub cpu: Option<PsiView>,
    pub memory: Option<PsiView>,
    pub io: Option<PsiView>,
}

/// One cgroup of the report.
#[derive(Debug, Clone, Serialize)]
pub struct CgroupView {
    pub role: Role,
    /// Relative to the hierarchy root, as /proc/PID/cgroup and the kernel log print it.
    pub path: String,
    /// Where each controller's files were read (`memory`, `cpu`, `cpuacct`, `pids`, `unified`).
    pub dirs: std::collections::BTreeMap<&'static str, String>,
    pub pod_uid: Option<String>,
    pub container_id: Option<String>,
    /// A pod's namespace, from the kubelet's log tree (`/var/log/pods`); `null` without it.
    pub namespace: Option<String>,
    /// The pod's name, or the container's name in its pod, from the kubelet's log tree; `null`
    /// without it (a pause container has no log directory, so no name).
    pub name: Option<String>,
    /// A container's restart count: the highest N of its `/var/log/pods/…/<name>/N.log`; `null`
    /// without the tree or for a pod.
    pub restarts: Option<u32>,
    /// Seconds since the kernel log's newest OOM kill in this container (any of its instances the
    /// log tree links) or cgroup; `null` when the kernel log names none.
    pub last_oom_kill_age_s: Option<f64>,
    pub runtime: Option<Runtime>,
    /// The pod's sandbox ("pause") container: `true`/`false` when its processes say, `null` when
    /// unknown or not a container.
    pub is_pause: Option<bool>,
    pub memory: MemoryView,
    pub cpu: CpuView,
    pub pids: PidsView,
    pub io: IoView,
    pub pressure: PressureView,
    pub processes: ProcessList,
    /// The findings whose subject is this cgroup (its cgroup rules, and the process and kernel-event
    /// findings of subjects in it), worst first.
    pub findings: Vec<Finding>,
}

/// What could not be read or evaluated.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CgroupCoverage {
    /// Files that could not be read (absent on this kernel, permission denied, malformed), and why.
    pub unreadable: Vec<FileProblem>,
    /// cgroup rules whose facts are missing, and why.
    pub not_evaluated: Vec<NotEvaluated>,
    pub notes: Vec<String>,
}

/// The report of `osdoctor cgroup TARGET` (`--format json`).
///
/// ```text
/// {
///   "schema_version": 3,
///   "tool": {"name": "osdoctor", "version": "0.1.0"},
///   "root": "/",                       // or the --root directory
///   "cgroup_mode": "v1" | "v2" | "hybrid",
///   "started_at": RFC 3339, "sampled_at": RFC 3339 (the first sample; a snapshot's capture time),
///   "interval_s": 1.0,                 // 0 with one sample
///   "target": {input, kind, cgroup, pod_uid, container_id, pod, container, runtime, qos,
///              gone, last_seen},   // gone: no cgroup now, the report is the kernel log's events
///   "status": "ok" | "warning" | "critical" | "unknown",
///   "partial": false,                  // a read was abandoned at the deadline
///   "cgroups": [                       // the target; for a pod the pod cgroup, then each container;
///                                      // empty for a gone target
///     {"role": "pod" | "container" | "cgroup", "path", "dirs": {controller: directory},
///      "pod_uid", "container_id", "namespace", "name", "restarts", "last_oom_kill_age_s",
///      "runtime", "is_pause",
///      "memory": {version, limited, limit_bytes, high_bytes, usage_bytes, inactive_file_bytes,
///                 working_set_bytes, working_set_ratio, peak_bytes, swap_bytes,
///                 events: {oom, oom_kill, oom_kill_local, max, high},
///                 oom_kill_during_interval, high_events_during_interval, under_oom},
///      "cpu": {version, limited, quota_cores, quota_seconds, period_seconds, usage_seconds_total,
///              nr_periods_total, nr_throttled_total, throttled_seconds_total,
///              interval: {usage_cores, quota_used_ratio, quota_used_is_lower_bound, periods,
///                         throttled_periods, throttled_ratio, throttled_seconds}},
///      "pids": {limited, current, max, peak, forks_refused, forks_refused_during_interval},
///      "io": {version, read_bytes_total, write_bytes_total, reads_total, writes_total,
///             devices: [{major, minor, rbytes, wbytes, rios, wios, dbytes, dios}], note},
///      "pressure": {cpu|memory|io: {some_avg10, full_avg10} (percent) or null},
///      "processes": {total, shown: [{pid, comm, state, rss_bytes, threads, fds, fd_table}], vanished, not_read},
///      "findings": [finding, ...]}   // same shape as `osdoctor check`'s findings
///   ],
///   "findings": [...],                 // every finding, worst first
///   "coverage": {"unreadable": [{path, reason}], "not_evaluated": [{rule, reason}], "notes": [...]}
/// }
/// ```
///
/// Ratios are 0 to 1; amounts are bytes; times are seconds; a figure that could not be read is `null`.
#[derive(Debug, Clone, Serialize)]
pub struct CgroupReport {
    pub schema_version: u32,
    pub tool: Tool,
    pub root: String,
    pub cgroup_mode: Option<String>,
    pub started_at: String,
    pub sampled_at: Option<String>,
    pub interval_s: f64,
    pub target: TargetInfo,
    pub status: Status,
    pub partial: bool,
    pub cgroups: Vec<CgroupView>,
    pub findings: Vec<Finding>,
    pub coverage: CgroupCoverage,
}

impl CgroupReport {
    pub fn count(&self, severity: crate::rules::Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }
}
