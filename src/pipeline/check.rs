//! `check`'s run: the source's samples under the deadline, facts, every rule, the `--state` file,
//! command lines of the processes named, and the report.

use std::path::Path;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};

use super::collectors::Scope;
use super::snapshot::SnapshotMeta;
use super::source::Source;
use super::{deadline, enrich, lifecycle, trend};
use crate::facts::Facts;
use crate::report::{ContainerInfo, CoverageReport, HostInfo, Report, SCHEMA_VERSION, Tool, use_matrix};
use crate::rules::diagnose::{Diagnosis, diagnose};
use crate::rules::eval;
use crate::rules::finding::Finding;
use crate::rules::ignore::{IgnorePattern, ignored_cause_notes, partition};
use crate::rules::{Rule, Severity};
use crate::sample::Collected;
use crate::state::State;

/// Options of one check run.
pub struct CheckOptions<'a> {
    pub interval: Duration,
    pub timeout: Duration,
    pub rules: &'a [Rule],
    pub state: Option<&'a Path>,
    pub min_severity: Severity,
    /// `--pid`: process rules only for these processes (host rules still run); empty = all.
    pub pids: &'a [i32],
    /// Redact secrets from command lines (false with `--no-redact`).
    pub redact: bool,
    /// Kernel-log window (`--since`); `None` takes every event still in the log.
    pub since: Option<chrono::Duration>,
    /// `--ignore`: findings not shown and not counted (the state file still records them).
    pub ignore: &'a [IgnorePattern],
}

/// Run the whole check on a source and build the report. Writes the state file when asked.
pub fn run(source: &Source, opts: &CheckOptions) -> Result<Report, crate::state::StateError> {
    let started = Utc::now();
    let collected = deadline::collect(source.plan(opts.interval), Scope::Host, opts.timeout);
    build_report(
        &source.display(),
        source.kind(),
        source.meta(),
        &collected,
        opts,
        started,
    )
}

