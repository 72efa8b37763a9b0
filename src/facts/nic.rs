//! NIC facts: one subject per network interface but loopback, from /proc/net/dev in both samples
//! (errors, drops, packets and bytes over the interval) and the first sample's link state
//! (/sys/class/net/IFACE/{flags,operstate,carrier}, the default routes from /proc/net/route and /proc/net/ipv6_route).
//!
//! A link is down when the interface is administratively up (IFF_UP) and its operstate is `down` or
//! `lowerlayerdown` (RFC 2863: no carrier, or the device below it is down). An interface an
//! administrator set down is not a broken link. A counter that went backwards (the interface was
//! re-created between the samples) gives no rate.

use super::{Subject, SubjectId, SubjectKind};
use crate::clock::rate;
use crate::collect::nic::{NicReading, NicSample};
use crate::parse::net_dev::{IFF_UP, NicCounters};
use crate::sample::Sample;

/// The facts this module derives.
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    fact!("nic.link_down", Number, Nic, ["/sys/class/net"], "1 when the interface is administratively up (IFF_UP) but its operstate is down or lowerlayerdown, else 0"),
    fact!("nic.admin_up", Number, Nic, ["/sys/class/net"], "1 when the interface is administratively up (IFF_UP in /sys/class/net/IFACE/flags), else 0"),
    fact!("nic.operstate", Text, Nic, ["/sys/class/net"], "the interface's operational state (/sys/class/net/IFACE/operstate: up, down, lowerlayerdown, dormant, unknown, ...)"),
    fact!("nic.carrier", Number, Nic, ["/sys/class/net"], "1 when the interface has a carrier, 0 when not (read only on interfaces that are administratively up)"),
    fact!("nic.default_route", Number, Nic, ["/proc/net/route", "/proc/net/ipv6_route"], "1 when the interface carries a default route (IPv4 or IPv6), else 0"),
    fact!("nic.error_ratio", Ratio, Nic, rate, ["/proc/net/dev"], "receive and transmit errors and drops over the interval / the packets the interface handled (delivered, errored or dropped)"),
    fact!("nic.packets_handled", Count, Nic, rate, ["/proc/net/dev"], "packets received and sent over the interval, errored and dropped ones included"),
    fact!("nic.rx_errors_per_s", PerSecond, Nic, rate, ["/proc/net/dev"], "receive errors per second (rx errs: bad CRC, frame, length, overruns)"),
    fact!("nic.rx_drops_per_s", PerSecond, Nic, rate, ["/proc/net/dev"], "received packets dropped per second (rx drop: no buffer, backlog full, unknown protocol)"),
    fact!("nic.tx_errors_per_s", PerSecond, Nic, rate, ["/proc/net/dev"], "transmit errors per second (tx errs: carrier, aborted, FIFO, heartbeat)"),
    fact!("nic.tx_drops_per_s", PerSecond, Nic, rate, ["/proc/net/dev"], "packets dropped on transmit per second (tx drop)"),
    fact!("nic.rx_packets_per_s", PerSecond, Nic, rate, ["/proc/net/dev"], "packets received per second"),
    fact!("nic.tx_packets_per_s", PerSecond, Nic, rate, ["/proc/net/dev"], "packets sent per second"),
    fact!("nic.rx_bytes_per_s", Bytes, Nic, rate, ["/proc/net/dev"], "bytes received per second"),
    fact!("nic.tx_bytes_per_s", Bytes, Nic, rate, ["/proc/net/dev"], "bytes sent per second"),
];

/// The NIC subjects, or why there are none (the reason, and whether the host has no interface at
/// all but loopback).
pub fn derive(first: &Sample, second: Option<&Sample>) -> Result<Vec<Subject>, (String, bool)> {
    let Some(NicSample { nics, default_route }) = &first.nics else {
        return Err((super::disk::OLDER_SNAPSHOT.to_string(), false));
    };
    if nics.is_empty() {
        return Err(("no network interface but loopback".to_string(), true));
    }
    let later = second.and_then(|s| s.nics.as_ref());
    let elapsed = second.map(|s| s.mono_secs - first.mono_secs);
    Ok(nics
        .iter()
        .map(|n| {
            let after = later.and_then(|l| l.nics.iter().find(|a| a.counters.name == n.counters.name));
            let mut s = subject(n, default_route.as_deref());
            match (second, after, elapsed) {
                (Some(_), Some(after), Some(elapsed)) => {
                    rates(&mut s.facts, &n.counters, &after.counters, elapsed)
                }
                (Some(_), None, _) => {
                    let why = if later.is_some() {
                        "the interface was gone in the second sample"
                    } else {
                        "/proc/net/dev could not be read in the second sample"
                    };
                    for def in FACTS.iter().filter(|d| d.rate) {
                        s.facts.absent(def.name, why);
                    }
                }
                _ => {}
            }
            s
        })
        .collect())
}

