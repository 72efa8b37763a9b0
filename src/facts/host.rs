//! Host facts from one or two [`Sample`]s.

use procfs_core::CpuTime;

use super::FactSet;
use crate::clock::{rate, rate_i64};
use crate::collect::host::HostSample;
use crate::sample::Sample;

/// The facts this module derives (from /proc/stat, meminfo, vmstat, loadavg, PSI, file-nr and sysctls).
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    // CPU and scheduling
    fact!("host.cpus", Count, Host, ["/proc/stat"], "online CPUs (cpuN lines in /proc/stat)"),
    fact!("host.cpu.busy_ratio", Ratio, Host, rate, ["/proc/stat"], "share of all CPU time busy over the interval: user+nice+system+irq+softirq+steal"),
    fact!("host.cpu.user_ratio", Ratio, Host, rate, ["/proc/stat"], "share of CPU time in user mode (user+nice)"),
    fact!("host.cpu.system_ratio", Ratio, Host, rate, ["/proc/stat"], "share of CPU time in the kernel (system+irq+softirq)"),
    fact!("host.cpu.iowait_ratio", Ratio, Host, rate, ["/proc/stat"], "share of CPU time idle while I/O was outstanding"),
    fact!("host.cpu.steal_ratio", Ratio, Host, rate, ["/proc/stat"], "share of CPU time the hypervisor gave to others"),
    fact!("host.cpu.procs_running", Count, Host, ["/proc/stat"], "runnable tasks, the lower of both samples, not counting osdoctor itself"),
    fact!("host.cpu.runnable_per_cpu", Number, Host, ["/proc/stat"], "runnable tasks per CPU (host.cpu.procs_running / host.cpus)"),
    fact!("host.cpu.procs_blocked", Count, Host, ["/proc/stat"], "tasks blocked on I/O (procs_blocked)"),
    fact!("host.cpu.ctxt_rate", PerSecond, Host, rate, ["/proc/stat"], "context switches per second, all CPUs"),
    fact!("host.cpu.ctxt_per_cpu_rate", PerSecond, Host, rate, ["/proc/stat"], "context switches per second per CPU"),
    fact!("host.load1", Number, Host, ["/proc/loadavg"], "1-minute load average (lags by minutes)"),
    fact!("host.load1_per_cpu", Number, Host, ["/proc/loadavg", "/proc/stat"], "1-minute load average per CPU"),
    fact!("host.psi.cpu.some_avg10", Percent, Host, ["/proc/pressure/cpu"], "PSI: share of the last 10 s some task waited for a CPU"),
    // Memory and swap
    fact!("host.mem.total_bytes", Bytes, Host, ["/proc/meminfo"], "MemTotal"),
    fact!("host.mem.available_bytes", Bytes, Host, ["/proc/meminfo"], "MemAvailable: memory available for new work without swapping"),
    fact!("host.mem.available_ratio", Ratio, Host, ["/proc/meminfo"], "MemAvailable / MemTotal"),
    fact!("host.psi.memory.some_avg10", Percent, Host, ["/proc/pressure/memory"], "PSI: share of the last 10 s some task stalled on memory"),
    fact!("host.psi.memory.full_avg10", Percent, Host, ["/proc/pressure/memory"], "PSI: share of the last 10 s all non-idle tasks stalled on memory"),
    fact!("host.swap.total_bytes", Bytes, Host, ["/proc/meminfo"], "SwapTotal"),
    fact!("host.swap.used_bytes", Bytes, Host, ["/proc/meminfo"], "SwapTotal - SwapFree"),
    fact!("host.swap.used_ratio", Ratio, Host, ["/proc/meminfo"], "swap used / swap total (absent without swap)"),
    fact!("host.vm.pswpin_rate", PagesPerSecond, Host, rate, ["/proc/vmstat"], "pages swapped in per second"),
    fact!("host.vm.pswpout_rate", PagesPerSecond, Host, rate, ["/proc/vmstat"], "pages swapped out per second"),
    fact!("host.vm.majfault_share_of_block_reads", Ratio, Host, rate, ["/proc/vmstat"], "pages read by major faults / all block reads over the interval (pgmajfault x page size / pgpgin KiB; a fault that reads ahead reads more than its page, so this is a lower bound)"),
    fact!("host.vm.refault_share_of_block_reads", Ratio, Host, rate, ["/proc/vmstat"], "page-cache refaults / all block reads over the interval (workingset_refault_file x page size / pgpgin KiB)"),
    fact!("host.vm.swap_share_of_block_io", Ratio, Host, rate, ["/proc/vmstat"], "swap I/O / all block I/O over the interval ((pswpin + pswpout) x page size / (pgpgin + pgpgout) KiB)"),
    fact!("host.vm.swap_io_rate", PagesPerSecond, Host, rate, ["/proc/vmstat"], "pages swapped in plus out per second"),
    fact!("host.vm.pgmajfault_rate", PerSecond, Host, rate, ["/proc/vmstat"], "major page faults per second (a page read from disk or swap)"),
    fact!("host.vm.allocstall_rate", PerSecond, Host, rate, ["/proc/vmstat"], "allocations that stalled in direct reclaim per second (allocstall_*)"),
    fact!("host.vm.refault_file_rate", PagesPerSecond, Host, rate, ["/proc/vmstat"], "page-cache refaults per second (workingset_refault_file, or workingset_refault before 5.9)"),
    fact!("host.vm.oom_kill_total", Count, Host, ["/proc/vmstat"], "OOM kills since boot (vmstat oom_kill, 4.13+)"),
    fact!("host.vm.oom_kill_delta", Count, Host, rate, ["/proc/vmstat"], "OOM kills during the interval"),
    fact!("host.mem.overcommit_memory", Number, Host, ["/proc/sys/vm/overcommit_memory"], "vm.overcommit_memory (2 = strict accounting)"),
    fact!("host.mem.committed_as_bytes", Bytes, Host, ["/proc/meminfo"], "Committed_AS"),
    fact!("host.mem.commit_limit_bytes", Bytes, Host, ["/proc/meminfo"], "CommitLimit"),
    fact!("host.mem.commit_ratio", Ratio, Host, ["/proc/meminfo"], "Committed_AS / CommitLimit"),
    fact!("host.mem.hugepages_bytes", Bytes, Host, ["/proc/meminfo"], "static huge pages reserved (HugePages_Total x Hugepagesize)"),
    fact!("host.mem.hugepages_ram_ratio", Ratio, Host, ["/proc/meminfo"], "static huge pages / MemTotal"),
    fact!("host.mem.hugepages_free_ratio", Ratio, Host, ["/proc/meminfo"], "HugePages_Free / HugePages_Total (absent without huge pages)"),
    fact!("host.vm.swappiness", Number, Host, ["/proc/sys/vm/swappiness"], "vm.swappiness"),
    // File descriptors and tasks
    fact!("host.fd.allocated", Count, Host, ["/proc/sys/fs/file-nr"], "file handles allocated (file-nr first field minus unused)"),
    fact!("host.fd.max", Count, Host, ["/proc/sys/fs/file-nr"], "fs.file-max"),
    fact!("host.fd.used_ratio", Ratio, Host, ["/proc/sys/fs/file-nr"], "allocated file handles / fs.file-max"),
    fact!("host.tasks.count", Count, Host, ["/proc/loadavg"], "tasks (threads) that exist (4th field of /proc/loadavg)"),
    fact!("host.tasks.limit", Count, Host, ["/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max"], "min(kernel.pid_max, kernel.threads-max)"),
    fact!("host.tasks.used_ratio", Ratio, Host, [ "/proc/loadavg", "/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max" ], "tasks / min(pid_max, threads-max)"),
    fact!("host.psi.io.some_avg10", Percent, Host, ["/proc/pressure/io"], "PSI: share of the last 10 s some task stalled on I/O"),
    fact!("host.psi.io.full_avg10", Percent, Host, ["/proc/pressure/io"], "PSI: share of the last 10 s all non-idle tasks stalled on I/O"),
    fact!("host.net.somaxconn", Number, Host, ["/proc/sys/net/core/somaxconn"], "net.core.somaxconn: the cap on a listening socket's accept queue"),
    fact!("host.net.tcp_max_syn_backlog", Number, Host, ["/proc/sys/net/ipv4/tcp_max_syn_backlog"], "net.ipv4.tcp_max_syn_backlog: half-open connections kept per listener"),
    fact!("host.kernel_log.readable", Number, Host, ["/dev/kmsg"], "1 when the kernel log could be read (/dev/kmsg needs CAP_SYSLOG when kernel.dmesg_restrict = 1)"),
];

