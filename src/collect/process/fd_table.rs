//! The fd table of the few processes an fd finding will name: those whose open-fd count is >= 80% of
//! their soft RLIMIT_NOFILE (fd.process_near_limit's warn level), and those whose links were already
//! read (a low fd limit, a full filesystem) and hold >= [`SOCKETS_TRIGGER`] sockets (a CLOSE_WAIT
//! pile). Never for every process: the cheap count stays the scan.

use std::collections::BTreeMap;

use super::fds::read_links;
use super::reader::Reader;
use super::types::ProcSample;
use crate::coverage::{Coverage, ProblemKind};
use crate::parse::fd_table;
use crate::parse::proc_net_tcp::{self, parse_sockets};

/// fd.process_near_limit's warn level.
pub const NEAR_LIMIT: f64 = 0.80;
/// Sockets among already-read links that make a process's table worth classifying.
pub const SOCKETS_TRIGGER: usize = 50;
/// At most this many processes' tables per scan, the largest first.
pub const MAX_PROCS: usize = 20;
/// A process with more fds than this is not listed (its count and the limit rule still stand).
pub const MAX_LINKS: u64 = 10_000;

fn wanted(p: &ProcSample) -> bool {
    if p.kthread || p.is_zombie() {
        return false;
    }
    let near = match (p.fd_count, p.limits.and_then(|l| l.nofile_soft)) {
        (Some(n), Some(soft)) if soft > 0 => n as f64 >= NEAR_LIMIT * soft as f64,
        _ => false,
    };
    let sockets = p.fd_links.as_ref().is_some_and(|l| {
        l.iter()
            .filter(|(_, t)| proc_net_tcp::socket_inode(t).is_some())
            .count()
            >= SOCKETS_TRIGGER
    });
    near || sockets
}

/// Read and classify the fd tables of the processes that need one (see the module docs).
pub(super) fn fd_tables(r: &mut Reader, procs: &mut [ProcSample], cov: &mut Coverage) {
    let mut candidates: Vec<usize> = (0..procs.len()).filter(|&i| wanted(&procs[i])).collect();
    if candidates.is_empty() {
        return;
    }
    candidates.sort_by_key(|&i| std::cmp::Reverse(procs[i].fd_count.unwrap_or(0)));
    if candidates.len() > MAX_PROCS {
        cov.notes.push(format!(
            "fd tables read for the {MAX_PROCS} processes with the most fds of {} near their limit or holding sockets",
            candidates.len()
        ));
        candidates.truncate(MAX_PROCS);
    }
    for i in candidates {
        let pid = procs[i].pid;
        if procs[i].fd_links.is_none() {
            if procs[i].fd_count.unwrap_or(0) > MAX_LINKS {
                cov.notes.push(format!(
                    "fd table of pid {pid} not read: more than {MAX_LINKS} fds"
                ));
                continue;
            }
            if !read_links(r, &mut procs[i], cov) {
                continue;
            }
        }
        // The process's own network namespace.
        let mut tcp = BTreeMap::new();
        for f in ["tcp", "tcp6"] {
            let path = format!("/proc/{pid}/net/{f}");
            match r.root.read_string(&path) {
                Ok(text) => {
                    let (s, bad) = parse_sockets(&text);
                    if bad > 0 {
                        cov.add(
                            &path,
                            ProblemKind::Unreadable,
                            format!("{bad} lines did not parse"),
                        );
                    }
                    tcp.extend(s);
                }
                Err(e) if e.is_not_found() => {} // gone, or IPv6 disabled
                Err(e) => cov.read_failed(&e),
            }
        }
        let links = procs[i].fd_links.as_deref().unwrap_or_default();
        let table = fd_table::classify(links.iter().map(|(_, t)| t.as_str()), &tcp);
        procs[i].fd_table = Some(table);
    }
}
