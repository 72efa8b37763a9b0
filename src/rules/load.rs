//! Parse and validate rule files. Every error names the file, line and column.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Join, Link, Op, Predicate, Rule, SubjectKind, UseKind};
use crate::facts;
use crate::units::Unit;

/// A rule file that does not load. Displayed as `FILE:LINE:COLUMN: message`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct LoadError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    title: String,
    resource: String,
    #[serde(rename = "use")]
    use_kind: Spanned<String>,
    subject: Spanned<String>,
    metric: Option<Spanned<String>>,
    when: Option<Spanned<RawPredicate>>,
    info: Option<Spanned<RawPredicate>>,
    warn: Option<Spanned<RawPredicate>>,
    crit: Option<Spanned<RawPredicate>>,
    clear: Option<Spanned<RawPredicate>>,
    #[serde(default)]
    evidence: Vec<Spanned<String>>,
    summary: Spanned<String>,
    cause: String,
    #[serde(default)]
    next_steps: Vec<String>,
    provenance: String,
    #[serde(default)]
    explains: Vec<Spanned<RawLink>>,
    in_container: Option<Spanned<RawInContainer>>,
}

/// `[rule.in_container]`: how a host rule judges a container when osdoctor runs inside one. Its
/// `metric` and `summary` are required; every other key it omits is the rule's own.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawInContainer {
    metric: Spanned<String>,
    when: Option<Spanned<RawPredicate>>,
    info: Option<Spanned<RawPredicate>>,
    warn: Option<Spanned<RawPredicate>>,
    crit: Option<Spanned<RawPredicate>>,
    clear: Option<Spanned<RawPredicate>>,
    evidence: Option<Vec<Spanned<String>>>,
    summary: Spanned<String>,
    cause: Option<String>,
    next_steps: Option<Vec<String>>,
    provenance: Option<String>,
}

/// `[[rule.explains]]`: a causal link.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawLink {
    effects: Vec<Spanned<String>>,
    join: Spanned<String>,
    when: Option<Spanned<RawPredicate>>,
    effect_when: Option<Spanned<RawPredicate>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawPredicate {
    fact: Option<Spanned<String>>,
    gt: Option<Spanned<toml::Value>>,
    ge: Option<Spanned<toml::Value>>,
    lt: Option<Spanned<toml::Value>>,
    le: Option<Spanned<toml::Value>>,
    eq: Option<Spanned<toml::Value>>,
    ne: Option<Spanned<toml::Value>>,
    all: Option<Vec<Spanned<RawPredicate>>>,
    any: Option<Vec<Spanned<RawPredicate>>>,
    not: Option<Box<Spanned<RawPredicate>>>,
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    /// Facts of any subject kind may be named (a link's `effect_when`, checked against each effect's
    /// kind once every rule is loaded).
    any_subject: bool,
}

impl Ctx<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> LoadError {
        let (line, column) = line_col(self.text, offset);
        LoadError {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    (line, column)
}

/// Parse one rule file's text. `file` names it in errors.
pub fn parse_rules(file: &str, text: &str) -> Result<Vec<Rule>, LoadError> {
    let ctx = Ctx {
        file,
        text,
        any_subject: false,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        ctx.err(offset, e.message().trim().to_string())
    })?;
    let mut ids = BTreeSet::new();
    let mut out = Vec::new();
    for spanned in raw.rule {
        let start = spanned.span().start;
        let rule = validate(&ctx, spanned.into_inner(), start)?;
        if !ids.insert(rule.id.clone()) {
            return Err(ctx.err(start, format!("rule {} is defined twice in this file", rule.id)));
        }
        out.push(rule);
    }
    Ok(out)
}

