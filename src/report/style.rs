//! What the one-screen tables share: colour, the verdict line, severity tags, a finding's `why:` and
//! `next:` lines and the list of rules not checked. Used by `check`'s table (table.rs),
//! `osdoctor cgroup`'s (cgroup_render.rs) and `osdoctor kernel-log`'s (kernel_log_render.rs), so
//! that they read alike.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::Status;
use crate::rules::Severity;
use crate::rules::finding::{Finding, NotEvaluated};

/// Colour (ANSI SGR) or plain text: colour only on a terminal, never with NO_COLOR set (the caller
/// decides).
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// `text` in the SGR `code` (`1;31` bold red, ...) when colouring.
    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// OK, WARNING, CRITICAL, UNKNOWN: green, yellow, red, magenta.
    pub fn status(&self, s: Status) -> String {
        let code = match s {
            Status::Ok => "1;32",
            Status::Warning => "1;33",
            Status::Critical => "1;31",
            Status::Unknown => "1;35",
        };
        self.paint(s.label(), code)
    }

    /// CRIT, WARN, INFO: red, yellow, cyan.
    pub fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "36",
        };
        self.paint(severity_tag(s), code)
    }

    /// The first line, `osdoctor: STATUS  N critical, N warnings   ABOUT · ABOUT`, the PARTIAL line
    /// (its text, e.g. [`PARTIAL_TIMEOUT`]) when the report is partial, then a blank line.
    pub fn verdict(
        &self,
        out: &mut dyn Write,
        status: Status,
        count: impl Fn(Severity) -> usize,
        about: &[String],
        partial: Option<&str>,
    ) -> io::Result<()> {
        self.verdict_with(out, status, &counts(count), about, partial)
    }

    /// [`Style::verdict`] with the counts written by the caller (`2 problems, 9 findings (...)`).
    pub fn verdict_with(
        &self,
        out: &mut dyn Write,
        status: Status,
        counted: &str,
        about: &[String],
        partial: Option<&str>,
    ) -> io::Result<()> {
        writeln!(
            out,
            "osdoctor: {}  {counted}   {}",
            self.status(status),
            about.join(" · ")
        )?;
        if let Some(line) = partial {
            writeln!(out, "{}", self.paint(line, "1;35"))?;
        }
        writeln!(out)
    }
}

/// The PARTIAL line of a report built from what was read by the deadline.
pub const PARTIAL_TIMEOUT: &str =
    "PARTIAL: a read did not finish before --timeout; this report holds what was read by then.";
/// The PARTIAL line of a report whose kernel log named events in lines no parser understood.
pub const PARTIAL_UNRECOGNISED: &str = "PARTIAL: kernel log lines name events in a form osdoctor does not understand (see the notes); those events are not counted.";
/// Nagios's short forms of the two.
pub const PARTIAL_TIMEOUT_REASON: &str = "a read timed out";
pub const PARTIAL_UNRECOGNISED_REASON: &str = "kernel log lines not understood";

/// The four-letter tag of a severity.
pub fn severity_tag(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRIT",
        Severity::Warning => "WARN",
        Severity::Info => "INFO",
    }
}

/// `2 critical, 1 warning, 3 info`, or `no findings`.
pub fn counts(count: impl Fn(Severity) -> usize) -> String {
    let counts: Vec<String> = [
        (Severity::Critical, "critical"),
        (Severity::Warning, "warning"),
        (Severity::Info, "info"),
    ]
    .iter()
    .filter_map(|(s, name)| {
        let n = count(*s);
        (n > 0).then(|| format!("{n} {name}{}", if n > 1 && *name == "warning" { "s" } else { "" }))
    })
    .collect();
    if counts.is_empty() {
        "no findings".to_string()
    } else {
        counts.join(", ")
    }
}

/// The first sentence of a text, for the one-screen view (the JSON and `rules explain` have it all).
pub fn first_sentence(text: &str) -> &str {
    let t = text.trim();
    match t.find(". ") {
        Some(i) => &t[..=i],
        None => t,
    }
}

/// A finding's cause (its first sentence) and next steps, under its line.
pub fn why_and_next(out: &mut dyn Write, f: &Finding) -> io::Result<()> {
    writeln!(out, "      why:  {}", first_sentence(&f.cause))?;
    if !f.next_steps.is_empty() {
        writeln!(out, "      next: {}", f.next_steps.join(" · "))?;
    }
    Ok(())
}

