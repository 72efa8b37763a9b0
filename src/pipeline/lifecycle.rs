//! The finding lifecycle: when each finding was first seen, whether it is new, and, with `--state`,
//! what the previous run reported that is gone (`cleared`).
//!
//! A finding is a rule on a subject (the `--state` key, [`super::enrich::key_of`]). It lasts while
//! every run has it: a complete run without it ends it (it is then listed in `cleared`, once), a
//! partial run, which may only have failed to read it, does not. Its `first_seen` is the first run of
//! its current stretch; it is `new` when the last run did not have it.
//!
//! A kernel event is itself: its identity ([`crate::facts::kernel::event_id`]) is the boot and the
//! record's sequence number, so a new crash of the same program is new, while the same record read
//! again by the next cron run is not. A finding grouping events is new when one of them is; when all
//! were reported by an earlier run it stays listed, `new: false`, at info, so that a cron check
//! alerts once per event. A counter that only says "how many so far" (cgroup.oom_kill's) alerts on
//! an increase since the last run; the same total again is info.

use chrono::{DateTime, SecondsFormat, Utc};

use super::enrich;
use crate::facts::Facts;
use crate::report::Cleared;
use crate::rules::Severity;
use crate::rules::finding::Finding;
use crate::state::{FindingRecord, State};

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Set `first_seen` and `new` on every finding; with `--state` (`previous`), a kernel event reported
/// before and a counter that did not grow become info.
pub fn apply(findings: &mut [Finding], facts: &Facts, previous: Option<&State>, now: DateTime<Utc>) {
    for f in findings.iter_mut() {
        let Some(state) = previous else {
            f.first_seen = Some(rfc3339(now));
            f.new = Some(true);
            continue;
        };
        let key = enrich::key_of(&f.subject);
        let lasting = state.first_seen(&f.rule, &key);
        let (first, new) = if !f.subject.events.is_empty() {
            let reported: Vec<Option<DateTime<Utc>>> = f
                .subject
                .events
                .iter()
                .map(|id| state.events.get(id).copied())
                .collect();
            let new = reported.iter().any(Option::is_none);
            let first = reported.iter().flatten().chain(lasting.iter()).min().copied();
            (first.unwrap_or(now).min(now), new)
        } else if enrich::counter_unchanged(f, facts) {
            (lasting.unwrap_or(now), false)
        } else {
            match lasting {
                Some(t) => (t, false),
                None => (now, true),
            }
        };
        let seen_before = !new && (!f.subject.events.is_empty() || enrich::counter_unchanged(f, facts));
        if seen_before {
            f.severity = Severity::Info;
            f.held = false;
        }
        f.first_seen = Some(rfc3339(first));
        f.new = Some(new);
    }
}

/// The state's records of this run's findings.
pub fn records(findings: &[Finding], now: DateTime<Utc>) -> Vec<FindingRecord> {
    findings
        .iter()
        .map(|f| FindingRecord {
            rule: f.rule.clone(),
            subject: enrich::key_of(&f.subject),
            severity: f.severity,
            first_seen: f
                .first_seen
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
                .or(Some(now)),
            label: f.subject.label(),
        })
        .collect()
}

/// What the previous run reported that this run does not have.
pub fn cleared(previous: &State, findings: &[Finding]) -> Vec<Cleared> {
    let now: Vec<(String, String)> = findings
        .iter()
        .map(|f| (f.rule.clone(), enrich::key_of(&f.subject)))
        .collect();
    previous
        .last_reported()
        .into_iter()
        .filter(|r| !now.iter().any(|(rule, key)| *rule == r.rule && *key == r.subject))
        .map(|r| Cleared {
            rule: r.rule.clone(),
            subject: r.subject.clone(),
            label: if r.label.is_empty() {
                r.subject.clone()
            } else {
                r.label.clone()
            },
            severity: r.severity,
            first_seen: r.first_seen.map(rfc3339),
        })
        .collect()
}
