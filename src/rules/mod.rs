//! Rules are data: `rules/*.toml`, embedded at build time, extended or overridden with `--rules DIR`.
//!
//! # Rule file format
//!
//! ```toml
//! [[rule]]
//! id = "cpu.runqueue"                 # stable id: reports, Prometheus series and runbooks name it
//! title = "More runnable tasks than CPUs"
//! resource = "cpu"                    # the USE grid row
//! use = "saturation"                  # utilization | saturation | errors | config
//! subject = "host"                    # host | process | cgroup | user | disk | nic | mount | numa_node
//! metric = "host.cpu.runnable_per_cpu" # the headline number; predicates without `fact` compare it
//! when = { fact = "host.cpus", ge = 1 }      # optional guard: the rule is quiet when false
//! warn = { ge = 2 }                   # predicates (see below); at least one of info/warn/crit
//! crit = { ge = 4 }
//! clear = { lt = 1.8 }                # with --state: a firing rule stays firing until this holds
//! evidence = ["host.load1_per_cpu"]   # more facts to show; facts named above are shown anyway
//! summary = "{host.cpu.runnable_per_cpu} runnable tasks per CPU"  # {fact} placeholders, {subject}
//! cause = "The OS mechanism, in plain words."
//! next_steps = ["vmstat 1 5"]
//! provenance = "Where the thresholds come from."
//!
//! [rule.in_container]                 # optional, host rules only: the rule inside a container
//! metric = "container.cpu.runnable_per_cpu"
//! summary = "{container.cpu.runnable_per_cpu} runnable tasks per CPU the container may use"
//! # when, info, warn, crit, clear, evidence, cause, next_steps, provenance: the rule's own unless set
//! ```
//!
//! Inside a container, /proc/stat, /proc/meminfo and /proc/pressure describe the whole host. A host
//! rule with `[rule.in_container]` is judged there on the container's figures instead (its limits and
//! its own cgroup: [`crate::facts::container`]): levels without a `fact` compare the variant's metric.
//! A container without the limit the metric needs (no memory limit) uses the host's resource, and
//! the rule judges the host's figures as outside.
//!
//! A predicate is a table with exactly one form:
//! - a comparison: `{ fact = "NAME", ge = 10 }` with one of `gt`, `ge`, `lt`, `le`, `eq`, `ne`; `fact`
//!   defaults to the rule's metric. Thresholds are numbers or strings with a unit the fact accepts:
//!   `"80%"` (a ratio fact: 0.8; a percent fact: 80), `"512MiB"`/`"2GB"` (bytes), `"10/s"` (rates).
//! - `{ all = [ ... ] }`, `{ any = [ ... ] }`, `{ not = { ... } }`.
//!
//! Templates (summary, next steps): `{fact}` is the fact's value (`?` when absent), `{subject}` and the
//! subject's fields (`{pid}`, `{cgroup}`, ...) name it, `{{`/`}}` are literal braces; a clause in
//! `[[ ... ]]` is dropped when a fact it names is absent, or when a fact it names as `{!fact}` is
//! present (a next step that finds out what the finding already says); a step that renders empty is
//! left out.
//!
//! Evaluation is three-valued: a comparison on a fact this subject lacks is *unknown*; `any` is true if
//! one branch is true even when others are unknown. A rule whose guard or warn level is unknown on every
//! subject is reported as not evaluated, with the reason.
//!
//! # Causal links
//!
//! A rule may say which findings its own finding explains, one `[[rule.explains]]` table per link,
//! after the rule's keys:
//!
//! ```toml
//! [[rule.explains]]
//! effects = ["cpu.runqueue", "cpu.pressure"]   # rule ids (checked once every rule is loaded)
//! join = "host"                     # how the effect's subject relates to the cause's (below)
//! when = { fact = "proc.cpu_share_of_busy", ge = "50%" }       # optional, over the cause's facts
//! effect_when = { fact = "cgroup.psi.worst_resource", eq = "cpu" } # optional, over the effect's
//! ```
//!
//! Joins: `host` (any subject), `same_process` (pid, and start time where both know it),
//! `other_process`, `same_cgroup`, `cgroup_subtree` (the effect's cgroup is the cause's or below it;
//! a process counts by every cgroup it is in), `same_user`, `same_device` (the block device: a disk,
//! a kernel event's device, a mount's device under /dev), `same_mount` (the mount point a mount
//! subject is named by; a process is on the mounts it holds deleted files on). A join must
//! fit both rules' subject kinds (a host rule has no pid to join on). Conditions are predicates as
//! above; they see the host's facts too, so ratios across subjects are facts of the cause
//! (`proc.ctxt_share_of_host`, `cgroup.cpu.share_of_host_busy`, ...). A condition whose fact is absent
//! does not hold: no link without evidence in the numbers. Errors (an unknown effect, a join that does
//! not fit, an `effect_when` fact the effect cannot see) name the file, line and column of the link.
//!
//! [`diagnose`] turns the links into stories: an effect claimed twice goes to the stronger cause
//! (higher severity, then the rule listed first, then the link written first), chains are
//! transitive, a link that would close a circle is dropped, and every finding is in exactly one
//! diagnosis. `osdoctor rules explain ID` shows a rule's links and the rules that explain it.

