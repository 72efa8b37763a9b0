//! `--state FILE`: what earlier runs found, so cron runs do not flap (a firing rule holds until its clear
//! level) and trends across runs can be seen. The file is JSON, written atomically ([`crate::atomic_file`]).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::rules::Severity;

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
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("--state {path}: {message}")]
    Io { path: String, message: String },
}

impl State {
    /// Load; a missing file is an empty state (the first run).
    pub fn load(path: &Path) -> Result<State, StateError> {
        let err = |message: String| StateError::Io {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                err(format!(
                    "{e}; not an osdoctor state file (delete it to start over)"
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State {
                version: 1,
                ..State::default()
            }),
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
        self.version = 1;
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

    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let err = |message: String| StateError::Io {
            path: path.display().to_string(),
            message,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
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
