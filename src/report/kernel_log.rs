//! The report of `osdoctor kernel-log`: the kernel events of /dev/kmsg (or a saved log), newest
//! first, and what the kernel rules make of them ([`KernelLogReport`]). Built by
//! the pipeline (`pipeline::kernel_log`); rendered by `kernel_log_render.rs`.
//!
//! JSON (`--format json`):
//!
//! ```text
//! {
//!   "schema_version": 1,
//!   "tool": {"name": "osdoctor", "version": "..."},
//!   "source": "/dev/kmsg" | "FILE",
//!   "records": 1234,                      // log records read
//!   "window": {"since": "24h" | "all", "start": RFC 3339 | null, "end": RFC 3339 | null},
//!   "events": [ {"kind": "oom_kill", "pid": 8060, "comm": "python3", "rss_bytes": ..., "time": ..., ...} ],
//!   "lost": [ {"after_seq": 10, "count": 3} ],   // /dev/kmsg records overwritten before they were read
//!   "lost_messages": 3,                   // those plus "N callbacks suppressed"
//!   "unrecognised": {"count": 2, "examples": ["...", "..."]},  // lines naming an event no parser
//!                                         // understood (the first 5 shown, cut to 200 characters)
//!   "partial": true,                      // some lines were not understood: unrecognised > 0
//!   "notes": ["2 kernel log lines named an event in a form osdoctor does not understand ..."],
//!   "status": "ok" | "warning" | "critical",
//!   "findings": [ ...as in `osdoctor check`... ],
//!   "not_evaluated": [ {"rule": ..., "reason": ...} ]
//! }
//! ```
//!
//! Every event has `kind` (oom_kill, segfault, hung_task, oops, io_error, hardware_error, syn_flood,
//! conntrack_full, file_max, tcp_mem, fork_rejected, lost), `time`, `pid` and `comm` where the line
//! names a task, and the fields of its kind (see [`crate::parse::kernel_log`]); sizes are in bytes.

use serde::Serialize;

use super::{Status, Tool};
use crate::parse::kernel_log::{KernelEvent, Lost, Unrecognised};
use crate::rules::finding::{Finding, NotEvaluated};

/// Bumped on any change to `osdoctor kernel-log --format json`'s shape.
/// 2: `unrecognised`, `partial` and `notes`.
pub const KERNEL_LOG_SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub since: String,
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KernelLogReport {
    pub schema_version: u32,
    pub tool: Tool,
    pub source: String,
    pub records: usize,
    pub window: Window,
    /// Newest first.
    pub events: Vec<KernelEvent>,
    pub lost: Vec<Lost>,
    pub lost_messages: u64,
    /// Lines that name an event no parser understood.
    pub unrecognised: Unrecognised,
    /// True when `unrecognised` counts any: events may be missing. It does not change the status.
    pub partial: bool,
    pub notes: Vec<String>,
    pub status: Status,
    pub findings: Vec<Finding>,
    pub not_evaluated: Vec<NotEvaluated>,
}
