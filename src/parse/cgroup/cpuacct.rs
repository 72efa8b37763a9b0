//! cgroup v1 cpuacct controller: `cpuacct.usage`, `cpuacct.usage_user`, `cpuacct.usage_sys`,
//! `cpuacct.usage_percpu` and `cpuacct.stat`.
//!
//! Documentation/admin-guide/cgroup-v1/cpuacct.rst: "cpuacct.usage gives the CPU time (in
//! nanoseconds) obtained by this group which is essentially the CPU time obtained by all the tasks in
//! the system"; "cpuacct.usage_percpu file gives the CPU time (in nanoseconds) consumed by this group
//! on every CPU"; "cpuacct.stat file lists a few statistics which further divide the CPU time obtained
//! by the cgroup into user and system times ... The unit is USER_HZ". osdoctor reads the nanosecond
//! files (`usage_user`, `usage_sys`) rather than the tick counts, which need the tick rate to convert.

use serde::Serialize;

use super::error::{ParseError, parse_u64, single_line};
use super::flat_keyed;
use super::single_value::parse_value;

/// Nanoseconds to microseconds, the unit every osdoctor CPU time is in.
pub fn ns_to_usec(ns: u64) -> u64 {
    ns / 1000
}

/// Parse `cpuacct.usage` (or `cpuacct.usage_user`, `cpuacct.usage_sys`): total CPU time in
/// nanoseconds.
pub fn parse_usage_ns(text: &str) -> Result<u64, ParseError> {
    parse_value(text)
}

/// Parse `cpuacct.usage_percpu` (or `_user`, `_sys`): nanoseconds per CPU, space separated, in CPU
/// order (the kernel leaves a trailing space).
pub fn parse_usage_percpu_ns(text: &str) -> Result<Vec<u64>, ParseError> {
    let (n, line) = single_line(text)?;
    line.split_ascii_whitespace().map(|w| parse_u64(w, n)).collect()
}

/// `cpuacct.stat`: user and system time in USER_HZ ticks (100 per second on every architecture
/// osdoctor runs on, but read the tick rate rather than assume it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CpuacctStat {
    pub user_ticks: Option<u64>,
    pub system_ticks: Option<u64>,
}

/// Parse `cpuacct.stat` (flat-keyed `user N` / `system N`).
pub fn parse_stat(text: &str) -> Result<CpuacctStat, ParseError> {
    let map = flat_keyed::parse(text)?;
    Ok(CpuacctStat {
        user_ticks: map.get("user"),
        system_ticks: map.get("system"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_percpu() {
        assert_eq!(parse_usage_ns("256748480218\n").unwrap(), 256748480218);
        assert_eq!(ns_to_usec(256748480218), 256748480);
        // Real content on a two-CPU machine: note the trailing space.
        assert_eq!(
            parse_usage_percpu_ns("124055568407 132695694822 \n").unwrap(),
            vec![124055568407, 132695694822]
        );
        assert!(parse_usage_percpu_ns("1 x\n").is_err());
    }

    #[test]
    fn stat_in_ticks() {
        let s = parse_stat("user 21338\nsystem 4336\n").unwrap();
        assert_eq!(s.user_ticks, Some(21338));
        assert_eq!(s.system_ticks, Some(4336));
    }
}
