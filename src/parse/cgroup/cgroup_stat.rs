//! cgroup2 `cgroup.stat`.
//!
//! cgroup-v2.rst: "cgroup.stat  A read-only flat-keyed file with the following entries:
//! nr_descendants: Total number of visible descendant cgroups. nr_dying_descendants: Total number of
//! dying descendant cgroups. A cgroup becomes dying after being deleted by a user." Recent kernels add
//! `nr_subsys_<controller>` and `nr_dying_subsys_<controller>`, which osdoctor does not need.
//!
//! Many dying descendants are a known cause of memory held by removed cgroups (page cache still
//! charged to them), hence osdoctor reads both counts.

use serde::Serialize;

use super::error::ParseError;
use super::flat_keyed;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CgroupStat {
    pub nr_descendants: Option<u64>,
    pub nr_dying_descendants: Option<u64>,
}

/// Parse `cgroup.stat`.
pub fn parse(text: &str) -> Result<CgroupStat, ParseError> {
    let m = flat_keyed::parse(text)?;
    Ok(CgroupStat {
        nr_descendants: m.get("nr_descendants"),
        nr_dying_descendants: m.get("nr_dying_descendants"),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn with_subsys_keys() {
        let s = super::parse(
            "nr_descendants 3\nnr_subsys_perf_event 1\nnr_subsys_hugetlb 1\nnr_dying_descendants 1\n",
        )
        .unwrap();
        assert_eq!(s.nr_descendants, Some(3));
        assert_eq!(s.nr_dying_descendants, Some(1));
    }
}
