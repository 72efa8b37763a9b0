//! The container's own figures, when osdoctor runs inside one: what its own cgroup's limits allow
//! and what it uses, for the host rules that judge CPU and memory
//! ([`crate::rules::Rule::in_container`]).
//!
//! Inside a container /proc/stat, /proc/meminfo, /proc/loadavg and /proc/pressure are the host's
//! (procfs does not namespace them). The CPUs it may use are the fewest of its own cgroup's quota
//! (cpu.max), its effective cpuset and the host's CPUs; its memory is its own cgroup's memory.max.
//! What it uses is its own cgroup's (usage, working set, pressure) and its processes' states (the
//! processes in its cgroup: a pod sharing its PID namespace shows its sidecars too).
//!
//! A container without a limit of its own below the host's capacity (no quota, every CPU in its
//! cpuset; no memory.max, or one above MemTotal) uses the host's: its facts here are "lacked", and
//! the host rules judge the host's figures as they would outside; so are its pressure facts without
//! cgroup pressure files (cgroup v1). A limit on an ancestor (a pod's, `/kubepods`' node
//! allocatable, a `--cgroup-parent`'s) bounds its siblings too: the cgroup rules judge it on that
//! cgroup, with that cgroup's own use.

use std::collections::BTreeSet;

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
    fact!("container.top_cpu_processes", Text, Host, rate, ["/proc/[pid]/stat"], "its processes using the most CPU over the interval"),
    fact!("container.psi.cpu.some_avg10", Percent, Host, [], "its own cgroup's cpu.pressure some avg10 (cgroup v2; absent (lacked) without it: the host's pressure judges it)"),
    fact!("container.mem.limit_bytes", Bytes, Host, [], "its own cgroup's memory.max (v1 memory.limit_in_bytes); absent (lacked) when unlimited or not below the host's MemTotal (a limit set on an ancestor is judged on that cgroup)"),
    fact!("container.mem.working_set_bytes", Bytes, Host, [], "its own cgroup's working set (usage minus inactive_file, as kubelet counts it)"),
    fact!("container.mem.available_bytes", Bytes, Host, [], "what it can still get: its limit minus its working set, or the host's MemAvailable when that is less"),
    fact!("container.mem.available_ratio", Ratio, Host, [], "container.mem.available_bytes / container.mem.limit_bytes"),
    fact!("container.psi.memory.some_avg10", Percent, Host, [], "its own cgroup's memory.pressure some avg10 (cgroup v2; lacked without it)"),
    fact!("container.psi.memory.full_avg10", Percent, Host, [], "its own cgroup's memory.pressure full avg10 (cgroup v2; lacked without it)"),
];

/// Derive the container's facts into `host`, and mark its own cgroup among `cgroups`
/// (`cgroup.container_own`); `processes` are the process subjects (for its top CPU consumers).
/// Returns the note that says what was judged against what. Nothing when osdoctor does not run in
/// a container, or runs in one whose own cgroup it cannot tell.
pub fn derive(
    first: &Sample,
    second: Option<&Sample>,
    cgroups: &mut [Subject],
    processes: Option<&[Subject]>,
    host: &mut FactSet,
) -> Option<String> {
    let c = first.container.as_ref()?;
    let own = c.own_judged()?;
    host.num("container.inside", 1.0);
    host.text("container.cgroup", own);
    let own_subject = cgroups.iter_mut().find(|s| s.id.cgroup.as_deref() == Some(own));
    let Some(own_subject) = own_subject else {
        let why = format!("its own cgroup {own} was not read");
        for def in FACTS.iter().skip(2) {
            host.absent(def.name, why.clone());
        }
        return Some(format!(
            "inside a container, but its own cgroup {own} was not read: its CPU and memory are not judged"
        ));
    };
    own_subject.facts.num("cgroup.container_own", 1.0);
    let own_facts = own_subject.facts.clone();
    let members = members(c, first);
    let cpu_limited = cpu(c, second, &own_facts, members.as_ref(), first, host);
    let memory_limited = memory(&own_facts, host);
    if let (Some(members), Some(procs)) = (&members, processes) {
        top_cpu(members, procs, host);
    }
    for (from, to, file) in PRESSURE {
        match own_facts.get_f64(from) {
            Some(p) => host.num(to, p),
            // Without the cgroup's own pressure the host's is the best there is, judged as the host's.
            None => host.lacks(
                to,
                format!("no {file} for the container's own cgroup (cgroup v1 has none; PSI may be off)"),
            ),
        }
    }
    let note = match (cpu_limited, memory_limited) {
        (true, true) => {
            "inside a container: CPU and memory judged against its own cgroup's limits, not the host's /proc"
        }
        (true, false) => {
            "inside a container: CPU judged against its own cgroup's limit; memory by the host's (no limit below it)"
        }
        (false, true) => {
            "inside a container: memory judged against its own cgroup's limit; CPU by the host's (no limit below it)"
        }
        (false, false) => {
            "inside a container with no CPU or memory limit below the host's: the host's /proc figures judge it"
        }
    };
    Some(note.to_string())
}

