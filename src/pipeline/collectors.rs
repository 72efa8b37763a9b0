//! The registry of collectors: what one pass reads, in order, for every command.
//!
//! A pass runs each [`Collector`] of [`REGISTRY`] over one [`Root`] and fills one [`Sample`]. The
//! [`Scope`] says what the command looks at: `check` and `snapshot` read everything ([`Scope::Host`]);
//! `osdoctor cgroup` reads the cgroups it resolved, their processes and the kernel log
//! ([`Scope::Cgroups`]); `osdoctor kernel-log` the kernel log alone ([`Scope::KernelLog`]). The second pass ([`Pass::RatesOnly`]) re-reads only the counters rates need, and the kernel log
//! (so that what the kernel logged during the interval, an OOM kill between the samples, is seen).
//!
//! Adding a collector: a module in `collect/` that reads through `Root` and returns its sample type, a
//! field for it in [`Sample`], and one entry here.

use std::sync::Mutex;

use chrono::Utc;

use crate::clock::monotonic_secs;
use crate::collect::cgroup_processes;
use crate::collect::host::Pass;
use crate::collect::process::{self, PassClock, ProcessSample, ScanProgress};
use crate::collect::{
    SystemInfo, cgroup, container, disk, filesystem, host, kmsg, kubelet_logs, listen, netstack, nic, numa,
    tcp,
};
use crate::coverage::Coverage;
use crate::parse::cgroup::{CgroupDirs, CgroupLayout};
use crate::pipeline::sosreport::{self, SosData};
use crate::root::Root;
use crate::sample::Sample;

/// What a command looks at.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Everything `check` judges: the host files, the cgroups that matter, the kernel log, every process.
    Host,
    /// `osdoctor cgroup`: these cgroups (a pod and its containers, or one cgroup), their processes (a
    /// list for the report, and what `check` reads of each for the process rules), and the kernel log
    /// (its events in these cgroups, and the recency of OOM kills).
    Cgroups {
        layout: CgroupLayout,
        dirs: Vec<CgroupDirs>,
        /// Processes read for the process rules whatever the cgroups list (TARGET's PID: a snapshot
        /// may hold its /proc files but not its cgroup's cgroup.procs).
        pids: Vec<i32>,
    },
    /// `osdoctor kernel-log`: the kernel log alone (and the boot time that dates its records).
    KernelLog,
}

/// What one pass is given.
pub struct PassInput<'a> {
    pub root: &'a Root,
    pub si: &'a SystemInfo,
    pub pass: Pass,
    /// The first sample, when this is the second pass.
    pub prev: Option<&'a Sample>,
    pub scope: &'a Scope,
    /// No pass follows this one (what is read once per run, late, is read now: `statvfs()`).
    pub last: bool,
    /// The root is a recorded snapshot sample (values a directory cannot replay come from its files).
    pub replay: bool,
    /// The root is a sosreport: its processes and kernel log come from its command outputs.
    pub sosreport: Option<&'a SosData>,
}

/// One source of readings.
pub struct Collector {
    pub name: &'static str,
    pub run: fn(&PassInput, &mut Sample, &mut Coverage, &PassProgress),
}

/// Every collector, in the order a pass runs them.
pub const REGISTRY: &[Collector] = &[
    Collector {
        name: "host",
        run: host_files,
    },
    Collector {
        name: "disk",
        run: disks,
    },
    Collector {
        name: "nic",
        run: nics,
    },
    Collector {
        name: "tcp",
        run: tcp_counters,
    },
    Collector {
        name: "netstack",
        run: net_stack,
    },
    Collector {
        name: "numa",
        run: numa_nodes,
    },
    // Before the cgroups: inside a container, its own cgroup is read whatever the selection.
    Collector {
        name: "container",
        run: container,
    },
    Collector {
        name: "cgroup",
        run: cgroups,
    },
    // After the cgroups: read only when they hold pods.
    Collector {
        name: "kubelet_logs",
        run: kubelet_names,
    },
    Collector {
        name: "kernel_log",
        run: kernel_log,
    },
    Collector {
        name: "process",
        run: processes,
    },
    // After the scan, which picks the largest processes.
    Collector {
        name: "numa_maps",
        run: numa_maps,
    },
    // After the scan: the first pass's processes are whose fd tables may hold an overflowing listener.
    Collector {
        name: "listen",
        run: listeners,
    },
    // Last: a statvfs() that never returns (a dead NFS server) then costs only the mounts after it.
    Collector {
        name: "filesystem",
        run: filesystems,
    },
];

