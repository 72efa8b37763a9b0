//! The reports and their renderers. Each command has its report model: `check`'s [`Report`] (the
//! JSON contract of DESIGN.md §4), `cgroup`'s [`cgroup::CgroupReport`], `kernel-log`'s
//! [`kernel_log::KernelLogReport`]. Each implements [`model::Model`], and [`render::render`] writes
//! any of them in any [`Format`]: JSON is the model's serde shape, the table its own screen, and
//! Prometheus and Nagios are written once for all.
//!
//! Models and renderers only: building a report (reading, facts, rules) is the pipeline's (src/pipeline/).

pub mod cgroup;
pub mod cgroup_render;
pub mod check;
pub mod json;
pub mod kernel_log;
pub mod kernel_log_render;
pub mod model;
pub mod nagios;
pub mod prometheus;
pub mod render;
pub mod schema;
pub mod style;
pub mod table;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::coverage::Problem;
use crate::rules::diagnose::Diagnosis;
use crate::rules::finding::{Finding, NotEvaluated};
use crate::rules::ignore::Ignored;
use crate::rules::{Rule, Severity, UseKind};

/// Bumped on any change to the JSON report's shape.
/// 7: `coverage.kernel_log_unrecognised`; `partial` also for kernel log lines not understood;
/// `host.source` (live, tree, snapshot, sosreport).
/// 8: `host.container` (null outside a container): runtime, id, name, the signs seen, the cgroup
/// judged as its own, and its limits (`memory_limit_bytes`, `cpu_limit`, `cpus`, `pids_limit`).
/// 9: `host.container.pod_uid`; a host rule judged on the container osdoctor runs in (its CPU and
/// memory against its limits) names the container's cgroup in `subject.cgroup`.
pub const SCHEMA_VERSION: u32 = 9;

/// The overall verdict; its exit code follows the monitoring-plugin convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "osdoctor",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct HostInfo {
    pub hostname: Option<String>,
    pub kernel: Option<String>,
    pub cpus: Option<u32>,
    pub memory_bytes: Option<u64>,
    /// "v1" | "v2" | "hybrid", or null when it could not be told.
    pub cgroup_mode: Option<String>,
    /// The root read: "/" or the --root directory.
    pub root: String,
    /// What was read: "live" (this host), "tree" (a root-like directory, such as a host's / at
    /// /host), "snapshot" (an osdoctor snapshot) or "sosreport" (a sosreport directory or archive).
    pub source: String,
    /// Where osdoctor runs inside a container: which, and what its cgroup allows; null outside one.
    pub container: Option<ContainerInfo>,
}

/// The container osdoctor runs in (see `collect/container`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContainerInfo {
    /// "kubernetes", "podman", "docker", the `container=` of osdoctor's environment, or null.
    pub runtime: Option<String>,
    /// The container ID where known (podman's .containerenv, the cgroup path, the runtime's mounts).
    pub id: Option<String>,
    pub name: Option<String>,
    /// A Kubernetes pod's UID, from the kubelet's pod directory its files are mounted from.
    pub pod_uid: Option<String>,
    /// Why osdoctor thinks it is in a container.
    pub signs: Vec<String>,
    /// The cgroup judged as the container's own: `/` in a private cgroup namespace; null when none is.
    pub cgroup: Option<String>,
    /// The tightest memory limit of its cgroup and the ancestors it sees, bytes; null when unlimited.
    pub memory_limit_bytes: Option<u64>,
    /// CPUs from the CFS quota (cpu.max, v1 cfs_quota_us / cfs_period_us); null when unlimited.
    pub cpu_limit: Option<f64>,
    /// CPUs in its effective cpuset.
    pub cpus: Option<u32>,
    pub pids_limit: Option<u64>,
}

impl ContainerInfo {
    pub fn of(c: &crate::collect::container::ContainerSample) -> Option<ContainerInfo> {
        c.inside().then(|| ContainerInfo {
            runtime: c.runtime.clone(),
            id: c.id.clone(),
            name: c.name.clone(),
            pod_uid: c.pod_uid.clone(),
            signs: c.signs.clone(),
            cgroup: c.own_judged().map(str::to_string),
            memory_limit_bytes: c.limits.memory_bytes,
            cpu_limit: c.limits.cpu_quota,
            cpus: c.limits.cpus,
            pids_limit: c.limits.pids,
        })
    }

