//! OOM kills: one event per victim, from an OOM report spread over dozens of lines whose format
//! changed many times between 3.10 and 6.x (the formats are listed on [`super::events::OomKill`]).
//!
//! A report (mm/oom_kill.c `dump_header` and `oom_kill_process`) is, in order:
//!
//! ```text
//! <comm> invoked oom-killer: gfp_mask=0x..(..), [nodemask=.., ]order=N, oom_score_adj=N
//! <comm> cpuset=<leaf> mems_allowed=<list>                                   before 5.0
//! CPU: N [UID: U ]PID: P Comm: <comm> Not tainted|Tainted: .. <release> #..
//! Pid: P, comm: <comm> Not tainted|Tainted: .. <release> #..                 before 3.x
//! ... stack ...
//! Task in <path> killed as a result of limit of <path>                       memcg, before 5.0
//! memory: usage NkB, limit NkB, failcnt N                                    memcg
//! Memory cgroup stats for <path>: ...                                        memcg
//! Mem-Info: ...                                                              global
//! [ pid ]   uid  tgid total_vm      rss ... name                             task table
//! oom-kill:constraint=..,..,oom_memcg=<path>|global_oom,task_memcg=<path>,task=<comm>,pid=P,uid=U   5.0+
//! <prefix>: Kill process P (<comm>) score N or sacrifice child               before 5.1
//! <prefix>: kill process P (<comm>) score N or a child                       2.6
//! [<prefix>: ]Killed process P (<comm>) total-vm:NkB, anon-rss:NkB, ...
//! [<prefix>: ]Killed process P[, UID U,] (<comm>)[.]                         2.4, 2.6.18
//! Tasks in <path> are going to be killed due to memory.oom.group set         oom.group, then more
//! <prefix>: Killed process ...                                                 kill lines
//! oom_reaper: reaped process P (<comm>), now anon-rss:0kB, ...               4.6+, not a kill
//! ```
//!
//! Reports never interleave (the kernel holds `oom_lock` for the whole of one), but the header is
//! ratelimited while the kill lines are not, so a log can hold kill lines with no header. Such a
//! kill line is reported with what it says itself and nothing borrowed from an earlier report.
//!
//! Which lines make a victim:
//! - a `Killed process` line: always, one event per pid per report (memory.oom.group can print
//!   the first victim twice);
//! - a 5.0+ `oom-kill:` summary line whose kill line never comes: also a kill, reported with
//!   `kill_line_seen: false`. Since 5.1 the kernel prints the summary only for the victim it has
//!   decided to kill, right before killing it (the task_will_free_mem shortcut returns before the
//!   summary is printed); the only way out after the summary is the "OOM victim P is already
//!   exiting. Skip" line, which cancels it. The kill line is KERN_ERR and the summary KERN_INFO,
//!   so level-filtered captures, grep output and truncated pastes can hold the one without the
//!   other. (5.0 printed the summary before choosing a child to sacrifice; a summary followed by
//!   a `sacrifice child` line without its kill line is therefore not reported.)
//! - a pre-5.1 `Kill process P ... or sacrifice child` (2.6: `kill process P ... or a child`) line alone is not a kill: the victim may
//!   be a child whose pid only the missing `Killed process` line tells.
//! - nothing else: a report cut off before these lines yields no event.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset};
use regex::{Captures, Regex};

use super::events::{EventKind, KernelEvent, OomKill};
use super::helpers::{group, kernel_release, number, rx};
use super::oom_lines::{
    KillLine, Summary, apply_summary, kib, parse_kill_line, parse_summary, prefix_global,
};
use super::record::LogRecord;

/// How far back (in records) a summary line may find the kill line it belongs to when a paste
/// put the summary after it.
const SUMMARY_AFTER_KILL_RECORDS: usize = 8;
/// How many events back an `oom_reaper` line looks for its victim.
const REAPER_LOOKBACK_EVENTS: usize = 64;
/// The longest a report's lines are apart. printk stamps a line when it is logged, and a report is
/// logged in one burst under oom_lock, usually within milliseconds; a slow serial console can
/// stretch that to minutes, because printk used to print to the console before returning.
const REPORT_SPAN_USEC: u64 = 300 * 1_000_000;

