//! The container's own figures, when osdoctor runs inside one: what its limits allow and what it
//! uses, for the host rules that judge CPU and memory ([`crate::rules::Rule::in_container`]).
//!
//! Inside a container /proc/stat, /proc/meminfo, /proc/loadavg and /proc/pressure are the host's
//! (procfs does not namespace them). What the container may use is its cgroup's: the CPUs are the
//! quota (cpu.max) or the effective cpuset, whichever is fewer, and the memory is the tightest
//! memory.max of its cgroup and the ancestors it sees. What it uses is its own cgroup's (the judged
//! cgroup subject: usage, working set, pressure) and its own processes' states.
//!
//! A container without a CPU limit (no quota, every CPU in its cpuset) or without a memory limit can
//! use the host's: its facts here are "lacked", and the host rules judge the host's figures as they
//! would outside.

use super::{FactSet, Subject};
use crate::collect::container::ContainerSample;
use crate::collect::process::ProcSample;
use crate::sample::Sample;

/// The facts this module derives (host facts: the container is the host osdoctor sees).
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    fact!("container.inside", Number, Host, ["/proc/self/ns/cgroup", "/proc/self/cgroup"], "1 when osdoctor runs inside a container whose own cgroup it judges"),
    fact!("container.cgroup", Text, Host, ["/proc/self/cgroup"], "the container's own cgroup, as `osdoctor cgroup` inside it takes it (`/` in a private cgroup namespace)"),
    fact!("container.cpus", Number, Host, [], "the CPUs the container may use: its CPU quota (cpu.max, v1 cpu.cfs_quota_us) or its effective cpuset, whichever is fewer; absent (lacked) when neither is below the host's CPUs"),
    fact!("container.cpu.used_cpus", Number, Host, rate, [], "CPUs its own cgroup used over the interval (cpu.stat usage_usec, v1 cpuacct.usage)"),
    fact!("container.cpu.busy_ratio", Ratio, Host, rate, [], "container.cpu.used_cpus / container.cpus"),
    fact!("container.cpu.procs_running", Count, Host, ["/proc/[pid]/stat", "/proc/[pid]/task/[tid]/stat"], "its tasks in state R, the lower of both samples, not counting osdoctor itself (a process's other threads are counted where their stat was read: a lower bound)"),
    fact!("container.cpu.runnable_per_cpu", Number, Host, ["/proc/[pid]/stat"], "container.cpu.procs_running / container.cpus"),
    fact!("container.psi.cpu.some_avg10", Percent, Host, [], "its own cgroup's cpu.pressure some avg10 (cgroup v2)"),
    fact!("container.mem.limit_bytes", Bytes, Host, [], "the tightest memory.max (v1 memory.limit_in_bytes) of its cgroup and the ancestors it sees; absent (lacked) when unlimited"),
    fact!("container.mem.working_set_bytes", Bytes, Host, [], "its own cgroup's working set (usage minus inactive_file, as kubelet counts it)"),
    fact!("container.mem.available_bytes", Bytes, Host, [], "container.mem.limit_bytes - container.mem.working_set_bytes"),
    fact!("container.mem.available_ratio", Ratio, Host, [], "container.mem.available_bytes / container.mem.limit_bytes"),
    fact!("container.psi.memory.some_avg10", Percent, Host, [], "its own cgroup's memory.pressure some avg10 (cgroup v2)"),
    fact!("container.psi.memory.full_avg10", Percent, Host, [], "its own cgroup's memory.pressure full avg10 (cgroup v2)"),
];

