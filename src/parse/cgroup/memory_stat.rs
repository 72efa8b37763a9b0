//! `memory.stat`, cgroup2 and cgroup v1, into one typed [`MemoryStat`].
//!
//! cgroup-v2.rst: "memory.stat  A read-only flat-keyed file which exists on non-root cgroups. This
//! breaks down the cgroup's memory footprint into different types of memory, type-specific details,
//! and other information on the state and past events of the memory management system. All memory
//! amounts are in bytes. The entries are ordered to be human readable, and new entries can show up in
//! the middle. Don't rely on items remaining in a fixed position; use the keys to look up specific
//! values!"
//!
//! Renamed keys: kernel 5.9 split `workingset_refault` into `workingset_refault_anon` and
//! `workingset_refault_file` (and likewise `workingset_activate`); before 5.9 only file pages had
//! refault detection, so the old key is read as `workingset_refault_file`.
//!
//! cgroup v1 (Documentation/admin-guide/cgroup-v1/memory.rst, "stat file") has its own names (`cache`,
//! `rss`, `mapped_file`, ...) for this cgroup alone, and a `total_` copy of each that includes the
//! sub-hierarchy. cgroup2 figures are hierarchical, so the v1 reading takes the `total_` keys.

use serde::Serialize;

use super::error::ParseError;
use super::flat_keyed::{self, FlatKeyed};
use super::single_value::{Limit, V1_UNLIMITED_THRESHOLD};

/// The memory.stat figures osdoctor uses. Amounts are bytes; `pg*`, `workingset_*` and `thp_*` are
/// counts of pages or events. A field is `None` when this kernel (or cgroup version) does not have it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStat {
    /// Anonymous memory (v1: `rss`, which also counts swap cache).
    pub anon: Option<u64>,
    /// Page cache including tmpfs and shared memory (v1: `cache`).
    pub file: Option<u64>,
    /// All kernel memory (v2, about 5.18 and later).
    pub kernel: Option<u64>,
    pub kernel_stack: Option<u64>,
    pub pagetables: Option<u64>,
    pub percpu: Option<u64>,
    /// Network socket buffers.
    pub sock: Option<u64>,
    pub vmalloc: Option<u64>,
    pub shmem: Option<u64>,
    pub zswap: Option<u64>,
    pub zswapped: Option<u64>,
    /// Page cache mapped with mmap() (v1: `mapped_file`).
    pub file_mapped: Option<u64>,
    /// Page cache modified but not yet written back (v1: `dirty`).
    pub file_dirty: Option<u64>,
    /// Page cache being written back (v1: `writeback`).
    pub file_writeback: Option<u64>,
    pub swapcached: Option<u64>,
    /// Anonymous memory in transparent huge pages (v1: `rss_huge`).
    pub anon_thp: Option<u64>,
    pub file_thp: Option<u64>,
    pub shmem_thp: Option<u64>,
    pub inactive_anon: Option<u64>,
    pub active_anon: Option<u64>,
    /// Page cache on the inactive list: the part reclaim takes first, which is why working set is
    /// usage minus this.
    pub inactive_file: Option<u64>,
    pub active_file: Option<u64>,
    pub unevictable: Option<u64>,
    pub slab_reclaimable: Option<u64>,
    pub slab_unreclaimable: Option<u64>,
    pub slab: Option<u64>,
    /// Refaults of evicted anonymous pages (5.9 and later).
    pub workingset_refault_anon: Option<u64>,
    /// Refaults of evicted file pages (`workingset_refault` before 5.9): page cache thrashing.
    pub workingset_refault_file: Option<u64>,
    pub workingset_activate_anon: Option<u64>,
    pub workingset_activate_file: Option<u64>,
    pub workingset_restore_anon: Option<u64>,
    pub workingset_restore_file: Option<u64>,
    pub workingset_nodereclaim: Option<u64>,
    /// Pages swapped in / out (v2, 6.x).
    pub pswpin: Option<u64>,
    pub pswpout: Option<u64>,
    /// Pages scanned and reclaimed on the inactive lists.
    pub pgscan: Option<u64>,
    pub pgsteal: Option<u64>,
    pub pgscan_direct: Option<u64>,
    pub pgsteal_direct: Option<u64>,
    pub pgfault: Option<u64>,
    pub pgmajfault: Option<u64>,
    pub pgrefill: Option<u64>,
    pub pgactivate: Option<u64>,
    pub pgdeactivate: Option<u64>,
    pub thp_fault_alloc: Option<u64>,
    pub thp_collapse_alloc: Option<u64>,
    /// hugetlb pages charged to memory.current (only with the memory_hugetlb_accounting mount option).
    pub hugetlb: Option<u64>,
}