/// When a record was logged, as far as the source says.
#[derive(Debug, Clone, Copy, Default)]
struct Stamp {
    mono_usec: Option<u64>,
    wall: Option<DateTime<FixedOffset>>,
}

impl Stamp {
    fn of(record: &LogRecord) -> Self {
        Stamp {
            mono_usec: record.mono_usec,
            wall: record.wall,
        }
    }

    /// Whether a line stamped `later` can belong to a report that started at `self`: not before
    /// it (pasted excerpts are sometimes newest first) and within [`REPORT_SPAN_USEC`]. Without
    /// comparable stamps, anything can.
    fn spans(&self, later: &Stamp) -> bool {
        if let (Some(a), Some(b)) = (self.mono_usec, later.mono_usec) {
            return b >= a && b - a <= REPORT_SPAN_USEC;
        }
        if let (Some(a), Some(b)) = (self.wall, later.wall) {
            // Syslog stamps have whole seconds: allow one second backwards.
            let micros = (b - a).num_microseconds().unwrap_or(i64::MAX);
            return micros >= -1_000_000 && micros.unsigned_abs() <= REPORT_SPAN_USEC;
        }
        true
    }

    /// Whether two lines are close enough in time to be about the same kill, in either order.
    fn near(&self, other: &Stamp) -> bool {
        self.spans(other) || other.spans(self)
    }
}

/// Follows OOM reports through the records and emits one [`OomKill`] per victim.
#[derive(Debug, Default)]
pub(super) struct OomTracker {
    report: Option<Report>,
    /// The cgroup of a memory.oom.group kill, while its kill lines keep coming.
    group: Option<String>,
    /// The last kill event (event index, record index, stamp), for summaries pasted after it.
    last_kill: Option<(usize, usize, Stamp)>,
}

/// What one report's header said, kept until its victim is killed.
#[derive(Debug, Default)]
struct Report {
    /// When the first line seen of this report was logged.
    start: Stamp,
    trigger_comm: Option<String>,
    trigger_pid: Option<u32>,
    gfp_mask: Option<String>,
    order: Option<i32>,
    cpuset: Option<String>,
    mems_allowed: Option<String>,
    kernel: Option<String>,
    /// "Task in <task> killed as a result of limit of <limit>".
    task_in: Option<(String, String)>,
    /// The first "Memory cgroup stats for <path>:" (the OOM memcg is printed first).
    stats_memcg: Option<String>,
    /// "Mem-Info:": global OOMs dump the machine's memory, memcg OOMs the cgroup's.
    mem_info: bool,
    usage_bytes: Option<u64>,
    limit_bytes: Option<u64>,
    failcnt: Option<u64>,
    table_columns: Option<Vec<String>>,
    table: HashMap<u32, TaskRow>,
    summary: Option<(Summary, LogRecord, usize)>,
    chosen: Option<Chosen>,
    /// Victims the kernel skipped ("OOM victim P (C) is already exiting. Skip").
    exiting: Vec<u32>,
    /// (pid, event index) of the victims killed in this report.
    kills: Vec<(u32, usize)>,
    /// The summary the first victim consumed: what it says about the OOM (not about the victim)
    /// holds for memory.oom.group members too.
    consumed_summary: Option<Summary>,
}

#[derive(Debug, Clone, Default)]
struct TaskRow {
    uid: Option<u32>,
    oom_score_adj: Option<i32>,
    pgtables_bytes: Option<u64>,
}

#[derive(Debug, Clone)]
struct Chosen {
    prefix: String,
    pid: u32,
    comm: String,
    score: Option<u64>,
}

