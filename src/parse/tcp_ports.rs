//! `/proc/net/tcp` and `/proc/net/tcp6` seen for local ports: which ports of
//! `/proc/sys/net/ipv4/ip_local_port_range` are held by connections, and to where.
//!
//! Each line after the header is `sl local_address rem_address st ...` (net/ipv4/tcp_ipv4.c,
//! get_tcp4_sock and get_timewait4_sock); an address is the `__be32` (or four for IPv6) printed as
//! host-order hex words, then `:PORT` in hex. `st` is the state of include/net/tcp_states.h.
//!
//! Tallied line by line into counts per port and per destination, not kept as a table: a busy proxy
//! has hundreds of thousands of sockets, and procfs-core's `TcpNetEntries` keeps every one and fails
//! as a whole on a single odd line.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// TCP states of include/net/tcp_states.h that matter here.
const TCP_TIME_WAIT: u8 = 0x06;
const TCP_LISTEN: u8 = 0x0A;

/// At most this many distinct destinations are counted (each new one beyond is counted in
/// [`PortTally::destinations_dropped`]): a scan of a million clients must not hold a million entries.
pub const MAX_DESTINATIONS: usize = 10_000;

/// The sockets on ephemeral ports toward one remote endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Destination {
    pub connected: u64,
    pub time_wait: u64,
}

/// `net.ipv4.tcp_tw_reuse` (Documentation/networking/ip-sysctl.rst): "Enable reuse of TIME-WAIT
/// sockets for new connections when it is safe from protocol viewpoint. 0 - disable, 1 - global
/// enable, 2 - enable for loopback traffic only". Default 2.
pub fn time_wait_reusable(tw_reuse: Option<u8>, destination: &SocketAddr) -> bool {
    match tw_reuse {
        Some(1) => true,
        Some(2) => destination.ip().is_loopback(),
        _ => false,
    }
}

/// The local ports of the ephemeral range in use, tallied over the tables of one namespace.
#[derive(Debug, Clone)]
pub struct PortTally {
    pub range: (u16, u16),
    /// One bit per port of the range: held by at least one socket.
    used: Vec<u64>,
    /// Sockets on a port of the range: TIME_WAIT, and every other state but LISTEN.
    pub time_wait: u64,
    pub connected: u64,
    /// Sockets on a port of the range by remote endpoint.
    pub destinations: HashMap<SocketAddr, Destination>,
    pub destinations_dropped: u64,
    /// Lines that did not parse.
    pub bad_lines: u64,
    /// The tables were not read: the namespace has at most this many TCP sockets (sockstat), too
    /// few to hold half the range (see [`PortTally::bounded`]).
    pub at_most: Option<u64>,
}

impl PortTally {
    pub fn new(range: (u16, u16)) -> PortTally {
        let size = usize::from(range.1.saturating_sub(range.0)) + 1;
        PortTally {
            range,
            used: vec![0; size.div_ceil(64)],
            time_wait: 0,
            connected: 0,
            destinations: HashMap::new(),
            destinations_dropped: 0,
            bad_lines: 0,
            at_most: None,
        }
    }

    /// Whether `sockets` (sockstat's TCP `inuse` plus `tw` of the namespace: every socket that could
    /// hold a port) could hold half the range; when not, the tables need not be read: reading
    /// /proc/net/tcp walks the kernel's whole established hash, a cost on every run of a quiet host.
    pub fn worth_reading(range: (u16, u16), sockets: u64) -> bool {
        let size = u64::from(range.1.saturating_sub(range.0)) + 1;
        sockets * 2 >= size
    }

    /// A tally not taken: at most `sockets` ports are held, toward any destination.
    pub fn bounded(range: (u16, u16), sockets: u64) -> PortTally {
        PortTally {
            at_most: Some(sockets),
            ..PortTally::new(range)
        }
    }

    /// The number of ports in the range (both ends included).
    pub fn range_size(&self) -> u64 {
        u64::from(self.range.1.saturating_sub(self.range.0)) + 1
    }

