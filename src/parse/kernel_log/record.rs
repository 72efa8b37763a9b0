//! Kernel log records, whatever source they were read from.
//!
//! A [`LogRecord`] is one kernel message with whatever the source printed about it: the /dev/kmsg
//! sequence number, the syslog level, the monotonic printk timestamp, a wall-clock time. Sources
//! print different subsets, so every one of those is optional.

use chrono::{DateTime, FixedOffset};

/// One kernel log message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogRecord {
    /// /dev/kmsg sequence number (64-bit, increments by one per record; a gap means lost records).
    pub seq: Option<u64>,
    /// Syslog facility (`prio >> 3`). The kernel logs with facility 0; anything else was written to
    /// /dev/kmsg by a user-space program and is not evidence of a kernel event.
    pub facility: Option<u8>,
    /// Syslog level (`prio & 7`): 0 emerg .. 3 err, 4 warning .. 7 debug.
    pub level: Option<u8>,
    /// Microseconds since boot on the printk clock (`local_clock`, which stops during suspend).
    pub mono_usec: Option<u64>,
    /// Wall-clock time when the source printed one (syslog, journalctl, `dmesg -T`).
    pub wall: Option<DateTime<FixedOffset>>,
    /// True when the source printed a wall time without a zone (classic syslog, `dmesg -T`) and the
    /// offset in [`wall`](Self::wall) is the one the caller told the parser to assume.
    pub wall_zone_assumed: bool,
    /// The message text, with /dev/kmsg `\xNN` escapes undone and trailing white space removed.
    pub text: String,
    /// /dev/kmsg dictionary: the ` KEY=VALUE` continuation lines (`SUBSYSTEM=`, `DEVICE=`).
    pub dict: Vec<(String, String)>,
    /// `caller=T123` / `C1` from kernels built with CONFIG_PRINTK_CALLER.
    pub caller: Option<String>,
    /// The caller task's comm where the log names it (Samsung's `c0 1 (swapper/0)` tags).
    pub caller_comm: Option<String>,
}

impl LogRecord {
    /// A record holding only text; the other fields are filled in by the parsers.
    pub fn from_text(text: impl Into<String>) -> Self {
        LogRecord {
            text: text.into(),
            ..LogRecord::default()
        }
    }

    /// Whether the kernel itself logged this record. Records from /dev/kmsg with a non-zero facility
    /// were injected by user space (systemd writes `30,...` daemon.info records); sources that print
    /// no facility are assumed to be the kernel's, because the text parsers already dropped lines
    /// that syslog attributes to another program.
    pub fn is_from_kernel(&self) -> bool {
        self.facility.is_none_or(|f| f == 0)
    }
}

/// Records lost between two that were read: the sequence number jumped from `after_seq` to
/// `after_seq + count + 1`. /dev/kmsg overwrote them before they were read, or the capture
/// skipped them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Lost {
    pub after_seq: u64,
    pub count: u64,
}

/// What a parser produced from one input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedLog {
    pub records: Vec<LogRecord>,
    /// Gaps in the sequence numbers (only /dev/kmsg input has them).
    pub lost: Vec<Lost>,
    /// Lines that were not kernel records: other programs' syslog lines, journalctl `-- Boot --`
    /// markers, malformed /dev/kmsg lines.
    pub skipped_lines: usize,
}

/// Sequence-number gaps between consecutive records. A sequence number that goes down (a new boot,
/// or two captures concatenated) starts a new run and is not a gap.
pub fn sequence_gaps(records: &[LogRecord]) -> Vec<Lost> {
    let mut gaps = Vec::new();
    let mut previous: Option<u64> = None;
    for seq in records.iter().filter_map(|r| r.seq) {
        if let Some(prev) = previous
            && seq > prev.saturating_add(1)
        {
            gaps.push(Lost {
                after_seq: prev,
                count: seq - prev - 1,
            });
        }
        previous = Some(seq);
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_seq(seq: u64) -> LogRecord {
        LogRecord {
            seq: Some(seq),
            ..LogRecord::default()
        }
    }

    #[test]
    fn gaps_are_counted_and_resets_are_not() {
        let records: Vec<_> = [5, 6, 9, 10, 2, 3, 3, 7].into_iter().map(with_seq).collect();
        assert_eq!(
            sequence_gaps(&records),
            vec![
                Lost {
                    after_seq: 6,
                    count: 2
                },
                Lost {
                    after_seq: 3,
                    count: 3
                }
            ]
        );
    }

    #[test]
    fn records_without_facility_count_as_kernel() {
        assert!(LogRecord::from_text("x").is_from_kernel());
        let injected = LogRecord {
            facility: Some(3),
            ..LogRecord::default()
        };
        assert!(!injected.is_from_kernel());
    }
}
