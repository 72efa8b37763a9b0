//! `osdoctor kernel-log`'s run: read /dev/kmsg (of the live system, a root tree or a snapshot) or a
//! saved log, keep the events in the `--since` window, evaluate the kernel rules, and build the
//! [`KernelLogReport`] (rendered by [`crate::report::render`]).

use std::io;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};

use std::time::Duration;

use super::collectors::Scope;
use super::deadline;
use super::source::{Source, SourceError};
use crate::collect::kmsg::{self, KernelLog};
use crate::facts::{FactSet, SubjectKind};
use crate::parse::kernel_log::KernelEvent;
use crate::report::kernel_log::{KernelLogReport, Window};
use crate::report::{Report, Tool};
use crate::rules::{Rule, eval};

/// Why the log could not be read (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum KernelLogError {
    #[error("--file {0}: {1}")]
    File(String, io::Error),
    #[error(
        "{0}: {1} (reading the kernel log needs root or CAP_SYSLOG when kernel.dmesg_restrict = 1; or pass --file with a saved dmesg)"
    )]
    Kmsg(String, String),
    /// A saved log in a bundle could not be read.
    #[error("{0}: {1}")]
    Saved(String, String),
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// How long reading /dev/kmsg may take before the run gives up (it is read without blocking; this
/// bounds a root tree whose files hang).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where to read from.
pub enum LogInput<'a> {
    File(&'a Path),
    Source(&'a Source),
}

/// Read the log, keep the events in the window and evaluate the kernel rules.
pub fn run(
    input: LogInput,
    since: Option<Option<chrono::Duration>>,
    rules: &[Rule],
) -> Result<KernelLogReport, KernelLogError> {
    let (log, now, default_since) = match input {
        LogInput::File(path) => {
            let log = kmsg::from_file(path, None)
                .map_err(|e| KernelLogError::File(path.display().to_string(), e))?;
            // A saved log is read after the fact: its window ends at its newest event.
            let newest = log
                .events
                .iter()
                .filter_map(|e| e.time)
                .max()
                .map(|t| t.with_timezone(&Utc));
            (log, newest, None)
        }
        LogInput::Source(source) => {
            // The same pass and deadline worker as every command, scoped to the kernel log: one
            // sample (a replay reads the snapshot's first), dated by the boot time it reads.
            let collected = deadline::collect(source.plan(Duration::ZERO), Scope::KernelLog, TIMEOUT);
            let Some(first) = collected.first else {
                return Err(KernelLogError::Kmsg(
                    format!("{}/dev/kmsg", display_prefix(source)),
                    format!("not read within {} s", TIMEOUT.as_secs()),
                ));
            };
            let now = first.wall;
            let Some(log) = first.kernel_log else {
                // A sosreport's saved log, else /dev/kmsg.
                let saved = match source {
                    Source::Sosreport { report, .. } => Some(report.data.kernel_log.clone()),
                    _ => None,
                };
                let path = saved.clone().flatten().unwrap_or_else(|| "/dev/kmsg".to_string());
                let reason = collected
                    .coverage
                    .problem_for(&path)
                    .map(|p| p.reason.clone())
                    .unwrap_or_else(|| "not read".to_string());
                let shown = format!("{}{path}", display_prefix(source));
                return Err(match saved {
                    Some(Some(_)) => KernelLogError::Saved(shown, reason),
                    Some(None) => KernelLogError::Saved(
                        display_prefix(source),
                        "the sosreport holds no kernel log (sos_commands/kernel/dmesg, a journal export or var/log/messages)"
                            .to_string(),
                    ),
                    None => KernelLogError::Kmsg(shown, reason),
                });
            };
            (log, Some(now), Some(chrono::Duration::hours(24)))
        }
    };
    let since = since.unwrap_or(default_since);
    let window_start = match (now, since) {
        (Some(now), Some(d)) => Some(now - d),
        _ => None,
    };
    Ok(build(log, now, since, window_start, rules))
}

fn display_prefix(source: &Source) -> String {
    match source {
        Source::Live(_) => String::new(),
        other => other.display().trim_end_matches('/').to_string(),
    }
}

fn build(
    log: KernelLog,
    now: Option<DateTime<Utc>>,
    since: Option<chrono::Duration>,
    window_start: Option<DateTime<Utc>>,
    rules: &[Rule],
) -> KernelLogReport {
    let age_reference = now.unwrap_or_else(Utc::now);
    let subjects = crate::facts::kernel::derive(&log, age_reference, window_start, "log");
    let mut host = FactSet::default();
    host.num("host.kernel_log.readable", 1.0);
    let outcome = eval::evaluate_kind(rules, SubjectKind::KernelEvent, subjects, host, true);
    let mut events: Vec<KernelEvent> = log
        .events
        .iter()
        .filter(|e| crate::facts::kernel::in_window(e, window_start))
        .cloned()
        .collect();
    events.reverse();
    let lost_messages = log.lost_messages();
    let notes: Vec<String> = log.unrecognised.note().into_iter().collect();
    KernelLogReport {
        schema_version: crate::report::kernel_log::KERNEL_LOG_SCHEMA_VERSION,
        tool: Tool::default(),
        source: log.source,
        records: log.records,
        window: Window {
            since: match since {
                Some(d) => humanize(d),
                None => "all".to_string(),
            },
            start: window_start.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            end: now.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        },
        events,
        lost: log.lost,
        lost_messages,
        partial: log.unrecognised.count > 0,
        unrecognised: log.unrecognised,
        notes,
        status: Report::compute_status(&outcome.findings, false),
        findings: outcome.findings,
        not_evaluated: outcome.not_evaluated,
    }
}

fn humanize(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    match s {
        s if s % 86400 == 0 && s > 2 * 86400 => format!("{}d", s / 86400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