/// One pass of every collector. The snapshot command runs exactly this with a recording root, which
/// is why a snapshot holds exactly the files `check` reads.
pub fn run_pass(input: &PassInput, cov: &mut Coverage, progress: &PassProgress) -> Sample {
    let mut sample = Sample::new(monotonic_secs(), Utc::now());
    for (i, collector) in REGISTRY.iter().enumerate() {
        // What the collectors before this one read survives a deadline: on a host so starved that
        // the cgroup walk or the kernel log cannot finish in time, the report still has the host's files.
        if i > 0 {
            progress.publish_host(&sample, cov);
        }
        (collector.run)(input, &mut sample, cov, progress);
    }
    sample
}

/// /proc/stat, meminfo, vmstat, loadavg, PSI, file-nr, sysctls; and the files the later collectors
/// of the pass share, read here once: mountinfo, osrelease, btime (see [`host::HostSample`]).
fn host_files(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    match (input.scope, input.pass) {
        (Scope::Host, _) => sample.host = host::collect(input.root, input.si, input.pass, cov),
        (Scope::Cgroups { .. } | Scope::KernelLog, Pass::Full) => {
            sample.host = host::collect_shared(input.root, input.si)
        }
        (Scope::Cgroups { .. } | Scope::KernelLog, Pass::RatesOnly) => {}
    }
}

/// /proc/diskstats on every pass (check): its counters give the rates.
fn disks(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    if let Scope::Host = input.scope {
        sample.disks = disk::collect(input.root, input.pass, cov);
    }
}

/// /proc/net/dev on every pass (check): its counters give the rates; the link states on the first.
fn nics(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    if let Scope::Host = input.scope {
        sample.nics = nic::collect(input.root, input.pass, cov);
    }
}

/// /proc/net/snmp and /proc/net/netstat on every pass (check): retransmits and listen drops are rates.
fn tcp_counters(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    if let Scope::Host = input.scope {
        sample.tcp = tcp::collect(input.root, input.pass == Pass::Full, cov);
    }
}

/// The LISTEN sockets, their backlogs and the holders of the full ones: second pass only, and only
/// when listeners dropped connections during the interval (nothing is read on a healthy host).
fn listeners(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    let (Scope::Host, Pass::RatesOnly, Some(first)) = (input.scope, input.pass, input.prev) else {
        return;
    };
    let (Some(before), Some(after)) = (&first.tcp, &sample.tcp) else {
        return;
    };
    if listen::dropped(before, after) {
        sample.listen = listen::collect(input.root, input.replay, &first.processes.procs, cov);
    }
}

/// Socket memory, conntrack and the ephemeral ports on the first pass, softnet_stat on every pass
/// (check).
fn net_stack(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    if let Scope::Host = input.scope {
        sample.netstack = netstack::collect(input.root, input.pass, cov);
    }
}

/// The NUMA nodes' meminfo and numastat on every pass (check), their CPUs and distances on the
/// first; nothing more on a host with one node.
fn numa_nodes(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    if let Scope::Host = input.scope {
        let first = input.prev.and_then(|p| p.numa.as_ref());
        sample.numa = Some(numa::collect_nodes(input.root, input.pass, first, cov));
    }
}

/// The largest processes' /proc/PID/numa_maps, first pass only (check), on a host with several
/// nodes. Each read takes the process's mmap lock: the path is published as the pass's position, so
/// a read that blocks is named when the deadline abandons it.
fn numa_maps(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, progress: &PassProgress) {
    if !matches!(input.scope, Scope::Host) || input.pass != Pass::Full {
        return;
    }
    let Some(nodes) = sample.numa.as_mut().filter(|n| n.absent.is_none()) else {
        return;
    };
    let at = |path: &str| progress.scan.at(path);
    numa::collect_procs(
        input.root,
        &sample.processes.procs,
        input.si.page_size,
        nodes,
        cov,
        &at,
    );
}

/// The filesystems and their `statvfs()`, once per run, in its last pass (check).
fn filesystems(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, progress: &PassProgress) {
    if !matches!(input.scope, Scope::Host) || !input.last {
        return;
    }
    // The mount table the first pass read (the host collector shares it).
    let first_host = input.prev.map_or(&sample.host, |p| &p.host);
    let mountinfo = first_host.mountinfo.clone();
    sample.filesystems = filesystem::collect(
        input.root,
        mountinfo.as_deref(),
        input.replay,
        cov,
        &progress.filesystems,
    );
}

