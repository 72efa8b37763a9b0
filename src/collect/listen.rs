//! The LISTEN TCP sockets of the reader's network namespace, when listeners dropped connections
//! during the interval: their address, port and accept queue (/proc/net/tcp{,6}), their backlog
//! limit (sock_diag, live only), and, for those whose accept queue is at its limit, the processes
//! holding them.
//!
//! Cost: nothing on a healthy host. It runs in the second pass of `check`, and only when TcpExt
//! ListenOverflows or ListenDrops rose between the passes (the first pass cannot know). Then it
//! reads both tables and asks sock_diag once per address family; only when some listener's queue is
//! at its limit does it read the fd table of every process (every fd link: the one way to map a
//! socket inode to its holders), which on a host with many processes costs several scans' worth:
//! measured on the project VM with 1,090 processes of 50 fds each, `check` took 0.31-0.41 s of CPU
//! with a full listener against 0.074 s without (and the same 0.072-0.073 s as before this
//! collector existed).
//!
//! What "at its limit" means: the kernel drops a completed handshake when `sk_ack_backlog >
//! sk_max_ack_backlog` (sk_acceptq_is_full), so a listener that never accepts sits at backlog + 1.
//! A listener is named when its queue is at least its backlog (and not empty); its queue is the
//! larger of the two readings (/proc/net/tcp's rx_queue, sock_diag's idiag_rqueue). Without the backlog
//! (a replayed snapshot that holds no record of it, sock_diag refused, a root tree whose sockets are
//! not the reader's) the limit is unknown, at most net.core.somaxconn: every listener with a
//! non-empty queue is named, and the facts say the backlog was not read.
//!
//! sock_diag's answer is not a file: a recording root keeps it in [`RECORD_FILE`] (in the sample of
//! the pass that asked, the second), and a snapshot's replay reads it back, so it names the same
//! backlogs (format in [`crate::parse::sock_diag::format_record`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::collect::process::{ProcSample, holders_of};
use crate::coverage::{Coverage, ProblemKind};
use crate::parse::proc_net_tcp;
use crate::parse::sock_diag::{self, DiagListener};
use crate::root::Root;

pub const TCP: &str = "/proc/net/tcp";
pub const TCP6: &str = "/proc/net/tcp6";
/// What sock_diag said, in a snapshot.
pub const RECORD_FILE: &str = "/osdoctor/listen-backlogs";

/// A process holding a listening socket.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub pid: i32,
    pub start_time: u64,
    pub comm: String,
}

/// One LISTEN socket.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerReading {
    pub inode: u64,
    pub address: IpAddr,
    pub port: u16,
    /// Connections waiting for accept() when read.
    pub queue: u32,
    /// Its accept-queue limit (sock_diag), when read.
    pub backlog: Option<u32>,
    /// The processes holding it: read only for listeners at their limit (`None`: not looked for).
    pub holders: Option<Vec<Holder>>,
}

impl ListenerReading {
    /// The queue is at its limit (or, with the limit unknown, not empty).
    pub fn at_limit(&self) -> bool {
        self.queue >= 1 && self.backlog.is_none_or(|b| self.queue >= b)
    }
}

/// The listeners of the namespace, read because listeners dropped connections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListenSample {
    pub listeners: Vec<ListenerReading>,
    /// Why the backlogs are unknown (`None`: sock_diag answered).
    pub backlog_missing: Option<String>,
    /// Processes whose fd table could not be read (permission denied): a listener they hold is unnamed.
    pub holders_denied: usize,
}

/// Whether listeners dropped connections between the two TCP samples (the trigger for [`collect`]).
pub fn dropped(before: &crate::collect::tcp::TcpSample, after: &crate::collect::tcp::TcpSample) -> bool {
    let rose = |pick: fn(&crate::collect::tcp::TcpSample) -> Option<u64>| matches!((pick(before), pick(after)), (Some(a), Some(b)) if b > a);
    rose(|t| t.listen_overflows) || rose(|t| t.listen_drops)
}

