//! The driver: runs the recognisers (the OOM tracker, then the line scanner) over records in log
//! order and collects their events, and gives events without a logged time a wall-clock time.

use chrono::{DateTime, Duration, FixedOffset};
use serde::Serialize;

use super::events::{EventKind, KernelEvent, LostEvent, TimeSource};
use super::lines::LineScanner;
use super::oom::OomTracker;
use super::record::{LogRecord, Lost, sequence_gaps};
use super::unrecognised::Unrecognised;

/// What [`diagnose`] found.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Diagnosis {
    /// In log order.
    pub events: Vec<KernelEvent>,
    /// /dev/kmsg sequence gaps (also reported as `lost` events).
    pub lost: Vec<Lost>,
    /// Lines that name an event no recogniser understood.
    pub unrecognised: Unrecognised,
}

/// Recognise kernel events in records (in log order). Lines that are not understood are ignored,
/// except those naming an event (see [`super::unrecognised`]), which are counted; records that user
/// space wrote to /dev/kmsg are not evidence and are skipped.
pub fn diagnose(records: &[LogRecord]) -> Diagnosis {
    let mut events = Vec::new();
    let mut oom = OomTracker::default();
    let mut scanner = LineScanner::default();
    let mut previous_seq: Option<u64> = None;
    let mut unrecognised = Unrecognised::default();
    for (index, record) in records.iter().enumerate() {
        if let Some(seq) = record.seq {
            if let Some(prev) = previous_seq
                && seq > prev.saturating_add(1)
            {
                let lost = LostEvent {
                    what: "kmsg_gap".to_string(),
                    name: None,
                    count: seq - prev - 1,
                    after_seq: Some(prev),
                };
                events.push(KernelEvent::at(EventKind::Lost(lost), record, index));
            }
            previous_seq = Some(seq);
        }
        if !record.is_from_kernel() {
            continue;
        }
        let text = record.text.trim();
        if text.is_empty() {
            continue;
        }
        if oom.feed(index, record, text, &mut events) {
            continue;
        }
        if !scanner.feed(index, record, text, &mut events) {
            unrecognised.consider(text);
        }
    }
    oom.finish(&mut events);
    events.sort_by_key(|e| e.record_index);
    Diagnosis {
        events,
        lost: sequence_gaps(records),
        unrecognised,
    }
}

/// Give events that have only a monotonic timestamp a wall-clock time: `boot_time` plus the
/// timestamp. Take `boot_time` from CLOCK_REALTIME - CLOCK_MONOTONIC when the log was read (or
/// /proc/stat `btime`, which is whole seconds). Events that already have a time keep it.
pub fn resolve_wall_times(events: &mut [KernelEvent], boot_time: DateTime<FixedOffset>) {
    for event in events.iter_mut().filter(|e| e.time.is_none()) {
        let Some(usec) = event.mono_usec.and_then(|u| i64::try_from(u).ok()) else {
            continue;
        };
        if let Some(time) = boot_time.checked_add_signed(Duration::microseconds(usec)) {
            event.time = Some(time);
            event.time_source = Some(TimeSource::BootTimePlusMonotonic);
        }
    }
}
