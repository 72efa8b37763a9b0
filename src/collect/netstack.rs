//! The TCP stack's resources beyond its counters: socket memory against tcp_mem, the connection
//! tracking table, the ephemeral port range, and the per-CPU receive backlogs.
//!
//! Read on the first pass: /proc/net/sockstat, /proc/sys/net/ipv4/tcp_mem,
//! /proc/sys/net/netfilter/nf_conntrack_{count,max}, /proc/sys/net/ipv4/ip_local_port_range and
//! tcp_tw_reuse, and /proc/net/tcp{,6} (read whole, as every file through Root, and tallied for the
//! ports of that range; the sample keeps the tally, not the table) — only when sockstat says the
//! namespace has sockets enough to hold half the range: reading them walks the kernel's whole
//! established-connection hash. On every pass:
//! /proc/net/softnet_stat (its counters give the rates).
//!
//! All of it is the reader's network namespace but socket memory and tcp_mem, which are the host's:
//! the kernel shows tcp_mem only in the initial namespace, so inside a container or
//! `ip netns exec` the memory is read and its limits are not. Files that do not exist where the
//! kernel lacks the feature (no nf_conntrack) are recorded as such, not as failures.

use serde::{Deserialize, Serialize};

use crate::collect::host::Pass;
use crate::coverage::Coverage;
use crate::parse::net_sockstat::{self, SoftnetCpu, TcpSockstat};
use crate::parse::tcp_ports::{self, PortTally};
use crate::root::Root;

pub const SOCKSTAT: &str = "/proc/net/sockstat";
pub const TCP_MEM: &str = "/proc/sys/net/ipv4/tcp_mem";
pub const SOFTNET_STAT: &str = "/proc/net/softnet_stat";
pub const CONNTRACK_COUNT: &str = "/proc/sys/net/netfilter/nf_conntrack_count";
pub const CONNTRACK_MAX: &str = "/proc/sys/net/netfilter/nf_conntrack_max";
pub const PORT_RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";
pub const TCP_TW_REUSE: &str = "/proc/sys/net/ipv4/tcp_tw_reuse";
pub const TCP_TABLES: [&str; 2] = ["/proc/net/tcp", "/proc/net/tcp6"];

/// A value read, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum Read<T> {
    Value(T),
    /// The file does not exist: the kernel lacks the feature (or, in a replay, the snapshot says so).
    NotThere,
    /// It exists but could not be read or understood (in coverage).
    Failed,
}

impl<T> Read<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Read::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// The connection tracking table: entries and the limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Conntrack {
    pub count: u64,
    pub max: u64,
}

/// What one pass read; `None` in the sample when /proc/net/sockstat was not there (a snapshot that
/// predates this collector, or another command's scope).
#[derive(Debug, Clone)]
pub struct NetStackSample {
    /// First pass.
    pub sockstat: Option<Read<TcpSockstat>>,
    pub tcp_mem: Option<Read<[u64; 3]>>,
    pub conntrack: Option<Read<Conntrack>>,
    pub ports: Option<Read<PortTally>>,
    /// net.ipv4.tcp_tw_reuse (per namespace): whether TIME_WAIT ports can be taken over.
    pub tcp_tw_reuse: Option<Read<u8>>,
    /// Every pass.
    pub softnet: Read<Vec<SoftnetCpu>>,
}

/// Read one small file: the parsed value, `NotThere` when it does not exist, `Failed` (in coverage).
fn read_one<T>(
    root: &Root,
    path: &str,
    cov: &mut Coverage,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Read<T> {
    match root.read_string(path) {
        Ok(text) => match parse(&text) {
            Ok(v) => {
                cov.read_ok(path);
                Read::Value(v)
            }
            Err(why) => {
                cov.malformed(path, why);
                Read::Failed
            }
        },
        Err(e) if e.is_not_found() => Read::NotThere,
        Err(e) => {
            cov.read_failed(&e);
            Read::Failed
        }
    }
}

fn number(text: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("not a number: {:?}", text.trim()))
}

