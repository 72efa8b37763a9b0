//! Host network-stack facts: TCP socket memory against tcp_mem, the conntrack table against its
//! limit, the ephemeral ports in use against ip_local_port_range, and the receive backlog drops and
//! budget squeezes of /proc/net/softnet_stat over the interval.
//!
//! A host without nf_conntrack lacks the conntrack facts (the grid says "absent"); inside a network
//! namespace tcp_mem is not shown, so the TCP memory rule is not evaluated there, with the reason.

use crate::clock::rate;
use crate::collect::netstack::{NetStackSample, Read};
use crate::sample::Sample;

/// The facts this module derives.
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    fact!("host.net.tcp_mem_bytes", Bytes, Host, ["/proc/net/sockstat"], "memory held by TCP sockets, host-wide (sockstat TCP mem, in pages, times the page size)"),
    fact!("host.net.tcp_mem_pressure_bytes", Bytes, Host, ["/proc/sys/net/ipv4/tcp_mem"], "tcp_mem's pressure value: above it TCP moderates its buffers"),
    fact!("host.net.tcp_mem_max_bytes", Bytes, Host, ["/proc/sys/net/ipv4/tcp_mem"], "tcp_mem's max value: at it TCP refuses memory to sockets"),
    fact!("host.net.tcp_mem_of_pressure", Ratio, Host, ["/proc/net/sockstat", "/proc/sys/net/ipv4/tcp_mem"], "TCP socket memory / tcp_mem's pressure value"),
    fact!("host.net.tcp_mem_of_max", Ratio, Host, ["/proc/net/sockstat", "/proc/sys/net/ipv4/tcp_mem"], "TCP socket memory / tcp_mem's max value"),
    fact!("host.net.tcp_sockets", Count, Host, ["/proc/net/sockstat"], "TCP sockets in use (sockstat TCP inuse)"),
    fact!("host.net.tcp_orphans", Count, Host, ["/proc/net/sockstat"], "TCP sockets no process holds any more, still sending (sockstat TCP orphan)"),
    fact!("host.net.tcp_time_wait", Count, Host, ["/proc/net/sockstat"], "TCP sockets in TIME_WAIT (sockstat TCP tw)"),
    fact!("host.net.conntrack_entries", Count, Host, ["/proc/sys/net/netfilter/nf_conntrack_count"], "connections in the conntrack table (nf_conntrack_count)"),
    fact!("host.net.conntrack_max", Count, Host, ["/proc/sys/net/netfilter/nf_conntrack_max"], "the conntrack table's limit (nf_conntrack_max)"),
    fact!("host.net.conntrack_ratio", Ratio, Host, ["/proc/sys/net/netfilter/nf_conntrack_count", "/proc/sys/net/netfilter/nf_conntrack_max"], "nf_conntrack_count / nf_conntrack_max"),
    fact!("host.net.ephemeral_port_range", Text, Host, ["/proc/sys/net/ipv4/ip_local_port_range"], "net.ipv4.ip_local_port_range, as low-high"),
    fact!("host.net.ephemeral_range_size", Count, Host, ["/proc/sys/net/ipv4/ip_local_port_range"], "the number of ports in ip_local_port_range"),
    fact!("host.net.ephemeral_ports_used", Count, Host, ["/proc/net/tcp", "/proc/net/tcp6", "/proc/sys/net/ipv4/ip_local_port_range"], "distinct local ports of ip_local_port_range held by TCP sockets that are not listening (connected, closing or in TIME_WAIT) toward any destination: what bind()-before-connect() draws from"),
    fact!("host.net.ephemeral_busiest_destination", Text, Host, ["/proc/net/tcp", "/proc/net/tcp6"], "the remote endpoint toward which most ephemeral ports are held"),
    fact!("host.net.ephemeral_held_to_busiest", Count, Host, ["/proc/net/tcp", "/proc/net/tcp6", "/proc/sys/net/ipv4/tcp_tw_reuse"], "ephemeral ports held toward the busiest destination: its connections, and its TIME_WAIT sockets unless tcp_tw_reuse lets new connections take them over"),
    fact!("host.net.ephemeral_busiest_time_wait", Count, Host, ["/proc/net/tcp", "/proc/net/tcp6", "/proc/sys/net/ipv4/tcp_tw_reuse"], "TIME_WAIT sockets holding ports toward the busiest destination (0 when tcp_tw_reuse makes them reusable)"),
    fact!("host.net.ephemeral_busiest_connected", Count, Host, ["/proc/net/tcp", "/proc/net/tcp6"], "sockets in another state than TIME_WAIT toward the busiest destination"),
    fact!("host.net.ephemeral_ports_ratio", Ratio, Host, ["/proc/net/tcp", "/proc/net/tcp6", "/proc/sys/net/ipv4/ip_local_port_range", "/proc/sys/net/ipv4/tcp_tw_reuse"], "ephemeral ports held toward the busiest destination / the size of ip_local_port_range: connect() may reuse a local port toward another destination, so the range binds per destination; where the namespace has too few TCP sockets to hold half the range (sockstat) the tables are not read and this is that upper bound"),
    fact!("host.net.tcp_tw_reuse", Number, Host, ["/proc/sys/net/ipv4/tcp_tw_reuse"], "net.ipv4.tcp_tw_reuse: 0 off, 1 TIME_WAIT ports reused for any destination, 2 (the default) for loopback only"),
    fact!("host.net.ephemeral_time_wait", Count, Host, ["/proc/net/tcp", "/proc/net/tcp6"], "sockets on an ephemeral port in TIME_WAIT"),
    fact!("host.net.ephemeral_connected", Count, Host, ["/proc/net/tcp", "/proc/net/tcp6"], "sockets on an ephemeral port in another state than TIME_WAIT and LISTEN (outbound connections)"),
    fact!("host.net.ephemeral_top_destinations", Text, Host, ["/proc/net/tcp", "/proc/net/tcp6"], "the remote endpoints most ephemeral-port sockets go to, with their counts"),
    fact!("host.net.softnet_dropped", Count, Host, rate, ["/proc/net/softnet_stat"], "packets dropped over the interval because a CPU's input backlog was full (net.core.netdev_max_backlog), all CPUs"),
    fact!("host.net.softnet_dropped_per_s", PerSecond, Host, rate, ["/proc/net/softnet_stat"], "backlog drops per second"),
    fact!("host.net.softnet_squeezed", Count, Host, rate, ["/proc/net/softnet_stat"], "times over the interval the receive softirq ran out of budget with packets left (time_squeeze), all CPUs"),
    fact!("host.net.softnet_squeezed_per_s", PerSecond, Host, rate, ["/proc/net/softnet_stat"], "time_squeeze events per second"),
    fact!("host.net.softnet_events", Count, Host, rate, ["/proc/net/softnet_stat"], "backlog drops plus time_squeeze events over the interval"),
    fact!("host.net.softnet_worst_cpu", Text, Host, rate, ["/proc/net/softnet_stat"], "the CPU with the most drops and squeezes over the interval, with its counts"),
];

