//! NUMA: the per-node files of /sys/devices/system/node/nodeN/ and /proc/PID/numa_maps, parsed by
//! hand (procfs-core 0.18 parses none of them).
//!
//! - `nodeN/meminfo`: "Node 0 MemTotal:       16317088 kB" lines (drivers/base/node.c,
//!   `node_read_meminfo`): the /proc/meminfo fields of one node, each prefixed with `Node N`.
//! - `nodeN/numastat`: "numa_hit 123" lines, in pages. Documentation/admin-guide/numastat.rst:
//!   "numa_hit: A process wanted to allocate memory from this node, and succeeded. numa_miss: A
//!   process wanted to allocate memory from another node, but ended up with memory from this node.
//!   numa_foreign: A process wanted to allocate on this node, but ended up with memory from another
//!   node. local_node: A process ran on this node's CPU, and got memory from this node. other_node: A
//!   process ran on a different node's CPU and got memory from this node. interleave_hit: Interleaving
//!   wanted to allocate from this node and succeeded."
//! - `nodeN/cpulist` and `node/online`: a list of ranges, "0-3,8-11" (the kernel's `%*pbl` format,
//!   Documentation/admin-guide/cputopology.rst). A node with memory and no CPU (a memory-only or CXL
//!   node) has an empty cpulist.
//! - `nodeN/distance`: the node's row of the SLIT distance table, "10 21" (local is 10).
//! - `/proc/PID/numa_maps`: one line per mapping (Documentation/filesystems/proc.rst, "numa_maps"):
//!   its start address, memory policy, then tokens such as `anon=3 dirty=3 N0=2 N1=1
//!   kernelpagesize_kB=4`. `N<node>=<pages>` counts the mapping's pages on each node, in units of
//!   `kernelpagesize_kB` (2048 for a huge-page mapping), so the bytes are pages x that size. The
//!   policy is the mapping's, else the task's (fs/proc/task_mmu.c `show_numa_map`), printed by
//!   mm/mempolicy.c `mpol_to_str`: the mode's name from `policy_modes[]` ("default", "prefer", "bind",
//!   "interleave", "weighted interleave", "local", "prefer (many)": two of them hold a space), then
//!   `=static` or `=relative` for mode flags, then `:` and the node list, e.g. `interleave:0-1`,
//!   `weighted interleave=static:0-3`, `bind:1`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The fields of one node's meminfo that osdoctor uses, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeMeminfo {
    pub total_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
    pub used_bytes: Option<u64>,
    pub file_bytes: Option<u64>,
    /// Inactive(file): page cache on the inactive list, the first the kernel reclaims.
    pub inactive_file_bytes: Option<u64>,
    /// KReclaimable (Linux 4.20 and later): reclaimable slab and other kernel memory.
    pub kreclaimable_bytes: Option<u64>,
    /// SReclaimable: reclaimable slab, what older kernels have instead of KReclaimable.
    pub sreclaimable_bytes: Option<u64>,
}

impl NodeMeminfo {
    /// Memory the node can hand out without swapping or taking working set: MemFree +
    /// Inactive(file) + KReclaimable (SReclaimable before Linux 4.20, where KReclaimable is absent).
    /// It follows /proc/meminfo's MemAvailable (mm/show_mem.c `si_mem_available`: free memory, file
    /// cache and reclaimable kernel memory), more cautiously: only the inactive file list, which
    /// reclaim takes first, and no watermark arithmetic, which a node's meminfo does not show.
    /// `Err` names the first field missing.
    pub fn available_bytes(&self) -> Result<u64, &'static str> {
        let free = self.free_bytes.ok_or("MemFree")?;
        let inactive_file = self.inactive_file_bytes.ok_or("Inactive(file)")?;
        let reclaimable = self
            .kreclaimable_bytes
            .or(self.sreclaimable_bytes)
            .ok_or("KReclaimable or SReclaimable")?;
        Ok(free.saturating_add(inactive_file).saturating_add(reclaimable))
    }
}

