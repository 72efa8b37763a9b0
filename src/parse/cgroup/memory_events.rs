//! cgroup2 `memory.events`, `memory.events.local` and `memory.swap.events`.
//!
//! cgroup-v2.rst: "memory.events  A read-only flat-keyed file which exists on non-root cgroups. ...
//! Note that all fields in this file are hierarchical and the file modified event can be generated due
//! to an event down the hierarchy. For the local events at the cgroup level see memory.events.local."
//! (Mounting cgroup2 with `memory_localevents` makes memory.events local as well.)
//!
//! "memory.swap.events ... high: The number of times the cgroup's physical swap usage was over the
//! high threshold. max: The number of times the cgroup's physical swap usage was about to go over the
//! max boundary and physical swap allocation failed. fail: The number of times physical swap
//! allocation failed either because of running out of physical swap system-wide or max limit."

use serde::Serialize;

use super::error::ParseError;
use super::flat_keyed;

/// Event counters of memory.events (or .local). The cgroup v1 reading fills only `oom_kill`, from
/// memory.oom_control.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MemoryEvents {
    /// "The number of times the cgroup is reclaimed due to high memory pressure even though its usage
    /// is under the low boundary": the low boundary is overcommitted.
    pub low: Option<u64>,
    /// "The number of times processes of the cgroup are throttled and routed to perform direct memory
    /// reclaim because the high memory boundary was exceeded."
    pub high: Option<u64>,
    /// "The number of times the cgroup's memory usage was about to go over the max boundary. If direct
    /// reclaim fails to bring it down, the cgroup goes to OOM state."
    pub max: Option<u64>,
    /// "The number of time the cgroup's memory usage was reached the limit and allocation was about to
    /// fail." Not raised when the OOM killer is not an option (high-order or no-retry allocations).
    pub oom: Option<u64>,
    /// "The number of processes belonging to this cgroup killed by any kind of OOM killer" (4.13+).
    pub oom_kill: Option<u64>,
    /// "The number of times a group OOM has occurred" (memory.oom.group; 5.17+).
    pub oom_group_kill: Option<u64>,
    /// "The number of times network sockets associated with this cgroup are throttled" (recent).
    pub sock_throttled: Option<u64>,
}

/// Parse `memory.events` or `memory.events.local`.
pub fn parse(text: &str) -> Result<MemoryEvents, ParseError> {
    let m = flat_keyed::parse(text)?;
    Ok(MemoryEvents {
        low: m.get("low"),
        high: m.get("high"),
        max: m.get("max"),
        oom: m.get("oom"),
        oom_kill: m.get("oom_kill"),
        oom_group_kill: m.get("oom_group_kill"),
        sock_throttled: m.get("sock_throttled"),
    })
}

/// Counters of memory.swap.events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MemorySwapEvents {
    pub high: Option<u64>,
    pub max: Option<u64>,
    pub fail: Option<u64>,
}

/// Parse `memory.swap.events`.
pub fn parse_swap(text: &str) -> Result<MemorySwapEvents, ParseError> {
    let m = flat_keyed::parse(text)?;
    Ok(MemorySwapEvents {
        high: m.get("high"),
        max: m.get("max"),
        fail: m.get("fail"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_keys_and_old_kernels() {
        let e =
            parse("low 0\nhigh 12\nmax 40\noom 2\noom_kill 1\noom_group_kill 0\nsock_throttled 0\n").unwrap();
        assert_eq!(e.high, Some(12));
        assert_eq!(e.oom_kill, Some(1));
        assert_eq!(e.oom_group_kill, Some(0));
        // A 4.19 kernel: no oom_group_kill, no sock_throttled.
        let old = parse("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n").unwrap();
        assert_eq!(old.oom_group_kill, None);
        assert_eq!(old.max, Some(3));
    }

    #[test]
    fn swap_events() {
        let s = parse_swap("high 0\nmax 5\nfail 6\n").unwrap();
        assert_eq!((s.high, s.max, s.fail), (Some(0), Some(5), Some(6)));
    }
}
