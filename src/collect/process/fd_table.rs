//! The fd table, classified ([`crate::parse::fd_table`]), of the few processes an fd finding will
//! name. Never for every process: the cheap count stays the scan.
//!
//! Two reasons to read one (and a scan of a few processes someone asked about reads them all):
//! - **near its limit**: the open-fd count is >= 80% of the soft RLIMIT_NOFILE (fd.process_near_limit's
//!   warn level): the finding says what the descriptors are;
//! - **holding CLOSE_WAIT sockets** (net.close_wait_leak), whatever its limit. The survey costs nothing
//!   on most hosts: only processes with >= [`SURVEY_FLOOR`] fds can hold that many, and only network
//!   namespaces whose sockstat counts >= [`SURVEY_FLOOR`] TCP sockets in use have their
//!   /proc/PID/net/tcp{,6} read. Where those tables hold >= [`SURVEY_FLOOR`] CLOSE_WAIT sockets, the
//!   namespace's candidates are read, most fds first, until too few unattributed sockets remain for
//!   another process to reach the floor.
//!
//! A process the survey ruled out without reading its table gets an upper bound on what it holds
//! (`close_wait_at_most`, below the floor, which is net.close_wait_leak's clear level): the rule is
//! judged for it without a guess. At most [`MAX_PROCS`] tables per scan, none of more than
//! [`MAX_LINKS`] fds; what the caps leave out is a coverage note.

use std::collections::{BTreeMap, BTreeSet};

use super::fds::read_links;
use super::netns::NetTables;
use super::reader::Reader;
use super::types::{ProcSample, ScanProgress};
use crate::coverage::Coverage;
use crate::parse::fd_table;
use crate::parse::proc_net_tcp::{TCP_CLOSE_WAIT, socket_inode};

/// What a snapshot records of this pass, in the sample of the first pass: one JSON object per line,
/// `{"pid", "start", "table", "close_wait_at_most"}`, for each process whose table was read (`table`:
/// the classified counts, states, CLOSE_WAIT peers and redacted top paths) or whose CLOSE_WAIT bound
/// came from its namespace's survey. A replay takes
/// these instead of the fd links and TCP tables, which the snapshot does not hold: it records fd
/// links to regular files without their paths ([`crate::parse::fd_table::recorded_target`]) and reads
/// the namespaces' TCP tables unrecorded.
pub const RECORD_FILE: &str = "/osdoctor/fd-tables";

/// fd.process_near_limit's warn level.
pub const NEAR_LIMIT: f64 = 0.80;
/// net.close_wait_leak's clear level: fewer CLOSE_WAIT sockets than this need no attribution.
pub const SURVEY_FLOOR: u64 = 40;
/// At most this many candidates (>= [`SURVEY_FLOOR`] fds) have their network namespace looked up
/// (a readlink each, several microseconds): a host where thousands of processes hold 40 fds pays
/// for the few hundred with the most, and the note says so.
pub const MAX_NAMESPACE_LOOKUPS: usize = 256;
/// At most this many processes' tables per scan, the largest first.
pub const MAX_PROCS: usize = 20;
/// A process with more fds than this is not listed (its count and the limit rule still stand).
pub const MAX_LINKS: u64 = 10_000;

fn has_fds(p: &ProcSample) -> bool {
    !p.kthread && !p.is_zombie()
}

fn near_limit(p: &ProcSample) -> bool {
    match (p.fd_count, p.limits.and_then(|l| l.nofile_soft)) {
        (Some(n), Some(soft)) if soft > 0 => n as f64 >= NEAR_LIMIT * soft as f64,
        _ => false,
    }
}

/// At most how many fds the process has: the count, else FDSize (the table's capacity) on an older
/// kernel where the count was not taken.
fn fds_at_most(p: &ProcSample) -> Option<u64> {
    p.fd_count.or(p.fdsize)
}

/// The tables read so far, within the caps.
struct Budget {
    read: usize,
    skipped_cap: usize,
}

impl Budget {
    fn take(&mut self) -> bool {
        if self.read < MAX_PROCS {
            self.read += 1;
            true
        } else {
            self.skipped_cap += 1;
            false
        }
    }
}