    /// The header's words: `container podman 1f661c65313f` and `limits 0.5 CPU, 96 MiB`; the cpuset
    /// when it holds fewer CPUs than the host's `host_cpus`.
    pub fn header(&self, host_cpus: Option<u32>) -> Vec<String> {
        let mut who = vec!["container".to_string()];
        who.push(
            self.runtime
                .clone()
                .unwrap_or_else(|| "(runtime unknown)".to_string()),
        );
        if let Some(n) = &self.name {
            who.push(n.clone());
        } else if let Some(id) = &self.id {
            who.push(id.chars().take(12).collect());
        }
        let mut limits = Vec::new();
        if let Some(c) = self.cpu_limit {
            // 0.5, 2, 1.25: the quota as written, never "0.50".
            limits.push(format!("{} CPU", (c * 100.0).round() / 100.0));
        }
        if let Some(m) = self.memory_limit_bytes {
            limits.push(crate::units::format_bytes(m as f64).replace(".0 ", " "));
        }
        if let (Some(set), Some(all)) = (self.cpus, host_cpus)
            && set < all
        {
            limits.push(format!("cpuset of {set} CPUs"));
        }
        if let Some(p) = self.pids_limit {
            limits.push(format!("{p} pids"));
        }
        let mut out = vec![who.join(" ")];
        out.push(if limits.is_empty() {
            "no limits".to_string()
        } else {
            format!("limits {}", limits.join(", "))
        });
        out
    }
}

/// One cell of the USE grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// The host does not have this resource (no disk that did I/O): the reason is in coverage.
    Absent,
    /// Rules exist for this cell but none could be evaluated.
    NotEvaluated,
    /// Evaluated, nothing found.
    Ok,
    Info,
    Warning,
    Critical,
}

impl Cell {
    fn from_severity(s: Severity) -> Cell {
        match s {
            Severity::Info => Cell::Info,
            Severity::Warning => Cell::Warning,
            Severity::Critical => Cell::Critical,
        }
    }
}

/// resource -> USE kind -> cell; a kind no rule covers is absent.
pub type UseMatrix = BTreeMap<String, BTreeMap<&'static str, Cell>>;

#[derive(Debug, Clone, Default, Serialize)]
pub struct CoverageReport {
    /// Files read successfully.
    pub read: Vec<String>,
    /// Files that could not be read, with the kind of failure and the reason.
    pub unreadable: Vec<Problem>,
    pub rules_evaluated: usize,
    /// Rules whose facts are missing on this host, and why.
    pub not_evaluated: Vec<NotEvaluated>,
    pub notes: Vec<String>,
    /// Findings left out by `check --ignore`, with the pattern that matched each.
    pub ignored: Vec<Ignored>,
    /// Kernel log lines that name an event no parser understood (count and the first few); any
    /// make the report partial, without changing its status.
    pub kernel_log_unrecognised: crate::parse::kernel_log::Unrecognised,
}

/// A finding of the previous `--state` run that this run does not have (listed once: the next run
/// does not list it again), for a consumer to resolve its alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cleared {
    pub rule: String,
    /// The subject's key in the state file (`process:PID:COMM`, `cgroup:/path`, `kernel_event:...`).
    pub subject: String,
    /// The subject as the table named it.
    pub label: String,
    /// Its severity in the run that last reported it.
    pub severity: Severity,
    /// RFC 3339, when known (a state file written before the lifecycle may not say).
    pub first_seen: Option<String>,
}

/// The whole report; serialises to the JSON contract of DESIGN.md §4.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub host: HostInfo,
    /// RFC 3339.
    pub started_at: String,
    /// Seconds between the two samples; 0 for a single sample.
    pub interval_s: f64,
    pub status: Status,
    /// True when a read was abandoned at the deadline (the report holds what was read by then), or
    /// kernel log lines naming events were not understood (`coverage.kernel_log_unrecognised`).
    pub partial: bool,
    pub findings: Vec<Finding>,
    /// The findings grouped into causal stories, worst first; every finding is in exactly one.
    pub diagnoses: Vec<Diagnosis>,
    /// With `--state`: the previous run's findings that are gone (empty without it, and in partial
    /// and `--pid` runs).
    pub cleared: Vec<Cleared>,
    pub use_matrix: UseMatrix,
    pub coverage: CoverageReport,
}

