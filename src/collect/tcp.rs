//! The host's TCP stack counters, on every pass (rates): /proc/net/snmp (Tcp: OutSegs, RetransSegs)
//! and /proc/net/netstat (TcpExt: ListenOverflows, ListenDrops, TCPBacklogDrop). Both are the
//! reader's network namespace: inside `ip netns exec NS`, that namespace's stack. Which namespace
//! that is, on the first pass: the target of /proc/self/ns/net (`net:[INODE]`) and of /proc/1/ns/net
//! (init's, the host's; reading it needs root).

use crate::coverage::Coverage;
use crate::parse::net_snmp;
use crate::root::Root;

pub const SNMP: &str = "/proc/net/snmp";
pub const NETSTAT: &str = "/proc/net/netstat";
pub const SELF_NETNS: &str = "/proc/self/ns/net";
pub const INIT_NETNS: &str = "/proc/1/ns/net";

/// The counters one pass read; a field is `None` when its file or its counter was missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TcpSample {
    pub out_segs: Option<u64>,
    pub retrans_segs: Option<u64>,
    pub listen_overflows: Option<u64>,
    pub listen_drops: Option<u64>,
    pub backlog_drops: Option<u64>,
    /// First pass: the reader's network namespace (`net:[4026531840]`), when it could be read.
    pub netns: Option<String>,
    /// First pass: init's network namespace, or why it could not be read.
    pub init_netns: Option<Result<String, String>>,
}

/// Read both files (and, on the `first` pass, whose namespace they are); `None` when neither could
/// be read (a snapshot that predates them).
pub fn collect(root: &Root, first: bool, cov: &mut Coverage) -> Option<TcpSample> {
    let mut read = |path: &str| match root.read_string(path) {
        Ok(text) => {
            let (map, problems) = net_snmp::parse(&text);
            if map.is_empty() {
                cov.malformed(path, problems.join("; "));
                return None;
            }
            cov.read_ok(path);
            for p in problems {
                cov.notes.push(format!("{path}: {p}"));
            }
            Some(map)
        }
        Err(e) => {
            if !e.is_not_found() || root.is_live() {
                cov.read_failed(&e);
            }
            None
        }
    };
    let snmp = read(SNMP);
    let netstat = read(NETSTAT);
    if snmp.is_none() && netstat.is_none() {
        return None;
    }
    let get = |m: &Option<_>, section: &str, name: &str| {
        m.as_ref().and_then(|m| net_snmp::counter(m, section, name))
    };
    let (netns, init_netns) = if first {
        let own = root.read_link(SELF_NETNS).ok();
        let init = match root.read_link(INIT_NETNS) {
            Ok(t) => Some(Ok(t)),
            // A snapshot taken before osdoctor read it.
            Err(e) if e.is_not_found() && !root.is_live() => None,
            Err(e) => Some(Err(e.reason())),
        };
        (own, init)
    } else {
        (None, None)
    };
    Some(TcpSample {
        netns,
        init_netns,
        out_segs: get(&snmp, "Tcp", "OutSegs"),
        retrans_segs: get(&snmp, "Tcp", "RetransSegs"),
        listen_overflows: get(&netstat, "TcpExt", "ListenOverflows"),
        listen_drops: get(&netstat, "TcpExt", "ListenDrops"),
        backlog_drops: get(&netstat, "TcpExt", "TCPBacklogDrop"),
    })
}
