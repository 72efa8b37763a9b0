//! Diagnoses: findings grouped into causal stories by the links rules declare (`[[rule.explains]]`).
//!
//! A link is an edge from a cause finding to an effect finding when the effect's rule is one the link
//! names, their subjects are related as its join says, and its conditions hold on the numbers (a
//! condition whose fact is absent does not hold: no link without evidence). Then:
//!
//! - an effect claimed by several causes goes to the strongest: the higher severity, then the rule
//!   that comes first in the catalogue, then the link written first;
//! - chains are transitive: if A explains B and B explains C, C is in A's story; a link that would
//!   close a circle is dropped;
//! - every finding is in exactly one diagnosis; one that explains nothing and that nothing explains
//!   is a diagnosis of its own, with no effects. Stories are never merged.
//!
//! Diagnoses come worst first: by severity, then by how many findings they hold, then in the order of
//! their causes among the findings.

use serde::Serialize;

use super::eval::{holds, subject_key};
use super::finding::Finding;
use super::{Join, Rule, Severity, SubjectKind};
use crate::facts::{Facts, Subject, SubjectId};

/// A finding named by its rule and the identity of its subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRef {
    pub rule: String,
    pub subject: SubjectId,
}

impl FindingRef {
    /// The identity fields of a finding's subject only: kind, pid and start time, cgroup, user (of a
    /// user subject), device, mount path, NUMA node.
    pub fn of(f: &Finding) -> FindingRef {
        let s = &f.subject;
        FindingRef {
            rule: f.rule.clone(),
            subject: SubjectId {
                kind: s.kind,
                pid: s.pid,
                start_time: s.start_time,
                // A process's user is not who it is; a user subject's is.
                user: s.user.clone().filter(|_| s.kind == SubjectKind::User),
                cgroup: s.cgroup.clone(),
                device: s.device.clone(),
                path: s.path.clone(),
                node: s.node,
                ..SubjectId::default()
            },
        }
    }
}

/// One story: a cause and what it explains.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// Stable across runs: the cause's rule and subject key.
    pub id: String,
    /// The highest severity of its findings.
    pub severity: Severity,
    /// The cause's rule title.
    pub title: String,
    /// The cause's summary, with its numbers.
    pub summary: String,
    /// The mechanism, once: the cause's.
    pub why: String,
    pub cause: FindingRef,
    /// Worst first, as in `findings`.
    pub effects: Vec<FindingRef>,
    /// The cause's next steps, then the effects' not already listed.
    pub next_steps: Vec<String>,
    /// Indices into the findings list: the cause first, then the effects (for renderers).
    #[serde(skip)]
    pub members: Vec<usize>,
}

/// A candidate edge, with what decides between two causes of one effect.
struct Edge {
    cause: usize,
    effect: usize,
    rank: (std::cmp::Reverse<Severity>, usize, usize),
}

/// The facts of the subject a finding is about (`None` when the facts do not hold it).
fn subject_of<'a>(rules: &[Rule], facts: &'a Facts, f: &Finding) -> Option<&'a Subject> {
    let rule = rules.iter().find(|r| r.id == f.rule)?;
    if rule.subject == SubjectKind::Host {
        return Some(&facts.host);
    }
    facts.subjects.get(&rule.subject)?.get(f.subject_index?)
}

/// The cgroups an effect is in: its `cgroup`, and for a process every hierarchy's.
fn effect_cgroups(effect: &SubjectId) -> impl Iterator<Item = &str> {
    effect.cgroup.iter().chain(&effect.cgroups).map(String::as_str)
}