pub mod catalog;
pub mod diagnose;
pub mod eval;
pub mod finding;
pub mod ignore;
pub mod load;

use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// The USE kind of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UseKind {
    Utilization,
    Saturation,
    Errors,
    Config,
}

impl UseKind {
    pub fn name(self) -> &'static str {
        match self {
            UseKind::Utilization => "utilization",
            UseKind::Saturation => "saturation",
            UseKind::Errors => "errors",
            UseKind::Config => "config",
        }
    }
    pub fn parse(s: &str) -> Option<UseKind> {
        Some(match s {
            "utilization" => UseKind::Utilization,
            "saturation" => UseKind::Saturation,
            "errors" => UseKind::Errors,
            "config" => UseKind::Config,
            _ => return None,
        })
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
            Op::Eq => value == threshold,
            Op::Ne => value != threshold,
        }
    }
}

/// A condition over facts.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    Compare {
        fact: &'static str,
        op: Op,
        threshold: f64,
    },
    /// `eq`/`ne` on a text fact (`{ fact = "event.kind", eq = "oom_kill" }`).
    TextEq {
        fact: &'static str,
        value: String,
        negate: bool,
    },
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
}

impl Predicate {
    /// Every fact the predicate reads, in order of first use.
    pub fn facts(&self, out: &mut Vec<&'static str>) {
        match self {
            Predicate::Compare { fact, .. } | Predicate::TextEq { fact, .. } => {
                if !out.contains(fact) {
                    out.push(fact);
                }
            }
            Predicate::All(v) | Predicate::Any(v) => v.iter().for_each(|p| p.facts(out)),
            Predicate::Not(p) => p.facts(out),
        }
    }

    /// A compact human form, e.g. `host.cpu.busy_ratio >= 90%`.
    pub fn describe(&self) -> String {
        match self {
            Predicate::Compare { fact, op, threshold } => {
                let unit = crate::facts::lookup(fact)
                    .map(|d| d.unit)
                    .unwrap_or(crate::units::Unit::Number);
                format!(
                    "{fact} {} {}",
                    op.symbol(),
                    crate::units::format_value(*threshold, unit)
                )
            }
            Predicate::TextEq { fact, value, negate } => {
                format!("{fact} {} {value:?}", if *negate { "!=" } else { "==" })
            }
            Predicate::All(v) => {
                format!(
                    "({})",
                    v.iter()
                        .map(Predicate::describe)
                        .collect::<Vec<_>>()
                        .join(" and ")
                )
            }
            Predicate::Any(v) => {
                format!(
                    "({})",
                    v.iter().map(Predicate::describe).collect::<Vec<_>>().join(" or ")
                )
            }
            Predicate::Not(p) => format!("not {}", p.describe()),
        }
    }
}

