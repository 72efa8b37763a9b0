//! `--format table` (the default): one screen for a tired human. The verdict first, then the stories
//! worst first (a cause, the findings it explains, the mechanism and the next steps once), the USE
//! grid, then what could not be checked.
//!
//! ```text
//! osdoctor: CRITICAL  2 problems, 5 findings (3 critical, 2 warnings)   host vm · Linux 6.18.44 · 2 CPUs · ...
//!
//! CRIT  proc.context_switch_storm  pid 4242 (loadgen): 410,000 switches/s, 97% involuntary ...
//!       explains:
//!       CRIT  cpu.utilization      host: CPUs 100.0% busy over the interval ...
//!       CRIT  cpu.runqueue         host: 4 runnable tasks per CPU ...
//!       why:  More threads of one process are runnable than there are CPUs ...
//!       next: pidstat -w -t -p 4242 1 5 · vmstat 1 5
//! WARN  fd.process_near_limit      pid 99 (java): 245 open fds of a soft limit of 256 (95.7%); 245 fds: 230 TCP (228 CLOSE_WAIT to 10.0.0.5:5432), 12 files, 3 pipes
//!       why:  ...
//! ...
//! USE grid (the resources with a finding, a column not evaluated or absent) ...
//!  ok on every checked column: cgroup, io, kernel, memory, net, process; absent (host lacks it): numa
//! Not checked: ...
//! ```

use std::io::{self, Write};

use tabled::settings::Style as GridStyle;

use super::style::{self, Style};
use super::{Cell, Report, USE_COLUMNS};
use crate::coverage::ProblemKind;
use crate::rules::diagnose::Diagnosis;
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
            Some(Cell::Absent) => "absent".to_string(),
            Some(Cell::NotEvaluated) => "n/e".to_string(),
            Some(Cell::Ok) => "ok".to_string(),
            Some(Cell::Info) => "info".to_string(),
            Some(Cell::Warning) => "WARN".to_string(),
            Some(Cell::Critical) => "CRIT".to_string(),
        }
    }
}

/// The columns a story's lines are kept to (the cause's line may wrap; the JSON holds everything).
pub(super) const WIDTH: usize = 120;

/// Next steps shown under a story (the cause's first, then its effects'; the JSON has them all).
const SHOWN_STEPS: usize = 4;

/// `2 problems, 9 findings (3 critical, 4 warnings, 2 info)`, or `no findings`.
fn counted(r: &Report) -> String {
    if r.findings.is_empty() {
        return "no findings".to_string();
    }
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let new = r.new_count().map(|n| format!(", {n} new")).unwrap_or_default();
    format!(
        "{}, {} ({}){new}",
        plural(r.diagnoses.len(), "problem"),
        plural(r.findings.len(), "finding"),
        style::counts(|s| r.count(s))
    )
}

/// `seen since 13:05 · ` before the summary of a finding an earlier `--state` run had (UTC, with the
/// date when it is not the run's); nothing for a new one.
fn seen_since(f: &Finding, started_at: &str) -> String {
    if f.new != Some(false) {
        return String::new();
    }
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    let Some(first) = f.first_seen.as_deref().and_then(parse) else {
        return "seen before · ".to_string();
    };
    let same_day = parse(started_at).is_some_and(|s| s.date_naive() == first.date_naive());
    let format = if same_day { "%H:%M" } else { "%b %d %H:%M" };
    format!("seen since {} · ", first.format(format))
}

/// What the table shows, in order.
enum Block<'a> {
    /// A diagnosis with effects.
    Story(&'a Diagnosis),
    /// Findings of one rule that nothing links.
    Singles(Vec<&'a Finding>),
}

fn blocks(r: &Report) -> Vec<Block<'_>> {
    let mut out: Vec<Block> = Vec::new();
    for d in &r.diagnoses {
        let Some(&first) = d.members.first() else {
            continue;
        };
        if d.members.len() > 1 {
            out.push(Block::Story(d));
            continue;
        }
        let f = &r.findings[first];
        let same_rule = out.iter_mut().find_map(|b| match b {
            Block::Singles(v) if v[0].rule == f.rule => Some(v),
            _ => None,
        });
        match same_rule {
            Some(v) => v.push(f),
            None => out.push(Block::Singles(vec![f])),
        }
    }
    out
}