fn validate(ctx: &Ctx, raw: RawRule, start: usize) -> Result<Rule, LoadError> {
    let id = raw.id.get_ref().clone();
    let id_ok = id.contains('.')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_');
    if !id_ok {
        return Err(ctx.err(
            raw.id.span().start,
            format!("rule id {id:?} must look like resource.name (a-z, 0-9, _ and .)"),
        ));
    }
    let use_kind = UseKind::parse(raw.use_kind.get_ref()).ok_or_else(|| {
        ctx.err(
            raw.use_kind.span().start,
            format!(
                "use = {:?}: expected utilization, saturation, errors or config",
                raw.use_kind.get_ref()
            ),
        )
    })?;
    let subject = SubjectKind::from_name(raw.subject.get_ref()).ok_or_else(|| {
        ctx.err(
            raw.subject.span().start,
            format!(
                "subject = {:?}: expected one of {}",
                raw.subject.get_ref(),
                SubjectKind::ALL.map(SubjectKind::name).join(", ")
            ),
        )
    })?;
    let metric = match &raw.metric {
        Some(m) => Some(fact_name(ctx, m, subject)?),
        None => None,
    };
    let pred = |p: &Option<Spanned<RawPredicate>>| -> Result<Option<Predicate>, LoadError> {
        p.as_ref().map(|p| predicate(ctx, p, metric, subject)).transpose()
    };
    let when = pred(&raw.when)?;
    let info = pred(&raw.info)?;
    let warn = pred(&raw.warn)?;
    let crit = pred(&raw.crit)?;
    let clear = pred(&raw.clear)?;
    if info.is_none() && warn.is_none() && crit.is_none() {
        return Err(ctx.err(
            start,
            format!("rule {id}: needs at least one of info, warn or crit"),
        ));
    }
    if clear.is_some() && warn.is_none() && crit.is_none() {
        return Err(ctx.err(start, format!("rule {id}: clear needs a warn or crit level")));
    }
    let mut evidence = Vec::new();
    for e in &raw.evidence {
        evidence.push(fact_name(ctx, e, subject)?);
    }
    check_template(ctx, &raw.summary, subject)?;
    let explains = raw
        .explains
        .iter()
        .map(|link| parse_link(ctx, link, subject))
        .collect::<Result<Vec<_>, _>>()?;
    let in_container = match &raw.in_container {
        None => None,
        Some(ic) if subject != SubjectKind::Host => {
            return Err(ctx.err(
                ic.span().start,
                format!(
                    "rule {id}: in_container applies only to host rules (this one's subject is {subject})"
                ),
            ));
        }
        Some(ic) => {
            let ic = ic.get_ref().clone();
            let variant = RawRule {
                metric: Some(ic.metric),
                when: ic.when.or(raw.when.clone()),
                info: ic.info.or(raw.info.clone()),
                warn: ic.warn.or(raw.warn.clone()),
                crit: ic.crit.or(raw.crit.clone()),
                clear: ic.clear.or(raw.clear.clone()),
                evidence: ic.evidence.unwrap_or_else(|| raw.evidence.clone()),
                summary: ic.summary,
                cause: ic.cause.unwrap_or_else(|| raw.cause.clone()),
                next_steps: ic.next_steps.unwrap_or_else(|| raw.next_steps.clone()),
                provenance: ic.provenance.unwrap_or_else(|| raw.provenance.clone()),
                explains: Vec::new(),
                in_container: None,
                ..raw.clone()
            };
            Some(Box::new(validate(ctx, variant, start)?))
        }
    };
    Ok(Rule {
        id,
        title: raw.title,
        resource: raw.resource,
        use_kind,
        subject,
        metric,
        when,
        info,
        warn,
        crit,
        clear,
        evidence,
        summary: raw.summary.into_inner(),
        cause: raw.cause.trim().to_string(),
        next_steps: raw.next_steps,
        provenance: raw.provenance,
        origin: ctx.file.to_string(),
        explains,
        in_container,
    })
}

