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
    /// `host`, `process:PID:COMM`, `cgroup:/path`, ...
    pub subject: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub time: DateTime<Utc>,
    pub findings: Vec<FindingRecord>,
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
}

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

    pub fn record_run(
        &mut self,
        time: DateTime<Utc>,
        findings: impl Iterator<Item = (String, String, Severity)>,
    ) {
        self.version = VERSION;
        self.runs.push(RunRecord {
            time,
            findings: findings
                .map(|(rule, subject, severity)| FindingRecord {
                    rule,
                    subject,
                    severity,
                })
                .collect(),
        });
        let excess = self.runs.len().saturating_sub(KEEP_RUNS);
        self.runs.drain(..excess);
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
            s.record_run(
                Utc::now(),
                std::iter::once(("cpu.runqueue".to_string(), "host".to_string(), sev)),
            );
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