    /// Distinct ports of the range held by a socket: what a program that bind()s before connect()
    /// draws from (each such socket needs a port of its own).
    pub fn ports_used(&self) -> u64 {
        self.used.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Tally the tables of one namespace (`/proc/net/tcp` and `/proc/net/tcp6`) together. A port
    /// something listens on is a server's, even inside the range (a service on 40000): its accepted
    /// connections and their TIME_WAIT sockets took no ephemeral port and are not counted.
    pub fn tally(range: (u16, u16), tables: &[&str]) -> PortTally {
        let mut t = PortTally::new(range);
        let rows = || {
            tables
                .iter()
                .flat_map(|text| text.lines().skip(1))
                .filter(|line| !line.trim().is_empty())
        };
        let mut listening = vec![0u64; t.used.len()];
        for line in rows() {
            match port_and_state(line) {
                Some((port, TCP_LISTEN)) => {
                    if let Some(bit) = t.bit(port) {
                        listening[bit / 64] |= 1 << (bit % 64);
                    }
                }
                Some(_) => {}
                None => t.bad_lines += 1,
            }
        }
        for line in rows() {
            let Some((port, state)) = port_and_state(line) else {
                continue;
            };
            let Some(bit) = t.bit(port) else { continue };
            if state == TCP_LISTEN || listening[bit / 64] & (1 << (bit % 64)) != 0 {
                continue;
            }
            // Only the sockets on an ephemeral port pay for decoding the remote address.
            match remote(line) {
                Some(to) => t.add(bit, to, state),
                None => t.bad_lines += 1,
            }
        }
        t
    }

    /// The bit of a port in the range.
    fn bit(&self, port: u16) -> Option<usize> {
        (self.range.0..=self.range.1)
            .contains(&port)
            .then(|| usize::from(port - self.range.0))
    }

    fn add(&mut self, bit: usize, to: SocketAddr, state: u8) {
        self.used[bit / 64] |= 1 << (bit % 64);
        let time_wait = state == TCP_TIME_WAIT;
        if time_wait {
            self.time_wait += 1;
        } else {
            self.connected += 1;
        }
        let full = self.destinations.len() >= MAX_DESTINATIONS;
        let entry = match self.destinations.entry(to) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(_) if full => {
                self.destinations_dropped += 1;
                return;
            }
            std::collections::hash_map::Entry::Vacant(e) => e.insert(Destination::default()),
        };
        if time_wait {
            entry.time_wait += 1;
        } else {
            entry.connected += 1;
        }
    }

    /// The destination toward which most ports are held, with those ports: connect() may give one
    /// local port to connections toward different destinations, so the range binds per
    /// destination; TIME_WAIT sockets that tcp_tw_reuse lets a new connection take over hold none.
    pub fn busiest(&self, tw_reuse: Option<u8>) -> Option<(SocketAddr, u64, Destination)> {
        self.destinations
            .iter()
            .map(|(to, d)| {
                let time_wait = if time_wait_reusable(tw_reuse, to) {
                    0
                } else {
                    d.time_wait
                };
                (
                    *to,
                    d.connected + time_wait,
                    Destination {
                        connected: d.connected,
                        time_wait,
                    },
                )
            })
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
    }

    /// The `n` destinations with most sockets, most first (ties by address, so the order is stable).
    pub fn top_destinations(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(SocketAddr, u64)> = self
            .destinations
            .iter()
            .map(|(k, d)| (*k, d.connected + d.time_wait))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all.into_iter().map(|(to, count)| (show(&to), count)).collect()
    }
}

/// `127.0.0.1:5432`, `[::1]:80`; an IPv4-mapped IPv6 address as IPv4.
pub fn show(to: &SocketAddr) -> String {
    match to.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("{v4}:{}", to.port()),
            None => to.to_string(),
        },
        IpAddr::V4(_) => to.to_string(),
    }
}

/// `/proc/sys/net/ipv4/ip_local_port_range`: "32768\t60999".
pub fn parse_port_range(text: &str) -> Result<(u16, u16), String> {
    let mut w = text.split_whitespace();
    let (Some(low), Some(high), None) = (w.next(), w.next(), w.next()) else {
        return Err(format!("expected two ports, got {:?}", text.trim()));
    };
    let port = |s: &str| s.parse::<u16>().map_err(|_| format!("not a port: {s:?}"));
    let (low, high) = (port(low)?, port(high)?);
    if low > high {
        return Err(format!("the range {low}-{high} is empty"));
    }
    Ok((low, high))
}

/// (local port, state) of a line, or `None` when malformed.
fn port_and_state(line: &str) -> Option<(u16, u8)> {
    let mut w = line.split_ascii_whitespace();
    let _sl = w.next()?;
    let local = w.next()?;
    let _remote = w.next()?;
    let state = u8::from_str_radix(w.next()?, 16).ok()?;
    let port = u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()?;
    Some((port, state))
}

/// The remote endpoint of a line.
fn remote(line: &str) -> Option<SocketAddr> {
    endpoint(line.split_ascii_whitespace().nth(2)?)
}