static INVOKED: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^(.*) invoked oom-killer: gfp_mask=(\S+?),(?: nodemask=\S*,)?\s+order=(-?[0-9]+)"));
static CPUSET: LazyLock<Regex> = LazyLock::new(|| rx(r"^.* cpuset=(\S*) mems_allowed=(\S+)$"));
/// The invoking task: `CPU: 3 PID: 5102 Comm: fio ...`, before 3.x `Pid: 5102, comm: fio ...`.
static CPU_PID: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^(?:CPU: [0-9]+ (?:UID: [0-9]+ )?PID: ([0-9]+) Comm: |Pid: ([0-9]+), comm: )"));
static TASK_IN: LazyLock<Regex> = LazyLock::new(|| rx(r"^Task in (.+) killed as a result of limit of (.+)$"));
static MEMCG_USAGE: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^memory: usage ([0-9]+)kB, limit ([0-9]+)kB, failcnt ([0-9]+)"));
static STATS_FOR: LazyLock<Regex> = LazyLock::new(|| rx(r"^Memory cgroup stats for (.+?):(?:\s|$)"));
static TABLE_HEADER: LazyLock<Regex> = LazyLock::new(|| rx(r"^\[\s*pid\s*\]\s+(.*\buid\b.*\bname)\s*$"));
static TABLE_ROW: LazyLock<Regex> = LazyLock::new(|| rx(r"^\[\s*([0-9]+)\]\s+(.*)$"));
/// The chosen victim (3.x to 4.19); 2.6 printed `kill process %d (%s) score %li or a child`.
static CHOSEN: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^(?:(.*): )?[Kk]ill process ([0-9]+) \((.{0,64}?)\) score ([0-9]+) or (?:sacrifice|a) child")
});
static EXITING: LazyLock<Regex> =
    LazyLock::new(|| rx(r"OOM victim ([0-9]+) \(.*\) is already exiting\. Skip"));
static GROUP: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^Tasks in (.+) are going to be killed due to memory\.oom\.group set"));
static REAPED: LazyLock<Regex> = LazyLock::new(|| rx(r"^oom_reaper: reaped process ([0-9]+) \("));