/// Derive the host facts. `second` is `None` with `--interval 0`; rate facts are then absent.
pub fn derive(first: &Sample, second: Option<&Sample>, page_size: u64) -> FactSet {
    let mut f = FactSet::default();
    let h1 = &first.host;
    let elapsed = second.map(|s| s.mono_secs - first.mono_secs);
    let latest = second.map(|s| &s.host).unwrap_or(h1);

    cpu(&mut f, h1, second.map(|s| &s.host), elapsed);
    memory(&mut f, h1);
    if let (Some(h2), Some(dt)) = (second.map(|s| &s.host), elapsed) {
        vm_rates(&mut f, h1, h2, dt, page_size);
    }
    if let Some(oom) = latest.vmstat.as_ref().and_then(|v| v.get("oom_kill")) {
        f.num("host.vm.oom_kill_total", *oom as f64);
    } else if latest.vmstat.is_some() {
        f.absent(
            "host.vm.oom_kill_total",
            "/proc/vmstat has no oom_kill counter (kernel before 4.13)",
        );
    }
    limits(&mut f, h1);
    f
}

/// CPU time of the busy states, in ticks.
fn busy_ticks(t: &CpuTime) -> u64 {
    t.user + t.nice + t.system + t.irq.unwrap_or(0) + t.softirq.unwrap_or(0) + t.steal.unwrap_or(0)
}