impl MemoryStat {
    /// Typed view of a cgroup2 memory.stat map; unknown keys are ignored.
    pub fn from_v2(m: &FlatKeyed) -> MemoryStat {
        MemoryStat {
            anon: m.get("anon"),
            file: m.get("file"),
            kernel: m.get("kernel"),
            kernel_stack: m.get("kernel_stack"),
            pagetables: m.get("pagetables"),
            percpu: m.get("percpu"),
            sock: m.get("sock"),
            vmalloc: m.get("vmalloc"),
            shmem: m.get("shmem"),
            zswap: m.get("zswap"),
            zswapped: m.get("zswapped"),
            file_mapped: m.get("file_mapped"),
            file_dirty: m.get("file_dirty"),
            file_writeback: m.get("file_writeback"),
            swapcached: m.get("swapcached"),
            anon_thp: m.get("anon_thp"),
            file_thp: m.get("file_thp"),
            shmem_thp: m.get("shmem_thp"),
            inactive_anon: m.get("inactive_anon"),
            active_anon: m.get("active_anon"),
            inactive_file: m.get("inactive_file"),
            active_file: m.get("active_file"),
            unevictable: m.get("unevictable"),
            slab_reclaimable: m.get("slab_reclaimable"),
            slab_unreclaimable: m.get("slab_unreclaimable"),
            slab: m.get("slab"),
            workingset_refault_anon: m.get("workingset_refault_anon"),
            workingset_refault_file: m.get_first(&["workingset_refault_file", "workingset_refault"]),
            workingset_activate_anon: m.get("workingset_activate_anon"),
            workingset_activate_file: m.get_first(&["workingset_activate_file", "workingset_activate"]),
            workingset_restore_anon: m.get("workingset_restore_anon"),
            workingset_restore_file: m.get_first(&["workingset_restore_file", "workingset_restore"]),
            workingset_nodereclaim: m.get("workingset_nodereclaim"),
            pswpin: m.get("pswpin"),
            pswpout: m.get("pswpout"),
            pgscan: m.get("pgscan"),
            pgsteal: m.get("pgsteal"),
            pgscan_direct: m.get("pgscan_direct"),
            pgsteal_direct: m.get("pgsteal_direct"),
            pgfault: m.get("pgfault"),
            pgmajfault: m.get("pgmajfault"),
            pgrefill: m.get("pgrefill"),
            pgactivate: m.get("pgactivate"),
            pgdeactivate: m.get("pgdeactivate"),
            thp_fault_alloc: m.get("thp_fault_alloc"),
            thp_collapse_alloc: m.get("thp_collapse_alloc"),
            hugetlb: m.get("hugetlb"),
        }
    }

    /// Typed, hierarchical view of a cgroup v1 memory.stat map: the `total_` key of each figure,
    /// falling back to the local key where a kernel lacks the total.
    pub fn from_v1(m: &FlatKeyed) -> MemoryStat {
        let total = |key: &str| m.get(&format!("total_{key}")).or_else(|| m.get(key));
        MemoryStat {
            anon: total("rss"),
            file: total("cache"),
            shmem: total("shmem"),
            file_mapped: total("mapped_file"),
            file_dirty: total("dirty"),
            file_writeback: total("writeback"),
            swapcached: total("swapcached"),
            anon_thp: total("rss_huge"),
            inactive_anon: total("inactive_anon"),
            active_anon: total("active_anon"),
            inactive_file: total("inactive_file"),
            active_file: total("active_file"),
            unevictable: total("unevictable"),
            workingset_refault_anon: total("workingset_refault_anon"),
            workingset_refault_file: total("workingset_refault_file").or_else(|| total("workingset_refault")),
            workingset_activate_anon: total("workingset_activate_anon"),
            workingset_activate_file: total("workingset_activate_file")
                .or_else(|| total("workingset_activate")),
            workingset_restore_anon: total("workingset_restore_anon"),
            workingset_restore_file: total("workingset_restore_file").or_else(|| total("workingset_restore")),
            workingset_nodereclaim: total("workingset_nodereclaim"),
            pgfault: total("pgfault"),
            pgmajfault: total("pgmajfault"),
            ..MemoryStat::default()
        }
    }
}

