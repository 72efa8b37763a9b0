//! `check --ignore RULE[:SUBJECT]` and `--ignore-file FILE`: findings an operator has decided not to
//! be alerted on (a java service that holds 60,000 descriptors by design, a scratch mount that is
//! always full).
//!
//! RULE and SUBJECT are globs (`*` any run of characters, `?` one character, nothing else is
//! special) over the whole rule id and the whole subject as the table prints it: `pid 1234 (java)`,
//! `mount /mnt/scratch`, `container 4f1a9c3e8b2d`, `pod UID`, `cgroup /PATH`, `disk sda`, `nic
//! eth0`, `user NAME`, `host`. The first word of a subject (its kind) may be left out:
//! `fs.capacity:/mnt/*` and `fs.capacity:mount /mnt/*` ignore the same findings. Without SUBJECT
//! every subject of the matching rules is ignored: `net.*` ignores every network rule.
//!
//! Ignoring is a display and alerting decision, not a change of what osdoctor saw: an ignored
//! finding is not shown, does not count in the verdict and the exit code, and is listed in the
//! report's coverage (`ignored`) with the pattern that matched it. The stories (diagnoses) are told
//! over the findings left, so ignoring a cause never hides its effects: they are told without it.

use std::path::Path;

use serde::Serialize;

use super::Severity;
use super::finding::Finding;

/// One `RULE[:SUBJECT]` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnorePattern {
    /// As given, for the report.
    pub text: String,
    rule: String,
    subject: Option<String>,
}

/// A finding left out by `--ignore`, as coverage lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ignored {
    pub rule: String,
    pub severity: Severity,
    /// The subject as the table prints it (what SUBJECT patterns match).
    pub subject: String,
    /// The `--ignore` pattern that matched it.
    pub pattern: String,
}

impl IgnorePattern {
    /// `RULE` or `RULE:SUBJECT` (split at the first colon: rule ids have none).
    pub fn parse(text: &str) -> Result<IgnorePattern, String> {
        let t = text.trim();
        let (rule, subject) = match t.split_once(':') {
            Some((r, s)) => (r.trim(), Some(s.trim())),
            None => (t, None),
        };
        if rule.is_empty() {
            return Err(format!(
                "{text:?}: expected RULE or RULE:SUBJECT, such as net.* or fd.process_near_limit:pid * (java)"
            ));
        }
        if subject == Some("") {
            return Err(format!(
                "{text:?}: nothing after the colon (leave it out to ignore every subject of {rule})"
            ));
        }
        Ok(IgnorePattern {
            text: t.to_string(),
            rule: rule.to_string(),
            subject: subject.map(str::to_string),
        })
    }

    /// Whether the RULE part matches a rule id (a pattern that matches none is a typo).
    pub fn matches_rule(&self, id: &str) -> bool {
        glob(&self.rule, id)
    }

    pub fn matches(&self, f: &Finding) -> bool {
        // The stable label (`host`), or the one the table prints (`container`) when they differ.
        self.matches_label(&f.rule, &f.subject.label())
            || (f.subject.judged_in_container() && self.matches_label(&f.rule, &f.subject.display_label()))
    }

    /// The same test on a rule and a subject as the table prints it (a `cleared` entry's).
    pub fn matches_label(&self, rule: &str, label: &str) -> bool {
        glob(&self.rule, rule)
            && self.subject.as_deref().is_none_or(|p| {
                glob(p, label) || label.split_once(' ').is_some_and(|(_, rest)| glob(p, rest))
            })
    }
}

/// The patterns of an ignore file: one per line; blank lines and `#` comments (a whole line, or
/// after whitespace at the end of one) are skipped. Errors name the file and line.
pub fn parse_file(path: &Path, text: &str) -> Result<Vec<IgnorePattern>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(at) => &line[..at],
            None => line,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(IgnorePattern::parse(line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?);
    }
    Ok(out)
}

/// Split findings into those kept and those ignored (with the first pattern that matched).
pub fn partition(findings: Vec<Finding>, patterns: &[IgnorePattern]) -> (Vec<Finding>, Vec<Ignored>) {
    if patterns.is_empty() {
        return (findings, Vec::new());
    }
    let mut kept = Vec::new();
    let mut ignored = Vec::new();
    for f in findings {
        match patterns.iter().find(|p| p.matches(&f)) {
            Some(p) => ignored.push(Ignored {
                rule: f.rule.clone(),
                severity: f.severity,
                subject: f.subject.label(),
                pattern: p.text.clone(),
            }),
            None => kept.push(f),
        }
    }
    (kept, ignored)
}

/// Notes for the stories whose cause is ignored while some of its effects are not: the effects are
/// shown and counted, told without their cause, and the note says which ignored finding explained
/// them (so that ignoring a cause never silently hides why its effects happen).
pub fn ignored_cause_notes(
    rules: &[super::Rule],
    facts: &crate::facts::Facts,
    findings: &[Finding],
    patterns: &[IgnorePattern],
) -> Vec<String> {
    if patterns.is_empty() {
        return Vec::new();
    }
    let ignored = |f: &Finding| patterns.iter().any(|p| p.matches(f));
    super::diagnose::diagnose(rules, facts, findings)
        .iter()
        .filter_map(|d| {
            let cause = &findings[d.members[0]];
            if !ignored(cause) {
                return None;
            }
            let shown = d.members[1..].iter().filter(|&&i| !ignored(&findings[i])).count();
            (shown > 0).then(|| {
                format!(
                    "ignored {} {} explains {shown} finding{} shown without it",
                    cause.rule,
                    cause.subject.label(),
                    if shown == 1 { "" } else { "s" }
                )
            })
        })
        .collect()
}

