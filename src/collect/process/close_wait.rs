//! Who holds the CLOSE_WAIT sockets, whatever their fd limit (net.close_wait_leak), at a cost near
//! nothing on most hosts:
//!
//! 1. only a process with at least [`SURVEY_FLOOR`] fds can hold that many: the others get their fd
//!    count as the bound (done before, by `fd_table`). On a kernel older than 6.2, where the scan has
//!    FDSize rather than a count, the fd directory is listed (names only) to get one;
//! 2. the candidates' network namespaces (one readlink of /proc/PID/ns/net each, at most
//!    [`MAX_NAMESPACE_LOOKUPS`], the most fds first); a denied link leaves the process not judged;
//! 3. per namespace, sockstat's TCP sockets in use (one small file): below the floor, every candidate
//!    there is bounded by it;
//! 4. otherwise the namespace's TCP tables: fewer CLOSE_WAIT sockets than the floor bound everyone
//!    there;
//! 5. otherwise every candidate of that namespace has its fd links read (within
//!    [`MAX_SURVEY_LINKS`] links in all), and its CLOSE_WAIT sockets counted exactly. There is no
//!    stopping early: a forked child holds its parent's sockets, so one socket counts for each
//!    process that holds it. Those holding at least the floor get their table classified (within the
//!    tables' cap); those the link budget did not reach stay not judged, with a note.

use std::collections::{BTreeMap, BTreeSet};

use super::fd_table::{Budget, MAX_LINKS, SURVEY_FLOOR, fds_at_most, has_fds, read_table};
use super::fds::{read_fd_dir, read_links};
use super::netns::NetTables;
use super::reader::Reader;
use super::types::{ProcSample, ScanProgress};
use crate::coverage::Coverage;
use crate::parse::proc_net_tcp::{TCP_CLOSE_WAIT, socket_inode};

/// At most this many candidates have their network namespace looked up (a readlink each, several
/// microseconds): a host where thousands of processes hold 40 fds pays for the few hundred with the
/// most, and the note says so.
pub const MAX_NAMESPACE_LOOKUPS: usize = 256;
/// At most this many namespaces have their TCP tables read (each table is held until the pass ends).
pub const MAX_NAMESPACES: usize = 32;
/// At most this many fd links are read to count CLOSE_WAIT sockets, in all namespaces together.
pub const MAX_SURVEY_LINKS: u64 = 50_000;