/// Facts, rules and the report from what was collected.
pub fn build_report(
    root_display: &str,
    source: &str,
    meta: Option<&SnapshotMeta>,
    collected: &Collected,
    opts: &CheckOptions,
    started: chrono::DateTime<Utc>,
) -> Result<Report, crate::state::StateError> {
    let mut facts = crate::facts::derive::derive_for(collected, opts.pids, opts.since);
    // The state is loaded (and locked) before the rules run, the facts read it, and this run is
    // recorded after.
    let nothing_read = collected
        .first
        .as_ref()
        .is_none_or(|s| s.host.stat.is_none() && s.host.meminfo.is_none());
    let mut loaded = opts
        .state
        .map(|p| crate::state::open(p, crate::state::lock::WAIT, started));
    let empty = State::empty();
    let previous = loaded.as_ref().map_or(&empty, |l| &l.state);
    let counters = enrich::since_last_run(&mut facts, previous);
    let now_s = started.timestamp_millis() as f64 / 1000.0;
    trend::derive(&mut facts, loaded.as_ref().map(|l| &l.state.history), now_s);
    let mut outcome = eval::evaluate(opts.rules, &facts, &|rule, key| previous.severity(rule, key));
    // First seen, new, and what was reported before and is no longer news (info).
    let with_state = loaded.as_ref().map(|l| &l.state);
    lifecycle::apply(&mut outcome.findings, &facts, with_state, started);
    let partial = collected.partial || nothing_read;
    let mut cleared = Vec::new();
    let mut state_notes = Vec::new();
    if let (Some(path), Some(l)) = (opts.state, loaded.as_mut()) {
        for w in &l.warnings {
            eprintln!("osdoctor: warning: {w}");
        }
        state_notes.append(&mut l.notes);
        if !opts.pids.is_empty() {
            // Its findings cover some processes only: recorded, they would look cleared for the others.
            state_notes.push(format!("--state {}: not updated by a --pid run", path.display()));
        } else if collected.partial || nothing_read {
            // What was not read would look cleared, and counters half-read would look reset: the
            // next full run compares with the last full one.
            state_notes.push(format!(
                "--state {}: not updated by a partial run (no findings, counters or trend points)",
                path.display()
            ));
        } else if l.may_write() {
            let mut next = l.state.clone();
            next.record_run(started, lifecycle::records(&outcome.findings, started), partial);
            next.record_events(
                started,
                outcome.findings.iter().flat_map(|f| f.subject.events.iter()),
            );
            next.counters = counters;
            // Only a run that records itself clears: the next one then does not clear again.
            cleared = lifecycle::cleared(&l.state, &outcome.findings);
            // A replayed snapshot or a copied --root tree is another host, or this one at another time:
            // its readings are not points of this host's trends, and what it lacks is not gone. A
            // --root whose /proc is a procfs mount is a running host (the DaemonSet's /host): it counts.
            let live = collected
                .late_root
                .as_ref()
                .is_some_and(|r| r.is_live() || r.is_procfs("/proc"));
            if !live {
                state_notes.push(format!(
                    "--state {}: a run of a snapshot or of a --root tree that is not a mounted /proc adds no trend points and forgets none",
                    path.display()
                ));
            } else {
                // The host collector read the boot id with the first sample.
                let boot = collected.first.as_ref().and_then(|s| s.host.boot_id.as_deref());
                state_notes.extend(next.history.set_boot(boot));
                state_notes.extend(next.history.record(
                    started.timestamp_millis(),
                    trend::observations(&facts),
                    &trend::collected_kinds(&facts),
                ));
            }
            if let Err(e) = next.save(path) {
                eprintln!("osdoctor: warning: {e}");
                state_notes.push(e.to_string());
                cleared.clear();
            }
        }
        // The lock is released here, once the file is replaced.
        l.lock = None;
    }
    // --ignore after the state is written: the state is what the host did, ignoring is what the
    // operator wants to hear about; un-ignoring a rule shows its findings with their history.
    let ignored_notes = ignored_cause_notes(opts.rules, &facts, &outcome.findings, opts.ignore);
    let (kept, ignored) = partition(std::mem::take(&mut outcome.findings), opts.ignore);
    outcome.findings = kept;
    let mut host = host_info(root_display, meta, collected, &facts);
    host.source = source.to_string();
    let untrustworthy = collected.partial || collected.coverage.has_data_errors() || nothing_read;
    let status = Report::compute_status(&outcome.findings, untrustworthy);
    let mut notes = facts.coverage.notes.clone();
    notes.extend(state_notes);
    notes.extend(ignored_notes);
    if nothing_read {
        notes.push("neither /proc/stat nor /proc/meminfo could be read: nothing to judge".to_string());
    }
    let mut kernel_log_unrecognised = crate::parse::kernel_log::Unrecognised::default();
    if let Some((log, _)) = collected.kernel_log() {
        kernel_log_unrecognised = log.unrecognised.clone();
        notes.extend(log.unrecognised.note());
        let lost = log.lost_messages();
        if lost > 0 {
            notes.push(format!(
                "the kernel log dropped or suppressed {lost} messages: event counts are lower bounds"
            ));
        }
    }
    let matrix = use_matrix(
        opts.rules,
        &outcome.evaluated,
        &outcome.not_evaluated,
        &outcome.findings,
    );
    // Stories over every finding; --min-severity then keeps the stories at or above it, whole.
    let diagnoses = diagnose(opts.rules, &facts, &outcome.findings);
    let (mut findings, diagnoses) = shown(outcome.findings, diagnoses, opts.min_severity);
    let kubelet = collected.first.as_ref().and_then(|s| s.kubelet.as_ref());
    enrich::add_pod_names(&mut findings, kubelet);
    if let Some(note) = enrich::add_cmdlines(&mut findings, collected, opts.rules, opts.timeout, opts.redact)
    {
        notes.push(note);
    }
    if let Some(note) = enrich::add_fd_tables(&mut findings, collected, opts.rules, opts.timeout) {
        notes.push(note);
    }
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool::default(),
        host,
        started_at: started.to_rfc3339_opts(SecondsFormat::Secs, true),
        interval_s: (collected.interval_s * 1000.0).round() / 1000.0,
        status,
        // Lines not understood make the report partial but not UNKNOWN (`status` above).
        partial: collected.partial || kernel_log_unrecognised.count > 0,
        findings,
        diagnoses,
        cleared: cleared
            .into_iter()
            .filter(|c| c.severity >= opts.min_severity)
            .filter(|c| !opts.ignore.iter().any(|p| p.matches_label(&c.rule, &c.label)))
            .collect(),
        use_matrix: matrix,
        coverage: CoverageReport {
            read: collected.coverage.read.iter().cloned().collect(),
            unreadable: collected.coverage.problems.clone(),
            rules_evaluated: outcome.evaluated.len(),
            not_evaluated: outcome.not_evaluated,
            notes,
            ignored,
            kernel_log_unrecognised,
        },
    })
}