/// A glob over the whole text: `*` any run of characters (slashes and spaces included), `?` one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it matched up to: backtrack there on a mismatch.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{SubjectId, SubjectKind};
    use crate::rules::UseKind;

    fn finding(rule: &str, subject: SubjectId) -> Finding {
        Finding {
            rule: rule.to_string(),
            title: String::new(),
            severity: Severity::Warning,
            resource: "fd".to_string(),
            use_kind: UseKind::Utilization,
            subject,
            summary: String::new(),
            evidence: Vec::new(),
            cause: String::new(),
            next_steps: Vec::new(),
            value: None,
            first_seen: None,
            new: None,
            held: false,
            subject_index: None,
        }
    }

    fn process(pid: i32, comm: &str) -> SubjectId {
        SubjectId {
            kind: SubjectKind::Process,
            pid: Some(pid),
            comm: Some(comm.to_string()),
            ..SubjectId::default()
        }
    }

    fn mount(path: &str) -> SubjectId {
        SubjectId {
            kind: SubjectKind::Mount,
            path: Some(path.to_string()),
            ..SubjectId::default()
        }
    }

    #[test]
    fn globs() {
        assert!(glob("net.*", "net.link_down"));
        assert!(!glob("net.*", "fd.net"));
        assert!(glob("*", ""));
        assert!(glob("pid * (java)", "pid 1234 (java)"));
        assert!(!glob("pid * (java)", "pid 1234 (javac)"));
        assert!(glob("/mnt/*", "/mnt/a/b"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
        assert!(glob("sd?", "sda"));
        assert!(!glob("sd?", "sda1"));
        assert!(glob("fd.process_near_limit", "fd.process_near_limit"));
    }

    #[test]
    fn rule_and_subject_patterns() {
        let java = finding("fd.process_near_limit", process(1234, "java"));
        let nginx = finding("fd.process_near_limit", process(99, "nginx"));
        let p = IgnorePattern::parse("fd.process_near_limit:pid * (java)").unwrap();
        assert!(p.matches(&java));
        assert!(!p.matches(&nginx));
        // The kind word may be left out.
        assert!(IgnorePattern::parse("fd.*:* (java)").unwrap().matches(&java));
        let scratch = finding("fs.capacity", mount("/mnt/scratch"));
        assert!(
            IgnorePattern::parse("fs.capacity:/mnt/*")
                .unwrap()
                .matches(&scratch)
        );
        assert!(
            IgnorePattern::parse("fs.capacity:mount /mnt/*")
                .unwrap()
                .matches(&scratch)
        );
        assert!(
            !IgnorePattern::parse("fs.capacity:/var/*")
                .unwrap()
                .matches(&scratch)
        );
        assert!(IgnorePattern::parse("fs.*").unwrap().matches(&scratch));
        let host = finding("net.softnet_drops", SubjectId::host());
        assert!(IgnorePattern::parse("net.*").unwrap().matches(&host));
        assert!(IgnorePattern::parse("net.*:host").unwrap().matches(&host));
        // A host rule judged on the container osdoctor runs in: as the table prints it, or as host.
        let in_container = finding(
            "cpu.utilization",
            SubjectId {
                cgroup: Some("/".to_string()),
                ..SubjectId::host()
            },
        );
        assert!(
            IgnorePattern::parse("cpu.utilization:container")
                .unwrap()
                .matches(&in_container)
        );
        assert!(
            IgnorePattern::parse("cpu.utilization:host")
                .unwrap()
                .matches(&in_container)
        );
        assert!(
            !IgnorePattern::parse("cpu.utilization:container")
                .unwrap()
                .matches(&host)
        );
        for bad in ["", ":pid 1", "net.*:", "  "] {
            assert!(IgnorePattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn files_have_comments_and_errors_name_the_line() {
        let text = "# known and accepted\n\nnet.*\nfs.capacity:/mnt/*   # scratch space\n\tfd.process_near_limit:pid * (java)\n";
        let p = parse_file(Path::new("ignore.txt"), text).unwrap();
        let texts: Vec<&str> = p.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "net.*",
                "fs.capacity:/mnt/*",
                "fd.process_near_limit:pid * (java)"
            ]
        );
        let err = parse_file(Path::new("ignore.txt"), "net.*\n:x\n").unwrap_err();
        assert!(err.starts_with("ignore.txt:2: "), "{err}");
    }

    #[test]
    fn partition_keeps_order_and_names_the_pattern() {
        let patterns = vec![
            IgnorePattern::parse("fd.*:* (java)").unwrap(),
            IgnorePattern::parse("fd.*").unwrap(),
        ];
        let (kept, ignored) = partition(
            vec![
                finding("fd.process_near_limit", process(1, "java")),
                finding("cpu.runqueue", SubjectId::host()),
                finding("fd.process_near_limit", process(2, "nginx")),
            ],
            &patterns,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].rule, "cpu.runqueue");
        assert_eq!(ignored[0].subject, "pid 1 (java)");
        assert_eq!(ignored[0].pattern, "fd.*:* (java)");
        assert_eq!(ignored[1].pattern, "fd.*");
    }
}
