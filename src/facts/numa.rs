//! NUMA facts: one `numa_node` subject per online node of a multi-node host (named `node0`,
//! `node1`, ...), and the placement of the largest processes' memory on their process subjects.
//!
//! - The miss ratio is numa_miss / (numa_hit + numa_miss) of the node's numastat over the interval:
//!   the share of the pages allocated on this node that were meant for another node. numa_miss counts
//!   on the node that supplied the memory, numa_foreign on the node that was preferred and had none
//!   to give; so the subject is the node that took the overflow, and `numa.foreign_nodes` names the
//!   other nodes whose numa_foreign rose during the interval (the preferred ones). With one sample only
//!   the since-boot ratio exists, and it is evidence, not a rate: a burst a month ago weighs the same
//!   as one now.
//! - Available memory is MemFree + Inactive(file) + KReclaimable (SReclaimable before Linux 4.20) of
//!   the node's meminfo, over MemTotal, in the last sample ([`NodeMeminfo::available_bytes`]): a node
//!   whose memory is page cache is not full, the kernel reclaims the inactive cache before falling
//!   back to another node. A node's `numa.other_nodes_max_available_ratio` is the highest available
//!   ratio among the other nodes with CPUs, and only a node with CPUs gets one: a memory-only node
//!   (CXL memory, an empty cpulist) is another tier, which the kernel fills by demotion or explicit
//!   placement, not by the allocations of tasks running on it, so it is neither judged nor a yardstick
//!   for the imbalance condition (this node nearly full while another has room).
//! - A process's remote share is the share of its resident pages (numa_maps `N<node>=` counts) on
//!   nodes other than its home. Its home: the nodes of the CPUs it is allowed on (Cpus_allowed_list)
//!   when those are fewer than all the nodes with CPUs, that is when it is bound (numactl
//!   --cpunodebind, taskset, a cpuset); otherwise the node on which at least [`CONCENTRATED`] (75%) of
//!   its threads last ran (/proc/PID/task/TID/stat field 39), where the scheduler keeps its work for
//!   now (the kernel's NUMA balancing also moves memory towards it). When no node has that share, the
//!   process is spread: it has no home to be remote from, the remote share is absent with that reason
//!   and `proc.numa_judged` is 0. The main thread alone is not asked: in a thread-pool server it is
//!   often idle, and where it last ran is arbitrary.
//! - A process with more than half of its resident memory in mappings under an interleave policy
//!   (`interleave`, `weighted interleave`: numactl --interleave, set_mempolicy, mbind) is remote by
//!   design, a share of it on every node: its remote share is evidence, `proc.numa_judged` is 0.
//!
//! On a host with one node, or without NUMA sysfs, every numa fact is absent because the host lacks
//! the resource ([`super::FactSet::lacks`]): the USE grid shows the numa row "absent".

use std::collections::{BTreeMap, BTreeSet};

use super::{Subject, SubjectId, SubjectKind};
#[cfg(test)]
use crate::collect::numa::NumaSample;
use crate::collect::numa::{self as collect, NodeReading, ProcNuma};
use crate::parse::numa::NodeMeminfo;
use crate::sample::Sample;
use crate::units::{Unit, format_value};

const NODES: &str = "/sys/devices/system/node";

