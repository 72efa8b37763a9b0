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
/// Without timestamps: how many records apart two reports of one incident are, at most.
const SAME_INCIDENT_RECORDS: usize = 8;
/// How many jiffies apart the stalled CPU's and another CPU's reports of one stall are, at most
/// (both are printed from the same grace period's check; zfs#557: t=15000 and t=15002).
const SAME_STALL_JIFFIES: u64 = 50;

/// Count once what two parts of the kernel report of one incident:
/// - an RCU stall that the stalled CPU reports itself (`detected stall on CPU 2 (t=15000 jiffies)`,
///   2.6 to 3.x) and another CPU reports too (`detected stalls on CPUs/tasks: { 2} (detected by 7,
///   t=15002 jiffies)`): the same CPUs, a few jiffies apart; the other CPU's report goes;
/// - the machine-check notifier's bare `mce: [Hardware Error]: Machine check events logged` and the
///   EDAC or decoded machine-check record of the error it announced, printed within 2 s (or a few
///   records, without timestamps): each decoded record takes at most one notification with it.
fn merge_duplicate_reports(events: &mut Vec<KernelEvent>) {
    let mut drop = vec![false; events.len()];
    for i in 0..events.len() {
        for j in i + 1..events.len() {
            if events[j].record_index.saturating_sub(events[i].record_index) > 200 {
                break;
            }
            if let Some(other) = rcu_duplicate(&events[i], &events[j]) {
                drop[if other { j } else { i }] = true;
            }
        }
    }
    // Each decoded record pairs with the nearest unpaired notification (before it first).
    for d in 0..events.len() {
        if !decoded_machine_check(&events[d]) {
            continue;
        }
        let near =
            |n: usize| !drop[n] && mce_notification(&events[n]) && same_incident(&events[n], &events[d]);
        let before = (0..d).rev().find(|&n| near(n));
        let after = || (d + 1..events.len()).find(|&n| near(n));
        if let Some(n) = before.or_else(after) {
            drop[n] = true;
        }
    }
    let mut index = 0;
    events.retain(|_| {
        index += 1;
        !drop[index - 1]
    });
}

fn same_incident(a: &KernelEvent, b: &KernelEvent) -> bool {
    match (a.mono_usec, b.mono_usec, a.time, b.time) {
        (Some(x), Some(y), _, _) => x.abs_diff(y) <= SAME_INCIDENT_USEC,
        (_, _, Some(x), Some(y)) => (x - y)
            .num_microseconds()
            .is_some_and(|d| d.unsigned_abs() <= SAME_INCIDENT_USEC),
        _ => b.record_index.abs_diff(a.record_index) <= SAME_INCIDENT_RECORDS,
    }
}

/// An RCU stall report's flavour, the CPUs it names, its `t=` jiffies, and whether another CPU
/// detected it.
fn rcu_stall(e: &KernelEvent) -> Option<(&str, Vec<u32>, u64, bool)> {
    let EventKind::Oops(o) = &e.kind else { return None };
    if o.what != super::events::OopsKind::RcuStall {
        return None;
    }
    let flavour = o.detail.split_whitespace().next()?;
    let (_, after_t) = o.detail.split_once("t=")?;
    let jiffies = after_t
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    if let Some((_, rest)) = o.detail.split_once("detected stalls on CPUs/tasks: {") {
        let (set, _) = rest.split_once('}')?;
        let mut cpus: Vec<u32> = set
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        cpus.sort_unstable();
        return (!cpus.is_empty()).then_some((flavour, cpus, jiffies, true));
    }
    let (_, rest) = o.detail.split_once("detected stall on CPU ")?;
    let cpu = rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some((flavour, vec![cpu], jiffies, false))
}

/// `Some(true)` when `b` is another CPU's report of the stall `a` reports itself, `Some(false)` the
/// other way round: the same flavour and CPUs, a few jiffies into the grace period apart, printed
/// within 2 s (or a few records) of each other (`t=` counts from the grace period's start, so
/// another grace period's stall may show the same `t=`).
fn rcu_duplicate(a: &KernelEvent, b: &KernelEvent) -> Option<bool> {
    let (fa, ca, ta, other_a) = rcu_stall(a)?;
    let (fb, cb, tb, other_b) = rcu_stall(b)?;
    let same = fa == fb
        && other_a != other_b
        && ca == cb
        && ta.abs_diff(tb) <= SAME_STALL_JIFFIES
        && same_incident(a, b);
    same.then_some(other_b)
}

fn mce_notification(e: &KernelEvent) -> bool {
    matches!(&e.kind, EventKind::HardwareError(h)
        if h.source == "mce" && h.lines <= 1 && h.detail == "Machine check events logged")
}

/// The decoded record of a machine check: EDAC's, or the mce decoder's own lines.
fn decoded_machine_check(e: &KernelEvent) -> bool {
    matches!(&e.kind, EventKind::HardwareError(h) if h.source == "edac" || h.source == "mce")
        && !mce_notification(e)
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
