//! `check`'s [`Report`] as a [`Model`]: its table ([`super::table`]), the rules evaluated and the
//! files unreadable and the findings ignored as Prometheus gauges, the rules not evaluated as Nagios performance data.

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
        writeln!(out, "osdoctor_findings_ignored {}", self.coverage.ignored.len())
    }
}
