//! Host TCP facts: retransmits and accept-queue drops over the interval, from /proc/net/snmp and
//! /proc/net/netstat in both samples (the network namespace osdoctor ran in). A counter that went
//! backwards gives nothing.
//!
//! Not here yet: which listener overflowed. A LISTEN socket's accept backlog limit is only in
//! sock_diag (what `ss -lnt` shows as Send-Q), so net.listen_overflow names the host, with somaxconn
//! as evidence.

use crate::clock::rate;
use crate::collect::tcp::TcpSample;
use crate::sample::Sample;

/// The facts this module derives.
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    fact!("host.tcp.retrans_ratio", Ratio, Host, rate, ["/proc/net/snmp"], "TCP segments retransmitted / segments sent over the interval (Tcp: RetransSegs / OutSegs; sar -n ETCP's retrans/s over oseg/s)"),
    fact!("host.tcp.out_segs", Count, Host, rate, ["/proc/net/snmp"], "TCP segments sent over the interval (Tcp: OutSegs, which excludes retransmissions)"),
    fact!("host.tcp.out_segs_per_s", PerSecond, Host, rate, ["/proc/net/snmp"], "TCP segments sent per second"),
    fact!("host.tcp.retrans_segs_per_s", PerSecond, Host, rate, ["/proc/net/snmp"], "TCP segments retransmitted per second (Tcp: RetransSegs)"),
    fact!("host.tcp.listen_drops", Count, Host, rate, ["/proc/net/netstat"], "connection attempts a listener dropped over the interval (the larger of TcpExt ListenOverflows and ListenDrops, which counts the overflows too)"),
    fact!("host.tcp.listen_drops_per_s", PerSecond, Host, rate, ["/proc/net/netstat"], "connection attempts dropped by listeners per second"),
    fact!("host.tcp.listen_overflows_per_s", PerSecond, Host, rate, ["/proc/net/netstat"], "accept-queue overflows per second (TcpExt ListenOverflows: the queue was full)"),
    fact!("host.tcp.backlog_drops_per_s", PerSecond, Host, rate, ["/proc/net/netstat"], "segments dropped because a socket's backlog was full while its owner held it (TcpExt TCPBacklogDrop)"),
];

/// Set the TCP facts on the host.
pub fn derive(first: &Sample, second: Option<&Sample>, f: &mut super::FactSet) {
    let Some(before) = &first.tcp else {
        for def in FACTS {
            f.absent(def.name, super::disk::OLDER_SNAPSHOT);
        }
        return;
    };
    let Some(second) = second else { return };
    let Some(after) = &second.tcp else {
        for def in FACTS {
            f.absent(
                def.name,
                "the TCP counters could not be read in the second sample",
            );
        }
        return;
    };
    let elapsed = second.mono_secs - first.mono_secs;
    let went_back = "a TCP counter went backwards (the network namespace changed?)";
    let delta = |pick: fn(&TcpSample) -> Option<u64>| pick(after)?.checked_sub(pick(before)?);
    let mut set = |name: &'static str, v: Option<f64>| match v {
        Some(v) => f.num(name, v),
        None => f.absent(name, went_back),
    };
    let out = delta(|t| t.out_segs);
    let retrans = delta(|t| t.retrans_segs);
    set("host.tcp.out_segs", out.map(|n| n as f64));
    set("host.tcp.out_segs_per_s", out.and_then(|n| rate(0, n, elapsed)));
    set(
        "host.tcp.retrans_segs_per_s",
        retrans.and_then(|n| rate(0, n, elapsed)),
    );
    set(
        "host.tcp.retrans_ratio",
        match (retrans, out) {
            (Some(r), Some(o)) if o > 0 => Some(r as f64 / o as f64),
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        },
    );
    let dropped = match (delta(|t| t.listen_overflows), delta(|t| t.listen_drops)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    set("host.tcp.listen_drops", dropped.map(|n| n as f64));
    set(
        "host.tcp.listen_drops_per_s",
        dropped.and_then(|n| rate(0, n, elapsed)),
    );
    set(
        "host.tcp.listen_overflows_per_s",
        delta(|t| t.listen_overflows).and_then(|n| rate(0, n, elapsed)),
    );
    set(
        "host.tcp.backlog_drops_per_s",
        delta(|t| t.backlog_drops).and_then(|n| rate(0, n, elapsed)),
    );
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn sample(at: f64, c: [u64; 5]) -> Sample {
        let [
            out_segs,
            retrans_segs,
            listen_overflows,
            listen_drops,
            backlog_drops,
        ] = c;
        let mut s = Sample::new(at, Utc::now());
        s.tcp = Some(TcpSample {
            out_segs: Some(out_segs),
            retrans_segs: Some(retrans_segs),
            listen_overflows: Some(listen_overflows),
            listen_drops: Some(listen_drops),
            backlog_drops: Some(backlog_drops),
            ..TcpSample::default()
        });
        s
    }

    #[test]
    fn retransmits_over_segments_sent_and_listen_drops_over_two_seconds() {
        let mut f = crate::facts::FactSet::default();
        derive(
            &sample(10.0, [100_000, 500, 40, 42, 0]),
            Some(&sample(12.0, [104_000, 900, 240, 250, 6])),
            &mut f,
        );
        assert_eq!(f.get_f64("host.tcp.out_segs"), Some(4000.0));
        assert_eq!(f.get_f64("host.tcp.retrans_ratio"), Some(0.1));
        assert_eq!(f.get_f64("host.tcp.retrans_segs_per_s"), Some(200.0));
        // ListenDrops counts the overflows too: the larger of the two, not their sum.
        assert_eq!(f.get_f64("host.tcp.listen_drops"), Some(208.0));
        assert_eq!(f.get_f64("host.tcp.listen_drops_per_s"), Some(104.0));
        assert_eq!(f.get_f64("host.tcp.listen_overflows_per_s"), Some(100.0));
        assert_eq!(f.get_f64("host.tcp.backlog_drops_per_s"), Some(3.0));
    }

    #[test]
    fn a_counter_that_went_back_or_an_older_snapshot_gives_nothing() {
        let mut f = crate::facts::FactSet::default();
        derive(
            &sample(0.0, [500, 9, 0, 0, 0]),
            Some(&sample(1.0, [10, 1, 0, 0, 0])),
            &mut f,
        );
        assert_eq!(f.get_f64("host.tcp.retrans_ratio"), None);
        assert!(
            f.stated_reason("host.tcp.retrans_ratio")
                .unwrap()
                .contains("backwards")
        );
        assert_eq!(f.get_f64("host.tcp.listen_drops"), Some(0.0));
        let mut f = crate::facts::FactSet::default();
        derive(&Sample::new(0.0, Utc::now()), None, &mut f);
        assert_eq!(
            f.stated_reason("host.tcp.out_segs"),
            Some("not in this older snapshot")
        );
    }
}
