//! Parsers on files copied from this machine's cgroup trees (tests/data/cgroupfs/real, Linux 6.18,
//! hybrid). What an induced condition guarantees is asserted, so a fresh capture still passes.

use super::data;
use crate::parse::cgroup::single_value::{parse_limit, parse_value};
use crate::parse::cgroup::*;

const OOM: &str = "real/v1/memory/osdoctor-fixture-oom";
const CACHE: &str = "real/v1/memory/osdoctor-fixture-cache";
const CPU: &str = "real/v1/cpu/osdoctor-fixture-cpu";
const CPUACCT: &str = "real/v1/cpuacct/osdoctor-fixture-cpu";
const PIDS: &str = "real/v1/pids/osdoctor-fixture-pids";

#[test]
fn v1_memory_of_an_oom_killed_cgroup() {
    let limit = parse_limit(&data(&format!("{OOM}/memory.limit_in_bytes"))).unwrap();
    assert_eq!(limit, Limit::Value(64 << 20));
    let oom = memory_oom_control::parse(&data(&format!("{OOM}/memory.oom_control"))).unwrap();
    assert!(oom.oom_kill >= Some(1), "{oom:?}");
    assert_eq!(oom.under_oom, Some(false));
    assert_eq!(oom.oom_kill_disable, Some(false));
    // memsw was never limited: v1 prints its unlimited as a huge number.
    let memsw = parse_limit(&data(&format!("{OOM}/memory.memsw.limit_in_bytes"))).unwrap();
    assert_eq!(memsw, Limit::Unlimited);
    let peak = parse_value(&data(&format!("{OOM}/memory.max_usage_in_bytes"))).unwrap();
    assert_eq!(peak, 64 << 20, "usage reached the limit");
    let stat = memory_stat::parse_v1(&data(&format!("{OOM}/memory.stat"))).unwrap();
    assert_eq!(stat.hierarchical_memory_limit, Some(Limit::Value(64 << 20)));
    assert_eq!(stat.hierarchical_memsw_limit, Some(Limit::Unlimited));
    assert!(stat.stat.pgfault.is_some() && stat.stat.workingset_refault_file.is_some());
    assert_eq!(stat.swap, Some(0), "swap accounting is on, no swap device");
}

#[test]
fn v1_memory_stat_totals_and_page_cache() {
    let text = data(&format!("{CACHE}/memory.stat"));
    let map = flat_keyed::parse(&text).unwrap();
    let stat = memory_stat::parse_v1(&text).unwrap();
    assert_eq!(stat.stat.inactive_file, map.get("total_inactive_file"));
    assert_eq!(stat.stat.file, map.get("total_cache"));
    assert_eq!(stat.stat.anon, map.get("total_rss"));
    assert!(
        stat.stat.inactive_file >= Some(16 << 20),
        "the 32 MiB file read is in the page cache"
    );
    assert_eq!(stat.hierarchical_memory_limit, Some(Limit::Value(256 << 20)));
    let pids = cgroup_procs::parse(&data(&format!("{CACHE}/cgroup.procs"))).unwrap();
    assert_eq!(pids.len(), 1);
}

#[test]
fn v1_cpu_throttled_at_a_fifth_of_a_cpu() {
    let quota = cpu_max::parse_cfs_quota_us(&data(&format!("{CPU}/cpu.cfs_quota_us"))).unwrap();
    assert_eq!(quota, Limit::Value(20000));
    assert_eq!(
        parse_value(&data(&format!("{CPU}/cpu.cfs_period_us"))).unwrap(),
        100000
    );
    let text = data(&format!("{CPU}/cpu.stat"));
    let s = cpu_stat::parse_v1(&text).unwrap();
    let ns = flat_keyed::parse(&text).unwrap().get("throttled_time").unwrap();
    assert_eq!(s.throttled_usec, Some(ns / 1000));
    assert!(
        s.nr_throttled > Some(0) && s.nr_throttled <= s.nr_periods,
        "{s:?}"
    );
    // 3 s of a busy loop at 20%: throttled for more than a second in total.
    assert!(s.throttled_usec > Some(1_000_000), "{s:?}");
    assert_eq!(s.nr_bursts, Some(0));
    // The v1 root is unlimited.
    let root_quota = cpu_max::parse_cfs_quota_us(&data("real/v1/cpu/root/cpu.cfs_quota_us")).unwrap();
    assert_eq!(root_quota, Limit::Unlimited);
    assert!(cpu_stat::parse_v1(&data("real/v1/cpu/root/cpu.stat")).is_ok());
}

