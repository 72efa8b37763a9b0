//! What a run read, what it could not read and why: the report's `coverage`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::root::ReadError;

/// Why a file is listed as not read. The kind decides the exit code: a file that is absent by design
/// (no PSI on this kernel) is only noted, a malformed one or a read abandoned at the deadline makes
/// the result UNKNOWN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The file does not exist on this host or root.
    Missing,
    /// Permission denied.
    Denied,
    /// It exists but could not be read (I/O error, not a regular file, too large).
    Unreadable,
    /// It was read but did not parse.
    Malformed,
    /// The read did not finish before `--timeout`.
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub kind: ProblemKind,
    pub reason: String,
}

/// Collected during a run; cheap to clone for a partial report.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub read: BTreeSet<String>,
    pub problems: Vec<Problem>,
    /// Free-form notes ("N processes not fully inspectable: ...").
    pub notes: Vec<String>,
    /// Why the run has one sample when the source decides it (a sosreport), said for every fact
    /// that needs two instead of the `--interval` advice.
    pub one_sample: Option<String>,
}

impl Coverage {
    pub fn read_ok(&mut self, path: &str) {
        self.read.insert(path.to_string());
    }

    /// Record a failed read with its kind.
    pub fn read_failed(&mut self, err: &ReadError) {
        let kind = if err.is_not_found() {
            ProblemKind::Missing
        } else if err.is_permission_denied() {
            ProblemKind::Denied
        } else {
            ProblemKind::Unreadable
        };
        self.add(err.path(), kind, err.reason());
    }

    pub fn malformed(&mut self, path: &str, reason: impl Into<String>) {
        self.read.remove(path);
        self.add(path, ProblemKind::Malformed, reason.into());
    }

    pub fn add(&mut self, path: &str, kind: ProblemKind, reason: String) {
        let p = Problem {
            path: path.to_string(),
            kind,
            reason,
        };
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    /// The problem recorded for a path, if any (used to say why a rule was not evaluated).
    pub fn problem_for(&self, path: &str) -> Option<&Problem> {
        self.problems.iter().find(|p| p.path == path)
    }

    /// True when something that should have been readable was not: the verdict cannot be trusted fully.
    pub fn has_data_errors(&self) -> bool {
        self.problems
            .iter()
            .any(|p| matches!(p.kind, ProblemKind::Malformed | ProblemKind::Timeout))
    }

    pub fn merge(&mut self, other: Coverage) {
        self.read.extend(other.read);
        if self.one_sample.is_none() {
            self.one_sample = other.one_sample;
        }
        for p in other.problems {
            if !self.problems.contains(&p) {
                self.problems.push(p);
            }
        }
        for n in other.notes {
            if !self.notes.contains(&n) {
                self.notes.push(n);
            }
        }
    }
}
