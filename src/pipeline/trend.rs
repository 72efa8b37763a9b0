//! Trends across `--state` runs: the gauges this run read, as the history records them
//! ([`observations`]), and the trend facts from the loaded history plus this run ([`derive`]). The
//! state is loaded before the rules run, the facts read it, and this run is recorded after.

use std::sync::Arc;

use crate::facts::trend::{CGROUP_MEMORY, MIN_RUNS, MOUNT_USED, PROC_FD, PROC_RSS, TrendFacts};
use crate::facts::{FactSet, Facts, Subject, SubjectKind};
use crate::state::History;
use crate::state::history::{Observation, TrendKind};

/// A subject's history key and kind, for the kinds with a history.
fn key(kind: SubjectKind, s: &Subject) -> Option<(TrendKind, String)> {
    let id = &s.id;
    match kind {
        SubjectKind::Process => Some((TrendKind::Process, format!("{}:{}", id.pid?, id.start_time?))),
        SubjectKind::Cgroup => Some((TrendKind::Cgroup, id.cgroup.clone()?)),
        SubjectKind::Mount => Some((TrendKind::Mount, id.path.clone()?)),
        _ => None,
    }
}

/// Whether cgroup `path` is `ancestor` or below it: an ancestor's memory.max binds its descendants.
fn within(path: &str, ancestor: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The facts whose values a kind's points hold, in [`TrendKind::gauges`] order.
fn gauge_facts(kind: TrendKind) -> &'static [&'static str] {
    match kind {
        TrendKind::Host => &["host.fd.allocated", "host.net.conntrack_entries"],
        TrendKind::Process => &["proc.fd.open", "proc.rss_bytes", "proc.threads"],
        TrendKind::Cgroup => &["cgroup.memory.working_set_bytes", "cgroup.pids.current"],
        TrendKind::Mount => &["mount.used_bytes", "mount.inodes_used"],
    }
}

fn values(kind: TrendKind, f: &FactSet) -> Vec<Option<f64>> {
    gauge_facts(kind).iter().map(|n| f.get_f64(n)).collect()
}

/// The limit each gauge of a subject grows towards, in [`TrendKind::gauges`] order (ranks who keeps a
/// history): fds against the soft limit, RSS against the limit that binds (set by [`derive`]), a
/// working set against memory.max (else RAM), pids against pids.max, space and inodes against full.
fn limits(kind: TrendKind, f: &FactSet, ram: Option<f64>) -> Vec<Option<f64>> {
    match kind {
        TrendKind::Host => vec![None, None],
        TrendKind::Process => vec![
            f.get_f64("proc.fd.limit_soft"),
            f.get_f64("proc.rss.limit_bytes").or(ram),
            None,
        ],
        TrendKind::Cgroup => vec![
            f.get_f64("cgroup.memory.max_bytes").or(ram),
            f.get_f64("cgroup.pids.max"),
        ],
        TrendKind::Mount => vec![
            f.get_f64("mount.used_bytes")
                .zip(f.get_f64("mount.available_bytes"))
                .map(|(u, a)| u + a),
            f.get_f64("mount.inodes_total"),
        ],
    }
}

/// The kinds this run listed, whose subjects not observed may be forgotten: a kind with no subject
/// at all, or with a reason why (its collector failed), was not.
pub fn collected_kinds(facts: &Facts) -> Vec<TrendKind> {
    let mut out = vec![TrendKind::Host];
    for (sk, tk) in [
        (SubjectKind::Process, TrendKind::Process),
        (SubjectKind::Cgroup, TrendKind::Cgroup),
        (SubjectKind::Mount, TrendKind::Mount),
    ] {
        if facts.subjects.get(&sk).is_some_and(|v| !v.is_empty()) && !facts.missing_subjects.contains_key(&sk)
        {
            out.push(tk);
        }
    }
    out
}

/// This run's readings of every gauge the history keeps.
pub fn observations(facts: &Facts) -> Vec<Observation> {
    let ram = facts.host.facts.get_f64("host.mem.total_bytes");
    let host = values(TrendKind::Host, &facts.host.facts);
    let mut out = Vec::new();
    if host.iter().any(Option::is_some) {
        out.push(Observation {
            kind: TrendKind::Host,
            key: "host".to_string(),
            label: String::new(),
            values: host,
            limits: limits(TrendKind::Host, &facts.host.facts, ram),
        });
    }
    for (kind, subjects) in &facts.subjects {
        for s in subjects {
            let Some((tk, key)) = key(*kind, s) else { continue };
            let v = values(tk, &s.facts);
            if v.iter().all(Option::is_none) {
                continue;
            }
            out.push(Observation {
                kind: tk,
                key,
                label: s.id.comm.clone().unwrap_or_default(),
                values: v,
                limits: limits(tk, &s.facts, ram),
            });
        }
    }
    out
}