/// `0100007F:1538` -> 127.0.0.1:5432. Works on bytes: a damaged line (a sosreport's, with a
/// replacement character) must not cut a character in two.
fn endpoint(hex: &str) -> Option<SocketAddr> {
    let (addr, port) = hex.split_once(':')?;
    if !addr.is_ascii() {
        return None;
    }
    let port = u16::from_str_radix(port, 16).ok()?;
    // Each 32-bit word was printed as a number in the host's byte order.
    let word = |s: &str| -> Option<[u8; 4]> {
        let v = u32::from_str_radix(s, 16).ok()?;
        Some(if cfg!(target_endian = "little") {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        })
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(addr)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(&addr[i * 8..i * 8 + 8])?);
            }
            // A v4-mapped address is an IPv4 connection made from an IPv6 socket: the same
            // 4-tuples, the same ports.
            let v6 = Ipv6Addr::from(bytes);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured on the project VM (Linux 6.18): a listener on 5432, two connections to it from
    // ephemeral ports 40000 and 40001, one of them closed (TIME_WAIT), and ssh on 22.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 48213 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C40 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 51230 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:9C41 0100007F:1538 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   3: 0100007F:1538 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 51231 1 0000000000000000 20 4 30 10 -1
   4: 0A00020F:0016 0A000201:D2A4 01 00000000:00000000 02:0009A3C1 00000000     0        0 51232 2 0000000000000000 20 4 30 10 -1
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:9C42 0000000000000000FFFF00000100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 77001 1 0000000000000000 20 4 30 10 -1
   1: 00000000000000000000000001000000:9C40 00000000000000000000000001000000:0050 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
";

    #[test]
    fn ports_of_the_range_held_by_connections_and_time_wait() {
        let t = PortTally::tally((40000, 40099), &[TCP, TCP6]);
        assert_eq!(t.bad_lines, 0);
        assert_eq!(t.range_size(), 100);
        // 40000 (v4 established and v6 TIME_WAIT: one port), 40001, 40002. The listener and the
        // server side of the connection (5432) and ssh (22) are outside the range.
        assert_eq!(t.ports_used(), 3);
        assert_eq!((t.connected, t.time_wait), (2, 2));
        assert_eq!(
            t.top_destinations(5),
            vec![("127.0.0.1:5432".to_string(), 3), ("[::1]:80".to_string(), 1)]
        );
    }

    #[test]
    fn a_full_range_and_odd_input() {
        let t = PortTally::tally(
            (1, 65535),
            &["header\ngarbage\n   0: 0100007F:FFFF 0100007F:0050 01 x\n   1: zz:1 0:0 01\n"],
        );
        assert_eq!(t.range_size(), 65535);
        assert_eq!(t.bad_lines, 2);
        assert_eq!(t.ports_used(), 1);
        assert_eq!(parse_port_range("32768\t60999\n"), Ok((32768, 60999)));
        assert!(parse_port_range("60999 32768").is_err());
        assert!(parse_port_range("1").is_err());
        assert!(parse_port_range("1 70000").is_err());
    }

    #[test]
    fn the_tables_are_worth_reading_only_with_sockets_for_half_the_range() {
        assert!(!PortTally::worth_reading((32768, 60999), 14_115));
        assert!(PortTally::worth_reading((32768, 60999), 14_116));
        assert!(PortTally::worth_reading((40000, 40099), 92));
        let t = PortTally::bounded((40000, 40099), 12);
        assert_eq!((t.at_most, t.ports_used(), t.range_size()), (Some(12), 0, 100));
    }

    #[test]
    fn a_server_listening_inside_the_range_is_not_counted() {
        // A service on 40000 (0x9C40), listed after one of its accepted connections, and a client
        // connection from 40001 (0x9C41).
        let tcp = "  sl  local_address rem_address   st
   0: 0100007F:9C40 0A000005:D2A4 01 00000000:00000000
   1: 0100007F:9C40 0A000006:D2A5 06 00000000:00000000
   2: 00000000:9C40 00000000:0000 0A 00000000:00000000
   3: 0100007F:9C41 0100007F:1538 01 00000000:00000000
";
        let t = PortTally::tally((40000, 40099), &[tcp]);
        assert_eq!((t.ports_used(), t.connected, t.time_wait), (1, 1, 0));
        assert_eq!(t.top_destinations(3), [("127.0.0.1:5432".to_string(), 1)]);
    }

    #[test]
    fn a_damaged_address_is_a_bad_line_not_a_panic() {
        // A sosreport's tcp6 with a byte replaced by U+FFFD (3 bytes) inside the remote address.
        let tcp6 = "  sl  local_address remote_address st
   0: 0000000000000000FFFF00000100007F:9C42 0000000000000000FF\u{FFFD}F00000100007F:1538 01 0:0
";
        let t = PortTally::tally((40000, 40099), &[tcp6]);
        assert_eq!((t.bad_lines, t.ports_used()), (1, 0));
    }

    #[test]
    fn destinations_are_capped() {
        let mut t = PortTally::new((1, 65535));
        for i in 0..(MAX_DESTINATIONS + 5) {
            let to = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), i as u16);
            t.add(999, to, 1);
        }
        assert_eq!(t.destinations.len(), MAX_DESTINATIONS);
        assert_eq!(t.destinations_dropped, 5);
    }
}