/// Read the listeners; `procs`: the processes whose fd tables may hold them (the first pass's).
/// `replay`: the root is a recorded snapshot sample. `None` when /proc/net/tcp could not be read.
pub fn collect(root: &Root, replay: bool, procs: &[ProcSample], cov: &mut Coverage) -> Option<ListenSample> {
    let mut table = BTreeMap::new();
    let mut any = false;
    for path in [TCP, TCP6] {
        match root.read_string(path) {
            Ok(text) => {
                any = true;
                let (l, bad) = proc_net_tcp::parse_listeners(&text);
                if bad > 0 {
                    cov.add(
                        path,
                        ProblemKind::Unreadable,
                        format!("{bad} lines did not parse"),
                    );
                }
                cov.read_ok(path);
                table.extend(l);
            }
            // IPv6 disabled; or a snapshot taken before osdoctor read the listeners.
            Err(e) if e.is_not_found() && (path == TCP6 || !root.is_live()) => {}
            Err(e) => cov.read_failed(&e),
        }
    }
    if !any {
        return None;
    }
    let (backlogs, backlog_missing) = match backlogs(root, replay, cov) {
        Ok(b) => (
            b.into_iter().map(|l| (l.inode, l)).collect::<BTreeMap<_, _>>(),
            None,
        ),
        Err(why) => (BTreeMap::new(), Some(why)),
    };
    if let Some(why) = &backlog_missing {
        cov.notes.push(format!(
            "the listeners' backlogs were not read ({why}): net.listen_overflow bounds them by net.core.somaxconn"
        ));
    }
    let mut sample = ListenSample {
        backlog_missing,
        ..ListenSample::default()
    };
    for l in table.into_values() {
        let diag = backlogs.get(&l.inode);
        sample.listeners.push(ListenerReading {
            inode: l.inode,
            address: l.address,
            port: l.port,
            // The file and sock_diag read the same sk_ack_backlog a few milliseconds apart; a server
            // that accepts in bursts (between CPU quota periods) is at its limit in either.
            queue: diag.map_or(l.queue, |d| d.queue.max(l.queue)),
            backlog: diag.map(|d| d.backlog),
            holders: None,
        });
    }
    let full: BTreeSet<u64> = sample
        .listeners
        .iter()
        .filter(|l| l.at_limit())
        .map(|l| l.inode)
        .collect();
    if !full.is_empty() {
        let (by_inode, denied) = holders_of(root, procs, &full, cov);
        sample.holders_denied = denied;
        if denied > 0 {
            cov.notes.push(format!(
                "{denied} processes' fd tables could not be read (permission denied): a full listener they hold is not named"
            ));
        }
        for l in sample.listeners.iter_mut().filter(|l| full.contains(&l.inode)) {
            let pids = by_inode.get(&l.inode).map(Vec::as_slice).unwrap_or_default();
            l.holders = Some(
                pids.iter()
                    .filter_map(|pid| procs.iter().find(|p| p.pid == *pid))
                    .map(|p| Holder {
                        pid: p.pid,
                        start_time: p.starttime,
                        comm: p.comm.clone(),
                    })
                    .collect(),
            );
        }
    }
    Some(sample)
}

/// The backlogs: sock_diag live (recorded when recording), the record in a replay; a tree cannot say.
fn backlogs(root: &Root, replay: bool, cov: &mut Coverage) -> Result<Vec<DiagListener>, String> {
    if root.is_live() {
        let answer = ask_sock_diag();
        root.record_file(RECORD_FILE, sock_diag::format_record(&answer).as_bytes());
        return answer.map_err(|e| format!("sock_diag: {e}"));
    }
    if !replay {
        return Err("a root tree: its sockets' backlogs are only in sock_diag, which answers for the reader's own network namespace".to_string());
    }
    match root.read_string(RECORD_FILE) {
        Ok(text) => {
            cov.read_ok(RECORD_FILE);
            let (answer, bad) = sock_diag::parse_record(&text);
            if bad > 0 {
                cov.malformed(RECORD_FILE, format!("{bad} lines did not parse"));
            }
            answer.map_err(|e| format!("sock_diag: {e}"))
        }
        Err(_) => Err("this snapshot holds no record of sock_diag (taken by an older osdoctor)".to_string()),
    }
}

/// Ask the kernel for the LISTEN TCP sockets of both families.
fn ask_sock_diag() -> Result<Vec<DiagListener>, String> {
    use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_SOCK_DIAG};
    let mut socket = Socket::new(NETLINK_SOCK_DIAG).map_err(|e| e.to_string())?;
    socket.bind_auto().map_err(|e| e.to_string())?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for family in sock_diag::FAMILIES {
        socket
            .send(&sock_diag::listen_request(family), 0)
            .map_err(|e| e.to_string())?;
        loop {
            let (bytes, _) = socket.recv_from_full().map_err(|e| e.to_string())?;
            if bytes.is_empty() {
                break;
            }
            let decoded = match sock_diag::decode(&bytes) {
                // IPv6 disabled: no inet6 listeners to ask about.
                Err(_) if family == netlink_packet_sock_diag::constants::AF_INET6 => break,
                other => other?,
            };
            out.extend(decoded.listeners);
            if decoded.done {
                break;
            }
        }
    }
    Ok(out)
}
