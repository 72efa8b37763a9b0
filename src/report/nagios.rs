//! `--format nagios`: the monitoring-plugin output of every command: one status line with
//! performance data, then one line per finding; the exit code is the verdict.
//!
//! ```text
//! OSDOCTOR CRITICAL - 1 critical, 1 warning: cpu.runqueue 4.50 runnable tasks per CPU | critical=1 warning=1 info=0 not_evaluated=3
//! CRITICAL cpu.runqueue host: 4.50 runnable tasks per CPU ...
//! ```
//!
//! The service name (`OSDOCTOR`, `OSDOCTOR CGROUP`), what precedes the headline and the performance
//! data after the counts come from the [`Model`].

use std::io::{self, Write};

use super::Status;
use super::model::Model;
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

pub fn write<M: Model>(m: &M, out: &mut dyn Write) -> io::Result<()> {
    let findings = m.findings();
    let (crit, warn, info) = counts(findings);
    let headline = headline(findings, m.status(), m.unknown_headline());
    writeln!(
        out,
        "{} {} - {}{headline}{} | critical={crit} warning={warn} info={info}{}",
        m.nagios_service(),
        m.status().label(),
        m.nagios_about(),
        if m.partial() { PARTIAL } else { "" },
        m.perfdata()
    )?;
    for f in findings {
        writeln!(
            out,
            "{} {} {}: {}",
            f.severity.name().to_uppercase(),
            f.rule,
            m.who(f),
            f.summary
        )?;
    }
    Ok(())
}
