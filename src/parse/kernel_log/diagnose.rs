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
    merge_duplicate_reports(&mut events);
    oops_task_from_caller(&mut events, records);
    Diagnosis {
        events,
        lost: sequence_gaps(records),
        unrecognised,
    }
}

/// An oops whose report names no task (3.0's ARM `CPU: 1 Not tainted`, an excerpt cut before the
/// `CPU: N PID: P` line) takes its key line's printk caller when that is a task (`[T902]`, Samsung's
/// `c0 1 (swapper/0)`): die() and the fault handlers print in the faulting task's context, and a
/// caller id is a task's pid only in task context (kernel/printk/printk.c printk_caller_id). Not
/// for stalls, lockups and panics, which another context reports.
fn oops_task_from_caller(events: &mut [KernelEvent], records: &[LogRecord]) {
    use super::events::OopsKind;
    for e in events.iter_mut() {
        let EventKind::Oops(o) = &mut e.kind else { continue };
        let in_faulting_task = matches!(
            o.what,
            OopsKind::Oops
                | OopsKind::NullPointerDereference
                | OopsKind::PagingRequest
                | OopsKind::GeneralProtectionFault
                | OopsKind::KernelBug
                | OopsKind::Bug
        );
        if !in_faulting_task || o.pid.is_some() {
            continue;
        }
        let Some(record) = records.get(e.record_index) else {
            continue;
        };
        o.pid = record
            .caller
            .as_deref()
            .and_then(|c| c.strip_prefix('T'))
            .and_then(|pid| pid.parse().ok());
        if o.pid.is_some() && o.comm.is_none() {
            o.comm.clone_from(&record.caller_comm);
        }
    }
}

/// How far apart two reports of one incident are printed, at most.
const SAME_INCIDENT_USEC: u64 = 2_000_000;
/// Without timestamps: how many records apart, at most.
const SAME_INCIDENT_RECORDS: usize = 12;

/// Count once what two parts of the kernel report of one incident:
/// - an RCU stall that the stalled CPU reports itself (`detected stall on CPU 2`, 2.6 to 3.x) and
///   another CPU reports too (`detected stalls on CPUs/tasks: { 2} (detected by 7, ...)`): the
///   other CPU's report goes;
/// - the machine-check notifier's `mce: [Hardware Error]: Machine check events logged`, next to the
///   EDAC or decoded record of the same error: the bare notification goes.
fn merge_duplicate_reports(events: &mut Vec<KernelEvent>) {
    let mut drop = vec![false; events.len()];
    for i in 0..events.len() {
        for j in i + 1..events.len() {
            let (a, b) = (&events[i], &events[j]);
            if b.record_index.saturating_sub(a.record_index) > 200 {
                break;
            }
            if !same_incident_time(a, b) {
                continue;
            }
            if let Some(other) = rcu_duplicate(a, b) {
                drop[if other { j } else { i }] = true;
            }
            if mce_notification(a) && decoded_hardware(b) {
                drop[i] = true;
            } else if mce_notification(b) && decoded_hardware(a) {
                drop[j] = true;
            }
        }
    }
    let mut index = 0;
    events.retain(|_| {
        index += 1;
        !drop[index - 1]
    });
}

fn same_incident_time(a: &KernelEvent, b: &KernelEvent) -> bool {
    match (a.mono_usec, b.mono_usec, a.time, b.time) {
        (Some(x), Some(y), _, _) => x.abs_diff(y) <= SAME_INCIDENT_USEC,
        (_, _, Some(x), Some(y)) => (x - y)
            .num_microseconds()
            .is_some_and(|d| d.unsigned_abs() <= SAME_INCIDENT_USEC),
        _ => b.record_index.abs_diff(a.record_index) <= SAME_INCIDENT_RECORDS,
    }
}

/// The RCU flavour and the CPUs an RCU stall report names, and whether another CPU detected it.
fn rcu_stall_cpus(e: &KernelEvent) -> Option<(&str, Vec<u32>, bool)> {
    let EventKind::Oops(o) = &e.kind else { return None };
    if o.what != super::events::OopsKind::RcuStall {
        return None;
    }
    let flavour = o.detail.split_whitespace().next()?;
    if let Some((_, rest)) = o.detail.split_once("detected stalls on CPUs/tasks: {") {
        let (set, _) = rest.split_once('}')?;
        let cpus = set
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect::<Vec<u32>>();
        return (!cpus.is_empty()).then_some((flavour, cpus, true));
    }
    let (_, rest) = o.detail.split_once("detected stall on CPU ")?;
    let cpu = rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some((flavour, vec![cpu], false))
}

/// `Some(true)` when `b` is another CPU's report of the stall `a` reports itself, `Some(false)` the
/// other way round.
fn rcu_duplicate(a: &KernelEvent, b: &KernelEvent) -> Option<bool> {
    let (fa, ca, other_a) = rcu_stall_cpus(a)?;
    let (fb, cb, other_b) = rcu_stall_cpus(b)?;
    if fa != fb || other_a == other_b {
        return None;
    }
    let (own, others) = if other_b { (&ca, &cb) } else { (&cb, &ca) };
    own.iter().all(|c| others.contains(c)).then_some(other_b)
}

fn mce_notification(e: &KernelEvent) -> bool {
    matches!(&e.kind, EventKind::HardwareError(h)
        if h.source == "mce" && h.lines <= 1 && h.detail == "Machine check events logged")
}

fn decoded_hardware(e: &KernelEvent) -> bool {
    matches!(&e.kind, EventKind::HardwareError(_)) && !mce_notification(e)
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
