//! `cpu.stat`: cgroup2 (microseconds) and cgroup v1 (nanoseconds), into one [`CpuStat`] in
//! microseconds.
//!
//! cgroup-v2.rst: "cpu.stat  A read-only flat-keyed file. This file exists whether the controller is
//! enabled or not. It always reports the following three stats, which account for all the processes in
//! the cgroup (including those in descendant cgroups): usage_usec, user_usec, system_usec and the
//! following five when the controller is enabled, which account for only the processes under the
//! fair-class scheduler: nr_periods, nr_throttled, throttled_usec, nr_bursts, burst_usec.
//! ... the above five CFS bandwidth stats are non-hierarchical".
//!
//! cgroup v1 `cpu.stat` (Documentation/scheduler/sched-bwc.rst) has `nr_periods`, `nr_throttled` and
//! `throttled_time` — "the total time duration (in nanoseconds) for which entities of the group have
//! been throttled" — and since 5.14 `nr_bursts`, `burst_time` (also nanoseconds). CPU usage lives in
//! the separate cpuacct controller there.

use serde::Serialize;

use super::cpuacct::ns_to_usec;
use super::error::ParseError;
use super::flat_keyed;

/// CPU usage and CFS bandwidth throttling, all durations in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CpuStat {
    pub usage_usec: Option<u64>,
    pub user_usec: Option<u64>,
    pub system_usec: Option<u64>,
    /// Enforcement periods that had runnable tasks.
    pub nr_periods: Option<u64>,
    /// Periods in which the group ran out of quota and was throttled.
    pub nr_throttled: Option<u64>,
    /// Total time the group was throttled.
    pub throttled_usec: Option<u64>,
    pub nr_bursts: Option<u64>,
    pub burst_usec: Option<u64>,
}

/// Parse a cgroup2 `cpu.stat`.
pub fn parse_v2(text: &str) -> Result<CpuStat, ParseError> {
    let m = flat_keyed::parse(text)?;
    Ok(CpuStat {
        usage_usec: m.get("usage_usec"),
        user_usec: m.get("user_usec"),
        system_usec: m.get("system_usec"),
        nr_periods: m.get("nr_periods"),
        nr_throttled: m.get("nr_throttled"),
        throttled_usec: m.get("throttled_usec"),
        nr_bursts: m.get("nr_bursts"),
        burst_usec: m.get("burst_usec"),
    })
}

/// Parse a cgroup v1 `cpu.stat`, converting its nanosecond times to microseconds. Usage fields stay
/// `None`: v1 reports them in cpuacct.
pub fn parse_v1(text: &str) -> Result<CpuStat, ParseError> {
    let m = flat_keyed::parse(text)?;
    Ok(CpuStat {
        nr_periods: m.get("nr_periods"),
        nr_throttled: m.get("nr_throttled"),
        throttled_usec: m.get("throttled_time").map(ns_to_usec),
        nr_bursts: m.get("nr_bursts"),
        burst_usec: m.get("burst_time").map(ns_to_usec),
        ..CpuStat::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_with_and_without_the_controller() {
        let root = parse_v2("usage_usec 254037647\nuser_usec 211135995\nsystem_usec 42901651\nnice_usec 0\n")
            .unwrap();
        assert_eq!(root.usage_usec, Some(254037647));
        assert_eq!(root.nr_throttled, None);
        let limited = parse_v2(
            "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 100\nnr_throttled 40\nthrottled_usec 123456\nnr_bursts 0\nburst_usec 0\n",
        )
        .unwrap();
        assert_eq!(limited.throttled_usec, Some(123456));
        assert_eq!(limited.nr_periods, Some(100));
    }

    #[test]
    fn v1_throttled_time_is_nanoseconds() {
        let s = parse_v1(
            "nr_periods 31\nnr_throttled 31\nthrottled_time 2402242369\nnr_bursts 0\nburst_time 0\n",
        )
        .unwrap();
        assert_eq!(s.throttled_usec, Some(2402242));
        assert_eq!(s.nr_throttled, Some(31));
        assert_eq!(s.usage_usec, None);
        // Before 5.14 there are no burst keys.
        let old = parse_v1("nr_periods 1\nnr_throttled 0\nthrottled_time 0\n").unwrap();
        assert_eq!(old.nr_bursts, None);
    }
}