/// Parse `nodeN/meminfo`. Lines that do not have the `Node N Key: value [kB]` shape are reported
/// (by their 1-based number), not fatal. An error when no line parses.
pub fn parse_meminfo(text: &str) -> Result<(NodeMeminfo, Vec<String>), String> {
    let mut m = NodeMeminfo::default();
    let mut problems = Vec::new();
    let mut parsed = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut w = line.split_ascii_whitespace();
        let (Some("Node"), Some(_node), Some(key), Some(value)) = (w.next(), w.next(), w.next(), w.next())
        else {
            problems.push(format!("line {}: not a `Node N Key: value` line", i + 1));
            continue;
        };
        let Some(key) = key.strip_suffix(':') else {
            problems.push(format!("line {}: no colon after the key", i + 1));
            continue;
        };
        let Ok(n) = value.parse::<u64>() else {
            problems.push(format!("line {}: {key}: {value:?} is not a number", i + 1));
            continue;
        };
        let bytes = match w.next() {
            Some("kB") => n.saturating_mul(1024),
            _ => n,
        };
        parsed += 1;
        match key {
            "MemTotal" => m.total_bytes = Some(bytes),
            "MemFree" => m.free_bytes = Some(bytes),
            "MemUsed" => m.used_bytes = Some(bytes),
            "FilePages" => m.file_bytes = Some(bytes),
            "Inactive(file)" => m.inactive_file_bytes = Some(bytes),
            "KReclaimable" => m.kreclaimable_bytes = Some(bytes),
            "SReclaimable" => m.sreclaimable_bytes = Some(bytes),
            _ => {}
        }
    }
    if parsed == 0 {
        return Err("no `Node N Key: value` line".to_string());
    }
    Ok((m, problems))
}

/// The counters of one node's numastat, in pages since boot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeNumastat {
    pub numa_hit: Option<u64>,
    pub numa_miss: Option<u64>,
    pub numa_foreign: Option<u64>,
    pub interleave_hit: Option<u64>,
    pub local_node: Option<u64>,
    pub other_node: Option<u64>,
}

/// Parse `nodeN/numastat`; unknown keys are ignored, a line that is not `key number` is skipped. An
/// error when neither numa_hit nor numa_miss is there (not a numastat file).
pub fn parse_numastat(text: &str) -> Result<NodeNumastat, String> {
    let mut s = NodeNumastat::default();
    for line in text.lines() {
        let mut w = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (w.next(), w.next()) else {
            continue;
        };
        let Ok(n) = value.parse::<u64>() else {
            continue;
        };
        match key {
            "numa_hit" => s.numa_hit = Some(n),
            "numa_miss" => s.numa_miss = Some(n),
            "numa_foreign" => s.numa_foreign = Some(n),
            "interleave_hit" => s.interleave_hit = Some(n),
            "local_node" => s.local_node = Some(n),
            "other_node" => s.other_node = Some(n),
            _ => {}
        }
    }
    if s.numa_hit.is_none() && s.numa_miss.is_none() {
        return Err("no numa_hit or numa_miss line".to_string());
    }
    Ok(s)
}

