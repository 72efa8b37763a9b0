//! NUMA nodes: /sys/devices/system/node (Documentation/ABI/stable/sysfs-devices-node) and, for the
//! largest processes, where their memory is (/proc/PID/numa_maps).
//!
//! Which nodes: the `online` file ("0-1"), else the `nodeN` directories. On a host with one node, or
//! without the node directory (a kernel built without NUMA, a tree or an older snapshot without it),
//! nothing more is read and the sample says why NUMA is absent: the numa rules then show "absent"
//! in the USE grid rather than judging a single node against itself.
//!
//! On a host with several nodes:
//! - every pass: each node's `meminfo` (free memory) and `numastat` (allocation counters, whose
//!   numa_miss over the interval is the miss ratio; one sample gives only the since-boot ratio);
//! - first pass: each node's `cpulist` (empty on a memory-only node, such as CXL memory) and `distance`;
//! - first pass, after the process scan: `numa_maps` of the largest processes only, at most
//!   [`MAX_PROCESSES`] by resident size, each at least [`large_floor`] (1 GiB, or 10% of the host's
//!   memory on a host under 10 GiB). Reading numa_maps walks every page table of the process (each
//!   mapping's pages, to count them per node) while holding its mmap lock for reading
//!   (fs/proc/task_mmu.c: `m_start` takes it, `show_numa_map` walks each VMA): for a process of
//!   hundreds of GiB that is seconds, during which its own mmap, munmap, brk and page faults that need
//!   the lock for writing wait, and the read itself waits behind a writer. That is why it is paid only
//!   for the few processes where a remote-memory finding would matter. Each read names its path in the
//!   pass's progress, so one that blocks is named when the deadline abandons it. With them: the CPUs
//!   the process may run on (`Cpus_allowed_list` of /proc/PID/status) and, for a process not bound to
//!   some nodes, the CPU each of its threads last ran on (/proc/PID/task/TID/stat field 39, at most
//!   [`MAX_THREADS`] threads, each path published as the position too): the main thread alone is
//!   often idle in a multi-threaded server, so where it last ran says nothing of where the work runs.
//!
//! A missing or garbled file goes to coverage with its path; the facts it would have given are absent.

use std::collections::{BTreeMap, BTreeSet};

use crate::collect::host::Pass;
use crate::collect::process::ProcSample;
use crate::coverage::Coverage;
use crate::parse::numa::{self, NodeMeminfo, NodeNumastat, NumaMaps};
use crate::root::Root;

pub const NODE_DIR: &str = "/sys/devices/system/node";
pub const ONLINE: &str = "/sys/devices/system/node/online";

/// The most processes whose numa_maps one run reads.
pub const MAX_PROCESSES: usize = 5;

/// The most threads of one process whose last CPU is read (the lowest thread ids): enough to see
/// where a thread pool runs, bounded for a process with tens of thousands of threads.
pub const MAX_THREADS: usize = 1024;

/// The reason the numa rules give on a host with one node.
pub const SINGLE_NODE: &str = "single NUMA node";
/// The reason on a host (or tree) without /sys/devices/system/node (a kernel without NUMA, a tree or
/// an older snapshot without it).
pub const NO_SYSFS: &str = "no /sys/devices/system/node";

/// One node as one pass read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeReading {
    pub id: u32,
    pub meminfo: Option<NodeMeminfo>,
    pub numastat: Option<NodeNumastat>,
    /// First pass: its CPUs (empty for a memory-only node; `None` when cpulist could not be read).
    pub cpus: Option<Vec<u32>>,
    /// First pass: its row of the distance table.
    pub distance: Option<Vec<u32>>,
}

/// Where one large process's pages are, and where it runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcNuma {
    pub pid: i32,
    pub starttime: u64,
    /// Its resident size as the scan read it, bytes (what chose it).
    pub rss_bytes: u64,
    pub maps: NumaMaps,
    /// Cpus_allowed_list of /proc/PID/status (`None` when it could not be read).
    pub cpus_allowed: Option<Vec<u32>>,
    /// For a process not bound to some nodes: the CPU each of its threads last ran on (at most
    /// [`MAX_THREADS`]); `None` when bound, or when the task directory could not be listed.
    pub thread_cpus: Option<Vec<u32>>,
}

/// The NUMA part of one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumaSample {
    /// Why the host has no NUMA to judge (one node, no node directory): nothing else was read.
    pub absent: Option<String>,
    pub nodes: Vec<NodeReading>,
    /// First pass: the largest processes' placement.
    pub procs: Vec<ProcNuma>,
    /// First pass: the resident size a process needed to be read (bytes).
    pub floor_bytes: Option<u64>,
}