/// Set the network-stack facts on the host.
pub fn derive(first: &Sample, second: Option<&Sample>, page_size: u64, f: &mut super::FactSet) {
    let Some(stack) = &first.netstack else {
        for def in FACTS {
            f.absent(def.name, super::disk::OLDER_SNAPSHOT);
        }
        return;
    };
    tcp_memory(stack, page_size, f);
    conntrack(stack, f);
    ephemeral_ports(stack, f);
    softnet(
        stack,
        second.and_then(|s| s.netstack.as_ref()),
        second.map(|s| s.mono_secs - first.mono_secs),
        f,
    );
}

fn tcp_memory(stack: &NetStackSample, page_size: u64, f: &mut super::FactSet) {
    let page = page_size as f64;
    let sockstat = stack.sockstat.as_ref().and_then(Read::value);
    match sockstat {
        Some(s) => {
            f.opt("host.net.tcp_sockets", s.inuse.map(|n| n as f64));
            f.opt("host.net.tcp_orphans", s.orphan.map(|n| n as f64));
            f.opt("host.net.tcp_time_wait", s.time_wait.map(|n| n as f64));
            f.opt("host.net.tcp_mem_bytes", s.mem_pages.map(|p| p as f64 * page));
        }
        None => {
            for name in [
                "host.net.tcp_sockets",
                "host.net.tcp_orphans",
                "host.net.tcp_time_wait",
                "host.net.tcp_mem_bytes",
            ] {
                f.absent(name, "/proc/net/sockstat could not be read");
            }
        }
    }
    let limits = ["host.net.tcp_mem_pressure_bytes", "host.net.tcp_mem_max_bytes"];
    let ratios = ["host.net.tcp_mem_of_pressure", "host.net.tcp_mem_of_max"];
    match stack.tcp_mem.as_ref() {
        Some(Read::Value([_, pressure, max])) => {
            f.num(limits[0], *pressure as f64 * page);
            f.num(limits[1], *max as f64 * page);
            match sockstat.and_then(|s| s.mem_pages) {
                Some(mem) => {
                    f.opt(ratios[0], (*pressure > 0).then(|| mem as f64 / *pressure as f64));
                    f.opt(ratios[1], (*max > 0).then(|| mem as f64 / *max as f64));
                }
                None => ratios
                    .iter()
                    .for_each(|n| f.absent(n, "/proc/net/sockstat has no TCP memory figure")),
            }
        }
        Some(Read::NotThere) => {
            // The kernel shows tcp_mem only in the initial network namespace.
            let why = "tcp_mem is shown only in the host's network namespace (osdoctor runs in another: a container or `ip netns exec`); run it on the host";
            limits.iter().chain(&ratios).for_each(|n| f.absent(n, why));
        }
        _ => limits
            .iter()
            .chain(&ratios)
            .for_each(|n| f.absent(n, "/proc/sys/net/ipv4/tcp_mem could not be read")),
    }
}

