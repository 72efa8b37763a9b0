//! Host TCP facts: retransmits and accept-queue drops over the interval, from /proc/net/snmp and
//! /proc/net/netstat in both samples (the network namespace osdoctor ran in, named by
//! `host.net.namespace`). A counter that went backwards gives nothing.
//!
//! Which listener overflowed: when listeners dropped connections, the second pass read the LISTEN
//! sockets (`collect/listen.rs`); those whose accept queue was at its limit are named with the
//! processes holding them (`host.tcp.full_listener`), and the host subject carries those processes
//! so a finding about one of them (CPU starvation) can explain the overflow (join `listener`).
//! Without the backlog (sock_diag not read) the limit is at most net.core.somaxconn, and the text
//! says so.

use crate::clock::rate;
use crate::collect::listen::{ListenSample, ListenerReading};
use crate::collect::tcp::TcpSample;
use crate::sample::Sample;

/// At most this many listeners (and holders of one) are named in the text; the rest are counted.
const NAMED: usize = 3;

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
    fact!("host.tcp.full_listeners", Count, Host, rate, ["/proc/net/tcp", "/proc/net/tcp6"], "listening sockets whose accept queue was at its limit (queue >= backlog; with the backlog unknown, not empty) at the end of an interval in which listeners dropped connections"),
    fact!("host.tcp.full_listener", Text, Host, rate, ["/proc/net/tcp", "/proc/net/tcp6", "/proc/PID/fd"], "those listeners: address:port, the processes holding them, accept queue of backlog (sock_diag's, as ss -lnt's Send-Q; or at most somaxconn when it was not read)"),
    fact!("host.tcp.full_listener_pids", Text, Host, rate, ["/proc/PID/fd"], "the pids of the processes holding those listeners, comma-separated (as top -p and pidstat -p take them)"),
    fact!("host.net.namespace", Text, Host, ["/proc/self/ns/net", "/proc/1/ns/net"], "the network namespace /proc/net was read in (/proc/self/ns/net) and whether it is init's, the host's (/proc/1/ns/net)"),
    fact!("host.net.init_namespace", Number, Host, ["/proc/self/ns/net", "/proc/1/ns/net"], "1 when /proc/net was read in init's network namespace (the host's), 0 in another (a container's, ip netns)"),
];

/// Set the TCP facts on the host.
pub fn derive(first: &Sample, second: Option<&Sample>, f: &mut super::FactSet) {
    let Some(before) = &first.tcp else {
        for def in FACTS {
            f.absent(def.name, super::disk::OLDER_SNAPSHOT);
        }
        return;
    };
    namespace(before, f);
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
    listeners(second.listen.as_ref(), dropped, f);
}

/// `host.net.namespace` and `host.net.init_namespace`.
fn namespace(tcp: &TcpSample, f: &mut super::FactSet) {
    let Some(own) = &tcp.netns else {
        f.absent("host.net.namespace", "/proc/self/ns/net was not read");
        f.absent("host.net.init_namespace", "/proc/self/ns/net was not read");
        return;
    };
    match &tcp.init_netns {
        Some(Ok(init)) => {
            let is_init = init == own;
            f.num("host.net.init_namespace", if is_init { 1.0 } else { 0.0 });
            f.text(
                "host.net.namespace",
                if is_init {
                    format!("{own} (init's: the host's)")
                } else {
                    format!("{own} (not init's {init}: a container's or another namespace's)")
                },
            );
        }
        // /proc/1/ns/net needs ptrace access to init (root, and not always then). Recent kernels
        // give init's namespace a fixed inode; any other gets one from 0xF0000000 up.
        _ if own == INIT_NET_FIXED => {
            f.num("host.net.init_namespace", 1.0);
            f.text(
                "host.net.namespace",
                format!("{own} (init's: the host's; the fixed inode of init's network namespace)"),
            );
        }
        _ => {
            // The same words live and in a replay (which does not record the failed read).
            let why = "/proc/1/ns/net could not be read";
            f.text(
                "host.net.namespace",
                format!("{own} (whether it is init's is unknown: {why})"),
            );
            f.absent("host.net.init_namespace", why);
        }
    }
}

