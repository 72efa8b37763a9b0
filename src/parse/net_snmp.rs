//! /proc/net/snmp and /proc/net/netstat: the kernel's protocol counters, in pairs of lines, a header
//! naming the counters and a line of values, both led by the section (`Tcp:`, `TcpExt:`, `IpExt:`):
//!
//! ```text
//! Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens ... RetransSegs InErrs OutRsts InCsumErrors
//! Tcp: 1 200 120000 -1 1402 ... 27 0 98 0
//! ```
//!
//! (net/ipv4/proc.c, snmp_seq_show and netstat_seq_show). Parsed here by name rather than with
//! procfs-core's `Snmp`, which needs every counter of every section of one kernel version and fails
//! as a whole on a kernel that lacks one (UdpLite, IgnoredMulti, InCsumErrors came and go); it does not
//! read /proc/net/netstat at all. Like all of /proc/net, these are the reader's network namespace.

use std::collections::BTreeMap;

/// Every counter of every section, as `("Tcp", "RetransSegs") -> 27`. Values are signed (Tcp:
/// MaxConn is -1). A section whose header and value lines differ in length is left out and named in
/// the second result.
pub fn parse(text: &str) -> (BTreeMap<(String, String), i64>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    while let Some(header) = lines.next() {
        let Some((section, names)) = header.split_once(':') else {
            problems.push(format!("a line without a section: {header:?}"));
            continue;
        };
        let Some((again, values)) = lines.next().and_then(|l| l.split_once(':')) else {
            problems.push(format!("{section}: no value line"));
            break;
        };
        if again != section {
            problems.push(format!("{section}: followed by {again}"));
            continue;
        }
        let names: Vec<&str> = names.split_whitespace().collect();
        let values: Vec<Option<i64>> = values.split_whitespace().map(|v| v.parse().ok()).collect();
        if names.len() != values.len() {
            problems.push(format!(
                "{section}: {} names but {} values",
                names.len(),
                values.len()
            ));
            continue;
        }
        for (name, value) in names.into_iter().zip(values) {
            match value {
                Some(v) => {
                    out.insert((section.to_string(), name.to_string()), v);
                }
                None => problems.push(format!("{section}:{name}: not a number")),
            }
        }
    }
    (out, problems)
}

/// One counter, when present and not negative.
pub fn counter(map: &BTreeMap<(String, String), i64>, section: &str, name: &str) -> Option<u64> {
    map.get(&(section.to_string(), name.to_string()))
        .and_then(|v| u64::try_from(*v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines of this VM's /proc/net/snmp and /proc/net/netstat (Linux 6.18), shortened.
    const SNMP: &str = "Ip: Forwarding DefaultTTL InReceives\nIp: 1 64 9631\n\
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n\
Tcp: 1 200 120000 -1 1402 12 1350 8 2 9120 8714 27 0 1371 0\n\
UdpLite: InDatagrams NoPorts\nUdpLite: 0 0\n";
    const NETSTAT: &str = "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPBacklogDrop\nTcpExt: 0 12 14 3\n\
IpExt: InNoRoutes InTruncatedPkts\nIpExt: 0 0 7\n";

    #[test]
    fn counters_by_section_and_name() {
        let (m, problems) = parse(SNMP);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(counter(&m, "Tcp", "RetransSegs"), Some(27));
        assert_eq!(counter(&m, "Tcp", "OutSegs"), Some(8714));
        assert_eq!(counter(&m, "Ip", "InReceives"), Some(9631));
        // MaxConn is -1: present, but not a counter.
        assert_eq!(m.get(&("Tcp".into(), "MaxConn".into())), Some(&-1));
        assert_eq!(counter(&m, "Tcp", "MaxConn"), None);
        assert_eq!(counter(&m, "Tcp", "Nope"), None);
    }

    #[test]
    fn a_section_that_does_not_line_up_is_reported_not_guessed() {
        let (m, problems) = parse(NETSTAT);
        assert_eq!(counter(&m, "TcpExt", "ListenOverflows"), Some(12));
        assert_eq!(counter(&m, "TcpExt", "ListenDrops"), Some(14));
        assert_eq!(counter(&m, "TcpExt", "TCPBacklogDrop"), Some(3));
        assert_eq!(counter(&m, "IpExt", "InNoRoutes"), None);
        assert_eq!(problems, ["IpExt: 2 names but 3 values"]);
        let (_, problems) = parse("Tcp: A B\n");
        assert_eq!(problems, ["Tcp: no value line"]);
    }
}
