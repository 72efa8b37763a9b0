//! `--format nagios`: the monitoring-plugin output of every command: one status line with
//! performance data, then one line per finding; the exit code is the verdict.
//!
//! ```text
//! OSDOCTOR CRITICAL - 1 problem, 2 findings: cpu.utilization CPUs 99.0% busy ... | critical=1 warning=1 info=0 problems=1 not_evaluated=3
//! CRITICAL cpu.runqueue host: 4.50 runnable tasks per CPU ...
//! ```
//!
//! The service name (`OSDOCTOR`, `OSDOCTOR CGROUP`), what precedes the headline and the performance
//! data after the counts come from the [`Model`].

use std::io::{self, Write};

use super::Status;
use super::model::Model;
use crate::rules::Severity;
use crate::rules::diagnose::Diagnosis;
use crate::rules::finding::Finding;

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

/// The headline of a model with diagnoses: the problems, the findings, and the worst story's cause.
fn problems_headline(diagnoses: &[Diagnosis], status: Status, unknown: &str) -> String {
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    match diagnoses.first() {
        Some(d) => {
            let findings: usize = diagnoses.iter().map(|d| 1 + d.effects.len()).sum();
            format!(
                "{}, {}: {} {}",
                plural(diagnoses.len(), "problem"),
                plural(findings, "finding"),
                d.cause.rule,
                d.summary
            )
        }
        None if status == Status::Unknown => unknown.to_string(),
        None => "no findings".to_string(),
    }
}

pub fn write<M: Model>(m: &M, out: &mut dyn Write) -> io::Result<()> {
    let findings = m.findings();
    let (crit, warn, info) = counts(findings);
    let headline = match m.diagnoses() {
        Some(d) => problems_headline(d, m.status(), m.unknown_headline()),
        None => headline(findings, m.status(), m.unknown_headline()),
    };
    let problems = m
        .diagnoses()
        .map(|d| format!(" problems={}", d.len()))
        .unwrap_or_default();
    writeln!(
        out,
        "{} {} - {}{headline}{} | critical={crit} warning={warn} info={info}{problems}{}",
        m.nagios_service(),
        m.status().label(),
        m.nagios_about(),
        if m.partial() {
            format!(" (partial: {})", m.partial_reason())
        } else {
            String::new()
        },
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
