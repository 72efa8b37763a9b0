//! `--state FILE`: what earlier runs found, so cron runs do not flap (a firing rule holds until its clear
//! level), counters to see what grew since the last run, and the history of the gauges that leak
//! ([`history`]) for the trend rules.
//!
//! The file is JSON, version [`VERSION`]. It is written atomically ([`crate::atomic_file`]) and only
//! under an exclusive lock on `FILE.lock` ([`lock`]), taken when the state is loaded and held until it
//! is saved, so that two runs never lose each other's update; a run that cannot get the lock within
//! [`lock::WAIT`] reads the state but leaves it as it is. A file that is not an osdoctor state file is
//! set aside as `FILE.corrupt-TIME` (never trusted, never a crash); a file of a newer version is left
//! alone; a version 1 file is read as it is (its runs kept) and written back as version 2.

pub mod history;
pub mod lock;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use history::History;

use crate::rules::Severity;

/// The file format this binary writes.
pub const VERSION: u32 = 2;

/// How many runs the file keeps.
pub const KEEP_RUNS: usize = 12;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    pub rule: String,
    /// `host`, `process:PID:COMM`, `cgroup:/path`, `kernel_event:segfault:COMM`, ...
    pub subject: String,
    pub severity: Severity,
    /// When the run that first had it ran (carried from run to run while it lasts); absent in files
    /// written before the finding lifecycle, where the runs themselves tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<DateTime<Utc>>,
    /// The subject as the table names it, for `cleared`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub time: DateTime<Utc>,
    pub findings: Vec<FindingRecord>,
    /// A run abandoned at the deadline: what it did not find may only have been unread, so it
    /// neither ends a finding's lifetime nor clears it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

impl RunRecord {
    pub fn find(&self, rule: &str, subject: &str) -> Option<&FindingRecord> {
        self.findings
            .iter()
            .find(|f| f.rule == rule && f.subject == subject)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Oldest first.
    pub runs: Vec<RunRecord>,
    /// Counters of the last run (`SUBJECT-KEY FACT` -> value), to see what grew since.
    #[serde(default)]
    pub counters: std::collections::BTreeMap<String, f64>,
    /// The leaking gauges over time (version 2).
    #[serde(default)]
    pub history: History,
    /// The kernel events findings reported (their identities, [`crate::facts::kernel::event_id`]),
    /// with the time of the run that first reported each: an event reported once is not new again.
    #[serde(default)]
    pub events: std::collections::BTreeMap<String, DateTime<Utc>>,
}

/// Kernel-event identities kept at most (the newest); a /dev/kmsg ring buffer of a few MiB holds
/// some tens of thousands of records, most of them not events.
pub const MAX_EVENTS: usize = 8_192;
/// An identity not seen again is forgotten after this long (the longest useful --since is a week).
pub const EVENT_HORIZON_DAYS: i64 = 8;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("--state {path}: {message}")]
    Io { path: String, message: String },
}

/// What loading the state found, and whether this run may write it.
#[derive(Debug)]
pub struct Loaded {
    /// What earlier runs left (empty on the first run, or when the file could not be trusted).
    pub state: State,
    /// Held while this run may update the file; `None`: the run leaves the file alone.
    pub lock: Option<lock::StateLock>,
    /// What the report's coverage notes should say (a migration, a file set aside, a busy lock).
    pub notes: Vec<String>,
    /// The notes that are warnings, also for stderr.
    pub warnings: Vec<String>,
}

impl Loaded {
    pub fn may_write(&self) -> bool {
        self.lock.is_some()
    }
}

/// `FILE.corrupt-20261207T133200Z` beside `FILE`.
pub fn corrupt_path(path: &Path, now: DateTime<Utc>) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".corrupt-{}", now.format("%Y%m%dT%H%M%SZ")));
    PathBuf::from(name)
}

