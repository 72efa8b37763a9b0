//! The [`KernelLogReport`] as a [`Model`]: its table (a header, the events newest first, the
//! findings), its Prometheus series (events by kind, records read, messages lost) and its Nagios
//! performance data. JSON is the report struct as documented in `kernel_log.rs`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::Utc;

use super::Status;
use super::kernel_log::KernelLogReport;
use super::model::Model;
use super::prometheus::{esc, gauge_header};
use super::style::{self, Style};
use crate::rules::finding::{Finding, NotEvaluated};

impl Model for KernelLogReport {
    fn status(&self) -> Status {
        self.status
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn not_evaluated(&self) -> &[NotEvaluated] {
        &self.not_evaluated
    }
    fn partial(&self) -> bool {
        self.partial
    }
    fn partial_reason(&self) -> &'static str {
        style::PARTIAL_UNRECOGNISED_REASON
    }
    /// The table is plain text whatever `style` says.
    fn table(&self, _style: Style, out: &mut dyn Write) -> io::Result<()> {
        table(self, out)
    }
    fn perfdata(&self) -> String {
        format!(
            " not_evaluated={} events={}",
            self.not_evaluated.len(),
            self.events.iter().filter(|e| e.kind_name() != "lost").count()
        )
    }
    fn prometheus_series(&self, out: &mut dyn Write) -> io::Result<()> {
        prometheus(self, out)
    }
}

/// Events in the window by kind, the records read and the messages lost.
fn prometheus(r: &KernelLogReport, out: &mut dyn Write) -> io::Result<()> {
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for e in r.events.iter().filter(|e| e.kind_name() != "lost") {
        *kinds.entry(e.kind_name()).or_default() += 1;
    }
    gauge_header(
        out,
        "osdoctor_kernel_log_events",
        "Kernel events in the window, by kind.",
    )?;
    for (kind, n) in kinds {
        writeln!(out, "osdoctor_kernel_log_events{{kind=\"{}\"}} {n}", esc(kind))?;
    }
    gauge_header(out, "osdoctor_kernel_log_records", "Kernel log records read.")?;
    writeln!(out, "osdoctor_kernel_log_records {}", r.records)?;
    gauge_header(
        out,
        "osdoctor_kernel_log_lost_messages",
        "Kernel messages dropped or suppressed before they were read: event counts are lower bounds.",
    )?;
    writeln!(out, "osdoctor_kernel_log_lost_messages {}", r.lost_messages)?;
    gauge_header(
        out,
        "osdoctor_kernel_log_unrecognised_lines",
        "Kernel log lines naming an event that no parser understood: the report is partial.",
    )?;
    writeln!(
        out,
        "osdoctor_kernel_log_unrecognised_lines {}",
        r.unrecognised.count
    )
}

/// The table: a header, the events newest first (one line each), the findings.
fn table(r: &KernelLogReport, out: &mut dyn Write) -> io::Result<()> {
    let window = match (&r.window.start, r.window.since.as_str()) {
        (Some(start), since) => format!("since {start} ({since})"),
        (None, _) => "all events".to_string(),
    };
    writeln!(
        out,
        "osdoctor kernel-log: {}  {} event{} in {} records of {}, {window}",
        r.status.label(),
        r.events.len(),
        if r.events.len() == 1 { "" } else { "s" },
        r.records,
        r.source
    )?;
    if r.lost_messages > 0 {
        writeln!(
            out,
            "note: {} kernel messages were dropped or suppressed: counts are lower bounds",
            r.lost_messages
        )?;
    }
    for note in &r.notes {
        writeln!(out, "note: {note}")?;
    }
    for example in r.unrecognised.examples.iter().skip(1) {
        writeln!(out, "      also: {example:?}")?;
    }
    writeln!(out)?;
    for e in r.events.iter().filter(|e| e.kind_name() != "lost") {
        let time = e
            .time
            .map(|t| t.with_timezone(&Utc).format("%Y-%m-%d %H:%M:%SZ").to_string())
            .or_else(|| e.mono_usec.map(|u| format!("[{:>12.6}]", u as f64 / 1e6)))
            .unwrap_or_else(|| "(no time)".to_string());
        writeln!(out, "{time:<21} {e}")?;
    }
    if !r.findings.is_empty() {
        writeln!(out)?;
        for f in &r.findings {
            writeln!(
                out,
                "{}  {}  {}: {}",
                style::severity_tag(f.severity),
                f.rule,
                f.subject.label(),
                f.summary
            )?;
        }
    }
    Ok(())
}