/// The facts this module derives.
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    fact!("numa.mem_total_bytes", Bytes, NumaNode, ["/sys/devices/system/node"], "the node's memory (MemTotal of nodeN/meminfo)"),
    fact!("numa.mem_free_bytes", Bytes, NumaNode, ["/sys/devices/system/node"], "the node's free memory (MemFree of nodeN/meminfo), last sample"),
    fact!("numa.mem_available_bytes", Bytes, NumaNode, ["/sys/devices/system/node"], "MemFree + Inactive(file) + KReclaimable (SReclaimable before 4.20) of nodeN/meminfo: memory the node gives without swapping, last sample"),
    fact!("numa.available_ratio", Ratio, NumaNode, ["/sys/devices/system/node"], "numa.mem_available_bytes / MemTotal of the node, last sample"),
    fact!("numa.other_nodes_max_available_ratio", Ratio, NumaNode, ["/sys/devices/system/node"], "the highest available ratio among the host's other nodes with CPUs (nodes with CPUs only)"),
    fact!("numa.cpus", Count, NumaNode, ["/sys/devices/system/node"], "CPUs of the node (nodeN/cpulist; 0 for a memory-only node such as CXL memory)"),
    fact!("numa.miss_ratio", Ratio, NumaNode, rate, ["/sys/devices/system/node"], "numa_miss / (numa_hit + numa_miss) of nodeN/numastat over the interval: pages this node supplied that were meant for another node"),
    fact!("numa.alloc_pages", Count, NumaNode, rate, ["/sys/devices/system/node"], "pages allocated on the node over the interval (numa_hit + numa_miss)"),
    fact!("numa.miss_pages_per_s", PagesPerSecond, NumaNode, rate, ["/sys/devices/system/node"], "numa_miss pages per second over the interval"),
    fact!("numa.foreign_nodes", Text, NumaNode, rate, ["/sys/devices/system/node"], "the other nodes whose numa_foreign rose over the interval (preferred, but their memory came from elsewhere), with the pages"),
    fact!("numa.miss_ratio_since_boot", Ratio, NumaNode, ["/sys/devices/system/node"], "numa_miss / (numa_hit + numa_miss) since boot (evidence, not a rate)"),
    fact!("proc.numa_examined", Count, Process, ["/proc/[pid]/numa_maps"], "1 when the process is among the largest whose numa_maps were read (multi-node hosts), else 0"),
    fact!("proc.numa_judged", Count, Process, ["/proc/[pid]/numa_maps", "/proc/[pid]/task/[tid]/stat"], "1 when its placement can be judged (a home node, memory not mostly interleaved), 0 when it is spread over nodes or interleaved"),
    fact!("proc.numa_resident_bytes", Bytes, Process, ["/proc/[pid]/numa_maps"], "resident memory counted by node in numa_maps (N<node>= pages x kernelpagesize_kB)"),
    fact!("proc.numa_remote_bytes", Bytes, Process, ["/proc/[pid]/numa_maps"], "resident memory on nodes other than its home"),
    fact!("proc.numa_remote_ratio", Ratio, Process, ["/proc/[pid]/numa_maps"], "share of its resident memory on nodes other than its home (bound: its allowed CPUs' nodes; else the node where >= 75% of its threads last ran)"),
    fact!("proc.numa_interleaved_ratio", Ratio, Process, ["/proc/[pid]/numa_maps"], "share of its resident memory in mappings with an interleave or weighted interleave policy"),
    fact!("proc.numa_home", Text, Process, ["/proc/[pid]/numa_maps", "/proc/[pid]/task/[tid]/stat"], "the node(s) it runs on and how that was told (bound, or where its threads last ran), or that it is spread"),
    fact!("proc.numa_placement", Text, Process, ["/proc/[pid]/numa_maps"], "its resident memory per node"),
];

/// Node names as sysfs spells them.
pub fn node_name(id: u32) -> String {
    format!("node{id}")
}

