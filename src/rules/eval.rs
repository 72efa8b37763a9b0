//! Evaluate rules against facts: three-valued predicates, severity levels, hysteresis with `--state`.

use super::{Predicate, Rule, Severity, SubjectKind};
use crate::facts::{FactSet, Facts, Subject, SubjectId, Value};
use crate::rules::finding::{Evidence, Finding, NotEvaluated};
use crate::units::format_value;

/// The outcome of one predicate on one subject.
#[derive(Debug, Clone, PartialEq)]
enum Tri {
    True,
    False,
    /// A fact it needs is absent: the first one is kept to explain why.
    Unknown(&'static str),
}

/// What the rules made of the facts.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub not_evaluated: Vec<NotEvaluated>,
    /// Ids of the rules that were evaluated on at least one subject (quiet or firing).
    pub evaluated: Vec<String>,
}

/// The severity a rule had on a subject in the previous `--state` run, for hysteresis.
pub type Previous<'a> = &'a dyn Fn(&str, &str) -> Option<Severity>;

fn fact_value<'a>(facts: &'a Facts, subject: &'a Subject, name: &str) -> Option<&'a Value> {
    subject.facts.get(name).or_else(|| facts.host.facts.get(name))
}

fn eval(p: &Predicate, facts: &Facts, subject: &Subject) -> Tri {
    match p {
        Predicate::Compare { fact, op, threshold } => {
            match fact_value(facts, subject, fact).and_then(Value::as_f64) {
                Some(v) if op.holds(v, *threshold) => Tri::True,
                Some(_) => Tri::False,
                None => Tri::Unknown(fact),
            }
        }
        Predicate::TextEq { fact, value, negate } => match fact_value(facts, subject, fact) {
            Some(Value::Text(t)) if (t == value) != *negate => Tri::True,
            Some(Value::Text(_)) => Tri::False,
            _ => Tri::Unknown(fact),
        },
        Predicate::All(parts) => {
            let mut unknown = None;
            for part in parts {
                match eval(part, facts, subject) {
                    Tri::False => return Tri::False,
                    Tri::Unknown(f) => unknown = unknown.or(Some(f)),
                    Tri::True => {}
                }
            }
            unknown.map(Tri::Unknown).unwrap_or(Tri::True)
        }
        Predicate::Any(parts) => {
            let mut unknown = None;
            for part in parts {
                match eval(part, facts, subject) {
                    Tri::True => return Tri::True,
                    Tri::Unknown(f) => unknown = unknown.or(Some(f)),
                    Tri::False => {}
                }
            }
            unknown.map(Tri::Unknown).unwrap_or(Tri::False)
        }
        Predicate::Not(inner) => match eval(inner, facts, subject) {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            u => u,
        },
    }
}

/// Whether `p` holds on `subject` (with the host's facts): `None` when a fact it needs is absent.
pub(crate) fn holds(p: &Predicate, facts: &Facts, subject: &Subject) -> Option<bool> {
    match eval(p, facts, subject) {
        Tri::True => Some(true),
        Tri::False => Some(false),
        Tri::Unknown(_) => None,
    }
}

