//! Network interfaces: /proc/net/dev on every pass (its counters give the rates), and on the first
//! pass each interface's link state from /sys/class/net/IFACE/{flags,operstate,carrier} and which
//! interfaces carry a default route (/proc/net/route, /proc/net/ipv6_route).
//!
//! The loopback interface `lo` is skipped: it has no link and its counters are the host talking to
//! itself. /proc/net and /sys/class/net are the reader's network namespace: run osdoctor inside a
//! namespace (`ip netns exec NS osdoctor ...`, which also mounts that namespace's sysfs) to judge its
//! interfaces. The sysfs files are read one by one by name (taken from /proc/net/dev), never by
//! listing /sys/class/net, so a snapshot records exactly what replays.

use serde::{Deserialize, Serialize};

use crate::collect::host::Pass;
use crate::coverage::Coverage;
use crate::parse::net_dev::{self, NicCounters};
use crate::root::Root;

pub const NET_DEV: &str = "/proc/net/dev";
pub const NET_ROUTE: &str = "/proc/net/route";
pub const NET_IPV6_ROUTE: &str = "/proc/net/ipv6_route";

/// One interface as one pass read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NicReading {
    pub counters: NicCounters,
    /// First pass: /sys/class/net/IFACE/flags (`None`: not read).
    pub flags: Option<u32>,
    /// First pass: /sys/class/net/IFACE/operstate, lower case.
    pub operstate: Option<String>,
    /// First pass, interfaces administratively up: /sys/class/net/IFACE/carrier.
    pub carrier: Option<bool>,
}

/// The interfaces of one pass (loopback left out); `None` in the sample when /proc/net/dev could not
/// be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NicSample {
    pub nics: Vec<NicReading>,
    /// First pass: the interfaces that carry an IPv4 default route (`None`: /proc/net/route unread).
    pub default_route: Option<Vec<String>>,
}

/// Read /proc/net/dev, and on the first pass the link state of each interface and the default route.
pub fn collect(root: &Root, pass: Pass, cov: &mut Coverage) -> Option<NicSample> {
    let text = match root.read_string(NET_DEV) {
        Ok(t) => t,
        Err(e) => {
            // A snapshot taken before interfaces were read has no /proc/net/dev: not this host's problem.
            if !e.is_not_found() || root.is_live() {
                cov.read_failed(&e);
            }
            return None;
        }
    };
    let counters = match net_dev::parse(&text) {
        Ok(c) => c,
        Err(why) => {
            cov.malformed(NET_DEV, why);
            return None;
        }
    };
    cov.read_ok(NET_DEV);
    let full = pass == Pass::Full;
    let nics = counters
        .into_iter()
        .filter(|c| c.name != "lo")
        .map(|counters| {
            let mut r = NicReading {
                counters,
                ..NicReading::default()
            };
            if full {
                let attr = |name: &str| {
                    root.read_string(&format!("/sys/class/net/{}/{name}", r.counters.name))
                        .ok()
                };
                r.flags = attr("flags").as_deref().and_then(net_dev::parse_flags);
                r.operstate = attr("operstate").as_deref().and_then(net_dev::parse_operstate);
                // carrier cannot be read (EINVAL) while the interface is administratively down.
                if r.flags.is_some_and(|f| f & net_dev::IFF_UP != 0) {
                    r.carrier = attr("carrier").as_deref().and_then(net_dev::parse_carrier);
                }
            }
            r
        })
        .collect();
    let default_route = if full {
        match root.read_string(NET_ROUTE) {
            Ok(t) => {
                cov.read_ok(NET_ROUTE);
                let mut routes = net_dev::default_route_interfaces(&t);
                // No ipv6_route: IPv6 is disabled (or an older snapshot); the IPv4 routes stand.
                if let Ok(t6) = root.read_string(NET_IPV6_ROUTE) {
                    cov.read_ok(NET_IPV6_ROUTE);
                    routes.extend(net_dev::default_route_interfaces_v6(&t6));
                    routes.sort();
                    routes.dedup();
                }
                Some(routes)
            }
            Err(e) => {
                if !e.is_not_found() || root.is_live() {
                    cov.read_failed(&e);
                }
                None
            }
        }
    } else {
        None
    };
    Some(NicSample { nics, default_route })
}
