//! What a process's descriptors are: its /proc/PID/fd link targets classified (regular files, deleted
//! files, TCP sockets by state joined through the socket inode with /proc/PID/net/tcp{,6}, other
//! sockets, pipes, anon inodes by kind), and the one-line breakdown findings quote.
//!
//! Link targets as the kernel prints them (fs/d_path.c, fs/anon_inodes.c): `/path`, `/path (deleted)`,
//! `socket:[INODE]`, `pipe:[INODE]`, `anon_inode:[eventpoll]`, `anon_inode:[eventfd]`,
//! `anon_inode:[timerfd]`, `anon_inode:inotify`, `anon_inode:[signalfd]`, `anon_inode:[pidfd]`, ...

use std::collections::BTreeMap;

use super::proc_net_tcp::{TCP_CLOSE_WAIT, TcpSocket, socket_inode};

/// What a snapshot records as the target of an fd link to a regular file (see [`recorded_target`]).
pub const RECORDED_FILE: &str = "[file]";

/// What a snapshot records as an fd's link target: sockets, pipes and anon inodes as they are (an
/// inode number says nothing private; the listener and CLOSE_WAIT passes join on it), deleted files as
/// they are (fd.deleted_open names them), and any other path as [`RECORDED_FILE`]: which files every
/// process holds open is not a snapshot's business. The tables osdoctor classified are recorded whole
/// (their redacted top paths included) by the process collector.
pub fn recorded_target(target: &str) -> String {
    if target.starts_with('/') && !target.ends_with(" (deleted)") {
        RECORDED_FILE.to_string()
    } else {
        target.to_string()
    }
}

/// How many paths, and CLOSE_WAIT peers, the table keeps.
pub const TOP: usize = 3;

/// A classified fd table. Every link is in exactly one class: the classes sum to `total`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FdTable {
    pub total: u64,
    /// TCP sockets by state name (`ESTABLISHED`, `CLOSE_WAIT`, ...).
    pub tcp: BTreeMap<String, u64>,
    /// The most frequent remote endpoints of the CLOSE_WAIT sockets, most first.
    pub close_wait_peers: Vec<(String, u64)>,
    /// The most frequent local endpoints of the CLOSE_WAIT sockets: a server that does not close what
    /// its clients closed holds them on its own port, from scattered client ports.
    pub close_wait_locals: Vec<(String, u64)>,
    /// Whether the TCP tables were read: without them a TCP socket is not told from the others, and
    /// `tcp` is empty.
    pub tcp_read: bool,
    /// Sockets not in the TCP tables: UDP, unix, netlink, ... (every socket when `tcp_read` is false)
    pub other_sockets: u64,
    pub files: u64,
    /// The most frequent regular-file paths (redacted), most first.
    pub top_files: Vec<(String, u64)>,
    pub deleted: u64,
    pub pipes: u64,
    /// Anon inodes by kind: eventfd, epoll, timerfd, inotify, signalfd, other.
    pub anon: BTreeMap<String, u64>,
    /// Anything else (namespaces, `/dev/...` are files).
    pub other: u64,
}

/// A TCP state's name (include/net/tcp_states.h).
pub fn tcp_state_name(st: u8) -> &'static str {
    match st {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        TCP_CLOSE_WAIT => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        _ => "UNKNOWN",
    }
}

fn anon_kind(name: &str) -> &'static str {
    match name.trim_matches(['[', ']']) {
        "eventfd" => "eventfd",
        "eventpoll" => "epoll",
        "timerfd" => "timerfd",
        "inotify" => "inotify",
        "signalfd" => "signalfd",
        _ => "other",
    }
}

fn top(map: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(TOP);
    v
}