const CONNTRACK: [&str; 3] = [
    "host.net.conntrack_entries",
    "host.net.conntrack_max",
    "host.net.conntrack_ratio",
];

fn conntrack(stack: &NetStackSample, f: &mut super::FactSet) {
    match stack.conntrack.as_ref() {
        Some(Read::Value(c)) => {
            f.num(CONNTRACK[0], c.count as f64);
            f.num(CONNTRACK[1], c.max as f64);
            // nf_conntrack_max 0 means no limit (the table grows with memory).
            if c.max > 0 {
                f.num(CONNTRACK[2], c.count as f64 / c.max as f64);
            } else {
                f.lacks(
                    CONNTRACK[2],
                    "nf_conntrack_max is 0: the conntrack table has no limit",
                );
            }
        }
        Some(Read::NotThere) => CONNTRACK.iter().for_each(|n| {
            f.lacks(
                n,
                "no connection tracking (nf_conntrack is not loaded in this kernel or namespace)",
            )
        }),
        _ => CONNTRACK
            .iter()
            .for_each(|n| f.absent(n, "the conntrack count or limit could not be read")),
    }
}

const PORTS: [&str; 11] = [
    "host.net.ephemeral_port_range",
    "host.net.ephemeral_range_size",
    "host.net.ephemeral_ports_used",
    "host.net.ephemeral_ports_ratio",
    "host.net.ephemeral_time_wait",
    "host.net.ephemeral_connected",
    "host.net.ephemeral_top_destinations",
    "host.net.ephemeral_busiest_destination",
    "host.net.ephemeral_held_to_busiest",
    "host.net.ephemeral_busiest_time_wait",
    "host.net.ephemeral_busiest_connected",
];

