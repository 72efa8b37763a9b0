//! `pids.events` (cgroup2, and cgroup v1 since 4.3).
//!
//! cgroup-v2.rst: "pids.events  A read-only flat-keyed file which exists on non-root cgroups. ... max:
//! The number of times the cgroup's total number of processes hit the pids.max limit". Since 6.11 the
//! counter is hierarchical and `pids.events.local` holds the local one.
//!
//! The kernel logs "fork rejected by pids controller" only the first time a cgroup hits its limit, so
//! this counter, not the log, tells how often forks fail.

use serde::Serialize;

use super::error::ParseError;
use super::flat_keyed;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PidsEvents {
    /// Forks rejected because pids.max was reached.
    pub max: Option<u64>,
}

/// Parse `pids.events`.
pub fn parse(text: &str) -> Result<PidsEvents, ParseError> {
    Ok(PidsEvents {
        max: flat_keyed::parse(text)?.get("max"),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn max_count() {
        assert_eq!(super::parse("max 7\n").unwrap().max, Some(7));
        // 6.11+ may add max.imposed; it is ignored.
        assert_eq!(super::parse("max 2\nmax.imposed 0\n").unwrap().max, Some(2));
    }
}
