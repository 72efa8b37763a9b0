//! The fd table, classified ([`crate::parse::fd_table`]), of the few processes an fd finding will
//! name. Never for every process: the cheap count stays the scan.
//!
//! Read for (at most [`MAX_PROCS`] tables per scan, none of more than [`MAX_LINKS`] fds):
//! - a process **near its limit**: the open-fd count is >= 80% of the soft RLIMIT_NOFILE
//!   (fd.process_near_limit's warn level): the finding says what the descriptors are;
//! - the processes of a **targeted** scan (`--pid`, `osdoctor cgroup`), the most fds first;
//! - a process **holding CLOSE_WAIT sockets** by the dozen (net.close_wait_leak), whatever its limit,
//!   found by the survey in `close_wait`. A process with fewer fds than [`SURVEY_FLOOR`] (the rule's
//!   clear level) gets its fd count as the bound on what it holds, so the rule is judged for it
//!   without reading anything.
//!
//! What the caps leave out is a coverage note. A snapshot's replay takes the record the capture wrote
//! (`fd_record`) instead of reading anything.

use std::collections::BTreeMap;

use super::fds::read_links;
use super::netns::NetTables;
use super::reader::Reader;
use super::types::{ProcSample, ScanProgress};
use super::{close_wait, fd_record};
use crate::coverage::Coverage;
use crate::parse::fd_table;

/// fd.process_near_limit's warn level.
pub const NEAR_LIMIT: f64 = 0.80;
/// net.close_wait_leak's clear level: fewer CLOSE_WAIT sockets than this need no attribution.
pub const SURVEY_FLOOR: u64 = 40;
/// At most this many processes' tables per scan, the largest first.
pub const MAX_PROCS: usize = 20;
/// A process with more fds than this is not listed (its count and the limit rule still stand).
pub const MAX_LINKS: u64 = 10_000;

pub(super) fn has_fds(p: &ProcSample) -> bool {
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
pub(super) fn fds_at_most(p: &ProcSample) -> Option<u64> {
    p.fd_count.or(p.fdsize)
}

/// The tables read so far, within the cap.
pub(super) struct Budget {
    read: usize,
    skipped_cap: usize,
}

impl Budget {
    pub(super) fn take(&mut self) -> bool {
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
        && let Ok(text) = r.root.read_string(fd_record::RECORD_FILE)
    {
        fd_record::apply(&text, procs, cov);
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
            read_table_in_own_namespace(r, &mut procs[i], &mut nets, cov, progress);
        }
    }
    if budget.skipped_cap > 0 {
        cov.notes.push(format!(
            "fd tables read for {MAX_PROCS} processes near their fd limit (the most fds first); {} more were not read",
            budget.skipped_cap
        ));
        budget.skipped_cap = 0;
    }

    if targeted {
        let mut rest: Vec<usize> = (0..procs.len())
            .filter(|&i| has_fds(&procs[i]) && procs[i].fd_table.is_none())
            .collect();
        rest.sort_by_key(|&i| std::cmp::Reverse(procs[i].fd_count.unwrap_or(0)));
        // Within the cap, without counting those left out as skipped: none of them needed a table.
        for i in rest.into_iter().take(MAX_PROCS.saturating_sub(budget.read)) {
            budget.read += 1;
            read_table_in_own_namespace(r, &mut procs[i], &mut nets, cov, progress);
        }
    }

    close_wait::survey(r, procs, &mut nets, &mut budget, cov, progress);
    if budget.skipped_cap > 0 {
        cov.notes.push(format!(
            "fd tables not classified for {} processes holding {SURVEY_FLOOR} or more CLOSE_WAIT sockets \
             (at most {MAX_PROCS} tables a scan): their counts stand",
            budget.skipped_cap
        ));
    }

    if r.root.is_recording() {
        r.root.record_file(
            fd_record::RECORD_FILE,
            fd_record::record(procs, SURVEY_FLOOR).as_bytes(),
        );
    }
}

/// [`read_table`] for a process whose namespace is not known yet; a denied namespace link leaves its
/// TCP sockets unread (the table says so).
fn read_table_in_own_namespace(
    r: &mut Reader,
    p: &mut ProcSample,
    nets: &mut NetTables,
    cov: &mut Coverage,
    progress: &ScanProgress,
) -> bool {
    let key = NetTables::namespace(r, p.pid).unwrap_or_else(|| format!("denied:{}", p.pid));
    read_table(r, p, &key, nets, cov, progress)
}

/// Read `p`'s links (unless a pass already did) and classify them with its namespace's TCP sockets.
/// False when the table could not be read.
pub(super) fn read_table(
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
    let tcp = nets.sockets(r, netns, &[pid], cov);
    let links = p.fd_links.as_deref().unwrap_or_default();
    p.fd_table = Some(fd_table::classify(
        links.iter().map(|(_, t)| t.as_str()),
        tcp.as_deref(),
    ));
    true
}

/// The classified fd table of each of `wanted` (pid, and the start time the finding knows it by), read
/// now on the live system: after the rules, for fd findings whose table the scan did not read
/// (fd.leak_trend is judged from the runs before; fd.deleted_open; a process past the cap). Nothing is
/// recorded (a snapshot's record holds what its scan read), nothing is read from a snapshot or a tree,
/// and a process gone, reused (another start time), denied, or with more than [`MAX_LINKS`] fds is left
/// out. At most [`MAX_PROCS`], in the order given.
pub fn read_fd_tables(
    root: &crate::root::Root,
    wanted: &[(i32, Option<u64>)],
) -> BTreeMap<i32, fd_table::FdTable> {
    let mut out = BTreeMap::new();
    if !root.is_live() {
        return out;
    }
    let root = root.without_recording();
    let mut r = Reader::new(&root);
    let mut nets = NetTables::default();
    let mut cov = Coverage::default();
    let progress = ScanProgress::default();
    for &(pid, start) in wanted.iter().take(MAX_PROCS) {
        if let Some(start) = start {
            let now = root
                .read(&format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|b| crate::parse::proc_pid::parse_stat(&b).ok())
                .map(|s| s.starttime);
            if now != Some(start) {
                continue;
            }
        }
        let Ok((count, _)) = super::fds::read_fd_dir(&root, pid, false) else {
            continue;
        };
        let mut p = ProcSample {
            pid,
            fd_count: Some(count),
            ..ProcSample::default()
        };
        if read_table_in_own_namespace(&mut r, &mut p, &mut nets, &mut cov, &progress)
            && let Some(t) = p.fd_table
        {
            out.insert(pid, t);
        }
    }
    out
}