/// All CPU time, in ticks. guest and guest_nice are already inside user and nice (kernel/sched/cputime.c).
fn total_ticks(t: &CpuTime) -> u64 {
    busy_ticks(t) + t.idle + t.iowait.unwrap_or(0)
}

fn cpu(f: &mut FactSet, h1: &HostSample, h2: Option<&HostSample>, elapsed: Option<f64>) {
    let Some(s1) = &h1.stat else { return };
    let cpus = s1.cpu_time.len().max(1) as f64;
    f.num("host.cpus", cpus);

    // procs_running counts the task reading /proc/stat: osdoctor itself, or the `osdoctor snapshot` that
    // captured the file (a root mounted at /host is the same kernel, so the same holds there).
    let own = 1;
    let running = [Some(s1), h2.and_then(|h| h.stat.as_ref())]
        .into_iter()
        .flatten()
        .filter_map(|s| s.procs_running)
        .min()
        .map(|r| r.saturating_sub(own));
    if let Some(r) = running {
        f.num("host.cpu.procs_running", r as f64);
        f.num("host.cpu.runnable_per_cpu", r as f64 / cpus);
    }
    // procs_blocked is an instant: the higher of the two samples says more about the interval.
    let blocked = [Some(s1), h2.and_then(|h| h.stat.as_ref())]
        .into_iter()
        .flatten()
        .filter_map(|s| s.procs_blocked)
        .max();
    f.opt("host.cpu.procs_blocked", blocked.map(f64::from));
    // Files read on the first pass only (the second pass reads what rates need).
    if let Some(l) = &h1.loadavg {
        // /proc/loadavg prints two decimals; procfs-core hands an f32.
        let load1 = (l.one as f64 * 100.0).round() / 100.0;
        f.num("host.load1", load1);
        f.num("host.load1_per_cpu", load1 / cpus);
    }
    if let Some(p) = h1.psi_cpu.and_then(|p| p.some) {
        f.num("host.psi.cpu.some_avg10", p.avg10);
    }

    let (Some(s2), Some(dt)) = (h2.and_then(|h| h.stat.as_ref()), elapsed) else {
        return;
    };
    let (a, b) = (&s1.total, &s2.total);
    let total = total_ticks(b).checked_sub(total_ticks(a)).filter(|t| *t > 0);
    if let Some(total) = total {
        let share = |x: u64, y: u64| y.checked_sub(x).map(|d| d as f64 / total as f64);
        f.opt("host.cpu.busy_ratio", share(busy_ticks(a), busy_ticks(b)));
        f.opt("host.cpu.user_ratio", share(a.user + a.nice, b.user + b.nice));
        f.opt(
            "host.cpu.system_ratio",
            share(
                a.system + a.irq.unwrap_or(0) + a.softirq.unwrap_or(0),
                b.system + b.irq.unwrap_or(0) + b.softirq.unwrap_or(0),
            ),
        );
        if let (Some(x), Some(y)) = (a.iowait, b.iowait) {
            f.opt("host.cpu.iowait_ratio", share(x, y));
        }
        if let (Some(x), Some(y)) = (a.steal, b.steal) {
            f.opt("host.cpu.steal_ratio", share(x, y));
        }
    }
    if let Some(r) = rate(s1.ctxt, s2.ctxt, dt) {
        f.num("host.cpu.ctxt_rate", r);
        f.num("host.cpu.ctxt_per_cpu_rate", r / cpus);
    }
}

