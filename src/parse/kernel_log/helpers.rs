//! What every recogniser needs: static regexes, capture groups read as text and numbers, the
//! kernel release of a `CPU: .. PID: ..` line, and an event stamped from its key record.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::events::{EventKind, KernelEvent, TimeSource};
use super::record::LogRecord;

pub(super) fn rx(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("static regex {pattern:?}: {e}"))
}

static RELEASE: LazyLock<Regex> = LazyLock::new(|| rx(r"\s(\S+) #[0-9]"));

/// `3.10.0-957.el7.x86_64` from `CPU: 3 PID: 5102 Comm: fio ... 3.10.0-957.el7.x86_64 #1`.
pub(super) fn kernel_release(cpu_line: &str) -> Option<String> {
    RELEASE.captures(cpu_line).map(|c| group(&c, 1).to_string())
}

pub(super) fn group<'t>(c: &Captures<'t>, i: usize) -> &'t str {
    c.get(i).map_or("", |m| m.as_str())
}

pub(super) fn number<T: std::str::FromStr>(c: &Captures<'_>, i: usize) -> Option<T> {
    c.get(i)?.as_str().parse().ok()
}

/// Hex with or without `0x`; `(null)` and hashed pointers give `None`.
pub(super) fn hex_number(text: &str) -> Option<u64> {
    let digits = text.trim_start_matches("0x");
    u64::from_str_radix(digits, 16).ok()
}

impl KernelEvent {
    /// An event whose key line is `record`.
    pub(super) fn at(kind: EventKind, record: &LogRecord, record_index: usize) -> Self {
        let time_source = record.wall.map(|_| {
            if record.wall_zone_assumed {
                TimeSource::LoggedZoneAssumed
            } else {
                TimeSource::Logged
            }
        });
        KernelEvent {
            kind,
            time: record.wall,
            time_source,
            mono_usec: record.mono_usec,
            seq: record.seq,
            line: record.text.trim().to_string(),
            record_index,
        }
    }
}
