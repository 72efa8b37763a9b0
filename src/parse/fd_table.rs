//! What a process's descriptors are: its /proc/PID/fd link targets classified (regular files, deleted
//! files, TCP sockets by state joined through the socket inode with /proc/PID/net/tcp{,6}, other
//! sockets, pipes, anon inodes by kind), and the one-line breakdown findings quote.
//!
//! Link targets as the kernel prints them (fs/d_path.c, fs/anon_inodes.c): `/path`, `/path (deleted)`,
//! `socket:[INODE]`, `pipe:[INODE]`, `anon_inode:[eventpoll]`, `anon_inode:[eventfd]`,
//! `anon_inode:[timerfd]`, `anon_inode:inotify`, `anon_inode:[signalfd]`, `anon_inode:[pidfd]`, ...

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::proc_net_tcp::{TCP_CLOSE_WAIT, socket_inode};

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
    /// Sockets not in the TCP tables: UDP, unix, netlink, ...
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

/// Classify `links` (link targets); `tcp` is the process's namespace's TCP sockets by inode (state,
/// remote endpoint), as [`super::proc_net_tcp::parse_sockets`] reads them.
pub fn classify<'a>(
    links: impl IntoIterator<Item = &'a str>,
    tcp: &BTreeMap<u64, (u8, SocketAddr)>,
) -> FdTable {
    let mut t = FdTable::default();
    let mut files: BTreeMap<String, u64> = BTreeMap::new();
    let mut peers: BTreeMap<String, u64> = BTreeMap::new();
    for link in links {
        t.total += 1;
        if let Some(ino) = socket_inode(link) {
            match tcp.get(&ino) {
                Some((st, remote)) => {
                    *t.tcp.entry(tcp_state_name(*st).to_string()).or_default() += 1;
                    if *st == TCP_CLOSE_WAIT {
                        *peers.entry(remote.to_string()).or_default() += 1;
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
        self.tcp.values().sum()
    }

    pub fn close_wait(&self) -> u64 {
        self.tcp.get("CLOSE_WAIT").copied().unwrap_or(0)
    }

    pub fn anon_total(&self) -> u64 {
        self.anon.values().sum()
    }

    /// The top CLOSE_WAIT peers: `127.0.0.1:5432 (228), 10.0.0.2:443 (3)`.
    pub fn close_wait_peers_text(&self) -> String {
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
            let detail = match (st, self.close_wait_peers.first()) {
                ("CLOSE_WAIT", Some((peer, _))) => format!("{n} CLOSE_WAIT to {peer}"),
                _ => format!("{n} {st}"),
            };
            parts.push((tcp, format!("{tcp} TCP ({detail})")));
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
        for (n, one, many) in [
            (self.deleted, "deleted file", "deleted files"),
            (self.other_sockets, "other socket", "other sockets"),
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

    fn tcp() -> BTreeMap<u64, (u8, SocketAddr)> {
        let db: SocketAddr = "127.0.0.1:5432".parse().unwrap();
        let web: SocketAddr = "10.0.0.2:443".parse().unwrap();
        let mut m = BTreeMap::new();
        for ino in 100..328 {
            m.insert(ino, (TCP_CLOSE_WAIT, db));
        }
        m.insert(400, (TCP_CLOSE_WAIT, web));
        m.insert(401, (0x01, web));
        m.insert(402, (0x0A, "0.0.0.0:0".parse().unwrap()));
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
        let t = classify(links.iter().map(String::as_str), &tcp());
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
        m.insert(7, (0x01, "127.0.0.1:80".parse().unwrap()));
        let t = classify(["socket:[7]", "/srv/db/password=hunter2"], &m);
        assert_eq!(t.breakdown(), "2 fds: 1 TCP (1 ESTABLISHED), 1 file");
        assert_eq!(t.top_files, vec![("/srv/db/password=[REDACTED]".to_string(), 1)]);
        assert_eq!(t.close_wait(), 0);
        assert!(t.close_wait_peers.is_empty());
    }

    #[test]
    fn empty() {
        assert_eq!(classify([], &BTreeMap::new()).breakdown(), "0 fds");
    }
}
