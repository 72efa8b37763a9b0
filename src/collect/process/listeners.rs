//! Listening TCP sockets held by processes with a low soft RLIMIT_NOFILE: their socket fds matched with
//! /proc/net/tcp{,6} of their own network namespace.

use std::collections::{BTreeMap, HashMap};

use super::fds::{read_fd_dir, read_links};
use super::reader::{Reader, Skip, classify};
use super::types::ProcSample;
use crate::coverage::{Coverage, ProblemKind};
use crate::parse::proc_net_tcp::{self, Listener};

/// Soft RLIMIT_NOFILE at or below which a process's sockets are matched with listeners.
pub const NOFILE_LOW: u64 = 1024;

/// Match the sockets of processes with a low soft RLIMIT_NOFILE against the listening sockets of their
/// network namespace.
pub(super) fn listeners(r: &mut Reader, procs: &mut [ProcSample], cov: &mut Coverage) {
    let candidates: Vec<usize> = procs
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            !p.kthread
                && !p.is_zombie()
                && p.limits
                    .and_then(|l| l.nofile_soft)
                    .is_some_and(|s| s <= NOFILE_LOW)
        })
        .map(|(i, _)| i)
        .collect();
    if candidates.is_empty() {
        return;
    }
    let own_ns = r.root.read_link("/proc/self/ns/net").ok();
    // netns link -> listeners of that namespace
    let mut tables: HashMap<String, std::collections::BTreeMap<u64, Listener>> = HashMap::new();
    for i in candidates {
        let pid = procs[i].pid;
        if procs[i].fd_links.is_none() && !read_links(r, &mut procs[i], cov) {
            continue;
        }
        let sockets: Vec<u64> = procs[i]
            .fd_links
            .iter()
            .flatten()
            .filter_map(|(_, t)| proc_net_tcp::socket_inode(t))
            .collect();
        if sockets.is_empty() {
            procs[i].listen_ports = Some(Vec::new());
            continue;
        }
        let ns = r.root.read_link(&format!("/proc/{pid}/ns/net")).ok();
        let own = ns.is_none() || ns == own_ns;
        let key = if own {
            "own".to_string()
        } else {
            ns.clone().unwrap_or_default()
        };
        let table = tables.entry(key).or_insert_with(|| {
            let base = if own {
                "/proc/net".to_string()
            } else {
                format!("/proc/{pid}/net")
            };
            let mut all = BTreeMap::new();
            for f in ["tcp", "tcp6"] {
                let path = format!("{base}/{f}");
                match r.root.read_string(&path) {
                    Ok(text) => {
                        let (l, bad) = proc_net_tcp::parse_listeners(&text);
                        if bad > 0 {
                            cov.add(
                                &path,
                                ProblemKind::Unreadable,
                                format!("{bad} lines did not parse"),
                            );
                        }
                        all.extend(l);
                        cov.read_ok(&path);
                    }
                    Err(e) if e.is_not_found() && f == "tcp6" => {} // IPv6 disabled
                    Err(e) => cov.read_failed(&e),
                }
            }
            all
        });
        let mut ports: Vec<u16> = sockets
            .iter()
            .filter_map(|ino| table.get(ino).map(|l| l.port))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        procs[i].listen_ports = Some(ports);
    }
}

/// The processes holding each of `inodes` (listening sockets), by reading the fd table of every
/// process of `procs` (kernel threads and zombies have none). This reads every fd link of every
/// process, so it is done only when a listener dropped connections (see `collect/listen.rs`).
/// Returns the holders' pids by inode and how many processes' fd tables were denied.
pub fn holders_of(
    root: &crate::root::Root,
    procs: &[ProcSample],
    inodes: &std::collections::BTreeSet<u64>,
    cov: &mut Coverage,
) -> (BTreeMap<u64, Vec<i32>>, usize) {
    let mut out: BTreeMap<u64, Vec<i32>> = BTreeMap::new();
    let mut denied = 0;
    if inodes.is_empty() {
        return (out, denied);
    }
    for p in procs.iter().filter(|p| !p.kthread && !p.is_zombie()) {
        match read_fd_dir(root, p.pid, true) {
            Ok((_, links)) => {
                for (_, target) in links.iter().flatten() {
                    if let Some(ino) = proc_net_tcp::socket_inode(target)
                        && inodes.contains(&ino)
                    {
                        let pids = out.entry(ino).or_default();
                        if !pids.contains(&p.pid) {
                            pids.push(p.pid);
                        }
                    }
                }
            }
            Err(e) => match classify(e) {
                Skip::Denied => denied += 1,
                Skip::Other(e) => cov.read_failed(&e),
                _ => {}
            },
        }
    }
    (out, denied)
}