fn memory(f: &mut FactSet, h: &HostSample) {
    if let Some(p) = h.psi_memory {
        f.opt("host.psi.memory.some_avg10", p.some.map(|l| l.avg10));
        f.opt("host.psi.memory.full_avg10", p.full.map(|l| l.avg10));
    }
    if let Some(p) = h.psi_io {
        f.opt("host.psi.io.some_avg10", p.some.map(|l| l.avg10));
        f.opt("host.psi.io.full_avg10", p.full.map(|l| l.avg10));
    }
    let Some(m) = &h.meminfo else { return };
    let total = m.mem_total as f64;
    f.num("host.mem.total_bytes", total);
    match m.mem_available {
        Some(avail) => {
            f.num("host.mem.available_bytes", avail as f64);
            if m.mem_total > 0 {
                f.num("host.mem.available_ratio", avail as f64 / total);
            }
        }
        None => {
            let why = "/proc/meminfo has no MemAvailable (kernel before 3.14)";
            f.absent("host.mem.available_bytes", why);
            f.absent("host.mem.available_ratio", why);
        }
    }
    f.num("host.swap.total_bytes", m.swap_total as f64);
    let used = m.swap_total.saturating_sub(m.swap_free);
    f.num("host.swap.used_bytes", used as f64);
    if m.swap_total > 0 {
        f.num("host.swap.used_ratio", used as f64 / m.swap_total as f64);
    } else {
        f.lacks("host.swap.used_ratio", "no swap is configured (SwapTotal is 0)");
    }
    f.num("host.mem.committed_as_bytes", m.committed_as as f64);
    if let Some(limit) = m.commit_limit {
        f.num("host.mem.commit_limit_bytes", limit as f64);
        if limit > 0 {
            f.num("host.mem.commit_ratio", m.committed_as as f64 / limit as f64);
        }
    }
    if let (Some(n), Some(size)) = (m.hugepages_total, m.hugepagesize) {
        let bytes = n.saturating_mul(size) as f64;
        f.num("host.mem.hugepages_bytes", bytes);
        if m.mem_total > 0 {
            f.num("host.mem.hugepages_ram_ratio", bytes / total);
        }
        match (n, m.hugepages_free) {
            (0, _) => f.absent(
                "host.mem.hugepages_free_ratio",
                "no static huge pages (HugePages_Total is 0)",
            ),
            (n, Some(free)) => f.num("host.mem.hugepages_free_ratio", free as f64 / n as f64),
            _ => {}
        }
    }
}

