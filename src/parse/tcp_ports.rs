//! `/proc/net/tcp` and `/proc/net/tcp6` seen for local ports: which ports of
//! `/proc/sys/net/ipv4/ip_local_port_range` are held by connections, and to where.
//!
//! Each line after the header is `sl local_address rem_address st ...` (net/ipv4/tcp_ipv4.c,
//! get_tcp4_sock and get_timewait4_sock); an address is the `__be32` (or four for IPv6) printed as
//! host-order hex words, then `:PORT` in hex. `st` is the state of include/net/tcp_states.h.
//!
//! Tallied as the file streams by, without keeping a table: a busy proxy has hundreds of thousands of
//! sockets, and procfs-core's `TcpNetEntries` keeps every one and fails as a whole on a single odd line.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// TCP states of include/net/tcp_states.h that matter here.
const TCP_TIME_WAIT: u8 = 0x06;
const TCP_LISTEN: u8 = 0x0A;

/// At most this many distinct destinations are counted (each new one beyond is counted in
/// [`PortTally::destinations_dropped`]): a scan of a million clients must not hold a million strings.
pub const MAX_DESTINATIONS: usize = 10_000;

/// The local ports of the ephemeral range in use, tallied over one or more tables.
#[derive(Debug, Clone)]
pub struct PortTally {
    pub range: (u16, u16),
    /// One bit per port of the range: held by at least one socket.
    used: Vec<u64>,
    /// Sockets on a port of the range: TIME_WAIT, and every other state but LISTEN.
    pub time_wait: u64,
    pub connected: u64,
    /// Sockets on a port of the range by remote `address:port`.
    pub destinations: HashMap<String, u64>,
    pub destinations_dropped: u64,
    /// Lines that did not parse.
    pub bad_lines: u64,
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
        }
    }

    /// The number of ports in the range (both ends included).
    pub fn range_size(&self) -> u64 {
        u64::from(self.range.1.saturating_sub(self.range.0)) + 1
    }

    /// Distinct ports of the range held by a socket.
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
            match parse_line(line) {
                Some((port, _, TCP_LISTEN)) => {
                    if let Some(bit) = t.bit(port) {
                        listening[bit / 64] |= 1 << (bit % 64);
                    }
                }
                Some(_) => {}
                None => t.bad_lines += 1,
            }
        }
        for entry in rows().filter_map(parse_line) {
            let Some(bit) = t.bit(entry.0) else { continue };
            if listening[bit / 64] & (1 << (bit % 64)) == 0 {
                t.add(entry);
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

    fn add(&mut self, (local_port, remote, state): (u16, String, u8)) {
        if state == TCP_LISTEN || local_port < self.range.0 || local_port > self.range.1 {
            return;
        }
        let bit = usize::from(local_port - self.range.0);
        self.used[bit / 64] |= 1 << (bit % 64);
        if state == TCP_TIME_WAIT {
            self.time_wait += 1;
        } else {
            self.connected += 1;
        }
        if let Some(n) = self.destinations.get_mut(&remote) {
            *n += 1;
        } else if self.destinations.len() < MAX_DESTINATIONS {
            self.destinations.insert(remote, 1);
        } else {
            self.destinations_dropped += 1;
        }
    }

    /// The `n` destinations with most sockets, most first (ties by name, so the order is stable).
    pub fn top_destinations(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self.destinations.iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
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

/// (local port, remote "address:port", state), or `None` for a malformed line.
fn parse_line(line: &str) -> Option<(u16, String, u8)> {
    let mut w = line.split_ascii_whitespace();
    let _sl = w.next()?;
    let local = w.next()?;
    let remote = w.next()?;
    let state = u8::from_str_radix(w.next()?, 16).ok()?;
    let local_port = u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()?;
    Some((local_port, endpoint(remote)?, state))
}

/// `0100007F:1538` -> `127.0.0.1:5432`; an IPv4-mapped IPv6 address prints as IPv4.
fn endpoint(hex: &str) -> Option<String> {
    let (addr, port) = hex.split_once(':')?;
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
    match addr.len() {
        8 => Some(format!("{}:{port}", Ipv4Addr::from(word(addr)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(&addr[i * 8..i * 8 + 8])?);
            }
            let ip = Ipv6Addr::from(bytes);
            Some(match ip.to_ipv4_mapped() {
                Some(v4) => format!("{v4}:{port}"),
                None => format!("[{ip}]:{port}"),
            })
        }
        _ => None,
    }
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
    fn destinations_are_capped() {
        let mut t = PortTally::new((1, 65535));
        for i in 0..(MAX_DESTINATIONS + 5) {
            t.add((1000, format!("10.0.0.1:{i}"), 1));
        }
        assert_eq!(t.destinations.len(), MAX_DESTINATIONS);
        assert_eq!(t.destinations_dropped, 5);
    }
}