impl NumaSample {
    pub fn node(&self, id: u32) -> Option<&NodeReading> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

fn node_path(id: u32, file: &str) -> String {
    format!("{NODE_DIR}/node{id}/{file}")
}

/// Read the node files of one pass. The second pass reads the nodes the first found, meminfo and
/// numastat only; a first pass that found NUMA absent is not repeated.
pub fn collect_nodes(root: &Root, pass: Pass, prev: Option<&NumaSample>, cov: &mut Coverage) -> NumaSample {
    let ids = match (pass, prev) {
        (Pass::RatesOnly, Some(first)) => {
            if first.absent.is_some() {
                return NumaSample {
                    absent: first.absent.clone(),
                    ..NumaSample::default()
                };
            }
            first.nodes.iter().map(|n| n.id).collect()
        }
        _ => match node_ids(root, cov) {
            Ok(ids) if ids.len() > 1 => ids,
            Ok(_) => {
                return NumaSample {
                    absent: Some(SINGLE_NODE.to_string()),
                    ..NumaSample::default()
                };
            }
            Err(why) => {
                return NumaSample {
                    absent: Some(why),
                    ..NumaSample::default()
                };
            }
        },
    };
    let nodes = ids
        .into_iter()
        .map(|id| {
            let mut n = NodeReading {
                id,
                ..NodeReading::default()
            };
            n.meminfo = read_parsed(root, &node_path(id, "meminfo"), cov, |t| {
                numa::parse_meminfo(t).map(|(m, problems)| (m, problems.join("; ")))
            });
            n.numastat = read_parsed(root, &node_path(id, "numastat"), cov, |t| {
                numa::parse_numastat(t).map(|s| (s, String::new()))
            });
            if pass == Pass::Full {
                n.cpus = read_parsed(root, &node_path(id, "cpulist"), cov, |t| {
                    numa::parse_list(t).map(|c| (c, String::new()))
                });
                n.distance = read_parsed(root, &node_path(id, "distance"), cov, |t| {
                    numa::parse_distance(t).map(|d| (d, String::new()))
                });
            }
            n
        })
        .collect();
    NumaSample {
        nodes,
        ..NumaSample::default()
    }
}

/// The online nodes: the `online` list, else the `nodeN` directories. An error says why NUMA is absent.
fn node_ids(root: &Root, cov: &mut Coverage) -> Result<Vec<u32>, String> {
    match root.read_string(ONLINE) {
        Ok(text) => match numa::parse_list(&text) {
            Ok(ids) if !ids.is_empty() => {
                cov.read_ok(ONLINE);
                return Ok(ids);
            }
            Ok(_) => cov.malformed(ONLINE, "empty"),
            Err(e) => cov.malformed(ONLINE, e),
        },
        // A kernel without CONFIG_NUMA has no node directory at all: not a problem of the host.
        Err(e) if e.is_not_found() => {}
        Err(e) => cov.read_failed(&e),
    }
    match root.list_dir(NODE_DIR) {
        Ok(names) => {
            let mut ids: Vec<u32> = names.iter().filter_map(|n| numa::node_id(n)).collect();
            ids.sort_unstable();
            Ok(ids)
        }
        Err(e) if e.is_not_found() => Err(NO_SYSFS.to_string()),
        Err(e) => {
            cov.read_failed(&e);
            Err(format!("{NODE_DIR}: {}", e.reason()))
        }
    }
}

/// Read and parse one file; a failure goes to coverage with its path. The parser's second value is a
/// note (lines it skipped), recorded when not empty.
fn read_parsed<T>(
    root: &Root,
    path: &str,
    cov: &mut Coverage,
    parse: impl FnOnce(&str) -> Result<(T, String), String>,
) -> Option<T> {
    match root.read_string(path) {
        Ok(text) => match parse(&text) {
            Ok((v, note)) => {
                cov.read_ok(path);
                if !note.is_empty() {
                    cov.notes.push(format!("{path}: {note}"));
                }
                Some(v)
            }
            Err(e) => {
                cov.malformed(path, e);
                None
            }
        },
        Err(e) => {
            cov.read_failed(&e);
            None
        }
    }
}

/// The resident size that makes a process "large": 1 GiB, or 10% of the host's memory when that is
/// less (a 4 GiB host's 500 MiB database is large there).
pub fn large_floor(host_memory_bytes: Option<u64>) -> u64 {
    const GIB: u64 = 1 << 30;
    match host_memory_bytes {
        Some(total) if total > 0 => GIB.min(total / 10),
        _ => GIB,
    }
}

/// The processes whose numa_maps are worth reading: user processes at or above the floor, largest
/// first, at most [`MAX_PROCESSES`].
pub fn largest(procs: &[ProcSample], page_size: u64, floor: u64) -> Vec<(&ProcSample, u64)> {
    let mut big: Vec<(&ProcSample, u64)> = procs
        .iter()
        .filter(|p| !p.kthread)
        .map(|p| {
            let rss = p
                .vmrss_kb
                .map(|kb| kb.saturating_mul(1024))
                .unwrap_or_else(|| p.rss_pages.saturating_mul(page_size));
            (p, rss)
        })
        .filter(|(_, rss)| *rss >= floor)
        .collect();
    big.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.pid.cmp(&b.0.pid)));
    big.truncate(MAX_PROCESSES);
    big
}