/// Read and classify the fd tables of the processes that need one (see the module docs). A `targeted`
/// scan (`--pid`, `osdoctor cgroup`: a few processes someone asked about) reads every process's table
/// within the cap, the most fds first.
pub(super) fn fd_tables(
    r: &mut Reader,
    procs: &mut [ProcSample],
    cov: &mut Coverage,
    progress: &ScanProgress,
    targeted: bool,
) {
    // Fewer fds than the floor: fewer CLOSE_WAIT sockets than that (a replay works this out too).
    for p in procs.iter_mut().filter(|p| has_fds(p)) {
        if let Some(n) = fds_at_most(p).filter(|&n| n < SURVEY_FLOOR) {
            p.close_wait_at_most = Some(n);
        }
    }
    // A snapshot's replay takes what the capture concluded.
    if !r.root.is_live()
        && let Ok(text) = r.root.read_string(RECORD_FILE)
    {
        apply_record(&text, procs, cov);
        return;
    }
    let mut nets = NetTables::default();
    let mut budget = Budget {
        read: 0,
        skipped_cap: 0,
    };

    // Near the limit, the most fds first.
    let mut near: Vec<usize> = (0..procs.len())
        .filter(|&i| has_fds(&procs[i]) && near_limit(&procs[i]))
        .collect();
    near.sort_by_key(|&i| std::cmp::Reverse(procs[i].fd_count.unwrap_or(0)));
    for i in near {
        if budget.take() {
            let key = NetTables::namespace(r, procs[i].pid);
            read_table(r, &mut procs[i], &key, &mut nets, cov, progress);
        }
    }

    if targeted {
        let mut rest: Vec<usize> = (0..procs.len())
            .filter(|&i| has_fds(&procs[i]) && procs[i].fd_table.is_none())
            .collect();
        rest.sort_by_key(|&i| std::cmp::Reverse(procs[i].fd_count.unwrap_or(0)));
        // Within the cap, without counting those left out as skipped: none of them needed a table.
        for i in rest.into_iter().take(MAX_PROCS.saturating_sub(budget.read)) {
            budget.read += 1;
            let key = NetTables::namespace(r, procs[i].pid);
            read_table(r, &mut procs[i], &key, &mut nets, cov, progress);
        }
    }

    close_wait_survey(r, procs, &mut nets, &mut budget, cov, progress);

    if r.root.is_recording() {
        r.root.record_file(RECORD_FILE, record(procs).as_bytes());
    }
    if budget.skipped_cap > 0 {
        cov.notes.push(format!(
            "fd tables read for {MAX_PROCS} processes (the most fds first); {} more near their fd limit or \
             holding CLOSE_WAIT sockets were not read",
            budget.skipped_cap
        ));
    }
}

/// Read `p`'s links (unless a pass already did) and classify them with its namespace's TCP sockets.
/// False when the table could not be read.
fn read_table(
    r: &mut Reader,
    p: &mut ProcSample,
    netns: &str,
    nets: &mut NetTables,
    cov: &mut Coverage,
    progress: &ScanProgress,
) -> bool {
    let pid = p.pid;
    if p.fd_table.is_some() {
        return true;
    }
    if p.fd_links.is_none() {
        if p.fd_count.unwrap_or(0) > MAX_LINKS {
            cov.notes.push(format!(
                "fd table of pid {pid} not read: more than {MAX_LINKS} fds"
            ));
            return false;
        }
        progress.at(format!("/proc/{pid}/fd"));
        if !read_links(r, p, cov) {
            return false;
        }
    }
    progress.at(format!("/proc/{pid}/net/tcp"));
    let empty = Default::default();
    let tcp = nets.sockets(r, netns, pid, cov);
    let links = p.fd_links.as_deref().unwrap_or_default();
    p.fd_table = Some(fd_table::classify(
        links.iter().map(|(_, t)| t.as_str()),
        tcp.as_deref().unwrap_or(&empty),
    ));
    true
}

