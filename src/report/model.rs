//! The one renderer trait: what every report model (`check`'s `Report`, `cgroup`'s `CgroupReport`,
//! `kernel-log`'s `KernelLogReport`) shows the renderers. The JSON is the model's own serde shape;
//! the table is the model's own; Prometheus and Nagios are written once (prometheus.rs, nagios.rs)
//! from the shared parts below plus what the model adds.

use std::io::{self, Write};

use serde::Serialize;

use super::Status;
use super::style::Style;
use crate::rules::diagnose::Diagnosis;
use crate::rules::finding::{Finding, NotEvaluated};

/// A report any format can render.
pub trait Model: Serialize {
    /// The verdict (and the exit code).
    fn status(&self) -> Status;
    /// Every finding, worst first.
    fn findings(&self) -> &[Finding];
    /// The findings grouped into causal stories, when the model has them (`check`).
    fn diagnoses(&self) -> Option<&[Diagnosis]> {
        None
    }
    /// True when a read was abandoned at the deadline, or kernel log lines naming events were not
    /// understood.
    fn partial(&self) -> bool {
        false
    }
    /// Why the report is partial, for Nagios's status line (`a read timed out`).
    fn partial_reason(&self) -> &'static str {
        super::style::PARTIAL_TIMEOUT_REASON
    }
    /// Rules whose facts were missing, and why.
    fn not_evaluated(&self) -> &[NotEvaluated];
    /// How a finding's subject is named in one line (`host`, `container 4f1a9c3e8b2d`, ...).
    fn who(&self, f: &Finding) -> String {
        f.subject.display_label()
    }
    /// `--format table`: the model's own screen.
    fn table(&self, style: Style, out: &mut dyn Write) -> io::Result<()>;

    /// Nagios: the service name that starts the status line.
    fn nagios_service(&self) -> &'static str {
        "OSDOCTOR"
    }
    /// Nagios: what the status line names before the headline (`TARGET: `), if anything.
    fn nagios_about(&self) -> String {
        String::new()
    }
    /// Nagios: the headline of an UNKNOWN verdict without findings.
    fn unknown_headline(&self) -> &'static str {
        "could not read enough to judge"
    }
    /// Nagios: performance data after `critical=N warning=N info=N`, each item led by a space.
    fn perfdata(&self) -> String {
        String::new()
    }

    /// Prometheus: `osdoctor_rules_evaluated`, when the model counts them.
    fn rules_evaluated(&self) -> Option<usize> {
        None
    }
    /// Prometheus: `osdoctor_unreadable_files`, when the model reads files.
    fn unreadable_files(&self) -> Option<usize> {
        None
    }
    /// Prometheus: the model's own series, after the shared ones (each with its HELP and TYPE).
    fn prometheus_series(&self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}