impl OomTracker {
    /// Look at one record; true when it was part of an OOM report (and needs no other recogniser).
    pub(super) fn feed(
        &mut self,
        index: usize,
        record: &LogRecord,
        text: &str,
        events: &mut Vec<KernelEvent>,
    ) -> bool {
        let stamp = Stamp::of(record);
        let kill_line = if text.contains("Killed process ") {
            parse_kill_line(text)
        } else {
            None
        };
        let group_line = if text.starts_with("Tasks in ") {
            GROUP.captures(text)
        } else {
            None
        };
        let reaper_line = if text.starts_with("oom_reaper: ") {
            REAPED.captures(text)
        } else {
            None
        };
        // memory.oom.group kills follow one another; anything else in between ends the group.
        if kill_line.is_none() && group_line.is_none() && reaper_line.is_none() {
            self.group = None;
        }

        if let Some(kill) = kill_line {
            self.on_kill_line(index, record, kill, events);
            return true;
        }
        if let Some(c) = group_line {
            let path = group(&c, 1).to_string();
            if let Some(report) = self.report.as_ref().filter(|r| r.start.spans(&stamp)) {
                for &(_, event) in &report.kills {
                    if let Some(EventKind::OomKill(k)) = events.get_mut(event).map(|e| &mut e.kind) {
                        k.oom_group = Some(path.clone());
                    }
                }
            }
            self.group = Some(path);
            return true;
        }
        if let Some(c) = reaper_line {
            if let Some(pid) = number::<u32>(&c, 1) {
                mark_reaped(pid, events);
            }
            return true;
        }
        if text.contains(" invoked oom-killer: ") {
            self.flush(events);
            let mut report = Report {
                start: stamp,
                ..Report::default()
            };
            if let Some(c) = INVOKED.captures(text) {
                report.trigger_comm = Some(group(&c, 1).to_string());
                report.gfp_mask = Some(group(&c, 2).to_string());
                report.order = number(&c, 3);
            } else if let Some((comm, _)) = text.split_once(" invoked oom-killer: ") {
                report.trigger_comm = Some(comm.to_string());
            }
            self.report = Some(report);
            return true;
        }
        if let Some(summary) = text.strip_prefix("oom-kill:").and_then(parse_summary) {
            self.on_summary(index, record, summary, events);
            return true;
        }
        if (text.contains(" or sacrifice child") || text.contains(" or a child"))
            && let Some(c) = CHOSEN.captures(text)
            && let Some(pid) = number(&c, 2)
        {
            self.open_report(events, stamp, |r| r.chosen.is_some()).chosen = Some(Chosen {
                prefix: group(&c, 1).to_string(),
                pid,
                comm: group(&c, 3).to_string(),
                score: number(&c, 4),
            });
            return true;
        }
        if text.contains("is already exiting. Skip")
            && let Some(pid) = EXITING.captures(text).and_then(|c| number::<u32>(&c, 1))
        {
            if let Some(report) = &mut self.report {
                report.exiting.push(pid);
                if report.summary.as_ref().is_some_and(|(s, _, _)| s.pid == pid) {
                    report.summary = None;
                }
            }
            return true;
        }
        if text.starts_with("Task in ")
            && let Some(c) = TASK_IN.captures(text)
        {
            self.open_report(events, stamp, |r| r.task_in.is_some()).task_in =
                Some((group(&c, 1).to_string(), group(&c, 2).to_string()));
            return true;
        }
        if text.starts_with("memory: usage ")
            && let Some(c) = MEMCG_USAGE.captures(text)
        {
            let report = self.open_report(events, stamp, |r| r.usage_bytes.is_some());
            report.usage_bytes = number::<u64>(&c, 1).and_then(kib);
            report.limit_bytes = number::<u64>(&c, 2).and_then(kib);
            report.failcnt = number(&c, 3);
            return true;
        }
        if text.starts_with("Memory cgroup stats for ") {
            // 3.x prints one per cgroup below the OOM one, the OOM one first.
            let report = self.open_report(events, stamp, |_| false);
            if report.stats_memcg.is_none() {
                report.stats_memcg = STATS_FOR.captures(text).map(|c| group(&c, 1).to_string());
            }
            return true;
        }
        if text.starts_with('[')
            && let Some(c) = TABLE_HEADER.captures(text)
        {
            let columns = group(&c, 1).split_whitespace().map(str::to_string).collect();
            self.open_report(events, stamp, |r| r.table_columns.is_some())
                .table_columns = Some(columns);
            return true;
        }
        // The rest only add to a report that is open, has not killed yet, and is this recent.
        let Some(report) = self
            .report
            .as_mut()
            .filter(|r| r.kills.is_empty() && r.start.spans(&stamp))
        else {
            return false;
        };
        if text.starts_with('[')
            && report.table_columns.is_some()
            && let Some(c) = TABLE_ROW.captures(text)
        {
            report.add_table_row(&c);
            return true;
        }
        if text == "Mem-Info:" {
            report.mem_info = true;
            return true;
        }
        if (text.starts_with("CPU: ") || text.starts_with("Pid: "))
            && report.trigger_pid.is_none()
            && let Some(c) = CPU_PID.captures(text)
        {
            report.trigger_pid = number(&c, 1).or_else(|| number(&c, 2));
            report.kernel = kernel_release(text);
            return true;
        }
        if report.cpuset.is_none()
            && text.contains(" cpuset=")
            && let Some(c) = CPUSET.captures(text)
        {
            report.cpuset = Some(group(&c, 1).to_string());
            report.mems_allowed = Some(group(&c, 2).to_string());
            return true;
        }
        false
    }

    /// End of input: a pending summary whose kill line never came is still a victim.
    pub(super) fn finish(&mut self, events: &mut Vec<KernelEvent>) {
        self.flush(events);
    }

    /// The report a header line belongs to: the open one, or a new one when the open one has
    /// already killed (this report's first lines were cut off or ratelimited away), already has
    /// what the line says (`repeats`), or is too far away in time.
    fn open_report(
        &mut self,
        events: &mut Vec<KernelEvent>,
        stamp: Stamp,
        repeats: impl Fn(&Report) -> bool,
    ) -> &mut Report {
        let belongs = |r: &Report| r.kills.is_empty() && !repeats(r) && r.start.spans(&stamp);
        if !self.report.as_ref().is_some_and(belongs) {
            self.flush(events);
            self.report = Some(Report {
                start: stamp,
                ..Report::default()
            });
        }
        self.report.get_or_insert_with(Report::default)
    }