/// Read the numa_maps (and allowed CPUs) of the largest processes; `at` names each file as it is read.
pub fn collect_procs(
    root: &Root,
    procs: &[ProcSample],
    page_size: u64,
    numa: &mut NumaSample,
    cov: &mut Coverage,
    at: &dyn Fn(&str),
) {
    let host_memory: u64 = numa
        .nodes
        .iter()
        .filter_map(|n| n.meminfo.as_ref()?.total_bytes)
        .fold(0u64, u64::saturating_add);
    let floor = large_floor((host_memory > 0).then_some(host_memory));
    numa.floor_bytes = Some(floor);
    let node_of_cpu = node_of_cpu(numa);
    for (p, rss) in largest(procs, page_size, floor) {
        let path = format!("/proc/{}/numa_maps", p.pid);
        at(&path);
        let text = match root.read_string(&path) {
            Ok(t) => t,
            Err(e) => {
                // A process that exited since the scan is not a problem of the host.
                if !e.is_not_found() {
                    cov.read_failed(&e);
                }
                continue;
            }
        };
        let (maps, problems) = numa::parse_numa_maps(&text);
        if !problems.is_empty() {
            cov.notes.push(format!("{path}: {}", problems.join("; ")));
        }
        if maps.mappings == 0 && !problems.is_empty() {
            cov.malformed(&path, "no mapping with node page counts parsed");
            continue;
        }
        cov.read_ok(&path);
        let status = format!("/proc/{}/status", p.pid);
        let cpus_allowed = root.read_string(&status).ok().and_then(|t| {
            let line = t.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
            numa::parse_list(line).ok().filter(|c| !c.is_empty())
        });
        let thread_cpus = match &cpus_allowed {
            Some(allowed) if bound_nodes(allowed, &node_of_cpu).is_some() => None,
            _ => thread_cpus(root, p.pid, cov, at),
        };
        numa.procs.push(ProcNuma {
            pid: p.pid,
            starttime: p.starttime,
            rss_bytes: rss,
            maps,
            cpus_allowed,
            thread_cpus,
        });
    }
    at("");
}

/// The CPU each thread of `pid` last ran on (/proc/PID/task/TID/stat field 39), at most
/// [`MAX_THREADS`], each path published with `at` before it is read. A thread that exited since the
/// listing is left out; `None` when the task directory cannot be listed.
fn thread_cpus(root: &Root, pid: i32, cov: &mut Coverage, at: &dyn Fn(&str)) -> Option<Vec<u32>> {
    let dir = format!("/proc/{pid}/task");
    at(&dir);
    let names = match root.list_dir(&dir) {
        Ok(n) => n,
        Err(e) => {
            if !e.is_not_found() {
                cov.read_failed(&e);
            }
            return None;
        }
    };
    let mut tids: Vec<i32> = names.iter().filter_map(|n| n.parse().ok()).collect();
    tids.sort_unstable();
    tids.truncate(MAX_THREADS);
    let mut cpus = Vec::with_capacity(tids.len());
    for tid in tids {
        let path = format!("{dir}/{tid}/stat");
        at(&path);
        let Ok(bytes) = root.read(&path) else {
            continue;
        };
        match crate::parse::proc_pid::parse_stat(&bytes[..]) {
            Ok(stat) => {
                if let Some(cpu) = stat.processor.and_then(|c| u32::try_from(c).ok()) {
                    cpus.push(cpu);
                }
            }
            Err(e) => cov.malformed(&path, e.to_string()),
        }
    }
    cov.read_ok(&dir);
    Some(cpus)
}