/// One `[[rule.explains]]` entry: effects named by id (checked once every rule is loaded), a join,
/// and conditions over the cause's facts (`when`) and the effect's (`effect_when`).
fn parse_link(ctx: &Ctx, link: &Spanned<RawLink>, subject: SubjectKind) -> Result<Link, LoadError> {
    let at = link.span().start;
    let raw = link.get_ref();
    if raw.effects.is_empty() {
        return Err(ctx.err(at, "explains: `effects` names at least one rule id"));
    }
    let join = Join::parse(raw.join.get_ref()).ok_or_else(|| {
        ctx.err(
            raw.join.span().start,
            format!(
                "join = {:?}: expected one of {}",
                raw.join.get_ref(),
                Join::ALL.map(Join::name).join(", ")
            ),
        )
    })?;
    if !join_fits(join, subject) {
        return Err(ctx.err(
            raw.join.span().start,
            format!(
                "join = {:?} does not apply to a cause whose subject is {subject}",
                join.name()
            ),
        ));
    }
    let when = raw
        .when
        .as_ref()
        .map(|p| predicate(ctx, p, None, subject))
        .transpose()?;
    let any = Ctx {
        any_subject: true,
        ..*ctx
    };
    let effect_when = raw
        .effect_when
        .as_ref()
        .map(|p| predicate(&any, p, None, subject))
        .transpose()?;
    let (line, column) = line_col(ctx.text, at);
    Ok(Link {
        effects: raw.effects.iter().map(|e| e.get_ref().clone()).collect(),
        join,
        when,
        effect_when,
        line,
        column,
    })
}

/// Whether findings of rules on this subject kind carry what the join compares (kernel-event rules
/// give findings on processes, cgroups and devices).
pub fn join_fits(join: Join, kind: SubjectKind) -> bool {
    use SubjectKind as K;
    match join {
        Join::Host => true,
        Join::SameProcess | Join::OtherProcess => matches!(kind, K::Process | K::KernelEvent),
        Join::SameCgroup | Join::CgroupSubtree => matches!(kind, K::Cgroup | K::Process | K::KernelEvent),
        Join::SameUser => matches!(kind, K::User | K::Process | K::KernelEvent),
        Join::SameDevice => matches!(kind, K::Disk | K::Mount | K::KernelEvent),
        Join::SameMount => matches!(kind, K::Mount | K::Process | K::KernelEvent),
        // A process or cgroup cause; the host effect whose listeners it holds.
        Join::Listener => matches!(kind, K::Process | K::Cgroup | K::Host),
    }
}

/// A fact name that exists and that a rule on `subject` can see (its own kind's facts or the host's).
fn fact_name(ctx: &Ctx, name: &Spanned<String>, subject: SubjectKind) -> Result<&'static str, LoadError> {
    let n = name.get_ref();
    let Some(def) = facts::lookup(n) else {
        let hint = suggest(n)
            .map(|s| format!(" (did you mean {s}?)"))
            .unwrap_or_default();
        return Err(ctx.err(
            name.span().start,
            format!("unknown fact {n:?}{hint}; `osdoctor rules facts` lists them"),
        ));
    };
    if !ctx.any_subject && def.subject != subject && def.subject != SubjectKind::Host {
        return Err(ctx.err(
            name.span().start,
            format!(
                "fact {n} belongs to {} subjects; this rule's subject is {subject}",
                def.subject
            ),
        ));
    }
    Ok(def.name)
}

/// The catalogue name sharing the longest prefix with `n`.
fn suggest(n: &str) -> Option<&'static str> {
    facts::catalog()
        .map(|d| {
            (
                d.name.chars().zip(n.chars()).take_while(|(a, b)| a == b).count(),
                d.name,
            )
        })
        .filter(|(common, _)| *common >= 5)
        .max_by_key(|(common, _)| *common)
        .map(|(_, name)| name)
}

