//! `--format nagios`: the monitoring-plugin output: one status line with performance data, then one
//! line per finding.
//!
//! ```text
//! OSDOCTOR CRITICAL - 1 critical, 1 warning: cpu.runqueue 4.50 runnable tasks per CPU | critical=1 warning=1 info=0 not_evaluated=3
//! CRITICAL cpu.runqueue host: 4.50 runnable tasks per CPU ...
//! ```
//!
//! The helpers below are shared with `osdoctor cgroup --format nagios` ([`crate::inspect::render`]).

use std::io::{self, Write};

use super::{Render, Report, Status};
use crate::rules::Severity;
use crate::rules::finding::Finding;

/// Appended to the status line of a report built from what was read by the deadline.
pub const PARTIAL: &str = " (partial: a read timed out)";

/// Findings of each severity: (critical, warning, info).
pub fn counts(findings: &[Finding]) -> (usize, usize, usize) {
    let n = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    (n(Severity::Critical), n(Severity::Warning), n(Severity::Info))
}

/// The status line's text after `STATUS - `: the counts and the worst finding (findings come worst
/// first); `unknown` when there is no finding and the status is UNKNOWN.
pub fn headline(findings: &[Finding], status: Status, unknown: &str) -> String {
    let (crit, warn, _) = counts(findings);
    match findings.first() {
        Some(f) => format!("{crit} critical, {warn} warning: {} {}", f.rule, f.summary),
        None if status == Status::Unknown => unknown.to_string(),
        None => "no findings".to_string(),
    }
}

/// One line per finding: `CRITICAL rule who: summary`.
pub fn finding_line(out: &mut dyn Write, f: &Finding, who: &str) -> io::Result<()> {
    writeln!(
        out,
        "{} {} {who}: {}",
        f.severity.name().to_uppercase(),
        f.rule,
        f.summary
    )
}

pub struct Nagios;

impl Render for Nagios {
    fn render(&self, r: &Report, out: &mut dyn Write) -> io::Result<()> {
        let (crit, warn, info) = counts(&r.findings);
        let headline = headline(&r.findings, r.status, "the check could not read enough to judge");
        let partial = if r.partial { PARTIAL } else { "" };
        writeln!(
            out,
            "OSDOCTOR {} - {headline}{partial} | critical={crit} warning={warn} info={info} not_evaluated={}",
            r.status.label(),
            r.coverage.not_evaluated.len()
        )?;
        for f in &r.findings {
            finding_line(out, f, &f.subject.label())?;
        }
        Ok(())
    }
}