/// init_net's namespace inode on kernels that fix it (PROC_NET_INIT_INO, 0xEFFFFFF9, in
/// include/linux/proc_ns.h beside the other init namespaces' fixed inodes); on older kernels init's
/// is allocated like any other, from 0xF0000000 (4026531840) up, so this names no other namespace.
const INIT_NET_FIXED: &str = "net:[4026531833]";

/// The listeners at their limit, when listeners dropped connections during the interval.
fn listeners(listen: Option<&ListenSample>, dropped: Option<u64>, f: &mut super::FactSet) {
    const NAMES: [&str; 3] = [
        "host.tcp.full_listeners",
        "host.tcp.full_listener",
        "host.tcp.full_listener_pids",
    ];
    let Some(listen) = listen else {
        let why = match dropped {
            Some(0) => "no listener dropped a connection during the interval: the listeners were not read",
            _ => {
                "the listening sockets were not read (/proc/net/tcp unreadable, or a snapshot taken before osdoctor read them)"
            }
        };
        for name in NAMES {
            f.absent(name, why);
        }
        return;
    };
    let somaxconn = f.get_f64("host.net.somaxconn");
    let full: Vec<&ListenerReading> = listen.listeners.iter().filter(|l| l.at_limit()).collect();
    f.num("host.tcp.full_listeners", full.len() as f64);
    if full.is_empty() {
        let why = "no listener's accept queue was at its limit when read, at the end of the interval (the burst had passed)";
        f.absent("host.tcp.full_listener", why);
        f.absent("host.tcp.full_listener_pids", why);
        return;
    }
    let mut texts: Vec<String> = full
        .iter()
        .take(NAMED)
        .map(|l| describe(l, listen, somaxconn))
        .collect();
    if full.len() > NAMED {
        texts.push(format!("and {} more", full.len() - NAMED));
    }
    f.text("host.tcp.full_listener", texts.join("; "));
    let mut pids: Vec<i32> = full
        .iter()
        .flat_map(|l| l.holders.iter().flatten().map(|h| h.pid))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    if pids.is_empty() {
        f.absent(
            "host.tcp.full_listener_pids",
            "no process holding the full listeners was found",
        );
    } else {
        let list: Vec<String> = pids.iter().map(i32::to_string).collect();
        f.text("host.tcp.full_listener_pids", list.join(","));
    }
}