/// The node subjects, or why there are none (the reason, and whether the host lacks NUMA).
pub fn derive(first: &Sample, second: Option<&Sample>) -> Result<Vec<Subject>, (String, bool)> {
    let Some(numa) = &first.numa else {
        return Err(("the NUMA nodes were not read".to_string(), false));
    };
    if let Some(why) = &numa.absent {
        return Err((why.clone(), true));
    }
    let later = second.and_then(|s| s.numa.as_ref());
    let elapsed = second.map(|s| s.mono_secs - first.mono_secs);
    let mut subjects: Vec<Subject> = numa
        .nodes
        .iter()
        .map(|n| {
            let after = later.and_then(|l| l.node(n.id));
            subject(n, after, second.is_some(), elapsed)
        })
        .collect();
    // The imbalance compares the nodes with CPUs only: a memory-only node is another tier.
    let has_cpus = |s: &Subject| s.facts.get_f64("numa.cpus").is_some_and(|c| c > 0.0);
    let available: Vec<(u32, f64)> = subjects
        .iter()
        .filter(|s| has_cpus(s))
        .filter_map(|s| Some((s.id.node?, s.facts.get_f64("numa.available_ratio")?)))
        .collect();
    for s in &mut subjects {
        if !has_cpus(s) {
            continue;
        }
        let me = s.id.node;
        let best = available
            .iter()
            .filter(|(id, _)| Some(*id) != me)
            .map(|(_, r)| *r)
            .fold(None, |acc: Option<f64>, r| Some(acc.map_or(r, |a| a.max(r))));
        match best {
            Some(b) => s.facts.num("numa.other_nodes_max_available_ratio", b),
            None => s.facts.absent(
                "numa.other_nodes_max_available_ratio",
                "no other node with CPUs has a known available ratio",
            ),
        }
    }
    // The preferred nodes: those whose numa_foreign rose while another node's numa_miss did.
    if let Some(later) = later {
        let rose: Vec<(u32, u64)> = numa
            .nodes
            .iter()
            .filter_map(|n| {
                let before = n.numastat.as_ref()?.numa_foreign?;
                let after = later.node(n.id)?.numastat.as_ref()?.numa_foreign?;
                Some((n.id, after.checked_sub(before)?)).filter(|(_, d)| *d > 0)
            })
            .collect();
        for s in &mut subjects {
            let others: Vec<String> = rose
                .iter()
                .filter(|(id, _)| Some(*id) != s.id.node)
                .map(|(id, d)| format!("{} +{}", node_name(*id), format_value(*d as f64, Unit::Count)))
                .collect();
            let text = if others.is_empty() {
                "none".to_string()
            } else {
                others.join(", ")
            };
            s.facts.text("numa.foreign_nodes", text);
        }
    }
    Ok(subjects)
}

fn subject(n: &NodeReading, after: Option<&NodeReading>, two: bool, elapsed: Option<f64>) -> Subject {
    let mut f = super::FactSet::default();
    let mem = after.and_then(|a| a.meminfo.as_ref()).or(n.meminfo.as_ref());
    if let Some(m) = mem {
        f.opt("numa.mem_total_bytes", m.total_bytes.map(|b| b as f64));
        f.opt("numa.mem_free_bytes", m.free_bytes.map(|b| b as f64));
        available(&mut f, n.id, m);
    }
    f.opt("numa.cpus", n.cpus.as_ref().map(|c| c.len() as f64));
    let last_stat = after.and_then(|a| a.numastat.as_ref()).or(n.numastat.as_ref());
    if let Some(s) = last_stat
        && let (Some(hit), Some(miss)) = (s.numa_hit, s.numa_miss)
        && hit.saturating_add(miss) > 0
    {
        f.num(
            "numa.miss_ratio_since_boot",
            miss as f64 / (hit as f64 + miss as f64),
        );
    }
    if two {
        let before = n.numastat.as_ref();
        let later = after.and_then(|a| a.numastat.as_ref());
        match (before, later) {
            (Some(b), Some(a)) => {
                let d = |x: Option<u64>, y: Option<u64>| y?.checked_sub(x?);
                match (d(b.numa_hit, a.numa_hit), d(b.numa_miss, a.numa_miss)) {
                    (Some(hit), Some(miss)) => {
                        let alloc = hit.saturating_add(miss);
                        f.num("numa.alloc_pages", alloc as f64);
                        if alloc > 0 {
                            f.num("numa.miss_ratio", miss as f64 / alloc as f64);
                        } else {
                            f.absent(
                                "numa.miss_ratio",
                                "no page was allocated on the node during the interval",
                            );
                        }
                        if let Some(e) = elapsed.filter(|e| *e > 0.0) {
                            f.num("numa.miss_pages_per_s", miss as f64 / e);
                        }
                    }
                    (hit, _) => {
                        let why = if b.numa_miss.is_none() || a.numa_miss.is_none() {
                            "no numa_miss line in the node's numastat in both samples".to_string()
                        } else if b.numa_hit.is_none() || a.numa_hit.is_none() {
                            "no numa_hit line in the node's numastat in both samples".to_string()
                        } else {
                            let which = if hit.is_none() { "numa_hit" } else { "numa_miss" };
                            format!(
                                "{which} went backwards between the samples (the node went offline and back?)"
                            )
                        };
                        f.absent("numa.miss_ratio", why.clone());
                        f.absent("numa.alloc_pages", why);
                    }
                }
            }
            _ => {
                let why = format!(
                    "{NODES}/{}/numastat was not read in both samples",
                    node_name(n.id)
                );
                f.absent("numa.miss_ratio", why.clone());
                f.absent("numa.alloc_pages", why);
            }
        }
    }
    Subject {
        id: SubjectId {
            kind: SubjectKind::NumaNode,
            node: Some(n.id),
            ..SubjectId::default()
        },
        facts: f,
    }
}

