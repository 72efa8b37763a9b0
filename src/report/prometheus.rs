//! `--format prometheus`: text exposition format for node_exporter's textfile collector.
//!
//! ```text
//! osdoctor_status 2                      # 0 ok, 1 warning, 2 critical, 3 unknown
//! osdoctor_findings{severity="critical"} 1
//! osdoctor_finding{rule="cpu.runqueue",severity="critical",resource="cpu",use="saturation",subject="host"} 4.5
//! osdoctor_rule_evaluated{rule="mem.swap_used"} 0
//! osdoctor_partial 0
//! osdoctor_unreadable_files 1
//! ```

use std::io::{self, Write};

use super::{Render, Report};
use crate::facts::SUBJECT_FIELDS;
use crate::rules::Severity;

pub struct Prometheus;

/// Escape a label value: backslash, double quote and newline (also used by `osdoctor cgroup`).
pub fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Render for Prometheus {
    fn render(&self, r: &Report, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "# HELP osdoctor_status Overall verdict: 0 ok, 1 warning, 2 critical, 3 unknown."
        )?;
        writeln!(out, "# TYPE osdoctor_status gauge")?;
        writeln!(out, "osdoctor_status {}", r.status.exit_code())?;
        writeln!(out, "# HELP osdoctor_findings Findings by severity.")?;
        writeln!(out, "# TYPE osdoctor_findings gauge")?;
        for s in [Severity::Critical, Severity::Warning, Severity::Info] {
            writeln!(
                out,
                "osdoctor_findings{{severity=\"{}\"}} {}",
                s.name(),
                r.count(s)
            )?;
        }
        writeln!(
            out,
            "# HELP osdoctor_finding One series per finding; the value is the rule's metric, or 1."
        )?;
        writeln!(out, "# TYPE osdoctor_finding gauge")?;
        for f in &r.findings {
            let mut labels = format!(
                "rule=\"{}\",severity=\"{}\",resource=\"{}\",use=\"{}\",subject=\"{}\"",
                esc(&f.rule),
                f.severity.name(),
                esc(&f.resource),
                f.use_kind.name(),
                f.subject.kind
            );
            for k in SUBJECT_FIELDS {
                if let Some(v) = f.subject.field(k) {
                    labels.push_str(&format!(",{k}=\"{}\"", esc(&v)));
                }
            }
            writeln!(out, "osdoctor_finding{{{labels}}} {}", f.value.unwrap_or(1.0))?;
        }
        writeln!(
            out,
            "# HELP osdoctor_rule_evaluated 1 when the rule was evaluated, 0 when its data was missing."
        )?;
        writeln!(out, "# TYPE osdoctor_rule_evaluated gauge")?;
        for n in &r.coverage.not_evaluated {
            writeln!(out, "osdoctor_rule_evaluated{{rule=\"{}\"}} 0", esc(&n.rule))?;
        }
        writeln!(out, "# HELP osdoctor_rules_evaluated Number of rules evaluated.")?;
        writeln!(out, "# TYPE osdoctor_rules_evaluated gauge")?;
        writeln!(out, "osdoctor_rules_evaluated {}", r.coverage.rules_evaluated)?;
        writeln!(
            out,
            "# HELP osdoctor_partial 1 when a read was abandoned at the deadline."
        )?;
        writeln!(out, "# TYPE osdoctor_partial gauge")?;
        writeln!(out, "osdoctor_partial {}", u8::from(r.partial))?;
        writeln!(
            out,
            "# HELP osdoctor_unreadable_files Files that could not be read (see the JSON coverage)."
        )?;
        writeln!(out, "# TYPE osdoctor_unreadable_files gauge")?;
        writeln!(out, "osdoctor_unreadable_files {}", r.coverage.unreadable.len())?;
        Ok(())
    }
}
