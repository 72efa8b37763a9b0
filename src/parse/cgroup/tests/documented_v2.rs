//! Parsers on cgroup2 files written by hand from Documentation/admin-guide/cgroup-v2.rst
//! (tests/data/cgroupfs/v2-documented): this machine has no v2 memory, cpu or pids controller.

use super::data;
use crate::parse::cgroup::single_value::{parse_limit, parse_value};
use crate::parse::cgroup::*;

const DIR: &str = "v2-documented";

#[test]
fn memory_stat_with_every_documented_key() {
    let text = data(&format!("{DIR}/memory.stat"));
    let map = flat_keyed::parse(&text).unwrap();
    assert_eq!(map.len(), 71, "the documented key list");
    let s = memory_stat::parse_v2(&text).unwrap();
    assert_eq!(s.anon, Some(241664000));
    assert_eq!(s.inactive_file, Some(12288000));
    assert_eq!(s.workingset_refault_file, Some(2140));
    assert_eq!(s.workingset_refault_anon, Some(0));
    assert_eq!(s.pgmajfault, Some(311));
    assert_eq!(s.pgscan_direct, Some(90001));
    assert_eq!(s.kernel, Some(5537792));
    assert_eq!(s.hugetlb, Some(0));
}

#[test]
fn memory_limits_and_events() {
    assert_eq!(
        parse_limit(&data(&format!("{DIR}/memory.max"))).unwrap(),
        Limit::Value(256 << 20)
    );
    assert_eq!(
        parse_limit(&data(&format!("{DIR}/memory.high"))).unwrap(),
        Limit::Unlimited
    );
    assert_eq!(
        parse_limit(&data(&format!("{DIR}/memory.swap.max"))).unwrap(),
        Limit::Unlimited
    );
    assert_eq!(
        parse_value(&data(&format!("{DIR}/memory.current"))).unwrap(),
        262049792
    );
    let e = memory_events::parse(&data(&format!("{DIR}/memory.events"))).unwrap();
    assert_eq!(
        (e.max, e.oom, e.oom_kill, e.oom_group_kill),
        (Some(1287), Some(3), Some(3), Some(0))
    );
    assert_eq!(e.sock_throttled, Some(0));
    let s = memory_events::parse_swap(&data(&format!("{DIR}/memory.swap.events"))).unwrap();
    assert_eq!(s.fail, Some(0));
}

#[test]
fn cpu_pids_io_and_core_files() {
    let c = cpu_stat::parse_v2(&data(&format!("{DIR}/cpu.stat"))).unwrap();
    assert_eq!(
        (c.nr_periods, c.nr_throttled, c.throttled_usec),
        (Some(4120), Some(1873), Some(92311874))
    );
    let m = cpu_max::parse(&data(&format!("{DIR}/cpu.max"))).unwrap();
    assert_eq!(m.cores(), Some(0.5));
    let io = io_stat::parse(&data(&format!("{DIR}/io.stat"))).unwrap();
    assert_eq!(io.len(), 2);
    assert_eq!(io[1].device(), "8:0");
    assert_eq!(io[1].dbytes, Some(50331648));
    assert_eq!(
        parse_limit(&data(&format!("{DIR}/pids.max"))).unwrap(),
        Limit::Value(1024)
    );
    assert_eq!(
        pids_events::parse(&data(&format!("{DIR}/pids.events")))
            .unwrap()
            .max,
        Some(0)
    );
    assert_eq!(
        cgroup_procs::parse(&data(&format!("{DIR}/cgroup.procs"))).unwrap(),
        vec![4121, 4187]
    );
    assert_eq!(
        cgroup_events::parse(&data(&format!("{DIR}/cgroup.events")))
            .unwrap()
            .populated,
        Some(true)
    );
}