/// Classify `links` (link targets); `tcp` is the process's namespace's TCP sockets by inode, as
/// [`super::proc_net_tcp::parse_sockets`] reads them, `None` when they could not be read.
pub fn classify<'a>(
    links: impl IntoIterator<Item = &'a str>,
    tcp: Option<&BTreeMap<u64, TcpSocket>>,
) -> FdTable {
    let mut t = FdTable {
        tcp_read: tcp.is_some(),
        ..FdTable::default()
    };
    let mut files: BTreeMap<String, u64> = BTreeMap::new();
    let mut peers: BTreeMap<String, u64> = BTreeMap::new();
    let mut locals: BTreeMap<String, u64> = BTreeMap::new();
    for link in links {
        t.total += 1;
        if let Some(ino) = socket_inode(link) {
            match tcp.and_then(|tcp| tcp.get(&ino)) {
                Some(s) => {
                    *t.tcp.entry(tcp_state_name(s.state).to_string()).or_default() += 1;
                    if s.state == TCP_CLOSE_WAIT {
                        *peers.entry(s.remote.to_string()).or_default() += 1;
                        *locals.entry(s.local.to_string()).or_default() += 1;
                    }
                }
                None => t.other_sockets += 1,
            }
        } else if link.starts_with("pipe:[") {
            t.pipes += 1;
        } else if let Some(kind) = link.strip_prefix("anon_inode:") {
            *t.anon.entry(anon_kind(kind).to_string()).or_default() += 1;
        } else if link == RECORDED_FILE {
            // A snapshot's stand-in for a path it does not keep.
            t.files += 1;
        } else if link.starts_with('/') {
            if link.ends_with(" (deleted)") {
                t.deleted += 1;
            } else {
                t.files += 1;
                *files.entry(crate::redact::redact_arg(link)).or_default() += 1;
            }
        } else {
            t.other += 1;
        }
    }
    t.top_files = top(files);
    t.close_wait_peers = top(peers);
    t.close_wait_locals = top(locals);
    t
}

/// JSON: `{"total", "breakdown", "tcp": {STATE: n}, "close_wait_peers": [{"endpoint", "count"}],
/// "other_sockets", "files", "top_files": [{"path", "count"}], "deleted", "pipes", "anon": {KIND: n},
/// "other"}`; the classes (tcp's states summed, anon's kinds summed) sum to `total`.
impl serde::Serialize for FdTable {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let pairs = |v: &[(String, u64)], key: &'static str| -> Vec<serde_json::Value> {
            v.iter()
                .map(|(k, n)| serde_json::json!({ key: k, "count": n }))
                .collect()
        };
        let mut m = ser.serialize_map(Some(11))?;
        m.serialize_entry("total", &self.total)?;
        m.serialize_entry("breakdown", &self.breakdown())?;
        m.serialize_entry("tcp", &self.tcp)?;
        m.serialize_entry("close_wait_peers", &pairs(&self.close_wait_peers, "endpoint"))?;
        m.serialize_entry("other_sockets", &self.other_sockets)?;
        m.serialize_entry("files", &self.files)?;
        m.serialize_entry("top_files", &pairs(&self.top_files, "path"))?;
        m.serialize_entry("deleted", &self.deleted)?;
        m.serialize_entry("pipes", &self.pipes)?;
        m.serialize_entry("anon", &self.anon)?;
        m.serialize_entry("other", &self.other)?;
        m.end()
    }
}

impl FdTable {
    pub fn tcp_total(&self) -> u64 {
        self.tcp.values().fold(0u64, |a, n| a.saturating_add(*n))
    }

    pub fn close_wait(&self) -> u64 {
        self.tcp.get("CLOSE_WAIT").copied().unwrap_or(0)
    }

    pub fn anon_total(&self) -> u64 {
        self.anon.values().fold(0u64, |a, n| a.saturating_add(*n))
    }

    /// A server's leak: most CLOSE_WAIT sockets on one local endpoint while no remote one holds half
    /// (clients connect from ports of their own). The local endpoint and its count.
    fn server_side(&self) -> Option<(&str, u64)> {
        let cw = self.close_wait();
        let remote = self.close_wait_peers.first().map_or(0, |p| p.1);
        let (local, n) = self.close_wait_locals.first()?;
        (remote.saturating_mul(2) < cw && n.saturating_mul(2) >= cw).then_some((local.as_str(), *n))
    }

