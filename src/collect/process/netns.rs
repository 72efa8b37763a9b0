//! The TCP sockets of a process's own network namespace (/proc/PID/net/tcp{,6}, which the kernel
//! renders for the namespace of that process), read once per namespace and shared by the processes
//! in it. A namespace is known by its /proc/PID/ns/net link (`net:[4026531840]`); where that link
//! does not exist (an older snapshot, a foreign tree) the process is its own namespace; where it is
//! denied (not root: the link needs ptrace access) the namespace is unknown.
//!
//! A namespace's files are read through any of its processes, the next one when one has exited; a
//! table that could not be read through any gives no answer, never an empty one.
//!
//! A snapshot records what the fd-table pass concluded (`fd_record`), not these files, so they are
//! read without being recorded.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::reader::Reader;
use crate::coverage::{Coverage, ProblemKind};
use crate::parse::net_sockstat::parse_sockstat;
use crate::parse::proc_net_tcp::{TcpSocket, parse_sockets};
use crate::root::ReadError;

/// Sockets by inode.
pub type TcpSockets = BTreeMap<u64, TcpSocket>;

/// Which namespace a process is in, and that namespace's tables once read.
#[derive(Default)]
pub(super) struct NetTables {
    /// netns link (or `pid:N`) -> the namespace's TCP sockets; `None`: no process could read them.
    sockets: HashMap<String, Option<Arc<TcpSockets>>>,
    /// netns link -> TCP sockets in use (sockstat's `TCP: inuse` plus sockstat6's `TCP6: inuse`).
    in_use: HashMap<String, Option<u64>>,
}

/// Why a read through one process failed: it exited (try another), or the file is not there to read.
fn gone(e: &ReadError) -> bool {
    e.is_not_found()
}

impl NetTables {
    /// The key of `pid`'s network namespace: its ns/net link, `pid:N` where the root has no such
    /// link, `None` where it could not be read (permission denied).
    pub(super) fn namespace(r: &Reader, pid: i32) -> Option<String> {
        match r.root.read_link_unrecorded(&format!("/proc/{pid}/ns/net")) {
            Ok(link) => Some(link),
            Err(e) if e.is_not_found() => Some(format!("pid:{pid}")),
            Err(_) => None,
        }
    }

    /// TCP sockets in use in the namespace `key`, read through the first of `pids` that can: the
    /// cheap bound on how many any process there can hold. `None` when sockstat could not be read.
    pub(super) fn in_use(&mut self, r: &Reader, key: &str, pids: &[i32], cov: &mut Coverage) -> Option<u64> {
        if let Some(n) = self.in_use.get(key) {
            return *n;
        }
        for &pid in pids {
            match in_use_of(r, pid, cov) {
                Ok(total) => {
                    self.in_use.insert(key.to_string(), total);
                    return total;
                }
                Err(()) => continue, // exited: through the next
            }
        }
        self.in_use.insert(key.to_string(), None);
        None
    }

    /// The TCP sockets of the namespace `key`, read through the first of `pids` that can; `None`
    /// when no table could be read (a table that failed gives no half-answer).
    pub(super) fn sockets(
        &mut self,
        r: &Reader,
        key: &str,
        pids: &[i32],
        cov: &mut Coverage,
    ) -> Option<Arc<TcpSockets>> {
        if let Some(t) = self.sockets.get(key) {
            return t.clone();
        }
        let mut table = None;
        for &pid in pids {
            match sockets_of(r, pid, cov) {
                Ok(t) => {
                    table = t.map(Arc::new);
                    break;
                }
                Err(()) => continue,
            }
        }
        self.sockets.insert(key.to_string(), table.clone());
        table
    }
}

/// sockstat's and sockstat6's TCP sockets in use, through `pid`: `Err` when the process is gone (the
/// caller tries another), `Ok(None)` when its files could not be understood.
fn in_use_of(r: &Reader, pid: i32, cov: &mut Coverage) -> Result<Option<u64>, ()> {
    let mut total = Some(0u64);
    for (file, prefix) in [("sockstat", "TCP:"), ("sockstat6", "TCP6:")] {
        let path = format!("/proc/{pid}/net/{file}");
        match read_unrecorded(r, &path) {
            Ok(text) => {
                // sockstat6 has its own line name; parse it as the TCP line it mirrors.
                let text = text.replace(prefix, "TCP:");
                match parse_sockstat(&text) {
                    Ok(s) => total = total.zip(s.inuse).map(|(a, b)| a.saturating_add(b)),
                    Err(e) => {
                        cov.add(&path, ProblemKind::Unreadable, format!("did not parse: {e}"));
                        total = None;
                    }
                }
            }
            Err(e) if gone(&e) && file == "sockstat6" => {} // IPv6 disabled
            Err(e) if gone(&e) => return Err(()),
            Err(e) => {
                cov.read_failed(&e);
                total = None;
            }
        }
    }
    Ok(total)
}

/// /proc/PID/net/tcp and tcp6 through `pid`: `Err` when the process is gone, `Ok(None)` when a table
/// could not be read.
fn sockets_of(r: &Reader, pid: i32, cov: &mut Coverage) -> Result<Option<TcpSockets>, ()> {
    let mut all = TcpSockets::new();
    for f in ["tcp", "tcp6"] {
        let path = format!("/proc/{pid}/net/{f}");
        match read_unrecorded(r, &path) {
            Ok(text) => {
                let (s, bad) = parse_sockets(&text);
                if bad > 0 {
                    cov.add(
                        &path,
                        ProblemKind::Unreadable,
                        format!("{bad} lines did not parse"),
                    );
                }
                all.extend(s);
            }
            Err(e) if gone(&e) && f == "tcp6" => {} // IPv6 disabled
            Err(e) if gone(&e) => return Err(()),
            Err(e) => {
                cov.read_failed(&e);
                return Ok(None);
            }
        }
    }
    Ok(Some(all))
}

fn read_unrecorded(r: &Reader, path: &str) -> Result<String, ReadError> {
    r.root
        .read_unrecorded(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}
