//! `/proc/net/tcp` and `/proc/net/tcp6`: the listening TCP sockets, their inodes, local addresses and
//! accept queues; and every socket's state and remote endpoint by inode ([`parse_sockets`], for the fd
//! tables of [`super::fd_table`]).
//!
//! Each line after the header is `sl local_address rem_address st tx_queue:rx_queue tr:tm->when
//! retrnsmt uid timeout inode ...` (net/ipv4/tcp_ipv4.c, get_tcp4_sock / get_openreq4 / get_timewait4_sock);
//! `st` is the TCP state in hex, `0A` = TCP_LISTEN. The inode is what `/proc/PID/fd/N` shows as
//! `socket:[INODE]`, so matching the two names the processes that listen. The tables are per network
//! namespace: `/proc/net/tcp` is the reader's namespace, `/proc/PID/net/tcp` the process's.
//!
//! For a LISTEN socket `rx_queue` is `sk_ack_backlog`, the connections completed and waiting for
//! accept() now (get_tcp4_sock); its limit, `sk_max_ack_backlog`, is not in these files (sock_diag
//! has it, see [`super::sock_diag`]). Addresses are printed as the kernel's native-endian 32-bit words
//! of the network-order address (`%08X`): `0100007F` is 127.0.0.1 on a little-endian host.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP_LISTEN in include/net/tcp_states.h.
pub const TCP_LISTEN: u8 = 0x0A;

/// A listening socket: its inode, local address and port, and its accept queue now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub inode: u64,
    pub address: IpAddr,
    pub port: u16,
    /// Connections waiting for accept() (`rx_queue` of a LISTEN line: sk_ack_backlog).
    pub queue: u32,
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
    let queues = w.next()?;
    let queue = u32::from_str_radix(queues.split_once(':')?.1, 16).ok()?;
    // tr:tm->when, retrnsmt, uid, timeout, then the inode.
    let inode: u64 = w.nth(4)?.parse().ok()?;
    let (addr, port) = local.rsplit_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let address = parse_address(addr)?;
    Some((state == TCP_LISTEN && inode != 0).then_some(Listener {
        inode,
        address,
        port,
        queue,
    }))
}

/// `0100007F` (IPv4) or 32 hex digits (IPv6): native-endian 32-bit words of the network-order address.
fn parse_address(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            let v6 = Ipv6Addr::from(b);
            Some(IpAddr::V6(v6))
        }
        _ => None,
    }
}

/// TCP_CLOSE_WAIT in include/net/tcp_states.h: the peer closed, the local application has not.
pub const TCP_CLOSE_WAIT: u8 = 0x08;

/// One socket of /proc/net/tcp{,6}.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    /// include/net/tcp_states.h: [`TCP_CLOSE_WAIT`], [`TCP_LISTEN`], ...
    pub state: u8,
    pub local: std::net::SocketAddr,
    pub remote: std::net::SocketAddr,
}

/// Every socket of one table, by inode: its state and endpoints. Lines that do not parse are
/// skipped and counted; sockets with inode 0 (TIME_WAIT, request sockets: no fd holds them) are left
/// out.
pub fn parse_sockets(text: &str) -> (BTreeMap<u64, TcpSocket>, usize) {
    let mut out = BTreeMap::new();
    let mut bad = 0;
    let endpoint = |field: &str| -> Option<std::net::SocketAddr> {
        let (addr, port) = field.rsplit_once(':')?;
        let port = u16::from_str_radix(port, 16).ok()?;
        Some(std::net::SocketAddr::new(parse_address(addr)?, port))
    };
    for line in text.lines().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = (|| {
            let mut w = line.split_ascii_whitespace();
            let _sl = w.next()?;
            let local = endpoint(w.next()?)?;
            let remote = endpoint(w.next()?)?;
            let state = u8::from_str_radix(w.next()?, 16).ok()?;
            let inode: u64 = w.nth(5)?.parse().ok()?;
            Some((inode, TcpSocket { state, local, remote }))
        })();
        match parsed {
            Some((0, _)) => {}
            Some((inode, socket)) => {
                out.insert(inode, socket);
            }
            None => bad += 1,
        }
    }
    (out, bad)
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
                address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                port: 8080,
                queue: 0,
            }
        );
        let (l6, _) = parse_listeners(TCP6);
        assert_eq!(l6[&77001].port, 80);
        assert_eq!(l6[&77001].address, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn addresses_and_a_full_accept_queue() {
        // The net-listen-overflow fixture's listener: 127.0.0.1:5202 with 2 connections waiting
        // (listen(1) never accepted); ::1 port 22 with none.
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1452 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 90412 1 0000000000000000 100 0 0 10 0
";
        let (l, _) = parse_listeners(text);
        let l = l[&90412];
        assert_eq!(
            (l.address, l.port, l.queue),
            ("127.0.0.1".parse().unwrap(), 5202, 2)
        );
        let six = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
";
        let (l6, _) = parse_listeners(six);
        assert_eq!(l6[&1234].address, "::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn sockets_with_state_and_remote_endpoint() {
        // A client's socket in CLOSE_WAIT to 127.0.0.1:5432, a listener (remote 0.0.0.0:0), a
        // TIME_WAIT socket (inode 0: no fd holds it), and a malformed line.
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:D431 0100007F:1538 08 00000000:00000000 00:00000000 00000000  1000        0 77001 1 0000000000000000 20 4 30 10 -1
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 48213 1 0000000000000000 100 0 0 10 0
   2: 0100007F:D432 0100007F:1538 06 00000000:00000000 03:00000DA2 00000000     0        0 0 3 0000000000000000
   3: garbage
";
        let (s, bad) = parse_sockets(text);
        assert_eq!(bad, 1);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[&77001],
            TcpSocket {
                state: TCP_CLOSE_WAIT,
                local: "127.0.0.1:54321".parse().unwrap(),
                remote: "127.0.0.1:5432".parse().unwrap(),
            }
        );
        assert_eq!(s[&48213].state, TCP_LISTEN);
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