/// The rules not evaluated, one line per reason: `  rule, rule: reason`.
pub fn not_checked(out: &mut dyn Write, not_evaluated: &[NotEvaluated]) -> io::Result<()> {
    // (absent, reason): a resource the host lacks is said so, not left to read as a failure to check.
    let mut by_reason: BTreeMap<(bool, &str), Vec<&str>> = BTreeMap::new();
    for n in not_evaluated {
        by_reason
            .entry((n.absent, n.reason.as_str()))
            .or_default()
            .push(n.rule.as_str());
    }
    // A long list (a snapshot older than a dozen rules) is named by family, so that the line stays
    // one line of the screen; JSON lists every rule.
    let named = |rules: &[&str], room: usize| {
        let names = rules.join(", ");
        if names.len() > room {
            families(rules)
        } else {
            names
        }
    };
    let mut absent_parts = Vec::new();
    for ((absent, reason), rules) in &by_reason {
        if *absent {
            absent_parts.push(format!("{} ({reason})", families(rules)));
            continue;
        }
        let names = named(rules, 120usize.saturating_sub(reason.len() + 4));
        writeln!(out, "  {names}: {reason}")?;
    }
    // What the host lacks matters least: on one line when it fits.
    let one_line = format!("  absent: {}", absent_parts.join("; "));
    if absent_parts.len() > 1 && one_line.chars().count() <= 120 {
        writeln!(out, "{one_line}")?;
    } else {
        for ((absent, reason), rules) in &by_reason {
            if *absent {
                let names = named(rules, 120usize.saturating_sub(reason.len() + 12));
                writeln!(out, "  {names}: absent: {reason}")?;
            }
        }
    }
    Ok(())
}

/// `net.* (8), disk.* (2)`: rule ids counted by the part before their first dot, in order of first
/// appearance; a family of one is its rule's id.
fn families(rules: &[&str]) -> String {
    let mut counted: Vec<(&str, &str, usize)> = Vec::new();
    for rule in rules {
        let family = rule.split_once('.').map_or(*rule, |(f, _)| f);
        match counted.iter_mut().find(|(f, _, _)| *f == family) {
            Some((_, _, n)) => *n += 1,
            None => counted.push((family, rule, 1)),
        }
    }
    counted
        .iter()
        .map(|(family, first, n)| match n {
            1 => first.to_string(),
            n => format!("{family}.* ({n})"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `; 243 fds: 230 TCP (228 CLOSE_WAIT to ...), ...` when the finding carries its process's fd table
/// (the question an fd finding raises: what the descriptors are), else empty.
pub fn fd_breakdown_suffix(f: &Finding) -> String {
    f.evidence
        .iter()
        .find(|(name, _)| name == "proc.fd.breakdown")
        .map(|(_, e)| format!("; {}", e.display))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_of_rules_is_named_by_family() {
        let ne = |rule: &str| NotEvaluated {
            rule: rule.to_string(),
            reason: "not in this older snapshot".to_string(),
            absent: false,
        };
        let many: Vec<NotEvaluated> = [
            "disk.utilization",
            "disk.saturation",
            "fs.capacity",
            "fs.inodes",
            "net.link_down",
            "net.nic_errors",
            "net.retransmits",
            "net.listen_overflow",
            "net.conntrack_near_limit",
        ]
        .iter()
        .map(|r| ne(r))
        .collect();
        let mut text = Vec::new();
        not_checked(&mut text, &many).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "  disk.* (2), fs.* (2), net.* (5): not in this older snapshot\n"
        );
        let mut text = Vec::new();
        not_checked(&mut text, &many[..2]).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "  disk.utilization, disk.saturation: not in this older snapshot\n"
        );
    }

    #[test]
    fn verdict_line_plain_and_coloured() {
        let count = |s: Severity| match s {
            Severity::Critical => 1,
            Severity::Warning => 2,
            Severity::Info => 0,
        };
        let about = ["host h".to_string(), "one sample".to_string()];
        let mut plain = Vec::new();
        Style { color: false }
            .verdict(&mut plain, Status::Critical, count, &about, None)
            .unwrap();
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            "osdoctor: CRITICAL  1 critical, 2 warnings   host h · one sample\n\n"
        );
        let mut coloured = Vec::new();
        Style { color: true }
            .verdict(&mut coloured, Status::Ok, |_| 0, &about, Some(PARTIAL_TIMEOUT))
            .unwrap();
        let text = String::from_utf8(coloured).unwrap();
        assert!(
            text.starts_with("osdoctor: \x1b[1;32mOK\x1b[0m  no findings   host h"),
            "{text}"
        );
        assert!(text.contains("\x1b[1;35mPARTIAL: "), "{text}");
        assert_eq!(
            Style { color: true }.severity(Severity::Info),
            "\x1b[36mINFO\x1b[0m"
        );
    }
}