/// Derive the container's facts into `host`, and mark its own cgroup among `cgroups`
/// (`cgroup.container_own`). Nothing when osdoctor does not run in a container, or runs in one whose
/// own cgroup it cannot tell.
pub fn derive(first: &Sample, second: Option<&Sample>, cgroups: &mut [Subject], host: &mut FactSet) {
    let Some(c) = first.container.as_ref() else { return };
    let Some(own) = c.own_judged() else { return };
    host.num("container.inside", 1.0);
    host.text("container.cgroup", own);
    let own_subject = cgroups.iter_mut().find(|s| s.id.cgroup.as_deref() == Some(own));
    let unread = format!("its own cgroup {own} was not read");
    let own_facts = match own_subject {
        Some(s) => {
            s.facts.num("cgroup.container_own", 1.0);
            Some(s.facts.clone())
        }
        None => None,
    };
    let cgroup_fact = |name: &str| own_facts.as_ref().and_then(|f| f.get_f64(name));

    // CPU: the quota or the cpuset, whichever allows fewer CPUs.
    let host_cpus = host.get_f64("host.cpus");
    let cpuset = c
        .limits
        .cpus
        .map(f64::from)
        .filter(|n| host_cpus.is_none_or(|h| *n < h));
    let cpus = match (c.limits.cpu_quota, cpuset) {
        (Some(q), Some(s)) => Some(q.min(s)),
        (q, s) => q.or(s),
    };
    match cpus {
        Some(cpus) if cpus > 0.0 => {
            host.num("container.cpus", cpus);
            match cgroup_fact("cgroup.cpu.usage_cores") {
                Some(used) => {
                    host.num("container.cpu.used_cpus", used);
                    host.num("container.cpu.busy_ratio", used / cpus);
                }
                None if own_facts.is_none() => {
                    host.absent("container.cpu.used_cpus", unread.clone());
                    host.absent("container.cpu.busy_ratio", unread.clone());
                }
                None => {}
            }
            if let Some(running) = runnable(c, first, second) {
                host.num("container.cpu.procs_running", running as f64);
                host.num("container.cpu.runnable_per_cpu", running as f64 / cpus);
            }
        }
        _ => {
            let why = "the container has no CPU limit (no quota, every CPU in its cpuset): the host's CPUs are its own";
            for name in [
                "container.cpus",
                "container.cpu.busy_ratio",
                "container.cpu.runnable_per_cpu",
            ] {
                host.lacks(name, why);
            }
        }
    }
    match cgroup_fact("cgroup.psi.cpu.some_avg10") {
        Some(p) => host.num("container.psi.cpu.some_avg10", p),
        None => host.absent(
            "container.psi.cpu.some_avg10",
            "no cpu.pressure for the container's own cgroup (cgroup v1 has none; PSI may be off)",
        ),
    }

    // Memory: the limit against the working set.
    match c.limits.memory_bytes {
        Some(limit) if limit > 0 => {
            host.num("container.mem.limit_bytes", limit as f64);
            match cgroup_fact("cgroup.memory.working_set_bytes") {
                Some(ws) => {
                    let available = (limit as f64 - ws).max(0.0);
                    host.num("container.mem.working_set_bytes", ws);
                    host.num("container.mem.available_bytes", available);
                    host.num("container.mem.available_ratio", available / limit as f64);
                }
                None => {
                    let why = if own_facts.is_none() {
                        unread.clone()
                    } else {
                        format!("no working set for its own cgroup {own} (memory.stat unreadable)")
                    };
                    for name in [
                        "container.mem.working_set_bytes",
                        "container.mem.available_bytes",
                        "container.mem.available_ratio",
                    ] {
                        host.absent(name, why.clone());
                    }
                }
            }
        }
        _ => {
            let why = "the container has no memory limit: the host's memory is its own";
            for name in [
                "container.mem.limit_bytes",
                "container.mem.available_bytes",
                "container.mem.available_ratio",
            ] {
                host.lacks(name, why);
            }
        }
    }
    for (from, to) in [
        ("cgroup.psi.memory.some_avg10", "container.psi.memory.some_avg10"),
        ("cgroup.psi.memory.full_avg10", "container.psi.memory.full_avg10"),
    ] {
        match cgroup_fact(from) {
            Some(p) => host.num(to, p),
            None => host.absent(
                to,
                "no memory.pressure for the container's own cgroup (cgroup v1 has none; PSI may be off)",
            ),
        }
    }
}

/// The container's runnable tasks: the lower count of both samples (as for /proc/stat's
/// procs_running), osdoctor's own process left out. `None` when no sample read its processes.
fn runnable(c: &ContainerSample, first: &Sample, second: Option<&Sample>) -> Option<u64> {
    let own = c.own_judged()?;
    let count = |s: &Sample| -> Option<u64> {
        let procs = &s.processes;
        if !procs.scanned {
            return None;
        }
        let n = procs
            .procs
            .iter()
            .filter(|p| p.has_stat() && Some(p.pid) != c.self_pid)
            .filter(|p| c.private_pidns || in_cgroup(p, own))
            .map(runnable_tasks)
            .sum();
        Some(n)
    };
    [Some(first), second]
        .into_iter()
        .flatten()
        .filter_map(count)
        .min()
}

/// Tasks of `p` in state R: every thread's where their stat was read, else its main thread's.
fn runnable_tasks(p: &ProcSample) -> u64 {
    match p.threads.as_ref().filter(|t| !t.states.is_empty()) {
        Some(t) => t.states.iter().filter(|(_, s)| *s == 'R').count() as u64,
        None => u64::from(p.state == 'R'),
    }
}

/// Whether one of the process's cgroup paths is `own` or below it.
fn in_cgroup(p: &ProcSample, own: &str) -> bool {
    let own = own.trim_end_matches('/');
    // A path above the namespace's root reads `/..`: a process outside the container.
    p.cgroups.iter().any(|l| {
        !l.path.starts_with("/..")
            && (own.is_empty()
                || l.path == own
                || l.path.strip_prefix(own).is_some_and(|r| r.starts_with('/')))
    })
}

#[cfg(test)]
mod tests;
