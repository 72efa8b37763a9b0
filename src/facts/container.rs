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
    fact!("container.cpus", Number, Host, [], "the CPUs the container may use: its own cgroup's CPU quota (cpu.max, v1 cpu.cfs_quota_us), its effective cpuset and the host's CPUs, whichever is fewest; absent (lacked) when that is the host's"),
    fact!("container.cpu.used_cpus", Number, Host, rate, [], "CPUs its own cgroup used over the interval (cpu.stat usage_usec, v1 cpuacct.usage)"),
    fact!("container.cpu.busy_ratio", Ratio, Host, rate, [], "container.cpu.used_cpus / container.cpus"),
    fact!("container.cpu.procs_running", Count, Host, ["/proc/[pid]/stat", "/proc/[pid]/task/[tid]/stat"], "its processes' tasks in state R (the processes in its cgroup in the first sample), the lower of both samples, not counting osdoctor itself; a process's other threads are counted where their stat was read"),
    fact!("container.cpu.runnable_per_cpu", Number, Host, ["/proc/[pid]/stat"], "container.cpu.procs_running per whole CPU of its limit (0.5 CPUs count as 1: one thread cannot queue behind itself)"),
    fact!("container.psi.cpu.some_avg10", Percent, Host, [], "its own cgroup's cpu.pressure some avg10 (cgroup v2)"),
    fact!("container.mem.limit_bytes", Bytes, Host, [], "its own cgroup's memory.max (v1 memory.limit_in_bytes); absent (lacked) when unlimited or not below the host's MemTotal (a limit set on an ancestor is judged on that cgroup)"),
    fact!("container.mem.working_set_bytes", Bytes, Host, [], "its own cgroup's working set (usage minus inactive_file, as kubelet counts it)"),
    fact!("container.mem.available_bytes", Bytes, Host, [], "what it can still get: its limit minus its working set, or the host's MemAvailable when that is less"),
    fact!("container.mem.available_ratio", Ratio, Host, [], "container.mem.available_bytes / container.mem.limit_bytes"),
    fact!("container.psi.memory.some_avg10", Percent, Host, [], "its own cgroup's memory.pressure some avg10 (cgroup v2)"),
    fact!("container.psi.memory.full_avg10", Percent, Host, [], "its own cgroup's memory.pressure full avg10 (cgroup v2)"),
];

/// Derive the container's facts into `host`, and mark its own cgroup among `cgroups`
/// (`cgroup.container_own`). Nothing when osdoctor does not run in a container, or runs in one whose
/// own cgroup it cannot tell.
///
/// The limits judged are its own cgroup's: a limit on an ancestor (a pod's, `/kubepods`' node
/// allocatable, a `--cgroup-parent`'s) bounds its siblings too, and the cgroup rules judge it on
/// that cgroup with that cgroup's own use.
pub fn derive(first: &Sample, second: Option<&Sample>, cgroups: &mut [Subject], host: &mut FactSet) {
    let Some(c) = first.container.as_ref() else { return };
    let Some(own) = c.own_judged() else { return };
    host.num("container.inside", 1.0);
    host.text("container.cgroup", own);
    let own_facts = match cgroups.iter_mut().find(|s| s.id.cgroup.as_deref() == Some(own)) {
        Some(s) => {
            s.facts.num("cgroup.container_own", 1.0);
            Some(s.facts.clone())
        }
        None => None,
    };
    let Some(own_facts) = own_facts else {
        let why = format!("its own cgroup {own} was not read");
        for def in FACTS.iter().skip(2) {
            host.absent(def.name, why.clone());
        }
        return;
    };
    let cgroup_fact = |name: &str| own_facts.get_f64(name);
    cpu(c, first, second, &own_facts, host);
    memory(&own_facts, host);
    for (from, to, file) in [
        (
            "cgroup.psi.cpu.some_avg10",
            "container.psi.cpu.some_avg10",
            "cpu.pressure",
        ),
        (
            "cgroup.psi.memory.some_avg10",
            "container.psi.memory.some_avg10",
            "memory.pressure",
        ),
        (
            "cgroup.psi.memory.full_avg10",
            "container.psi.memory.full_avg10",
            "memory.pressure",
        ),
    ] {
        match cgroup_fact(from) {
            Some(p) => host.num(to, p),
            None => host.absent(
                to,
                format!("no {file} for the container's own cgroup (cgroup v1 has none; PSI may be off)"),
            ),
        }
    }
}