/// `127.0.0.1:5202 (pid 4242 python3) accept queue 2 of 1`.
fn describe(l: &ListenerReading, listen: &ListenSample, somaxconn: Option<f64>) -> String {
    let address = match l.address {
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", l.port),
        a => format!("{a}:{}", l.port),
    };
    let holders = match l.holders.as_deref() {
        Some([]) | None if listen.holders_denied > 0 => format!(
            "held by a process whose fds could not be read ({} denied)",
            listen.holders_denied
        ),
        Some([]) | None => "no process holding it was found".to_string(),
        Some(hs) => {
            let mut named: Vec<String> = hs
                .iter()
                .take(NAMED)
                .map(|h| format!("{} {}", h.pid, h.comm))
                .collect();
            if hs.len() > NAMED {
                named.push(format!("and {} more", hs.len() - NAMED));
            }
            format!(
                "{} {}",
                if hs.len() == 1 { "pid" } else { "pids" },
                named.join(", ")
            )
        }
    };
    let limit = match (l.backlog, somaxconn) {
        (Some(b), _) => format!("{b}"),
        (None, Some(s)) => format!("at most {s} (net.core.somaxconn: the backlog was not read)"),
        (None, None) => "an unknown backlog (not read)".to_string(),
    };
    format!("{address} ({holders}) accept queue {} of {limit}", l.queue)
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

    fn listener(
        port: u16,
        queue: u32,
        backlog: Option<u32>,
        holders: Option<Vec<(i32, &str)>>,
    ) -> ListenerReading {
        ListenerReading {
            inode: u64::from(port),
            address: "127.0.0.1".parse().unwrap(),
            port,
            queue,
            backlog,
            holders: holders.map(|hs| {
                hs.into_iter()
                    .map(|(pid, comm)| crate::collect::listen::Holder {
                        pid,
                        start_time: 1,
                        comm: comm.to_string(),
                    })
                    .collect()
            }),
        }
    }

    #[test]
    fn the_full_listeners_are_named_with_their_processes_and_backlog() {
        let mut f = crate::facts::FactSet::default();
        f.num("host.net.somaxconn", 4096.0);
        let mut second = sample(1.0, [10, 0, 500, 500, 0]);
        second.listen = Some(ListenSample {
            listeners: vec![
                listener(5202, 2, Some(1), Some(vec![(4242, "python3")])),
                listener(80, 3, Some(511), None),
                listener(22, 0, Some(128), None),
            ],
            ..ListenSample::default()
        });
        derive(&sample(0.0, [0, 0, 0, 0, 0]), Some(&second), &mut f);
        assert_eq!(f.get_f64("host.tcp.full_listeners"), Some(1.0));
        assert_eq!(
            f.get("host.tcp.full_listener"),
            Some(&crate::facts::Value::Text(
                "127.0.0.1:5202 (pid 4242 python3) accept queue 2 of 1".to_string()
            ))
        );
        assert_eq!(
            f.get("host.tcp.full_listener_pids"),
            Some(&crate::facts::Value::Text("4242".to_string()))
        );
        // Without the backlog, a non-empty queue is named, bounded by somaxconn.
        let mut f = crate::facts::FactSet::default();
        f.num("host.net.somaxconn", 4096.0);
        second.listen = Some(ListenSample {
            listeners: vec![listener(
                5202,
                2,
                None,
                Some(vec![(4242, "python3"), (4243, "python3")]),
            )],
            backlog_missing: Some("an older snapshot".to_string()),
            holders_denied: 0,
        });
        derive(&sample(0.0, [0, 0, 0, 0, 0]), Some(&second), &mut f);
        assert_eq!(
            f.get("host.tcp.full_listener"),
            Some(&crate::facts::Value::Text(
                "127.0.0.1:5202 (pids 4242 python3, 4243 python3) accept queue 2 of at most 4096 (net.core.somaxconn: the backlog was not read)".to_string()
            ))
        );
        assert_eq!(
            f.get("host.tcp.full_listener_pids"),
            Some(&crate::facts::Value::Text("4242,4243".to_string()))
        );
        // No drops: the listeners were not read, and nothing is named.
        let mut f = crate::facts::FactSet::default();
        derive(
            &sample(0.0, [0, 0, 0, 0, 0]),
            Some(&sample(1.0, [0, 0, 0, 0, 0])),
            &mut f,
        );
        assert!(
            f.stated_reason("host.tcp.full_listener")
                .unwrap()
                .contains("not read")
        );
    }

    #[test]
    fn whose_network_namespace_was_read() {
        let ns = |own: &str, init: Option<Result<&str, &str>>| {
            let mut s = sample(0.0, [0, 0, 0, 0, 0]);
            let t = s.tcp.as_mut().unwrap();
            t.netns = Some(own.to_string());
            t.init_netns = init.map(|r| r.map(str::to_string).map_err(str::to_string));
            let mut f = crate::facts::FactSet::default();
            derive(&s, None, &mut f);
            let text = match f.get("host.net.namespace") {
                Some(crate::facts::Value::Text(t)) => t.clone(),
                other => panic!("{other:?}"),
            };
            (text, f.get_f64("host.net.init_namespace"))
        };
        let host = "net:[4026531840]";
        assert_eq!(
            ns(host, Some(Ok(host))),
            ("net:[4026531840] (init's: the host's)".to_string(), Some(1.0))
        );
        let (text, init) = ns("net:[4026532303]", Some(Ok(host)));
        assert!(
            text.starts_with("net:[4026532303] (not init's net:[4026531840]"),
            "{text}"
        );
        assert_eq!(init, Some(0.0));
        let (text, init) = ns(host, Some(Err("permission denied")));
        assert!(
            text.contains("unknown: /proc/1/ns/net could not be read"),
            "{text}"
        );
        assert_eq!(init, None);
        // Init's unreadable, but the namespace is the fixed init_net inode (Linux 6.18 here).
        assert_eq!(
            ns("net:[4026531833]", Some(Err("permission denied"))).1,
            Some(1.0)
        );
        assert_eq!(ns("net:[4026531833]", None).1, Some(1.0));
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