/// Parse a cgroup2 `memory.stat`.
pub fn parse_v2(text: &str) -> Result<MemoryStat, ParseError> {
    Ok(MemoryStat::from_v2(&flat_keyed::parse(text)?))
}

/// A cgroup v1 `memory.stat`: the typed figures plus what only v1 reports there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct V1MemoryStat {
    pub stat: MemoryStat,
    /// Swap used by the cgroup and its descendants, in bytes (`total_swap`; present only with swap
    /// accounting).
    pub swap: Option<u64>,
    /// The tightest memory limit of this cgroup and its ancestors (`hierarchical_memory_limit`): the
    /// limit that binds even when this cgroup's own `memory.limit_in_bytes` is unlimited.
    pub hierarchical_memory_limit: Option<Limit>,
    /// The same for memory plus swap (`hierarchical_memsw_limit`).
    pub hierarchical_memsw_limit: Option<Limit>,
}

/// Parse a cgroup v1 `memory.stat`.
pub fn parse_v1(text: &str) -> Result<V1MemoryStat, ParseError> {
    let m = flat_keyed::parse(text)?;
    let limit = |key: &str| {
        m.get(key).map(|v| {
            if v >= V1_UNLIMITED_THRESHOLD {
                Limit::Unlimited
            } else {
                Limit::Value(v)
            }
        })
    };
    Ok(V1MemoryStat {
        stat: MemoryStat::from_v1(&m),
        swap: m.get("total_swap").or_else(|| m.get("swap")),
        hierarchical_memory_limit: limit("hierarchical_memory_limit"),
        hierarchical_memsw_limit: limit("hierarchical_memsw_limit"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_old_kernel_refault_key() {
        let s = parse_v2("anon 10\nfile 20\ninactive_file 5\nworkingset_refault 42\n").unwrap();
        assert_eq!(s.workingset_refault_file, Some(42));
        assert_eq!(s.workingset_refault_anon, None);
        assert_eq!(s.inactive_file, Some(5));
        assert_eq!(s.kernel, None);
    }

    #[test]
    fn v2_new_kernel_keys_win_over_old() {
        let s = parse_v2("workingset_refault_anon 1\nworkingset_refault_file 2\n").unwrap();
        assert_eq!(s.workingset_refault_file, Some(2));
        assert_eq!(s.workingset_refault_anon, Some(1));
    }

    #[test]
    fn v1_takes_the_hierarchical_totals() {
        let s = parse_v1(
            "cache 1\nrss 2\ninactive_file 3\nswap 4\nhierarchical_memory_limit 9223372036854771712\n\
             hierarchical_memsw_limit 67108864\ntotal_cache 10\ntotal_rss 20\ntotal_inactive_file 30\ntotal_swap 40\n",
        )
        .unwrap();
        assert_eq!(s.stat.file, Some(10));
        assert_eq!(s.stat.anon, Some(20));
        assert_eq!(s.stat.inactive_file, Some(30));
        assert_eq!(s.swap, Some(40));
        assert_eq!(s.hierarchical_memory_limit, Some(Limit::Unlimited));
        assert_eq!(s.hierarchical_memsw_limit, Some(Limit::Value(67108864)));
    }

    #[test]
    fn v1_without_totals_uses_local_keys() {
        let s = parse_v1("cache 1\nrss 2\nworkingset_refault 9\n").unwrap();
        assert_eq!(s.stat.file, Some(1));
        assert_eq!(s.stat.workingset_refault_file, Some(9));
        assert_eq!(s.swap, None);
    }
}