/// Its own cgroup's pressure facts, the container facts they give, and their file.
const PRESSURE: [(&str, &str, &str); 3] = [
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
];

/// Its CPU facts; whether its CPUs are limited below the host's (the forms judge them then).
fn cpu(
    c: &ContainerSample,
    second: Option<&Sample>,
    own: &FactSet,
    members: Option<&BTreeSet<(i32, u64)>>,
    first: &Sample,
    host: &mut FactSet,
) -> bool {
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
        return false;
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
    match members.and_then(|m| runnable(m, first, second)) {
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
    true
}

/// Its memory facts; whether its own cgroup limits its memory below the host's.
fn memory(own: &FactSet, host: &mut FactSet) -> bool {
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
        return false;
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
        return true;
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
    true
}

/// Its processes using the most CPU, named as `host.top_cpu_processes` names them.
fn top_cpu(members: &BTreeSet<(i32, u64)>, procs: &[Subject], host: &mut FactSet) {
    let mut top: Vec<(f64, &Subject)> = procs
        .iter()
        .filter(|p| {
            p.id.pid
                .is_some_and(|pid| members.contains(&(pid, p.id.start_time.unwrap_or(0))))
        })
        .filter_map(|p| Some((p.facts.get_f64("proc.cpu.cores")?, p)))
        .filter(|(cores, _)| *cores > 0.0)
        .collect();
    top.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Not those with a hundredth of the top one's.
    let floor = top.first().map(|t| t.0 / 100.0).unwrap_or(0.0);
    let text: Vec<String> = top
        .iter()
        .filter(|(cores, _)| *cores >= floor)
        .take(3)
        .map(|(cores, p)| format!("{} {:.0}% of a CPU", p.id.label(), cores * 100.0))
        .collect();
    if !text.is_empty() {
        host.text("container.top_cpu_processes", text.join("; "));
    }
}

/// The container's processes (pid and start time): those in its cgroup in the first sample (the
/// second pass does not re-read /proc/PID/cgroup), osdoctor's own left out. `None` when the first
/// sample read no processes.
fn members(c: &ContainerSample, first: &Sample) -> Option<BTreeSet<(i32, u64)>> {
    let own = c.own_judged()?;
    first.processes.scanned.then(|| {
        first
            .processes
            .procs
            .iter()
            .filter(|p| p.has_stat() && Some(p.pid) != c.self_pid && in_cgroup(p, own))
            .map(|p| (p.pid, p.starttime))
            .collect()
    })
}

/// Its runnable tasks: the lower count of both samples (as for /proc/stat's procs_running).
fn runnable(members: &BTreeSet<(i32, u64)>, first: &Sample, second: Option<&Sample>) -> Option<u64> {
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
