//! `--format prometheus`: text exposition format for node_exporter's textfile collector, the same
//! series for every command, then the model's own:
//!
//! ```text
//! osdoctor_status 2                      # 0 ok, 1 warning, 2 critical, 3 unknown
//! osdoctor_findings{severity="critical"} 1
//! osdoctor_problems{severity="critical"} 1  # when the model groups findings into diagnoses (check)
//! osdoctor_finding{rule="cpu.runqueue",severity="critical",resource="cpu",use="saturation",subject="host"} 4.5
//! osdoctor_rule_evaluated{rule="mem.swap_used"} 0
//! osdoctor_rules_evaluated 41            # when the model counts them (check)
//! osdoctor_partial 0
//! osdoctor_unreadable_files 1            # when the model reads files (check, cgroup)
//! ...                                    # the model's series (osdoctor_cgroup_*, osdoctor_kernel_log_*)
//! ```
//!
//! Every series is a gauge with HELP and TYPE, so `promtool check metrics` finds nothing to say.
//!
//! `check --state`: a finding seen before that the lifecycle made info (a kernel event already
//! reported, a counter total that did not rise) is still exported, at `severity="info"`, so that a
//! dashboard shows it while it lasts; alerts key on the severity. `new` is not a label: it would
//! start a new series the run it turns false.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::model::Model;
use crate::facts::SUBJECT_FIELDS;
use crate::rules::Severity;

/// Escape a label value: backslash, double quote and newline.
pub fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `# HELP NAME HELP` and `# TYPE NAME gauge`.
pub fn gauge_header(out: &mut dyn Write, name: &str, help: &str) -> io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} gauge")
}

pub fn write<M: Model>(m: &M, out: &mut dyn Write) -> io::Result<()> {
    gauge_header(
        out,
        "osdoctor_status",
        "Overall verdict: 0 ok, 1 warning, 2 critical, 3 unknown.",
    )?;
    writeln!(out, "osdoctor_status {}", m.status().exit_code())?;
    gauge_header(out, "osdoctor_findings", "Findings by severity.")?;
    let findings = m.findings();
    for s in [Severity::Critical, Severity::Warning, Severity::Info] {
        writeln!(
            out,
            "osdoctor_findings{{severity=\"{}\"}} {}",
            s.name(),
            findings.iter().filter(|f| f.severity == s).count()
        )?;
    }
    if let Some(diagnoses) = m.diagnoses() {
        gauge_header(
            out,
            "osdoctor_problems",
            "Problems (diagnoses: a cause and the findings it explains) by severity.",
        )?;
        for s in [Severity::Critical, Severity::Warning, Severity::Info] {
            writeln!(
                out,
                "osdoctor_problems{{severity=\"{}\"}} {}",
                s.name(),
                diagnoses.iter().filter(|d| d.severity == s).count()
            )?;
        }
    }
    gauge_header(
        out,
        "osdoctor_finding",
        "One series per finding; the value is the rule's metric, or 1.",
    )?;
    // Two findings may name the same subject (two kinds of oops on the host): a repeated label set
    // gets `occurrence="N"`, since a scrape refuses a file that holds one series twice.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
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
        let n = seen.entry(labels.clone()).or_default();
        *n += 1;
        if *n > 1 {
            labels.push_str(&format!(",occurrence=\"{n}\""));
        }
        writeln!(out, "osdoctor_finding{{{labels}}} {}", f.value.unwrap_or(1.0))?;
    }
    gauge_header(
        out,
        "osdoctor_rule_evaluated",
        "1 when the rule was evaluated, 0 when its data was missing.",
    )?;
    for n in m.not_evaluated() {
        writeln!(out, "osdoctor_rule_evaluated{{rule=\"{}\"}} 0", esc(&n.rule))?;
    }
    if let Some(n) = m.rules_evaluated() {
        gauge_header(out, "osdoctor_rules_evaluated", "Number of rules evaluated.")?;
        writeln!(out, "osdoctor_rules_evaluated {n}")?;
    }
    gauge_header(
        out,
        "osdoctor_partial",
        "1 when a read was abandoned at the deadline.",
    )?;
    writeln!(out, "osdoctor_partial {}", u8::from(m.partial()))?;
    if let Some(n) = m.unreadable_files() {
        gauge_header(
            out,
            "osdoctor_unreadable_files",
            "Files that could not be read (see the JSON coverage).",
        )?;
        writeln!(out, "osdoctor_unreadable_files {n}")?;
    }
    m.prometheus_series(out)
}
