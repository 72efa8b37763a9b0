//! `--format table` (the default): one screen for a tired human. The verdict first, the findings worst
//! first with their numbers, the USE grid, then what could not be checked.
//!
//! ```text
//! osdoctor: CRITICAL  1 critical, 1 warning   host vm · Linux 6.18.44 · 2 CPUs · 23.4 GiB · cgroup hybrid · 1.0 s
//!
//! CRIT  cpu.runqueue  host  4.50 runnable tasks per CPU (9 runnable on 2 CPUs); load1 1.20 per CPU
//!       why:  More tasks want to run than there are CPUs, so each waits in the run queue.
//!       next: vmstat 1 5 · pidstat -u 1 5
//! ...
//! USE grid ...
//! Not checked: ...
//! ```

use std::io::{self, Write};

use tabled::settings::Style as GridStyle;

use super::style::{self, Style};
use super::{Cell, Report, USE_COLUMNS};
use crate::coverage::ProblemKind;
use crate::rules::finding::Finding;
use crate::units::format_bytes;

/// Findings of one rule shown in full before the rest are counted.
const SHOWN_PER_RULE: usize = 3;

/// `check`'s table.
pub struct Table {
    pub style: Style,
}

impl Table {
    fn cell(&self, c: Option<&Cell>) -> String {
        match c {
            None => "-".to_string(),
            Some(Cell::NotEvaluated) => "n/e".to_string(),
            Some(Cell::Ok) => "ok".to_string(),
            Some(Cell::Info) => "info".to_string(),
            Some(Cell::Warning) => "WARN".to_string(),
            Some(Cell::Critical) => "CRIT".to_string(),
        }
    }
}

/// At most `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

impl Table {
    pub fn render(&self, r: &Report, out: &mut dyn Write) -> io::Result<()> {
        let style = self.style;
        // Verdict line.
        let h = &r.host;
        let mut about = vec![format!("host {}", h.hostname.as_deref().unwrap_or("?"))];
        if let Some(k) = &h.kernel {
            about.push(format!("Linux {k}"));
        }
        if let Some(c) = h.cpus {
            about.push(format!("{c} CPUs"));
        }
        if let Some(m) = h.memory_bytes {
            about.push(format_bytes(m as f64));
        }
        if let Some(c) = &h.cgroup_mode {
            about.push(format!("cgroup {c}"));
        }
        about.push(if r.interval_s > 0.0 {
            format!("sampled over {:.1} s", r.interval_s)
        } else {
            "one sample".to_string()
        });
        if h.root != "/" {
            about.push(format!("root {}", h.root));
        }
        style.verdict(out, r.status, |s| r.count(s), &about, r.partial)?;

        // Findings, worst first, one block per rule: a rule that fires on many subjects (thirty OOM
        // victims) shows the first few and a count, and its cause and next steps once.
        let rule_width = r.findings.iter().map(|f| f.rule.len()).max().unwrap_or(0);
        let mut groups: Vec<(&str, Vec<&Finding>)> = Vec::new();
        for f in &r.findings {
            match groups.iter_mut().find(|(rule, _)| *rule == f.rule) {
                Some((_, v)) => v.push(f),
                None => groups.push((f.rule.as_str(), vec![f])),
            }
        }
        for (_, group) in &groups {
            for f in group.iter().take(SHOWN_PER_RULE) {
                writeln!(
                    out,
                    "{}  {:<rule_width$}  {}: {}",
                    style.severity(f.severity),
                    f.rule,
                    f.subject.label(),
                    f.summary
                )?;
                if let Some(cmd) = &f.subject.cmdline {
                    writeln!(out, "      cmd:  {}", shorten(cmd, 160))?;
                }
            }
            if group.len() > SHOWN_PER_RULE {
                writeln!(
                    out,
                    "      ... and {} more {} findings (--format json lists them all)",
                    group.len() - SHOWN_PER_RULE,
                    group[0].rule
                )?;
            }
            style::why_and_next(out, group[0])?;
        }
        if !r.findings.is_empty() {
            writeln!(out)?;
        }

        // USE grid.
        let mut grid = tabled::builder::Builder::default();
        grid.push_record(["resource", "utilization", "saturation", "errors"]);
        for (resource, cells) in &r.use_matrix {
            // A resource with only configuration rules has no U/S/E cell to show.
            if USE_COLUMNS.iter().all(|k| !cells.contains_key(k.name())) {
                continue;
            }
            let mut row = vec![resource.clone()];
            row.extend(USE_COLUMNS.iter().map(|k| self.cell(cells.get(k.name()))));
            grid.push_record(row);
        }
        let mut grid = grid.build();
        grid.with(GridStyle::blank());
        writeln!(out, "{grid}")?;
        writeln!(
            out,
            "(ok = checked, nothing found; n/e = not evaluated; - = no rule)"
        )?;

        // What could not be checked, grouped by reason.
        if !r.coverage.not_evaluated.is_empty() {
            writeln!(out)?;
            let n = r.coverage.not_evaluated.len();
            writeln!(out, "Not checked ({n} rule{}):", if n == 1 { "" } else { "s" })?;
            style::not_checked(out, &r.coverage.not_evaluated)?;
        }
        let problems: Vec<_> = r
            .coverage
            .unreadable
            .iter()
            .filter(|p| p.kind != ProblemKind::Missing)
            .collect();
        let missing = r
            .coverage
            .unreadable
            .iter()
            .filter(|p| p.kind == ProblemKind::Missing)
            .count();
        if !problems.is_empty() || missing > 0 {
            writeln!(out)?;
            for p in problems {
                writeln!(out, "Could not read {}: {}", p.path, p.reason)?;
            }
            if missing > 0 {
                writeln!(
                    out,
                    "{missing} files absent on this host (see --format json, coverage.unreadable)."
                )?;
            }
        }
        for n in &r.coverage.notes {
            writeln!(out, "Note: {n}")?;
        }
        Ok(())
    }
}
