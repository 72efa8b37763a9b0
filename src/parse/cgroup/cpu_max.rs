//! CPU bandwidth limits: cgroup2 `cpu.max`, and cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`.
//!
//! cgroup-v2.rst: "cpu.max  A read-write two value file which exists on non-root cgroups. The default
//! is \"max 100000\". The maximum bandwidth limit. It's in the following format: `$MAX $PERIOD` which
//! indicates that the group may consume up to $MAX in each $PERIOD duration. \"max\" for $MAX
//! indicates no limit." Durations are microseconds.
//!
//! cgroup v1 (Documentation/scheduler/sched-bwc.rst) splits this in two files: `cpu.cfs_quota_us`,
//! where "a value of -1 for cpu.cfs_quota_us indicates that the group does not have any bandwidth
//! restriction in place", and `cpu.cfs_period_us`.

use serde::Serialize;

use super::error::{ParseError, parse_u64, single_line};
use super::single_value::Limit;

/// A CPU bandwidth limit: up to `quota_usec` of CPU time in every `period_usec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuMax {
    /// CPU time allowed per period, in microseconds; `Unlimited` for `max` (v2) or `-1` (v1).
    pub quota_usec: Limit,
    pub period_usec: u64,
}

impl CpuMax {
    /// The limit in CPUs (quota / period), `None` when unlimited or the period is 0.
    pub fn cores(&self) -> Option<f64> {
        let quota = self.quota_usec.value()?;
        (self.period_usec > 0).then(|| quota as f64 / self.period_usec as f64)
    }
}

/// Parse cgroup2 `cpu.max` (`max 100000`, `20000 100000`).
pub fn parse(text: &str) -> Result<CpuMax, ParseError> {
    let (n, line) = single_line(text)?;
    let mut words = line.split_ascii_whitespace();
    let (Some(max), Some(period), None) = (words.next(), words.next(), words.next()) else {
        return Err(ParseError::new(
            n,
            format!("expected \"$MAX $PERIOD\", found {line:?}"),
        ));
    };
    let quota_usec = if max == "max" {
        Limit::Unlimited
    } else {
        Limit::Value(parse_u64(max, n)?)
    };
    Ok(CpuMax {
        quota_usec,
        period_usec: parse_u64(period, n)?,
    })
}

/// Parse cgroup v1 `cpu.cfs_quota_us`: microseconds per period, `-1` for no limit.
pub fn parse_cfs_quota_us(text: &str) -> Result<Limit, ParseError> {
    let (n, word) = single_line(text)?;
    if word == "-1" {
        return Ok(Limit::Unlimited);
    }
    parse_u64(word, n).map(Limit::Value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_cpu_max() {
        let unlimited = parse("max 100000\n").unwrap();
        assert_eq!(unlimited.quota_usec, Limit::Unlimited);
        assert_eq!(unlimited.period_usec, 100000);
        assert_eq!(unlimited.cores(), None);
        let fifth = parse("20000 100000\n").unwrap();
        assert_eq!(fifth.quota_usec, Limit::Value(20000));
        assert_eq!(fifth.cores(), Some(0.2));
    }

    #[test]
    fn v2_cpu_max_errors() {
        assert!(parse("max\n").is_err());
        assert!(parse("max 100000 7\n").is_err());
        assert!(parse("-1 100000\n").is_err());
        assert_eq!(parse("").unwrap_err().line, 1);
    }

    #[test]
    fn v1_quota() {
        assert_eq!(parse_cfs_quota_us("-1\n").unwrap(), Limit::Unlimited);
        assert_eq!(parse_cfs_quota_us("20000\n").unwrap(), Limit::Value(20000));
        assert!(parse_cfs_quota_us("-2\n").is_err());
    }
}
