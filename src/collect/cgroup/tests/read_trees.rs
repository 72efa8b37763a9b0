//! `read_cgroup` through a `Root` on trees built from the real v1/hybrid files and the documented v2
//! files.

use super::{Tree, data};
use crate::collect::cgroup::*;
use crate::parse::cgroup::*;

/// This machine's hybrid layout with the captured cgroups in place.
fn hybrid_tree() -> Tree {
    let t = Tree::new();
    t.file("/proc/self/mountinfo", &data("real/mountinfo"))
        .file("/proc/4242/cgroup", &data("real/proc/sleeper/cgroup"))
        .copy(
            "real/v1/memory/osdoctor-fixture-oom",
            "/sys/fs/cgroup/memory/osdoctor-fixture-oom",
        )
        .copy(
            "real/v1/memory/osdoctor-fixture-cache",
            "/sys/fs/cgroup/memory/osdoctor-fixture-cache",
        )
        .copy(
            "real/v1/cpu/osdoctor-fixture-cpu",
            "/sys/fs/cgroup/cpu/osdoctor-fixture-cpu",
        )
        .copy(
            "real/v1/cpuacct/osdoctor-fixture-cpu",
            "/sys/fs/cgroup/cpuacct/osdoctor-fixture-cpu",
        )
        .copy(
            "real/v1/pids/osdoctor-fixture-pids",
            "/sys/fs/cgroup/pids/osdoctor-fixture-pids",
        )
        .copy(
            "real/unified/osdoctor-fixture",
            "/sys/fs/cgroup/unified/osdoctor-fixture",
        )
        .copy("real/unified/root", "/sys/fs/cgroup/unified")
        // The sleeper's blkio cgroup is the root (`7:blkio:/`).
        .copy("real/v1/blkio/osdoctor-fixture-io", "/sys/fs/cgroup/blkio");
    t
}

fn has_problem(r: &CgroupReading, path: &str, reason: &str) -> bool {
    r.unreadable
        .iter()
        .any(|p| p.path == path && p.reason.contains(reason))
}

#[test]
fn v1_memory_cgroup_after_an_oom_kill() {
    let t = hybrid_tree();
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    assert_eq!(layout.mode, Some(CgroupMode::Hybrid));
    let r = read_cgroup(&root, &layout, "/osdoctor-fixture-oom");
    let m = &r.memory;
    assert_eq!(m.version, Some(CgroupVersion::V1));
    assert_eq!(m.max, Some(Limit::Value(64 << 20)));
    assert!(m.events.oom_kill >= Some(1), "{m:?}");
    assert_eq!(m.under_oom, Some(false));
    assert!(m.failcnt.is_some());
    assert_eq!(m.hierarchical_max, Some(Limit::Value(64 << 20)));
    let (current, inactive) = (m.current.unwrap(), m.stat.inactive_file.unwrap());
    assert_eq!(m.working_set, Some(current.saturating_sub(inactive)));
    // v1 has no memory.high, memory.events max or pressure of its own.
    assert_eq!((m.high, m.events.max), (None, None));
    // This cgroup exists only in the memory hierarchy: the others say so once each.
    for dir in [
        "/sys/fs/cgroup/cpu/osdoctor-fixture-oom",
        "/sys/fs/cgroup/pids/osdoctor-fixture-oom",
    ] {
        assert!(
            has_problem(&r, dir, "cgroup directory not found"),
            "{dir}: {:?}",
            r.unreadable
        );
    }
    assert!(has_problem(
        &r,
        "/sys/fs/cgroup/unified/osdoctor-fixture-oom",
        "not found"
    ));
    assert_eq!(r.pressure.memory, None);
    assert_eq!(r.procs, Some(vec![]), "the killed process is gone");
    assert_eq!(r.identity, None);
    // One entry per absent directory, not one per file.
    let per_dir = r
        .unreadable
        .iter()
        .filter(|p| p.path.starts_with("/sys/fs/cgroup/cpu/"))
        .count();
    assert_eq!(per_dir, 1, "{:?}", r.unreadable);
}

#[test]
fn v1_cpu_cgroup_throttled() {
    let t = hybrid_tree();
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    let r = read_cgroup(&root, &layout, "osdoctor-fixture-cpu");
    let c = &r.cpu;
    assert_eq!(c.version, Some(CgroupVersion::V1));
    assert_eq!(
        (c.quota_usec, c.period_usec),
        (Some(Limit::Value(20000)), Some(100000))
    );
    assert_eq!(c.quota_cores(), Some(0.2));
    assert!(c.nr_throttled > Some(0));
    let usage_ns: u64 = data("real/v1/cpuacct/osdoctor-fixture-cpu/cpuacct.usage")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        c.usage_usec,
        Some(usage_ns / 1000),
        "cpuacct nanoseconds become microseconds"
    );
    assert!(c.user_usec.is_some() && c.system_usec.is_some());
    assert_eq!(r.memory.current, None);
}