#[test]
fn v1_cpuacct_in_nanoseconds() {
    let usage = cpuacct::parse_usage_ns(&data(&format!("{CPUACCT}/cpuacct.usage"))).unwrap();
    let user = cpuacct::parse_usage_ns(&data(&format!("{CPUACCT}/cpuacct.usage_user"))).unwrap();
    let sys = cpuacct::parse_usage_ns(&data(&format!("{CPUACCT}/cpuacct.usage_sys"))).unwrap();
    // 20% of 3 s is 0.6 s of CPU.
    assert!(usage > 300_000_000, "{usage} ns");
    // usage_user/usage_sys come from tick sampling: close to usage, not equal.
    assert!(
        (user + sys).abs_diff(usage) <= usage / 4,
        "user {user} + sys {sys} vs {usage}"
    );
    let percpu = cpuacct::parse_usage_percpu_ns(&data(&format!("{CPUACCT}/cpuacct.usage_percpu"))).unwrap();
    assert_eq!(percpu.iter().sum::<u64>(), usage);
    let stat = cpuacct::parse_stat(&data(&format!("{CPUACCT}/cpuacct.stat"))).unwrap();
    assert!(stat.user_ticks.is_some() && stat.system_ticks.is_some());
}

#[test]
fn v1_pids_at_the_limit() {
    assert_eq!(
        parse_limit(&data(&format!("{PIDS}/pids.max"))).unwrap(),
        Limit::Value(5)
    );
    assert_eq!(parse_value(&data(&format!("{PIDS}/pids.current"))).unwrap(), 5);
    assert_eq!(parse_value(&data(&format!("{PIDS}/pids.peak"))).unwrap(), 5);
    let events = pids_events::parse(&data(&format!("{PIDS}/pids.events"))).unwrap();
    assert!(events.max >= Some(1), "forks were rejected: {events:?}");
}

#[test]
fn cgroup2_files_of_a_hybrid_host() {
    let e = cgroup_events::parse(&data("real/unified/osdoctor-fixture/cgroup.events")).unwrap();
    assert_eq!((e.populated, e.frozen), (Some(true), Some(false)));
    let s = cgroup_stat::parse(&data("real/unified/root/cgroup.stat")).unwrap();
    assert!(s.nr_descendants.is_some() && s.nr_dying_descendants.is_some());
    // cpu.stat exists without the cpu controller: usage only, no throttling keys.
    for dir in ["real/unified/root", "real/unified/osdoctor-fixture"] {
        let c = cpu_stat::parse_v2(&data(&format!("{dir}/cpu.stat"))).unwrap();
        assert!(c.usage_usec.is_some() && c.user_usec.is_some(), "{dir}");
        assert_eq!(c.nr_periods, None, "{dir}");
        for psi in ["cpu.pressure", "memory.pressure", "io.pressure"] {
            let p = crate::parse::pressure::parse(&data(&format!("{dir}/{psi}"))).unwrap();
            assert!(p.some.is_some() && p.full.is_some(), "{dir}/{psi}");
        }
    }
    // An empty cpu.stat.local (no cpu controller on cgroup2 here) parses as an empty map.
    assert!(
        flat_keyed::parse(&data("real/unified/osdoctor-fixture/cpu.stat.local"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn proc_pid_cgroup_and_mountinfo_of_this_host() {
    let p = process_cgroups(&data("real/proc/sleeper/cgroup")).unwrap();
    assert_eq!(p.unified.as_deref(), Some("/osdoctor-fixture"));
    assert_eq!(p.v1_path("memory"), Some("/osdoctor-fixture-cache"));
    assert_eq!(p.v1_path("cpu"), Some("/osdoctor-fixture-cpu"));
    assert_eq!(p.v1_path("name=systemd"), Some("/"));
    let l = detect_from_text(&data("real/mountinfo"));
    assert_eq!(l.mode, Some(CgroupMode::Hybrid));
    assert_eq!(
        l.unified.as_ref().map(|m| m.mount_point.as_str()),
        Some("/sys/fs/cgroup/unified")
    );
    for c in [
        "cpu",
        "cpuacct",
        "cpuset",
        "memory",
        "devices",
        "freezer",
        "blkio",
        "pids",
        "name=systemd",
    ] {
        assert!(l.v1_hierarchy(c).is_some(), "{c}");
    }
    assert_eq!(l.v1.len(), 9);
    assert!(l.problems.is_empty(), "{:?}", l.problems);
}