/// `      next: step · step`: the commands without their `# comments`, as many whole steps as fit in
/// [`WIDTH`] (the first one cut if it alone does not), at most [`SHOWN_STEPS`]. The JSON and `osdoctor
/// rules explain` have every step with its comment.
fn next_line(steps: &[String]) -> String {
    let mut line = String::from("      next: ");
    let mut shown: Vec<&str> = Vec::new();
    for step in steps {
        let command = step.split(" #").next().unwrap_or(step).trim_end();
        if shown.contains(&command) {
            continue;
        }
        if shown.len() == SHOWN_STEPS
            || (!shown.is_empty() && line.chars().count() + 3 + command.chars().count() > WIDTH)
        {
            break;
        }
        if !shown.is_empty() {
            line.push_str(" · ");
        }
        line.push_str(command);
        shown.push(command);
    }
    shorten(&line, WIDTH)
}

/// A summary without the clauses (`; top: pid ...`) a line above it in the story already showed.
fn unrepeated(summary: &str, seen: &mut Vec<String>) -> String {
    let mut kept = Vec::new();
    for clause in summary.split("; ") {
        let clause = clause.trim();
        if !seen.iter().any(|s| s == clause) {
            seen.push(clause.to_string());
            kept.push(clause);
        }
    }
    kept.join("; ")
}

/// At most `max` characters, the last an ellipsis when cut.
pub(super) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut = text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    format!("{}…", text[..cut].trim_end())
}

impl Table {
    /// `CRIT  rule  who: summary`, indented by `indent`, cut to `max` columns when given, and the
    /// command line under it.
    fn finding_line(
        &self,
        out: &mut dyn Write,
        indent: &str,
        f: &Finding,
        summary: &str,
        rule_width: usize,
        max: Option<usize>,
    ) -> io::Result<()> {
        let breakdown = style::fd_breakdown_suffix(f);
        let mut line = format!(
            "{indent}{:<4}  {:<rule_width$}  {}: {summary}{breakdown}",
            "",
            f.rule,
            f.subject.display_label()
        );
        // A finding of its own may take a second screen line for that answer.
        let max = match max {
            Some(m) if !breakdown.is_empty() && indent.is_empty() => Some(m.max(2 * WIDTH)),
            m => m,
        };
        if let Some(max) = max {
            line = shorten(&line, max);
        }
        // The tag is painted after measuring, so colour codes do not count as columns.
        let tagged = line.replacen(
            &format!("{indent}{:<4}", ""),
            &format!("{indent}{}", self.style.severity(f.severity)),
            1,
        );
        writeln!(out, "{tagged}")?;
        if let Some(cmd) = &f.subject.cmdline {
            let pad = " ".repeat(indent.len());
            writeln!(out, "{}", shorten(&format!("{pad}      cmd:  {cmd}"), WIDTH))?;
        }
        Ok(())
    }

