//! The TCP sockets of a process's own network namespace (/proc/PID/net/tcp{,6}, which the kernel
//! renders for the namespace of that process), read once per namespace and shared by the processes
//! in it. A namespace is known by its /proc/PID/ns/net link (`net:[4026531840]`); where that link
//! cannot be read (an older snapshot, a foreign tree) the process is its own namespace.
//!
//! A snapshot records what the fd-table pass concluded (`fd_table`'s record), not these files, so
//! they are read without being recorded.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use super::reader::Reader;
use crate::coverage::{Coverage, ProblemKind};
use crate::parse::net_sockstat::parse_sockstat;
use crate::parse::proc_net_tcp::parse_sockets;

/// Sockets by inode: state, remote endpoint.
pub type TcpSockets = BTreeMap<u64, (u8, SocketAddr)>;

/// Which namespace a process is in, and that namespace's tables once read.
#[derive(Default)]
pub(super) struct NetTables {
    /// netns link (or `pid:N` when it could not be read) -> the namespace's TCP sockets.
    sockets: HashMap<String, Option<Arc<TcpSockets>>>,
    /// netns link -> TCP sockets in use (sockstat's `TCP: inuse` plus sockstat6's `TCP6: inuse`).
    in_use: HashMap<String, Option<u64>>,
}

impl NetTables {
    /// The key of `pid`'s network namespace.
    pub(super) fn namespace(r: &Reader, pid: i32) -> String {
        r.root
            .read_link_unrecorded(&format!("/proc/{pid}/ns/net"))
            .unwrap_or_else(|_| format!("pid:{pid}"))
    }

    /// TCP sockets in use in the namespace `key` (read through `pid`, a process in it): the cheap
    /// bound on how many any process there can hold. `None` when sockstat could not be read.
    pub(super) fn in_use(&mut self, r: &Reader, key: &str, pid: i32, cov: &mut Coverage) -> Option<u64> {
        if let Some(n) = self.in_use.get(key) {
            return *n;
        }
        let mut total = Some(0u64);
        for (file, prefix) in [("sockstat", "TCP:"), ("sockstat6", "TCP6:")] {
            let path = format!("/proc/{pid}/net/{file}");
            match read_unrecorded(r, &path) {
                Ok(text) => {
                    // sockstat6 has its own line name; parse it as the TCP line it mirrors.
                    let text = text.replace(prefix, "TCP:");
                    match parse_sockstat(&text) {
                        Ok(s) => total = total.zip(s.inuse).map(|(a, b)| a + b),
                        Err(e) => {
                            cov.add(&path, ProblemKind::Unreadable, format!("did not parse: {e}"));
                            total = None;
                        }
                    }
                }
                Err(e) if e.is_not_found() && file == "sockstat6" => {} // IPv6 disabled
                Err(e) if e.is_not_found() => total = None,             // gone, or a tree without it
                Err(e) => {
                    cov.read_failed(&e);
                    total = None;
                }
            }
        }
        self.in_use.insert(key.to_string(), total);
        total
    }

    /// The TCP sockets of the namespace `key`, read through `pid`; `None` when /proc/PID/net/tcp could
    /// not be read (a table that failed gives no half-answer).
    pub(super) fn sockets(
        &mut self,
        r: &Reader,
        key: &str,
        pid: i32,
        cov: &mut Coverage,
    ) -> Option<Arc<TcpSockets>> {
        if let Some(t) = self.sockets.get(key) {
            return t.clone();
        }
        let mut all = TcpSockets::new();
        let mut ok = true;
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
                Err(e) if e.is_not_found() && f == "tcp6" => {} // IPv6 disabled
                Err(e) => {
                    if !e.is_not_found() {
                        cov.read_failed(&e);
                    }
                    ok = false;
                }
            }
        }
        let table = ok.then(|| Arc::new(all));
        self.sockets.insert(key.to_string(), table.clone());
        table
    }
}

fn read_unrecorded(r: &Reader, path: &str) -> Result<String, crate::root::ReadError> {
    r.root
        .read_unrecorded(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}
