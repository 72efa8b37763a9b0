//! `/proc/net/tcp` and `/proc/net/tcp6`: the socket inodes of listening TCP sockets.
//!
//! Each line after the header is `sl local_address rem_address st tx_queue:rx_queue tr:tm->when
//! retrnsmt uid timeout inode ...` (net/ipv4/tcp_ipv4.c, get_tcp4_sock / get_openreq4 / get_timewait4_sock);
//! `st` is the TCP state in hex, `0A` = TCP_LISTEN. The inode is what `/proc/PID/fd/N` shows as
//! `socket:[INODE]`, so matching the two names the processes that listen. The tables are per network
//! namespace: `/proc/net/tcp` is the reader's namespace, `/proc/PID/net/tcp` the process's.

use std::collections::BTreeMap;

/// TCP_LISTEN in include/net/tcp_states.h.
pub const TCP_LISTEN: u8 = 0x0A;

/// A listening socket: its inode and local port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub inode: u64,
    pub port: u16,
}

/// The listening sockets of one table, by inode. Lines that do not parse are skipped and counted.
pub fn parse_listeners(text: &str) -> (BTreeMap<u64, Listener>, usize) {
    let mut out = BTreeMap::new();
    let mut bad = 0;
    for line in text.lines().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Some(Some(l)) => {
                out.insert(l.inode, l);
            }
            Some(None) => {}
            None => bad += 1,
        }
    }
    (out, bad)
}

/// `Some(Some(listener))` for a LISTEN line, `Some(None)` for another state, `None` when malformed.
fn parse_line(line: &str) -> Option<Option<Listener>> {
    let mut w = line.split_ascii_whitespace();
    let _sl = w.next()?;
    let local = w.next()?;
    let _remote = w.next()?;
    let state = u8::from_str_radix(w.next()?, 16).ok()?;
    // tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, then the inode.
    let inode: u64 = w.nth(5)?.parse().ok()?;
    let port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
    Some((state == TCP_LISTEN && inode != 0).then_some(Listener { inode, port }))
}

/// `socket:[12345]` -> 12345.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured on the project VM (Linux 6.18) with `nc -l 8080` and one established ssh session.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 48213 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0016 0100007F:D2A4 01 00000000:00000000 02:0009A3C1 00000000     0        0 51230 2 0000000000000000 20 4 30 10 -1
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77001 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn listeners_by_inode() {
        let (l, bad) = parse_listeners(TCP);
        assert_eq!(bad, 0);
        assert_eq!(l.len(), 1);
        assert_eq!(
            l[&48213],
            Listener {
                inode: 48213,
                port: 8080
            }
        );
        let (l6, _) = parse_listeners(TCP6);
        assert_eq!(l6[&77001].port, 80);
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let (l, bad) = parse_listeners("header\nnonsense line\n   0: 00000000:1F90 00000000:0000 0A x\n");
        assert!(l.is_empty());
        assert_eq!(bad, 2);
        assert_eq!(parse_listeners("").0.len(), 0);
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode("socket:[48213]"), Some(48213));
        assert_eq!(socket_inode("pipe:[48213]"), None);
        assert_eq!(socket_inode("/tmp/x"), None);
    }
}