fn predicate(
    ctx: &Ctx,
    p: &Spanned<RawPredicate>,
    metric: Option<&'static str>,
    subject: SubjectKind,
) -> Result<Predicate, LoadError> {
    let at = p.span().start;
    let raw = p.get_ref();
    let comparisons: Vec<(Op, &Spanned<toml::Value>)> = [
        (Op::Gt, &raw.gt),
        (Op::Ge, &raw.ge),
        (Op::Lt, &raw.lt),
        (Op::Le, &raw.le),
        (Op::Eq, &raw.eq),
        (Op::Ne, &raw.ne),
    ]
    .into_iter()
    .filter_map(|(op, v)| v.as_ref().map(|v| (op, v)))
    .collect();
    let forms = comparisons.len().min(1)
        + usize::from(raw.all.is_some())
        + usize::from(raw.any.is_some())
        + usize::from(raw.not.is_some());
    if forms != 1 || comparisons.len() > 1 {
        return Err(ctx.err(
            at,
            "a predicate needs exactly one of: a comparison (gt, ge, lt, le, eq, ne), all, any, not",
        ));
    }
    if raw.fact.is_some() && comparisons.is_empty() {
        return Err(ctx.err(at, "`fact` goes with a comparison (gt, ge, lt, le, eq, ne)"));
    }
    let list = |v: &Vec<Spanned<RawPredicate>>| -> Result<Vec<Predicate>, LoadError> {
        if v.is_empty() {
            return Err(ctx.err(at, "all/any needs at least one predicate"));
        }
        v.iter().map(|p| predicate(ctx, p, metric, subject)).collect()
    };
    if let Some(v) = &raw.all {
        return Ok(Predicate::All(list(v)?));
    }
    if let Some(v) = &raw.any {
        return Ok(Predicate::Any(list(v)?));
    }
    if let Some(inner) = &raw.not {
        return Ok(Predicate::Not(Box::new(predicate(ctx, inner, metric, subject)?)));
    }
    let (op, value) = comparisons[0];
    let fact = match &raw.fact {
        Some(f) => fact_name(ctx, f, subject)?,
        None => {
            metric.ok_or_else(|| ctx.err(at, "this comparison has no `fact` and the rule has no `metric`"))?
        }
    };
    let unit = facts::lookup(fact).map(|d| d.unit).unwrap_or(Unit::Number);
    if unit == Unit::Text {
        return match (op, value.get_ref()) {
            (Op::Eq | Op::Ne, toml::Value::String(s)) => Ok(Predicate::TextEq {
                fact,
                value: s.clone(),
                negate: op == Op::Ne,
            }),
            _ => Err(ctx.err(
                value.span().start,
                format!("{fact} is text: only eq or ne with a string apply to it"),
            )),
        };
    }
    let threshold =
        threshold(value.get_ref(), unit).map_err(|m| ctx.err(value.span().start, format!("{fact}: {m}")))?;
    Ok(Predicate::Compare { fact, op, threshold })
}

/// A threshold in the fact's own unit.
pub fn threshold(v: &toml::Value, unit: Unit) -> Result<f64, String> {
    match v {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Ok(*f),
        toml::Value::String(s) => parse_threshold(s, unit),
        other => Err(format!(
            "threshold must be a number or a string such as \"80%\", found {}",
            other.type_str()
        )),
    }
}

