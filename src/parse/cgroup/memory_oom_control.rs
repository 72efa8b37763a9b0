//! cgroup v1 `memory.oom_control`.
//!
//! Documentation/admin-guide/cgroup-v1/memory.rst, "OOM Control": "memory.oom_control file is for OOM
//! notification and other controls. ... If OOM-killer is disabled, tasks under cgroup will
//! hang/sleep in memory cgroup's OOM-waitqueue when they request accountable memory. ... At reading,
//! current status of OOM is shown. oom_kill_disable 0 or 1 (if 1, oom-killer is disabled);
//! under_oom 0 or 1 (if 1, the memory cgroup is under OOM, tasks may be stopped.); oom_kill integer
//! counter: the number of tasks belonging to this cgroup killed by any kind of OOM killer."
//!
//! `oom_kill` appeared in 4.13 (commit 8e675f7af507); older kernels print the first two keys only.
//! It is the v1 counter osdoctor trusts for OOM kills: memory.failcnt stays 0 when
//! memory.memsw.limit_in_bytes equals the memory limit.

use serde::Serialize;

use super::error::ParseError;
use super::flat_keyed;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OomControl {
    /// The OOM killer is disabled for this cgroup: tasks hang at the limit instead of dying.
    pub oom_kill_disable: Option<bool>,
    /// The cgroup is under OOM right now.
    pub under_oom: Option<bool>,
    /// Tasks of this cgroup killed by any OOM killer (4.13+).
    pub oom_kill: Option<u64>,
}

/// Parse `memory.oom_control`.
pub fn parse(text: &str) -> Result<OomControl, ParseError> {
    let m = flat_keyed::parse(text)?;
    Ok(OomControl {
        oom_kill_disable: m.get_flag("oom_kill_disable"),
        under_oom: m.get_flag("under_oom"),
        oom_kill: m.get("oom_kill"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_old_kernels() {
        let c = parse("oom_kill_disable 0\nunder_oom 1\noom_kill 3\n").unwrap();
        assert_eq!(c.oom_kill_disable, Some(false));
        assert_eq!(c.under_oom, Some(true));
        assert_eq!(c.oom_kill, Some(3));
        let old = parse("oom_kill_disable 0\nunder_oom 0\n").unwrap();
        assert_eq!(old.oom_kill, None);
    }
}