/// Lock and load `path`, never failing: what could not be done is in the notes, and the run goes on.
pub fn open(path: &Path, wait: std::time::Duration, now: DateTime<Utc>) -> Loaded {
    let shown = path.display();
    let mut out = Loaded {
        state: State::empty(),
        lock: None,
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    match lock::acquire(path, wait) {
        lock::Locked::Held(l) => out.lock = Some(l),
        lock::Locked::Busy => out.notes.push(format!(
            "--state {shown}: another osdoctor run held its lock for {}s: this run read the state but did not update it",
            wait.as_secs_f64()
        )),
        lock::Locked::Failed(why) => out.warnings.push(format!(
            "--state {shown}: could not lock ({why}): this run read the state but did not update it"
        )),
    }
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out.finish(),
        Err(e) => {
            out.warnings.push(format!(
                "--state {shown}: {e}: this run neither used nor updated it"
            ));
            out.lock = None;
            return out.finish();
        }
    };
    match parse(&text) {
        Ok(state) => {
            if state.version < VERSION {
                out.notes.push(format!(
                    "--state {shown}: a version {} file, read as it is (its {} runs kept); trends start now",
                    state.version,
                    state.runs.len()
                ));
            }
            out.state = state;
        }
        Err(Parsed::Newer(v)) => {
            out.warnings.push(format!(
                "--state {shown}: version {v} is newer than this osdoctor knows ({VERSION}): left as it is, not used and not updated"
            ));
            out.lock = None;
        }
        Err(Parsed::Foreign(why)) if out.lock.is_some() => {
            let aside = corrupt_path(path, now);
            match std::fs::rename(path, &aside) {
                Ok(()) => out.warnings.push(format!(
                    "--state {shown}: not an osdoctor state file ({why}): set aside as {}; starting over",
                    aside.display()
                )),
                Err(e) => {
                    out.warnings.push(format!(
                        "--state {shown}: not an osdoctor state file ({why}), and it could not be set aside ({e}): not used and not updated"
                    ));
                    out.lock = None;
                }
            }
        }
        Err(Parsed::Foreign(why)) => out.warnings.push(format!(
            "--state {shown}: not an osdoctor state file ({why}): not used (another run holds the lock and may set it aside)"
        )),
    }
    out.finish()
}

impl Loaded {
    fn finish(mut self) -> Loaded {
        self.notes.extend(self.warnings.iter().cloned());
        self
    }
}

enum Parsed {
    Newer(u64),
    Foreign(String),
}

/// A state file of this version or an older one.
fn parse(text: &[u8]) -> Result<State, Parsed> {
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| Parsed::Foreign(format!("not JSON: {e}")))?;
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| Parsed::Foreign("no version".to_string()))?;
    if version > u64::from(VERSION) {
        return Err(Parsed::Newer(version));
    }
    if version == 0 || value.get("runs").is_none() {
        return Err(Parsed::Foreign(format!("version {version} without runs")));
    }
    let mut state: State = serde_json::from_value(value).map_err(|e| Parsed::Foreign(e.to_string()))?;
    state.history.drop_foreign_gauges();
    Ok(state)
}

impl State {
    /// A state file's content, as [`State::load`] reads it; the error says why it is not one.
    pub fn from_bytes(text: &[u8]) -> Result<State, String> {
        parse(text).map_err(|e| match e {
            Parsed::Newer(v) => format!("version {v} is newer than this osdoctor knows"),
            Parsed::Foreign(why) => why,
        })
    }

    /// The state before any run.
    pub fn empty() -> State {
        State {
            version: VERSION,
            ..State::default()
        }
    }