/// `"80%"`, `"512MiB"`, `"10/s"`, `"1e3"` in the given unit.
pub fn parse_threshold(s: &str, unit: Unit) -> Result<f64, String> {
    let t = s.trim();
    let num = |x: &str| x.trim().parse::<f64>().ok().filter(|f| f.is_finite());
    if let Some(p) = t.strip_suffix('%') {
        let n = num(p).ok_or_else(|| format!("bad percentage {s:?}"))?;
        return match unit {
            Unit::Ratio => Ok(n / 100.0),
            Unit::Percent => Ok(n),
            other => Err(format!(
                "a percentage does not fit a fact measured in {}",
                other.name()
            )),
        };
    }
    if let Some(r) = t.strip_suffix("/s") {
        let n = num(r).ok_or_else(|| format!("bad rate {s:?}"))?;
        return match unit {
            Unit::PerSecond | Unit::PagesPerSecond => Ok(n),
            other => Err(format!("a rate does not fit a fact measured in {}", other.name())),
        };
    }
    const SIZES: &[(&str, f64)] = &[
        ("KiB", 1024.0),
        ("MiB", 1048576.0),
        ("GiB", 1073741824.0),
        ("TiB", 1099511627776.0),
        ("kB", 1e3),
        ("KB", 1e3),
        ("MB", 1e6),
        ("GB", 1e9),
        ("TB", 1e12),
        ("B", 1.0),
    ];
    for (suffix, mult) in SIZES {
        if let Some(n) = t.strip_suffix(suffix) {
            let n = num(n).ok_or_else(|| format!("bad size {s:?}"))?;
            return match unit {
                Unit::Bytes => Ok(n * mult),
                other => Err(format!("a size does not fit a fact measured in {}", other.name())),
            };
        }
    }
    num(t).ok_or_else(|| format!("bad threshold {s:?}: expected a number, \"80%\", \"512MiB\" or \"10/s\""))
}

/// Every `{placeholder}` must be a known fact the subject can see, or a part of the subject.
fn check_template(ctx: &Ctx, template: &Spanned<String>, subject: SubjectKind) -> Result<(), LoadError> {
    // `{!fact}` drops the `[[ ]]` clause it is in: outside one, or on a part of the subject, it
    // would silently do nothing.
    let text = template.get_ref();
    let mut rest = text.as_str();
    let mut depth_ok = Vec::new();
    while let Some(open) = rest.find("[[") {
        let after = &rest[open + 2..];
        let close = after.find("]]").unwrap_or(after.len());
        depth_ok.push(&after[..close]);
        rest = after.get(close + 2..).unwrap_or("");
    }
    for raw in raw_placeholders(text) {
        let Some(name) = raw.strip_prefix('!').map(str::trim) else {
            continue;
        };
        let inside = depth_ok
            .iter()
            .any(|clause| clause.contains(&format!("{{{raw}}}")));
        if !inside || names_subject(name) {
            return Err(ctx.err(
                template.span().start,
                format!(
                    "{{{raw}}}: `{{!fact}}` names a fact whose presence drops the `[[ ... ]]` clause it is in; \
                     it must be inside one and name a fact"
                ),
            ));
        }
    }
    for name in placeholders(template.get_ref()) {
        if names_subject(name) {
            continue;
        }
        let spanned = Spanned::new(template.span(), name.to_string());
        fact_name(ctx, &spanned, subject)?;
    }
    Ok(())
}

/// A placeholder that names the subject (`{subject}`, its label) or a part of it (`{pid}`, ...:
/// [`facts::SUBJECT_FIELDS`]) rather than a fact.
pub fn names_subject(name: &str) -> bool {
    name == "subject" || facts::SUBJECT_FIELDS.contains(&name) || facts::DERIVED_FIELDS.contains(&name)
}

/// The placeholders of a template as written (`!fact` keeps its `!`).
fn raw_placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(after_escape) = after.strip_prefix('{') {
            rest = after_escape;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        out.push(after[..close].trim());
        rest = &after[close + 1..];
    }
    out
}

/// The names inside `{...}` in a template (`{!fact}` names the fact too).
pub fn placeholders(template: &str) -> Vec<&str> {
    raw_placeholders(template)
        .into_iter()
        .map(|n| n.trim_start_matches('!').trim())
        .collect()
}