#[test]
fn a_process_read_through_its_own_cgroups() {
    let t = hybrid_tree();
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    let cgroups = process_cgroups(&root.read_string("/proc/4242/cgroup").unwrap()).unwrap();
    let dirs = layout.dirs_for_process(&cgroups);
    assert_eq!(dirs.path, "/osdoctor-fixture-cache");
    let r = read_cgroup_dirs(&root, &dirs);
    assert_eq!(r.memory.max, Some(Limit::Value(256 << 20)));
    assert!(r.memory.working_set.is_some());
    assert_eq!(r.cpu.quota_usec, Some(Limit::Value(20000)));
    assert_eq!(r.pids.max, Some(Limit::Value(5)));
    assert!(r.pids.events_max >= Some(1));
    // Pressure and populated come from the process's cgroup2 directory.
    assert!(r.pressure.cpu.is_some() && r.pressure.memory.is_some() && r.pressure.io.is_some());
    assert_eq!(r.populated, Some(true));
    assert!(r.nr_descendants.is_some());
    assert_eq!(r.procs.as_ref().map(Vec::len), Some(1));
    // blkio is bound to v1 on this host: its throttle files give the I/O, at the process's own blkio
    // path, and io.stat (which cannot exist in cgroup2 here) is not listed as missing.
    assert_eq!(r.io_version, Some(CgroupVersion::V1));
    assert_eq!(r.io.as_ref().map(|d| d[0].rbytes), Some(Some(2097152)));
    assert!(
        !r.unreadable.iter().any(|p| p.path.ends_with("io.stat")),
        "{:?}",
        r.unreadable
    );
}

#[test]
fn v2_leaf_with_every_documented_file() {
    let t = Tree::new();
    let leaf = "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f9e4b9a_8d3c_4e1f_9a2b_7c6d5e4f3a2b.slice/cri-containerd-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope";
    t.file(
        "/proc/self/mountinfo",
        "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
    )
    .copy("v2-documented", leaf);
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    assert_eq!(layout.mode, Some(CgroupMode::V2));
    let path = leaf.strip_prefix("/sys/fs/cgroup").unwrap();
    let r = read_cgroup(&root, &layout, path);
    assert!(r.unreadable.is_empty(), "{:?}", r.unreadable);
    let m = &r.memory;
    assert_eq!(m.version, Some(CgroupVersion::V2));
    assert_eq!(m.max, Some(Limit::Value(256 << 20)));
    assert_eq!(m.high, Some(Limit::Unlimited));
    assert_eq!(m.working_set, Some(262049792 - 12288000));
    assert_eq!(m.events.oom_kill, Some(3));
    assert_eq!(m.events_local.oom_kill, Some(3));
    assert_eq!(m.swap_max, Some(Limit::Unlimited));
    assert_eq!(r.cpu.quota_cores(), Some(0.5));
    assert_eq!(r.cpu.throttled_usec, Some(92311874));
    assert_eq!(r.pids.current, Some(12));
    assert_eq!(r.io.as_ref().map(Vec::len), Some(2));
    assert_eq!(
        r.pressure.memory.and_then(|p| p.full).map(|l| l.avg10),
        Some(18.40)
    );
    assert_eq!(r.procs, Some(vec![4121, 4187]));
    let id = r.identity.as_ref().unwrap();
    assert_eq!(
        id.pod_uid.as_deref(),
        Some("0f9e4b9a-8d3c-4e1f-9a2b-7c6d5e4f3a2b")
    );
    assert_eq!(id.runtime, Some(Runtime::Containerd));
    // The reading serializes (the JSON report embeds it): limits as "max" or numbers.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["memory"]["high"], "max");
    assert_eq!(json["memory"]["max"], 268435456);
    assert_eq!(json["identity"]["qos"], "burstable");
}

#[test]
fn v2_root_cgroup_and_missing_files_never_fail_the_reading() {
    let t = Tree::new();
    t.file(
        "/proc/self/mountinfo",
        "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    )
    .copy("real/unified/root", "/sys/fs/cgroup")
    .file("/sys/fs/cgroup/broken/memory.current", "not a number\n")
    .file("/sys/fs/cgroup/broken/memory.max", "max\n");
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    // The root cgroup has no memory.* files: all None, each listed, nothing panics.
    let r = read_cgroup(&root, &layout, "/");
    assert_eq!(r.memory.current, None);
    assert!(r.cpu.usage_usec.is_some(), "cpu.stat exists at the root");
    assert!(r.pressure.cpu.is_some());
    assert!(
        has_problem(&r, "/sys/fs/cgroup/memory.current", "the root cgroup lacks"),
        "{:?}",
        r.unreadable
    );
    // A garbled file names its line.
    let b = read_cgroup(&root, &layout, "/broken");
    assert_eq!(b.memory.max, Some(Limit::Unlimited));
    assert!(
        has_problem(&b, "/sys/fs/cgroup/broken/memory.current", "line 1"),
        "{:?}",
        b.unreadable
    );
    // A cgroup that does not exist: one entry, no panic.
    let gone = read_cgroup(&root, &layout, "/gone");
    assert_eq!(gone.unreadable.len(), 1, "{:?}", gone.unreadable);
}

#[test]
fn no_cgroup_filesystem_at_all() {
    let t = Tree::new();
    t.dir("/proc");
    let root = t.root();
    let layout = crate::collect::cgroup::layout::detect(&root);
    assert_eq!(layout.mode, None);
    let r = read_cgroup(&root, &layout, "/anything");
    assert_eq!(r.memory, MemoryReading::default());
    assert!(
        r.unreadable
            .iter()
            .any(|p| p.reason.contains("memory controller"))
    );
}