    /// The top CLOSE_WAIT peers: `127.0.0.1:5432 (228), 10.0.0.2:443 (3)`; for a server's leak, whose
    /// peers are scattered client ports, `clients of 10.0.0.1:8080 (228)`.
    pub fn close_wait_peers_text(&self) -> String {
        if let Some((local, n)) = self.server_side() {
            return format!("clients of {local} ({n})");
        }
        let v: Vec<String> = self
            .close_wait_peers
            .iter()
            .map(|(p, n)| format!("{p} ({n})"))
            .collect();
        v.join(", ")
    }

    /// `243 fds: 230 TCP (228 CLOSE_WAIT to 127.0.0.1:5432), 10 files, 3 pipes`: classes largest
    /// first, empty ones left out.
    pub fn breakdown(&self) -> String {
        let classes = self.classes();
        if classes.is_empty() {
            format!("{} fds", self.total)
        } else {
            format!("{} fds: {classes}", self.total)
        }
    }

    /// The breakdown without its count: `230 TCP (228 CLOSE_WAIT to 127.0.0.1:5432), 10 files, 3
    /// pipes`; empty for an empty table.
    pub fn classes(&self) -> String {
        let mut parts: Vec<(u64, String)> = Vec::new();
        let tcp = self.tcp_total();
        if tcp > 0 {
            let mut states: Vec<(&str, u64)> = self.tcp.iter().map(|(s, n)| (s.as_str(), *n)).collect();
            states.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            let (st, n) = states[0];
            let detail = match (st, self.server_side(), self.close_wait_peers.first()) {
                ("CLOSE_WAIT", Some((local, _)), _) => format!("{n} CLOSE_WAIT from clients of {local}"),
                ("CLOSE_WAIT", None, Some((peer, _))) => format!("{n} CLOSE_WAIT to {peer}"),
                _ => format!("{n} {st}"),
            };
            parts.push((tcp, format!("{tcp} TCP ({detail})")));
        }
        if !self.tcp_read && self.other_sockets > 0 {
            // Not told apart: say so rather than call TCP sockets "other".
            let n = self.other_sockets;
            parts.push((
                n,
                format!(
                    "{n} socket{} (TCP states not read)",
                    if n == 1 { "" } else { "s" }
                ),
            ));
        }
        let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        if self.files > 0 {
            // The top path only when it repeats: one fd of /dev/null says nothing.
            let head = self
                .top_files
                .first()
                .filter(|(_, n)| *n > 1)
                .map(|(p, n)| format!(" ({n} of {p})"))
                .unwrap_or_default();
            parts.push((
                self.files,
                format!("{}{head}", plural(self.files, "file", "files")),
            ));
        }
        let other_sockets = if self.tcp_read { self.other_sockets } else { 0 };
        for (n, one, many) in [
            (self.deleted, "deleted file", "deleted files"),
            (other_sockets, "other socket", "other sockets"),
            (self.pipes, "pipe", "pipes"),
            (self.other, "other", "other"),
        ] {
            if n > 0 {
                parts.push((n, plural(n, one, many)));
            }
        }
        for (kind, n) in &self.anon {
            parts.push((*n, format!("{n} {kind}")));
        }
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        let list: Vec<String> = parts.into_iter().map(|(_, s)| s).collect();
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(state: u8, local: &str, remote: &str) -> TcpSocket {
        TcpSocket {
            state,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
        }
    }

    fn tcp() -> BTreeMap<u64, TcpSocket> {
        let mut m = BTreeMap::new();
        for ino in 100..328 {
            m.insert(
                ino,
                sock(
                    TCP_CLOSE_WAIT,
                    &format!("10.0.0.1:{}", 40000 + ino),
                    "127.0.0.1:5432",
                ),
            );
        }
        m.insert(400, sock(TCP_CLOSE_WAIT, "10.0.0.1:39000", "10.0.0.2:443"));
        m.insert(401, sock(0x01, "10.0.0.1:39001", "10.0.0.2:443"));
        m.insert(402, sock(0x0A, "0.0.0.0:8080", "0.0.0.0:0"));
        m
    }

    #[test]
    fn classifies_real_link_names() {
        let mut links: Vec<String> = (100..328).map(|i| format!("socket:[{i}]")).collect();
        links.extend(
            [
                "socket:[400]",
                "socket:[401]",
                "socket:[402]",
                "socket:[999]",
                "pipe:[5501]",
                "pipe:[5501]",
                "pipe:[5502]",
                "anon_inode:[eventpoll]",
                "anon_inode:[eventfd]",
                "anon_inode:[timerfd]",
                "anon_inode:inotify",
                "anon_inode:[signalfd]",
                "anon_inode:[pidfd]",
                "/var/log/app.log",
                "/var/log/app.log",
                "/dev/null",
                "/tmp/x (deleted)",
                "net:[4026531840]",
            ]
            .map(String::from),
        );
        let t = classify(links.iter().map(String::as_str), Some(&tcp()));
        assert_eq!(t.total, 246);
        assert_eq!(t.tcp_total(), 231);
        assert_eq!(t.close_wait(), 229);
        assert_eq!(t.tcp["ESTABLISHED"], 1);
        assert_eq!(t.tcp["LISTEN"], 1);
        assert_eq!(t.close_wait_peers[0], ("127.0.0.1:5432".to_string(), 228));
        assert_eq!(
            t.close_wait_peers_text(),
            "127.0.0.1:5432 (228), 10.0.0.2:443 (1)"
        );
        assert_eq!(t.other_sockets, 1);
        assert_eq!(t.pipes, 3);
        assert_eq!(t.files, 3);
        assert_eq!(t.top_files[0], ("/var/log/app.log".to_string(), 2));
        assert_eq!(t.deleted, 1);
        assert_eq!(t.other, 1);
        for k in ["epoll", "eventfd", "timerfd", "inotify", "signalfd"] {
            assert_eq!(t.anon[k], 1, "{k}");
        }
        assert_eq!(t.anon["other"], 1);
        let sum = t.tcp_total() + t.other_sockets + t.files + t.deleted + t.pipes + t.anon_total() + t.other;
        assert_eq!(sum, t.total);
        assert!(
            t.breakdown()
                .starts_with("246 fds: 231 TCP (229 CLOSE_WAIT to 127.0.0.1:5432), 3 files (2 of /var/log/app.log), 3 pipes"),
            "{}",
            t.breakdown()
        );
    }

    #[test]
    fn redacts_paths_and_reads_established() {
        let mut m = BTreeMap::new();
        m.insert(7, sock(0x01, "127.0.0.1:40000", "127.0.0.1:80"));
        let t = classify(["socket:[7]", "/srv/db/password=hunter2"], Some(&m));
        assert_eq!(t.breakdown(), "2 fds: 1 TCP (1 ESTABLISHED), 1 file");
        assert_eq!(t.top_files, vec![("/srv/db/password=[REDACTED]".to_string(), 1)]);
        assert_eq!(t.close_wait(), 0);
        assert!(t.close_wait_peers.is_empty());
    }

    #[test]
    fn empty() {
        assert_eq!(classify([], Some(&BTreeMap::new())).breakdown(), "0 fds");
    }

    #[test]
    fn a_server_that_does_not_close_is_named_by_its_own_endpoint() {
        // 60 clients closed their connections to 10.0.0.1:8080 from ports of their own.
        let mut m = BTreeMap::new();
        for ino in 1..=60u64 {
            m.insert(
                ino,
                sock(
                    TCP_CLOSE_WAIT,
                    "10.0.0.1:8080",
                    &format!("10.0.0.9:{}", 50000 + ino),
                ),
            );
        }
        let links: Vec<String> = (1..=60).map(|i| format!("socket:[{i}]")).collect();
        let t = classify(links.iter().map(String::as_str), Some(&m));
        assert_eq!(t.close_wait(), 60);
        assert_eq!(t.close_wait_peers_text(), "clients of 10.0.0.1:8080 (60)");
        assert_eq!(
            t.breakdown(),
            "60 fds: 60 TCP (60 CLOSE_WAIT from clients of 10.0.0.1:8080)"
        );
    }

    #[test]
    fn without_the_tcp_tables_sockets_are_not_called_other() {
        let t = classify(["socket:[1]", "socket:[2]", "pipe:[3]"], None);
        assert!(!t.tcp_read);
        assert_eq!(t.close_wait(), 0);
        assert_eq!(t.breakdown(), "3 fds: 2 sockets (TCP states not read), 1 pipe");
    }
}
