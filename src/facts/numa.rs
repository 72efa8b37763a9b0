//! NUMA facts: one `numa_node` subject per online node of a multi-node host (named `node0`,
//! `node1`, ...), and the placement of the largest processes' memory on their process subjects.
//!
//! - The miss ratio is numa_miss / (numa_hit + numa_miss) of the node's numastat over the interval:
//!   the share of the pages allocated on this node that were meant for another node (its memory was
//!   used because the intended node had none to give). With one sample only the since-boot ratio
//!   exists, and it is evidence, not a rate: a burst a month ago weighs the same as one now.
//! - Free memory is MemFree / MemTotal of the node's meminfo, in the last sample; a node's
//!   `numa.other_nodes_max_free_ratio` is the highest free ratio among the other nodes with memory,
//!   for the imbalance condition (this node nearly full while another has room).
//! - A process's remote share is the share of its resident pages (numa_maps `N<node>=` counts) on
//!   nodes other than where it runs. Where it runs: the nodes of the CPUs it is allowed on
//!   (Cpus_allowed_list) when those are fewer than all the nodes with CPUs, that is when it is bound
//!   (numactl --cpunodebind, taskset, a cpuset); otherwise the node of the CPU its main thread last
//!   ran on (/proc/PID/stat field 39). An unbound process may run anywhere, so the allowed CPUs say
//!   nothing for it, while the CPU it last ran on is where the scheduler keeps it for now (the kernel's
//!   NUMA balancing also moves memory towards that node).
//!
//! On a host with one node, or without NUMA sysfs, every numa fact is absent because the host lacks
//! the resource ([`super::FactSet::lacks`]): the USE grid shows the numa row "absent".

use std::collections::{BTreeMap, BTreeSet};

use super::{Subject, SubjectId, SubjectKind};
#[cfg(test)]
use crate::collect::numa::NumaSample;
use crate::collect::numa::{self as collect, NodeReading, ProcNuma};
use crate::sample::Sample;
use crate::units::{Unit, format_value};

const NODES: &str = "/sys/devices/system/node";

/// The facts this module derives.
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    fact!("numa.mem_total_bytes", Bytes, NumaNode, ["/sys/devices/system/node"], "the node's memory (MemTotal of nodeN/meminfo)"),
    fact!("numa.mem_free_bytes", Bytes, NumaNode, ["/sys/devices/system/node"], "the node's free memory (MemFree of nodeN/meminfo), last sample"),
    fact!("numa.free_ratio", Ratio, NumaNode, ["/sys/devices/system/node"], "MemFree / MemTotal of the node, last sample"),
    fact!("numa.other_nodes_max_free_ratio", Ratio, NumaNode, ["/sys/devices/system/node"], "the highest free ratio among the host's other nodes with memory"),
    fact!("numa.cpus", Count, NumaNode, ["/sys/devices/system/node"], "CPUs of the node (nodeN/cpulist; 0 for a memory-only node such as CXL memory)"),
    fact!("numa.miss_ratio", Ratio, NumaNode, rate, ["/sys/devices/system/node"], "numa_miss / (numa_hit + numa_miss) of nodeN/numastat over the interval: pages allocated here that were meant for another node"),
    fact!("numa.alloc_pages", Count, NumaNode, rate, ["/sys/devices/system/node"], "pages allocated on the node over the interval (numa_hit + numa_miss)"),
    fact!("numa.miss_pages_per_s", PagesPerSecond, NumaNode, rate, ["/sys/devices/system/node"], "numa_miss pages per second over the interval"),
    fact!("numa.miss_ratio_since_boot", Ratio, NumaNode, ["/sys/devices/system/node"], "numa_miss / (numa_hit + numa_miss) since boot (evidence, not a rate)"),
    fact!("proc.numa_examined", Count, Process, ["/proc/[pid]/numa_maps"], "1 when the process is among the largest whose numa_maps were read (multi-node hosts), else 0"),
    fact!("proc.numa_resident_bytes", Bytes, Process, ["/proc/[pid]/numa_maps"], "resident memory counted by node in numa_maps (N<node>= pages x kernelpagesize_kB)"),
    fact!("proc.numa_remote_bytes", Bytes, Process, ["/proc/[pid]/numa_maps"], "resident memory on nodes other than the ones it runs on"),
    fact!("proc.numa_remote_ratio", Ratio, Process, ["/proc/[pid]/numa_maps"], "share of its resident memory on nodes other than the ones it runs on (bound: its allowed CPUs' nodes; else the node of the CPU it last ran on)"),
    fact!("proc.numa_home", Text, Process, ["/proc/[pid]/numa_maps"], "the node(s) it runs on, and how that was told (bound, or last CPU)"),
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
    // The imbalance needs every node's free ratio.
    let free: Vec<(u32, f64)> = subjects
        .iter()
        .filter_map(|s| Some((s.id.node?, s.facts.get_f64("numa.free_ratio")?)))
        .collect();
    for s in &mut subjects {
        let me = s.id.node;
        let best = free
            .iter()
            .filter(|(id, _)| Some(*id) != me)
            .map(|(_, r)| *r)
            .fold(None, |acc: Option<f64>, r| Some(acc.map_or(r, |a| a.max(r))));
        s.facts.opt("numa.other_nodes_max_free_ratio", best);
    }
    Ok(subjects)
}

