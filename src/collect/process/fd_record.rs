//! What a snapshot records of the fd-table pass ([`RECORD_FILE`]), and a replay's use of it.
//!
//! `sample1/osdoctor/fd-tables`: one JSON object per line, `{"pid", "start", "table",
//! "close_wait_at_most"}`, for each process whose table was read (`table`: the classified counts,
//! TCP states, CLOSE_WAIT peers and redacted top paths) or whose CLOSE_WAIT count came from its
//! namespace's survey. A replay takes these instead of the fd links and TCP tables, which the snapshot
//! does not hold: fd links to regular files are recorded without their paths
//! ([`crate::parse::fd_table::recorded_target`]) and the namespaces' TCP tables are read unrecorded.

use std::collections::BTreeMap;

use super::types::ProcSample;
use crate::coverage::{Coverage, ProblemKind};
use crate::parse::fd_table::FdTable;

/// The record's path in the sample of the first pass.
pub const RECORD_FILE: &str = "/osdoctor/fd-tables";

/// A classified table as a snapshot records it. Every field defaults, so a record written by a later
/// osdoctor with more fields still reads.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct RecordedTable {
    total: u64,
    tcp_read: bool,
    tcp: BTreeMap<String, u64>,
    close_wait_peers: Vec<(String, u64)>,
    close_wait_locals: Vec<(String, u64)>,
    other_sockets: u64,
    files: u64,
    top_files: Vec<(String, u64)>,
    deleted: u64,
    pipes: u64,
    anon: BTreeMap<String, u64>,
    other: u64,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct RecordLine {
    pid: i32,
    start: u64,
    #[serde(default)]
    table: Option<RecordedTable>,
    #[serde(default)]
    close_wait_at_most: Option<u64>,
}

impl From<FdTable> for RecordedTable {
    fn from(t: FdTable) -> RecordedTable {
        RecordedTable {
            total: t.total,
            tcp_read: t.tcp_read,
            tcp: t.tcp,
            close_wait_peers: t.close_wait_peers,
            close_wait_locals: t.close_wait_locals,
            other_sockets: t.other_sockets,
            files: t.files,
            top_files: t.top_files,
            deleted: t.deleted,
            pipes: t.pipes,
            anon: t.anon,
            other: t.other,
        }
    }
}

impl From<RecordedTable> for FdTable {
    fn from(t: RecordedTable) -> FdTable {
        FdTable {
            total: t.total,
            tcp_read: t.tcp_read,
            tcp: t.tcp,
            close_wait_peers: t.close_wait_peers,
            close_wait_locals: t.close_wait_locals,
            other_sockets: t.other_sockets,
            files: t.files,
            top_files: t.top_files,
            deleted: t.deleted,
            pipes: t.pipes,
            anon: t.anon,
            other: t.other,
        }
    }
}

/// The record of `procs`: those with a table, and those whose CLOSE_WAIT count the survey set beyond
/// what their fd count says (`floor`: the survey's; below it a replay works the bound out itself).
pub(super) fn record(procs: &[ProcSample], floor: u64) -> String {
    let mut out = String::new();
    for p in procs {
        let surveyed = p.close_wait_at_most.is_some() && p.fd_count.or(p.fdsize).is_some_and(|n| n >= floor);
        if p.fd_table.is_none() && !surveyed {
            continue;
        }
        let line = RecordLine {
            pid: p.pid,
            start: p.starttime,
            table: p.fd_table.clone().map(RecordedTable::from),
            close_wait_at_most: p.close_wait_at_most,
        };
        if let Ok(json) = serde_json::to_string(&line) {
            out.push_str(&json);
            out.push('\n');
        }
    }
    out
}

/// Give `procs` what the record says of them (matched by pid and start time).
pub(super) fn apply(text: &str, procs: &mut [ProcSample], cov: &mut Coverage) {
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(rec) = serde_json::from_str::<RecordLine>(line) else {
            bad += 1;
            continue;
        };
        let Some(p) = procs
            .iter_mut()
            .find(|p| p.pid == rec.pid && p.starttime == rec.start)
        else {
            continue;
        };
        p.close_wait_at_most = rec.close_wait_at_most.or(p.close_wait_at_most);
        p.fd_table = rec.table.map(FdTable::from);
    }
    if bad > 0 {
        cov.add(
            RECORD_FILE,
            ProblemKind::Unreadable,
            format!("{bad} lines did not parse"),
        );
    }
}