fn vm_rates(f: &mut FactSet, h1: &HostSample, h2: &HostSample, dt: f64, page_size: u64) {
    let (Some(v1), Some(v2)) = (&h1.vmstat, &h2.vmstat) else {
        return;
    };
    let r = |key: &str| match (v1.get(key), v2.get(key)) {
        (Some(a), Some(b)) => rate_i64(*a, *b, dt),
        _ => None,
    };
    // The sum of keys with a prefix (allocstall_dma, allocstall_normal, allocstall_movable, ...).
    let sum = |v: &std::collections::HashMap<String, i64>, prefix: &str| -> Option<i64> {
        let mut found = false;
        let total = v
            .iter()
            .filter(|(k, _)| *k == prefix || k.starts_with(&format!("{prefix}_")))
            .inspect(|_| found = true)
            .map(|(_, n)| *n)
            .fold(0i64, i64::saturating_add);
        found.then_some(total)
    };
    let (si, so) = (r("pswpin"), r("pswpout"));
    f.opt("host.vm.pswpin_rate", si);
    f.opt("host.vm.pswpout_rate", so);
    if let (Some(si), Some(so)) = (si, so) {
        f.num("host.vm.swap_io_rate", si + so);
        // pgpgin/pgpgout are KiB of block I/O (mm/vmstat.c halves the sector counts), swap in pages.
        if let (Some(pi), Some(po)) = (r("pgpgin"), r("pgpgout"))
            && pi + po > 0.0
        {
            let swap_kib = (si + so) * page_size as f64 / 1024.0;
            f.num("host.vm.swap_share_of_block_io", (swap_kib / (pi + po)).min(1.0));
        }
    }
    f.opt("host.vm.pgmajfault_rate", r("pgmajfault"));
    if let (Some(faults), Some(read_kib)) = (r("pgmajfault"), r("pgpgin"))
        && read_kib > 0.0
    {
        let fault_kib = faults * page_size as f64 / 1024.0;
        f.num(
            "host.vm.majfault_share_of_block_reads",
            (fault_kib / read_kib).min(1.0),
        );
    }
    if let (Some(a), Some(b)) = (sum(v1, "allocstall"), sum(v2, "allocstall")) {
        f.opt("host.vm.allocstall_rate", rate_i64(a, b, dt));
    }
    let refault = r("workingset_refault_file").or_else(|| r("workingset_refault"));
    f.opt("host.vm.refault_file_rate", refault);
    if let (Some(refaults), Some(read_kib)) = (refault, r("pgpgin"))
        && read_kib > 0.0
    {
        let refault_kib = refaults * page_size as f64 / 1024.0;
        f.num(
            "host.vm.refault_share_of_block_reads",
            (refault_kib / read_kib).min(1.0),
        );
    }
    if let (Some(a), Some(b)) = (v1.get("oom_kill"), v2.get("oom_kill")) {
        // A counter that went backwards is not a negative number of kills.
        if b >= a {
            f.num("host.vm.oom_kill_delta", (b - a) as f64);
        }
    }
}

fn limits(f: &mut FactSet, h: &HostSample) {
    if let Some(v) = h.sysctls.get("vm/overcommit_memory") {
        f.num("host.mem.overcommit_memory", *v as f64);
    }
    if let Some(v) = h.sysctls.get("vm/swappiness") {
        f.num("host.vm.swappiness", *v as f64);
    }
    // Declared for net.syn_flood's evidence but never set until net.listen_overflow needed them.
    if let Some(v) = h.sysctls.get("net/core/somaxconn") {
        f.num("host.net.somaxconn", *v as f64);
    }
    if let Some(v) = h.sysctls.get("net/ipv4/tcp_max_syn_backlog") {
        f.num("host.net.tcp_max_syn_backlog", *v as f64);
    }
    if let Some(nr) = h.file_nr {
        let allocated = nr.allocated.saturating_sub(nr.unused);
        f.num("host.fd.allocated", allocated as f64);
        f.num("host.fd.max", nr.max as f64);
        if nr.max > 0 {
            f.num("host.fd.used_ratio", allocated as f64 / nr.max as f64);
        }
    }
    let limit = match (
        h.sysctls.get("kernel/pid_max"),
        h.sysctls.get("kernel/threads-max"),
    ) {
        (Some(a), Some(b)) => Some((*a).min(*b)),
        (a, b) => a.or(b).copied(),
    };
    if let Some(limit) = limit {
        f.num("host.tasks.limit", limit as f64);
    }
    if let Some(l) = &h.loadavg {
        f.num("host.tasks.count", l.max as f64);
        if let Some(limit) = limit.filter(|l| *l > 0) {
            f.num("host.tasks.used_ratio", l.max as f64 / limit as f64);
        }
    }
}