fn host_info(root_display: &str, meta: Option<&SnapshotMeta>, c: &Collected, facts: &Facts) -> HostInfo {
    let host = c.first.as_ref().map(|s| &s.host);
    HostInfo {
        hostname: host
            .and_then(|h| h.hostname.clone())
            .or_else(|| meta.map(|m| m.hostname.clone())),
        kernel: host
            .and_then(|h| h.kernel_release.clone())
            .or_else(|| meta.map(|m| m.kernel.clone())),
        cpus: facts.host.facts.get_f64("host.cpus").map(|c| c as u32),
        memory_bytes: facts.host.facts.get_f64("host.mem.total_bytes").map(|m| m as u64),
        cgroup_mode: c
            .first
            .as_ref()
            .and_then(|s| s.cgroups.as_ref())
            .and_then(|cg| cg.layout.as_ref())
            .and_then(|l| l.mode)
            .map(|m| m.name().to_string()),
        root: root_display.to_string(),
        source: String::new(),
        container: c
            .first
            .as_ref()
            .and_then(|s| s.container.as_ref())
            .and_then(ContainerInfo::of),
    }
}

/// The stories at or above `min` (a story's severity is its worst finding's), whole: their findings
/// are shown, a cause below `min` too, so that a story is never told without its cause. Members are
/// re-indexed into the findings shown.
fn shown(findings: Vec<Finding>, diagnoses: Vec<Diagnosis>, min: Severity) -> (Vec<Finding>, Vec<Diagnosis>) {
    let diagnoses: Vec<Diagnosis> = diagnoses.into_iter().filter(|d| d.severity >= min).collect();
    let mut keep = vec![false; findings.len()];
    for d in &diagnoses {
        for &i in &d.members {
            keep[i] = true;
        }
    }
    let mut new_index = vec![None; findings.len()];
    let mut kept = Vec::new();
    for (i, f) in findings.into_iter().enumerate() {
        if keep[i] {
            new_index[i] = Some(kept.len());
            kept.push(f);
        }
    }
    let diagnoses = diagnoses
        .into_iter()
        .map(|mut d| {
            d.members = d.members.iter().filter_map(|&i| new_index[i]).collect();
            d
        })
        .collect();
    (kept, diagnoses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::SubjectId;
    use crate::rules::UseKind;
    use crate::rules::diagnose::FindingRef;

    fn finding(rule: &str, severity: Severity) -> Finding {
        Finding {
            rule: rule.to_string(),
            title: String::new(),
            severity,
            resource: "cpu".to_string(),
            use_kind: UseKind::Saturation,
            subject: SubjectId::host(),
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

    fn story(findings: &[Finding], members: Vec<usize>) -> Diagnosis {
        Diagnosis {
            id: findings[members[0]].rule.clone(),
            severity: members.iter().map(|&i| findings[i].severity).max().unwrap(),
            title: String::new(),
            summary: String::new(),
            why: String::new(),
            cause: FindingRef::of(&findings[members[0]]),
            effects: members[1..]
                .iter()
                .map(|&i| FindingRef::of(&findings[i]))
                .collect(),
            next_steps: Vec::new(),
            members,
        }
    }

    #[test]
    fn min_severity_keeps_whole_stories_never_an_effect_without_its_cause() {
        // A warning cause with a critical effect, and an info finding of its own.
        let findings = vec![
            finding("cpu.effect", Severity::Critical),
            finding("cpu.cause", Severity::Warning),
            finding("cpu.alone", Severity::Info),
        ];
        let diagnoses = vec![story(&findings, vec![1, 0]), story(&findings, vec![2])];
        let (shown_findings, shown_stories) = shown(findings, diagnoses, Severity::Critical);
        let rules: Vec<&str> = shown_findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, vec!["cpu.effect", "cpu.cause"]);
        assert_eq!(shown_stories.len(), 1);
        // Members index the findings shown: the cause first.
        assert_eq!(shown_stories[0].members, vec![1, 0]);
        assert_eq!(shown_findings[shown_stories[0].members[0]].rule, "cpu.cause");
    }
}