fn cpu(c: &ContainerSample, first: &Sample, second: Option<&Sample>, own: &FactSet, host: &mut FactSet) {
    let host_cpus = host.get_f64("host.cpus");
    let cpus = [
        own.get_f64("cgroup.cpu.quota_cores"),
        c.limits.cpus.map(f64::from),
        host_cpus,
    ]
    .into_iter()
    .flatten()
    .filter(|n| *n > 0.0)
    .reduce(f64::min);
    let limited = match (cpus, host_cpus) {
        (Some(cpus), Some(all)) => cpus < all,
        (Some(_), None) => true,
        _ => false,
    };
    let Some(cpus) = cpus.filter(|_| limited) else {
        let why = "the container's CPUs are not limited below the host's (no quota on its own cgroup, every CPU in its cpuset): the host's CPUs judge it";
        for name in [
            "container.cpus",
            "container.cpu.busy_ratio",
            "container.cpu.runnable_per_cpu",
        ] {
            host.lacks(name, why);
        }
        return;
    };
    host.num("container.cpus", cpus);
    match own.get_f64("cgroup.cpu.usage_cores") {
        Some(used) => {
            host.num("container.cpu.used_cpus", used);
            host.num("container.cpu.busy_ratio", used / cpus);
        }
        // One sample: the catalogue says a rate needs two.
        None if second.is_none() => {}
        None => {
            let why = "its own cgroup's CPU usage was not read (cpu.stat usage_usec, v1 cpuacct.usage)";
            host.absent("container.cpu.used_cpus", why);
            host.absent("container.cpu.busy_ratio", why);
        }
    }
    match runnable(c, first, second) {
        Some(running) => {
            host.num("container.cpu.procs_running", running as f64);
            host.num(
                "container.cpu.runnable_per_cpu",
                running as f64 / cpus.ceil().max(1.0),
            );
        }
        None => {
            let why = "its processes were not read";
            host.absent("container.cpu.procs_running", why);
            host.absent("container.cpu.runnable_per_cpu", why);
        }
    }
}

fn memory(own: &FactSet, host: &mut FactSet) {
    let host_total = host.get_f64("host.mem.total_bytes");
    let limit = own
        .get_f64("cgroup.memory.max_bytes")
        .filter(|l| *l > 0.0 && host_total.is_none_or(|t| *l < t));
    let Some(limit) = limit else {
        let why = "the container's own cgroup has no memory limit below the host's memory: the host's memory judges it";
        for name in [
            "container.mem.limit_bytes",
            "container.mem.available_bytes",
            "container.mem.available_ratio",
        ] {
            host.lacks(name, why);
        }
        return;
    };
    host.num("container.mem.limit_bytes", limit);
    let Some(ws) = own.get_f64("cgroup.memory.working_set_bytes") else {
        let why = "no working set for the container's own cgroup (memory.stat unreadable)";
        for name in [
            "container.mem.working_set_bytes",
            "container.mem.available_bytes",
            "container.mem.available_ratio",
        ] {
            host.absent(name, why);
        }
        return;
    };
    // Below its limit it still takes from the host's memory: when the host has less to give, that
    // is what it can get.
    let mut available = (limit - ws).max(0.0);
    if let Some(host_available) = host.get_f64("host.mem.available_bytes") {
        available = available.min(host_available);
    }
    host.num("container.mem.working_set_bytes", ws);
    host.num("container.mem.available_bytes", available);
    host.num("container.mem.available_ratio", available / limit);
}

/// The container's runnable tasks: its processes are those in its cgroup in the first sample (the
/// second pass does not re-read /proc/PID/cgroup); the lower count of both samples (as for
/// /proc/stat's procs_running), osdoctor's own process left out. `None` when no sample read its
/// processes.
fn runnable(c: &ContainerSample, first: &Sample, second: Option<&Sample>) -> Option<u64> {
    let own = c.own_judged()?;
    if !first.processes.scanned {
        return None;
    }
    let members: std::collections::BTreeSet<(i32, u64)> = first
        .processes
        .procs
        .iter()
        .filter(|p| p.has_stat() && Some(p.pid) != c.self_pid && in_cgroup(p, own))
        .map(|p| (p.pid, p.starttime))
        .collect();
    let count = |s: &Sample| -> Option<u64> {
        s.processes.scanned.then(|| {
            s.processes
                .procs
                .iter()
                .filter(|p| p.has_stat() && members.contains(&(p.pid, p.starttime)))
                .map(runnable_tasks)
                .sum()
        })
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