/// The cgroup layout and readings on the first pass; the counters rates need on the second.
/// Pod and container names from the kubelet's log tree: first pass of `check`, and only when a cgroup
/// read is a pod's (a host without pods reads nothing). `osdoctor cgroup` reads it when resolving
/// TARGET (pipeline/cgroup.rs).
fn kubelet_names(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    if !matches!((input.scope, input.pass), (Scope::Host, Pass::Full)) {
        return;
    }
    let has_pods = sample.cgroups.as_ref().is_some_and(|c| {
        c.readings
            .iter()
            .any(|r| r.identity.as_ref().is_some_and(|i| i.pod_uid.is_some()))
    });
    if has_pods {
        sample.kubelet = kubelet_logs::collect(input.root, cov);
    }
}

/// Whether osdoctor runs in a container, and its limits: first pass of `check`.
fn container(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    if matches!((input.scope, input.pass), (Scope::Host, Pass::Full)) && input.sosreport.is_none() {
        sample.container = container::collect(input.root, sample.host.mountinfo.as_deref(), cov);
    }
}

fn cgroups(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    let first_cgroups = input.prev.and_then(|f| f.cgroups.as_ref());
    match (input.scope, input.pass) {
        (Scope::Host, Pass::Full) => {
            let own = sample.container.as_ref().and_then(|c| c.own_judged());
            sample.cgroups = Some(cgroup::collect(
                input.root,
                sample.host.mountinfo.as_deref(),
                own,
                cov,
            ))
        }
        (Scope::Host, Pass::RatesOnly) => {
            if let Some(first) = first_cgroups {
                sample.cgroup_counters = Some(cgroup::collect_counters(input.root, first));
            }
        }
        (Scope::Cgroups { layout, dirs, .. }, Pass::Full) => {
            let readings = dirs
                .iter()
                .map(|d| cgroup::read_cgroup_dirs(input.root, d))
                .collect();
            sample.cgroups = Some(cgroup::CgroupSample {
                layout: Some(layout.clone()),
                readings,
            });
        }
        (Scope::Cgroups { dirs, .. }, Pass::RatesOnly) => {
            sample.cgroup_counters = Some(
                dirs.iter()
                    .map(|d| cgroup::read_counters(input.root, d))
                    .collect(),
            );
        }
        (Scope::KernelLog, _) => {}
    }
}

/// The kernel log, on both passes (the second sees what the kernel logged during the interval, an OOM
/// kill between the samples); its events are dated from the boot time.
fn kernel_log(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, _: &PassProgress) {
    if input.pass == Pass::RatesOnly {
        // A log the first pass could not read is not tried again (and not reported twice); a snapshot
        // taken before the second pass re-read the log has none in its second sample: the first's stands.
        let first_read = input.prev.is_some_and(|first| first.kernel_log.is_some());
        if !first_read || (!input.root.is_live() && !input.root.exists("/dev/kmsg")) {
            return;
        }
    }
    // The host collector read /proc/stat (or, for `osdoctor cgroup`, only its btime).
    let btime = match sample.host.stat.as_ref() {
        Some(stat) => Some(stat.btime),
        None => input.si.boot_time_secs.or(sample.host.btime),
    };
    sample.kernel_log = match input.sosreport {
        // A sosreport's saved dmesg (or journal, or syslog), by the text parser.
        Some(sos) => sosreport::kernel_log(input.root, sos, btime, cov),
        None => kmsg::collect(input.root, btime, cov),
    };
}