/// The nodes a process is bound to: those of its allowed CPUs, when they are fewer than all the nodes
/// with CPUs (numactl --cpunodebind, taskset, a cpuset); `None` when it may run on every node.
pub fn bound_nodes(allowed: &[u32], node_of_cpu: &BTreeMap<u32, u32>) -> Option<BTreeSet<u32>> {
    let all: BTreeSet<u32> = node_of_cpu.values().copied().collect();
    let nodes: BTreeSet<u32> = allowed
        .iter()
        .filter_map(|c| node_of_cpu.get(c).copied())
        .collect();
    (!nodes.is_empty() && nodes.len() < all.len()).then_some(nodes)
}

/// Each node's id by CPU, from the first pass's cpulists.
pub fn node_of_cpu(numa: &NumaSample) -> BTreeMap<u32, u32> {
    numa.nodes
        .iter()
        .flat_map(|n| n.cpus.iter().flatten().map(move |c| (*c, n.id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let root = Root::dir(dir.path()).unwrap();
        (dir, root)
    }

    #[test]
    fn one_node_or_no_node_directory_reads_nothing_more() {
        let (_d, root) = tree(&[(ONLINE, "0\n"), ("/sys/devices/system/node/node0/meminfo", "x")]);
        let mut cov = Coverage::default();
        let s = collect_nodes(&root, Pass::Full, None, &mut cov);
        assert_eq!(s.absent.as_deref(), Some(SINGLE_NODE));
        assert!(s.nodes.is_empty());
        assert!(cov.problems.is_empty());
        let (_d, root) = tree(&[("/proc/stat", "cpu 1\n")]);
        let s = collect_nodes(&root, Pass::Full, None, &mut cov);
        assert_eq!(s.absent.as_deref(), Some(NO_SYSFS));
        assert!(cov.problems.is_empty(), "{:?}", cov.problems);
    }

    #[test]
    fn nodes_without_online_file_and_with_missing_or_garbled_files() {
        let (_d, root) = tree(&[
            (
                "/sys/devices/system/node/node0/meminfo",
                "Node 0 MemTotal: 100 kB\nNode 0 MemFree: 50 kB\n",
            ),
            (
                "/sys/devices/system/node/node0/numastat",
                "numa_hit 10\nnuma_miss 1\n",
            ),
            ("/sys/devices/system/node/node0/cpulist", "0-1\n"),
            ("/sys/devices/system/node/node2/meminfo", "garbage\n"),
            (
                "/sys/devices/system/node/node2/numastat",
                "numa_hit 5\nnuma_miss 0\n",
            ),
            ("/sys/devices/system/node/node2/cpulist", "\n"),
            ("/sys/devices/system/node/possible", "0-3\n"),
        ]);
        let mut cov = Coverage::default();
        let s = collect_nodes(&root, Pass::Full, None, &mut cov);
        assert_eq!(s.absent, None);
        assert_eq!(s.nodes.iter().map(|n| n.id).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(s.nodes[0].cpus.as_deref(), Some(&[0, 1][..]));
        assert_eq!(s.nodes[1].cpus.as_deref(), Some(&[][..]));
        assert_eq!(s.nodes[1].meminfo, None);
        let bad = cov.problem_for("/sys/devices/system/node/node2/meminfo").unwrap();
        assert_eq!(bad.kind, crate::coverage::ProblemKind::Malformed);
        assert!(
            cov.problem_for("/sys/devices/system/node/node0/distance")
                .is_some()
        );
        // The second pass reads the same nodes' counters only.
        let mut cov2 = Coverage::default();
        let s2 = collect_nodes(&root, Pass::RatesOnly, Some(&s), &mut cov2);
        assert_eq!(s2.nodes.len(), 2);
        assert_eq!(s2.nodes[0].cpus, None);
        assert!(
            cov2.problem_for("/sys/devices/system/node/node0/distance")
                .is_none()
        );
    }

    /// A /proc/PID/stat line (proc(5), 52 fields) whose field 39 is `cpu`.
    fn stat(pid: i32, cpu: u32) -> String {
        let mut f: Vec<String> = format!(
            "{pid} (java) S 1 {pid} {pid} 0 -1 4194560 48211 0 12 0 100 40 0 0 20 0 40 0 61000 \
             12884901888 1572864 18446744073709551615 1 1 1 0 0 0 0 4096 17642 0 0 0 17 0 0 0 0 0 0 \
             1 1 1 1 1 1 1 0"
        )
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
        assert_eq!(f.len(), 52);
        f[38] = cpu.to_string();
        f.join(" ") + "\n"
    }

    #[test]
    fn numa_maps_of_the_largest_only_each_named_while_read() {
        let (_d, root) = tree(&[
            (
                "/proc/10/numa_maps",
                "7f00 default anon=3 N0=1 N1=2 kernelpagesize_kB=4\n",
            ),
            ("/proc/10/status", "Name:\tbig\nCpus_allowed_list:\t0-3\n"),
            ("/proc/10/task/10/stat", &stat(10, 0)),
            ("/proc/10/task/17/stat", &stat(17, 3)),
            ("/proc/10/task/18/stat", "garbage"),
            (
                "/proc/11/numa_maps",
                "7f00 default anon=3 N0=3 kernelpagesize_kB=4\n",
            ),
            // Bound to node1: its threads are not read.
            (
                "/proc/13/numa_maps",
                "7f00 bind:1 anon=3 N1=3 kernelpagesize_kB=4\n",
            ),
            ("/proc/13/status", "Name:\tpinned\nCpus_allowed_list:\t2-3\n"),
            ("/proc/13/task/13/stat", &stat(13, 2)),
        ]);
        let p = |pid: i32, gib: u64| ProcSample {
            pid,
            vmrss_kb: Some(gib << 20),
            // The main thread's last CPU: not what tells the home (the threads' are).
            processor: Some(2),
            ..ProcSample::default()
        };
        // 12 exited after the scan (no numa_maps): skipped, not a problem of the host.
        let procs = [p(10, 8), p(11, 1), p(12, 4), p(13, 2)];
        let node = |id: u32, cpus: Vec<u32>| NodeReading {
            id,
            meminfo: Some(NodeMeminfo {
                total_bytes: Some(32 << 30),
                ..NodeMeminfo::default()
            }),
            cpus: Some(cpus),
            ..NodeReading::default()
        };
        let mut numa = NumaSample {
            nodes: vec![node(0, vec![0, 1]), node(1, vec![2, 3])],
            ..NumaSample::default()
        };
        let mut cov = Coverage::default();
        let seen = std::sync::Mutex::new(Vec::new());
        let at = |path: &str| seen.lock().unwrap().push(path.to_string());
        collect_procs(&root, &procs, 4096, &mut numa, &mut cov, &at);
        assert_eq!(numa.floor_bytes, Some(1 << 30));
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "/proc/10/numa_maps",
                "/proc/10/task",
                "/proc/10/task/10/stat",
                "/proc/10/task/17/stat",
                "/proc/10/task/18/stat",
                "/proc/12/numa_maps",
                "/proc/13/numa_maps",
                "/proc/11/numa_maps",
                "/proc/11/task",
                ""
            ]
        );
        // The garbled thread stat is the only problem; 11 has no task directory in this tree (gone).
        assert_eq!(cov.problems.len(), 1, "{:?}", cov.problems);
        assert!(cov.problem_for("/proc/10/task/18/stat").is_some());
        assert_eq!(numa.procs.len(), 3);
        assert_eq!(numa.procs[0].maps.bytes_per_node[&1], 8192);
        assert_eq!(numa.procs[0].cpus_allowed.as_deref(), Some(&[0, 1, 2, 3][..]));
        assert_eq!(numa.procs[0].thread_cpus.as_deref(), Some(&[0, 3][..]));
        assert_eq!(numa.procs[1].pid, 13);
        assert_eq!(numa.procs[1].thread_cpus, None);
        assert_eq!(numa.procs[2].cpus_allowed, None);
        assert_eq!(numa.procs[2].thread_cpus, None);
    }

    #[test]
    fn only_the_largest_user_processes_above_the_floor() {
        let p = |pid: i32, gib: u64, kthread: bool| ProcSample {
            pid,
            kthread,
            vmrss_kb: Some(gib << 20),
            ..ProcSample::default()
        };
        let procs: Vec<ProcSample> = (1..=8)
            .map(|i| p(i, i as u64, false))
            .chain([p(99, 50, true)])
            .collect();
        let chosen: Vec<i32> = largest(&procs, 4096, 3 << 30)
            .iter()
            .map(|(p, _)| p.pid)
            .collect();
        assert_eq!(chosen, [8, 7, 6, 5, 4]);
        assert_eq!(large_floor(Some(4 << 30)), (4 << 30) / 10);
        assert_eq!(large_floor(Some(64 << 30)), 1 << 30);
        assert_eq!(large_floor(None), 1 << 30);
    }
}