/// The node's available memory and ratio, or why they are absent.
fn available(f: &mut super::FactSet, id: u32, m: &NodeMeminfo) {
    match (m.available_bytes(), m.total_bytes) {
        (Ok(avail), Some(total)) if total > 0 => {
            f.num("numa.mem_available_bytes", avail as f64);
            f.num("numa.available_ratio", avail as f64 / total as f64);
        }
        (Ok(avail), _) => {
            f.num("numa.mem_available_bytes", avail as f64);
            f.absent(
                "numa.available_ratio",
                format!("no MemTotal in {NODES}/{}/meminfo", node_name(id)),
            );
        }
        (Err(field), _) => {
            let why = format!("no {field} in {NODES}/{}/meminfo", node_name(id));
            f.absent("numa.mem_available_bytes", why.clone());
            f.absent("numa.available_ratio", why);
        }
    }
}

/// The process placement facts, lacking for the host as a whole (one node, no NUMA sysfs): the
/// process rule is then "absent" even where no process was read.
pub fn host_lacks(host: &mut super::FactSet, why: &str) {
    for fact in PROCESS_FACTS {
        host.lacks(fact, why.to_string());
    }
}

const PROCESS_FACTS: [&str; 8] = [
    "proc.numa_examined",
    "proc.numa_judged",
    "proc.numa_resident_bytes",
    "proc.numa_remote_bytes",
    "proc.numa_remote_ratio",
    "proc.numa_interleaved_ratio",
    "proc.numa_home",
    "proc.numa_placement",
];

/// The share of an unbound process's threads that must have last run on one node for that node to be
/// its home; below it the process is spread and not judged.
pub const CONCENTRATED: f64 = 0.75;

/// The share of its resident memory in interleave-policy mappings above which a process is
/// interleaved, remote by design, and not judged.
pub const INTERLEAVED: f64 = 0.5;