    /// One story: the cause's line, one line per effect (three per rule, then a count), the
    /// mechanism once, the next steps once.
    fn story(&self, out: &mut dyn Write, r: &Report, d: &Diagnosis, rule_width: usize) -> io::Result<()> {
        let mut seen = Vec::new();
        let cause = &r.findings[d.members[0]];
        let summary = seen_since(cause, &r.started_at) + &unrepeated(&cause.summary, &mut seen);
        // The cause's numbers matter most: two lines of the screen, where effects get one.
        self.finding_line(out, "", cause, &summary, rule_width, Some(2 * WIDTH))?;
        let mut per_rule: Vec<(&str, usize)> = Vec::new();
        for &i in &d.members[1..] {
            let f = &r.findings[i];
            let n = match per_rule.iter_mut().find(|(rule, _)| *rule == f.rule) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    per_rule.push((f.rule.as_str(), 1));
                    1
                }
            };
            if n <= SHOWN_PER_RULE {
                let summary = seen_since(f, &r.started_at) + &unrepeated(&f.summary, &mut seen);
                // The cause's command line is not shown again under its own effects.
                let mut f = f.clone();
                if f.subject.pid == cause.subject.pid {
                    f.subject.cmdline = None;
                }
                self.finding_line(out, "   -> ", &f, &summary, rule_width, Some(WIDTH))?;
            }
        }
        for (rule, n) in per_rule.iter().filter(|(_, n)| *n > SHOWN_PER_RULE) {
            writeln!(
                out,
                "            ... and {} more {rule} findings",
                n - SHOWN_PER_RULE
            )?;
        }
        // The mechanism is the story's point (a quota, not contention): two lines for it.
        let why = format!("      why:  {}", style::first_sentence(&d.why));
        writeln!(out, "{}", shorten(&why, 2 * WIDTH))?;
        if !d.next_steps.is_empty() {
            writeln!(out, "{}", next_line(&d.next_steps))?;
        }
        Ok(())
    }

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
        if let Some(c) = &h.container {
            about.extend(c.header(h.cpus));
        }
        about.push(if r.interval_s > 0.0 {
            format!("sampled over {:.1} s", r.interval_s)
        } else {
            "one sample".to_string()
        });
        if h.root != "/" {
            about.push(format!("root {}", h.root));
        }
        let partial = r.partial.then(|| match super::model::Model::partial_reason(r) {
            style::PARTIAL_UNRECOGNISED_REASON => style::PARTIAL_UNRECOGNISED,
            _ => style::PARTIAL_TIMEOUT,
        });
        style.verdict_with(out, r.status, &counted(r), &about, partial)?;

        // The stories, worst first: a cause with the findings it explains, the mechanism and the next
        // steps once. Findings nothing links, of one rule (thirty OOM victims), fold into one block that
        // shows the first few and a count.
        let rule_width = r.findings.iter().map(|f| f.rule.len()).max().unwrap_or(0);
        for block in blocks(r) {
            match block {
                Block::Story(d) => self.story(out, r, d, rule_width)?,
                Block::Singles(group) => {
                    for f in group.iter().take(SHOWN_PER_RULE) {
                        let summary = seen_since(f, &r.started_at) + &f.summary;
                        self.finding_line(out, "", f, &summary, rule_width, Some(WIDTH))?;
                    }
                    if group.len() > SHOWN_PER_RULE {
                        writeln!(
                            out,
                            "      ... and {} more {} findings (--format json lists them all)",
                            group.len() - SHOWN_PER_RULE,
                            group[0].rule
                        )?;
                    }
                    let why = format!("      why:  {}", style::first_sentence(&group[0].cause));
                    writeln!(out, "{}", shorten(&why, WIDTH))?;
                    if !group[0].next_steps.is_empty() {
                        writeln!(out, "{}", next_line(&group[0].next_steps))?;
                    }
                }
            }
        }
        if !r.findings.is_empty() {
            writeln!(out)?;
        }

        // USE grid: a row for each resource with something to say; the resources whose every cell is
        // ok, and those the host lacks altogether (every cell absent: NUMA on a single-node host),
        // fold into one line under it (the screen must hold the stories; JSON has every cell).
        let mut grid = tabled::builder::Builder::default();
        grid.push_record(["resource", "utilization", "saturation", "errors"]);
        let mut all_ok: Vec<&str> = Vec::new();
        let mut all_absent: Vec<&str> = Vec::new();
        for (resource, cells) in &r.use_matrix {
            // A resource with only configuration rules has no U/S/E cell to show.
            if USE_COLUMNS.iter().all(|k| !cells.contains_key(k.name())) {
                continue;
            }
            let shown = USE_COLUMNS.iter().filter_map(|k| cells.get(k.name()));
            if shown.clone().all(|c| matches!(c, Cell::Ok)) {
                all_ok.push(resource);
                continue;
            }
            if shown.clone().all(|c| matches!(c, Cell::Absent)) {
                all_absent.push(resource);
                continue;
            }
            let mut row = vec![resource.clone()];
            row.extend(USE_COLUMNS.iter().map(|k| self.cell(cells.get(k.name()))));
            grid.push_record(row);
        }
        let mut grid = grid.build();
        grid.with(GridStyle::blank());
        // The legend goes beside the header: one line less on a screen that must hold the stories.
        let grid = grid.to_string();
        let mut lines = grid.lines();
        if let Some(header) = lines.next() {
            writeln!(
                out,
                "{}   (ok: checked; n/e: not evaluated; absent: host lacks it; -: no rule)",
                header.trim_end()
            )?;
        }
        for line in lines {
            writeln!(out, "{line}")?;
        }
        let absent =
            (!all_absent.is_empty()).then(|| format!("absent (host lacks it): {}", all_absent.join(", ")));
        match (all_ok.is_empty(), absent) {
            (false, Some(absent)) => writeln!(
                out,
                " ok on every checked column: {}; {absent}",
                all_ok.join(", ")
            )?,
            (false, None) => writeln!(out, " ok on every checked column: {}", all_ok.join(", "))?,
            (true, Some(absent)) => writeln!(out, " {absent}")?,
            (true, None) => {}
        }

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
        let ignored = r.coverage.ignored.len();
        if ignored > 0 {
            writeln!(
                out,
                "{ignored} finding{} ignored (--ignore; --format json lists them in coverage.ignored).",
                if ignored == 1 { "" } else { "s" }
            )?;
        }
        for n in &r.coverage.notes {
            writeln!(out, "{}", shorten(&format!("Note: {n}"), WIDTH))?;
        }
        Ok(())
    }
}