/// Count the CLOSE_WAIT sockets of the processes that may hold them by the dozen (see the module
/// docs): an exact count, a table, or a bound for each process judged.
pub(super) fn survey(
    r: &mut Reader,
    procs: &mut [ProcSample],
    nets: &mut NetTables,
    budget: &mut Budget,
    cov: &mut Coverage,
    progress: &ScanProgress,
) {
    let mut notes = Vec::new();
    // 1. Candidates, the most fds first; an older kernel's FDSize is replaced by the count.
    let mut candidates = Vec::new();
    for (i, p) in procs.iter_mut().enumerate() {
        if !has_fds(p) || p.fd_table.is_some() || p.close_wait_at_most.is_some() {
            continue;
        }
        if p.fd_count.is_none() && p.fdsize.is_some_and(|n| n >= SURVEY_FLOOR) {
            progress.at(format!("/proc/{}/fd", p.pid));
            if let Ok((n, _)) = read_fd_dir(r.root, p.pid, false) {
                p.fd_count = Some(n);
                if n < SURVEY_FLOOR {
                    p.close_wait_at_most = Some(n);
                    continue;
                }
            }
        }
        if let Some(n) = fds_at_most(p).filter(|&n| n >= SURVEY_FLOOR) {
            candidates.push((n, i));
        }
    }
    candidates.sort_by_key(|&(n, i)| (std::cmp::Reverse(n), i));
    if candidates.len() > MAX_NAMESPACE_LOOKUPS {
        notes.push(format!(
            "CLOSE_WAIT holders looked for among the {MAX_NAMESPACE_LOOKUPS} processes with the most fds, \
             of {} with {SURVEY_FLOOR} or more: net.close_wait_leak does not judge the others",
            candidates.len()
        ));
        candidates.truncate(MAX_NAMESPACE_LOOKUPS);
    }

    // 2. By namespace.
    let mut by_ns: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut denied = 0;
    for (_, i) in candidates {
        progress.at(format!("/proc/{}/ns/net", procs[i].pid));
        match NetTables::namespace(r, procs[i].pid) {
            Some(key) => by_ns.entry(key).or_default().push(i),
            None => denied += 1,
        }
    }
    if denied > 0 {
        notes.push(format!(
            "the network namespace of {denied} process{} with {SURVEY_FLOOR} or more fds could not be read: \
             net.close_wait_leak does not judge {} (run as root)",
            if denied == 1 { "" } else { "es" },
            if denied == 1 { "it" } else { "them" }
        ));
    }
    let mut groups: Vec<(String, Vec<usize>)> = by_ns.into_iter().collect();
    // The namespaces with the biggest candidates first (the caps keep those).
    groups.sort_by_key(|(_, m)| {
        std::cmp::Reverse(m.iter().map(|&i| fds_at_most(&procs[i]).unwrap_or(0)).max())
    });
    if groups.len() > MAX_NAMESPACES {
        let left: usize = groups[MAX_NAMESPACES..].iter().map(|(_, m)| m.len()).sum();
        notes.push(format!(
            "CLOSE_WAIT sockets counted in {MAX_NAMESPACES} network namespaces; {left} processes in {} more are not judged",
            groups.len() - MAX_NAMESPACES
        ));
        groups.truncate(MAX_NAMESPACES);
    }

    let mut links_left = MAX_SURVEY_LINKS;
    let mut unreached = 0;
    for (key, members) in groups {
        let pids: Vec<i32> = members.iter().map(|&i| procs[i].pid).collect();
        let bound_all = |procs: &mut [ProcSample], bound: u64| {
            for &i in &members {
                let fds = fds_at_most(&procs[i]).unwrap_or(0);
                procs[i].close_wait_at_most = Some(fds.min(bound));
            }
        };
        // 3. The cheap bound.
        progress.at(format!("/proc/{}/net/sockstat", pids[0]));
        let Some(in_use) = nets.in_use(r, &key, &pids, cov) else {
            continue; // not judged: its namespace's sockets are unknown
        };
        if in_use < SURVEY_FLOOR {
            bound_all(procs, in_use);
            continue;
        }
        // 4. The namespace's CLOSE_WAIT sockets.
        progress.at(format!("/proc/{}/net/tcp", pids[0]));
        let Some(tcp) = nets.sockets(r, &key, &pids, cov) else {
            continue;
        };
        let close_wait: BTreeSet<u64> = tcp
            .iter()
            .filter(|(_, s)| s.state == TCP_CLOSE_WAIT)
            .map(|(ino, _)| *ino)
            .collect();
        if (close_wait.len() as u64) < SURVEY_FLOOR {
            bound_all(procs, close_wait.len() as u64);
            continue;
        }
        // 5. Each candidate's own count.
        for &i in &members {
            let p = &mut procs[i];
            if p.fd_links.is_none() {
                let fds = p.fd_count.unwrap_or(0);
                if fds > MAX_LINKS || fds > links_left {
                    unreached += 1;
                    continue;
                }
                progress.at(format!("/proc/{}/fd", p.pid));
                if !read_links(r, p, cov) {
                    continue;
                }
                links_left = links_left.saturating_sub(fds);
            }
            let held = p
                .fd_links
                .iter()
                .flatten()
                .filter(|(_, t)| socket_inode(t).is_some_and(|ino| close_wait.contains(&ino)))
                .count() as u64;
            if held >= SURVEY_FLOOR && budget.take() {
                read_table(r, p, &key, nets, cov, progress);
            } else {
                p.close_wait_at_most = Some(held);
            }
        }
    }
    if unreached > 0 {
        notes.push(format!(
            "the fd links of {unreached} processes in network namespaces with {SURVEY_FLOOR} or more CLOSE_WAIT \
             sockets were not read ({MAX_SURVEY_LINKS} links at most): net.close_wait_leak does not judge them"
        ));
    }
    cov.notes.extend(notes);
}