/// Find the processes that hold CLOSE_WAIT sockets by the hundred (see the module docs).
fn close_wait_survey(
    r: &mut Reader,
    procs: &mut [ProcSample],
    nets: &mut NetTables,
    budget: &mut Budget,
    cov: &mut Coverage,
    progress: &ScanProgress,
) {
    // Candidates, the most fds first; the rest hold fewer fds than the floor.
    let mut candidates = Vec::new();
    for (i, p) in procs.iter().enumerate() {
        if !has_fds(p) || p.fd_table.is_some() {
            continue;
        }
        match fds_at_most(p) {
            Some(n) if n >= SURVEY_FLOOR => candidates.push((n, i)),
            _ => {} // bounded by its count already, or fds not counted: not judged
        }
    }
    candidates.sort_by_key(|&(n, i)| (std::cmp::Reverse(n), i));
    if candidates.len() > MAX_NAMESPACE_LOOKUPS {
        cov.notes.push(format!(
            "CLOSE_WAIT holders looked for among the {MAX_NAMESPACE_LOOKUPS} processes with the most fds, \
             of {} with {SURVEY_FLOOR} or more: net.close_wait_leak does not judge the others",
            candidates.len()
        ));
        candidates.truncate(MAX_NAMESPACE_LOOKUPS);
    }
    // By namespace: one readlink of /proc/PID/ns/net each.
    let mut by_ns: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (_, i) in candidates {
        progress.at(format!("/proc/{}/ns/net", procs[i].pid));
        by_ns
            .entry(NetTables::namespace(r, procs[i].pid))
            .or_default()
            .push(i);
    }
    for (key, mut members) in by_ns {
        members.sort_by_key(|&i| std::cmp::Reverse(fds_at_most(&procs[i]).unwrap_or(0)));
        let via = procs[members[0]].pid;
        progress.at(format!("/proc/{via}/net/sockstat"));
        let Some(in_use) = nets.in_use(r, &key, via, cov) else {
            continue; // not judged: its namespace's sockets are unknown
        };
        let bound_all = |procs: &mut [ProcSample], members: &[usize], left: u64| {
            for &i in members {
                let fds = fds_at_most(&procs[i]).unwrap_or(0);
                procs[i].close_wait_at_most = Some(fds.min(left));
            }
        };
        if in_use < SURVEY_FLOOR {
            bound_all(procs, &members, in_use);
            continue;
        }
        progress.at(format!("/proc/{via}/net/tcp"));
        let Some(tcp) = nets.sockets(r, &key, via, cov) else {
            continue;
        };
        let mut left: BTreeSet<u64> = tcp
            .iter()
            .filter(|(_, (st, _))| *st == TCP_CLOSE_WAIT)
            .map(|(ino, _)| *ino)
            .collect();
        // Already classified (near the limit): their sockets are attributed.
        for p in procs.iter().filter(|p| p.fd_table.is_some()) {
            for (_, t) in p.fd_links.iter().flatten() {
                if let Some(ino) = socket_inode(t) {
                    left.remove(&ino);
                }
            }
        }
        let mut unread = members.as_slice();
        while let Some((&i, rest)) = unread.split_first() {
            if (left.len() as u64) < SURVEY_FLOOR {
                break;
            }
            if !budget.take() {
                break;
            }
            unread = rest;
            if read_table(r, &mut procs[i], &key, nets, cov, progress) {
                for (_, t) in procs[i].fd_links.iter().flatten() {
                    if let Some(ino) = socket_inode(t) {
                        left.remove(&ino);
                    }
                }
            }
        }
        // Whoever is left can hold no more than what is unattributed.
        let left = left.len() as u64;
        if left < SURVEY_FLOOR {
            bound_all(procs, unread, left);
        } else {
            // The cap stopped the survey: count the rest as skipped (they stay not judged).
            budget.skipped_cap += unread.len().saturating_sub(1);
        }
    }
}

/// The classified fd table of each of `pids`, read now: after the rules, for fd findings whose table
/// the scan did not read (fd.leak_trend is judged from the runs before; a process past the cap). A
/// process gone, denied, or with more than [`MAX_LINKS`] fds is left out.
pub fn read_fd_tables(root: &crate::root::Root, pids: &[i32]) -> BTreeMap<i32, fd_table::FdTable> {
    let mut r = Reader::new(root);
    let mut nets = NetTables::default();
    let mut cov = Coverage::default();
    let progress = ScanProgress::default();
    let mut out = BTreeMap::new();
    for &pid in pids.iter().take(MAX_PROCS) {
        let Ok((count, _)) = super::fds::read_fd_dir(root, pid, false) else {
            continue;
        };
        let mut p = ProcSample {
            pid,
            fd_count: Some(count),
            ..ProcSample::default()
        };
        let key = NetTables::namespace(&r, pid);
        if read_table(&mut r, &mut p, &key, &mut nets, &mut cov, &progress)
            && let Some(t) = p.fd_table
        {
            out.insert(pid, t);
        }
    }
    out
}

/// A classified table as a snapshot records it ([`RECORD_FILE`]).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct RecordedTable {
    total: u64,
    tcp: BTreeMap<String, u64>,
    close_wait_peers: Vec<(String, u64)>,
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

fn record(procs: &[ProcSample]) -> String {
    let mut out = String::new();
    for p in procs {
        let surveyed = p.close_wait_at_most.is_some() && fds_at_most(p).is_some_and(|n| n >= SURVEY_FLOOR);
        if p.fd_table.is_none() && !surveyed {
            continue;
        }
        let line = RecordLine {
            pid: p.pid,
            start: p.starttime,
            table: p.fd_table.clone().map(|t| RecordedTable {
                total: t.total,
                tcp: t.tcp,
                close_wait_peers: t.close_wait_peers,
                other_sockets: t.other_sockets,
                files: t.files,
                top_files: t.top_files,
                deleted: t.deleted,
                pipes: t.pipes,
                anon: t.anon,
                other: t.other,
            }),
            close_wait_at_most: p.close_wait_at_most,
        };
        if let Ok(json) = serde_json::to_string(&line) {
            out.push_str(&json);
            out.push('\n');
        }
    }
    out
}

fn apply_record(text: &str, procs: &mut [ProcSample], cov: &mut Coverage) {
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
        p.fd_table = rec.table.map(|t| fd_table::FdTable {
            total: t.total,
            tcp: t.tcp,
            close_wait_peers: t.close_wait_peers,
            other_sockets: t.other_sockets,
            files: t.files,
            top_files: t.top_files,
            deleted: t.deleted,
            pipes: t.pipes,
            anon: t.anon,
            other: t.other,
        });
    }
    if bad > 0 {
        cov.add(
            RECORD_FILE,
            crate::coverage::ProblemKind::Unreadable,
            format!("{bad} lines did not parse"),
        );
    }
}