    /// Load without locking; a missing file is an empty state (the first run). For tools and tests:
    /// a run uses [`open`].
    pub fn load(path: &Path) -> Result<State, StateError> {
        let err = |message: String| StateError::Io {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read(path) {
            Ok(text) => parse(&text).map_err(|e| match e {
                Parsed::Newer(v) => err(format!("version {v} is newer than this osdoctor knows")),
                Parsed::Foreign(why) => err(format!("{why}; not an osdoctor state file")),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::empty()),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// The severity of `rule` on `subject` in the last run, if it fired.
    pub fn severity(&self, rule: &str, subject: &str) -> Option<Severity> {
        self.runs
            .last()?
            .findings
            .iter()
            .find(|f| f.rule == rule && f.subject == subject)
            .map(|f| f.severity)
    }

    pub fn record_run(&mut self, time: DateTime<Utc>, findings: Vec<FindingRecord>, partial: bool) {
        self.version = VERSION;
        self.runs.push(RunRecord {
            time,
            findings,
            partial,
        });
        let excess = self.runs.len().saturating_sub(KEEP_RUNS);
        self.runs.drain(..excess);
    }

    /// When `rule` on `subject` was first seen, if it has been seen without a break until now: the
    /// newest run that had it, the partial runs after it (which may have missed it) skipped. Its
    /// recorded `first_seen`, or for a record without one the oldest run of the unbroken streak.
    pub fn first_seen(&self, rule: &str, subject: &str) -> Option<DateTime<Utc>> {
        let mut runs = self
            .runs
            .iter()
            .rev()
            .skip_while(|r| r.partial && r.find(rule, subject).is_none());
        let newest = runs.next()?;
        let record = newest.find(rule, subject)?;
        if let Some(t) = record.first_seen {
            return Some(t);
        }
        let mut oldest = newest.time;
        for r in runs {
            match r.find(rule, subject) {
                Some(f) if f.first_seen.is_some() => return f.first_seen,
                Some(_) => oldest = r.time,
                None if r.partial => {}
                None => break,
            }
        }
        Some(oldest)
    }

    /// What the previous run reported: the last complete run's findings and those of the partial
    /// runs after it, newest record first, each (rule, subject) once.
    pub fn last_reported(&self) -> Vec<&FindingRecord> {
        let mut out: Vec<&FindingRecord> = Vec::new();
        for r in self.runs.iter().rev() {
            for f in &r.findings {
                if !out.iter().any(|o| o.rule == f.rule && o.subject == f.subject) {
                    out.push(f);
                }
            }
            if !r.partial {
                break;
            }
        }
        out
    }

    /// Remember the kernel events this run reported (`seen`: every event of its findings), keeping
    /// when each was first reported; forget those neither seen now nor reported within
    /// [`EVENT_HORIZON_DAYS`], then keep the newest [`MAX_EVENTS`].
    pub fn record_events<'a>(&mut self, now: DateTime<Utc>, seen: impl Iterator<Item = &'a String>) {
        let seen: std::collections::BTreeSet<&String> = seen.collect();
        let horizon = now - chrono::Duration::days(EVENT_HORIZON_DAYS);
        self.events.retain(|id, t| seen.contains(id) || *t >= horizon);
        for id in seen {
            self.events.entry(id.clone()).or_insert(now);
        }
        if self.events.len() > MAX_EVENTS {
            let mut by_age: Vec<(DateTime<Utc>, String)> =
                self.events.iter().map(|(id, t)| (*t, id.clone())).collect();
            by_age.sort();
            let excess = by_age.len() - MAX_EVENTS;
            for (_, id) in by_age.into_iter().take(excess) {
                self.events.remove(&id);
            }
        }
    }

    /// Write the file atomically (compact JSON: the history holds thousands of numbers).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let err = |message: String| StateError::Io {
            path: path.display().to_string(),
            message,
        };
        let text = serde_json::to_string(self).map_err(|e| err(e.to_string()))?;
        crate::atomic_file::write_atomic(path, (text + "\n").as_bytes()).map_err(|e| err(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        rule: &str,
        subject: &str,
        severity: Severity,
        first_seen: Option<DateTime<Utc>>,
    ) -> FindingRecord {
        FindingRecord {
            rule: rule.to_string(),
            subject: subject.to_string(),
            severity,
            first_seen,
            label: String::new(),
        }
    }

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn first_seen_lasts_while_the_finding_does_and_partial_runs_do_not_break_it() {
        let mut s = State::empty();
        let x = |first| vec![record("cpu.runqueue", "host", Severity::Warning, first)];
        // A file written before the lifecycle: no first_seen, the runs tell.
        s.record_run(at(0), vec![], false);
        s.record_run(at(1), x(None), false);
        s.record_run(at(2), x(None), false);
        assert_eq!(s.first_seen("cpu.runqueue", "host"), Some(at(1)));
        // A partial run that missed it does not end it; its record carries first_seen on.
        s.record_run(at(3), vec![], true);
        assert_eq!(s.first_seen("cpu.runqueue", "host"), Some(at(1)));
        s.record_run(at(4), x(Some(at(1))), false);
        assert_eq!(s.first_seen("cpu.runqueue", "host"), Some(at(1)));
        assert_eq!(s.last_reported().len(), 1);
        // A complete run without it ends it: it is cleared, and new when it comes back.
        s.record_run(at(5), vec![], false);
        assert_eq!(s.first_seen("cpu.runqueue", "host"), None);
        assert!(s.last_reported().is_empty());
        // A partial run's findings are reported too: they clear with the next complete run.
        s.record_run(at(6), vec![], false);
        s.record_run(at(7), x(None), true);
        assert_eq!(s.last_reported().len(), 1);
    }

    #[test]
    fn reported_events_are_kept_with_their_first_report_and_bounded() {
        let mut s = State::empty();
        let ids: Vec<String> = (0..MAX_EVENTS + 10).map(|i| format!("boot/{i}")).collect();
        s.record_events(at(0), ids[..10].iter());
        s.record_events(at(1), ids[5..].iter());
        assert_eq!(s.events.len(), MAX_EVENTS);
        assert_eq!(s.events["boot/12"], at(1));
        // The oldest reports went first (the ten of the first run, seen again or not).
        assert!(!s.events.contains_key("boot/0") && !s.events.contains_key("boot/9"));
        // Those seen again keep their first report; the others are forgotten after the horizon.
        let later = at(EVENT_HORIZON_DAYS * 1440 + 10);
        s.record_events(later, ids[10..12].iter());
        assert_eq!(s.events.len(), 2);
        assert_eq!(s.events["boot/10"], at(1));
    }

    #[test]
    fn a_v2_file_written_before_the_lifecycle_loads() {
        let text = br#"{"version":2,"runs":[{"time":"2026-12-07T10:00:00Z","findings":[
            {"rule":"cpu.runqueue","subject":"host","severity":"warning"}]}],"counters":{},"history":{}}"#;
        let s = parse(text).unwrap_or_else(|_| panic!("not loaded"));
        assert!(s.events.is_empty());
        assert!(!s.runs[0].partial);
        let t = "2026-12-07T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(s.first_seen("cpu.runqueue", "host"), Some(t));
        assert_eq!(s.last_reported()[0].label, "");
    }

    #[test]
    fn round_trip_and_keep_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::load(&path).unwrap();
        for i in 0..20 {
            let sev = if i % 2 == 0 {
                Severity::Warning
            } else {
                Severity::Critical
            };
            s.record_run(Utc::now(), vec![record("cpu.runqueue", "host", sev, None)], false);
        }
        s.save(&path).unwrap();
        let back = State::load(&path).unwrap();
        assert_eq!(back.runs.len(), KEEP_RUNS);
        assert_eq!(back.severity("cpu.runqueue", "host"), Some(Severity::Critical));
        assert_eq!(back.severity("cpu.runqueue", "process:1:x"), None);
        std::fs::write(&path, "garbage").unwrap();
        assert!(
            State::load(&path)
                .unwrap_err()
                .to_string()
                .contains("not an osdoctor state file")
        );
    }
}