/// Every process (check), or the processes of the cgroups in scope (osdoctor cgroup: their list, and
/// the same reads as `check`'s of each, on both passes, for the process rules).
fn processes(input: &PassInput, sample: &mut Sample, cov: &mut Coverage, progress: &PassProgress) {
    if let Some(sos) = input.sosreport {
        // Its `ps` tables, as read when it was opened (one sample: nothing on a second pass); for
        // `osdoctor cgroup`, the processes of the cgroups in scope.
        if input.pass == Pass::Full
            && let Some(procs) = &sos.processes
        {
            sample.processes = procs.clone();
            if let Scope::Cgroups { pids: given, .. } = input.scope {
                let listed: Vec<i32> = sample
                    .cgroups
                    .iter()
                    .flat_map(|cg| cg.readings.iter())
                    .flat_map(|r| r.procs.iter().flatten())
                    .chain(given)
                    .copied()
                    .collect();
                sample.processes.procs.retain(|p| listed.contains(&p.pid));
            }
        }
        for path in &sos.read {
            cov.read_ok(path);
        }
        for note in &sos.notes {
            cov.notes.push(note.clone());
        }
        cov.one_sample = Some(sosreport::ONE_SAMPLE.to_string());
        return;
    }
    match input.scope {
        Scope::Host => {
            let clock = PassClock {
                stat_read_at: sample.mono_secs,
                prev_stat_read_at: input.prev.map(|p| p.mono_secs),
                ticks_per_second: input.si.ticks_per_second,
            };
            sample.processes = process::collect(
                input.root,
                input.pass,
                &sample.host,
                &clock,
                input.prev.map(|p| &p.processes),
                cov,
                &progress.scan,
                sample.container.as_ref(),
            );
        }
        Scope::Cgroups { pids: given, .. } => {
            let clock = PassClock {
                stat_read_at: sample.mono_secs,
                prev_stat_read_at: input.prev.map(|p| p.mono_secs),
                ticks_per_second: input.si.ticks_per_second,
            };
            if input.pass == Pass::Full {
                let fds = process::fd_count_mode(input.root, sample.host.kernel_release.as_deref());
                let lists: Option<Vec<cgroup_processes::ProcessList>> = sample.cgroups.as_ref().map(|cg| {
                    cg.readings
                        .iter()
                        .map(|r| {
                            cgroup_processes::read_processes(input.root, input.si, fds, r.procs.as_deref())
                        })
                        .collect()
                });
                sample.cgroup_processes = lists;
            }
            // The process rules' view of the target's processes: what `check` reads of each, no more
            // (the processes a cgroup's list shows were read, at most MAX_READ a cgroup).
            let mut pids: Vec<i32> = sample
                .cgroups
                .as_ref()
                .or(input.prev.and_then(|p| p.cgroups.as_ref()))
                .map(|cg| {
                    cg.readings
                        .iter()
                        .flat_map(|r| r.procs.iter().flatten().take(cgroup_processes::MAX_READ))
                        .copied()
                        .collect()
                })
                .unwrap_or_default();
            pids.extend(given);
            sample.processes = process::collect_pids(
                input.root,
                input.pass,
                &sample.host,
                &clock,
                input.prev.map(|p| &p.processes),
                cov,
                &progress.scan,
                Some(&pids),
                None,
            );
        }
        Scope::KernelLog => {}
    }
}

/// What a pass publishes while it runs, so a deadline keeps what was read: the sample after each
/// collector, then each process as it is read.
#[derive(Debug, Default)]
pub struct PassProgress {
    host: Mutex<Option<(Sample, Coverage)>>,
    pub scan: ScanProgress,
    pub filesystems: filesystem::FilesystemProgress,
}

impl PassProgress {
    /// Publish what the pass has read so far (before the process scan starts).
    pub fn publish_host(&self, sample: &Sample, cov: &Coverage) {
        if let Ok(mut h) = self.host.lock() {
            *h = Some((sample.clone(), cov.clone()));
        }
    }

    /// What was read so far: the published part with the processes read by now, marked incomplete
    /// (unless the scan had finished: the filesystems, read after it, were cut short), and the
    /// filesystems read by now.
    pub fn so_far(&self) -> Option<(Sample, Coverage)> {
        let (mut sample, mut cov) = self.host.lock().ok()?.take()?;
        if !sample.processes.complete {
            sample.processes = ProcessSample {
                scanned: true,
                complete: false,
                procs: self.scan.take(),
                ..ProcessSample::default()
            };
        }
        if let Some(fs) = self.filesystems.so_far(&mut cov) {
            sample.filesystems = Some(fs);
        }
        Some((sample, cov))
    }

    /// The file being read now, named in the timeout message.
    pub fn at(&self) -> String {
        if let Some(mount) = self.filesystems.at.lock().ok().and_then(|a| a.clone()) {
            return format!("statvfs({mount})");
        }
        self.scan.at.lock().map(|a| a.clone()).unwrap_or_default()
    }
}
