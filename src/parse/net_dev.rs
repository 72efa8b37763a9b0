//! Network interfaces: /proc/net/dev (procfs-core's parser), the default route's interface from
//! /proc/net/route, and the small /sys/class/net/IFACE attributes (`flags`, `operstate`, `carrier`).
//!
//! /proc/net/dev has two header lines, then `IFACE: rx_bytes rx_packets rx_errs rx_drop rx_fifo
//! rx_frame rx_compressed rx_multicast tx_bytes tx_packets tx_errs tx_drop tx_fifo tx_colls
//! tx_carrier tx_compressed` (net/core/net-procfs.c, dev_seq_printf_stats). Like all of /proc/net it
//! is the reader's network namespace.

use std::io::Cursor;

use procfs_core::FromBufRead;
use serde::{Deserialize, Serialize};

/// IFF_UP in include/uapi/linux/if.h: the interface is administratively up (`ip link set up`).
pub const IFF_UP: u32 = 0x1;

/// The cumulative counters of one interface since it was created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NicCounters {
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// Every interface of /proc/net/dev, sorted by name; `Err` names why the file could not be parsed
/// (procfs-core parses the file as a whole).
pub fn parse(text: &str) -> Result<Vec<NicCounters>, String> {
    let status = procfs_core::net::InterfaceDeviceStatus::from_buf_read(Cursor::new(text.as_bytes()))
        .map_err(|e| e.to_string())?;
    let mut nics: Vec<NicCounters> = status
        .0
        .into_values()
        .map(|d| NicCounters {
            name: d.name,
            rx_bytes: d.recv_bytes,
            rx_packets: d.recv_packets,
            rx_errors: d.recv_errs,
            rx_dropped: d.recv_drop,
            tx_bytes: d.sent_bytes,
            tx_packets: d.sent_packets,
            tx_errors: d.sent_errs,
            tx_dropped: d.sent_drop,
        })
        .collect();
    nics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(nics)
}

/// `/sys/class/net/IFACE/flags`: the interface flags in hex (`0x1003`).
pub fn parse_flags(text: &str) -> Option<u32> {
    let t = text.trim();
    let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))?;
    u32::from_str_radix(hex, 16).ok()
}

/// `/sys/class/net/IFACE/operstate`: RFC 2863's state as the kernel names it (`up`, `down`,
/// `lowerlayerdown`, `dormant`, `testing`, `notpresent`, `unknown`), lower case.
pub fn parse_operstate(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty() && t.bytes().all(|b| b.is_ascii_alphabetic())).then(|| t.to_ascii_lowercase())
}

/// `/sys/class/net/IFACE/carrier`: `1` or `0` (reading it fails with EINVAL on an interface that is
/// administratively down).
pub fn parse_carrier(text: &str) -> Option<bool> {
    match text.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// The interfaces that carry an IPv4 default route (destination and mask 0) in /proc/net/route
/// (`Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT`, hex in host order).
pub fn default_route_interfaces(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 8 && f[1] == "00000000" && f[7] == "00000000").then(|| f[0].to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The interfaces that carry an IPv6 default route (destination ::/0) in /proc/net/ipv6_route
/// (`dest dest_len src src_len gateway metric refcnt use flags iface`, net/ipv6/route.c
/// rt6_info_seq_show). Reject routes (RTF_REJECT, the "unreachable" default the kernel may keep on
/// `lo`) carry nothing and are left out.
pub fn default_route_interfaces_v6(text: &str) -> Vec<String> {
    const RTF_REJECT: u32 = 0x0200;
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let flags = u32::from_str_radix(f.get(8)?, 16).ok()?;
            (f.len() >= 10
                && f[0].bytes().all(|b| b == b'0')
                && f[1] == "00"
                && flags & RTF_REJECT == 0
                && f[9] != "lo")
                .then(|| f[9].to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // This VM's /proc/net/dev (Linux 6.18) with eth0's error counters raised by hand.
    const DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    6386      58    0    0    0     0          0         0     6386      58    0    0    0     0       0          0
  ifb0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0: 75390973    3241    7    2    0     0          0         0   173316    1725    1    3    0     0       0          0
";

    #[test]
    fn ipv6_default_routes_but_reject_ones() {
        // This VM's /proc/net/ipv6_route (Linux 6.18), and an unreachable default on lo.
        let text = "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
";
        assert_eq!(default_route_interfaces_v6(text), ["eth0"]);
        assert!(default_route_interfaces_v6("garbage\n").is_empty());
    }

    #[test]
    fn counters_of_every_interface_sorted() {
        let nics = parse(DEV).unwrap();
        let names: Vec<&str> = nics.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["eth0", "ifb0", "lo"]);
        let eth0 = &nics[0];
        assert_eq!(
            (eth0.rx_bytes, eth0.rx_packets, eth0.rx_errors, eth0.rx_dropped),
            (75_390_973, 3241, 7, 2)
        );
        assert_eq!(
            (eth0.tx_bytes, eth0.tx_packets, eth0.tx_errors, eth0.tx_dropped),
            (173_316, 1725, 1, 3)
        );
        assert!(parse("a\nb\n  eth0: 1 2 3\n").is_err());
    }

    #[test]
    fn sysfs_attributes() {
        assert_eq!(parse_flags("0x1003\n"), Some(0x1003));
        assert_eq!(parse_flags("0x82\n").map(|f| f & IFF_UP), Some(0));
        assert_eq!(parse_flags("4099"), None);
        assert_eq!(
            parse_operstate("lowerlayerdown\n").as_deref(),
            Some("lowerlayerdown")
        );
        assert_eq!(parse_operstate("\n"), None);
        assert_eq!(parse_carrier("0\n"), Some(false));
        assert_eq!(parse_carrier("1\n"), Some(true));
        assert_eq!(parse_carrier(""), None);
    }

    #[test]
    fn the_default_route_interface() {
        let route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
wg0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n";
        assert_eq!(default_route_interfaces(route), ["eth0"]);
        assert!(default_route_interfaces("Iface\tDestination\n").is_empty());
    }
}