/// Parse a list of ranges (`cpulist`, `online`, `Cpus_allowed_list`): "0-3,8-11" -> 0,1,2,3,8,...
/// An empty list (a memory-only node's cpulist) is empty, not an error.
pub fn parse_list(text: &str) -> Result<Vec<u32>, String> {
    let text = text.trim();
    let mut out = Vec::new();
    if text.is_empty() {
        return Ok(out);
    }
    for part in text.split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
            return Err(format!("{part:?} is not a number or a range"));
        };
        if b < a || b - a > 65_536 {
            return Err(format!("{part:?} is not an increasing range"));
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Parse `nodeN/distance`: one distance per node, in the order of the online nodes.
pub fn parse_distance(text: &str) -> Result<Vec<u32>, String> {
    let v: Result<Vec<u32>, _> = text.split_ascii_whitespace().map(str::parse).collect();
    match v {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Err("empty".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// A node id from a directory name (`node12` -> 12).
pub fn node_id(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("node")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Where one process's resident pages are, from its numa_maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NumaMaps {
    /// Bytes per node: the `N<node>=<pages>` counts of every mapping times its page size.
    pub bytes_per_node: BTreeMap<u32, u64>,
    /// Mappings with at least one `N<node>=` count.
    pub mappings: usize,
    /// Bytes (all nodes) of the mappings whose policy is `interleave` or `weighted interleave`:
    /// spread over the nodes on purpose.
    pub interleaved_bytes: u64,
}

/// Whether a numa_maps policy (the tokens after the address) is an interleave mode: `interleave`,
/// `interleave:0-1`, `interleave=static:0-1`, `weighted interleave:0-3` (two tokens).
pub fn is_interleave_policy<'a>(mut tokens: impl Iterator<Item = &'a str>) -> bool {
    let is_interleave =
        |t: &str| t == "interleave" || t.starts_with("interleave:") || t.starts_with("interleave=");
    match tokens.next() {
        Some("weighted") => tokens.next().is_some_and(is_interleave),
        Some(t) => is_interleave(t),
        None => false,
    }
}

impl NumaMaps {
    pub fn total_bytes(&self) -> u64 {
        self.bytes_per_node
            .values()
            .fold(0u64, |a, b| a.saturating_add(*b))
    }
}

/// Parse /proc/PID/numa_maps. Lines without node counts (a mapping with nothing resident) are
/// skipped; unknown tokens are ignored; a line whose `N<node>=` or `kernelpagesize_kB=` value is not
/// a number is reported by its 1-based number and left out.
pub fn parse_numa_maps(text: &str) -> (NumaMaps, Vec<String>) {
    let mut maps = NumaMaps::default();
    let mut problems = Vec::new();
    'lines: for (i, line) in text.lines().enumerate() {
        let mut counts: Vec<(u32, u64)> = Vec::new();
        // The kernel prints kernelpagesize_kB after the node counts; 4 kB when it is missing.
        let mut page_kb = 4u64;
        // The first token is the address, then the policy (one or two tokens); tokens follow. A
        // policy token has no `N<node>=` or `kernelpagesize_kB=` shape, so all after the address
        // are scanned.
        let interleaved = is_interleave_policy(line.split_ascii_whitespace().skip(1));
        for token in line.split_ascii_whitespace().skip(1) {
            let Some((key, value)) = token.split_once('=') else {
                continue;
            };
            if key == "kernelpagesize_kB" {
                match value.parse::<u64>() {
                    Ok(kb) if kb > 0 => page_kb = kb,
                    _ => {
                        problems.push(format!("line {}: bad kernelpagesize_kB {value:?}", i + 1));
                        continue 'lines;
                    }
                }
            } else if let Some(node) = key.strip_prefix('N').and_then(|n| n.parse::<u32>().ok()) {
                match value.parse::<u64>() {
                    Ok(pages) => counts.push((node, pages)),
                    Err(_) => {
                        problems.push(format!("line {}: bad page count {token:?}", i + 1));
                        continue 'lines;
                    }
                }
            }
        }
        if counts.is_empty() {
            continue;
        }
        maps.mappings += 1;
        for (node, pages) in counts {
            let bytes = pages.saturating_mul(page_kb).saturating_mul(1024);
            let slot = maps.bytes_per_node.entry(node).or_default();
            *slot = slot.saturating_add(bytes);
            if interleaved {
                maps.interleaved_bytes = maps.interleaved_bytes.saturating_add(bytes);
            }
        }
    }
    (maps, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    // node1/meminfo of a two-socket host (drivers/base/node.c prints every field, in this order).
    const MEMINFO: &str = "Node 1 MemTotal:       65929224 kB
Node 1 MemFree:         2431136 kB
Node 1 MemUsed:        63498088 kB
Node 1 SwapCached:            0 kB
Node 1 Active:         40117372 kB
Node 1 Inactive:       20581172 kB
Node 1 FilePages:      18301260 kB
Node 1 AnonPages:      42397284 kB
Node 1 HugePages_Total:     0
Node 1 HugePages_Free:      0
Node 1 HugePages_Surp:      0
";

    #[test]
    fn node_meminfo_in_bytes() {
        let (m, problems) = parse_meminfo(MEMINFO).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(m.total_bytes, Some(65_929_224 * 1024));
        assert_eq!(m.free_bytes, Some(2_431_136 * 1024));
        assert_eq!(m.used_bytes, Some(63_498_088 * 1024));
        assert_eq!(m.file_bytes, Some(18_301_260 * 1024));
        // No Inactive(file) line in this excerpt: available is unknown, not MemFree alone.
        assert_eq!(m.available_bytes(), Err("Inactive(file)"));
    }

    #[test]
    fn available_is_free_plus_inactive_file_plus_reclaimable_kernel_memory() {
        let text = "Node 0 MemTotal: 1000 kB\nNode 0 MemFree: 30 kB\nNode 0 Inactive(file): 370 kB\n\
                    Node 0 KReclaimable: 20 kB\nNode 0 SReclaimable: 15 kB\n";
        let (m, _) = parse_meminfo(text).unwrap();
        assert_eq!(m.inactive_file_bytes, Some(370 * 1024));
        assert_eq!(m.available_bytes(), Ok((30 + 370 + 20) * 1024));
        // A kernel before 4.20: SReclaimable stands in for KReclaimable.
        let old = text.replace("Node 0 KReclaimable: 20 kB\n", "");
        let (m, _) = parse_meminfo(&old).unwrap();
        assert_eq!(m.available_bytes(), Ok((30 + 370 + 15) * 1024));
        let none = old.replace("Node 0 SReclaimable: 15 kB\n", "");
        let (m, _) = parse_meminfo(&none).unwrap();
        assert_eq!(m.available_bytes(), Err("KReclaimable or SReclaimable"));
    }

    #[test]
    fn malformed_meminfo_lines_are_reported_not_fatal() {
        let text = "Node 0 MemTotal:  1000 kB\ngarbage\nNode 0 MemFree: lots kB\nNode 0 MemUsed 5 kB\n";
        let (m, problems) = parse_meminfo(text).unwrap();
        assert_eq!(m.total_bytes, Some(1_024_000));
        assert_eq!(m.free_bytes, None);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("line 2"));
        assert!(parse_meminfo("").is_err());
        assert!(parse_meminfo("\u{0}\u{1}xx\n").is_err());
    }

    #[test]
    fn numastat_counters() {
        let text = "numa_hit 2851843127\nnuma_miss 1022\nnuma_foreign 88841\ninterleave_hit 41325\n\
                    local_node 2851790210\nother_node 53939\nnew_counter 7\n";
        let s = parse_numastat(text).unwrap();
        assert_eq!(s.numa_hit, Some(2_851_843_127));
        assert_eq!(s.numa_miss, Some(1022));
        assert_eq!(s.numa_foreign, Some(88_841));
        assert_eq!(s.interleave_hit, Some(41_325));
        assert_eq!(s.local_node, Some(2_851_790_210));
        assert_eq!(s.other_node, Some(53_939));
        assert!(parse_numastat("hello world\n\n").is_err());
        // A garbled value drops that counter only.
        let s = parse_numastat("numa_hit x\nnuma_miss 3\n").unwrap();
        assert_eq!((s.numa_hit, s.numa_miss), (None, Some(3)));
    }

    #[test]
    fn lists_of_ranges_including_a_memory_only_nodes_empty_one() {
        assert_eq!(parse_list("0-3,8-11\n").unwrap(), [0, 1, 2, 3, 8, 9, 10, 11]);
        assert_eq!(parse_list("0\n").unwrap(), [0]);
        assert_eq!(parse_list("0,2\n").unwrap(), [0, 2]);
        assert!(parse_list("\n").unwrap().is_empty());
        assert!(parse_list("").unwrap().is_empty());
        assert!(parse_list("3-1").is_err());
        assert!(parse_list("a-b").is_err());
        assert!(parse_list("0-4294967295").is_err());
    }

    #[test]
    fn distances_and_node_names() {
        assert_eq!(parse_distance("10 21 21\n").unwrap(), [10, 21, 21]);
        assert!(parse_distance("\n").is_err());
        assert!(parse_distance("10 x").is_err());
        assert_eq!(node_id("node0"), Some(0));
        assert_eq!(node_id("node12"), Some(12));
        assert_eq!(node_id("node"), None);
        assert_eq!(node_id("node1a"), None);
        assert_eq!(node_id("possible"), None);
    }

    // Lines of a JVM's numa_maps on a two-node host: anonymous heap on both nodes, a 2 MiB huge-page
    // mapping, a file mapping, a mapping with nothing resident, a stack, and two broken lines.
    const NUMA_MAPS: &str = "\
55d1c0a00000 default file=/usr/lib/jvm/bin/java mapped=1 N0=1 kernelpagesize_kB=4
7f2a40000000 default anon=262144 dirty=262144 active=0 N0=65536 N1=196608 kernelpagesize_kB=4
7f2b00000000 bind:1 anon=512 dirty=512 N1=512 kernelpagesize_kB=2048
7f2c00000000 default file=/usr/lib/x86_64-linux-gnu/libc.so.6 mapped=300 mapmax=40 N0=200 N1=100 kernelpagesize_kB=4
7f2d00000000 default
7ffd2a3f0000 default stack anon=33 dirty=33 N1=33 kernelpagesize_kB=4
7ffd2a400000 default anon=1 N0=x kernelpagesize_kB=4
7ffd2a500000 default anon=1 N0=1 kernelpagesize_kB=huge
garbage
";

    #[test]
    fn numa_maps_pages_per_node_in_bytes_with_huge_pages() {
        let (m, problems) = parse_numa_maps(NUMA_MAPS);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("line 7"), "{problems:?}");
        assert_eq!(m.mappings, 5);
        let kb = 1024;
        assert_eq!(m.bytes_per_node[&0], (1 + 65_536 + 200) * 4 * kb);
        assert_eq!(
            m.bytes_per_node[&1],
            (196_608 + 100 + 33) * 4 * kb + 512 * 2048 * kb
        );
        assert_eq!(m.total_bytes(), m.bytes_per_node[&0] + m.bytes_per_node[&1]);
        // Nothing at all: no mapping, no panic.
        let (empty, p) = parse_numa_maps("");
        assert_eq!((empty.mappings, p.len()), (0, 0));
        let (odd, _) = parse_numa_maps("x\n= = =\nN0=1\n1 2 N=3 N-1=4 N99999999999=5\n");
        assert_eq!(odd.mappings, 0);
        assert_eq!(m.interleaved_bytes, 0);
    }

    #[test]
    fn interleave_policies_as_mpol_to_str_prints_them() {
        let text = "\
7f00 interleave:0-1 anon=4 N0=2 N1=2 kernelpagesize_kB=4
7f01 weighted interleave:0-1 anon=3 N0=1 N1=2 kernelpagesize_kB=4
7f02 interleave=static:0-1 anon=2 N1=2 kernelpagesize_kB=4
7f03 weighted interleave=relative:0-1 anon=1 N0=1 kernelpagesize_kB=2048
7f04 prefer (many):0-1 anon=5 N0=5 kernelpagesize_kB=4
7f05 bind=static:1 anon=6 N1=6 kernelpagesize_kB=4
7f06 default anon=7 N0=7 kernelpagesize_kB=4
7f07 interleaved anon=8 N1=8 kernelpagesize_kB=4
";
        let (m, problems) = parse_numa_maps(text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(m.mappings, 8);
        assert_eq!(m.interleaved_bytes, (4 + 3 + 2) * 4096 + 2048 * 1024);
        assert_eq!(m.bytes_per_node[&1], (2 + 2 + 2 + 6 + 8) * 4096);
        for policy in ["interleave", "interleave:0-3", "weighted interleave:0-1"] {
            assert!(is_interleave_policy(policy.split(' ')), "{policy}");
        }
        for policy in [
            "default",
            "bind:0",
            "weighted",
            "local",
            "interleaved",
            "prefer (many):0",
        ] {
            assert!(!is_interleave_policy(policy.split(' ')), "{policy}");
        }
    }
}