/// A loaded, validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub resource: String,
    pub use_kind: UseKind,
    pub subject: SubjectKind,
    pub metric: Option<&'static str>,
    pub when: Option<Predicate>,
    pub info: Option<Predicate>,
    pub warn: Option<Predicate>,
    pub crit: Option<Predicate>,
    pub clear: Option<Predicate>,
    pub evidence: Vec<&'static str>,
    pub summary: String,
    pub cause: String,
    pub next_steps: Vec<String>,
    pub provenance: String,
    /// Where it was loaded from (`rules/cpu.toml` for built-ins).
    pub origin: String,
    /// The findings this rule's finding explains (`[[rule.explains]]`): causal links.
    pub explains: Vec<Link>,
    /// How a host rule judges a container osdoctor runs inside (`[rule.in_container]`): the same
    /// rule (id, title, USE cell, links) with its own metric, levels, summary and evidence. Used when
    /// the host facts say `container.inside` and its metric is not lacked (a container without that
    /// limit uses the host's resource, and the host's figures judge it).
    pub in_container: Option<Box<Rule>>,
}

/// How a cause's subject and an effect's subject must be related for a causal link to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// Anywhere on the host: the effect may be about any subject.
    Host,
    /// The same process (pid, and start time where both findings know it).
    SameProcess,
    /// A process other than the cause's.
    OtherProcess,
    /// The same cgroup path.
    SameCgroup,
    /// The effect's cgroup is the cause's or below it (a process in it counts by its cgroup).
    CgroupSubtree,
    /// The same user.
    SameUser,
    /// The same block device.
    SameDevice,
    /// The same mount point (a process: one it holds deleted files on).
    SameMount,
    /// The effect (the host's listen overflow) names the listening sockets whose accept queue was at
    /// its limit: the cause is a process holding one, or a cgroup one of their holders is in or below.
    Listener,
}

impl Join {
    pub const ALL: [Join; 9] = [
        Join::Host,
        Join::SameProcess,
        Join::OtherProcess,
        Join::SameCgroup,
        Join::CgroupSubtree,
        Join::SameUser,
        Join::SameDevice,
        Join::SameMount,
        Join::Listener,
    ];

    /// The name rule files use.
    pub fn name(self) -> &'static str {
        match self {
            Join::Host => "host",
            Join::SameProcess => "same_process",
            Join::OtherProcess => "other_process",
            Join::SameCgroup => "same_cgroup",
            Join::CgroupSubtree => "cgroup_subtree",
            Join::SameUser => "same_user",
            Join::SameDevice => "same_device",
            Join::SameMount => "same_mount",
            Join::Listener => "listener",
        }
    }

    pub fn parse(s: &str) -> Option<Join> {
        Join::ALL.into_iter().find(|j| j.name() == s)
    }

    /// The subject field both sides must carry (none for `host`).
    pub fn field(self) -> Option<&'static str> {
        match self {
            Join::Host => None,
            Join::SameProcess | Join::OtherProcess | Join::Listener => Some("pid"),
            Join::SameCgroup | Join::CgroupSubtree => Some("cgroup"),
            Join::SameUser => Some("user"),
            Join::SameDevice => Some("device"),
            Join::SameMount => Some("path"),
        }
    }
}

/// One causal link: when the owning rule fires on a subject, its finding explains the findings of
/// `effects` on subjects related by `join`, provided `when` holds on the cause's facts and
/// `effect_when` on the effect's (both may also read the host's facts).
#[derive(Debug, Clone)]
pub struct Link {
    pub effects: Vec<String>,
    pub join: Join,
    pub when: Option<Predicate>,
    pub effect_when: Option<Predicate>,
    /// Where the link is written, for errors found once every rule is loaded (an unknown effect).
    pub line: usize,
    pub column: usize,
}

impl Rule {
    /// Every fact shown as evidence: the metric, the facts of every predicate, then `evidence`.
    pub fn evidence_facts(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if let Some(m) = self.metric {
            out.push(m);
        }
        for p in [&self.when, &self.info, &self.warn, &self.crit]
            .into_iter()
            .flatten()
        {
            p.facts(&mut out);
        }
        for e in &self.evidence {
            if !out.contains(e) {
                out.push(e);
            }
        }
        out
    }
}

/// The kinds of subject rules name; `kernel_event` rules give findings on the process, cgroup or
/// device an event names.
pub use crate::facts::SubjectKind;