fn subject(n: &NodeReading, after: Option<&NodeReading>, two: bool, elapsed: Option<f64>) -> Subject {
    let mut f = super::FactSet::default();
    let mem = after.and_then(|a| a.meminfo.as_ref()).or(n.meminfo.as_ref());
    if let Some(m) = mem {
        f.opt("numa.mem_total_bytes", m.total_bytes.map(|b| b as f64));
        f.opt("numa.mem_free_bytes", m.free_bytes.map(|b| b as f64));
        if let (Some(total), Some(free)) = (m.total_bytes, m.free_bytes)
            && total > 0
        {
            f.num("numa.free_ratio", free as f64 / total as f64);
        }
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
                    _ if b.numa_hit.is_some() && a.numa_hit.is_some() => {
                        let why = "a numastat counter went backwards (the node went offline and back?)";
                        f.absent("numa.miss_ratio", why);
                        f.absent("numa.alloc_pages", why);
                    }
                    _ => {}
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

/// The process placement facts, lacking for the host as a whole (one node, no NUMA sysfs): the
/// process rule is then "absent" even where no process was read.
pub fn host_lacks(host: &mut super::FactSet, why: &str) {
    for fact in PROCESS_FACTS {
        host.lacks(fact, why.to_string());
    }
}

const PROCESS_FACTS: [&str; 6] = [
    "proc.numa_examined",
    "proc.numa_resident_bytes",
    "proc.numa_remote_bytes",
    "proc.numa_remote_ratio",
    "proc.numa_home",
    "proc.numa_placement",
];

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
    let cpu_nodes: BTreeSet<u32> = node_of_cpu.values().copied().collect();
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
        let Some((home, how)) = home_nodes(p, &node_of_cpu, &cpu_nodes) else {
            let why = "the CPUs it runs on are in no node's cpulist";
            f.absent("proc.numa_remote_ratio", why);
            f.absent("proc.numa_remote_bytes", why);
            continue;
        };
        let names: Vec<String> = home.iter().map(|n| node_name(*n)).collect();
        f.text("proc.numa_home", format!("{} ({how})", names.join(",")));
        let remote: u64 = p
            .maps
            .bytes_per_node
            .iter()
            .filter(|(node, _)| !home.contains(node))
            .map(|(_, b)| *b)
            .sum();
        f.num("proc.numa_remote_bytes", remote as f64);
        if total > 0 {
            f.num("proc.numa_remote_ratio", remote as f64 / total as f64);
        } else {
            f.absent("proc.numa_remote_ratio", "numa_maps counted no resident page");
        }
    }
}

/// Where a process runs: its allowed CPUs' nodes when it is bound to fewer than all the nodes with
/// CPUs, else the node of the CPU it last ran on.
fn home_nodes(
    p: &ProcNuma,
    node_of_cpu: &BTreeMap<u32, u32>,
    cpu_nodes: &BTreeSet<u32>,
) -> Option<(BTreeSet<u32>, String)> {
    if let Some(allowed) = &p.cpus_allowed {
        let nodes: BTreeSet<u32> = allowed
            .iter()
            .filter_map(|c| node_of_cpu.get(c).copied())
            .collect();
        if !nodes.is_empty() && nodes.len() < cpu_nodes.len() {
            return Some((nodes, "bound by its allowed CPUs".to_string()));
        }
    }
    let cpu = p.last_cpu?;
    let node = node_of_cpu.get(&cpu)?;
    Some(([*node].into_iter().collect(), format!("last ran on CPU {cpu}")))
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
    fn miss_ratio_over_the_interval_and_free_ratios_across_nodes() {
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
        assert_eq!(n1.get_f64("numa.free_ratio"), Some(0.03));
        assert_eq!(n1.get_f64("numa.other_nodes_max_free_ratio"), Some(0.5));
        assert_eq!(s[0].facts.get_f64("numa.miss_ratio"), Some(0.0));
        assert_eq!(s[0].facts.get_f64("numa.other_nodes_max_free_ratio"), Some(0.5));
        // The memory-only node: no CPU, no allocation during the interval.
        assert_eq!(s[2].facts.get_f64("numa.cpus"), Some(0.0));
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
    fn remote_share_from_the_last_cpu_or_the_bound_nodes() {
        let gib = 1u64 << 30;
        let maps = |n0: u64, n1: u64| NumaMaps {
            bytes_per_node: [(0, n0), (1, n1)].into_iter().collect(),
            mappings: 2,
        };
        let procs = vec![
            // Unbound, last ran on CPU 1 (node0), 3 GiB of 4 on node1.
            ProcNuma {
                pid: 10,
                maps: maps(gib, 3 * gib),
                cpus_allowed: Some(vec![0, 1, 2, 3]),
                last_cpu: Some(1),
                ..ProcNuma::default()
            },
            // Bound to node1's CPUs, last ran on one of them: all of node0's gigabyte is remote.
            ProcNuma {
                pid: 11,
                maps: maps(gib, 3 * gib),
                cpus_allowed: Some(vec![2, 3]),
                last_cpu: Some(0),
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
        let mut subjects = vec![subject(10), subject(11), subject(12)];
        attach_processes(&mut subjects, &s);
        let f = &subjects[0].facts;
        assert_eq!(f.get_f64("proc.numa_remote_ratio"), Some(0.75));
        assert_eq!(f.get_f64("proc.numa_resident_bytes"), Some(4.0 * gib as f64));
        assert_eq!(
            f.get("proc.numa_home"),
            Some(&super::super::Value::Text("node0 (last ran on CPU 1)".into()))
        );
        assert_eq!(subjects[1].facts.get_f64("proc.numa_remote_ratio"), Some(0.25));
        assert_eq!(subjects[2].facts.get_f64("proc.numa_examined"), Some(0.0));
        assert_eq!(subjects[2].facts.get_f64("proc.numa_remote_ratio"), None);
    }
}