fn subject(n: &NicReading, default_route: Option<&[String]>) -> Subject {
    let mut f = super::FactSet::default();
    if let Some(flags) = n.flags {
        let up = flags & IFF_UP != 0;
        f.num("nic.admin_up", if up { 1.0 } else { 0.0 });
        if let Some(state) = &n.operstate {
            let down = up && matches!(state.as_str(), "down" | "lowerlayerdown");
            f.num("nic.link_down", if down { 1.0 } else { 0.0 });
        }
    }
    if let Some(state) = &n.operstate {
        f.text("nic.operstate", state.clone());
    }
    f.opt("nic.carrier", n.carrier.map(|c| if c { 1.0 } else { 0.0 }));
    if let Some(routes) = default_route {
        let carries = routes.contains(&n.counters.name);
        f.num("nic.default_route", if carries { 1.0 } else { 0.0 });
    }
    Subject {
        id: SubjectId {
            kind: SubjectKind::Nic,
            device: Some(n.counters.name.clone()),
            ..SubjectId::default()
        },
        facts: f,
    }
}

fn rates(f: &mut super::FactSet, b: &NicCounters, a: &NicCounters, elapsed: f64) {
    let per_s = |x: u64, y: u64| rate(x, y, elapsed);
    f.opt("nic.rx_errors_per_s", per_s(b.rx_errors, a.rx_errors));
    f.opt("nic.rx_drops_per_s", per_s(b.rx_dropped, a.rx_dropped));
    f.opt("nic.tx_errors_per_s", per_s(b.tx_errors, a.tx_errors));
    f.opt("nic.tx_drops_per_s", per_s(b.tx_dropped, a.tx_dropped));
    f.opt("nic.rx_packets_per_s", per_s(b.rx_packets, a.rx_packets));
    f.opt("nic.tx_packets_per_s", per_s(b.tx_packets, a.tx_packets));
    f.opt("nic.rx_bytes_per_s", per_s(b.rx_bytes, a.rx_bytes));
    f.opt("nic.tx_bytes_per_s", per_s(b.tx_bytes, a.tx_bytes));
    let went_back = "a /proc/net/dev counter went backwards (the interface was re-created?)";
    for name in [
        "nic.rx_errors_per_s",
        "nic.rx_drops_per_s",
        "nic.tx_errors_per_s",
        "nic.tx_drops_per_s",
        "nic.rx_packets_per_s",
        "nic.tx_packets_per_s",
        "nic.rx_bytes_per_s",
        "nic.tx_bytes_per_s",
    ] {
        if f.get(name).is_none() {
            f.absent(name, went_back);
        }
    }
    let delta = |x: u64, y: u64| y.checked_sub(x);
    let bad = [
        delta(b.rx_errors, a.rx_errors),
        delta(b.rx_dropped, a.rx_dropped),
        delta(b.tx_errors, a.tx_errors),
        delta(b.tx_dropped, a.tx_dropped),
    ];
    let good = [
        delta(b.rx_packets, a.rx_packets),
        delta(b.tx_packets, a.tx_packets),
    ];
    match (
        bad.into_iter().sum::<Option<u64>>(),
        good.into_iter().sum::<Option<u64>>(),
    ) {
        (Some(bad), Some(good)) => {
            let handled = bad + good;
            f.num("nic.packets_handled", handled as f64);
            if handled > 0 {
                f.num("nic.error_ratio", bad as f64 / handled as f64);
            } else {
                f.num("nic.error_ratio", 0.0);
            }
        }
        _ => {
            f.absent("nic.packets_handled", went_back);
            f.absent("nic.error_ratio", went_back);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn reading(name: &str, flags: Option<u32>, state: &str, c: [u64; 6]) -> NicReading {
        let [
            rx_packets,
            rx_errors,
            rx_dropped,
            tx_packets,
            tx_errors,
            tx_dropped,
        ] = c;
        NicReading {
            counters: NicCounters {
                name: name.to_string(),
                rx_bytes: rx_packets * 1000,
                rx_packets,
                rx_errors,
                rx_dropped,
                tx_bytes: tx_packets * 100,
                tx_packets,
                tx_errors,
                tx_dropped,
            },
            flags,
            operstate: (!state.is_empty()).then(|| state.to_string()),
            carrier: None,
        }
    }

    fn sample(at: f64, nics: Vec<NicReading>, route: Option<Vec<String>>) -> Sample {
        let mut s = Sample::new(at, Utc::now());
        s.nics = Some(NicSample {
            nics,
            default_route: route,
        });
        s
    }

    #[test]
    fn errors_and_drops_over_the_packets_handled() {
        let first = sample(
            10.0,
            vec![reading("eth0", Some(0x1003), "up", [10_000, 5, 0, 8_000, 0, 1])],
            Some(vec!["eth0".into()]),
        );
        let second = sample(
            12.0,
            vec![reading("eth0", None, "", [11_900, 45, 10, 9_000, 0, 1])],
            None,
        );
        let subjects = derive(&first, Some(&second)).unwrap();
        let f = &subjects[0].facts;
        assert_eq!(subjects[0].id.device.as_deref(), Some("eth0"));
        // 40 errors + 10 drops of 1,900 + 1,000 delivered + 50 bad.
        assert_eq!(f.get_f64("nic.packets_handled"), Some(2950.0));
        assert_eq!(f.get_f64("nic.error_ratio"), Some(50.0 / 2950.0));
        assert_eq!(f.get_f64("nic.rx_errors_per_s"), Some(20.0));
        assert_eq!(f.get_f64("nic.rx_drops_per_s"), Some(5.0));
        assert_eq!(f.get_f64("nic.rx_bytes_per_s"), Some(950_000.0));
        assert_eq!(f.get_f64("nic.link_down"), Some(0.0));
        assert_eq!(f.get_f64("nic.default_route"), Some(1.0));
    }

    #[test]
    fn a_link_is_down_only_when_the_interface_is_up() {
        let first = sample(
            0.0,
            vec![
                reading("veth0", Some(0x1003), "lowerlayerdown", [0; 6]),
                reading("veth1", Some(0x1002), "down", [0; 6]),
                reading("wg0", Some(0x91), "unknown", [0; 6]),
            ],
            Some(vec![]),
        );
        let subjects = derive(&first, None).unwrap();
        let down: Vec<Option<f64>> = subjects
            .iter()
            .map(|s| s.facts.get_f64("nic.link_down"))
            .collect();
        assert_eq!(down, [Some(1.0), Some(0.0), Some(0.0)]);
        assert_eq!(subjects[0].facts.get_f64("nic.default_route"), Some(0.0));
        // One sample: no rates.
        assert_eq!(subjects[0].facts.get_f64("nic.error_ratio"), None);
    }

    #[test]
    fn a_counter_that_went_backwards_gives_no_rate_and_no_interface_is_absent() {
        let first = sample(
            0.0,
            vec![reading("eth0", Some(1), "up", [500, 9, 0, 500, 0, 0])],
            None,
        );
        let second = sample(1.0, vec![reading("eth0", None, "", [10, 0, 0, 20, 0, 0])], None);
        let subjects = derive(&first, Some(&second)).unwrap();
        let f = &subjects[0].facts;
        assert_eq!(f.get_f64("nic.error_ratio"), None);
        assert_eq!(f.get_f64("nic.rx_packets_per_s"), None);
        assert!(f.stated_reason("nic.error_ratio").unwrap().contains("backwards"));
        // No route file read: the fact is absent, not 0.
        assert_eq!(f.get_f64("nic.default_route"), None);
        let lo_only = sample(0.0, vec![], None);
        assert!(derive(&lo_only, None).unwrap_err().1);
        let older = Sample::new(0.0, Utc::now());
        assert!(!derive(&older, None).unwrap_err().1);
    }
}