/// Read what this pass needs; `None` when sockstat does not exist in a replayed tree (an older
/// snapshot: nothing of the stack was recorded).
pub fn collect(root: &Root, pass: Pass, cov: &mut Coverage) -> Option<NetStackSample> {
    let softnet = read_one(root, SOFTNET_STAT, cov, net_sockstat::parse_softnet_stat);
    if pass == Pass::RatesOnly {
        return Some(NetStackSample {
            sockstat: None,
            tcp_mem: None,
            conntrack: None,
            ports: None,
            tcp_tw_reuse: None,
            softnet,
        });
    }
    let sockstat = read_one(root, SOCKSTAT, cov, net_sockstat::parse_sockstat);
    if sockstat == Read::NotThere {
        if root.is_live() {
            cov.notes
                .push(format!("{SOCKSTAT} does not exist: no TCP/IP stack to judge"));
        }
        return None;
    }
    let tcp_mem = read_one(root, TCP_MEM, cov, net_sockstat::parse_tcp_mem);
    let conntrack = match read_one(root, CONNTRACK_COUNT, cov, number) {
        Read::Value(count) => match read_one(root, CONNTRACK_MAX, cov, number) {
            Read::Value(max) => Read::Value(Conntrack { count, max }),
            Read::NotThere => {
                cov.notes.push(format!(
                    "{CONNTRACK_COUNT} exists but {CONNTRACK_MAX} does not: the table's limit is unknown"
                ));
                Read::Failed
            }
            Read::Failed => Read::Failed,
        },
        Read::NotThere => Read::NotThere,
        Read::Failed => Read::Failed,
    };
    let sockets = match &sockstat {
        Read::Value(s) => s.inuse.zip(s.time_wait).map(|(inuse, tw)| inuse + tw),
        _ => None,
    };
    let ports = match read_one(root, PORT_RANGE, cov, tcp_ports::parse_port_range) {
        Read::Value(range) if sockets.is_some_and(|n| !PortTally::worth_reading(range, n)) => {
            Read::Value(PortTally::bounded(range, sockets.unwrap_or(0)))
        }
        Read::Value(range) => {
            let mut tables = Vec::new();
            // A table that exists but cannot be read (too large, denied) leaves a tally of part of
            // the sockets: no tally, rather than a confident count of half of them.
            let mut failed = false;
            for path in TCP_TABLES {
                match root.read_string(path) {
                    Ok(text) => {
                        cov.read_ok(path);
                        tables.push((path, text));
                    }
                    // No IPv6 in this kernel or namespace: tcp6 is simply not there.
                    Err(e) if e.is_not_found() => {}
                    Err(e) => {
                        cov.read_failed(&e);
                        failed = true;
                    }
                }
            }
            let texts: Vec<&str> = tables.iter().map(|(_, t)| t.as_str()).collect();
            let tally = PortTally::tally(range, &texts);
            if tally.bad_lines > 0 {
                let paths: Vec<&str> = tables.iter().map(|(p, _)| *p).collect();
                cov.notes.push(format!(
                    "{}: {} lines not understood were skipped",
                    paths.join(", "),
                    tally.bad_lines
                ));
            }
            if tally.destinations_dropped > 0 {
                cov.notes.push(format!(
                    "ephemeral ports: {} sockets to destinations beyond the first {} were counted but not named",
                    tally.destinations_dropped,
                    tcp_ports::MAX_DESTINATIONS
                ));
            }
            if tables.is_empty() || failed {
                Read::Failed
            } else {
                Read::Value(tally)
            }
        }
        Read::NotThere => Read::NotThere,
        Read::Failed => Read::Failed,
    };
    Some(NetStackSample {
        sockstat: Some(sockstat),
        tcp_mem: Some(tcp_mem),
        conntrack: Some(conntrack),
        ports: Some(ports),
        tcp_tw_reuse: Some(read_one(root, TCP_TW_REUSE, cov, |t| {
            number(t).and_then(|n| u8::try_from(n).map_err(|_| format!("out of range: {n}")))
        })),
        softnet,
    })
}
