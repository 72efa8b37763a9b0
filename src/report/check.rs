//! `check`'s [`Report`] as a [`Model`]: its table ([`super::table`]), the rules evaluated, the
//! files unreadable, the findings ignored and the container osdoctor runs in (`osdoctor_container_info`,
//! `osdoctor_container_limit`) as Prometheus gauges, the rules not evaluated as Nagios performance
//! data.

use std::io::{self, Write};

use super::model::Model;
use super::style::Style;
use super::table::Table;
use super::{Report, Status};
use crate::rules::diagnose::Diagnosis;
use crate::rules::finding::{Finding, NotEvaluated};

impl Model for Report {
    fn status(&self) -> Status {
        self.status
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn diagnoses(&self) -> Option<&[Diagnosis]> {
        Some(&self.diagnoses)
    }
    fn partial(&self) -> bool {
        self.partial
    }
    fn partial_reason(&self) -> &'static str {
        let timed_out = self
            .coverage
            .unreadable
            .iter()
            .any(|p| p.kind == crate::coverage::ProblemKind::Timeout);
        if !timed_out && self.coverage.kernel_log_unrecognised.count > 0 {
            super::style::PARTIAL_UNRECOGNISED_REASON
        } else {
            super::style::PARTIAL_TIMEOUT_REASON
        }
    }
    fn not_evaluated(&self) -> &[NotEvaluated] {
        &self.coverage.not_evaluated
    }
    fn table(&self, style: Style, out: &mut dyn Write) -> io::Result<()> {
        Table { style }.render(self, out)
    }
    fn unknown_headline(&self) -> &'static str {
        "the check could not read enough to judge"
    }
    fn perfdata(&self) -> String {
        format!(" not_evaluated={}", self.coverage.not_evaluated.len())
    }
    fn rules_evaluated(&self) -> Option<usize> {
        Some(self.coverage.rules_evaluated)
    }
    fn unreadable_files(&self) -> Option<usize> {
        Some(self.coverage.unreadable.len())
    }
    fn prometheus_series(&self, out: &mut dyn Write) -> io::Result<()> {
        super::prometheus::gauge_header(
            out,
            "osdoctor_findings_ignored",
            "Findings left out by --ignore (not in osdoctor_status; see the JSON coverage).",
        )?;
        writeln!(out, "osdoctor_findings_ignored {}", self.coverage.ignored.len())?;
        if let Some(c) = &self.host.container {
            container_series(c, out)?;
        }
        Ok(())
    }
}

/// Inside a container: which one (an info series, value 1) and what its limits allow, so a fleet of
/// sidecars or `kubectl exec` runs can be told apart and compared with its usage.
fn container_series(c: &super::ContainerInfo, out: &mut dyn Write) -> io::Result<()> {
    use super::prometheus::{esc, gauge_header};
    gauge_header(
        out,
        "osdoctor_container_info",
        "1 when osdoctor runs inside a container: its runtime, ID, name and pod UID where known.",
    )?;
    let mut labels = Vec::new();
    for (name, value) in [
        ("runtime", &c.runtime),
        ("id", &c.id),
        ("name", &c.name),
        ("pod_uid", &c.pod_uid),
        ("cgroup", &c.cgroup),
    ] {
        if let Some(v) = value {
            labels.push(format!("{name}=\"{}\"", esc(v)));
        }
    }
    writeln!(out, "osdoctor_container_info{{{}}} 1", labels.join(","))?;
    let limits = [
        ("memory_bytes", c.memory_limit_bytes.map(|m| m as f64)),
        ("cpus_quota", c.cpu_limit),
        ("cpuset_cpus", c.cpus.map(f64::from)),
        ("pids", c.pids_limit.map(|p| p as f64)),
    ];
    if limits.iter().any(|(_, v)| v.is_some()) {
        gauge_header(
            out,
            "osdoctor_container_limit",
            "What the container's cgroup allows (the tightest of its cgroup and the ancestors it sees); absent when unlimited.",
        )?;
        for (resource, value) in limits {
            if let Some(v) = value {
                writeln!(out, "osdoctor_container_limit{{resource=\"{resource}\"}} {v}")?;
            }
        }
    }
    Ok(())
}