/// The process facts: placement for the largest processes of a multi-node host, `proc.numa_examined`
/// 0 for the others, and every numa fact lacking on a host without NUMA.
pub fn attach_processes(procs: &mut [Subject], first: &Sample) {
    let numa = match &first.numa {
        Some(n) if n.absent.is_none() => n,
        Some(n) => {
            let why = n.absent.clone().unwrap_or_default();
            for p in procs.iter_mut() {
                for fact in PROCESS_FACTS {
                    p.facts.lacks(fact, why.clone());
                }
            }
            return;
        }
        None => return,
    };
    let node_of_cpu = collect::node_of_cpu(numa);
    let by_pid: BTreeMap<i32, &ProcNuma> = numa.procs.iter().map(|p| (p.pid, p)).collect();
    for subject in procs.iter_mut() {
        let found = subject
            .id
            .pid
            .and_then(|pid| by_pid.get(&pid))
            .filter(|p| subject.id.start_time.is_none_or(|t| t == p.starttime));
        let Some(p) = found else {
            subject.facts.num("proc.numa_examined", 0.0);
            continue;
        };
        let f = &mut subject.facts;
        f.num("proc.numa_examined", 1.0);
        let total = p.maps.total_bytes();
        f.num("proc.numa_resident_bytes", total as f64);
        let placement: Vec<String> = p
            .maps
            .bytes_per_node
            .iter()
            .map(|(node, bytes)| {
                format!(
                    "{} {}",
                    node_name(*node),
                    format_value(*bytes as f64, Unit::Bytes)
                )
            })
            .collect();
        f.text("proc.numa_placement", placement.join(", "));
        let interleaved = (total > 0).then(|| p.maps.interleaved_bytes as f64 / total as f64);
        f.opt("proc.numa_interleaved_ratio", interleaved);
        let mostly_interleaved = interleaved.is_some_and(|r| r > INTERLEAVED);
        let (home, text) = match home_nodes(p, &node_of_cpu) {
            Home::Nodes(home, how) => {
                let names: Vec<String> = home.iter().map(|n| node_name(*n)).collect();
                let text = format!("{} ({how})", names.join(","));
                (home, text)
            }
            Home::Spread(how) => {
                let why = format!(
                    "spread: {how}; no node has {:.0}% of them, so there is no home to be remote from",
                    CONCENTRATED * 100.0
                );
                f.text("proc.numa_home", format!("none, {how}"));
                f.absent("proc.numa_remote_ratio", why.clone());
                f.absent("proc.numa_remote_bytes", why);
                f.num("proc.numa_judged", 0.0);
                continue;
            }
            Home::Unknown(why) => {
                f.absent("proc.numa_remote_ratio", why.clone());
                f.absent("proc.numa_remote_bytes", why.clone());
                f.absent("proc.numa_home", why.clone());
                // An interleaved process is not judged wherever it runs.
                if mostly_interleaved {
                    f.num("proc.numa_judged", 0.0);
                } else {
                    f.absent("proc.numa_judged", why);
                }
                continue;
            }
        };
        f.text("proc.numa_home", text);
        f.num("proc.numa_judged", if mostly_interleaved { 0.0 } else { 1.0 });
        let remote: u64 = p
            .maps
            .bytes_per_node
            .iter()
            .filter(|(node, _)| !home.contains(node))
            .map(|(_, b)| *b)
            .fold(0u64, u64::saturating_add);
        f.num("proc.numa_remote_bytes", remote as f64);
        if total > 0 {
            f.num("proc.numa_remote_ratio", remote as f64 / total as f64);
        } else {
            f.absent("proc.numa_remote_ratio", "numa_maps counted no resident page");
        }
    }
}

/// Where a process runs, as far as one sample tells.
enum Home {
    /// Its home nodes and how they were told.
    Nodes(BTreeSet<u32>, String),
    /// Unbound, its threads on several nodes with none holding [`CONCENTRATED`] of them: how many
    /// last ran on each.
    Spread(String),
    /// Why it could not be told.
    Unknown(String),
}