    /// Close the current report, emitting its summary-only victim if it has one.
    fn flush(&mut self, events: &mut Vec<KernelEvent>) {
        let Some(mut report) = self.report.take() else {
            return;
        };
        let Some((summary, record, index)) = report.summary.take() else {
            return;
        };
        // 5.0 printed the summary for the task it chose before picking a child to sacrifice.
        if report.chosen.is_some() || report.exiting.contains(&summary.pid) {
            return;
        }
        let mut kill = OomKill {
            pid: summary.pid,
            comm: summary.comm.clone(),
            ..OomKill::default()
        };
        report.fill(&mut kill, Some(&summary), None, None);
        self.last_kill = Some((events.len(), index, Stamp::of(&record)));
        events.push(KernelEvent::at(EventKind::OomKill(kill), &record, index));
    }

    fn on_summary(
        &mut self,
        index: usize,
        record: &LogRecord,
        summary: Summary,
        events: &mut Vec<KernelEvent>,
    ) {
        let stamp = Stamp::of(record);
        // Pasted out of order (`grep oom` output, journal excerpts): the kill line came first.
        if let Some((event, at, kill_stamp)) = self.last_kill
            && index - at <= SUMMARY_AFTER_KILL_RECORDS
            && kill_stamp.near(&stamp)
            && let Some(EventKind::OomKill(k)) = events.get_mut(event).map(|e| &mut e.kind)
            && k.pid == summary.pid
            && k.constraint.is_none()
            && k.task_memcg.is_none()
        {
            apply_summary(k, &summary);
            return;
        }
        self.open_report(events, stamp, |r| r.summary.is_some()).summary =
            Some((summary, record.clone(), index));
    }

    fn on_kill_line(
        &mut self,
        index: usize,
        record: &LogRecord,
        line: KillLine,
        events: &mut Vec<KernelEvent>,
    ) {
        let stamp = Stamp::of(record);
        let mut kill = OomKill {
            pid: line.pid,
            comm: line.comm.clone(),
            kill_line_seen: true,
            ..OomKill::default()
        };
        line.fill(&mut kill);

        // A report that started too long before this line (or after it) is not this kill's.
        if self.report.as_ref().is_some_and(|r| !r.start.spans(&stamp)) {
            self.flush(events);
            self.group = None;
        }
        let killed_already = self.report.as_ref().is_some_and(|r| !r.kills.is_empty());
        let group_member = self.group.clone().filter(|_| killed_already);
        if let (Some(path), Some(report)) = (group_member, self.report.as_mut()) {
            // memory.oom.group: the first victim can be printed again with the rest.
            if report.kills.iter().any(|&(pid, _)| pid == line.pid) {
                return;
            }
            report.fill(&mut kill, None, None, Some(&line.prefix));
            if let Some(summary) = &report.consumed_summary {
                kill.constraint = summary.constraint.clone();
                kill.oom_memcg = summary.oom_memcg.clone().or(kill.oom_memcg.take());
                kill.global = summary.global.or(kill.global);
            }
            // Killed with the group: its own cgroup is somewhere under the group's.
            kill.task_memcg = None;
            kill.oom_group = Some(path);
            report.kills.push((line.pid, events.len()));
        } else if let Some(report) = self.report.as_mut().filter(|r| r.kills.is_empty()) {
            // The summary belongs to this victim when the pids agree, when 5.0 sacrificed a child
            // of the task the summary named, or when it is the line right before (the kernel kills
            // another thread of the process when the one it chose has no mm).
            let belongs =
                |s: &Summary, at: usize| s.pid == line.pid || report.chosen.is_some() || at + 1 == index;
            let summary = match report.summary.take() {
                Some((s, _, at)) if belongs(&s, at) => Some(s),
                other => {
                    report.summary = other;
                    None
                }
            };
            if report.summary.is_some() {
                // Two different victims: the summary's own kill line is missing. Report it on its
                // own, and this kill line without the header that was not about it.
                self.flush(events);
                kill.global = prefix_global(&line.prefix);
            } else {
                let chosen = report.chosen.clone();
                report.fill(&mut kill, summary.as_ref(), chosen.as_ref(), Some(&line.prefix));
                report.kills.push((line.pid, events.len()));
                report.consumed_summary = summary;
            }
        } else {
            // No header (ratelimited or cut off): only what the line itself says.
            kill.global = prefix_global(&line.prefix);
        }
        self.last_kill = Some((events.len(), index, stamp));
        events.push(KernelEvent::at(EventKind::OomKill(kill), record, index));
    }
}