/// Whether the subjects of a cause and an effect are related as `join` says.
fn joined(join: Join, cause: &SubjectId, effect: &SubjectId) -> bool {
    let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
    let same_process = || {
        cause.pid.is_some()
            && cause.pid == effect.pid
            && (cause.start_time.is_none()
                || effect.start_time.is_none()
                || cause.start_time == effect.start_time)
    };
    match join {
        Join::Host => true,
        Join::SameProcess => same_process(),
        Join::OtherProcess => effect.pid.is_some() && !same_process(),
        Join::SameCgroup => effect_cgroups(effect).any(|e| cause.cgroup.as_deref() == Some(e)),
        Join::CgroupSubtree => match &cause.cgroup {
            Some(c) => effect_cgroups(effect).any(|e| {
                e == c
                    || c == "/"
                    || e.strip_prefix(c.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }),
            None => false,
        },
        Join::SameUser => same(&cause.user, &effect.user),
        Join::SameDevice => same(&cause.device, &effect.device),
        // A process is on a mount by the deleted files it holds there.
        Join::SameMount => {
            same(&cause.path, &effect.path) || cause.path.as_ref().is_some_and(|p| effect.mounts.contains(p))
        }
        // A process holding an overflowing listener, or a cgroup such a process is in.
        Join::Listener => effect.listeners.iter().any(|holder| match cause.kind {
            SubjectKind::Cgroup => joined(Join::CgroupSubtree, cause, holder),
            _ => joined(Join::SameProcess, cause, holder),
        }),
    }
}

/// Every edge the links allow among `findings`.
fn edges(rules: &[Rule], facts: &Facts, findings: &[Finding]) -> Vec<Edge> {
    let mut out = Vec::new();
    for (ci, cause) in findings.iter().enumerate() {
        let Some((rule_index, rule)) = rules.iter().enumerate().find(|(_, r)| r.id == cause.rule) else {
            continue;
        };
        // A host rule judged on the container osdoctor runs in is not the host-wide finding its links
        // are written for (global reclaim is not its limit's doing).
        if rule.explains.is_empty() || cause.subject.judged_in_container() {
            continue;
        }
        let cause_subject = subject_of(rules, facts, cause);
        for (link_index, link) in rule.explains.iter().enumerate() {
            if let Some(when) = &link.when {
                let holds_on_cause = cause_subject.and_then(|s| holds(when, facts, s));
                if holds_on_cause != Some(true) {
                    continue;
                }
            }
            for (ei, effect) in findings.iter().enumerate() {
                // Nor can another host-wide finding explain it: its own cgroup or processes can.
                let host_wide_cause_of_container =
                    effect.subject.judged_in_container() && cause.subject.kind == SubjectKind::Host;
                if ei == ci
                    || host_wide_cause_of_container
                    || !link.effects.contains(&effect.rule)
                    || !joined(link.join, &cause.subject, &effect.subject)
                {
                    continue;
                }
                if let Some(effect_when) = &link.effect_when {
                    let on_effect =
                        subject_of(rules, facts, effect).and_then(|s| holds(effect_when, facts, s));
                    if on_effect != Some(true) {
                        continue;
                    }
                }
                out.push(Edge {
                    cause: ci,
                    effect: ei,
                    rank: (std::cmp::Reverse(cause.severity), rule_index, link_index),
                });
            }
        }
    }
    out
}

/// Group `findings` into diagnoses. `facts` are the facts the rules were evaluated on.
pub fn diagnose(rules: &[Rule], facts: &Facts, findings: &[Finding]) -> Vec<Diagnosis> {
    let mut candidates = edges(rules, facts, findings);
    candidates.sort_by_key(|e| (e.rank, e.cause, e.effect));
    let mut parent: Vec<Option<usize>> = vec![None; findings.len()];
    let root = |parent: &[Option<usize>], mut i: usize| {
        while let Some(p) = parent[i] {
            i = p;
        }
        i
    };
    for edge in candidates {
        // The strongest cause claims an effect first; a link that would close a circle is dropped.
        if parent[edge.effect].is_none() && root(&parent, edge.cause) != edge.effect {
            parent[edge.effect] = Some(edge.cause);
        }
    }
    let mut stories: Vec<Vec<usize>> = Vec::new();
    let mut story_of_root: std::collections::BTreeMap<usize, usize> = Default::default();
    for i in 0..findings.len() {
        let r = root(&parent, i);
        let slot = *story_of_root.entry(r).or_insert_with(|| {
            stories.push(vec![r]);
            stories.len() - 1
        });
        if i != r {
            stories[slot].push(i);
        }
    }
    let mut out: Vec<Diagnosis> = stories
        .into_iter()
        .map(|members| story(findings, members))
        .collect();
    out.sort_by_key(|d| {
        (
            std::cmp::Reverse(d.severity),
            std::cmp::Reverse(d.members.len()),
            d.members[0],
        )
    });
    out
}

fn story(findings: &[Finding], members: Vec<usize>) -> Diagnosis {
    let cause = &findings[members[0]];
    let mut next_steps: Vec<String> = Vec::new();
    for &i in &members {
        for step in &findings[i].next_steps {
            if !next_steps.contains(step) {
                next_steps.push(step.clone());
            }
        }
    }
    Diagnosis {
        id: format!(
            "{}:{}",
            cause.rule,
            subject_key(&Subject {
                id: cause.subject.clone(),
                facts: Default::default(),
            })
        ),
        severity: members
            .iter()
            .map(|&i| findings[i].severity)
            .max()
            .unwrap_or(cause.severity),
        title: cause.title.clone(),
        summary: cause.summary.clone(),
        why: cause.cause.clone(),
        cause: FindingRef::of(cause),
        effects: members[1..]
            .iter()
            .map(|&i| FindingRef::of(&findings[i]))
            .collect(),
        next_steps,
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactSet;
    use crate::rules::eval::evaluate;
    use crate::rules::load::{check_links, parse_rules};

    /// cpu.busy (host) explains cpu.queue (host) when the top consumers hold most of the busy time;
    /// proc.storm (process) explains cpu.busy when it makes most of the switches; proc.fds (process)
    /// explains nothing and nothing explains it.
    const RULES: &str = r#"
[[rule]]
id = "cpu.busy"
title = "busy"
resource = "cpu"
use = "utilization"
subject = "host"
metric = "host.cpu.busy_ratio"
crit = { ge = "90%" }
summary = "busy {host.cpu.busy_ratio}"
cause = "busy cause"
next_steps = ["mpstat 1", "top"]
provenance = "p"

[[rule.explains]]
effects = ["cpu.queue"]
join = "host"
when = { fact = "host.cpu.top_share_of_busy", ge = "50%" }

[[rule]]
id = "cpu.queue"
title = "queue"
resource = "cpu"
use = "saturation"
subject = "host"
metric = "host.cpu.runnable_per_cpu"
warn = { ge = 2 }
summary = "queue {host.cpu.runnable_per_cpu}"
cause = "queue cause"
next_steps = ["vmstat 1", "top"]
provenance = "p"

[[rule]]
id = "proc.storm"
title = "storm"
resource = "process"
use = "saturation"
subject = "process"
metric = "proc.ctxt_rate"
warn = { ge = 1000 }
summary = "storm {pid}"
cause = "storm cause"
provenance = "p"

[[rule.explains]]
effects = ["cpu.busy"]
join = "host"
when = { fact = "proc.ctxt_share_of_host", ge = "50%" }

[[rule]]
id = "proc.fds"
title = "fds"
resource = "fd"
use = "utilization"
subject = "process"
metric = "proc.fd.used_ratio"
warn = { ge = "80%" }
summary = "fds {pid}"
cause = "fds cause"
provenance = "p"
"#;

    fn process(pid: i32, facts: &[(&'static str, f64)]) -> Subject {
        let mut f = FactSet::default();
        for (k, v) in facts {
            f.num(k, *v);
        }
        Subject {
            id: SubjectId {
                kind: SubjectKind::Process,
                pid: Some(pid),
                start_time: Some(100 + pid as u64),
                comm: Some(format!("p{pid}")),
                ..SubjectId::default()
            },
            facts: f,
        }
    }

    fn facts(top_share: f64, storm_share: f64) -> Facts {
        let mut host = FactSet::default();
        host.num("host.cpu.busy_ratio", 0.99);
        host.num("host.cpu.runnable_per_cpu", 4.0);
        host.num("host.cpu.top_share_of_busy", top_share);
        Facts {
            host: Subject {
                id: SubjectId::host(),
                facts: host,
            },
            subjects: [(
                SubjectKind::Process,
                vec![
                    process(
                        1,
                        &[
                            ("proc.ctxt_rate", 90_000.0),
                            ("proc.ctxt_share_of_host", storm_share),
                        ],
                    ),
                    process(2, &[("proc.fd.used_ratio", 0.95)]),
                ],
            )]
            .into_iter()
            .collect(),
            single_sample: false,
            coverage: Default::default(),
            missing_subjects: Default::default(),
            absent_subjects: Default::default(),
        }
    }

    fn stories(top_share: f64, storm_share: f64) -> Vec<(String, Vec<String>)> {
        let rules = parse_rules("t.toml", RULES).unwrap();
        check_links(&rules).unwrap();
        let facts = facts(top_share, storm_share);
        let findings = evaluate(&rules, &facts, &|_, _| None).findings;
        assert_eq!(findings.len(), 4);
        let diagnoses = diagnose(&rules, &facts, &findings);
        // Every finding is in exactly one diagnosis.
        let mut seen: Vec<usize> = diagnoses.iter().flat_map(|d| d.members.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3]);
        diagnoses
            .iter()
            .map(|d| {
                let who = |r: &FindingRef| match r.subject.pid {
                    Some(pid) => format!("{} {pid}", r.rule),
                    None => r.rule.clone(),
                };
                (who(&d.cause), d.effects.iter().map(who).collect())
            })
            .collect()
    }

    /// proc.starved (process) and cg.throttled (cgroup) explain net.overflow (host) through the
    /// listener join: only when the host names the starved process (or a process in the cgroup) as
    /// the holder of a full listener.
    const LISTENER_RULES: &str = r#"
[[rule]]
id = "proc.starved"
title = "starved"
resource = "cpu"
use = "saturation"
subject = "process"
metric = "proc.runqueue_wait_ratio"
warn = { ge = "25%" }
summary = "starved {pid}"
cause = "starved cause"
provenance = "p"

[[rule.explains]]
effects = ["net.overflow"]
join = "listener"

[[rule]]
id = "cg.throttled"
title = "throttled"
resource = "cgroup"
use = "saturation"
subject = "cgroup"
metric = "cgroup.cpu.throttled_ratio"
warn = { ge = "25%" }
summary = "throttled"
cause = "throttled cause"
provenance = "p"

[[rule.explains]]
effects = ["net.overflow"]
join = "listener"

[[rule]]
id = "net.overflow"
title = "overflow"
resource = "net"
use = "saturation"
subject = "host"
metric = "host.tcp.listen_drops"
warn = { ge = 1 }
summary = "dropped {host.tcp.listen_drops}"
cause = "overflow cause"
provenance = "p"
"#;

    /// Stories (cause, effects) with a starved process 7 in /svc/web, a throttled cgroup `cgroup`,
    /// and the host's full listener held by `holder` (pid, start time, cgroup).
    fn listener_stories(
        starved_ratio: f64,
        cgroup: &str,
        holder: Option<(i32, u64, &str)>,
    ) -> Vec<(String, Vec<String>)> {
        let rules = parse_rules("t.toml", LISTENER_RULES).unwrap();
        check_links(&rules).unwrap();
        let mut starved = process(7, &[("proc.runqueue_wait_ratio", starved_ratio)]);
        starved.id.cgroup = Some("/svc/web".to_string());
        let mut cg = FactSet::default();
        cg.num("cgroup.cpu.throttled_ratio", 0.7);
        let mut host = FactSet::default();
        host.num("host.tcp.listen_drops", 1498.0);
        let mut host_id = SubjectId::host();
        if let Some((pid, start, cgroup)) = holder {
            host_id.listeners = vec![SubjectId {
                kind: SubjectKind::Process,
                pid: Some(pid),
                start_time: Some(start),
                cgroup: Some(cgroup.to_string()),
                ..SubjectId::default()
            }];
        }
        let facts = Facts {
            host: Subject {
                id: host_id,
                facts: host,
            },
            subjects: [
                (SubjectKind::Process, vec![starved]),
                (
                    SubjectKind::Cgroup,
                    vec![Subject {
                        id: SubjectId {
                            kind: SubjectKind::Cgroup,
                            cgroup: Some(cgroup.to_string()),
                            ..SubjectId::default()
                        },
                        facts: cg,
                    }],
                ),
            ]
            .into_iter()
            .collect(),
            single_sample: false,
            coverage: Default::default(),
            missing_subjects: Default::default(),
            absent_subjects: Default::default(),
        };
        let findings = evaluate(&rules, &facts, &|_, _| None).findings;
        diagnose(&rules, &facts, &findings)
            .iter()
            .map(|d| {
                (
                    d.cause.rule.clone(),
                    d.effects.iter().map(|e| e.rule.clone()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_starved_listener_process_explains_the_overflow_of_its_listener() {
        let stories = listener_stories(0.6, "/batch", Some((7, 107, "/svc/web")));
        assert!(stories.contains(&("proc.starved".to_string(), vec!["net.overflow".to_string()])));
        assert!(stories.contains(&("cg.throttled".to_string(), vec![])));
        // The throttled cgroup holds the listener's process (whose own wait is low: a throttled
        // task is off the run queue): the quota explains the overflow.
        let stories = listener_stories(0.1, "/svc", Some((7, 107, "/svc/web")));
        assert_eq!(
            stories,
            vec![("cg.throttled".to_string(), vec!["net.overflow".to_string()])]
        );
    }

    #[test]
    fn a_starved_process_that_holds_no_full_listener_explains_no_overflow() {
        // Another process (pid 8) holds the full listener; pid 7 recycled (another start time).
        for holder in [Some((8, 108, "/other")), Some((7, 999, "/other")), None] {
            let stories = listener_stories(0.6, "/batch", holder);
            assert_eq!(stories.len(), 3, "{holder:?}: {stories:?}");
            assert!(stories.iter().all(|(_, effects)| effects.is_empty()));
        }
    }

    #[test]
    fn a_mount_joins_the_processes_holding_deleted_files_on_it_and_a_device_its_errors() {
        let mount = SubjectId {
            kind: SubjectKind::Mount,
            path: Some("/srv".to_string()),
            device: Some("loop0".to_string()),
            ..SubjectId::default()
        };
        let mut holder = process(7, &[]).id;
        assert!(!joined(Join::SameMount, &mount, &holder));
        holder.mounts = vec!["/var".to_string(), "/srv".to_string()];
        assert!(joined(Join::SameMount, &mount, &holder));
        let error_on = |dev: &str| SubjectId {
            kind: SubjectKind::Disk,
            device: Some(dev.to_string()),
            ..SubjectId::default()
        };
        assert!(joined(Join::SameDevice, &error_on("loop0"), &mount));
        assert!(!joined(Join::SameDevice, &error_on("loop1"), &mount));
        // A tmpfs has no device: nothing joins on it.
        let tmpfs = SubjectId {
            device: None,
            ..mount.clone()
        };
        assert!(!joined(Join::SameDevice, &SubjectId::default(), &tmpfs));
    }

    #[test]
    fn chains_are_transitive_and_unrelated_problems_stay_apart() {
        assert_eq!(
            stories(0.9, 0.8),
            vec![
                (
                    "proc.storm 1".to_string(),
                    vec!["cpu.busy".to_string(), "cpu.queue".to_string()]
                ),
                ("proc.fds 2".to_string(), vec![]),
            ]
        );
    }

    #[test]
    fn a_host_rule_judged_in_a_container_keeps_out_of_host_wide_links() {
        let rules = parse_rules("t.toml", RULES).unwrap();
        let facts = facts(0.9, 0.8);
        let mut findings = evaluate(&rules, &facts, &|_, _| None).findings;
        // cpu.queue judged on the container: the host's busy CPUs do not explain it, and the
        // container's busy CPUs (cpu.busy) explain nothing by the host's links; the storming process
        // still explains them.
        for f in findings.iter_mut().filter(|f| f.rule.starts_with("cpu.")) {
            f.subject.cgroup = Some("/".to_string());
        }
        let diagnoses = diagnose(&rules, &facts, &findings);
        let story_of = |rule: &str| {
            diagnoses
                .iter()
                .find(|d| findings[d.members[0]].rule == rule)
                .map(|d| {
                    d.members
                        .iter()
                        .map(|&i| findings[i].rule.clone())
                        .collect::<Vec<_>>()
                })
        };
        assert_eq!(
            story_of("proc.storm"),
            Some(vec!["proc.storm".to_string(), "cpu.busy".to_string()])
        );
        assert_eq!(story_of("cpu.queue"), Some(vec!["cpu.queue".to_string()]));
    }

    #[test]
    fn a_link_holds_only_when_the_numbers_say_so() {
        // The storm makes a tenth of the switches: it explains nothing; the busy CPUs still explain
        // the queue.
        assert_eq!(
            stories(0.9, 0.1),
            vec![
                ("cpu.busy".to_string(), vec!["cpu.queue".to_string()]),
                ("proc.storm 1".to_string(), vec![]),
                ("proc.fds 2".to_string(), vec![]),
            ]
        );
        // Without the top consumers' share, nothing is linked.
        assert_eq!(stories(0.2, 0.1).len(), 4);
    }

    #[test]
    fn a_story_says_its_mechanism_once_and_merges_next_steps() {
        let rules = parse_rules("t.toml", RULES).unwrap();
        let facts = facts(0.9, 0.1);
        let findings = evaluate(&rules, &facts, &|_, _| None).findings;
        let d = &diagnose(&rules, &facts, &findings)[0];
        assert_eq!(d.id, "cpu.busy:host");
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(d.why, "busy cause");
        assert_eq!(d.next_steps, vec!["mpstat 1", "top", "vmstat 1"]);
        // A ref holds the subject's identity only.
        let storm = findings.iter().find(|f| f.rule == "proc.storm").unwrap();
        let r = FindingRef::of(storm);
        assert_eq!(
            (r.subject.pid, r.subject.start_time, r.subject.comm),
            (Some(1), Some(101), None)
        );
    }
}