impl Report {
    /// The status: critical findings win; then a report that cannot be trusted (partial, malformed
    /// files, nothing read) is UNKNOWN; then warnings.
    pub fn compute_status(findings: &[Finding], untrustworthy: bool) -> Status {
        let worst = findings.iter().map(|f| f.severity).max();
        match worst {
            Some(Severity::Critical) => Status::Critical,
            _ if untrustworthy => Status::Unknown,
            Some(Severity::Warning) => Status::Warning,
            _ => Status::Ok,
        }
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    /// With `--state`, how many findings are new (`None` when every finding is: no earlier run to
    /// compare with, or nothing seen before).
    pub fn new_count(&self) -> Option<usize> {
        let seen_before = self.findings.iter().filter(|f| f.new == Some(false)).count();
        (seen_before > 0).then(|| self.findings.len() - seen_before)
    }
}

/// Build the USE grid from the rules that exist, those evaluated, those not (a resource the host
/// lacks is "absent") and the findings.
pub fn use_matrix(
    rules: &[Rule],
    evaluated: &[String],
    not_evaluated: &[NotEvaluated],
    findings: &[Finding],
) -> UseMatrix {
    let mut m = UseMatrix::new();
    for r in rules {
        let absent = not_evaluated.iter().any(|n| n.absent && n.rule == r.id);
        let cell = if evaluated.contains(&r.id) {
            Cell::Ok
        } else if absent {
            Cell::Absent
        } else {
            Cell::NotEvaluated
        };
        let slot = m
            .entry(r.resource.clone())
            .or_default()
            .entry(r.use_kind.name())
            .or_insert(cell);
        *slot = (*slot).max(cell);
    }
    for f in findings {
        let slot = m
            .entry(f.resource.clone())
            .or_default()
            .entry(f.use_kind.name())
            .or_insert(Cell::Ok);
        *slot = (*slot).max(Cell::from_severity(f.severity));
    }
    m
}

/// The USE kinds shown as grid columns.
pub const USE_COLUMNS: [UseKind; 3] = [UseKind::Utilization, UseKind::Saturation, UseKind::Errors];

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One screen for a human: verdict, findings worst first, USE grid, what was not checked.
    Table,
    /// The report contract (`osdoctor schema` prints its JSON Schema).
    Json,
    /// Prometheus text for node_exporter's textfile collector.
    Prometheus,
    /// One monitoring-plugin status line with performance data, then one line per finding.
    Nagios,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_order() {
        assert_eq!(Report::compute_status(&[], false), Status::Ok);
        assert_eq!(Report::compute_status(&[], true), Status::Unknown);
        assert_eq!(Status::Unknown.exit_code(), 3);
    }
}

#[cfg(test)]
mod container_tests {
    use super::ContainerInfo;

    #[test]
    fn the_header_names_the_container_and_its_limits() {
        let c = ContainerInfo {
            runtime: Some("podman".into()),
            id: Some("1f661c65313f6a1b5e0a3a5de4ed0b1f7a5c7d6f0f3b8f1b9c2d3e4f5a6b7c8d".into()),
            memory_limit_bytes: Some(96 << 20),
            cpu_limit: Some(0.5),
            cpus: Some(2),
            ..ContainerInfo::default()
        };
        assert_eq!(
            c.header(Some(2)).join(" · "),
            "container podman 1f661c65313f · limits 0.5 CPU, 96 MiB"
        );
        assert_eq!(c.header(Some(8))[1], "limits 0.5 CPU, 96 MiB, cpuset of 2 CPUs");
        let bare = ContainerInfo::default();
        assert_eq!(
            bare.header(None).join(" · "),
            "container (runtime unknown) · no limits"
        );
    }
}