/// The trend facts of every subject from the loaded `history` (`None` without --state) and this run's
/// values at `now_s` (seconds since the epoch).
pub fn derive(facts: &mut Facts, history: Option<&History>, now_s: f64) {
    let why: Option<Arc<str>> = match history {
        None => Some("needs --state (a trend is seen across runs)".into()),
        Some(h) if h.runs + 1 < MIN_RUNS => {
            Some(format!("needs {MIN_RUNS} runs with --state; have {}", h.runs + 1).into())
        }
        Some(_) => None,
    };
    let ram = facts.host.facts.get_f64("host.mem.total_bytes");
    // memory.max by cgroup path, for the limit that binds a process.
    let cgroup_limits: std::collections::HashMap<String, f64> = facts
        .subjects
        .get(&SubjectKind::Cgroup)
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.id.cgroup.clone()?, c.facts.get_f64("cgroup.memory.max_bytes")?)))
        .collect();
    for (kind, subjects) in facts.subjects.iter_mut() {
        let gauges: &[(usize, &TrendFacts)] = match kind {
            SubjectKind::Process => &[(0, &PROC_FD), (1, &PROC_RSS)],
            SubjectKind::Cgroup => &[(0, &CGROUP_MEMORY)],
            SubjectKind::Mount => &[(0, &MOUNT_USED)],
            _ => continue,
        };
        for s in subjects.iter_mut() {
            if *kind == SubjectKind::Process {
                // RAM, or the lowest memory.max of the cgroups it is in and their ancestors.
                let limit = cgroup_limits
                    .iter()
                    .filter(|(c, _)| s.id.cgroups.iter().any(|mine| within(mine, c)))
                    .map(|(c, l)| (*l, c))
                    .filter(|(l, _)| ram.is_none_or(|r| *l < r))
                    .min_by(|a, b| a.0.total_cmp(&b.0));
                match (limit, ram) {
                    (Some((l, c)), _) => {
                        s.facts.num("proc.rss.limit_bytes", l);
                        s.facts
                            .text("proc.rss.limit_name", format!("the memory.max of cgroup {c}"));
                    }
                    (None, Some(r)) => {
                        s.facts.num("proc.rss.limit_bytes", r);
                        s.facts.text("proc.rss.limit_name", "RAM");
                    }
                    (None, None) => {}
                }
            }
            let (Some((tk, k)), None) = (key(*kind, s), &why) else {
                if let Some(why) = &why {
                    for (_, t) in gauges {
                        t.absent(&mut s.facts, why);
                    }
                }
                continue;
            };
            let current = values(tk, &s.facts);
            let series = history.and_then(|h| h.series(tk, &k));
            for (g, t) in gauges {
                let Some(now_v) = current.get(*g).copied().flatten() else {
                    let why = format!("{} was not read in this run", gauge_facts(tk)[*g]);
                    t.absent(&mut s.facts, &Arc::from(why));
                    continue;
                };
                let mut pts: Vec<(f64, f64)> = series
                    .map(|s| {
                        s.points
                            .iter()
                            .filter(|p| p.secs() < now_s)
                            .filter_map(|p| Some((p.secs(), p.get(*g)?)))
                            .collect()
                    })
                    .unwrap_or_default();
                pts.push((now_s, now_v));
                let limit = match t.growth_runs {
                    "proc.fd.growth_runs" => s.facts.get_f64("proc.fd.limit_soft"),
                    "proc.rss.growth_runs" => s.facts.get_f64("proc.rss.limit_bytes"),
                    "cgroup.memory.growth_runs" => s.facts.get_f64("cgroup.memory.max_bytes"),
                    // Full is used + available (df's view: the reserved blocks are not available).
                    _ => match (
                        s.facts.get_f64("mount.used_bytes"),
                        s.facts.get_f64("mount.available_bytes"),
                    ) {
                        (Some(u), Some(a)) => Some(u + a),
                        _ => None,
                    },
                };
                t.set(&mut s.facts, &pts, limit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::SubjectId;
    use crate::state::history::Point;

    fn process(fds: f64) -> Facts {
        let mut f = FactSet::default();
        f.num("proc.fd.open", fds);
        f.num("proc.fd.limit_soft", 1024.0);
        f.num("proc.threads", 1.0);
        Facts {
            host: Subject {
                id: SubjectId::host(),
                facts: FactSet::default(),
            },
            subjects: [(
                SubjectKind::Process,
                vec![Subject {
                    id: SubjectId {
                        kind: SubjectKind::Process,
                        pid: Some(42),
                        start_time: Some(7),
                        comm: Some("leaky".into()),
                        ..SubjectId::default()
                    },
                    facts: f,
                }],
            )]
            .into_iter()
            .collect(),
            single_sample: false,
            coverage: Default::default(),
            missing_subjects: Default::default(),
            absent_subjects: Default::default(),
        }
    }

    fn fd_facts(f: &Facts) -> &FactSet {
        &f.subjects[&SubjectKind::Process][0].facts
    }

    #[test]
    fn runs_recorded_then_read_back_as_a_trend() {
        let mut h = History::default();
        // Not yet: "needs --state", then "have N".
        let mut f = process(100.0);
        derive(&mut f, None, 0.0);
        assert_eq!(
            fd_facts(&f).stated_reason("proc.fd.growth_runs"),
            Some("needs --state (a trend is seen across runs)")
        );
        for run in 0..4 {
            let now = 1000.0 + run as f64 * 2.0;
            let mut f = process(100.0 + 20.0 * run as f64);
            derive(&mut f, Some(&h), now);
            if run < 3 {
                assert_eq!(
                    fd_facts(&f).stated_reason("proc.fd.growth_runs").unwrap(),
                    format!("needs 4 runs with --state; have {}", run + 1)
                );
            } else {
                assert_eq!(fd_facts(&f).get_f64("proc.fd.growth_runs"), Some(3.0));
                assert_eq!(fd_facts(&f).get_f64("proc.fd.growth_per_run"), Some(20.0));
                assert_eq!(fd_facts(&f).get_f64("proc.fd.seconds_to_limit"), Some(86.4));
            }
            h.record((now * 1000.0) as i64, observations(&f), &collected_kinds(&f));
        }
        let s = h.series(TrendKind::Process, "42:7").unwrap();
        assert_eq!(s.points.len(), 4);
        assert_eq!(s.points[0], Point(1_000_000, vec![Some(100.0), None, Some(1.0)]));
    }

    /// A process in /app/web, the cgroup /app with a 1 GiB memory.max, a filesystem /data: every run
    /// ten minutes after the last, each growing.
    fn host_at(run: f64) -> Facts {
        const MIB: f64 = 1048576.0;
        let subject = |kind, f: FactSet, id: SubjectId| Subject {
            id: SubjectId { kind, ..id },
            facts: f,
        };
        let mut p = FactSet::default();
        p.num("proc.fd.open", 10.0);
        p.num("proc.rss_bytes", (100.0 + 50.0 * run) * MIB);
        let mut cg = FactSet::default();
        cg.num("cgroup.memory.limited", 1.0);
        cg.num("cgroup.memory.max_bytes", 1024.0 * MIB);
        cg.num("cgroup.memory.working_set_bytes", (500.0 + 100.0 * run) * MIB);
        let mut m = FactSet::default();
        m.num("mount.used_bytes", (10.0 + run) * 1024.0 * MIB);
        m.num("mount.available_bytes", (8.0 - run) * 1024.0 * MIB);
        let mut host = FactSet::default();
        host.num("host.mem.total_bytes", 16384.0 * MIB);
        Facts {
            host: Subject {
                id: SubjectId::host(),
                facts: host,
            },
            subjects: [
                (
                    SubjectKind::Process,
                    vec![subject(
                        SubjectKind::Process,
                        p,
                        SubjectId {
                            pid: Some(7),
                            start_time: Some(1),
                            comm: Some("web".into()),
                            cgroup: Some("/app/web".into()),
                            cgroups: vec!["/app/web".into()],
                            ..SubjectId::default()
                        },
                    )],
                ),
                (
                    SubjectKind::Cgroup,
                    vec![subject(
                        SubjectKind::Cgroup,
                        cg,
                        SubjectId {
                            cgroup: Some("/app".into()),
                            ..SubjectId::default()
                        },
                    )],
                ),
                (
                    SubjectKind::Mount,
                    vec![subject(
                        SubjectKind::Mount,
                        m,
                        SubjectId {
                            path: Some("/data".into()),
                            ..SubjectId::default()
                        },
                    )],
                ),
            ]
            .into_iter()
            .collect(),
            single_sample: false,
            coverage: Default::default(),
            missing_subjects: Default::default(),
            absent_subjects: Default::default(),
        }
    }

    #[test]
    fn memory_and_filesystem_trends_fire_against_the_limit_that_binds() {
        let rules = crate::rules::catalog::builtin().unwrap();
        let mut h = History::default();
        let mut facts = host_at(0.0);
        for run in 0..4 {
            let now = 1_700_000_000.0 + 600.0 * run as f64;
            facts = host_at(run as f64);
            derive(&mut facts, Some(&h), now);
            h.record(
                (now * 1000.0) as i64,
                observations(&facts),
                &collected_kinds(&facts),
            );
        }
        let out = crate::rules::eval::evaluate(&rules, &facts, &|_, _| None);
        let found = |rule: &str| {
            out.findings
                .iter()
                .find(|f| f.rule == rule)
                .unwrap_or_else(|| panic!("no {rule} in {:#?}", out.findings))
        };
        // The process: 250 MiB now, +300 MiB an hour, bound by its parent cgroup's 1 GiB, not RAM.
        let p = &facts.subjects[&SubjectKind::Process][0].facts;
        assert_eq!(p.get_f64("proc.rss.limit_bytes"), Some(1024.0 * 1048576.0));
        let mem = found("proc.memory_growth");
        assert_eq!(mem.severity, crate::rules::Severity::Warning);
        assert!(
            mem.summary.starts_with(
                "RSS +50.0 MiB per run, the memory.max of cgroup /app (1.0 GiB) reached in ~2 h 34 min (250.0 MiB now; +300.0 MiB an hour over 30 min 0 s of --state history)"
            ),
            "{}",
            mem.summary
        );
        // The cgroup: 224 MiB left at 600 MiB an hour.
        let cg = found("cgroup.memory_growth");
        assert_eq!(cg.severity, crate::rules::Severity::Critical);
        assert!(cg.summary.contains("reached in ~22 min 24 s"), "{}", cg.summary);
        // The filesystem: 5 GiB left at 6 GiB an hour.
        let fs = found("fs.fill_trend");
        assert_eq!(fs.severity, crate::rules::Severity::Critical);
        assert!(fs.summary.contains("full in ~50 min 0 s"), "{}", fs.summary);
    }

    /// A process leaking 2,000 fds a run (every 10 minutes) under a 65,536 limit, holding `share` of
    /// the host's handles while the host's table is 94% full.
    fn leak_story(share: f64) -> Vec<(String, Vec<String>)> {
        let rules = crate::rules::catalog::builtin().unwrap();
        let mut h = History::default();
        let at = |run: f64| {
            let mut f = process(20_000.0 + 2_000.0 * run);
            let p = &mut f.subjects.get_mut(&SubjectKind::Process).unwrap()[0].facts;
            p.num("proc.fd.limit_soft", 65_536.0);
            p.num("proc.fd_share_of_host", share);
            f.host.facts.num("host.fd.allocated", 30_000.0);
            f.host.facts.num("host.fd.max", 32_000.0);
            f.host.facts.num("host.fd.used_ratio", 30_000.0 / 32_000.0);
            f
        };
        let mut facts = at(0.0);
        for run in 0..4 {
            let now = 1_700_000_000.0 + 600.0 * run as f64;
            facts = at(run as f64);
            derive(&mut facts, Some(&h), now);
            h.record(
                (now * 1000.0) as i64,
                observations(&facts),
                &collected_kinds(&facts),
            );
        }
        let out = crate::rules::eval::evaluate(&rules, &facts, &|_, _| None);
        crate::rules::diagnose::diagnose(&rules, &facts, &out.findings)
            .into_iter()
            .map(|d| (d.cause.rule, d.effects.into_iter().map(|e| e.rule).collect()))
            .collect()
    }

    #[test]
    fn a_leaking_process_explains_the_full_system_table_when_it_holds_a_large_share() {
        let stories = leak_story(0.6);
        assert!(
            stories.contains(&(
                "fd.leak_trend".to_string(),
                vec!["fd.system_near_limit".to_string()]
            )),
            "{stories:?}"
        );
        // A tenth of the handles: two stories, no link.
        let stories = leak_story(0.1);
        assert!(
            stories.contains(&("fd.leak_trend".to_string(), vec![])),
            "{stories:?}"
        );
        assert!(
            stories.contains(&("fd.system_near_limit".to_string(), vec![])),
            "{stories:?}"
        );
    }

    /// A small linear congruential generator: uniform in [0, 1), the same on every run.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// One run a minute for a day of a process whose fds are `fds(minute)` (soft limit 1,024) and a
    /// filesystem whose space used is `used(minute)` of 100 GiB: the runs that fire each rule.
    fn a_day(fds: impl Fn(i64) -> f64, used: impl Fn(i64) -> f64) -> (Vec<i64>, Vec<i64>) {
        const GIB: f64 = 1024.0 * 1048576.0;
        let rules = crate::rules::catalog::builtin().unwrap();
        let mut h = History::default();
        let (mut fd_fired, mut fs_fired) = (Vec::new(), Vec::new());
        for minute in 0..1440i64 {
            let now = 1_700_000_000.0 + 60.0 * minute as f64;
            let mut facts = process(fds(minute));
            let mut m = FactSet::default();
            m.num("mount.used_bytes", used(minute) * GIB);
            m.num("mount.available_bytes", (100.0 - used(minute)) * GIB);
            facts.subjects.insert(
                SubjectKind::Mount,
                vec![Subject {
                    id: SubjectId {
                        kind: SubjectKind::Mount,
                        path: Some("/data".into()),
                        ..SubjectId::default()
                    },
                    facts: m,
                }],
            );
            derive(&mut facts, Some(&h), now);
            let out = crate::rules::eval::evaluate(&rules, &facts, &|_, _| None);
            if out.findings.iter().any(|f| f.rule == "fd.leak_trend") {
                fd_fired.push(minute);
            }
            if out.findings.iter().any(|f| f.rule == "fs.fill_trend") {
                fs_fired.push(minute);
            }
            h.record(
                (now * 1000.0) as i64,
                observations(&facts),
                &collected_kinds(&facts),
            );
        }
        (fd_fired, fs_fired)
    }

    #[test]
    fn noise_and_a_filesystem_cleaned_hourly_do_not_fire_a_trend_and_a_steady_leak_does() {
        // fds 200 ± 40 at random (no leak); 80 GiB used, filling 1 GiB an hour, cleaned every hour.
        let noise = std::cell::RefCell::new(Lcg(42));
        let (fd, fs) = a_day(
            |_| 200.0 + (80.0 * noise.borrow_mut().next() - 40.0).round(),
            |minute| 80.0 + (minute % 60) as f64 / 60.0,
        );
        // The first hour cannot tell noise from a leak, nor a fill from a fill that gets cleaned (a
        // pool filling in its first minutes must be named): past it the noise never fires, and past
        // the second cleaning the filesystem never does (the fit spans whole cycles).
        assert!(
            fd.iter().all(|m| *m < 60),
            "fd.leak_trend fired at minutes {fd:?}"
        );
        assert!(
            fs.iter().all(|m| *m < 120),
            "fs.fill_trend fired at minutes {fs:?}"
        );
        // A steady leak of an fd every 2 minutes with the same noise, and a filesystem filling 1 GiB
        // an hour: both fire.
        let (fd, fs) = a_day(
            |minute| 200.0 + minute as f64 / 2.0 + (80.0 * noise.borrow_mut().next() - 40.0).round(),
            |minute| 80.0 + minute as f64 / 60.0,
        );
        assert!(!fd.is_empty() && !fs.is_empty(), "{fd:?} {fs:?}");
    }

    /// The severity of fd.leak_trend after runs at `times` (seconds) with `fds` open, limit 1,024.
    fn fd_leak_severity(times: &[f64], fds: &[f64]) -> Option<crate::rules::Severity> {
        let rules = crate::rules::catalog::builtin().unwrap();
        let mut h = History::default();
        let mut facts = process(fds[0]);
        for (t, n) in times.iter().zip(fds) {
            facts = process(*n);
            derive(&mut facts, Some(&h), 1_700_000_000.0 + t);
            h.record(
                ((1_700_000_000.0 + t) * 1000.0) as i64,
                observations(&facts),
                &collected_kinds(&facts),
            );
        }
        let out = crate::rules::eval::evaluate(&rules, &facts, &|_, _| None);
        out.findings
            .iter()
            .find(|f| f.rule == "fd.leak_trend")
            .map(|f| f.severity)
    }

    #[test]
    fn an_fd_leak_is_critical_only_over_an_hour_of_history() {
        use crate::rules::Severity::{Critical, Warning};
        // A fresh connection pool filling 50 -> 140 in its first 3 minutes projects 1,024 in ~29 min:
        // a warning, not a page.
        let minutes = [0.0, 60.0, 120.0, 180.0];
        assert_eq!(
            fd_leak_severity(&minutes, &[50.0, 80.0, 110.0, 140.0]),
            Some(Warning)
        );
        // The same pace over an hour and a half of history: critical.
        let times: Vec<f64> = (0..10).map(|i| i as f64 * 600.0).collect();
        let fds: Vec<f64> = (0..10).map(|i| 400.0 + 60.0 * i as f64).collect();
        assert_eq!(fd_leak_severity(&times, &fds), Some(Critical));
    }
}