fn ephemeral_ports(stack: &NetStackSample, f: &mut super::FactSet) {
    let tally = match stack.ports.as_ref() {
        Some(Read::Value(t)) => t,
        Some(Read::NotThere) => {
            PORTS
                .iter()
                .for_each(|n| f.absent(n, "/proc/sys/net/ipv4/ip_local_port_range does not exist"));
            return;
        }
        _ => {
            PORTS
                .iter()
                .for_each(|n| f.absent(n, "the port range or the TCP socket tables could not be read"));
            return;
        }
    };
    f.text(PORTS[0], format!("{}-{}", tally.range.0, tally.range.1));
    f.num(PORTS[1], tally.range_size() as f64);
    if let Some(sockets) = tally.at_most {
        // Not tallied: the namespace's sockets could not hold half the range. The ratio is their
        // upper bound; who holds what was not read.
        f.num(PORTS[3], sockets as f64 / tally.range_size() as f64);
        let why = format!(
            "the TCP tables were not read: the namespace has {sockets} TCP sockets (sockstat), too few to hold half of the {} ports",
            tally.range_size()
        );
        for name in PORTS.iter().skip(2).filter(|n| **n != PORTS[3]) {
            f.absent(name, why.as_str());
        }
        return;
    }
    f.num(PORTS[2], tally.ports_used() as f64);
    let tw_reuse = match stack.tcp_tw_reuse.as_ref() {
        Some(Read::Value(v)) => {
            f.num("host.net.tcp_tw_reuse", f64::from(*v));
            Some(*v)
        }
        // Unknown: every TIME_WAIT socket is counted as holding its port.
        _ => {
            f.absent(
                "host.net.tcp_tw_reuse",
                "/proc/sys/net/ipv4/tcp_tw_reuse could not be read: TIME_WAIT sockets are counted as holding their ports",
            );
            None
        }
    };
    match tally.busiest(tw_reuse) {
        Some((to, held, d)) => {
            f.text(PORTS[7], crate::parse::tcp_ports::show(&to));
            f.num(PORTS[8], held as f64);
            f.num(PORTS[9], d.time_wait as f64);
            f.num(PORTS[10], d.connected as f64);
            f.num(PORTS[3], held as f64 / tally.range_size() as f64);
        }
        None => {
            f.text(PORTS[7], "none");
            f.num(PORTS[8], 0.0);
            f.num(PORTS[9], 0.0);
            f.num(PORTS[10], 0.0);
            f.num(PORTS[3], 0.0);
        }
    }
    f.num(PORTS[4], tally.time_wait as f64);
    f.num(PORTS[5], tally.connected as f64);
    let top = tally.top_destinations(3);
    if top.is_empty() {
        f.text(PORTS[6], "none");
    } else {
        let list: Vec<String> = top
            .iter()
            .map(|(dest, n)| format!("{dest} ({})", crate::units::format_number(*n as f64)))
            .collect();
        f.text(PORTS[6], list.join(", "));
    }
}

const SOFTNET: [&str; 6] = [
    "host.net.softnet_dropped",
    "host.net.softnet_dropped_per_s",
    "host.net.softnet_squeezed",
    "host.net.softnet_squeezed_per_s",
    "host.net.softnet_events",
    "host.net.softnet_worst_cpu",
];