/// What one rule says of one subject.
enum Verdict {
    Quiet,
    Fires { severity: Severity, held: bool },
    Unknown(&'static str),
}

fn judge(rule: &Rule, facts: &Facts, subject: &Subject, previous: Option<Severity>) -> Verdict {
    if let Some(when) = &rule.when {
        match eval(when, facts, subject) {
            Tri::False => return Verdict::Quiet,
            Tri::Unknown(f) => return Verdict::Unknown(f),
            Tri::True => {}
        }
    }
    let levels = [
        (Severity::Critical, &rule.crit),
        (Severity::Warning, &rule.warn),
        (Severity::Info, &rule.info),
    ];
    let mut first_unknown = None;
    let mut any_decided = false;
    for (severity, pred) in levels {
        let Some(pred) = pred else { continue };
        match eval(pred, facts, subject) {
            Tri::True => {
                return Verdict::Fires {
                    severity,
                    held: false,
                };
            }
            Tri::False => any_decided = true,
            // The lowest level's missing fact explains best (warn before crit).
            Tri::Unknown(f) => first_unknown = Some(f),
        }
    }
    if !any_decided && let Some(f) = first_unknown {
        return Verdict::Unknown(f);
    }
    // Hysteresis: a rule that fired last run stays at warning until its clear level is reached.
    if let (Some(prev), Some(clear)) = (previous, &rule.clear)
        && prev >= Severity::Warning
        && eval(clear, facts, subject) == Tri::False
    {
        return Verdict::Fires {
            severity: Severity::Warning,
            held: true,
        };
    }
    Verdict::Quiet
}

/// Evaluate only the rules whose subject is `kind`, on `subjects` and the `host` facts, with no
/// previous run to hold findings: for the commands that judge one kind of subject (`osdoctor cgroup`,
/// `osdoctor kernel-log`).
pub fn evaluate_kind(
    rules: &[Rule],
    kind: SubjectKind,
    subjects: Vec<Subject>,
    host: FactSet,
    single_sample: bool,
) -> Outcome {
    let rules: Vec<Rule> = rules.iter().filter(|r| r.subject == kind).cloned().collect();
    let facts = Facts {
        host: Subject {
            id: SubjectId::host(),
            facts: host,
        },
        subjects: [(kind, subjects)].into_iter().collect(),
        single_sample,
        coverage: Default::default(),
        missing_subjects: Default::default(),
        absent_subjects: Default::default(),
    };
    evaluate(&rules, &facts, &|_, _| None)
}

/// Evaluate every rule on every subject of its kind.
pub fn evaluate(rules: &[Rule], facts: &Facts, previous: Previous) -> Outcome {
    let mut out = Outcome::default();
    let inside = facts.host.facts.get_f64("container.inside") == Some(1.0);
    for rule in rules {
        // Inside a container, a host rule with an in-container form judges the container's figures;
        // its findings name the container's cgroup.
        let (rule, container_cgroup) = match &rule.in_container {
            Some(variant) if inside && !variant.metric.is_some_and(|m| facts.host.facts.is_lacked(m)) => {
                let own = match facts.host.facts.get("container.cgroup") {
                    Some(Value::Text(own)) => Some(own.clone()),
                    _ => None,
                };
                (variant.as_ref(), own)
            }
            _ => (rule, None),
        };
        // A rule on other subjects whose metric the host as a whole lacks (process placement on a
        // host with one NUMA node) is "absent", whether or not there are subjects to look at.
        if rule.subject != SubjectKind::Host
            && let Some(metric) = rule.metric
            && facts.host.facts.is_lacked(metric)
        {
            out.not_evaluated.push(NotEvaluated {
                rule: rule.id.clone(),
                reason: facts.why_missing(&facts.host, metric),
                absent: true,
            });
            continue;
        }
        let subjects: &[Subject] = if rule.subject == SubjectKind::Host {
            std::slice::from_ref(&facts.host)
        } else {
            match facts.subjects.get(&rule.subject) {
                Some(s) => s,
                None => {
                    let reason = facts
                        .missing_subjects
                        .get(&rule.subject)
                        .cloned()
                        .unwrap_or_else(|| format!("no {} data was collected", rule.subject));
                    out.not_evaluated.push(NotEvaluated {
                        rule: rule.id.clone(),
                        reason,
                        absent: facts.absent_subjects.contains(&rule.subject),
                    });
                    continue;
                }
            }
        };
        let mut evaluated = subjects.is_empty();
        let mut unknown_reason = None;
        // Every subject lacked the resource the rule measures (no swap): "absent", not "not evaluated".
        let mut lacked = !subjects.is_empty();
        for (index, subject) in subjects.iter().enumerate() {
            let key = subject_key(subject);
            match judge(rule, facts, subject, previous(&rule.id, &key)) {
                Verdict::Quiet => evaluated = true,
                Verdict::Unknown(fact) => {
                    lacked &= subject.facts.is_lacked(fact);
                    unknown_reason.get_or_insert_with(|| facts.why_missing(subject, fact));
                }
                Verdict::Fires { severity, held } => {
                    evaluated = true;
                    let mut f = finding(rule, facts, subject, severity, held);
                    f.subject_index = (rule.subject != SubjectKind::Host).then_some(index);
                    if container_cgroup.is_some() {
                        f.subject.cgroup.clone_from(&container_cgroup);
                    }
                    out.findings.push(f);
                }
            }
        }
        if evaluated {
            out.evaluated.push(rule.id.clone());
        } else {
            out.not_evaluated.push(NotEvaluated {
                rule: rule.id.clone(),
                reason: unknown_reason.unwrap_or_else(|| "no data".to_string()),
                absent: lacked,
            });
        }
    }
    out.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// A stable key for a subject across runs (`host`, `process:1234:<start>`, `cgroup:/path`).
pub fn subject_key(subject: &Subject) -> String {
    let id = &subject.id;
    if let Some(group) = &id.event_group {
        return format!("kernel_event:{group}");
    }
    match id.kind {
        SubjectKind::Host => "host".to_string(),
        SubjectKind::Process => format!(
            "process:{}:{}",
            id.pid.unwrap_or(0),
            id.comm.as_deref().unwrap_or("")
        ),
        SubjectKind::Cgroup => format!("cgroup:{}", id.cgroup.as_deref().unwrap_or("")),
        SubjectKind::User => format!("user:{}", id.user.as_deref().unwrap_or("")),
        SubjectKind::Disk | SubjectKind::Nic => format!("{}:{}", id.kind, id.device.as_deref().unwrap_or("")),
        SubjectKind::Mount => format!("mount:{}", id.path.as_deref().unwrap_or("")),
        SubjectKind::NumaNode => format!("numa_node:{}", id.node.unwrap_or(0)),
        SubjectKind::KernelEvent => "kernel_event".to_string(),
    }
}

fn finding(rule: &Rule, facts: &Facts, subject: &Subject, severity: Severity, held: bool) -> Finding {
    let evidence = rule
        .evidence_facts()
        .into_iter()
        .filter_map(|name| {
            let value = fact_value(facts, subject, name)?.clone();
            Some((name.to_string(), Evidence::of(name, value)))
        })
        .collect();
    let mut summary = render(&rule.summary, facts, subject);
    if held {
        summary.push_str(" (below the warning level but not yet at the clear level)");
    }
    Finding {
        rule: rule.id.clone(),
        title: rule.title.clone(),
        severity,
        resource: rule.resource.clone(),
        use_kind: rule.use_kind,
        subject: subject.id.clone(),
        summary,
        evidence,
        cause: rule.cause.clone(),
        // A step wholly inside `[[ ]]` whose subject lacks what it names (kubectl for a process
        // outside any pod) renders empty and is left out.
        next_steps: rule
            .next_steps
            .iter()
            .map(|s| render(s, facts, subject))
            .filter(|s| !s.trim().is_empty())
            .collect(),
        value: rule
            .metric
            .and_then(|m| fact_value(facts, subject, m))
            .and_then(Value::as_f64),
        first_seen: None,
        new: None,
        held,
        subject_index: None,
    }
}

/// Fill `{fact}` and `{subject}` placeholders. A clause in `[[ ... ]]` is dropped when a fact it names is
/// absent (`--interval 0`, a kernel without the counter), or when a fact it names as `{!fact}` is
/// present; elsewhere an absent fact shows as `?`.
pub fn render(template: &str, facts: &Facts, subject: &Subject) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("[[") {
        out.push_str(&render_plain(&rest[..open], facts, subject).0);
        let after = &rest[open + 2..];
        let Some(close) = after.find("]]") else {
            rest = after;
            continue;
        };
        let (clause, complete) = render_plain(&after[..close], facts, subject);
        if complete {
            out.push_str(&clause);
        }
        rest = &after[close + 2..];
    }
    out.push_str(&render_plain(rest, facts, subject).0);
    out
}

/// Fill placeholders; the flag is false when some fact was absent.
fn render_plain(template: &str, facts: &Facts, subject: &Subject) -> (String, bool) {
    let mut complete = true;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open].replace("}}", "}"));
        let after = &rest[open + 1..];
        // `{{` and `}}` are literal braces (an awk program in a next step).
        if let Some(after_escape) = after.strip_prefix('{') {
            out.push('{');
            rest = after_escape;
            continue;
        }
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..].replace("}}", "}"));
            return (out, complete);
        };
        let name = after[..close].trim();
        if let Some(known) = name.strip_prefix('!') {
            // `{!fact}` prints nothing and makes its `[[ ]]` clause drop when the fact is present: a
            // next step that finds out what osdoctor already knows.
            if fact_value(facts, subject, known.trim()).is_some() {
                complete = false;
            }
        } else if name == "subject" {
            out.push_str(&subject.id.label());
        } else if let Some(id_field) = subject.id.field(name) {
            out.push_str(&id_field);
        } else {
            match fact_value(facts, subject, name) {
                Some(Value::Num(n)) => {
                    let unit = crate::facts::lookup(name)
                        .map(|d| d.unit)
                        .unwrap_or(crate::units::Unit::Number);
                    out.push_str(&format_value(*n, unit));
                }
                Some(Value::Text(t)) => out.push_str(t),
                None => {
                    complete = false;
                    out.push('?');
                }
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(&rest.replace("}}", "}"));
    (out, complete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{FactSet, SubjectId};
    use crate::rules::load::parse_rules;

    fn facts_with(f: impl FnOnce(&mut FactSet)) -> Facts {
        let mut set = FactSet::default();
        f(&mut set);
        Facts {
            host: Subject {
                id: SubjectId::host(),
                facts: set,
            },
            subjects: Default::default(),
            single_sample: false,
            missing_subjects: Default::default(),
            absent_subjects: Default::default(),
            coverage: Default::default(),
        }
    }

    const RULE: &str = r#"
[[rule]]
id = "mem.test"
title = "t"
resource = "memory"
use = "utilization"
subject = "host"
metric = "host.mem.available_ratio"
warn = { le = "10%" }
crit = { all = [ { le = "5%" }, { any = [ { fact = "host.psi.memory.some_avg10", ge = 10 }, { fact = "host.vm.pgmajfault_rate", ge = 500 } ] } ] }
clear = { gt = "12%" }
summary = "{host.mem.available_ratio} available"
cause = "c"
next_steps = ["free -m"]
provenance = "p"
"#;

    fn run(facts: &Facts, prev: Option<Severity>) -> Outcome {
        let rules = parse_rules("t.toml", RULE).unwrap();
        evaluate(&rules, facts, &|_, _| prev)
    }

    #[test]
    fn levels_and_three_valued_any() {
        // 4% available, no PSI at all but major faults high: `any` is true although one branch is unknown.
        let f = facts_with(|s| {
            s.num("host.mem.available_ratio", 0.04);
            s.num("host.vm.pgmajfault_rate", 900.0);
        });
        let out = run(&f, None);
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].severity, Severity::Critical);
        assert_eq!(out.findings[0].summary, "4.0% available");
        // Without any pressure evidence the crit level is unknown and the warn level holds.
        let f = facts_with(|s| s.num("host.mem.available_ratio", 0.04));
        assert_eq!(run(&f, None).findings[0].severity, Severity::Warning);
        // Plenty available: quiet, and evaluated.
        let f = facts_with(|s| s.num("host.mem.available_ratio", 0.5));
        let out = run(&f, None);
        assert!(out.findings.is_empty());
        assert_eq!(out.evaluated, vec!["mem.test"]);
    }

    /// RULE with the form it takes inside a container.
    fn rule_in_container() -> Vec<Rule> {
        let text = format!(
            "{RULE}\n[rule.in_container]\nmetric = \"container.mem.available_ratio\"\ncrit = {{ le = \"5%\" }}\nsummary = \"{{container.mem.available_ratio}} of the container's limit left; the host's {{host.mem.available_ratio}}\"\n"
        );
        parse_rules("t.toml", &text).unwrap()
    }

    #[test]
    fn inside_a_container_a_host_rule_judges_the_containers_figures_and_names_its_cgroup() {
        let rules = rule_in_container();
        let inside = |s: &mut FactSet| {
            s.num("host.mem.available_ratio", 0.6);
            s.num("container.inside", 1.0);
            s.text("container.cgroup", "/");
        };
        // 4% of the limit left while the host has 60%: critical on the container's figure.
        let f = facts_with(|s| {
            inside(s);
            s.num("container.mem.available_ratio", 0.04);
        });
        let out = evaluate(&rules, &f, &|_, _| None);
        assert_eq!(out.findings.len(), 1, "{:?}", out.not_evaluated);
        let finding = &out.findings[0];
        assert_eq!(
            (finding.rule.as_str(), finding.severity, finding.value),
            ("mem.test", Severity::Critical, Some(0.04))
        );
        assert_eq!(
            finding.summary,
            "4.0% of the container's limit left; the host's 60.0%"
        );
        assert_eq!(finding.subject.kind, SubjectKind::Host);
        assert_eq!(finding.subject.cgroup.as_deref(), Some("/"));
        assert_eq!(finding.subject.display_label(), "container");
        assert_eq!(
            finding.cause, "c",
            "the rule's own cause where the form sets none"
        );
        // Without a memory limit the container uses the host's memory: the host's figures judge.
        let f = facts_with(|s| {
            inside(s);
            s.num("host.mem.available_ratio", 0.04);
            s.lacks("container.mem.available_ratio", "no memory limit");
        });
        let out = evaluate(&rules, &f, &|_, _| None);
        assert_eq!(out.findings[0].summary, "4.0% available");
        assert_eq!(out.findings[0].subject.cgroup, None);
        // Its figure unreadable: not evaluated, with the reason, never the host's figure instead.
        let f = facts_with(|s| {
            inside(s);
            s.num("host.mem.available_ratio", 0.04);
            s.absent("container.mem.available_ratio", "its own cgroup / was not read");
        });
        let out = evaluate(&rules, &f, &|_, _| None);
        assert!(out.findings.is_empty());
        assert_eq!(out.not_evaluated[0].reason, "its own cgroup / was not read");
        // Outside a container the form is never used.
        let f = facts_with(|s| {
            s.num("host.mem.available_ratio", 0.5);
            s.num("container.mem.available_ratio", 0.01);
        });
        assert!(evaluate(&rules, &f, &|_, _| None).findings.is_empty());
    }

    #[test]
    fn doubled_braces_are_literal_and_no_placeholder() {
        let f = facts_with(|s| s.num("host.mem.available_ratio", 0.04));
        let step = "ss -tan | awk '{{print $4}}' # {host.mem.available_ratio} {{x}";
        assert_eq!(render(step, &f, &f.host), "ss -tan | awk '{print $4}' # 4.0% {x}");
        assert_eq!(
            crate::rules::load::placeholders(step),
            ["host.mem.available_ratio"]
        );
    }

    #[test]
    fn missing_metric_is_not_evaluated_with_reason() {
        let f = facts_with(|s| s.absent("host.mem.available_ratio", "no MemAvailable"));
        let out = run(&f, None);
        assert!(out.findings.is_empty());
        assert_eq!(out.not_evaluated[0].rule, "mem.test");
        assert_eq!(out.not_evaluated[0].reason, "no MemAvailable");
    }

    #[test]
    fn hysteresis_holds_until_clear() {
        let f = facts_with(|s| s.num("host.mem.available_ratio", 0.11));
        assert!(run(&f, None).findings.is_empty());
        let held = run(&f, Some(Severity::Warning));
        assert_eq!(held.findings[0].severity, Severity::Warning);
        assert!(held.findings[0].held);
        let f = facts_with(|s| s.num("host.mem.available_ratio", 0.2));
        assert!(run(&f, Some(Severity::Warning)).findings.is_empty());
    }
}