/// Load every `*.toml` in a directory, in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, LoadError> {
    let not_loadable = |message: String| LoadError {
        file: dir.display().to_string(),
        line: 0,
        column: 0,
        message,
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| not_loadable(format!("cannot read the rules directory: {e}")))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(not_loadable("no *.toml rule files in this directory".to_string()));
    }
    let mut rules: Vec<Rule> = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(&f).map_err(|e| LoadError {
            file: name.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        })?;
        for rule in parse_rules(&name, &text)? {
            // Two files of one directory with one id: which one counts would depend on file names.
            if let Some(first) = rules.iter().find(|r| r.id == rule.id) {
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with("id") && l.contains(&format!("\"{}\"", rule.id)))
                    .map_or(0, |i| i + 1);
                return Err(LoadError {
                    file: name,
                    line,
                    column: 1,
                    message: format!(
                        "rule {} is also defined in {}: one id, one rule",
                        rule.id, first.origin
                    ),
                });
            }
            rules.push(rule);
        }
    }
    Ok(rules)
}

/// Check the causal links of a whole rule set (built-ins with `--rules DIR` merged): every effect is a
/// loaded rule, the join fits its subject kind, and `effect_when` names facts the effect can see.
pub fn check_links(rules: &[Rule]) -> Result<(), LoadError> {
    for rule in rules {
        for link in &rule.explains {
            let err = |message: String| LoadError {
                file: rule.origin.clone(),
                line: link.line,
                column: link.column,
                message: format!("rule {}: {message}", rule.id),
            };
            for effect_id in &link.effects {
                let Some(effect) = rules.iter().find(|r| &r.id == effect_id) else {
                    return Err(err(format!("explains unknown rule {effect_id:?}")));
                };
                if effect.id == rule.id {
                    return Err(err("a rule cannot explain itself".to_string()));
                }
                if !join_fits(link.join, effect.subject) {
                    return Err(err(format!(
                        "join = {:?} does not apply to {effect_id}, whose subject is {}",
                        link.join.name(),
                        effect.subject
                    )));
                }
                let mut names = Vec::new();
                if let Some(p) = &link.effect_when {
                    p.facts(&mut names);
                }
                for name in names {
                    let def = facts::lookup(name).expect("checked at parse time");
                    if def.subject != effect.subject && def.subject != SubjectKind::Host {
                        return Err(err(format!(
                            "effect_when names {name}, a fact of {} subjects; {effect_id} is about {}",
                            def.subject, effect.subject
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[rule]]
id = "cpu.test"
title = "t"
resource = "cpu"
use = "saturation"
subject = "host"
metric = "host.cpu.busy_ratio"
warn = { ge = "90%" }
crit = { all = [ { ge = "98%" }, { any = [ { fact = "host.psi.cpu.some_avg10", ge = "25%" }, { not = { fact = "host.cpus", lt = 2 } } ] } ] }
clear = { lt = 0.85 }
summary = "busy {host.cpu.busy_ratio} on {subject}"
cause = "c"
provenance = "p"
"#;

    #[test]
    fn loads_a_rule_with_units() {
        let rules = parse_rules("t.toml", GOOD).unwrap();
        let r = &rules[0];
        assert_eq!(
            r.warn,
            Some(Predicate::Compare {
                fact: "host.cpu.busy_ratio",
                op: Op::Ge,
                threshold: 0.9
            })
        );
        let Some(Predicate::All(parts)) = &r.crit else {
            panic!()
        };
        let Predicate::Any(any) = &parts[1] else { panic!() };
        // "25%" on a percent fact stays 25.
        assert_eq!(
            any[0],
            Predicate::Compare {
                fact: "host.psi.cpu.some_avg10",
                op: Op::Ge,
                threshold: 25.0
            }
        );
        assert_eq!(
            r.evidence_facts(),
            vec!["host.cpu.busy_ratio", "host.psi.cpu.some_avg10", "host.cpus"]
        );
    }

    fn err(text: &str) -> LoadError {
        parse_rules("bad.toml", text).unwrap_err()
    }

    #[test]
    fn an_in_container_form_keeps_what_it_does_not_set_and_compares_its_own_metric() {
        let text = format!(
            "{GOOD}\n[rule.in_container]\nmetric = \"container.cpu.busy_ratio\"\nsummary = \"{{container.cpu.busy_ratio}}\"\n"
        );
        let rules = parse_rules("t.toml", &text).unwrap();
        let v = rules[0].in_container.as_deref().expect("the form");
        assert_eq!(
            (v.id.as_str(), v.metric),
            ("cpu.test", Some("container.cpu.busy_ratio"))
        );
        // A level without `fact` compares the form's metric; one that names a fact keeps it.
        assert_eq!(
            v.warn,
            Some(Predicate::Compare {
                fact: "container.cpu.busy_ratio",
                op: Op::Ge,
                threshold: 0.9
            })
        );
        let mut crit_facts = Vec::new();
        v.crit.as_ref().unwrap().facts(&mut crit_facts);
        assert_eq!(
            crit_facts,
            ["container.cpu.busy_ratio", "host.psi.cpu.some_avg10", "host.cpus"]
        );
        assert_eq!((v.cause.as_str(), v.provenance.as_str()), ("c", "p"));
        assert!(v.explains.is_empty() && v.in_container.is_none());

        // Only a host rule has one; an unknown fact in it is named with its line.
        let process_rule = "[[rule]]\nid = \"proc.test\"\ntitle = \"t\"\nresource = \"cpu\"\nuse = \"utilization\"\nsubject = \"process\"\nmetric = \"proc.cpu.cores\"\nwarn = { ge = 1 }\nsummary = \"s\"\ncause = \"c\"\nprovenance = \"p\"\n[rule.in_container]\nmetric = \"container.cpu.busy_ratio\"\nsummary = \"s\"\n";
        let e = err(process_rule);
        assert!(
            e.message.contains("in_container applies only to host rules"),
            "{e}"
        );
        assert_eq!(e.line, 12, "{e}");
        let e = err(&text.replace(
            "container.cpu.busy_ratio\"\nsummary",
            "container.cpu.busy\"\nsummary",
        ));
        assert!(e.message.contains("container.cpu.busy"), "{e}");
        assert_eq!(e.line, 17, "{e}");
    }

    const LINKED: &str = r#"
[[rule]]
id = "cpu.cause"
title = "t"
resource = "cpu"
use = "saturation"
subject = "process"
metric = "proc.cpu.cores"
warn = { ge = 1 }
summary = "s"
cause = "c"
provenance = "p"

[[rule.explains]]
effects = ["cpu.runqueue"]
join = "host"
when = { fact = "proc.cpu_share_of_busy", ge = "50%" }
"#;

    #[test]
    fn links_load_with_their_join_and_conditions() {
        let rules = parse_rules("l.toml", LINKED).unwrap();
        let link = &rules[0].explains[0];
        assert_eq!(link.effects, vec!["cpu.runqueue".to_string()]);
        assert_eq!(link.join, Join::Host);
        assert_eq!(
            link.when,
            Some(Predicate::Compare {
                fact: "proc.cpu_share_of_busy",
                op: Op::Ge,
                threshold: 0.5
            })
        );
        assert_eq!((link.line, link.column), (14, 1));
        let mut all = crate::rules::catalog::builtin().unwrap();
        all.extend(rules);
        check_links(&all).unwrap();
    }

    #[test]
    fn a_bad_join_or_an_unknown_effect_names_file_line_and_column() {
        let e = err(&LINKED.replace("join = \"host\"", "join = \"same_pod\""));
        assert_eq!((e.file.as_str(), e.line, e.column), ("bad.toml", 16, 8), "{e}");
        assert!(e.message.contains("expected one of host, same_process"), "{e}");

        // A host cause carries no pid to join on.
        let e = err(&LINKED
            .replace("subject = \"process\"", "subject = \"host\"")
            .replace("metric = \"proc.cpu.cores\"", "metric = \"host.cpus\"")
            .replace("join = \"host\"", "join = \"same_process\"")
            .replace("when = { fact = \"proc.cpu_share_of_busy\", ge = \"50%\" }", ""));
        assert_eq!(e.line, 16, "{e}");
        assert!(
            e.message
                .contains("does not apply to a cause whose subject is host"),
            "{e}"
        );

        // Effects are checked once every rule is loaded.
        let rules = parse_rules("l.toml", &LINKED.replace("cpu.runqueue", "cpu.nope")).unwrap();
        let e = check_links(&rules).unwrap_err();
        assert_eq!((e.file.as_str(), e.line, e.column), ("l.toml", 14, 1), "{e}");
        assert!(e.message.contains("explains unknown rule \"cpu.nope\""), "{e}");

        // effect_when names a fact the effect can see.
        let text = LINKED.replace(
            "when = { fact = \"proc.cpu_share_of_busy\", ge = \"50%\" }",
            "effect_when = { fact = \"cgroup.procs\", ge = 1 }",
        );
        let mut all = crate::rules::catalog::builtin().unwrap();
        all.extend(parse_rules("l.toml", &text).unwrap());
        let e = check_links(&all).unwrap_err();
        assert!(e.message.contains("effect_when names cgroup.procs"), "{e}");
    }

    #[test]
    fn unknown_fact_names_line_and_column() {
        let e = err(&GOOD.replace("metric = \"host.cpu.busy_ratio\"", "metric = \"host.cpu.busy\""));
        assert_eq!((e.line, e.column), (8, 10), "{e}");
        assert!(e.message.contains("did you mean host.cpu.busy_ratio"), "{e}");
    }

    #[test]
    fn unknown_field_and_garbage() {
        let e = err(&GOOD.replace("cause = \"c\"", "cause = \"c\"\ncolour = \"red\""));
        assert_eq!((e.line, e.column), (14, 1), "{e}");
        assert!(e.message.contains("colour"), "{e}");
        let e = err("this is [ not toml");
        assert_eq!(e.line, 1, "{e}");
        assert!(e.to_string().starts_with("bad.toml:1:"), "{e}");
    }

    #[test]
    fn bad_values() {
        let e = err(&GOOD.replace("warn = { ge = \"90%\" }", "warn = { ge = \"90MiB\" }"));
        assert!(e.message.contains("a size does not fit"), "{e}");
        assert_eq!(e.line, 9);
        let e = err(&GOOD.replace("warn = { ge = \"90%\" }", "warn = { ge = 1, le = 2 }"));
        assert!(e.message.contains("exactly one"), "{e}");
        let e = err(&GOOD.replace("use = \"saturation\"", "use = \"pressure\""));
        assert!(e.message.contains("expected utilization"), "{e}");
        let e = err(&GOOD.replace("{subject}", "{host.nope}"));
        assert!(e.message.contains("unknown fact"), "{e}");
        let e = err(&GOOD.replace("id = \"cpu.test\"", "id = \"CPU test\""));
        assert!(e.message.contains("must look like"), "{e}");
    }

    #[test]
    fn a_known_fact_drops_only_a_clause() {
        let with = |summary: &str| GOOD.replace("busy {host.cpu.busy_ratio} on {subject}", summary);
        assert!(parse_rules("t.toml", &with("busy[[ {!host.cpus}, cpus unknown]]")).is_ok());
        let e = err(&with("busy {!host.cpus}"));
        assert!(e.message.contains("must be inside one"), "{e}");
        let e = err(&with("busy[[ {!subject} x]]"));
        assert!(e.message.contains("name a fact"), "{e}");
        let e = err(&with("busy[[ {!host.nope} x]]"));
        assert!(e.message.contains("unknown fact"), "{e}");
    }

    #[test]
    fn thresholds() {
        assert_eq!(parse_threshold("512MiB", Unit::Bytes), Ok(536870912.0));
        assert_eq!(parse_threshold("10/s", Unit::PerSecond), Ok(10.0));
        assert_eq!(parse_threshold("2.5", Unit::Number), Ok(2.5));
        assert!(parse_threshold("80%", Unit::Bytes).is_err());
        assert!(parse_threshold("lots", Unit::Count).is_err());
    }
}