/// Where a process runs: its allowed CPUs' nodes when it is bound to fewer than all the nodes with
/// CPUs, else the node where at least [`CONCENTRATED`] of its threads last ran.
fn home_nodes(p: &ProcNuma, node_of_cpu: &BTreeMap<u32, u32>) -> Home {
    if let Some(allowed) = &p.cpus_allowed
        && let Some(nodes) = collect::bound_nodes(allowed, node_of_cpu)
    {
        return Home::Nodes(nodes, "bound by its allowed CPUs".to_string());
    }
    let Some(cpus) = &p.thread_cpus else {
        return Home::Unknown("the CPUs its threads last ran on were not read".to_string());
    };
    let mut per_node: BTreeMap<u32, usize> = BTreeMap::new();
    for cpu in cpus {
        if let Some(node) = node_of_cpu.get(cpu) {
            *per_node.entry(*node).or_default() += 1;
        }
    }
    let counted: usize = per_node.values().sum();
    if cpus.is_empty() {
        return Home::Unknown("no thread's last CPU could be read".to_string());
    }
    if counted == 0 {
        return Home::Unknown("the CPUs its threads last ran on are in no node's cpulist".to_string());
    }
    let (node, most) = per_node
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(n, c)| (*n, *c))
        .unwrap_or_default();
    let threads = if counted == 1 { "thread" } else { "threads" };
    if most as f64 >= CONCENTRATED * counted as f64 {
        return Home::Nodes(
            [node].into_iter().collect(),
            format!("{most} of {counted} {threads} last ran there"),
        );
    }
    let each: Vec<String> = per_node
        .iter()
        .map(|(n, c)| format!("{} {c}", node_name(*n)))
        .collect();
    Home::Spread(format!("its {counted} {threads} last ran on {}", each.join(", ")))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::parse::numa::{NodeMeminfo, NodeNumastat, NumaMaps};

    fn node(
        id: u32,
        total_kb: u64,
        free_kb: u64,
        hit: u64,
        miss: u64,
        cpus: Option<Vec<u32>>,
    ) -> NodeReading {
        NodeReading {
            id,
            meminfo: Some(NodeMeminfo {
                total_bytes: Some(total_kb * 1024),
                free_bytes: Some(free_kb * 1024),
                inactive_file_bytes: Some(0),
                kreclaimable_bytes: Some(0),
                ..NodeMeminfo::default()
            }),
            numastat: Some(NodeNumastat {
                numa_hit: Some(hit),
                numa_miss: Some(miss),
                ..NodeNumastat::default()
            }),
            cpus,
            distance: None,
        }
    }

    fn sample(at: f64, nodes: Vec<NodeReading>, procs: Vec<ProcNuma>) -> Sample {
        let mut s = Sample::new(at, Utc::now());
        s.numa = Some(NumaSample {
            nodes,
            procs,
            ..NumaSample::default()
        });
        s
    }

    #[test]
    fn miss_ratio_over_the_interval_and_available_ratios_across_nodes_with_cpus() {
        let first = sample(
            0.0,
            vec![
                node(0, 1000, 400, 10_000, 100, Some(vec![0, 1])),
                node(1, 1000, 40, 5_000, 1_000, Some(vec![2, 3])),
                node(2, 2000, 1000, 0, 0, Some(vec![])),
            ],
            vec![],
        );
        let second = sample(
            2.0,
            vec![
                node(0, 1000, 400, 12_000, 100, None),
                node(1, 1000, 30, 5_750, 1_250, None),
                node(2, 2000, 1000, 0, 0, None),
            ],
            vec![],
        );
        let s = derive(&first, Some(&second)).unwrap();
        assert_eq!(s.len(), 3);
        let n1 = &s[1].facts;
        assert_eq!(s[1].id.node, Some(1));
        assert_eq!(n1.get_f64("numa.miss_ratio"), Some(0.25));
        assert_eq!(n1.get_f64("numa.alloc_pages"), Some(1000.0));
        assert_eq!(n1.get_f64("numa.miss_pages_per_s"), Some(125.0));
        assert_eq!(n1.get_f64("numa.miss_ratio_since_boot"), Some(1250.0 / 7000.0));
        assert_eq!(n1.get_f64("numa.available_ratio"), Some(0.03));
        // node2 (memory-only, 50% available) is no yardstick: node0's 40% is the best other.
        assert_eq!(n1.get_f64("numa.other_nodes_max_available_ratio"), Some(0.4));
        assert_eq!(s[0].facts.get_f64("numa.miss_ratio"), Some(0.0));
        assert_eq!(
            s[0].facts.get_f64("numa.other_nodes_max_available_ratio"),
            Some(0.03)
        );
        // No node's numa_foreign rose (the helper leaves it out).
        assert_eq!(
            n1.get("numa.foreign_nodes"),
            Some(&super::super::Value::Text("none".into()))
        );
        // The memory-only node: no CPU, no allocation during the interval, not compared.
        assert_eq!(s[2].facts.get_f64("numa.cpus"), Some(0.0));
        assert_eq!(s[2].facts.get_f64("numa.available_ratio"), Some(0.5));
        assert_eq!(s[2].facts.get_f64("numa.other_nodes_max_available_ratio"), None);
        assert_eq!(s[2].facts.get_f64("numa.alloc_pages"), Some(0.0));
        assert_eq!(s[2].facts.get_f64("numa.miss_ratio"), None);
        // One sample: no rate, the since-boot ratio only.
        let one = derive(&first, None).unwrap();
        assert_eq!(one[1].facts.get_f64("numa.miss_ratio"), None);
        assert_eq!(
            one[1].facts.get_f64("numa.miss_ratio_since_boot"),
            Some(1000.0 / 6000.0)
        );
    }

    #[test]
    fn a_single_node_host_lacks_numa_for_nodes_and_processes() {
        let mut s = Sample::new(0.0, Utc::now());
        s.numa = Some(NumaSample {
            absent: Some(collect::SINGLE_NODE.to_string()),
            ..NumaSample::default()
        });
        assert_eq!(
            derive(&s, None).unwrap_err(),
            (collect::SINGLE_NODE.to_string(), true)
        );
        let mut procs = vec![Subject {
            id: SubjectId {
                kind: SubjectKind::Process,
                pid: Some(1),
                ..SubjectId::default()
            },
            facts: Default::default(),
        }];
        attach_processes(&mut procs, &s);
        assert!(procs[0].facts.is_lacked("proc.numa_examined"));
        assert_eq!(
            procs[0].facts.stated_reason("proc.numa_remote_ratio"),
            Some(collect::SINGLE_NODE)
        );
    }

    #[test]
    fn remote_share_from_the_threads_home_or_the_bound_nodes_and_spread_or_interleaved_not_judged() {
        let gib = 1u64 << 30;
        let maps = |n0: u64, n1: u64, interleaved: u64| NumaMaps {
            bytes_per_node: [(0, n0), (1, n1)].into_iter().collect(),
            mappings: 2,
            interleaved_bytes: interleaved,
        };
        let unbound = |pid, m, threads: Vec<u32>| ProcNuma {
            pid,
            maps: m,
            cpus_allowed: Some(vec![0, 1, 2, 3]),
            thread_cpus: Some(threads),
            ..ProcNuma::default()
        };
        let procs = vec![
            // Unbound, 3 of 4 threads last ran on node0 (75%): home node0, 3 GiB of 4 remote.
            unbound(10, maps(gib, 3 * gib, 0), vec![0, 1, 1, 2]),
            // Bound to node1's CPUs: all of node0's gigabyte is remote.
            ProcNuma {
                pid: 11,
                maps: maps(gib, 3 * gib, 0),
                cpus_allowed: Some(vec![2, 3]),
                ..ProcNuma::default()
            },
            // Unbound, 5 of 8 threads on node1 (62.5%): spread, not judged.
            unbound(13, maps(gib, 3 * gib, 0), vec![0, 1, 0, 2, 2, 3, 3, 3]),
            // All threads on node0 but 3.5 GiB of 4 interleaved: remote by design, not judged.
            unbound(14, maps(gib, 3 * gib, 3 * gib + gib / 2), vec![0, 1]),
            // The threads' CPUs were not read.
            ProcNuma {
                pid: 15,
                maps: maps(gib, 3 * gib, 0),
                cpus_allowed: Some(vec![0, 1, 2, 3]),
                thread_cpus: None,
                ..ProcNuma::default()
            },
        ];
        let s = sample(
            0.0,
            vec![
                node(0, 1000, 500, 1, 0, Some(vec![0, 1])),
                node(1, 1000, 500, 1, 0, Some(vec![2, 3])),
            ],
            procs,
        );
        let subject = |pid| Subject {
            id: SubjectId {
                kind: SubjectKind::Process,
                pid: Some(pid),
                ..SubjectId::default()
            },
            facts: Default::default(),
        };
        let mut subjects: Vec<Subject> = [10, 11, 12, 13, 14, 15].into_iter().map(subject).collect();
        attach_processes(&mut subjects, &s);
        let text = |f: &super::super::FactSet, name| match f.get(name) {
            Some(super::super::Value::Text(t)) => t.to_string(),
            other => panic!("{name}: {other:?}"),
        };
        let f = &subjects[0].facts;
        assert_eq!(f.get_f64("proc.numa_judged"), Some(1.0));
        assert_eq!(f.get_f64("proc.numa_remote_ratio"), Some(0.75));
        assert_eq!(f.get_f64("proc.numa_resident_bytes"), Some(4.0 * gib as f64));
        assert_eq!(f.get_f64("proc.numa_interleaved_ratio"), Some(0.0));
        assert_eq!(text(f, "proc.numa_home"), "node0 (3 of 4 threads last ran there)");
        let f = &subjects[1].facts;
        assert_eq!(f.get_f64("proc.numa_remote_ratio"), Some(0.25));
        assert_eq!(text(f, "proc.numa_home"), "node1 (bound by its allowed CPUs)");
        assert_eq!(subjects[2].facts.get_f64("proc.numa_examined"), Some(0.0));
        assert_eq!(subjects[2].facts.get_f64("proc.numa_remote_ratio"), None);
        let f = &subjects[3].facts;
        assert_eq!(f.get_f64("proc.numa_judged"), Some(0.0));
        assert_eq!(f.get_f64("proc.numa_remote_ratio"), None);
        assert_eq!(
            text(f, "proc.numa_home"),
            "none, its 8 threads last ran on node0 3, node1 5"
        );
        assert!(
            f.stated_reason("proc.numa_remote_ratio")
                .unwrap()
                .starts_with("spread: its 8 threads"),
            "{:?}",
            f.stated_reason("proc.numa_remote_ratio")
        );
        let f = &subjects[4].facts;
        assert_eq!(f.get_f64("proc.numa_judged"), Some(0.0));
        assert_eq!(f.get_f64("proc.numa_interleaved_ratio"), Some(0.875));
        // Evidence still: 3 GiB of 4 away from node0.
        assert_eq!(f.get_f64("proc.numa_remote_ratio"), Some(0.75));
        let f = &subjects[5].facts;
        assert_eq!(f.get_f64("proc.numa_judged"), None);
        assert_eq!(
            f.stated_reason("proc.numa_judged"),
            Some("the CPUs its threads last ran on were not read")
        );
    }

    #[test]
    fn distinct_reasons_for_a_missing_numa_miss_and_a_counter_going_backwards() {
        let stat = |hit: Option<u64>, miss: Option<u64>| NodeNumastat {
            numa_hit: hit,
            numa_miss: miss,
            ..NodeNumastat::default()
        };
        let reading = |s: NodeNumastat| NodeReading {
            id: 0,
            numastat: Some(s),
            ..NodeReading::default()
        };
        let reason = |a: NodeNumastat, b: NodeNumastat| {
            let f = subject(&reading(a), Some(&reading(b)), true, Some(1.0)).facts;
            f.stated_reason("numa.miss_ratio").unwrap().to_string()
        };
        assert_eq!(
            reason(stat(Some(10), None), stat(Some(20), None)),
            "no numa_miss line in the node's numastat in both samples"
        );
        assert_eq!(
            reason(stat(None, Some(1)), stat(None, Some(2))),
            "no numa_hit line in the node's numastat in both samples"
        );
        assert!(
            reason(stat(Some(10), Some(5)), stat(Some(20), Some(4))).starts_with("numa_miss went backwards")
        );
        assert!(
            reason(stat(Some(10), Some(5)), stat(Some(9), Some(6))).starts_with("numa_hit went backwards")
        );
    }

    #[test]
    fn the_preferred_nodes_whose_numa_foreign_rose_are_named() {
        let with_foreign = |mut n: NodeReading, foreign: u64| {
            n.numastat.as_mut().unwrap().numa_foreign = Some(foreign);
            n
        };
        let first = sample(
            0.0,
            vec![
                with_foreign(node(0, 1000, 400, 100, 0, Some(vec![0])), 5),
                with_foreign(node(1, 1000, 10, 100, 0, Some(vec![1])), 7),
            ],
            vec![],
        );
        let second = sample(
            1.0,
            vec![
                with_foreign(node(0, 1000, 400, 200, 50, None), 5),
                with_foreign(node(1, 1000, 10, 150, 0, None), 1_057),
            ],
            vec![],
        );
        let s = derive(&first, Some(&second)).unwrap();
        let text = |i: usize| s[i].facts.get("numa.foreign_nodes").cloned();
        assert_eq!(text(0), Some(super::super::Value::Text("node1 +1,050".into())));
        assert_eq!(text(1), Some(super::super::Value::Text("none".into())));
    }
}
