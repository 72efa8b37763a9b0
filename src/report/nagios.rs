//! `--format nagios`: the monitoring-plugin output: one status line with performance data, then one
//! line per finding.
//!
//! ```text
//! OSDOCTOR CRITICAL - 1 critical, 1 warning: cpu.runqueue 4.50 runnable tasks per CPU | critical=1 warning=1 info=0 not_evaluated=3
//! CRITICAL cpu.runqueue host: 4.50 runnable tasks per CPU ...
//! ```

use std::io::{self, Write};

use super::{Render, Report};
use crate::rules::Severity;

pub struct Nagios;

impl Render for Nagios {
    fn render(&self, r: &Report, out: &mut dyn Write) -> io::Result<()> {
        let (crit, warn, info) = (
            r.count(Severity::Critical),
            r.count(Severity::Warning),
            r.count(Severity::Info),
        );
        let headline = match r.findings.first() {
            Some(f) => format!("{crit} critical, {warn} warning: {} {}", f.rule, f.summary),
            None if r.status == super::Status::Unknown => {
                "the check could not read enough to judge".to_string()
            }
            None => "no findings".to_string(),
        };
        let partial = if r.partial {
            " (partial: a read timed out)"
        } else {
            ""
        };
        writeln!(
            out,
            "OSDOCTOR {} - {headline}{partial} | critical={crit} warning={warn} info={info} not_evaluated={}",
            r.status.label(),
            r.coverage.not_evaluated.len()
        )?;
        for f in &r.findings {
            writeln!(
                out,
                "{} {} {}: {}",
                f.severity.name().to_uppercase(),
                f.rule,
                f.subject.label(),
                f.summary
            )?;
        }
        Ok(())
    }
}