fn softnet(
    before: &NetStackSample,
    after: Option<&NetStackSample>,
    elapsed: Option<f64>,
    f: &mut super::FactSet,
) {
    let (Some(after), Some(elapsed)) = (after, elapsed) else {
        return;
    };
    let (Read::Value(b), Read::Value(a)) = (&before.softnet, &after.softnet) else {
        SOFTNET
            .iter()
            .for_each(|n| f.absent(n, "/proc/net/softnet_stat could not be read in both samples"));
        return;
    };
    // One line per online CPU: a CPU brought on or off line between the samples shifts the lines.
    if a.len() != b.len() || b.iter().zip(a).any(|(x, y)| x.cpu != y.cpu) {
        SOFTNET.iter().for_each(|n| {
            f.absent(
                n,
                "softnet_stat's CPUs changed between the samples (a CPU went on or off line)",
            )
        });
        return;
    }
    let (mut dropped, mut squeezed) = (0u64, 0u64);
    let mut worst: Option<(String, u64, u64)> = None;
    for (line, (x, y)) in b.iter().zip(a).enumerate() {
        // The counters are 32-bit (printed %08x) and wrap; over a few seconds at most once.
        let delta = |after: u64, before: u64| u64::from((after as u32).wrapping_sub(before as u32));
        let (d, s) = (delta(y.dropped, x.dropped), delta(y.time_squeeze, x.time_squeeze));
        dropped += d;
        squeezed += s;
        if d + s > 0 && worst.as_ref().is_none_or(|(_, wd, ws)| d + s > wd + ws) {
            // Without the CPU number (before 5.10) the lines are the online CPUs in order.
            let which = match y.cpu {
                Some(cpu) => format!("CPU {cpu}"),
                None => format!("line {}", line + 1),
            };
            worst = Some((which, d, s));
        }
    }
    f.num(SOFTNET[0], dropped as f64);
    f.opt(SOFTNET[1], rate(0, dropped, elapsed));
    f.num(SOFTNET[2], squeezed as f64);
    f.opt(SOFTNET[3], rate(0, squeezed, elapsed));
    f.num(SOFTNET[4], (dropped + squeezed) as f64);
    f.text(
        SOFTNET[5],
        match worst {
            Some((which, d, s)) => format!(
                "{which}: {} dropped, {} squeezed",
                crate::units::format_number(d as f64),
                crate::units::format_number(s as f64)
            ),
            None => "none".to_string(),
        },
    );
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::collect::netstack::Conntrack;
    use crate::parse::net_sockstat::SoftnetCpu;
    use crate::parse::net_sockstat::TcpSockstat;
    use crate::parse::tcp_ports::PortTally;

    fn stack(softnet: Vec<SoftnetCpu>) -> NetStackSample {
        NetStackSample {
            sockstat: Some(Read::Value(TcpSockstat {
                inuse: Some(40),
                orphan: Some(2),
                time_wait: Some(95),
                alloc: Some(41),
                mem_pages: Some(3000),
            })),
            tcp_mem: Some(Read::Value([1000, 2000, 4000])),
            conntrack: Some(Read::Value(Conntrack { count: 90, max: 100 })),
            ports: None,
            tcp_tw_reuse: Some(Read::Value(2)),
            softnet: Read::Value(softnet),
        }
    }

    fn cpu(dropped: u64, time_squeeze: u64) -> SoftnetCpu {
        SoftnetCpu {
            processed: 1000,
            dropped,
            time_squeeze,
            cpu: None,
        }
    }

    fn sample(at: f64, s: NetStackSample) -> Sample {
        let mut out = Sample::new(at, Utc::now());
        out.netstack = Some(s);
        out
    }

    #[test]
    fn memory_conntrack_and_softnet_over_two_seconds() {
        let mut f = crate::facts::FactSet::default();
        let mut first = stack(vec![cpu(5, 0), cpu(0, 7)]);
        let tally = PortTally::tally(
            (40000, 40099),
            &["h\n   0: 0100007F:9C40 0100007F:1538 06 0:0 0 0 0 0 0 0\n"],
        );
        first.ports = Some(Read::Value(tally));
        derive(
            &sample(10.0, first),
            Some(&sample(12.0, stack(vec![cpu(45, 0), cpu(0, 9)]))),
            4096,
            &mut f,
        );
        assert_eq!(f.get_f64("host.net.tcp_mem_bytes"), Some(3000.0 * 4096.0));
        assert_eq!(f.get_f64("host.net.tcp_mem_of_pressure"), Some(1.5));
        assert_eq!(f.get_f64("host.net.tcp_mem_of_max"), Some(0.75));
        assert_eq!(f.get_f64("host.net.conntrack_ratio"), Some(0.9));
        assert_eq!(f.get_f64("host.net.softnet_dropped"), Some(40.0));
        assert_eq!(f.get_f64("host.net.softnet_dropped_per_s"), Some(20.0));
        assert_eq!(f.get_f64("host.net.softnet_squeezed"), Some(2.0));
        assert_eq!(f.get_f64("host.net.softnet_events"), Some(42.0));
        assert_eq!(
            f.get("host.net.softnet_worst_cpu").and_then(|v| match v {
                crate::facts::Value::Text(t) => Some(t.as_str()),
                _ => None,
            }),
            Some("line 1: 40 dropped, 0 squeezed")
        );
        assert_eq!(f.get_f64("host.net.ephemeral_ports_used"), Some(1.0));
        // The one TIME_WAIT socket is toward loopback, reusable under tcp_tw_reuse 2.
        assert_eq!(f.get_f64("host.net.ephemeral_ports_ratio"), Some(0.0));
        assert_eq!(f.get_f64("host.net.ephemeral_held_to_busiest"), Some(0.0));
        assert_eq!(f.get_f64("host.net.ephemeral_time_wait"), Some(1.0));
    }

    #[test]
    fn too_few_sockets_for_half_the_range_give_an_upper_bound_and_no_tally() {
        let mut f = crate::facts::FactSet::default();
        let mut s = stack(vec![cpu(0, 0)]);
        s.ports = Some(Read::Value(PortTally::bounded((32768, 60999), 135)));
        derive(&sample(0.0, s), None, 4096, &mut f);
        assert_eq!(f.get_f64("host.net.ephemeral_ports_ratio"), Some(135.0 / 28232.0));
        assert_eq!(f.get_f64("host.net.ephemeral_ports_used"), None);
        assert!(
            f.stated_reason("host.net.ephemeral_held_to_busiest")
                .unwrap()
                .contains("135 TCP sockets")
        );
    }

    #[test]
    fn no_conntrack_is_lacked_and_a_namespace_hides_tcp_mem() {
        let mut f = crate::facts::FactSet::default();
        let mut s = stack(vec![cpu(0, 0)]);
        s.conntrack = Some(Read::NotThere);
        s.tcp_mem = Some(Read::NotThere);
        derive(&sample(0.0, s), None, 4096, &mut f);
        assert!(f.is_lacked("host.net.conntrack_ratio"));
        assert_eq!(f.get_f64("host.net.tcp_mem_of_pressure"), None);
        assert!(!f.is_lacked("host.net.tcp_mem_of_pressure"));
        assert!(
            f.stated_reason("host.net.tcp_mem_of_pressure")
                .unwrap()
                .contains("host's network namespace")
        );
        // The memory itself is host-wide and still shown.
        assert_eq!(f.get_f64("host.net.tcp_mem_bytes"), Some(3000.0 * 4096.0));
    }

    #[test]
    fn a_cpu_going_offline_gives_no_softnet_rate() {
        let mut f = crate::facts::FactSet::default();
        derive(
            &sample(0.0, stack(vec![cpu(1, 1), cpu(1, 1)])),
            Some(&sample(1.0, stack(vec![cpu(5, 1)]))),
            4096,
            &mut f,
        );
        assert_eq!(f.get_f64("host.net.softnet_dropped"), None);
        // A 32-bit counter that wrapped gives its true increase.
        let mut f = crate::facts::FactSet::default();
        derive(
            &sample(0.0, stack(vec![cpu(0xFFFF_FFF0, 0)])),
            Some(&sample(1.0, stack(vec![cpu(0x10, 0)]))),
            4096,
            &mut f,
        );
        assert_eq!(f.get_f64("host.net.softnet_dropped"), Some(32.0));
        let mut f = crate::facts::FactSet::default();
        derive(&Sample::new(0.0, Utc::now()), None, 4096, &mut f);
        assert_eq!(
            f.stated_reason("host.net.conntrack_ratio"),
            Some("not in this older snapshot")
        );
    }
}