impl Report {
    /// Fill a victim from this report's header. `summary` and `chosen` are passed only when they
    /// are about this victim; `kill_prefix` is its kill line's prefix.
    fn fill(
        &self,
        kill: &mut OomKill,
        summary: Option<&Summary>,
        chosen: Option<&Chosen>,
        kill_prefix: Option<&str>,
    ) {
        kill.trigger_comm = self.trigger_comm.clone();
        kill.trigger_pid = self.trigger_pid;
        kill.gfp_mask = self.gfp_mask.clone();
        kill.order = self.order;
        kill.kernel = self.kernel.clone();
        kill.memcg_usage_bytes = self.usage_bytes;
        kill.memcg_limit_bytes = self.limit_bytes;
        kill.memcg_failcnt = self.failcnt;
        kill.cpuset = self.cpuset.clone();
        kill.mems_allowed = self.mems_allowed.clone();
        if let Some(chosen) = chosen {
            kill.chosen_pid = Some(chosen.pid);
            kill.chosen_comm = Some(chosen.comm.clone());
            kill.score = chosen.score;
        }
        if let Some((task, limit)) = &self.task_in {
            kill.task_memcg = Some(task.clone());
            kill.oom_memcg = Some(limit.clone());
        }
        if let Some(summary) = summary {
            apply_summary(kill, summary);
        }
        // Most to least direct evidence of memcg vs global.
        kill.global = kill
            .global
            .or(self.task_in.as_ref().map(|_| false))
            .or_else(|| kill_prefix.and_then(prefix_global))
            .or_else(|| chosen.and_then(|c| prefix_global(&c.prefix)))
            .or(self.stats_memcg.as_ref().map(|_| false))
            .or(self.mem_info.then_some(true));
        if kill.global == Some(false) && kill.oom_memcg.is_none() {
            kill.oom_memcg = self.stats_memcg.clone();
        }
        if let Some(row) = self.table.get(&kill.pid) {
            kill.uid = kill.uid.or(row.uid);
            kill.oom_score_adj = kill.oom_score_adj.or(row.oom_score_adj);
            kill.pgtables_bytes = kill.pgtables_bytes.or(row.pgtables_bytes);
        }
    }

    /// `[  pid  ]   uid  tgid total_vm      rss ... oom_score_adj name`: the columns changed in 4.15,
    /// 4.19 and 6.8, so they are read from the header. Values are pages except pgtables_bytes.
    fn add_table_row(&mut self, c: &Captures<'_>) {
        let (Some(columns), Some(pid)) = (&self.table_columns, number::<u32>(c, 1)) else {
            return;
        };
        let values: Vec<&str> = group(c, 2).split_whitespace().collect();
        let value = |name: &str| -> Option<&str> {
            let at = columns.iter().position(|c| c == name)?;
            // The last column, the name, may contain spaces; the numbers before it cannot.
            (at + 1 < columns.len())
                .then(|| values.get(at).copied())
                .flatten()
        };
        self.table.insert(
            pid,
            TaskRow {
                uid: value("uid").and_then(|v| v.parse().ok()),
                oom_score_adj: value("oom_score_adj").and_then(|v| v.parse().ok()),
                pgtables_bytes: value("pgtables_bytes").and_then(|v| v.parse().ok()),
            },
        );
    }
}

/// The reaper runs right after the kill, so its victim is among the last few events.
fn mark_reaped(pid: u32, events: &mut [KernelEvent]) {
    if let Some(EventKind::OomKill(k)) = events
        .iter_mut()
        .rev()
        .take(REAPER_LOOKBACK_EVENTS)
        .map(|e| &mut e.kind)
        .find(|k| matches!(k, EventKind::OomKill(k) if k.pid == pid))
    {
        k.reaped = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_bound_a_report() {
        let at = |usec: u64| Stamp {
            mono_usec: Some(usec),
            wall: None,
        };
        assert!(at(10).spans(&at(10)));
        assert!(at(10).spans(&at(10 + REPORT_SPAN_USEC)));
        assert!(!at(10).spans(&at(11 + REPORT_SPAN_USEC)));
        assert!(!at(10).spans(&at(9)));
        assert!(at(10).near(&at(9)));
        assert!(Stamp::default().spans(&at(1)));
    }
}
